package cache

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// The mirror's layout under BucketCheckpoints. Records are tlog's, stored
// as given.
var (
	mirrorKeyPolicy      = []byte("policy")   // the witness policy text
	mirrorBucketOrigins  = []byte("origins")  // origin -> its bucket
	mirrorBucketEvidence = []byte("evidence") // sequence (8 bytes BE) -> evidence entry (see evidenceEntry)
	originKeyLatest      = []byte("latest")   // the latest checkpoint record
	originBucketHistory  = []byte("history")  // tree size (8 bytes BE) -> checkpoint record
	originBucketProofs   = []byte("proofs")   // from (8 BE) || to (8 BE) -> proof record
)

// MirrorStore keeps the checkpoint mirror in the database, under
// BucketCheckpoints: per origin its latest checkpoint record, a history
// by size and stored proofs; evidence records; the witness policy. The
// command line wires it to tlog.MirrorStore.
type MirrorStore struct {
	DB *DB
}

// MirrorOriginCommit is one origin's change in a MirrorCommit.
type MirrorOriginCommit struct {
	Origin string
	// ExpectLatest is the latest record the change was made from; nil
	// means the origin must not be mirrored yet.
	ExpectLatest []byte
	// Size and Latest: the new latest record, also stored in the history
	// at Size.
	Size   int64
	Latest []byte
	// Proofs are stored by (From, To).
	Proofs []MirrorProof
}

// MirrorProof is a stored proof record of one origin.
type MirrorProof struct {
	From, To int64
	Record   []byte
}

// MirrorCommit is one import: every origin's change and the audit record,
// committed by CommitMirror in one transaction or not at all.
type MirrorCommit struct {
	Origins []MirrorOriginCommit
	Audit   AuditRecord
}

func (s *MirrorStore) corrupt(format string, args ...any) error {
	return &CorruptError{Path: s.DB.path, Detail: "checkpoint mirror: " + fmt.Sprintf(format, args...)}
}

// originBucket returns origin's bucket, nil if it is not mirrored.
func originBucket(tx *bolt.Tx, origin string) *bolt.Bucket {
	top := tx.Bucket(BucketCheckpoints)
	if top == nil {
		return nil
	}
	ob := top.Bucket(mirrorBucketOrigins)
	if ob == nil {
		return nil
	}
	return ob.Bucket([]byte(origin))
}

// MirrorOrigins returns the mirrored origins, sorted.
func (s *MirrorStore) MirrorOrigins(ctx context.Context) ([]string, error) {
	var out []string
	err := s.DB.view(func(tx *bolt.Tx) error {
		top := tx.Bucket(BucketCheckpoints)
		if top == nil {
			return nil
		}
		ob := top.Bucket(mirrorBucketOrigins)
		if ob == nil {
			return nil
		}
		return ob.ForEach(func(k, v []byte) error {
			if v != nil {
				return s.corrupt("origin %q is a value, not a bucket", k)
			}
			out = append(out, string(k))
			return nil
		})
	})
	return out, err
}

// MirrorLatest returns origin's latest checkpoint record, nil if it is not
// mirrored.
func (s *MirrorStore) MirrorLatest(ctx context.Context, origin string) ([]byte, error) {
	var out []byte
	err := s.DB.view(func(tx *bolt.Tx) error {
		b := originBucket(tx, origin)
		if b == nil {
			return nil
		}
		var err error
		out, err = s.latest(b, origin)
		return err
	})
	return out, err
}

// latest returns the latest checkpoint record of origin's bucket b.
func (s *MirrorStore) latest(b *bolt.Bucket, origin string) ([]byte, error) {
	rec := bytes.Clone(b.Get(originKeyLatest))
	if rec == nil {
		return nil, s.corrupt("origin %q has no latest checkpoint", origin)
	}
	return rec, nil
}

// MirrorCheckpointAt returns origin's checkpoint record of size size, nil
// if none.
func (s *MirrorStore) MirrorCheckpointAt(ctx context.Context, origin string, size int64) ([]byte, error) {
	var out []byte
	err := s.DB.view(func(tx *bolt.Tx) error {
		if b := originBucket(tx, origin); b != nil {
			if h := b.Bucket(originBucketHistory); h != nil {
				out = bytes.Clone(h.Get(key64(size)))
			}
		}
		return nil
	})
	return out, err
}

// MirrorSizes returns the sizes of origin's history, ascending.
func (s *MirrorStore) MirrorSizes(ctx context.Context, origin string) ([]int64, error) {
	var out []int64
	err := s.DB.view(func(tx *bolt.Tx) error {
		b := originBucket(tx, origin)
		if b == nil {
			return nil
		}
		return s.eachHistory(b, origin, func(size int64, _ []byte) { out = append(out, size) })
	})
	return out, err
}

// eachHistory calls fn with each size and checkpoint record of the
// history of origin's bucket b, by size.
func (s *MirrorStore) eachHistory(b *bolt.Bucket, origin string, fn func(size int64, rec []byte)) error {
	h := b.Bucket(originBucketHistory)
	if h == nil {
		return s.corrupt("origin %q has no history", origin)
	}
	return h.ForEach(func(k, v []byte) error {
		if len(k) != 8 || v == nil {
			return s.corrupt("history of %q has a key of %d bytes", origin, len(k))
		}
		fn(int64(binary.BigEndian.Uint64(k)), v)
		return nil
	})
}

// MirrorProofsFrom returns origin's proof records from size from, keyed by
// the size they go to.
func (s *MirrorStore) MirrorProofsFrom(ctx context.Context, origin string, from int64) (map[int64][]byte, error) {
	out := map[int64][]byte{}
	err := s.DB.view(func(tx *bolt.Tx) error {
		b := originBucket(tx, origin)
		if b == nil {
			return nil
		}
		return s.eachProof(b, origin, key64(from), func(_, to int64, rec []byte) { out[to] = bytes.Clone(rec) })
	})
	return out, err
}

// eachProof calls fn with each stored proof of origin's bucket b whose
// key (from || to) starts with prefix: its sizes and its record.
func (s *MirrorStore) eachProof(b *bolt.Bucket, origin string, prefix []byte, fn func(from, to int64, rec []byte)) error {
	p := b.Bucket(originBucketProofs)
	if p == nil {
		return nil
	}
	c := p.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if len(k) != 16 || v == nil {
			return s.corrupt("proofs of %q have a key of %d bytes", origin, len(k))
		}
		fn(int64(binary.BigEndian.Uint64(k)), int64(binary.BigEndian.Uint64(k[8:])), v)
	}
	return nil
}

// MirrorOrigin is one origin's whole mirror, read at once: its latest
// checkpoint record, its history by size (the latest included) and its
// stored proofs by (from, to).
type MirrorOrigin struct {
	Latest  []byte
	History map[int64][]byte
	Proofs  map[int64]map[int64][]byte
}

// ReadMirrorOrigin reads origin's whole mirror in one transaction, nil if
// it is not mirrored: what a verification checks a batch's checkpoints of
// that origin against, without reopening the database for each.
func (s *MirrorStore) ReadMirrorOrigin(ctx context.Context, origin string) (*MirrorOrigin, error) {
	var out *MirrorOrigin
	err := s.DB.view(func(tx *bolt.Tx) error {
		b := originBucket(tx, origin)
		if b == nil {
			return nil
		}
		latest, err := s.latest(b, origin)
		if err != nil {
			return err
		}
		o := &MirrorOrigin{Latest: latest, History: map[int64][]byte{}, Proofs: map[int64]map[int64][]byte{}}
		if err := s.eachHistory(b, origin, func(size int64, rec []byte) { o.History[size] = bytes.Clone(rec) }); err != nil {
			return err
		}
		if err := s.eachProof(b, origin, nil, func(from, to int64, rec []byte) {
			if o.Proofs[from] == nil {
				o.Proofs[from] = map[int64][]byte{}
			}
			o.Proofs[from][to] = bytes.Clone(rec)
		}); err != nil {
			return err
		}
		out = o
		return nil
	})
	return out, err
}

// evidence entries are uint16 BE len(origin) || origin || record.
func evidenceEntry(origin string, record []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(len(origin)))
	b = append(b, origin...)
	return append(b, record...)
}

// MirrorEvidence returns the evidence records of origin ("" for all) in
// the order stored.
func (s *MirrorStore) MirrorEvidence(ctx context.Context, origin string) ([][]byte, error) {
	var out [][]byte
	err := s.DB.view(func(tx *bolt.Tx) error {
		top := tx.Bucket(BucketCheckpoints)
		if top == nil {
			return nil
		}
		eb := top.Bucket(mirrorBucketEvidence)
		if eb == nil {
			return nil
		}
		return eb.ForEach(func(k, v []byte) error {
			if len(v) < 2 || len(v) < 2+int(binary.BigEndian.Uint16(v)) {
				return s.corrupt("evidence record %x is damaged", k)
			}
			n := int(binary.BigEndian.Uint16(v))
			if origin == "" || string(v[2:2+n]) == origin {
				out = append(out, bytes.Clone(v[2+n:]))
			}
			return nil
		})
	})
	return out, err
}

// WitnessPolicy returns the stored witness policy text, nil if none.
func (s *MirrorStore) WitnessPolicy(ctx context.Context) ([]byte, error) {
	var out []byte
	err := s.DB.view(func(tx *bolt.Tx) error {
		if top := tx.Bucket(BucketCheckpoints); top != nil {
			out = bytes.Clone(top.Get(mirrorKeyPolicy))
		}
		return nil
	})
	return out, err
}

// CommitMirror applies c in one transaction with its audit record, as a
// compare-and-swap on every origin's latest record. If one changed, it
// commits nothing and returns ok false with a nil error.
func (s *MirrorStore) CommitMirror(ctx context.Context, c MirrorCommit) (ok bool, err error) {
	err = s.DB.update(func(tx *bolt.Tx) error {
		top, err := tx.CreateBucketIfNotExists(BucketCheckpoints)
		if err != nil {
			return err
		}
		ob, err := top.CreateBucketIfNotExists(mirrorBucketOrigins)
		if err != nil {
			return err
		}
		for _, o := range c.Origins {
			b := ob.Bucket([]byte(o.Origin))
			var cur []byte
			if b != nil {
				cur = b.Get(originKeyLatest)
			}
			if !bytes.Equal(cur, o.ExpectLatest) || (b == nil) != (o.ExpectLatest == nil) {
				return errConflict
			}
		}
		for _, o := range c.Origins {
			if o.Origin == "" || o.Size < 0 || o.Latest == nil {
				return fmt.Errorf("checkpoint mirror commit of %q: empty origin, negative size or no record", o.Origin)
			}
			b, err := ob.CreateBucketIfNotExists([]byte(o.Origin))
			if err != nil {
				return err
			}
			if err := b.Put(originKeyLatest, o.Latest); err != nil {
				return err
			}
			h, err := b.CreateBucketIfNotExists(originBucketHistory)
			if err != nil {
				return err
			}
			if err := h.Put(key64(o.Size), o.Latest); err != nil {
				return err
			}
			p, err := b.CreateBucketIfNotExists(originBucketProofs)
			if err != nil {
				return err
			}
			for _, pr := range o.Proofs {
				if pr.From < 0 || pr.To < pr.From {
					return fmt.Errorf("checkpoint mirror commit of %q: proof from %d to %d", o.Origin, pr.From, pr.To)
				}
				if err := p.Put(append(key64(pr.From), key64(pr.To)...), pr.Record); err != nil {
					return err
				}
			}
		}
		if err := appendAuditTx(tx, c.Audit); err != nil {
			return err
		}
		if commitHook != nil {
			commitHook()
		}
		return nil
	})
	if err == errConflict {
		return false, nil
	}
	return err == nil, err
}

// errConflict aborts a CommitMirror transaction whose expectations no
// longer hold.
var errConflict = fmt.Errorf("checkpoint mirror changed")

// AddEvidence stores an evidence record of origin with its audit record,
// in one transaction.
func (s *MirrorStore) AddEvidence(ctx context.Context, origin string, record []byte, audit AuditRecord) error {
	if len(origin) > 0xffff {
		return fmt.Errorf("evidence of an origin longer than 65535 bytes")
	}
	return s.DB.update(func(tx *bolt.Tx) error {
		top, err := tx.CreateBucketIfNotExists(BucketCheckpoints)
		if err != nil {
			return err
		}
		eb, err := top.CreateBucketIfNotExists(mirrorBucketEvidence)
		if err != nil {
			return err
		}
		seq, err := eb.NextSequence()
		if err != nil {
			return err
		}
		if err := eb.Put(binary.BigEndian.AppendUint64(nil, seq), evidenceEntry(origin, record)); err != nil {
			return err
		}
		return appendAuditTx(tx, audit)
	})
}

// SetWitnessPolicy stores the witness policy text (nil removes it) with
// its audit record, in one transaction.
func (s *MirrorStore) SetWitnessPolicy(ctx context.Context, text []byte, audit AuditRecord) error {
	return s.DB.update(func(tx *bolt.Tx) error {
		top, err := tx.CreateBucketIfNotExists(BucketCheckpoints)
		if err != nil {
			return err
		}
		if text == nil {
			err = top.Delete(mirrorKeyPolicy)
		} else {
			err = top.Put(mirrorKeyPolicy, text)
		}
		if err != nil {
			return err
		}
		return appendAuditTx(tx, audit)
	})
}

// MirrorFile is the mirror of the database at Path, opened as needed:
// reads share one read-only open (made on the first read), and each write
// closes it and opens the file read-write for its one transaction. So a
// refused import, which only reads, leaves the file as it was, byte for
// byte; and no write lock is held while a pack is checked. A change made
// by another process in between makes CommitMirror's compare-and-swap
// fail rather than overwrite it. Close it when done.
type MirrorFile struct {
	Path string
	// Options are used for every open; ReadOnly is set for reads.
	Options Options

	ro *DB
}

// read runs fn on the read-only open; a database that does not exist yet
// holds no mirror, and fn does not run.
func (f *MirrorFile) read(fn func(s *MirrorStore) error) error {
	if f.ro == nil {
		opts := f.Options
		opts.ReadOnly = true
		db, err := Open(f.Path, opts)
		if errors.Is(err, ErrNotInitialized) {
			return nil
		}
		if err != nil {
			return err
		}
		f.ro = db
	}
	return fn(&MirrorStore{DB: f.ro})
}

// write closes the read-only open and runs fn on a read-write one.
func (f *MirrorFile) write(fn func(s *MirrorStore) error) error {
	if err := f.Close(); err != nil {
		return err
	}
	opts := f.Options
	opts.ReadOnly = false
	db, err := Open(f.Path, opts)
	if err != nil {
		return err
	}
	defer db.Close()
	return fn(&MirrorStore{DB: db})
}

// Close closes the read-only open, if any.
func (f *MirrorFile) Close() error {
	if f.ro == nil {
		return nil
	}
	err := f.ro.Close()
	f.ro = nil
	return err
}

// MirrorOrigins is MirrorStore.MirrorOrigins.
func (f *MirrorFile) MirrorOrigins(ctx context.Context) (out []string, err error) {
	err = f.read(func(s *MirrorStore) error { out, err = s.MirrorOrigins(ctx); return err })
	return out, err
}

// MirrorLatest is MirrorStore.MirrorLatest.
func (f *MirrorFile) MirrorLatest(ctx context.Context, origin string) (out []byte, err error) {
	err = f.read(func(s *MirrorStore) error { out, err = s.MirrorLatest(ctx, origin); return err })
	return out, err
}

// MirrorCheckpointAt is MirrorStore.MirrorCheckpointAt.
func (f *MirrorFile) MirrorCheckpointAt(ctx context.Context, origin string, size int64) (out []byte, err error) {
	err = f.read(func(s *MirrorStore) error { out, err = s.MirrorCheckpointAt(ctx, origin, size); return err })
	return out, err
}

// MirrorSizes is MirrorStore.MirrorSizes.
func (f *MirrorFile) MirrorSizes(ctx context.Context, origin string) (out []int64, err error) {
	err = f.read(func(s *MirrorStore) error { out, err = s.MirrorSizes(ctx, origin); return err })
	return out, err
}

// MirrorProofsFrom is MirrorStore.MirrorProofsFrom.
func (f *MirrorFile) MirrorProofsFrom(ctx context.Context, origin string, from int64) (out map[int64][]byte, err error) {
	err = f.read(func(s *MirrorStore) error { out, err = s.MirrorProofsFrom(ctx, origin, from); return err })
	return out, err
}

// MirrorEvidence is MirrorStore.MirrorEvidence.
func (f *MirrorFile) MirrorEvidence(ctx context.Context, origin string) (out [][]byte, err error) {
	err = f.read(func(s *MirrorStore) error { out, err = s.MirrorEvidence(ctx, origin); return err })
	return out, err
}

// WitnessPolicy is MirrorStore.WitnessPolicy.
func (f *MirrorFile) WitnessPolicy(ctx context.Context) (out []byte, err error) {
	err = f.read(func(s *MirrorStore) error { out, err = s.WitnessPolicy(ctx); return err })
	return out, err
}

// CommitMirror is MirrorStore.CommitMirror, on a read-write open.
func (f *MirrorFile) CommitMirror(ctx context.Context, c MirrorCommit) (ok bool, err error) {
	err = f.write(func(s *MirrorStore) error { ok, err = s.CommitMirror(ctx, c); return err })
	return ok, err
}

// AddEvidence is MirrorStore.AddEvidence, on a read-write open.
func (f *MirrorFile) AddEvidence(ctx context.Context, origin string, record []byte, audit AuditRecord) error {
	return f.write(func(s *MirrorStore) error { return s.AddEvidence(ctx, origin, record, audit) })
}

// SetWitnessPolicy is MirrorStore.SetWitnessPolicy, on a read-write open.
func (f *MirrorFile) SetWitnessPolicy(ctx context.Context, text []byte, audit AuditRecord) error {
	return f.write(func(s *MirrorStore) error { return s.SetWitnessPolicy(ctx, text, audit) })
}
