package cache_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/airlock-project/airlock/cache"
)

func TestMirrorCommitCompareAndSwap(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "airlock.db")
	db, err := cache.Open(path, cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := &cache.MirrorStore{DB: db}
	audit := cache.AuditRecord{Kind: "checkpoints-import", Time: time.Unix(1, 0)}
	c := cache.MirrorCommit{Audit: audit, Origins: []cache.MirrorOriginCommit{{Origin: "o", Size: 5, Latest: []byte("r5"),
		Proofs: []cache.MirrorProof{{From: 2, To: 5, Record: []byte("p25")}, {From: 3, To: 5, Record: []byte("p35")}}}}}
	if ok, err := s.CommitMirror(ctx, c); !ok || err != nil {
		t.Fatalf("first commit: %v %v", ok, err)
	}
	// The same commit again expects no origin: refused, nothing written.
	if ok, err := s.CommitMirror(ctx, c); ok || err != nil {
		t.Fatalf("second commit of a new origin: %v %v", ok, err)
	}
	c.Origins[0].ExpectLatest, c.Origins[0].Size, c.Origins[0].Latest = []byte("r5"), 9, []byte("r9")
	c.Origins[0].Proofs = []cache.MirrorProof{{From: 5, To: 9, Record: []byte("p59")}}
	if ok, err := s.CommitMirror(ctx, c); !ok || err != nil {
		t.Fatalf("advance: %v %v", ok, err)
	}
	latest, _ := s.MirrorLatest(ctx, "o")
	sizes, _ := s.MirrorSizes(ctx, "o")
	at5, _ := s.MirrorCheckpointAt(ctx, "o", 5)
	proofs, _ := s.MirrorProofsFrom(ctx, "o", 5)
	if string(latest) != "r9" || len(sizes) != 2 || sizes[0] != 5 || sizes[1] != 9 || string(at5) != "r5" || len(proofs) != 1 || string(proofs[9]) != "p59" {
		t.Fatalf("latest %q sizes %v at5 %q proofs %v", latest, sizes, at5, proofs)
	}
	// The whole origin in one read says what the single reads say.
	o, err := s.ReadMirrorOrigin(ctx, "o")
	if err != nil || string(o.Latest) != "r9" || len(o.History) != 2 || string(o.History[5]) != "r5" || string(o.History[9]) != "r9" ||
		len(o.Proofs) != 3 || string(o.Proofs[2][5]) != "p25" || string(o.Proofs[3][5]) != "p35" || string(o.Proofs[5][9]) != "p59" {
		t.Fatalf("ReadMirrorOrigin = %+v, %v", o, err)
	}
	if o, err := s.ReadMirrorOrigin(ctx, "other"); o != nil || err != nil {
		t.Fatalf("ReadMirrorOrigin of an origin not mirrored = %+v, %v", o, err)
	}
	recs, err := db.Audit()
	if err != nil || len(recs) != 2 {
		t.Fatalf("audit: %d records, %v", len(recs), err)
	}
	if err := s.AddEvidence(ctx, "o", []byte("ev"), cache.AuditRecord{Kind: "checkpoints-inconsistency"}); err != nil {
		t.Fatal(err)
	}
	if ev, err := s.MirrorEvidence(ctx, "other"); err != nil || len(ev) != 0 {
		t.Fatalf("evidence of another origin: %q %v", ev, err)
	}
	if ev, err := s.MirrorEvidence(ctx, ""); err != nil || len(ev) != 1 || string(ev[0]) != "ev" {
		t.Fatalf("evidence: %q %v", ev, err)
	}
}

// TestMirrorDamagedReadsAsCorrupt: a history key of the wrong length (an
// edit outside airlock) is cache.ErrCorrupt, not a misread.
func TestMirrorDamagedReadsAsCorrupt(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "airlock.db")
	db, err := cache.Open(path, cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := &cache.MirrorStore{DB: db}
	if ok, err := s.CommitMirror(ctx, cache.MirrorCommit{Origins: []cache.MirrorOriginCommit{{Origin: "o", Size: 1, Latest: []byte("r")}}}); !ok || err != nil {
		t.Fatal(ok, err)
	}
	db.Close()
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(cache.BucketCheckpoints).Bucket([]byte("origins")).Bucket([]byte("o")).Bucket([]byte("history")).Put([]byte("short"), []byte("x"))
	}); err != nil {
		t.Fatal(err)
	}
	b.Close()
	f := &cache.MirrorFile{Path: path}
	defer f.Close()
	if _, err := f.MirrorSizes(ctx, "o"); !errors.Is(err, cache.ErrCorrupt) {
		t.Fatalf("got %v, want ErrCorrupt", err)
	}
	// A database that does not exist holds no mirror.
	none := &cache.MirrorFile{Path: filepath.Join(t.TempDir(), "none.db")}
	if origins, err := none.MirrorOrigins(ctx); err != nil || len(origins) != 0 {
		t.Fatalf("no database: %v %v", origins, err)
	}
}
