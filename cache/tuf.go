package cache

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"

	bolt "go.etcd.io/bbolt"
)

// TUFStore keeps TUF repositories in the database: under BucketTUF one
// sub-bucket per repository holding its records, and target blobs by hex
// sha256 under BucketTargets. The command line wires it to trust.Store.
type TUFStore struct {
	DB *DB
}

// TUFCommit is one change to one repository, committed by CommitTUF with
// its audit record in one transaction, or not at all.
type TUFCommit struct {
	// Repo is the repository changed.
	Repo string
	// ExpectState is the repository's "state" record the change was made
	// from; nil means the repository must not exist yet.
	ExpectState []byte
	// Set are the records to set in the repository.
	Set map[string][]byte
	// Blobs are target blobs by hex sha256; each is checked against its key.
	Blobs map[string][]byte
	// Audit is the record appended to the audit trail (Seq and Prev are
	// filled in, and the fields AuditFieldRepository and AuditFieldState:
	// the repository's state after the change).
	Audit AuditRecord
}

// commitHook, when set, runs inside every CommitTUF and CommitMirror
// transaction after the writes and before the commit. Only binaries built with the airlocktest
// tag can set it (testhook_airlocktest.go), for a test that kills a
// process mid-commit.
var commitHook func()

// ReadTUF calls fn with copies of every repository's records and a lookup
// of target blobs, inside one read transaction.
func (s *TUFStore) ReadTUF(fn func(repos map[string]map[string][]byte, blob func(string) []byte) error) error {
	return s.DB.view(func(tx *bolt.Tx) error {
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

// CommitTUF applies c in one transaction, compare-and-swap: only if the
// repository's "state" record equals c.ExpectState (nil: the repository
// must not exist yet). If it does not, nothing is committed and ok is
// false, with a nil error.
func (s *TUFStore) CommitTUF(c TUFCommit) (ok bool, err error) {
	err = s.DB.update(func(tx *bolt.Tx) error {
		top, err := tx.CreateBucketIfNotExists(BucketTUF)
		if err != nil {
			return err
		}
		b := top.Bucket([]byte(c.Repo))
		switch {
		case b == nil && c.ExpectState != nil, b != nil && !bytes.Equal(b.Get([]byte("state")), c.ExpectState):
			return nil // ok stays false: nothing written, nothing to roll back
		case b == nil:
			if b, err = top.CreateBucket([]byte(c.Repo)); err != nil {
				return err
			}
		}
		for k, v := range c.Set {
			if err := b.Put([]byte(k), v); err != nil {
				return err
			}
		}
		tb, err := tx.CreateBucketIfNotExists(BucketTargets)
		if err != nil {
			return err
		}
		for sha, data := range c.Blobs {
			sum := sha256.Sum256(data)
			if hex.EncodeToString(sum[:]) != sha {
				return fmt.Errorf("target blob stored under %s has sha256 %x", sha, sum)
			}
			if err := tb.Put([]byte(sha), data); err != nil {
				return err
			}
		}
		// The record carries the repository's state after the change, so
		// that a sealed trail vouches for it (VerifyAudit).
		rec := c.Audit
		rec.Fields = maps.Clone(rec.Fields)
		if rec.Fields == nil {
			rec.Fields = map[string]string{}
		}
		sum := RepositoryDigest(b)
		rec.Fields[AuditFieldRepository] = c.Repo
		rec.Fields[AuditFieldState] = hex.EncodeToString(sum[:])
		if err := appendAuditTx(tx, rec); err != nil {
			return err
		}
		if commitHook != nil {
			commitHook()
		}
		ok = true
		return nil
	})
	return ok && err == nil, err
}

// TUFFile is a TUFStore that opens the database at Path for each operation
// and closes it after: ReadTUF with a shared (read-only) lock, CommitTUF
// with the exclusive one. No lock is held in between, so a long read of a
// medium or a download does not keep other airlock processes waiting; a
// change made in between by another process makes CommitTUF fail rather
// than overwrite it (ExpectState, compare-and-swap).
type TUFFile struct {
	Path string
	// Options are used for both opens; ReadOnly is set for ReadTUF.
	Options Options
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
func (f *TUFFile) CommitTUF(c TUFCommit) (ok bool, err error) {
	opts := f.Options
	opts.ReadOnly = false
	db, err := Open(f.Path, opts)
	if err != nil {
		return false, err
	}
	ok, err = (&TUFStore{DB: db}).CommitTUF(c)
	if cerr := db.Close(); err == nil && cerr != nil {
		return false, cerr
	}
	return ok, err
}
