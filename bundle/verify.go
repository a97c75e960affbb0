// Package bundle builds and verifies Sigstore bundles.
//
// Verification is sigstore-go's, run offline under an explicit policy:
// identity (certificate SAN and OIDC issuer, exact or regexp) or a public
// key, the artifact (streamed) or its digest, and the trusted material the
// caller loaded. The result is a typed Result that the command line renders
// as text or JSON; any defect of the evidence is an error wrapping
// ErrRejected.
package bundle

import (
	"crypto"
	"errors"
	"fmt"
	"time"

	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"
)

// ErrRejected is wrapped by every error that means the evidence does not
// hold: a malformed or unknown bundle, a bad signature, proof, identity or
// timestamp.
var ErrRejected = errors.New("rejected")

// Rejectf returns an error wrapping ErrRejected.
func Rejectf(format string, args ...any) error {
	return &rejection{fmt.Errorf(format, args...)}
}

type rejection struct{ err error }

func (r *rejection) Error() string   { return r.err.Error() }
func (r *rejection) Unwrap() []error { return []error{ErrRejected, r.err} }

// Policy says what a bundle must show to be accepted. The zero value
// accepts nothing: either Key or an identity must be set.
type Policy struct {
	// Key, when set, requires the bundle to be signed by this public key
	// (ECDSA, RSA or Ed25519) instead of a certificate.
	Key crypto.PublicKey

	// CertificateIdentity / CertificateIdentityRegexp match the signing
	// certificate's subject alternative name; CertificateOIDCIssuer /
	// CertificateOIDCIssuerRegexp its OIDC issuer extension.
	CertificateIdentity         string
	CertificateIdentityRegexp   string
	CertificateOIDCIssuer       string
	CertificateOIDCIssuerRegexp string

	// InsecureIgnoreTlogUnsafe accepts a key-signed bundle without any
	// transparency-log entry.
	InsecureIgnoreTlogUnsafe bool
}

// Artifact is what the bundle is checked against: a digest (Algorithm and
// Digest) computed by the caller while streaming, or given by the user.
type Artifact struct {
	Algorithm string // "sha256", "sha384", "sha512"
	Digest    []byte
}

// Verify checks b against trusted material and policy. now is the time used
// for checks that need a current time (key-signed bundles with no log
// entry); Result records it.
func Verify(b *sgbundle.Bundle, tm root.TrustedMaterial, p Policy, a Artifact, now time.Time) (*sgverify.VerificationResult, error) {
	var vopts []sgverify.VerifierOption
	var popts []sgverify.PolicyOption
	if p.Key != nil {
		v, err := signature.LoadDefaultVerifier(p.Key)
		if err != nil {
			return nil, fmt.Errorf("loading key: %w", err)
		}
		km := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
			return root.NewExpiringKey(v, time.Time{}, time.Time{}), nil
		})
		if tm != nil {
			tm = root.TrustedMaterialCollection{km, tm}
		} else {
			tm = km
		}
		popts = append(popts, sgverify.WithKey())
	} else {
		id, err := sgverify.NewShortCertificateIdentity(p.CertificateOIDCIssuer, p.CertificateOIDCIssuerRegexp,
			p.CertificateIdentity, p.CertificateIdentityRegexp)
		if err != nil {
			return nil, fmt.Errorf("identity policy: %w", err)
		}
		popts = append(popts, sgverify.WithCertificateIdentity(id))
		vopts = append(vopts, sgverify.WithSignedCertificateTimestamps(1))
	}
	ts, err := b.Timestamps()
	if err != nil {
		return nil, Rejectf("%v", err)
	}
	if len(tm.TimestampingAuthorities()) > 0 && len(ts) > 0 {
		vopts = append(vopts, sgverify.WithSignedTimestamps(1))
	}
	switch {
	case p.InsecureIgnoreTlogUnsafe && p.Key != nil && !b.HasInclusionProof() && !b.HasInclusionPromise():
		vopts = append(vopts, sgverify.WithCurrentTime())
	case len(tm.RekorLogs()) > 0:
		vopts = append(vopts, sgverify.WithTransparencyLog(1))
		if b.HasInclusionPromise() {
			vopts = append(vopts, sgverify.WithIntegratedTimestamps(1))
		}
	}
	v, err := sgverify.NewVerifier(tm, vopts...)
	if err != nil {
		return nil, Rejectf("%v", err)
	}
	res, err := v.Verify(b, sgverify.NewPolicy(sgverify.WithArtifactDigest(a.Algorithm, a.Digest), popts...))
	if err != nil {
		return nil, Rejectf("%v", err)
	}
	return res, nil
}
