package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/airlock-project/airlock/bundle"
	"github.com/airlock-project/airlock/cache"
	"github.com/airlock-project/airlock/tlog"
	"github.com/airlock-project/airlock/trust"
)

// openSiteLogDB opens the site log held by db; nil, nil when it holds none.
// The log's latest checkpoint is checked against its stored key.
func openSiteLogDB(ctx context.Context, db *cache.DB) (*tlog.Log, error) {
	l, err := tlog.Open(ctx, &cache.SiteLog{DB: db})
	if errors.Is(err, tlog.ErrNoLog) {
		return nil, nil
	}
	return l, err
}

// siteLogKeys are the keys of the site log held by db, as trust takes
// them (nil when db holds no log). Each key is listed with the window in
// which it signed: today a log has one key, valid from the log's
// creation; a rotated log (log rotate-key) lists its earlier keys too,
// each closed at its rotation, so that bundles logged under them keep
// verifying.
func siteLogKeys(ctx context.Context, db *cache.DB) ([]trust.LogKey, error) {
	l, err := openSiteLogDB(ctx, db)
	if err != nil || l == nil {
		return nil, err
	}
	return logKeysOf(l.Meta()), nil
}

// logKeysOf lists a log's keys from its metadata, each with its window.
func logKeysOf(m tlog.Meta) []trust.LogKey {
	var keys []trust.LogKey
	for _, k := range m.Keys() {
		keys = append(keys, trust.LogKey{Origin: m.Origin, PublicKey: k.PublicKey, ValidFrom: k.From, ValidTo: k.To})
	}
	return keys
}

// siteLogTrustErr attaches a hint to an error reading the site log for
// trust: a log whose checkpoint does not verify with its stored key, or
// whose records do not decode, was changed outside airlock.
func siteLogTrustErr(err error) error {
	switch {
	case errors.Is(err, tlog.ErrCorrupt), errors.Is(err, tlog.ErrBadSignature), errors.Is(err, tlog.ErrMalformedCheckpoint):
		return withHint(fmt.Errorf("site log: %w", err), "the database's site log was changed outside airlock or is damaged: keep the file for investigation and restore it from a backup")
	}
	return trustErr(fmt.Errorf("site log: %w", err))
}

// siteLogEntries finds detached signatures' entries in the site log: the
// entry whose body the verifier rebuilt, its inclusion proof in the log's
// current checkpoint (whose signature tlog checks with the stored key),
// and its signed entry timestamp.
type siteLogEntries struct {
	ctx context.Context
	log *tlog.Log
}

func (s siteLogEntries) FindEntry(body []byte) (*bundle.FoundEntry, error) {
	e, err := s.log.Find(s.ctx, body)
	if errors.Is(err, tlog.ErrNotFound) {
		return nil, bundle.ErrEntryNotFound
	}
	if err != nil {
		return nil, err
	}
	// InclusionProof checks the proof against the current checkpoint's
	// root, the checkpoint against the log key.
	p, err := s.log.InclusionProof(s.ctx, e.Index, 0)
	if err != nil {
		return nil, err
	}
	// The key current when the entry was appended signed its SET: a
	// rotated log's earlier entries are a retired key's.
	key := s.log.EntryKey(e.Index)
	if err := tlog.VerifySET(key, e.SET, e.Body, e.IntegratedTime, e.Index); err != nil {
		return nil, err
	}
	kind, version, err := tlog.KindVersion(e.Body)
	if err != nil {
		return nil, err
	}
	m := s.log.Meta()
	le := bundle.LogEntry{
		Origin:           fmt.Sprintf("%s - %d", m.Origin, m.TreeID),
		LogID:            hex.EncodeToString(key.ID[:]),
		Index:            e.Index,
		TreeSize:         p.TreeSize,
		Kind:             kind,
		Version:          version,
		InclusionProof:   true,
		InclusionPromise: true,
	}
	if e.IntegratedTime > 0 {
		t := time.Unix(e.IntegratedTime, 0).UTC()
		le.IntegratedTime = &t
	}
	return &bundle.FoundEntry{Entry: le, Source: trust.SiteLogSourceName(m.Origin), URI: "https://" + m.Origin}, nil
}

// detachedEntries returns the finder for detached signatures' entries in
// the site log of the database at path; nil when there is no database or
// it holds no log. The database is opened for each look-up (read-only).
func detachedEntries(ctx context.Context, path string) (bundle.EntryFinder, error) {
	l, err := tlog.Open(ctx, &cache.SiteLogFile{Path: path})
	switch {
	case errors.Is(err, tlog.ErrNoLog):
		return nil, nil
	case err != nil:
		return nil, siteLogTrustErr(err)
	}
	return siteLogEntries{ctx: ctx, log: l}, nil
}
