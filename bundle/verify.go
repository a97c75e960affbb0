// Package bundle builds and verifies Sigstore bundles.
//
// Verification is sigstore-go's, run offline under an explicit policy:
// identity (certificate SAN and OIDC issuer, exact or regexp) or a public
// key, the artifact's digest (computed by streaming, see DigestFile) and
// the trusted material the caller loaded. Cosign's detached signatures
// (.sig) and bare DSSE attestations (.att) are verified with a key; they
// carry no log evidence, and the Result says so in a warning.
//
// The result is a typed Result that the command line renders as text or
// JSON; any defect of the evidence is a *RejectionError wrapping
// ErrRejected, with a Reason code (also in Result.Reason) decided where the
// rejection is made, never from an error's text (see classify). A
// Verifier is safe for concurrent use and is meant to be built once for a
// batch: it builds each sigstore-go verifier once and caches certificate
// chain results.
package bundle

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/options"

	"github.com/airlock-project/airlock/tlog"
)

// ErrRejected is wrapped by every error that means the evidence does not
// hold: a malformed or unknown bundle, a bad signature, proof, identity or
// timestamp.
var ErrRejected = errors.New("rejected")

// Policy says what evidence must show to be accepted. The zero value
// accepts nothing: either Key or an identity must be set.
type Policy struct {
	// Key, when set, requires the evidence to be signed by this public key
	// (ECDSA, RSA or Ed25519) instead of a certificate.
	Key crypto.PublicKey

	// CertificateIdentity / CertificateIdentityRegexp match the signing
	// certificate's subject alternative name; CertificateOIDCIssuer /
	// CertificateOIDCIssuerRegexp its OIDC issuer extension.
	CertificateIdentity         string
	CertificateIdentityRegexp   string
	CertificateOIDCIssuer       string
	CertificateOIDCIssuerRegexp string

	// PredicateType, when set, requires an in-toto statement (DSSE) with
	// this predicate type URI (see PredicateType for cosign's names).
	// Empty accepts statements of any type (and, unless Attestation is
	// set, message signatures).
	PredicateType string

	// Attestation requires the evidence to be an in-toto statement signed
	// in a DSSE envelope, of any predicate type unless PredicateType is
	// set: a bundle holding a message signature is rejected. It is what
	// verify-attestation asks for. A statement with an empty predicate
	// type is rejected whenever Attestation or PredicateType is set.
	Attestation bool

	// Signature requires the evidence to be a signature of the artifact
	// (a message signature): a bundle holding a DSSE envelope, an
	// attestation about the artifact, is rejected (*NotSignatureError). It
	// is what verify-blob asks for. The zero value accepts both, as cosign
	// and sigstore-go do.
	Signature bool

	// InsecureIgnoreTlogUnsafe accepts a key-signed bundle without any
	// transparency-log entry. Results carry a warning. With
	// UseSignedTimestamps it also accepts a certificate-signed bundle
	// without any log entry when an RFC 3161 timestamp of a timestamping
	// authority of the trust source verifies (GitHub's private instance
	// makes such bundles); cosign's --insecure-ignore-tlog
	// --use-signed-timestamps.
	InsecureIgnoreTlogUnsafe bool

	// UseSignedTimestamps: see InsecureIgnoreTlogUnsafe. Alone it changes
	// nothing: RFC 3161 timestamps are always checked when present.
	UseSignedTimestamps bool

	// InsecureIgnoreSCTUnsafe does not require the certificate's signed
	// certificate timestamp (a private Fulcio without a CT log). Results
	// carry a warning.
	InsecureIgnoreSCTUnsafe bool
}

// TrustSource is one named set of trusted material.
type TrustSource struct {
	Name     string
	Material root.TrustedMaterial
	// Warnings concern the results this source vouches for (its trust is
	// stale, say); a result another source vouched for does not carry them.
	Warnings []string
}

// Trust is what verification runs against. Sources are tried in order;
// the first under which the evidence verifies is named in the Result.
type Trust struct {
	Sources []TrustSource
	// From says where the caller loaded trust from; copied to the Result.
	From string
	// Time is the reference time trust was evaluated at; copied to the Result.
	Time time.Time
	// Entries finds the log entries of detached signatures (the site
	// log); nil when there is no log to look in.
	Entries EntryFinder
	// Warnings weaken what this trust vouches for (stale repositories, say).
	// A Result carries them only when the trust played a part: a bundle
	// verified on the key alone, or rejected before any trust was
	// consulted, does not.
	Warnings []string
}

// Options tune a Verifier. The zero value is a plain verifier.
type Options struct {
	// CacheCertificates caches certificate-chain results across
	// verifications: identical leaf certificates are path-validated once
	// (validity windows are still checked at every verification time), and
	// a CA's intermediate is checked against its root once. Worth it for
	// batches; a single verification gains nothing.
	CacheCertificates bool

	// Mirror, when set, checks the checkpoint of every log entry with an
	// inclusion proof against the mirrored history of its log, after
	// sigstore-go has verified the bundle (so the checkpoint's signature
	// by the log is verified). A checkpoint that contradicts the mirror is
	// rejected (ReasonSplitView); one the mirror cannot vouch for (newer
	// than the mirror, older with no proof, no mirror of its log) is a
	// warning, or a rejection under RequireMirrored. nil: no mirror is
	// consulted (trust from a trusted_root.json file alone).
	Mirror MirrorChecker
	// RequireMirrored rejects (ReasonNotMirrored) a checkpoint the mirror
	// does not vouch for, instead of warning. Without Mirror it is
	// ignored.
	RequireMirrored bool
	// Witness, when set with Mirror, requires each checked checkpoint to
	// carry a quorum of witness cosignatures under this policy, itself or
	// through the mirrored checkpoint it was matched or proved against
	// (ReasonWitnessQuorum otherwise). nil: cosignatures are not required.
	Witness *tlog.WitnessPolicy
	// WitnessExempt lists checkpoint origins the witness policy does not
	// apply to: the site log, which is its own mirror and has no
	// witnesses.
	WitnessExempt []string
}

// Verifier verifies evidence under one Trust and Policy. It is safe for
// concurrent use.
type Verifier struct {
	trust    Trust
	policy   Policy
	sources  []root.TrustedMaterial // per trust source, with the key prepended
	plain    []root.TrustedMaterial // the same without caching wrappers
	identity *sgverify.CertificateIdentity
	keyFP    string
	cached   bool // sources wrap plain with certificate caches
	opts     Options

	mu        sync.Mutex
	verifiers map[verifierKey]*sgverify.Verifier
}

type verifierKey struct {
	source              int
	plain               bool
	tsa, tlog, set, now bool
}

// NewVerifier checks the policy and prepares trusted material. Its errors
// are usage errors (no key or identity, a bad regexp), not rejections.
func NewVerifier(t Trust, p Policy, o Options) (*Verifier, error) {
	v := &Verifier{trust: t, policy: p, cached: o.CacheCertificates, opts: o, verifiers: map[verifierKey]*sgverify.Verifier{}}
	hasID := p.CertificateIdentity != "" || p.CertificateIdentityRegexp != ""
	hasIss := p.CertificateOIDCIssuer != "" || p.CertificateOIDCIssuerRegexp != ""
	switch {
	case p.Key != nil && (hasID || hasIss):
		return nil, errors.New("a key and a certificate identity cannot both be required")
	case p.Key == nil && !(hasID && hasIss):
		return nil, errors.New("either a key or a certificate identity and OIDC issuer is required")
	}
	var keyMaterial root.TrustedMaterial
	if p.Key != nil {
		kv, err := loadKeyVerifier(p.Key)
		if err != nil {
			return nil, Rejectf(ReasonKeyInvalid, "unusable public key: %v", err)
		}
		keyMaterial = root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
			return root.NewExpiringKey(kv, time.Time{}, time.Time{}), nil
		})
		der, err := x509.MarshalPKIXPublicKey(p.Key)
		if err != nil {
			return nil, Rejectf(ReasonKeyInvalid, "unusable public key: %v", err)
		}
		sum := sha256.Sum256(der)
		v.keyFP = "sha256:" + hex.EncodeToString(sum[:])
	} else {
		id, err := sgverify.NewShortCertificateIdentity(p.CertificateOIDCIssuer, p.CertificateOIDCIssuerRegexp,
			p.CertificateIdentity, p.CertificateIdentityRegexp)
		if err != nil {
			return nil, fmt.Errorf("identity policy: %w", err)
		}
		v.identity = &id
	}
	if len(t.Sources) == 0 {
		return nil, errors.New("no trusted material")
	}
	for _, s := range t.Sources {
		tm := s.Material
		switch {
		case keyMaterial != nil && tm == nil:
			tm = keyMaterial
		case keyMaterial != nil:
			tm = root.TrustedMaterialCollection{keyMaterial, tm}
		case tm == nil:
			return nil, fmt.Errorf("trust source %q has no trusted material", s.Name)
		}
		v.plain = append(v.plain, tm)
		if o.CacheCertificates {
			tm = newCachingMaterial(tm)
		}
		v.sources = append(v.sources, tm)
	}
	return v, nil
}

// loadKeyVerifier returns the verifier cosign and sigstore-go use for key:
// ECDSA with the curve's hash, RSA PKCS#1 v1.5 with SHA-256, Ed25519ph
// for Ed25519 (cosign's default for blobs, and the only Ed25519 form that
// verifies a digest).
func loadKeyVerifier(key crypto.PublicKey) (signature.Verifier, error) {
	if _, ok := key.(ed25519.PublicKey); ok {
		ph, err := signature.LoadVerifierWithOpts(key, options.WithED25519ph())
		if err != nil {
			return nil, err
		}
		pure, err := signature.LoadDefaultVerifier(key)
		if err != nil {
			return nil, err
		}
		return &ed25519Verifier{ph: ph, pure: pure}, nil
	}
	return signature.LoadDefaultVerifier(key)
}

// ed25519Verifier accepts Ed25519ph (what cosign signs with, and the only
// form that verifies a digest) and, for whole messages such as a DSSE
// envelope's pre-authentication encoding, pure Ed25519.
type ed25519Verifier struct{ ph, pure signature.Verifier }

func (e *ed25519Verifier) PublicKey(opts ...signature.PublicKeyOption) (crypto.PublicKey, error) {
	return e.ph.PublicKey(opts...)
}

func (e *ed25519Verifier) VerifySignature(sig, msg io.Reader, opts ...signature.VerifyOption) error {
	// A digest given (a message signature over an artifact: sigstore-go
	// passes it with an empty message) is Ed25519ph's alone. Pure Ed25519
	// ignores options: falling back to it would check the signature over
	// the empty message and never the digest, so one signature of "" would
	// verify any artifact.
	if msg == nil || hasDigest(opts) {
		return e.ph.VerifySignature(sig, msg, opts...)
	}
	s, err := ReadLimited(sig, MaxSignatureSize, "signature")
	if err != nil {
		return err
	}
	m, err := ReadLimited(msg, MaxBundleSize, "signed message")
	if err != nil {
		return err
	}
	if err := e.ph.VerifySignature(bytes.NewReader(s), bytes.NewReader(m), opts...); err == nil {
		return nil
	}
	return e.pure.VerifySignature(bytes.NewReader(s), bytes.NewReader(m), opts...)
}

// hasDigest reports whether opts carry a precomputed digest
// (options.WithDigest).
func hasDigest(opts []signature.VerifyOption) bool {
	var d []byte
	for _, o := range opts {
		o.ApplyDigest(&d)
	}
	return d != nil
}

// Key returns the policy's public key, nil for a certificate policy.
func (v *Verifier) Key() crypto.PublicKey { return v.policy.Key }

func (v *Verifier) sgVerifier(k verifierKey) (*sgverify.Verifier, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if sv, ok := v.verifiers[k]; ok {
		return sv, nil
	}
	var opts []sgverify.VerifierOption
	if v.policy.Key == nil && !v.policy.InsecureIgnoreSCTUnsafe {
		opts = append(opts, sgverify.WithSignedCertificateTimestamps(1))
	}
	if k.tsa {
		opts = append(opts, sgverify.WithSignedTimestamps(1))
	}
	if k.now {
		opts = append(opts, sgverify.WithCurrentTime())
	}
	if k.tlog {
		opts = append(opts, sgverify.WithTransparencyLog(1))
	}
	if k.set {
		opts = append(opts, sgverify.WithIntegratedTimestamps(1))
	}
	tm := v.sources[k.source]
	if k.plain {
		tm = v.plain[k.source]
	}
	sv, err := sgverify.NewVerifier(tm, opts...)
	if err != nil {
		return nil, err
	}
	v.verifiers[k] = sv
	return sv, nil
}

// newResult starts a Result with what is known before any check.
func (v *Verifier) newResult(kind, evidence string, a Artifact) *Result {
	r := &Result{
		Kind:       kind,
		Evidence:   evidence,
		Artifact:   ArtifactResult{Name: a.Name, Digests: a.hexDigests()},
		LogEntries: []LogEntry{},
		Times:      []TimeUsed{},
		Warnings:   []string{},
		Trust:      TrustResult{From: v.trust.From},
	}
	if !v.trust.Time.IsZero() {
		t := v.trust.Time.UTC()
		r.Trust.Time = &t
	}
	return r
}

// reject records err as the Result's reason and returns it as a
// rejection. An err without a reason is reason.
func (r *Result) reject(reason Reason, err error) (*Result, error) {
	r.Verified = false
	r.Status = "rejected"
	r.Signer = nil
	if ReasonOf(err) == "" {
		err = &RejectionError{Reason: reason, Err: err}
	}
	if msg := oneLineReason(err.Error()); msg != err.Error() {
		err = &reworded{msg, err}
	}
	r.Reason = ReasonOf(err)
	r.Message = err.Error()
	return r, err
}

// hashList matches a 32-byte hash printed as a Go byte slice ("[78 20 ...]"),
// as transparency-dev/merkle's RootMismatchError prints its roots.
var hashList = regexp.MustCompile(`\[(\d{1,3}(?: \d{1,3}){31})\]`)

// oneLineReason makes a rejection's reason one line: libraries' messages
// can span lines (merkle's root mismatch puts each root on its own line, as
// decimal bytes); hashes are shown in hex, as everywhere else.
func oneLineReason(msg string) string {
	msg = hashList.ReplaceAllStringFunc(msg, func(m string) string {
		var b []byte
		for _, f := range strings.Fields(strings.Trim(m, "[]")) {
			n, err := strconv.Atoi(f)
			if err != nil || n > 255 {
				return m
			}
			b = append(b, byte(n))
		}
		return hex.EncodeToString(b)
	})
	return strings.Join(strings.Fields(msg), " ")
}

// reworded is err with a clearer message; errors.Is and As still see err.
type reworded struct {
	msg string
	err error
}

func (e *reworded) Error() string { return e.msg }
func (e *reworded) Unwrap() error { return e.err }

// VerifyBundle verifies b (read from the file named evidence) against the
// artifact a. The artifact must carry a digest with one of
// DigestAlgorithms(b). The Result is never nil; err wraps ErrRejected when
// the evidence does not hold.
func (v *Verifier) VerifyBundle(b *sgbundle.Bundle, evidence string, a Artifact) (*Result, error) {
	return v.VerifyBundleContext(context.Background(), b, evidence, a)
}

// VerifyBundleContext is VerifyBundle with a context for the mirror check
// (Options.Mirror).
func (v *Verifier) VerifyBundleContext(ctx context.Context, b *sgbundle.Bundle, evidence string, a Artifact) (*Result, error) {
	rej := func(r *Result, err error) (*Result, error) {
		if v.policy.InsecureIgnoreTlogUnsafe && v.policy.Key != nil && !slices.Contains(r.Warnings, insecureTlogWarning) {
			r.Warnings = append(r.Warnings, insecureTlogWarning)
		}
		return r.reject(ReasonVerificationFailed, err)
	}
	r := v.newResult("bundle", evidence, a)
	if b == nil || b.Bundle == nil {
		return rej(r, Rejectf(ReasonMalformedBundle, "empty bundle"))
	}
	r.MediaType = b.GetMediaType()
	r.LogEntries = logEntries(b)
	switch {
	case v.policy.InsecureIgnoreTlogUnsafe && v.policy.Key != nil:
		// Said once the outcome is known (see below): whether the log
		// evidence was set aside or verified after all.
	case v.policy.InsecureIgnoreTlogUnsafe && v.policy.UseSignedTimestamps && !(b.HasInclusionProof() || b.HasInclusionPromise()):
		// A certificate on RFC 3161 timestamps alone: said once the
		// outcome is known.
	case v.policy.InsecureIgnoreTlogUnsafe:
		// Not a weakening here: say so rather than claim one.
		r.Warnings = append(r.Warnings, "--insecure-ignore-tlog applies to key-signed evidence only: this bundle is checked against its certificate identity with its transparency-log evidence")
	}

	// Evidence signed the other way than the policy asks (a key-signed
	// bundle checked against an identity, or a certificate's against --key)
	// is rejected here, in words that name the fix; sigstore-go would say
	// "expected key signature, not certificate" or fail on the log entry.
	vm := b.GetVerificationMaterial()
	keySigned := vm.GetPublicKey() != nil
	certNotChecked := false // verified with --key; said only when it verifies
	switch {
	case v.policy.Key == nil && keySigned:
		return rej(r, Rejectf(ReasonSignedWithKey, "the bundle is signed with a public key (hint %q), not a certificate: it has no identity to check", vm.GetPublicKey().GetHint()))
	case v.policy.Key != nil && !keySigned && (vm.GetCertificate() != nil || vm.GetX509CertificateChain() != nil):
		kb, err := v.asKeySigned(b)
		if err != nil {
			return rej(r, err)
		}
		b = kb
		certNotChecked = true
	}

	var alg string
	var digest []byte
	for _, x := range DigestAlgorithms(b) {
		if d, ok := a.digest(x); ok {
			alg, digest = x, d
			break
		}
	}
	if alg == "" {
		return rej(r, Reject(ReasonArtifactFormMismatch, &ArtifactFormError{"the bundle signs", DigestAlgorithms(b)[0], a.Name}))
	}

	if _, ed := v.policy.Key.(ed25519.PublicKey); ed && b.GetMessageSignature() != nil && alg != "sha512" {
		// Ed25519 verifies a digest only as Ed25519ph, over SHA-512.
		return rej(r, Rejectf(ReasonUnsupportedAlgorithm, "the bundle signs a %s digest, but an Ed25519 key verifies message signatures only over sha512 (Ed25519ph)", alg))
	}

	if v.policy.Signature {
		if err := notSignature(b); err != nil {
			return rej(r, err)
		}
	}
	if v.policy.PredicateType != "" || v.policy.Attestation {
		if b.GetDsseEnvelope() == nil {
			return rej(r, Rejectf(ReasonNotAttestation, "not an attestation: the bundle holds a message signature, not an in-toto statement"))
		}
	}

	var popts []sgverify.PolicyOption
	if v.policy.Key != nil {
		popts = append(popts, sgverify.WithKey())
	} else {
		popts = append(popts, sgverify.WithCertificateIdentity(*v.identity))
	}
	pb := sgverify.NewPolicy(sgverify.WithArtifactDigest(alg, digest), popts...)

	ts, err := b.Timestamps()
	if err != nil {
		return rej(r, Reject(ReasonMalformedBundle, err))
	}
	k := verifierKey{}
	hasTlog := b.HasInclusionProof() || b.HasInclusionPromise()
	// certWaived: a certificate-signed bundle without log entries, to be
	// verified on its RFC 3161 timestamps alone.
	certWaived := !hasTlog && v.policy.Key == nil && v.policy.InsecureIgnoreTlogUnsafe && v.policy.UseSignedTimestamps
	if !hasTlog && !(v.policy.InsecureIgnoreTlogUnsafe && v.policy.Key != nil) && !certWaived {
		return rej(r, Rejectf(ReasonNoTlogEntry, "the bundle has no transparency-log entry"))
	}
	if certWaived && len(ts) == 0 {
		return rej(r, Rejectf(ReasonNoSigningTime, "the bundle has no transparency-log entry and no RFC 3161 timestamp: nothing dates its certificate's signature"))
	}

	if hasTlog {
		if err := checkTlogConsistency(b); err != nil {
			return rej(r, err)
		}
	}

	var firstErr error
	for _, i := range v.sourceOrder(b) {
		tm := v.plain[i]
		k.source = i
		o := verifierOptions(optionInputs{
			sourceTSA: len(tm.TimestampingAuthorities()) > 0, sourceLogs: len(tm.RekorLogs()) > 0,
			timestamps: len(ts) > 0, tlog: hasTlog, promise: b.HasInclusionPromise(),
			key: v.policy.Key != nil, ignoreTlog: v.policy.InsecureIgnoreTlogUnsafe, signedTS: v.policy.UseSignedTimestamps,
		})
		if certWaived && !o.tsa {
			if firstErr == nil {
				firstErr = Rejectf(ReasonNoSigningTime, "the bundle has no transparency-log entry, and trust source %q has no timestamping authority to check its RFC 3161 timestamps", v.trust.Sources[i].Name)
			}
			continue
		}
		k.tsa, k.tlog, k.set, k.now = o.tsa, o.tlog, o.set, o.now
		if k.tlog && !k.set && !k.tsa && !k.now {
			// Nothing to date the signature by: sigstore-go needs a
			// signed time (an inclusion promise, an RFC 3161 timestamp).
			// Rekor v2 entries carry no integrated time.
			if firstErr == nil {
				const noTime = "the bundle has no verifiable signing time: its log entries carry no signed integration time (Rekor v2 entries never do)"
				if len(ts) == 0 {
					firstErr = Rejectf(ReasonNoSigningTime, noTime+", and it has no RFC 3161 timestamp")
				} else {
					firstErr = Rejectf(ReasonNoSigningTime, noTime+", and trust source %q has no timestamping authority to check its RFC 3161 timestamp", v.trust.Sources[i].Name)
				}
			}
			continue
		}
		if hasTlog && !k.tlog && !(v.policy.InsecureIgnoreTlogUnsafe && v.policy.Key != nil) {
			// The bundle's log entries cannot be checked under this
			// source: they are no evidence, and a bundle must carry
			// verified log evidence unless --insecure-ignore-tlog waives
			// it (found in review: a made-up entry passed the "has a log
			// entry" test and the bundle verified on a timestamp alone).
			if firstErr == nil {
				firstErr = Rejectf(ReasonNoLogInTrustedRoot, "trust source %q has no transparency log to check the bundle's log entry against", v.trust.Sources[i].Name)
			}
			continue
		}
		res, err := v.verifyWith(k, b, pb)
		if err != nil {
			if firstErr == nil {
				reason := v.classify(k, b, alg, digest)
				firstErr = Reject(reason, explainRejection(reason, b, err))
			}
			continue
		}
		if err := v.fill(r, res, b, i); err != nil {
			return rej(r, err)
		}
		var mirrorWarnings []string
		if k.tlog {
			// Only checkpoints sigstore-go verified are checked: under
			// --insecure-ignore-tlog on the key alone, none was.
			w, err := v.checkMirror(ctx, r, b)
			if err != nil && !errors.Is(err, ErrRejected) {
				return nil, err
			}
			if err != nil {
				return rej(r, err)
			}
			mirrorWarnings = w
		}
		if !(k.now && !k.tlog && !k.tsa) {
			// Trust material vouched: what weakens it concerns this
			// result. (On the key alone, it does not; nor does what
			// weakens another source.)
			r.Warnings = append(append([]string{}, v.trust.vouchWarnings(i)...), r.Warnings...)
		}
		if certNotChecked {
			r.Warnings = append(r.Warnings, certificateNotCheckedWarning)
		}
		if certWaived {
			r.Warnings = append(r.Warnings, insecureTlogCertWarning)
		}
		if v.policy.InsecureIgnoreSCTUnsafe && v.policy.Key == nil {
			r.Warnings = append(r.Warnings, insecureSCTWarning)
		}
		if v.policy.InsecureIgnoreTlogUnsafe && v.policy.Key != nil {
			if k.tlog {
				r.Warnings = append(r.Warnings, "--insecure-ignore-tlog was not needed: the bundle's transparency-log entry was verified")
			} else {
				r.Warnings = append(r.Warnings, insecureTlogWarning)
			}
		}
		if hasTlog && !k.tlog {
			// Verified on a timestamp or the key alone (--insecure-ignore-tlog):
			// say that the log entry the bundle carries was not checked.
			r.Warnings = append(r.Warnings, fmt.Sprintf("the bundle's transparency-log entry was not checked: trust source %q has no transparency log", v.trust.Sources[i].Name))
		}
		if k.now && !k.tlog && !k.tsa {
			// The key alone vouched: no material of the trust source was
			// used.
			r.Trust.Source = "--key"
		}
		r.Warnings = append(r.Warnings, mirrorWarnings...)
		return r, nil
	}
	r.Warnings = append(append([]string{}, v.trust.Warnings...), r.Warnings...)
	return rej(r, firstErr)
}

// certificateNotCheckedWarning is carried by a Result for a bundle with a
// certificate verified with --key (see asKeySigned).
const certificateNotCheckedWarning = "the bundle carries a certificate for the --key public key: the signature was checked with the key; the certificate (identity, validity, issuer) was not"

// asKeySigned returns b with its certificate replaced by a public-key
// reference, when the certificate holds the policy's key and b has no
// log entry: the form airlock sign-blob --tlog none writes when the token
// holds a certificate for the key (or --certificate is given). Checking
// the signature with the key the user trusts is what --key asks for; the
// certificate adds nothing the key does not vouch for. A bundle with log
// entries is refused: its entries name the certificate, which a key
// policy cannot check.
func (v *Verifier) asKeySigned(b *sgbundle.Bundle) (*sgbundle.Bundle, error) {
	vm := b.GetVerificationMaterial()
	if len(vm.GetTlogEntries()) > 0 {
		return nil, Rejectf(ReasonSignedWithCertificate, "the bundle is signed with a certificate, not a key")
	}
	der := vm.GetCertificate().GetRawBytes()
	if certs := vm.GetX509CertificateChain().GetCertificates(); der == nil && len(certs) > 0 {
		der = certs[0].GetRawBytes()
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, Rejectf(ReasonMalformedBundle, "the bundle's certificate does not parse: %v", err)
	}
	want, err := x509.MarshalPKIXPublicKey(v.policy.Key)
	if err != nil {
		return nil, Reject(ReasonKeyInvalid, err)
	}
	got, err := x509.MarshalPKIXPublicKey(leaf.PublicKey)
	if err != nil || !bytes.Equal(got, want) {
		return nil, Rejectf(ReasonKeyMismatch, "the bundle is signed with a certificate whose public key is not the given key")
	}
	pb := &protobundle.Bundle{
		MediaType: b.GetMediaType(),
		Content:   b.Bundle.Content,
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content:                   &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{}},
			TimestampVerificationData: vm.GetTimestampVerificationData(),
		},
	}
	kb, err := sgbundle.NewBundle(pb)
	if err != nil {
		return nil, Rejectf(ReasonSignedWithCertificate, "the bundle is signed with a certificate, not a key, and cannot be read as key-signed: %v", err)
	}
	return kb, nil
}

// insecureTlogWarning is the warning --insecure-ignore-tlog gives when
// key-signed evidence is (or would be) accepted without log evidence.
const insecureTlogWarning = "--insecure-ignore-tlog: a key-signed bundle is accepted without transparency-log evidence"

// insecureTlogCertWarning is carried by a certificate-signed bundle
// verified without log entries, on its RFC 3161 timestamps.
const insecureTlogCertWarning = "--insecure-ignore-tlog --use-signed-timestamps: a certificate-signed bundle is accepted on its RFC 3161 timestamps without transparency-log evidence"

// insecureSCTWarning is carried by every certificate result under
// Policy.InsecureIgnoreSCTUnsafe.
const insecureSCTWarning = "--insecure-ignore-sct: the certificate's signed certificate timestamp (certificate transparency) was not required"

// verifyWith runs sigstore-go. With certificate caching, a rejection is
// retried without the caches, so the caches can only ever save work,
// never change a verdict to "rejected".
func (v *Verifier) verifyWith(k verifierKey, b *sgbundle.Bundle, pb sgverify.PolicyBuilder) (*sgverify.VerificationResult, error) {
	sv, err := v.sgVerifier(k)
	if err != nil {
		return nil, err
	}
	res, err := sv.Verify(b, pb)
	if err != nil && v.cached {
		k.plain = true
		sv, err2 := v.sgVerifier(k)
		if err2 != nil {
			return nil, err
		}
		res, err = sv.Verify(b, pb)
	}
	return res, err
}

// fill copies a successful sigstore-go result into r.
func (v *Verifier) fill(r *Result, res *sgverify.VerificationResult, b *sgbundle.Bundle, source int) error {
	if v.policy.PredicateType != "" || v.policy.Attestation {
		if res.Statement == nil {
			return Rejectf(ReasonNotAttestation, "not an attestation: no in-toto statement")
		}
	}
	if (v.policy.PredicateType != "" || v.policy.Attestation) && res.Statement.GetPredicateType() == "" {
		// An empty predicate type names nothing: it is no type's match,
		// not even when any type is accepted.
		return Reject(ReasonPredicateTypeMismatch, &PredicateTypeError{Want: v.policy.PredicateType})
	}
	if v.policy.PredicateType != "" {
		if got := res.Statement.GetPredicateType(); got != v.policy.PredicateType {
			return Reject(ReasonPredicateTypeMismatch, &PredicateTypeError{Got: got, Want: v.policy.PredicateType})
		}
	}
	if res.Statement != nil {
		r.PredicateType = res.Statement.GetPredicateType()
	}
	r.Verified = true
	r.Status = "verified"
	r.Reason = ""
	r.Message = ""
	r.Trust.Source = v.trust.Sources[source].Name
	s := &SignedBy{}
	if res.Signature != nil && res.Signature.Certificate != nil {
		c := res.Signature.Certificate
		s.Identity = c.SubjectAlternativeName
		s.Issuer = c.Extensions.Issuer
		s.CertificateIssuer = c.CertificateIssuer
	} else {
		s.KeyFingerprint = v.keyFP
		if pk := b.GetVerificationMaterial().GetPublicKey(); pk != nil {
			s.KeyHint = pk.GetHint()
		}
	}
	r.Signer = s
	for _, t := range res.VerifiedTimestamps {
		r.Times = append(r.Times, TimeUsed{Type: t.Type, URI: t.URI, Time: t.Timestamp.UTC()})
	}
	return nil
}

// logEntries lists the bundle's transparency-log entries as they are
// written; verification decides whether they hold.
func logEntries(b *sgbundle.Bundle) []LogEntry {
	out := []LogEntry{}
	for _, e := range b.GetVerificationMaterial().GetTlogEntries() {
		le := LogEntry{
			LogID:            hex.EncodeToString(e.GetLogId().GetKeyId()),
			Index:            e.GetLogIndex(),
			Kind:             e.GetKindVersion().GetKind(),
			Version:          e.GetKindVersion().GetVersion(),
			TreeSize:         e.GetInclusionProof().GetTreeSize(),
			InclusionProof:   e.GetInclusionProof() != nil,
			InclusionPromise: e.GetInclusionPromise() != nil,
		}
		if it := e.GetIntegratedTime(); it > 0 {
			t := time.Unix(it, 0).UTC()
			le.IntegratedTime = &t
		}
		if cp := e.GetInclusionProof().GetCheckpoint().GetEnvelope(); cp != "" {
			le.Origin, _, _ = strings.Cut(cp, "\n")
		}
		out = append(out, le)
	}
	return out
}

// sourceOrder is the order to try the trust sources in for b: those that
// hold a log of b's entries first, then the others, each group in the
// trust's order. A site-log bundle is then checked under the site log
// first, not after every repository has failed it (and a public-good
// bundle under its repository, not the site log). Under a certificate
// policy, of the sources that hold the log those with a certificate
// authority come first: a certificate-signed site-log bundle is checked
// under a repository's CA combined with the site log before the site log
// alone, so that a rejection says what is wrong with the certificate,
// not that the site log has no CA.
func (v *Verifier) sourceOrder(b *sgbundle.Bundle) []int {
	order := make([]int, 0, len(v.plain))
	var ids []string
	for _, e := range b.GetVerificationMaterial().GetTlogEntries() {
		ids = append(ids, hex.EncodeToString(e.GetLogId().GetKeyId()))
	}
	var noCA, rest []int
	for i, tm := range v.plain {
		logs := tm.RekorLogs()
		switch {
		case !slices.ContainsFunc(ids, func(id string) bool { return logs[id] != nil }):
			rest = append(rest, i)
		case v.policy.Key == nil && len(tm.FulcioCertificateAuthorities()) == 0:
			noCA = append(noCA, i)
		default:
			order = append(order, i)
		}
	}
	return append(append(order, noCA...), rest...)
}

// vouchWarnings are the warnings of a result source i vouched for: those
// of the trust as a whole and of source i, not those that belong to
// another source (public-good's staleness does not weaken what the site
// log vouched for).
func (t Trust) vouchWarnings(i int) []string {
	var mine []string
	if i >= 0 && i < len(t.Sources) {
		mine = t.Sources[i].Warnings
	}
	var out []string
	for _, w := range t.Warnings {
		other := false
		for j, s := range t.Sources {
			if j != i && slices.Contains(s.Warnings, w) && !slices.Contains(mine, w) {
				other = true
				break
			}
		}
		if !other {
			out = append(out, w)
		}
	}
	for _, w := range mine {
		if !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	return out
}

// sourceIndex is the index of the source named name, -1 if none.
func (t Trust) sourceIndex(name string) int {
	return slices.IndexFunc(t.Sources, func(s TrustSource) bool { return s.Name == name })
}
