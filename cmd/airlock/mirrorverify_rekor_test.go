package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/airlock-project/airlock/tlog"
	"github.com/airlock-project/airlock/tlog/rekorv2/rekortest"
	"github.com/airlock-project/airlock/trust/tufgen"
)

// TestVerifyMirrorRekorFork is issue 11's fork test with a real Rekor v2:
// two rekor-tiles servers on 127.0.0.1 with the same log key and
// hostname but different entries are a genuine equivocating log. The
// mirror pack is made from server A's storage directory as an exporter
// would (tlog.PackFromTiles) and imported; then A's bundles verify with
// the mirror status matched or proved, while B's bundles of the same
// size, or of a smaller one contradicted by the stored proof, are a
// SECURITY ERROR that prints the evidence, and one larger than the
// mirror is a warning that --require-mirrored turns into a rejection.
func TestVerifyMirrorRekorFork(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	a := rekortest.Start(t, rekortest.Options{Hostname: "127.0.0.1", Key: key})
	b := rekortest.Start(t, rekortest.Options{Hostname: "127.0.0.1", Key: key})
	bin, dir := keyFileDir(t)
	writePub(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "trusted_root.json"), rekorTrustedRoot(t, a.Origin, a.LogKey), 0o644); err != nil {
		t.Fatal(err)
	}
	trustInDatabase(t, bin, dir, "trusted_root.json")
	run := func(want int, args ...string) (string, string) {
		t.Helper()
		return runRekorAirlock(t, bin, dir, want, args...)
	}

	// A: a0 (tree size 1), a1 (size 2). B: b0 (1), b1 (2), b2 (3): the
	// same sizes with other entries, so other roots.
	sign := func(srv *rekortest.Server, name string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name+".txt"), []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
		run(0, "sign-blob", "--key", "k.key", "--tlog", "rekor="+srv.URL, "--bundle", name+".json", name+".txt")
	}
	for _, s := range []struct {
		srv  *rekortest.Server
		name string
	}{{a, "a0"}, {a, "a1"}, {b, "b0"}, {b, "b1"}, {b, "b2"}} {
		sign(s.srv, s.name)
	}
	for name, size := range map[string]int64{"a0": 1, "a1": 2, "b0": 1, "b1": 2, "b2": 3} {
		out, _ := run(0, "bundle", "inspect", "-o", "json", name+".json")
		if !strings.Contains(out, fmt.Sprintf(`"treeSize":%d`, size)) {
			t.Fatalf("%s: want an inclusion proof in a tree of size %d:\n%s", name, size, out)
		}
	}

	// Before any import: not mirrored, a warning.
	_, stderr := run(0, "verify-blob", "--key", "k.pub", "--bundle", "a1.json", "a1.txt")
	if want := `airlock: warning: the checkpoint of "127.0.0.1" (size 2) is not mirrored`; !strings.Contains(stderr, want) {
		t.Errorf("stderr %q, want %q", stderr, want)
	}
	run(1, "verify-blob", "--require-mirrored", "--key", "k.pub", "--bundle", "a1.json", "a1.txt")

	// The exporter's pack: A's checkpoint (size 2) with a proof from 1.
	writePackFromTiles(t, a.StorageDir, []int64{1}, filepath.Join(dir, "a.pack"))
	run(0, "checkpoints", "import", "a.pack")

	for _, tc := range []struct {
		name, status string
	}{{"a1", `"mirror":{"status":"matched","mirroredSize":2,"policy":"require","witnesses":[]}`},
		{"a0", `"mirror":{"status":"proved","mirroredSize":2,"policy":"require","witnesses":[]}`}} {
		out, stderr := run(0, "verify-blob", "-o", "json", "--require-mirrored", "--key", "k.pub", "--bundle", tc.name+".json", tc.name+".txt")
		if !strings.Contains(out, tc.status) {
			t.Errorf("%s: stdout %s, want %s", tc.name, out, tc.status)
		}
		if stderr != "" {
			t.Errorf("%s: stderr %q, want none", tc.name, stderr)
		}
	}

	// B's bundles: same size, another root; smaller, and the stored proof
	// from 1 to 2 fails with B's root.
	for _, tc := range []struct {
		name, detail string
		proof        bool
	}{{"b1", "two different root hashes for the tree of size 2", false}, {"b0", "", true}} {
		out, stderr := run(1, "verify-blob", "-o", "json", "--key", "k.pub", "--bundle", tc.name+".json", tc.name+".txt")
		for _, want := range []string{
			`airlock: SECURITY ERROR: log "127.0.0.1" shows a split view: the checkpoint of log entry `,
			"-----BEGIN CLAIMED CHECKPOINT-----\n127.0.0.1\n",
			"-----BEGIN MIRRORED CHECKPOINT-----\n127.0.0.1\n2\n",
			tc.detail,
		} {
			if !strings.Contains(stderr, want) {
				t.Errorf("%s: stderr %q, want %q", tc.name, stderr, want)
			}
		}
		if got := strings.Contains(stderr, "-----BEGIN CONSISTENCY PROOF 1 TO 2-----\n"); got != tc.proof {
			t.Errorf("%s: the failing proof printed: %v, want %v\n%s", tc.name, got, tc.proof, stderr)
		}
		if !strings.Contains(out, `"reasonCode":"split-view"`) || !strings.Contains(out, `"status":"inconsistent"`) {
			t.Errorf("%s: stdout %s, want reasonCode split-view, mirror status inconsistent", tc.name, out)
		}
		// The claimed note is B's, verbatim.
		claimed, err := bundleCheckpoint(filepath.Join(dir, tc.name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(stderr, claimed) {
			t.Errorf("%s: stderr does not hold the bundle's checkpoint verbatim:\n%s", tc.name, stderr)
		}
	}
	// The evidence is recorded in the database.
	out, _ := run(0, "checkpoints", "list")
	if !strings.Contains(out, "127.0.0.1") || !strings.Contains(strings.ToLower(out), "evidence") {
		t.Errorf("checkpoints list does not show the recorded evidence:\n%s", out)
	}

	// B's size 3 is newer than the mirror: nothing proves it either way.
	_, stderr = run(0, "verify-blob", "--key", "k.pub", "--bundle", "b2.json", "b2.txt")
	if want := `airlock: warning: the checkpoint of "127.0.0.1" (size 3) is newer than the mirrored one (size 2)`; !strings.Contains(stderr, want) {
		t.Errorf("stderr %q, want %q", stderr, want)
	}
	_, stderr = run(1, "verify-blob", "--require-mirrored", "--key", "k.pub", "--bundle", "b2.json", "b2.txt")
	if want := "airlock: hint: import a mirror pack that holds"; !strings.Contains(stderr, want) {
		t.Errorf("stderr %q, want %q", stderr, want)
	}
}

// trustInDatabase puts the trusted root file trustedRoot of dir in dir's
// database as a TUF repository named site (one generated for it).
func trustInDatabase(t *testing.T, bin, dir, trustedRoot string) {
	t.Helper()
	r, err := genRepo(1, filepath.Join(dir, trustedRoot))
	if err != nil {
		t.Fatal(err)
	}
	repo := filepath.Join(dir, "repo")
	if err := tufgen.WriteDir(repo, r.Files); err != nil {
		t.Fatal(err)
	}
	runRekorAirlock(t, bin, dir, 0, "trust", "init", "--root", filepath.Join(repo, "1.root.json"), "--name", "site")
	runRekorAirlock(t, bin, dir, 0, "trust", "update", "--from", repo)
}

// writePackFromTiles writes the mirror pack of the tlog-tiles log in
// storage (a rekor-tiles storage directory: checkpoint, tile/...), with
// consistency proofs from each of fromSizes, as an exporter makes it.
func writePackFromTiles(t *testing.T, storage string, fromSizes []int64, out string) {
	t.Helper()
	root, err := os.OpenRoot(storage)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	cp, err := root.ReadFile("checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	read := func(_ context.Context, tile tlog.Tile) ([]byte, error) {
		return root.ReadFile(tlog.TilePath(tile))
	}
	pl, err := tlog.PackFromTiles(context.Background(), cp, read, fromSizes)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := (&tlog.Pack{Logs: []tlog.PackLog{*pl}}).WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
