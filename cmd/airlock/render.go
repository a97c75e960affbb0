package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/airlock-project/airlock/bundle"
	"github.com/urfave/cli/v2"
)

// renderResults prints verification results: "Verified OK" (one item) or
// one line per item (a batch) in text; one JSON object per item, one per
// line, with --output json. It returns the error that sets the exit code:
// nil when all verified, a rejection (1) if any was rejected, otherwise a
// could-not-run error (2) if any item could not be checked.
//
// verify-attestation without --type (anyType) says on stderr which
// predicate type it accepted.
func renderResults(c *cli.Context, jsonOut, anyType bool, v *bundle.Verifier, items []bundle.Item, results []bundle.ItemResult) error {
	batch := len(items) > 1
	stdout, stderr := c.App.Writer, c.App.ErrWriter
	var warned []string
	for _, ir := range results {
		if ir.Result == nil {
			continue
		}
		for _, w := range ir.Result.Warnings {
			if !slices.Contains(warned, w) {
				warned = append(warned, w)
				fmt.Fprintf(stderr, "airlock: warning: %s\n", w)
			}
		}
	}

	rejected, failed := 0, 0
	for _, ir := range results {
		switch {
		case ir.Err == nil:
		case errors.Is(ir.Err, bundle.ErrRejected):
			rejected++
		default:
			failed++
		}
	}

	if !batch {
		ir := results[0]
		if jsonOut && ir.Result != nil {
			writeJSONLine(stdout, ir.Result)
		}
		if ir.Err != nil {
			// The caller's hint (repositories left out of database trust)
			// beats a generic one, not one that names the defect.
			h := rejectionHint(items[0], ir, v.Key() != nil)
			if errors.As(ir.Err, new(*hintError)) && (h == "" || h == trustedRootMissingHint) {
				return ir.Err
			}
			return withHint(ir.Err, h)
		}
		if !jsonOut {
			fmt.Fprintln(stdout, "Verified OK")
		}
		if anyType && ir.Result != nil && ir.Result.PredicateType != "" {
			fmt.Fprintf(stderr, "airlock: note: accepted predicate type %q (any type: no --type given)\n", ir.Result.PredicateType)
		}
		return nil
	}

	for i, ir := range results {
		r := ir.Result
		if r == nil {
			r = v.ErrorResult(items[i], ir.Err)
		}
		if jsonOut {
			writeJSONLine(stdout, r)
			printEvidence(stderr, ir.Err)
			continue
		}
		switch {
		case ir.Err == nil:
			fmt.Fprintf(stdout, "OK %s\n", r.Artifact.Name)
		case errors.Is(ir.Err, bundle.ErrRejected):
			fmt.Fprintf(stdout, "REJECTED %s: %s\n", r.Artifact.Name, oneLine(ir.Err.Error()))
			printEvidence(stderr, ir.Err)
		default:
			fmt.Fprintf(stdout, "ERROR %s: %s\n", r.Artifact.Name, oneLine(ir.Err.Error()))
		}
	}
	// Both counts are told: a summary that named only the rejections
	// would hide items that were never checked.
	if rejected > 0 {
		fmt.Fprintf(stderr, "airlock: error: %d of %d rejected\n", rejected, len(results))
	}
	if failed > 0 {
		fmt.Fprintf(stderr, "airlock: error: %d of %d could not be checked\n", failed, len(results))
	}
	switch {
	case rejected > 0:
		return &silentError{exitRejected}
	case failed > 0:
		return &silentError{exitFailed}
	}
	if !jsonOut {
		fmt.Fprintf(stdout, "Verified OK: %d of %d\n", len(results), len(results))
	}
	if anyType {
		var types []string
		for _, ir := range results {
			if t := ir.Result.PredicateType; t != "" && !slices.Contains(types, t) {
				types = append(types, t)
				fmt.Fprintf(stderr, "airlock: note: accepted predicate type %q (any type: no --type given)\n", t)
			}
		}
	}
	return nil
}

// writeJSON writes one indented JSON document: the form of every non-batch
// command's --output json.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func writeJSONLine(w io.Writer, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Results are plain data; this cannot happen.
		panic(err)
	}
	w.Write(append(b, '\n'))
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// rejectionHint is the hint for a rejected item: evidence given with the
// wrong flag or to the wrong command first (the mistake to fix first),
// else the reason table's.
func rejectionHint(it bundle.Item, ir bundle.ItemResult, withKey bool) string {
	if ir.Result == nil || !errors.Is(ir.Err, bundle.ErrRejected) {
		return ""
	}
	if lbe := new(bundle.LogBundleError); errors.As(ir.Err, &lbe) {
		// The bundle given beside a detached signature is at fault.
		if h := formHint(bundle.EvidenceBundle, lbe.Bundle); h != "" {
			return h
		}
		return reasonHint(ir.Err, hintContext{evidence: lbe.Bundle, kind: bundle.EvidenceBundle, withKey: withKey})
	}
	if h := formHint(it.Kind, ir.Result.Evidence); h != "" {
		return h
	}
	return reasonHint(ir.Err, hintContext{evidence: ir.Result.Evidence, kind: it.Kind, withKey: withKey})
}
