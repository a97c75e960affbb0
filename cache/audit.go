package cache

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	sumdb "golang.org/x/mod/sumdb/tlog"
)

// AuditRecord is one entry of the audit trail. Prev is the hex SHA-256 of
// the previous record's stored bytes ("" for the first), so removing or
// editing any record breaks every later link.
//
// The trail is also a Merkle tree (the audit log, a sibling of the site
// log): record Seq is leaf Seq-1, its leaf hash the RFC 6962 hash of the
// record's stored bytes. A seal, the tree's checkpoint signed by the site
// log key (package tlog), vouches for every record it covers; see
// VerifyAudit.
type AuditRecord struct {
	Seq    uint64            `json:"seq"`
	Time   time.Time         `json:"time"`
	Kind   string            `json:"kind"` // e.g. "trust-import", "sign", "verify"
	Fields map[string]string `json:"fields,omitempty"`
	Prev   string            `json:"prev"`
}

// Audit record fields that VerifyAudit reads. Every record of a change to
// a TUF repository (CommitTUF: trust init, trust update, and any other
// kind of repository stored under BucketTUF) carries both.
const (
	// AuditFieldRepository names the repository the record changed.
	AuditFieldRepository = "repository"
	// AuditFieldState is the hex RepositoryDigest of the repository's
	// stored state after the change.
	AuditFieldState = "state_sha256"
)

// AuditBaselineKind is the kind of the record the first seal of a
// database writes for a repository that no record describes yet (a
// repository pinned by an airlock that did not record repository states).
const AuditBaselineKind = "audit-baseline"

// The audit log's tree, under the top-level bucket "auditlog": the
// stored hashes of the records (x/mod/sumdb/tlog numbering), the number
// of records they cover, and the seals.
var (
	bucketAuditLog    = []byte("auditlog")
	auditKeySize      = []byte("size")   // records the stored hashes cover, 8 bytes BE
	auditKeyHead      = []byte("head")   // the latest seal
	auditBucketHashes = []byte("hashes") // stored hash index (8 bytes BE) -> 32-byte hash
	auditBucketSeals  = []byte("seals")  // tree size (8 bytes BE) -> the seal signed at that size
)

// AppendAudit appends records to the audit trail in one transaction.
func (db *DB) AppendAudit(recs ...AuditRecord) error {
	return db.update(func(tx *bolt.Tx) error {
		for _, r := range recs {
			if err := appendAuditTx(tx, r); err != nil {
				return err
			}
		}
		return nil
	})
}

// encodeAudit returns the sequence number and stored bytes of r appended
// after the record lastSeq whose stored bytes are last (0, nil: none).
func encodeAudit(lastSeq uint64, last []byte, r AuditRecord) (uint64, []byte, error) {
	if last != nil {
		r.Seq = lastSeq + 1
		sum := sha256.Sum256(last)
		r.Prev = hex.EncodeToString(sum[:])
	} else {
		r.Seq, r.Prev = 1, ""
	}
	r.Time = r.Time.UTC()
	data, err := json.Marshal(r)
	return r.Seq, data, err
}

// appendAuditTx appends r inside tx, so that it commits (or not) with the
// change it records. Seq and Prev are filled in, and the audit tree is
// extended.
func appendAuditTx(tx *bolt.Tx, r AuditRecord) error {
	b := tx.Bucket(bucketAudit)
	if b == nil {
		return fmt.Errorf("audit bucket missing")
	}
	k, v := b.Cursor().Last()
	var last uint64
	if k != nil {
		last = binary.BigEndian.Uint64(k)
	}
	seq, data, err := encodeAudit(last, v, r)
	if err != nil {
		return err
	}
	b.FillPercent = 1 // keys only grow: full pages keep the file small
	if err := b.Put(binary.BigEndian.AppendUint64(nil, seq), data); err != nil {
		return err
	}
	return extendAuditTree(tx)
}

// extendAuditTree stores the tree hashes of the records that have none
// yet: the ones just appended, and, once, the whole trail of a database
// written before the audit log existed. It stops at a missing record (a
// gap VerifyAudit reports); the records after it stay outside the tree.
func extendAuditTree(tx *bolt.Tx) error {
	al, err := tx.CreateBucketIfNotExists(bucketAuditLog)
	if err != nil {
		return err
	}
	hb, err := al.CreateBucketIfNotExists(auditBucketHashes)
	if err != nil {
		return err
	}
	hb.FillPercent = 1 // keys only grow
	audit := tx.Bucket(bucketAudit)
	n := auditTreeSize(al)
	r := bucketHashes{hb}
	for {
		v := audit.Get(key64(n + 1))
		if v == nil {
			break
		}
		hs, err := sumdb.StoredHashesForRecordHash(n, sumdb.RecordHash(v), r)
		if err != nil {
			return fmt.Errorf("audit tree: %w", err)
		}
		first := sumdb.StoredHashCount(n)
		for j, h := range hs {
			if err := hb.Put(key64(first+int64(j)), h[:]); err != nil {
				return err
			}
		}
		n++
	}
	return al.Put(auditKeySize, key64(n))
}

func auditTreeSize(al *bolt.Bucket) int64 {
	if al == nil {
		return 0
	}
	v := al.Get(auditKeySize)
	if len(v) != 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(v))
}

// bucketHashes reads stored hashes from a bucket, for x/mod/sumdb/tlog.
type bucketHashes struct{ b *bolt.Bucket }

func (r bucketHashes) ReadHashes(indexes []int64) ([]sumdb.Hash, error) {
	out := make([]sumdb.Hash, len(indexes))
	for i, x := range indexes {
		v := r.b.Get(key64(x))
		if len(v) != sumdb.HashSize {
			return nil, fmt.Errorf("audit tree has no stored hash %d", x)
		}
		copy(out[i][:], v)
	}
	return out, nil
}

// overlayHashes serves hashes computed in memory, the rest from base.
type overlayHashes struct {
	base sumdb.HashReader
	mem  map[int64]sumdb.Hash
}

func (o overlayHashes) ReadHashes(indexes []int64) ([]sumdb.Hash, error) {
	out := make([]sumdb.Hash, len(indexes))
	for i, x := range indexes {
		h, ok := o.mem[x]
		if !ok {
			if o.base == nil {
				return nil, fmt.Errorf("audit tree has no stored hash %d", x)
			}
			got, err := o.base.ReadHashes([]int64{x})
			if err != nil {
				return nil, err
			}
			h = got[0]
		}
		out[i] = h
	}
	return out, nil
}

// Audit returns every audit record in order after checking the hash chain.
// A broken link is an error naming the first record that does not follow.
func (db *DB) Audit() ([]AuditRecord, error) {
	var out []AuditRecord
	err := db.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAudit)
		if b == nil {
			return nil
		}
		prev := ""
		var want uint64 = 1
		return b.ForEach(func(k, v []byte) error {
			var r AuditRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("audit record %x: %w", k, err)
			}
			if r.Seq != want || binary.BigEndian.Uint64(k) != want || r.Prev != prev {
				return fmt.Errorf("audit trail broken at record %d", want)
			}
			sum := sha256.Sum256(v)
			prev = hex.EncodeToString(sum[:])
			want++
			out = append(out, r)
			return nil
		})
	})
	return out, err
}

// ErrAuditMoved is returned by AuditPlan.Commit when the trail is no
// longer the one the plan was made from.
var ErrAuditMoved = errors.New("audit trail changed since the seal was prepared")

// AuditPlan is an append to the audit trail (possibly of no records)
// computed before it is written, so that its seal can be signed with no
// transaction held: the tree's size and root after the append. Set Seal
// to the signed seal of (Size, Root), then commit it with the records
// (Tx, or Commit).
type AuditPlan struct {
	// Base is the number of records the trail held when planned.
	Base int64
	// Size is the number of records after the append, Root the tree's
	// root hash then: what the seal signs.
	Size int64
	Root [32]byte
	// HeadSeal is the latest seal when planned (nil if none).
	HeadSeal []byte
	// Seal is the signed seal of Size and Root, set by the caller.
	Seal []byte
	// Sealed is set by Tx when the seal was written with the records.
	Sealed bool

	recs    []AuditRecord
	data    [][]byte
	lastSum [32]byte // SHA-256 of the last record's bytes when planned
}

// PlanAudit plans appending recs and sealing the result. check, if not
// nil, runs in the same read transaction with the latest seal (nil if
// none), the number of records before the append (base) and the root of
// the stored tree at any size up to base: it should refuse (return an
// error) a trail that is not an extension of the latest seal, which a new
// seal must not vouch for.
func (db *DB) PlanAudit(check func(headSeal []byte, base int64, rootAt func(size int64) ([32]byte, error)) error, recs ...AuditRecord) (*AuditPlan, error) {
	p := &AuditPlan{recs: recs}
	err := db.view(func(tx *bolt.Tx) error {
		audit := tx.Bucket(bucketAudit)
		if audit == nil {
			return errors.New("audit bucket missing")
		}
		al := tx.Bucket(bucketAuditLog)
		var base sumdb.HashReader
		if al != nil {
			if hb := al.Bucket(auditBucketHashes); hb != nil {
				base = bucketHashes{hb}
			}
			p.HeadSeal = bytes.Clone(al.Get(auditKeyHead))
		}
		o := overlayHashes{base: base, mem: map[int64]sumdb.Hash{}}
		k, last := audit.Cursor().Last()
		var lastSeq uint64
		if k != nil {
			lastSeq = binary.BigEndian.Uint64(k)
			p.lastSum = sha256.Sum256(last)
		}
		p.Base = int64(lastSeq)
		add := func(n int64, v []byte) error {
			hs, err := sumdb.StoredHashesForRecordHash(n, sumdb.RecordHash(v), o)
			if err != nil {
				return fmt.Errorf("audit tree: %w", err)
			}
			first := sumdb.StoredHashCount(n)
			for j, h := range hs {
				o.mem[first+int64(j)] = h
			}
			return nil
		}
		// Records the stored hashes do not cover yet (a database from
		// before the audit log) are hashed here; the commit stores them.
		for n := auditTreeSize(al); n < p.Base; n++ {
			v := audit.Get(key64(n + 1))
			if v == nil {
				return fmt.Errorf("audit record %d is missing", n+1)
			}
			if err := add(n, v); err != nil {
				return err
			}
		}
		if check != nil {
			rootAt := func(size int64) ([32]byte, error) {
				if size < 0 || size > p.Base {
					return [32]byte{}, fmt.Errorf("no audit tree of size %d (the trail has %d records)", size, p.Base)
				}
				return sumdb.TreeHash(size, o)
			}
			if err := check(p.HeadSeal, p.Base, rootAt); err != nil {
				return err
			}
		}
		seq := lastSeq
		for _, r := range recs {
			s, data, err := encodeAudit(seq, last, r)
			if err != nil {
				return err
			}
			if err := add(int64(s-1), data); err != nil {
				return err
			}
			p.data = append(p.data, data)
			seq, last = s, data
		}
		p.Size = int64(seq)
		root, err := sumdb.TreeHash(p.Size, o)
		p.Root = root
		return err
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Tx returns the write of the plan inside a transaction (for SiteLog's
// InTx): if the trail is still the one planned from, its records and the
// seal (Seal must be set); otherwise the records alone, appended to the
// trail as it is now and left unsealed (Sealed stays false), so that a
// concurrent writer costs the seal, never the records.
func (p *AuditPlan) Tx() func(*bolt.Tx) error {
	return func(tx *bolt.Tx) error {
		p.Sealed = false
		audit := tx.Bucket(bucketAudit)
		if audit == nil {
			return errors.New("audit bucket missing")
		}
		k, v := audit.Cursor().Last()
		var lastSeq uint64
		var sum [32]byte
		if k != nil {
			lastSeq, sum = binary.BigEndian.Uint64(k), sha256.Sum256(v)
		}
		if int64(lastSeq) != p.Base || sum != p.lastSum || p.Seal == nil {
			for _, r := range p.recs {
				if err := appendAuditTx(tx, r); err != nil {
					return err
				}
			}
			return nil
		}
		audit.FillPercent = 1
		for i, data := range p.data {
			if err := audit.Put(key64(p.Base+int64(i)+1), data); err != nil {
				return err
			}
		}
		if err := extendAuditTree(tx); err != nil {
			return err
		}
		al := tx.Bucket(bucketAuditLog)
		if got := auditTreeSize(al); got != p.Size {
			// A gap in the trail: the tree does not reach the seal.
			return fmt.Errorf("%w: the audit tree covers %d records, the seal %d", ErrAuditMoved, got, p.Size)
		}
		seals, err := al.CreateBucketIfNotExists(auditBucketSeals)
		if err != nil {
			return err
		}
		if err := seals.Put(key64(p.Size), p.Seal); err != nil {
			return err
		}
		if err := al.Put(auditKeyHead, p.Seal); err != nil {
			return err
		}
		p.Sealed = true
		return nil
	}
}

// CommitAudit writes plan p in one transaction (see AuditPlan.Tx); it
// fails with ErrAuditMoved, writing nothing, if the trail moved since the
// plan was made.
func (db *DB) CommitAudit(p *AuditPlan) error {
	return db.update(func(tx *bolt.Tx) error {
		if err := p.Tx()(tx); err != nil {
			return err
		}
		if !p.Sealed {
			return ErrAuditMoved // rolls back the unsealed records too
		}
		return nil
	})
}

// AuditSealAt returns the seal stored for tree size size (nil if none).
func (db *DB) AuditSealAt(size int64) ([]byte, error) {
	var out []byte
	err := db.view(func(tx *bolt.Tx) error {
		if al := tx.Bucket(bucketAuditLog); al != nil {
			if s := al.Bucket(auditBucketSeals); s != nil {
				out = bytes.Clone(s.Get(key64(size)))
			}
		}
		return nil
	})
	return out, err
}

// AuditHead returns the latest seal (nil if the trail was never sealed).
func (db *DB) AuditHead() ([]byte, error) {
	var out []byte
	err := db.view(func(tx *bolt.Tx) error {
		if al := tx.Bucket(bucketAuditLog); al != nil {
			out = bytes.Clone(al.Get(auditKeyHead))
		}
		return nil
	})
	return out, err
}

// RepositoryDigest is the SHA-256 of a repository's stored state: every
// key and value of its sub-bucket under BucketTUF, nested buckets
// included, in key order, each length-prefixed. It does not know what the
// records mean, so any kind of repository stored there is covered.
func RepositoryDigest(b *bolt.Bucket) [32]byte {
	h := sha256.New()
	h.Write([]byte("airlock repository state v1\n"))
	var walk func(b *bolt.Bucket)
	walk = func(b *bolt.Bucket) {
		b.ForEach(func(k, v []byte) error {
			if v == nil {
				h.Write([]byte{'b'})
				h.Write(binary.AppendUvarint(nil, uint64(len(k))))
				h.Write(k)
				walk(b.Bucket(k))
				h.Write([]byte{'e'})
				return nil
			}
			h.Write([]byte{'k'})
			h.Write(binary.AppendUvarint(nil, uint64(len(k))))
			h.Write(k)
			h.Write(binary.AppendUvarint(nil, uint64(len(v))))
			h.Write(v)
			return nil
		})
	}
	walk(b)
	var out [32]byte
	h.Sum(out[:0])
	return out
}
