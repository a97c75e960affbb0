package tlog

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MaxCheckpointSize bounds a signed checkpoint read from anywhere: the
// note text, its signature lines and any witness cosignatures.
const MaxCheckpointSize = 16 << 10

// ErrMalformedCheckpoint is returned for text that is not a Rekor v1
// style signed checkpoint.
var ErrMalformedCheckpoint = errors.New("malformed checkpoint")

// Checkpoint is a Rekor v1 style tree head: the first line of its note is
// "<origin> - <tree id>", then the tree size and the base64 root hash.
type Checkpoint struct {
	// Origin names the log (a host name, as trusted roots' baseUrl). It
	// is also the name on the log's signature line.
	Origin string
	// TreeID tells apart logs of the same origin (Rekor's shards).
	TreeID int64
	Size   int64
	Hash   Hash
	// Extra is the text after the root hash line, verbatim (each line
	// ending in a newline): older Rekor v1 checkpoints carry
	// "Timestamp: <ns>". The site log writes none.
	Extra string
}

// Text returns the note text the log signs:
// "<origin> - <tree id>\n<size>\n<base64 root hash>\n" and Extra.
func (c Checkpoint) Text() []byte {
	return fmt.Appendf(nil, "%s - %d\n%d\n%s\n%s", c.Origin, c.TreeID, c.Size, base64.StdEncoding.EncodeToString(c.Hash[:]), c.Extra)
}

// CheckOrigin reports whether origin can name a log: non-empty printable
// ASCII without spaces or '+', so that it survives as a note signature
// name (Rekor reads that name up to the first space).
func CheckOrigin(origin string) error {
	if origin == "" {
		return errors.New("log origin is empty")
	}
	if len(origin) > 255 {
		return errors.New("log origin is longer than 255 bytes")
	}
	for i := 0; i < len(origin); i++ {
		if c := origin[i]; c <= ' ' || c >= 0x7f || c == '+' {
			return fmt.Errorf("log origin %q: only printable ASCII without spaces or '+'", origin)
		}
	}
	return nil
}

// SignCheckpoint returns the signed note of c:
// the text, a blank line and "— <origin> <base64(key hint || signature)>",
// the signature ASN.1 ECDSA over the SHA-256 of the text, as Rekor v1
// writes it and sigstore-go verifies it.
func SignCheckpoint(c Checkpoint, key *LogKey, signer crypto.Signer) ([]byte, error) {
	if err := CheckOrigin(c.Origin); err != nil {
		return nil, err
	}
	if c.TreeID < 0 || c.Size < 0 {
		return nil, errors.New("checkpoint tree id and size must not be negative")
	}
	if c.Extra != "" && (c.Extra[0] == '\n' || !strings.HasSuffix(c.Extra, "\n") || strings.Contains(c.Extra, "\n\n")) {
		return nil, errors.New("checkpoint extra text must be non-empty lines, each ending in a newline")
	}
	text := c.Text()
	d := sha256.Sum256(text)
	sig, err := signer.Sign(rand.Reader, d[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("signing checkpoint: %w", err)
	}
	if !ecdsa.VerifyASN1(key.Public, d[:], sig) {
		return nil, fmt.Errorf("%w: the signer's checkpoint signature (is it the log key?)", ErrBadSignature)
	}
	var b bytes.Buffer
	b.Write(text)
	b.WriteString("\n\u2014 ")
	b.WriteString(c.Origin)
	b.WriteByte(' ')
	b.WriteString(base64.StdEncoding.EncodeToString(append(key.Hint[:], sig...)))
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// ParseCheckpoint parses a signed checkpoint without checking any
// signature. Use OpenCheckpoint for anything that is trusted.
func ParseCheckpoint(signed []byte) (Checkpoint, []NoteSignature, error) {
	if len(signed) > MaxCheckpointSize {
		return Checkpoint{}, nil, fmt.Errorf("%w: longer than %d bytes", ErrMalformedCheckpoint, MaxCheckpointSize)
	}
	textNL, out, err := splitNote(signed)
	if err != nil {
		return Checkpoint{}, nil, err
	}
	text := textNL[:len(textNL)-1]
	lines := strings.SplitN(string(text), "\n", 4)
	if len(lines) < 3 {
		return Checkpoint{}, nil, fmt.Errorf("%w: want 3 lines of text (origin, size, root hash), have %d", ErrMalformedCheckpoint, len(lines))
	}
	var c Checkpoint
	if len(lines) == 4 {
		c.Extra = lines[3] + "\n"
	}
	origin, tree, ok := strings.Cut(lines[0], " - ")
	if !ok {
		return Checkpoint{}, nil, fmt.Errorf("%w: first line %q is not \"<origin> - <tree id>\"", ErrMalformedCheckpoint, lines[0])
	}
	if err := CheckOrigin(origin); err != nil {
		return Checkpoint{}, nil, fmt.Errorf("%w: %v", ErrMalformedCheckpoint, err)
	}
	c.Origin = origin
	if c.TreeID, err = parseDecimal(tree); err != nil {
		return Checkpoint{}, nil, fmt.Errorf("%w: tree id %q", ErrMalformedCheckpoint, tree)
	}
	if c.Size, err = parseDecimal(lines[1]); err != nil {
		return Checkpoint{}, nil, fmt.Errorf("%w: tree size %q", ErrMalformedCheckpoint, lines[1])
	}
	h, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(h) != HashSize {
		return Checkpoint{}, nil, fmt.Errorf("%w: root hash %q is not base64 of %d bytes", ErrMalformedCheckpoint, lines[2], HashSize)
	}
	copy(c.Hash[:], h)
	return c, out, nil
}

// NoteSignature is one signature line of a signed note.
type NoteSignature struct {
	Name string
	Hint [4]byte
	Sig  []byte
}

// OpenCheckpoint parses a signed checkpoint and checks that it carries a
// valid signature of key under the name origin. Other signature lines
// (witness cosignatures) are ignored.
func OpenCheckpoint(signed []byte, origin string, key *LogKey) (Checkpoint, error) {
	c, sigs, err := ParseCheckpoint(signed)
	if err != nil {
		return Checkpoint{}, err
	}
	if c.Origin != origin {
		return Checkpoint{}, fmt.Errorf("checkpoint is for log %q, want %q", c.Origin, origin)
	}
	d := sha256.Sum256(c.Text())
	for _, s := range sigs {
		if s.Name == origin && s.Hint == key.Hint && ecdsa.VerifyASN1(key.Public, d[:], s.Sig) {
			return c, nil
		}
	}
	return Checkpoint{}, fmt.Errorf("%w: no signature of %q's key on the checkpoint of size %d", ErrBadSignature, origin, c.Size)
}

// parseDecimal parses a non-negative decimal without sign or leading
// zeros, so that one checkpoint has one text.
func parseDecimal(s string) (int64, error) {
	if s == "" || s[0] == '+' || s[0] == '-' || len(s) > 1 && s[0] == '0' {
		return 0, strconv.ErrSyntax
	}
	return strconv.ParseInt(s, 10, 64)
}
