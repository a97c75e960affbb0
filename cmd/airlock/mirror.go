package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"time"

	"github.com/airlock-project/airlock/cache"
	"github.com/airlock-project/airlock/tlog"
	"github.com/airlock-project/airlock/trust"
)

// mirrorStore is the checkpoint mirror of an open database as tlog's
// MirrorStore (for reading: verification, list).
func mirrorStore(db *cache.DB) mirrorAdapter {
	return mirrorAdapter{&cache.MirrorStore{DB: db}}
}

// mirrorFile is the mirror of the database at path, opened as needed (see
// cache.MirrorFile): what an import writes through, so that a refused
// pack leaves the file untouched. Close it when done.
func mirrorFile(path string) (mirrorAdapter, func() error) {
	f := &cache.MirrorFile{Path: path}
	return mirrorAdapter{f}, f.Close
}

// cacheMirror is the mirror as cache speaks it.
type cacheMirror interface {
	MirrorOrigins(ctx context.Context) ([]string, error)
	MirrorLatest(ctx context.Context, origin string) ([]byte, error)
	MirrorCheckpointAt(ctx context.Context, origin string, size int64) ([]byte, error)
	MirrorSizes(ctx context.Context, origin string) ([]int64, error)
	MirrorProofsFrom(ctx context.Context, origin string, from int64) (map[int64][]byte, error)
	MirrorEvidence(ctx context.Context, origin string) ([][]byte, error)
	WitnessPolicy(ctx context.Context) ([]byte, error)
	CommitMirror(ctx context.Context, c cache.MirrorCommit) (bool, error)
	AddEvidence(ctx context.Context, origin string, record []byte, audit cache.AuditRecord) error
	SetWitnessPolicy(ctx context.Context, text []byte, audit cache.AuditRecord) error
}

// mirrorAdapter is the cache's mirror as tlog.MirrorStore. cache does not
// import tlog, so it speaks its own commit types; this is the wiring
// between them (as trustStore is for TUF).
type mirrorAdapter struct{ m cacheMirror }

func (m mirrorAdapter) MirrorOrigins(ctx context.Context) ([]string, error) {
	return m.m.MirrorOrigins(ctx)
}
func (m mirrorAdapter) MirrorLatest(ctx context.Context, origin string) ([]byte, error) {
	return m.m.MirrorLatest(ctx, origin)
}
func (m mirrorAdapter) MirrorCheckpointAt(ctx context.Context, origin string, size int64) ([]byte, error) {
	return m.m.MirrorCheckpointAt(ctx, origin, size)
}
func (m mirrorAdapter) MirrorSizes(ctx context.Context, origin string) ([]int64, error) {
	return m.m.MirrorSizes(ctx, origin)
}
func (m mirrorAdapter) MirrorProofsFrom(ctx context.Context, origin string, from int64) (map[int64][]byte, error) {
	return m.m.MirrorProofsFrom(ctx, origin, from)
}
func (m mirrorAdapter) MirrorEvidence(ctx context.Context, origin string) ([][]byte, error) {
	return m.m.MirrorEvidence(ctx, origin)
}
func (m mirrorAdapter) WitnessPolicy(ctx context.Context) ([]byte, error) {
	return m.m.WitnessPolicy(ctx)
}

func (m mirrorAdapter) CommitMirror(ctx context.Context, c tlog.MirrorCommit) (bool, error) {
	cc := cache.MirrorCommit{Audit: auditRecord(c.Audit)}
	for _, o := range c.Origins {
		oc := cache.MirrorOriginCommit{Origin: o.Origin, ExpectLatest: o.ExpectLatest, Size: o.Size, Latest: o.Latest}
		for _, p := range o.Proofs {
			oc.Proofs = append(oc.Proofs, cache.MirrorProof{From: p.From, To: p.To, Record: p.Record})
		}
		cc.Origins = append(cc.Origins, oc)
	}
	return m.m.CommitMirror(ctx, cc)
}

func (m mirrorAdapter) AddEvidence(ctx context.Context, origin string, record []byte, audit tlog.MirrorAudit) error {
	return m.m.AddEvidence(ctx, origin, record, auditRecord(audit))
}

func (m mirrorAdapter) SetWitnessPolicy(ctx context.Context, text []byte, audit tlog.MirrorAudit) error {
	return m.m.SetWitnessPolicy(ctx, text, auditRecord(audit))
}

func auditRecord(a tlog.MirrorAudit) cache.AuditRecord {
	return cache.AuditRecord{Kind: a.Kind, Time: a.Time, Fields: a.Fields}
}

// trustedLogs lists the transparency logs sel vouches for, as the mirror
// takes them: every Rekor log of every source (TUF repositories, pinned
// trusted roots, and the site log's keys, which trust.WithSiteLog adds as
// a source of their own). A log's host is the name its checkpoints are
// signed under: its base URL's host, with the port if it has one (Rekor
// v1 names itself so: "localhost:8000") and without (rekor-tiles' origin
// is its --hostname). Logs of a key type no checkpoint is signed with are
// left out.
func trustedLogs(sel *trust.Selection) []tlog.TrustedLog {
	if sel == nil {
		return nil
	}
	var out []tlog.TrustedLog
	for _, s := range sel.Sources {
		if s.Material == nil {
			continue
		}
		logs := s.Material.RekorLogs()
		ids := make([]string, 0, len(logs))
		for id := range logs {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			l := logs[id]
			u, err := url.Parse(l.BaseURL)
			if err != nil || u.Hostname() == "" {
				continue
			}
			hosts := []string{u.Hostname()}
			if u.Port() != "" {
				hosts = append(hosts, u.Host)
			}
			for _, host := range hosts {
				logID, err := tlog.LogID(host, l.PublicKey)
				if err != nil {
					continue
				}
				out = append(out, tlog.TrustedLog{Host: host, Key: l.PublicKey, LogID: logID, Source: s.Name,
					Start: l.ValidityPeriodStart, End: l.ValidityPeriodEnd})
			}
		}
	}
	return out
}

// databaseLogs returns the logs the database at db trusts: every
// repository (re-verified from its anchor, within the trust age limit)
// and the site log.
func databaseLogs(ctx context.Context, db *cache.DB, now time.Time, maxAge time.Duration) ([]tlog.TrustedLog, error) {
	sel, err := trust.ForVerification(ctx, tufStore(db), now, maxAge)
	if err == nil || errors.As(err, new(*trust.SelectionError)) || errors.Is(err, trust.ErrNoTrust) {
		keys, kerr := siteLogKeys(ctx, db)
		if kerr != nil {
			return nil, siteLogTrustErr(kerr)
		}
		if errors.Is(err, trust.ErrNoTrust) && len(keys) > 0 {
			sel, err = &trust.Selection{Time: now}, nil
		}
		sel, err = trust.WithSiteLog(sel, err, keys)
	}
	if err != nil {
		return nil, trustErr(err)
	}
	return trustedLogs(sel), nil
}

// mirrorErr attaches the hint that goes with a mirror error.
func mirrorErr(err error) error {
	switch {
	case errors.Is(err, tlog.ErrUnknownLog):
		return withHint(err, "the database trusts no log of that name and key: pin the log's trusted root ('airlock trust init'), or check that the pack comes from the log you expect")
	case errors.Is(err, tlog.ErrNoConsistencyProof):
		return withHint(err, "ask the exporter for a pack with a proof from the mirrored size ('airlock checkpoints list' shows it; 'airlock log pack --from-size N' for a site log)")
	case errors.Is(err, tlog.ErrRollback):
		return withHint(err, "the pack is older than what is mirrored; nothing was imported")
	case errors.Is(err, tlog.ErrNoQuorum):
		return withHint(err, "the checkpoint lacks the cosignatures the witness policy requires ('airlock checkpoints policy show'); nothing was imported")
	case errors.Is(err, tlog.ErrMirrorCorrupt):
		return withHint(err, "the database's checkpoint mirror was changed outside airlock or is damaged: keep the file for investigation and restore it from a backup")
	case errors.Is(err, tlog.ErrMirrorConflict):
		return withHint(err, "another airlock process imported meanwhile; run the import again")
	}
	return trustErr(err)
}

// printSecurityError prints err (which holds ie) on w (stderr) as a
// SECURITY ERROR followed by ie's evidence, verbatim.
// evidenceIntro introduces a split view's evidence, wherever it is found
// (checkpoints import, verify-consistency, verification).
const evidenceIntro = "airlock: evidence (both signed checkpoints and the proof; hand it to the log's operator and other sites):\n"

func printSecurityError(w io.Writer, err error, ie *tlog.InconsistencyError) {
	fmt.Fprintf(w, "airlock: SECURITY ERROR: %s\n", oneLine(err.Error()))
	fmt.Fprint(w, evidenceIntro, ie.Evidence())
}
