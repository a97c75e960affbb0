package bundle

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/airlock-project/airlock/output"
	"golang.org/x/sync/errgroup"
)

// Signing a batch is one call, SignFiles (AttestFile for one attestation),
// in phases whose order makes a failure cost nothing:
//
//  1. sign: every file is hashed (streamed) and signed, by at most Workers
//     at once;
//  2. log: if the request has a Logger, its Prepare gets every signature
//     and adds the log evidence to each bundle (the log's state is only
//     read: the append is prepared against the log's current size);
//  3. stage: each bundle and signature is written to its Outputs beside its
//     destination, not yet visible;
//  4. commit: the Recorder stores the audit records (and the prepared log
//     append) in one transaction, and only then are the outputs put in
//     place.
//
// A failure or a cancellation of ctx before the commit removes everything
// staged: no output, no record, no log entry. After it, every output that
// can be put in place is, and a *output.PartialCommitError says how many
// were.

// Outputs is where a signing call's outputs go: staged during the call,
// put in place at Commit, removed by Abort. *output.Batch satisfies it.
type Outputs interface {
	// Stage writes data for t, not yet visible at t.
	Stage(t output.Target, data []byte) error
	// Commit runs record and then puts every staged output in place, so
	// that a cancellation lands before both or after both.
	Commit(ctx context.Context, record func() error) error
	// Abort removes what is staged and not committed, and reports whether
	// the outputs were committed.
	Abort() (committed bool)
}

// An AuditRecord is one signature as the audit trail stores it. Its Fields
// are the trail's stable schema: key, key_sha256, artifact,
// artifact_digest, signature, tlog, and where they apply bundle,
// bundle_digest, signature_file, predicate_type, certificate_sha256,
// log_index and log_origin (a logged signature).
type AuditRecord struct {
	Time   time.Time
	Kind   string // "sign" or "attest"
	Fields map[string]string
}

// A SignCommit is what a signing call stores in one transaction.
type SignCommit struct {
	Records []AuditRecord
	// Log is the append that the request's Logger prepared, nil without a
	// Logger. The Recorder appends it in the same transaction, and fails
	// the commit if the log changed since it was prepared.
	Log any
}

// A Recorder stores a signing call's commit in one transaction; an error
// means nothing was stored. The database's store satisfies it through a
// small adapter in the command.
type Recorder interface {
	RecordSignatures(c *SignCommit) error
}

// A Logger makes the transparency-log evidence of a signing call. A nil
// Logger means no log: bundles carry no log entry.
type Logger interface {
	// Name is the log as the audit trail names it (its "tlog" field).
	Name() string
	// Origin names the log instance (a checkpoint origin), for the audit
	// trail's "log_origin" field.
	Origin() string
	// Prepare is called once every signature is made and before any
	// output is staged, with the signatures in the request's order. It
	// may replace each Signed's Bundle with one carrying the entry's
	// inclusion proof, checkpoint and SET (setting its LogIndex and
	// Logged), and returns the pending append
	// that the Recorder commits (SignCommit.Log). It must not change the
	// log itself.
	Prepare(ctx context.Context, signed []*Signed) (pending any, err error)
}

// A SignRequest says what SignFiles signs and where the outputs go.
type SignRequest struct {
	// KeyRef names the key in the audit records: a canonical PKCS#11 URI
	// (never a PIN) or "file:" and the key file's absolute path.
	KeyRef string
	Files  []FileRequest
	// Workers bounds the files hashed and signed at once; zero means
	// max(4, 2*GOMAXPROCS).
	Workers int
	// Now is the time of the audit records; zero means the time of the
	// commit.
	Now time.Time
	// Log makes the transparency-log evidence; nil means none.
	Log Logger
	// Progress, if not nil, is called (from any goroutine) after each file
	// is signed.
	Progress func()
}

// A FileRequest is one file of a SignRequest.
type FileRequest struct {
	// Path is the file to sign, as the user gave it; results and errors
	// name it so, the audit record by its absolute path.
	Path string
	// Bundle and Signature are where the bundle and the base64 signature
	// (cosign's .sig, no newline) go; nil means not written.
	Bundle, Signature *output.Target
}

// A SignResult is what a signing call made, in the request's order.
type SignResult struct {
	KeySHA256 string // hex SHA-256 of the DER public key, as in the audit trail
	Tlog      string // the log as the audit trail names it: "none" without one
	LogOrigin string // the log's origin; "" without a log
	Files     []SignedFile
	// Envelope and Statement are AttestFile's DSSE envelope (cosign's .att)
	// and the in-toto statement it signs.
	Envelope, Statement []byte
}

// A SignedFile is one file's signature and where it was written.
type SignedFile struct {
	File          string // as given
	Digest        string // ALG:HEX of what was signed over
	Signature     string // base64
	Bundle        string // as given; "" if not written
	BundleDigest  string // "sha256:HEX" of the bundle written
	SignatureFile string // as given; "" if not written
	StatementFile string // AttestFile's statement output, as given
	PredicateType string // AttestFile: the statement's predicate type URI
	// LogIndex is the index of the signature's log entry, when Logged.
	LogIndex int64
	Logged   bool
}

// SignFiles signs every file of req with signer (message signatures over
// the files' digests), writes the outputs to out and records the
// signatures with rec, in the phases above. On error or cancellation it
// returns as soon as no more work is being started; a worker blocked in a
// read that cannot be cancelled (a FIFO without a writer) is left behind
// and stages nothing.
func SignFiles(ctx context.Context, signer *Builder, req SignRequest, out Outputs, rec Recorder) (*SignResult, error) {
	if signer.Hash() == 0 {
		return nil, ErrMessageSignatureUnsupported
	}
	defer out.Abort()
	alg := HashName(signer.Hash())
	res := &SignResult{KeySHA256: keySHA256(signer.PublicKey()), Tlog: logName(req.Log), LogOrigin: logOrigin(req.Log), Files: make([]SignedFile, len(req.Files))}
	var signed []*Signed // kept for the Logger only: a batch without one holds no bundle once staged
	if req.Log != nil {
		signed = make([]*Signed, len(req.Files))
	}
	err := forEach(ctx, len(req.Files), req.Workers, func(i int) error {
		f := req.Files[i]
		r := &res.Files[i]
		r.File = f.Path
		s, d, err := signFile(signer, f.Path)
		if err != nil {
			return err
		}
		if req.Progress != nil {
			req.Progress()
		}
		r.Digest = alg + ":" + hex.EncodeToString(d)
		r.Signature = base64.StdEncoding.EncodeToString(s.Signature)
		if signed != nil {
			signed[i] = s
			return nil
		}
		return stageFile(ctx, out, f, r, s)
	})
	if err != nil {
		return nil, err
	}
	var pending any
	if req.Log != nil {
		if pending, err = req.Log.Prepare(ctx, signed); err != nil {
			return nil, err
		}
		for i, s := range signed {
			res.Files[i].LogIndex, res.Files[i].Logged = s.LogIndex, s.Logged
		}
		err = forEach(ctx, len(req.Files), req.Workers, func(i int) error {
			return stageFile(ctx, out, req.Files[i], &res.Files[i], signed[i])
		})
		if err != nil {
			return nil, err
		}
	}
	if err := commit(ctx, out, rec, signer, req.KeyRef, req.Now, "sign", res, pending); err != nil {
		return nil, err
	}
	return res, nil
}

// signFile hashes and signs one file.
func signFile(signer *Builder, path string) (*Signed, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading %q: %w", path, unwrapPath(err))
	}
	defer f.Close()
	d, err := signer.Digest(f)
	if err != nil {
		return nil, nil, fmt.Errorf("reading %q: %w", path, unwrapPath(err))
	}
	s, err := signer.SignDigest(d)
	if err != nil {
		return nil, nil, fmt.Errorf("signing %q: %w", path, err)
	}
	return s, d, nil
}

// stageFile stages one file's bundle and signature.
func stageFile(ctx context.Context, out Outputs, f FileRequest, r *SignedFile, s *Signed) error {
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx)
	}
	if f.Bundle != nil {
		r.Bundle = f.Bundle.Name()
		r.BundleDigest = sha256Digest(s.Bundle)
		if err := out.Stage(*f.Bundle, s.Bundle); err != nil {
			return err
		}
	}
	if f.Signature != nil {
		r.SignatureFile = f.Signature.Name()
		if err := out.Stage(*f.Signature, []byte(r.Signature)); err != nil {
			return err
		}
	}
	return nil
}

// An AttestRequest says what AttestFile attests and where the outputs go.
type AttestRequest struct {
	KeyRef string // as in SignRequest
	// File is the artifact, the statement's subject (by its base name and
	// SHA-256).
	File string
	// PredicateType and Predicate are as for Statement.
	PredicateType string
	Predicate     []byte
	// Bundle, Envelope (cosign's .att) and Statement are where each goes;
	// nil means not written.
	Bundle, Envelope, Statement *output.Target
	// Now is the statement's and the audit record's time; zero means now.
	Now time.Time
	Log Logger // as in SignRequest
}

// AttestFile makes an in-toto statement about req.File with the predicate,
// signs it in a DSSE envelope with signer, writes the outputs to out and
// records the signature with rec, in the phases of SignFiles.
func AttestFile(ctx context.Context, signer *Builder, req AttestRequest, out Outputs, rec Recorder) (*SignResult, error) {
	defer out.Abort()
	f, err := os.Open(req.File)
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", req.File, unwrapPath(err))
	}
	sum, err := HashSHA256(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", req.File, unwrapPath(err))
	}
	now := req.Now
	if now.IsZero() {
		now = time.Now()
	}
	stmt, ptype, err := Statement(req.PredicateType, req.Predicate, []Subject{{Name: filepath.Base(req.File), SHA256: sum}}, now)
	if err != nil {
		return nil, fmt.Errorf("predicate: %w", err)
	}
	s, err := signer.SignDSSE(InTotoPayloadType, stmt)
	if err != nil {
		return nil, fmt.Errorf("signing %q: %w", req.File, err)
	}
	var pending any
	if req.Log != nil {
		if pending, err = req.Log.Prepare(ctx, []*Signed{s}); err != nil {
			return nil, err
		}
	}
	r := SignedFile{File: req.File, Digest: "sha256:" + hex.EncodeToString(sum),
		Signature: base64.StdEncoding.EncodeToString(s.Signature), PredicateType: ptype,
		LogIndex: s.LogIndex, Logged: s.Logged}
	for _, o := range []struct {
		to   *output.Target
		data []byte
		name *string
	}{{req.Bundle, s.Bundle, &r.Bundle}, {req.Envelope, s.Envelope, &r.SignatureFile}, {req.Statement, stmt, &r.StatementFile}} {
		if o.to == nil {
			continue
		}
		*o.name = o.to.Name()
		if err := ctx.Err(); err != nil {
			return nil, context.Cause(ctx)
		}
		if err := out.Stage(*o.to, o.data); err != nil {
			return nil, err
		}
	}
	if req.Bundle != nil {
		r.BundleDigest = sha256Digest(s.Bundle)
	}
	res := &SignResult{KeySHA256: keySHA256(signer.PublicKey()), Tlog: logName(req.Log), LogOrigin: logOrigin(req.Log), Files: []SignedFile{r},
		Envelope: s.Envelope, Statement: stmt}
	if err := commit(ctx, out, rec, signer, req.KeyRef, req.Now, "attest", res, pending); err != nil {
		return nil, err
	}
	return res, nil
}

// commit records one audit record per signature, with the pending log
// append, and puts the outputs in place.
func commit(ctx context.Context, out Outputs, rec Recorder, signer *Builder, keyRef string, now time.Time, kind string, res *SignResult, pending any) error {
	return out.Commit(ctx, func() error {
		t := now
		if t.IsZero() {
			t = time.Now()
		}
		c := &SignCommit{Records: auditRecords(signer, keyRef, t.UTC(), kind, res), Log: pending}
		return rec.RecordSignatures(c)
	})
}

// auditRecords are the audit records of res, one per signature. Paths are
// absolute: a record read later, from another directory, must still name
// the file.
func auditRecords(signer *Builder, keyRef string, t time.Time, kind string, res *SignResult) []AuditRecord {
	var certSum string
	if cert := signer.Certificate(); cert != nil {
		sum := sha256.Sum256(cert.Raw)
		certSum = hex.EncodeToString(sum[:])
	}
	recs := make([]AuditRecord, 0, len(res.Files))
	for _, r := range res.Files {
		fields := map[string]string{
			"key":             keyRef,
			"key_sha256":      res.KeySHA256,
			"artifact":        output.Abs(r.File),
			"artifact_digest": r.Digest,
			"signature":       r.Signature,
			"tlog":            res.Tlog,
		}
		if r.Bundle != "" {
			fields["bundle"] = output.Abs(r.Bundle)
			fields["bundle_digest"] = r.BundleDigest
		}
		if r.SignatureFile != "" {
			fields["signature_file"] = output.Abs(r.SignatureFile)
		}
		if r.PredicateType != "" {
			fields["predicate_type"] = r.PredicateType
		}
		if certSum != "" {
			fields["certificate_sha256"] = certSum
		}
		if r.Logged {
			fields["log_index"] = strconv.FormatInt(r.LogIndex, 10)
			fields["log_origin"] = res.LogOrigin
		}
		recs = append(recs, AuditRecord{Time: t, Kind: kind, Fields: fields})
	}
	return recs
}

// forEach runs fn(0..n-1) on at most workers goroutines (0: the
// default) and returns the first error, or ctx's cause once ctx is
// cancelled; after either no new work starts. It returns at cancellation
// without waiting for a call blocked in an uncancellable read.
func forEach(ctx context.Context, n, workers int, fn func(i int) error) error {
	if workers <= 0 {
		workers = max(4, 2*runtime.GOMAXPROCS(0))
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	done := make(chan error, 1)
	go func() {
		for i := range n {
			if gctx.Err() != nil {
				break
			}
			g.Go(func() error {
				if gctx.Err() != nil {
					return nil
				}
				return fn(i)
			})
		}
		done <- g.Wait()
	}()
	select {
	case err := <-done:
		if err == nil && ctx.Err() != nil {
			err = context.Cause(ctx)
		}
		return err
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func logOrigin(l Logger) string {
	if l == nil {
		return ""
	}
	return l.Origin()
}

func logName(l Logger) string {
	if l == nil {
		return "none"
	}
	return l.Name()
}

// keySHA256 is the hex SHA-256 of pub's DER SubjectPublicKeyInfo.
func keySHA256(pub crypto.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

func sha256Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// unwrapPath drops the path an os error names: errors name the file as
// the caller gave it.
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
