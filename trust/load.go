package trust

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/trustedmetadata"
)

// Repo is one repository loaded from the database and re-verified.
type Repo struct {
	// Name is the repository name (e.g. "public-good").
	Name string
	// TrustedRoot is the verified trusted_root.json target; nil until the
	// first successful Update.
	TrustedRoot *root.TrustedRoot
	// TrustedRootJSON is its bytes.
	TrustedRootJSON []byte

	v *verified
}

// verified is a repository's stored state after re-verification.
type verified struct {
	st      state
	tm      *trustedmetadata.TrustedMetadata
	chain   []int64 // root versions from the anchor to the newest
	targets map[string][]byte
	raw     map[string][]byte
}

func rootKey(v int64) string { return fmt.Sprintf("%s%020d", rootPrefix, v) }

// verifyRepo re-verifies a repository's records from its anchor: the root
// chain, and timestamp, snapshot and targets at the reference time of the
// last update, and the stored targets against their hashes. Any failure is
// ErrTampered.
func verifyRepo(name string, rec map[string][]byte, blob func(string) []byte) (*verified, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: repository %q: %s", ErrTampered, name, fmt.Sprintf(format, args...))
	}
	v := &verified{raw: rec, targets: map[string][]byte{}}
	if err := json.Unmarshal(rec[keyState], &v.st); err != nil {
		return nil, bad("state record: %v", err)
	}
	if v.st.Name != name {
		return nil, bad("state names repository %q", v.st.Name)
	}
	switch v.st.Kind {
	case "":
	case KindTrustedRoot:
		if name == PublicGoodName {
			return nil, bad("the public-good repository is not a pinned trusted root")
		}
		return verifyPinned(v, bad)
	default:
		return nil, bad("unknown repository kind %q", v.st.Kind)
	}
	anchor := rec[keyAnchor]
	sum := sha256.Sum256(anchor)
	if hex.EncodeToString(sum[:]) != v.st.AnchorSHA256 {
		return nil, bad("anchor root does not match its recorded sha256")
	}
	if (v.st.AnchorSource == "embedded" || name == PublicGoodName) && !bytes.Equal(anchor, publicGoodRoot) {
		// The public-good anchor is pinned by this binary, not by the file.
		return nil, bad("anchor root is not the public-good root embedded in airlock")
	}
	var keys []string
	for k := range rec {
		if strings.HasPrefix(k, rootPrefix) {
			if _, err := strconv.ParseInt(strings.TrimPrefix(k, rootPrefix), 10, 64); err != nil {
				return nil, bad("unexpected record %q", k)
			}
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	chain := [][]byte{anchor}
	for _, k := range keys {
		chain = append(chain, rec[k])
	}
	tm, err := verifyState(chain, rec[keyTimestamp], rec[keySnapshot], rec[keyTargets], v.st.RefTime)
	if err != nil {
		return nil, bad("%v", err)
	}
	v.tm = tm.tm
	v.chain = tm.chain
	if tm.tm.Root.Signed.Version != v.st.RootVersion {
		return nil, bad("root chain ends at version %d, state says %d", tm.tm.Root.Signed.Version, v.st.RootVersion)
	}
	// The state's copy of the anchor version is for display; the anchor
	// itself is what is pinned, and the two must agree.
	if v.chain[0] != v.st.AnchorVersion {
		return nil, bad("state says anchor root version %d, the anchor root is version %d", v.st.AnchorVersion, v.chain[0])
	}
	if rec[keyTimestamp] == nil {
		if len(v.st.Targets) > 0 {
			return nil, bad("targets stored without a timestamp")
		}
		return v, nil
	}
	listed := v.tm.Targets[metadata.TARGETS].Signed.Targets
	for tname, sha := range v.st.Targets {
		tf, ok := listed[tname]
		if !ok || hex.EncodeToString(tf.Hashes["sha256"]) != sha {
			return nil, bad("target %q is not the one the targets metadata lists", tname)
		}
		var data []byte
		if blob != nil {
			data = blob(sha)
		}
		if data == nil {
			return nil, bad("target %q (sha256 %s) is missing", tname, sha)
		}
		if err := tf.VerifyLengthHashes(data); err != nil {
			return nil, bad("target %q: %v", tname, err)
		}
		v.targets[tname] = data
	}
	if v.targets[TrustedRootTarget] == nil {
		return nil, bad("no %s target", TrustedRootTarget)
	}
	return v, nil
}

// Load reads and re-verifies every repository in the database, as of now.
// A repository that does not verify fails the whole load (ErrTampered):
// a database that has been edited is never used in part. now earlier than
// the newest time the database has seen is ErrClock.
//
// Init and Update call Load before they write: a database that does not
// verify, in any repository, takes no new records.
func Load(s Store, now time.Time) ([]*Repo, error) {
	var repos []*Repo
	var newest time.Time
	err := s.ReadTUF(func(all map[string]map[string][]byte, blob func(string) []byte) error {
		names := make([]string, 0, len(all))
		for n := range all {
			names = append(names, n)
		}
		slices.SortFunc(names, repoOrder)
		for _, n := range names {
			v, err := verifyRepo(n, all[n], blob)
			if err != nil {
				return err
			}
			if v.st.newest().After(newest) {
				newest = v.st.newest()
			}
			r := &Repo{Name: n, v: v, TrustedRootJSON: v.targets[TrustedRootTarget]}
			repos = append(repos, r)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := clockAfter(now, newest); err != nil {
		return nil, err
	}
	for _, r := range repos {
		if r.TrustedRootJSON == nil {
			continue
		}
		tr, err := root.NewTrustedRootFromJSON(r.TrustedRootJSON)
		if err != nil {
			return nil, fmt.Errorf("%w: repository %q: %s: %v", ErrTampered, r.Name, TrustedRootTarget, err)
		}
		r.TrustedRoot = tr
	}
	return repos, nil
}

// RepositoryNames returns the names of the repositories in s, in the order
// verification tries them, without verifying them (Load does).
func RepositoryNames(s Store) ([]string, error) {
	var names []string
	err := s.ReadTUF(func(all map[string]map[string][]byte, _ func(string) []byte) error {
		for n := range all {
			names = append(names, n)
		}
		return nil
	})
	slices.SortFunc(names, repoOrder)
	return names, err
}

// repoOrder puts public-good first, then the others by name, so that the
// order verification tries them in is stable.
func repoOrder(a, b string) int {
	switch {
	case a == b:
		return 0
	case a == PublicGoodName:
		return -1
	case b == PublicGoodName:
		return 1
	}
	return strings.Compare(a, b)
}
