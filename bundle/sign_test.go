package bundle

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"strings"
	"testing"
	"time"

	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"
)

type testKey struct {
	name string
	key  crypto.Signer
	hash crypto.Hash
}

func testKeys(t *testing.T) []testKey {
	t.Helper()
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	r3072, err := rsa.GenerateKey(rand.Reader, 3072)
	if err != nil {
		t.Fatal(err)
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return []testKey{
		{"ecdsa-p256", p256, crypto.SHA256},
		{"ecdsa-p384", p384, crypto.SHA384},
		{"rsa-3072", r3072, crypto.SHA256},
		{"ed25519", ed, 0},
	}
}

// verifyKey verifies b with the project's verifier under a key policy, no
// transparency log, as verify-blob --key --insecure-ignore-tlog does.
func verifyKey(t *testing.T, b *sgbundle.Bundle, pub crypto.PublicKey, alg string, digest []byte, predicateType string) (*Result, error) {
	t.Helper()
	v, err := NewVerifier(Trust{Sources: []TrustSource{{Name: "key", Material: root.TrustedMaterialCollection{}}}},
		Policy{Key: pub, InsecureIgnoreTlogUnsafe: true, PredicateType: predicateType}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return v.VerifyBundle(b, "test", Artifact{Name: "artifact", Digests: map[string][]byte{alg: digest}})
}

func loadBundle(t *testing.T, data []byte) *sgbundle.Bundle {
	t.Helper()
	var b sgbundle.Bundle
	if err := b.UnmarshalJSON(data); err != nil {
		t.Fatalf("sigstore-go cannot load the bundle: %v\n%s", err, data)
	}
	return &b
}

func TestSignDigestRoundTrip(t *testing.T) {
	artifact := bytes.Repeat([]byte("airlock "), 100000)
	for _, k := range testKeys(t) {
		t.Run(k.name, func(t *testing.T) {
			s, err := NewBuilder(k.key, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := s.Hash(), k.hash; got != want {
				t.Fatalf("hash = %v, want %v", got, want)
			}
			if k.hash == 0 {
				_, err := s.SignDigest(make([]byte, 32))
				if !errors.Is(err, ErrMessageSignatureUnsupported) {
					t.Fatalf("Ed25519 SignDigest: err = %v, want ErrMessageSignatureUnsupported", err)
				}
				return
			}
			digest, err := s.Digest(bytes.NewReader(artifact))
			if err != nil {
				t.Fatal(err)
			}
			signed, err := s.SignDigest(digest)
			if err != nil {
				t.Fatal(err)
			}
			b := loadBundle(t, signed.Bundle)
			if got, want := b.GetMediaType(), MediaTypeV03; got != want {
				t.Errorf("media type = %q, want %q", got, want)
			}
			if got := b.GetVerificationMaterial().GetPublicKey().GetHint(); got != s.Hint() {
				t.Errorf("hint = %q, want %q", got, s.Hint())
			}
			if n := len(b.GetVerificationMaterial().GetTlogEntries()); n != 0 {
				t.Errorf("bundle has %d tlog entries, want none", n)
			}
			alg := HashName(k.hash)
			if _, err := verifyKey(t, b, k.key.Public(), alg, digest, ""); err != nil {
				t.Fatalf("Verify: %v", err)
			}

			// cosign's .sig: the raw signature verifies over the file with
			// the default verifier for the key.
			v, err := signature.LoadDefaultVerifier(k.key.Public())
			if err != nil {
				t.Fatal(err)
			}
			if err := v.VerifySignature(bytes.NewReader(signed.Signature), bytes.NewReader(artifact)); err != nil {
				t.Errorf("raw signature does not verify over the artifact: %v", err)
			}

			// A different artifact is rejected.
			bad := bytes.Repeat([]byte{1}, len(digest))
			if _, err := verifyKey(t, b, k.key.Public(), alg, bad, ""); !errors.Is(err, ErrRejected) {
				t.Errorf("Verify(other artifact) = %v, want rejection", err)
			}
			// Another key is rejected.
			other256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if _, err := verifyKey(t, b, other256.Public(), alg, digest, ""); !errors.Is(err, ErrRejected) {
				t.Errorf("Verify(other key) = %v, want rejection", err)
			}
		})
	}
}

func TestSignDSSERoundTrip(t *testing.T) {
	artifact := []byte("hello.tgz contents")
	sum := sha256.Sum256(artifact)
	pred := []byte(`{"SPDXID":"SPDXRef-DOCUMENT","name":"hello-archive"}`)
	stmt, ptype, err := Statement("spdxjson", pred, []Subject{{Name: "hello.tgz", SHA256: sum[:]}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ptype, PredicateSPDX; got != want {
		t.Fatalf("predicate type = %q, want %q", got, want)
	}
	for _, k := range testKeys(t) {
		t.Run(k.name, func(t *testing.T) {
			s, err := NewBuilder(k.key, nil)
			if err != nil {
				t.Fatal(err)
			}
			signed, err := s.SignDSSE(InTotoPayloadType, stmt)
			if err != nil {
				t.Fatal(err)
			}
			b := loadBundle(t, signed.Bundle)
			res, err := verifyKey(t, b, k.key.Public(), "sha256", sum[:], PredicateSPDX)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got, want := res.PredicateType, PredicateSPDX; got != want {
				t.Errorf("verified predicate type = %q, want %q", got, want)
			}
			other := sha256.Sum256([]byte("other"))
			if _, err := verifyKey(t, b, k.key.Public(), "sha256", other[:], PredicateSPDX); !errors.Is(err, ErrRejected) {
				t.Errorf("Verify(other artifact) = %v, want rejection", err)
			}

			// The .att envelope is cosign's: payload and sig base64, same
			// signature as the bundle.
			var env struct {
				Payload     string `json:"payload"`
				PayloadType string `json:"payloadType"`
				Signatures  []struct {
					Sig   string `json:"sig"`
					KeyID string `json:"keyid"`
				} `json:"signatures"`
			}
			if err := json.Unmarshal(signed.Envelope, &env); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(signed.Envelope), `{"payload":"`) {
				t.Errorf("envelope = %s, want cosign's field order", signed.Envelope)
			}
			if got, want := env.Payload, base64.StdEncoding.EncodeToString(stmt); got != want {
				t.Errorf("envelope payload = %q, want %q", got, want)
			}
			if env.PayloadType != InTotoPayloadType || len(env.Signatures) != 1 ||
				env.Signatures[0].Sig != base64.StdEncoding.EncodeToString(signed.Signature) {
				t.Errorf("envelope = %s", signed.Envelope)
			}
		})
	}
}

func TestSignerCertificate(t *testing.T) {
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "site CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "release signer"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, leafKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(leafDER)

	if _, err := NewBuilder(caKey, []*x509.Certificate{leaf}); err == nil {
		t.Fatal("NewSigner accepted a certificate for another key")
	}
	s, err := NewBuilder(leafKey, []*x509.Certificate{leaf, ca})
	if err != nil {
		t.Fatal(err)
	}
	artifact := []byte("artifact")
	digest, _ := s.Digest(bytes.NewReader(artifact))
	signed, err := s.SignDigest(digest)
	if err != nil {
		t.Fatal(err)
	}
	b := loadBundle(t, signed.Bundle)
	vc, err := b.VerificationContent()
	if err != nil {
		t.Fatal(err)
	}
	if got := vc.Certificate(); got == nil || !got.Equal(leaf) {
		t.Fatalf("bundle certificate = %v, want the leaf", got)
	}
	sc, err := b.SignatureContent()
	if err != nil {
		t.Fatal(err)
	}
	if err := sgverify.VerifySignatureWithArtifacts(sc, vc, nil, []io.Reader{bytes.NewReader(artifact)}); err != nil {
		t.Errorf("signature does not verify with the bundle's certificate: %v", err)
	}
}

func TestStatement(t *testing.T) {
	sum := sha256.Sum256([]byte("x"))
	subj := []Subject{{Name: "hello.tgz", SHA256: sum[:]}}
	now := time.Date(2026, 11, 26, 1, 2, 3, 0, time.UTC)
	for _, tc := range []struct {
		name, typ, pred, wantType, wantPred string
		wantErr                             bool
	}{
		{"spdxjson", "spdxjson", `{"a":1}`, PredicateSPDX, `{"a":1}`, false},
		{"cyclonedx", "cyclonedx", `{"bomFormat":"CycloneDX"}`, "https://cyclonedx.org/bom", `{"bomFormat":"CycloneDX"}`, false},
		{"uri", "https://example.com/p/v1", `{"k":"v"}`, "https://example.com/p/v1", `{"k":"v"}`, false},
		{"custom", "custom", "free text", PredicateCustom, `{"Data":"free text","Timestamp":"2026-11-26T01:02:03Z"}`, false},
		{"default wraps non-statement", "", `{"a":1}`, PredicateCustom, `{"Data":"{\"a\":1}","Timestamp":"2026-11-26T01:02:03Z"}`, false},
		{"default takes primer form", "", `{"predicateType":"https://spdx.dev/Document","predicate":{"SPDXID":"x"}}`, PredicateSPDX, `{"SPDXID":"x"}`, false},
		{"spdx text", "spdx", "SPDXVersion: SPDX-2.3", PredicateSPDX, `"SPDXVersion: SPDX-2.3"`, false},
		// attest_type_wrapped_predicate_nested: the primer's sbom.json with
		// --type spdxjson was signed as an SPDX predicate holding another
		// predicateType and predicate.
		{"type unwraps primer form", "spdxjson", `{"predicateType":"https://spdx.dev/Document","predicate":{"SPDXID":"x"}}`, PredicateSPDX, `{"SPDXID":"x"}`, false},
		{"uri type unwraps primer form", "https://spdx.dev/Document", `{"predicateType":"https://spdx.dev/Document","predicate":{"SPDXID":"x"}}`, PredicateSPDX, `{"SPDXID":"x"}`, false},
		{"type disagrees with primer form", "cyclonedx", `{"predicateType":"https://spdx.dev/Document","predicate":{"SPDXID":"x"}}`, "", "", true},
		{"custom keeps primer form as text", "custom", `{"predicateType":"https://spdx.dev/Document","predicate":{}}`, PredicateCustom, `{"Data":"{\"predicateType\":\"https://spdx.dev/Document\",\"predicate\":{}}","Timestamp":"2026-11-26T01:02:03Z"}`, false},
		{"not json", "cyclonedx", "not json", "", "", true},
		{"bad type", "no such type", `{}`, "", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, ptype, err := Statement(tc.typ, []byte(tc.pred), subj, now)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("Statement = %s, want error", out)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var st struct {
				Type          string          `json:"_type"`
				PredicateType string          `json:"predicateType"`
				Predicate     json.RawMessage `json:"predicate"`
				Subject       []subjectJSON   `json:"subject"`
			}
			if err := json.Unmarshal(out, &st); err != nil {
				t.Fatal(err)
			}
			if st.Type != InTotoStatementV1 || st.PredicateType != tc.wantType || ptype != tc.wantType {
				t.Errorf("statement %s: want type %s", out, tc.wantType)
			}
			if got := string(st.Predicate); got != tc.wantPred {
				t.Errorf("predicate = %s, want %s", got, tc.wantPred)
			}
			if len(st.Subject) != 1 || st.Subject[0].Digest["sha256"] != "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881" {
				t.Errorf("subject = %+v", st.Subject)
			}
		})
	}
}

func FuzzStatement(f *testing.F) {
	f.Add("", []byte(`{"predicateType":"https://spdx.dev/Document","predicate":{"SPDXID":"x"}}`))
	f.Add("spdxjson", []byte(`{"a":[1,2,{"b":null}]}`))
	f.Add("spdxjson", []byte(`{"predicateType":"https://spdx.dev/Document","predicate":{"SPDXID":"x"}}`))
	f.Add("cyclonedx", []byte(`{"predicateType":"https://spdx.dev/Document","predicate":{}}`))
	f.Add("spdx", []byte("SPDXVersion: SPDX-2.3\n"))
	f.Add("custom", []byte("\x00\xff"))
	f.Add("https://example.com/t", []byte(`{"predicateType":1}`))
	sum := sha256.Sum256(nil)
	f.Fuzz(func(t *testing.T, typ string, pred []byte) {
		out, ptype, err := Statement(typ, pred, []Subject{{Name: "f", SHA256: sum[:]}}, time.Unix(0, 0))
		if err != nil {
			return
		}
		var st map[string]json.RawMessage
		if err := json.Unmarshal(out, &st); err != nil {
			t.Fatalf("Statement made invalid JSON %q: %v", out, err)
		}
		if _, err := PredicateTypeURI(ptype); err != nil {
			t.Fatalf("Statement chose invalid predicate type %q", ptype)
		}
	})
}

// TestEd25519EmptyMessageSignatureIsNoDigestSignature: found in review: the
// Ed25519 verifier fell back to pure Ed25519 when Ed25519ph failed, and
// sigstore-go verifies a message signature with an empty message and the
// digest as an option, which pure Ed25519 ignores. One pure signature of
// the empty message by the key then verified a bundle over any digest.
func TestEd25519EmptyMessageSignatureIsNoDigestSignature(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	empty := ed25519.Sign(priv, nil)
	for _, artifact := range []string{"pay me", "anything at all"} {
		d := sha256.Sum256([]byte(artifact))
		data, err := json.Marshal(map[string]any{
			"mediaType":            "application/vnd.dev.sigstore.bundle.v0.3+json",
			"verificationMaterial": map[string]any{"publicKey": map[string]any{"hint": "x"}},
			"messageSignature": map[string]any{
				"messageDigest": map[string]any{"algorithm": "SHA2_256", "digest": base64.StdEncoding.EncodeToString(d[:])},
				"signature":     base64.StdEncoding.EncodeToString(empty),
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		r, err := verifyKey(t, loadBundle(t, data), pub, "sha256", d[:], "")
		if err == nil || !errors.Is(err, ErrRejected) || r.Verified {
			t.Errorf("%q: a signature of the empty message verified (err %v)", artifact, err)
		}
		if err != nil && !strings.Contains(err.Error(), "an Ed25519 key verifies message signatures only over sha512 (Ed25519ph)") {
			t.Errorf("%q: reason %q, want the Ed25519ph rule", artifact, err)
		}
	}

	// The good path, as cosign signs blobs with Ed25519: Ed25519ph over a
	// SHA-512 digest verifies; the empty-message signature over SHA-512
	// does not.
	d := sha512.Sum512([]byte("a release"))
	ph, err := priv.Sign(rand.Reader, d[:], &ed25519.Options{Hash: crypto.SHA512})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		sig  []byte
		good bool
	}{{ph, true}, {empty, false}} {
		data, err := json.Marshal(map[string]any{
			"mediaType":            "application/vnd.dev.sigstore.bundle.v0.3+json",
			"verificationMaterial": map[string]any{"publicKey": map[string]any{"hint": "x"}},
			"messageSignature": map[string]any{
				"messageDigest": map[string]any{"algorithm": "SHA2_512", "digest": base64.StdEncoding.EncodeToString(d[:])},
				"signature":     base64.StdEncoding.EncodeToString(c.sig),
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		r, err := verifyKey(t, loadBundle(t, data), pub, "sha512", d[:], "")
		if c.good && (err != nil || !r.Verified) {
			t.Errorf("an Ed25519ph signature over sha512 did not verify: %v", err)
		}
		if !c.good && (err == nil || r.Verified) {
			t.Errorf("the empty-message signature verified a sha512 digest")
		}
	}
}
