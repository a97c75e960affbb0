package bundle

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"

	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
)

// LogBundle is a Sigstore bundle given beside a detached signature or
// attestation as its log evidence (cosign's --signature with --bundle):
// the bundle must hold that very signature (or envelope), and its log
// entry, verified under the Verifier's trust, is then the detached
// signature's entry.
type LogBundle struct {
	// Name is the bundle's file name, for results and messages.
	Name   string
	Bundle *sgbundle.Bundle
}

// A LogBundleError is a rejection that comes from the log bundle given
// beside a detached signature (LogBundle) rather than from the signature
// itself: the bundle holds another signature, has no log entry, or does
// not verify. It wraps the rejection, so ReasonOf and errors.Is see it.
type LogBundleError struct {
	// Bundle is the bundle's file name.
	Bundle string
	Err    error
}

func (e *LogBundleError) Error() string { return fmt.Sprintf("bundle %q: %v", e.Bundle, e.Err) }
func (e *LogBundleError) Unwrap() error { return e.Err }

// VerifySignatureWithBundle verifies cosign's detached signature as
// VerifySignatureFile does, with its log entry taken from lb rather than
// looked up in Trust.Entries (see bundleVouches). a needs the digests of
// SignatureDigestAlgorithms and DigestAlgorithms(lb.Bundle).
func (v *Verifier) VerifySignatureWithBundle(sig []byte, evidence string, lb LogBundle, a Artifact) (*Result, error) {
	return v.verifySignatureFile(sig, evidence, &lb, a)
}

// VerifyAttestationWithBundle verifies cosign's bare DSSE attestation as
// VerifyAttestationFile does, with its log entry taken from lb.
func (v *Verifier) VerifyAttestationWithBundle(data []byte, evidence string, lb LogBundle, a Artifact) (*Result, error) {
	return v.verifyAttestationFile(data, evidence, &lb, a)
}

// bundleVouches finishes a detached signature or attestation whose
// signature verified, with lb as its log evidence. same says whether lb
// holds the detached signature (nil) or what differs. Then lb is verified
// as a bundle, under the same trust and policy, against the same artifact:
// sigstore-go (and airlock's consistency checks) prove that its log entry
// records the bundle's signature, key and digest (Rekor v1: field by
// field against the body the SET and inclusion proof cover; Rekor v2: the
// proved leaf is the entry rebuilt from them). With the bundle's signature
// the detached one, the key the policy's and the digest the artifact's,
// the proved entry is the one the signer logged for the detached
// signature: the hashedrekord or dsse body rebuilt from it.
func (v *Verifier) bundleVouches(r *Result, lb *LogBundle, same error, a Artifact) (*Result, error) {
	r.LogBundle = lb.Name
	rej := func(reason Reason, err error) (*Result, error) {
		return r.reject(reason, &LogBundleError{Bundle: lb.Name, Err: Reject(reason, err)})
	}
	if same != nil {
		return rej(ReasonLogBundleMismatch, same)
	}
	b := lb.Bundle
	if !(b.HasInclusionProof() || b.HasInclusionPromise()) {
		if v.policy.InsecureIgnoreTlogUnsafe {
			v.keyVerified(r)
			return r, nil
		}
		return rej(ReasonNoTlogEntry, errors.New("it has no transparency-log entry to vouch for the detached signature"))
	}
	br, err := v.VerifyBundle(b, lb.Name, a)
	r.LogEntries = br.LogEntries
	if err != nil {
		r.Warnings = append(r.Warnings, br.Warnings...)
		return rej(ReasonOf(err), err)
	}
	r.Verified, r.Status = true, "verified"
	r.Signer = br.Signer
	r.Times = br.Times
	r.Trust.Source = br.Trust.Source
	r.Warnings = append(r.Warnings, br.Warnings...)
	return r, nil
}

// sameSignature says whether lb holds the detached signature raw (nil) or
// what differs.
func sameSignature(lb *LogBundle, raw []byte) error {
	ms := lb.Bundle.GetMessageSignature()
	if ms == nil {
		return errors.New("it holds a DSSE envelope (an attestation), not a message signature: its log entry is not this signature's")
	}
	if !bytes.Equal(ms.GetSignature(), raw) {
		return fmt.Errorf("it holds another signature than the detached one: its log entry%s proves that signature, not this one", entryIndexes(lb.Bundle))
	}
	return nil
}

// sameEnvelope says whether lb holds the envelope of the detached
// attestation (its payload type, payload and signatures; nil) or what
// differs.
func sameEnvelope(lb *LogBundle, env *Envelope, payload []byte) error {
	be := lb.Bundle.GetDsseEnvelope()
	if be == nil {
		return errors.New("it holds a message signature, not a DSSE envelope: its log entry is not this attestation's")
	}
	other := fmt.Sprintf("its log entry%s proves that envelope, not this one", entryIndexes(lb.Bundle))
	if be.GetPayloadType() != env.PayloadType || !bytes.Equal(be.GetPayload(), payload) {
		return fmt.Errorf("it holds another envelope than the detached attestation (its payload differs): %s", other)
	}
	var mine, theirs [][]byte
	for _, s := range env.Signatures {
		sig, err := base64.StdEncoding.DecodeString(s.Sig)
		if err != nil {
			return Rejectf(ReasonMalformedSignature, "DSSE signature is not base64")
		}
		mine = append(mine, sig)
	}
	for _, s := range be.GetSignatures() {
		theirs = append(theirs, s.GetSig())
	}
	slices.SortFunc(mine, bytes.Compare)
	slices.SortFunc(theirs, bytes.Compare)
	if !slices.EqualFunc(mine, theirs, bytes.Equal) {
		return fmt.Errorf("it holds the same statement with other signatures than the detached attestation: %s", other)
	}
	return nil
}

// entryIndexes is " (index N)" naming the bundle's log entries, or "".
func entryIndexes(b *sgbundle.Bundle) string {
	var idx []string
	for _, e := range b.GetVerificationMaterial().GetTlogEntries() {
		idx = append(idx, fmt.Sprint(e.GetLogIndex()))
	}
	switch len(idx) {
	case 0:
		return ""
	case 1:
		return " (index " + idx[0] + ")"
	}
	return fmt.Sprintf(" (indexes %v)", idx)
}
