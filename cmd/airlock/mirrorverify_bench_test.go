package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/airlock-project/airlock/bundle"
	"github.com/airlock-project/airlock/tlog"
)

// The mirror check's cost (issue 11's target: at most 10% on a keyless
// verification and on a batch of 1000). Each benchmark has an "off" and an
// "on" variant, run interleaved; docs/benchmarks.md has the figures:
//
//	go test ./cmd/airlock -run '^$' -bench 'Mirror' -benchtime 3s -count 5

// mirrorBench is a database whose mirror holds the checkpoint of the
// conformance suite's happy-path-v0.3 bundle (public-good trust, a pack
// of that checkpoint imported), and the bundle and artifact.
type mirrorBench struct {
	db     string
	tr     *root.TrustedRoot
	bundle string
	a      bundle.Artifact
}

func newMirrorBench(b *testing.B) mirrorBench {
	b.Helper()
	dir := b.TempDir()
	db := filepath.Join(dir, "airlock.db")
	conf, err := filepath.Abs("../../testdata/conformance/bundle-verify")
	if err != nil {
		b.Fatal(err)
	}
	v03 := filepath.Join(conf, "happy-path-v0.3", "bundle.sigstore.json")
	note, err := bundleCheckpoint(v03)
	if err != nil {
		b.Fatal(err)
	}
	pack, err := checkpointPack([]byte(note))
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pg.pack"), pack, 0o644); err != nil {
		b.Fatal(err)
	}
	tuf, err := filepath.Abs("../../testdata/tuf/public-good-2026-08-21")
	if err != nil {
		b.Fatal(err)
	}
	for _, args := range [][]string{
		{"trust", "init", "--public-good"},
		{"trust", "update", "--from", tuf, "--at", "2026-08-21T20:00:00Z"},
		{"checkpoints", "import", "pg.pack"},
	} {
		cmd := exec.Command("airlock", args...)
		cmd.Dir, cmd.Env = dir, append(os.Environ(), "AIRLOCK_DB="+db)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("airlock %v: %v\n%s", args, err, out)
		}
	}
	tr, err := root.NewTrustedRootFromPath(publicGoodRoot)
	if err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(conf, "a.txt"))
	if err != nil {
		b.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return mirrorBench{db: db, tr: tr, bundle: v03, a: bundle.Artifact{Name: "a.txt", Digests: map[string][]byte{"sha256": sum[:]}}}
}

// verifier is what verifyAction builds: the trust source, and, when
// mirror is set, the mirror options read from the database (the site log
// looked for, the stored witness policy read) as a process does once.
func (mb mirrorBench) verifier(b *testing.B, mirror, cache, noMemo bool) *bundle.Verifier {
	o := bundle.Options{CacheCertificates: cache}
	if mirror {
		if err := setMirror(context.Background(), mb.db, "", true, &o); err != nil {
			b.Fatal(err)
		}
		o.Mirror.(*dbMirror).noMemo = noMemo
	}
	v, err := bundle.NewVerifier(bundle.Trust{Sources: []bundle.TrustSource{{Name: "public-good", Material: mb.tr}}},
		bundle.Policy{CertificateIdentity: conformanceIdentity, CertificateOIDCIssuer: conformanceIssuer}, o)
	if err != nil {
		b.Fatal(err)
	}
	return v
}

// BenchmarkMirrorKeyless is one keyless verification as a process makes
// it: the verifier built, the bundle read and verified; "on" adds the
// mirror set-up and the check (a matched checkpoint, required).
func BenchmarkMirrorKeyless(b *testing.B) {
	mb := newMirrorBench(b)
	for _, mirror := range []bool{false, true} {
		b.Run(onOff(mirror), func(b *testing.B) {
			cpu := processCPUTime()
			for b.Loop() {
				v := mb.verifier(b, mirror, false, false)
				bun, err := bundle.ReadBundleFile(mb.bundle)
				if err != nil {
					b.Fatal(err)
				}
				r, err := v.VerifyBundle(bun, mb.bundle, mb.a)
				if err != nil {
					b.Fatal(err)
				}
				if mirror && r.LogEntries[0].Mirror.Status != "matched" {
					b.Fatalf("mirror status %q", r.LogEntries[0].Mirror.Status)
				}
			}
			b.ReportMetric(float64(processCPUTime()-cpu)/float64(b.N)/1e6, "cpu-ms/op")
		})
	}
}

// BenchmarkMirrorBatch1000 is a batch of 1000 files with their bundles
// (copies of happy-path-v0.3) through VerifyFiles on all cores, as
// verify-blob FILE... runs it. "on" checks each against the mirror: one
// database read for the batch's one checkpoint; "on-distinct" reads the
// database for every bundle, as a batch of bundles with 1000 distinct
// checkpoints would.
func BenchmarkMirrorBatch1000(b *testing.B) {
	mb := newMirrorBench(b)
	dir := b.TempDir()
	a, err := os.ReadFile(filepath.Join(filepath.Dir(filepath.Dir(mb.bundle)), "a.txt"))
	if err != nil {
		b.Fatal(err)
	}
	bj, err := os.ReadFile(mb.bundle)
	if err != nil {
		b.Fatal(err)
	}
	var items []bundle.Item
	for i := range 1000 {
		name := filepath.Join(dir, fmt.Sprintf("f%d.txt", i))
		if err := os.WriteFile(name, a, 0o644); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(name+".sigstore.json", bj, 0o644); err != nil {
			b.Fatal(err)
		}
		items = append(items, bundle.Item{Artifact: name, Evidence: name + ".sigstore.json"})
	}
	for _, tc := range []struct {
		name           string
		mirror, noMemo bool
	}{{"off", false, false}, {"on", true, false}, {"on-distinct", true, true}} {
		b.Run(tc.name, func(b *testing.B) {
			cpu := processCPUTime()
			for b.Loop() {
				v := mb.verifier(b, tc.mirror, true, tc.noMemo)
				for _, r := range v.VerifyFiles(b.Context(), items) {
					if r.Err != nil {
						b.Fatal(r.Err)
					}
				}
			}
			b.ReportMetric(float64(b.N*len(items))/b.Elapsed().Seconds(), "bundles/s")
			b.ReportMetric(float64(processCPUTime()-cpu)/float64(b.N)/1e6, "cpu-ms/op")
		})
	}
}

// processCPUTime is the process's user and system CPU time so far: on a
// shared machine, a steadier measure of work than wall time.
func processCPUTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// BenchmarkMirrorSetupAndCheck is the mirror's whole cost in one
// verification, alone: the set-up read (site log, stored policy) and
// the check of one checkpoint (a read of the database, matched).
func BenchmarkMirrorSetupAndCheck(b *testing.B) {
	mb := newMirrorBench(b)
	note, err := bundleCheckpoint(mb.bundle)
	if err != nil {
		b.Fatal(err)
	}
	c, err := tlog.ClaimFromNote([]byte(note))
	if err != nil {
		b.Fatal(err)
	}
	cpu := processCPUTime()
	for b.Loop() {
		var o bundle.Options
		if err := setMirror(context.Background(), mb.db, "", true, &o); err != nil {
			b.Fatal(err)
		}
		mc, err := o.Mirror.CheckCheckpoint(context.Background(), c)
		if err != nil || mc.Status != tlog.MirrorMatched {
			b.Fatalf("%v %+v", err, mc)
		}
	}
	b.ReportMetric(float64(processCPUTime()-cpu)/float64(b.N)/1e6, "cpu-ms/op")
}
