package main

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/airlock-project/airlock/hsm"
	"github.com/airlock-project/airlock/hsm/softhsmtest"
)

// benchToken makes a SoftHSM token with a P-256 key "k" and returns the
// token and the key's URI with a pin-source.
func benchToken(b *testing.B) (*softhsmtest.Token, string) {
	b.Helper()
	tok := softhsmtest.New(b)
	m, err := hsm.OpenModule(tok.Module)
	if err != nil {
		b.Fatal(err)
	}
	_, err = m.GenerateKey(hsm.TokenSelector{Label: tok.Label}, tok.PINFunc(), hsm.GenerateOptions{Label: "k", Type: hsm.ECDSAP256})
	m.Close()
	if err != nil {
		b.Fatal(err)
	}
	return tok, fmt.Sprintf("pkcs11:token=%s;object=k?module-path=%s&pin-source=%s", tok.Label, tok.Module, tok.PINFile)
}

// BenchmarkTokenSign is the token's own rate: P-256 signatures of a digest
// on SoftHSM through hsm.Key, from parallel goroutines (one session each).
func BenchmarkTokenSign(b *testing.B) {
	tok, _ := benchToken(b)
	k, err := hsm.OpenKey(&hsm.URI{Token: tok.Label, Object: "k"}, hsm.KeyOptions{ModulePath: tok.Module, PIN: tok.PINFunc()})
	if err != nil {
		b.Fatal(err)
	}
	defer k.Close()
	d := sha256.Sum256([]byte("x"))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := k.Sign(rand.Reader, d[:], crypto.SHA256); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sig/s")
}

// BenchmarkSignBlobBatch1000 runs `airlock sign-blob --tlog none` over 1000
// small files in one call, in process: module load, login, key self-test,
// hashing, signing, 1000 bundles staged and renamed, the audit transaction.
func BenchmarkSignBlobBatch1000(b *testing.B) {
	_, uri := benchToken(b)
	dir := b.TempDir()
	b.Setenv("AIRLOCK_DB", filepath.Join(dir, "airlock.db"))
	args := []string{"airlock", "sign-blob", "--key", uri, "--tlog", "none"}
	const n = 1000
	for i := range n {
		p := filepath.Join(dir, fmt.Sprintf("f%04d.txt", i))
		if err := os.WriteFile(p, fmt.Appendf(nil, "artifact %d\n", i), 0o644); err != nil {
			b.Fatal(err)
		}
		args = append(args, p)
	}
	b.ResetTimer()
	for range b.N {
		if code := run(args, nil, io.Discard, io.Discard); code != 0 {
			b.Fatalf("sign-blob exited %d", code)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "sig/s")
}

// BenchmarkSignBlobBatch1000Tlog runs the batch of BenchmarkSignBlobBatch1000
// with the site log (log key "log" on the same token: one login) and with
// --tlog none, interleaved so that both see the same machine load:
//
//	go test ./cmd/airlock -run '^$' -bench 'SignBlobBatch1000Tlog' -count 5
func BenchmarkSignBlobBatch1000Tlog(b *testing.B) {
	tok, uri := benchToken(b)
	m, err := hsm.OpenModule(tok.Module)
	if err != nil {
		b.Fatal(err)
	}
	_, err = m.GenerateKey(hsm.TokenSelector{Label: tok.Label}, tok.PINFunc(), hsm.GenerateOptions{Label: "log", Type: hsm.ECDSAP256})
	m.Close()
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	b.Setenv("AIRLOCK_DB", filepath.Join(dir, "airlock.db"))
	logURI := fmt.Sprintf("pkcs11:token=%s;object=log?module-path=%s&pin-source=%s", tok.Label, tok.Module, tok.PINFile)
	if code := run([]string{"airlock", "log", "init", "--key", logURI, "--origin", "bench.example"}, nil, io.Discard, io.Discard); code != 0 {
		b.Fatalf("log init exited %d", code)
	}
	const n = 1000
	var files []string
	for i := range n {
		p := filepath.Join(dir, fmt.Sprintf("f%04d.txt", i))
		if err := os.WriteFile(p, fmt.Appendf(nil, "artifact %d\n", i), 0o644); err != nil {
			b.Fatal(err)
		}
		files = append(files, p)
	}
	for _, tl := range []string{"none", "site"} {
		b.Run("tlog="+tl, func(b *testing.B) {
			args := append([]string{"airlock", "sign-blob", "--key", uri, "--tlog", tl}, files...)
			cpu0 := processCPU(b)
			for range b.N {
				if code := run(args, nil, io.Discard, io.Discard); code != 0 {
					b.Fatalf("sign-blob exited %d", code)
				}
			}
			// The process's CPU time (SoftHSM signs in process) is what
			// to compare on a shared machine: wall time follows the load.
			cpu := processCPU(b) - cpu0
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "sig/s")
			b.ReportMetric(float64(n*b.N)/cpu.Seconds(), "sig/cpu-s")
		})
	}
}

// processCPU is the user and system CPU time of the process so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
