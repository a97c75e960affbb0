package tlog

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/airlock-project/airlock/cache"
)

// The benchmarks share one log of benchEntries entries, built once per
// run (about a minute) in a directory removed at the end.
const benchEntries = 1_000_000

var bench struct {
	once sync.Once
	dir  string
	db   *cache.DB
	log  *Log
	key  *ecdsa.PrivateKey
	sig  []byte
	v    Verifier
	err  error
	// built is the time the fill took; bytes the file size after it.
	built time.Duration
	bytes int64
}

var benchTime = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

// cpuTime is the process's user and system CPU time: on a shared machine
// it says more than the wall time, which includes waiting for a core.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bench.db != nil {
		bench.db.Close()
	}
	if bench.dir != "" {
		os.RemoveAll(bench.dir)
	}
	os.Exit(code)
}

// benchBody is a hashedrekord body of realistic size (a P-256 signature
// and public key) for artifact n.
func benchBody(n int64) []byte {
	d := sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(n)))
	b, err := HashedRekordBody(bench.sig, crypto.SHA256, d[:], bench.v)
	if err != nil {
		panic(err)
	}
	return b
}

func benchLog(b *testing.B) *Log {
	b.Helper()
	bench.once.Do(func() {
		ctx := context.Background()
		start := time.Now()
		bench.dir, bench.err = os.MkdirTemp("", "airlock-tlog-bench")
		if bench.err != nil {
			return
		}
		path := filepath.Join(bench.dir, "airlock.db")
		if bench.db, bench.err = cache.Open(path, cache.Options{}); bench.err != nil {
			return
		}
		bench.key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		signer, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		d := sha256.Sum256([]byte("artifact"))
		bench.sig, _ = ecdsa.SignASN1(rand.Reader, signer, d[:])
		bench.v = Verifier{PublicKey: &signer.PublicKey}
		bench.log, bench.err = Create(ctx, &cache.SiteLog{DB: bench.db}, Config{Origin: "bench.example"}, bench.key, benchTime)
		if bench.err != nil {
			return
		}
		// The fill skips the SETs' signatures (a SET-sized placeholder):
		// a million P-256 signatures would only slow the setup.
		fakeSET := make([]byte, 71)
		fake := func(*LogKey, []byte, int64) ([]byte, error) { return fakeSET, nil }
		const chunk = 50_000
		for n := int64(0); n < benchEntries; n += chunk {
			bodies := make([][]byte, chunk)
			for i := range bodies {
				bodies[i] = benchBody(n + int64(i))
			}
			batch, err := bench.log.prepare(ctx, bodies, benchTime.Unix(), fake, bench.key)
			if err == nil {
				err = bench.log.Append(ctx, batch)
			}
			if err != nil {
				bench.err = err
				return
			}
		}
		bench.built = time.Since(start)
		st, err := os.Stat(path)
		if err != nil {
			bench.err = err
			return
		}
		bench.bytes = st.Size()
	})
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	return bench.log
}

// BenchmarkInclusionProof1M proves a random entry of a 1,000,000-entry
// log against its latest checkpoint, reading the hashes from bbolt.
func BenchmarkInclusionProof1M(b *testing.B) {
	l := benchLog(b)
	ctx := context.Background()
	cpu := cpuTime()
	for b.Loop() {
		if _, err := l.InclusionProof(ctx, mrand.Int64N(benchEntries), 0); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
	b.ReportMetric(float64(bench.bytes)/benchEntries, "dbbytes/entry")
	b.ReportMetric(float64(len(benchBody(0))), "bodybytes/entry")
	b.ReportMetric(bench.built.Seconds(), "fill-s")
}

// BenchmarkAppend1000 prepares and appends a batch of 1000 hashedrekord
// entries to the 1M-entry log (which grows by 1000 per iteration): each
// entry's hashes, inclusion proof, the checkpoint and one transaction.
// "nosets" leaves the 1000 SET signatures out; "sets" signs and checks
// them with a software P-256 key.
func BenchmarkAppend1000(b *testing.B) {
	for _, withSETs := range []bool{false, true} {
		name := "nosets"
		if withSETs {
			name = "sets"
		}
		b.Run(name, func(b *testing.B) {
			l := benchLog(b)
			ctx := context.Background()
			fakeSET := make([]byte, 71)
			next := int64(1 << 40)
			cpu, setup := cpuTime(), time.Duration(0)
			for b.Loop() {
				b.StopTimer()
				c := cpuTime()
				bodies := make([][]byte, 1000)
				for i := range bodies {
					bodies[i] = benchBody(next)
					next++
				}
				setup += cpuTime() - c
				b.StartTimer()
				var batch *Batch
				var err error
				if withSETs {
					batch, err = l.Prepare(ctx, bodies, benchTime, bench.key)
				} else {
					batch, err = l.prepare(ctx, bodies, benchTime.Unix(), func(*LogKey, []byte, int64) ([]byte, error) { return fakeSET, nil }, bench.key)
				}
				if err == nil {
					err = l.Append(ctx, batch)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu+setup)
		})
	}
}

// BenchmarkSET splits the per-entry cost of a SET with a software P-256
// key: the signature, and the check Prepare makes of it.
func BenchmarkSET(b *testing.B) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	lk, err := NewLogKey(&key.PublicKey)
	if err != nil {
		b.Fatal(err)
	}
	body := make([]byte, 557)
	set, err := SignSET(key, body, benchTime.Unix(), lk.ID, 1)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("sign", func(b *testing.B) {
		cpu := cpuTime()
		for b.Loop() {
			if _, err := SignSET(key, body, benchTime.Unix(), lk.ID, 1); err != nil {
				b.Fatal(err)
			}
		}
		reportCPU(b, cpu)
	})
	b.Run("verify", func(b *testing.B) {
		cpu := cpuTime()
		for b.Loop() {
			if err := VerifySET(lk, set, body, benchTime.Unix(), 1); err != nil {
				b.Fatal(err)
			}
		}
		reportCPU(b, cpu)
	})
}
