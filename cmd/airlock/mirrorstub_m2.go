package main

// Temporary, until m1's cmd/airlock/mirror.go (mirrorStore) is merged.

import (
	"github.com/airlock-project/airlock/cache"
	"github.com/airlock-project/airlock/tlog"
)

func mirrorStore(db *cache.DB) tlog.MirrorReader { return nil }
