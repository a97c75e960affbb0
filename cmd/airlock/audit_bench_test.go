package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/airlock-project/airlock/cache"
)

// BenchmarkAuditVerify100k runs `airlock audit verify --log-key PUB` in
// process on a database whose sealed trail holds 100,000 records (sign
// records as sign-blob writes them, one public-good repository, a site
// log with its key in a file):
//
//	go test ./cmd/airlock -run '^$' -bench AuditVerify100k -benchtime 5x
func BenchmarkAuditVerify100k(b *testing.B) {
	const n = 100_000
	dir := b.TempDir()
	db := filepath.Join(dir, "airlock.db")
	b.Setenv("AIRLOCK_DB", db)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	priv, err := cryptoutils.MarshalPrivateKeyToPEM(key)
	if err != nil {
		b.Fatal(err)
	}
	pub, err := cryptoutils.MarshalPublicKeyToPEM(key.Public())
	if err != nil {
		b.Fatal(err)
	}
	keyFile, pubFile := filepath.Join(dir, "log.key"), filepath.Join(dir, "log.pub")
	if err := os.WriteFile(keyFile, priv, 0o600); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(pubFile, pub, 0o644); err != nil {
		b.Fatal(err)
	}
	for _, args := range [][]string{
		{"airlock", "trust", "init", "--public-good"},
		{"airlock", "log", "init", "--key", keyFile, "--origin", "bench.example"},
	} {
		if code := run(args, nil, io.Discard, io.Discard); code != 0 {
			b.Fatalf("%v exited %d", args, code)
		}
	}
	d, err := cache.Open(db, cache.Options{})
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now().UTC()
	for i := 0; i < n-2; i += 1000 {
		var recs []cache.AuditRecord
		for j := i; j < min(i+1000, n-2); j++ {
			recs = append(recs, cache.AuditRecord{Time: t0, Kind: "sign", Fields: map[string]string{
				"artifact":        fmt.Sprintf("/srv/release/dist/artifact-%06d.tgz", j),
				"artifact_digest": "sha256:98ea6e4f216f2fb4b69fff9b3a44842c38686ca685f3f55dc48c5d3fb1107be4",
				"bundle":          fmt.Sprintf("/srv/release/dist/artifact-%06d.tgz.sigstore.json", j),
				"bundle_digest":   "sha256:75a9a6b3e921e9fdb38e54d88cf1af258a0a80822bb163be2ad06b228fb9ec13",
				"key":             "pkcs11:token=release;object=signer",
				"key_sha256":      "78c93b301cf0113a745866e512e49437ab07bd8520b50ad5c39250bfe9ced9dd",
				"log_index":       fmt.Sprint(j),
				"log_origin":      "bench.example",
				"signature":       "MEUCIH8Cte47439SXACRroDDk/VoUacic3tsP1Qp43PQKTkyAiEAlZUoeNJkc29xFWwwxfDhqYSESkfuIxgCaU9FAWlhOVE=",
				"tlog":            "site",
			}})
		}
		if err := d.AppendAudit(recs...); err != nil {
			b.Fatal(err)
		}
	}
	d.Close()
	if code := run([]string{"airlock", "audit", "seal", "--key", keyFile}, nil, io.Discard, io.Discard); code != 0 {
		b.Fatalf("audit seal exited %d", code)
	}
	args := []string{"airlock", "audit", "verify", "--log-key", pubFile}
	b.ResetTimer()
	cpu0 := processCPU(b)
	for range b.N {
		if code := run(args, nil, io.Discard, io.Discard); code != 0 {
			b.Fatalf("audit verify exited %d", code)
		}
	}
	// CPU time is what to compare on a shared machine.
	b.ReportMetric((processCPU(b)-cpu0).Seconds()/float64(b.N), "cpu-s/op")
	if st, err := os.Stat(db); err == nil {
		b.ReportMetric(float64(st.Size())/(1<<20), "MiB")
	}
}
