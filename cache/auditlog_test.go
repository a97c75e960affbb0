package cache

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	sumdb "golang.org/x/mod/sumdb/tlog"
)

// treeOf is the RFC 6962 root of the trail's stored records, recomputed
// from the records alone.
func treeOf(t *testing.T, db *DB) (int64, sumdb.Hash) {
	t.Helper()
	var stored []sumdb.Hash
	r := sumdb.HashReaderFunc(func(idx []int64) ([]sumdb.Hash, error) {
		out := make([]sumdb.Hash, len(idx))
		for i, x := range idx {
			out[i] = stored[x]
		}
		return out, nil
	})
	var n int64
	err := db.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketAudit).ForEach(func(_, v []byte) error {
			hs, err := sumdb.StoredHashesForRecordHash(n, sumdb.RecordHash(v), r)
			stored = append(stored, hs...)
			n++
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	root, err := sumdb.TreeHash(n, r)
	if err != nil {
		t.Fatal(err)
	}
	return n, root
}

// TestAuditTreeBackfillsOldTrail: a trail written before the audit log
// existed (records, no tree) gets its tree on the next append, and a plan
// over it gives the root of the records themselves.
func TestAuditTreeBackfillsOldTrail(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "a.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	t0 := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	for i := range 5 {
		if err := db.AppendAudit(AuditRecord{Time: t0.Add(time.Duration(i) * time.Minute), Kind: "sign"}); err != nil {
			t.Fatal(err)
		}
	}
	// An older airlock wrote these: no tree.
	if err := db.update(func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketAuditLog) }); err != nil {
		t.Fatal(err)
	}
	p, err := db.PlanAudit(nil, AuditRecord{Time: t0.Add(time.Hour), Kind: "trust-update"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Base != 5 || p.Size != 6 {
		t.Fatalf("plan: base %d size %d, want 5 and 6", p.Base, p.Size)
	}
	p.Seal = []byte("seal\n")
	if err := db.CommitAudit(p); err != nil {
		t.Fatal(err)
	}
	n, root := treeOf(t, db)
	if n != 6 || root != p.Root {
		t.Errorf("records hash to %x (%d), the plan sealed %x", root, n, p.Root)
	}
	// The stored tree now covers every record: a plan reads it.
	p2, err := db.PlanAudit(nil)
	if err != nil {
		t.Fatal(err)
	}
	if p2.Root != root || string(p2.HeadSeal) != "seal\n" {
		t.Errorf("second plan: root %x head %q", p2.Root, p2.HeadSeal)
	}
}

// TestAuditPlanMovedWritesUnsealed: when another writer appended between
// the plan and its commit, Tx writes the records unsealed (the batch is
// not lost), and CommitAudit writes nothing.
func TestAuditPlanMovedWritesUnsealed(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "a.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	p, err := db.PlanAudit(nil, AuditRecord{Time: now, Kind: "sign"})
	if err != nil {
		t.Fatal(err)
	}
	p.Seal = []byte("seal\n")
	if err := db.AppendAudit(AuditRecord{Time: now, Kind: "trust-update"}); err != nil {
		t.Fatal(err)
	}
	if err := db.CommitAudit(p); !errors.Is(err, ErrAuditMoved) {
		t.Fatalf("CommitAudit after another append: %v, want ErrAuditMoved", err)
	}
	if recs, _ := db.Audit(); len(recs) != 1 {
		t.Fatalf("CommitAudit that failed wrote: %d records", len(recs))
	}
	if err := db.update(p.Tx()); err != nil {
		t.Fatal(err)
	}
	recs, err := db.Audit()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[1].Kind != "sign" || p.Sealed {
		t.Errorf("moved plan: records %+v, sealed %v; want the sign record appended unsealed", recs, p.Sealed)
	}
	if head, _ := db.AuditHead(); head != nil {
		t.Errorf("moved plan wrote the seal %q", head)
	}
}

// TestRepositoryDigestCoversEverything: any key, value or nested bucket
// of a repository changes its digest.
func TestRepositoryDigestCoversEverything(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "a.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	digest := func() [32]byte {
		var d [32]byte
		db.view(func(tx *bolt.Tx) error {
			d = RepositoryDigest(tx.Bucket(BucketTUF).Bucket([]byte("r")))
			return nil
		})
		return d
	}
	put := func(fn func(b *bolt.Bucket) error) {
		t.Helper()
		if err := db.update(func(tx *bolt.Tx) error {
			b, err := tx.Bucket(BucketTUF).CreateBucketIfNotExists([]byte("r"))
			if err != nil {
				return err
			}
			return fn(b)
		}); err != nil {
			t.Fatal(err)
		}
	}
	put(func(b *bolt.Bucket) error { return b.Put([]byte("anchor"), []byte("a")) })
	seen := map[[32]byte]string{digest(): "anchor"}
	// In order: the nested value goes into the nested bucket.
	for _, step := range []struct {
		name string
		fn   func(b *bolt.Bucket) error
	}{
		{"value changed", func(b *bolt.Bucket) error { return b.Put([]byte("anchor"), []byte("b")) }},
		{"key added", func(b *bolt.Bucket) error { return b.Put([]byte("pinned"), []byte("x")) }},
		{"nested bucket", func(b *bolt.Bucket) error { _, err := b.CreateBucket([]byte("n")); return err }},
		{"nested value", func(b *bolt.Bucket) error { return b.Bucket([]byte("n")).Put([]byte("k"), []byte("v")) }},
		// "ab"+"" and "a"+"b" are not one record.
		{"split", func(b *bolt.Bucket) error { return b.Put([]byte("pinne"), []byte("dx")) }},
	} {
		put(step.fn)
		d := digest()
		if prev, ok := seen[d]; ok {
			t.Errorf("%s: digest unchanged since %s", step.name, prev)
		}
		seen[d] = step.name
	}
}

// BenchmarkAuditPlan1000 is what sealing adds to a signing batch of 1000
// files on a trail of 100,000 records: the plan (the batch's records
// encoded and hashed into the tree, the new root) and its commit with
// the batch's records (what AuditTx alone commits, plus the tree hashes
// and the seal). Each iteration appends 1000 records.
//
//	go test ./cache -run '^$' -bench AuditPlan1000 -benchtime 20x
func BenchmarkAuditPlan1000(b *testing.B) {
	db, err := Open(filepath.Join(b.TempDir(), "a.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	t0 := time.Now().UTC()
	batch := func() []AuditRecord {
		recs := make([]AuditRecord, 1000)
		for i := range recs {
			recs[i] = AuditRecord{Time: t0, Kind: "sign", Fields: map[string]string{"artifact": "/srv/release/dist/a.tgz",
				"artifact_digest": "sha256:98ea6e4f216f2fb4b69fff9b3a44842c38686ca685f3f55dc48c5d3fb1107be4"}}
		}
		return recs
	}
	for range 100 {
		if err := db.AppendAudit(batch()...); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("plan+commit", func(b *testing.B) {
		for range b.N {
			p, err := db.PlanAudit(nil, batch()...)
			if err != nil {
				b.Fatal(err)
			}
			p.Seal = []byte("seal\n")
			if err := db.CommitAudit(p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("unsealed", func(b *testing.B) {
		for range b.N {
			if err := db.AppendAudit(batch()...); err != nil {
				b.Fatal(err)
			}
		}
	})
}
