package tlog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
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
	// MirrorCheckpointAt returns origin's checkpoint record of tree size
	// size from its history (the latest included), nil if none.
	MirrorCheckpointAt(ctx context.Context, origin string, size int64) ([]byte, error)
	// MirrorSizes returns the sizes of origin's history, ascending.
	MirrorSizes(ctx context.Context, origin string) ([]int64, error)
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
	policy := o.Witness
	if policy == nil {
		text, err := s.WitnessPolicy(ctx)
		if err != nil {
			return nil, err
		}
		if text != nil {
			if policy, err = ParseWitnessPolicy(text); err != nil {
				return nil, fmt.Errorf("%w: stored witness policy: %v", ErrMirrorCorrupt, err)
			}
		}
	}
	res := &ImportResult{}
	commit := MirrorCommit{Audit: MirrorAudit{Kind: "checkpoints-import", Time: o.Now, Fields: map[string]string{
		"source": o.Source, "logs": strconv.Itoa(len(p.Logs)),
	}}}
	seen := map[string]bool{}
	for i, pl := range p.Logs {
		n, tl, err := OpenNote(pl.Checkpoint, o.Logs)
		if err != nil {
			return nil, fmt.Errorf("log %d of the pack: %w", i, err)
		}
		if seen[n.Origin] {
			return nil, fmt.Errorf("%w: log %q appears twice", ErrMalformedPack, n.Origin)
		}
		seen[n.Origin] = true
		var cosigners []string
		if policy != nil {
			if cosigners, err = policy.Check(n); err != nil {
				return nil, err
			}
		}
		oc, il, err := importLog(ctx, s, n, pl.Proofs, o, cosigners)
		if err != nil {
			var ie *InconsistencyError
			if errors.As(err, &ie) {
				if serr := storeEvidence(ctx, s, ie, o.Source, o.Now); serr != nil {
					return nil, errors.Join(err, fmt.Errorf("storing the evidence: %w", serr))
				}
			}
			return nil, err
		}
		il.Source = tl.Source
		res.Logs = append(res.Logs, *il)
		commit.Audit.Fields["log."+strconv.Itoa(i)] = fmt.Sprintf("%s %s %d->%d", il.Status, il.Origin, il.From, il.To)
		if oc != nil {
			commit.Origins = append(commit.Origins, *oc)
		}
	}
	ok, err := s.CommitMirror(ctx, commit)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrMirrorConflict
	}
	return res, nil
}

// ErrNoConsistencyProof is returned by ImportPack for a checkpoint larger
// than the mirrored one without a proof from the mirrored size.
var ErrNoConsistencyProof = errors.New("no consistency proof from the mirrored size")

// checkpointRecord is the stored form of a mirrored checkpoint.
type checkpointRecord struct {
	Note      string    `json:"note"`
	Imported  time.Time `json:"imported"`
	Source    string    `json:"source"`
	Cosigners []string  `json:"cosigners,omitempty"`

	note *Note
}

func encodeCheckpoint(n *Note, source string, now time.Time, cosigners []string) []byte {
	b, _ := json.Marshal(checkpointRecord{Note: string(n.Signed), Imported: now.UTC(), Source: source, Cosigners: cosigners})
	return b
}

func decodeCheckpoint(rec []byte, origin string) (*checkpointRecord, error) {
	var r checkpointRecord
	if err := json.Unmarshal(rec, &r); err != nil {
		return nil, fmt.Errorf("%w: checkpoint record of %q: %v", ErrMirrorCorrupt, origin, err)
	}
	n, err := ParseNote([]byte(r.Note))
	if err != nil || n.Origin != origin {
		return nil, fmt.Errorf("%w: checkpoint record of %q does not hold a checkpoint of it", ErrMirrorCorrupt, origin)
	}
	r.note = n
	return &r, nil
}

// checkpointAt returns origin's mirrored checkpoint of size size, nil if
// the mirror holds none.
func checkpointAt(ctx context.Context, r MirrorReader, origin string, size int64) (*checkpointRecord, error) {
	rec, err := r.MirrorCheckpointAt(ctx, origin, size)
	if err != nil || rec == nil {
		return nil, err
	}
	return decodeCheckpoint(rec, origin)
}

// sameSizeFork is the evidence of two checkpoints of one size with
// different roots.
func sameSizeFork(origin string, size int64, claimed, mirrored []byte) *InconsistencyError {
	return &InconsistencyError{Origin: origin, Claimed: claimed, Mirrored: mirrored,
		Detail: fmt.Sprintf("two different root hashes for the tree of size %d", size)}
}

// importLog checks one log of a pack against the mirror and returns what
// to commit for it (nil: nothing).
func importLog(ctx context.Context, s MirrorStore, n *Note, proofs []ConsistencyProof, o ImportOptions, cosigners []string) (*OriginCommit, *ImportedLog, error) {
	il := &ImportedLog{Origin: n.Origin, To: n.Size, Cosigners: cosigners}
	for _, pr := range proofs {
		if (pr.Origin != "" && pr.Origin != n.Origin) || pr.To != n.Size || pr.From < 0 || pr.From >= n.Size {
			return nil, nil, fmt.Errorf("%w: proof from size %d to %d does not go to the checkpoint of %q (size %d)", ErrMalformedPack, pr.From, pr.To, n.Origin, n.Size)
		}
	}
	latestRec, err := s.MirrorLatest(ctx, n.Origin)
	if err != nil {
		return nil, nil, err
	}
	var proofRecs []ProofRecord
	// Every proof from a size the mirror holds is checked now; the others
	// (from a bundle's size) are stored and checked when a claim of that
	// size comes.
	for _, pr := range proofs {
		pr.Origin = n.Origin
		old, err := checkpointAt(ctx, s, n.Origin, pr.From)
		if err != nil {
			return nil, nil, err
		}
		if old != nil {
			if err := VerifyConsistency(pr, old.note.Root, n.Root); err != nil {
				return nil, nil, withNotes(err, n.Signed, old.note.Signed)
			}
		}
		text, err := pr.MarshalText()
		if err != nil {
			return nil, nil, err
		}
		proofRecs = append(proofRecs, ProofRecord{From: pr.From, To: pr.To, Record: text})
	}
	oc := &OriginCommit{Origin: n.Origin, Size: n.Size, Latest: encodeCheckpoint(n, o.Source, o.Now, cosigners), Proofs: proofRecs}
	if latestRec == nil {
		il.Status = StatusNew
		return oc, il, nil
	}
	latest, err := decodeCheckpoint(latestRec, n.Origin)
	if err != nil {
		return nil, nil, err
	}
	l := latest.note
	il.From = l.Size
	oc.ExpectLatest = latestRec
	switch {
	case n.Size < l.Size:
		old, err := checkpointAt(ctx, s, n.Origin, n.Size)
		if err != nil {
			return nil, nil, err
		}
		if old != nil && old.note.Root != n.Root {
			return nil, nil, sameSizeFork(n.Origin, n.Size, n.Signed, old.note.Signed)
		}
		return nil, nil, fmt.Errorf("%w: the pack's checkpoint of %q has size %d, the mirror's %d", ErrRollback, n.Origin, n.Size, l.Size)
	case n.Size == l.Size:
		if n.Root != l.Root {
			return nil, nil, sameSizeFork(n.Origin, n.Size, n.Signed, l.Signed)
		}
		il.Status = StatusUnchanged
		return nil, il, nil
	}
	if l.Size > 0 && !slices.ContainsFunc(proofs, func(pr ConsistencyProof) bool { return pr.From == l.Size }) {
		return nil, nil, fmt.Errorf("%w: the pack's checkpoint of %q has size %d and no proof from the mirrored size %d", ErrNoConsistencyProof, n.Origin, n.Size, l.Size)
	}
	il.Status = StatusAdvanced
	return oc, il, nil
}

// withNotes fills the notes into an *InconsistencyError from
// VerifyConsistency.
func withNotes(err error, claimed, mirrored []byte) error {
	var ie *InconsistencyError
	if errors.As(err, &ie) {
		ie.Claimed, ie.Mirrored = claimed, mirrored
	}
	return err
}

// storeEvidence records ie in s.
func storeEvidence(ctx context.Context, s MirrorStore, ie *InconsistencyError, source string, now time.Time) error {
	rec, _ := json.Marshal(EvidenceRecord{Origin: ie.Origin, Time: now.UTC(), Source: source, Detail: ie.Detail, Evidence: ie.Evidence()})
	return s.AddEvidence(ctx, ie.Origin, rec, MirrorAudit{Kind: "checkpoints-inconsistency", Time: now, Fields: map[string]string{
		"origin": ie.Origin, "source": source, "detail": ie.Detail,
	}})
}

// RecordEvidence stores the evidence of ie in s (with an audit record),
// for a verifier that found an inconsistency between a bundle and the
// mirror. source names the bundle.
func RecordEvidence(ctx context.Context, s MirrorStore, ie *InconsistencyError, source string, now time.Time) error {
	return storeEvidence(ctx, s, ie, source, now)
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
	// Note is that mirrored checkpoint's signed note (with its
	// cosignatures), nil when unmirrored or for the site log (which has
	// no witnesses).
	Note []byte
}

// CheckMirror compares c with the mirror r, read-only. A claim that
// contradicts the mirror (same size, other root; a stored proof that does
// not verify) is an *InconsistencyError; the caller may store its
// evidence.
func CheckMirror(ctx context.Context, r MirrorReader, c Claim) (*MirrorCheck, error) {
	mc := &MirrorCheck{Origin: c.Origin, Status: MirrorUnmirrored}
	latestRec, err := r.MirrorLatest(ctx, c.Origin)
	if err != nil || latestRec == nil {
		return mc, err
	}
	latest, err := decodeCheckpoint(latestRec, c.Origin)
	if err != nil {
		return nil, err
	}
	l := latest.note
	mc.MirrorSize, mc.Witnesses, mc.Note = l.Size, latest.Cosigners, l.Signed
	switch {
	case c.Size > l.Size:
		mc.Status = MirrorNewer
		return mc, nil
	case c.Size == l.Size:
		if c.Root != l.Root {
			return nil, sameSizeFork(c.Origin, c.Size, c.Signed, l.Signed)
		}
		mc.Status = MirrorMatched
		return mc, nil
	}
	if at, err := checkpointAt(ctx, r, c.Origin, c.Size); err != nil {
		return nil, err
	} else if at != nil {
		if at.note.Root != c.Root {
			return nil, sameSizeFork(c.Origin, c.Size, c.Signed, at.note.Signed)
		}
		mc.Status, mc.MirrorSize, mc.Witnesses, mc.Note = MirrorMatched, c.Size, at.Cosigners, at.note.Signed
		return mc, nil
	}
	proofs, err := r.MirrorProofsFrom(ctx, c.Origin, c.Size)
	if err != nil {
		return nil, err
	}
	// A stored proof is not signed: one that fails does not show a fork
	// while another proves the claim. Only when every proof to a mirrored
	// size fails is the claim reported inconsistent (with the first).
	var failed error
	for _, to := range slices.Backward(slices.Sorted(maps.Keys(proofs))) {
		at, err := checkpointAt(ctx, r, c.Origin, to)
		if err != nil {
			return nil, err
		}
		if at == nil {
			continue
		}
		pr, err := ParseProof(proofs[to], c.Origin, to)
		if err != nil || pr.From != c.Size {
			return nil, fmt.Errorf("%w: stored proof of %q from %d to %d", ErrMirrorCorrupt, c.Origin, c.Size, to)
		}
		if err := VerifyConsistency(*pr, c.Root, at.note.Root); err != nil {
			if failed == nil {
				failed = withNotes(err, c.Signed, at.note.Signed)
			}
			continue
		}
		mc.Status, mc.MirrorSize, mc.Witnesses, mc.Note = MirrorProved, to, at.Cosigners, at.note.Signed
		return mc, nil
	}
	if failed != nil {
		return nil, failed
	}
	mc.Status = MirrorUnproved
	return mc, nil
}

// CheckClaim compares c with the site log, its own mirror: a size up to
// the log's must have the log's root at that size (MirrorMatched), a
// larger one is MirrorNewer. A claim of another origin is
// MirrorUnmirrored.
func (l *Log) CheckClaim(ctx context.Context, c Claim) (*MirrorCheck, error) {
	meta := l.Meta()
	origin := fmt.Sprintf("%s - %d", meta.Origin, meta.TreeID)
	mc := &MirrorCheck{Origin: c.Origin, Status: MirrorUnmirrored}
	if c.Origin != origin {
		return mc, nil
	}
	head, err := l.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	mc.MirrorSize = head.Size
	if c.Size > head.Size {
		mc.Status = MirrorNewer
		return mc, nil
	}
	root, err := l.RootHash(ctx, c.Size)
	if err != nil {
		return nil, err
	}
	if root == c.Root {
		mc.Status, mc.MirrorSize = MirrorMatched, c.Size
		return mc, nil
	}
	ie := &InconsistencyError{Origin: c.Origin, Claimed: c.Signed, Mirrored: head.Note,
		Detail: fmt.Sprintf("the site log's tree of size %d has another root hash", c.Size)}
	if at, err := l.CheckpointAt(ctx, c.Size); err == nil && at != nil {
		ie.Mirrored = at.Note
	} else if c.Size > 0 && c.Size < head.Size {
		if hashes, err := l.ConsistencyProof(ctx, c.Size, head.Size); err == nil {
			ie.Proof = &ConsistencyProof{Origin: c.Origin, From: c.Size, To: head.Size, Hashes: hashes}
			ie.Detail = fmt.Sprintf("the site log's consistency proof from size %d to %d does not verify with the claimed root hash", c.Size, head.Size)
		}
	}
	return nil, ie
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
	return fmt.Sprintf("log %q is inconsistent: %s", e.Origin, e.Detail)
}

// Is reports whether target is ErrInconsistent.
func (e *InconsistencyError) Is(target error) bool { return target == ErrInconsistent }

// Evidence returns a text block an operator can hand to others: both
// notes verbatim, the proof in its text form, and what failed.
func (e *InconsistencyError) Evidence() string {
	var b strings.Builder
	fmt.Fprintf(&b, "log %q shows two histories: %s\n", e.Origin, e.Detail)
	block := func(label string, data []byte) {
		fmt.Fprintf(&b, "-----BEGIN %s-----\n", label)
		b.Write(data)
		if len(data) > 0 && data[len(data)-1] != '\n' {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "-----END %s-----\n", label)
	}
	block("CLAIMED CHECKPOINT", e.Claimed)
	block("MIRRORED CHECKPOINT", e.Mirrored)
	if e.Proof != nil {
		text, err := e.Proof.MarshalText()
		if err == nil {
			block(fmt.Sprintf("CONSISTENCY PROOF %d TO %d", e.Proof.From, e.Proof.To), text)
		}
	}
	return b.String()
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
	Origin string    `json:"origin"`
	Time   time.Time `json:"time"`
	// Source names where the claimed checkpoint came from (a pack, a
	// bundle).
	Source string `json:"source"`
	// Detail says what failed.
	Detail string `json:"detail"`
	// Evidence is InconsistencyError.Evidence's text.
	Evidence string `json:"evidence"`
}

// ListMirror returns the mirrored logs (only origin's when it is not
// ""), sorted by origin, and the stored evidence records.
func ListMirror(ctx context.Context, r MirrorReader, origin string) ([]MirroredLog, []EvidenceRecord, error) {
	origins, err := r.MirrorOrigins(ctx)
	if err != nil {
		return nil, nil, err
	}
	var logs []MirroredLog
	for _, o := range origins {
		if origin != "" && o != origin {
			continue
		}
		rec, err := r.MirrorLatest(ctx, o)
		if err != nil {
			return nil, nil, err
		}
		if rec == nil {
			continue
		}
		cr, err := decodeCheckpoint(rec, o)
		if err != nil {
			return nil, nil, err
		}
		sizes, err := r.MirrorSizes(ctx, o)
		if err != nil {
			return nil, nil, err
		}
		logs = append(logs, MirroredLog{Origin: o, Size: cr.note.Size, Root: cr.note.Root, Note: cr.note.Signed,
			Imported: cr.Imported, Source: cr.Source, Cosigners: cr.Cosigners, History: sizes})
	}
	recs, err := r.MirrorEvidence(ctx, origin)
	if err != nil {
		return nil, nil, err
	}
	var ev []EvidenceRecord
	for _, rec := range recs {
		var e EvidenceRecord
		if err := json.Unmarshal(rec, &e); err != nil {
			return nil, nil, fmt.Errorf("%w: evidence record: %v", ErrMirrorCorrupt, err)
		}
		ev = append(ev, e)
	}
	return logs, ev, nil
}
