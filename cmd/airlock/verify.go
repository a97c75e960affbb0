package main

import (
	"crypto"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/airlock-project/airlock/bundle"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/urfave/cli/v2"
)

// verifyCommands: verify-blob, verify-attestation (alias verify-blob-attestation).
func verifyCommands() []*cli.Command {
	common := func() []cli.Flag {
		return append([]cli.Flag{
			&cli.StringFlag{Name: "bundle", Usage: "Sigstore bundle `FILE` (default for each FILE: FILE.sigstore.json); with --signature, the bundle written with that signature, whose log entry vouches for it"},
			&cli.StringFlag{Name: "signature", Usage: "cosign's detached signature `FILE` (.sig, or .att for attestations), or the base64 signature itself; needs --key"},
			&cli.StringFlag{Name: "key", Usage: "signer's public key `FILE` (PEM: ECDSA, RSA or Ed25519)"},
			&cli.StringFlag{Name: "certificate-identity", Usage: "the signing certificate's identity (SAN) must be `ID`"},
			&cli.StringFlag{Name: "certificate-identity-regexp", Usage: "the signing certificate's identity must match `REGEXP`"},
			&cli.StringFlag{Name: "certificate-oidc-issuer", Usage: "the certificate's OIDC issuer must be `URL`"},
			&cli.StringFlag{Name: "certificate-oidc-issuer-regexp", Usage: "the certificate's OIDC issuer must match `REGEXP`"},
			&cli.StringFlag{Name: "trusted-root", Usage: "trusted_root.json `FILE` (default: trust from the database)"},
			&cli.BoolFlag{Name: "insecure-ignore-tlog", Usage: "accept key-signed evidence with no transparency-log entry (a bundle without one, a detached signature whose entry the site log does not hold); with --use-signed-timestamps, certificate-signed bundles verified by an RFC 3161 timestamp (prints a warning)"},
			&cli.BoolFlag{Name: "use-signed-timestamps", Usage: "with --insecure-ignore-tlog: accept a certificate-signed bundle with no log entry on its RFC 3161 timestamps from a TSA of the trusted root (GitHub private-instance attestations)"},
			&cli.BoolFlag{Name: "insecure-ignore-sct", Usage: "do not require the certificate's signed certificate timestamp (a private CA without a CT log; prints a warning)"},
		}, append(mirrorFlags(), trustFlags()...)...)
	}
	return []*cli.Command{
		{
			Name:      "verify-blob",
			Usage:     "verify a file's Sigstore bundle or cosign detached signature, offline",
			ArgsUsage: "FILE|-|sha256:HEX [FILE...]",
			Flags:     common(),
			Description: `Verifies, with no network, that FILE (or the digest sha256:HEX) was signed by the
given identity or key. Evidence is a Sigstore bundle (--bundle, or FILE.sigstore.json
beside each FILE without --bundle) or cosign's detached signature
(--signature FILE.sig with --key), which verifies only when its log entry is found:
in the database's site log, or in the bundle given beside it with --bundle, which
must hold that very signature (or with --insecure-ignore-tlog). FILE.sigstore.json
is not picked up for --signature. Prints "Verified OK"; --output json prints one
JSON object per verification (docs/json.md).

With trust from the database, each log entry's checkpoint is also checked against
the database's checkpoint mirror ('airlock checkpoints import'; the site log is its
own mirror): a checkpoint that contradicts it is a SECURITY ERROR that prints the
evidence (exit 1); one the mirror cannot vouch for (newer than the mirror, older
with no consistency proof, or of a log not mirrored) is a warning, or a rejection
with --require-mirrored. --witness-policy FILE (or the stored policy) requires
witness cosignatures. With --trusted-root FILE the mirror is not consulted
(docs/mirror-verify.md).

Exit codes: 0 verified; 1 rejected; 2 could not run, including database trust
older than --max-trust-age: none left, or the trust left (the site log, fresher
repositories) did not verify the evidence for want of trust.

Examples:
   airlock verify-blob --bundle hello.tgz.sigstore.json \
       --certificate-identity me@example.com --certificate-oidc-issuer https://accounts.google.com \
       --trusted-root trusted_root.json hello.tgz
   airlock verify-blob --bundle hello.tgz.sigstore.json --key release.pub --insecure-ignore-tlog \
       sha256:a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf
   airlock verify-blob --key release.pub --insecure-ignore-tlog hello.tgz dist/a.tgz
   airlock verify-blob --key release.pub --signature hello.tgz.sig hello.tgz`,
			Action: func(c *cli.Context) error { return verifyAction(c, false) },
		},
		{
			Name:      "verify-attestation",
			Aliases:   []string{"verify-blob-attestation"},
			Usage:     "verify an in-toto attestation about a file, offline",
			ArgsUsage: "FILE|-|sha256:HEX [FILE...]",
			Flags: append(common(),
				&cli.StringFlag{Name: "type", Usage: "required predicate `TYPE`: spdxjson, cyclonedx, slsaprovenance, slsaprovenance1, ... or a URI (default: any)"}),
			Description: `Verifies an attestation: a DSSE-signed in-toto statement whose subject is FILE
(or sha256:HEX), in a Sigstore bundle or in cosign's bare DSSE envelope
(--signature FILE.att with --key; its log entry is found in the database's site log,
or in the bundle given beside it with --bundle). --type requires the predicate type; cosign's
names map as cosign maps them (spdxjson -> https://spdx.dev/Document, cyclonedx ->
https://cyclonedx.org/bom, slsaprovenance -> https://slsa.dev/provenance/v0.2,
slsaprovenance1 -> https://slsa.dev/provenance/v1). With trust from the database, each
log entry's checkpoint is checked against the checkpoint mirror, as verify-blob
does (--require-mirrored, --witness-policy; docs/mirror-verify.md).

Examples:
   airlock verify-attestation --bundle hello.tgz.att.sigstore.json --type spdxjson \
       --key release.pub --insecure-ignore-tlog hello.tgz
   airlock verify-attestation --key release.pub --type https://spdx.dev/Document \
       --signature hello.tgz.att hello.tgz
   airlock verify-attestation --key release.pub --type spdxjson \
       --signature hello.tgz.att --bundle hello.tgz.att.sigstore.json hello.tgz`,
			Action: func(c *cli.Context) error { return verifyAction(c, true) },
		},
	}
}

func verifyAction(c *cli.Context, attestation bool) error {
	jsonOut, err := outputJSON(c)
	if err != nil {
		return err
	}
	args := c.Args().Slice()
	bundlePath, sigPath, keyPath := c.String("bundle"), c.String("signature"), c.String("key")
	hasIdentity := c.String("certificate-identity") != "" || c.String("certificate-identity-regexp") != "" ||
		c.String("certificate-oidc-issuer") != "" || c.String("certificate-oidc-issuer-regexp") != ""
	switch {
	case len(args) == 0:
		return usageErrorf("%s needs a FILE or sha256:HEX to verify", c.Command.Name)
	case (bundlePath != "" || sigPath != "") && len(args) > 1:
		flag := "--bundle"
		if sigPath != "" {
			flag = "--signature"
		}
		return withHint(usageErrorf("%s verifies one FILE, got %d", flag, len(args)),
			fmt.Sprintf("to verify several files, drop %s: each FILE is checked with FILE.sigstore.json", flag))
	case slices.Contains(args, "-") && len(args) > 1:
		return usageErrorf("FILE - (standard input) must be the only FILE, got %d", len(args))
	case slices.Contains(args, "-") && (isStdin(bundlePath) || isStdin(sigPath)):
		return usageErrorf("standard input cannot be both FILE - and the evidence")
	case slices.Contains(args, "-") && bundlePath == "" && sigPath == "":
		return withHint(usageErrorf("FILE - (standard input) needs --bundle or --signature"),
			"there is no FILE.sigstore.json beside standard input: name the evidence with --bundle FILE or --signature FILE")
	case c.String("certificate-identity") != "" && c.String("certificate-identity-regexp") != "":
		return usageErrorf("--certificate-identity and --certificate-identity-regexp cannot be used together")
	case c.String("certificate-oidc-issuer") != "" && c.String("certificate-oidc-issuer-regexp") != "":
		return usageErrorf("--certificate-oidc-issuer and --certificate-oidc-issuer-regexp cannot be used together")
	case keyPath != "" && hasIdentity:
		return usageErrorf("--key and --certificate-identity/--certificate-oidc-issuer cannot be used together")
	case keyPath == "" && !hasIdentity:
		return withHint(usageErrorf("no signer given"),
			"pass --key FILE, or --certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp]")
	case keyPath == "" && (c.String("certificate-identity") == "" && c.String("certificate-identity-regexp") == "" ||
		c.String("certificate-oidc-issuer") == "" && c.String("certificate-oidc-issuer-regexp") == ""):
		return usageErrorf("a certificate policy needs both --certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp]")
	case sigPath != "" && keyPath == "":
		return withHint(usageErrorf("--signature needs --key"),
			"a detached signature carries no certificate; verify a bundle for keyless signatures")
	}
	if err := checkMirrorFlags(c); err != nil {
		return err
	}
	// A malformed --max-trust-age is a mistake even when no database trust
	// is used (--trusted-root, --signature): say so before any work.
	if _, err := maxTrustAge(c); err != nil && c.IsSet("max-trust-age") {
		return err
	}
	for _, f := range []string{"certificate-identity-regexp", "certificate-oidc-issuer-regexp"} {
		if c.String(f) != "" {
			if _, err := regexp.Compile(c.String(f)); err != nil {
				return usageErrorf("--%s: %v", f, err)
			}
		}
	}
	p := bundle.Policy{
		CertificateIdentity:         c.String("certificate-identity"),
		CertificateIdentityRegexp:   c.String("certificate-identity-regexp"),
		CertificateOIDCIssuer:       c.String("certificate-oidc-issuer"),
		CertificateOIDCIssuerRegexp: c.String("certificate-oidc-issuer-regexp"),
		InsecureIgnoreTlogUnsafe:    c.Bool("insecure-ignore-tlog"),
		UseSignedTimestamps:         c.Bool("use-signed-timestamps"),
		InsecureIgnoreSCTUnsafe:     c.Bool("insecure-ignore-sct"),
		Attestation:                 attestation,
		Signature:                   !attestation,
	}
	if attestation && c.String("type") != "" {
		if p.PredicateType, err = bundle.PredicateTypeURI(c.String("type")); err != nil {
			return usageErr(err)
		}
	}
	if keyPath != "" {
		if p.Key, err = readPublicKey(keyPath); err != nil {
			return err
		}
	}

	kind := bundle.EvidenceBundle
	if sigPath != "" {
		kind = bundle.EvidenceSignature
		if attestation {
			kind = bundle.EvidenceAttestation
		}
	}
	// cosign's --signature takes the signature itself as well as a file.
	sigData := inlineSignature(sigPath)
	var items []bundle.Item
	for _, a := range args {
		it := bundle.Item{Artifact: a, Evidence: a + ".sigstore.json", Kind: kind}
		switch {
		case sigData != nil:
			it.Evidence, it.EvidenceData = inlineEvidence, sigData
		case sigPath != "":
			it.Evidence = sigPath
		case bundlePath != "":
			it.Evidence = bundlePath
		case strings.HasPrefix(a, "sha256:") || strings.HasPrefix(a, "sha384:") || strings.HasPrefix(a, "sha512:"):
			return usageErrorf("a digest argument %q needs --bundle or --signature", a)
		}
		if sigPath != "" {
			// cosign's --signature with --bundle: the bundle carries the
			// detached signature's log entry.
			it.LogBundle = bundlePath
		}
		if a == "-" {
			it.ArtifactReader = c.App.Reader
		}
		items = append(items, it)
	}

	now := time.Now()
	var trust bundle.Trust
	var trustWarnings []string
	var setAside string // the hint naming repositories left out of database trust
	var stale error     // repositories set aside as older than --max-trust-age
	opts := bundle.Options{CacheCertificates: len(items) > 1}
	if sigPath != "" && bundlePath == "" {
		// A detached .sig/.att is checked against --key: it has no
		// certificate for trusted material to vouch for. Its log entry is
		// looked up in the database's site log (the verifier rebuilds the
		// entry the signer logged).
		trust = bundle.Trust{Sources: []bundle.TrustSource{{Name: "--key"}}, From: "--key " + keyPath, Time: now}
		if path, err := dbPath(c); err == nil {
			if trust.Entries, err = detachedEntries(c.Context, path); err != nil {
				return err
			}
		}
		// A --trusted-root given anyway is still read, as everywhere: one
		// that cannot be read or is not a trusted root is not set aside
		// in silence. Then the user is told it played no part.
		if p := c.String("trusted-root"); p != "" {
			if _, err := loadTrust(c, now); isRejection(err) {
				return rejectAll(c, jsonOut, items, trust.From, now, err)
			} else if err != nil {
				return err
			}
			trustWarnings = append(trustWarnings, fmt.Sprintf("--trusted-root %q is not consulted: a detached signature carries no certificate or log entry for it to vouch for", p))
		}
	} else {
		sel, err := loadTrust(c, now)
		switch {
		case err == nil:
			// Stale repositories concern a result only where trust
			// material vouched: the library attaches them then.
			trust = bundleTrust(sel, trustFrom(c))
			trust.Warnings = sel.Warnings
			setAside = setAsideHint(sel)
			stale = sel.StaleError()
			if c.String("trusted-root") == "" {
				// Database trust: the checkpoints are checked against
				// the database's mirror (the site log is its own).
				path, err := dbPath(c)
				if err != nil {
					return err
				}
				if err := mirrorOptions(c, path, &opts); err != nil {
					return err
				}
			}
		case p.Key != nil && p.InsecureIgnoreTlogUnsafe && c.String("trusted-root") == "" &&
			noTrustConfigured(err):
			// No trust configured at all: nothing but the key could be
			// checked anyway; say why trust was not used. A database that
			// does not verify, a clock behind it, or a busy one is still
			// an error: it is never silently set aside.
			trust = bundle.Trust{Sources: []bundle.TrustSource{{Name: "--key"}}, From: "--key " + keyPath, Time: now}
			trustWarnings = append(trustWarnings, fmt.Sprintf("no trust loaded (%v): checking against --key alone", err))
		case isRejection(err) || staleTrust(err):
			return rejectAll(c, jsonOut, items, trustFrom(c), now, err)
		default:
			// Evidence given with the wrong flag is the mistake to fix
			// first: with --signature no trust would have been needed.
			if len(items) == 1 {
				if h := formHint(items[0].Kind, items[0].Evidence); h != "" {
					return withHint(err, h)
				}
			}
			return err
		}
	}
	v, err := bundle.NewVerifier(trust, p, opts)
	if err != nil {
		if errors.Is(err, bundle.ErrRejected) {
			return rejectAll(c, jsonOut, items, trust.From, now, err)
		}
		return usageErr(err)
	}

	results := v.VerifyFiles(c.Context, items)
	if opts.Mirror != nil {
		if path, err := dbPath(c); err == nil {
			recordSplitViews(c, path, items, results, now)
		}
	}
	for i := range results {
		if r := results[i].Result; r != nil {
			r.Warnings = append(append([]string{}, trustWarnings...), r.Warnings...)
		}
		results[i].Err = explainItemError(items[i], results[i].Err)
		switch {
		case stale != nil && bundle.ReasonOf(results[i].Err).TrustDecides():
			// Rejected only for want of trust, while trust that might
			// have vouched was set aside as too old: not judged (exit 2).
			results[i] = notJudged(results[i], stale, sourceNames(trust), setAside)
		case setAside != "" && errors.Is(results[i].Err, bundle.ErrRejected):
			results[i].Err = withHint(results[i].Err, setAside)
		}
	}
	return renderResults(c, jsonOut, attestation && c.String("type") == "", v, items, results)
}

// staleTrustError is evidence rejected under the trust still in use for a
// reason trust decides (bundle.Reason.TrustDecides) while repositories
// were set aside as older than --max-trust-age: the evidence was not
// judged against trust it may need, so airlock could not run (exit 2), as
// when every source is too old. It unwraps to the trust.ErrStale error
// only: it is not a rejection.
type staleTrustError struct {
	stale     error    // trust.Selection.StaleError
	inUse     []string // the trust sources still in use
	rejection error    // the rejection under them
}

func (e *staleTrustError) Error() string {
	var q []string
	for _, n := range e.inUse {
		q = append(q, strconv.Quote(n))
	}
	return fmt.Sprintf("%v; the trust still in use (%s) did not verify the evidence: %v", e.stale, strings.Join(q, ", "), e.rejection)
}
func (e *staleTrustError) Unwrap() error { return e.stale }

// notJudged turns a rejection ir into a *staleTrustError with the hint
// naming the repositories set aside; its Result says "error", with the
// code trust-too-old, as when every repository is too old.
func notJudged(ir bundle.ItemResult, stale error, inUse []string, hint string) bundle.ItemResult {
	err := withHint(&staleTrustError{stale: stale, inUse: inUse, rejection: ir.Err}, hint)
	if r := ir.Result; r != nil {
		r.Verified, r.Status = false, "error"
		r.Reason = bundle.ReasonTrustTooOld
		r.Message = oneLine(err.Error())
	}
	return bundle.ItemResult{Result: ir.Result, Err: err}
}

// sourceNames are the names of t's sources, in order.
func sourceNames(t bundle.Trust) []string {
	var names []string
	for _, s := range t.Sources {
		names = append(names, s.Name)
	}
	return names
}

// rejectAll reports a rejection that holds for every item before any
// evidence is read (a --trusted-root that is not a trusted root). As for
// any rejection, --output json prints one rejected Result per item, saying
// where trust was to come from. Database trust past --max-trust-age is not
// a rejection (exit 2): each item's Result then has status "error", with
// the reason and the warnings.
func rejectAll(c *cli.Context, jsonOut bool, items []bundle.Item, from string, now time.Time, err error) error {
	if jsonOut {
		t := now.UTC()
		rej := err
		if staleTrust(err) {
			rej = bundle.Reject(bundle.ReasonTrustTooOld, err)
		}
		for _, it := range items {
			r := bundle.NewRejectedResult(it.Kind.String(), it.Evidence, it.Artifact, rej)
			r.Trust = bundle.TrustResult{From: from, Time: &t}
			if !isRejection(err) {
				r.Status = "error"
			}
			r.Warnings = append(r.Warnings, trustWarnings(err)...)
			writeJSONLine(c.App.Writer, r)
		}
	}
	return err
}

// trustFrom says where trust for a verification without --signature is
// loaded from, as Result.Trust.From does.
func trustFrom(c *cli.Context) string {
	if p := c.String("trusted-root"); p != "" {
		return "trusted-root " + p
	}
	if p, err := dbPath(c); err == nil {
		return "database " + p
	}
	return ""
}

// inlineEvidence is the evidence's name in results when --signature gave
// the signature itself rather than a file.
const inlineEvidence = "(--signature value)"

// isStdin reports whether name is a name of standard input
// (/dev/stdin, /dev/fd/0); evidence named "-" is a file of that name.
func isStdin(name string) bool {
	fd, ok := descriptorName(name)
	return ok && fd == 0
}

// inlineSignature returns the value of --signature as the signature itself
// when it names no file and is base64 (cosign's --signature takes both),
// else nil: the value is a file name, and a missing file is reported as
// one.
func inlineSignature(v string) []byte {
	if v == "" {
		return nil
	}
	// A base64 signature can be too long to be a file name (RSA's), or
	// have a "/" after a part that is a file.
	if _, err := os.Stat(v); !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENAMETOOLONG) && !errors.Is(err, syscall.ENOTDIR) {
		return nil
	}
	t := strings.TrimSpace(v)
	if t == "" {
		return nil
	}
	raw, err := base64.StdEncoding.DecodeString(t)
	if err != nil || !looksLikeSignature(raw) {
		return nil
	}
	return []byte(t)
}

// looksLikeSignature reports whether raw, decoded from base64, could be a
// signature or a DSSE envelope, so that a missing file whose name happens
// to be base64 ("abcd", "out/sigs") is reported as a missing file: an ECDSA
// signature (DER, a SEQUENCE), Ed25519's 64 bytes, RSA's 128 or more, or a
// JSON envelope.
func looksLikeSignature(raw []byte) bool {
	switch {
	case len(raw) >= 8 && raw[0] == 0x30, len(raw) == 64, len(raw) >= 128:
		return true
	}
	return len(raw) > 0 && raw[0] == '{'
}

// explainItemError turns library errors into the command line's: a bad
// digest argument is a usage error; a missing FILE.sigstore.json gets a
// hint saying where it was looked for, a missing --signature file what
// --signature takes.
func explainItemError(it bundle.Item, err error) error {
	var fe *bundle.FileError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, bundle.ErrBadDigestArg):
		return usageErr(err)
	case !errors.As(err, &fe) || !errors.Is(fe.Err, fs.ErrNotExist):
		return err
	case fe.What == "bundle" && it.Evidence == it.Artifact+".sigstore.json":
		return withHint(err, fmt.Sprintf("without --bundle, %q is expected beside %q", it.Evidence, it.Artifact))
	case fe.What == "signature" && it.EvidenceData == nil:
		return withHint(err, "--signature takes a file (.sig, .att), or the base64 signature itself")
	}
	return err
}

// readPublicKey reads a PEM public key. An unreadable file means airlock
// could not run; a file that is not a usable key is a rejection (the key
// is part of the evidence the user gave).
func readPublicKey(path string) (crypto.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading key: %w", err)
	}
	k, err := cryptoutils.UnmarshalPEMToPublicKey(data)
	if err != nil {
		return nil, withHint(bundle.Rejectf(bundle.ReasonKeyInvalid, "key %q is not a valid PEM public key: %v", path, err),
			"--key takes a PEM public key (ECDSA, RSA or Ed25519), e.g. cosign.pub")
	}
	return k, nil
}
