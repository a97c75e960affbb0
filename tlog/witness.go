package tlog

import "errors"

// ErrMalformedPolicy is returned by ParseWitnessPolicy for text that is
// not a witness policy.
var ErrMalformedPolicy = errors.New("malformed witness policy")

// MaxPolicySize bounds a witness policy's text.
const MaxPolicySize = 64 << 10

// WitnessPolicy is a C2SP tlog-policy (Sigsum policy) text: witnesses
// with their cosignature/v1 Ed25519 keys, groups of them with a
// threshold, and the quorum a checkpoint's cosignatures must meet.
type WitnessPolicy struct {
	// Text is the policy as given.
	Text []byte
}

// ParseWitnessPolicy parses a policy: lines "log <vkey> [url]",
// "witness <name> <vkey> [url]", "group <name> <k|all|any> <member>...",
// "quorum <name|none>", comments from '#'. Names must be defined before
// use; vkeys are C2SP vkeys of type 0x04 (cosignature/v1). Errors wrap
// ErrMalformedPolicy.
func ParseWitnessPolicy(text []byte) (*WitnessPolicy, error) {
	return nil, errNotYet
}

// Check returns the witnesses whose valid cosignatures on n count, and
// ErrNoQuorum (wrapped, naming what is missing) if they do not meet the
// quorum. A policy with quorum none accepts every note.
func (p *WitnessPolicy) Check(n *Note) (cosigners []string, err error) {
	return nil, errNotYet
}

// Quorum describes the policy's quorum for reports ("none", or the name
// of the witness or group).
func (p *WitnessPolicy) Quorum() string {
	return ""
}
