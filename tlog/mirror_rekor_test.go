package tlog_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/airlock-project/airlock/tlog"
	"github.com/airlock-project/airlock/tlog/rekorv2"
	"github.com/airlock-project/airlock/tlog/rekorv2/rekortest"
)

// TestRekorTilesFork: two real rekor-tiles servers on loopback with one
// key and hostname but different entries are a genuine fork of a Rekor v2
// log. Packed from their storage directories (checkpoint and hash tiles,
// as an exporter packs them with PackFromTiles), the mirror of one takes
// its advances and refuses the other's checkpoints with the evidence.
func TestRekorTilesFork(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two rekor-tiles servers")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	const host = "rekor.fork.example"
	var a, b *rekortest.Server
	var wg sync.WaitGroup
	wg.Go(func() { a = rekortest.Start(t, rekortest.Options{Hostname: host, Key: key}) })
	wg.Go(func() { b = rekortest.Start(t, rekortest.Options{Hostname: host, Key: key}) })
	wg.Wait()
	if a == nil || b == nil {
		t.Fatal("servers did not start")
	}
	signer := ecKey(t, elliptic.P256())
	add := func(srv *rekortest.Server, tag string, n int) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				d := sha256.Sum256(fmt.Appendf(nil, "%s %d", tag, i))
				sig, err := ecdsa.SignASN1(rand.Reader, signer, d[:])
				if err != nil {
					errs <- err
					return
				}
				req, err := rekorv2.NewHashedRekord(d[:], sig, rekorv2.Verifier{PublicKey: signer.Public()})
				if err != nil {
					errs <- err
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				if _, err := rekorv2.Submit(ctx, srv.URL, req, srv.LogKey, srv.Origin); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	// packOf packs srv's current checkpoint with proofs from sizes, from
	// its storage directory.
	packOf := func(srv *rekortest.Server, from ...int64) (*tlog.Pack, *tlog.Note) {
		t.Helper()
		cp, err := os.ReadFile(filepath.Join(srv.StorageDir, "checkpoint"))
		if err != nil {
			t.Fatal(err)
		}
		read := func(_ context.Context, tile tlog.Tile) ([]byte, error) {
			return os.ReadFile(filepath.Join(srv.StorageDir, tlog.TilePath(tile)))
		}
		pl, err := tlog.PackFromTiles(context.Background(), cp, read, from)
		if err != nil {
			t.Fatal(err)
		}
		n, err := tlog.ParseNote(cp)
		if err != nil {
			t.Fatal(err)
		}
		return &tlog.Pack{Logs: []tlog.PackLog{*pl}}, n
	}
	add(a, "a", 5)
	add(b, "b", 5)
	m := newMirror(t)
	opts := tlog.ImportOptions{Logs: []tlog.TrustedLog{{Host: host, Key: key.Public(), Source: "rekor-tiles"}}, Source: "a.pack", Now: t0}
	pa, na := packOf(a)
	if na.Origin != host || na.Size == 0 {
		t.Fatalf("checkpoint of a: %+v", na)
	}
	if _, err := tlog.ImportPack(context.Background(), m.store, pa, opts); err != nil {
		t.Fatal(err)
	}
	add(a, "a more", 3)
	pa2, na2 := packOf(a, na.Size)
	res, err := tlog.ImportPack(context.Background(), m.store, pa2, opts)
	if err != nil || res.Logs[0].Status != tlog.StatusAdvanced || res.Logs[0].To != na2.Size {
		t.Fatalf("a's advance: %+v, %v", res, err)
	}
	listed := m.list(t)

	// b: the same key signs another tree. Packed with a proof from a's
	// mirrored size, from b's own tiles.
	add(b, "b more", 4)
	pb, nb := packOf(b, na2.Size)
	if nb.Origin != host || nb.Size <= na2.Size {
		t.Fatalf("checkpoint of b: size %d, a's %d", nb.Size, na2.Size)
	}
	opts.Source = "b.pack"
	_, err = tlog.ImportPack(context.Background(), m.store, pb, opts)
	var ie *tlog.InconsistencyError
	if !errors.As(err, &ie) || ie.Proof == nil || ie.Proof.From != na2.Size {
		t.Fatalf("b's pack: got %v, want an InconsistencyError with the proof from %d", err, na2.Size)
	}
	if got := m.list(t); len(got) != 1 || got[0].Size != listed[0].Size || got[0].Root != listed[0].Root {
		t.Fatalf("the fork moved the mirror: %+v", got)
	}
	if ev := m.evidence(t); len(ev) != 1 || ev[0].Source != "b.pack" {
		t.Fatalf("evidence: %+v", ev)
	}
}
