package tlog

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"runtime"
	"sync"
	"time"

	sumdb "golang.org/x/mod/sumdb/tlog"
)

// HashSize is the size of a Merkle tree hash (SHA-256).
const HashSize = sumdb.HashSize

// Hash is a Merkle tree hash, as RFC 6962 and golang.org/x/mod/sumdb/tlog
// compute it: a leaf is SHA-256(0x00 || entry body), an interior node
// SHA-256(0x01 || left || right).
type Hash = sumdb.Hash

// SchemaVersion is the version of the log's stored records (metadata,
// entry records). Open refuses a log written with a newer one.
const SchemaVersion = 1

// MaxBatch bounds the entries of one Prepare.
const MaxBatch = 1 << 20

// ErrWriteConflict is returned by Append when the log is no longer the
// size its batch was prepared for: another writer appended first. Nothing
// was written; prepare the batch again.
var ErrWriteConflict = errors.New("site log changed since the batch was prepared")

// ErrNoLog is returned by Open when the store holds no log.
var ErrNoLog = errors.New("no site log")

// ErrLogExists is returned by Create when the store already holds a log.
var ErrLogExists = errors.New("a site log already exists")

// ErrKeyMismatch is returned when a signer's public key is not the log's.
var ErrKeyMismatch = errors.New("key is not the site log's key")

// ErrTimeRollback is returned by Prepare for an integrated time earlier
// than the log's creation or its last entry's: the clock went back.
var ErrTimeRollback = errors.New("integrated time is earlier than the site log's latest")

// ErrCorrupt is returned when the stored log contradicts itself (a root
// hash that is not the one its checkpoint signs, a missing hash or entry).
var ErrCorrupt = errors.New("site log store is inconsistent")

// Store holds one site log. Every value is opaque to the store except the
// indexes: entry records are numbered 0, 1, ...; hashes by
// golang.org/x/mod/sumdb/tlog's stored hash index. Package cache
// implements it in the bbolt database.
//
// Entries and hashes are never changed once written, so reads need no
// common transaction: a reader that got the head first only asks for
// what that head covers.
type Store interface {
	// ReadLogHead returns the log's metadata record and its latest
	// signed checkpoint, both nil when no log was created.
	ReadLogHead(ctx context.Context) (meta, checkpoint []byte, err error)
	// ReadHashes returns the hashes stored at indexes, in order. An index
	// that holds no hash is an error.
	ReadHashes(ctx context.Context, indexes []int64) ([][]byte, error)
	// ReadRecord returns the entry record at index, or an error if there
	// is none.
	ReadRecord(ctx context.Context, index int64) ([]byte, error)
	// ReadCheckpointAt returns the signed checkpoint the log wrote for
	// tree size size, nil if it wrote none (sizes inside a batch).
	ReadCheckpointAt(ctx context.Context, size int64) ([]byte, error)
	// CreateLog stores a new log's metadata and its first checkpoint (of
	// size 0). If a log exists it writes nothing and returns an error.
	CreateLog(ctx context.Context, meta, checkpoint []byte) error
	// AppendLog commits, in one transaction: records at indexes size,
	// size+1, ...; hashes at stored hash indexes firstHash, firstHash+1,
	// ...; checkpoint as the latest checkpoint and as the one of the new
	// size (size+len(records)). If the latest checkpoint is not prev (the
	// one the batch extends: another writer appended, or the log key was
	// rotated), the log's size is not size, or the next stored hash index
	// is not firstHash, it writes nothing and returns an error;
	// Log.Append then reports ErrWriteConflict if the head moved. An
	// implementation may return an error that wraps ErrWriteConflict
	// itself.
	AppendLog(ctx context.Context, prev []byte, size int64, records [][]byte, firstHash int64, hashes [][]byte, checkpoint []byte) error
	// RotateLogKey replaces, in one transaction, the log's metadata with
	// meta and its latest checkpoint with checkpoint (of the same size,
	// signed by the new key), if the latest checkpoint is still prev;
	// otherwise it writes nothing and returns an error (Log.RotateKey
	// then reports ErrWriteConflict). Entries, hashes and the checkpoints
	// stored by size are left as they are.
	RotateLogKey(ctx context.Context, prev, meta, checkpoint []byte) error
}

// ReadHolder is a Store that can serve a run of reads from one opening of
// what backs it. Log.Prepare reads the head, the last entry and the
// hashes its batch needs between HoldReads and release (and Find and the
// proofs read so too), so that a store that opens (and checks) a
// database file for each read opens it once.
type ReadHolder interface {
	// HoldReads keeps the store open for the reads that follow, until
	// release (which may be called more than once). The caller writes
	// nothing before release: a store may refuse writes meanwhile.
	HoldReads(ctx context.Context) (release func(), err error)
}

// Meta is a log's identity, fixed at Create.
type Meta struct {
	Schema int `json:"schema"`
	// Origin names the log in checkpoints (a host name).
	Origin string `json:"origin"`
	// TreeID is the "<tree id>" of Rekor v1 style checkpoints.
	TreeID int64 `json:"treeID"`
	// PublicKey is the log key, PKIX DER.
	PublicKey []byte    `json:"publicKey"`
	Created   time.Time `json:"created"`
	// KeySince is when PublicKey began signing; zero means Created (a
	// log whose key was never rotated).
	KeySince time.Time `json:"keySince,omitzero"`
	// RetiredKeys are the log's earlier keys, oldest first, each with
	// the window in which it signed, so that verifiers keep accepting
	// entries and checkpoints they signed (log rotate-key adds to it).
	RetiredKeys []KeyPeriod `json:"retiredKeys,omitempty"`
}

// KeyPeriod is a log key (PKIX DER) and the window in which it signed:
// entries whose integrated time is in [From, To] (To zero: still
// signing). A retired key also records where its part of the tree ends
// and the handover it signed.
type KeyPeriod struct {
	PublicKey []byte    `json:"publicKey"`
	From      time.Time `json:"from"`
	To        time.Time `json:"to"`
	// Size is the tree size when the key was retired: it signed the
	// entries below Size and the checkpoints of sizes up to Size (zero for
	// the current key).
	Size int64 `json:"size,omitempty"`
	// Handover is the signed note in which the key, as it was retired,
	// named its successor (see Handover); nil for the current key.
	Handover []byte `json:"handover,omitempty"`
}

// Keys lists every key of the log with its window, oldest first: the
// retired keys, then the current one (To zero: still signing).
func (m Meta) Keys() []KeyPeriod {
	keys := append([]KeyPeriod{}, m.RetiredKeys...)
	since := m.KeySince
	if since.IsZero() {
		since = m.Created
	}
	return append(keys, KeyPeriod{PublicKey: m.PublicKey, From: since})
}

// Config configures Create. Origin is required; a zero TreeID picks a
// random positive one.
type Config struct {
	Origin string
	TreeID int64
}

// Log is a site transparency log over a Store. Its methods are safe for
// concurrent use; writers from several processes are serialized by
// Append's compare-and-swap.
type Log struct {
	store Store

	mu   sync.Mutex
	st   *logState         // the metadata as last read; replaced when the log follows a rotation
	head *SignedCheckpoint // the last head verified, to skip re-verifying
}

// logState is the log's metadata with its keys parsed. It is never
// changed once made: a rotation replaces it whole.
type logState struct {
	raw     []byte // the stored metadata record
	meta    Meta
	key     *LogKey // the current key
	history []keyRange
}

// keyRange is one key of the log and the part of the tree it signed:
// entries first..end-1 and checkpoints of sizes first..end (end -1: the
// current key, open-ended).
type keyRange struct {
	key        *LogKey
	first, end int64
}

func (l *Log) state() *logState {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.st
}

// Create starts a new empty log signed by signer (an ECDSA P-256 key) and
// stores it with its signed checkpoint of size 0.
func Create(ctx context.Context, store Store, cfg Config, signer crypto.Signer, now time.Time) (*Log, error) {
	if err := CheckOrigin(cfg.Origin); err != nil {
		return nil, err
	}
	key, err := NewLogKey(signer.Public())
	if err != nil {
		return nil, err
	}
	if meta, _, err := store.ReadLogHead(ctx); err != nil {
		return nil, err
	} else if meta != nil {
		return nil, ErrLogExists
	}
	tree := cfg.TreeID
	if tree < 0 {
		return nil, errors.New("log tree id must not be negative")
	}
	if tree == 0 {
		if tree, err = NewTreeID(); err != nil {
			return nil, err
		}
	}
	st, err := newState(Meta{Schema: SchemaVersion, Origin: cfg.Origin, TreeID: tree, PublicKey: key.DER, Created: now.UTC()})
	if err != nil {
		return nil, err
	}
	metaJSON, err := json.Marshal(st.meta)
	if err != nil {
		return nil, err
	}
	st.raw = metaJSON
	l := &Log{store: store, st: st}
	empty, err := sumdb.TreeHash(0, nil)
	if err != nil {
		return nil, err
	}
	cp, err := SignCheckpoint(st.checkpoint(0, empty), key, signer)
	if err != nil {
		return nil, err
	}
	if err := store.CreateLog(ctx, metaJSON, cp); err != nil {
		if meta, _, herr := store.ReadLogHead(ctx); herr == nil && meta != nil {
			return nil, fmt.Errorf("%w (created by another process meanwhile)", ErrLogExists)
		}
		return nil, fmt.Errorf("creating site log: %w", err)
	}
	return l, nil
}

// NewTreeID returns a random positive tree id, as Create picks when
// Config.TreeID is zero.
func NewTreeID() (int64, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return 0, err
	}
	return n.Int64() + 1, nil
}

// Open loads the log held by store and checks its latest checkpoint's
// signature with the stored key. It does not pin the key: compare
// PublicKey with the one the site published to detect a replaced store.
func Open(ctx context.Context, store Store) (*Log, error) {
	metaJSON, cp, err := store.ReadLogHead(ctx)
	if err != nil {
		return nil, err
	}
	if metaJSON == nil {
		return nil, ErrNoLog
	}
	st, err := parseState(metaJSON)
	if err != nil {
		return nil, err
	}
	l := &Log{store: store, st: st}
	if _, err := l.openHead(st, cp); err != nil {
		return nil, err
	}
	return l, nil
}

// parseState decodes a stored metadata record and checks its key history
// (checkHistory).
func parseState(metaJSON []byte) (*logState, error) {
	var m Meta
	if err := json.Unmarshal(metaJSON, &m); err != nil {
		return nil, fmt.Errorf("%w: metadata: %v", ErrCorrupt, err)
	}
	if m.Schema > SchemaVersion || m.Schema < 1 {
		return nil, fmt.Errorf("site log has schema %d, this airlock understands up to %d", m.Schema, SchemaVersion)
	}
	st, err := newState(m)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	st.raw = bytes.Clone(metaJSON)
	return st, nil
}

func newState(m Meta) (*logState, error) {
	key, err := ParseLogKey(m.PublicKey)
	if err != nil {
		return nil, err
	}
	history, err := checkHistory(m, key)
	if err != nil {
		return nil, err
	}
	return &logState{meta: m, key: key, history: history}, nil
}

// Meta returns the log's identity and keys, as last read: a Log follows
// a rotation made by another process when it next reads the head.
func (l *Log) Meta() Meta { return l.state().meta }

// Key returns the current log key.
func (l *Log) Key() *LogKey { return l.state().key }

func (st *logState) checkpoint(size int64, root Hash) Checkpoint {
	return Checkpoint{Origin: st.meta.Origin, TreeID: st.meta.TreeID, Size: size, Hash: root}
}

// openHead checks cp, the latest checkpoint read with st's metadata,
// against st's current key. A Log opened before a rotation meets a head
// signed by a key it does not know: it reads the metadata again and
// follows the rotation only through handovers its own key signed
// (followRotation).
func (l *Log) openHead(st *logState, cp []byte) (*SignedCheckpoint, error) {
	l.mu.Lock()
	last := l.head
	l.mu.Unlock()
	if last != nil && bytes.Equal(last.Note, cp) {
		return &SignedCheckpoint{Checkpoint: last.Checkpoint, Note: cp}, nil
	}
	c, err := OpenCheckpoint(cp, st.meta.Origin, st.key)
	if err != nil {
		return nil, fmt.Errorf("%w: latest checkpoint: %v", ErrCorrupt, err)
	}
	if c.TreeID != st.meta.TreeID {
		return nil, fmt.Errorf("%w: latest checkpoint is of tree %d, the log's is %d", ErrCorrupt, c.TreeID, st.meta.TreeID)
	}
	l.mu.Lock()
	l.head = &SignedCheckpoint{Checkpoint: c, Note: bytes.Clone(cp)}
	l.mu.Unlock()
	return &SignedCheckpoint{Checkpoint: c, Note: cp}, nil
}

// SignedCheckpoint is a checkpoint with its signed note.
type SignedCheckpoint struct {
	Checkpoint
	Note []byte
}

// Checkpoint returns the latest signed checkpoint.
func (l *Log) Checkpoint(ctx context.Context) (*SignedCheckpoint, error) {
	sc, _, err := l.checkpointState(ctx)
	return sc, err
}

// checkpointState returns the latest signed checkpoint and the metadata
// it was checked with.
func (l *Log) checkpointState(ctx context.Context) (*SignedCheckpoint, *logState, error) {
	metaJSON, cp, err := l.store.ReadLogHead(ctx)
	if err != nil {
		return nil, nil, err
	}
	st := l.state()
	if metaJSON == nil {
		return nil, nil, fmt.Errorf("%w: the site log is gone from its store", ErrCorrupt)
	}
	if !bytes.Equal(metaJSON, st.raw) {
		if st, err = l.followRotation(st, metaJSON); err != nil {
			return nil, nil, err
		}
	}
	sc, err := l.openHead(st, cp)
	return sc, st, err
}

// CheckpointAt returns the checkpoint the log signed when it was size
// entries long, or nil if it signed none at that size (a size inside a
// batch).
func (l *Log) CheckpointAt(ctx context.Context, size int64) (*SignedCheckpoint, error) {
	_, st, err := l.checkpointState(ctx) // the keys as the store has them now
	if err != nil {
		return nil, err
	}
	cp, err := l.store.ReadCheckpointAt(ctx, size)
	if err != nil || cp == nil {
		return nil, err
	}
	c, err := st.openCheckpoint(cp)
	if err != nil {
		return nil, fmt.Errorf("%w: checkpoint of size %d: %v", ErrCorrupt, size, err)
	}
	sc := &SignedCheckpoint{Checkpoint: c, Note: cp}
	if sc.Size != size {
		return nil, fmt.Errorf("%w: checkpoint stored for size %d is of size %d", ErrCorrupt, size, sc.Size)
	}
	return sc, nil
}

// Entry is one logged entry.
type Entry struct {
	Index int64
	// Body is the canonicalized entry body (the Merkle leaf).
	Body []byte
	// IntegratedTime is when the log accepted it, in Unix seconds.
	IntegratedTime int64
	// SET is the signed entry timestamp (ASN.1 ECDSA).
	SET []byte
}

// InclusionProof proves an entry is in the tree of TreeSize entries whose
// root is RootHash. Hashes run from the leaf up, as RFC 6962 (and
// transparency-dev/merkle, and the bundle's inclusionProof) order them.
type InclusionProof struct {
	Index    int64
	TreeSize int64
	RootHash Hash
	Hashes   []Hash
}

// Batch is a set of entries prepared for one append: indexes, SETs,
// inclusion proofs against the new tree and its signed checkpoint, all
// computed and signed before any write. Nothing of it is logged until
// Append succeeds.
type Batch struct {
	// Size is the log size the batch was prepared for.
	Size       int64
	Entries    []Entry
	Proofs     []InclusionProof
	Checkpoint SignedCheckpoint

	prev      []byte // the head the batch extends
	logID     [32]byte
	firstHash int64
	hashes    [][]byte
	records   [][]byte
}

// Prepare computes the append of bodies (canonicalized entry bodies, made
// with HashedRekordBody or DSSEBody) to the log as it is now: each
// entry's index, its SET for integratedTime, its inclusion proof against
// the new tree and the new tree's signed checkpoint. signer must be the
// log key. No transaction is held while it signs; Append then commits the
// batch if nobody appended in between.
func (l *Log) Prepare(ctx context.Context, bodies [][]byte, integratedTime time.Time, signer crypto.Signer) (*Batch, error) {
	t := integratedTime.Unix()
	// prepare checks signer against the key as the store has it now (this
	// Log may predate a rotation) and hands that key here.
	return l.prepare(ctx, bodies, t, func(key *LogKey, body []byte, index int64) ([]byte, error) {
		set, err := SignSET(signer, body, t, key.ID, index)
		if err != nil {
			return nil, err
		}
		// A damaged SET would make verifiers skip the entry: check
		// before anything is written.
		return set, VerifySET(key, set, body, t, index)
	}, signer)
}

func checkSigner(key *LogKey, signer crypto.Signer) error {
	pub, ok := signer.Public().(*ecdsa.PublicKey)
	if !ok || !pub.Equal(key.Public) {
		return ErrKeyMismatch
	}
	return nil
}

// prepare is Prepare with the SET signing as a parameter, so that
// benchmarks can fill a large log quickly.
func (l *Log) prepare(ctx context.Context, bodies [][]byte, integrated int64, sign func(key *LogKey, body []byte, index int64) ([]byte, error), signer crypto.Signer) (*Batch, error) {
	if len(bodies) == 0 {
		return nil, errors.New("nothing to log")
	}
	if len(bodies) > MaxBatch {
		return nil, fmt.Errorf("%d entries in one batch, at most %d", len(bodies), MaxBatch)
	}
	if integrated <= 0 {
		return nil, errors.New("integrated time is before 1970")
	}
	release, err := l.holdReads(ctx)
	if err != nil {
		return nil, err
	}
	b, st, err := l.layout(ctx, bodies, integrated, signer)
	release()
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	note, err := SignCheckpoint(b.Checkpoint.Checkpoint, st.key, signer)
	if err != nil {
		return nil, err
	}
	b.Checkpoint.Note = note
	if err := l.signSETs(ctx, b.Entries, func(body []byte, index int64) ([]byte, error) { return sign(st.key, body, index) }); err != nil {
		return nil, err
	}
	b.records = make([][]byte, len(b.Entries))
	for i, e := range b.Entries {
		b.records[i] = encodeRecord(e)
	}
	return b, nil
}

// holdReads holds the store's reads if it can (ReadHolder).
func (l *Log) holdReads(ctx context.Context) (release func(), err error) {
	if h, ok := l.store.(ReadHolder); ok {
		return h.HoldReads(ctx)
	}
	return func() {}, nil
}

// layout reads what the batch of bodies builds on and lays it out: the
// entries' indexes, the new hashes, the proofs and the new checkpoint
// (not yet signed), and the key state it is to be signed under. It only
// reads the store.
func (l *Log) layout(ctx context.Context, bodies [][]byte, integrated int64, signer crypto.Signer) (*Batch, *logState, error) {
	head, st, err := l.checkpointState(ctx)
	if err != nil {
		return nil, nil, err
	}
	// The key may have been rotated since the caller looked.
	if err := checkSigner(st.key, signer); err != nil {
		return nil, nil, err
	}
	size := head.Size
	// Integrated times never go back: verifiers order entries by them,
	// and a trusted root's validFor starts at the log's creation (or the
	// current key's at its rotation).
	latest := st.keySince().Unix()
	if size > 0 {
		last, err := l.Entry(ctx, size-1)
		if err != nil {
			return nil, nil, err
		}
		latest = max(latest, last.IntegratedTime)
	}
	if integrated < latest {
		return nil, nil, fmt.Errorf("%w: %s, the log has %s", ErrTimeRollback, time.Unix(integrated, 0).UTC().Format(time.RFC3339), time.Unix(latest, 0).UTC().Format(time.RFC3339))
	}
	r := &overlay{ctx: ctx, store: l.store, known: map[int64]Hash{}}
	// The stored root must be the one the checkpoint signs, or the new
	// tree would extend something no one has seen.
	if root, err := sumdb.TreeHash(size, r); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	} else if root != head.Hash {
		return nil, nil, fmt.Errorf("%w: stored hashes give root %x for size %d, the checkpoint signs %x", ErrCorrupt, root[:], size, head.Hash[:])
	}
	b := &Batch{Size: size, prev: bytes.Clone(head.Note), logID: st.key.ID, firstHash: sumdb.StoredHashCount(size)}
	next := b.firstHash
	for i, body := range bodies {
		if len(body) == 0 {
			return nil, nil, fmt.Errorf("entry %d of the batch is empty", i)
		}
		hs, err := sumdb.StoredHashesForRecordHash(size+int64(i), sumdb.RecordHash(body), r)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		for _, h := range hs {
			r.known[next] = h
			b.hashes = append(b.hashes, h[:])
			next++
		}
	}
	newSize := size + int64(len(bodies))
	root, err := sumdb.TreeHash(newSize, r)
	if err != nil {
		return nil, nil, err
	}
	b.Entries = make([]Entry, len(bodies))
	b.Proofs = make([]InclusionProof, len(bodies))
	for i, body := range bodies {
		idx := size + int64(i)
		p, err := sumdb.ProveRecord(newSize, idx, r)
		if err != nil {
			return nil, nil, err
		}
		b.Entries[i] = Entry{Index: idx, Body: body, IntegratedTime: integrated}
		b.Proofs[i] = InclusionProof{Index: idx, TreeSize: newSize, RootHash: root, Hashes: p}
	}
	b.Checkpoint = SignedCheckpoint{Checkpoint: st.checkpoint(newSize, root)}
	return b, st, nil
}

// signSETs signs the entries' timestamps on a few goroutines:
// a token with a session pool signs in parallel.
func (l *Log) signSETs(ctx context.Context, entries []Entry, sign func([]byte, int64) ([]byte, error)) error {
	workers := min(runtime.GOMAXPROCS(0), len(entries), 8)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		next int
		fail error
	)
	for range workers {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				stop := fail != nil || i >= len(entries)
				mu.Unlock()
				if stop {
					return
				}
				e := &entries[i]
				err := ctx.Err()
				if err == nil {
					e.SET, err = sign(e.Body, e.Index)
				}
				if err != nil {
					mu.Lock()
					fail = cmpErr(fail, err)
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return fail
}

func cmpErr(old, err error) error {
	if old != nil {
		return old
	}
	return err
}

// Append commits a prepared batch: its entries, the new hashes and the
// checkpoint, in one store transaction. If another append or a key
// rotation came first it returns an error wrapping ErrWriteConflict and
// the log is unchanged.
func (l *Log) Append(ctx context.Context, b *Batch) error {
	err := l.store.AppendLog(ctx, b.prev, b.Size, b.records, b.firstHash, b.hashes, b.Checkpoint.Note)
	if err == nil || errors.Is(err, ErrWriteConflict) {
		return err
	}
	// The store's own conflict error need not be ours: the head says.
	if _, cp, herr := l.store.ReadLogHead(ctx); herr == nil && !bytes.Equal(cp, b.prev) {
		if c, _, perr := ParseCheckpoint(cp); perr == nil && c.Size == b.Size {
			return fmt.Errorf("%w: the log key was rotated after the batch was prepared", ErrWriteConflict)
		} else if perr == nil {
			return fmt.Errorf("%w: prepared for size %d, the log is now %d", ErrWriteConflict, b.Size, c.Size)
		}
		return fmt.Errorf("%w: the latest checkpoint is not the one the batch extends", ErrWriteConflict)
	}
	return err
}

// LeafFinder is a Store that also finds an entry by its leaf hash.
type LeafFinder interface {
	// FindLeaf returns the index of the first entry whose RFC 6962 leaf
	// hash is leafHash; ok is false if there is none.
	FindLeaf(ctx context.Context, leafHash []byte) (index int64, ok bool, err error)
}

// ErrNotFound is returned by Find when no entry has the body.
var ErrNotFound = errors.New("no entry in the log")

// Find returns the entry whose canonicalized body is body, checked
// against the record stored at its index. The store must be a LeafFinder.
func (l *Log) Find(ctx context.Context, body []byte) (*Entry, error) {
	lf, ok := l.store.(LeafFinder)
	if !ok {
		return nil, errors.New("the log's store cannot find entries by leaf hash")
	}
	release, err := l.holdReads(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	leaf := sumdb.RecordHash(body)
	index, found, err := lf.FindLeaf(ctx, leaf[:])
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, ErrNotFound
	}
	e, err := l.Entry(ctx, index)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(e.Body, body) {
		return nil, fmt.Errorf("%w: the leaf index names entry %d, which holds another body", ErrCorrupt, index)
	}
	return e, nil
}

// Entry returns the entry at index.
func (l *Log) Entry(ctx context.Context, index int64) (*Entry, error) {
	rec, err := l.store.ReadRecord(ctx, index)
	if err != nil {
		return nil, err
	}
	e, err := decodeRecord(rec)
	if err != nil {
		return nil, fmt.Errorf("%w: entry %d: %v", ErrCorrupt, index, err)
	}
	e.Index = index
	return e, nil
}

// InclusionProof proves entry index is in the tree of size entries (zero:
// the latest checkpoint's size).
func (l *Log) InclusionProof(ctx context.Context, index, size int64) (*InclusionProof, error) {
	release, err := l.holdReads(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	head, err := l.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	if size == 0 {
		size = head.Size
	}
	if size > head.Size || index < 0 || index >= size {
		return nil, fmt.Errorf("no entry %d in a tree of size %d (the log has %d entries)", index, size, head.Size)
	}
	r := &overlay{ctx: ctx, store: l.store}
	p, err := sumdb.ProveRecord(size, index, r)
	if err != nil {
		return nil, err
	}
	root := head.Hash
	if size != head.Size {
		if root, err = sumdb.TreeHash(size, r); err != nil {
			return nil, err
		}
	}
	// A damaged store must not hand out a proof that fails later, far
	// from here: check it against the entry.
	rec, err := l.store.ReadRecord(ctx, index)
	if err != nil {
		return nil, err
	}
	e, err := decodeRecord(rec)
	if err != nil {
		return nil, fmt.Errorf("%w: entry %d: %v", ErrCorrupt, index, err)
	}
	if err := sumdb.CheckRecord(p, size, root, index, sumdb.RecordHash(e.Body)); err != nil {
		return nil, fmt.Errorf("%w: proof of entry %d in tree %d: %v", ErrCorrupt, index, size, err)
	}
	return &InclusionProof{Index: index, TreeSize: size, RootHash: root, Hashes: p}, nil
}

// ConsistencyProof proves the tree of size from is a prefix of the tree of
// size to (zero: the latest checkpoint's size), RFC 6962 style.
func (l *Log) ConsistencyProof(ctx context.Context, from, to int64) ([]Hash, error) {
	release, err := l.holdReads(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	head, err := l.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	if to == 0 {
		to = head.Size
	}
	if from < 0 || from > to || to > head.Size {
		return nil, fmt.Errorf("no consistency proof from size %d to %d (the log has %d entries)", from, to, head.Size)
	}
	if from == 0 || from == to {
		return nil, nil
	}
	return sumdb.ProveTree(to, from, &overlay{ctx: ctx, store: l.store})
}

// RootHash returns the root hash of the tree of size entries.
func (l *Log) RootHash(ctx context.Context, size int64) (Hash, error) {
	release, err := l.holdReads(ctx)
	if err != nil {
		return Hash{}, err
	}
	defer release()
	head, err := l.Checkpoint(ctx)
	if err != nil {
		return Hash{}, err
	}
	if size < 0 || size > head.Size {
		return Hash{}, fmt.Errorf("no tree of size %d (the log has %d entries)", size, head.Size)
	}
	return sumdb.TreeHash(size, &overlay{ctx: ctx, store: l.store})
}

// overlay reads stored hashes, serving those a batch computes (and those
// already read) from memory.
type overlay struct {
	ctx   context.Context
	store Store
	known map[int64]Hash
}

func (o *overlay) ReadHashes(indexes []int64) ([]Hash, error) {
	out := make([]Hash, len(indexes))
	var missing []int64
	for _, x := range indexes {
		if _, ok := o.known[x]; !ok {
			missing = append(missing, x)
		}
	}
	if len(missing) > 0 {
		got, err := o.store.ReadHashes(o.ctx, missing)
		if err != nil {
			return nil, err
		}
		if len(got) != len(missing) {
			return nil, fmt.Errorf("%w: asked for %d hashes, got %d", ErrCorrupt, len(missing), len(got))
		}
		if o.known == nil {
			o.known = make(map[int64]Hash, len(missing))
		}
		for i, h := range got {
			if len(h) != HashSize {
				return nil, fmt.Errorf("%w: stored hash %d is %d bytes", ErrCorrupt, missing[i], len(h))
			}
			o.known[missing[i]] = Hash(h)
		}
	}
	for i, x := range indexes {
		out[i] = o.known[x]
	}
	return out, nil
}

// An entry record is a version byte (1), the integrated time and the SET's
// length as unsigned varints, the SET, then the body.
const recordVersion = 1

func encodeRecord(e Entry) []byte {
	b := make([]byte, 0, 1+2*binary.MaxVarintLen64+len(e.SET)+len(e.Body))
	b = append(b, recordVersion)
	b = binary.AppendUvarint(b, uint64(e.IntegratedTime))
	b = binary.AppendUvarint(b, uint64(len(e.SET)))
	b = append(b, e.SET...)
	return append(b, e.Body...)
}

func decodeRecord(rec []byte) (*Entry, error) {
	if len(rec) == 0 || rec[0] != recordVersion {
		return nil, errors.New("unknown record version")
	}
	rest := rec[1:]
	// Varints must be minimal: one record, one encoding.
	t, n := binary.Uvarint(rest)
	if n <= 0 || t > 1<<62 || n != len(binary.AppendUvarint(nil, t)) {
		return nil, errors.New("bad integrated time")
	}
	rest = rest[n:]
	l, n := binary.Uvarint(rest)
	if n <= 0 || l > uint64(len(rest)-n) || n != len(binary.AppendUvarint(nil, l)) {
		return nil, errors.New("bad SET length")
	}
	rest = rest[n:]
	e := &Entry{IntegratedTime: int64(t), SET: append([]byte(nil), rest[:l]...), Body: append([]byte(nil), rest[l:]...)}
	if len(e.Body) == 0 {
		return nil, errors.New("empty body")
	}
	return e, nil
}
