package main

import (
	"errors"
	"testing"

	"github.com/airlock-project/airlock/bundle"
)

// TestReasonTableComplete checks that every bundle.Reason has a row, and
// that a rejection for each exits 1, as the conformance suite requires.
func TestReasonTableComplete(t *testing.T) {
	for _, r := range bundle.Reasons {
		row, ok := reasonTable[r]
		if !ok {
			t.Errorf("reason %q has no row in reasonTable", r)
			continue
		}
		if got := exitCode(bundle.Reject(r, errors.New("x"))); got != exitRejected || row.exit != exitRejected {
			t.Errorf("reason %q exits %d, want %d", r, got, exitRejected)
		}
	}
	for r := range reasonTable {
		found := false
		for _, x := range bundle.Reasons {
			found = found || x == r
		}
		if !found {
			t.Errorf("reasonTable has %q, which bundle.Reasons does not list", r)
		}
	}
}

// TestPredicateTypeHint: the default type's hint names the fix with
// cosign's --type name.
func TestPredicateTypeHint(t *testing.T) {
	err := bundle.Reject(bundle.ReasonPredicateTypeMismatch, &bundle.PredicateTypeError{Got: bundle.PredicateCustom, Want: bundle.PredicateSPDX})
	got := reasonHint(err, hintContext{})
	want := "it was attested as cosign's default type (attest-blob without --type): re-attest with --type spdxjson, or wrap the predicate as docs/sign.md shows"
	if got != want {
		t.Errorf("hint %q, want %q", got, want)
	}
}
