package tlog

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	sumdb "golang.org/x/mod/sumdb/tlog"
)

// ErrMalformedProof is returned for a consistency proof whose text or
// shape is not one (a size out of range, too many hashes).
var ErrMalformedProof = errors.New("malformed consistency proof")

// MaxProofHashes bounds a consistency proof: a tree of 2^63 leaves needs
// at most 2*63 hashes.
const MaxProofHashes = 128

// maxProofText bounds the text form: "old " and a size, then the hashes.
const maxProofText = 32 + MaxProofHashes*(44+1)

// ConsistencyProof is an RFC 6962 consistency proof that the tree of size
// From of log Origin is a prefix of its tree of size To.
type ConsistencyProof struct {
	Origin string
	From   int64
	To     int64
	Hashes []Hash
}

// VerifyConsistency checks p against the root hashes of its two trees
// (golang.org/x/mod/sumdb/tlog.CheckTree). A proof from size 0, or
// between equal sizes, is empty; equal sizes need equal roots. A proof
// that does not verify is an *InconsistencyError (without notes: the
// caller knows them) wrapping ErrInconsistent; a proof of the wrong
// shape wraps ErrMalformedProof.
func VerifyConsistency(p ConsistencyProof, fromRoot, toRoot Hash) error {
	if p.From < 0 || p.From > p.To {
		return fmt.Errorf("%w: from size %d to size %d", ErrMalformedProof, p.From, p.To)
	}
	if len(p.Hashes) > MaxProofHashes {
		return fmt.Errorf("%w: %d hashes, at most %d", ErrMalformedProof, len(p.Hashes), MaxProofHashes)
	}
	fail := func(detail string) error {
		pc := p
		return &InconsistencyError{Origin: p.Origin, Proof: &pc, Detail: detail}
	}
	switch {
	case p.From == p.To:
		if len(p.Hashes) != 0 {
			return fmt.Errorf("%w: %d hashes between equal sizes", ErrMalformedProof, len(p.Hashes))
		}
		if fromRoot != toRoot {
			return fail(fmt.Sprintf("two different root hashes for the tree of size %d", p.To))
		}
		return nil
	case p.From == 0:
		if len(p.Hashes) != 0 {
			return fmt.Errorf("%w: %d hashes from the empty tree", ErrMalformedProof, len(p.Hashes))
		}
		return nil
	}
	if err := sumdb.CheckTree(p.Hashes, p.To, toRoot, p.From, fromRoot); err != nil {
		return fail(fmt.Sprintf("the consistency proof from size %d to size %d does not verify", p.From, p.To))
	}
	return nil
}

// MarshalText returns the proof in its text form, the body of a C2SP
// tlog-witness add-checkpoint request without the checkpoint:
// "old <From>\n" then one base64 hash per line. Origin and To are not
// part of it: they come from the checkpoint the proof goes with.
func (p ConsistencyProof) MarshalText() ([]byte, error) {
	if p.From < 0 || len(p.Hashes) > MaxProofHashes {
		return nil, fmt.Errorf("%w: from size %d, %d hashes", ErrMalformedProof, p.From, len(p.Hashes))
	}
	b := fmt.Appendf(nil, "old %d\n", p.From)
	for _, h := range p.Hashes {
		b = base64.StdEncoding.AppendEncode(b, h[:])
		b = append(b, '\n')
	}
	return b, nil
}

// ParseProof parses the text form of a proof (see MarshalText) that goes
// with the checkpoint of origin at size to. It reads at most
// MaxProofHashes hashes; errors wrap ErrMalformedProof.
func ParseProof(text []byte, origin string, to int64) (*ConsistencyProof, error) {
	if len(text) > maxProofText {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrMalformedProof, maxProofText)
	}
	if len(text) == 0 || text[len(text)-1] != '\n' {
		return nil, fmt.Errorf("%w: does not end in a newline", ErrMalformedProof)
	}
	lines := strings.Split(string(bytes.TrimSuffix(text, []byte("\n"))), "\n")
	old, ok := strings.CutPrefix(lines[0], "old ")
	if !ok {
		return nil, fmt.Errorf("%w: first line %q is not \"old <size>\"", ErrMalformedProof, lines[0])
	}
	from, err := parseDecimal(old)
	if err != nil {
		return nil, fmt.Errorf("%w: old size %q", ErrMalformedProof, old)
	}
	if from > to || to < 0 {
		return nil, fmt.Errorf("%w: old size %d is larger than the checkpoint's %d", ErrMalformedProof, from, to)
	}
	p := &ConsistencyProof{Origin: origin, From: from, To: to}
	for _, l := range lines[1:] {
		if len(p.Hashes) == MaxProofHashes {
			return nil, fmt.Errorf("%w: more than %d hashes", ErrMalformedProof, MaxProofHashes)
		}
		h, err := base64.StdEncoding.Strict().DecodeString(l)
		if err != nil || len(h) != HashSize {
			return nil, fmt.Errorf("%w: hash %q is not base64 of %d bytes", ErrMalformedProof, l, HashSize)
		}
		p.Hashes = append(p.Hashes, Hash(h))
	}
	return p, nil
}
