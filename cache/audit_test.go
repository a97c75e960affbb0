package cache

import (
	"bytes"
	"encoding/binary"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestAuditChain(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "a.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	t0 := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	for i, kind := range []string{"trust-init", "sign-blob", "attest-blob"} {
		if err := db.AppendAudit(AuditRecord{Time: t0.Add(time.Duration(i) * time.Minute), Kind: kind}); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := db.Audit()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(recs), 3; got != want {
		t.Fatalf("got %d records, want %d", got, want)
	}
	if recs[0].Prev != "" || recs[1].Prev == "" || recs[2].Seq != 3 {
		t.Errorf("chain fields wrong: %+v", recs)
	}

	// Editing a record breaks the link from the one after it.
	err = db.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAudit)
		k := binary.BigEndian.AppendUint64(nil, 2)
		v := bytes.Replace(b.Get(k), []byte("sign-blob"), []byte("sign-blub"), 1)
		return b.Put(k, v)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Audit(); err == nil || !strings.Contains(err.Error(), "record 3") {
		t.Errorf("edited record 2: got %v, want a broken chain at record 3", err)
	}

	// Deleting the first record breaks the sequence.
	err = db.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketAudit).Delete(binary.BigEndian.AppendUint64(nil, 1))
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Audit(); err == nil || !strings.Contains(err.Error(), "record 1") {
		t.Errorf("deleted record 1: got %v, want a broken chain at record 1", err)
	}
}
