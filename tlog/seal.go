package tlog

import (
	"crypto"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Seals. The database's audit trail is a sibling Merkle log of the site
// log: its leaves are the audit records (their stored bytes), and a seal is
// that tree's checkpoint, signed by the site log key. A seal is a
// checkpoint whose origin is SealOrigin(the site log's origin) and whose
// text carries two extra lines: "Timestamp: <unix nanoseconds>", the time
// it was signed, and "Site-Log: <size> <base64 root hash>", the site log's
// tree when it was signed, so that a seal also vouches for the site log
// up to there (a rollback or rewrite of the site log alone shows):
//
//	<origin>/audit - <tree id>
//	<number of audit records>
//	<base64 root hash>
//	Timestamp: <unix ns>
//	Site-Log: <size> <base64 root hash>
//
//	— <origin>/audit <base64(key hint || ASN.1 signature over SHA-256 of the text)>
//
// The origin keeps seals and the site log's checkpoints apart: one key
// signs both, and a checkpoint of the site log never opens as a seal.

// SealSuffix ends a seal's origin.
const SealSuffix = "/audit"

// SealOrigin is the origin of the audit seals of the site log origin.
func SealOrigin(origin string) string { return origin + SealSuffix }

// Seal is an opened seal: the audit tree's size and root, when it was
// signed, and the site log's tree then.
type Seal struct {
	Checkpoint
	Time time.Time
	// LogSize and LogRoot are the site log's tree when the seal was
	// signed.
	LogSize int64
	LogRoot Hash
}

// SignSeal signs the seal of the audit tree of size records with root
// root, at time at, when the site log (meta: its origin and tree id) was
// logSize entries long with root logRoot, with the log key.
func SignSeal(meta Meta, size int64, root Hash, at time.Time, logSize int64, logRoot Hash, key *LogKey, signer crypto.Signer) ([]byte, error) {
	if logSize < 0 {
		return nil, errors.New("seal: negative site log size")
	}
	c := Checkpoint{Origin: SealOrigin(meta.Origin), TreeID: meta.TreeID, Size: size, Hash: root,
		Extra: fmt.Sprintf("Timestamp: %d\nSite-Log: %d %s\n", at.UnixNano(), logSize, base64.StdEncoding.EncodeToString(logRoot[:]))}
	return SignCheckpoint(c, key, signer)
}

// ErrBadSeal wraps every reason a seal does not open: malformed, not a
// seal, or not signed by the key.
var ErrBadSeal = errors.New("audit seal does not verify")

// OpenSeal parses a seal and checks its signature by one of keys (the
// pinned log key, and the keys it handed over to). It returns the seal and
// the key that signed it.
func OpenSeal(note []byte, keys []*LogKey) (Seal, *LogKey, error) {
	c, _, err := ParseCheckpoint(note)
	if err != nil {
		return Seal{}, nil, fmt.Errorf("%w: %v", ErrBadSeal, err)
	}
	if !strings.HasSuffix(c.Origin, SealSuffix) || len(c.Origin) == len(SealSuffix) {
		return Seal{}, nil, fmt.Errorf("%w: %q is not an audit seal's origin", ErrBadSeal, c.Origin)
	}
	s, ok := sealExtra(c)
	if !ok {
		return Seal{}, nil, fmt.Errorf("%w: not the lines \"Timestamp: <ns>\" and \"Site-Log: <size> <root>\"", ErrBadSeal)
	}
	for _, k := range keys {
		if _, err := OpenCheckpoint(note, c.Origin, k); err == nil {
			return s, k, nil
		}
	}
	return Seal{Checkpoint: c}, nil, fmt.Errorf("%w: the seal of %d records is not signed by the pinned log key", ErrBadSeal, c.Size)
}

// ParseSealUnverified returns what a seal claims, its signature unchecked:
// for messages about a seal that does not verify.
func ParseSealUnverified(note []byte) (Seal, error) {
	c, _, err := ParseCheckpoint(note)
	if err != nil {
		return Seal{}, err
	}
	s, _ := sealExtra(c)
	s.Checkpoint = c
	return s, nil
}

// sealExtra reads a seal's two extra lines, in their one spelling.
func sealExtra(c Checkpoint) (Seal, bool) {
	s := Seal{Checkpoint: c}
	lines := strings.Split(c.Extra, "\n")
	if len(lines) != 3 || lines[2] != "" {
		return s, false
	}
	v, ok := strings.CutPrefix(lines[0], "Timestamp: ")
	ns, err := parseDecimal(v)
	if !ok || err != nil {
		return s, false
	}
	v, ok = strings.CutPrefix(lines[1], "Site-Log: ")
	size, root, ok2 := strings.Cut(v, " ")
	n, err := parseDecimal(size)
	h, herr := base64.StdEncoding.Strict().DecodeString(root)
	if !ok || !ok2 || err != nil || herr != nil || len(h) != HashSize {
		return s, false
	}
	s.Time, s.LogSize = time.Unix(0, ns).UTC(), n
	copy(s.LogRoot[:], h)
	return s, true
}
