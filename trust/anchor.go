package trust

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// publicGoodRoot is root version 15 of the Sigstore public-good TUF
// repository (https://tuf-repo-cdn.sigstore.dev), the newest in the
// 2026-08-21 snapshot under testdata/tuf. It expires 2026-11-20T13:58:18Z;
// like any TUF trust anchor it is used to verify its successors, which may
// be newer than it.
//
//go:embed public-good-root.json
var publicGoodRoot []byte

// PublicGoodRoot returns the embedded public-good anchor root.
func PublicGoodRoot() []byte { return append([]byte(nil), publicGoodRoot...) }

// Init pins anchor (a root.json) as the trust anchor of a new repository
// called name. The root must carry a threshold of its own signatures; it may
// be expired (an anchor only has to verify its successors). source says
// where it came from ("embedded", "file ./root.json") for status and audit.
func Init(s Store, name string, anchor []byte, source string, now time.Time) (*RepoStatus, error) {
	if err := checkRepoName(name); err != nil {
		return nil, err
	}
	if name == PublicGoodName && (source != "embedded" || !bytes.Equal(anchor, publicGoodRoot)) {
		return nil, fmt.Errorf("%w: %q is kept for the public-good root embedded in airlock", ErrReservedName, name)
	}
	if source == "embedded" && !bytes.Equal(anchor, publicGoodRoot) {
		return nil, fmt.Errorf("anchor source \"embedded\" is only for the public-good root")
	}
	if len(anchor) > MaxRootSize {
		return nil, fmt.Errorf("%w: %w: anchor root is over %d bytes", ErrRejected, ErrTooLarge, MaxRootSize)
	}
	r, err := metadata.Root().FromBytes(anchor)
	if err != nil {
		return nil, fmt.Errorf("%w: anchor root: %v", ErrRejected, err)
	}
	if r.Signed.Type != metadata.ROOT {
		return nil, fmt.Errorf("%w: anchor is a %q, not a root", ErrRejected, r.Signed.Type)
	}
	if err := r.VerifyDelegate(metadata.ROOT, r); err != nil {
		return nil, fmt.Errorf("%w: anchor root version %d is not signed by its own threshold of keys: %v", ErrRejected, r.Signed.Version, err)
	}
	// The whole stored state must verify, and the clock must not be behind
	// it, before anything is added to it.
	if _, err := Load(s, now); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(anchor)
	st := &state{
		Name:          name,
		AnchorSource:  source,
		AnchorVersion: r.Signed.Version,
		AnchorSHA256:  hex.EncodeToString(sum[:]),
		RootVersion:   r.Signed.Version,
		InitAt:        now.UTC(),
	}
	stJSON, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	ok, err := s.CommitTUF(Commit{
		Repository: name,
		Set:        map[string][]byte{keyState: stJSON, keyAnchor: anchor},
		Audit: Audit{Kind: "trust-init", Time: now, Fields: map[string]string{
			"repository":     name,
			"anchor_source":  source,
			"anchor_version": fmt.Sprint(r.Signed.Version),
			"anchor_sha256":  st.AnchorSHA256,
		}},
	})
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrExists, name)
	}
	v, err := verifyRepo(name, map[string][]byte{keyState: stJSON, keyAnchor: anchor}, nil)
	if err != nil {
		return nil, err
	}
	return v.status(now), nil
}

// checkRepoName allows names that are safe in a file name, a URL path and
// a terminal: letters, digits, '-', '_' and '.', starting with a letter or
// digit (so never "." or "..", a hidden name, or one read as a flag).
func checkRepoName(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("invalid repository name %q: use 1 to 64 letters, digits, '-', '_' and '.'", name)
	}
	for i, c := range name {
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if i == 0 && !alnum {
			return fmt.Errorf("invalid repository name %q: it must start with a letter or digit", name)
		}
		if !alnum && c != '-' && c != '_' && c != '.' {
			return fmt.Errorf("invalid repository name %q: use letters, digits, '-', '_' and '.'", name)
		}
	}
	return nil
}

func clockAfter(now, newest time.Time) error {
	if now.Before(newest) {
		return fmt.Errorf("%w: now is %s, the database has seen %s", ErrClock, now.UTC().Format(time.RFC3339), newest.UTC().Format(time.RFC3339))
	}
	return nil
}
