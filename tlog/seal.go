package tlog

import (
	"crypto"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Seals. The database's audit trail is a sibling Merkle log of the site
// log: its leaves are the audit records (their stored bytes), and a seal is
// that tree's checkpoint, signed by the site log key. A seal is a
// checkpoint whose origin is SealOrigin(the site log's origin) and whose
// text carries one extra line, "Timestamp: <unix nanoseconds>", the time it
// was signed:
//
//	<origin>/audit - <tree id>
//	<number of audit records>
//	<base64 root hash>
//	Timestamp: <unix ns>
//
//	— <origin>/audit <base64(key hint || ASN.1 signature over SHA-256 of the text)>
//
// The origin keeps seals and the site log's checkpoints apart: one key
// signs both, and a checkpoint of the site log never opens as a seal.

// SealSuffix ends a seal's origin.
const SealSuffix = "/audit"

// SealOrigin is the origin of the audit seals of the site log origin.
func SealOrigin(origin string) string { return origin + SealSuffix }

// Seal is an opened seal: the audit tree's size and root, and when it was
// signed.
type Seal struct {
	Checkpoint
	Time time.Time
}

// SignSeal signs the seal of the audit tree of size records with root
// root, at time at, for the site log meta (its origin and tree id), with
// the log key.
func SignSeal(meta Meta, size int64, root Hash, at time.Time, key *LogKey, signer crypto.Signer) ([]byte, error) {
	c := Checkpoint{Origin: SealOrigin(meta.Origin), TreeID: meta.TreeID, Size: size, Hash: root,
		Extra: fmt.Sprintf("Timestamp: %d\n", at.UnixNano())}
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
	t, ok := sealTime(c.Extra)
	if !ok {
		return Seal{}, nil, fmt.Errorf("%w: no \"Timestamp: <ns>\" line", ErrBadSeal)
	}
	for _, k := range keys {
		if _, err := OpenCheckpoint(note, c.Origin, k); err == nil {
			return Seal{Checkpoint: c, Time: t}, k, nil
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
	t, _ := sealTime(c.Extra)
	return Seal{Checkpoint: c, Time: t}, nil
}

func sealTime(extra string) (time.Time, bool) {
	v, ok := strings.CutPrefix(extra, "Timestamp: ")
	if !ok || !strings.HasSuffix(v, "\n") || strings.Count(v, "\n") != 1 {
		return time.Time{}, false
	}
	ns, err := strconv.ParseInt(strings.TrimSuffix(v, "\n"), 10, 64)
	if err != nil || ns < 0 {
		return time.Time{}, false
	}
	return time.Unix(0, ns).UTC(), true
}
