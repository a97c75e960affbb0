package bundle

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"time"

	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"

	"github.com/airlock-project/airlock/tlog"
)

// SiteLogger is the Logger of the site transparency log: each signature
// becomes a Rekor v1 entry (hashedrekord 0.0.1 for a message signature,
// dsse 0.0.1 for an envelope), the batch is prepared against the log as
// it is (tlog.Log.Prepare: indexes, SETs, proofs and the new checkpoint,
// signed by the log key) and every bundle gets its entry. The pending
// append it returns is a *SiteLogAppend; the Recorder commits it.
type SiteLogger struct {
	Log *tlog.Log
	// Signer is the log key (ECDSA P-256, the key of Log).
	Signer crypto.Signer
	// Now is the integrated time of the entries; nil means time.Now.
	Now func() time.Time
}

// SiteLogAppend is a SiteLogger's pending append: commit it with
// Log.Append(ctx, Batch), in the transaction that stores the audit
// records. If the log moved since Prepare, Append fails with
// tlog.ErrWriteConflict and nothing is written; the signing call then
// fails as a whole (its bundles name indexes that the log now gives to
// other entries).
type SiteLogAppend struct {
	Log   *tlog.Log
	Batch *tlog.Batch
}

// Name is "site".
func (l *SiteLogger) Name() string { return "site" }

// Origin is the log's origin.
func (l *SiteLogger) Origin() string { return l.Log.Meta().Origin }

// Prepare makes the entries of signed, prepares their append and puts each
// entry into its bundle.
func (l *SiteLogger) Prepare(ctx context.Context, signed []*Signed) (any, error) {
	// The bodies and then the bundles are made on the workers of the
	// signing phase: a batch's bundles take as long to encode as their
	// SETs take to check.
	bodies := make([][]byte, len(signed))
	err := forEach(ctx, len(signed), 0, func(i int) error {
		b, err := entryBody(signed[i])
		if err != nil {
			return fmt.Errorf("site log entry: %w", err)
		}
		bodies[i] = b
		return nil
	})
	if err != nil {
		return nil, err
	}
	now := time.Now()
	if l.Now != nil {
		now = l.Now()
	}
	batch, err := l.Log.Prepare(ctx, bodies, now, l.Signer)
	if err != nil {
		return nil, err
	}
	err = forEach(ctx, len(signed), 0, func(i int) error {
		tle, err := batch.TransparencyLogEntry(i)
		if err != nil {
			return err
		}
		return signed[i].addLogEntry(tle)
	})
	if err != nil {
		return nil, err
	}
	return &SiteLogAppend{Log: l.Log, Batch: batch}, nil
}

// entryBody is the canonicalized Rekor v1 body of s.
func entryBody(s *Signed) ([]byte, error) {
	if s.pb == nil {
		return nil, errors.New("signature was not made by a Builder")
	}
	if s.Envelope != nil {
		env := s.pb.GetDsseEnvelope()
		if env == nil {
			return nil, errors.New("envelope signature has no DSSE envelope")
		}
		return tlog.DSSEBody(s.Envelope, env.Payload, []tlog.DSSESignature{{Sig: s.Signature, Verifier: s.verifier}})
	}
	return tlog.HashedRekordBody(s.Signature, s.hash, s.digest, s.verifier)
}

// addLogEntry puts tle into s's bundle (the only entry) and re-encodes it.
func (s *Signed) addLogEntry(tle *protorekor.TransparencyLogEntry) error {
	s.pb.VerificationMaterial.TlogEntries = []*protorekor.TransparencyLogEntry{tle}
	if err := s.encode(); err != nil {
		return err
	}
	s.LogIndex, s.Logged = tle.LogIndex, true
	return nil
}
