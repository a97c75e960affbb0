package cache

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"runtime/debug"

	bolt "go.etcd.io/bbolt"
)

// ErrCorrupt is returned (wrapped in a *CorruptError) when the database
// file is damaged: a meta page that fails its checksum, a file shorter
// than its pages, a page that is not what its parent says, a broken
// freelist. Nothing is written to a damaged file.
var ErrCorrupt = errors.New("database is damaged")

// CorruptError says which file is damaged and how.
type CorruptError struct {
	Path   string
	Detail string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("database %q is damaged: %s", e.Path, e.Detail)
}

// Is makes errors.Is(err, ErrCorrupt) hold.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// bbolt's on-disk layout (go.etcd.io/bbolt/internal/common), read here
// before bbolt maps the file, so that a damaged file is refused before
// bbolt trusts it. The layout is stable: bbolt's file format version 2.
const (
	boltMagic       = 0xED0CDAED
	boltVersion     = 2
	pageHeaderSize  = 16   // id u64, flags u16, count u16, overflow u32
	metaSize        = 64   // the meta struct after the page header
	metaChecksumOff = 56   // fnv64a of the meta's first 56 bytes
	freelistFlag    = 0x10 // page flags
	noFreelist      = ^uint64(0)
)

// boltMeta is the part of a meta page the checks need.
type boltMeta struct {
	pageSize uint32
	freelist uint64
	hwm      uint64 // high-water mark: pages [0, hwm) exist
	txid     uint64
}

// readMeta decodes and validates the meta page at off. magicOK reports
// whether it carries bbolt's magic number at all (a file that does not is
// not a bbolt file, rather than a damaged one).
func readMeta(f io.ReaderAt, off int64) (m boltMeta, magicOK bool, err error) {
	buf := make([]byte, pageHeaderSize+metaSize)
	if _, err := f.ReadAt(buf, off); err != nil {
		return m, false, fmt.Errorf("meta page at offset %d is missing (%v)", off, err)
	}
	b := buf[pageHeaderSize:]
	ne := binary.NativeEndian
	if ne.Uint32(b[0:]) != boltMagic {
		return m, false, fmt.Errorf("meta page at offset %d has no bbolt magic number", off)
	}
	h := fnv.New64a()
	h.Write(b[:metaChecksumOff])
	if h.Sum64() != ne.Uint64(b[metaChecksumOff:]) {
		return m, true, fmt.Errorf("meta page at offset %d fails its checksum", off)
	}
	if v := ne.Uint32(b[4:]); v != boltVersion {
		return m, true, fmt.Errorf("meta page at offset %d has file format version %d", off, v)
	}
	m = boltMeta{pageSize: ne.Uint32(b[8:]), freelist: ne.Uint64(b[32:]), hwm: ne.Uint64(b[40:]), txid: ne.Uint64(b[48:])}
	return m, true, nil
}

// checkFile checks what bbolt trusts when it opens a file: both meta pages
// (bbolt would silently fall back to the older one, losing the last
// committed transaction), the file's length against the pages the meta
// names, and the freelist page. It only reads. A file that carries no bbolt
// magic number at all is left to bbolt to refuse (ErrNotDatabase).
func checkFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return nil // bbolt's open reports it
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil
	}
	damaged := func(format string, args ...any) error {
		return &CorruptError{Path: path, Detail: fmt.Sprintf(format, args...)}
	}
	m0, magic0, err0 := readMeta(f, 0)
	pageSize := int64(m0.pageSize)
	if err0 != nil {
		pageSize = int64(os.Getpagesize())
	}
	if pageSize < 1024 || pageSize > 1<<20 || pageSize&(pageSize-1) != 0 {
		return damaged("meta page 0 names page size %d", pageSize)
	}
	m1, magic1, err1 := readMeta(f, pageSize)
	switch {
	case !magic0 && !magic1:
		return nil // not a bbolt file at all
	case err0 != nil:
		return damaged("%v", err0)
	case err1 != nil:
		return damaged("%v", err1)
	case m1.pageSize != m0.pageSize:
		return damaged("the meta pages disagree on the page size (%d, %d)", m0.pageSize, m1.pageSize)
	}
	m := m0
	if m1.txid > m0.txid {
		m = m1
	}
	if m.hwm < 2 || m.hwm > uint64(st.Size())/uint64(pageSize) {
		return damaged("the file is %d bytes, its pages need %d (truncated?)", st.Size(), m.hwm*uint64(pageSize))
	}
	if m.freelist == noFreelist {
		return nil
	}
	if m.freelist < 2 || m.freelist >= m.hwm {
		return damaged("freelist page %d is outside the file's %d pages", m.freelist, m.hwm)
	}
	hdr := make([]byte, pageHeaderSize+8)
	if _, err := f.ReadAt(hdr, int64(m.freelist)*pageSize); err != nil {
		return damaged("reading freelist page %d: %v", m.freelist, err)
	}
	ne := binary.NativeEndian
	if flags := ne.Uint16(hdr[8:]); flags != freelistFlag {
		return damaged("page %d is not a freelist page (flags %#x)", m.freelist, flags)
	}
	count, start := uint64(ne.Uint16(hdr[10:])), int64(pageHeaderSize)
	if count == 0xFFFF { // the real count is the first element
		count, start = ne.Uint64(hdr[pageHeaderSize:]), pageHeaderSize+8
	}
	span := (uint64(ne.Uint32(hdr[12:])) + 1) * uint64(pageSize)
	if m.freelist+span/uint64(pageSize) > m.hwm || uint64(start)+count*8 > span {
		return damaged("freelist page %d overruns its pages", m.freelist)
	}
	ids := make([]byte, count*8)
	if _, err := f.ReadAt(ids, int64(m.freelist)*pageSize+start); err != nil {
		return damaged("reading freelist page %d: %v", m.freelist, err)
	}
	for i := 0; i < len(ids); i += 8 {
		if id := ne.Uint64(ids[i:]); id < 2 || id >= m.hwm {
			return damaged("freelist page %d lists page %d, outside the file's %d pages", m.freelist, id, m.hwm)
		}
	}
	return nil
}

// guard runs fn, turning a panic or a memory fault inside it into a
// *CorruptError. bbolt trusts the pages it maps: a damaged page makes it
// panic ("invalid page type", an index out of range) or touch memory past
// the end of the file.
//
// Recovering is sound only where nothing has been written: guard wraps
// bbolt's open and read transactions (which never write), and write
// transactions only after checkAll found the file whole. bbolt writes the
// file only in Commit, after fn returned; a panic in fn unwinds through
// Update's deferred rollback, so the file is as it was.
func guard(path string, fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = &CorruptError{Path: path, Detail: fmt.Sprintf("bbolt: %v", r)}
		}
	}()
	return fn()
}

// checkAll reads every page reachable from the root, in this goroutine (so
// that guard can catch what bbolt does with a damaged one), then runs
// bbolt's own consistency check (which runs in a goroutine of its own and
// must therefore only see pages already read here): no page referenced
// twice, none both used and free, none lost, keys in order. Its cost grows
// with the file; airlock's databases are small (TUF metadata, checkpoints,
// audit records).
func (db *DB) checkAll() error {
	return db.guardedView(func(tx *bolt.Tx) error {
		var walk func(b *bolt.Bucket) error
		walk = func(b *bolt.Bucket) error {
			b.Stats()
			return b.ForEach(func(k, v []byte) error {
				if v != nil {
					return nil
				}
				child := b.Bucket(k)
				if child == nil {
					return fmt.Errorf("key %q is neither a value nor a bucket", k)
				}
				return walk(child)
			})
		}
		err := tx.ForEach(func(name []byte, b *bolt.Bucket) error { return walk(b) })
		if err != nil {
			return &CorruptError{Path: db.path, Detail: err.Error()}
		}
		var first error
		for err := range tx.Check(bolt.WithKVStringer(shortKV{})) { // drained whole: Check's goroutine blocks on each send
			if first == nil {
				first = err
			}
		}
		if first != nil {
			return &CorruptError{Path: db.path, Detail: "bbolt check: " + first.Error()}
		}
		return nil
	})
}

// guardedView is view under guard.
func (db *DB) guardedView(fn func(*bolt.Tx) error) error {
	return guard(db.path, func() error { return db.bolt.View(fn) })
}

// shortKV keeps bbolt's check messages to one readable line: a key or
// value is shown by its length and first bytes.
type shortKV struct{}

func (shortKV) KeyToString(b []byte) string   { return short(b) }
func (shortKV) ValueToString(b []byte) string { return short(b) }

func short(b []byte) string {
	if len(b) <= 8 {
		return fmt.Sprintf("%x", b)
	}
	return fmt.Sprintf("%x... (%d bytes)", b[:8], len(b))
}
