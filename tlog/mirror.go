package tlog

import (
	"context"
	"errors"
	"time"
)

// ErrInconsistent is matched by every *InconsistencyError: two signed
// checkpoints of one log that cannot belong to one history.
var ErrInconsistent = errors.New("checkpoints of one log are inconsistent")

// ErrRollback is returned by ImportPack for a checkpoint older than the
// one mirrored: the mirror never moves back.
var ErrRollback = errors.New("checkpoint is older than the mirrored one")

// ErrNoQuorum is returned when a checkpoint's cosignatures do not meet
// the witness policy's quorum.
var ErrNoQuorum = errors.New("checkpoint lacks a witness quorum")

// ErrMirrorConflict is returned by ImportPack when another process
// changed the mirror of a log in the pack between the checks and the
// commit; nothing was committed.
var ErrMirrorConflict = errors.New("mirror changed by another process")

// ErrMirrorCorrupt is returned when a stored mirror record is damaged
// (does not decode, or a stored note no longer opens).
var ErrMirrorCorrupt = errors.New("mirror store is inconsistent")

// MirrorReader reads the checkpoint mirror. Records are opaque to the
// store: tlog encodes them. Package cache implements it on the database.
type MirrorReader interface {
	// MirrorOrigins returns the mirrored origins, sorted.
	MirrorOrigins(ctx context.Context) ([]string, error)
	// MirrorLatest returns origin's latest checkpoint record, nil if the
	// origin is not mirrored.
	MirrorLatest(ctx context.Context, origin string) ([]byte, error)
	// MirrorHistory returns origin's checkpoint records keyed by size (the
	// latest included).
	MirrorHistory(ctx context.Context, origin string) (map[int64][]byte, error)
	// MirrorProofsFrom returns the stored proof records of origin whose
	// old size is from, keyed by their new size.
	MirrorProofsFrom(ctx context.Context, origin string, from int64) (map[int64][]byte, error)
	// MirrorEvidence returns the evidence records of origin in the order
	// stored; origin "" returns every origin's.
	MirrorEvidence(ctx context.Context, origin string) ([][]byte, error)
	// WitnessPolicy returns the stored witness policy text, nil if none.
	WitnessPolicy(ctx context.Context) ([]byte, error)
}

// MirrorStore is a MirrorReader that can change the mirror.
type MirrorStore interface {
	MirrorReader
	// CommitMirror applies c in one transaction with its audit record, as
	// a compare-and-swap: only if every origin's latest record still
	// equals its ExpectLatest. If one does not, it commits nothing and
	// returns ok false with a nil error. Any other failure commits nothing.
	CommitMirror(ctx context.Context, c MirrorCommit) (ok bool, err error)
	// AddEvidence stores an evidence record of origin with its audit
	// record, in one transaction of its own.
	AddEvidence(ctx context.Context, origin string, record []byte, audit MirrorAudit) error
	// SetWitnessPolicy stores the witness policy text (nil removes it)
	// with its audit record, in one transaction.
	SetWitnessPolicy(ctx context.Context, text []byte, audit MirrorAudit) error
}

// MirrorCommit is everything one import changes.
type MirrorCommit struct {
	Origins []OriginCommit
	Audit   MirrorAudit
}

// OriginCommit is one origin's change.
type OriginCommit struct {
	Origin string
	// ExpectLatest is the latest record the import was checked against;
	// nil means the origin must not be mirrored yet.
	ExpectLatest []byte
	// Size and Latest are the new latest checkpoint's size and record; the
	// record is also stored in the history at Size.
	Size   int64
	Latest []byte
	// Proofs are proof records to store, by (From, To).
	Proofs []ProofRecord
}

// ProofRecord is a stored consistency proof of one origin.
type ProofRecord struct {
	From, To int64
	Record   []byte
}

// MirrorAudit is the audit record a mirror change commits with.
type MirrorAudit struct {
	Kind   string
	Time   time.Time
	Fields map[string]string
}

// ImportOptions configures ImportPack.
type ImportOptions struct {
	// Logs are the trusted logs; a checkpoint must be signed by one.
	Logs []TrustedLog
	// Witness is the witness policy checkpoints must meet. Nil means the
	// policy stored in the mirror, none if none is stored.
	Witness *WitnessPolicy
	// Source names the pack in the mirror and the audit trail (its file
	// name).
	Source string
	// Now is recorded as the import time.
	Now time.Time
}

// ImportResult says what an import did, per log of the pack.
type ImportResult struct {
	Logs []ImportedLog
}

// Import statuses of ImportedLog.
const (
	StatusNew       = "new"
	StatusAdvanced  = "advanced"
	StatusUnchanged = "unchanged"
)

// ImportedLog is one log of an import.
type ImportedLog struct {
	Origin string
	// From is the mirrored size before the import (0 for a new origin), To
	// the size after.
	From, To int64
	// Status is StatusNew, StatusAdvanced or StatusUnchanged.
	Status string
	// Cosigners are the witnesses whose cosignatures counted under the
	// policy.
	Cosigners []string
	// Source names the trusted log that signed (TrustedLog.Source).
	Source string
}

// ImportPack checks every checkpoint of p against o.Logs and the witness
// policy, and every advance over the stored latest checkpoint against a
// consistency proof from the stored size; then commits the whole pack in
// one CommitMirror, or nothing. A checkpoint of the stored size with
// another root, or a proof that fails, returns an *InconsistencyError
// (the mirror is unchanged; the evidence is stored with AddEvidence); an
// older checkpoint returns ErrRollback; a missing quorum ErrNoQuorum.
func ImportPack(ctx context.Context, s MirrorStore, p *Pack, o ImportOptions) (*ImportResult, error) {
	return nil, errNotYet
}

// Claim is a log checkpoint a bundle relies on.
type Claim struct {
	Origin string
	Size   int64
	Root   Hash
	// Signed is the bundle's checkpoint note, verbatim, kept as evidence.
	Signed []byte
}

// ClaimFromNote returns the claim of a signed checkpoint (not checking
// its signature: the bundle's verification did).
func ClaimFromNote(signed []byte) (Claim, error) {
	n, err := ParseNote(signed)
	if err != nil {
		return Claim{}, err
	}
	return Claim{Origin: n.Origin, Size: n.Size, Root: n.Root, Signed: n.Signed}, nil
}

// MirrorStatus is what the mirror says about a claim.
type MirrorStatus string

// Mirror statuses.
const (
	// MirrorMatched: the mirror holds the claim's size with the same root.
	MirrorMatched MirrorStatus = "matched"
	// MirrorProved: the claim is smaller than a mirrored size and a stored
	// consistency proof from it verifies.
	MirrorProved MirrorStatus = "proved"
	// MirrorUnproved: the claim is smaller than the latest mirrored size,
	// and no proof is available.
	MirrorUnproved MirrorStatus = "unproved"
	// MirrorNewer: the claim is larger than the latest mirrored size.
	MirrorNewer MirrorStatus = "newer"
	// MirrorUnmirrored: the mirror holds nothing of the claim's origin.
	MirrorUnmirrored MirrorStatus = "unmirrored"
)

// MirrorCheck is the result of checking a claim against a mirror.
type MirrorCheck struct {
	Origin string
	Status MirrorStatus
	// MirrorSize is the mirrored size the claim was compared with (the
	// matched or proved-to size, else the latest), 0 when unmirrored.
	MirrorSize int64
	// Witnesses are the cosigners recorded with that mirrored checkpoint.
	Witnesses []string
}

// CheckMirror compares c with the mirror r, read-only. A claim that
// contradicts the mirror (same size, other root; a stored proof that does
// not verify) is an *InconsistencyError; the caller may store its
// evidence.
func CheckMirror(ctx context.Context, r MirrorReader, c Claim) (*MirrorCheck, error) {
	return nil, errNotYet
}

// CheckClaim compares c with the site log, its own mirror: a size up to
// the log's must have the log's root at that size (MirrorMatched), a
// larger one is MirrorNewer. A claim of another origin is
// MirrorUnmirrored.
func (l *Log) CheckClaim(ctx context.Context, c Claim) (*MirrorCheck, error) {
	return nil, errNotYet
}

// InconsistencyError is the evidence that a log showed two histories.
type InconsistencyError struct {
	Origin string
	// Claimed and Mirrored are the two signed notes, verbatim: the one
	// presented (pack, bundle) and the one mirrored.
	Claimed, Mirrored []byte
	// Proof is the consistency proof that failed, nil when the sizes are
	// equal.
	Proof  *ConsistencyProof
	Detail string
}

func (e *InconsistencyError) Error() string {
	return "log " + quote(e.Origin) + " is inconsistent with the mirror: " + e.Detail
}

// Is reports whether target is ErrInconsistent.
func (e *InconsistencyError) Is(target error) bool { return target == ErrInconsistent }

// Evidence returns a text block an operator can hand to others: both
// notes verbatim, the proof in its text form, and what failed.
func (e *InconsistencyError) Evidence() string {
	return ""
}

// MirroredLog is one origin of the mirror, as listed.
type MirroredLog struct {
	Origin string
	Size   int64
	Root   Hash
	// Note is the latest signed checkpoint.
	Note []byte
	// Imported and Source say when and from which pack it came.
	Imported  time.Time
	Source    string
	Cosigners []string
	// History are the sizes mirrored, ascending.
	History []int64
}

// EvidenceRecord is stored evidence of an inconsistency.
type EvidenceRecord struct {
	Origin string
	Time   time.Time
	// Source names where the claimed checkpoint came from (a pack, a
	// bundle).
	Source string
	// Evidence is InconsistencyError.Evidence's text.
	Evidence string
}

// ListMirror returns the mirrored logs (only origin's when it is not
// ""), sorted by origin, and the stored evidence records.
func ListMirror(ctx context.Context, r MirrorReader, origin string) ([]MirroredLog, []EvidenceRecord, error) {
	return nil, nil, errNotYet
}

func quote(s string) string { return "\"" + s + "\"" }
