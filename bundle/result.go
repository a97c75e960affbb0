package bundle

import "time"

// Result is the outcome of one verification: what was checked, against
// what, and what was found. The command line renders it as text or as one
// JSON object (docs/json.md); the field names below are that contract.
type Result struct {
	// Verified is true only when every check passed.
	Verified bool `json:"verified"`
	// Status is "verified", "rejected", or "error" (set by callers for an
	// item that could not be checked, e.g. an unreadable file).
	Status string `json:"status"`
	// Kind is what carried the signature: "bundle", "signature" (cosign's
	// detached .sig) or "attestation" (cosign's bare DSSE .att).
	Kind string `json:"kind"`
	// Evidence names the file the signature came from (bundle, .sig or .att).
	Evidence string `json:"evidence,omitempty"`
	// LogBundle names the bundle given beside a detached .sig or .att
	// whose log entry vouched for it (Item.LogBundle); empty otherwise.
	LogBundle string `json:"logBundle,omitempty"`
	// MediaType is the bundle's media type, empty for .sig and .att.
	MediaType string `json:"mediaType,omitempty"`
	// Artifact is what was verified: a file name or "sha256:HEX", and the
	// digests computed (or given) for it.
	Artifact ArtifactResult `json:"artifact"`
	// Signer is the identity or key that signed.
	Signer *SignedBy `json:"signer,omitempty"`
	// PredicateType is the in-toto predicate type of a verified attestation.
	PredicateType string `json:"predicateType,omitempty"`
	// LogEntries are the transparency-log entries in the evidence.
	LogEntries []LogEntry `json:"logEntries"`
	// Times are the verified timestamps the certificate was checked at
	// (or the current time, for key-signed evidence with no log entry).
	Times []TimeUsed `json:"times"`
	// Trust says where the trusted material came from and which source
	// vouched for the evidence.
	Trust TrustResult `json:"trust"`
	// Warnings are conditions that did not reject but weaken the result.
	Warnings []string `json:"warnings"`
	// Reason is the rejection's code (JSON reasonCode; see Reason), empty when verified;
	// for status "error", empty.
	Reason Reason `json:"reasonCode,omitempty"`
	// Message says in one line why, when not verified (JSON reason, as before reason codes).
	Message string `json:"reason,omitempty"`
}

// ArtifactResult identifies the artifact.
type ArtifactResult struct {
	Name string `json:"name"`
	// Digests maps an algorithm ("sha256", "sha384", "sha512") to a
	// lowercase hex digest.
	Digests map[string]string `json:"digests"`
}

// SignedBy is who signed: a certificate identity or a public key.
type SignedBy struct {
	// Identity is the certificate's subject alternative name; Issuer its
	// OIDC issuer extension. Both empty for key-signed evidence.
	Identity string `json:"identity,omitempty"`
	Issuer   string `json:"issuer,omitempty"`
	// CertificateIssuer is the issuing CA's distinguished name.
	CertificateIssuer string `json:"certificateIssuer,omitempty"`
	// KeyFingerprint is "sha256:" and the hex SHA-256 of the signer's
	// public key in PKIX DER form, for key-signed evidence.
	KeyFingerprint string `json:"keyFingerprint,omitempty"`
	// KeyHint is the bundle's public-key hint, if any.
	KeyHint string `json:"keyHint,omitempty"`
}

// LogEntry is one transparency-log entry of the evidence.
type LogEntry struct {
	// Origin is the checkpoint origin line of the inclusion proof, when the
	// entry has one.
	Origin string `json:"origin,omitempty"`
	// LogID is the hex log key id.
	LogID string `json:"logId"`
	Index int64  `json:"index"`
	// IntegratedTime is the log's time for the entry (zero for Rekor v2,
	// which has none).
	IntegratedTime *time.Time `json:"integratedTime,omitempty"`
	// TreeSize is the size of the tree the inclusion proof is against
	// (zero when the entry has no proof).
	TreeSize         int64  `json:"treeSize,omitempty"`
	Kind             string `json:"kind,omitempty"`
	Version          string `json:"version,omitempty"`
	InclusionProof   bool   `json:"inclusionProof"`
	InclusionPromise bool   `json:"inclusionPromise"`
	// Mirror is what the mirror of the entry's log said about its
	// checkpoint; nil when no mirror was consulted (trust from a
	// --trusted-root file, no inclusion proof, or the entry not verified).
	Mirror *LogMirror `json:"mirror,omitempty"`
}

// TimeUsed is one verified time: "Tlog" (a log's integrated time),
// "TimestampAuthority" (an RFC 3161 timestamp) or "CurrentTime".
type TimeUsed struct {
	Type string    `json:"type"`
	URI  string    `json:"uri,omitempty"`
	Time time.Time `json:"time"`
}

// TrustResult says where trust came from.
type TrustResult struct {
	// From is where the caller loaded trust from ("trusted-root FILE",
	// "database FILE").
	From string `json:"from,omitempty"`
	// Source names the trust source that vouched; empty when rejected.
	Source string `json:"source,omitempty"`
	// Time is the reference time trust was evaluated at.
	Time *time.Time `json:"time,omitempty"`
}

// NewRejectedResult is the Result for evidence rejected before any
// verification could start (an unparsable bundle, say).
func NewRejectedResult(kind, evidence, artifact string, err error) *Result {
	return &Result{
		Status:     "rejected",
		Kind:       kind,
		Evidence:   evidence,
		Artifact:   ArtifactResult{Name: artifact, Digests: map[string]string{}},
		LogEntries: []LogEntry{},
		Times:      []TimeUsed{},
		Warnings:   []string{},
		Reason:     ReasonOf(err),
		Message:    oneLineReason(err.Error()),
	}
}
