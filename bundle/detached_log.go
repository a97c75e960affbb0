package bundle

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/airlock-project/airlock/tlog"
)

// ErrEntryNotFound is returned by an EntryFinder that holds no entry with
// the body asked for.
var ErrEntryNotFound = errors.New("no log entry found")

// An EntryFinder finds the log entry of a detached signature by its
// canonicalized body (the hashedrekord or dsse body the signer logged,
// rebuilt from the signature, the key and the artifact's digest). It
// returns the entry as a Result lists it, checked (its inclusion in the
// log's current signed checkpoint, its signed entry timestamp), and the
// name of the trust source that vouches (the log); ErrEntryNotFound when
// it holds none. The site log in the database is one.
type EntryFinder interface {
	FindEntry(body []byte) (*FoundEntry, error)
}

// FoundEntry is a detached signature's log entry, verified by the finder.
type FoundEntry struct {
	Entry LogEntry
	// Source names the log that vouches, as Result.Trust.Source.
	Source string
	// URI is the log's URI for Result.Times (https://ORIGIN).
	URI string
}

// detachedVerified finishes a detached signature or attestation whose
// signature verified: its entry, rebuilt as body, must be found in the
// trust's log (Trust.Entries), unless the policy waives log evidence
// (InsecureIgnoreTlogUnsafe), which is said in a warning.
func (v *Verifier) detachedVerified(r *Result, body []byte, bodyErr error) (*Result, error) {
	var found *FoundEntry
	var err error
	switch {
	case bodyErr != nil:
		err = bodyErr
	case v.trust.Entries == nil:
		err = ErrEntryNotFound
	default:
		found, err = v.trust.Entries.FindEntry(body)
	}
	if err != nil && !errors.Is(err, ErrEntryNotFound) {
		return r.reject(ReasonTlogUnverified, fmt.Errorf("looking up the detached signature's log entry: %w", err))
	}
	if found == nil {
		if v.policy.InsecureIgnoreTlogUnsafe {
			v.keyVerified(r)
			return r, nil
		}
		if v.trust.Entries == nil {
			return r.reject(ReasonNoLogEntryFound, errors.New("no transparency-log entry found for this detached signature: no site log to look it up in"))
		}
		return r.reject(ReasonNoLogEntryFound, errors.New("no transparency-log entry found for this detached signature in the site log"))
	}
	r.Verified = true
	r.Status = "verified"
	r.Signer = &SignedBy{KeyFingerprint: v.keyFP}
	r.LogEntries = append(r.LogEntries, found.Entry)
	if t := found.Entry.IntegratedTime; t != nil {
		r.Times = append(r.Times, TimeUsed{Type: "Tlog", URI: found.URI, Time: *t})
	}
	r.Trust.Source = found.Source
	r.Warnings = append(append([]string{}, v.trust.vouchWarnings(v.trust.sourceIndex(found.Source))...), r.Warnings...)
	if v.policy.InsecureIgnoreTlogUnsafe {
		r.Warnings = append(r.Warnings, "--insecure-ignore-tlog was not needed: the detached signature's transparency-log entry was found and verified")
	}
	return r, nil
}

// hashedRekordBody is the body the signer logged for a detached message
// signature: sig over digest (alg) by the policy's key.
func (v *Verifier) hashedRekordBody(sig []byte, alg string, digest []byte) ([]byte, error) {
	d, ok := digestByName(alg)
	if !ok {
		return nil, fmt.Errorf("unsupported digest %q", alg)
	}
	return tlog.HashedRekordBody(sig, d.hash, digest, tlog.Verifier{PublicKey: v.policy.Key})
}

// dsseBody is the body the signer logged for a detached attestation: the
// envelope as the .att file holds it (JSON, or base64 of it), with the
// signature that verified under the policy's key.
func (v *Verifier) dsseBody(att, payload, sig []byte) ([]byte, error) {
	env := bytes.TrimSpace(att)
	if len(env) > 0 && env[0] != '{' {
		dec, err := base64.StdEncoding.DecodeString(string(env))
		if err != nil {
			return nil, err
		}
		env = bytes.TrimSpace(dec)
	}
	return tlog.DSSEBody(env, payload, []tlog.DSSESignature{{Sig: sig, Verifier: tlog.Verifier{PublicKey: v.policy.Key}}})
}

// logTime is a log entry's integrated time, for a FoundEntry.
func logTime(unix int64) *time.Time {
	if unix <= 0 {
		return nil
	}
	t := time.Unix(unix, 0).UTC()
	return &t
}
