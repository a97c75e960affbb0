package bundle

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"

	"github.com/digitorus/timestamp"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
)

// Inspection is what a bundle says about itself, unverified: the signer,
// what was signed, the log entries with their proofs, and timestamps.
// `airlock bundle inspect` renders it; nothing in it has been checked.
type Inspection struct {
	MediaType string `json:"mediaType"`
	Version   string `json:"version"`
	// Content is "messageSignature" or "dsseEnvelope".
	Content string `json:"content"`
	// MessageDigest is the signed digest of a message signature.
	MessageDigest *DigestInfo `json:"messageDigest,omitempty"`
	// PayloadType, PredicateType and Subjects describe a DSSE envelope's
	// in-toto statement.
	PayloadType   string          `json:"payloadType,omitempty"`
	PredicateType string          `json:"predicateType,omitempty"`
	Subjects      []SubjectInfo   `json:"subjects,omitempty"`
	Signer        SignerInfo      `json:"signer"`
	LogEntries    []LogEntryInfo  `json:"logEntries"`
	Timestamps    []TimestampInfo `json:"timestamps"`
	// Invalid says why the bundle is not a valid Sigstore bundle, when it
	// reads but does not validate (the rest describes it all the same).
	Invalid string `json:"invalid,omitempty"`
}

// DigestInfo is one digest.
type DigestInfo struct {
	Algorithm string `json:"algorithm"`
	Digest    string `json:"digest"`
}

// SubjectInfo is one in-toto subject.
type SubjectInfo struct {
	Name    string            `json:"name"`
	Digests map[string]string `json:"digests"`
}

// SignerInfo is the bundle's verification material: a certificate (chain)
// or a public-key hint.
type SignerInfo struct {
	// Kind is what the bundle carries: "certificate", "publicKey", or
	// "none" (an invalid bundle with no verification material).
	Kind        string           `json:"kind"`
	Certificate *CertificateInfo `json:"certificate,omitempty"`
	// ChainLength counts the certificates the bundle carries.
	ChainLength int    `json:"chainLength,omitempty"`
	KeyHint     string `json:"keyHint,omitempty"`
	// KeyFingerprint is the key hint as "sha256:HEX", the form results
	// name keys in, when the hint is a base64 SHA-256 (what airlock and
	// cosign write: the digest of the key's PKIX DER).
	KeyFingerprint string `json:"keyFingerprint,omitempty"`
}

// CertificateInfo summarises the signing certificate.
type CertificateInfo struct {
	Subject           string    `json:"subject"`
	SAN               string    `json:"san"`
	OIDCIssuer        string    `json:"oidcIssuer,omitempty"`
	CertificateIssuer string    `json:"certificateIssuer"`
	Serial            string    `json:"serial"`
	NotBefore         time.Time `json:"notBefore"`
	NotAfter          time.Time `json:"notAfter"`
	SHA256            string    `json:"sha256"`
	SCTs              bool      `json:"scts"`
}

// LogEntryInfo is one transparency-log entry with its proof material.
type LogEntryInfo struct {
	LogEntry
	SignedEntryTimestamp string          `json:"signedEntryTimestamp,omitempty"`
	Proof                *InclusionProof `json:"proof,omitempty"`
}

// InclusionProof is an entry's Merkle inclusion proof and checkpoint.
type InclusionProof struct {
	LogIndex   int64    `json:"logIndex"`
	TreeSize   int64    `json:"treeSize"`
	RootHash   string   `json:"rootHash"`
	Hashes     []string `json:"hashes"`
	Checkpoint string   `json:"checkpoint"`
}

// TimestampInfo is one RFC 3161 timestamp.
type TimestampInfo struct {
	Time   *time.Time `json:"time,omitempty"`
	Signer string     `json:"signer,omitempty"`
	Error  string     `json:"error,omitempty"`
}

// Inspect describes b without verifying anything.
func Inspect(b *sgbundle.Bundle) *Inspection {
	in := &Inspection{MediaType: b.GetMediaType(), LogEntries: []LogEntryInfo{}, Timestamps: []TimestampInfo{}}
	in.Version, _ = b.Version()
	if ms := b.GetMessageSignature(); ms != nil {
		in.Content = "messageSignature"
		if md := ms.GetMessageDigest(); md != nil {
			in.MessageDigest = &DigestInfo{Algorithm: protoHashName(md.GetAlgorithm()), Digest: hex.EncodeToString(md.GetDigest())}
		}
	}
	if env := b.GetDsseEnvelope(); env != nil {
		in.Content = "dsseEnvelope"
		in.PayloadType = env.GetPayloadType()
		if e, err := b.Envelope(); err == nil {
			if st, err := e.Statement(); err == nil {
				in.PredicateType = st.GetPredicateType()
				for _, s := range st.GetSubject() {
					in.Subjects = append(in.Subjects, SubjectInfo{Name: s.GetName(), Digests: s.GetDigest()})
				}
			}
		}
	}
	vm := b.GetVerificationMaterial()
	var certDER []byte
	in.Signer.Kind = "none"
	switch {
	case vm.GetCertificate() != nil:
		in.Signer.Kind = "certificate"
		certDER = vm.GetCertificate().GetRawBytes()
		in.Signer.ChainLength = 1
	case vm.GetX509CertificateChain() != nil:
		in.Signer.Kind = "certificate"
		certs := vm.GetX509CertificateChain().GetCertificates()
		in.Signer.ChainLength = len(certs)
		if len(certs) > 0 {
			certDER = certs[0].GetRawBytes()
		}
	case vm.GetPublicKey() != nil:
		in.Signer.Kind = "publicKey"
		in.Signer.KeyHint = vm.GetPublicKey().GetHint()
		in.Signer.KeyFingerprint = HintFingerprint(in.Signer.KeyHint)
	}
	if certDER != nil {
		if c, err := x509.ParseCertificate(certDER); err == nil {
			in.Signer.Certificate = certInfo(c)
		}
	}
	les := logEntries(b)
	for i, e := range vm.GetTlogEntries() {
		li := LogEntryInfo{LogEntry: les[i]}
		if p := e.GetInclusionPromise(); p != nil {
			li.SignedEntryTimestamp = base64.StdEncoding.EncodeToString(p.GetSignedEntryTimestamp())
		}
		if p := e.GetInclusionProof(); p != nil {
			ip := &InclusionProof{
				LogIndex:   p.GetLogIndex(),
				TreeSize:   p.GetTreeSize(),
				RootHash:   hex.EncodeToString(p.GetRootHash()),
				Hashes:     []string{},
				Checkpoint: p.GetCheckpoint().GetEnvelope(),
			}
			for _, h := range p.GetHashes() {
				ip.Hashes = append(ip.Hashes, hex.EncodeToString(h))
			}
			li.Proof = ip
		}
		in.LogEntries = append(in.LogEntries, li)
	}
	for _, t := range vm.GetTimestampVerificationData().GetRfc3161Timestamps() {
		ti := TimestampInfo{}
		ts, err := timestamp.ParseResponse(t.GetSignedTimestamp())
		if err != nil {
			ts, err = timestamp.Parse(t.GetSignedTimestamp())
		}
		if err != nil {
			ti.Error = cleanErr(err)
		} else {
			tt := ts.Time.UTC()
			ti.Time = &tt
			if len(ts.Certificates) > 0 {
				ti.Signer = ts.Certificates[0].Subject.String()
			}
		}
		in.Timestamps = append(in.Timestamps, ti)
	}
	return in
}

func certInfo(c *x509.Certificate) *CertificateInfo {
	ci := &CertificateInfo{
		Subject:           c.Subject.String(),
		CertificateIssuer: c.Issuer.String(),
		Serial:            c.SerialNumber.Text(16),
		NotBefore:         c.NotBefore.UTC(),
		NotAfter:          c.NotAfter.UTC(),
	}
	sum := sha256.Sum256(c.Raw)
	ci.SHA256 = hex.EncodeToString(sum[:])
	if s, err := certificate.SummarizeCertificate(c); err == nil {
		ci.SAN = s.SubjectAlternativeName
		ci.OIDCIssuer = s.Extensions.Issuer
	} else {
		var sans []string
		for _, u := range c.URIs {
			sans = append(sans, u.String())
		}
		sans = append(sans, c.EmailAddresses...)
		ci.SAN = strings.Join(sans, ",")
	}
	for _, ext := range c.Extensions {
		if ext.Id.String() == "1.3.6.1.4.1.11129.2.4.2" {
			ci.SCTs = true
		}
	}
	return ci
}

func protoHashName(h protocommon.HashAlgorithm) string {
	switch h {
	case protocommon.HashAlgorithm_SHA2_256:
		return "sha256"
	case protocommon.HashAlgorithm_SHA2_384:
		return "sha384"
	case protocommon.HashAlgorithm_SHA2_512:
		return "sha512"
	}
	return strings.ToLower(h.String())
}

// HintFingerprint returns a public-key hint that is a base64 SHA-256 as
// "sha256:HEX", or "" for any other hint.
func HintFingerprint(hint string) string {
	d, err := base64.StdEncoding.DecodeString(hint)
	if err != nil || len(d) != sha256.Size {
		return ""
	}
	return "sha256:" + hex.EncodeToString(d)
}
