package bundle_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/airlock-project/airlock/bundle"
	"github.com/airlock-project/airlock/tlog/sitelogtest"
	"github.com/airlock-project/airlock/trust"
)

const conformanceDir = "../testdata/conformance/bundle-verify"

// BenchmarkVerifySiteLogBundle compares one verification of a site-log
// bundle (key-signed, hashedrekord, SET, inclusion proof and checkpoint
// against the site log's key) with public-good Rekor v1 bundles: the
// key-signed one of the conformance suite (managed-key-happy-path) and a
// keyless one (happy-path-v0.3: a certificate chain and an SCT as well).
// "site-log-after-public-good" is database trust with a TUF repository
// listed before the site log: the log's source is tried first anyway.
//
//	go test ./bundle -run '^$' -bench VerifySiteLogBundle -benchtime 2000x -count 3
func BenchmarkVerifySiteLogBundle(b *testing.B) {
	ctx := context.Background()
	now := time.Now().Truncate(time.Second)
	logKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	site, err := sitelogtest.Create(ctx, filepath.Join(b.TempDir(), "airlock.db"), "log.example", logKey, now.Add(-time.Hour))
	if err != nil {
		b.Fatal(err)
	}
	defer site.Close()
	signer, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	builder, err := bundle.NewBuilder(signer, nil)
	if err != nil {
		b.Fatal(err)
	}
	art, err := os.ReadFile(conformanceDir + "/a.txt")
	if err != nil {
		b.Fatal(err)
	}
	sum := sha256.Sum256(art)
	a := bundle.Artifact{Name: "a.txt", Digests: map[string][]byte{"sha256": sum[:]}}
	// A log of 1000 entries, so the proof has its ten hashes.
	for i := 0; i < 999; i++ {
		if _, err := site.SignDigest(ctx, builder, sum[:], now); err != nil {
			b.Fatal(err)
		}
	}
	logged, err := site.SignDigest(ctx, builder, sum[:], now)
	if err != nil {
		b.Fatal(err)
	}
	m := site.Log.Meta()
	src, err := trust.SiteLogSource([]trust.LogKey{{Origin: m.Origin, PublicKey: m.PublicKey, ValidFrom: m.Created}})
	if err != nil {
		b.Fatal(err)
	}
	pg, err := root.NewTrustedRootFromPath("../testdata/tuf/public-good-2026-08-21/targets/6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66.trusted_root.json")
	if err != nil {
		b.Fatal(err)
	}
	pgSource := bundle.TrustSource{Name: "public-good", Material: pg}
	managedKey := func() any {
		data, err := os.ReadFile(conformanceDir + "/managed-key-happy-path/key.pub")
		if err != nil {
			b.Fatal(err)
		}
		k, err := cryptoutils.UnmarshalPEMToPublicKey(data)
		if err != nil {
			b.Fatal(err)
		}
		return k
	}()
	load := func(name string) []byte {
		data, err := os.ReadFile(conformanceDir + "/" + name + "/bundle.sigstore.json")
		if err != nil {
			b.Fatal(err)
		}
		return data
	}
	keyless := bundle.Policy{
		CertificateIdentity:   "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main",
		CertificateOIDCIssuer: "https://token.actions.githubusercontent.com",
	}
	for _, c := range []struct {
		name    string
		sources []bundle.TrustSource
		policy  bundle.Policy
		bundle  []byte
	}{
		{"site-log", []bundle.TrustSource{bundle.TrustSource(src)}, bundle.Policy{Key: signer.Public()}, logged.Bundle},
		{"site-log-after-public-good", []bundle.TrustSource{pgSource, bundle.TrustSource(src)}, bundle.Policy{Key: signer.Public()}, logged.Bundle},
		{"public-good-rekor-v1-key", []bundle.TrustSource{pgSource}, bundle.Policy{Key: managedKey}, load("managed-key-happy-path")},
		{"public-good-rekor-v1-keyless", []bundle.TrustSource{pgSource}, keyless, load("happy-path-v0.3")},
	} {
		b.Run(c.name, func(b *testing.B) {
			v, err := bundle.NewVerifier(bundle.Trust{Sources: c.sources}, c.policy, bundle.Options{})
			if err != nil {
				b.Fatal(err)
			}
			bb, err := bundle.ParseBundle(c.bundle)
			if err != nil {
				b.Fatal(err)
			}
			if r, err := v.VerifyBundle(bb, "b", a); err != nil || !r.Verified {
				b.Fatalf("%s does not verify: %v", c.name, err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := v.VerifyBundle(bb, "b", a); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
