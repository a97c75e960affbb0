package main

// Temporary, until m1's cmd/airlock/mirror.go (mirrorStore) is merged: an
// empty mirror.

import (
	"context"

	"github.com/airlock-project/airlock/cache"
	"github.com/airlock-project/airlock/tlog"
)

func mirrorStore(db *cache.DB) tlog.MirrorStore { return emptyMirror{} }

type emptyMirror struct{}

func (emptyMirror) MirrorOrigins(context.Context) ([]string, error)        { return nil, nil }
func (emptyMirror) MirrorLatest(context.Context, string) ([]byte, error)   { return nil, nil }
func (emptyMirror) MirrorCheckpointAt(context.Context, string, int64) ([]byte, error) {
	return nil, nil
}
func (emptyMirror) MirrorSizes(context.Context, string) ([]int64, error) { return nil, nil }
func (emptyMirror) MirrorProofsFrom(context.Context, string, int64) (map[int64][]byte, error) {
	return nil, nil
}
func (emptyMirror) MirrorEvidence(context.Context, string) ([][]byte, error) { return nil, nil }
func (emptyMirror) WitnessPolicy(context.Context) ([]byte, error)            { return nil, nil }
func (emptyMirror) CommitMirror(context.Context, tlog.MirrorCommit) (bool, error) {
	return false, nil
}
func (emptyMirror) AddEvidence(context.Context, string, []byte, tlog.MirrorAudit) error { return nil }
func (emptyMirror) SetWitnessPolicy(context.Context, []byte, tlog.MirrorAudit) error     { return nil }
