package tlog_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/airlock-project/airlock/cache"
	"github.com/airlock-project/airlock/tlog"
	"github.com/airlock-project/airlock/tlog/sitelogtest"
)

// mirrorDB is a database whose checkpoint mirror tests import into.
type mirrorDB struct {
	db    *cache.DB
	store tlog.MirrorStore
	path  string
}

func newMirror(t testing.TB) *mirrorDB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mirror.db")
	db, err := cache.Open(path, cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &mirrorDB{db: db, store: sitelogtest.Mirror(db), path: path}
}

// logWithKey is a site log named origin (tree 1193050959916656506) under
// key: two of them with one key are one log's key showing two histories.
func logWithKey(t testing.TB, key *ecdsa.PrivateKey) *testLog {
	t.Helper()
	return createLog(t, origin, 1193050959916656506, key)
}

// createLog creates a site log in a database of its own.
func createLog(t testing.TB, o string, tree int64, key *ecdsa.PrivateKey) *testLog {
	t.Helper()
	path := filepath.Join(t.TempDir(), "airlock.db")
	db, err := cache.Open(path, cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	store := &cache.SiteLog{DB: db}
	l, err := tlog.Create(context.Background(), store, tlog.Config{Origin: o, TreeID: tree}, key, t0)
	if err != nil {
		t.Fatal(err)
	}
	return &testLog{log: l, key: key, store: store, db: db, path: path}
}

func (tl *testLog) pack(t testing.TB, from ...int64) *tlog.Pack {
	t.Helper()
	p, err := tl.log.Pack(context.Background(), from)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (m *mirrorDB) importPack(t testing.TB, tl *testLog, p *tlog.Pack) (*tlog.ImportResult, error) {
	t.Helper()
	return tlog.ImportPack(context.Background(), m.store, p, tlog.ImportOptions{
		Logs: []tlog.TrustedLog{sitelogtest.TrustedLog(tl.log)}, Source: "test.pack", Now: t0,
	})
}

func (m *mirrorDB) list(t testing.TB) []tlog.MirroredLog {
	t.Helper()
	logs, _, err := tlog.ListMirror(context.Background(), m.store, "")
	if err != nil {
		t.Fatal(err)
	}
	return logs
}

func (m *mirrorDB) evidence(t testing.TB) []tlog.EvidenceRecord {
	t.Helper()
	_, ev, err := tlog.ListMirror(context.Background(), m.store, "")
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestImportAdvances(t *testing.T) {
	tl := newLog(t)
	m := newMirror(t)
	tl.append(t, bodies(0, 10))
	res, err := m.importPack(t, tl, tl.pack(t))
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Logs[0]; got.Status != tlog.StatusNew || got.To != 10 {
		t.Fatalf("first import: %+v", got)
	}
	tl.append(t, bodies(10, 20))
	res, err = m.importPack(t, tl, tl.pack(t, 10, 3))
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Logs[0]; got.Status != tlog.StatusAdvanced || got.From != 10 || got.To != 30 {
		t.Fatalf("second import: %+v", got)
	}
	res, err = m.importPack(t, tl, tl.pack(t, 10))
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Logs[0]; got.Status != tlog.StatusUnchanged {
		t.Fatalf("same pack again: %+v", got)
	}
	logs := m.list(t)
	if len(logs) != 1 || logs[0].Size != 30 || !reflect.DeepEqual(logs[0].History, []int64{10, 30}) || logs[0].Source != "test.pack" {
		t.Fatalf("mirror: %+v", logs)
	}
}

// state is everything an import could change: the file's bytes.
func (m *mirrorDB) state(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(m.path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestImportRollbackChangesNothing(t *testing.T) {
	tl := newLog(t)
	m := newMirror(t)
	tl.append(t, bodies(0, 10))
	old := tl.pack(t)
	tl.append(t, bodies(10, 5))
	if _, err := m.importPack(t, tl, tl.pack(t)); err != nil {
		t.Fatal(err)
	}
	before, listed := m.state(t), m.list(t)
	_, err := m.importPack(t, tl, old)
	if !errors.Is(err, tlog.ErrRollback) {
		t.Fatalf("got %v, want ErrRollback", err)
	}
	if !bytes.Equal(before, m.state(t)) || !reflect.DeepEqual(listed, m.list(t)) {
		t.Fatal("a refused rollback pack changed the database")
	}
}

// TestEquivocatingSiteLog: two site logs sharing one log key (one HSM key
// restored into two rooms) sign two different trees under the same
// origin. The mirror of one catches the other, with the evidence.
func TestEquivocatingSiteLog(t *testing.T) {
	key := ecKey(t, elliptic.P256())
	a, b := logWithKey(t, key), logWithKey(t, key)
	a.append(t, bodies(0, 10))
	b.append(t, bodies(100, 10))
	m := newMirror(t)
	if _, err := m.importPack(t, a, a.pack(t)); err != nil {
		t.Fatal(err)
	}
	listed := m.list(t)

	// Same size, other root.
	_, err := m.importPack(t, b, b.pack(t))
	var ie *tlog.InconsistencyError
	if !errors.As(err, &ie) || !errors.Is(err, tlog.ErrInconsistent) {
		t.Fatalf("got %v, want an InconsistencyError", err)
	}
	ev := ie.Evidence()
	if !strings.Contains(ev, string(a.pack(t).Logs[0].Checkpoint)) || !strings.Contains(ev, string(b.pack(t).Logs[0].Checkpoint)) {
		t.Fatalf("the evidence does not hold both checkpoints:\n%s", ev)
	}
	if !reflect.DeepEqual(listed, m.list(t)) {
		t.Fatal("a fork pack changed the mirror")
	}

	// A fork that advances: its proof from the mirrored size fails.
	b.append(t, bodies(200, 5))
	_, err = m.importPack(t, b, b.pack(t, 10))
	if !errors.As(err, &ie) || ie.Proof == nil || ie.Proof.From != 10 || ie.Proof.To != 15 {
		t.Fatalf("got %v, want an InconsistencyError with the proof from 10 to 15", err)
	}
	if !strings.Contains(ie.Evidence(), "CONSISTENCY PROOF 10 TO 15") {
		t.Fatalf("evidence without the proof:\n%s", ie.Evidence())
	}
	if !reflect.DeepEqual(listed, m.list(t)) {
		t.Fatal("a fork pack changed the mirror")
	}
	if got := m.evidence(t); len(got) != 2 || got[0].Origin != ie.Origin || got[1].Evidence != ie.Evidence() {
		t.Fatalf("stored evidence: %+v", got)
	}

	// The fork's bundles are caught against each log's own view too.
	head, err := b.log.Checkpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	claim, err := tlog.ClaimFromNote(head.Note)
	if err != nil {
		t.Fatal(err)
	}
	a.append(t, bodies(0, 5)) // a is now 15 long too, with other entries
	if _, err := a.log.CheckClaim(context.Background(), claim); !errors.Is(err, tlog.ErrInconsistent) {
		t.Fatalf("site log CheckClaim of the fork: got %v, want ErrInconsistent", err)
	}
	if _, err := tlog.CheckMirror(context.Background(), m.store, claim); err != nil {
		// The mirror is at 10; the claim at 15 is newer: not provable
		// either way without a proof.
		t.Fatalf("CheckMirror of a newer claim: %v", err)
	}
}

func TestForgedConsistencyProof(t *testing.T) {
	tl := newLog(t)
	m := newMirror(t)
	tl.append(t, bodies(0, 10))
	if _, err := m.importPack(t, tl, tl.pack(t)); err != nil {
		t.Fatal(err)
	}
	tl.append(t, bodies(10, 7))
	p := tl.pack(t, 10)
	for i := range p.Logs[0].Proofs[0].Hashes {
		forged := *p
		forged.Logs = []tlog.PackLog{{Checkpoint: p.Logs[0].Checkpoint, Proofs: []tlog.ConsistencyProof{p.Logs[0].Proofs[0]}}}
		hs := append([]tlog.Hash(nil), p.Logs[0].Proofs[0].Hashes...)
		hs[i][0] ^= 1
		forged.Logs[0].Proofs[0].Hashes = hs
		if _, err := m.importPack(t, tl, &forged); !errors.Is(err, tlog.ErrInconsistent) {
			t.Fatalf("hash %d flipped: got %v, want ErrInconsistent", i, err)
		}
	}
	// Without a proof the advance is refused.
	if _, err := m.importPack(t, tl, tl.pack(t)); !errors.Is(err, tlog.ErrNoConsistencyProof) {
		t.Fatalf("got %v, want ErrNoConsistencyProof", err)
	}
	if m.list(t)[0].Size != 10 {
		t.Fatal("a forged proof moved the mirror")
	}
	if _, err := m.importPack(t, tl, p); err != nil {
		t.Fatalf("the real proof: %v", err)
	}
}

func TestImportUnknownLog(t *testing.T) {
	tl, other := newLog(t), newLog(t)
	m := newMirror(t)
	tl.append(t, bodies(0, 3))
	_, err := tlog.ImportPack(context.Background(), m.store, tl.pack(t), tlog.ImportOptions{
		Logs: []tlog.TrustedLog{sitelogtest.TrustedLog(other.log)}, Source: "x", Now: t0,
	})
	if !errors.Is(err, tlog.ErrUnknownLog) {
		t.Fatalf("got %v, want ErrUnknownLog", err)
	}
	if len(m.list(t)) != 0 {
		t.Fatal("an untrusted pack was imported")
	}
}

func TestCheckMirror(t *testing.T) {
	ctx := context.Background()
	tl := newLog(t)
	m := newMirror(t)
	tl.append(t, bodies(0, 5))
	at5, err := tl.log.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tl.append(t, bodies(5, 5))
	at10, _ := tl.log.Checkpoint(ctx)
	tl.append(t, bodies(10, 5))
	at15, _ := tl.log.Checkpoint(ctx)
	if _, err := m.importPack(t, tl, tl.pack(t, 5)); err != nil {
		t.Fatal(err)
	}
	tl.append(t, bodies(15, 5))
	at20, _ := tl.log.Checkpoint(ctx)

	claim := func(n []byte) tlog.Claim {
		c, err := tlog.ClaimFromNote(n)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, tc := range []struct {
		name string
		note []byte
		want tlog.MirrorStatus
		size int64
	}{
		{"matched", at15.Note, tlog.MirrorMatched, 15},
		{"proved", at5.Note, tlog.MirrorProved, 15},
		{"unproved", at10.Note, tlog.MirrorUnproved, 15},
		{"newer", at20.Note, tlog.MirrorNewer, 15},
	} {
		got, err := tlog.CheckMirror(ctx, m.store, claim(tc.note))
		if err != nil || got.Status != tc.want || got.MirrorSize != tc.size {
			t.Errorf("%s: got %+v, %v; want %s at %d", tc.name, got, err, tc.want, tc.size)
		} else if !bytes.Equal(got.Note, at15.Note) {
			t.Errorf("%s: Note is %q, want the mirrored checkpoint of size 15", tc.name, got.Note)
		}
		sl, err := tl.log.CheckClaim(ctx, claim(tc.note))
		if err != nil || sl.Status != tlog.MirrorMatched {
			t.Errorf("%s: site log CheckClaim: %+v, %v", tc.name, sl, err)
		}
	}
	c := claim(at5.Note)
	c.Origin = "other.example"
	if got, err := tlog.CheckMirror(ctx, m.store, c); err != nil || got.Status != tlog.MirrorUnmirrored {
		t.Errorf("unmirrored: %+v, %v", got, err)
	}
	// A claim of size 5 with another root contradicts the stored proof.
	c = claim(at5.Note)
	c.Root[0] ^= 1
	if _, err := tlog.CheckMirror(ctx, m.store, c); !errors.Is(err, tlog.ErrInconsistent) {
		t.Errorf("forked claim at a proved size: got %v, want ErrInconsistent", err)
	}
	c = claim(at15.Note)
	c.Root[0] ^= 1
	if _, err := tlog.CheckMirror(ctx, m.store, c); !errors.Is(err, tlog.ErrInconsistent) {
		t.Errorf("forked claim at the mirrored size: got %v, want ErrInconsistent", err)
	}

	// A pack's proof from a size the mirror does not hold cannot be
	// checked at import; a forged one stored beside a good one does not
	// make the claim inconsistent while the good one proves it.
	p := tl.pack(t, 15, 5)
	for i := range p.Logs[0].Proofs {
		if p.Logs[0].Proofs[i].From == 5 {
			p.Logs[0].Proofs[i].Hashes[0][0] ^= 1
		}
	}
	if _, err := m.importPack(t, tl, p); err != nil {
		t.Fatal(err)
	}
	if got, err := tlog.CheckMirror(ctx, m.store, claim(at5.Note)); err != nil || got.Status != tlog.MirrorProved || got.MirrorSize != 15 {
		t.Errorf("claim at 5 with a forged proof to 20 and a good one to 15: %+v, %v", got, err)
	}
	// Size 15 is history now: a claim of it is matched against the
	// mirrored checkpoint of that size, whose note (and cosignatures) a
	// witness policy counts, not the latest's.
	if got, err := tlog.CheckMirror(ctx, m.store, claim(at15.Note)); err != nil || got.Status != tlog.MirrorMatched || got.MirrorSize != 15 || !bytes.Equal(got.Note, at15.Note) {
		t.Errorf("claim at the historical size 15: %+v, %v", got, err)
	}
}
