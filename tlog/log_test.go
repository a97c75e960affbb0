package tlog_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	rekorutil "github.com/sigstore/rekor/pkg/util"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	bolt "go.etcd.io/bbolt"
	sumdb "golang.org/x/mod/sumdb/tlog"

	"github.com/airlock-project/airlock/cache"
	"github.com/airlock-project/airlock/tlog"
)

const origin = "transparency.site.example"

var t0 = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

type testLog struct {
	log   *tlog.Log
	key   *ecdsa.PrivateKey
	store *cache.SiteLog
	db    *cache.DB
	path  string
}

func newLog(t testing.TB) *testLog {
	t.Helper()
	return createLog(t, origin, 1193050959916656506, ecKey(t, elliptic.P256()))
}

func bodies(from, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = fmt.Appendf(nil, `{"apiVersion":"0.0.1","kind":"hashedrekord","entry":%d}`, from+i)
	}
	return out
}

func (tl *testLog) append(t testing.TB, bs [][]byte) *tlog.Batch {
	t.Helper()
	ctx := context.Background()
	b, err := tl.log.Prepare(ctx, bs, t0, tl.key)
	if err != nil {
		t.Fatal(err)
	}
	if err := tl.log.Append(ctx, b); err != nil {
		t.Fatal(err)
	}
	return b
}

func slices(hs []tlog.Hash) [][]byte {
	out := make([][]byte, len(hs))
	for i := range hs {
		out[i] = hs[i][:]
	}
	return out
}

// TestProofsVerifyWithMerkle appends batches of varied sizes and checks
// every batch proof, and stored inclusion and consistency proofs between
// many sizes, with transparency-dev/merkle's RFC 6962 verifier.
func TestProofsVerifyWithMerkle(t *testing.T) {
	ctx := context.Background()
	tl := newLog(t)
	var all [][]byte
	roots := map[int64][]byte{0: rfc6962.DefaultHasher.EmptyRoot()}
	for _, n := range []int{1, 1, 2, 3, 5, 8, 13, 1, 31, 64, 7, 100} {
		bs := bodies(len(all), n)
		b := tl.append(t, bs)
		all = append(all, bs...)
		size := int64(len(all))
		if b.Checkpoint.Size != size {
			t.Fatalf("checkpoint size %d, want %d", b.Checkpoint.Size, size)
		}
		roots[size] = bytes.Clone(b.Checkpoint.Hash[:])
		for i, e := range b.Entries {
			p := b.Proofs[i]
			leaf := rfc6962.DefaultHasher.HashLeaf(e.Body)
			if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(e.Index), uint64(p.TreeSize), leaf, slices(p.Hashes), b.Checkpoint.Hash[:]); err != nil {
				t.Fatalf("batch proof of entry %d in size %d: %v", e.Index, size, err)
			}
		}
	}
	for size, root := range roots {
		for index := int64(0); index < size; index++ {
			p, err := tl.log.InclusionProof(ctx, index, size)
			if err != nil {
				t.Fatal(err)
			}
			leaf := rfc6962.DefaultHasher.HashLeaf(all[index])
			if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(index), uint64(size), leaf, slices(p.Hashes), root); err != nil {
				t.Fatalf("inclusion of %d in %d: %v", index, size, err)
			}
		}
		for from, oldRoot := range roots {
			if from > size {
				continue
			}
			p, err := tl.log.ConsistencyProof(ctx, from, size)
			if err != nil {
				t.Fatal(err)
			}
			if err := proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(from), uint64(size), slices(p), oldRoot, root); err != nil {
				t.Fatalf("consistency %d -> %d: %v", from, size, err)
			}
		}
		cp, err := tl.log.CheckpointAt(ctx, size)
		if err != nil || cp == nil || !bytes.Equal(cp.Hash[:], root) {
			t.Fatalf("CheckpointAt(%d) = %v, %v", size, cp, err)
		}
	}
	if _, err := tl.log.InclusionProof(ctx, int64(len(all)), 0); err == nil {
		t.Error("proof of an entry past the end")
	}
	// Entries read back are what was appended, SETs included.
	for _, i := range []int64{0, 17, int64(len(all) - 1)} {
		e, err := tl.log.Entry(ctx, i)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(e.Body, all[i]) || e.IntegratedTime != t0.Unix() {
			t.Errorf("entry %d = %s at %d", i, e.Body, e.IntegratedTime)
		}
		if err := tlog.VerifySET(tl.log.Key(), e.SET, e.Body, e.IntegratedTime, i); err != nil {
			t.Errorf("entry %d: %v", i, err)
		}
	}
}

func TestWriteConflict(t *testing.T) {
	ctx := context.Background()
	tl := newLog(t)
	tl.append(t, bodies(0, 3))
	first, err := tl.log.Prepare(ctx, bodies(3, 2), t0, tl.key)
	if err != nil {
		t.Fatal(err)
	}
	second, err := tl.log.Prepare(ctx, bodies(100, 4), t0, tl.key)
	if err != nil {
		t.Fatal(err)
	}
	if err := tl.log.Append(ctx, first); err != nil {
		t.Fatal(err)
	}
	before, err := tl.log.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = tl.log.Append(ctx, second)
	if !errors.Is(err, tlog.ErrWriteConflict) {
		t.Fatalf("second Append = %v, want ErrWriteConflict", err)
	}
	after, err := tl.log.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before.Note, after.Note) || after.Size != 5 {
		t.Errorf("log changed by the failed append: size %d", after.Size)
	}
	if _, err := tl.log.Entry(ctx, 5); err == nil {
		t.Error("entry 5 exists after the failed append")
	}
	// The same bodies prepared again go in.
	again, err := tl.log.Prepare(ctx, bodies(100, 4), t0, tl.key)
	if err != nil {
		t.Fatal(err)
	}
	if err := tl.log.Append(ctx, again); err != nil {
		t.Fatal(err)
	}
	if again.Entries[0].Index != 5 {
		t.Errorf("first index %d, want 5", again.Entries[0].Index)
	}
}

func TestPrepareRefuses(t *testing.T) {
	ctx := context.Background()
	tl := newLog(t)
	if _, err := tl.log.Prepare(ctx, bodies(0, 1), t0, ecKey(t, elliptic.P256())); !errors.Is(err, tlog.ErrKeyMismatch) {
		t.Errorf("other key: %v, want ErrKeyMismatch", err)
	}
	if _, err := tl.log.Prepare(ctx, nil, t0, tl.key); err == nil {
		t.Error("empty batch accepted")
	}
	if _, err := tl.log.Prepare(ctx, [][]byte{{}}, t0, tl.key); err == nil {
		t.Error("empty body accepted")
	}
	if _, err := tlog.Create(ctx, tl.store, tlog.Config{Origin: origin}, tl.key, t0); !errors.Is(err, tlog.ErrLogExists) {
		t.Errorf("a second Create over an existing log: %v, want ErrLogExists", err)
	}
	p384 := ecKey(t, elliptic.P384())
	other := &cache.SiteLog{DB: tl.db}
	if _, err := tlog.Create(ctx, other, tlog.Config{Origin: origin}, p384, t0); !errors.Is(err, tlog.ErrKeyType) {
		t.Errorf("P-384 log key: %v, want ErrKeyType", err)
	}
	for _, o := range []string{"", "a b", "a+b", "a\nb"} {
		if _, err := tlog.Create(ctx, other, tlog.Config{Origin: o}, tl.key, t0); err == nil {
			t.Errorf("origin %q accepted", o)
		}
	}
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	tl := newLog(t)
	tl.append(t, bodies(0, 10))
	l, err := tlog.Open(ctx, tl.store)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := l.Meta(), tl.log.Meta(); got.Origin != want.Origin || got.TreeID != want.TreeID || !got.Created.Equal(want.Created) || !bytes.Equal(got.PublicKey, want.PublicKey) {
		t.Errorf("Meta() = %+v, want %+v", got, want)
	}
	cp, err := l.Checkpoint(ctx)
	if err != nil || cp.Size != 10 {
		t.Fatalf("Checkpoint() = %v, %v", cp, err)
	}
	db2, err := cache.Open(filepath.Join(t.TempDir(), "empty.db"), cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if _, err := tlog.Open(ctx, &cache.SiteLog{DB: db2}); !errors.Is(err, tlog.ErrNoLog) {
		t.Errorf("Open(empty) = %v, want ErrNoLog", err)
	}
}

// TestCheckpointIsRekors checks that Rekor's own checkpoint code (which
// sigstore-go calls) reads and verifies the log's checkpoints.
func TestCheckpointIsRekors(t *testing.T) {
	ctx := context.Background()
	tl := newLog(t)
	b := tl.append(t, bodies(0, 7))
	var sc rekorutil.SignedCheckpoint
	if err := sc.UnmarshalText(b.Checkpoint.Note); err != nil {
		t.Fatal(err)
	}
	v, err := signature.LoadVerifier(&tl.key.PublicKey, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if !sc.Verify(v) {
		t.Error("rekor does not verify the checkpoint")
	}
	if got, want := sc.Origin, fmt.Sprintf("%s - %d", origin, tl.log.Meta().TreeID); got != want {
		t.Errorf("origin %q, want %q", got, want)
	}
	if sc.Size != 7 || !bytes.Equal(sc.Hash, b.Checkpoint.Hash[:]) {
		t.Errorf("rekor reads size %d root %x", sc.Size, sc.Hash)
	}
	// And our parser reads what Rekor writes.
	signer, err := signature.LoadECDSASignerVerifier(tl.key, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	note, err := rekorutil.CreateAndSignCheckpoint(ctx, origin, tl.log.Meta().TreeID, 7, b.Checkpoint.Hash[:], signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := tlog.OpenCheckpoint(note, origin, tl.log.Key())
	if err != nil {
		t.Fatalf("OpenCheckpoint(rekor's) = %v\n%s", err, note)
	}
	if c != b.Checkpoint.Checkpoint {
		t.Errorf("parsed %+v, want %+v", c, b.Checkpoint.Checkpoint)
	}
}

func TestOpenCheckpointRejects(t *testing.T) {
	tl := newLog(t)
	b := tl.append(t, bodies(0, 2))
	good := b.Checkpoint.Note
	other, err := tlog.NewLogKey(&ecKey(t, elliptic.P256()).PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tlog.OpenCheckpoint(good, origin, other); !errors.Is(err, tlog.ErrBadSignature) {
		t.Errorf("other key: %v", err)
	}
	if _, err := tlog.OpenCheckpoint(good, "other.example", tl.log.Key()); err == nil {
		t.Error("other origin accepted")
	}
	tampered := bytes.Replace(good, []byte("\n2\n"), []byte("\n3\n"), 1)
	if _, err := tlog.OpenCheckpoint(tampered, origin, tl.log.Key()); !errors.Is(err, tlog.ErrBadSignature) {
		t.Errorf("tampered size: %v", err)
	}
	for name, text := range map[string]string{
		"no_blank_line":     "a - 1\n2\nAAAA\n",
		"leading_zero_size": "a - 1\n02\n" + string(good[bytes.IndexByte(good, '\n')+3:]),
		"too_many_lines":    "a - 1\n2\nx\ny\n\n\u2014 a AAAAAAAA\n",
		"no_tree_id":        "a\n2\nAAAA\n\n\u2014 a AAAAAAAA\n",
	} {
		if _, _, err := tlog.ParseCheckpoint([]byte(text)); !errors.Is(err, tlog.ErrMalformedCheckpoint) {
			t.Errorf("%s: %v, want ErrMalformedCheckpoint", name, err)
		}
	}
}

// TestOpenPublicGoodCheckpoints reads and verifies checkpoints that the
// public-good Rekor v1 wrote, with and without a Timestamp line.
func TestOpenPublicGoodCheckpoints(t *testing.T) {
	tr, err := root.NewTrustedRootFromPath("../testdata/tuf/public-good-2026-08-21/targets/6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66.trusted_root.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"happy-path-v0.1", "happy-path-v0.3"} {
		data, err := os.ReadFile(filepath.Join("../testdata/conformance/bundle-verify", name, "bundle.sigstore.json"))
		if err != nil {
			t.Fatal(err)
		}
		b := &sgbundle.Bundle{}
		if err := b.UnmarshalJSON(data); err != nil {
			t.Fatal(err)
		}
		tle := b.GetVerificationMaterial().GetTlogEntries()[0]
		note := []byte(tle.GetInclusionProof().GetCheckpoint().GetEnvelope())
		c, sigs, err := tlog.ParseCheckpoint(note)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var key *tlog.LogKey
		for _, l := range tr.RekorLogs() {
			k, err := tlog.NewLogKey(l.PublicKey)
			if err == nil && k.Hint == sigs[0].Hint {
				key = k
			}
		}
		if key == nil {
			t.Fatalf("%s: no trusted log key with hint %x", name, sigs[0].Hint)
		}
		got, err := tlog.OpenCheckpoint(note, "rekor.sigstore.dev", key)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got != c || got.Size != tle.GetInclusionProof().GetTreeSize() || !bytes.Equal(got.Hash[:], tle.GetInclusionProof().GetRootHash()) {
			t.Errorf("%s: read %+v", name, got)
		}
	}
}

// TestDamagedStore: a hash changed in the file is found before a proof is
// handed out or a batch extends the tree.
func TestDamagedStore(t *testing.T) {
	ctx := context.Background()
	tl := newLog(t)
	tl.append(t, bodies(0, 20))
	damage := func(index int64) {
		t.Helper()
		// As an attacker would: the file edited with bbolt directly,
		// then opened again by airlock.
		tl.db.Close()
		bdb, err := bolt.Open(tl.path, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = bdb.Update(func(tx *bolt.Tx) error {
			hb := tx.Bucket(cache.BucketLog).Bucket([]byte("hashes"))
			return hb.Put(binary.BigEndian.AppendUint64(nil, uint64(index)), bytes.Repeat([]byte{7}, 32))
		})
		if cerr := bdb.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}
		if tl.db, err = cache.Open(tl.path, cache.Options{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tl.db.Close() })
		tl.store.DB = tl.db
	}
	damage(sumdb.StoredHashIndex(0, 0)) // entry 0's leaf hash, in entry 1's proof
	if _, err := tl.log.InclusionProof(ctx, 1, 0); !errors.Is(err, tlog.ErrCorrupt) {
		t.Errorf("InclusionProof = %v, want ErrCorrupt", err)
	}
	// A batch extends the tree from its complete subtrees: damage one.
	damage(sumdb.StoredHashIndex(4, 0)) // the hash of entries 0-15
	if _, err := tl.log.Prepare(ctx, bodies(20, 1), t0, tl.key); !errors.Is(err, tlog.ErrCorrupt) {
		t.Errorf("Prepare = %v, want ErrCorrupt", err)
	}
}

var (
	_ tlog.Store = (*cache.SiteLog)(nil)
	_ tlog.Store = (*cache.SiteLogFile)(nil)
)

// TestTwoWritersOnOneFile: two writers that open the database only for
// each read and write (as two processes do) both prepare on the same
// size; the second to append gets ErrWriteConflict and the file keeps the
// first one's batch.
func TestTwoWritersOnOneFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "airlock.db")
	key := ecKey(t, elliptic.P256())
	if _, err := tlog.Create(ctx, &cache.SiteLogFile{Path: path}, tlog.Config{Origin: origin}, key, t0); err != nil {
		t.Fatal(err)
	}
	a, err := tlog.Open(ctx, &cache.SiteLogFile{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	b, err := tlog.Open(ctx, &cache.SiteLogFile{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	ba, err := a.Prepare(ctx, bodies(0, 3), t0, key)
	if err != nil {
		t.Fatal(err)
	}
	bb, err := b.Prepare(ctx, bodies(10, 2), t0, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Append(ctx, bb); err != nil {
		t.Fatal(err)
	}
	if err := a.Append(ctx, ba); !errors.Is(err, tlog.ErrWriteConflict) {
		t.Fatalf("second writer's Append = %v, want ErrWriteConflict", err)
	}
	cp, err := a.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Size != 2 || !bytes.Equal(cp.Note, bb.Checkpoint.Note) {
		t.Errorf("log after the conflict: size %d", cp.Size)
	}
	e, err := a.Entry(ctx, 1)
	if err != nil || !bytes.Equal(e.Body, bodies(11, 1)[0]) {
		t.Errorf("entry 1 = %v, %v", e, err)
	}
}

func TestIntegratedTimeNeverGoesBack(t *testing.T) {
	ctx := context.Background()
	tl := newLog(t)
	if _, err := tl.log.Prepare(ctx, bodies(0, 1), t0.Add(-time.Second), tl.key); !errors.Is(err, tlog.ErrTimeRollback) {
		t.Errorf("before creation: %v, want ErrTimeRollback", err)
	}
	b, err := tl.log.Prepare(ctx, bodies(0, 1), t0.Add(time.Hour), tl.key)
	if err != nil {
		t.Fatal(err)
	}
	if err := tl.log.Append(ctx, b); err != nil {
		t.Fatal(err)
	}
	if _, err := tl.log.Prepare(ctx, bodies(1, 1), t0.Add(time.Minute), tl.key); !errors.Is(err, tlog.ErrTimeRollback) {
		t.Errorf("before the last entry: %v, want ErrTimeRollback", err)
	}
	if _, err := tl.log.Prepare(ctx, bodies(1, 1), t0.Add(time.Hour), tl.key); err != nil {
		t.Errorf("same second as the last entry: %v", err)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	db, err := cache.Open(filepath.Join(t.TempDir(), "airlock.db"), cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := &cache.SiteLog{DB: db}
	if err := s.CreateLog(ctx, []byte(`{"schema":2,"origin":"a","treeID":1}`), []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := tlog.Open(ctx, s); err == nil || errors.Is(err, tlog.ErrCorrupt) {
		t.Errorf("Open(schema 2) = %v, want a schema error", err)
	}
}

// TestFind: an entry is found from its body alone (as a verifier rebuilds
// a detached signature's entry); a body never logged is ErrNotFound; the
// same body logged twice answers with its first entry.
func TestFind(t *testing.T) {
	ctx := context.Background()
	tl := newLog(t)
	tl.append(t, bodies(0, 10))
	tl.append(t, bodies(5, 1)) // entry 10 repeats entry 5's body
	for _, i := range []int{0, 5, 9} {
		e, err := tl.log.Find(ctx, bodies(i, 1)[0])
		if err != nil {
			t.Fatalf("Find(body %d): %v", i, err)
		}
		if got, want := e.Index, int64(i); got != want {
			t.Errorf("Find(body %d) = entry %d, want %d", i, got, want)
		}
	}
	if _, err := tl.log.Find(ctx, bodies(99, 1)[0]); !errors.Is(err, tlog.ErrNotFound) {
		t.Errorf("Find(never logged) = %v, want ErrNotFound", err)
	}
}
