package rekorv2

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"strconv"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	rekortilespb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/options"
	"google.golang.org/protobuf/proto"
)

// Kind and APIVersion name the only entry type rekor-tiles v2.3.0 logs.
const (
	Kind       = "hashedrekord"
	APIVersion = "0.0.2"
)

// ErrRequest is matched by every error about a Request that cannot be
// built (a key the log cannot take, a digest of the wrong length).
var ErrRequest = errors.New("rekor v2 request")

// Verifier is what the log records to verify a signature: the certificate
// when there is one, else the public key.
type Verifier struct {
	// Certificate, when set, is recorded (DER) and its key is used;
	// PublicKey is then ignored.
	Certificate *x509.Certificate
	// PublicKey is recorded as a PKIX DER public key.
	PublicKey crypto.PublicKey
}

// Request is one hashedrekord v0.0.2 entry to submit. Build it with
// NewHashedRekord or NewDSSE; it is not changed by Submit.
type Request struct {
	hr *rekortilespb.HashedRekordRequestV002
	// alg is the digest algorithm the log records for the entry.
	alg protocommon.HashAlgorithm
}

// NewHashedRekord returns the request for a message signature: sig over
// digest, which must be the hash the key's algorithm signs with (SHA-256
// for ECDSA P-256 and Ed25519ph, SHA-384 for P-384, ...).
func NewHashedRekord(digest, sig []byte, v Verifier) (*Request, error) {
	pv, hash, proto, err := verifierProto(v)
	if err != nil {
		return nil, err
	}
	if len(digest) != hash.Size() {
		return nil, fmt.Errorf("%w: digest is %d bytes, the %s of a %s key is %d", ErrRequest, len(digest), hash, pv.KeyDetails, hash.Size())
	}
	if len(sig) == 0 {
		return nil, fmt.Errorf("%w: empty signature", ErrRequest)
	}
	return &Request{
		hr: &rekortilespb.HashedRekordRequestV002{
			Digest:    append([]byte(nil), digest...),
			Signature: &rekortilespb.Signature{Content: append([]byte(nil), sig...), Verifier: pv},
		},
		alg: proto,
	}, nil
}

// NewDSSE returns the request for a DSSE envelope signature: sig over the
// envelope's pre-authentication encoding of payloadType and payload. The
// log records it as a hashedrekord of that encoding's digest, as
// sigstore-go does.
func NewDSSE(payloadType string, payload, sig []byte, v Verifier) (*Request, error) {
	_, hash, _, err := verifierProto(v)
	if err != nil {
		return nil, err
	}
	h := hash.New()
	h.Write(PAE(payloadType, payload))
	return NewHashedRekord(h.Sum(nil), sig, v)
}

// PAE is DSSE's pre-authentication encoding, what an envelope signature
// signs.
func PAE(payloadType string, payload []byte) []byte {
	b := make([]byte, 0, 32+len(payloadType)+len(payload))
	b = append(b, "DSSEv1 "...)
	b = strconv.AppendInt(b, int64(len(payloadType)), 10)
	b = append(b, ' ')
	b = append(b, payloadType...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(len(payload)), 10)
	b = append(b, ' ')
	return append(b, payload...)
}

// Digest returns the digest the entry records.
func (r *Request) Digest() []byte { return append([]byte(nil), r.hr.GetDigest()...) }

// Signature returns the signature the entry records.
func (r *Request) Signature() []byte {
	return append([]byte(nil), r.hr.GetSignature().GetContent()...)
}

// KeyDetails returns the signature algorithm the entry records.
func (r *Request) KeyDetails() protocommon.PublicKeyDetails {
	return r.hr.GetSignature().GetVerifier().GetKeyDetails()
}

// verifierProto returns the log's form of v, the hash its algorithm signs
// and the matching protobuf hash algorithm.
func verifierProto(v Verifier) (*rekortilespb.Verifier, crypto.Hash, protocommon.HashAlgorithm, error) {
	key := v.PublicKey
	pv := &rekortilespb.Verifier{}
	if v.Certificate != nil {
		key = v.Certificate.PublicKey
		pv.Verifier = &rekortilespb.Verifier_X509Certificate{
			X509Certificate: &protocommon.X509Certificate{RawBytes: append([]byte(nil), v.Certificate.Raw...)},
		}
	} else {
		if key == nil {
			return nil, 0, 0, fmt.Errorf("%w: no public key or certificate", ErrRequest)
		}
		der, err := x509.MarshalPKIXPublicKey(key)
		if err != nil {
			return nil, 0, 0, fmt.Errorf("%w: %v", ErrRequest, err)
		}
		pv.Verifier = &rekortilespb.Verifier_PublicKey{PublicKey: &rekortilespb.PublicKey{RawBytes: der}}
	}
	// Ed25519 must be the prehash variant: a hashedrekord logs a digest.
	alg, err := signature.GetDefaultAlgorithmDetails(key, options.WithED25519ph())
	if err != nil {
		return nil, 0, 0, fmt.Errorf("%w: %v", ErrRequest, err)
	}
	if alg.GetHashType() == crypto.Hash(0) {
		return nil, 0, 0, fmt.Errorf("%w: %s signs no digest", ErrRequest, alg.GetSignatureAlgorithm())
	}
	pv.KeyDetails = alg.GetSignatureAlgorithm()
	return pv, alg.GetHashType(), alg.GetProtoHashType(), nil
}

// clone returns a deep copy of the request's message.
func (r *Request) clone() *rekortilespb.HashedRekordRequestV002 {
	return proto.Clone(r.hr).(*rekortilespb.HashedRekordRequestV002)
}
