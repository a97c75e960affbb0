package tlog_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"

	"github.com/airlock-project/airlock/cache"
	"github.com/airlock-project/airlock/tlog"
	"github.com/airlock-project/airlock/tlog/sitelogtest"
)

// BenchmarkImportPack100 imports a pack of 100 logs into a mirror that
// holds each at 500 leaves: each log's checkpoint (ECDSA P-256, Rekor v1
// style) of a tree of 1000 leaves with its consistency proof from 500.
// Each iteration reads the pack archive and imports it into a fresh copy
// of the mirror (copying is not timed): 100 signatures, 100 proofs, one
// bbolt transaction with its audit record.
func BenchmarkImportPack100(b *testing.B) {
	const logs, from, to = 100, 500, 1000
	ctx := context.Background()
	var trusted []tlog.TrustedLog
	first, pack := &tlog.Pack{}, &tlog.Pack{}
	for i := range logs {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		lk, err := tlog.NewLogKey(&key.PublicKey)
		if err != nil {
			b.Fatal(err)
		}
		host := fmt.Sprintf("log%03d.example", i)
		trusted = append(trusted, tlog.TrustedLog{Host: host, Key: &key.PublicKey, LogID: lk.ID[:], Source: "bench"})
		tree := testonly.New(rfc6962.DefaultHasher)
		for j := range to {
			tree.AppendData(fmt.Appendf(nil, "log %d leaf %d", i, j))
		}
		sign := func(size uint64) []byte {
			n, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: host, TreeID: 1, Size: int64(size), Hash: tlog.Hash(tree.HashAt(size))}, lk, key)
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
		hs, err := tree.ConsistencyProof(from, to)
		if err != nil {
			b.Fatal(err)
		}
		p := tlog.ConsistencyProof{From: from, To: to}
		for _, h := range hs {
			p.Hashes = append(p.Hashes, tlog.Hash(h))
		}
		first.Logs = append(first.Logs, tlog.PackLog{Checkpoint: sign(from)})
		pack.Logs = append(pack.Logs, tlog.PackLog{Checkpoint: sign(to), Proofs: []tlog.ConsistencyProof{p}})
	}
	var archive bytes.Buffer
	if _, err := pack.WriteTo(&archive); err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	base := filepath.Join(dir, "base.db")
	db, err := cache.Open(base, cache.Options{})
	if err != nil {
		b.Fatal(err)
	}
	opts := tlog.ImportOptions{Logs: trusted, Source: "bench.pack"}
	if _, err := tlog.ImportPack(ctx, sitelogtest.Mirror(db), first, opts); err != nil {
		b.Fatal(err)
	}
	db.Close()
	baseBytes, err := os.ReadFile(base)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(archive.Len()), "pack-bytes")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		path := filepath.Join(dir, fmt.Sprintf("m%d.db", i))
		if err := os.WriteFile(path, baseBytes, 0o600); err != nil {
			b.Fatal(err)
		}
		db, err := cache.Open(path, cache.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		p, err := tlog.ReadPack(bytes.NewReader(archive.Bytes()))
		if err != nil {
			b.Fatal(err)
		}
		res, err := tlog.ImportPack(ctx, sitelogtest.Mirror(db), p, opts)
		if err != nil || len(res.Logs) != logs || res.Logs[0].Status != tlog.StatusAdvanced {
			b.Fatalf("import: %v", err)
		}
		b.StopTimer()
		db.Close()
		os.Remove(path)
		b.StartTimer()
	}
}
