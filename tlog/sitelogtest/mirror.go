package sitelogtest

import (
	"context"

	"github.com/airlock-project/airlock/cache"
	"github.com/airlock-project/airlock/tlog"
)

// Mirror is the checkpoint mirror of db as tlog.MirrorStore, wired as
// cmd/airlock wires it, for tests of package tlog.
func Mirror(db *cache.DB) tlog.MirrorStore { return mirror{&cache.MirrorStore{DB: db}} }

type mirror struct{ *cache.MirrorStore }

func (m mirror) CommitMirror(ctx context.Context, c tlog.MirrorCommit) (bool, error) {
	cc := cache.MirrorCommit{Audit: cache.AuditRecord{Kind: c.Audit.Kind, Time: c.Audit.Time, Fields: c.Audit.Fields}}
	for _, o := range c.Origins {
		oc := cache.MirrorOriginCommit{Origin: o.Origin, ExpectLatest: o.ExpectLatest, Size: o.Size, Latest: o.Latest}
		for _, p := range o.Proofs {
			oc.Proofs = append(oc.Proofs, cache.MirrorProof(p))
		}
		cc.Origins = append(cc.Origins, oc)
	}
	return m.MirrorStore.CommitMirror(ctx, cc)
}

func (m mirror) AddEvidence(ctx context.Context, origin string, record []byte, a tlog.MirrorAudit) error {
	return m.MirrorStore.AddEvidence(ctx, origin, record, cache.AuditRecord{Kind: a.Kind, Time: a.Time, Fields: a.Fields})
}

func (m mirror) SetWitnessPolicy(ctx context.Context, text []byte, a tlog.MirrorAudit) error {
	return m.MirrorStore.SetWitnessPolicy(ctx, text, cache.AuditRecord{Kind: a.Kind, Time: a.Time, Fields: a.Fields})
}

// TrustedLog is l's current key as the mirror trusts it.
func TrustedLog(l *tlog.Log) tlog.TrustedLog {
	k := l.Key()
	return tlog.TrustedLog{Host: l.Meta().Origin, Key: k.Public, LogID: k.ID[:], Source: "site-log " + l.Meta().Origin, Start: l.Meta().Created}
}
