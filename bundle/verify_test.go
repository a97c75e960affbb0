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
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/iotest"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
)

func TestHashReaderSizes(t *testing.T) {
	for _, n := range []int{0, 1, hashBufferSize - 1, hashBufferSize, hashBufferSize + 1, 3*hashBufferSize + 7} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(i * 7)
		}
		got, err := HashReader(bytes.NewReader(data), []string{"sha256", "sha384", "sha512"})
		if err != nil {
			t.Fatal(err)
		}
		s256, s384, s512 := sha256.Sum256(data), sha512.Sum384(data), sha512.Sum512(data)
		if !bytes.Equal(got["sha256"], s256[:]) || !bytes.Equal(got["sha384"], s384[:]) || !bytes.Equal(got["sha512"], s512[:]) {
			t.Errorf("size %d: wrong digests", n)
		}
	}
}

type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("disk on fire")
	}
	k := min(len(p), f.n)
	f.n -= k
	return k, nil
}

func TestHashReaderError(t *testing.T) {
	if _, err := HashReader(&failingReader{n: 3*hashBufferSize + 5}, nil); err == nil || err.Error() != "disk on fire" {
		t.Fatalf("err = %v, want the reader's error", err)
	}
	if _, err := HashReader(bytes.NewReader(nil), []string{"md5"}); err == nil {
		t.Fatal("md5 accepted")
	}
}

func TestParseDigestArg(t *testing.T) {
	hex64 := "a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf"
	for _, tc := range []struct {
		arg        string
		ok, hasErr bool
	}{
		{"sha256:" + hex64, true, false},
		{"sha256:" + hex64[:62], true, true},
		{"sha256:zz", true, true},
		{"sha512:" + hex64 + hex64, true, false},
		{"hello.tgz", false, false},
		{"md5:abc", false, false},
	} {
		_, ok, err := ParseDigestArg(tc.arg)
		if ok != tc.ok || (err != nil) != tc.hasErr {
			t.Errorf("ParseDigestArg(%q) = ok %v, err %v", tc.arg, ok, err)
		}
	}
}

func publicGood(t testing.TB) *root.TrustedRoot {
	t.Helper()
	tr, err := root.NewTrustedRootFromPath(publicGoodRootPath)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// TestTrustSourcesInOrder: the first source that verifies vouches and is
// named; a rejection under every source is the first source's reason.
func TestTrustSourcesInOrder(t *testing.T) {
	bc := loadBenchCase(t)
	other, err := root.NewTrustedRootFromPath("../testdata/conformance/bundle-verify/intoto-with-custom-trust-root/trusted_root.json")
	if err != nil {
		t.Fatal(err)
	}
	trust := Trust{From: "test", Sources: []TrustSource{{Name: "custom", Material: other}, {Name: "public-good", Material: bc.tr}}}
	v, err := NewVerifier(trust, Policy{CertificateIdentity: conformanceID, CertificateOIDCIssuer: conformanceIss}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := Artifact{Name: "a.txt", Digests: map[string][]byte{"sha256": bc.digest}}
	r, err := v.VerifyBundle(bc.bundles[1], "b", a)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.Trust.Source, "public-good"; got != want {
		t.Errorf("vouched by %q, want %q", got, want)
	}
	if r.Status != "verified" || r.Signer == nil || r.Signer.Identity != conformanceID || len(r.Times) == 0 || len(r.LogEntries) != 1 {
		t.Errorf("incomplete result: %+v", r)
	}

	only := Trust{Sources: []TrustSource{{Name: "custom", Material: other}}}
	v, _ = NewVerifier(only, Policy{CertificateIdentity: conformanceID, CertificateOIDCIssuer: conformanceIss}, Options{})
	r, err = v.VerifyBundle(bc.bundles[1], "b", a)
	if !errors.Is(err, ErrRejected) || r.Verified || r.Reason == "" || r.Trust.Source != "" || r.Signer != nil {
		t.Errorf("under the wrong root: err %v, result %+v", err, r)
	}
}

// TestCachingMatchesPlain: the certificate caches never change a verdict,
// across repeated verifications and policies.
func TestCachingMatchesPlain(t *testing.T) {
	bc := loadBenchCase(t)
	trust := Trust{Sources: []TrustSource{{Name: "pg", Material: bc.tr}}}
	a := Artifact{Name: "a.txt", Digests: map[string][]byte{"sha256": bc.digest}}
	wrong := Artifact{Name: "x", Digests: map[string][]byte{"sha256": make([]byte, 32)}}
	good := Policy{CertificateIdentity: conformanceID, CertificateOIDCIssuer: conformanceIss}
	for _, p := range []Policy{good, {CertificateIdentity: "someone@example.com", CertificateOIDCIssuer: conformanceIss}} {
		plain, err := NewVerifier(trust, p, Options{})
		if err != nil {
			t.Fatal(err)
		}
		cached, err := NewVerifier(trust, p, Options{CacheCertificates: true})
		if err != nil {
			t.Fatal(err)
		}
		for round := range 3 {
			for i, b := range bc.bundles {
				for _, art := range []Artifact{a, wrong} {
					_, e1 := plain.VerifyBundle(b, "b", art)
					_, e2 := cached.VerifyBundle(b, "b", art)
					if (e1 == nil) != (e2 == nil) {
						t.Errorf("round %d bundle %d: plain %v, cached %v", round, i, e1, e2)
					}
					// Both sides rejecting everything would agree too:
					// the good cases must verify.
					if wantOK := p == good && art.Name == a.Name; wantOK && (e1 != nil || e2 != nil) {
						t.Errorf("round %d bundle %d: a good case rejected: plain %v, cached %v", round, i, e1, e2)
					} else if !wantOK && (e1 == nil || e2 == nil) {
						t.Errorf("round %d bundle %d: a bad case verified: plain %v, cached %v", round, i, e1, e2)
					}
				}
			}
		}
	}
}

// TestCachingCATime: a cached chain is only reused at times every
// certificate in it is valid; the intermediate shortcut respects the CA's
// and the root's validity.
func TestCachingCATime(t *testing.T) {
	tr := publicGood(t)
	bc := loadBenchCase(t)
	vc, err := bc.bundles[1].VerificationContent()
	if err != nil {
		t.Fatal(err)
	}
	leaf := vc.Certificate()
	for _, ca := range tr.FulcioCertificateAuthorities() {
		fca := ca.(*root.FulcioCertificateAuthority)
		if len(fca.Intermediates) != 1 {
			continue
		}
		c := &cachingCA{inner: ca}
		at := leaf.NotBefore.Add(time.Minute)
		chains, err := c.Verify(leaf, at)
		if err != nil {
			t.Fatalf("first verification: %v", err)
		}
		if c.anchor == nil {
			t.Error("intermediate shortcut not prepared for the public-good CA")
		}
		want, err := ca.Verify(leaf, at)
		if err != nil || len(chains) != len(want) || len(chains[0]) != len(want[0]) || !chains[0][2].Equal(want[0][2]) {
			t.Errorf("chains %v differ from the CA's %v (%v)", chains, want, err)
		}
		// Cached, at a time after the leaf expired: rejected, like the CA.
		late := leaf.NotAfter.Add(time.Hour)
		if _, err := c.Verify(leaf, late); err == nil {
			t.Error("cached chain accepted after the leaf expired")
		}
		if _, err := ca.Verify(leaf, late); err == nil {
			t.Error("test premise: the CA accepts an expired leaf")
		}
		// Before the CA's validity period: rejected, cache or not.
		if _, err := c.Verify(leaf, fca.ValidityPeriodStart.Add(-time.Hour)); err == nil {
			t.Error("accepted before the CA's validity period")
		}
		return
	}
	t.Fatal("no public-good CA with one intermediate")
}

func ecdsaSig(t *testing.T, k *ecdsa.PrivateKey, d []byte) []byte {
	s, err := ecdsa.SignASN1(rand.Reader, k, d)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestDetachedSignature: cosign's .sig for each key type (ECDSA P-256 and
// RSA over SHA-256 of the file, P-384 over SHA-384, Ed25519ph over
// SHA-512) verifies, and nothing else does.
func TestDetachedSignature(t *testing.T) {
	file := []byte("hello, air gap\n")
	s256, s384, s512 := sha256.Sum256(file), sha512.Sum384(file), sha512.Sum512(file)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	_, ek, _ := ed25519.GenerateKey(rand.Reader)
	rsaSig, _ := rsa.SignPKCS1v15(rand.Reader, rk, crypto.SHA256, s256[:])
	edSig, err := ek.Sign(nil, s512[:], &ed25519.Options{Hash: crypto.SHA512})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		key  crypto.PublicKey
		sig  []byte
	}{
		{"p256", p256.Public(), ecdsaSig(t, p256, s256[:])},
		{"p384", p384.Public(), ecdsaSig(t, p384, s384[:])},
		{"rsa", rk.Public(), rsaSig},
		{"ed25519ph", ek.Public(), edSig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := NewVerifier(Trust{Sources: []TrustSource{{Name: "--key"}}}, Policy{Key: tc.key, InsecureIgnoreTlogUnsafe: true}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			d, _ := HashReader(bytes.NewReader(file), SignatureDigestAlgorithms(tc.key))
			sig := []byte(base64.StdEncoding.EncodeToString(tc.sig) + "\n")
			r, err := v.VerifySignatureFile(sig, "f.sig", Artifact{Name: "f", Digests: d})
			if err != nil || !r.Verified || r.Signer.KeyFingerprint == "" || len(r.Warnings) != 1 || r.Warnings[0] != NoTlogWarning {
				t.Fatalf("err %v, result %+v", err, r)
			}
			d2, _ := HashReader(bytes.NewReader([]byte("other")), SignatureDigestAlgorithms(tc.key))
			if _, err := v.VerifySignatureFile(sig, "f.sig", Artifact{Name: "o", Digests: d2}); !errors.Is(err, ErrRejected) {
				t.Errorf("other file: %v", err)
			}
			other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			ov, _ := NewVerifier(Trust{Sources: []TrustSource{{Name: "--key"}}}, Policy{Key: other.Public(), InsecureIgnoreTlogUnsafe: true}, Options{})
			od, _ := HashReader(bytes.NewReader(file), []string{"sha256"})
			if _, err := ov.VerifySignatureFile(sig, "f.sig", Artifact{Name: "f", Digests: od}); !errors.Is(err, ErrRejected) {
				t.Errorf("other key: %v", err)
			}
		})
	}
}

// TestDetachedAttestation: a DSSE .att signed with pure Ed25519 and with
// ECDSA verifies against its subject and predicate type only.
func TestDetachedAttestation(t *testing.T) {
	file := []byte("hello, air gap\n")
	sum := sha256.Sum256(file)
	st, _ := json.Marshal(map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"subject":       []any{map[string]any{"name": "hello.tgz", "digest": map[string]string{"sha256": hex.EncodeToString(sum[:])}}},
		"predicateType": "https://cyclonedx.org/bom",
		"predicate":     map[string]any{},
	})
	pae := PAE(InTotoPayloadType, st)
	_, ek, _ := ed25519.GenerateKey(rand.Reader)
	pk, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ps := sha256.Sum256(pae)
	for name, k := range map[string]struct {
		pub crypto.PublicKey
		sig []byte
	}{
		"ed25519": {ek.Public(), ed25519.Sign(ek, pae)},
		"p256":    {pk.Public(), ecdsaSig(t, pk, ps[:])},
	} {
		t.Run(name, func(t *testing.T) {
			env, _ := json.Marshal(map[string]any{"payloadType": InTotoPayloadType, "payload": base64.StdEncoding.EncodeToString(st),
				"signatures": []any{map[string]string{"keyid": "", "sig": base64.StdEncoding.EncodeToString(k.sig)}}})
			_, _, stmt, err := ParseAttestation(env)
			if err != nil {
				t.Fatal(err)
			}
			d, _ := HashReader(bytes.NewReader(file), AttestationDigestAlgorithms(stmt))
			a := Artifact{Name: "hello.tgz", Digests: d}
			for pt, ok := range map[string]bool{"": true, "https://cyclonedx.org/bom": true, "https://spdx.dev/Document": false} {
				v, _ := NewVerifier(Trust{Sources: []TrustSource{{Name: "--key"}}}, Policy{Key: k.pub, PredicateType: pt, InsecureIgnoreTlogUnsafe: true}, Options{})
				r, err := v.VerifyAttestationFile(env, "x.att", a)
				if (err == nil) != ok {
					t.Errorf("type %q: err %v", pt, err)
				}
				if ok && r.PredicateType != "https://cyclonedx.org/bom" {
					t.Errorf("predicate type %q", r.PredicateType)
				}
			}
			// base64 of the envelope, as the primer shows it, verifies too.
			v, _ := NewVerifier(Trust{Sources: []TrustSource{{Name: "--key"}}}, Policy{Key: k.pub, InsecureIgnoreTlogUnsafe: true}, Options{})
			if _, err := v.VerifyAttestationFile([]byte(base64.StdEncoding.EncodeToString(env)), "x.att", a); err != nil {
				t.Errorf("base64 envelope: %v", err)
			}
			// A tampered payload does not.
			bad := bytes.Replace(env, []byte(`"payload":"ey`), []byte(`"payload":"eX`), 1)
			if _, err := v.VerifyAttestationFile(bad, "x.att", a); !errors.Is(err, ErrRejected) {
				t.Errorf("tampered payload: %v", err)
			}
		})
	}
}

// signedAttestation returns a DSSE envelope (JSON) over an in-toto
// statement whose one subject has the given digests, signed with k.
func signedAttestation(t *testing.T, k *ecdsa.PrivateKey, digests map[string]string) []byte {
	t.Helper()
	st, err := json.Marshal(map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"subject":       []any{map[string]any{"name": "hello.tgz", "digest": digests}},
		"predicateType": "https://spdx.dev/Document",
		"predicate":     map[string]any{},
	})
	if err != nil {
		t.Fatal(err)
	}
	ps := sha256.Sum256(PAE(InTotoPayloadType, st))
	env, err := json.Marshal(map[string]any{"payloadType": InTotoPayloadType, "payload": base64.StdEncoding.EncodeToString(st),
		"signatures": []any{map[string]string{"keyid": "", "sig": base64.StdEncoding.EncodeToString(ecdsaSig(t, k, ps[:]))}}})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// TestDetachedAttestationSubjectAlgorithm: a .att whose subjects name only
// a sha512 digest, checked against a sha256 digest argument, is rejected
// for the algorithm (as bundles and .sig are), not as another artifact's
// evidence. Defect: "no subject of the statement has the artifact's digest".
func TestDetachedAttestationSubjectAlgorithm(t *testing.T) {
	file := []byte("hello, air gap\n")
	s256, s512 := sha256.Sum256(file), sha512.Sum512(file)
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	v, err := NewVerifier(Trust{Sources: []TrustSource{{Name: "--key"}}}, Policy{Key: k.Public(), InsecureIgnoreTlogUnsafe: true}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	env := signedAttestation(t, k, map[string]string{"sha512": hex.EncodeToString(s512[:])})
	arg := "sha256:" + hex.EncodeToString(s256[:])
	a, _, err := ParseDigestArg(arg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.VerifyAttestationFile(env, "x.att", a)
	got, want := fmt.Sprint(err), fmt.Sprintf("the attestation's subjects are over a sha512 digest, but the artifact was given as %q", arg)
	if !errors.Is(err, ErrRejected) || got != want {
		t.Errorf("sha256 argument against sha512 subject:\n got %v\nwant %s", err, want)
	}
	a512, _, _ := ParseDigestArg("sha512:" + hex.EncodeToString(s512[:]))
	if _, err := v.VerifyAttestationFile(env, "x.att", a512); err != nil {
		t.Errorf("sha512 argument: %v", err)
	}

	// Subjects named only by digests airlock does not compute.
	env = signedAttestation(t, k, map[string]string{"gitCommit": "0123456789abcdef0123456789abcdef01234567"})
	_, err = v.VerifyAttestationFile(env, "x.att", a)
	if got, want := fmt.Sprint(err), "no subject of the statement has a sha256, sha384 or sha512 digest"; got != want {
		t.Errorf("no supported digest:\n got %v\nwant %s", err, want)
	}
}

// TestDetachedEmptyFile: an empty (or blank) .sig or .att is rejected as
// empty, not as a signature that does not verify with the key.
func TestDetachedEmptyFile(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	v, err := NewVerifier(Trust{Sources: []TrustSource{{Name: "--key"}}}, Policy{Key: k.Public()}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	d, _ := HashReader(bytes.NewReader([]byte("x")), []string{"sha256"})
	a := Artifact{Name: "x", Digests: d}
	want := `signature file "e.sig" is empty`
	for _, data := range [][]byte{nil, {}, []byte(" \n\t\n")} {
		if _, err := v.VerifySignatureFile(data, "e.sig", a); !errors.Is(err, ErrRejected) || err.Error() != want {
			t.Errorf(".sig %q: got %v, want %s", data, err, want)
		}
		if _, err := v.VerifyAttestationFile(data, "e.sig", a); !errors.Is(err, ErrRejected) || err.Error() != want {
			t.Errorf(".att %q: got %v, want %s", data, err, want)
		}
	}
}

// TestVerifyFileGivenData: an Item's evidence can be given as data (cosign's
// --signature takes the signature itself) and its artifact as a reader
// (standard input), streamed.
func TestVerifyFileGivenData(t *testing.T) {
	file := []byte("hello, air gap\n")
	sum := sha256.Sum256(file)
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	v, err := NewVerifier(Trust{Sources: []TrustSource{{Name: "--key"}}}, Policy{Key: k.Public(), InsecureIgnoreTlogUnsafe: true}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sig := []byte(base64.StdEncoding.EncodeToString(ecdsaSig(t, k, sum[:])))
	dir := t.TempDir()
	path := filepath.Join(dir, "hello.tgz")
	if err := os.WriteFile(path, file, 0o644); err != nil {
		t.Fatal(err)
	}

	// Evidence names a file that does not exist: the data is used.
	r, err := v.VerifyFile(Item{Artifact: path, Evidence: "(given)", EvidenceData: sig, Kind: EvidenceSignature})
	if err != nil || r.Evidence != "(given)" {
		t.Fatalf("evidence data: %v, %+v", err, r)
	}
	r, err = v.VerifyFile(Item{Artifact: "-", ArtifactReader: bytes.NewReader(file), Evidence: "(given)", EvidenceData: sig, Kind: EvidenceSignature})
	if err != nil || r.Artifact.Name != "-" || r.Artifact.Digests["sha256"] != hex.EncodeToString(sum[:]) {
		t.Fatalf("artifact reader: %v, %+v", err, r)
	}
	if _, err := v.VerifyFile(Item{Artifact: "-", ArtifactReader: bytes.NewReader([]byte("other")), Evidence: "(given)", EvidenceData: sig, Kind: EvidenceSignature}); !errors.Is(err, ErrRejected) {
		t.Errorf("other artifact on the reader: %v", err)
	}
	// A reader that fails is an artifact that could not be read.
	_, err = v.VerifyFile(Item{Artifact: "-", ArtifactReader: iotest.ErrReader(errors.New("boom")), Evidence: "(given)", EvidenceData: sig, Kind: EvidenceSignature})
	if err == nil || errors.Is(err, ErrRejected) || err.Error() != `reading artifact "-": boom` {
		t.Errorf("failing reader: %v", err)
	}
}

// TestVerifyFiles: a batch reports every item in order, on all cores,
// with the caches shared: good, rejected and unreadable items side by side.
func TestVerifyFiles(t *testing.T) {
	bc := loadBenchCase(t)
	dir := t.TempDir()
	a, err := os.ReadFile("../testdata/conformance/bundle-verify/a.txt")
	if err != nil {
		t.Fatal(err)
	}
	var items []Item
	want := map[int]string{}
	for i := range 64 {
		name := filepath.Join(dir, fmt.Sprintf("f%d.txt", i))
		src := keylessBundles[i%len(keylessBundles)]
		status := "verified"
		switch i % 8 {
		case 5:
			src, status = "signature-mismatch_fail", "rejected"
		case 6:
			src, status = "bundle-malformed-json_fail", "rejected"
		}
		if err := os.WriteFile(name, a, 0o644); err != nil {
			t.Fatal(err)
		}
		if i%8 == 7 {
			status = "error" // no bundle beside it
		} else {
			bj, err := os.ReadFile("../testdata/conformance/bundle-verify/" + src + "/bundle.sigstore.json")
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(name+".sigstore.json", bj, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want[i] = status
		items = append(items, Item{Artifact: name, Evidence: name + ".sigstore.json"})
	}
	v, err := NewVerifier(Trust{Sources: []TrustSource{{Name: "pg", Material: bc.tr}}},
		Policy{CertificateIdentity: conformanceID, CertificateOIDCIssuer: conformanceIss}, Options{CacheCertificates: true})
	if err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		res := v.VerifyFiles(t.Context(), items)
		if len(res) != len(items) {
			t.Fatalf("%d results for %d items", len(res), len(items))
		}
		for i, r := range res {
			got := "error"
			switch {
			case r.Err == nil:
				got = "verified"
			case errors.Is(r.Err, ErrRejected):
				got = "rejected"
			}
			if got != want[i] {
				t.Errorf("round %d item %d: %s (%v), want %s", round, i, got, r.Err, want[i])
			}
			if r.Result != nil && r.Result.Artifact.Name != items[i].Artifact {
				t.Errorf("item %d: result for %q", i, r.Result.Artifact.Name)
			}
		}
	}
}

// makeCA returns a root, an intermediate (a CA or not) and a code-signing
// leaf under it, all P-256, valid for a day around now.
func makeCA(t *testing.T, interIsCA bool) (rootCert, inter, leaf *x509.Certificate) {
	t.Helper()
	now := time.Now()
	mk := func(tmpl, parent *x509.Certificate, pub crypto.PublicKey, priv crypto.Signer) *x509.Certificate {
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, priv)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	rk, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ik, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	lk, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rt := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "root"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, MaxPathLen: -1, KeyUsage: x509.KeyUsageCertSign}
	rootCert = mk(rt, rt, rk.Public(), rk)
	it := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "intermediate"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: interIsCA, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}}
	inter = mk(it, rootCert, ik.Public(), rk)
	lt := &x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "leaf"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}}
	leaf = mk(lt, inter, lk.Public(), ik)
	return rootCert, inter, leaf
}

// TestCachingCAIntermediateNotCA: an "intermediate" that is not a CA must
// not become a trust anchor for the shortcut; the verdict stays x509's.
func TestCachingCAIntermediateNotCA(t *testing.T) {
	for _, isCA := range []bool{true, false} {
		rt, inter, leaf := makeCA(t, isCA)
		ca := &root.FulcioCertificateAuthority{Root: rt, Intermediates: []*x509.Certificate{inter}}
		c := &cachingCA{inner: ca}
		_, want := ca.Verify(leaf, time.Now())
		_, got := c.Verify(leaf, time.Now())
		if (want == nil) != (got == nil) {
			t.Errorf("intermediate IsCA=%v: CA says %v, cache says %v", isCA, want, got)
		}
		if isCA && (want != nil || c.anchor == nil) {
			t.Errorf("a proper CA: err %v, shortcut prepared %v", want, c.anchor != nil)
		}
		if !isCA && c.anchor != nil {
			t.Error("shortcut prepared for a non-CA intermediate")
		}
	}
}

// TestEmptyPredicateTypeMatchesNothing: a statement whose predicate type is
// empty is refused by verify-attestation with or without a type asked for
// (the bundle path is covered by testdata/ecosystem's slsa-verifier/valid).
func TestEmptyPredicateTypeMatchesNothing(t *testing.T) {
	file := []byte("hello")
	sum := sha256.Sum256(file)
	st, _ := json.Marshal(map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"subject":       []any{map[string]any{"name": "hello.tgz", "digest": map[string]string{"sha256": hex.EncodeToString(sum[:])}}},
		"predicateType": "",
		"predicate":     map[string]any{},
	})
	pk, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ps := sha256.Sum256(PAE(InTotoPayloadType, st))
	env, _ := json.Marshal(map[string]any{"payloadType": InTotoPayloadType, "payload": base64.StdEncoding.EncodeToString(st),
		"signatures": []any{map[string]string{"keyid": "", "sig": base64.StdEncoding.EncodeToString(ecdsaSig(t, pk, ps[:]))}}})
	a := Artifact{Name: "hello.tgz", Digests: map[string][]byte{"sha256": sum[:]}}
	for _, pt := range []string{"", "https://cyclonedx.org/bom"} {
		v, _ := NewVerifier(Trust{Sources: []TrustSource{{Name: "--key"}}}, Policy{Key: pk.Public(), PredicateType: pt, Attestation: true}, Options{})
		_, err := v.VerifyAttestationFile(env, "x.att", a)
		if ReasonOf(err) != ReasonPredicateTypeMismatch {
			t.Errorf("type %q: %v (reason %q), want %s", pt, err, ReasonOf(err), ReasonPredicateTypeMismatch)
		}
	}
}

// TestVouchWarnings: a result carries the warnings of the trust as a
// whole and of the source that vouched, not another source's (a stale
// public-good does not weaken what the site log vouched for).
func TestVouchWarnings(t *testing.T) {
	tr := Trust{
		Sources: []TrustSource{
			{Name: "public-good", Warnings: []string{"public-good is stale"}},
			{Name: "site-log"},
		},
		Warnings: []string{"public-good is stale", "repository \"old\" is too old; not used"},
	}
	for _, c := range []struct {
		i    int
		want []string
	}{
		{0, []string{"public-good is stale", "repository \"old\" is too old; not used"}},
		{1, []string{"repository \"old\" is too old; not used"}},
		{-1, []string{"repository \"old\" is too old; not used"}},
	} {
		if got := tr.vouchWarnings(c.i); !slices.Equal(got, c.want) {
			t.Errorf("vouchWarnings(%d) = %q, want %q", c.i, got, c.want)
		}
	}
}
