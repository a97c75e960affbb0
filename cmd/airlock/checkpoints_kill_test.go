package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/airlock-project/airlock/cache"
)

// TestCheckpointsImportKill9 kills a real airlock process importing a
// mirror pack: once inside its transaction (held there by the test hook
// of an airlocktest build), and at assorted moments over a run. After
// each kill the database opens, its audit chain holds, and the mirror is
// the old one (size 3) or the new one (size 6), never anything else; a
// retry then imports. The delays spread the kills; nothing asserts a
// timing.
func TestCheckpointsImportKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds airlock and kills it 13 times")
	}
	bin := buildTestBinary(t)
	dir := t.TempDir()
	site, base, mirror := filepath.Join(dir, "site.db"), filepath.Join(dir, "base.db"), filepath.Join(dir, "mirror.db")
	for _, name := range []string{"log.key", "signer.key"} {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		p, err := cryptoutils.MarshalPrivateKeyToPEM(k)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), p, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	run := func(db string, wantCode int, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "AIRLOCK_DB="+db, "HOME="+dir, "AIRLOCK_TEST_TRUST_COMMIT_DELAY=")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != wantCode {
			t.Fatalf("airlock %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, wantCode, &stdout, &stderr)
		}
		return stdout.String()
	}
	sign := func(n int) {
		for i := 0; i < n; i++ {
			name := filepath.Join(dir, fmt.Sprintf("f%d-%d.txt", n, i))
			if err := os.WriteFile(name, []byte(name), 0o644); err != nil {
				t.Fatal(err)
			}
			run(site, 0, "sign-blob", "--key", "signer.key", name)
		}
	}
	copyFile := func(from, to string) {
		data, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	run(site, 0, "log", "init", "--key", "log.key", "--origin", "kill.example")
	sign(3)
	run(site, 0, "log", "pack", "--out", "p3.pack")
	copyFile(site, base) // trusts the log key: it holds the log (at size 3)
	sign(3)
	run(site, 0, "log", "pack", "--out", "p6.pack", "--from-size", "3")
	run(base, 0, "checkpoints", "import", "p3.pack")

	size := func() int64 {
		t.Helper()
		var out listJSON
		if err := json.Unmarshal([]byte(run(mirror, 0, "checkpoints", "list", "-o", "json")), &out); err != nil {
			t.Fatal(err)
		}
		if len(out.Logs) != 1 {
			t.Fatalf("%d mirrored logs", len(out.Logs))
		}
		db, err := cache.Open(mirror, cache.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Audit(); err != nil {
			t.Fatalf("audit trail: %v", err)
		}
		return out.Logs[0].Size
	}

	// Inside the transaction.
	copyFile(base, mirror)
	victim := exec.Command(bin, "checkpoints", "import", "p6.pack")
	victim.Dir = dir
	victim.Env = append(os.Environ(), "AIRLOCK_DB="+mirror, "HOME="+dir, "AIRLOCK_TEST_TRUST_COMMIT_DELAY=2m")
	startInsideCommit(t, victim)
	victim.Process.Kill() // SIGKILL
	victim.Wait()
	if got := size(); got != 3 {
		t.Fatalf("after a kill inside the transaction the mirror is at %d, want the old 3", got)
	}

	// At assorted moments, spread over one uncontested run (up to 1.5 runs).
	copyFile(base, mirror)
	start := time.Now()
	run(mirror, 0, "checkpoints", "import", "p6.pack")
	span := time.Since(start)
	var old, new int
	for i := range 12 {
		copyFile(base, mirror)
		cmd := exec.Command(bin, "checkpoints", "import", "p6.pack")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "AIRLOCK_DB="+mirror, "HOME="+dir, "AIRLOCK_TEST_TRUST_COMMIT_DELAY=")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(span * time.Duration(3*i) / (2 * 12))
		cmd.Process.Kill()
		cmd.Wait()
		switch got := size(); got {
		case 3:
			old++
		case 6:
			new++
		default:
			t.Fatalf("after kill %d the mirror is at %d", i, got)
		}
	}
	t.Logf("one run: %v; of 12 kills, %d left the old mirror, %d the new one", span, old, new)
	run(mirror, 0, "checkpoints", "import", "p6.pack")
	if got := size(); got != 6 {
		t.Fatalf("after the retry the mirror is at %d", got)
	}
}
