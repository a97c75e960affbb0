package tlog

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Key rotation. RotateKey retires the log's key at a whole second T and
// makes a new key sign from T on: one store transaction replaces the
// metadata (the old key joins RetiredKeys with its window, its part of the
// tree and its handover) and the latest checkpoint (the same tree, signed
// by the new key). The log's origin, tree id, entries and hashes stay.
//
// The handover is a signed note by the retiring key naming its successor,
// so that whoever holds only the old public key can follow the rotation:
//
//	<origin>/key-rotation
//	tree <tree id>
//	size <tree size at the rotation>
//	root <base64 root hash at that size>
//	time <T, RFC 3339 UTC, whole seconds>
//	old <hex log ID of the retiring key>
//	new <hex log ID of the new key>
//	key <base64 PKIX DER of the new key>
//
//	— <origin> <base64(old key hint || ASN.1 ECDSA signature over SHA-256 of the text)>
//
// Its first line has no " - " and its second line is not a number, so no
// checkpoint parser takes it for a checkpoint, and no checkpoint text is a
// handover text.

// ErrKeyReused is returned by RotateKey for a new key that is the log's
// current key or one it retired: a log ID names one window.
var ErrKeyReused = errors.New("the new log key is the site log's current key or one it retired")

// HandoverSuffix ends the origin line of a handover note.
const HandoverSuffix = "/key-rotation"

// Handover is a key rotation as the retiring key signed it.
type Handover struct {
	Origin string
	TreeID int64
	// Size and Root are the tree when the key was retired: the last
	// checkpoint the old key signs is of Size, and the new key's
	// checkpoints extend it.
	Size int64
	Root Hash
	// Time is T: the old key signed entries integrated up to T, the new
	// key signs from T on.
	Time time.Time
	// Old is the retiring key's log ID; New the key that signs from Time.
	Old [32]byte
	New *LogKey
}

// Text returns the note text the retiring key signs.
func (h Handover) Text() []byte {
	return fmt.Appendf(nil, "%s%s\ntree %d\nsize %d\nroot %s\ntime %s\nold %s\nnew %s\nkey %s\n",
		h.Origin, HandoverSuffix, h.TreeID, h.Size, base64.StdEncoding.EncodeToString(h.Root[:]),
		h.Time.UTC().Format(time.RFC3339), hex.EncodeToString(h.Old[:]), hex.EncodeToString(h.New.ID[:]),
		base64.StdEncoding.EncodeToString(h.New.DER))
}

// SignHandover returns the signed note of h, signed by old (whose ID must
// be h.Old) under the name h.Origin, and checks the signature.
func SignHandover(h Handover, old *LogKey, signer crypto.Signer) ([]byte, error) {
	if err := CheckOrigin(h.Origin); err != nil {
		return nil, err
	}
	if h.New == nil || h.Old != old.ID || h.TreeID < 0 || h.Size < 0 || h.Time.Unix() <= 0 || !h.Time.Equal(h.Time.Truncate(time.Second)) {
		return nil, errors.New("handover: want the retiring key's ID, a new key, a whole-second time after 1970 and non-negative numbers")
	}
	return signNote(h.Text(), h.Origin, "key handover", old, signer)
}

// ErrMalformedHandover is returned for text that is not a handover note.
var ErrMalformedHandover = errors.New("malformed key handover")

// ParseHandover parses a handover note without checking its signature
// (use VerifyHandover for anything trusted). It reads at most
// MaxCheckpointSize bytes and accepts only the canonical text: one
// handover, one encoding.
func ParseHandover(signed []byte) (*Handover, []NoteSignature, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrMalformedHandover, fmt.Sprintf(format, args...))
	}
	if len(signed) > MaxCheckpointSize {
		return nil, nil, bad("longer than %d bytes", MaxCheckpointSize)
	}
	if !utf8.Valid(signed) {
		return nil, nil, bad("not UTF-8")
	}
	text, sigBlock, ok := bytes.Cut(signed, []byte("\n\n"))
	if !ok {
		return nil, nil, bad("no blank line before the signatures")
	}
	lines := strings.Split(string(text), "\n")
	labels := []string{"", "tree", "size", "root", "time", "old", "new", "key"}
	if len(lines) != len(labels) {
		return nil, nil, bad("want %d lines of text, have %d", len(labels), len(lines))
	}
	origin, ok := strings.CutSuffix(lines[0], HandoverSuffix)
	if !ok {
		return nil, nil, bad("first line %q does not end in %q", lines[0], HandoverSuffix)
	}
	if err := CheckOrigin(origin); err != nil {
		return nil, nil, bad("%v", err)
	}
	val := make([]string, len(labels))
	for i := 1; i < len(labels); i++ {
		v, ok := strings.CutPrefix(lines[i], labels[i]+" ")
		if !ok {
			return nil, nil, bad("line %d is not %q", i+1, labels[i]+" ...")
		}
		val[i] = v
	}
	h := &Handover{Origin: origin}
	var err error
	if h.TreeID, err = parseDecimal(val[1]); err != nil {
		return nil, nil, bad("tree id %q", val[1])
	}
	if h.Size, err = parseDecimal(val[2]); err != nil {
		return nil, nil, bad("tree size %q", val[2])
	}
	if r, err := base64.StdEncoding.Strict().DecodeString(val[3]); err != nil || len(r) != HashSize {
		return nil, nil, bad("root hash %q is not base64 of %d bytes", val[3], HashSize)
	} else {
		copy(h.Root[:], r)
	}
	if h.Time, err = time.Parse(time.RFC3339, val[4]); err != nil || h.Time.UTC().Format(time.RFC3339) != val[4] || h.Time.Unix() <= 0 {
		return nil, nil, bad("time %q is not RFC 3339 UTC whole seconds after 1970", val[4])
	}
	h.Time = h.Time.UTC()
	if o, err := hex.DecodeString(val[5]); err != nil || len(o) != 32 || hex.EncodeToString(o) != val[5] {
		return nil, nil, bad("old key ID %q is not 64 lower-case hex digits", val[5])
	} else {
		copy(h.Old[:], o)
	}
	der, err := base64.StdEncoding.Strict().DecodeString(val[7])
	if err != nil {
		return nil, nil, bad("new key is not base64")
	}
	if h.New, err = ParseLogKey(der); err != nil {
		return nil, nil, bad("new key: %v", err)
	}
	if !bytes.Equal(h.New.DER, der) || hex.EncodeToString(h.New.ID[:]) != val[6] {
		return nil, nil, bad("new key ID %q is not the SHA-256 of the new key", val[6])
	}
	if h.New.ID == h.Old {
		return nil, nil, bad("the new key is the old one")
	}
	sigs, err := parseNoteSignatures(sigBlock)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrMalformedHandover, err)
	}
	return h, sigs, nil
}

// VerifyHandover checks that note is a handover signed by old (under the
// handover's origin) in which old retires, and returns it: its New key is
// the one that signs the log from its Time on. An auditor who holds only
// old's public key follows a rotation with it; Meta.FollowHandovers
// follows a whole chain.
func VerifyHandover(old *LogKey, note []byte) (*Handover, error) {
	h, sigs, err := ParseHandover(note)
	if err != nil {
		return nil, err
	}
	if h.Old != old.ID {
		return nil, fmt.Errorf("%w: the handover retires key %x, not %x", ErrKeyMismatch, h.Old[:], old.ID[:])
	}
	d := sha256.Sum256(h.Text())
	for _, s := range sigs {
		if s.Name == h.Origin && s.Hint == old.Hint && ecdsa.VerifyASN1(old.Public, d[:], s.Sig) {
			return h, nil
		}
	}
	return nil, fmt.Errorf("%w: no signature of the retiring key on the handover of %q", ErrBadSignature, h.Origin)
}

// Handovers returns the handover notes of the log's retired keys, oldest
// first: the i-th is signed by RetiredKeys[i] and names the next key.
func (m Meta) Handovers() [][]byte {
	out := make([][]byte, len(m.RetiredKeys))
	for i, k := range m.RetiredKeys {
		out[i] = bytes.Clone(k.Handover)
	}
	return out
}

// FollowHandovers checks the log's key history from pinned, a key the
// caller trusts from elsewhere (the log key the site published, its first
// or any later one): each handover from pinned's on must be signed by the
// key it retires, name this log (origin, tree id), agree with the key's
// recorded window and size, and name the next key, the last one the
// current key. It returns the handovers followed, oldest first (none when
// pinned is the current key). A pinned key that is not one of the log's
// is ErrKeyMismatch. It checks signatures and metadata only;
// Log.VerifyHandovers also checks each handover's root against the tree.
func (m Meta) FollowHandovers(pinned *LogKey) ([]Handover, error) {
	keys := m.Keys()
	at := slices.IndexFunc(keys, func(k KeyPeriod) bool { return bytes.Equal(k.PublicKey, pinned.DER) })
	if at < 0 {
		return nil, fmt.Errorf("%w: the pinned key %x is none of the log's keys", ErrKeyMismatch, pinned.ID[:])
	}
	var out []Handover
	cur := pinned
	for i := at; i < len(keys)-1; i++ {
		h, err := VerifyHandover(cur, keys[i].Handover)
		if err != nil {
			return nil, fmt.Errorf("handover %d: %w", i+1, err)
		}
		switch {
		case h.Origin != m.Origin || h.TreeID != m.TreeID:
			return nil, fmt.Errorf("%w: handover %d is of log %s - %d, not %s - %d", ErrCorrupt, i+1, h.Origin, h.TreeID, m.Origin, m.TreeID)
		case !h.Time.Equal(keys[i].To) || h.Size != keys[i].Size:
			return nil, fmt.Errorf("%w: handover %d says time %s size %d, the log records %s size %d", ErrCorrupt, i+1,
				h.Time.Format(time.RFC3339), h.Size, keys[i].To.UTC().Format(time.RFC3339), keys[i].Size)
		case !bytes.Equal(h.New.DER, keys[i+1].PublicKey):
			return nil, fmt.Errorf("%w: handover %d names key %x, the log's next key is another", ErrCorrupt, i+1, h.New.ID[:])
		case !keys[i+1].From.Equal(h.Time):
			return nil, fmt.Errorf("%w: key %d starts at %s, its handover says %s", ErrCorrupt, i+2,
				keys[i+1].From.UTC().Format(time.RFC3339), h.Time.Format(time.RFC3339))
		}
		out = append(out, *h)
		cur = h.New
	}
	return out, nil
}

// VerifyHandovers is Meta.FollowHandovers on the log's metadata as last
// read, and also checks that each handover's root is the root of the
// log's tree at its size (a handover that signs another tree is
// ErrCorrupt).
func (l *Log) VerifyHandovers(ctx context.Context, pinned *LogKey) ([]Handover, error) {
	_, st, err := l.checkpointState(ctx)
	if err != nil {
		return nil, err
	}
	hs, err := st.meta.FollowHandovers(pinned)
	if err != nil {
		return nil, err
	}
	for _, h := range hs {
		root, err := l.RootHash(ctx, h.Size)
		if err != nil {
			return nil, err
		}
		if root != h.Root {
			return nil, fmt.Errorf("%w: the handover at size %d signs root %x, the log's is %x", ErrCorrupt, h.Size, h.Root[:], root[:])
		}
	}
	return hs, nil
}

// checkHistory checks the key history of m (whose current key is cur) and
// returns each key's part of the tree. Windows must follow one another
// (each retired key's To is the next key's From), sizes must not go back,
// no key may appear twice, and each handover must be signed by the key it
// retires and agree with the record.
func checkHistory(m Meta, cur *LogKey) ([]keyRange, error) {
	keys := m.Keys()
	out := make([]keyRange, 0, len(keys))
	var first int64
	seen := map[[32]byte]bool{}
	for i, k := range keys {
		lk := cur
		if i < len(keys)-1 {
			var err error
			if lk, err = ParseLogKey(k.PublicKey); err != nil {
				return nil, fmt.Errorf("retired key %d: %v", i+1, err)
			}
		}
		if seen[lk.ID] {
			return nil, fmt.Errorf("key %x appears twice in the log's key history", lk.ID[:])
		}
		seen[lk.ID] = true
		if i == len(keys)-1 {
			out = append(out, keyRange{key: lk, first: first, end: -1})
			break
		}
		if k.Size < first || k.To.Unix() < k.From.Unix() {
			return nil, fmt.Errorf("retired key %d: size %d or window %s..%s goes back", i+1, k.Size,
				k.From.UTC().Format(time.RFC3339), k.To.UTC().Format(time.RFC3339))
		}
		out = append(out, keyRange{key: lk, first: first, end: k.Size})
		first = k.Size
	}
	if len(keys) > 1 {
		if _, err := m.FollowHandovers(out[0].key); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// keySince is when the current key began signing.
func (st *logState) keySince() time.Time {
	k := st.meta.Keys()
	return k[len(k)-1].From
}

// openCheckpoint checks a checkpoint of the log (any size up to the head)
// against the keys that signed that part of the tree: a checkpoint of a
// size a retired key reached may carry its signature.
func (st *logState) openCheckpoint(cp []byte) (Checkpoint, error) {
	c, _, err := ParseCheckpoint(cp)
	if err != nil {
		return Checkpoint{}, err
	}
	err = fmt.Errorf("%w: no key of the log signed a checkpoint of size %d", ErrBadSignature, c.Size)
	for _, r := range st.history {
		if c.Size < r.first || r.end >= 0 && c.Size > r.end {
			continue
		}
		if c, err = OpenCheckpoint(cp, st.meta.Origin, r.key); err == nil {
			if c.TreeID != st.meta.TreeID {
				return Checkpoint{}, fmt.Errorf("checkpoint is of tree %d, the log's is %d", c.TreeID, st.meta.TreeID)
			}
			return c, nil
		}
	}
	return Checkpoint{}, err
}

// EntryKey returns the key that signed entry index's SET (the key that
// was current when it was appended) and the window it signed in.
func (l *Log) EntryKey(index int64) *LogKey {
	st := l.state()
	for _, r := range st.history {
		if index >= r.first && (r.end < 0 || index < r.end) {
			return r.key
		}
	}
	return st.key
}

// followRotation adopts the stored metadata metaJSON when it is st's log
// with a longer key history: same origin, tree id and creation, st's
// history as its prefix and st's current key retired by a handover that
// key signed (checkHistory checks each handover). Anything else is
// ErrCorrupt: the metadata changed under the Log.
func (l *Log) followRotation(st *logState, metaJSON []byte) (*logState, error) {
	next, err := parseState(metaJSON)
	if err != nil {
		return nil, err
	}
	m, n := st.meta, next.meta
	ok := m.Origin == n.Origin && m.TreeID == n.TreeID && m.Created.Equal(n.Created) && len(n.RetiredKeys) > len(m.RetiredKeys)
	for i := 0; ok && i < len(m.RetiredKeys); i++ {
		ok = bytes.Equal(m.RetiredKeys[i].PublicKey, n.RetiredKeys[i].PublicKey)
	}
	if !ok || !bytes.Equal(n.RetiredKeys[len(m.RetiredKeys)].PublicKey, m.PublicKey) {
		return nil, fmt.Errorf("%w: the log's metadata changed, and not by a key rotation of this log", ErrCorrupt)
	}
	l.mu.Lock()
	if l.st == st {
		l.st = next
	}
	l.mu.Unlock()
	return next, nil
}

// Rotation is a key rotation prepared by PrepareRotation: the handover
// and the re-signed head, all signed before anything is written.
type Rotation struct {
	Handover Handover
	// Note is the handover as the old key signed it (stored with the
	// retired key).
	Note []byte
	// Checkpoint is the latest checkpoint, signed again by the new key.
	Checkpoint SignedCheckpoint

	from, to *logState // the log's metadata before and after
	prev     []byte    // the head the rotation re-signs
}

// RotateKey is PrepareRotation and CommitRotation in one call.
func (l *Log) RotateKey(ctx context.Context, oldSigner, newSigner crypto.Signer, at time.Time) (*Rotation, error) {
	r, err := l.PrepareRotation(ctx, oldSigner, newSigner, at)
	if err != nil {
		return nil, err
	}
	return r, l.CommitRotation(ctx, r)
}

// PrepareRotation prepares the retirement of the log's current key at at
// (cut to the whole second, T) in favour of newSigner's key (ECDSA P-256,
// not one the log has had). oldSigner must be the current key: it signs
// the handover naming the new key; newSigner signs the latest checkpoint
// again. Entries the old key signed are integrated at or before T and
// entries the new one signs at or after T: a T before the latest entry's
// integrated time or the current key's start is ErrTimeRollback. Nothing
// is written until CommitRotation.
func (l *Log) PrepareRotation(ctx context.Context, oldSigner, newSigner crypto.Signer, at time.Time) (*Rotation, error) {
	head, st, err := l.checkpointState(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkSigner(st.key, oldSigner); err != nil {
		return nil, fmt.Errorf("the old key: %w", err)
	}
	newKey, err := NewLogKey(newSigner.Public())
	if err != nil {
		return nil, err
	}
	for _, r := range st.history {
		if r.key.ID == newKey.ID {
			return nil, ErrKeyReused
		}
	}
	t := at.UTC().Truncate(time.Second)
	if t.Unix() <= 0 {
		return nil, errors.New("rotation time is before 1970")
	}
	since := st.keySince()
	latest := since.Unix()
	if head.Size > 0 {
		last, err := l.Entry(ctx, head.Size-1)
		if err != nil {
			return nil, err
		}
		latest = max(latest, last.IntegratedTime)
	}
	if t.Unix() < latest {
		return nil, fmt.Errorf("%w: rotation at %s, the log has %s", ErrTimeRollback, t.Format(time.RFC3339), time.Unix(latest, 0).UTC().Format(time.RFC3339))
	}
	h := Handover{Origin: st.meta.Origin, TreeID: st.meta.TreeID, Size: head.Size, Root: head.Hash, Time: t, Old: st.key.ID, New: newKey}
	note, err := SignHandover(h, st.key, oldSigner)
	if err != nil {
		return nil, err
	}
	c := st.checkpoint(head.Size, head.Hash)
	cp, err := SignCheckpoint(c, newKey, newSigner)
	if err != nil {
		return nil, err
	}
	m := st.meta
	m.RetiredKeys = append(slices.Clone(m.RetiredKeys), KeyPeriod{PublicKey: st.key.DER, From: since, To: t, Size: head.Size, Handover: note})
	m.PublicKey, m.KeySince = newKey.DER, t
	next, err := newState(m)
	if err != nil {
		return nil, err // a history this code made must check
	}
	if next.raw, err = json.Marshal(next.meta); err != nil {
		return nil, err
	}
	return &Rotation{Handover: h, Note: note, Checkpoint: SignedCheckpoint{Checkpoint: c, Note: cp}, from: st, to: next, prev: bytes.Clone(head.Note)}, nil
}

// CommitRotation writes a prepared rotation in one store transaction:
// the new metadata (the old key joins RetiredKeys with its window up to
// T, the tree size and the handover) and the re-signed head. If anything
// was appended or rotated since it was prepared, nothing is written and
// the error wraps ErrWriteConflict. On success l describes the log with
// its new key; other Logs on the same store follow the rotation when they
// next read the head.
func (l *Log) CommitRotation(ctx context.Context, r *Rotation) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := l.store.RotateLogKey(ctx, r.prev, r.to.raw, r.Checkpoint.Note); err != nil {
		if errors.Is(err, ErrWriteConflict) {
			return err
		}
		if _, now, herr := l.store.ReadLogHead(ctx); herr == nil && !bytes.Equal(now, r.prev) {
			return fmt.Errorf("%w: the log moved while its key was rotated", ErrWriteConflict)
		}
		return fmt.Errorf("rotating the site log key: %w", err)
	}
	l.mu.Lock()
	if l.st == r.from {
		l.st, l.head = r.to, &SignedCheckpoint{Checkpoint: r.Checkpoint.Checkpoint, Note: bytes.Clone(r.Checkpoint.Note)}
	}
	l.mu.Unlock()
	return nil
}
