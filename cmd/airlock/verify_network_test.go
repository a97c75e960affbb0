package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// TestVerifyUsesNoNetwork runs the built airlock binary over every way a
// verification succeeds (keyless and key bundles, detached signatures,
// attestations, a batch, trust from --trusted-root and from the database),
// over every conformance case, and over bundle inspect, and fails on any
// network use, two ways:
//
//   - Every proxy variable points at a tripwire listener on 127.0.0.1:
//     any HTTP(S) client that honours the environment (net/http's default
//     transport, TUF and Rekor clients) connects there, and the test fails.
//   - Each run is traced by strace for socket(2) and connect(2), and any
//     AF_INET/AF_INET6 socket fails the test: this catches every dial,
//     whatever library makes it, DNS included.
//
// Each run must end with its exact exit code (0 for every verification
// that should succeed, 1 for a conformance _fail case), so a run that stops
// early (no database, a bad argument) cannot pass for one that verified.
// strace is required: missing, it skips (or fails under
// AIRLOCK_REQUIRE_ALL); present but unable to trace, the test fails.
func TestVerifyUsesNoNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	strace, err := exec.LookPath("strace")
	if err != nil {
		missingPart(t, "needs strace to see every socket airlock opens")
	}
	if out, err := exec.Command(strace, "-f", "-qq", "-e", "trace=none", "true").CombinedOutput(); err != nil {
		t.Fatalf("strace cannot trace here (%v): %s", err, out)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "airlock")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var hits atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			hits.Add(1)
			c.Close()
		}
	}()
	proxy := "http://" + ln.Addr().String()
	env := append(os.Environ(),
		"HTTP_PROXY="+proxy, "HTTPS_PROXY="+proxy, "http_proxy="+proxy, "https_proxy="+proxy,
		"ALL_PROXY="+proxy, "all_proxy="+proxy, "NO_PROXY=", "no_proxy=",
		"AIRLOCK_DB="+filepath.Join(dir, "airlock.db"), "HOME="+dir, "XDG_DATA_HOME="+dir,
		"AIRLOCK_PASSWORD=", "COSIGN_PASSWORD=", "AIRLOCK_PIN=")

	traced := 0
	// run runs airlock ARGS under strace in dir and requires exit code want.
	run := func(want int, args ...string) {
		t.Helper()
		trace := filepath.Join(dir, "trace.log")
		cmd := exec.Command(strace, append([]string{"-f", "-qq", "-e", "trace=socket,connect", "-o", trace, bin}, args...)...)
		cmd.Dir, cmd.Env = dir, env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		got := 0
		if err := cmd.Run(); err != nil {
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("airlock %s: %v", strings.Join(args, " "), err)
			}
			got = ee.ExitCode()
		}
		if got != want {
			t.Errorf("airlock %s: exit %d, want %d\n%s", strings.Join(args, " "), got, want, stderr.String())
		}
		log, err := os.ReadFile(trace)
		if err != nil {
			t.Fatalf("airlock %s: no strace log: %v", strings.Join(args, " "), err)
		}
		for _, l := range strings.Split(string(log), "\n") {
			if strings.Contains(l, "AF_INET") {
				t.Errorf("network use by airlock %s:\n%s", strings.Join(args, " "), l)
			}
		}
		os.Remove(trace)
		traced++
	}

	// Trust in the database, as a site has it: the embedded public-good
	// root, then the shipped snapshot as of a time it was valid.
	abs := func(p string) string {
		a, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	run(0, "trust", "init", "--public-good")
	run(0, "trust", "update", "--from", abs("../../testdata/tuf/public-good-2026-08-21"), "--at", "2026-08-21T20:00:00Z")

	// Every conformance case with --trusted-root; the good ones again with
	// trust from the database where they use the public-good root.
	conf := abs("../../testdata/conformance/bundle-verify")
	root := abs(publicGoodRoot)
	cases, _ := filepath.Glob(filepath.Join(conf, "*"))
	good := 0
	for _, c := range cases {
		if fi, err := os.Stat(c); err != nil || !fi.IsDir() {
			continue
		}
		args := conformanceArgs(t, c, false)[1:]
		want := 0
		if strings.HasSuffix(c, "_fail") {
			want = 1
		}
		for i := range args {
			if args[i] == "--trusted-root" && args[i+1] == publicGoodRoot {
				args[i+1] = root
			}
		}
		run(want, args...)
		if want == 0 {
			good++
			if i := indexOf(args, "--trusted-root"); i >= 0 && args[i+1] == root {
				run(0, append(args[:i:i], args[i+2:]...)...)
			}
		}
	}
	if good < 10 {
		t.Fatalf("only %d good conformance cases under %s", good, conf)
	}
	id := []string{"--certificate-identity", conformanceIdentity, "--certificate-oidc-issuer", conformanceIssuer}
	// Attestations, keyless: --trusted-root and the database.
	dsse := filepath.Join(conf, "happy-path-intoto-in-dsse-v3", "bundle.sigstore.json")
	run(0, append(append([]string{"verify-attestation", "--bundle", dsse, "--type", "slsaprovenance1"}, id...), "--trusted-root", root, filepath.Join(conf, "a.txt"))...)
	run(0, append(append([]string{"verify-attestation", "--bundle", dsse, "--type", "slsaprovenance1"}, id...), filepath.Join(conf, "a.txt"))...)
	// A digest instead of the file, from the database.
	run(0, append(append([]string{"verify-blob", "--bundle", filepath.Join(conf, "happy-path-v0.3", "bundle.sigstore.json")}, id...),
		"sha256:"+fileSHA256(t, filepath.Join(conf, "a.txt")))...)

	// The checkpoint mirror: a pack of the shard's checkpoint imported
	// (the import is traced too), then the bundle verified with the
	// mirror required (matched), as an attestation of a shard not
	// mirrored (a warning).
	v03 := filepath.Join(conf, "happy-path-v0.3", "bundle.sigstore.json")
	note, err := bundleCheckpoint(v03)
	if err != nil {
		t.Fatal(err)
	}
	pack, err := checkpointPack([]byte(note))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pg.pack"), pack, 0o644); err != nil {
		t.Fatal(err)
	}
	run(0, "checkpoints", "import", "pg.pack")
	run(0, append(append([]string{"verify-blob", "--require-mirrored", "--bundle", v03}, id...), filepath.Join(conf, "a.txt"))...)
	run(0, append(append([]string{"verify-attestation", "--bundle", dsse, "--type", "slsaprovenance1"}, id...), filepath.Join(conf, "a.txt"))...)

	// Key-signed evidence airlock makes (signing is not traced): a bundle,
	// a detached .sig, a DSSE attestation as bundle and envelope, a batch.
	key, err := generateKey("ecdsa-p256")
	if err != nil {
		t.Fatal(err)
	}
	pemKey, err := cryptoutils.MarshalPrivateKeyToPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	pemPub, err := cryptoutils.MarshalPublicKeyToPEM(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	logKey, err := generateKey("ecdsa-p256")
	if err != nil {
		t.Fatal(err)
	}
	pemLogKey, err := cryptoutils.MarshalPrivateKeyToPEM(logKey)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"k.key": pemKey, "k.pub": pemPub, "log.key": pemLogKey, "a.tgz": []byte("a"), "b.tgz": []byte("b"), "s.tgz": []byte("s"),
		"sbom.json": []byte(`{"spdxVersion":"SPDX-2.3"}`)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	sign := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir, cmd.Env = dir, env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("airlock %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return out
	}
	sign("sign-blob", "--key", "k.key", "--tlog", "none", "a.tgz", "b.tgz")
	sign("sign-blob", "--key", "k.key", "--tlog", "none", "--bundle", "a.json", "--output-signature", "a.sig", "a.tgz")
	sign("attest-blob", "--key", "k.key", "--tlog", "none", "--predicate", "sbom.json", "--type", "spdxjson", "--bundle", "a.att.json", "a.tgz")
	// The DSSE envelope alone, on stdout (cosign's attest-blob form).
	envelope := sign("attest-blob", "--key", "k.key", "--tlog", "none", "--predicate", "sbom.json", "--type", "spdxjson", "a.tgz")
	if err := os.WriteFile(filepath.Join(dir, "a.att"), envelope, 0o600); err != nil {
		t.Fatal(err)
	}
	run(0, "verify-blob", "--key", "k.pub", "--insecure-ignore-tlog", "--bundle", "a.json", "a.tgz")
	run(0, "verify-blob", "--key", "k.pub", "--insecure-ignore-tlog", "--bundle", "a.json", "--trusted-root", root, "a.tgz")
	run(0, "verify-blob", "--key", "k.pub", "--insecure-ignore-tlog", "--signature", "a.sig", "a.tgz")
	run(0, "verify-attestation", "--key", "k.pub", "--insecure-ignore-tlog", "--type", "spdxjson", "--bundle", "a.att.json", "a.tgz")
	run(0, "verify-attestation", "--key", "k.pub", "--insecure-ignore-tlog", "--type", "spdxjson", "--signature", "a.att", "a.tgz")
	// The site log in the same database (a key file: signing is not
	// traced): its bundles verify with database trust, and a detached
	// .sig or .att by the entry the verifier finds in the log.
	sign("log", "init", "--key", "log.key", "--origin", "transparency.site.example")
	sign("sign-blob", "--key", "k.key", "--bundle", "s.json", "--output-signature", "s.sig", "s.tgz")
	if err := os.WriteFile(filepath.Join(dir, "s.att"), sign("attest-blob", "--key", "k.key", "--predicate", "sbom.json", "--type", "spdxjson", "s.tgz"), 0o600); err != nil {
		t.Fatal(err)
	}
	run(0, "verify-blob", "--key", "k.pub", "--bundle", "s.json", "s.tgz")
	// The site log as its own mirror.
	run(0, "verify-blob", "--require-mirrored", "--key", "k.pub", "--bundle", "s.json", "s.tgz")
	run(0, "verify-blob", "--key", "k.pub", "--signature", "s.sig", "s.tgz")
	run(0, "verify-attestation", "--key", "k.pub", "--type", "spdxjson", "--signature", "s.att", "s.tgz")
	// The .sig with the bundle written beside it: its log evidence.
	run(0, "verify-blob", "--key", "k.pub", "--signature", "s.sig", "--bundle", "s.json", "s.tgz")
	run(0, "verify-blob", "--key", "k.pub", "--insecure-ignore-tlog", "a.tgz", "b.tgz")
	run(0, "verify-blob", "-o", "json", "--key", "k.pub", "--insecure-ignore-tlog", "a.tgz", "b.tgz")
	run(0, "bundle", "inspect", filepath.Join(conf, "rekor2-timestamp-with-embedded-cert", "bundle.sigstore.json"))

	if n := hits.Load(); n != 0 {
		t.Errorf("%d connection(s) to the proxy tripwire: airlock made HTTP requests", n)
	}
	// A floor, so that losing the conformance cases or a verify form
	// cannot pass quietly (today 81: 2 trust runs, 55 cases, the good ones
	// again from the database, 13 more forms, 4 of the mirror).
	const minTracedRuns = 78
	if traced < minTracedRuns {
		t.Errorf("%d traced runs, want at least %d", traced, minTracedRuns)
	}
	t.Logf("%d traced runs (%d good conformance cases)", traced, good)
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}
