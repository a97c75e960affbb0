package bundle

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
)

// conformanceBundles returns the bundles of the conformance suite, the
// seeds for the bundle fuzzers (committed corpora under testdata/fuzz add
// hand-made edge cases).
func conformanceBundles(f *testing.F) [][]byte {
	f.Helper()
	paths, err := filepath.Glob("../testdata/conformance/bundle-verify/*/bundle.sigstore.json")
	if err != nil || len(paths) == 0 {
		f.Fatalf("no conformance bundles: %v", err)
	}
	var out [][]byte
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, data)
	}
	return out
}

// FuzzParseBundle: any input either parses to a bundle that can be
// described and asked for its digest algorithms, or is a rejection.
func FuzzParseBundle(f *testing.F) {
	for _, b := range conformanceBundles(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseBundle(data)
		if err != nil {
			if !errors.Is(err, ErrRejected) {
				t.Fatalf("ParseBundle error %v does not wrap ErrRejected", err)
			}
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("error is not one line: %q", err)
			}
			return
		}
		if algs := DigestAlgorithms(b); len(algs) == 0 || !isSupported(algs[0]) {
			t.Fatalf("DigestAlgorithms = %v", algs)
		}
		_ = Inspect(b)
	})
}

// FuzzVerifyBundle: verifying any parsable bundle under the public-good
// root, with an identity and with a key, never panics, and everything it
// refuses is a rejection. Under the identity policy (any SAN, any issuer,
// certificate caching on) its verdict is the verdict of plain sigstore-go
// on the same bytes: a verifier over the same trusted root requiring an
// SCT, a transparency-log entry and a signed time from the log or a
// timestamping authority (WithObserverTimestamps), and a policy of the
// artifact's bytes and the same identity. Neither accepts what the other
// refuses. Under a freshly generated key nothing verifies (only the key's
// own signatures could).
func FuzzVerifyBundle(f *testing.F) {
	for _, b := range conformanceBundles(f) {
		f.Add(b)
	}
	tr, err := root.NewTrustedRootFromPath("../testdata/tuf/public-good-2026-08-21/targets/6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66.trusted_root.json")
	if err != nil {
		f.Fatal(err)
	}
	trust := Trust{Sources: []TrustSource{{Name: "public-good", Material: tr}}}
	idv, err := NewVerifier(trust, Policy{CertificateIdentityRegexp: ".*", CertificateOIDCIssuerRegexp: ".*"}, Options{CacheCertificates: true})
	if err != nil {
		f.Fatal(err)
	}
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	keyv, err := NewVerifier(trust, Policy{Key: k.Public(), InsecureIgnoreTlogUnsafe: true}, Options{})
	if err != nil {
		f.Fatal(err)
	}
	// The conformance suite's artifact, which most seeds sign (the earlier
	// "Hello, World!" matched none, so every seed was rejected).
	content, err := os.ReadFile("../testdata/conformance/bundle-verify/a.txt")
	if err != nil {
		f.Fatal(err)
	}
	a, _ := HashReader(bytes.NewReader(content), supportedDigests)
	art := Artifact{Name: "a.txt", Digests: a}
	plain, err := sgverify.NewVerifier(tr, sgverify.WithSignedCertificateTimestamps(1),
		sgverify.WithTransparencyLog(1), sgverify.WithObserverTimestamps(1))
	if err != nil {
		f.Fatal(err)
	}
	anyID, err := sgverify.NewShortCertificateIdentity("", ".*", "", ".*")
	if err != nil {
		f.Fatal(err)
	}
	// The comparison means something only if both accept the good cases.
	for _, good := range []string{"happy-path-v0.1", "happy-path-v0.3", "happy-path-intoto-in-dsse-v3"} {
		data, err := os.ReadFile(filepath.Join("../testdata/conformance/bundle-verify", good, "bundle.sigstore.json"))
		if err != nil {
			f.Fatal(err)
		}
		b, err := ParseBundle(data)
		if err != nil {
			f.Fatal(err)
		}
		if _, err := idv.VerifyBundle(b, good, art); err != nil {
			f.Fatalf("%s: airlock: %v", good, err)
		}
		if _, err := plain.Verify(b, sgverify.NewPolicy(sgverify.WithArtifact(bytes.NewReader(content)), sgverify.WithCertificateIdentity(anyID))); err != nil {
			f.Fatalf("%s: sigstore-go: %v", good, err)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseBundle(data)
		if err != nil {
			return
		}
		r, err := idv.VerifyBundle(b, "fuzz", art)
		_, perr := plain.Verify(b, sgverify.NewPolicy(sgverify.WithArtifact(bytes.NewReader(content)), sgverify.WithCertificateIdentity(anyID)))
		if (err == nil) != (perr == nil) {
			t.Fatalf("airlock and plain sigstore-go disagree:\nairlock: verified=%v err=%v\nsigstore-go: %v", r.Verified, err, perr)
		}
		for _, v := range []*Verifier{idv, keyv} {
			r, err := v.VerifyBundle(b, "fuzz", art)
			if r == nil {
				t.Fatal("nil Result")
			}
			if err != nil && !errors.Is(err, ErrRejected) {
				t.Fatalf("error %v does not wrap ErrRejected", err)
			}
			if (err == nil) != r.Verified {
				t.Fatalf("err = %v but Verified = %v", err, r.Verified)
			}
		}
		// A fresh key never verifies anything: only its own signatures could.
		if r, _ := keyv.VerifyBundle(b, "fuzz", art); r.Verified {
			t.Fatal("a bundle verified under a freshly generated key")
		}
	})
}

// FuzzParseDigestArg: an artifact argument is a digest of the right
// length, a usage error, or a file name; never both.
func FuzzParseDigestArg(f *testing.F) {
	for _, s := range []string{
		"sha256:a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf",
		"sha256:A0CFC71271D6E278E57CD332FF957C3F7043FDDA354C4CBB190A30D56EFA01BF",
		"sha512:" + strings.Repeat("ab", 64), "sha384:" + strings.Repeat("0", 96),
		"sha256:", "sha256:xyz", "sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709",
		"hello.tgz", "./sha256:abc", "C:\\file", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		a, ok, err := ParseDigestArg(arg)
		switch {
		case !ok:
			if err != nil || a.Digests != nil {
				t.Fatalf("not a digest, but err = %v, a = %v", err, a)
			}
		case err != nil:
			if a.Digests != nil {
				t.Fatalf("error %v with digests %v", err, a.Digests)
			}
		default:
			if len(a.Digests) != 1 || a.Name != arg {
				t.Fatalf("digest arg %q gave %+v", arg, a)
			}
			for alg, d := range a.Digests {
				h, err := newHash(alg)
				if err != nil || len(d) != h.Size() || !strings.HasPrefix(arg, alg+":") {
					t.Fatalf("digest arg %q gave %s digest of %d bytes", arg, alg, len(d))
				}
			}
		}
	})
}

// FuzzParseAttestation: cosign's .att (DSSE JSON or its base64) parses to
// an envelope and statement or is a rejection; verification with a fresh
// key never succeeds.
func FuzzParseAttestation(f *testing.F) {
	f.Add([]byte(`{"payloadType":"application/vnd.in-toto+json","payload":"eyJfdHlwZSI6Imh0dHBzOi8vaW4tdG90by5pby9TdGF0ZW1lbnQvdjEiLCJzdWJqZWN0IjpbeyJuYW1lIjoiaGVsbG8udGd6IiwiZGlnZXN0Ijp7InNoYTI1NiI6ImM4YmIyNTEzMWY0ZmVjYmM4ZTk1ZDQyNmEyMjU2ZTMyNTFmZTFjYWE5MTk3MTc0MGNiOTZmYWNlYmNlYWJlOGMifX1dLCJwcmVkaWNhdGVUeXBlIjoiaHR0cHM6Ly9zcGR4LmRldi9Eb2N1bWVudCIsInByZWRpY2F0ZSI6eyJTUERYSUQiOiJTUERYUmVmLURPQ1VNRU5UIn19","signatures":[{"keyid":"","sig":"MEUCIH+61of3J+5nre3k3aqgXkLGk3c2pWq1vOnHVLhfc8Y3AiEAorvCtegEupGIGIneB03vTvq/lrIz0zXfmJFMJQzAg6w="}]}`))
	f.Add([]byte(`eyJwYXlsb2FkVHlwZSI6ImFwcGxpY2F0aW9uL3ZuZC5pbi10b3RvK2pzb24ifQ==`))
	f.Add([]byte(`{"payloadType":"text/plain","payload":"aGk=","signatures":[{"sig":"AA=="}]}`))
	f.Add([]byte(`{}`))
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	v, err := NewVerifier(Trust{Sources: []TrustSource{{Name: "--key"}}}, Policy{Key: k.Public()}, Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _, st, err := ParseAttestation(data)
		if err != nil && !errors.Is(err, ErrRejected) {
			t.Fatalf("error %v does not wrap ErrRejected", err)
		}
		if err == nil && st == nil {
			t.Fatal("no error and no statement")
		}
		algs := AttestationDigestAlgorithms(st)
		d, _ := HashReader(bytes.NewReader(data), algs)
		r, err := v.VerifyAttestationFile(data, "fuzz.att", Artifact{Name: "x", Digests: d})
		if err == nil || r.Verified {
			t.Fatal("an attestation verified under a freshly generated key")
		}
	})
}

// FuzzInspectUnchecked: bundle inspect describes bundles that read but do
// not validate (ParseBundleUnchecked), so Inspect sees unvalidated input:
// it must never panic, and a parse failure is a one-line rejection.
func FuzzInspectUnchecked(f *testing.F) {
	for _, b := range conformanceBundles(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseBundleUnchecked(data)
		if err != nil {
			if !errors.Is(err, ErrRejected) {
				t.Fatalf("ParseBundleUnchecked error %v does not wrap ErrRejected", err)
			}
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("error is not one line: %q", err)
			}
			return
		}
		_ = Inspect(b)
		_ = DigestAlgorithms(b)
	})
}
