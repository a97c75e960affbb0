//go:build cgo

package hsm_test

import (
	"crypto"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/airlock-project/airlock/hsm"
	"github.com/airlock-project/airlock/hsm/softhsmtest"
	"github.com/miekg/pkcs11"
)

func benchKey(b *testing.B, typ hsm.KeyType, sessions int) *hsm.Key {
	b.Helper()
	tok := softhsmtest.New(b)
	tok.GenerateKey(b, "bench", typ)
	k, err := hsm.OpenKey(&hsm.URI{Token: tok.Label, Object: "bench"}, hsm.KeyOptions{ModulePath: tok.Module, PIN: tok.PINFunc(), Sessions: sessions})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { k.Close() })
	return k
}

// BenchmarkSignP256Parallel signs SHA-256 digests from GOMAXPROCS
// goroutines through one Key (one login, a session per CPU).
func BenchmarkSignP256Parallel(b *testing.B) {
	k := benchKey(b, hsm.ECDSAP256, 0)
	d := sha256.Sum256([]byte("small file"))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := k.Sign(nil, d[:], crypto.SHA256); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sigs/s")
}

// BenchmarkSignP256Serial is one goroutine, one session: the token's
// single-thread rate.
func BenchmarkSignP256Serial(b *testing.B) {
	k := benchKey(b, hsm.ECDSAP256, 1)
	d := sha256.Sum256([]byte("small file"))
	b.ResetTimer()
	for b.Loop() {
		if _, err := k.Sign(nil, d[:], crypto.SHA256); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sigs/s")
}

// BenchmarkSign1000 signs a batch of 1000 distinct digests with as many
// workers as sessions, the shape of `sign-blob` with 1000 small files
// (without hashing and bundle writing, which the signing benchmark adds).
func BenchmarkSign1000(b *testing.B) {
	for _, typ := range []hsm.KeyType{hsm.ECDSAP256, hsm.ECDSAP384, hsm.Ed25519, hsm.RSA3072} {
		b.Run(string(typ), func(b *testing.B) {
			k := benchKey(b, typ, 0)
			msgs := make([][]byte, 1000)
			for i := range msgs {
				m := []byte(fmt.Sprintf("file %d", i))
				switch typ {
				case hsm.Ed25519:
					msgs[i] = m
				case hsm.ECDSAP384:
					s := sha512.Sum384(m)
					msgs[i] = s[:]
				default:
					s := sha256.Sum256(m)
					msgs[i] = s[:]
				}
			}
			opts := crypto.SignerOpts(crypto.SHA256)
			switch typ {
			case hsm.Ed25519:
				opts = crypto.Hash(0)
			case hsm.ECDSAP384:
				opts = crypto.SHA384
			}
			workers := runtime.NumCPU()
			b.ResetTimer()
			for b.Loop() {
				next := make(chan []byte)
				var wg sync.WaitGroup
				for range workers {
					wg.Go(func() {
						for m := range next {
							if _, err := k.Sign(nil, m, opts); err != nil {
								b.Error(err)
							}
						}
					})
				}
				for _, m := range msgs {
					next <- m
				}
				close(next)
				wg.Wait()
			}
			b.ReportMetric(float64(b.N*len(msgs))/b.Elapsed().Seconds(), "sigs/s")
		})
	}
}

// BenchmarkRawP256Serial is the floor: SoftHSM2 through miekg/pkcs11 with
// no airlock code (one session, C_SignInit + C_Sign, raw r||s), to compare
// with BenchmarkSignP256Serial.
func BenchmarkRawP256Serial(b *testing.B) {
	k := benchKey(b, hsm.ECDSAP256, 1)
	ctx := k.RawCtx()
	sh, err := ctx.OpenSession(k.RawSlot(), pkcs11.CKF_SERIAL_SESSION)
	if err != nil {
		b.Fatal(err)
	}
	defer ctx.CloseSession(sh)
	d := sha256.Sum256([]byte("small file"))
	mech := []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_ECDSA, nil)}
	b.ResetTimer()
	for b.Loop() {
		if err := ctx.SignInit(sh, mech, k.RawObject()); err != nil {
			b.Fatal(err)
		}
		if _, err := ctx.Sign(sh, d[:]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sigs/s")
}
