package main

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/airlock-project/airlock/hsm"
	"github.com/airlock-project/airlock/hsm/softhsmtest"
	"github.com/rogpeppe/go-internal/testscript"
)

// SoftHSM2 in testscript:
//
//	[!exec:softhsm2-util] skip 'needs SoftHSM2'
//	softhsm-token release
//
// softhsm-token LABEL initialises a fresh token in $WORK/softhsm and sets
//
//	SOFTHSM2_CONF          the script's own SoftHSM2 configuration
//	AIRLOCK_PKCS11_MODULE  the SoftHSM2 module
//	PIN_FILE               a 0600 file holding the user PIN (for ?pin-source=)
//	TOKEN_PIN              the PIN itself, random, only for `! stdout $TOKEN_PIN`
//	TOKEN_LABEL            LABEL
//
// Several tokens may be made in one script; the variables describe the
// last one and every token stays visible through the one SOFTHSM2_CONF.
//
// softhsm-key [-nosign] LABEL [IDHEX] makes a P-256 key pair on the last
// token through the raw PKCS#11 API, for keys airlock never makes: with
// -nosign the private key has CKA_SIGN false (pkcs11-tool cannot make one:
// SoftHSM turns sign on whatever --usage-* says).
// With AIRLOCK_REQUIRE_SOFTHSM set (make test), a missing SoftHSM2 fails
// every script instead of letting them skip.
func init() {
	if os.Getenv(rawKeyEnv) != "" {
		os.Exit(rawKeyChild())
	}
	scriptCmds["softhsm-token"] = cmdSoftHSMToken
	scriptCmds["softhsm-key"] = cmdSoftHSMKey
	scriptSetups = append(scriptSetups, func(env *testscript.Env) error {
		if os.Getenv("AIRLOCK_REQUIRE_SOFTHSM") != "" && !softhsmtest.Available() {
			return fmt.Errorf("SoftHSM2 is not installed and AIRLOCK_REQUIRE_SOFTHSM is set: run 'make softhsm'")
		}
		// Never inherit a PIN or module from the developer's shell.
		env.Setenv("AIRLOCK_PIN", "")
		env.Setenv("AIRLOCK_PKCS11_MODULE", "")
		return nil
	})
}

func cmdSoftHSMToken(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! softhsm-token")
	}
	if len(args) != 1 {
		ts.Fatalf("usage: softhsm-token LABEL")
	}
	if !softhsmtest.Available() {
		ts.Fatalf("SoftHSM2 is not installed: guard the script with [!exec:softhsm2-util] skip")
	}
	if !hsm.Available() {
		ts.Fatalf("this test binary was built without cgo: PKCS#11 scripts need CGO_ENABLED=1")
	}
	tok, err := softhsmtest.Create(filepath.Join(ts.Getenv("WORK"), "softhsm"), args[0])
	if err != nil {
		ts.Fatalf("%v", err)
	}
	ts.Setenv("SOFTHSM2_CONF", tok.Conf)
	ts.Setenv("AIRLOCK_PKCS11_MODULE", tok.Module)
	ts.Setenv("PIN_FILE", tok.PINFile)
	ts.Setenv("TOKEN_PIN", tok.PIN)
	ts.Setenv("TOKEN_LABEL", tok.Label)
}

// rawKeyEnv makes the test binary a child that runs softhsmtest.RawP256Key
// and exits, so the module is loaded with the script's SOFTHSM2_CONF and
// never in the test process. The PIN comes in TOKEN_PIN, never in argv.
const rawKeyEnv = "AIRLOCK_TEST_SOFTHSM_RAWKEY"

func rawKeyChild() int {
	id, err := hex.DecodeString(os.Getenv("RAWKEY_ID"))
	if err == nil {
		err = softhsmtest.RawP256Key(os.Getenv("AIRLOCK_PKCS11_MODULE"), os.Getenv("TOKEN_LABEL"),
			[]byte(os.Getenv("TOKEN_PIN")), os.Getenv("RAWKEY_LABEL"), id, os.Getenv("RAWKEY_SIGN") == "1")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "softhsm-key:", err)
		return 1
	}
	return 0
}

func cmdSoftHSMKey(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! softhsm-key")
	}
	sign := "1"
	if len(args) > 0 && args[0] == "-nosign" {
		sign, args = "0", args[1:]
	}
	if len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: softhsm-key [-nosign] LABEL [IDHEX]")
	}
	id := "0a"
	if len(args) == 2 {
		id = args[1]
	}
	if ts.Getenv("TOKEN_LABEL") == "" {
		ts.Fatalf("softhsm-key needs a token: run softhsm-token first")
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = []string{rawKeyEnv + "=1", "RAWKEY_LABEL=" + args[0], "RAWKEY_ID=" + id, "RAWKEY_SIGN=" + sign}
	for _, v := range []string{"SOFTHSM2_CONF", "AIRLOCK_PKCS11_MODULE", "TOKEN_LABEL", "TOKEN_PIN"} {
		cmd.Env = append(cmd.Env, v+"="+ts.Getenv(v))
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		ts.Fatalf("softhsm-key: %v: %s", err, out)
	}
}

// runAirlock runs airlock in this process and returns its exit code, stdout
// and stderr.
func runAirlock(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(append([]string{"airlock"}, args...), strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// TestPINHygiene drives every command that touches a PIN, with a distinctive
// PIN, through success and failure, and then searches everything they
// produced (stdout, stderr, every file written, the database) for it.
func TestPINHygiene(t *testing.T) {
	if !hsm.Available() {
		missingPart(t, "needs the cgo build")
	}
	tok := softhsmtest.New(t)
	dir := t.TempDir()
	t.Setenv("AIRLOCK_DB", filepath.Join(dir, "airlock.db"))
	t.Setenv("AIRLOCK_PKCS11_MODULE", tok.Module)
	t.Setenv("AIRLOCK_PIN", "")
	artifact := filepath.Join(dir, "hello.tgz")
	os.WriteFile(artifact, []byte("hello"), 0o644)
	wrongPIN := "Wrong-" + tok.PIN[4:]
	wrongFile := filepath.Join(dir, "wrong.pin")
	os.WriteFile(wrongFile, []byte(wrongPIN+"\n"), 0o600)

	var outputs []string
	step := func(wantCode int, env map[string]string, args ...string) {
		t.Helper()
		for k, v := range env {
			t.Setenv(k, v)
		}
		code, stdout, stderr := runAirlock(t, args...)
		outputs = append(outputs, stdout, stderr)
		if code != wantCode {
			t.Fatalf("airlock %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, wantCode, stdout, stderr)
		}
		for k := range env {
			t.Setenv(k, "")
		}
	}
	uriPIN := "pkcs11:token=" + tok.Label + "?pin-source=" + tok.PINFile
	key := tok.KeyURI("rel")
	step(0, nil, "hsm", "keygen", "--token", uriPIN, "--label", "rel")
	step(0, map[string]string{"AIRLOCK_PIN": tok.PIN}, "hsm", "keygen", "--token", tok.Label, "--label", "ed", "--type", "ed25519")
	step(0, nil, "hsm", "keys", "--token", uriPIN)
	step(0, nil, "hsm", "keys", "-o", "json", "--token", uriPIN)
	step(0, nil, "hsm", "tokens", "-o", "json")
	step(0, nil, "hsm", "pubkey", key)
	step(0, nil, "sign-blob", "--key", key, "--tlog", "none", "--bundle", filepath.Join(dir, "hello.sigstore.json"), artifact)
	step(0, nil, "sign-blob", "--key", key, "--tlog", "none", artifact)
	step(0, map[string]string{"AIRLOCK_PIN": tok.PIN}, "sign-blob", "-o", "json", "--key", "pkcs11:token="+tok.Label+";object=rel", "--tlog", "none", "--bundle", filepath.Join(dir, "env.sigstore.json"), artifact)
	// failures
	step(2, nil, "hsm", "keys", "--token", "pkcs11:token="+tok.Label+"?pin-source="+wrongFile)
	step(2, map[string]string{"AIRLOCK_PIN": wrongPIN}, "sign-blob", "--key", "pkcs11:token="+tok.Label+";object=rel", "--tlog", "none", "--bundle", filepath.Join(dir, "bad.sigstore.json"), artifact)
	step(2, nil, "hsm", "keys", "--token", "pkcs11:token="+tok.Label+"?pin-value="+tok.PIN)
	step(2, nil, "sign-blob", "--key", "pkcs11:token="+tok.Label+";object=rel?pin-value="+tok.PIN, "--tlog", "none", artifact)
	step(2, nil, "hsm", "keys", "--token", tok.Label) // no PIN source at all

	for _, o := range outputs {
		for _, pin := range []string{tok.PIN, wrongPIN} {
			if strings.Contains(o, pin) {
				t.Errorf("a PIN appears in the output:\n%s", o)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "bad.sigstore.json")); err == nil {
		t.Error("a bundle was written although the PIN was wrong")
	}
	// Every file written (bundles, signatures, the database) is PIN-free.
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || p == wrongFile {
			return err
		}
		b, _ := os.ReadFile(p)
		if bytes.Contains(b, []byte(tok.PIN)) || bytes.Contains(b, []byte(wrongPIN)) {
			t.Errorf("%s contains a PIN", p)
		}
		return nil
	})
}

// TestNoCgoBuild builds airlock with CGO_ENABLED=0: it must build, and its
// token commands must say that signing needs the cgo build.
func TestNoCgoBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds airlock")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		missingPart(t, "no go command in PATH")
	}
	bin := filepath.Join(t.TempDir(), "airlock-nocgo")
	cmd := exec.Command(gobin, "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build: %v\n%s", err, out)
	}
	for _, args := range [][]string{
		{"hsm", "tokens"},
		{"hsm", "tokens", "--module", "/usr/lib/softhsm/libsofthsm2.so"},
		{"hsm", "keys", "--token", "release"},
		{"hsm", "pubkey", "pkcs11:token=release;object=rel"},
		{"sign-blob", "--key", "pkcs11:token=release;object=rel?module-path=/m.so", "--tlog", "none", "main.go"},
	} {
		c := exec.Command(bin, args...)
		c.Env = append(os.Environ(), "AIRLOCK_DB="+filepath.Join(t.TempDir(), "db"))
		var stdout, stderr bytes.Buffer
		c.Stdout, c.Stderr = &stdout, &stderr
		err := c.Run()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 2 {
			t.Errorf("airlock %s: %v, want exit 2", strings.Join(args, " "), err)
		}
		if got, want := stderr.String(), "airlock: error: signing with PKCS#11 needs the cgo build of airlock\n"; !strings.HasPrefix(got, want) {
			t.Errorf("airlock %s: stderr %q, want prefix %q", strings.Join(args, " "), got, want)
		}
		if stdout.Len() != 0 {
			t.Errorf("airlock %s: stdout %q", strings.Join(args, " "), stdout.String())
		}
	}
}

// TestPINSource: the pin-source file itself is read by hsm.ReadPINFile
// (tested in package hsm); here, what the command adds: its order against
// AIRLOCK_PIN (hsm_pin.txtar checks the hint for a file others may read).
func TestPINSource(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, mode)
		return p
	}
	lf := write("lf.pin", "1234-lf\n", 0o600)
	secret := write("open.pin", "Open-PIN-5150\n", 0o644)
	_, err := readPINFile("file://" + secret)
	if !errors.Is(err, hsm.ErrPINFileMode) || strings.Contains(err.Error(), "Open-PIN-5150") {
		t.Errorf("readPINFile(mode 0644) = %v, want hsm.ErrPINFileMode without the PIN", err)
	}
	// AIRLOCK_PIN comes after pin-source, and an empty one counts as unset.
	t.Setenv("AIRLOCK_PIN", "env-PIN-1")
	if p, err := pinFunc(lf, "t")(); err != nil || string(p) != "1234-lf" {
		t.Errorf("pin-source did not win over AIRLOCK_PIN: %q, %v", p, err)
	}
	if p, err := pinFunc("", "t")(); err != nil || string(p) != "env-PIN-1" {
		t.Errorf("AIRLOCK_PIN: %q, %v", p, err)
	}
}
