//go:build airlocktest

package main

import (
	"fmt"
	"os"
	"time"

	"github.com/airlock-project/airlock/cache"
)

// In a binary built with -tags airlocktest (TestTrustUpdateKilled and
// TestCheckpointsImportKill9 build one), AIRLOCK_TEST_TRUST_COMMIT_DELAY=DURATION
// makes a trust or checkpoint-mirror commit pause inside its transaction, so that a test can kill the process mid-commit.
// A release binary has neither this file nor cache.SetCommitHook.
func init() {
	d, err := time.ParseDuration(os.Getenv("AIRLOCK_TEST_TRUST_COMMIT_DELAY"))
	if err != nil || d <= 0 {
		return
	}
	cache.SetCommitHook(func() {
		fmt.Fprintln(os.Stderr, "airlock: test hook: inside the trust transaction")
		time.Sleep(d)
	})
}
