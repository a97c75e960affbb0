package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestSignHelpHasExamples: defect sign_help_without_examples: the --help of
// hsm tokens, keys, keygen and pubkey had no description and no examples,
// and sign-blob, attest-blob, hsm and audit none under an "Examples:"
// heading, unlike the verify commands. Each must show examples that use the
// command itself.
func TestSignHelpHasExamples(t *testing.T) {
	for _, args := range [][]string{
		{"sign-blob"}, {"attest-blob"},
		{"hsm"}, {"hsm", "tokens"}, {"hsm", "keys"}, {"hsm", "keygen"}, {"hsm", "pubkey"},
		{"audit"}, {"audit", "list"},
	} {
		name := strings.Join(args, " ")
		var stdout, stderr bytes.Buffer
		app := newApp(strings.NewReader(""), &stdout, &stderr)
		if err := app.Run(append(append([]string{"airlock"}, args...), "--help")); err != nil {
			t.Errorf("airlock %s --help: %v", name, err)
			continue
		}
		out := stdout.String()
		_, ex, ok := strings.Cut(out, "Examples:\n")
		if !ok {
			t.Errorf("airlock %s --help has no Examples:\n%s", name, out)
			continue
		}
		ex, _, _ = strings.Cut(ex, "OPTIONS:")
		if !strings.Contains(ex, "airlock "+name) {
			t.Errorf("airlock %s --help: no example runs %q:\n%s", name, "airlock "+name, ex)
		}
	}
}
