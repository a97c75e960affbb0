package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/airlock-project/airlock/cache"
	"github.com/airlock-project/airlock/tlog"
)

// TestSiteLogKill9 kills a real airlock process signing a batch of 50
// files with the site log at many points (delays spread over one
// uncontested run), and after each kill checks that the log is consistent
// (it opens, its checkpoint verifies, every entry's inclusion proof
// verifies against the signed root, the audit chain holds and its seals
// verify with the log key) and that no
// bundle on disk names an entry the log does not hold (its index is below
// the log's size and its body is the stored entry's). The delays spread
// the kills; nothing asserts a timing.
func TestSiteLogKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a process 16 times")
	}
	bin, err := exec.LookPath("airlock")
	if err != nil {
		t.Fatalf("the test binary's airlock command is not in PATH: %v", err)
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "airlock.db")
	writeKey := func(name string) {
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
		pub, err := cryptoutils.MarshalPublicKeyToPEM(k.Public())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, strings.TrimSuffix(name, ".key")+".pub"), pub, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeKey("signer.key")
	writeKey("log.key")
	run := func(sub string, args ...string) *exec.Cmd {
		cmd := exec.Command(bin, args...)
		cmd.Dir = filepath.Join(dir, sub)
		cmd.Env = append(os.Environ(), "AIRLOCK_DB="+db)
		return cmd
	}
	if out, err := run("", "log", "init", "--key", "log.key", "--origin", "kill.example").CombinedOutput(); err != nil {
		t.Fatalf("log init: %v\n%s", err, out)
	}
	const nFiles = 50
	batch := func(round int) (string, []string) {
		sub := fmt.Sprintf("r%02d", round)
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
		args := []string{"sign-blob", "--key", "../signer.key"}
		for i := range nFiles {
			name := fmt.Sprintf("f%02d.txt", i)
			if err := os.WriteFile(filepath.Join(dir, sub, name), fmt.Appendf(nil, "round %d file %d\n", round, i), 0o644); err != nil {
				t.Fatal(err)
			}
			args = append(args, name)
		}
		return sub, args
	}

	// One uncontested run gives the span the kills are spread over.
	sub, args := batch(0)
	start := time.Now()
	if out, err := run(sub, args...).CombinedOutput(); err != nil {
		t.Fatalf("sign-blob: %v\n%s", err, out)
	}
	span := time.Since(start)
	checkSiteLog(t, dir, db)

	const rounds = 16
	var committed, partial, nothing int
	for r := 1; r <= rounds; r++ {
		sub, args := batch(r)
		cmd := run(sub, args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(span * time.Duration(3*r) / (2 * rounds)) // up to 1.5 runs

		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		bundles, _ := filepath.Glob(filepath.Join(dir, sub, "*.sigstore.json"))
		switch len(bundles) {
		case 0:
			nothing++
		case nFiles:
			committed++
		default:
			partial++ // killed while renaming: the log holds them all
		}
		checkSiteLog(t, dir, db)
	}
	t.Logf("one run: %v; of %d kills, %d left no bundle, %d some (killed while renaming), %d all", span, rounds, nothing, partial, committed)
}

// checkSiteLog checks the site log of db and every bundle under dir.
func checkSiteLog(t *testing.T, dir, db string) {
	t.Helper()
	ctx := context.Background()
	l, err := tlog.Open(ctx, &cache.SiteLogFile{Path: db, Options: cache.Options{ReadOnly: true}})
	if err != nil {
		t.Fatalf("site log does not open: %v", err)
	}
	head, err := l.Checkpoint(ctx)
	if err != nil {
		t.Fatalf("checkpoint: %v", err)
	}
	for i := int64(0); i < head.Size; i++ {
		if _, err := l.InclusionProof(ctx, i, head.Size); err != nil {
			t.Fatalf("entry %d of %d: %v", i, head.Size, err)
		}
	}
	if head.Size > 1 {
		if _, err := l.ConsistencyProof(ctx, 1, head.Size); err != nil {
			t.Fatalf("consistency 1..%d: %v", head.Size, err)
		}
	}
	d, err := cache.Open(db, cache.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := d.Audit()
	d.Close()
	if err != nil {
		t.Fatalf("audit trail: %v", err)
	}
	logged := 0
	for _, r := range recs {
		if s, ok := r.Fields["log_index"]; ok {
			logged++
			if n, err := strconv.ParseInt(s, 10, 64); err != nil || n >= head.Size {
				t.Fatalf("audit record %d names entry %s, the log has %d", r.Seq, s, head.Size)
			}
		}
	}
	if int64(logged) != head.Size {
		t.Fatalf("%d audit records name log entries, the log has %d", logged, head.Size)
	}
	// Each batch's seal commits with its records: whatever the kill, the
	// trail is sealed whole.
	verify := exec.Command("airlock", "audit", "verify", "--log-key", filepath.Join(dir, "log.pub"))
	verify.Env = append(os.Environ(), "AIRLOCK_DB="+db)
	if out, err := verify.CombinedOutput(); err != nil {
		t.Fatalf("audit verify: %v\n%s", err, out)
	}
	bundles, err := filepath.Glob(filepath.Join(dir, "r*", "*.sigstore.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range bundles {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var b protobundle.Bundle
		if err := protojson.Unmarshal(data, &b); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		es := b.GetVerificationMaterial().GetTlogEntries()
		if len(es) != 1 {
			t.Fatalf("%s has %d log entries", p, len(es))
		}
		if es[0].LogIndex >= head.Size {
			t.Fatalf("%s names entry %d, the log has %d", p, es[0].LogIndex, head.Size)
		}
		e, err := l.Entry(ctx, es[0].LogIndex)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(e.Body, es[0].CanonicalizedBody) {
			t.Fatalf("%s: entry %d's body is not the bundle's", p, es[0].LogIndex)
		}
	}
}
