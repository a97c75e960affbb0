package bundle

import (
	"context"
	"errors"
	"fmt"
	"slices"

	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"

	"github.com/airlock-project/airlock/tlog"
)

// MirrorChecker checks a log's checkpoint against the mirrored history of
// that log: the checkpoints carried in from outside (tlog.CheckMirror
// over the database), or, for the site log, the log itself
// ((*tlog.Log).CheckClaim). It returns a *tlog.InconsistencyError
// (errors.Is tlog.ErrInconsistent) when the checkpoint cannot belong to
// the mirrored history; any other error means the mirror could not be
// read. It must not touch the network.
type MirrorChecker interface {
	CheckCheckpoint(ctx context.Context, c tlog.Claim) (*tlog.MirrorCheck, error)
}

// Mirror statuses a LogEntry's Mirror can have besides tlog's: the
// checkpoint contradicts the mirror.
const MirrorInconsistent tlog.MirrorStatus = "inconsistent"

// Mirror policies, as LogMirror.Policy names them.
const (
	MirrorPolicyWarn    = "warn"
	MirrorPolicyRequire = "require"
)

// LogMirror is what the mirror said about one log entry's checkpoint
// (JSON logEntries[].mirror; docs/json.md).
type LogMirror struct {
	// Status is "matched" (the mirror holds the same checkpoint),
	// "proved" (an older checkpoint, proved consistent with a mirrored
	// one), "unproved" (older, with no proof at hand), "newer" (newer
	// than the latest mirrored), "unmirrored" (no mirror of the log), or
	// "inconsistent" (a split view: rejected).
	Status tlog.MirrorStatus `json:"status"`
	// MirroredSize is the size of the mirrored checkpoint the entry's was
	// checked against (zero when unmirrored).
	MirroredSize int64 `json:"mirroredSize,omitempty"`
	// Policy is what a checkpoint the mirror cannot vouch for (unproved,
	// newer, unmirrored) meets: "warn" (the default) or "require"
	// (rejected: Options.RequireMirrored).
	Policy string `json:"policy"`
	// Witnesses are the witnesses of the witness policy whose
	// cosignatures were counted for the checkpoint; empty without a
	// policy.
	Witnesses []string `json:"witnesses"`
	// Evidence is, for an inconsistency, the text block an operator hands
	// over: both signed checkpoints and the proof that fails.
	Evidence string `json:"evidence,omitempty"`
}

// vouched reports whether the mirror vouches for a checkpoint of status s.
func vouched(s tlog.MirrorStatus) bool {
	return s == tlog.MirrorMatched || s == tlog.MirrorProved
}

// SplitViewError is wrapped by a ReasonSplitView rejection: a log entry's
// checkpoint cannot belong to the history the mirror holds. Err is the
// mirror's *tlog.InconsistencyError, with the evidence.
type SplitViewError struct {
	Index int64 // the log entry's index
	Err   *tlog.InconsistencyError
}

func (e *SplitViewError) Error() string {
	return fmt.Sprintf("SECURITY ERROR: log %q shows a split view: the checkpoint of log entry %d is not consistent with the mirrored checkpoints (%s)",
		e.Err.Origin, e.Index, e.Err.Detail)
}

func (e *SplitViewError) Unwrap() error { return e.Err }

// Evidence is the text block an operator hands over: both signed
// checkpoints and the proof that fails.
func (e *SplitViewError) Evidence() string { return e.Err.Evidence() }

// checkMirror checks every verified log entry of b that has an inclusion
// proof against the mirror, records what it said in r.LogEntries, and
// returns the warnings for checkpoints the mirror does not vouch for.
// Under RequireMirrored such a checkpoint is rejected, as is one without
// a witness quorum under a witness policy, and one that contradicts the
// mirror (a split view, whatever the policy). Errors that are not
// rejections mean the mirror could not be read.
//
// sigstore-go has verified each checkpoint's signature by the log's key
// before this runs; the mirror only decides whether it belongs to the
// history the site has seen.
func (v *Verifier) checkMirror(ctx context.Context, r *Result, b *sgbundle.Bundle) ([]string, error) {
	if v.opts.Mirror == nil {
		return nil, nil
	}
	policy := MirrorPolicyWarn
	if v.opts.RequireMirrored {
		policy = MirrorPolicyRequire
	}
	var warnings []string
	for i, tle := range b.GetVerificationMaterial().GetTlogEntries() {
		p := tle.GetInclusionProof()
		if p == nil || i >= len(r.LogEntries) {
			continue
		}
		signed := []byte(p.GetCheckpoint().GetEnvelope())
		n, err := tlog.ParseNote(signed)
		if err != nil {
			// sigstore-go verified it; a note tlog cannot read is
			// still not one the mirror can vouch for.
			return nil, Rejectf(ReasonCheckpointInvalid, "log entry %d: the checkpoint does not parse: %v", tle.GetLogIndex(), err)
		}
		m := &LogMirror{Policy: policy, Witnesses: []string{}}
		r.LogEntries[i].Mirror = m
		mc, err := v.opts.Mirror.CheckCheckpoint(ctx, tlog.Claim{Origin: n.Origin, Size: n.Size, Root: n.Root, Signed: signed})
		var ie *tlog.InconsistencyError
		switch {
		case errors.As(err, &ie):
			m.Status = MirrorInconsistent
			m.Evidence = ie.Evidence()
			if ie.Mirrored != nil {
				if mn, err := tlog.ParseNote(ie.Mirrored); err == nil {
					m.MirroredSize = mn.Size
				}
			}
			return nil, Reject(ReasonSplitView, &SplitViewError{Index: tle.GetLogIndex(), Err: ie})
		case err != nil:
			return nil, fmt.Errorf("log entry %d: checking the checkpoint against the mirror of %q: %w", tle.GetLogIndex(), n.Origin, err)
		}
		m.Status, m.MirroredSize = mc.Status, mc.MirrorSize
		if v.opts.Witness != nil && !slices.Contains(v.opts.WitnessExempt, n.Origin) {
			cosigners, err := v.witnessed(n, mc)
			m.Witnesses = append(m.Witnesses, cosigners...)
			switch {
			case errors.Is(err, tlog.ErrNoQuorum):
				return nil, Reject(ReasonWitnessQuorum, fmt.Errorf("log entry %d: the checkpoint of %q (size %d) is not witnessed: %w", tle.GetLogIndex(), n.Origin, n.Size, err))
			case err != nil:
				return nil, fmt.Errorf("log entry %d: checking the witness policy: %w", tle.GetLogIndex(), err)
			}
		}
		if vouched(mc.Status) {
			continue
		}
		what := notMirroredText(mc, n)
		if v.opts.RequireMirrored {
			return nil, Rejectf(ReasonNotMirrored, "log entry %d: %s", tle.GetLogIndex(), what)
		}
		warnings = append(warnings, what)
	}
	return warnings, nil
}

// witnessed checks the witness policy: the bundle's checkpoint n must
// carry a quorum of cosignatures, or, when the mirror vouches for it, the
// mirrored checkpoint it was matched or proved against must (witnesses
// that cosigned a later checkpoint of one consistent history vouch for
// the history up to it). It returns the witnesses counted.
func (v *Verifier) witnessed(n *tlog.Note, mc *tlog.MirrorCheck) ([]string, error) {
	cosigners, err := v.opts.Witness.Check(n)
	if err == nil || !vouched(mc.Status) {
		return cosigners, err
	}
	signed := mc.Note // the mirrored checkpoint it was matched or proved against
	if signed == nil {
		return cosigners, err
	}
	note, perr := tlog.ParseNote(signed)
	if perr != nil {
		return cosigners, err
	}
	mirrored, merr := v.opts.Witness.Check(note)
	if merr != nil {
		return cosigners, err
	}
	return mirrored, nil
}

// notMirroredText says why the mirror does not vouch for the checkpoint n.
func notMirroredText(mc *tlog.MirrorCheck, n *tlog.Note) string {
	switch mc.Status {
	case tlog.MirrorNewer:
		return fmt.Sprintf("the checkpoint of %q (size %d) is newer than the mirrored one (size %d): it is not shown consistent with the mirror", n.Origin, n.Size, mc.MirrorSize)
	case tlog.MirrorUnproved:
		return fmt.Sprintf("the checkpoint of %q (size %d) is older than the mirrored one (size %d) and no consistency proof between them is at hand", n.Origin, n.Size, mc.MirrorSize)
	default:
		return fmt.Sprintf("the checkpoint of %q (size %d) is not mirrored: no checkpoint of that log was imported", n.Origin, n.Size)
	}
}
