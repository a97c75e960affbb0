package tlog

import "errors"

// ErrMalformedProof is returned for a consistency proof whose text or
// shape is not one (a size out of range, too many hashes).
var ErrMalformedProof = errors.New("malformed consistency proof")

// MaxProofHashes bounds a consistency proof: a tree of 2^63 leaves needs
// at most 2*63 hashes.
const MaxProofHashes = 128

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
// that does not verify is an error wrapping ErrInconsistent.
func VerifyConsistency(p ConsistencyProof, fromRoot, toRoot Hash) error {
	return errNotYet
}

// MarshalText returns the proof in its text form, the body of a C2SP
// tlog-witness add-checkpoint request without the checkpoint:
// "old <From>\n" then one base64 hash per line. Origin and To are not
// part of it: they come from the checkpoint the proof goes with.
func (p ConsistencyProof) MarshalText() ([]byte, error) {
	return nil, errNotYet
}

// ParseProof parses the text form of a proof (see MarshalText) that goes
// with the checkpoint of origin at size to. It reads at most
// MaxProofHashes hashes; errors wrap ErrMalformedProof.
func ParseProof(text []byte, origin string, to int64) (*ConsistencyProof, error) {
	return nil, errNotYet
}
