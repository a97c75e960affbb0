package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	// exits CODE PROG ARGS...: run PROG like exec and require exactly exit
	// status CODE (exec and ! exec only tell zero from non-zero).
	scriptCmds["exits"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) < 2 {
			ts.Fatalf("usage: exits CODE PROG [ARGS...]")
		}
		want, err := strconv.Atoi(args[0])
		if err != nil {
			ts.Fatalf("exits: bad code %q", args[0])
		}
		got := 0
		if err := ts.Exec(args[1], args[2:]...); err != nil {
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				ts.Fatalf("exits: %v", err)
			}
			got = ee.ExitCode()
		}
		if got != want {
			ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
		}
	}
}

// publicGoodRoot is the public-good trusted root of the shipped TUF
// snapshot; conformance cases without their own trusted_root.json expect it.
const publicGoodRoot = "../../testdata/tuf/public-good-2026-08-21/targets/6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66.trusted_root.json"

const (
	conformanceIdentity = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
	conformanceIssuer   = "https://token.actions.githubusercontent.com"
)

// conformanceArgs returns the verify-blob arguments for one case of the
// sigstore-conformance bundle-verify suite, as run-offline.sh builds them,
// with the artifact as a path or as its sha256 digest.
func conformanceArgs(t *testing.T, dir string, digest bool) []string {
	t.Helper()
	assets := filepath.Dir(dir)
	// The protocol's verify-bundle takes any bundle; verify-blob takes only
	// a signature of the file, so an attestation goes to verify-attestation
	// (as scripts/conformance-client does).
	cmd := "verify-blob"
	var top map[string]json.RawMessage
	if data, err := os.ReadFile(filepath.Join(dir, "bundle.sigstore.json")); err == nil && json.Unmarshal(data, &top) == nil && top["dsseEnvelope"] != nil {
		cmd = "verify-attestation"
	}
	args := []string{"airlock", cmd, "--bundle", filepath.Join(dir, "bundle.sigstore.json")}
	if _, err := os.Stat(filepath.Join(dir, "key.pub")); err == nil {
		args = append(args, "--key", filepath.Join(dir, "key.pub"))
	} else {
		args = append(args, "--certificate-identity", conformanceIdentity, "--certificate-oidc-issuer", conformanceIssuer)
	}
	tr := filepath.Join(dir, "trusted_root.json")
	if _, err := os.Stat(tr); err != nil {
		tr = publicGoodRoot
	}
	args = append(args, "--trusted-root", tr)
	artifact := filepath.Join(assets, "a.txt")
	if _, err := os.Stat(filepath.Join(dir, "artifact")); err == nil {
		artifact = filepath.Join(dir, "artifact")
	}
	if digest {
		data, err := os.ReadFile(artifact)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		artifact = "sha256:" + hex.EncodeToString(sum[:])
	}
	return append(args, artifact)
}

// tripwireTransport fails the test on any HTTP request made through the
// default transport.
type tripwireTransport struct{ t *testing.T }

func (tw tripwireTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	tw.t.Errorf("network use: HTTP request to %s", r.URL)
	return nil, errors.New("network use in a test")
}

// TestConformance runs every sigstore-conformance bundle-verify case
// in-process, with the artifact as a file and as a digest: _fail cases
// must exit exactly 1, the others 0.
func TestConformance(t *testing.T) {
	old := http.DefaultTransport
	http.DefaultTransport = tripwireTransport{t}
	t.Cleanup(func() { http.DefaultTransport = old })

	dirs, err := filepath.Glob("../../testdata/conformance/bundle-verify/*")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, dir := range dirs {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			continue
		}
		name := filepath.Base(dir)
		want := 0
		if strings.HasSuffix(name, "_fail") {
			want = 1
		}
		for _, mode := range []string{"PATH", "DIGEST"} {
			n++
			t.Run(name+"/"+mode, func(t *testing.T) {
				var stdout, stderr bytes.Buffer
				got := run(conformanceArgs(t, dir, mode == "DIGEST"), strings.NewReader(""), &stdout, &stderr)
				if got != want {
					t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", got, want, stdout.String(), stderr.String())
				}
				if want == 0 && strings.TrimSpace(stdout.String()) != "Verified OK" {
					t.Errorf("stdout = %q, want Verified OK", stdout.String())
				}
				if want == 1 && !strings.HasPrefix(stderr.String(), "airlock: error: ") {
					t.Errorf("stderr = %q, want an airlock: error: line", stderr.String())
				}
			})
		}
	}
	if n < 100 {
		t.Fatalf("ran %d conformance cases, want the full suite (>= 100)", n)
	}
}
