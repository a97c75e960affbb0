package tlog_test

import (
	"crypto"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"net/url"
	"testing"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/airlock-project/airlock/tlog"
)

// TestCertificateBundleVerifiesWithSigstoreGo logs a message signature
// whose key has a certificate from a CA the trusted root lists: the body
// carries the certificate, and sigstore-go checks the certificate at the
// SET's integrated time.
func TestCertificateBundleVerifiesWithSigstoreGo(t *testing.T) {
	tl := newLog(t)
	caKey, leafKey := ecKey(t, elliptic.P256()), ecKey(t, elliptic.P256())
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "site CA"},
		NotBefore: t0.AddDate(-1, 0, 0), NotAfter: t0.AddDate(5, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "release signer"},
		NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		URIs: []*url.URL{{Scheme: "https", Host: "site.example", Path: "/release"}},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(leafDER)

	digest := sha256.Sum256([]byte("certified artifact"))
	sig, err := leafKey.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	body, err := tlog.HashedRekordBody(sig, crypto.SHA256, digest[:], tlog.Verifier{PublicKey: &leafKey.PublicKey, Certificate: leaf})
	if err != nil {
		t.Fatal(err)
	}
	b := tl.append(t, [][]byte{body})
	tle, err := b.TransparencyLogEntry(0)
	if err != nil {
		t.Fatal(err)
	}
	key := tl.log.Key()
	js := fmt.Sprintf(`{
  "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
  "tlogs": [{"baseUrl": "https://%s", "hashAlgorithm": "SHA2_256",
    "publicKey": {"rawBytes": %q, "keyDetails": "PKIX_ECDSA_P256_SHA_256", "validFor": {"start": "2026-01-01T00:00:00Z"}},
    "logId": {"keyId": %q}}],
  "certificateAuthorities": [{"subject": {"commonName": "site CA"}, "uri": "https://ca.site.example",
    "certChain": {"certificates": [{"rawBytes": %q}]}, "validFor": {"start": "2026-01-01T00:00:00Z"}}]
}`, origin, base64.StdEncoding.EncodeToString(key.DER), base64.StdEncoding.EncodeToString(key.ID[:]), base64.StdEncoding.EncodeToString(caDER))
	tr, err := root.NewTrustedRootFromJSON([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	pb := &protobundle.Bundle{
		MediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content:     &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: leafDER}},
			TlogEntries: []*protorekor.TransparencyLogEntry{tle},
		},
		Content: &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: digest[:]},
			Signature:     sig,
		}},
	}
	sb, err := sgbundleNew(pb)
	if err != nil {
		t.Fatal(err)
	}
	v, err := sgverify.NewVerifier(tr, sgverify.WithTransparencyLog(1), sgverify.WithIntegratedTimestamps(1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(sb, sgverify.NewPolicy(sgverify.WithArtifactDigest("sha256", digest[:]), sgverify.WithoutIdentitiesUnsafe())); err != nil {
		t.Fatalf("certificate bundle: %v", err)
	}
	// The same entry logged with the bare key does not match the
	// bundle's certificate.
	keyBody, err := tlog.HashedRekordBody(sig, crypto.SHA256, digest[:], tlog.Verifier{PublicKey: &leafKey.PublicKey})
	if err != nil {
		t.Fatal(err)
	}
	b2 := tl.append(t, [][]byte{keyBody})
	pb.VerificationMaterial.TlogEntries[0], err = b2.TransparencyLogEntry(0)
	if err != nil {
		t.Fatal(err)
	}
	if sb, err = sgbundleNew(pb); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(sb, sgverify.NewPolicy(sgverify.WithArtifactDigest("sha256", digest[:]), sgverify.WithoutIdentitiesUnsafe())); err == nil {
		t.Error("an entry naming the key accepted for a certificate bundle")
	}
}
