package catest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
)

// TestIssueVerifiesWithSigstoreGo: a leaf chains to the CA of the trusted
// root, its SCT verifies with the CT log the trusted root lists, and its
// identity extensions read as Fulcio's.
func TestIssueVerifiesWithSigstoreGo(t *testing.T) {
	now := time.Now()
	ca, err := New("site", now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := ca.Save(dir); err != nil {
		t.Fatal(err)
	}
	if ca, err = Load(dir); err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := Identity{Email: "release@site.example", Issuer: "https://idp.site.example"}
	leaf, err := ca.Issue(key.Public(), id, now.Add(-time.Minute), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	data, err := ca.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	tr, err := root.NewTrustedRootFromJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.FulcioCertificateAuthorities()[0].Verify(leaf, now); err != nil {
		t.Fatalf("leaf does not chain to the CA: %v", err)
	}
	if err := sgverify.VerifySignedCertificateTimestamp([][]*x509.Certificate{{leaf, ca.Cert}}, 1, tr); err != nil {
		t.Fatalf("SCT: %v", err)
	}
	summary, err := certificate.SummarizeCertificate(leaf)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := summary.SubjectAlternativeName, id.Email; got != want {
		t.Errorf("SAN %q, want %q", got, want)
	}
	if got, want := summary.Extensions.Issuer, id.Issuer; got != want {
		t.Errorf("issuer %q, want %q", got, want)
	}
}
