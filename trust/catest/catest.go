// Package catest makes a private Sigstore-style certificate authority for
// tests and the interop script: a self-signed root CA, a CT log, leaf
// certificates with Fulcio's identity extensions (the SAN and the OIDC
// issuer that --certificate-identity and --certificate-oidc-issuer match)
// and an embedded signed certificate timestamp (so that stock cosign
// accepts them without --insecure-ignore-sct), and the trusted_root.json
// that lists the CA and the CT log. Keys are software ECDSA P-256 keys; it
// is not for production use.
package catest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"time"

	ct "github.com/google/certificate-transparency-go"
	cttls "github.com/google/certificate-transparency-go/tls"
	ctx509 "github.com/google/certificate-transparency-go/x509"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/airlock-project/airlock/trust"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Fulcio's certificate extensions for the OIDC issuer: the deprecated raw
// string (1.3.6.1.4.1.57264.1.1) and its DER UTF8String successor
// (1.3.6.1.4.1.57264.1.8). Both are written, as Fulcio writes them.
var (
	oidIssuerV1 = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}
	oidIssuerV2 = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}
)

// CA is a root certificate authority and the CT log that timestamps its
// certificates.
type CA struct {
	Cert     *x509.Certificate
	Key      crypto.Signer
	CTLogKey crypto.Signer
	// URI names the CA, CTLogURL the CT log, in the trusted root.
	URI, CTLogURL string
}

// New makes a CA valid from notBefore for ten years, named name (the
// subject's organization and common name), with a fresh CT log.
func New(name string, notBefore time.Time) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	ctKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{Organization: []string{name}, CommonName: name + " root CA"},
		NotBefore:    notBefore.UTC().Truncate(time.Second),
		NotAfter:     notBefore.UTC().Truncate(time.Second).AddDate(10, 0, 0),
		IsCA:         true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key, CTLogKey: ctKey, URI: "https://ca." + name + ".example", CTLogURL: "https://ct." + name + ".example"}, nil
}

// Identity is what a leaf certificate says about its holder: a SAN (an
// email address or a URI, as --certificate-identity matches it) and the
// OIDC issuer (--certificate-oidc-issuer).
type Identity struct {
	Email, URI string
	Issuer     string
}

// Issue certifies pub for id, valid from notBefore to notAfter, with an
// embedded SCT from the CA's CT log timestamped at notBefore.
func (ca *CA) Issue(pub crypto.PublicKey, id Identity, notBefore, notAfter time.Time) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		NotBefore:    notBefore.UTC().Truncate(time.Second),
		NotAfter:     notAfter.UTC().Truncate(time.Second),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}
	if id.Email != "" {
		tmpl.EmailAddresses = []string{id.Email}
	}
	if id.URI != "" {
		u, err := url.Parse(id.URI)
		if err != nil {
			return nil, err
		}
		tmpl.URIs = []*url.URL{u}
	}
	if id.Issuer != "" {
		v2, err := asn1.MarshalWithParams(id.Issuer, "utf8")
		if err != nil {
			return nil, err
		}
		tmpl.ExtraExtensions = append(tmpl.ExtraExtensions,
			pkix.Extension{Id: oidIssuerV1, Value: []byte(id.Issuer)},
			pkix.Extension{Id: oidIssuerV2, Value: v2})
	}
	// The SCT signs the precertificate: the certificate's TBS without its
	// SCT list. Make the certificate once with a placeholder list, take
	// that TBS as a verifier will rebuild it, then again with the SCT.
	sctExt := pkix.Extension{Id: asn1.ObjectIdentifier(ctx509.OIDExtensionCTSCT), Value: []byte{0x04, 0x00}}
	tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, sctExt)
	pre, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.Key)
	if err != nil {
		return nil, err
	}
	preCert, err := x509.ParseCertificate(pre)
	if err != nil {
		return nil, err
	}
	tbs, err := ctx509.RemoveSCTList(preCert.RawTBSCertificate)
	if err != nil {
		return nil, err
	}
	ctDER, err := x509.MarshalPKIXPublicKey(ca.CTLogKey.Public())
	if err != nil {
		return nil, err
	}
	sct := ct.SignedCertificateTimestamp{
		SCTVersion: ct.V1,
		LogID:      ct.LogID{KeyID: sha256.Sum256(ctDER)},
		Timestamp:  uint64(notBefore.UnixMilli()),
	}
	input, err := ct.SerializeSCTSignatureInput(sct, ct.LogEntry{Leaf: ct.MerkleTreeLeaf{
		Version: ct.V1, LeafType: ct.TimestampedEntryLeafType,
		TimestampedEntry: &ct.TimestampedEntry{
			EntryType: ct.PrecertLogEntryType, Timestamp: sct.Timestamp,
			PrecertEntry: &ct.PreCert{IssuerKeyHash: sha256.Sum256(ca.Cert.RawSubjectPublicKeyInfo), TBSCertificate: tbs},
		},
	}})
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256(input)
	sig, err := ca.CTLogKey.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return nil, err
	}
	sct.Signature = ct.DigitallySigned{
		Algorithm: cttls.SignatureAndHashAlgorithm{Hash: cttls.SHA256, Signature: cttls.ECDSA},
		Signature: sig,
	}
	sctBytes, err := cttls.Marshal(sct)
	if err != nil {
		return nil, err
	}
	list, err := cttls.Marshal(ctx509.SignedCertificateTimestampList{SCTList: []ctx509.SerializedSCT{{Val: sctBytes}}})
	if err != nil {
		return nil, err
	}
	if sctExt.Value, err = asn1.Marshal(list); err != nil {
		return nil, err
	}
	tmpl.ExtraExtensions[len(tmpl.ExtraExtensions)-1] = sctExt
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.Key)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	if again, err := ctx509.RemoveSCTList(leaf.RawTBSCertificate); err != nil || !bytes.Equal(again, tbs) {
		return nil, errors.New("catest: the certificate's precertificate TBS changed when its SCT was added")
	}
	return leaf, nil
}

// TrustedRootJSON is a trusted_root.json listing the CA (valid from its
// certificate's NotBefore) and its CT log, and nothing else.
func (ca *CA) TrustedRootJSON() ([]byte, error) {
	ctDER, err := x509.MarshalPKIXPublicKey(ca.CTLogKey.Public())
	if err != nil {
		return nil, err
	}
	id := sha256.Sum256(ctDER)
	start := timestamppb.New(ca.Cert.NotBefore)
	tr := &prototrustroot.TrustedRoot{
		MediaType: root.TrustedRootMediaType01,
		CertificateAuthorities: []*prototrustroot.CertificateAuthority{{
			Subject:   &protocommon.DistinguishedName{Organization: ca.Cert.Subject.Organization[0], CommonName: ca.Cert.Subject.CommonName},
			Uri:       ca.URI,
			CertChain: &protocommon.X509CertificateChain{Certificates: []*protocommon.X509Certificate{{RawBytes: ca.Cert.Raw}}},
			ValidFor:  &protocommon.TimeRange{Start: start},
		}},
		Ctlogs: []*prototrustroot.TransparencyLogInstance{{
			BaseUrl:       ca.CTLogURL,
			HashAlgorithm: protocommon.HashAlgorithm_SHA2_256,
			PublicKey: &protocommon.PublicKey{
				RawBytes: ctDER, KeyDetails: protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256,
				ValidFor: &protocommon.TimeRange{Start: start},
			},
			LogId: &protocommon.LogId{KeyId: id[:]},
		}},
	}
	return trust.EncodeTrustedRoot(tr)
}

// Files in a CA directory (Save, Load).
const (
	CertFile        = "ca.pem"
	KeyFile         = "ca.key"
	CTLogKeyFile    = "ctlog.key"
	TrustedRootFile = "trusted_root.json"
	nameFile        = "name"
)

// Save writes the CA to dir: its certificate, keys (PKCS#8 PEM, mode
// 0600) and its trusted_root.json.
func (ca *CA) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	keyPEM, err := cryptoutils.MarshalPrivateKeyToPEM(ca.Key)
	if err != nil {
		return err
	}
	ctPEM, err := cryptoutils.MarshalPrivateKeyToPEM(ca.CTLogKey)
	if err != nil {
		return err
	}
	certPEM, err := cryptoutils.MarshalCertificateToPEM(ca.Cert)
	if err != nil {
		return err
	}
	tr, err := ca.TrustedRootJSON()
	if err != nil {
		return err
	}
	for name, data := range map[string][]byte{CertFile: certPEM, KeyFile: keyPEM, CTLogKeyFile: ctPEM, TrustedRootFile: tr,
		nameFile: fmt.Appendf(nil, "%s\n%s\n", ca.URI, ca.CTLogURL)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// Load reads a CA Save wrote to dir.
func Load(dir string) (*CA, error) {
	read := func(name string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, name)) }
	certPEM, err := read(CertFile)
	if err != nil {
		return nil, err
	}
	certs, err := cryptoutils.UnmarshalCertificatesFromPEM(certPEM)
	if err != nil || len(certs) != 1 {
		return nil, fmt.Errorf("catest: %s: want one certificate (%v)", CertFile, err)
	}
	ca := &CA{Cert: certs[0]}
	for name, dst := range map[string]*crypto.Signer{KeyFile: &ca.Key, CTLogKeyFile: &ca.CTLogKey} {
		data, err := read(name)
		if err != nil {
			return nil, err
		}
		k, err := cryptoutils.UnmarshalPEMToPrivateKey(data, cryptoutils.SkipPassword)
		if err != nil {
			return nil, err
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("catest: %s is not a signing key", name)
		}
		*dst = s
	}
	names, err := read(nameFile)
	if err != nil {
		return nil, err
	}
	if _, err := fmt.Sscan(string(names), &ca.URI, &ca.CTLogURL); err != nil {
		return nil, fmt.Errorf("catest: %s: %v", nameFile, err)
	}
	return ca, nil
}
