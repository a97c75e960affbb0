package trust

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
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
		return nil, fmt.Errorf("the name %q is kept for the public-good root embedded in airlock (trust init --public-good)", name)
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
	if err := checkClock(s, now); err != nil {
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
	err = s.CommitTUF(name, nil, map[string][]byte{keyState: stJSON, keyAnchor: anchor}, nil,
		"trust-init", now, map[string]string{
			"repository":     name,
			"anchor_source":  source,
			"anchor_version": fmt.Sprint(r.Signed.Version),
			"anchor_sha256":  st.AnchorSHA256,
		})
	if errors.Is(err, ErrConflict) {
		return nil, fmt.Errorf("%w: %q", ErrExists, name)
	}
	if err != nil {
		return nil, err
	}
	v, err := verifyRepo(name, map[string][]byte{keyState: stJSON, keyAnchor: anchor}, nil)
	if err != nil {
		return nil, err
	}
	return v.status(now), nil
}

func checkRepoName(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("invalid repository name %q", name)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("invalid repository name %q: use letters, digits, '-', '_' and '.'", name)
		}
	}
	return nil
}

// checkClock fails if now is earlier than any time the database has seen.
func checkClock(s Store, now time.Time) error {
	var newest time.Time
	err := s.ReadTUF(func(repos map[string]map[string][]byte, _ func(string) []byte) error {
		for _, rec := range repos {
			var st state
			if json.Unmarshal(rec[keyState], &st) == nil && st.newest().After(newest) {
				newest = st.newest()
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return clockAfter(now, newest)
}

func clockAfter(now, newest time.Time) error {
	if now.Before(newest) {
		return fmt.Errorf("%w: now is %s, the database has seen %s", ErrClock, now.UTC().Format(time.RFC3339), newest.UTC().Format(time.RFC3339))
	}
	return nil
}
