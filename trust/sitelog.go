package trust

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// LogKey is one key of a transparency log the site runs (its site log),
// with the window in which it signed. A log whose key was rotated is
// listed as one LogKey per key, each with its window, so that bundles
// logged under an old key keep verifying.
//
// trust takes these as plain values rather than opening the log itself:
// the caller (cmd/airlock) reads them from the log's metadata, so trust
// depends on neither package tlog nor the log's storage.
type LogKey struct {
	// Origin is the log's checkpoint origin (a host name); the trusted
	// root's baseUrl is https://Origin, as verifiers match it.
	Origin string
	// PublicKey is the log key, PKIX DER (ECDSA P-256).
	PublicKey []byte
	// ValidFrom is when the key began signing (the log's creation, or the
	// rotation to it); ValidTo when it stopped, zero while it is current.
	ValidFrom, ValidTo time.Time
}

// SiteLogSourceName is the name of the Source for a site log's keys,
// as a verification's result names it.
func SiteLogSourceName(origin string) string { return "site-log " + origin }

// LogTrustedRootJSON returns a trusted_root.json that lists keys as
// transparency logs and nothing else (no certificate authority: bundles
// signed with a public key need none). Its bytes are laid out as
// MergeTrustedRoots lays them out, so it merges with a repository's.
func LogTrustedRootJSON(keys []LogKey) ([]byte, error) {
	if len(keys) == 0 {
		return nil, errors.New("no log keys")
	}
	out := &prototrustroot.TrustedRoot{MediaType: root.TrustedRootMediaType01}
	for _, k := range keys {
		pub, err := x509.ParsePKIXPublicKey(k.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("log %q key: %w", k.Origin, err)
		}
		details, err := keyDetails(pub)
		if err != nil {
			return nil, fmt.Errorf("log %q key: %w", k.Origin, err)
		}
		id := sha256.Sum256(k.PublicKey)
		// Whole seconds, outward: integrated times are whole seconds, and
		// an entry logged in the second the log was created (or its key
		// rotated) was signed at or after ValidFrom, not before it.
		validFor := &protocommon.TimeRange{Start: timestamppb.New(k.ValidFrom.UTC().Truncate(time.Second))}
		if !k.ValidTo.IsZero() {
			end := k.ValidTo.UTC()
			if t := end.Truncate(time.Second); !t.Equal(end) {
				end = t.Add(time.Second)
			}
			validFor.End = timestamppb.New(end)
		}
		out.Tlogs = append(out.Tlogs, &prototrustroot.TransparencyLogInstance{
			BaseUrl:       "https://" + k.Origin,
			HashAlgorithm: protocommon.HashAlgorithm_SHA2_256,
			PublicKey: &protocommon.PublicKey{
				RawBytes: bytes.Clone(k.PublicKey), KeyDetails: details, ValidFor: validFor,
			},
			LogId: &protocommon.LogId{KeyId: id[:]},
		})
	}
	return EncodeTrustedRoot(out)
}

// SiteLogSource is the Source for a site log's keys: a trusted root that
// lists them as transparency logs (LogTrustedRootJSON), named
// SiteLogSourceName(origin) after the first key's origin.
func SiteLogSource(keys []LogKey) (Source, error) {
	data, err := LogTrustedRootJSON(keys)
	if err != nil {
		return Source{}, err
	}
	tr, err := root.NewTrustedRootFromJSON(data)
	if err != nil {
		return Source{}, fmt.Errorf("site log trusted root does not parse: %w", err)
	}
	return Source{Name: SiteLogSourceName(keys[0].Origin), Material: tr}, nil
}

// WithSiteLog returns the selection a verification uses when the database
// also holds a site log with keys: sel (or, when err says no repository
// was usable, the selection err carries) with the site log's Source
// appended after the repositories. err is ForVerification's; an error
// other than a *SelectionError is returned as it is, and with no keys
// WithSiteLog returns sel, err unchanged. A site with no TUF repository
// at all verifies against its site log alone.
//
// A bundle whose signing key has a certificate from a repository's
// certificate authority, logged in the site log, needs material from both:
// for each selected repository whose trusted root lists a certificate
// authority, a combined Source follows the site log's (CombinedSourceName:
// the repository's certificate authorities, CT logs and timestamping
// authorities, and the site log's keys as its only transparency logs;
// see CombineWithLog). It carries the repository's warnings, since the
// certificate's trust is the repository's. Every piece of it is material
// the database trusts on its own; the combination only lets a
// certificate from one be dated and logged by the other.
func WithSiteLog(sel *Selection, err error, keys []LogKey) (*Selection, error) {
	if len(keys) == 0 {
		return sel, err
	}
	if err != nil {
		var se *SelectionError
		if !errors.As(err, &se) || se.Selection == nil {
			return sel, err
		}
		sel = se.Selection
	}
	src, serr := SiteLogSource(keys)
	if serr != nil {
		return nil, serr
	}
	logJSON, serr := LogTrustedRootJSON(keys)
	if serr != nil {
		return nil, serr
	}
	var combined []Source
	for i, r := range sel.Repos {
		if r.TrustedRoot == nil || len(r.TrustedRoot.FulcioCertificateAuthorities()) == 0 {
			continue
		}
		data, cerr := CombineWithLog(r.TrustedRootJSON, logJSON)
		if cerr != nil {
			return nil, fmt.Errorf("repository %q with the site log: %w", r.Name, cerr)
		}
		tr, cerr := root.NewTrustedRootFromJSON(data)
		if cerr != nil {
			return nil, fmt.Errorf("repository %q with the site log: %w", r.Name, cerr)
		}
		var warnings []string
		if i < len(sel.Sources) && sel.Sources[i].Name == r.Name {
			warnings = sel.Sources[i].Warnings
		}
		combined = append(combined, Source{Name: CombinedSourceName(r.Name, keys[0].Origin), Material: tr, Warnings: warnings})
	}
	sel.Sources = append(append(sel.Sources, src), combined...)
	return sel, nil
}

// CombinedSourceName is the name of the Source that combines repository
// repo's certificate authorities with the site log named origin
// (WithSiteLog), as a verification's result names it.
func CombinedSourceName(repo, origin string) string {
	return repo + " + " + SiteLogSourceName(origin)
}

// CombineWithLog returns a trusted_root.json with caRoot's certificate
// authorities, CT logs and timestamping authorities, and logRoot's
// transparency logs in place of caRoot's own. Both are trusted_root.json
// documents; the result is laid out as MergeTrustedRoots lays it out.
func CombineWithLog(caRoot, logRoot []byte) ([]byte, error) {
	var ca, logs prototrustroot.TrustedRoot
	if err := protojson.Unmarshal(caRoot, &ca); err != nil {
		return nil, fmt.Errorf("certificate authority trusted root: %w", err)
	}
	if err := protojson.Unmarshal(logRoot, &logs); err != nil {
		return nil, fmt.Errorf("log trusted root: %w", err)
	}
	ca.Tlogs = logs.GetTlogs()
	return EncodeTrustedRoot(&ca)
}

// keyDetails is the trusted root's name for a log key's algorithm.
func keyDetails(pub any) (protocommon.PublicKeyDetails, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256, nil
		case elliptic.P384():
			return protocommon.PublicKeyDetails_PKIX_ECDSA_P384_SHA_384, nil
		}
	case ed25519.PublicKey:
		return protocommon.PublicKeyDetails_PKIX_ED25519, nil
	}
	return 0, fmt.Errorf("unsupported log key type %T", pub)
}
