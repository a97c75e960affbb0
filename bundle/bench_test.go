package bundle

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
)

const (
	publicGoodRootPath = "../testdata/tuf/public-good-2026-08-21/targets/6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66.trusted_root.json"
	conformanceID      = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
	conformanceIss     = "https://token.actions.githubusercontent.com"
)

// keylessBundles are the public-good keyless bundles over a.txt of the
// conformance suite (three message signatures, one DSSE statement).
var keylessBundles = []string{"happy-path-v0.1", "happy-path-v0.3", "happy-path-v0.3-new-mediaType", "happy-path-intoto-in-dsse-v3"}

type benchCase struct {
	tr      *root.TrustedRoot
	bundles []*sgbundle.Bundle
	digest  []byte
}

func loadBenchCase(tb testing.TB) benchCase {
	tb.Helper()
	tr, err := root.NewTrustedRootFromPath(publicGoodRootPath)
	if err != nil {
		tb.Fatal(err)
	}
	var bs []*sgbundle.Bundle
	for _, name := range keylessBundles {
		b, err := ReadBundleFile("../testdata/conformance/bundle-verify/" + name + "/bundle.sigstore.json")
		if err != nil {
			tb.Fatal(err)
		}
		bs = append(bs, b)
	}
	a, err := os.ReadFile("../testdata/conformance/bundle-verify/a.txt")
	if err != nil {
		tb.Fatal(err)
	}
	sum := sha256.Sum256(a)
	return benchCase{tr: tr, bundles: bs, digest: sum[:]}
}

// parallel runs n calls of f(i) on GOMAXPROCS goroutines.
func parallel(n int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				f(i)
			}
		})
	}
	wg.Wait()
}

// BenchmarkBatchBareSigstoreGo is the baseline: a bare loop over
// sigstore-go's verifier on all cores, as a caller would write it: the
// trusted root parsed once, a verifier and policy per bundle.
func BenchmarkBatchBareSigstoreGo(b *testing.B) {
	bc := loadBenchCase(b)
	id, err := sgverify.NewShortCertificateIdentity(conformanceIss, "", conformanceID, "")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	parallel(b.N, func(i int) {
		bun := bc.bundles[i%len(bc.bundles)]
		v, err := sgverify.NewVerifier(bc.tr, sgverify.WithSignedCertificateTimestamps(1),
			sgverify.WithTransparencyLog(1), sgverify.WithIntegratedTimestamps(1))
		if err != nil {
			b.Error(err)
			return
		}
		if _, err := v.Verify(bun, sgverify.NewPolicy(sgverify.WithArtifactDigest("sha256", bc.digest),
			sgverify.WithCertificateIdentity(id))); err != nil {
			b.Error(err)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "bundles/s")
}

func benchmarkBatch(b *testing.B, o Options, noLeaves bool) {
	bc := loadBenchCase(b)
	v, err := NewVerifier(Trust{Sources: []TrustSource{{Name: "public-good", Material: bc.tr}}},
		Policy{CertificateIdentity: conformanceID, CertificateOIDCIssuer: conformanceIss}, o)
	if err != nil {
		b.Fatal(err)
	}
	if noLeaves {
		for _, s := range v.sources {
			for _, ca := range s.(*cachingMaterial).cas {
				ca.(*cachingCA).noLeaves = true
			}
		}
	}
	a := Artifact{Name: "a.txt", Digests: map[string][]byte{"sha256": bc.digest}}
	b.ResetTimer()
	parallel(b.N, func(i int) {
		if _, err := v.VerifyBundle(bc.bundles[i%len(bc.bundles)], "bench", a); err != nil {
			b.Error(err)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "bundles/s")
}

// BenchmarkBatchAirlock is airlock's batch path: one Verifier (sigstore-go
// verifiers built once, certificate caches), all cores. Bundles repeat
// their four certificates, so the leaf cache answers most chains.
func BenchmarkBatchAirlock(b *testing.B) { benchmarkBatch(b, Options{CacheCertificates: true}, false) }

// BenchmarkBatchAirlockDistinctLeaves measures the batch path as if every
// bundle had its own certificate: the leaf cache is off, the
// intermediate-as-anchor shortcut still applies.
func BenchmarkBatchAirlockDistinctLeaves(b *testing.B) {
	benchmarkBatch(b, Options{CacheCertificates: true}, true)
}

// BenchmarkBatchAirlockNoCache is the batch path without certificate
// caches: verifiers built once, nothing else.
func BenchmarkBatchAirlockNoCache(b *testing.B) { benchmarkBatch(b, Options{}, false) }

// BenchmarkHashReader1GiB streams 64 MiB through HashReader (sha256) and
// reports throughput; the 1 GiB figure in docs/benchmarks.md comes from
// the binary.
func BenchmarkHashReader64MiB(b *testing.B) {
	data := bytes.Repeat([]byte{0xa5}, 64<<20)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		d, err := HashReader(bytes.NewReader(data), []string{"sha256"})
		if err != nil {
			b.Fatal(err)
		}
		_ = hex.EncodeToString(d["sha256"])
	}
}

// BenchmarkVerifyFiles is the command line's batch path end to end: read
// each FILE.sigstore.json, parse it, stream FILE, verify; all cores.
func BenchmarkVerifyFiles(b *testing.B) {
	bc := loadBenchCase(b)
	dir := b.TempDir()
	a, err := os.ReadFile("../testdata/conformance/bundle-verify/a.txt")
	if err != nil {
		b.Fatal(err)
	}
	var items []Item
	for i := range 400 {
		name := filepath.Join(dir, fmt.Sprintf("f%d.txt", i))
		bj, err := os.ReadFile("../testdata/conformance/bundle-verify/" + keylessBundles[i%len(keylessBundles)] + "/bundle.sigstore.json")
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(name, a, 0o644); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(name+".sigstore.json", bj, 0o644); err != nil {
			b.Fatal(err)
		}
		items = append(items, Item{Artifact: name, Evidence: name + ".sigstore.json"})
	}
	v, err := NewVerifier(Trust{Sources: []TrustSource{{Name: "public-good", Material: bc.tr}}},
		Policy{CertificateIdentity: conformanceID, CertificateOIDCIssuer: conformanceIss}, Options{CacheCertificates: true})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		for _, r := range v.VerifyFiles(b.Context(), items) {
			if r.Err != nil {
				b.Fatal(r.Err)
			}
		}
	}
	b.ReportMetric(float64(b.N*len(items))/b.Elapsed().Seconds(), "bundles/s")
}
