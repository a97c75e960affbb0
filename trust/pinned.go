package trust

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"google.golang.org/protobuf/encoding/protojson"
)

// A pinned trusted root is a repository without TUF: a plain
// trusted_root.json (another site's export, a private deployment that
// publishes no TUF repository) pinned by the operator as it is. It is
// stored like a TUF repository, in its own sub-bucket of the TUF store,
// with two records: the state (Kind KindTrustedRoot) and the file itself.
//
// Freshness. Nothing in a trusted_root.json says whether it is still
// current: there is no timestamp role to expire. airlock takes the time it
// was pinned (or last re-pinned with Replace) as its reference time, so its
// age is the time since an operator last vouched for the file, and the
// trust age limit applies to it as to any repository: past the limit it
// is set aside. Every result it vouches for carries a warning that it has
// no TUF freshness, so it is never silently fresh. The validity windows
// the file gives its authorities and logs are enforced by verification as
// for any trusted root.

// Repository kinds (RepoStatus.Kind).
const (
	// KindTUF is a TUF repository pinned by an anchor root.
	KindTUF = "tuf"
	// KindTrustedRoot is a pinned trusted_root.json without TUF.
	KindTrustedRoot = "trusted-root"
)

// keyTrustedRoot is the record holding a pinned trusted_root.json.
const keyTrustedRoot = "trusted_root"

// ErrNotPinnedRoot means InitTrustedRoot was asked to pin or re-pin a
// trusted root under the name of a TUF repository, whose anchor stays
// pinned. (With Replace it is the error itself; without, it is wrapped
// with ErrExists.)
var ErrNotPinnedRoot = errors.New("not a pinned trusted root")

// ErrNotTUF means Update was asked to import TUF metadata into a pinned
// trusted root, which has none.
var ErrNotTUF = errors.New("repository is a pinned trusted root, not a TUF repository")

// PinOptions say how InitTrustedRoot pins a trusted root. The zero value
// pins a new repository from an unnamed source at the zero time, which is
// not valid: Now must be set.
type PinOptions struct {
	// Source says where the file came from ("file site-a.json"), for
	// status and the audit trail.
	Source string
	// Replace re-pins an existing pinned trusted root of that name with
	// this file (which may be the same file: that vouches for it again and
	// restarts its age). Without it an existing name is ErrExists; with it
	// a name not in use is ErrUnknownRepository, and a TUF repository's
	// name is ErrNotPinnedRoot.
	Replace bool
	// Now is the machine clock: the pin time, the trusted root's reference
	// time from now on.
	Now time.Time
}

// ParseTrustedRoot parses data as a Sigstore trusted_root.json, bounded
// as a TUF target is (MaxTargetSize). Data that is not one is a
// *TrustedRootError; so is one that lists nothing to trust (no certificate
// or timestamping authority, no log).
func ParseTrustedRoot(data []byte) (*root.TrustedRoot, error) {
	tr, err := parseTrustedRoot(data)
	if err != nil {
		return nil, err
	}
	var pb prototrustroot.TrustedRoot
	if err := protojson.Unmarshal(data, &pb); err != nil {
		return nil, &TrustedRootError{Reason: parseReason(err), Looks: looksLike(data)}
	}
	if len(pb.GetCertificateAuthorities())+len(pb.GetTlogs())+len(pb.GetCtlogs())+len(pb.GetTimestampAuthorities()) == 0 {
		return nil, &TrustedRootError{Reason: "it lists no certificate authority, transparency log, CT log or timestamping authority: nothing to trust"}
	}
	return tr, nil
}

// InitTrustedRoot pins data, a trusted_root.json, as the repository
// called name (see the freshness policy above), or with o.Replace re-pins
// an existing one. data must be a Sigstore trusted root (ParseTrustedRoot's
// *TrustedRootError, wrapped with ErrRejected, if not). As Init, it
// re-verifies the whole database first and commits the repository with an
// audit record ("trust-init", or "trust-replace" naming the previous
// sha256) in one transaction; on any error nothing is written.
func InitTrustedRoot(s Store, name string, data []byte, o PinOptions) (*RepoStatus, error) {
	if err := checkRepoName(name); err != nil {
		return nil, err
	}
	if name == PublicGoodName {
		return nil, fmt.Errorf("%w: %q is kept for the public-good root embedded in airlock", ErrReservedName, name)
	}
	now := o.Now.UTC()
	if now.IsZero() {
		return nil, errors.New("trust.InitTrustedRoot: no clock")
	}
	if _, err := ParseTrustedRoot(data); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRejected, err)
	}
	repos, err := Load(s, now)
	if err != nil {
		return nil, err
	}
	var old *verified
	for _, r := range repos {
		if r.Name == name {
			old = r.v
		}
	}
	sum := sha256.Sum256(data)
	st := &state{
		Name:         name,
		Kind:         KindTrustedRoot,
		AnchorSource: o.Source,
		AnchorSHA256: hex.EncodeToString(sum[:]),
		InitAt:       now,
		ImportedAt:   now,
		RefTime:      now,
	}
	audit := Audit{Kind: "trust-init", Time: now, Fields: map[string]string{
		"repository": name,
		"kind":       KindTrustedRoot,
		"source":     o.Source,
		"sha256":     st.AnchorSHA256,
	}}
	var expect []byte
	switch {
	case old == nil && o.Replace:
		return nil, fmt.Errorf("%w: %q: nothing to replace", ErrUnknownRepository, name)
	case old != nil && !o.Replace && old.st.Kind != KindTrustedRoot:
		return nil, fmt.Errorf("%w: %q (a TUF repository, %w)", ErrExists, name, ErrNotPinnedRoot)
	case old != nil && !o.Replace:
		return nil, fmt.Errorf("%w: %q", ErrExists, name)
	case old != nil && old.st.Kind != KindTrustedRoot:
		return nil, fmt.Errorf("%w: %q is a TUF repository: its anchor stays pinned", ErrNotPinnedRoot, name)
	case old != nil:
		expect = old.raw[keyState]
		st.InitAt = old.st.InitAt
		audit.Kind = "trust-replace"
		audit.Fields["previous_sha256"] = old.st.AnchorSHA256
		audit.Fields["previous_source"] = old.st.AnchorSource
	}
	stJSON, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	rec := map[string][]byte{keyState: stJSON, keyTrustedRoot: data}
	ok, err := s.CommitTUF(Commit{Repository: name, ExpectState: expect, Set: rec, Audit: audit})
	switch {
	case err != nil:
		return nil, err
	case !ok && expect == nil:
		return nil, fmt.Errorf("%w: %q", ErrExists, name)
	case !ok:
		return nil, fmt.Errorf("%w: %q", ErrConflict, name)
	}
	v, err := verifyRepo(name, rec, nil)
	if err != nil {
		return nil, err
	}
	return v.status(now), nil
}

// verifyPinned re-verifies a pinned trusted root's records: the file
// matches the sha256 recorded when it was pinned and parses as a trusted
// root, and nothing else is stored with it.
func verifyPinned(v *verified, bad func(string, ...any) error) (*verified, error) {
	for k := range v.raw {
		if k != keyState && k != keyTrustedRoot {
			return nil, bad("unexpected record %q in a pinned trusted root", k)
		}
	}
	data := v.raw[keyTrustedRoot]
	if data == nil {
		return nil, bad("no %s record", keyTrustedRoot)
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != v.st.AnchorSHA256 {
		return nil, bad("pinned trusted root does not match its recorded sha256")
	}
	if _, err := ParseTrustedRoot(data); err != nil {
		return nil, bad("pinned trusted root: %v", err)
	}
	if v.st.RefTime.IsZero() {
		return nil, bad("pinned trusted root has no pin time")
	}
	v.targets[TrustedRootTarget] = data
	return v, nil
}

// pinned reports whether the repository is a pinned trusted root.
func (v *verified) pinned() bool { return v.st.Kind == KindTrustedRoot }

// Pinned reports whether r is a pinned trusted root (no TUF).
func (r *Repo) Pinned() bool { return r.v.pinned() }

// pinnedWarning is carried by every result a pinned trusted root vouches
// for: nothing says its keys are still current.
func pinnedWarning(name string, pinnedAt, now time.Time) string {
	return fmt.Sprintf("trust from repository %q is a pinned trusted root with no TUF freshness: pinned %s (%s ago); nothing says its keys are still current", name, pinnedAt.UTC().Format(time.RFC3339), FormatAge(now.Sub(pinnedAt)))
}

// PinnedRootStatus describes a pinned trusted root in RepoStatus.
type PinnedRootStatus struct {
	// SHA256 is the hex sha256 of the pinned file, Source where it came
	// from ("file site-a.json").
	SHA256 string `json:"sha256"`
	Source string `json:"source"`
	// PinnedAt is when this file was pinned (init, or the last replace):
	// the time its age counts from. FirstPinnedAt is the first init.
	PinnedAt      time.Time `json:"pinnedAt"`
	FirstPinnedAt time.Time `json:"firstPinnedAt"`
	// Note says what freshness a pinned root has.
	Note string `json:"note"`
}

// pinnedNote is PinnedRootStatus.Note.
const pinnedNote = "no TUF freshness: nothing says this trusted root is current; its age counts from when it was pinned, and every verification it vouches for warns"

func (v *verified) pinnedStatus(now time.Time) *RepoStatus {
	st := &RepoStatus{
		Name: v.st.Name,
		Kind: KindTrustedRoot,
		PinnedRoot: &PinnedRootStatus{
			SHA256: v.st.AnchorSHA256, Source: v.st.AnchorSource,
			PinnedAt: v.st.RefTime.UTC(), FirstPinnedAt: v.st.InitAt.UTC(), Note: pinnedNote,
		},
		InitAt:        v.st.InitAt.UTC(),
		ImportedAt:    ptr(v.st.ImportedAt.UTC()),
		ReferenceTime: ptr(v.st.RefTime.UTC()),
		Source:        v.st.AnchorSource,
		Freshness:     v.freshness(now),
	}
	if sum, err := summarize(v.targets[TrustedRootTarget]); err == nil {
		st.TrustedRoot = sum
	}
	return st
}
