package main

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// TestVerifyUsesNoNetwork runs the built airlock binary over every
// conformance case and the other verification and inspection forms, and
// fails on any network use, two ways:
//
//   - Every proxy variable points at a tripwire listener on 127.0.0.1:
//     any HTTP(S) client that honours the environment (net/http's default
//     transport, TUF and Rekor clients) connects there, and the test fails.
//   - When strace works here, each run is traced for socket(2) and
//     connect(2), and any AF_INET/AF_INET6 socket fails the test: this
//     catches every dial, whatever library makes it, DNS included.
//
// The strace check is skipped (and logged) only where ptrace is not
// allowed; `make test` runs where it is.
func TestVerifyUsesNoNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
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

	strace, _ := exec.LookPath("strace")
	if strace != "" {
		if err := exec.Command(strace, "-f", "-qq", "-e", "trace=none", "true").Run(); err != nil {
			t.Logf("strace cannot trace here (%v): socket check skipped, proxy tripwire only", err)
			strace = ""
		}
	}

	var runs [][]string
	cases, _ := filepath.Glob("../../testdata/conformance/bundle-verify/*")
	for _, c := range cases {
		if fi, err := os.Stat(c); err == nil && fi.IsDir() {
			runs = append(runs, conformanceArgs(t, c, false)[1:])
		}
	}
	conf := "../../testdata/conformance/bundle-verify"
	runs = append(runs,
		// No --trusted-root: trust from an (absent) database, never fetched.
		[]string{"verify-blob", "--bundle", conf + "/happy-path-v0.3/bundle.sigstore.json",
			"--certificate-identity", conformanceIdentity, "--certificate-oidc-issuer", conformanceIssuer, conf + "/a.txt"},
		[]string{"verify-attestation", "--bundle", conf + "/happy-path-intoto-in-dsse-v3/bundle.sigstore.json", "--type", "slsaprovenance1",
			"--certificate-identity", conformanceIdentity, "--certificate-oidc-issuer", conformanceIssuer, "--trusted-root", publicGoodRoot, conf + "/a.txt"},
		[]string{"bundle", "inspect", conf + "/rekor2-timestamp-with-embedded-cert/bundle.sigstore.json"},
		[]string{"verify-blob", "--key", conf + "/managed-key-happy-path/key.pub", "--signature", conf + "/a.txt", conf + "/a.txt"},
	)

	env := append(os.Environ(),
		"HTTP_PROXY="+proxy, "HTTPS_PROXY="+proxy, "http_proxy="+proxy, "https_proxy="+proxy,
		"ALL_PROXY="+proxy, "all_proxy="+proxy, "NO_PROXY=", "no_proxy=",
		"AIRLOCK_DB="+filepath.Join(dir, "airlock.db"), "HOME="+dir, "XDG_DATA_HOME="+dir)
	for i, args := range runs {
		var cmd *exec.Cmd
		trace := filepath.Join(dir, "trace.log")
		if strace != "" {
			cmd = exec.Command(strace, append([]string{"-f", "-qq", "-e", "trace=socket,connect", "-o", trace, bin}, args...)...)
		} else {
			cmd = exec.Command(bin, args...)
		}
		cmd.Env = env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		if _, ok := err.(*exec.ExitError); err != nil && !ok {
			t.Fatalf("run %d: %v", i, err)
		}
		if strace != "" {
			log, err := os.ReadFile(trace)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range strings.Split(string(log), "\n") {
				if strings.Contains(l, "AF_INET") {
					t.Errorf("network use by airlock %s:\n%s", strings.Join(args, " "), l)
				}
			}
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("%d connection(s) to the proxy tripwire: airlock made HTTP requests", n)
	}
	t.Logf("%d runs, strace socket check: %v", len(runs), strace != "")
}
