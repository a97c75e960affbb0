package bundle

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/url"

	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"golang.org/x/sync/errgroup"

	"github.com/airlock-project/airlock/tlog/rekorv2"
)

// RekorV2Concurrency is the most submissions a RekorV2Logger has in flight
// at once. A Rekor v2 server answers a submission only once its entry is
// in a published checkpoint (about a second), and batches what arrives
// meanwhile: a batch of files is logged in about the time of one. It is
// rekor-tiles' default --batch-max-size; with 64, 1000 files took 17 s
// instead of 5 (docs/benchmarks.md).
const RekorV2Concurrency = 256

// RekorV2Logger is the Logger of a Rekor v2 (rekor-tiles) server: each
// signature is submitted as a hashedrekord v0.0.2 entry (a DSSE envelope
// as the hashedrekord of its pre-authentication encoding, see
// rekorv2.NewDSSE), every answer is checked by rekorv2.Submit under the
// log key and origin, and each bundle gets its entry and inclusion proof.
// A failure of any submission fails Prepare, so nothing is written; the
// entries already accepted stay in the remote log (it is append-only).
// There is nothing to commit locally: the pending append is nil.
type RekorV2Logger struct {
	url    string
	logKey crypto.PublicKey
	origin string
	client *rekorv2.Client
}

// NewRekorV2Logger returns the Logger of the Rekor v2 server at baseURL
// (http or https), whose checkpoints are signed by logKey (ECDSA P-256 or
// Ed25519) with origin; an empty origin means the host of baseURL, the
// origin sigstore-go expects of a log listed with that baseUrl. client nil
// means rekorv2's default client.
func NewRekorV2Logger(baseURL string, logKey crypto.PublicKey, origin string, client *rekorv2.Client) (*RekorV2Logger, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%w: %q is not an http(s) base URL", rekorv2.ErrRequest, baseURL)
	}
	if origin == "" {
		origin = u.Hostname()
	}
	if _, err := rekorv2.LogID(origin, logKey); err != nil {
		return nil, err
	}
	if client == nil {
		client = &rekorv2.Client{}
	}
	return &RekorV2Logger{url: baseURL, logKey: logKey, origin: origin, client: client}, nil
}

// Name is "rekor=" and the base URL.
func (l *RekorV2Logger) Name() string { return "rekor=" + l.url }

// Origin is the log's checkpoint origin.
func (l *RekorV2Logger) Origin() string { return l.origin }

// Prepare submits every signature, at most RekorV2Concurrency at once, and
// puts each checked entry into its bundle. It returns nil: the remote log
// holds the entries.
func (l *RekorV2Logger) Prepare(ctx context.Context, signed []*Signed) (any, error) {
	reqs := make([]*rekorv2.Request, len(signed))
	for i, s := range signed {
		r, err := rekorV2Request(s)
		if err != nil {
			return nil, fmt.Errorf("rekor v2 entry: %w", err)
		}
		reqs[i] = r
	}
	tles := make([]*protorekor.TransparencyLogEntry, len(signed))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(RekorV2Concurrency)
	for i := range reqs {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			tle, err := l.client.Submit(gctx, l.url, reqs[i], l.logKey, l.origin)
			if err != nil {
				return fmt.Errorf("logging to %s: %w", l.url, err)
			}
			tles[i] = tle
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, context.Cause(ctx)
	}
	for i, s := range signed {
		if err := s.addLogEntry(tles[i]); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// rekorV2Request is the entry of s, from its bundle's own content: the
// message digest or the envelope, the signature and the verifier.
func rekorV2Request(s *Signed) (*rekorv2.Request, error) {
	if s.pb == nil {
		return nil, errors.New("signature was not made by a Builder")
	}
	v := rekorv2.Verifier{PublicKey: s.verifier.PublicKey, Certificate: s.verifier.Certificate}
	if env := s.pb.GetDsseEnvelope(); env != nil {
		key := s.verifier.PublicKey
		if s.verifier.Certificate != nil {
			key = s.verifier.Certificate.PublicKey
		}
		if _, ok := key.(ed25519.PublicKey); ok {
			// rekor-tiles checks an Ed25519 envelope signature as
			// Ed25519ph over the PAE's SHA-512; the Builder signs pure
			// Ed25519 (what DSSE verifiers expect).
			return nil, errors.New("a Rekor v2 log cannot take a pure Ed25519 envelope signature: attest with an ECDSA or RSA key")
		}
		return rekorv2.NewDSSE(env.GetPayloadType(), env.GetPayload(), s.Signature, v)
	}
	ms := s.pb.GetMessageSignature()
	if ms == nil {
		return nil, errors.New("bundle holds neither a message signature nor an envelope")
	}
	return rekorv2.NewHashedRekord(ms.GetMessageDigest().GetDigest(), ms.GetSignature(), v)
}
