package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// TestSignStdoutWriteFails: defect sign_stdout_write_error_ignored: the
// primer's form `airlock sign-blob ... f > f.sig` (and attest-blob's > f.att)
// ignored the error of writing the signature to stdout, so a full disk gave
// exit 0 and an empty .sig. The write error is exit 2 with a message.
func TestSignStdoutWriteFails(t *testing.T) {
	bin, dir := keyFileDir(t)
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		missingPart(t, "no /dev/full: %v", err)
	}
	defer full.Close()
	for name, content := range map[string]string{"hello.tgz": "hello", "sbom.json": `{"predicateType":"https://spdx.dev/Document","predicate":{}}`} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{
		{"sign-blob", "--key", "k.key", "--tlog", "none", "hello.tgz"},
		{"attest-blob", "--key", "k.key", "--tlog", "none", "--predicate", "sbom.json", "hello.tgz"},
	} {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "AIRLOCK_DB="+filepath.Join(dir, "airlock.db"))
		cmd.Stdout = full
		var stderr strings.Builder
		cmd.Stderr = &stderr
		err := cmd.Run()
		if code := cmd.ProcessState.ExitCode(); code != 2 {
			t.Errorf("airlock %s > /dev/full: %v (exit %d), want exit 2", args[0], err, code)
		}
		if got, want := stderr.String(), "airlock: error: writing to stdout: no space left on device\n"; !strings.HasPrefix(got, want) {
			t.Errorf("airlock %s > /dev/full: stderr %q, want it to start %q", args[0], got, want)
		}
	}
}

// keyFileDir returns the test binary's airlock command and a new directory
// holding k.key, an ECDSA P-256 private key (PEM PKCS#8).
func keyFileDir(t *testing.T) (bin, dir string) {
	t.Helper()
	bin, err := exec.LookPath("airlock")
	if err != nil {
		t.Fatalf("the test binary's airlock command is not in PATH: %v", err)
	}
	dir = t.TempDir()
	key, err := generateKey("ecdsa-p256")
	if err != nil {
		t.Fatal(err)
	}
	pemKey, err := cryptoutils.MarshalPrivateKeyToPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "k.key"), pemKey, 0o600); err != nil {
		t.Fatal(err)
	}
	return bin, dir
}
