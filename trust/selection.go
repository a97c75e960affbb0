package trust

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
)

// Source is one named set of trusted material a verification may use: a
// repository's trusted root, a trusted_root.json file. Material is
// sigstore-go's interface, so other kinds of trusted material (a site
// log's key, say) join a Selection as Sources too.
//
// Its fields are those of bundle.TrustSource, which converts from it.
type Source struct {
	// Name says where the material came from: a repository name, or the
	// trusted_root.json file's name. A verification's result names the
	// source that vouched.
	Name     string
	Material root.TrustedMaterial
	// Warnings concern the results this source vouches for: its trust is
	// stale, its root expired. (Selection.Warnings says them all.)
	Warnings []string
}

// Selection is the trust a verification may use.
type Selection struct {
	// Sources are the trusted material, in the order to try it: the first
	// under which the evidence verifies vouches. Never empty when returned
	// without an error.
	Sources []Source
	// Repos are the repositories behind Sources, in the same order; empty
	// when trust came from a file.
	Repos []*Repo
	// Time is the time trust was evaluated at (the verification's now).
	Time time.Time
	// MaxAge is the age limit applied; zero when trust came from a file.
	MaxAge time.Duration
	// Warnings say what is stale (past the timestamp's expiry) or was left
	// out (past MaxAge); a verification shows them and carries them in its
	// results.
	Warnings []string
	// SetAside are the repositories left out, in the order they would have
	// been tried, with the reason: past MaxAge, or nothing imported yet.
	SetAside []SetAside
}

// A SelectionError is returned by ForVerification when the database holds
// no usable trust (it wraps ErrStale or ErrNoTrust). Selection says what was
// set aside and why; its Warnings are those the verification would have
// shown.
type SelectionError struct {
	Err       error
	Selection *Selection
}

func (e *SelectionError) Error() string { return e.Err.Error() }
func (e *SelectionError) Unwrap() error { return e.Err }

// ForVerification selects the trust a verification at now may use from
// the repositories in s: every one re-verified from its anchor (Load), then
// those with an imported trusted root within maxAge, stale ones with a
// warning (Select). Errors are Load's (ErrTampered, ErrClock, the store's)
// or a *SelectionError.
func ForVerification(ctx context.Context, s Store, now time.Time, maxAge time.Duration) (*Selection, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	repos, err := Load(s, now)
	if err != nil {
		return nil, err
	}
	sel, err := Select(repos, now, maxAge)
	if err != nil {
		return nil, &SelectionError{Err: err, Selection: sel}
	}
	return sel, nil
}

// FromTrustedRoot is the Selection for a verification at now against one
// trusted_root.json file (ReadTrustedRoot), named by path.
func FromTrustedRoot(path string, now time.Time) (*Selection, error) {
	tr, err := ReadTrustedRoot(path)
	if err != nil {
		return nil, err
	}
	return &Selection{Sources: []Source{{Name: path, Material: tr}}, Time: now}, nil
}

// ErrNotTrustedRoot is wrapped by a *TrustedRootError: a file that reads
// but is not a Sigstore trusted root.
var ErrNotTrustedRoot = errors.New("not a Sigstore trusted root")

// What a file given as a trusted root is instead, when it is something
// else Sigstore users carry (TrustedRootError.Looks).
const (
	LooksTUFRoot = "tuf-root" // a TUF root.json
	LooksBundle  = "bundle"   // a Sigstore bundle
)

// A TrustedRootError is a file that reads but is not a Sigstore trusted
// root. It wraps ErrNotTrustedRoot.
type TrustedRootError struct {
	// Reason says why, on one line: "not JSON", "larger than N bytes", or
	// sigstore-go's parse error without its wrapping.
	Reason string
	// Looks is LooksTUFRoot or LooksBundle when the file is one of those,
	// else empty.
	Looks string
}

func (e *TrustedRootError) Error() string        { return e.Reason }
func (e *TrustedRootError) Is(target error) bool { return target == ErrNotTrustedRoot }

// ReadTrustedRoot reads a trusted_root.json, bounded as a TUF target is
// (MaxTargetSize). A file that cannot be read is the *fs.PathError; one
// that reads but is not a trusted root is a *TrustedRootError (sigstore-go
// alone would say only "protobuf error" for a file that is not JSON).
func ReadTrustedRoot(path string) (*root.TrustedRoot, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxTargetSize+1))
	if err != nil {
		return nil, err
	}
	return parseTrustedRoot(data)
}

// parseTrustedRoot is ReadTrustedRoot's check of the bytes read.
func parseTrustedRoot(data []byte) (*root.TrustedRoot, error) {
	switch {
	case len(data) > MaxTargetSize:
		return nil, &TrustedRootError{Reason: fmt.Sprintf("larger than %d bytes", MaxTargetSize)}
	case !json.Valid(data):
		return nil, &TrustedRootError{Reason: "not JSON"}
	}
	tr, err := root.NewTrustedRootFromJSON(data)
	if err != nil {
		return nil, &TrustedRootError{Reason: parseReason(err), Looks: looksLike(data)}
	}
	return tr, nil
}

// parseReason is sigstore-go's error for a trusted root that does not
// parse, for display only: without its wrapping (all that was once
// unwrapped away, leaving protobuf's bare "protobuf error") and on one line.
func parseReason(err error) string {
	msg := strings.TrimPrefix(err.Error(), "failed to proto-json unmarshal trusted root: ")
	return strings.Join(strings.Fields(msg), " ")
}

// looksLike says whether data, JSON that is not a trusted root, is a TUF
// root.json or a Sigstore bundle.
func looksLike(data []byte) string {
	var doc struct {
		Signed *struct {
			Type string `json:"_type"`
		} `json:"signed"`
		VerificationMaterial json.RawMessage `json:"verificationMaterial"`
	}
	if json.Unmarshal(data, &doc) != nil {
		return ""
	}
	switch {
	case doc.Signed != nil && doc.Signed.Type == "root":
		return LooksTUFRoot
	case doc.VerificationMaterial != nil:
		return LooksBundle
	}
	return ""
}
