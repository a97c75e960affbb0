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
	"testing"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/airlock-project/airlock/bundle"
	"github.com/airlock-project/airlock/tlog/sitelogtest"
	"github.com/airlock-project/airlock/trust"
)

// tamper is one unsigned field of a log entry changed to contradict what
// is signed, and the field the rejection must name.
type tamper struct {
	name  string
	field string
	edit  func(*protorekor.TransparencyLogEntry)
}

// checkTampered verifies good (it must verify), then each tampered copy:
// each must be rejected as tlog-entry-inconsistent, naming its field.
func checkTampered(t *testing.T, v *bundle.Verifier, good *protobundle.Bundle, a bundle.Artifact, cases []tamper) {
	t.Helper()
	verify := func(pb *protobundle.Bundle) (*bundle.Result, error) {
		data, err := protojson.Marshal(pb)
		if err != nil {
			t.Fatal(err)
		}
		b, err := bundle.ParseBundle(data)
		if err != nil {
			t.Fatal(err)
		}
		return v.VerifyBundle(b, "b.json", a)
	}
	if r, err := verify(good); err != nil || !r.Verified {
		t.Fatalf("the untampered bundle: %v", err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pb := protoClone(t, good)
			c.edit(pb.VerificationMaterial.TlogEntries[0])
			r, err := verify(pb)
			if !errors.Is(err, bundle.ErrRejected) || r.Reason != bundle.ReasonTlogEntryInconsistent {
				t.Fatalf("got %v (reason %q), want %s", err, r.Reason, bundle.ReasonTlogEntryInconsistent)
			}
			if !containsWord(r.Message, c.field) {
				t.Errorf("message %q does not name %s", r.Message, c.field)
			}
		})
	}
}

func protoClone(t *testing.T, pb *protobundle.Bundle) *protobundle.Bundle {
	data, err := protojson.Marshal(pb)
	if err != nil {
		t.Fatal(err)
	}
	var out protobundle.Bundle
	if err := protojson.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

func containsWord(s, w string) bool {
	for i := 0; i+len(w) <= len(s); i++ {
		if s[i:i+len(w)] == w {
			return true
		}
	}
	return false
}

// TestTlogInconsistentSiteLog: a site-log (Rekor v1 style) bundle whose
// inclusion proof disagrees with its checkpoint (tree size, root hash) is
// rejected, naming the field.
func TestTlogInconsistentSiteLog(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	logKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	site, err := sitelogtest.Create(ctx, filepath.Join(t.TempDir(), "airlock.db"), "log.example", logKey, now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close()
	signer, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	b, err := bundle.NewBuilder(signer, nil)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("hello"))
	for i := 0; i < 3; i++ { // a tree with a few entries, so proofs have hashes
		if _, err := site.SignDigest(ctx, b, digest[:], now); err != nil {
			t.Fatal(err)
		}
	}
	logged, err := site.SignDigest(ctx, b, digest[:], now)
	if err != nil {
		t.Fatal(err)
	}
	var good protobundle.Bundle
	if err := protojson.Unmarshal(logged.Bundle, &good); err != nil {
		t.Fatal(err)
	}
	m := site.Log.Meta()
	src, err := trust.SiteLogSource([]trust.LogKey{{Origin: m.Origin, PublicKey: m.PublicKey, ValidFrom: m.Created}})
	if err != nil {
		t.Fatal(err)
	}
	v, err := bundle.NewVerifier(bundle.Trust{Sources: []bundle.TrustSource{bundle.TrustSource(src)}}, bundle.Policy{Key: signer.Public()}, bundle.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := bundle.Artifact{Name: "hello", Digests: map[string][]byte{"sha256": digest[:]}}
	checkTampered(t, v, &good, a, []tamper{
		{"proof_tree_size", "treeSize", func(e *protorekor.TransparencyLogEntry) { e.InclusionProof.TreeSize++ }},
		{"proof_tree_size_smaller", "treeSize", func(e *protorekor.TransparencyLogEntry) { e.InclusionProof.TreeSize-- }},
		{"proof_root_hash", "rootHash", func(e *protorekor.TransparencyLogEntry) { e.InclusionProof.RootHash[0] ^= 1 }},
	})
}

// TestTlogInconsistentRekorV2: the conformance suite's Rekor v2 bundle
// (sigstore-go and cosign v3.1.3 accept these tampered copies) with one
// unsigned field changed at a time.
func TestTlogInconsistentRekorV2(t *testing.T) {
	dir := "../testdata/conformance/bundle-verify/rekor2-dsse-happy-path"
	data, err := os.ReadFile(filepath.Join(dir, "bundle.sigstore.json"))
	if err != nil {
		t.Fatal(err)
	}
	var good protobundle.Bundle
	if err := protojson.Unmarshal(data, &good); err != nil {
		t.Fatal(err)
	}
	tr, err := root.NewTrustedRootFromPath(filepath.Join(dir, "trusted_root.json"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := bundle.NewVerifier(bundle.Trust{Sources: []bundle.TrustSource{{Name: "conformance", Material: tr}}},
		bundle.Policy{
			CertificateIdentity:   "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main",
			CertificateOIDCIssuer: "https://token.actions.githubusercontent.com",
		}, bundle.Options{})
	if err != nil {
		t.Fatal(err)
	}
	art, err := os.ReadFile("../testdata/conformance/bundle-verify/a.txt")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(art)
	a := bundle.Artifact{Name: "a.txt", Digests: map[string][]byte{"sha256": sum[:]}}
	checkTampered(t, v, &good, a, []tamper{
		{"entry_log_index", "logIndex", func(e *protorekor.TransparencyLogEntry) { e.LogIndex++ }},
		{"proof_log_index", "logIndex", func(e *protorekor.TransparencyLogEntry) { e.InclusionProof.LogIndex++ }},
		{"proof_tree_size", "treeSize", func(e *protorekor.TransparencyLogEntry) { e.InclusionProof.TreeSize++ }},
		{"proof_root_hash", "rootHash", func(e *protorekor.TransparencyLogEntry) { e.InclusionProof.RootHash[0] ^= 1 }},
		{"canonicalized_body", "canonicalizedBody", func(e *protorekor.TransparencyLogEntry) {
			e.CanonicalizedBody = append(e.CanonicalizedBody, ' ')
		}},
	})
}
