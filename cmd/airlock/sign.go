package main

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/airlock-project/airlock/bundle"
	"github.com/airlock-project/airlock/cache"
	"github.com/airlock-project/airlock/output"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

// sign-blob and attest-blob. The order of work is fixed so that a mistake
// costs nothing: flags and --tlog are checked first, then the files are
// looked up (and the predicate read) and every output is checked
// (output.Check), then the key is opened (PIN or password asked once), and
// then one library call (bundle.SignFiles, bundle.AttestFile) signs,
// stages the outputs and commits the audit records before the outputs are
// put in place. This file holds the flags, the checks that name them, the
// wiring (key, database, output batch, interrupts) and the rendering.

func signCommands() []*cli.Command {
	return []*cli.Command{signBlobCommand(), attestBlobCommand()}
}

func signKeyFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "key", Usage: "signing key `KEYREF`: a pkcs11: URI (token key) or a PEM private key file (PKCS#8, SEC 1, PKCS#1, cosign.key)"},
		&cli.StringFlag{Name: "tlog", Usage: "transparency log: `site` (the default once airlock log init made one) logs every signature; rekor=URL logs it to a Rekor v2 (rekor-tiles) server; none makes bundles with no log entry"},
		&cli.StringFlag{Name: "certificate", Usage: "PEM certificate `FILE` for the key (leaf first); default: the certificate on the token, if any"},
		&cli.StringFlag{Name: "certificate-chain", Usage: "PEM `FILE` of the CA certificates that issued the certificate, its parent first, ending with the root: the certificate must chain through them (checked before signing; the bundle carries the certificate alone)"},
		&cli.BoolFlag{Name: "keyless", Usage: "not available offline (needs Fulcio and an OIDC provider); use --key"},
		rekorKeyFlag(),
	}
}

func signBlobCommand() *cli.Command {
	return &cli.Command{
		Name:      "sign-blob",
		Usage:     "sign files with a token or key file, writing Sigstore bundles or cosign .sig files",
		ArgsUsage: "FILE...",
		Description: `Signs each FILE's digest (SHA-256; SHA-384 for P-384 keys, SHA-512 for P-521)
with KEYREF: a pkcs11: URI naming a key on a token (module from module-path in
the URI or $AIRLOCK_PKCS11_MODULE; PIN from pin-source in the URI, $AIRLOCK_PIN
or a prompt), or a PEM private key file (cosign.key: password from
$AIRLOCK_PASSWORD or $COSIGN_PASSWORD, else a prompt).

With one FILE and neither --bundle nor --output-signature, prints cosign's
base64 signature on stdout. With --bundle OUT, writes the Sigstore bundle (v0.3)
there; --output-signature writes the base64 signature to a file. With several
FILEs, writes FILE.sigstore.json beside each FILE; they share one login and sign
in parallel. Nothing is written unless every FILE was signed. Every signature is
recorded in the database's audit trail (airlock audit list).

Once the database has a site transparency log (airlock log init), every
signature is logged in it (--tlog site, the default) and each bundle carries its
entry and inclusion proof. Without one, --tlog none is required; verify such
bundles with --insecure-ignore-tlog.

Examples:
   airlock sign-blob --key 'pkcs11:token=release;object=signer' ./hello.tgz > hello.tgz.sig
   airlock verify-blob --key release.pub --signature hello.tgz.sig ./hello.tgz

   airlock sign-blob --key 'pkcs11:token=release;object=signer?pin-source=/run/release.pin' \
       --tlog none --bundle hello.tgz.sigstore.json hello.tgz
   airlock sign-blob --key 'pkcs11:token=release;object=signer' --tlog none dist/*.tgz
   COSIGN_PASSWORD=... airlock sign-blob --key cosign.key --tlog none --output-signature f.sig f

   # a Rekor v2 (rekor-tiles) log: every answer is checked with the log's key
   airlock sign-blob --key 'pkcs11:token=release;object=signer' \
       --tlog rekor=http://127.0.0.1:3000 --rekor-key rekor.pub dist/*.tgz`,
		Flags: append(signKeyFlags(),
			&cli.StringFlag{Name: "bundle", Usage: "write the Sigstore bundle to `FILE` (one FILE only)"},
			&cli.StringFlag{Name: "output-signature", Usage: "write the base64 signature to `FILE` (one FILE only)"},
		),
		Action: signBlobAction,
	}
}

func attestBlobCommand() *cli.Command {
	return &cli.Command{
		Name:      "attest-blob",
		Usage:     "attest a file: sign an in-toto statement about it in a DSSE envelope",
		ArgsUsage: "FILE",
		Description: `Makes an in-toto Statement v1 with FILE (name and SHA-256) as its subject and
the --predicate file as its predicate, and signs it in a DSSE envelope with
KEYREF (a pkcs11: URI or a PEM private key file, as for sign-blob).

Without --bundle or --output-signature the envelope (cosign's .att) is printed
on stdout. --type takes cosign's names (custom, spdx, spdxjson, cyclonedx,
slsaprovenance, slsaprovenance02, slsaprovenance1, link, vuln, openvex) or a URI.
A predicate file of the form {"predicateType": URI, "predicate": {...}} is
unwrapped, without --type or with a --type naming that type; without --type any
other file is wrapped as cosign's "custom" predicate. The signature is recorded
in the database's audit trail.

Examples:
   airlock attest-blob --key 'pkcs11:token=release;object=signer' \
       --predicate sbom.json --type spdxjson ./hello.tgz > hello.tgz.att
   airlock verify-attestation --key release.pub --type https://spdx.dev/Document \
       --signature hello.tgz.att ./hello.tgz

   airlock attest-blob --key 'pkcs11:token=release;object=signer' --tlog none \
       --predicate bom.cdx.json --type cyclonedx --bundle hello.tgz.cdx.sigstore.json hello.tgz`,
		Flags: append(signKeyFlags(),
			&cli.StringFlag{Name: "predicate", Usage: "predicate `FILE` (JSON)"},
			&cli.StringFlag{Name: "type", Usage: "predicate `TYPE`: a cosign name or a URI"},
			&cli.StringFlag{Name: "bundle", Usage: "write the Sigstore bundle to `FILE`"},
			&cli.StringFlag{Name: "output-signature", Usage: "write the DSSE envelope (.att) to `FILE`"},
			&cli.StringFlag{Name: "output-attestation", Usage: "write the signed in-toto statement to `FILE`"},
		),
		Action: attestBlobAction,
	}
}

// checkSignFlags rejects what can be rejected before any file or key is
// touched: --keyless and a missing --key (--tlog is resolveTlog's).
func checkSignFlags(c *cli.Context) error {
	if c.Bool("keyless") {
		if c.String("key") != "" {
			return usageErrorf("--keyless and --key cannot be used together")
		}
		return withHint(errors.New("keyless signing needs an online Fulcio certificate authority and an OIDC identity provider, which airlock does not use"),
			"sign with a key that never leaves a token: --key 'pkcs11:token=LABEL;object=NAME' (airlock hsm keygen makes one), or --key FILE")
	}
	if c.String("key") == "" {
		return usageErrorf("%s needs --key KEYREF (a pkcs11: URI or a private key file)", c.Command.Name)
	}
	return nil
}

// checkInputFile fails early, before the key is opened, for a FILE that
// does not exist or is a directory. (A FILE that cannot be read still fails
// the call later, before anything is written.)
func checkInputFile(name string) error {
	st, err := os.Stat(name)
	if err != nil {
		return fmt.Errorf("reading %q: %w", name, output.UnwrapPath(err))
	}
	if st.IsDir() {
		return fmt.Errorf("reading %q: is a directory", name)
	}
	return nil
}

// dbWritable fails, before any signing, when the audit record could not be
// written to the database db.
func dbWritable(db string) error {
	if err := output.Writable(db); err != nil {
		return fmt.Errorf("database %q cannot take the audit record: %w", db, err)
	}
	return nil
}

// signOutputCheck starts the output check of a signing command (see
// output.Check) with everything it reads or keeps: the FILEs (refusing one
// given twice), the key file, the certificate, the predicate, and the
// database that will hold the audit record. Outputs are checked against it
// before the key is opened: signing never overwrites what it signs, its
// key or its audit trail.
func signOutputCheck(c *cli.Context, files []string, stdoutUse string) (*output.Check, error) {
	oc := output.NewCheck(stdoutUse)
	// "Given twice" is one path named twice (also through a link in the
	// path); two names of one file (a release's foo-latest.tgz link, a
	// hard link) are two FILEs with two bundles. Either way no output may
	// be an input: each input's file is registered.
	given := map[string]bool{}
	for _, f := range files {
		p := output.Abs(f)
		if real, err := filepath.EvalSymlinks(filepath.Dir(f)); err == nil {
			p = output.Abs(filepath.Join(real, filepath.Base(f)))
		}
		if given[p] {
			return nil, fmt.Errorf("%q is given twice", f)
		}
		given[p] = true
		oc.Input(f, fmt.Sprintf("the input %q", f))
	}
	if ref := c.String("key"); !strings.HasPrefix(strings.ToLower(ref), "pkcs11:") {
		oc.Input(ref, fmt.Sprintf("--key %q", ref))
	}
	oc.Input(c.String("certificate"), fmt.Sprintf("--certificate %q", c.String("certificate")))
	oc.Input(c.String("certificate-chain"), fmt.Sprintf("--certificate-chain %q", c.String("certificate-chain")))
	if c.IsSet("predicate") {
		oc.Input(c.String("predicate"), fmt.Sprintf("--predicate %q", c.String("predicate")))
	}
	if db, err := dbPath(c); err == nil {
		oc.Input(db, fmt.Sprintf("the database %q (its audit trail)", db))
		if err := dbWritable(db); err != nil {
			return nil, err
		}
	}
	return oc, nil
}

// openSigner opens the KEYREF and the certificate for it.
func openSigner(c *cli.Context) (*signingKey, *bundle.Builder, error) {
	certs, err := readCertificates(c.String("certificate"), "certificate")
	if err != nil {
		return nil, nil, err
	}
	chain, err := readCertificates(c.String("certificate-chain"), "certificate chain")
	if err != nil {
		return nil, nil, err
	}
	if chain != nil && certs != nil {
		// Said before the key is opened: no PIN is asked for nothing.
		if err := checkChain(certs[0], chain, c.String("certificate"), c.String("certificate-chain")); err != nil {
			return nil, nil, err
		}
	}
	key, err := openSigningKey(c, c.String("key"))
	if err != nil {
		return nil, nil, err
	}
	if certs == nil {
		certs = key.certs
		if chain != nil && certs == nil {
			key.Close()
			return nil, nil, usageErrorf("--certificate-chain %q: the key has no certificate to chain (give it with --certificate FILE)", c.String("certificate-chain"))
		}
		if chain != nil {
			if err := checkChain(certs[0], chain, "on the token", c.String("certificate-chain")); err != nil {
				key.Close()
				return nil, nil, err
			}
		}
	}
	s, err := bundle.NewBuilder(key.signer, certs)
	if err != nil {
		key.Close()
		return nil, nil, fmt.Errorf("key %q: %w", c.String("key"), err)
	}
	return key, s, nil
}

// readCertificates reads the PEM certificates in the file at path (what
// names it: "certificate"); nil for no path.
func readCertificates(path, what string) ([]*x509.Certificate, error) {
	if path == "" {
		return nil, nil
	}
	data, err := output.ReadFile(path, maxKeyFileSize)
	if err != nil {
		return nil, fmt.Errorf("reading %s %q: %w", what, path, err)
	}
	certs, err := cryptoutils.UnmarshalCertificatesFromPEM(data)
	if err != nil || len(certs) == 0 {
		return nil, fmt.Errorf("reading %s %q: no PEM certificate", what, path)
	}
	return certs, nil
}

// checkChain checks, as cosign sign-blob --certificate-chain does, that
// leaf chains through chain (its parent first, ending with a self-signed
// root) for code signing, now. certName and chainName say where they came
// from.
func checkChain(leaf *x509.Certificate, chain []*x509.Certificate, certName, chainName string) error {
	rootCert := chain[len(chain)-1]
	if err := rootCert.CheckSignatureFrom(rootCert); err != nil {
		return fmt.Errorf("--certificate-chain %q: its last certificate (%q) is not a self-signed root: %v", chainName, rootCert.Subject.String(), err)
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(rootCert)
	for _, ic := range chain[:len(chain)-1] {
		inter.AddCert(ic)
	}
	_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}})
	if err != nil {
		if certName != "on the token" {
			certName = fmt.Sprintf("%q", certName)
		}
		return fmt.Errorf("the certificate %s does not chain to --certificate-chain %q: %v", certName, chainName, err)
	}
	return nil
}

// signedFile is one FILE's result in sign-blob's and attest-blob's JSON.
type signedFile struct {
	File          string `json:"file"`
	Digest        string `json:"digest"` // ALG:HEX of what was signed over
	Bundle        string `json:"bundle,omitempty"`
	SignatureFile string `json:"signatureFile,omitempty"`
	StatementFile string `json:"statementFile,omitempty"` // attest-blob --output-attestation
	Signature     string `json:"signature"`               // base64
	PredicateType string `json:"predicateType,omitempty"`
	LogIndex      *int64 `json:"logIndex,omitempty"` // the site log entry's index
}

// signOutput is the JSON result of sign-blob and attest-blob.
type signOutput struct {
	Key            string          `json:"key"`
	KeyFingerprint string          `json:"keyFingerprint"` // sha256:HEX of the DER public key
	Tlog           string          `json:"tlog"`
	LogOrigin      string          `json:"logOrigin,omitempty"`
	Files          []signedFile    `json:"files"`
	Envelope       json.RawMessage `json:"envelope,omitempty"`
}

func signBlobAction(c *cli.Context) error {
	files := c.Args().Slice()
	if len(files) == 0 {
		return withHint(usageErrorf("sign-blob needs at least one FILE"), cutURIHint(c.String("key"), files))
	}
	asJSON, err := outputJSON(c)
	if err != nil {
		return err
	}
	if err := checkSignFlags(c); err != nil {
		return err
	}
	tl, err := resolveTlog(c)
	if err != nil {
		return err
	}
	bundleOut, sigOut := c.String("bundle"), c.String("output-signature")
	if len(files) > 1 && (bundleOut != "" || sigOut != "") {
		return usageErrorf("--bundle and --output-signature name one output; with several FILEs each bundle is written as FILE.sigstore.json")
	}
	for _, f := range files {
		if err := checkInputFile(f); err != nil {
			return err
		}
	}
	oc, err := signOutputCheck(c, files, stdoutUse(asJSON, ""))
	if err != nil {
		return err
	}
	toStdout := len(files) == 1 && bundleOut == "" && sigOut == ""

	req := bundle.SignRequest{Files: make([]bundle.FileRequest, len(files))}
	for i, f := range files {
		r := &req.Files[i]
		r.Path = f
		switch {
		case len(files) > 1:
			name := f + ".sigstore.json"
			if r.Bundle, err = checkOutput(oc, name, fmt.Sprintf("the bundle of %q, %q,", f, name)); err != nil {
				return err
			}
		case !toStdout:
			if r.Bundle, err = checkOutput(oc, bundleOut, fmt.Sprintf("--bundle %q", bundleOut)); err != nil {
				return err
			}
			if r.Signature, err = checkOutput(oc, sigOut, fmt.Sprintf("--output-signature %q", sigOut)); err != nil {
				return err
			}
		}
	}
	key, signer, err := openSigner(c)
	if err != nil {
		return err
	}
	defer key.Close()
	if signer.Hash() == 0 {
		// Errors name the key as the user gave it (key.ref, the resolved
		// URI or file: path, is for the audit trail).
		return withHint(fmt.Errorf("key %q is Ed25519, which signs attestations (attest-blob) only", c.String("key")),
			"sign files with an ECDSA (P-256, P-384, P-521) or RSA key")
	}
	if tl != nil {
		if err := tl.openKey(c); err != nil {
			return err
		}
		defer tl.Close()
	}
	req.KeyRef = key.ref
	req.Log = tl.bundleLogger()
	prog := newProgress(c.App.ErrWriter, len(files))
	req.Progress = prog.add
	ctx, stop := interruptContext(c.Context)
	res, err := bundle.SignFiles(ctx, signer, req, &output.Batch{}, auditRecorder{c, tl})
	prog.done()
	if sig := stop(); sig != nil {
		interrupted(c.App.ErrWriter, sig, writtenAfter(res, err))
	}
	if err != nil {
		return signError(err)
	}
	return renderSigned(c, asJSON, key, res, toStdout, func(w io.Writer) error {
		_, err := fmt.Fprintln(w, res.Files[0].Signature)
		return err
	})
}

// checkOutput checks the output name (none if "") against oc; what names
// it in messages.
func checkOutput(oc *output.Check, name, what string) (*output.Target, error) {
	if name == "" {
		return nil, nil
	}
	t, err := oc.Output(name, what)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// writtenAfter says what an interrupted signing call left written.
func writtenAfter(res *bundle.SignResult, err error) string {
	var pe *output.PartialCommitError
	switch {
	case errors.As(err, &pe):
		return fmt.Sprintf("the signatures were recorded in the audit trail, and %d of %d outputs written", pe.Written, pe.Total)
	case err != nil || res == nil:
		return "nothing written"
	}
	return "after the signatures were recorded and every output written"
}

// signError adds the hint for an error of a signing call.
func signError(err error) error {
	err = tlogError(err)
	var pe *output.PartialCommitError
	if errors.As(err, &pe) {
		return withHint(err, fmt.Sprintf("the signatures were made and recorded in the audit trail, and %d of %d outputs written; sign the FILEs whose outputs are missing again", pe.Written, pe.Total))
	}
	return err
}

// auditRecorder stores a signing call's audit records in the database,
// opened only at the commit, once all signing is done. With the site log
// the records and the log append commit in one transaction.
type auditRecorder struct {
	c  *cli.Context
	tl *signingLog // nil without a log
}

func (a auditRecorder) RecordSignatures(sc *bundle.SignCommit) error {
	recs := make([]cache.AuditRecord, len(sc.Records))
	for i, r := range sc.Records {
		recs[i] = cache.AuditRecord{Time: r.Time, Kind: r.Kind, Fields: r.Fields}
	}
	if p, ok := sc.Log.(*bundle.SiteLogAppend); ok && a.tl != nil {
		return appendSiteLog(p, a.tl, recs, a.c.App.ErrWriter)
	}
	if sc.Log != nil {
		return fmt.Errorf("recording the signatures: a log append of type %T this command cannot commit", sc.Log)
	}
	path, err := dbPath(a.c)
	if err != nil {
		return err
	}
	db, err := cache.Open(path, cache.Options{})
	if errors.Is(err, cache.ErrCorrupt) {
		return trustErr(fmt.Errorf("recording the signatures in the audit trail: %w", err))
	}
	if err != nil {
		return withHint(fmt.Errorf("recording the signatures in the audit trail: %w", err),
			"nothing was written; retry when the database is free")
	}
	defer db.Close()
	if err := db.AppendAudit(recs...); err != nil {
		return fmt.Errorf("recording the signatures in the audit trail: %w", err)
	}
	return nil
}

func attestBlobAction(c *cli.Context) error {
	switch {
	case c.NArg() == 0 && c.String("bundle") != "":
		// The primer's `attest-blob ... --bundle ./hello.tgz > hello.tgz.att`
		// gives the artifact to --bundle.
		b := c.String("bundle")
		return withHint(usageErrorf("attest-blob needs a FILE to attest"),
			fmt.Sprintf("--bundle names the bundle to write, not the artifact: airlock attest-blob ... --bundle %s.sigstore.json %s", b, b))
	case c.NArg() == 0:
		return withHint(usageErrorf("attest-blob needs a FILE to attest"), cutURIHint(c.String("key"), nil))
	case c.NArg() > 1:
		return usageErrorf("attest-blob takes one FILE, got %d", c.NArg())
	}
	file := c.Args().First()
	asJSON, err := outputJSON(c)
	if err != nil {
		return err
	}
	if err := checkSignFlags(c); err != nil {
		return err
	}
	tl, err := resolveTlog(c)
	if err != nil {
		return err
	}
	predPath, ptype := c.String("predicate"), c.String("type")
	if predPath == "" {
		return usageErrorf("attest-blob needs --predicate FILE")
	}
	if ptype != "" {
		if _, err := bundle.PredicateTypeURI(ptype); err != nil {
			return usageErr(err)
		}
	}
	if err := checkInputFile(file); err != nil {
		return err
	}
	pred, err := output.ReadFile(predPath, bundle.MaxPredicateSize)
	if err != nil {
		return fmt.Errorf("reading predicate %q: %w", predPath, err)
	}
	// Build the statement once with a placeholder digest, so that a bad
	// predicate fails before the key is opened.
	if _, _, err := bundle.Statement(ptype, pred, []bundle.Subject{{Name: "x", SHA256: make([]byte, 32)}}, time.Now()); err != nil {
		return fmt.Errorf("predicate %q: %w", predPath, err)
	}
	bundleOut, sigOut, attOut := c.String("bundle"), c.String("output-signature"), c.String("output-attestation")
	toStdout := bundleOut == "" && sigOut == ""
	envelopeOnStdout := ""
	if toStdout {
		envelopeOnStdout = "the DSSE envelope (no --bundle or --output-signature)"
	}
	oc, err := signOutputCheck(c, []string{file}, stdoutUse(asJSON, envelopeOnStdout))
	if err != nil {
		return err
	}
	req := bundle.AttestRequest{File: file, PredicateType: ptype, Predicate: pred}
	for _, o := range []struct {
		to   **output.Target
		flag string
		name string
	}{{&req.Bundle, "--bundle", bundleOut}, {&req.Envelope, "--output-signature", sigOut}, {&req.Statement, "--output-attestation", attOut}} {
		if *o.to, err = checkOutput(oc, o.name, fmt.Sprintf("%s %q", o.flag, o.name)); err != nil {
			return err
		}
	}

	key, signer, err := openSigner(c)
	if err != nil {
		return err
	}
	defer key.Close()
	if tl != nil {
		if err := tl.openKey(c); err != nil {
			return err
		}
		defer tl.Close()
	}
	req.KeyRef = key.ref
	req.Log = tl.bundleLogger()
	ctx, stop := interruptContext(c.Context)
	res, err := bundle.AttestFile(ctx, signer, req, &output.Batch{}, auditRecorder{c, tl})
	if sig := stop(); sig != nil {
		interrupted(c.App.ErrWriter, sig, writtenAfter(res, err))
	}
	if err != nil {
		return signError(err)
	}
	return renderSigned(c, asJSON, key, res, toStdout, func(w io.Writer) error {
		_, err := fmt.Fprintln(w, string(res.Envelope))
		return err
	})
}

// progress shows "signed N/M" on stderr while a batch runs, only when
// stderr is a terminal and the batch has more than one file.
type progress struct {
	w      io.Writer
	total  int
	n      atomic.Int64
	stop   chan struct{}
	exited chan struct{}
}

func newProgress(w io.Writer, total int) *progress {
	p := &progress{w: w, total: total}
	f, ok := w.(*os.File)
	if !ok || total < 2 || !term.IsTerminal(int(f.Fd())) {
		return p
	}
	p.stop, p.exited = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(p.exited)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				fmt.Fprintf(p.w, "\r\033[K")
				return
			case <-t.C:
				fmt.Fprintf(p.w, "\rsigned %d/%d", p.n.Load(), p.total)
			}
		}
	}()
	return p
}

func (p *progress) add() { p.n.Add(1) }

func (p *progress) done() {
	if p.stop != nil {
		close(p.stop)
		<-p.exited
		p.stop = nil
	}
}

// renderSigned prints the result: the signature or envelope (stdout mode),
// JSON, or one line per written file on stderr.
func renderSigned(c *cli.Context, asJSON bool, key *signingKey, res *bundle.SignResult, toStdout bool, printStdout func(io.Writer) error) error {
	results := res.Files
	if asJSON {
		out := signOutput{Key: key.ref, KeyFingerprint: "sha256:" + res.KeySHA256, Tlog: res.Tlog, LogOrigin: res.LogOrigin}
		for _, r := range results {
			f := signedFile{File: r.File, Digest: r.Digest, Bundle: r.Bundle, SignatureFile: r.SignatureFile,
				StatementFile: r.StatementFile, Signature: r.Signature, PredicateType: r.PredicateType}
			if r.Logged {
				f.LogIndex = &r.LogIndex
			}
			out.Files = append(out.Files, f)
		}
		if toStdout {
			out.Envelope = res.Envelope
		}
		return writeJSON(c.App.Writer, out)
	}
	if toStdout {
		// The primer's form redirects stdout to the .sig or .att file: a
		// write that fails (a full disk) must not exit 0 with an empty file.
		if err := printStdout(c.App.Writer); err != nil {
			return withHint(fmt.Errorf("writing to stdout: %w", output.UnwrapPath(err)),
				"the signature was made and recorded in the audit trail; sign again, or write it with --bundle or --output-signature")
		}
		if f := results[0].StatementFile; f != "" {
			fmt.Fprintf(c.App.ErrWriter, "Wrote statement to file %s\n", f)
		}
		return nil
	}
	if len(results) > 1 {
		fmt.Fprintf(c.App.ErrWriter, "Wrote %d bundles, each beside its file as FILE.sigstore.json\n", len(results))
		return nil
	}
	for _, r := range results {
		if r.Bundle != "" {
			fmt.Fprintf(c.App.ErrWriter, "Wrote bundle to file %s\n", r.Bundle)
		}
		if r.SignatureFile != "" {
			fmt.Fprintf(c.App.ErrWriter, "Wrote signature to file %s\n", r.SignatureFile)
		}
		if r.StatementFile != "" {
			fmt.Fprintf(c.App.ErrWriter, "Wrote statement to file %s\n", r.StatementFile)
		}
	}
	return nil
}

// stdoutUse names what a command prints on standard output, for
// output.NewCheck: its --output json document, else other ("" for nothing).
func stdoutUse(asJSON bool, other string) string {
	if asJSON {
		return "--output json"
	}
	return other
}

// descriptorName is output.DescriptorName, for verify's evidence names.
func descriptorName(name string) (int, bool) { return output.DescriptorName(name) }
