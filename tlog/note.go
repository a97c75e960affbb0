package tlog

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrUnknownLog is returned by OpenNote when no trusted log signed the
// note under its name: the note names a log the database does not trust,
// or is signed by a key it does not hold.
var ErrUnknownLog = errors.New("checkpoint is not signed by a trusted log")

// ErrNoteKey is returned for a checkpoint key of a type no log signs
// checkpoints with (ECDSA P-256 and Ed25519 are).
var ErrNoteKey = errors.New("log key is not ECDSA P-256 or Ed25519")

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
	if len(signed) > MaxNoteSize {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrMalformedCheckpoint, MaxNoteSize)
	}
	text, sigs, err := splitNote(signed)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimSuffix(string(text), "\n"), "\n")
	if len(lines) < 3 {
		return nil, fmt.Errorf("%w: want 3 lines of text (origin, size, root hash), have %d", ErrMalformedCheckpoint, len(lines))
	}
	n := &Note{Origin: lines[0], Text: text, Signed: bytes.Clone(signed), Sigs: sigs}
	if err := checkNoteOrigin(n.Origin); err != nil {
		return nil, err
	}
	if n.Size, err = parseDecimal(lines[1]); err != nil {
		return nil, fmt.Errorf("%w: tree size %q", ErrMalformedCheckpoint, lines[1])
	}
	h, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(h) != HashSize {
		return nil, fmt.Errorf("%w: root hash %q is not base64 of %d bytes", ErrMalformedCheckpoint, lines[2], HashSize)
	}
	copy(n.Root[:], h)
	for _, l := range lines[3:] {
		if l == "" {
			return nil, fmt.Errorf("%w: empty line in the note text", ErrMalformedCheckpoint)
		}
		n.Extensions = append(n.Extensions, l)
	}
	return n, nil
}

// checkNoteOrigin checks an origin line: printable, and its host (the
// signature name) a valid origin.
func checkNoteOrigin(origin string) error {
	for _, r := range origin {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: control character in the origin line", ErrMalformedCheckpoint)
		}
	}
	if len(origin) > 1024 {
		return fmt.Errorf("%w: origin line longer than 1024 bytes", ErrMalformedCheckpoint)
	}
	host := noteHost(origin)
	if err := CheckOrigin(host); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformedCheckpoint, err)
	}
	if host != origin {
		if _, err := parseDecimal(origin[len(host)+3:]); err != nil {
			return fmt.Errorf("%w: first line %q is not \"<origin> - <tree id>\"", ErrMalformedCheckpoint, origin)
		}
	}
	return nil
}

// splitNote splits a signed note into its text (ending in a newline) and
// its parsed signature lines.
func splitNote(signed []byte) ([]byte, []NoteSignature, error) {
	if !utf8.Valid(signed) {
		return nil, nil, fmt.Errorf("%w: not UTF-8", ErrMalformedCheckpoint)
	}
	i := bytes.Index(signed, []byte("\n\n"))
	if i < 0 {
		return nil, nil, fmt.Errorf("%w: no blank line before the signatures", ErrMalformedCheckpoint)
	}
	text, sigs := signed[:i+1], signed[i+2:]
	out, err := parseNoteSignatures(sigs)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrMalformedCheckpoint, err)
	}
	return text, out, nil
}

// parseNoteSignatures parses a note's signature block (the lines after
// the blank line, each ending in a newline).
func parseNoteSignatures(block []byte) ([]NoteSignature, error) {
	if len(block) == 0 || block[len(block)-1] != '\n' {
		return nil, errors.New("signature block does not end in a newline")
	}
	var out []NoteSignature
	for _, line := range strings.Split(string(block[:len(block)-1]), "\n") {
		rest, ok := strings.CutPrefix(line, "\u2014 ")
		if !ok {
			return nil, fmt.Errorf("signature line %q does not start with \"\u2014 \"", line)
		}
		name, b64, ok := strings.Cut(rest, " ")
		if !ok || name == "" || strings.Contains(b64, " ") {
			return nil, fmt.Errorf("signature line %q is not \"\u2014 <name> <signature>\"", line)
		}
		raw, err := base64.StdEncoding.Strict().DecodeString(b64)
		if err != nil || len(raw) < 5 {
			return nil, fmt.Errorf("signature of %q is not base64 of a key hint and a signature", name)
		}
		s := NoteSignature{Name: name, Sig: raw[4:]}
		copy(s.Hint[:], raw[:4])
		out = append(out, s)
	}
	return out, nil
}

// OpenNote parses signed and checks that it carries a valid signature of
// one of logs whose Host is the signature line's name and the note's
// host. It returns the note and the log that signed it. Errors wrap
// ErrMalformedCheckpoint, ErrUnknownLog (no trusted log of that name and
// key hash) or ErrBadSignature (a trusted log's key hash, but the
// signature does not verify). Other signature lines (cosignatures) are
// kept in Sigs, unchecked.
func OpenNote(signed []byte, logs []TrustedLog) (*Note, *TrustedLog, error) {
	n, err := ParseNote(signed)
	if err != nil {
		return nil, nil, err
	}
	host := n.Host()
	bad := false
	for i := range logs {
		l := &logs[i]
		if l.Host != host {
			continue
		}
		hint, err := NoteKeyHash(l.Host, l.Key)
		if err != nil {
			continue
		}
		for _, s := range n.Sigs {
			if s.Name != host || s.Hint != hint {
				continue
			}
			if VerifyNoteSignature(l.Key, n.Text, s.Sig) {
				return n, l, nil
			}
			bad = true
		}
	}
	if bad {
		return nil, nil, fmt.Errorf("%w: the checkpoint of %q at size %d carries a signature of a trusted key that does not verify", ErrBadSignature, n.Origin, n.Size)
	}
	return nil, nil, fmt.Errorf("%w: no signature of a trusted key of %q on the checkpoint of %q at size %d", ErrUnknownLog, host, n.Origin, n.Size)
}

// VerifyNoteSignature reports whether sig (a signature line's bytes after
// the key hash) is key's signature of a note's text: ASN.1 ECDSA over
// SHA-256 of the text, or Ed25519 over the text.
func VerifyNoteSignature(key crypto.PublicKey, text, sig []byte) bool {
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		d := sha256.Sum256(text)
		return ecdsa.VerifyASN1(k, d[:], sig)
	case ed25519.PublicKey:
		return ed25519.Verify(k, text, sig)
	}
	return false
}

// NoteKeyHash returns the key hash that names key on a signature line of
// a log called host: the first 4 bytes of LogID(host, key).
func NoteKeyHash(host string, key crypto.PublicKey) ([4]byte, error) {
	id, err := LogID(host, key)
	if err != nil {
		return [4]byte{}, err
	}
	return [4]byte(id[:4]), nil
}

// LogID returns a log's ID for its checkpoint key: SHA-256 of the PKIX
// public key for ECDSA P-256 (Rekor v1, rekor-tiles), and the C2SP
// signed-note key ID SHA-256(host || "\n" || 0x01 || key) for Ed25519.
// The first 4 bytes are the key hash of its signature lines. Other keys
// are an error wrapping ErrNoteKey.
func LogID(host string, key crypto.PublicKey) ([]byte, error) {
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("%w: ECDSA on %s, want P-256", ErrNoteKey, k.Curve.Params().Name)
		}
		der, err := x509.MarshalPKIXPublicKey(k)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNoteKey, err)
		}
		h := sha256.Sum256(der)
		return h[:], nil
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: Ed25519 key of %d bytes", ErrNoteKey, len(k))
		}
		id := noteKeyID(host, append([]byte{0x01}, k...))
		return id[:], nil
	default:
		return nil, fmt.Errorf("%w: %T", ErrNoteKey, key)
	}
}

func noteHost(origin string) string {
	for i := 0; i+3 <= len(origin); i++ {
		if origin[i:i+3] == " - " {
			return origin[:i]
		}
	}
	return origin
}

// noteKeyID is the C2SP signed-note key ID of a key of name: SHA-256(name
// || "\n" || type || key) (typeKey is the type byte and the key).
func noteKeyID(name string, typeKey []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte{'\n'})
	h.Write(typeKey)
	return [32]byte(h.Sum(nil))
}
