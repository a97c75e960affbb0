package tlog

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
)

// ErrKeyType is returned for a log key that is not ECDSA P-256.
var ErrKeyType = errors.New("log key is not ECDSA P-256")

// ErrBadSignature is returned when a SET or checkpoint signature does not
// verify with the log key.
var ErrBadSignature = errors.New("log signature does not verify")

// LogKey is a log's public key with the identifiers derived from it.
type LogKey struct {
	Public *ecdsa.PublicKey
	// DER is the PKIX SubjectPublicKeyInfo.
	DER []byte
	// ID is the log ID: the SHA-256 of DER, as Rekor and trusted roots
	// name a log (logId.keyId).
	ID [32]byte
	// Hint is the checkpoint signature's key hint: the first 4 bytes of ID.
	Hint [4]byte
}

// NewLogKey checks that pub is an ECDSA P-256 key and derives its ID.
func NewLogKey(pub crypto.PublicKey) (*LogKey, error) {
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok || k.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w (%T)", ErrKeyType, pub)
	}
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		return nil, fmt.Errorf("log key: %w", err)
	}
	lk := &LogKey{Public: k, DER: der, ID: sha256.Sum256(der)}
	copy(lk.Hint[:], lk.ID[:4])
	return lk, nil
}

// ParseLogKey parses a PKIX DER log key.
func ParseLogKey(der []byte) (*LogKey, error) {
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("log key: %w", err)
	}
	return NewLogKey(pub)
}

// SETPayload returns the bytes a signed entry timestamp signs: the RFC 8785
// canonical JSON of {"body","integratedTime","logID","logIndex"}, body in
// standard base64 and logID in lower-case hex, as Rekor v1 signs and
// sigstore-go's VerifySET rebuilds it.
func SETPayload(body []byte, integratedTime int64, logID [32]byte, logIndex int64) []byte {
	b := make([]byte, 0, base64.StdEncoding.EncodedLen(len(body))+140)
	b = append(b, `{"body":"`...)
	b = base64.StdEncoding.AppendEncode(b, body)
	b = append(b, `","integratedTime":`...)
	b = strconv.AppendInt(b, integratedTime, 10)
	b = append(b, `,"logID":"`...)
	b = hex.AppendEncode(b, logID[:])
	b = append(b, `","logIndex":`...)
	b = strconv.AppendInt(b, logIndex, 10)
	b = append(b, '}')
	return b
}

// SignSET signs an entry timestamp with the log key: an ASN.1 ECDSA
// signature over the SHA-256 of SETPayload.
func SignSET(signer crypto.Signer, body []byte, integratedTime int64, logID [32]byte, logIndex int64) ([]byte, error) {
	d := sha256.Sum256(SETPayload(body, integratedTime, logID, logIndex))
	sig, err := signer.Sign(rand.Reader, d[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("signing entry timestamp: %w", err)
	}
	return sig, nil
}

// VerifySET checks a signed entry timestamp against the log key.
func VerifySET(key *LogKey, set, body []byte, integratedTime int64, logIndex int64) error {
	d := sha256.Sum256(SETPayload(body, integratedTime, key.ID, logIndex))
	if !ecdsa.VerifyASN1(key.Public, d[:], set) {
		return fmt.Errorf("%w: signed entry timestamp of entry %d", ErrBadSignature, logIndex)
	}
	return nil
}
