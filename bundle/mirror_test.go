package bundle_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/airlock-project/airlock/bundle"
	"github.com/airlock-project/airlock/cache"
	"github.com/airlock-project/airlock/tlog"
	"github.com/airlock-project/airlock/tlog/sitelogtest"
	"github.com/airlock-project/airlock/trust"
)

// siteMirror is the site log as its own mirror, as the command line
// checks its bundles.
type siteMirror struct{ l *tlog.Log }

func (m siteMirror) CheckCheckpoint(ctx context.Context, c tlog.Claim) (*tlog.MirrorCheck, error) {
	return m.l.CheckClaim(ctx, c)
}

// TestMirrorCheckSiteLogFork: a site log and a copy of its database that
// signed on (a fork under the same key). The log's bundles are matched;
// the fork's, of the same size, are a split view that carries both
// signed checkpoints; a bundle newer than the log checked against is a
// warning, a rejection under RequireMirrored; evidence verified on the
// key alone is not checked against the mirror.
func TestMirrorCheckSiteLogFork(t *testing.T) {
	ctx := context.Background()
	now := time.Now().Truncate(time.Second)
	dir := t.TempDir()
	logKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	builder, err := bundle.NewBuilder(signer, nil)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("a"))
	a := bundle.Artifact{Name: "a", Digests: map[string][]byte{"sha256": sum[:]}}

	site, err := sitelogtest.Create(ctx, filepath.Join(dir, "a.db"), "log.example", logKey, now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	first, err := site.SignDigest(ctx, builder, sum[:], now)
	if err != nil {
		t.Fatal(err)
	}
	site.Close()
	data, err := os.ReadFile(filepath.Join(dir, "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "b.db"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	open := func(name string) *sitelogtest.Site {
		db, err := cache.Open(filepath.Join(dir, name), cache.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		l, err := tlog.Open(ctx, &cache.SiteLog{DB: db})
		if err != nil {
			t.Fatal(err)
		}
		return &sitelogtest.Site{DB: db, Log: l, LogKey: logKey}
	}
	siteA, siteB := open("a.db"), open("b.db")
	signed := func(s *sitelogtest.Site) []byte {
		l, err := s.SignDigest(ctx, builder, sum[:], now)
		if err != nil {
			t.Fatal(err)
		}
		return l.Bundle
	}
	bundleA, bundleB := signed(siteA), signed(siteB)

	m := siteA.Log.Meta()
	src, err := trust.SiteLogSource([]trust.LogKey{{Origin: m.Origin, PublicKey: m.PublicKey, ValidFrom: m.Created}})
	if err != nil {
		t.Fatal(err)
	}
	verify := func(o bundle.Options, data []byte) (*bundle.Result, error) {
		t.Helper()
		v, err := bundle.NewVerifier(bundle.Trust{Sources: []bundle.TrustSource{bundle.TrustSource(src)}}, bundle.Policy{Key: signer.Public()}, o)
		if err != nil {
			t.Fatal(err)
		}
		b, err := bundle.ParseBundle(data)
		if err != nil {
			t.Fatal(err)
		}
		return v.VerifyBundle(b, "b", a)
	}
	mirrorA := bundle.Options{Mirror: siteMirror{siteA.Log}}

	for _, tc := range []struct {
		name string
		b    []byte
		size int64
	}{{"first", first.Bundle, 1}, {"A", bundleA, 2}} {
		r, err := verify(mirrorA, tc.b)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got := r.LogEntries[0].Mirror
		if got == nil || got.Status != tlog.MirrorMatched || got.MirroredSize != tc.size || got.Policy != "warn" || len(got.Witnesses) != 0 {
			t.Errorf("%s: mirror %+v, want matched at %d, policy warn", tc.name, got, tc.size)
		}
		if len(r.Warnings) != 0 {
			t.Errorf("%s: warnings %q", tc.name, r.Warnings)
		}
	}

	r, err := verify(mirrorA, bundleB)
	var sv *bundle.SplitViewError
	if bundle.ReasonOf(err) != bundle.ReasonSplitView || !errors.As(err, &sv) || !errors.Is(err, tlog.ErrInconsistent) {
		t.Fatalf("the fork's bundle: %v (reason %q), want a split view", err, bundle.ReasonOf(err))
	}
	if !strings.HasPrefix(err.Error(), "SECURITY ERROR: ") || r.Reason != bundle.ReasonSplitView || r.Verified {
		t.Errorf("result %+v, error %q", r, err)
	}
	cpB := checkpointOf(t, bundleB)
	cpA := checkpointOf(t, bundleA)
	for _, want := range []string{cpB, cpA} {
		if !strings.Contains(sv.Evidence(), want) || !strings.Contains(r.LogEntries[0].Mirror.Evidence, want) {
			t.Errorf("evidence does not hold %q verbatim:\n%s", want, sv.Evidence())
		}
	}
	if got := r.LogEntries[0].Mirror; got.Status != bundle.MirrorInconsistent || got.MirroredSize != 2 {
		t.Errorf("mirror %+v, want inconsistent at 2", got)
	}

	// B signs on: its size 3 is newer than A's 2, which says nothing of
	// it either way.
	newer := signed(siteB)
	r, err = verify(mirrorA, newer)
	if err != nil || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "is newer than the mirrored one (size 2)") {
		t.Errorf("newer: %v, warnings %q", err, r.Warnings)
	}
	if got := r.LogEntries[0].Mirror; got.Status != tlog.MirrorNewer || got.MirroredSize != 2 {
		t.Errorf("newer: mirror %+v", got)
	}
	_, err = verify(bundle.Options{Mirror: siteMirror{siteA.Log}, RequireMirrored: true}, newer)
	if bundle.ReasonOf(err) != bundle.ReasonNotMirrored {
		t.Errorf("newer, required: %v, want %s", err, bundle.ReasonNotMirrored)
	}

	// Without a mirror, nothing is said.
	r, err = verify(bundle.Options{}, bundleB)
	if err != nil || r.LogEntries[0].Mirror != nil {
		t.Errorf("no mirror: %v, %+v", err, r.LogEntries[0].Mirror)
	}
}

// checkpointOf is the checkpoint note of a bundle's first log entry.
func checkpointOf(t *testing.T, data []byte) string {
	t.Helper()
	b, err := bundle.ParseBundle(data)
	if err != nil {
		t.Fatal(err)
	}
	return b.GetVerificationMaterial().GetTlogEntries()[0].GetInclusionProof().GetCheckpoint().GetEnvelope()
}
