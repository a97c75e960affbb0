// Package cache is airlock's one bbolt database: TUF metadata per
// repository, target blobs, the site log, mirrored checkpoints and the
// hash-chained audit trail.
//
// The audit trail is also a Merkle tree (the audit log, beside the site
// log): every record is a leaf, and seals, its checkpoints signed by the
// site log key, are stored with it (AuditPlan commits records and a seal
// in one transaction). Every record of a change to a TUF repository
// carries the digest of the repository's stored state (RepositoryDigest).
// VerifyAudit checks the database against its newest seal: records,
// repositories, target blobs. cache does not sign or open seals: the
// caller passes that in (package tlog's SignSeal and OpenSeal).
//
// A command opens the database, works in short transactions and closes it;
// no lock is held while hashing artifacts or talking to a token. Every open
// has a timeout, so a second writer gets ErrLocked rather than a hang.
// Everything one import or signing batch changes is committed in one
// transaction, so a crash at any moment leaves the previous state.
//
// cache satisfies the store interfaces that trust, tlog and airgap define,
// without importing them.
package cache

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// SchemaVersion is the layout version written in the meta bucket. Opening a
// database with a newer schema fails rather than misreading it.
const SchemaVersion = 1

// ErrLocked is returned when another airlock process holds the database.
var ErrLocked = errors.New("database is locked by another airlock process")

// ErrNotInitialized is returned when a read-only open finds no database.
var ErrNotInitialized = errors.New("no airlock database")

// ErrNotDatabase is returned when the path names something that is not an
// airlock database: a directory, or a file that is not a bbolt file.
var ErrNotDatabase = errors.New("not an airlock database")

// Bucket names. Top-level buckets are created on the first writable open.
var (
	bucketMeta  = []byte("meta")
	bucketAudit = []byte("audit")
	// BucketTUF holds one sub-bucket per TUF repository.
	BucketTUF = []byte("tuf")
	// BucketTargets holds target files by hex sha256.
	BucketTargets = []byte("targets")
	// BucketLog holds the site transparency log.
	BucketLog = []byte("sitelog")
	// BucketCheckpoints holds mirrored checkpoints per log origin.
	BucketCheckpoints = []byte("checkpoints")
)

var topBuckets = [][]byte{bucketMeta, bucketAudit, BucketTUF, BucketTargets, BucketLog, BucketCheckpoints}

// OpenError is a database file that could not be opened (permissions, a
// read-only file system, ...). Err is the system's error.
type OpenError struct {
	Path string
	Err  error
}

func (e *OpenError) Error() string {
	err := e.Err
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == e.Path {
		err = pe.Err // the path is said once
	}
	return fmt.Sprintf("opening database %q: %v", e.Path, err)
}

func (e *OpenError) Unwrap() error { return e.Err }

// Options configure Open. The zero value opens read-write, creating the
// file and its directory, with a 3 second lock timeout.
type Options struct {
	// ReadOnly opens with a shared lock and never creates the file.
	ReadOnly bool
	// Timeout is how long to wait for the file lock; zero means 3 seconds.
	Timeout time.Duration
}

// DB is an open airlock database.
type DB struct {
	bolt *bolt.DB
	path string
}

// FullCheckMaxSize is the largest database file Open checks page by page
// (every page reachable from the root, then bbolt's consistency check)
// before use. Above it, the check would cost every command a read of the
// whole file: 64 MiB is about 80,000 site-log entries.
const FullCheckMaxSize = 64 << 20

// Open opens (and, unless read-only, creates) the database at path. A
// damaged file (see ErrCorrupt) is refused before anything is written: its
// meta pages, length and freelist are checked before bbolt maps it, and,
// for a file of up to FullCheckMaxSize, every page reachable from the root
// is read and bbolt's consistency check run before Open returns.
func Open(path string, opts Options) (*DB, error) {
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = 3 * time.Second
	}
	st, statErr := os.Stat(path)
	if statErr == nil && st.IsDir() {
		return nil, fmt.Errorf("%w: %q is a directory", ErrNotDatabase, path)
	}
	if opts.ReadOnly {
		// An empty file (mktemp's) is no database yet: bbolt would try
		// to initialise it through a read-only descriptor.
		if errors.Is(statErr, os.ErrNotExist) || statErr == nil && st.Size() == 0 {
			return nil, fmt.Errorf("%w at %q", ErrNotInitialized, path)
		}
	} else if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating database directory: %w", err)
	}
	if err := checkFile(path); err != nil {
		return nil, err
	}
	var b *bolt.DB
	err := guard(path, func() (err error) {
		b, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout, ReadOnly: opts.ReadOnly})
		return err
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("%w (%s)", ErrLocked, path)
	}
	if errors.Is(err, bolterrors.ErrInvalid) || errors.Is(err, bolterrors.ErrVersionMismatch) || errors.Is(err, bolterrors.ErrChecksum) {
		return nil, fmt.Errorf("%w: %q is not a bbolt database file (%v)", ErrNotDatabase, path, err)
	}
	if err != nil {
		return nil, &OpenError{Path: path, Err: err}
	}
	db := &DB{bolt: b, path: path}
	// The whole-file walk costs a read of every page: it runs on files up
	// to FullCheckMaxSize (a trust store, a young site log). A larger file
	// (a site log of many entries) gets the meta, length and freelist
	// checks above, and its reads and writes run under guard as before.
	if st, err := os.Stat(path); err == nil && st.Size() <= FullCheckMaxSize {
		id, known := fileIdentity(st)
		if _, done := checked.Load(id); !known || !done {
			if err := db.checkAll(); err != nil {
				b.Close()
				return nil, err
			}
			if known {
				checked.Store(id, struct{}{})
			}
		}
	}
	if err := db.checkSchema(opts.ReadOnly); err != nil {
		b.Close()
		return nil, err
	}
	return db, nil
}

// checked holds the identities of the files this process has walked page
// by page and found whole (fileID): a batch verification opens the
// database once per distinct checkpoint, and the walk is the larger part
// of an open. Any write changes a file's change time (which no user
// process can set back), so a file written since, by anyone, is walked
// again.
var checked sync.Map

func (db *DB) checkSchema(readOnly bool) error {
	check := func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			if readOnly {
				return nil
			}
			for _, name := range topBuckets {
				if _, err := tx.CreateBucketIfNotExists(name); err != nil {
					return err
				}
			}
			return tx.Bucket(bucketMeta).Put([]byte("schema"), []byte{SchemaVersion})
		}
		v := meta.Get([]byte("schema"))
		if len(v) != 1 || v[0] > SchemaVersion {
			return fmt.Errorf("database %q has schema %v, this airlock understands up to %d", db.path, v, SchemaVersion)
		}
		return nil
	}
	if readOnly {
		return db.bolt.View(check)
	}
	return db.bolt.Update(check)
}

// Path returns the file the database was opened from.
func (db *DB) Path() string { return db.path }

// Close releases the database and its lock.
func (db *DB) Close() error { return db.bolt.Close() }

// view runs fn in a read-only transaction. A panic in bbolt (a damaged
// page checkAll did not reach) is a *CorruptError; see guard.
func (db *DB) view(fn func(*bolt.Tx) error) error { return db.guardedView(fn) }

// update runs fn in one read-write transaction: all of it is committed, or
// none of it. Open checked the whole file first (checkAll), so a panic in
// fn is not expected; should one come, Update's deferred rollback runs
// before guard turns it into a *CorruptError, and nothing was written.
func (db *DB) update(fn func(*bolt.Tx) error) error {
	return guard(db.path, func() error { return db.bolt.Update(fn) })
}
