package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/airlock-project/airlock/tlog"
	"github.com/airlock-project/airlock/trust"
)

func init() {
	scriptCmds["bundle-checkpoint"] = cmdBundleCheckpoint
	scriptCmds["mirrorpack"] = cmdMirrorPack
}

// bundle-checkpoint BUNDLE OUT: write the signed checkpoint of BUNDLE's
// first log entry to OUT.
func cmdBundleCheckpoint(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: bundle-checkpoint BUNDLE OUT")
	}
	data, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	var pb protobundle.Bundle
	ts.Check(protojson.Unmarshal(data, &pb))
	env := pb.GetVerificationMaterial().GetTlogEntries()[0].GetInclusionProof().GetCheckpoint().GetEnvelope()
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(env), 0o644))
}

// mirrorpack OUT NOTE...: write a mirror pack of the signed checkpoints
// NOTE (one log each, no proofs), as an exporter packs checkpoints it
// has no proofs for.
func cmdMirrorPack(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: mirrorpack OUT NOTE...")
	}
	p := &tlog.Pack{}
	for _, n := range args[1:] {
		data, err := os.ReadFile(ts.MkAbs(n))
		ts.Check(err)
		p.Logs = append(p.Logs, tlog.PackLog{Checkpoint: data})
	}
	var buf bytes.Buffer
	_, err := p.WriteTo(&buf)
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), buf.Bytes(), 0o644))
}

// TestConformanceCheckpointsOpen: the checkpoint of every conformance
// bundle that verifies opens with OpenNote under the Rekor logs of its
// trusted root (the public-good root of the TUF snapshot, or the bundle's
// own trusted_root.json), through the adapter the commands use; the
// bundle whose checkpoint signature is bad does not.
func TestConformanceCheckpointsOpen(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "conformance", "bundle-verify")
	matches, err := filepath.Glob(filepath.Join("..", "..", "testdata", "tuf", "public-good-*", "targets", "*.trusted_root.json"))
	if err != nil || len(matches) != 1 {
		t.Fatalf("public-good trusted root: %v %v", matches, err)
	}
	now := time.Date(2026, 8, 21, 0, 0, 0, 0, time.UTC)
	logsOf := func(path string) []tlog.TrustedLog {
		sel, err := trust.FromTrustedRoot(path, now)
		if err != nil {
			return nil // a _fail vector's trusted root
		}
		return trustedLogs(sel)
	}
	publicGood := logsOf(matches[0])
	if len(publicGood) == 0 {
		t.Fatal("no Rekor logs in the public-good trusted root")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	opened := map[string]int{}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name(), "bundle.sigstore.json"))
		if err != nil {
			continue
		}
		var pb protobundle.Bundle
		if protojson.Unmarshal(data, &pb) != nil || len(pb.GetVerificationMaterial().GetTlogEntries()) == 0 {
			continue
		}
		env := pb.GetVerificationMaterial().GetTlogEntries()[0].GetInclusionProof().GetCheckpoint().GetEnvelope()
		if env == "" {
			continue
		}
		logs := publicGood
		if _, err := os.Stat(filepath.Join(dir, e.Name(), "trusted_root.json")); err == nil {
			logs = logsOf(filepath.Join(dir, e.Name(), "trusted_root.json"))
		}
		n, l, err := tlog.OpenNote([]byte(env), logs)
		fail := strings.HasSuffix(e.Name(), "_fail")
		switch {
		case err == nil:
			opened[n.Host()]++
			if n.Host() != l.Host {
				t.Errorf("%s: opened by %q, note of %q", e.Name(), l.Host, n.Host())
			}
		case e.Name() == "invalid-checkpoint-signature_fail", strings.HasPrefix(e.Name(), "rekor2-checkpoint-") && fail:
			// expected: what is wrong with these is the checkpoint
		case !fail:
			t.Errorf("%s: %v", e.Name(), err)
		}
		if e.Name() == "invalid-checkpoint-signature_fail" && err == nil {
			t.Errorf("%s: a bad checkpoint signature opened", e.Name())
		}
	}
	if opened["rekor.sigstore.dev"] == 0 || opened["log2025-alpha1.rekor.sigstage.dev"] == 0 {
		t.Fatalf("opened %v: want Rekor v1 and Rekor v2 checkpoints", opened)
	}
	t.Logf("opened: %v", opened)
}
