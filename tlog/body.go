package tlog

import (
	"bytes"
	"crypto"
	_ "crypto/sha256" // the hashedrekord digests
	_ "crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Entry kinds and the one API version of each that the site log writes.
const (
	KindHashedRekord = "hashedrekord"
	KindDSSE         = "dsse"
	APIVersion       = "0.0.1"
)

// Verifier is the key a logged signature verifies with: a public key or
// a certificate for it (the certificate wins when both are set). It is
// written into entry bodies as PEM, as Rekor canonicalizes it.
type Verifier struct {
	PublicKey   crypto.PublicKey
	Certificate *x509.Certificate

	pem []byte // set by WithPEM
}

// WithPEM returns v with its PEM made once, for a key that signs a batch:
// each entry's body then reuses it. Change no field of the result.
func (v Verifier) WithPEM() (Verifier, error) {
	p, err := v.makePEM()
	if err != nil {
		return v, err
	}
	v.pem = p
	return v, nil
}

// PEM returns the verifier in Rekor's canonical form: a CERTIFICATE block
// of the certificate's DER, or a PUBLIC KEY block of the PKIX DER.
func (v Verifier) PEM() ([]byte, error) {
	if v.pem != nil {
		return bytes.Clone(v.pem), nil
	}
	return v.makePEM()
}

// sharedPEM is PEM without the copy, for the body encoders, which only
// read it.
func (v Verifier) sharedPEM() ([]byte, error) {
	if v.pem != nil {
		return v.pem, nil
	}
	return v.makePEM()
}

func (v Verifier) makePEM() ([]byte, error) {
	if v.Certificate != nil {
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: v.Certificate.Raw}), nil
	}
	if v.PublicKey == nil {
		return nil, errors.New("entry verifier has neither a public key nor a certificate")
	}
	der, err := x509.MarshalPKIXPublicKey(v.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("entry verifier: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// HashedRekordBody returns the canonicalized body of a hashedrekord 0.0.1
// entry for a message signature: sig (the signature as the bundle holds
// it) over an artifact whose digest under hash is digest, verified by v.
// It is byte for byte the body Rekor v1 stores for the same submission:
// RFC 8785 canonical JSON, keys sorted, no insignificant space.
//
// The signature is not checked here: the caller logs signatures it has
// verified (bundle.Builder checks every one it makes), and verifiers
// reject a body whose signature does not verify.
func HashedRekordBody(sig []byte, hash crypto.Hash, digest []byte, v Verifier) ([]byte, error) {
	alg, err := hashName(hash)
	if err != nil {
		return nil, err
	}
	if len(digest) != hash.Size() {
		return nil, fmt.Errorf("hashedrekord digest is %d bytes, want %d for %s", len(digest), hash.Size(), alg)
	}
	if len(sig) == 0 {
		return nil, errors.New("hashedrekord signature is empty")
	}
	key, err := v.sharedPEM()
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString(`{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{"data":{"hash":{"algorithm":"`)
	b.WriteString(alg)
	b.WriteString(`","value":"`)
	b.WriteString(hex.EncodeToString(digest))
	b.WriteString(`"}},"signature":{"content":"`)
	b.WriteString(base64.StdEncoding.EncodeToString(sig))
	b.WriteString(`","publicKey":{"content":"`)
	b.WriteString(base64.StdEncoding.EncodeToString(key))
	b.WriteString(`"}}}}`)
	return []byte(b.String()), nil
}

// DSSESignature is one signature of a DSSE envelope and its verifier.
type DSSESignature struct {
	Sig      []byte
	Verifier Verifier
}

// DSSEBody returns the canonicalized body of a dsse 0.0.1 entry, byte for
// byte as Rekor v1 stores it: envelopeHash is the SHA-256 of envelope (the
// envelope's JSON as submitted, cosign's .att form), payloadHash the
// SHA-256 of payload (the decoded DSSE payload), and the signatures, each
// with its verifier's PEM, sorted by their base64 text.
//
// As for HashedRekordBody, the signatures are the caller's to have
// verified.
func DSSEBody(envelope, payload []byte, sigs []DSSESignature) ([]byte, error) {
	if len(envelope) == 0 {
		return nil, errors.New("dsse entry: empty envelope")
	}
	if len(sigs) == 0 {
		return nil, errors.New("dsse entry: envelope has no signatures")
	}
	type sigText struct{ sig, verifier string }
	texts := make([]sigText, len(sigs))
	for i, s := range sigs {
		if len(s.Sig) == 0 {
			return nil, errors.New("dsse entry: empty signature")
		}
		key, err := s.Verifier.sharedPEM()
		if err != nil {
			return nil, err
		}
		texts[i] = sigText{base64.StdEncoding.EncodeToString(s.Sig), base64.StdEncoding.EncodeToString(key)}
	}
	// Rekor keys its signatures by their text: a duplicate is one entry.
	sort.Slice(texts, func(i, j int) bool { return texts[i].sig < texts[j].sig })
	for i := 1; i < len(texts); i++ {
		if texts[i].sig == texts[i-1].sig {
			return nil, errors.New("dsse entry: duplicate signature")
		}
	}
	envHash := sha256Hex(envelope)
	payloadHash := sha256Hex(payload)
	var b strings.Builder
	b.WriteString(`{"apiVersion":"0.0.1","kind":"dsse","spec":{"envelopeHash":{"algorithm":"sha256","value":"`)
	b.WriteString(envHash)
	b.WriteString(`"},"payloadHash":{"algorithm":"sha256","value":"`)
	b.WriteString(payloadHash)
	b.WriteString(`"},"signatures":[`)
	for i, t := range texts {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"signature":"`)
		b.WriteString(t.sig)
		b.WriteString(`","verifier":"`)
		b.WriteString(t.verifier)
		b.WriteString(`"}`)
	}
	b.WriteString(`]}}`)
	return []byte(b.String()), nil
}

// KindVersion returns the kind and API version a canonicalized body
// declares. It does not validate the rest of the body.
func KindVersion(body []byte) (kind, version string, err error) {
	var head struct {
		Kind       string `json:"kind"`
		APIVersion string `json:"apiVersion"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		return "", "", fmt.Errorf("entry body: %w", err)
	}
	if head.Kind == "" || head.APIVersion == "" {
		return "", "", errors.New("entry body names no kind or apiVersion")
	}
	return head.Kind, head.APIVersion, nil
}

func hashName(h crypto.Hash) (string, error) {
	switch h {
	case crypto.SHA256:
		return "sha256", nil
	case crypto.SHA384:
		return "sha384", nil
	case crypto.SHA512:
		return "sha512", nil
	}
	return "", fmt.Errorf("hashedrekord digest algorithm %v is not sha256, sha384 or sha512", h)
}

func sha256Hex(b []byte) string {
	h := crypto.SHA256.New()
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}
