package main

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/airlock-project/airlock/bundle"
	"github.com/airlock-project/airlock/cache"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

// sign-blob and attest-blob. The order of work is fixed so that a mistake
// costs nothing: flags and --tlog are checked first, then the files are
// looked up (and the predicate read), then the key is opened (PIN or
// password asked once), then every file is hashed and signed in parallel,
// each output going to a temporary file beside its destination; only when
// every signature succeeded are the audit records of the whole call
// committed in one database transaction and the temporary files renamed
// into place. A failure at any step before the renames removes the
// temporary files: no output, no audit record. A rename replaces a file
// atomically, so a half-written file never stands where a good one was.

func signCommands() []*cli.Command {
	return []*cli.Command{signBlobCommand(), attestBlobCommand()}
}

func signKeyFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "key", Usage: "signing key `KEYREF`: a pkcs11: URI (token key) or a PEM private key file (PKCS#8, SEC 1, PKCS#1, cosign.key)"},
		&cli.StringFlag{Name: "tlog", Usage: "transparency log: `none` makes a bundle with no log entry (required until a log is configured)"},
		&cli.StringFlag{Name: "certificate", Usage: "PEM certificate `FILE` for the key (leaf first); default: the certificate on the token, if any"},
		&cli.BoolFlag{Name: "keyless", Usage: "not available offline (needs Fulcio and an OIDC provider); use --key"},
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

--tlog none is required until a transparency log is configured; verify with
--insecure-ignore-tlog (bundles) or --signature (.sig).

Examples:
   airlock sign-blob --key 'pkcs11:token=release;object=signer' --tlog none ./hello.tgz > hello.tgz.sig
   airlock verify-blob --key release.pub --signature hello.tgz.sig ./hello.tgz

   airlock sign-blob --key 'pkcs11:token=release;object=signer?pin-source=/run/release.pin' \
       --tlog none --bundle hello.tgz.sigstore.json hello.tgz
   airlock sign-blob --key 'pkcs11:token=release;object=signer' --tlog none dist/*.tgz
   COSIGN_PASSWORD=... airlock sign-blob --key cosign.key --tlog none --output-signature f.sig f`,
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
   airlock attest-blob --key 'pkcs11:token=release;object=signer' --tlog none \
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
// touched: --keyless, a missing --key, and --tlog.
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
	switch v := c.String("tlog"); {
	case v == "none":
		return nil
	case v == "":
		return withHint(errors.New("no transparency log is configured, and airlock does not silently sign without one"),
			"pass --tlog none to make a bundle with no log entry (verify it with --insecure-ignore-tlog)")
	case v == "site" || strings.HasPrefix(v, "rekor="):
		return withHint(fmt.Errorf("transparency log %q is not configured yet", v),
			"pass --tlog none to make a bundle with no log entry")
	default:
		return usageErrorf("--tlog must be none, site or rekor=URL, not %q", v)
	}
}

// checkInputFile fails early, before the key is opened, for a FILE that
// does not exist or is a directory. (A FILE that cannot be read still fails
// the call later, before anything is written.)
func checkInputFile(name string) error {
	st, err := os.Stat(name)
	if err != nil {
		return fmt.Errorf("reading %q: %w", name, unwrapPath(err))
	}
	if st.IsDir() {
		return fmt.Errorf("reading %q: is a directory", name)
	}
	return nil
}

// dbWritable fails, before any signing, when the audit record could not be
// written: the database file is read-only, or it does not exist and its
// directory (the first one that exists) cannot be written.
func dbWritable(db string) error {
	p := followDangling(db)
	if _, err := os.Stat(p); err == nil {
		if !canReadWrite(p) {
			return fmt.Errorf("database %q is not writable: the audit record could not be stored", db)
		}
		return nil
	}
	for dir := filepath.Dir(p); ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(dir); err == nil {
			if err := writableDir(dir); err != nil {
				return fmt.Errorf("database %q cannot be created: %w", db, err)
			}
			return nil
		}
		if dir == filepath.Dir(dir) {
			return nil
		}
	}
}

// signOutputCheck starts the output check of a signing command (see
// outputCheck) with everything it reads or keeps: the FILEs (refusing one
// given twice), the key file, the certificate, the predicate, and the
// database that will hold the audit record. Outputs are checked against it
// before the key is opened: signing never overwrites what it signs, its
// key or its audit trail.
func signOutputCheck(c *cli.Context, files []string, stdoutUse string) (*outputCheck, error) {
	oc := newOutputCheck(stdoutUse)
	// "Given twice" is one path named twice (also through a link in the
	// path); two names of one file (a release's foo-latest.tgz link, a
	// hard link) are two FILEs with two bundles. Either way no output may
	// be an input: each input's file is registered.
	given := map[string]bool{}
	for _, f := range files {
		p := absPath(f)
		if real, err := filepath.EvalSymlinks(filepath.Dir(f)); err == nil {
			p = absPath(filepath.Join(real, filepath.Base(f)))
		}
		if given[p] {
			return nil, fmt.Errorf("%q is given twice", f)
		}
		given[p] = true
		oc.input(f, fmt.Sprintf("the input %q", f))
	}
	if ref := c.String("key"); !strings.HasPrefix(strings.ToLower(ref), "pkcs11:") {
		oc.input(ref, fmt.Sprintf("--key %q", ref))
	}
	oc.input(c.String("certificate"), fmt.Sprintf("--certificate %q", c.String("certificate")))
	if c.IsSet("predicate") {
		oc.input(c.String("predicate"), fmt.Sprintf("--predicate %q", c.String("predicate")))
	}
	if db, err := dbPath(c); err == nil {
		oc.input(db, fmt.Sprintf("the database %q (its audit trail)", db))
		if err := dbWritable(db); err != nil {
			return nil, err
		}
	}
	return oc, nil
}

// unwrapPath drops the path an os error names (the caller names the file
// as the user gave it, never a temporary file): *PathError, and
// *LinkError from a rename.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

// openSigner opens the KEYREF and the certificate for it.
func openSigner(c *cli.Context) (*signingKey, *bundle.Builder, error) {
	var certs []*x509.Certificate
	if p := c.String("certificate"); p != "" {
		data, err := readBounded(p, maxKeyFileSize)
		if err != nil {
			return nil, nil, fmt.Errorf("reading certificate %q: %w", p, err)
		}
		certs, err = cryptoutils.UnmarshalCertificatesFromPEM(data)
		if err != nil || len(certs) == 0 {
			return nil, nil, fmt.Errorf("reading certificate %q: no PEM certificate", p)
		}
	}
	key, err := openSigningKey(c, c.String("key"))
	if err != nil {
		return nil, nil, err
	}
	if certs == nil {
		certs = key.certs
	}
	s, err := bundle.NewBuilder(key.signer, certs)
	if err != nil {
		key.Close()
		return nil, nil, fmt.Errorf("key %q: %w", c.String("key"), err)
	}
	return key, s, nil
}

func readBounded(name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, unwrapPath(err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, unwrapPath(err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return data, nil
}

// signedFile is the work and the result for one FILE.
type signedFile struct {
	File          string `json:"file"`
	Digest        string `json:"digest"` // ALG:HEX of what was signed over
	Bundle        string `json:"bundle,omitempty"`
	SignatureFile string `json:"signatureFile,omitempty"`
	StatementFile string `json:"statementFile,omitempty"` // attest-blob --output-attestation
	Signature     string `json:"signature"`               // base64
	PredicateType string `json:"predicateType,omitempty"`

	bundleDigest string // "sha256:HEX" of the bundle written, for the audit trail
	bundleTo     outputTarget
	signatureTo  outputTarget
}

// signOutput is the JSON result of sign-blob and attest-blob.
type signOutput struct {
	Key            string          `json:"key"`
	KeyFingerprint string          `json:"keyFingerprint"` // hex SHA-256 of the DER public key
	Tlog           string          `json:"tlog"`
	Files          []*signedFile   `json:"files"`
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

	results := make([]*signedFile, len(files))
	for i, f := range files {
		r := &signedFile{File: f}
		switch {
		case len(files) > 1:
			r.Bundle = f + ".sigstore.json"
			if r.bundleTo, err = oc.output(r.Bundle, fmt.Sprintf("the bundle of %q, %q,", f, r.Bundle)); err != nil {
				return err
			}
		case !toStdout:
			r.Bundle, r.SignatureFile = bundleOut, sigOut
			if bundleOut != "" {
				if r.bundleTo, err = oc.output(bundleOut, fmt.Sprintf("--bundle %q", bundleOut)); err != nil {
					return err
				}
			}
			if sigOut != "" {
				if r.signatureTo, err = oc.output(sigOut, fmt.Sprintf("--output-signature %q", sigOut)); err != nil {
					return err
				}
			}
		}
		results[i] = r
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

	alg := bundle.HashName(signer.Hash())
	st := &staged{}
	defer st.abort()
	defer onInterrupt(st.abort)()
	prog := newProgress(c.App.ErrWriter, len(files))
	defer prog.done()
	err = parallel(len(files), func(i int) error {
		defer prog.add()
		r := results[i]
		f, err := os.Open(r.File)
		if err != nil {
			return fmt.Errorf("reading %q: %w", r.File, unwrapPath(err))
		}
		defer f.Close()
		d, err := signer.Digest(f)
		if err != nil {
			return fmt.Errorf("reading %q: %w", r.File, unwrapPath(err))
		}
		signed, err := signer.SignDigest(d)
		if err != nil {
			return fmt.Errorf("signing %q: %w", r.File, err)
		}
		r.Digest = alg + ":" + hex.EncodeToString(d)
		r.Signature = base64.StdEncoding.EncodeToString(signed.Signature)
		if r.Bundle != "" {
			// Only the digest is kept: a batch holds no bundle in memory
			// once it is staged.
			r.bundleDigest = sha256Digest(signed.Bundle)
			if err := st.write(r.bundleTo, signed.Bundle); err != nil {
				return err
			}
		}
		if r.SignatureFile != "" {
			// cosign --output-signature: base64, no newline.
			if err := st.write(r.signatureTo, []byte(r.Signature)); err != nil {
				return err
			}
		}
		return nil
	})
	prog.done()
	if err != nil {
		return err
	}
	if err := commitSigning(c, key, signer, "sign", results, st); err != nil {
		return err
	}
	return renderSigned(c, asJSON, key, signer, results, toStdout, nil, func(w io.Writer) error {
		_, err := fmt.Fprintln(w, results[0].Signature)
		return err
	})
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
	pred, err := readBounded(predPath, bundle.MaxPredicateSize)
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
	// Targets of --bundle, --output-signature (the envelope) and
	// --output-attestation (the statement), in that order; a name "" is
	// not written.
	names := []string{bundleOut, sigOut, attOut}
	flags := []string{"--bundle", "--output-signature", "--output-attestation"}
	targets := make([]outputTarget, len(names))
	for i, name := range names {
		if name == "" {
			continue
		}
		if targets[i], err = oc.output(name, fmt.Sprintf("%s %q", flags[i], name)); err != nil {
			return err
		}
	}

	key, signer, err := openSigner(c)
	if err != nil {
		return err
	}
	defer key.Close()

	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("reading %q: %w", file, unwrapPath(err))
	}
	sum, err := bundle.HashSHA256(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("reading %q: %w", file, unwrapPath(err))
	}
	stmt, ptypeURI, err := bundle.Statement(ptype, pred, []bundle.Subject{{Name: filepath.Base(file), SHA256: sum}}, time.Now())
	if err != nil {
		return fmt.Errorf("predicate %q: %w", predPath, err)
	}
	signed, err := signer.SignDSSE(bundle.InTotoPayloadType, stmt)
	if err != nil {
		return fmt.Errorf("signing %q: %w", file, err)
	}
	r := &signedFile{File: file, Digest: "sha256:" + hex.EncodeToString(sum), Bundle: bundleOut, SignatureFile: sigOut, StatementFile: attOut,
		Signature: base64.StdEncoding.EncodeToString(signed.Signature), PredicateType: ptypeURI}
	if bundleOut != "" {
		r.bundleDigest = sha256Digest(signed.Bundle)
	}
	st := &staged{}
	defer st.abort()
	defer onInterrupt(st.abort)()
	for i, data := range [][]byte{signed.Bundle, signed.Envelope, stmt} {
		if names[i] == "" {
			continue
		}
		if err := st.write(targets[i], data); err != nil {
			return err
		}
	}
	results := []*signedFile{r}
	if err := commitSigning(c, key, signer, "attest", results, st); err != nil {
		return err
	}
	return renderSigned(c, asJSON, key, signer, results, toStdout, signed.Envelope, func(w io.Writer) error {
		_, err := fmt.Fprintln(w, string(signed.Envelope))
		return err
	})
}

func sha256Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
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

// parallel runs fn(0..n-1) on a pool of workers and returns the first
// error; after an error no new work starts.
func parallel(n int, fn func(i int) error) error {
	workers := min(n, max(4, 2*runtime.GOMAXPROCS(0)))
	var next atomic.Int64
	var failed atomic.Bool
	var once sync.Once
	var first error
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					once.Do(func() { first = err })
					failed.Store(true)
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// staged holds outputs written to temporary files beside their
// destinations, to be renamed into place by commit or removed by abort. Safe
// for concurrent use by the signing workers and by the interrupt handler:
// once aborted or committed, no new temporary file is made.
type staged struct {
	mu        sync.Mutex
	temps     []string
	paths     []string
	names     []string // as given, for messages
	direct    []directOutput
	finished  bool // aborted or committed
	committed bool
}

// errInterrupted is the error of a write or commit after abort: the call
// was interrupted (or failed) and its outputs are being removed.
var errInterrupted = errors.New("interrupted")

// write stages data for t (from resolveOutput): in a temporary file beside
// the file it replaces, or, for a device, FIFO or descriptor, in memory
// until commit writes it through.
func (s *staged) write(t outputTarget, data []byte) error {
	fail := func(err error) error { return fmt.Errorf("writing %q: %w", t.name, unwrapPath(err)) }
	// The temporary file is created and registered under the lock, so an
	// abort (an interrupt) either sees it and removes it or comes first and
	// no file is made.
	s.mu.Lock()
	if s.finished {
		s.mu.Unlock()
		return fail(errInterrupted)
	}
	if t.direct {
		s.direct = append(s.direct, directOutput{t, data})
		s.mu.Unlock()
		return nil
	}
	f, err := t.createTemp()
	if err != nil {
		s.mu.Unlock()
		return fail(err)
	}
	s.temps = append(s.temps, f.Name())
	s.paths = append(s.paths, t.final)
	s.names = append(s.names, t.name)
	s.mu.Unlock()
	if err := t.fill(f, data, false); err != nil {
		return fail(err)
	}
	return nil
}

// A directOutput is data for a device or FIFO, written at commit.
type directOutput struct {
	target outputTarget
	data   []byte
}

// createTemp creates a new file beside path, mode 0644 (less the umask):
// bundles and signatures are public.
func createTemp(path string) (*os.File, error) {
	dir, base := filepath.Split(path)
	for range 10 {
		var rnd [6]byte
		rand.Read(rnd[:])
		f, err := os.OpenFile(filepath.Join(dir, "."+base+".tmp"+hex.EncodeToString(rnd[:])), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		if !errors.Is(err, os.ErrExist) {
			return f, err
		}
	}
	return nil, errors.New("cannot create a temporary file")
}

// abort removes every staged file not yet committed; later writes fail.
// It waits for a commit in progress, and then leaves its outputs alone.
func (s *staged) abort() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.finished = true
	if s.committed {
		return
	}
	for _, t := range s.temps {
		os.Remove(t)
	}
	s.temps, s.paths, s.names = nil, nil, nil
}

// commit runs record (the audit trail) and then renames the staged files
// into place, all under the lock: an interrupt lands before (nothing
// recorded, nothing written) or after (both done), never between.
//
// Devices and FIFOs are written last, after the lock is released: opening a
// FIFO blocks until it has a reader, and an interrupt meanwhile must still
// end the process (its abort finds the call committed and leaves it).
func (s *staged) commit(record func() error) error {
	direct, err := s.commitFiles(record)
	if err != nil {
		return err
	}
	for _, d := range direct {
		if err := d.target.writeDirect(d.data); err != nil {
			return withHint(err, "the signature was made and recorded in the audit trail; sign again to write this output")
		}
	}
	return nil
}

func (s *staged) commitFiles(record func() error) ([]directOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.finished {
		return nil, errInterrupted
	}
	s.finished = true
	removeTemps := func(temps []string) {
		for _, t := range temps {
			os.Remove(t)
		}
	}
	if err := record(); err != nil {
		removeTemps(s.temps)
		return nil, err
	}
	s.committed = true
	// The signatures are recorded: every output that can still be put in
	// place is (a rename can fail now only if the directory changed since
	// the check, e.g. another user's file appeared in a sticky directory),
	// and the error says which were not.
	var failed []string
	var firstErr error
	for i := range s.temps {
		if err := os.Rename(s.temps[i], s.paths[i]); err != nil {
			os.Remove(s.temps[i])
			failed = append(failed, s.names[i])
			if firstErr == nil {
				firstErr = fmt.Errorf("writing %q: %w", s.names[i], unwrapPath(err))
			}
		}
	}
	if firstErr != nil {
		if len(failed) > 1 {
			firstErr = fmt.Errorf("%w (and %d more outputs not written)", firstErr, len(failed)-1)
		}
		return nil, withHint(firstErr, fmt.Sprintf("the signatures were made and recorded in the audit trail, and %d of %d outputs written; sign the FILEs whose outputs are missing again", len(s.temps)-len(failed), len(s.temps)))
	}
	return s.direct, nil
}

// commitSigning records every signature in the audit trail in one
// transaction (bbolt syncs it), then renames the staged outputs into place.
// The outputs are not fsynced one by one: like cosign, airlock leaves that
// to the file system; for a batch of a thousand small bundles an fsync per
// file took most of the run time. A rename replaces a file atomically. The database is
// opened only here, after all signing is done.
func commitSigning(c *cli.Context, key *signingKey, signer *bundle.Builder, kind string, results []*signedFile, st *staged) error {
	return st.commit(func() error { return appendSignAudit(c, key, signer, kind, results) })
}

// onInterrupt runs fn if airlock is interrupted (SIGINT, SIGTERM, SIGHUP)
// before remove is called, and then lets the signal end the process as it
// would have: Go's default for these signals skips deferred cleanup, which
// left staged outputs behind and a terminal with echo off after Ctrl-C at a
// PIN prompt. A signal the process was started ignoring stays ignored.
func onInterrupt(fn func()) (remove func()) {
	interrupts.once.Do(func() {
		var sigs []os.Signal
		for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP} {
			if !signal.Ignored(sig) {
				sigs = append(sigs, sig)
			}
		}
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, sigs...)
		go func() {
			sig := <-ch
			interrupts.mu.Lock()
			for _, f := range interrupts.fns {
				f()
			}
			signal.Reset(sigs...)
			if p, err := os.FindProcess(os.Getpid()); err == nil {
				p.Signal(sig)
			}
			time.Sleep(time.Second)
			os.Exit(2) // not reached where the signal's default action ends the process
		}()
	})
	interrupts.mu.Lock()
	defer interrupts.mu.Unlock()
	if interrupts.fns == nil {
		interrupts.fns = map[int]func(){}
	}
	id := interrupts.next
	interrupts.next++
	interrupts.fns[id] = fn
	return func() {
		interrupts.mu.Lock()
		defer interrupts.mu.Unlock()
		delete(interrupts.fns, id)
	}
}

var interrupts struct {
	once sync.Once
	mu   sync.Mutex
	next int
	fns  map[int]func()
}

// appendSignAudit records one audit record per signature, all in one
// transaction.
func appendSignAudit(c *cli.Context, key *signingKey, signer *bundle.Builder, kind string, results []*signedFile) error {
	path, err := dbPath(c)
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
	now := time.Now().UTC()
	fp := fingerprint(signer.PublicKey())
	recs := make([]cache.AuditRecord, 0, len(results))
	for _, r := range results {
		fields := map[string]string{
			"key":             key.ref,
			"key_sha256":      fp,
			"artifact":        absPath(r.File),
			"artifact_digest": r.Digest,
			"signature":       r.Signature,
			"tlog":            "none",
		}
		// Paths are absolute, as the artifact's: a record read later,
		// from another directory, must still name the file.
		if r.Bundle != "" {
			fields["bundle"] = absPath(r.Bundle)
			fields["bundle_digest"] = r.bundleDigest
		}
		if r.SignatureFile != "" {
			fields["signature_file"] = absPath(r.SignatureFile)
		}
		if r.PredicateType != "" {
			fields["predicate_type"] = r.PredicateType
		}
		if cert := signer.Certificate(); cert != nil {
			sum := sha256.Sum256(cert.Raw)
			fields["certificate_sha256"] = hex.EncodeToString(sum[:])
		}
		recs = append(recs, cache.AuditRecord{Time: now, Kind: kind, Fields: fields})
	}
	if err := db.AppendAudit(recs...); err != nil {
		return fmt.Errorf("recording the signatures in the audit trail: %w", err)
	}
	return nil
}

// workDir is read once, and is the directory the process is really in
// (syscall.Getwd, not os.Getwd, which returns $PWD when it names the same
// directory through a symlink: "../x" must mean what the kernel makes of
// it, not the shell).
var workDir = sync.OnceValues(syscall.Getwd)

// absPath is name made absolute, as filepath.Abs does, or name when the
// working directory cannot be read.
func absPath(name string) string {
	if filepath.IsAbs(name) {
		return filepath.Clean(name)
	}
	wd, err := workDir()
	if err != nil {
		return name
	}
	return filepath.Join(wd, name)
}

// renderSigned prints the result: the signature or envelope (stdout mode),
// JSON, or one line per written file on stderr.
func renderSigned(c *cli.Context, asJSON bool, key *signingKey, signer *bundle.Builder, results []*signedFile, toStdout bool, envelope []byte, printStdout func(io.Writer) error) error {
	if asJSON {
		out := signOutput{Key: key.ref, KeyFingerprint: fingerprint(signer.PublicKey()), Tlog: "none", Files: results}
		if toStdout {
			out.Envelope = envelope
		}
		return writeJSON(c.App.Writer, out)
	}
	if toStdout {
		// The primer's form redirects stdout to the .sig or .att file: a
		// write that fails (a full disk) must not exit 0 with an empty file.
		if err := printStdout(c.App.Writer); err != nil {
			return withHint(fmt.Errorf("writing to stdout: %w", unwrapPath(err)),
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
