package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/airlock-project/airlock/hsm"
	"github.com/airlock-project/airlock/hsm/softhsmtest"
	"github.com/airlock-project/airlock/tlog/rekorv2"
	"github.com/airlock-project/airlock/tlog/rekorv2/rekortest"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// TestSignRekorV2 signs a batch of files and an attestation with --tlog
// rekor=URL against a real rekor-tiles v2.3.0 server on loopback, and
// verifies every bundle offline (verify-blob, verify-attestation with a
// trusted root listing the log, no --insecure-ignore-tlog).
func TestSignRekorV2(t *testing.T) {
	// The checkpoint origin is the URL's host, as verifiers derive it
	// from the trusted root's baseUrl.
	srv := rekortest.Start(t, rekortest.Options{Hostname: "127.0.0.1"})
	bin, dir := keyFileDir(t)
	writePub(t, dir)
	tr := rekorTrustedRoot(t, srv.Origin, srv.LogKey)
	if err := os.WriteFile(filepath.Join(dir, "trusted_root.json"), tr, 0o644); err != nil {
		t.Fatal(err)
	}
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "other_root.json"), rekorTrustedRoot(t, srv.Origin, other.Public()), 0o644); err != nil {
		t.Fatal(err)
	}
	var files []string
	for i := range 5 {
		name := fmt.Sprintf("f%d.txt", i)
		files = append(files, name)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "sbom.json"), []byte(`{"spdxVersion":"SPDX-2.3"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tlog := []string{"--tlog", "rekor=" + srv.URL, "--rekor-key", srv.LogKeyPEM}

	out, _ := runRekorAirlock(t, bin, dir, 0, append(append([]string{"--output", "json", "sign-blob", "--key", "k.key"}, tlog...), files...)...)
	var res signOutput
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("sign-blob --output json: %v\n%s", err, out)
	}
	if got, want := res.Tlog, "rekor="+srv.URL; got != want {
		t.Errorf("tlog %q, want %q", got, want)
	}
	seen := map[int64]bool{}
	for _, f := range res.Files {
		if f.LogIndex == nil || seen[*f.LogIndex] {
			t.Errorf("%s: log index %v, want a distinct index", f.File, f.LogIndex)
			continue
		}
		seen[*f.LogIndex] = true
	}
	_, _ = runRekorAirlock(t, bin, dir, 0, append(append([]string{"attest-blob", "--key", "k.key"}, tlog...),
		"--predicate", "sbom.json", "--type", "spdxjson", "--bundle", "f0.att.sigstore.json", "f0.txt")...)

	for _, f := range files {
		runRekorAirlock(t, bin, dir, 0, "verify-blob", "--key", "k.pub", "--trusted-root", "trusted_root.json", f)
		// The entry is checked: under another log key the bundle is refused.
		runRekorAirlock(t, bin, dir, 1, "verify-blob", "--key", "k.pub", "--trusted-root", "other_root.json", f)
	}
	runRekorAirlock(t, bin, dir, 0, "verify-attestation", "--key", "k.pub", "--trusted-root", "trusted_root.json",
		"--type", "spdxjson", "--bundle", "f0.att.sigstore.json", "f0.txt")
	runRekorAirlock(t, bin, dir, 1, "verify-attestation", "--key", "k.pub", "--trusted-root", "other_root.json",
		"--type", "spdxjson", "--bundle", "f0.att.sigstore.json", "f0.txt")

	// cosign's --signature with --bundle: the Rekor v2 bundle beside a
	// detached .sig or .att is its log evidence, when it holds that very
	// signature.
	runRekorAirlock(t, bin, dir, 0, append(append([]string{"sign-blob", "--key", "k.key"}, tlog...),
		"--bundle", "d.sigstore.json", "--output-signature", "d.sig", "f3.txt")...)
	runRekorAirlock(t, bin, dir, 0, append(append([]string{"attest-blob", "--key", "k.key"}, tlog...),
		"--predicate", "sbom.json", "--type", "spdxjson", "--bundle", "d.att.sigstore.json", "--output-signature", "d.att", "f3.txt")...)
	out, _ = runRekorAirlock(t, bin, dir, 0, "verify-blob", "-o", "json", "--key", "k.pub", "--trusted-root", "trusted_root.json",
		"--signature", "d.sig", "--bundle", "d.sigstore.json", "f3.txt")
	var vr struct {
		LogBundle  string `json:"logBundle"`
		LogEntries []struct {
			Index   *int64 `json:"index"`
			Version string `json:"version"`
		} `json:"logEntries"`
	}
	if err := json.Unmarshal([]byte(out), &vr); err != nil || vr.LogBundle != "d.sigstore.json" || len(vr.LogEntries) != 1 || vr.LogEntries[0].Index == nil || vr.LogEntries[0].Version != "0.0.2" {
		t.Errorf("verify-blob --signature --bundle (Rekor v2): %v\n%s", err, out)
	}
	runRekorAirlock(t, bin, dir, 0, "verify-attestation", "--key", "k.pub", "--trusted-root", "trusted_root.json", "--type", "spdxjson",
		"--signature", "d.att", "--bundle", "d.att.sigstore.json", "f3.txt")
	// Another signature's bundle, and the right bundle under another log
	// key. (Three more signatures in the audit trail: len(files)+5 below.)
	runRekorAirlock(t, bin, dir, 0, append(append([]string{"sign-blob", "--key", "k.key"}, tlog...), "--bundle", "d2.sigstore.json", "f3.txt")...)
	if _, stderr := runRekorAirlock(t, bin, dir, 1, "verify-blob", "--key", "k.pub", "--trusted-root", "trusted_root.json",
		"--signature", "d.sig", "--bundle", "d2.sigstore.json", "f3.txt"); !strings.Contains(stderr, "it holds another signature than the detached one") {
		t.Errorf("a bundle of another signature: stderr %q", stderr)
	}
	runRekorAirlock(t, bin, dir, 1, "verify-blob", "--key", "k.pub", "--trusted-root", "other_root.json",
		"--signature", "d.sig", "--bundle", "d.sigstore.json", "f3.txt")

	t.Run("softhsm", func(t *testing.T) {
		tok := softhsmtest.New(t)
		m, err := hsm.OpenModule(tok.Module)
		if err != nil {
			t.Fatal(err)
		}
		_, err = m.GenerateKey(hsm.TokenSelector{Label: tok.Label}, tok.PINFunc(), hsm.GenerateOptions{Label: "k", Type: hsm.ECDSAP256})
		m.Close()
		if err != nil {
			t.Fatal(err)
		}
		uri := fmt.Sprintf("pkcs11:token=%s;object=k?module-path=%s&pin-source=%s", tok.Label, tok.Module, tok.PINFile)
		pub, _ := runRekorAirlock(t, bin, dir, 0, "hsm", "pubkey", uri)
		if err := os.WriteFile(filepath.Join(dir, "token.pub"), []byte(pub), 0o644); err != nil {
			t.Fatal(err)
		}
		runRekorAirlock(t, bin, dir, 0, append(append([]string{"sign-blob", "--key", uri}, tlog...), "--bundle", "f1.token.json", "f1.txt")...)
		runRekorAirlock(t, bin, dir, 0, "verify-blob", "--key", "token.pub", "--trusted-root", "trusted_root.json", "--bundle", "f1.token.json", "f1.txt")
	})

	audit, _ := runRekorAirlock(t, bin, dir, 0, "audit", "list")
	if got, want := strings.Count(audit, "tlog=rekor="+srv.URL), len(files)+5; got != want {
		t.Errorf("audit list: %d records with tlog=rekor=URL, want %d:\n%s", got, want, audit)
	}
	if got, want := strings.Count(audit, " log_index="), len(files)+5; got != want {
		t.Errorf("audit list: %d records with log_index, want %d:\n%s", got, want, audit)
	}

	// Without --rekor-key the log key comes from the database's trusted
	// roots; the bundle then verifies with trust from the database too.
	trustInDatabase(t, bin, dir, "trusted_root.json")
	runRekorAirlock(t, bin, dir, 0, "sign-blob", "--key", "k.key", "--tlog", "rekor="+srv.URL, "--bundle", "f2.db.json", "f2.txt")
	runRekorAirlock(t, bin, dir, 0, "verify-blob", "--key", "k.pub", "--bundle", "f2.db.json", "f2.txt")
}

// TestSignRekorV2Fails: a server that cannot be reached, an answer that
// does not verify under --rekor-key, and no log key known each fail the
// call with exit 2 and write nothing.
func TestSignRekorV2Fails(t *testing.T) {
	srv := rekortest.Start(t, rekortest.Options{Hostname: "127.0.0.1"})
	bin, dir := keyFileDir(t)
	for _, f := range []string{"a.txt", "b.txt", "sbom.json"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(`{}`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	otherPEM, err := cryptoutils.MarshalPublicKeyToPEM(other.Public())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "other.pub"), otherPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()

	for _, tc := range []struct {
		name   string
		tlog   []string
		stderr string
	}{
		{"unreachable", []string{"--tlog", "rekor=" + closed, "--rekor-key", srv.LogKeyPEM}, "rekor v2 server unreachable"},
		{"unreachable hint", []string{"--tlog", "rekor=" + closed, "--rekor-key", srv.LogKeyPEM}, "\nairlock: hint: nothing was written; check that the Rekor v2 server is running"},
		{"wrong key", []string{"--tlog", "rekor=" + srv.URL, "--rekor-key", "other.pub"}, "rekor v2 response: "},
		{"wrong key hint", []string{"--tlog", "rekor=" + srv.URL, "--rekor-key", "other.pub"}, "\nairlock: hint: nothing was written; the answer does not check under the log key"},
		{"no key", []string{"--tlog", "rekor=" + srv.URL}, "airlock: hint: pass --rekor-key FILE"},
		{"not a URL", []string{"--tlog", "rekor=127.0.0.1:3000", "--rekor-key", srv.LogKeyPEM}, "--tlog rekor=URL needs an http(s) base URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr := runRekorAirlock(t, bin, dir, 2, append(append([]string{"sign-blob", "--key", "k.key"}, tc.tlog...), "a.txt", "b.txt")...)
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("sign-blob stderr %q, want it to contain %q", stderr, tc.stderr)
			}
			_, stderr = runRekorAirlock(t, bin, dir, 2, append(append([]string{"attest-blob", "--key", "k.key"}, tc.tlog...),
				"--predicate", "sbom.json", "--bundle", "a.att.json", "a.txt")...)
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("attest-blob stderr %q, want it to contain %q", stderr, tc.stderr)
			}
			for _, f := range []string{"a.txt.sigstore.json", "b.txt.sigstore.json", "a.att.json"} {
				if _, err := os.Stat(filepath.Join(dir, f)); !os.IsNotExist(err) {
					t.Errorf("%s exists after a failed call (%v)", f, err)
				}
			}
			if out, _ := runRekorAirlock(t, bin, dir, -1, "audit", "list"); strings.Contains(out, "sign") || strings.Contains(out, "attest") {
				t.Errorf("audit trail after a failed call:\n%s", out)
			}
		})
	}
}

// TestSignRekorV2Again: an RSA (PKCS#1 v1.5) signature is deterministic,
// so signing a file again makes the same entry; the server answers 409 and
// the call fails, exit 2, saying where the entry is.
func TestSignRekorV2Again(t *testing.T) {
	srv := rekortest.Start(t, rekortest.Options{Hostname: "127.0.0.1"})
	bin, dir := keyFileDir(t)
	key, err := generateKey("rsa-3072")
	if err != nil {
		t.Fatal(err)
	}
	pemKey, err := cryptoutils.MarshalPrivateKeyToPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rsa.key"), pemKey, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a.txt"), []byte("a"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"sign-blob", "--key", "rsa.key", "--tlog", "rekor=" + srv.URL, "--rekor-key", srv.LogKeyPEM, "--bundle"}
	runRekorAirlock(t, bin, dir, 0, append(args, "first.json", "a.txt")...)
	_, stderr := runRekorAirlock(t, bin, dir, 2, append(args, "second.json", "a.txt")...)
	if want := "airlock: hint: nothing was written; this signature is already in the log (index 0)"; !strings.Contains(stderr, want) {
		t.Errorf("stderr %q, want %q", stderr, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "second.json")); !os.IsNotExist(err) {
		t.Errorf("second.json exists after a failed call (%v)", err)
	}
}

// runRekorAirlock runs airlock in dir with its own database and checks the exit
// code (-1: any).
func runRekorAirlock(t *testing.T, bin, dir string, want int, args ...string) (stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "AIRLOCK_DB="+filepath.Join(dir, "airlock.db"))
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	_ = cmd.Run()
	if got := cmd.ProcessState.ExitCode(); want >= 0 && got != want {
		t.Errorf("airlock %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), got, want, o.String(), e.String())
	}
	return o.String(), e.String()
}

// writePub writes k.pub, the public half of dir's k.key.
func writePub(t *testing.T, dir string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "k.key"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := cryptoutils.UnmarshalPEMToPrivateKey(data, cryptoutils.SkipPassword)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(key.(crypto.Signer).Public())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "k.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644); err != nil {
		t.Fatal(err)
	}
}

// rekorTrustedRoot is a trusted_root.json listing a Rekor v2 log: baseUrl
// http://ORIGIN, the log key and logId = rekorv2.LogID.
func rekorTrustedRoot(t *testing.T, origin string, logKey any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(logKey)
	if err != nil {
		t.Fatal(err)
	}
	id, err := rekorv2.LogID(origin, logKey)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(map[string]any{
		"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
		"tlogs": []any{map[string]any{
			"baseUrl":       "http://" + origin,
			"hashAlgorithm": "SHA2_256",
			"publicKey": map[string]any{
				"rawBytes":   base64.StdEncoding.EncodeToString(der),
				"keyDetails": "PKIX_ECDSA_P256_SHA_256",
				"validFor":   map[string]any{"start": "2020-01-01T00:00:00Z"},
			},
			"logId": map[string]any{"keyId": base64.StdEncoding.EncodeToString(id)},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}
