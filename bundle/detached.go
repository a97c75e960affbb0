package bundle

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// NoTlogWarning is carried by a Result for a detached .sig or .att
// verified without its log entry (InsecureIgnoreTlogUnsafe): such a file
// holds a signature and nothing else.
const NoTlogWarning = "no transparency-log evidence was checked: a detached signature carries none"

// SignatureDigestAlgorithms returns the digest a cosign detached signature
// by key is made over, as cosign (sigstore's default algorithm for the key)
// signs blobs: SHA-256 for ECDSA P-256 and RSA, SHA-384 for P-384, SHA-512
// for P-521 and for Ed25519 (cosign signs blobs with Ed25519ph).
func SignatureDigestAlgorithms(key crypto.PublicKey) []string {
	switch k := key.(type) {
	case ed25519.PublicKey:
		return []string{"sha512"}
	case *ecdsa.PublicKey:
		switch k.Curve.Params().BitSize {
		case 384:
			return []string{"sha384"}
		case 521:
			return []string{"sha512"}
		}
	}
	return []string{"sha256"}
}

// VerifySignatureFile verifies cosign's detached signature (the base64
// text `cosign sign-blob --key` writes) over the artifact a with the
// policy's key. a needs the digest of SignatureDigestAlgorithms.
func (v *Verifier) VerifySignatureFile(sig []byte, evidence string, a Artifact) (*Result, error) {
	return v.verifySignatureFile(sig, evidence, nil, a)
}

// verifySignatureFile is VerifySignatureFile, with the log entry taken
// from lb when it is not nil.
func (v *Verifier) verifySignatureFile(sig []byte, evidence string, lb *LogBundle, a Artifact) (*Result, error) {
	r := v.newResult("signature", evidence, a)
	if v.policy.Key == nil {
		return r.reject(ReasonKeyRequired, errors.New("a detached signature can only be verified with a key"))
	}
	if v.policy.PredicateType != "" {
		return r.reject(ReasonNotAttestation, errors.New("not an attestation: a detached signature holds no in-toto statement"))
	}
	sig = bytes.TrimSpace(sig)
	if len(sig) == 0 {
		return r.reject(ReasonEvidenceEmpty, fmt.Errorf("signature file %q is empty", evidence))
	}
	raw, err := base64.StdEncoding.DecodeString(string(sig))
	if err != nil {
		return r.reject(ReasonMalformedSignature, fmt.Errorf("signature %q is not base64: %v", evidence, err))
	}
	alg := SignatureDigestAlgorithms(v.policy.Key)[0]
	d, ok := a.digest(alg)
	if !ok {
		return r.reject(ReasonArtifactFormMismatch, &ArtifactFormError{"the signature is over", alg, a.Name})
	}
	if err := verifyDigestSignature(v.policy.Key, alg, d, raw); err != nil {
		return r.reject(ReasonSignatureInvalid, err)
	}
	if lb != nil {
		return v.bundleVouches(r, lb, sameSignature(lb, raw), a)
	}
	body, err := v.hashedRekordBody(raw, alg, d)
	return v.detachedVerified(r, body, err)
}

// keyVerified marks a detached signature or attestation verified: on the
// key alone, with no log evidence (said only now: before a rejection it
// concerns nothing).
func (v *Verifier) keyVerified(r *Result) {
	r.Warnings = append(r.Warnings, NoTlogWarning)
	r.Verified = true
	r.Status = "verified"
	r.Signer = &SignedBy{KeyFingerprint: v.keyFP}
	r.Trust.Source = "--key"
}

// verifyDigestSignature checks sig over a precomputed digest.
func verifyDigestSignature(key crypto.PublicKey, alg string, digest, sig []byte) error {
	bad := errors.New("the signature does not match this artifact under the given key")
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(k, digest, sig) {
			return bad
		}
	case *rsa.PublicKey:
		h := crypto.SHA256
		if alg != "sha256" {
			return Rejectf(ReasonUnsupportedAlgorithm, "unsupported digest %s for RSA", alg)
		}
		if rsa.VerifyPKCS1v15(k, h, digest, sig) != nil &&
			rsa.VerifyPSS(k, h, digest, sig, nil) != nil {
			return bad
		}
	case ed25519.PublicKey:
		if alg != "sha512" {
			return Rejectf(ReasonUnsupportedAlgorithm, "unsupported digest %s for Ed25519", alg)
		}
		if ed25519.VerifyWithOptions(k, digest, sig, &ed25519.Options{Hash: crypto.SHA512}) != nil {
			return bad
		}
	default:
		return Rejectf(ReasonUnsupportedAlgorithm, "unsupported key type %T", key)
	}
	return nil
}

// verifyMessageSignature checks sig over a whole (small, in-memory)
// message, as DSSE signs its pre-authentication encoding.
func verifyMessageSignature(key crypto.PublicKey, msg, sig []byte) error {
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		var d []byte
		switch k.Curve.Params().BitSize {
		case 384:
			s := sha512.Sum384(msg)
			d = s[:]
		case 521:
			s := sha512.Sum512(msg)
			d = s[:]
		default:
			s := sha256.Sum256(msg)
			d = s[:]
		}
		if ecdsa.VerifyASN1(k, d, sig) {
			return nil
		}
		// cosign signs with SHA-256 whatever the curve.
		s := sha256.Sum256(msg)
		if ecdsa.VerifyASN1(k, s[:], sig) {
			return nil
		}
	case *rsa.PublicKey:
		s := sha256.Sum256(msg)
		if rsa.VerifyPKCS1v15(k, crypto.SHA256, s[:], sig) == nil || rsa.VerifyPSS(k, crypto.SHA256, s[:], sig, nil) == nil {
			return nil
		}
	case ed25519.PublicKey:
		if ed25519.Verify(k, msg, sig) {
			return nil
		}
		s := sha512.Sum512(msg)
		if ed25519.VerifyWithOptions(k, s[:], sig, &ed25519.Options{Hash: crypto.SHA512}) == nil {
			return nil
		}
	default:
		return Rejectf(ReasonUnsupportedAlgorithm, "unsupported key type %T", key)
	}
	return errors.New("the signature does not match this envelope under the given key")
}

// Envelope is a DSSE envelope as cosign writes it.
type Envelope struct {
	PayloadType string `json:"payloadType"`
	Payload     string `json:"payload"`
	Signatures  []struct {
		KeyID string `json:"keyid"`
		Sig   string `json:"sig"`
	} `json:"signatures"`
}

// attStatement is the part of an in-toto statement airlock checks.
type attStatement struct {
	Type          string `json:"_type"`
	PredicateType string `json:"predicateType"`
	Subject       []struct {
		Name   string            `json:"name"`
		Digest map[string]string `json:"digest"`
	} `json:"subject"`
}

// ParseAttestation parses cosign's bare DSSE attestation: the envelope's
// JSON, or that JSON base64-encoded. It returns the envelope, the decoded
// payload and the statement. Any defect is a rejection.
func ParseAttestation(data []byte) (*Envelope, []byte, *attStatement, error) {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] != '{' {
		dec, err := base64.StdEncoding.DecodeString(string(data))
		if err != nil {
			return nil, nil, nil, Rejectf(ReasonMalformedSignature, "not a DSSE envelope: neither JSON nor base64")
		}
		data = bytes.TrimSpace(dec)
	}
	var env Envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, nil, nil, Rejectf(ReasonMalformedSignature, "not a DSSE envelope: %s", cleanErr(err))
	}
	if env.PayloadType == "" || env.Payload == "" || len(env.Signatures) == 0 {
		return nil, nil, nil, Rejectf(ReasonMalformedSignature, "not a DSSE envelope: payloadType, payload and signatures are required")
	}
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		if payload, err = base64.URLEncoding.DecodeString(env.Payload); err != nil {
			return nil, nil, nil, Rejectf(ReasonMalformedSignature, "DSSE payload is not base64")
		}
	}
	if env.PayloadType != InTotoPayloadType {
		return &env, payload, nil, Rejectf(ReasonMalformedSignature, "DSSE payload type is %q, want %q", env.PayloadType, InTotoPayloadType)
	}
	var st attStatement
	if err := json.Unmarshal(payload, &st); err != nil {
		return &env, payload, nil, Rejectf(ReasonMalformedSignature, "DSSE payload is not an in-toto statement: %s", cleanErr(err))
	}
	return &env, payload, &st, nil
}

// AttestationDigestAlgorithms returns the algorithms to hash the artifact
// with for the statement's subjects (sha256 preferred).
func AttestationDigestAlgorithms(st *attStatement) []string {
	algs := subjectAlgorithms(st)
	if len(algs) == 0 || contains(algs, "sha256") {
		return []string{"sha256"}
	}
	return algs[:1]
}

// VerifyAttestationFile verifies cosign's bare DSSE attestation (.att)
// with the policy's key: a signature over the envelope, an in-toto
// statement whose subject has the artifact's digest, and, when the policy
// names one, the predicate type.
func (v *Verifier) VerifyAttestationFile(data []byte, evidence string, a Artifact) (*Result, error) {
	return v.verifyAttestationFile(data, evidence, nil, a)
}

// verifyAttestationFile is VerifyAttestationFile, with the log entry
// taken from lb when it is not nil.
func (v *Verifier) verifyAttestationFile(data []byte, evidence string, lb *LogBundle, a Artifact) (*Result, error) {
	r := v.newResult("attestation", evidence, a)
	if v.policy.Key == nil {
		return r.reject(ReasonKeyRequired, errors.New("a detached attestation can only be verified with a key"))
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return r.reject(ReasonEvidenceEmpty, fmt.Errorf("signature file %q is empty", evidence))
	}
	env, payload, st, err := ParseAttestation(data)
	if err != nil {
		return r.reject(ReasonMalformedSignature, err)
	}
	msg := PAE(env.PayloadType, payload)
	var sigErr error
	verified := false
	var goodSig []byte
	for _, s := range env.Signatures {
		sig, err := base64.StdEncoding.DecodeString(s.Sig)
		if err != nil {
			sigErr = Rejectf(ReasonMalformedSignature, "DSSE signature is not base64")
			continue
		}
		if sigErr = verifyMessageSignature(v.policy.Key, msg, sig); sigErr == nil {
			verified, goodSig = true, sig
			break
		}
	}
	if !verified {
		return r.reject(ReasonSignatureInvalid, fmt.Errorf("DSSE envelope: %w", sigErr))
	}
	if algs := subjectAlgorithms(st); len(algs) == 0 {
		return r.reject(ReasonDigestMismatch, errors.New("no subject of the statement has a sha256, sha384 or sha512 digest"))
	} else if !slices.ContainsFunc(algs, func(alg string) bool { _, ok := a.digest(alg); return ok }) {
		// Only an ALG:HEX argument can get here: a file is hashed with
		// the subjects' algorithm. Said as for bundles and .sig, not as a
		// digest mismatch: the artifact may well be the subject.
		return r.reject(ReasonArtifactFormMismatch, &ArtifactFormError{"the attestation's subjects are over", algs[0], a.Name})
	}
	if !subjectMatches(st, a) {
		return r.reject(ReasonDigestMismatch, fmt.Errorf("no subject of the statement has the artifact's digest"))
	}
	if st.PredicateType == "" {
		// As for bundles: an empty predicate type matches no type.
		return r.reject(ReasonPredicateTypeMismatch, &PredicateTypeError{Want: v.policy.PredicateType})
	}
	if v.policy.PredicateType != "" && st.PredicateType != v.policy.PredicateType {
		return r.reject(ReasonPredicateTypeMismatch, &PredicateTypeError{Got: st.PredicateType, Want: v.policy.PredicateType})
	}
	r.PredicateType = st.PredicateType
	if lb != nil {
		return v.bundleVouches(r, lb, sameEnvelope(lb, env, payload), a)
	}
	body, err := v.dsseBody(data, payload, goodSig)
	return v.detachedVerified(r, body, err)
}

// subjectAlgorithms lists the supported digest algorithms the statement's
// subjects are named by, in a fixed order (sha256, sha384, sha512).
func subjectAlgorithms(st *attStatement) []string {
	var algs []string
	if st == nil {
		return nil
	}
	for _, alg := range supportedDigests {
		for _, s := range st.Subject {
			if _, ok := s.Digest[alg]; ok {
				algs = append(algs, alg)
				break
			}
		}
	}
	return algs
}

func subjectMatches(st *attStatement, a Artifact) bool {
	for _, s := range st.Subject {
		for alg, want := range s.Digest {
			if got, ok := a.digest(alg); ok && hex.EncodeToString(got) == want {
				return true
			}
		}
	}
	return false
}
