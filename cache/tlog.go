package cache

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	bolt "go.etcd.io/bbolt"
	sumdb "golang.org/x/mod/sumdb/tlog"
)

// ErrLogConflict is returned by SiteLog.AppendLog when the log is not the
// size the batch was prepared for, and by CreateLog when a log exists.
var ErrLogConflict = errors.New("site log changed by another writer")

// Keys and sub-buckets of the site log under BucketLog.
var (
	logKeyMeta        = []byte("meta")        // the log's metadata record
	logKeyHead        = []byte("head")        // the latest signed checkpoint
	logKeySize        = []byte("size")        // the number of entries, 8 bytes big-endian
	logKeyKeyRef      = []byte("keyref")      // where the log key is: a pkcs11: URI (no PIN) or a key file path
	logBucketEntries  = []byte("entries")     // entry index (8 bytes BE) -> entry record
	logBucketHashes   = []byte("hashes")      // stored hash index (8 bytes BE) -> 32-byte hash
	logBucketCheckpts = []byte("checkpoints") // tree size (8 bytes BE) -> signed checkpoint
	logBucketLeaves   = []byte("leaves")      // RFC 6962 leaf hash (32 bytes) -> entry index (8 bytes BE), the first entry with it
)

// SiteLog keeps the site transparency log in the database, under
// BucketLog. It satisfies tlog.Store; the records, hashes and checkpoints
// are tlog's, stored as given.
type SiteLog struct {
	DB *DB
	// InTx, if set, runs inside every CreateLog, AppendLog and
	// RotateLogKey transaction after the writes and before the commit;
	// its error aborts the operation. It lets one transaction also carry
	// what the batch signed (audit records, AuditTx) or the log key's
	// reference (LogInitTx).
	InTx func(tx *bolt.Tx) error
	// ConflictErr, if set, is returned (wrapped) instead of
	// ErrLogConflict, so that callers can use their own sentinel.
	ConflictErr error
}

func key64(n int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(n)) }

// ReadLogHead returns the metadata and the latest checkpoint (nil, nil if
// no log exists).
func (s *SiteLog) ReadLogHead(ctx context.Context) (meta, checkpoint []byte, err error) {
	err = s.DB.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(BucketLog)
		if b == nil {
			return nil
		}
		meta = bytes.Clone(b.Get(logKeyMeta))
		checkpoint = bytes.Clone(b.Get(logKeyHead))
		return nil
	})
	return meta, checkpoint, err
}

// FindLeaf returns the index of the first entry whose RFC 6962 leaf hash
// is leafHash; ok is false if the log holds none.
func (s *SiteLog) FindLeaf(ctx context.Context, leafHash []byte) (index int64, ok bool, err error) {
	err = s.DB.view(func(tx *bolt.Tx) error {
		b := subBucket(tx, logBucketLeaves)
		if b == nil {
			return nil
		}
		v := b.Get(leafHash)
		if v == nil {
			return nil
		}
		if len(v) != 8 {
			return errors.New("site log leaf index record is damaged")
		}
		index, ok = int64(binary.BigEndian.Uint64(v)), true
		return nil
	})
	return index, ok, err
}

// ReadHashes returns the stored hashes at indexes.
func (s *SiteLog) ReadHashes(ctx context.Context, indexes []int64) ([][]byte, error) {
	out := make([][]byte, len(indexes))
	err := s.DB.view(func(tx *bolt.Tx) error {
		b := subBucket(tx, logBucketHashes)
		if b == nil {
			return errors.New("site log has no hashes")
		}
		// One backing array: a proof reads tens of hashes.
		buf := make([]byte, 0, 32*len(indexes))
		for i, x := range indexes {
			v := b.Get(key64(x))
			if v == nil {
				return fmt.Errorf("site log has no stored hash %d", x)
			}
			buf = append(buf, v...)
			out[i] = buf[len(buf)-len(v):]
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ReadRecord returns the entry record at index.
func (s *SiteLog) ReadRecord(ctx context.Context, index int64) ([]byte, error) {
	var rec []byte
	err := s.DB.view(func(tx *bolt.Tx) error {
		if b := subBucket(tx, logBucketEntries); b != nil {
			rec = bytes.Clone(b.Get(key64(index)))
		}
		if rec == nil {
			return fmt.Errorf("site log has no entry %d", index)
		}
		return nil
	})
	return rec, err
}

// ReadCheckpointAt returns the checkpoint stored for tree size size, nil
// if there is none.
func (s *SiteLog) ReadCheckpointAt(ctx context.Context, size int64) ([]byte, error) {
	var cp []byte
	err := s.DB.view(func(tx *bolt.Tx) error {
		if b := subBucket(tx, logBucketCheckpts); b != nil {
			cp = bytes.Clone(b.Get(key64(size)))
		}
		return nil
	})
	return cp, err
}

// CreateLog stores a new log's metadata and first checkpoint (size 0).
func (s *SiteLog) CreateLog(ctx context.Context, meta, checkpoint []byte) error {
	return s.DB.update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(BucketLog)
		if err != nil {
			return err
		}
		if b.Get(logKeyMeta) != nil {
			return fmt.Errorf("%w: a site log exists", s.conflict())
		}
		for _, name := range [][]byte{logBucketEntries, logBucketHashes, logBucketCheckpts} {
			if _, err := b.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		if err := b.Put(logKeyMeta, meta); err != nil {
			return err
		}
		if err := b.Put(logKeyHead, checkpoint); err != nil {
			return err
		}
		if err := b.Put(logKeySize, key64(0)); err != nil {
			return err
		}
		if err := b.Bucket(logBucketCheckpts).Put(key64(0), checkpoint); err != nil {
			return err
		}
		if s.InTx != nil {
			return s.InTx(tx)
		}
		return nil
	})
}

// AppendLog commits a batch in one transaction if the latest checkpoint
// is still prev, the log is still size entries long and its next stored
// hash index is firstHash.
func (s *SiteLog) AppendLog(ctx context.Context, prev []byte, size int64, records [][]byte, firstHash int64, hashes [][]byte, checkpoint []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.DB.update(func(tx *bolt.Tx) error {
		if err := AppendSiteLogTx(tx, prev, size, records, firstHash, hashes, checkpoint, s.conflict()); err != nil {
			return err
		}
		if s.InTx != nil {
			return s.InTx(tx)
		}
		return nil
	})
}

// RotateLogKey replaces the log's metadata and its latest checkpoint in
// one transaction if the latest checkpoint is still prev. The checkpoints
// stored by size keep what they hold: the one of the current size stays
// the retired key's.
func (s *SiteLog) RotateLogKey(ctx context.Context, prev, meta, checkpoint []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.DB.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(BucketLog)
		if b == nil || b.Get(logKeyMeta) == nil {
			return errors.New("no site log in the database")
		}
		if !bytes.Equal(b.Get(logKeyHead), prev) {
			return fmt.Errorf("%w: the latest checkpoint is not the one the rotation re-signs", s.conflict())
		}
		if err := b.Put(logKeyMeta, meta); err != nil {
			return err
		}
		if err := b.Put(logKeyHead, checkpoint); err != nil {
			return err
		}
		if s.InTx != nil {
			return s.InTx(tx)
		}
		return nil
	})
}

func (s *SiteLog) conflict() error {
	if s.ConflictErr != nil {
		return s.ConflictErr
	}
	return ErrLogConflict
}

// AppendSiteLogTx is AppendLog inside tx, for a caller that commits more
// with it; conflict is the error wrapped when the log moved.
func AppendSiteLogTx(tx *bolt.Tx, prev []byte, size int64, records [][]byte, firstHash int64, hashes [][]byte, checkpoint []byte, conflict error) error {
	b := tx.Bucket(BucketLog)
	if b == nil || b.Get(logKeyMeta) == nil {
		return errors.New("no site log in the database")
	}
	// The head, not only the size: a key rotation re-signs the head at
	// the same size, and a batch signed by the retired key must not land
	// after it.
	if !bytes.Equal(b.Get(logKeyHead), prev) {
		return fmt.Errorf("%w: the latest checkpoint is not the one the batch extends", conflict)
	}
	cur := b.Get(logKeySize)
	if len(cur) != 8 {
		return errors.New("site log size record is damaged")
	}
	if got := int64(binary.BigEndian.Uint64(cur)); got != size {
		return fmt.Errorf("%w: size %d, the batch was prepared for %d", conflict, got, size)
	}
	entries, hb, cps := b.Bucket(logBucketEntries), b.Bucket(logBucketHashes), b.Bucket(logBucketCheckpts)
	if entries == nil || hb == nil || cps == nil {
		return errors.New("site log buckets are missing")
	}
	var next int64
	if k, _ := hb.Cursor().Last(); k != nil {
		next = int64(binary.BigEndian.Uint64(k)) + 1
	}
	if next != firstHash {
		return fmt.Errorf("site log holds hashes up to %d, the batch starts at %d", next, firstHash)
	}
	// Keys only grow: full pages keep the file small.
	entries.FillPercent, hb.FillPercent = 1, 1
	for i, rec := range records {
		if err := entries.Put(key64(size+int64(i)), rec); err != nil {
			return err
		}
	}
	for i, h := range hashes {
		if err := hb.Put(key64(firstHash+int64(i)), h); err != nil {
			return err
		}
	}
	// The leaf index finds an entry from its body alone (a detached
	// signature's entry, rebuilt by the verifier). Each entry's leaf hash
	// is its level-0 stored hash.
	leaves, err := b.CreateBucketIfNotExists(logBucketLeaves)
	if err != nil {
		return err
	}
	for i := range records {
		at := sumdb.StoredHashIndex(0, size+int64(i)) - firstHash
		if at < 0 || at >= int64(len(hashes)) {
			return fmt.Errorf("site log batch lacks the leaf hash of entry %d", size+int64(i))
		}
		if leaves.Get(hashes[at]) != nil {
			continue // the same body logged again: the first entry answers
		}
		if err := leaves.Put(hashes[at], key64(size+int64(i))); err != nil {
			return err
		}
	}
	newSize := size + int64(len(records))
	if err := cps.Put(key64(newSize), checkpoint); err != nil {
		return err
	}
	if err := b.Put(logKeyHead, checkpoint); err != nil {
		return err
	}
	return b.Put(logKeySize, key64(newSize))
}

func subBucket(tx *bolt.Tx, name []byte) *bolt.Bucket {
	b := tx.Bucket(BucketLog)
	if b == nil {
		return nil
	}
	return b.Bucket(name)
}

// SiteLogFile is a SiteLog that opens the database at Path for each
// operation and closes it after: reads with a shared (read-only) lock,
// CreateLog and AppendLog with the exclusive one. No lock is held in
// between, so while a batch is prepared and signed (the token's time)
// other airlock processes read and write the database; if one appends in
// between, AppendLog fails on its size check and nothing is written.
//
// HoldReads makes a run of reads share one open, since each open checks
// the file (see Open), which for a young log is a read of all of it:
// tlog.Log.Prepare holds the reads it lays its batch out with, and
// releases them before it signs. A SiteLogFile must not be copied after
// first use.
type SiteLogFile struct {
	Path string
	// Options are used for every open; ReadOnly is set for reads.
	Options Options
	// InTx and ConflictErr are as in SiteLog.
	InTx        func(tx *bolt.Tx) error
	ConflictErr error

	mu    sync.Mutex
	held  *SiteLog     // the read-only open shared by holds and reads, nil if none
	close func() error // closes held
	users int          // holds and reads in flight on held
}

func (f *SiteLogFile) open(readOnly bool) (*SiteLog, func() error, error) {
	opts := f.Options
	opts.ReadOnly = readOnly
	db, err := Open(f.Path, opts)
	if err != nil {
		return nil, nil, err
	}
	return &SiteLog{DB: db, InTx: f.InTx, ConflictErr: f.ConflictErr}, db.Close, nil
}

// ErrReadsHeld is returned by SiteLogFile's CreateLog and AppendLog while
// its reads are held: the write would wait for this process's own shared
// lock.
var ErrReadsHeld = errors.New("site log write while its reads are held")

// HoldReads opens the database read-only (a shared lock: writers of
// other processes wait) and serves every read from that open until
// release. Holds nest; the database closes when the last one is released
// and no read is in flight. A database that does not exist yet is not
// held: reads report it as they do without a hold. It satisfies
// tlog.ReadHolder.
func (f *SiteLogFile) HoldReads(ctx context.Context) (release func(), err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.held == nil {
		s, done, err := f.open(true)
		if errors.Is(err, ErrNotInitialized) {
			return func() {}, nil
		}
		if err != nil {
			return nil, err
		}
		f.held, f.close = s, done
	}
	f.users++
	return sync.OnceFunc(func() { f.unuse() }), nil
}

// unuse ends one hold or read of held, closing it after the last.
func (f *SiteLogFile) unuse() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.users--
	if f.users > 0 {
		return nil
	}
	closeDB := f.close
	f.held, f.close = nil, nil
	return closeDB()
}

// reader is the held open if there is one, else a read-only open of its own.
func (f *SiteLogFile) reader() (*SiteLog, func() error, error) {
	f.mu.Lock()
	if f.held != nil {
		f.users++
		s := f.held
		f.mu.Unlock()
		return s, f.unuse, nil
	}
	f.mu.Unlock()
	return f.open(true)
}

// writer opens the database for a write, unless reads are held.
func (f *SiteLogFile) writer() (*SiteLog, func() error, error) {
	f.mu.Lock()
	held := f.held != nil
	f.mu.Unlock()
	if held {
		return nil, nil, ErrReadsHeld
	}
	return f.open(false)
}

// ReadLogHead is SiteLog.ReadLogHead; a database that does not exist yet
// holds no log.
func (f *SiteLogFile) ReadLogHead(ctx context.Context) (meta, checkpoint []byte, err error) {
	s, done, err := f.reader()
	if errors.Is(err, ErrNotInitialized) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	defer done()
	return s.ReadLogHead(ctx)
}

// ReadHashes is SiteLog.ReadHashes.
func (f *SiteLogFile) ReadHashes(ctx context.Context, indexes []int64) ([][]byte, error) {
	s, done, err := f.reader()
	if err != nil {
		return nil, err
	}
	defer done()
	return s.ReadHashes(ctx, indexes)
}

// ReadRecord is SiteLog.ReadRecord.
func (f *SiteLogFile) ReadRecord(ctx context.Context, index int64) ([]byte, error) {
	s, done, err := f.reader()
	if err != nil {
		return nil, err
	}
	defer done()
	return s.ReadRecord(ctx, index)
}

// FindLeaf is SiteLog.FindLeaf.
func (f *SiteLogFile) FindLeaf(ctx context.Context, leafHash []byte) (int64, bool, error) {
	s, done, err := f.reader()
	if err != nil {
		return 0, false, err
	}
	defer done()
	return s.FindLeaf(ctx, leafHash)
}

// ReadCheckpointAt is SiteLog.ReadCheckpointAt.
func (f *SiteLogFile) ReadCheckpointAt(ctx context.Context, size int64) ([]byte, error) {
	s, done, err := f.reader()
	if err != nil {
		return nil, err
	}
	defer done()
	return s.ReadCheckpointAt(ctx, size)
}

// CreateLog is SiteLog.CreateLog, creating the database if needed.
func (f *SiteLogFile) CreateLog(ctx context.Context, meta, checkpoint []byte) error {
	s, done, err := f.writer()
	if err != nil {
		return err
	}
	if err := s.CreateLog(ctx, meta, checkpoint); err != nil {
		done()
		return err
	}
	return done()
}

// AppendLog is SiteLog.AppendLog.
func (f *SiteLogFile) AppendLog(ctx context.Context, prev []byte, size int64, records [][]byte, firstHash int64, hashes [][]byte, checkpoint []byte) error {
	s, done, err := f.writer()
	if err != nil {
		return err
	}
	if err := s.AppendLog(ctx, prev, size, records, firstHash, hashes, checkpoint); err != nil {
		done()
		return err
	}
	return done()
}

// RotateLogKey is SiteLog.RotateLogKey.
func (f *SiteLogFile) RotateLogKey(ctx context.Context, prev, meta, checkpoint []byte) error {
	s, done, err := f.writer()
	if err != nil {
		return err
	}
	if err := s.RotateLogKey(ctx, prev, meta, checkpoint); err != nil {
		done()
		return err
	}
	return done()
}

// AuditTx returns an InTx that appends recs to the audit trail, so that
// they commit with the log operation they record.
func AuditTx(recs ...AuditRecord) func(*bolt.Tx) error {
	return func(tx *bolt.Tx) error {
		for _, r := range recs {
			if err := appendAuditTx(tx, r); err != nil {
				return err
			}
		}
		return nil
	}
}

// LogInitTx returns an InTx for CreateLog (and RotateLogKey) that stores
// keyRef, where the log key is (a pkcs11: URI without any PIN, or a key
// file's path), and appends recs to the audit trail.
func LogInitTx(keyRef string, recs ...AuditRecord) func(*bolt.Tx) error {
	return keyRefTx(keyRef, AuditTx(recs...))
}

// LogInitSealTx is LogInitTx with the audit records of plan, sealed as
// planned (AuditPlan.Tx), instead of recs.
func LogInitSealTx(keyRef string, plan *AuditPlan) func(*bolt.Tx) error {
	return keyRefTx(keyRef, plan.Tx())
}

func keyRefTx(keyRef string, audit func(*bolt.Tx) error) func(*bolt.Tx) error {
	return func(tx *bolt.Tx) error {
		b := tx.Bucket(BucketLog)
		if b == nil {
			return errors.New("no site log in the database")
		}
		if err := b.Put(logKeyKeyRef, []byte(keyRef)); err != nil {
			return err
		}
		return audit(tx)
	}
}

// LogKeyRef returns the log key's reference stored by LogInitTx, "" if
// there is none.
func (s *SiteLog) LogKeyRef(ctx context.Context) (string, error) {
	var ref string
	err := s.DB.view(func(tx *bolt.Tx) error {
		if b := tx.Bucket(BucketLog); b != nil {
			ref = string(b.Get(logKeyKeyRef))
		}
		return nil
	})
	return ref, err
}

// LogKeyRef is SiteLog.LogKeyRef.
func (f *SiteLogFile) LogKeyRef(ctx context.Context) (string, error) {
	s, done, err := f.reader()
	if err != nil {
		return "", err
	}
	defer done()
	return s.LogKeyRef(ctx)
}
