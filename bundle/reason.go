package bundle

import (
	"errors"
	"fmt"
)

// Reason is a stable, machine-readable code for why evidence was
// rejected. It is carried by a *RejectionError and by Result.Reason
// (docs/json.md lists every code: they are a contract, reused by reports).
// Codes are only ever added; an existing code never changes meaning.
type Reason string

// The reasons. Each is decided where the rejection is made: by airlock's
// own checks at their source, and for sigstore-go's verification by which
// of its steps failed (see classify), never by an error's text.
const (
	// Evidence that is not what it claims to be.

	// ReasonMalformedBundle: the file is not a well-formed Sigstore bundle
	// of a known version.
	ReasonMalformedBundle Reason = "malformed-bundle"
	// ReasonMalformedSignature: a detached signature or DSSE envelope that
	// does not parse (not base64, not an envelope, not an in-toto statement).
	ReasonMalformedSignature Reason = "malformed-signature"
	// ReasonTooLarge: the evidence is larger than airlock reads
	// (MaxBundleSize, MaxSignatureSize).
	ReasonTooLarge Reason = "evidence-too-large"
	// ReasonEvidenceEmpty: the signature file is empty.
	ReasonEvidenceEmpty Reason = "evidence-empty"

	// Evidence of another kind than the policy asks for.

	// ReasonSignedWithKey: a certificate identity is required, the
	// evidence is signed with a public key.
	ReasonSignedWithKey Reason = "signed-with-key"
	// ReasonSignedWithCertificate: a key is required, the evidence is
	// signed with a certificate (and carries log entries that name it).
	ReasonSignedWithCertificate Reason = "signed-with-certificate"
	// ReasonKeyRequired: a detached signature or attestation, which only a
	// key can verify, was checked against a certificate identity.
	ReasonKeyRequired Reason = "key-required"
	// ReasonNotAttestation: an attestation is required, the evidence is a
	// message signature.
	ReasonNotAttestation Reason = "not-attestation"
	// ReasonNotSignature: a signature of the artifact is required
	// (verify-blob), the evidence is an attestation about it (a
	// *NotSignatureError says of which predicate type).
	ReasonNotSignature Reason = "not-signature"
	// ReasonPredicateTypeMismatch: the statement's predicate type is not
	// the one required (a *PredicateTypeError says which).
	ReasonPredicateTypeMismatch Reason = "predicate-type-mismatch"
	// ReasonUnsupportedAlgorithm: the key cannot verify the evidence's
	// digest algorithm (Ed25519 verifies digests only as Ed25519ph over
	// SHA-512), or the key type is unsupported.
	ReasonUnsupportedAlgorithm Reason = "unsupported-algorithm"

	// The artifact.

	// ReasonArtifactFormMismatch: the artifact was given as a digest of
	// another algorithm than the evidence signs.
	ReasonArtifactFormMismatch Reason = "artifact-form-mismatch"
	// ReasonDigestMismatch: the evidence signs another artifact.
	ReasonDigestMismatch Reason = "digest-mismatch"

	// The signer.

	// ReasonSignatureInvalid: the signature does not verify over this
	// artifact (or envelope) under the key or certificate: the artifact
	// changed, or the key is not the signer's.
	ReasonSignatureInvalid Reason = "signature-invalid"
	// ReasonKeyMismatch: the evidence names a key (its certificate's) that
	// is not the required one.
	ReasonKeyMismatch Reason = "key-mismatch"
	// ReasonKeyInvalid: the given public key is not usable.
	ReasonKeyInvalid Reason = "key-invalid"
	// ReasonIdentityMismatch: the certificate's identity or OIDC issuer is
	// not the required one.
	ReasonIdentityMismatch Reason = "identity-mismatch"
	// ReasonCertificateChainInvalid: the certificate does not chain to a
	// CA of the trusted root at the verified time(s).
	ReasonCertificateChainInvalid Reason = "certificate-chain-invalid"
	// ReasonSCTInvalid: the certificate has no valid signed certificate
	// timestamp from a CT log of the trusted root.
	ReasonSCTInvalid Reason = "sct-invalid"

	// Transparency log and time.

	// ReasonNoTlogEntry: the bundle has no transparency-log entry, and
	// one is required.
	ReasonNoTlogEntry Reason = "no-tlog-entry"
	// ReasonNoLogEntryFound: no log entry was found for a detached
	// signature or attestation (one is required).
	ReasonNoLogEntryFound Reason = "no-log-entry-found"
	// ReasonLogBundleMismatch: the bundle given beside a detached
	// signature or attestation as its log evidence holds another signature
	// or envelope: its log entry is not the detached signature's.
	ReasonLogBundleMismatch Reason = "log-bundle-mismatch"
	// ReasonTlogEntryInconsistent: a log entry's unsigned fields
	// contradict what is signed (the checkpoint, the body): the message
	// names the field.
	ReasonTlogEntryInconsistent Reason = "tlog-entry-inconsistent"
	// ReasonNoLogInTrustedRoot: no log of the trusted root made the
	// bundle's entries.
	ReasonNoLogInTrustedRoot Reason = "no-log-in-trusted-root"
	// ReasonSETInvalid: an entry's signed entry timestamp (inclusion
	// promise) does not verify under its log's key.
	ReasonSETInvalid Reason = "set-invalid"
	// ReasonInclusionProofInvalid: an entry's Merkle inclusion proof does
	// not lead to the root hash it names.
	ReasonInclusionProofInvalid Reason = "inclusion-proof-invalid"
	// ReasonCheckpointInvalid: the inclusion proof holds, but its
	// checkpoint is not signed by the log (or does not commit to the
	// proof's root).
	ReasonCheckpointInvalid Reason = "checkpoint-invalid"
	// ReasonTlogEntryMismatch: a log entry records another signature or
	// key than the bundle's.
	ReasonTlogEntryMismatch Reason = "tlog-entry-mismatch"
	// ReasonOutsideValidity: the log's integrated time for the entry is
	// outside the signing certificate's validity (or the key's).
	ReasonOutsideValidity Reason = "signed-outside-validity"
	// ReasonSplitView: a log entry's checkpoint, signed by its log,
	// contradicts the mirrored history of that log (same size and another
	// root, or a consistency proof that fails): the log shows the site
	// another history than it showed before. A *SplitViewError carries
	// the evidence.
	ReasonSplitView Reason = "split-view"
	// ReasonNotMirrored: a log entry's checkpoint is not vouched for by
	// the mirror (newer than it, older with no consistency proof, or no
	// mirror of its log), and a mirrored one is required
	// (Options.RequireMirrored).
	ReasonNotMirrored Reason = "checkpoint-not-mirrored"
	// ReasonWitnessQuorum: a log entry's checkpoint does not carry the
	// witness cosignatures the witness policy's quorum requires (itself
	// or through the mirrored checkpoint it was checked against).
	ReasonWitnessQuorum Reason = "witness-quorum-not-met"
	// ReasonTlogUnverified: the log entries could not be verified for
	// another reason (fewer verified entries than required).
	ReasonTlogUnverified Reason = "tlog-unverified"
	// ReasonNoSigningTime: nothing dates the signature: no signed
	// integration time and no RFC 3161 timestamp that can be checked.
	ReasonNoSigningTime Reason = "no-signing-time"
	// ReasonTimestampUnverified: an RFC 3161 timestamp does not verify
	// against the trusted root's timestamping authorities, or too few
	// verified times.
	ReasonTimestampUnverified Reason = "timestamp-unverified"

	// Trust.

	// ReasonTrustedRootInvalid: the trusted root given is not a valid
	// trusted_root.json.
	ReasonTrustedRootInvalid Reason = "trusted-root-invalid"
	// ReasonTrustTooOld: the database's trust is older than the limit
	// given.
	ReasonTrustTooOld Reason = "trust-too-old"

	// ReasonVerificationFailed: sigstore-go rejected the evidence at a
	// step airlock does not classify further. Seeing it is a bug to
	// report: the message says what failed.
	ReasonVerificationFailed Reason = "verification-failed"
)

// Reasons lists every Reason, in the order docs/json.md documents them.
var Reasons = []Reason{
	ReasonMalformedBundle, ReasonMalformedSignature, ReasonTooLarge, ReasonEvidenceEmpty,
	ReasonSignedWithKey, ReasonSignedWithCertificate, ReasonKeyRequired, ReasonNotAttestation, ReasonNotSignature,
	ReasonPredicateTypeMismatch, ReasonUnsupportedAlgorithm,
	ReasonArtifactFormMismatch, ReasonDigestMismatch,
	ReasonSignatureInvalid, ReasonKeyMismatch, ReasonKeyInvalid, ReasonIdentityMismatch,
	ReasonCertificateChainInvalid, ReasonSCTInvalid,
	ReasonNoTlogEntry, ReasonNoLogEntryFound, ReasonLogBundleMismatch, ReasonTlogEntryInconsistent, ReasonNoLogInTrustedRoot, ReasonSETInvalid, ReasonInclusionProofInvalid,
	ReasonCheckpointInvalid, ReasonTlogEntryMismatch, ReasonOutsideValidity, ReasonSplitView, ReasonNotMirrored, ReasonWitnessQuorum, ReasonTlogUnverified, ReasonNoSigningTime, ReasonTimestampUnverified,
	ReasonTrustedRootInvalid, ReasonTrustTooOld,
	ReasonVerificationFailed,
}

// TrustDecides reports whether trusted material decides a rejection for
// r: other trust (a repository set aside as too old, once refreshed) could
// hold the log, CA or timestamping authority the evidence needs. It is
// false for a defect of the evidence itself (a bad signature, another
// artifact, identity or key, a malformed bundle, contradicting fields),
// which no trust changes.
func (r Reason) TrustDecides() bool {
	switch r {
	case ReasonNoLogInTrustedRoot, ReasonCertificateChainInvalid, ReasonSCTInvalid,
		ReasonTlogUnverified, ReasonTimestampUnverified, ReasonNoSigningTime:
		return true
	}
	return false
}

// RejectionError is a rejection with its reason. It wraps ErrRejected
// and Err, so errors.Is and errors.As see through it.
type RejectionError struct {
	Reason Reason
	Err    error
}

func (e *RejectionError) Error() string   { return e.Err.Error() }
func (e *RejectionError) Unwrap() []error { return []error{ErrRejected, e.Err} }

// Reject returns err as a rejection for reason. An err that already
// carries a reason keeps it.
func Reject(reason Reason, err error) error {
	if ReasonOf(err) != "" {
		return err
	}
	return &RejectionError{Reason: reason, Err: err}
}

// Rejectf returns a rejection for reason with a formatted message.
func Rejectf(reason Reason, format string, args ...any) error {
	return &RejectionError{Reason: reason, Err: fmt.Errorf(format, args...)}
}

// ReasonOf returns the reason err carries, or "" when err is not a
// rejection with a reason.
func ReasonOf(err error) Reason {
	var re *RejectionError
	if errors.As(err, &re) {
		return re.Reason
	}
	return ""
}

// PredicateTypeError is wrapped by a ReasonPredicateTypeMismatch
// rejection: the predicate type found and the one required.
type PredicateTypeError struct {
	Got, Want string
}

func (e *PredicateTypeError) Error() string {
	switch {
	case e.Got == "" && e.Want == "":
		return "the statement's predicate type is empty: it matches no type"
	case e.Got == "":
		return fmt.Sprintf("the statement's predicate type is empty, want %q", e.Want)
	}
	return fmt.Sprintf("predicate type is %q, want %q", e.Got, e.Want)
}

// ArtifactFormError is wrapped by a ReasonArtifactFormMismatch rejection:
// the evidence is over a Want digest, and the artifact was given as a
// digest of another algorithm.
type ArtifactFormError struct {
	// Evidence says what signs the digest: "the bundle signs", "the
	// signature is over", "the attestation's subjects are over".
	Evidence string
	Want     string
	Artifact string
}

func (e *ArtifactFormError) Error() string {
	return fmt.Sprintf("%s a %s digest, but the artifact was given as %q", e.Evidence, e.Want, e.Artifact)
}
