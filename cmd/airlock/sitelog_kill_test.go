package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/airlock-project/airlock/cache"
	"github.com/airlock-project/airlock/hsm"
	"github.com/airlock-project/airlock/hsm/softhsmtest"
	"github.com/airlock-project/airlock/tlog"
)

// TestSiteLogKill9 kills a real airlock process signing a batch of 50
// files with the site log at many points (delays spread over one
// uncontested run), and after each kill checks that the log is consistent
// (it opens, its checkpoint verifies, every entry's inclusion proof
// verifies against the signed root, the audit chain holds and its seals
// verify with the log key) and that no
// bundle on disk names an entry the log does not hold (its index is below
// the log's size and its body is the stored entry's), and that the token
// survived: the killed processes and the checker share one SoftHSM token,
// which holds both the signing key and the log key, and after each kill
// the checker opens it and finds the log's key there, still signing. The
// delays spread the kills; nothing asserts a timing.
func TestSiteLogKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a process 16 times")
	}
	bin, err := exec.LookPath("airlock")
	if err != nil {
		t.Fatalf("the test binary's airlock command is not in PATH: %v", err)
	}
	tok := softhsmtest.New(t) // SOFTHSM2_CONF, inherited by the processes
	// Every key up front, before any process is killed.
	const rotations = 6
	for _, label := range []string{"signer", "logkey"} {
		tok.GenerateKey(t, label, hsm.ECDSAP256)
	}
	for n := range rotations + 1 {
		tok.GenerateKey(t, fmt.Sprintf("logkey%d", n), hsm.ECDSAP256)
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "airlock.db")
	// The first log key's public half, pinned outside the database: audit
	// verify follows the rotations' handovers from it.
	logKey := tok.OpenKey(t, "logkey")
	pub, err := cryptoutils.MarshalPublicKeyToPEM(logKey.Public())
	logKey.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "log.pub"), pub, 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(sub string, args ...string) *exec.Cmd {
		cmd := exec.Command(bin, args...)
		cmd.Dir = filepath.Join(dir, sub)
		cmd.Env = append(os.Environ(), "AIRLOCK_DB="+db)
		return cmd
	}
	if out, err := run("", "log", "init", "--key", tok.KeyURI("logkey"), "--origin", "kill.example").CombinedOutput(); err != nil {
		t.Fatalf("log init: %v\n%s", err, out)
	}
	// SoftHSM 2 rewrites its token file at every login, truncating it
	// first: a process killed in between leaves the token unreadable,
	// whatever airlock does (a hardware token keeps its state itself).
	// After a kill the test puts a truncated file back as it was, counts
	// it, and checks the log all the same.
	tokenFiles, _ := filepath.Glob(filepath.Join(tok.Dir, "tokens", "*", "token.object"))
	if len(tokenFiles) != 1 {
		t.Fatalf("token files: %v", tokenFiles)
	}
	tokenFile, err := os.ReadFile(tokenFiles[0])
	if err != nil {
		t.Fatal(err)
	}
	truncated := 0
	repairToken := func() {
		t.Helper()
		if fi, err := os.Stat(tokenFiles[0]); err != nil || fi.Size() >= int64(len(tokenFile)) {
			return
		}
		truncated++
		if err := os.WriteFile(tokenFiles[0], tokenFile, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	const nFiles = 50
	batch := func(round int) (string, []string) {
		sub := fmt.Sprintf("r%02d", round)
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
		args := []string{"sign-blob", "--key", tok.KeyURI("signer")}
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
	checkLogKeyOnToken(t, tok, db)

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
		repairToken()
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
		checkLogKeyOnToken(t, tok, db)
	}
	t.Logf("one run: %v; of %d kills, %d left no bundle, %d some (killed while renaming), %d all", span, rounds, nothing, partial, committed)

	// log rotate-key killed at several points: the rotation is all or
	// nothing (metadata, head, key reference and audit record commit
	// together), and signing goes on with whichever key the log has.
	rotate := func(n int) *exec.Cmd {
		return run("", "log", "rotate-key", "--key", tok.KeyURI(fmt.Sprintf("logkey%d", n)))
	}
	first := rotate(0)
	start = time.Now()
	if out, err := first.CombinedOutput(); err != nil {
		t.Fatalf("log rotate-key: %v\n%s", err, out)
	}
	span = time.Since(start)
	checkSiteLog(t, dir, db)
	checkLogKeyOnToken(t, tok, db)
	rotated := 1
	for r := 1; r <= rotations; r++ {
		cmd := rotate(r)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(span * time.Duration(3*r) / (2 * rotations)) // up to 1.5 runs
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		repairToken()
		checkSiteLog(t, dir, db)
		n := checkLogKeyOnToken(t, tok, db)
		if n != rotated && n != rotated+1 {
			t.Fatalf("%d retired keys after %d rotations and a killed one", n, rotated)
		}
		rotated = n
	}
	sub, args = batch(rounds + 1)
	if out, err := run(sub, args...).CombinedOutput(); err != nil {
		t.Fatalf("sign-blob after the rotations: %v\n%s", err, out)
	}
	checkSiteLog(t, dir, db)
	t.Logf("one rotation: %v; %d of %d killed rotations committed; SoftHSM's token file truncated by %d kills", span, rotated-1, rotations, truncated)
}

// checkLogKeyOnToken opens the log key the database names on the token
// (the module loaded for this check only, as a process of its own would)
// and checks that it is the site log's current key and still signs, and
// that each key rotation left one audit record. It returns the number of
// retired keys.
func checkLogKeyOnToken(t *testing.T, tok *softhsmtest.Token, db string) int {
	t.Helper()
	ctx := context.Background()
	store := &cache.SiteLogFile{Path: db, Options: cache.Options{ReadOnly: true}}
	l, err := tlog.Open(ctx, store)
	if err != nil {
		t.Fatalf("site log does not open: %v", err)
	}
	ref, err := store.LogKeyRef(ctx)
	if err != nil {
		t.Fatal(err)
	}
	u, err := hsm.ParseURI(ref)
	if err != nil {
		t.Fatalf("the stored log key reference %q: %v", ref, err)
	}
	k, err := hsm.OpenKey(u, hsm.KeyOptions{ModulePath: tok.Module, PIN: tok.PINFunc()})
	if err != nil {
		t.Fatalf("the token after a kill: %v", err)
	}
	pub, ok := k.Public().(*ecdsa.PublicKey)
	digest := sha256.Sum256([]byte("still signing"))
	sig, serr := k.Sign(rand.Reader, digest[:], crypto.SHA256)
	k.Close()
	if !ok || !pub.Equal(l.Key().Public) {
		t.Fatalf("the key the database names (%s) is not the site log's key", ref)
	}
	if serr != nil || !ecdsa.VerifyASN1(pub, digest[:], sig) {
		t.Fatalf("the token's log key does not sign after a kill: %v", serr)
	}
	d, err := cache.Open(db, cache.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := d.Audit()
	d.Close()
	if err != nil {
		t.Fatal(err)
	}
	rotations := 0
	for _, r := range recs {
		if r.Kind == "log-rotate-key" {
			rotations++
		}
	}
	retired := len(l.Meta().RetiredKeys)
	if rotations != retired {
		t.Fatalf("%d log-rotate-key audit records, %d retired keys", rotations, retired)
	}
	return retired
}

// checkSiteLog checks the site log of db and every bundle under dir.
func checkSiteLog(t *testing.T, dir, db string) {
	t.Helper()
	ctx := context.Background()
	// One read-only open for the whole check (the log is not written
	// meanwhile): a proof through SiteLogFile opens the file per read.
	d, err := cache.Open(db, cache.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	l, err := tlog.Open(ctx, &cache.SiteLog{DB: d})
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
	recs, err := d.Audit()
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
