package main

import (
	"fmt"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/urfave/cli/v2"
)

// trustSource is the trust one verification runs against, and where it came
// from. Owned by the trust-store issue; the verifier only reads it.
type trustSource struct {
	// Sources are tried in order; the first that verifies is the one that
	// vouched, and the result names it. There is always at least one.
	Sources []namedMaterial
	// From says where trust was loaded from: "trusted-root FILE" or "database FILE".
	From string
	// Time is the reference time the trust was evaluated at.
	Time time.Time
	// Warnings are shown on stderr and carried in JSON results (e.g. stale trust).
	Warnings []string
}

type namedMaterial struct {
	Name     string // repository name, or the --trusted-root file name
	Material root.TrustedMaterial
}

// loadTrust returns the trust for a verification at time now:
// --trusted-root FILE, else the database.
func loadTrust(c *cli.Context, now time.Time) (*trustSource, error) {
	if p := c.String("trusted-root"); p != "" {
		tr, err := root.NewTrustedRootFromPath(p)
		if err != nil {
			return nil, fmt.Errorf("reading trusted root %q: %w", p, err)
		}
		return &trustSource{Sources: []namedMaterial{{Name: p, Material: tr}}, From: "trusted-root " + p, Time: now}, nil
	}
	return nil, withHint(fmt.Errorf("no trusted root"), "pass --trusted-root FILE")
}
