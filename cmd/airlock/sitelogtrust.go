package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/airlock-project/airlock/cache"
	"github.com/airlock-project/airlock/tlog"
	"github.com/airlock-project/airlock/trust"
)

// openSiteLog opens the site log held by db; nil, nil when it holds none.
// The log's latest checkpoint is checked against its stored key.
func openSiteLog(ctx context.Context, db *cache.DB) (*tlog.Log, error) {
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
	l, err := openSiteLog(ctx, db)
	if err != nil || l == nil {
		return nil, err
	}
	return logKeysOf(l.Meta()), nil
}

// logKeysOf lists a log's keys from its metadata.
func logKeysOf(m tlog.Meta) []trust.LogKey {
	return []trust.LogKey{{Origin: m.Origin, PublicKey: m.PublicKey, ValidFrom: m.Created}}
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
