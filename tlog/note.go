package tlog

import (
	"crypto"
	"errors"
	"time"
)

// ErrUnknownLog is returned by OpenNote when no trusted log signed the
// note under its name: the note names a log the database does not trust,
// or is signed by a key it does not hold.
var ErrUnknownLog = errors.New("checkpoint is not signed by a trusted log")

// MaxNoteSize bounds a signed note (a checkpoint with its signatures and
// witness cosignatures) read by ParseNote and OpenNote.
const MaxNoteSize = 64 << 10

// TrustedLog is a log whose checkpoints the database trusts: a tlog of a
// trusted root (a TUF repository's or a pinned trusted_root.json) or a key
// of the site log.
type TrustedLog struct {
	// Host is the log's name on its checkpoint signature lines: the host
	// of its base URL ("rekor.sigstore.dev", "log2025-1.rekor.sigstore.dev").
	Host string
	// Key is the checkpoint signing key: *ecdsa.PublicKey (P-256) or
	// ed25519.PublicKey.
	Key crypto.PublicKey
	// LogID is the log's ID as trusted roots name it (logId.keyId):
	// SHA-256 of the PKIX key for ECDSA, SHA-256(host || "\n" || 0x01 ||
	// key) for Ed25519 (see LogID).
	LogID []byte
	// Source names where the key came from (a repository, a trusted root
	// file, "site log").
	Source string
	// Start and End are the key's validity window; End zero means open.
	// Checkpoints carry no time, so OpenNote does not check the window;
	// it is reported, not enforced.
	Start, End time.Time
}

// Note is a parsed signed checkpoint of either style: Rekor v1
// ("<host> - <tree id>" origin line) or C2SP tlog-checkpoint ("<host>").
type Note struct {
	// Origin is the note's first line: the log's identity in the mirror.
	Origin string
	Size   int64
	Root   Hash
	// Extensions are the lines after the root hash, verbatim (without
	// their newlines): older Rekor v1 checkpoints carry "Timestamp: <ns>".
	Extensions []string
	// Text is the signed text (up to and including the last newline
	// before the blank line).
	Text []byte
	// Signed is the whole signed note, verbatim.
	Signed []byte
	// Sigs are the signature lines, in order: the log's and any
	// cosignatures.
	Sigs []NoteSignature
}

// Host returns the host part of the origin: the origin up to " - " for a
// Rekor v1 checkpoint, the whole origin otherwise. A log signs under
// this name.
func (n *Note) Host() string {
	return noteHost(n.Origin)
}

// ParseNote parses a signed checkpoint of either style without checking
// any signature. It reads at most MaxNoteSize bytes and errors wrap
// ErrMalformedCheckpoint.
func ParseNote(signed []byte) (*Note, error) {
	return nil, errNotYet
}

// OpenNote parses signed and checks that it carries a valid signature of
// one of logs whose Host is the signature line's name. It returns the
// note and the log that signed it. Errors wrap ErrMalformedCheckpoint,
// ErrUnknownLog (no trusted log of that name and key hash) or
// ErrBadSignature (a trusted log's key hash, but the signature does not
// verify). Cosignature lines of other names are kept in Sigs, unchecked.
func OpenNote(signed []byte, logs []TrustedLog) (*Note, *TrustedLog, error) {
	return nil, nil, errNotYet
}

// NoteKeyHash returns the key hash that names key on a signature line of
// a log called host: the first 4 bytes of LogID(host, key).
func NoteKeyHash(host string, key crypto.PublicKey) ([4]byte, error) {
	return [4]byte{}, errNotYet
}

// LogID returns a log's ID for its checkpoint key: SHA-256 of the PKIX
// public key for ECDSA P-256 (Rekor v1, rekor-tiles), and the C2SP
// signed-note key ID SHA-256(host || "\n" || 0x01 || key) for Ed25519.
// The first 4 bytes are the key hash of its signature lines.
func LogID(host string, key crypto.PublicKey) ([]byte, error) {
	return nil, errNotYet
}

var errNotYet = errors.New("not implemented yet")

func noteHost(origin string) string {
	for i := 0; i+3 <= len(origin); i++ {
		if origin[i:i+3] == " - " {
			return origin[:i]
		}
	}
	return origin
}
