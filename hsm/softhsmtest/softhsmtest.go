// Package softhsmtest gives each test its own SoftHSM2 token.
//
// New writes a private softhsm2.conf and token directory under t.TempDir(),
// initialises one token with a random user PIN and SO PIN, and points
// SOFTHSM2_CONF at it with t.Setenv (so tests using it cannot be parallel).
// SoftHSM reads SOFTHSM2_CONF when the module is initialised: close every
// hsm.Module and hsm.Key of the previous test before calling New again.
//
// When SoftHSM2 is not installed the test is skipped, unless the
// environment variable AIRLOCK_REQUIRE_SOFTHSM is set (make test sets it),
// in which case it fails.
package softhsmtest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/airlock-project/airlock/hsm"
)

// Token is a freshly initialised SoftHSM2 token.
type Token struct {
	Module  string // path of libsofthsm2.so
	Label   string // token label
	PIN     string // user PIN, random and distinctive: search logs for it
	SOPIN   string // security officer PIN
	PINFile string // file holding PIN and a newline, mode 0600
	Dir     string // directory with the config and token files
	Conf    string // the softhsm2.conf to put in SOFTHSM2_CONF
}

// ModuleCandidates are where distributions install the SoftHSM2 module.
var ModuleCandidates = []string{
	"/usr/lib/softhsm/libsofthsm2.so",
	"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/local/lib/softhsm/libsofthsm2.so",
	"/usr/lib64/pkcs11/libsofthsm2.so",
	"/usr/lib/pkcs11/libsofthsm2.so",
}

// ModulePath returns the installed SoftHSM2 module, or "" when there is none.
func ModulePath() string {
	for _, p := range ModuleCandidates {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// Available reports whether softhsm2-util and the module are installed.
func Available() bool {
	_, err := exec.LookPath("softhsm2-util")
	return err == nil && ModulePath() != ""
}

// New returns a new token labelled "airlock-test" and sets SOFTHSM2_CONF.
func New(t testing.TB) *Token { return NewLabel(t, "airlock-test") }

// NewLabel is New with a chosen token label.
func NewLabel(t testing.TB, label string) *Token {
	t.Helper()
	if !Available() {
		if os.Getenv("AIRLOCK_REQUIRE_SOFTHSM") != "" {
			t.Fatal("SoftHSM2 is not installed and AIRLOCK_REQUIRE_SOFTHSM is set: run 'make softhsm'")
		}
		t.Skip("SoftHSM2 is not installed (apt-get install softhsm2, or 'make softhsm')")
	}
	tok, err := Create(t.TempDir(), label)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOFTHSM2_CONF", tok.Conf)
	return tok
}

// Create initialises a token in dir without touching the process
// environment; the caller sets SOFTHSM2_CONF=tok.Conf for whatever uses it.
// Several tokens with different labels may share one dir and one Conf.
func Create(dir, label string) (*Token, error) {
	mod := ModulePath()
	if mod == "" {
		return nil, fmt.Errorf("SoftHSM2 module not found in %s", strings.Join(ModuleCandidates, ", "))
	}
	tokens := filepath.Join(dir, "tokens")
	if err := os.MkdirAll(tokens, 0o700); err != nil {
		return nil, err
	}
	tok := &Token{
		Module: mod, Label: label, Dir: dir,
		PIN:     "pin-" + randHex(8),
		SOPIN:   "so-" + randHex(8),
		Conf:    filepath.Join(dir, "softhsm2.conf"),
		PINFile: filepath.Join(dir, "user-pin-"+safeName(label)),
	}
	conf := fmt.Sprintf("directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n", tokens)
	if err := os.WriteFile(tok.Conf, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(tok.PINFile, []byte(tok.PIN+"\n"), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command("softhsm2-util", "--init-token", "--free", "--label", label, "--pin", tok.PIN, "--so-pin", tok.SOPIN)
	cmd.Env = append(os.Environ(), "SOFTHSM2_CONF="+tok.Conf)
	if out, err := cmd.CombinedOutput(); err != nil {
		// The output never holds the PINs, but scrub them anyway.
		msg := strings.ReplaceAll(strings.ReplaceAll(string(out), tok.PIN, "<pin>"), tok.SOPIN, "<so-pin>")
		return nil, fmt.Errorf("softhsm2-util --init-token: %v: %s", err, msg)
	}
	return tok, nil
}

// safeName turns a label into a file name.
func safeName(label string) string {
	return strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, label)
}

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// PINFunc returns the token's user PIN.
func (tok *Token) PINFunc() hsm.PINFunc {
	return func() ([]byte, error) { return []byte(tok.PIN), nil }
}

// KeyURI returns a URI for the key labelled object on this token, with
// module-path and pin-source set.
func (tok *Token) KeyURI(object string) string {
	u := hsm.URI{Token: tok.Label, Object: object, ModulePath: tok.Module, PINSource: tok.PINFile}
	return u.String()
}

// GenerateKey makes a key labelled label of type typ on the token.
func (tok *Token) GenerateKey(t testing.TB, label string, typ hsm.KeyType) hsm.KeyInfo {
	t.Helper()
	m, err := hsm.OpenModule(tok.Module)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ki, err := m.GenerateKey(hsm.TokenSelector{Label: tok.Label}, tok.PINFunc(), hsm.GenerateOptions{Label: label, Type: typ})
	if err != nil {
		t.Fatal(err)
	}
	return ki
}

// OpenKey opens the key labelled label on this token.
func (tok *Token) OpenKey(t testing.TB, label string) *hsm.Key {
	t.Helper()
	k, err := hsm.OpenKey(&hsm.URI{Token: tok.Label, Object: label}, hsm.KeyOptions{ModulePath: tok.Module, PIN: tok.PINFunc()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}
