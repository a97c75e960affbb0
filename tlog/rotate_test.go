package tlog_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/airlock-project/airlock/cache"
	"github.com/airlock-project/airlock/tlog"
)

// TestRotateKey appends under the first key, rotates, appends under the
// new key, and checks what each key signed: windows, entries' SETs, the
// checkpoints of either side, the handover, and a Log opened before the
// rotation following it.
func TestRotateKey(t *testing.T) {
	ctx := context.Background()
	tl := newLog(t)
	oldKey := tl.log.Key()
	tl.append(t, bodies(0, 3))
	before, err := tl.log.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stale, err := tlog.Open(ctx, tl.store) // opened before the rotation
	if err != nil {
		t.Fatal(err)
	}
	staleSigner, err := tlog.Open(ctx, tl.store) // opened before it, prepares after it
	if err != nil {
		t.Fatal(err)
	}
	pending, err := tl.log.Prepare(ctx, bodies(50, 2), t0, tl.key) // prepared before it
	if err != nil {
		t.Fatal(err)
	}

	next := ecKey(t, elliptic.P256())
	at := t0.Add(90*time.Second + 500*time.Millisecond)
	rot, err := tl.log.RotateKey(ctx, tl.key, next, at)
	if err != nil {
		t.Fatal(err)
	}
	T := t0.Add(90 * time.Second)
	if !rot.Handover.Time.Equal(T) || rot.Handover.Size != 3 || rot.Handover.Root != before.Hash || rot.Handover.Old != oldKey.ID {
		t.Errorf("handover = %+v", rot.Handover)
	}
	if !strings.HasPrefix(string(rot.Note), origin+"/key-rotation\ntree 1193050959916656506\nsize 3\n") {
		t.Errorf("handover note:\n%s", rot.Note)
	}

	l, err := tlog.Open(ctx, tl.store)
	if err != nil {
		t.Fatal(err)
	}
	if !l.Key().Public.Equal(&next.PublicKey) {
		t.Fatal("the reopened log's key is not the new one")
	}
	m := l.Meta()
	if m.Origin != origin || m.TreeID != 1193050959916656506 || !m.KeySince.Equal(T) {
		t.Errorf("meta = %+v", m)
	}
	keys := m.Keys()
	if len(keys) != 2 || !keys[0].From.Equal(t0) || !keys[0].To.Equal(T) || keys[0].Size != 3 ||
		!keys[1].From.Equal(T) || !keys[1].To.IsZero() || !bytes.Equal(keys[0].PublicKey, oldKey.DER) {
		t.Errorf("keys = %+v", keys)
	}
	// The head is the same tree, signed by the new key.
	head, err := l.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if head.Size != 3 || head.Hash != before.Hash || bytes.Equal(head.Note, before.Note) {
		t.Errorf("head after the rotation: size %d", head.Size)
	}
	if _, err := tlog.OpenCheckpoint(head.Note, origin, l.Key()); err != nil {
		t.Errorf("head: %v", err)
	}
	// The batch prepared under the old key does not land after the
	// rotation, and nothing of it is written.
	if err := tl.log.Append(ctx, pending); !errors.Is(err, tlog.ErrWriteConflict) {
		t.Fatalf("append prepared before the rotation = %v, want ErrWriteConflict", err)
	}
	if _, err := l.Entry(ctx, 3); err == nil {
		t.Fatal("entry 3 written by the refused append")
	}
	// The old key no longer signs; the new one does, from T on.
	if _, err := l.Prepare(ctx, bodies(3, 1), T, tl.key); !errors.Is(err, tlog.ErrKeyMismatch) {
		t.Errorf("Prepare with the retired key = %v, want ErrKeyMismatch", err)
	}
	if _, err := l.Prepare(ctx, bodies(3, 1), T.Add(-time.Second), next); !errors.Is(err, tlog.ErrTimeRollback) {
		t.Errorf("Prepare before T = %v, want ErrTimeRollback", err)
	}
	b, err := l.Prepare(ctx, bodies(3, 2), T, next)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Append(ctx, b); err != nil {
		t.Fatal(err)
	}
	// Each entry's SET verifies with the key of its part of the tree.
	for i := int64(0); i < 5; i++ {
		e, err := l.Entry(ctx, i)
		if err != nil {
			t.Fatal(err)
		}
		want := oldKey
		if i >= 3 {
			want = l.Key()
		}
		if got := l.EntryKey(i); got.ID != want.ID {
			t.Errorf("EntryKey(%d) = %x, want %x", i, got.ID[:4], want.ID[:4])
		}
		if err := tlog.VerifySET(want, e.SET, e.Body, e.IntegratedTime, i); err != nil {
			t.Errorf("entry %d: %v", i, err)
		}
	}
	// Checkpoints stored by size: the old key's up to 3, the new one's after.
	for size, key := range map[int64]*tlog.LogKey{0: oldKey, 3: oldKey, 5: l.Key()} {
		cp, err := l.CheckpointAt(ctx, size)
		if err != nil || cp == nil {
			t.Fatalf("CheckpointAt(%d) = %v, %v", size, cp, err)
		}
		if _, err := tlog.OpenCheckpoint(cp.Note, origin, key); err != nil {
			t.Errorf("checkpoint %d: %v", size, err)
		}
	}
	// A Log opened before the rotation follows it when it reads the head
	// (Prepare with the new key, CheckpointAt, any read).
	if _, err := staleSigner.Prepare(ctx, bodies(9, 1), T, next); err != nil {
		t.Errorf("Prepare with the new key on a Log opened before the rotation: %v", err)
	}
	if _, err := stale.Checkpoint(ctx); err != nil {
		t.Fatalf("the Log opened before the rotation: %v", err)
	}
	if stale.Key().ID != l.Key().ID || len(stale.Meta().RetiredKeys) != 1 {
		t.Error("the Log opened before the rotation did not follow it")
	}
	if _, err := stale.InclusionProof(ctx, 1, 0); err != nil {
		t.Error(err)
	}

	// The handover chain, as an auditor with only the first key follows it.
	h, err := tlog.VerifyHandover(oldKey, m.Handovers()[0])
	if err != nil {
		t.Fatal(err)
	}
	if h.New.ID != l.Key().ID {
		t.Error("the handover names another key")
	}
	hs, err := l.VerifyHandovers(ctx, oldKey)
	if err != nil || len(hs) != 1 {
		t.Fatalf("VerifyHandovers(first key) = %d, %v", len(hs), err)
	}
	if hs, err := l.Meta().FollowHandovers(l.Key()); err != nil || len(hs) != 0 {
		t.Errorf("FollowHandovers(current key) = %d, %v", len(hs), err)
	}
	other, err := tlog.NewLogKey(&ecKey(t, elliptic.P256()).PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Meta().FollowHandovers(other); !errors.Is(err, tlog.ErrKeyMismatch) {
		t.Errorf("FollowHandovers(another key) = %v, want ErrKeyMismatch", err)
	}
	if _, err := tlog.VerifyHandover(l.Key(), m.Handovers()[0]); !errors.Is(err, tlog.ErrKeyMismatch) {
		t.Errorf("VerifyHandover with the new key = %v, want ErrKeyMismatch", err)
	}

	// A second rotation: the chain from the first key has two links.
	third := ecKey(t, elliptic.P256())
	if _, err := l.RotateKey(ctx, next, third, T.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	hs, err = l.VerifyHandovers(ctx, oldKey)
	if err != nil || len(hs) != 2 || !hs[1].New.Public.Equal(&third.PublicKey) {
		t.Fatalf("two rotations: %d handovers, %v", len(hs), err)
	}
	if got := l.EntryKey(4); got.ID == l.Key().ID || got.ID == oldKey.ID {
		t.Error("entry 4 is not the second key's")
	}
}

// TestRotateKeyRefuses: each bad rotation is refused with its error and
// leaves the log as it was.
func TestRotateKeyRefuses(t *testing.T) {
	ctx := context.Background()
	tl := newLog(t)
	b, err := tl.log.Prepare(ctx, bodies(0, 2), t0.Add(time.Minute), tl.key)
	if err != nil {
		t.Fatal(err)
	}
	if err := tl.log.Append(ctx, b); err != nil {
		t.Fatal(err)
	}
	next := ecKey(t, elliptic.P256())
	later := t0.Add(time.Hour)
	for name, tc := range map[string]struct {
		old, new *ecdsa.PrivateKey
		at       time.Time
		want     error
	}{
		"new key is the current one": {tl.key, tl.key, later, tlog.ErrKeyReused},
		"new key is P-384":           {tl.key, ecKey(t, elliptic.P384()), later, tlog.ErrKeyType},
		"wrong old key":              {next, ecKey(t, elliptic.P256()), later, tlog.ErrKeyMismatch},
		"before the last entry":      {tl.key, next, t0.Add(59 * time.Second), tlog.ErrTimeRollback},
	} {
		metaBefore, headBefore, _ := tl.store.ReadLogHead(ctx)
		if _, err := tl.log.RotateKey(ctx, tc.old, tc.new, tc.at); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
		metaAfter, headAfter, _ := tl.store.ReadLogHead(ctx)
		if !bytes.Equal(metaBefore, metaAfter) || !bytes.Equal(headBefore, headAfter) {
			t.Errorf("%s: the log changed", name)
		}
	}
	// A key the log retired cannot come back.
	if _, err := tl.log.RotateKey(ctx, tl.key, next, later); err != nil {
		t.Fatal(err)
	}
	if _, err := tl.log.RotateKey(ctx, next, tl.key, later.Add(time.Hour)); !errors.Is(err, tlog.ErrKeyReused) {
		t.Errorf("rotating back to the retired key = %v, want ErrKeyReused", err)
	}
	// The rotation lost a race: the head moved after it was read.
	third := ecKey(t, elliptic.P256())
	racing := &racingStore{SiteLog: tl.store, before: func() {
		b, err := tl.log.Prepare(ctx, bodies(10, 1), later, next)
		if err == nil {
			err = tl.log.Append(ctx, b)
		}
		if err != nil {
			t.Error(err)
		}
	}}
	l, err := tlog.Open(ctx, racing)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.RotateKey(ctx, next, third, later.Add(time.Hour)); !errors.Is(err, tlog.ErrWriteConflict) {
		t.Errorf("rotation that lost the race = %v, want ErrWriteConflict", err)
	}
	if l2, err := tlog.Open(ctx, tl.store); err != nil || l2.Key().Public.Equal(&third.PublicKey) {
		t.Errorf("after the lost race: %v", err)
	}
}

// racingStore runs before just ahead of the rotation's write.
type racingStore struct {
	*cache.SiteLog
	before func()
}

func (r *racingStore) RotateLogKey(ctx context.Context, prev, meta, cp []byte) error {
	r.before()
	return r.SiteLog.RotateLogKey(ctx, prev, meta, cp)
}

// TestOpenRefusesForgedKeyHistory: metadata whose key history does not
// hold (a current key no handover names, a retired key dropped, a
// handover signed by another key) is ErrCorrupt, and a Log opened earlier
// does not follow it.
func TestOpenRefusesForgedKeyHistory(t *testing.T) {
	ctx := context.Background()
	tl := newLog(t)
	tl.append(t, bodies(0, 2))
	next := ecKey(t, elliptic.P256())
	if _, err := tl.log.RotateKey(ctx, tl.key, next, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	metaJSON, _, err := tl.store.ReadLogHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	attacker, err := tlog.NewLogKey(&ecKey(t, elliptic.P256()).PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	otherRotation := newLog(t)
	if _, err := otherRotation.log.RotateKey(ctx, otherRotation.key, ecKey(t, elliptic.P256()), t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string]func(m *tlog.Meta){
		"current key replaced": func(m *tlog.Meta) { m.PublicKey = attacker.DER },
		"handover of another log": func(m *tlog.Meta) {
			m.RetiredKeys[0].Handover = otherRotation.log.Meta().RetiredKeys[0].Handover
		},
		"handover altered": func(m *tlog.Meta) {
			m.RetiredKeys[0].Handover = bytes.Replace(m.RetiredKeys[0].Handover, []byte("size 2"), []byte("size 1"), 1)
		},
		"window moved":  func(m *tlog.Meta) { m.RetiredKeys[0].To = m.RetiredKeys[0].To.Add(time.Second) },
		"size moved":    func(m *tlog.Meta) { m.RetiredKeys[0].Size = 1 },
		"key repeated":  func(m *tlog.Meta) { m.RetiredKeys = append(m.RetiredKeys, m.RetiredKeys[0]) },
		"start changed": func(m *tlog.Meta) { m.KeySince = m.KeySince.Add(time.Second) },
	} {
		var m tlog.Meta
		if err := json.Unmarshal(metaJSON, &m); err != nil {
			t.Fatal(err)
		}
		edit(&m)
		forged, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		putMeta(t, tl, forged)
		if _, err := tlog.Open(ctx, tl.store); !errors.Is(err, tlog.ErrCorrupt) {
			t.Errorf("%s: Open = %v, want ErrCorrupt", name, err)
		}
		if _, err := tl.log.Checkpoint(ctx); err == nil {
			t.Errorf("%s: the open Log followed the forged metadata", name)
		}
	}
	// A log with its retired keys dropped: an auditor pinning the first
	// key finds it is none of the log's.
	putMeta(t, tl, metaJSON)
	first, err := tlog.NewLogKey(&tl.key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	var m tlog.Meta
	json.Unmarshal(metaJSON, &m)
	m.RetiredKeys, m.KeySince = nil, time.Time{}
	if _, err := m.FollowHandovers(first); !errors.Is(err, tlog.ErrKeyMismatch) {
		t.Errorf("history dropped: %v, want ErrKeyMismatch", err)
	}
}

// putMeta writes the log's metadata record as an attacker would.
func putMeta(t *testing.T, tl *testLog, meta []byte) {
	t.Helper()
	tl.edit(t, func(tx *bolt.Tx) error { return tx.Bucket(cache.BucketLog).Put([]byte("meta"), meta) })
}

// TestParseHandoverRejects: only the canonical text parses.
func TestParseHandoverRejects(t *testing.T) {
	ctx := context.Background()
	tl := newLog(t)
	rot, err := tl.log.RotateKey(ctx, tl.key, ecKey(t, elliptic.P256()), t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	good := string(rot.Note)
	if _, _, err := tlog.ParseHandover(rot.Note); err != nil {
		t.Fatal(err)
	}
	for name, note := range map[string]string{
		"checkpoint origin line": strings.Replace(good, "/key-rotation", " - 1", 1),
		"time not UTC":           strings.Replace(good, "Z\nold", "+00:00\nold", 1),
		"upper-case hex":         strings.Replace(good, "\nold ", "\nold A", 1),
		"size with sign":         strings.Replace(good, "size 0", "size +0", 1),
		"line missing":           strings.Replace(good, "tree 1193050959916656506\n", "", 1),
		"no signature":           good[:strings.Index(good, "\n\n")+2],
		"new key ID mismatch":    strings.Replace(good, "\nnew ", "\nnew 00", 1),
	} {
		if _, _, err := tlog.ParseHandover([]byte(note)); !errors.Is(err, tlog.ErrMalformedHandover) {
			t.Errorf("%s: %v, want ErrMalformedHandover", name, err)
		}
	}
	// A checkpoint parser does not take a handover for a checkpoint.
	if _, _, err := tlog.ParseCheckpoint(rot.Note); err == nil {
		t.Error("ParseCheckpoint accepted a handover")
	}
}
