package bundle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"

	"golang.org/x/sync/errgroup"
)

// EvidenceKind says what an evidence file is.
type EvidenceKind int

const (
	// EvidenceBundle is a Sigstore bundle (JSON).
	EvidenceBundle EvidenceKind = iota
	// EvidenceSignature is cosign's detached signature: base64 text.
	EvidenceSignature
	// EvidenceAttestation is cosign's bare DSSE envelope (.att).
	EvidenceAttestation
)

// Item is one verification: an artifact (a file name, or ALG:HEX) and the
// file holding its evidence.
type Item struct {
	Artifact string
	// ArtifactReader, when set, is streamed as the artifact instead of the
	// file named Artifact, which then only names it in the Result ("-" for
	// standard input). It is read once: an Item with one is verified once.
	ArtifactReader io.Reader

	Evidence string
	// EvidenceData, when set, is a detached signature or attestation given
	// as itself (cosign's --signature takes base64 content as well as a
	// file) instead of the file named Evidence, which then only names it in
	// the Result. Bundles are always read from their file.
	EvidenceData []byte

	Kind EvidenceKind

	// LogBundle, for a detached signature or attestation, names a Sigstore
	// bundle whose log entry vouches for it (cosign's --signature with
	// --bundle; see VerifySignatureWithBundle). Empty: the entry is looked
	// up in the trust's site log (Trust.Entries).
	LogBundle string
}

// ItemResult is an Item's outcome. Err wraps ErrRejected when the evidence
// does not hold; any other Err means the item could not be checked (an
// unreadable file, a malformed digest argument), and Result may be nil.
type ItemResult struct {
	Result *Result
	Err    error
}

// ErrNotChecked is wrapped, with the context's cause, by the Err of an
// item a cancelled batch did not start: it was not checked, so it is
// neither verified nor rejected.
var ErrNotChecked = errors.New("not checked")

type notChecked struct{ cause error }

func (e *notChecked) Error() string   { return "not checked: " + e.cause.Error() }
func (e *notChecked) Unwrap() []error { return []error{ErrNotChecked, e.cause} }

// VerifyFiles verifies items in parallel on all cores and returns their
// outcomes in the items' order. Each worker reads the evidence, streams
// the artifact, and verifies; the Verifier's caches are shared. Once ctx
// is done no further item starts: those left have an Err wrapping
// ErrNotChecked and context.Cause(ctx), and no Result. Items already
// started run to their end.
func (v *Verifier) VerifyFiles(ctx context.Context, items []Item) []ItemResult {
	out := make([]ItemResult, len(items))
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i := range items {
		g.Go(func() error {
			if ctx.Err() != nil {
				out[i] = ItemResult{Err: &notChecked{context.Cause(ctx)}}
				return nil
			}
			r, err := v.verifyFile(ctx, items[i])
			out[i] = ItemResult{r, err}
			return nil
		})
	}
	g.Wait()
	return out
}

// VerifyFile verifies one item. The evidence is read first, since it says
// which digest the artifact needs; then the artifact is streamed (or its
// ALG:HEX argument parsed) and the evidence verified.
func (v *Verifier) VerifyFile(it Item) (*Result, error) {
	return v.verifyFile(context.Background(), it)
}

func (v *Verifier) verifyFile(ctx context.Context, it Item) (*Result, error) {
	// A missing artifact is said first: a mistyped FILE is the mistake,
	// not its FILE.sigstore.json that is missing as a consequence.
	if it.ArtifactReader == nil {
		if _, isDigest, _ := ParseDigestArg(it.Artifact); !isDigest {
			if _, err := os.Stat(it.Artifact); errors.Is(err, fs.ErrNotExist) {
				return nil, fileErr("artifact", it.Artifact, err)
			}
		}
	}
	switch it.Kind {
	case EvidenceSignature, EvidenceAttestation:
		data := it.EvidenceData
		if data == nil {
			f, err := os.Open(it.Evidence)
			if err != nil {
				return nil, fileErr("signature", it.Evidence, err)
			}
			data, err = ReadLimited(f, MaxSignatureSize, fmt.Sprintf("signature %q", it.Evidence))
			f.Close()
			if err != nil {
				if errors.Is(err, ErrRejected) {
					return v.rejectedUnread(kindName(it.Kind), it, err), err
				}
				return nil, fileErr("signature", it.Evidence, err)
			}
		}
		algs := SignatureDigestAlgorithms(v.policy.Key)
		if it.Kind == EvidenceAttestation {
			if _, _, st, err := ParseAttestation(data); err == nil {
				algs = AttestationDigestAlgorithms(st)
			}
		}
		var lb *LogBundle
		if it.LogBundle != "" {
			b, err := readBundleFile(it.LogBundle)
			if err != nil {
				if errors.Is(err, ErrRejected) {
					if ReasonOf(err) == ReasonMalformedBundle {
						err = &LogBundleError{Bundle: it.LogBundle, Err: err}
					}
					r := v.rejectedUnread(kindName(it.Kind), it, err)
					r.LogBundle = it.LogBundle
					return r, err
				}
				return nil, err
			}
			lb = &LogBundle{Name: it.LogBundle, Bundle: b}
			for _, alg := range DigestAlgorithms(b) {
				if !contains(algs, alg) {
					algs = append(algs, alg)
				}
			}
		}
		a, err := it.artifact(algs)
		if err != nil {
			return nil, err
		}
		if it.Kind == EvidenceAttestation {
			return v.verifyAttestationFile(data, it.Evidence, lb, a)
		}
		return v.verifySignatureFile(data, it.Evidence, lb, a)
	default:
		b, err := ReadBundleFile(it.Evidence)
		if err != nil {
			if errors.Is(err, ErrRejected) {
				return v.rejectedUnread("bundle", it, err), err
			}
			return nil, err
		}
		a, err := it.artifact(DigestAlgorithms(b))
		if err != nil {
			return nil, err
		}
		return v.VerifyBundleContext(ctx, b, it.Evidence, a)
	}
}

// rejectedUnread is the Result for evidence rejected before it could be
// verified (a malformed bundle or signature): it still says where trust
// came from and its time, as every Result does.
func (v *Verifier) rejectedUnread(kind string, it Item, err error) *Result {
	r := NewRejectedResult(kind, it.Evidence, it.Artifact, err)
	r.Trust = v.newResult(kind, it.Evidence, Artifact{Name: it.Artifact}).Trust
	return r
}

// ErrorResult is the Result for an item that could not be checked (its
// ItemResult has an Err that is not a rejection and no Result): status
// "error", err as the reason, and the trust it would have been checked
// against.
func (v *Verifier) ErrorResult(it Item, err error) *Result {
	r := v.rejectedUnread(kindName(it.Kind), it, err)
	r.Status = "error"
	return r
}

// String is the kind's name in results: "bundle", "signature" or
// "attestation".
func (k EvidenceKind) String() string { return kindName(k) }

func kindName(k EvidenceKind) string {
	switch k {
	case EvidenceSignature:
		return "signature"
	case EvidenceAttestation:
		return "attestation"
	}
	return "bundle"
}

// ErrBadDigestArg is wrapped by ArtifactFor's error for an ALG:HEX
// argument that is not a valid digest (a usage mistake).
var ErrBadDigestArg = errors.New("bad digest argument")

// ArtifactFor returns the artifact's digests: parsed from an ALG:HEX
// argument, or computed by streaming the file with algs.
func ArtifactFor(arg string, algs []string) (Artifact, error) {
	a, isDigest, err := ParseDigestArg(arg)
	if isDigest {
		if err != nil {
			return Artifact{}, &badDigestArg{err}
		}
		return a, nil
	}
	return DigestFile(arg, algs)
}

// artifact streams the item's ArtifactReader, or else is ArtifactFor.
func (it Item) artifact(algs []string) (Artifact, error) {
	if it.ArtifactReader == nil {
		return ArtifactFor(it.Artifact, algs)
	}
	d, err := HashReader(it.ArtifactReader, algs)
	if err != nil {
		return Artifact{}, fileErr("artifact", it.Artifact, err)
	}
	return Artifact{Name: it.Artifact, Digests: d}, nil
}

type badDigestArg struct{ err error }

func (e *badDigestArg) Error() string   { return e.err.Error() }
func (e *badDigestArg) Unwrap() []error { return []error{ErrBadDigestArg, e.err} }
