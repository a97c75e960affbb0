package cache

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestSiteLogAppend(t *testing.T) {
	ctx := context.Background()
	db, err := Open(filepath.Join(t.TempDir(), "a.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := &SiteLog{DB: db}
	if meta, cp, err := s.ReadLogHead(ctx); meta != nil || cp != nil || err != nil {
		t.Fatalf("empty head = %q, %q, %v", meta, cp, err)
	}
	if err := s.CreateLog(ctx, []byte("meta"), []byte("cp0")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateLog(ctx, []byte("meta2"), []byte("cp0")); !errors.Is(err, ErrLogConflict) {
		t.Errorf("second CreateLog = %v, want ErrLogConflict", err)
	}
	h := func(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }
	if err := s.AppendLog(ctx, []byte("cp0"), 0, [][]byte{[]byte("r0"), []byte("r1")}, 0, [][]byte{h(0), h(1), h(2)}, []byte("cp2")); err != nil {
		t.Fatal(err)
	}
	for name, fn := range map[string]func() error{
		"stale size": func() error {
			return s.AppendLog(ctx, []byte("cp2"), 0, [][]byte{[]byte("x")}, 0, [][]byte{h(9)}, []byte("bad"))
		},
		"stale head": func() error {
			return s.AppendLog(ctx, []byte("cp0"), 2, [][]byte{[]byte("x")}, 3, [][]byte{h(9)}, []byte("bad"))
		},
		"wrong first hash": func() error {
			return s.AppendLog(ctx, []byte("cp2"), 2, [][]byte{[]byte("x")}, 2, [][]byte{h(9)}, []byte("bad"))
		},
		"failing InTx hook": func() error {
			return (&SiteLog{DB: db, InTx: func(*bolt.Tx) error { return errors.New("no") }}).AppendLog(ctx, []byte("cp2"), 2, [][]byte{[]byte("x")}, 3, [][]byte{h(9)}, []byte("bad"))
		},
	} {
		if err := fn(); err == nil {
			t.Errorf("%s: append succeeded", name)
		}
	}
	if err := s.AppendLog(ctx, []byte("cp2"), 0, nil, 3, nil, []byte("bad")); !errors.Is(err, ErrLogConflict) {
		t.Errorf("stale size: %v, want ErrLogConflict", err)
	}
	if err := s.AppendLog(ctx, []byte("cp0"), 2, nil, 3, nil, []byte("bad")); !errors.Is(err, ErrLogConflict) {
		t.Errorf("stale head: %v, want ErrLogConflict", err)
	}
	_, cp, _ := s.ReadLogHead(ctx)
	if string(cp) != "cp2" {
		t.Errorf("head %q after failed appends, want cp2", cp)
	}
	if _, err := s.ReadRecord(ctx, 2); err == nil {
		t.Error("record 2 written by a failed append")
	}
	got, err := s.ReadHashes(ctx, []int64{2, 0})
	if err != nil || !bytes.Equal(got[0], h(2)) || !bytes.Equal(got[1], h(0)) {
		t.Errorf("ReadHashes = %x, %v", got, err)
	}
	if _, err := s.ReadHashes(ctx, []int64{3}); err == nil {
		t.Error("hash 3 written by a failed append")
	}
	if cp, err := s.ReadCheckpointAt(ctx, 2); string(cp) != "cp2" || err != nil {
		t.Errorf("ReadCheckpointAt(2) = %q, %v", cp, err)
	}
	if cp, err := s.ReadCheckpointAt(ctx, 1); cp != nil || err != nil {
		t.Errorf("ReadCheckpointAt(1) = %q, %v", cp, err)
	}
}

// TestLogInitTx: CreateLog runs InTx in its transaction: LogInitTx stores
// the key reference and the audit record with the log, and a failing hook
// leaves no log.
func TestLogInitTx(t *testing.T) {
	ctx := context.Background()
	db, err := Open(filepath.Join(t.TempDir(), "a.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fail := &SiteLog{DB: db, InTx: func(*bolt.Tx) error { return errors.New("no") }}
	if err := fail.CreateLog(ctx, []byte("meta"), []byte("cp0")); err == nil {
		t.Fatal("CreateLog with a failing hook succeeded")
	}
	s := &SiteLog{DB: db}
	if meta, _, err := s.ReadLogHead(ctx); meta != nil || err != nil {
		t.Fatalf("a failed CreateLog left %q, %v", meta, err)
	}
	s.InTx = LogInitTx("pkcs11:token=t;object=log", AuditRecord{Kind: "log-init", Fields: map[string]string{"log_origin": "o"}})
	if err := s.CreateLog(ctx, []byte("meta"), []byte("cp0")); err != nil {
		t.Fatal(err)
	}
	if ref, err := s.LogKeyRef(ctx); ref != "pkcs11:token=t;object=log" || err != nil {
		t.Errorf("LogKeyRef = %q, %v", ref, err)
	}
	recs, err := db.Audit()
	if err != nil || len(recs) != 1 || recs[0].Kind != "log-init" {
		t.Errorf("audit = %+v, %v", recs, err)
	}
}

// TestSiteLogFileHoldReads: reads between HoldReads and release share one
// read-only open, which keeps other writers out (their lock times out);
// holds nest; a write of the holding SiteLogFile is refused, not left to
// wait for its own lock; the last release lets writers in again.
func TestSiteLogFileHoldReads(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "a.db")
	f := &SiteLogFile{Path: path}
	release, err := f.HoldReads(ctx)
	if err != nil {
		t.Fatalf("HoldReads on a database that does not exist = %v", err)
	}
	if meta, cp, err := f.ReadLogHead(ctx); meta != nil || cp != nil || err != nil {
		t.Fatalf("head of no database, held = %q, %q, %v", meta, cp, err)
	}
	release()
	if err := f.CreateLog(ctx, []byte("meta"), []byte("cp0")); err != nil {
		t.Fatal(err)
	}
	h := func(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }
	other := &SiteLogFile{Path: path, Options: Options{Timeout: 50 * time.Millisecond}}
	first, err := f.HoldReads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	second, err := f.HoldReads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, cp, err := f.ReadLogHead(ctx); string(cp) != "cp0" || err != nil {
		t.Errorf("held ReadLogHead = %q, %v", cp, err)
	}
	if err := f.AppendLog(ctx, []byte("cp0"), 0, [][]byte{[]byte("r0")}, 0, [][]byte{h(0)}, []byte("cp1")); !errors.Is(err, ErrReadsHeld) {
		t.Errorf("AppendLog while its reads are held = %v, want ErrReadsHeld", err)
	}
	first()
	first() // a second call does nothing
	if err := other.AppendLog(ctx, []byte("cp0"), 0, [][]byte{[]byte("r0")}, 0, [][]byte{h(0)}, []byte("cp1")); !errors.Is(err, ErrLocked) {
		t.Errorf("another writer's AppendLog while one hold remains = %v, want ErrLocked", err)
	}
	second()
	if err := other.AppendLog(ctx, []byte("cp0"), 0, [][]byte{[]byte("r0")}, 0, [][]byte{h(0)}, []byte("cp1")); err != nil {
		t.Errorf("AppendLog after the last release = %v", err)
	}
	if _, cp, err := f.ReadLogHead(ctx); string(cp) != "cp1" || err != nil {
		t.Errorf("ReadLogHead after the append = %q, %v", cp, err)
	}
	if err := f.AppendLog(ctx, []byte("cp1"), 1, [][]byte{[]byte("r1")}, 1, [][]byte{h(1), h(2)}, []byte("cp2")); err != nil {
		t.Errorf("AppendLog of the holder after its release = %v", err)
	}
}

// TestSiteLogRotateKey: RotateLogKey replaces the metadata and the head
// only while the head is the one it re-signs, with InTx in the same
// transaction; the checkpoints stored by size stay, and a batch prepared
// before the rotation no longer appends.
func TestSiteLogRotateKey(t *testing.T) {
	ctx := context.Background()
	db, err := Open(filepath.Join(t.TempDir(), "a.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := &SiteLog{DB: db}
	if err := s.RotateLogKey(ctx, nil, []byte("meta2"), []byte("cp0'")); err == nil {
		t.Error("RotateLogKey without a log succeeded")
	}
	if err := s.CreateLog(ctx, []byte("meta"), []byte("cp0")); err != nil {
		t.Fatal(err)
	}
	if err := s.RotateLogKey(ctx, []byte("other"), []byte("meta2"), []byte("cp0'")); !errors.Is(err, ErrLogConflict) {
		t.Errorf("stale head: %v, want ErrLogConflict", err)
	}
	fail := &SiteLog{DB: db, InTx: func(*bolt.Tx) error { return errors.New("no") }}
	if err := fail.RotateLogKey(ctx, []byte("cp0"), []byte("meta2"), []byte("cp0'")); err == nil {
		t.Error("RotateLogKey with a failing hook succeeded")
	}
	if meta, cp, _ := s.ReadLogHead(ctx); string(meta) != "meta" || string(cp) != "cp0" {
		t.Fatalf("failed rotations left %q, %q", meta, cp)
	}
	s.InTx = LogInitTx("new-ref", AuditRecord{Kind: "log-rotate-key"})
	if err := s.RotateLogKey(ctx, []byte("cp0"), []byte("meta2"), []byte("cp0'")); err != nil {
		t.Fatal(err)
	}
	s.InTx = nil
	if meta, cp, _ := s.ReadLogHead(ctx); string(meta) != "meta2" || string(cp) != "cp0'" {
		t.Errorf("after the rotation: %q, %q", meta, cp)
	}
	if cp, _ := s.ReadCheckpointAt(ctx, 0); string(cp) != "cp0" {
		t.Errorf("checkpoint 0 = %q, want the old key's", cp)
	}
	if ref, _ := s.LogKeyRef(ctx); ref != "new-ref" {
		t.Errorf("key ref = %q", ref)
	}
	if recs, err := db.Audit(); err != nil || len(recs) != 1 || recs[0].Kind != "log-rotate-key" {
		t.Errorf("audit = %+v, %v", recs, err)
	}
	h := bytes.Repeat([]byte{1}, 32)
	if err := s.AppendLog(ctx, []byte("cp0"), 0, [][]byte{[]byte("r0")}, 0, [][]byte{h}, []byte("cp1")); !errors.Is(err, ErrLogConflict) {
		t.Errorf("append prepared before the rotation: %v, want ErrLogConflict", err)
	}
}
