package cache

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ErrTUFConflict is returned by CommitTUF when the repository's state record
// is not the one the caller read: another process updated it in between.
var ErrTUFConflict = errors.New("trust repository changed during the update")

// TUFStore keeps TUF repositories in the database: under BucketTUF one
// sub-bucket per repository holding its records, and target blobs by hex
// sha256 under BucketTargets. It satisfies trust.Store.
type TUFStore struct {
	DB *DB
	// InTx, if set, runs inside every CommitTUF transaction after the
	// writes and before the commit. Tests use it to kill a process
	// mid-update; it is nil in normal use.
	InTx func()
	// ConflictErr, if set, is returned (wrapped) instead of ErrTUFConflict,
	// so that callers can use their own sentinel.
	ConflictErr error
}

// ReadTUF calls fn with copies of every repository's records and a lookup
// of target blobs, inside one read transaction.
func (s *TUFStore) ReadTUF(fn func(repos map[string]map[string][]byte, blob func(string) []byte) error) error {
	return s.DB.View(func(tx *bolt.Tx) error {
		repos := map[string]map[string][]byte{}
		top := tx.Bucket(BucketTUF)
		if top != nil {
			err := top.ForEachBucket(func(name []byte) error {
				rec := map[string][]byte{}
				err := top.Bucket(name).ForEach(func(k, v []byte) error {
					if v != nil {
						rec[string(k)] = bytes.Clone(v)
					}
					return nil
				})
				repos[string(name)] = rec
				return err
			})
			if err != nil {
				return err
			}
		}
		tb := tx.Bucket(BucketTargets)
		blob := func(sha string) []byte {
			if tb == nil {
				return nil
			}
			return bytes.Clone(tb.Get([]byte(sha)))
		}
		return fn(repos, blob)
	})
}

// CommitTUF sets records of repo, stores blobs (each checked against its
// sha256 key) and appends an audit record, all in one transaction. It
// commits nothing unless repo's "state" record equals expectState (nil: the
// repository must not exist yet).
func (s *TUFStore) CommitTUF(repo string, expectState []byte, set map[string][]byte, blobs map[string][]byte, kind string, at time.Time, fields map[string]string) error {
	conflict := s.ConflictErr
	if conflict == nil {
		conflict = ErrTUFConflict
	}
	return s.DB.Update(func(tx *bolt.Tx) error {
		top, err := tx.CreateBucketIfNotExists(BucketTUF)
		if err != nil {
			return err
		}
		b := top.Bucket([]byte(repo))
		switch {
		case b == nil && expectState != nil, b != nil && !bytes.Equal(b.Get([]byte("state")), expectState):
			return fmt.Errorf("%w: %q", conflict, repo)
		case b == nil:
			if b, err = top.CreateBucket([]byte(repo)); err != nil {
				return err
			}
		}
		for k, v := range set {
			if err := b.Put([]byte(k), v); err != nil {
				return err
			}
		}
		tb, err := tx.CreateBucketIfNotExists(BucketTargets)
		if err != nil {
			return err
		}
		for sha, data := range blobs {
			sum := sha256.Sum256(data)
			if hex.EncodeToString(sum[:]) != sha {
				return fmt.Errorf("target blob stored under %s has sha256 %x", sha, sum)
			}
			if err := tb.Put([]byte(sha), data); err != nil {
				return err
			}
		}
		if err := AppendAuditTx(tx, AuditRecord{Time: at, Kind: kind, Fields: fields}); err != nil {
			return err
		}
		if s.InTx != nil {
			s.InTx()
		}
		return nil
	})
}

// TUFFile is a TUFStore that opens the database at Path for each operation
// and closes it after: ReadTUF with a shared (read-only) lock, CommitTUF
// with the exclusive one. No lock is held in between, so a long read of a
// medium or a download does not keep other airlock processes waiting; a
// change made in between by another process makes CommitTUF fail rather
// than overwrite it (the expectState check).
type TUFFile struct {
	Path string
	// Options are used for both opens; ReadOnly is set for ReadTUF.
	Options Options
	// InTx and ConflictErr are as in TUFStore.
	InTx        func()
	ConflictErr error
}

// ReadTUF reads every repository, as TUFStore.ReadTUF. A database that does
// not exist yet holds no repositories.
func (f *TUFFile) ReadTUF(fn func(repos map[string]map[string][]byte, blob func(string) []byte) error) error {
	opts := f.Options
	opts.ReadOnly = true
	db, err := Open(f.Path, opts)
	if errors.Is(err, ErrNotInitialized) {
		return fn(map[string]map[string][]byte{}, func(string) []byte { return nil })
	}
	if err != nil {
		return err
	}
	defer db.Close()
	return (&TUFStore{DB: db}).ReadTUF(fn)
}

// CommitTUF commits as TUFStore.CommitTUF, creating the database if needed.
func (f *TUFFile) CommitTUF(repo string, expectState []byte, set map[string][]byte, blobs map[string][]byte, kind string, at time.Time, fields map[string]string) error {
	opts := f.Options
	opts.ReadOnly = false
	db, err := Open(f.Path, opts)
	if err != nil {
		return err
	}
	s := &TUFStore{DB: db, InTx: f.InTx, ConflictErr: f.ConflictErr}
	if err := s.CommitTUF(repo, expectState, set, blobs, kind, at, fields); err != nil {
		db.Close()
		return err
	}
	return db.Close()
}
