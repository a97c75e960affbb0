package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ecosystemCase is testdata/ecosystem/PEER/CASE/case.json: a real bundle
// from a peer's test suite, how a user verifies it, and the verdict airlock
// gives (testdata/ecosystem/README.md).
type ecosystemCase struct {
	Command        string   `json:"command"` // verify-blob or verify-attestation
	Type           string   `json:"type"`    // --type, for verify-attestation
	Artifact       string   `json:"artifact"`
	TrustedRoot    string   `json:"trusted_root"` // testdata/ecosystem/roots/NAME.json
	Key            string   `json:"key"`
	Identity       string   `json:"identity"`
	Issuer         string   `json:"issuer"`
	IdentityRegexp string   `json:"identity_regexp"`
	IssuerRegexp   string   `json:"issuer_regexp"`
	Flags          []string `json:"flags"`
	Exit           *int     `json:"exit"`
	Verdict        string   `json:"verdict"`
	Reason         []string `json:"reason"`
}

// args is the command line a user would type in the case's directory.
func (c ecosystemCase) args(roots string) []string {
	a := []string{c.Command, "--bundle", "bundle.sigstore.json", "--trusted-root", filepath.Join(roots, c.TrustedRoot+".json")}
	switch {
	case c.Key != "":
		a = append(a, "--key", c.Key)
	case c.Identity != "":
		a = append(a, "--certificate-identity", c.Identity, "--certificate-oidc-issuer", c.Issuer)
	default:
		a = append(a, "--certificate-identity-regexp", c.IdentityRegexp, "--certificate-oidc-issuer-regexp", c.IssuerRegexp)
	}
	if c.Type != "" {
		a = append(a, "--type", c.Type)
	}
	a = append(a, c.Flags...)
	return append(a, c.Artifact)
}

// TestEcosystemCorpus runs every bundle of testdata/ecosystem through the
// airlock binary (this test binary, installed in PATH by TestMain) as a
// user would, offline with the case's trusted root, and checks the exit
// code and that the error names the recorded reason.
func TestEcosystemCorpus(t *testing.T) {
	bin, err := exec.LookPath("airlock")
	if err != nil {
		t.Fatal(err)
	}
	eco, err := filepath.Abs("../../testdata/ecosystem")
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(eco, "*", "*", "case.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 100 {
		t.Fatalf("%d cases in %s, want the whole corpus (100 or more)", len(files), eco)
	}
	roots := filepath.Join(eco, "roots")
	db := filepath.Join(t.TempDir(), "absent", "airlock.db") // trust comes from --trusted-root only
	for _, f := range files {
		dir := filepath.Dir(f)
		name, _ := filepath.Rel(eco, dir)
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var c ecosystemCase
			if err := json.Unmarshal(raw, &c); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if c.Exit == nil || (c.Verdict == "ok") != (*c.Exit == 0) {
				t.Fatalf("%s: exit %v and verdict %q disagree", f, c.Exit, c.Verdict)
			}
			args := c.args(roots)
			cmd := exec.Command(bin, args...)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "AIRLOCK_DB="+db, "HOME="+t.TempDir())
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			_ = cmd.Run()
			code := cmd.ProcessState.ExitCode()
			if code != *c.Exit {
				t.Fatalf("airlock %s: exit %d, want %d (%s)\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, *c.Exit, c.Verdict, stdout.String(), stderr.String())
			}
			if code == 0 && !strings.Contains(stdout.String(), "Verified OK") {
				t.Errorf("airlock %s: exit 0 without \"Verified OK\": %s", strings.Join(args, " "), stdout.String())
			}
			if code != 0 && len(c.Reason) == 0 {
				t.Errorf("%s: rejected with no reason recorded", f)
			}
			for _, w := range c.Reason {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("airlock %s: stderr does not name %q:\n%s", strings.Join(args, " "), w, stderr.String())
				}
			}
		})
	}
}
