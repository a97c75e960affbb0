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
	_ "crypto/sha512" // SHA-384 and SHA-512 for P-384 and P-521 keys
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/airlock-project/airlock/tlog"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	"google.golang.org/protobuf/encoding/protojson"
)

// MediaTypeV03 is the media type of the bundles Builder writes.
const MediaTypeV03 = "application/vnd.dev.sigstore.bundle.v0.3+json"

// InTotoPayloadType is the DSSE payload type of an in-toto statement.
const InTotoPayloadType = "application/vnd.in-toto+json"

// ErrMessageSignatureUnsupported is returned by SignDigest for a key that
// cannot sign a precomputed digest in a form verifiers accept (Ed25519).
var ErrMessageSignatureUnsupported = errors.New("key type cannot sign a message digest")

// Builder makes Sigstore bundles (v0.3, no transparency-log entry) with a
// crypto.Signer: a key in a PKCS#11 token or a software key. It is safe for
// concurrent use when the underlying key is.
//
// The digest follows the key, as sigstore's algorithm registry does:
// ECDSA P-256 with SHA-256, P-384 with SHA-384, P-521 with SHA-512, RSA
// (PKCS#1 v1.5) with SHA-256. Ed25519 signs DSSE envelopes only: a pure
// Ed25519 message signature needs the whole artifact, which neither a
// streaming signer nor a digest-only verifier can supply.
type Builder struct {
	key  crypto.Signer
	pub  crypto.PublicKey
	hash crypto.Hash // 0 for Ed25519
	leaf *x509.Certificate
	hint string
	ver  tlog.Verifier // the log entries' verifier, its PEM made once
}

// NewBuilder returns a Builder for key. certs, when not empty, is the key's
// certificate chain, leaf first: the bundle then carries the leaf
// certificate as its verification material (bundle v0.3 holds one
// certificate; verifiers get intermediates from their trusted root). The
// leaf must certify key's public key. With no certificate the bundle carries
// a public key hint: the base64 SHA-256 of the DER SubjectPublicKeyInfo, as
// cosign writes.
func NewBuilder(key crypto.Signer, certs []*x509.Certificate) (*Builder, error) {
	pub := key.Public()
	s := &Builder{key: key, pub: pub}
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			s.hash = crypto.SHA256
		case elliptic.P384():
			s.hash = crypto.SHA384
		case elliptic.P521():
			s.hash = crypto.SHA512
		default:
			return nil, fmt.Errorf("unsupported ECDSA curve %s", k.Curve.Params().Name)
		}
	case *rsa.PublicKey:
		if bits := k.N.BitLen(); bits < 2048 || bits > 4096 {
			return nil, fmt.Errorf("unsupported RSA key size %d (want 2048 to 4096 bits)", bits)
		}
		s.hash = crypto.SHA256
	case ed25519.PublicKey:
		s.hash = 0
	default:
		return nil, fmt.Errorf("unsupported key type %T", pub)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encoding public key: %w", err)
	}
	sum := sha256.Sum256(der)
	s.hint = base64.StdEncoding.EncodeToString(sum[:])
	if len(certs) > 0 {
		leaf := certs[0]
		cpub, ok := leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
		if !ok || !cpub.Equal(pub) {
			return nil, fmt.Errorf("certificate %q does not certify the signing key", leaf.Subject.String())
		}
		s.leaf = leaf
	}
	// An error here is the entry body's to report, if a log asks for it.
	s.ver, _ = tlog.Verifier{PublicKey: s.pub, Certificate: s.leaf}.WithPEM()
	return s, nil
}

// PublicKey returns the signing key's public key.
func (s *Builder) PublicKey() crypto.PublicKey { return s.pub }

// Certificate returns the leaf certificate the bundles carry, or nil.
func (s *Builder) Certificate() *x509.Certificate { return s.leaf }

// Hint returns the public key hint written in key-only bundles.
func (s *Builder) Hint() string { return s.hint }

// Hash returns the hash function of message signatures (sign-blob), or 0
// when the key signs DSSE envelopes only.
func (s *Builder) Hash() crypto.Hash { return s.hash }

// Digest streams r through the Builder's message hash. Memory use does not
// depend on the length of r.
func (s *Builder) Digest(r io.Reader) ([]byte, error) {
	if s.hash == 0 {
		return nil, ErrMessageSignatureUnsupported
	}
	return hashStream(r, s.hash)
}

// hashStream hashes r in 1 MiB reads. (Not io.CopyBuffer: *os.File's
// WriterTo would bypass the buffer.)
func hashStream(r io.Reader, h crypto.Hash) ([]byte, error) {
	hh := h.New()
	bp := hashBuffers.Get().(*[]byte)
	defer hashBuffers.Put(bp)
	buf := *bp
	for {
		n, err := r.Read(buf)
		hh.Write(buf[:n])
		if err == io.EOF {
			return hh.Sum(nil), nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// hashBuffers keeps the 1 MiB read buffers of hashStream: a batch of many
// small files would otherwise allocate (and zero) 1 MiB per file.
var hashBuffers = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

// HashSHA256 streams r through SHA-256, the digest of in-toto subjects.
func HashSHA256(r io.Reader) ([]byte, error) { return hashStream(r, crypto.SHA256) }

// HashName returns the digest algorithm name ("sha256", "sha384",
// "sha512") of h, or "" for another hash.
func HashName(h crypto.Hash) string {
	switch h {
	case crypto.SHA256:
		return "sha256"
	case crypto.SHA384:
		return "sha384"
	case crypto.SHA512:
		return "sha512"
	}
	return ""
}

// Signed is one signature and its bundle.
type Signed struct {
	// Bundle is the Sigstore bundle v0.3 as protobuf JSON.
	Bundle []byte
	// Signature is the raw signature: for a message signature the bytes
	// cosign's .sig file holds base64-encoded.
	Signature []byte
	// Envelope is the DSSE envelope in cosign's .att form (JSON, payload and
	// signatures base64); nil for message signatures.
	Envelope []byte
	// LogIndex is the index of the signature's transparency-log entry,
	// set (with Logged) by a Logger that put the entry in Bundle.
	LogIndex int64
	Logged   bool

	// What a Logger needs to make the log entry, kept from signing.
	pb       *protobundle.Bundle
	digest   []byte // message signatures: the signed digest
	hash     crypto.Hash
	verifier tlog.Verifier
}

// SignDigest signs an artifact digest computed with Digest (Hash) and
// returns a bundle with a message signature.
func (s *Builder) SignDigest(digest []byte) (*Signed, error) {
	return s.signDigest(digest, true)
}

// signDigest is SignDigest; without encode the bundle is left to encode
// (Signed.encode), for a Logger that adds its entry first.
func (s *Builder) signDigest(digest []byte, encode bool) (*Signed, error) {
	if s.hash == 0 {
		return nil, fmt.Errorf("%w: Ed25519 keys sign attestations (DSSE) only", ErrMessageSignatureUnsupported)
	}
	if len(digest) != s.hash.Size() {
		return nil, fmt.Errorf("digest is %d bytes, want %d for %v", len(digest), s.hash.Size(), s.hash)
	}
	// The key's own error names the key (a token key says which, and why).
	sig, err := s.key.Sign(rand.Reader, digest, s.hash)
	if err != nil {
		return nil, err
	}
	if err := s.verifyDigest(digest, sig); err != nil {
		return nil, err
	}
	b := s.newBundle()
	b.Content = &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
		MessageDigest: &protocommon.HashOutput{Algorithm: protoHash(s.hash), Digest: digest},
		Signature:     sig,
	}}
	signed := &Signed{Signature: sig, pb: b, digest: digest, hash: s.hash, verifier: s.verifier()}
	if encode {
		if err := signed.encode(); err != nil {
			return nil, err
		}
	}
	return signed, nil
}

// encode sets Bundle from the protobuf bundle.
func (s *Signed) encode() error {
	out, err := marshalBundle(s.pb)
	if err != nil {
		return err
	}
	s.Bundle = out
	return nil
}

// SignDSSE signs payload in a DSSE envelope of payloadType and returns a
// bundle holding the envelope.
func (s *Builder) SignDSSE(payloadType string, payload []byte) (*Signed, error) {
	pae := PAE(payloadType, payload)
	var sig []byte
	var err error
	if s.hash == 0 {
		sig, err = s.key.Sign(rand.Reader, pae, crypto.Hash(0))
		if err == nil {
			if !ed25519.Verify(s.pub.(ed25519.PublicKey), pae, sig) {
				err = errors.New("the key produced a signature that does not verify with its public key")
			}
		}
	} else {
		h := s.hash.New()
		h.Write(pae)
		d := h.Sum(nil)
		sig, err = s.key.Sign(rand.Reader, d, s.hash)
		if err == nil {
			err = s.verifyDigest(d, sig)
		}
	}
	if err != nil {
		return nil, err
	}
	env := &protodsse.Envelope{
		Payload:     payload,
		PayloadType: payloadType,
		Signatures:  []*protodsse.Signature{{Sig: sig}},
	}
	b := s.newBundle()
	b.Content = &protobundle.Bundle_DsseEnvelope{DsseEnvelope: env}
	out, err := marshalBundle(b)
	if err != nil {
		return nil, err
	}
	// cosign attest-blob prints encoding/json of the protobuf envelope:
	// {"payload":B64,"payloadType":T,"signatures":[{"sig":B64}]}.
	envJSON, err := json.Marshal(dsseJSON{Payload: payload, PayloadType: payloadType, Signatures: []dsseSigJSON{{Sig: sig}}})
	if err != nil {
		return nil, err
	}
	return &Signed{Bundle: out, Signature: sig, Envelope: envJSON, pb: b, verifier: s.verifier()}, nil
}

// dsseJSON is the DSSE envelope as cosign writes it to a .att file.
type dsseJSON struct {
	Payload     []byte        `json:"payload,omitempty"`
	PayloadType string        `json:"payloadType,omitempty"`
	Signatures  []dsseSigJSON `json:"signatures,omitempty"`
}

type dsseSigJSON struct {
	Sig   []byte `json:"sig,omitempty"`
	KeyID string `json:"keyid,omitempty"`
}

// PAE is DSSE's pre-authentication encoding of a payload.
func PAE(payloadType string, payload []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "DSSEv1 %d %s %d ", len(payloadType), payloadType, len(payload))
	b.Write(payload)
	return b.Bytes()
}

// verifyDigest checks a fresh signature against the public key, so that a
// token that signs with a different key than it reports, or returns a
// damaged signature, fails here and not at the verifier.
func (s *Builder) verifyDigest(digest, sig []byte) error {
	ok := false
	switch k := s.pub.(type) {
	case *ecdsa.PublicKey:
		ok = ecdsa.VerifyASN1(k, digest, sig)
	case *rsa.PublicKey:
		ok = rsa.VerifyPKCS1v15(k, s.hash, digest, sig) == nil
	}
	if !ok {
		return errors.New("the key produced a signature that does not verify with its public key")
	}
	return nil
}

// verifier is what a log entry names as the signature's key: the
// certificate when the bundle carries one, else the public key.
func (s *Builder) verifier() tlog.Verifier {
	return s.ver
}

func (s *Builder) newBundle() *protobundle.Bundle {
	vm := &protobundle.VerificationMaterial{}
	if s.leaf != nil {
		vm.Content = &protobundle.VerificationMaterial_Certificate{
			Certificate: &protocommon.X509Certificate{RawBytes: s.leaf.Raw},
		}
	} else {
		vm.Content = &protobundle.VerificationMaterial_PublicKey{
			PublicKey: &protocommon.PublicKeyIdentifier{Hint: s.hint},
		}
	}
	return &protobundle.Bundle{MediaType: MediaTypeV03, VerificationMaterial: vm}
}

func marshalBundle(b *protobundle.Bundle) ([]byte, error) {
	out, err := protojson.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("encoding bundle: %w", err)
	}
	// protojson varies its whitespace on purpose; write one stable form.
	var buf bytes.Buffer
	if err := json.Compact(&buf, out); err != nil {
		return nil, fmt.Errorf("encoding bundle: %w", err)
	}
	return buf.Bytes(), nil
}

func protoHash(h crypto.Hash) protocommon.HashAlgorithm {
	switch h {
	case crypto.SHA256:
		return protocommon.HashAlgorithm_SHA2_256
	case crypto.SHA384:
		return protocommon.HashAlgorithm_SHA2_384
	case crypto.SHA512:
		return protocommon.HashAlgorithm_SHA2_512
	}
	return protocommon.HashAlgorithm_HASH_ALGORITHM_UNSPECIFIED
}
