package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/airlock-project/airlock/bundle"
	"github.com/airlock-project/airlock/trust"
)

// Exit codes. They are part of the command-line contract.
const (
	exitOK       = 0 // verified, or the command did what was asked
	exitRejected = 1 // the evidence does not hold
	exitFailed   = 2 // could not run: usage, unreadable input, locked database, token error
)

// usageError is a mistake in how airlock was called.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usageErr(err error) error { return &usageError{err} }

func usageErrorf(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// hintError attaches a line telling the user what to do next.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Unwrap() error { return e.err }

// An empty hint leaves err as it is, so a hint err already carries (or
// the usage hint) still shows.
func withHint(err error, hint string) error {
	if err == nil || hint == "" {
		return err
	}
	return &hintError{err, hint}
}

// silentError carries an exit code for a result that was already reported
// (a rejected verification rendered on stdout, a batch with failures).
type silentError struct{ code int }

func (e *silentError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// exitCode maps an error to the process exit code. This is the one place
// that decides what "rejected" means.
func exitCode(err error) int {
	var se *silentError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &se):
		return se.code
	case isRejection(err):
		if row, ok := reasonTable[bundle.ReasonOf(err)]; ok {
			return row.exit
		}
		return exitRejected
	default:
		return exitFailed
	}
}

// isRejection reports whether err says the evidence does not hold, as
// opposed to airlock being unable to run.
func isRejection(err error) bool {
	var ue *usageError
	if errors.As(err, &ue) {
		return false
	}
	for _, target := range rejectionErrors {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// rejectionErrors are the sentinel errors whose wrapping means "rejected".
var rejectionErrors = []error{
	bundle.ErrRejected,
	errAuditBroken,
	errAuditTampered,        // audit verify found the database changed
	errAuditNotExtended,     // a seal would vouch for a rewritten trail
	trust.ErrRejected,       // TUF metadata refused on import
	trust.ErrNotTrustedRoot, // a file pinned as a trusted root is not one
	errMirrorRejected,       // a checkpoint, proof or pack refused (checkpoints.go)
	// Not trust.ErrStale: trust past --max-trust-age says nothing about the
	// evidence; verification could not run (exit 2), so that CI tells stale
	// trust from a bad artifact. A *staleTrustError (a rejection for want of
	// trust while repositories were set aside as too old) unwraps to it
	// alone, so it exits 2 as well.
}

// unknownCommandError is a command name airlock does not know: urfave/cli
// tells it through App.CommandNotFound (see newApp), not by an error.
type unknownCommandError struct{ name string }

func (e *unknownCommandError) Error() string { return fmt.Sprintf("unknown command %q", e.name) }

// report prints err (if any) on stderr and returns the exit code.
func report(stderr io.Writer, err error) int {
	if uc := new(unknownCommandError); errors.As(err, &uc) {
		err = withHint(usageErr(uc), "run 'airlock --help' for the commands, 'airlock COMMAND --help' for one")
	}
	code := exitCode(err)
	var se *silentError
	if err == nil || errors.As(err, &se) {
		return code
	}
	// One line, whatever a library put in its message.
	msg := strings.Join(strings.FieldsFunc(err.Error(), func(r rune) bool { return r == '\n' || r == '\r' }), " ")
	msg = strings.TrimSuffix(strings.TrimSpace(msg), ".")
	if sv := new(bundle.SplitViewError); errors.As(err, &sv) {
		// Not an error like the others: said as checkpoints import says
		// it, with the evidence.
		fmt.Fprintf(stderr, "airlock: %s\n", msg)
		printEvidence(stderr, err)
	} else {
		fmt.Fprintf(stderr, "airlock: error: %s\n", msg)
	}
	var he *hintError
	if errors.As(err, &he) && he.hint != "" {
		fmt.Fprintf(stderr, "airlock: hint: %s\n", he.hint)
	}
	var ue *usageError
	if errors.As(err, &ue) && he == nil {
		fmt.Fprintf(stderr, "airlock: hint: run 'airlock --help' or 'airlock COMMAND --help'\n")
	}
	return code
}

// hintContext is what a rejection's hint may name: the evidence file, the
// kind of policy, the rejection.
type hintContext struct {
	evidence string
	kind     bundle.EvidenceKind
	withKey  bool // the policy was --key (else an identity)
	err      error
}

// reasonRow is one row of the reason table: the exit code of a rejection
// for that reason, and the hint to show (nil or "" for none).
type reasonRow struct {
	exit int
	hint func(h hintContext) string
}

// reasonTable maps each bundle.Reason to its exit code and hint. It is the
// one place that turns a rejection's reason into what the user sees
// besides the message; flags are named here, never in the library's
// messages. Every rejection exits 1 (the conformance suite requires it).
var reasonTable = map[bundle.Reason]reasonRow{
	bundle.ReasonMalformedBundle:    {exitRejected, nil},
	bundle.ReasonMalformedSignature: {exitRejected, nil},
	bundle.ReasonTooLarge:           {exitRejected, nil},
	bundle.ReasonEvidenceEmpty:      {exitRejected, nil},
	bundle.ReasonSignedWithKey: {exitRejected, func(hintContext) string {
		return "verify it with --key and the signer's PEM public key"
	}},
	bundle.ReasonSignedWithCertificate: {exitRejected, func(h hintContext) string {
		return "verify it with --certificate-identity and --certificate-oidc-issuer: " + inspectCmd(h) + " shows the certificate's"
	}},
	bundle.ReasonKeyRequired: {exitRejected, func(hintContext) string {
		return "a detached signature carries no certificate: verify it with --key, or verify a bundle for keyless signatures"
	}},
	bundle.ReasonNotAttestation: {exitRejected, func(h hintContext) string {
		return "verify a signature of a file with verify-blob; verify-attestation checks in-toto statements"
	}},
	bundle.ReasonNotSignature: {exitRejected, func(h hintContext) string {
		if ns := new(bundle.NotSignatureError); errors.As(h.err, &ns) && ns.PredicateType != "" {
			return "check what it says with 'airlock verify-attestation --type " + ns.PredicateType + "' (same flags); a signature of the file is made with 'airlock sign-blob'"
		}
		return "check it with 'airlock verify-attestation' (same flags)"
	}},
	bundle.ReasonPredicateTypeMismatch: {exitRejected, predicateTypeHint},
	bundle.ReasonUnsupportedAlgorithm:  {exitRejected, nil},
	bundle.ReasonArtifactFormMismatch: {exitRejected, func(h hintContext) string {
		alg := "sha256"
		var fe *bundle.ArtifactFormError
		if errors.As(h.err, &fe) {
			alg = fe.Want
		}
		return "give the artifact as the FILE itself, or as its digest with the algorithm the evidence names (" + alg + ":HEX)"
	}},
	bundle.ReasonDigestMismatch: {exitRejected, func(hintContext) string {
		return "the evidence does not match this artifact: check that FILE and its bundle or signature belong together"
	}},
	bundle.ReasonSignatureInvalid: {exitRejected, func(h hintContext) string {
		switch {
		case h.kind == bundle.EvidenceSignature:
			// A .sig signs the artifact's digest itself: nothing tells a
			// changed file from another key.
			return "either the file changed since it was signed, or --key is not the signer's public key"
		case h.withKey:
			return "check that --key is the signer's public key"
		}
		return ""
	}},
	bundle.ReasonKeyMismatch: {exitRejected, func(h hintContext) string {
		return "check that --key is the signer's public key: " + inspectCmd(h) + " shows the certificate's"
	}},
	bundle.ReasonKeyInvalid: {exitRejected, func(hintContext) string {
		return "--key takes a PEM public key (ECDSA, RSA or Ed25519), e.g. cosign.pub"
	}},
	bundle.ReasonIdentityMismatch: {exitRejected, func(h hintContext) string {
		return "check --certificate-identity and --certificate-oidc-issuer against " + inspectCmd(h)
	}},
	bundle.ReasonCertificateChainInvalid: {exitRejected, trustedRootMissing},
	bundle.ReasonSCTInvalid:              {exitRejected, trustedRootMissing},
	bundle.ReasonNoLogEntryFound: {exitRejected, func(h hintContext) string {
		return "a detached signature verifies only with its log entry: check that --db is the database of the site log that logged it, give the bundle made with it (--bundle FILE.sigstore.json, beside --signature or instead of it), or accept the signature without log evidence with --insecure-ignore-tlog (said in a warning)"
	}},
	bundle.ReasonLogBundleMismatch: {exitRejected, func(h hintContext) string {
		return "the bundle given with --bundle must be the one made with this signature (sign-blob --bundle B --output-signature F.sig, or attest-blob --bundle B --output-signature F.att, writes both); without --bundle the entry is looked up in the database's site log"
	}},
	bundle.ReasonTlogEntryInconsistent: {exitRejected, func(h hintContext) string {
		return "the bundle was altered after it was made: its log entry contradicts what the log signed; get the bundle again from the signer (" + inspectCmd(h) + " shows the entry)"
	}},
	bundle.ReasonNoTlogEntry: {exitRejected, func(h hintContext) string {
		if h.withKey {
			return "--insecure-ignore-tlog accepts a key-signed bundle without one (and says so)"
		}
		return ""
	}},
	bundle.ReasonNoLogInTrustedRoot: {exitRejected, func(h hintContext) string {
		if h.withKey {
			return "--insecure-ignore-tlog accepts it on the key alone (and says so); or give a trusted root that holds the bundle's log"
		}
		return trustedRootMissingHint
	}},
	bundle.ReasonSETInvalid:            {exitRejected, nil},
	bundle.ReasonInclusionProofInvalid: {exitRejected, nil},
	bundle.ReasonCheckpointInvalid:     {exitRejected, nil},
	bundle.ReasonTlogEntryMismatch: {exitRejected, func(h hintContext) string {
		if h.withKey {
			return "check that --key is the signer's public key"
		}
		return ""
	}},
	bundle.ReasonOutsideValidity: {exitRejected, nil},
	bundle.ReasonSplitView: {exitRejected, func(hintContext) string {
		return "the log signed two different histories: keep the bundle and the evidence printed above, hand them to the log's operator and your security team, and do not trust entries of this log until it is resolved"
	}},
	bundle.ReasonNotMirrored: {exitRejected, func(hintContext) string {
		return "import a mirror pack that holds the log's checkpoint at or after the bundle's (or a consistency proof from the bundle's size) with 'airlock checkpoints import PACK', or verify without --require-mirrored (a warning then)"
	}},
	bundle.ReasonWitnessQuorum: {exitRejected, func(hintContext) string {
		return "import a mirror pack whose checkpoints carry the witnesses' cosignatures, or check the witness policy (--witness-policy, 'airlock checkpoints policy')"
	}},
	bundle.ReasonTlogUnverified:      {exitRejected, trustedRootMissing},
	bundle.ReasonNoSigningTime:       {exitRejected, nil},
	bundle.ReasonTimestampUnverified: {exitRejected, trustedRootMissing},
	bundle.ReasonTrustedRootInvalid:  {exitRejected, nil},
	bundle.ReasonTrustTooOld:         {exitRejected, nil},
	bundle.ReasonVerificationFailed:  {exitRejected, nil},
}

const trustedRootMissingHint = "the trusted root may not hold the log, CA or timestamping authority that made this bundle: check --trusted-root, or `airlock trust status` for the database"

func trustedRootMissing(hintContext) string { return trustedRootMissingHint }

func inspectCmd(h hintContext) string { return "`airlock bundle inspect " + h.evidence + "`" }

// predicateTypeHint names the likely cause of a predicate type mismatch:
// an attestation made without --type has cosign's default type.
func predicateTypeHint(h hintContext) string {
	var pe *bundle.PredicateTypeError
	if !errors.As(h.err, &pe) {
		return ""
	}
	if pe.Got == bundle.PredicateCustom {
		want := "TYPE"
		if n := bundle.PredicateTypeName(pe.Want); n != "" {
			want = n
		}
		return fmt.Sprintf("it was attested as cosign's default type (attest-blob without --type): re-attest with --type %s, or wrap the predicate as docs/sign.md shows", want)
	}
	return fmt.Sprintf("the attestation is of type %q: check --type, or that this is the attestation you meant", pe.Got)
}

// reasonHint is the hint the reason table gives for err ("" for none).
func reasonHint(err error, h hintContext) string {
	row, ok := reasonTable[bundle.ReasonOf(err)]
	if !ok || row.hint == nil {
		return ""
	}
	h.err = err
	return row.hint(h)
}

// formHint names evidence given with the wrong flag or to the wrong
// command, from what the file looks like (bundle.SniffEvidenceFile); ""
// when its form fits the kind it was given as.
func formHint(kind bundle.EvidenceKind, evidence string) string {
	if evidence == "" {
		return ""
	}
	form := bundle.SniffEvidenceFile(evidence)
	if kind.Fits(form) {
		return ""
	}
	switch {
	case form == bundle.FormBundle:
		return fmt.Sprintf("%q is a Sigstore bundle: pass it with --bundle, not --signature", evidence)
	case form == bundle.FormSignature && kind == bundle.EvidenceBundle:
		return fmt.Sprintf("%q looks like a detached signature: pass it with --signature (and --key), not --bundle", evidence)
	case form == bundle.FormEnvelope && kind == bundle.EvidenceBundle:
		return fmt.Sprintf("%q is a DSSE envelope: pass it to verify-attestation with --signature (and --key), not --bundle", evidence)
	case form == bundle.FormEnvelope:
		return fmt.Sprintf("%q is a DSSE envelope (an attestation): use verify-attestation", evidence)
	case form == bundle.FormSignature:
		return fmt.Sprintf("%q looks like a detached signature of a file, not an attestation: use verify-blob", evidence)
	case form == bundle.FormNotText && kind == bundle.EvidenceBundle:
		return fmt.Sprintf("%q is not a bundle (is it the artifact?): --bundle takes the Sigstore bundle, e.g. FILE.sigstore.json; the artifact is the FILE argument", evidence)
	case form == bundle.FormNotText:
		return fmt.Sprintf("%q is not a signature (is it the artifact?): --signature takes cosign's base64 .sig or .att; the artifact is the FILE argument", evidence)
	}
	return ""
}
