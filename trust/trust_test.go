package trust_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/airlock-project/airlock/cache"
	"github.com/airlock-project/airlock/trust"
	"github.com/airlock-project/airlock/trust/tufgen"
	"github.com/theupdateframework/go-tuf/v2/metadata"
	bolt "go.etcd.io/bbolt"
)

const snapshotDir = "../testdata/tuf/public-good-2026-08-21"

var (
	t0      = time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	realAt  = time.Date(2026, 8, 21, 20, 0, 0, 0, time.UTC)
	realNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	trJSON  = mustRead(snapshotDir + "/targets/6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66.trusted_root.json")
)

func mustRead(p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		panic(err)
	}
	return b
}

// testStore is a database open for a test, as trust.Store.
type testStore struct {
	dbStore
	path string
	db   *cache.DB
}

func openStore(t testing.TB) *testStore {
	t.Helper()
	s := &testStore{path: filepath.Join(t.TempDir(), "airlock.db")}
	s.reopen(t)
	t.Cleanup(func() { s.db.Close() })
	return s
}

func (s *testStore) reopen(t testing.TB) {
	t.Helper()
	db, err := cache.Open(s.path, cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.db, s.dbStore = db, dbStore{&cache.TUFStore{DB: db}}
}

// tx runs fn in a bbolt transaction on the store's file, as someone
// editing the file would: the database is closed around it.
func (s *testStore) tx(t testing.TB, writable bool, fn func(tx *bolt.Tx) error) error {
	t.Helper()
	s.db.Close()
	defer s.reopen(t)
	b, err := bolt.Open(s.path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if writable {
		return b.Update(fn)
	}
	return b.View(fn)
}

// newRepo is a generated repository carrying the public-good trusted root.
func newRepo() *tufgen.Repo {
	r := tufgen.New(t0)
	r.AddTarget(trust.TrustedRootTarget, trJSON)
	r.AddTarget("extra/notes.txt", []byte("hello\n"))
	r.Publish()
	return r
}

func medium(t testing.TB, files map[string][]byte) trust.Medium {
	t.Helper()
	dir := t.TempDir()
	if err := tufgen.WriteDir(dir, files); err != nil {
		t.Fatal(err)
	}
	m, err := trust.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { trust.CloseMedium(m) })
	return m
}

func initRepo(t testing.TB, s trust.Store, r *tufgen.Repo) {
	t.Helper()
	if _, err := trust.Init(s, "site", r.Files["1.root.json"], "file 1.root.json", t0); err != nil {
		t.Fatal(err)
	}
}

func update(s trust.Store, m trust.Medium, now time.Time) (*trust.UpdateResult, error) {
	return trust.Update(context.Background(), s, "site", m, trust.UpdateOptions{Now: now})
}

// dump returns the whole TUF state, to compare before and after a refusal.
func dump(t *testing.T, s *testStore) string {
	t.Helper()
	var b strings.Builder
	err := s.tx(t, false, func(tx *bolt.Tx) error {
		for _, name := range [][]byte{cache.BucketTUF, cache.BucketTargets} {
			err := tx.Bucket(name).ForEachBucket(func(k []byte) error {
				return tx.Bucket(name).Bucket(k).ForEach(func(k2, v []byte) error {
					b.WriteString(string(k) + "/" + string(k2) + "=" + string(v) + "\n")
					return nil
				})
			})
			if err != nil {
				return err
			}
			err = tx.Bucket(name).ForEach(func(k, v []byte) error {
				if v != nil {
					b.WriteString(string(name) + ":" + string(k) + "\n")
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	audit, err := s.db.Audit()
	if err != nil {
		t.Fatal(err)
	}
	b.WriteString(strings.Repeat("a", len(audit)))
	return b.String()
}

func TestUpdateGenerated(t *testing.T) {
	for _, layout := range []string{"dir", "tar", "tar-in-top-dir", "tar.gz"} {
		t.Run(layout, func(t *testing.T) {
			s := openStore(t)
			r := newRepo()
			initRepo(t, s, r)
			var m trust.Medium
			switch layout {
			case "dir":
				m = medium(t, r.Files)
			default:
				files := r.Files
				if layout == "tar-in-top-dir" {
					files = map[string][]byte{}
					for k, v := range r.Files {
						files["repo/"+k] = v
					}
				}
				p := filepath.Join(t.TempDir(), "repo.tar")
				if err := tufgen.WriteTar(p, files); err != nil {
					t.Fatal(err)
				}
				if layout == "tar.gz" {
					var z bytes.Buffer
					zw := gzip.NewWriter(&z)
					zw.Write(mustRead(p))
					zw.Close()
					p += ".gz"
					if err := os.WriteFile(p, z.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				var err error
				if m, err = trust.OpenMedium(p); err != nil {
					t.Fatal(err)
				}
			}
			res, err := update(s, m, t0.Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := strings.Join(res.TargetFiles, ","), "extra/notes.txt,trusted_root.json"; got != want {
				t.Errorf("target files = %q, want %q", got, want)
			}
			repos, err := trust.Load(s, t0.Add(2*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if len(repos) != 1 || repos[0].TrustedRoot == nil {
				t.Fatalf("loaded %d repos, trusted root %v", len(repos), repos)
			}
			st := repos[0].Status(t0.Add(2 * time.Hour))
			if st.Timestamp.Version != 1 || st.Targets.Version != 1 || st.ExplicitTime {
				t.Errorf("status = %+v", st)
			}
			if st.TrustedRoot == nil || len(st.TrustedRoot.CertificateAuthorities) == 0 || len(st.TrustedRoot.Tlogs) == 0 {
				t.Errorf("trusted root summary = %+v", st.TrustedRoot)
			}
		})
	}
}

func TestRealSnapshotAt(t *testing.T) {
	s := openStore(t)
	if _, err := trust.Init(s, trust.PublicGoodName, trust.PublicGoodRoot(), "embedded", realNow); err != nil {
		t.Fatal(err)
	}
	m, err := trust.OpenDir(snapshotDir)
	if err != nil {
		t.Fatal(err)
	}
	defer trust.CloseMedium(m)

	// At the machine clock the mirror is expired: refused, nothing stored.
	_, err = trust.Update(context.Background(), s, trust.PublicGoodName, m, trust.UpdateOptions{Now: realNow})
	if !errors.Is(err, trust.ErrRejected) || !errors.Is(err, trust.ErrExpired) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("update at machine clock: %v, want an expiry rejection (ErrExpired)", err)
	}
	// --at in the future is refused.
	if _, err := trust.Update(context.Background(), s, trust.PublicGoodName, m, trust.UpdateOptions{Now: realNow, At: realNow.Add(time.Hour)}); err == nil || !strings.Contains(err.Error(), "future") {
		t.Fatalf("--at in the future: %v", err)
	}
	// --at outside the timestamp's validity is refused.
	if _, err := trust.Update(context.Background(), s, trust.PublicGoodName, m, trust.UpdateOptions{Now: realNow, At: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)}); !errors.Is(err, trust.ErrRejected) {
		t.Fatalf("--at past the timestamp: %v", err)
	}
	res, err := trust.Update(context.Background(), s, trust.PublicGoodName, m, trust.UpdateOptions{Now: realNow, At: realAt})
	if err != nil {
		t.Fatal(err)
	}
	if res.Root != 15 || res.Timestamp != 762 || res.Snapshot != 165 || res.Targets != 14 || !res.ExplicitTime {
		t.Errorf("result = %+v", res)
	}
	repos, err := trust.Load(s, realNow)
	if err != nil {
		t.Fatal(err)
	}
	sel, err := trust.Select(repos, realNow, trust.DefaultMaxAge)
	if err != nil {
		t.Fatal(err)
	}
	// The snapshot's timestamp expired 2026-08-28 and its root 2026-11-20:
	// both are said (the root's on its own, found in review: a root that
	// expired under an unexpired timestamp went unmentioned).
	if len(sel.Warnings) != 2 || !strings.Contains(sel.Warnings[0], "stale") || !strings.Contains(sel.Warnings[1], `the root of repository "public-good" expired 2026-11-20T13:58:18Z`) {
		t.Errorf("warnings = %q, want the staleness warning and the root's expiry", sel.Warnings)
	}
	if _, err := trust.Select(repos, realNow, 30*24*time.Hour); !errors.Is(err, trust.ErrStale) {
		t.Errorf("select with a 30d limit: %v, want ErrStale", err)
	}
	// The clock going backwards is an error.
	if _, err := trust.Load(s, realNow.Add(-time.Hour)); !errors.Is(err, trust.ErrClock) {
		t.Errorf("load with an earlier clock: %v, want ErrClock", err)
	}
	audit, err := s.db.Audit()
	if err != nil {
		t.Fatal(err)
	}
	last := audit[len(audit)-1]
	if last.Kind != "trust-update" || last.Fields["reference_time"] != "2026-08-21T20:00:00Z" || last.Fields["explicit_time"] != "true" {
		t.Errorf("audit record = %+v", last)
	}
}

func TestRealSnapshotFromRoot5(t *testing.T) {
	// Pinning an old root and walking the rotations: 5 -> 15. (Roots 1-4
	// encode keys in hex, which go-tuf v2 does not read.)
	s := openStore(t)
	if _, err := trust.Init(s, "pg-from-1", mustRead(snapshotDir+"/1.root.json"), "file 1.root.json", realNow); err == nil {
		t.Error("root 1 (hex keys) accepted as an anchor")
	}
	if _, err := trust.Init(s, "pg-from-5", mustRead(snapshotDir+"/5.root.json"), "file 5.root.json", realNow); err != nil {
		t.Fatal(err)
	}
	m, _ := trust.OpenDir(snapshotDir)
	res, err := trust.Update(context.Background(), s, "pg-from-5", m, trust.UpdateOptions{Now: realNow, At: realAt})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.NewRoots) != 10 || res.Root != 15 {
		t.Errorf("new roots %v, root %d", res.NewRoots, res.Root)
	}
	repos, err := trust.Load(s, realNow)
	if err != nil {
		t.Fatal(err)
	}
	if got := repos[0].Status(realNow).RootChain; len(got) != 11 {
		t.Errorf("root chain = %v", got)
	}
}

// TestAttacks: each case prepares a medium that must be refused after a
// first good import; nothing may change in the database.
func TestAttacks(t *testing.T) {
	later := t0.Add(48 * time.Hour)
	tests := []struct {
		name    string
		prepare func(r *tufgen.Repo, commit func()) map[string][]byte
		now     time.Time
		want    string
	}{
		{"timestamp_rollback", func(r *tufgen.Repo, commit func()) map[string][]byte {
			old := r.Clone()
			r.Publish()
			commit()
			return old
		}, later, "rollback"},
		{"snapshot_rollback", func(r *tufgen.Repo, commit func()) map[string][]byte {
			r.Publish()
			commit()
			// A newer timestamp naming the old snapshot version.
			r.Timestamp.Signed.Meta["snapshot.json"] = metadata.MetaFile(1)
			r.PublishTimestamp()
			return r.Clone()
		}, later, "rollback"},
		{"targets_rollback", func(r *tufgen.Repo, commit func()) map[string][]byte {
			oldMeta := *r.Snapshot.Signed.Meta["targets.json"]
			r.Publish()
			commit()
			// Snapshot and timestamp move on but name targets version 1 again.
			r.Snapshot.Signed.Meta["targets.json"] = &oldMeta
			r.PublishSnapshot()
			r.PublishTimestamp()
			return r.Clone()
		}, later, "rollback"},
		{"freeze_expired_timestamp", func(r *tufgen.Repo, commit func()) map[string][]byte {
			r.Publish()
			return r.Clone()
		}, t0.Add(30 * 24 * time.Hour), "expired"},
		{"mix_and_match_targets", func(r *tufgen.Repo, commit func()) map[string][]byte {
			r.Publish()
			files := r.Clone()
			// Same length, same version, another repository's targets.
			other := newRepo()
			other.AddTarget("extra/notes.txt", []byte("HELLO\n"))
			other.Publish()
			files[r.TargetsName()] = other.Files[other.TargetsName()]
			return files
		}, later, "mix-and-match"},
		{"mix_and_match_snapshot", func(r *tufgen.Repo, commit func()) map[string][]byte {
			r.Publish()
			files := r.Clone()
			files[r.SnapshotName()] = files["1.snapshot.json"]
			return files
		}, later, "snapshot"},
		{"tampered_target", func(r *tufgen.Repo, commit func()) map[string][]byte {
			r.Publish()
			files := r.Clone()
			bad := []byte(strings.Replace(string(trJSON), "fulcio", "fulciX", 1))
			files[r.TargetPath(trust.TrustedRootTarget)] = bad
			return files
		}, later, "tampered"},
		{"oversized_timestamp", func(r *tufgen.Repo, commit func()) map[string][]byte {
			r.Publish()
			files := r.Clone()
			files["timestamp.json"] = append(files["timestamp.json"], make([]byte, trust.MaxTimestampSize)...)
			return files
		}, later, "oversized"},
		{"oversized_target_file", func(r *tufgen.Repo, commit func()) map[string][]byte {
			r.Publish()
			files := r.Clone()
			files[r.TargetPath(trust.TrustedRootTarget)] = append(trJSON, ' ')
			return files
		}, later, "oversized"},
		{"oversized_target_declared", func(r *tufgen.Repo, commit func()) map[string][]byte {
			r.AddTarget(trust.TrustedRootTarget, trJSON)
			r.Targets.Signed.Targets[trust.TrustedRootTarget].Length = trust.MaxTargetSize + 1
			r.Publish()
			return r.Clone()
		}, later, "oversized"},
		{"root_rotation_below_threshold", func(r *tufgen.Repo, commit func()) map[string][]byte {
			r.RotateRoot(func() { r.SetKeys(metadata.ROOT, 2, "root-4", "root-5") }, "root-1", "root-4", "root-5")
			r.Publish()
			return r.Clone()
		}, later, "root version 2"},
		{"root_rotation_not_self_signed", func(r *tufgen.Repo, commit func()) map[string][]byte {
			r.RotateRoot(func() { r.SetKeys(metadata.ROOT, 2, "root-4", "root-5") }, "root-1", "root-2", "root-4")
			r.Publish()
			return r.Clone()
		}, later, "root version 2"},
		{"timestamp_signed_by_revoked_key", func(r *tufgen.Repo, commit func()) map[string][]byte {
			r.RotateRoot(func() { r.SetKeys(metadata.TIMESTAMP, 1, "timestamp-2") }, "root-1", "root-2", "root-3")
			r.Signers[metadata.TIMESTAMP] = []string{"timestamp-1"}
			r.Publish()
			return r.Clone()
		}, later, "timestamp"},
		{"fast_forward_without_key_rotation", func(r *tufgen.Repo, commit func()) map[string][]byte {
			// The database got timestamp 1000 (below); a mirror with an
			// honest lower version and the same keys is a rollback.
			r.Publish()
			return r.Clone()
		}, later, "rollback"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t)
			r := newRepo()
			initRepo(t, s, r)
			if tc.name == "fast_forward_without_key_rotation" {
				r.Timestamp.Signed.Version = 999
				r.PublishTimestamp()
			}
			if _, err := update(s, medium(t, r.Files), t0.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if tc.name == "fast_forward_without_key_rotation" {
				r.Timestamp.Signed.Version = 1
			}
			before := dump(t, s)
			files := tc.prepare(r, func() {
				if _, err := update(s, medium(t, r.Files), t0.Add(2*time.Hour)); err != nil {
					t.Fatal(err)
				}
				before = dump(t, s)
			})
			_, err := update(s, medium(t, files), tc.now)
			checkRefused(t, err, tc.want)
			if kind := refusalKinds[tc.name]; kind != nil && !errors.Is(err, kind) {
				t.Errorf("error %q does not wrap %q", err, kind)
			}
			if dump(t, s) != before {
				t.Error("database changed")
			}
			if _, err := trust.Load(s, tc.now); err != nil {
				t.Errorf("load after the refusal: %v", err)
			}
		})
	}
}

// refusalKinds are the sentinels TestAttacks' cases must wrap
// besides ErrRejected, so that callers switch on them, not on the text.
var refusalKinds = map[string]error{
	"timestamp_rollback":                trust.ErrRollback,
	"snapshot_rollback":                 trust.ErrRollback,
	"targets_rollback":                  trust.ErrRollback,
	"fast_forward_without_key_rotation": trust.ErrRollback,
	"freeze_expired_timestamp":          trust.ErrExpired,
	"mix_and_match_targets":             trust.ErrMismatch,
	"tampered_target":                   trust.ErrMismatch,
	"timestamp_signed_by_revoked_key":   trust.ErrNotSigned,
	"root_rotation_below_threshold":     trust.ErrNotSigned,
}

func checkRefused(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatal("update accepted")
	}
	if !errors.Is(err, trust.ErrRejected) {
		t.Errorf("error %q does not wrap ErrRejected", err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
	t.Log(err)
}

// TestFastForwardRecovery: a compromised timestamp key pushed timestamp
// version 1000 into the database; the repository rotates the timestamp key
// and starts again at a lower version, which must then be accepted.
func TestFastForwardRecovery(t *testing.T) {
	s := openStore(t)
	r := newRepo()
	initRepo(t, s, r)
	r.Timestamp.Signed.Version = 999
	r.PublishTimestamp()
	if _, err := update(s, medium(t, r.Files), t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	r.RotateRoot(func() { r.SetKeys(metadata.TIMESTAMP, 1, "timestamp-2") }, "root-1", "root-2", "root-3")
	r.Timestamp.Signed.Version = 1
	r.Publish()
	res, err := update(s, medium(t, r.Files), t0.Add(2*time.Hour))
	if err != nil {
		t.Fatalf("recovery refused: %v", err)
	}
	if res.Timestamp != 2 || res.Root != 2 {
		t.Errorf("result = %+v", res)
	}
}

func TestRootRotationAndUpdate(t *testing.T) {
	s := openStore(t)
	r := newRepo()
	initRepo(t, s, r)
	if _, err := update(s, medium(t, r.Files), t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	r.RotateRoot(func() { r.SetKeys(metadata.ROOT, 2, "root-4", "root-5", "root-6") }, "root-1", "root-2", "root-4", "root-5")
	r.RotateRoot(func() { r.SetKeys(metadata.SNAPSHOT, 1, "snapshot-2") }, "root-4", "root-5")
	r.Publish()
	res, err := update(s, medium(t, r.Files), t0.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if got := res.NewRoots; len(got) != 2 || got[1] != 3 {
		t.Errorf("new roots = %v", got)
	}
	repos, err := trust.Load(s, t0.Add(3*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if got := repos[0].Status(t0).RootChain; len(got) != 3 {
		t.Errorf("chain = %v", got)
	}
}

// TestTamperedDatabase edits stored records directly; Load must refuse.
func TestTamperedDatabase(t *testing.T) {
	edits := map[string]func(b *bolt.Bucket, targets *bolt.Bucket) error{
		"timestamp_edited": func(b, _ *bolt.Bucket) error {
			return replaceIn(b, "timestamp", `"version": 2`, `"version": 7`)
		},
		"root_removed_from_chain": func(b, _ *bolt.Bucket) error {
			return b.Delete([]byte("root.00000000000000000002"))
		},
		"anchor_replaced": func(b, _ *bolt.Bucket) error {
			return b.Put([]byte("anchor"), tufgen.New(t0.Add(time.Hour)).Files["1.root.json"])
		},
		"trusted_root_blob_edited": func(_, tb *bolt.Bucket) error {
			return tb.ForEach(func(k, v []byte) error {
				return tb.Put(k, append([]byte(" "), v...))
			})
		},
		"state_anchor_version_edited": func(b, _ *bolt.Bucket) error {
			return replaceIn(b, "state", `"anchor_version":1`, `"anchor_version":9`)
		},
		"state_reference_time_outside_validity": func(b, _ *bolt.Bucket) error {
			return replaceIn(b, "state", `"reference_time":"2026-09-01T02:00:00Z"`, `"reference_time":"2027-09-01T02:00:00Z"`)
		},
	}
	for name, edit := range edits {
		t.Run(name, func(t *testing.T) {
			s := openStore(t)
			r := newRepo()
			initRepo(t, s, r)
			r.RotateRoot(nil, "root-1", "root-2")
			r.Publish()
			if _, err := update(s, medium(t, r.Files), t0.Add(2*time.Hour)); err != nil {
				t.Fatal(err)
			}
			err := s.tx(t, true, func(tx *bolt.Tx) error {
				return edit(tx.Bucket(cache.BucketTUF).Bucket([]byte("site")), tx.Bucket(cache.BucketTargets))
			})
			if err != nil {
				t.Fatal(err)
			}
			_, err = trust.Load(s, t0.Add(3*time.Hour))
			if !errors.Is(err, trust.ErrTampered) {
				t.Fatalf("load: %v, want ErrTampered", err)
			}
			t.Log(err)
		})
	}
}

func replaceIn(b *bolt.Bucket, key, old, new string) error {
	v := string(b.Get([]byte(key)))
	if !strings.Contains(v, old) {
		return fmt.Errorf("%s has no %s: %s", key, old, v)
	}
	return b.Put([]byte(key), []byte(strings.Replace(v, old, new, 1)))
}

// publicGoodAndSite returns a store holding the public-good snapshot
// (imported as of realAt) and a pinned site repository whose generator is
// returned, with siteRoot as its trusted_root.json.
func publicGoodAndSite(t *testing.T, siteRoot []byte) (*testStore, *tufgen.Repo) {
	t.Helper()
	s := openStore(t)
	if _, err := trust.Init(s, trust.PublicGoodName, trust.PublicGoodRoot(), "embedded", realNow); err != nil {
		t.Fatal(err)
	}
	m, _ := trust.OpenDir(snapshotDir)
	if _, err := trust.Update(context.Background(), s, trust.PublicGoodName, m, trust.UpdateOptions{Now: realNow, At: realAt}); err != nil {
		t.Fatal(err)
	}
	r := tufgen.New(realNow.Add(-time.Hour))
	r.AddTarget(trust.TrustedRootTarget, siteRoot)
	r.Publish()
	if _, err := trust.Init(s, "site", r.Files["1.root.json"], "file 1.root.json", realNow); err != nil {
		t.Fatal(err)
	}
	return s, r
}

func TestSeveralRepositories(t *testing.T) {
	s, r := publicGoodAndSite(t, mustRead("../testdata/conformance/bundle-verify/intoto-with-custom-trust-root/trusted_root.json"))
	if _, err := trust.Update(context.Background(), s, "site", medium(t, r.Files), trust.UpdateOptions{Now: realNow}); err != nil {
		t.Fatal(err)
	}
	if _, err := trust.Init(s, "other", r.Files["1.root.json"], "embedded", realNow); err == nil {
		t.Error("a site root recorded as the embedded anchor")
	}
	if _, err := trust.Init(openStore(t), trust.PublicGoodName, r.Files["1.root.json"], "file", realNow); err == nil {
		t.Error("a site root pinned under the public-good name")
	}
	if _, err := trust.Init(s, "site", r.Files["1.root.json"], "file", realNow); !errors.Is(err, trust.ErrExists) {
		t.Errorf("second init: %v, want ErrExists", err)
	}
	repos, err := trust.Load(s, realNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(repos) != 2 || repos[0].Name != trust.PublicGoodName || repos[1].Name != "site" {
		t.Fatalf("repos = %v", repos)
	}
	merged, err := trust.MergeTrustedRoots([][]byte{repos[0].TrustedRootJSON, repos[1].TrustedRootJSON, repos[0].TrustedRootJSON})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(merged), "rekor.sigstore.dev") {
		t.Error("merged root lacks the public-good log")
	}
	// A 30-day limit leaves out only the stale public-good repository.
	sel, err := trust.Select(repos, realNow, 30*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(sel.Repos) != 1 || sel.Repos[0].Name != "site" || len(sel.Warnings) != 1 {
		t.Errorf("selection = %v, warnings %q", sel.Repos, sel.Warnings)
	}
}

func TestParseMaxAge(t *testing.T) {
	for in, want := range map[string]time.Duration{"30d": 30 * 24 * time.Hour, "720h": 720 * time.Hour, "90m": 90 * time.Minute, "1d": 24 * time.Hour} {
		got, err := trust.ParseMaxAge(in)
		if err != nil || got != want {
			t.Errorf("ParseMaxAge(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "0d", "-1h", "d", "1.5d", "30days", "99999999d", "1w"} {
		if _, err := trust.ParseMaxAge(in); err == nil {
			t.Errorf("ParseMaxAge(%q) accepted", in)
		}
	}
}

// TestParseMaxAgeTooManyDaysSaysTheLimit: the defect was that "99999999d"
// was refused with "want days like 30d or a duration like 720h", which is
// what the user typed; it names the limit.
func TestParseMaxAgeTooManyDaysSaysTheLimit(t *testing.T) {
	for _, in := range []string{"36501d", "99999999d", "99999999999999999999d"} {
		_, err := trust.ParseMaxAge(in)
		if err == nil || !strings.Contains(err.Error(), "at most 36500d") {
			t.Errorf("ParseMaxAge(%q) = %v, want an error naming the limit 36500d", in, err)
		}
	}
	if _, err := trust.ParseMaxAge("36500d"); err != nil {
		t.Errorf("ParseMaxAge(36500d): %v", err)
	}
}

// TestWritesRefuseTamperedDatabase: the defect was that Init and Update
// verified only the repository they wrote (Init none at all), so a
// database whose public-good repository had been edited still took a new
// site repository and site updates. Every write verifies the whole state
// first and refuses with ErrTampered, writing nothing.
func TestWritesRefuseTamperedDatabase(t *testing.T) {
	s, r := publicGoodAndSite(t, trJSON)
	err := s.tx(t, true, func(tx *bolt.Tx) error {
		return replaceIn(tx.Bucket(cache.BucketTUF).Bucket([]byte(trust.PublicGoodName)), "timestamp", `"version": 762`, `"version": 763`)
	})
	if err != nil {
		t.Fatal(err)
	}
	before := dump(t, s)
	if _, err := trust.Update(context.Background(), s, "site", medium(t, r.Files), trust.UpdateOptions{Now: realNow}); !errors.Is(err, trust.ErrTampered) {
		t.Errorf("update of another repository: %v, want ErrTampered", err)
	}
	if _, err := trust.Init(s, "site2", r.Files["1.root.json"], "file 1.root.json", realNow); !errors.Is(err, trust.ErrTampered) {
		t.Errorf("init of a new repository: %v, want ErrTampered", err)
	}
	if dump(t, s) != before {
		t.Error("a write was committed to a database that does not verify")
	}
}

// TestUpdateFromAnotherRepositoryIsNotSigned: importing a medium that holds
// another repository's metadata (the wrong --name) fails for want of
// signatures by the stored root's keys: ErrNotSigned, which the command
// line turns into a hint to check --name.
func TestUpdateFromAnotherRepositoryIsNotSigned(t *testing.T) {
	s := openStore(t)
	r := tufgen.New(realNow.Add(-time.Hour))
	r.AddTarget(trust.TrustedRootTarget, trJSON)
	r.Publish()
	if _, err := trust.Init(s, "site", r.Files["1.root.json"], "file 1.root.json", realNow); err != nil {
		t.Fatal(err)
	}
	m, _ := trust.OpenDir(snapshotDir)
	_, err := trust.Update(context.Background(), s, "site", m, trust.UpdateOptions{Now: realNow, At: realAt})
	if !errors.Is(err, trust.ErrNotSigned) || !errors.Is(err, trust.ErrRejected) {
		t.Fatalf("update from the public-good mirror: %v, want ErrNotSigned and ErrRejected", err)
	}
	if !strings.Contains(err.Error(), "not signed by a threshold of trusted keys") {
		t.Errorf("error %q does not say what is wrong", err)
	}
}

// TestInitRefusesPathLikeNames: the defect was that "." and ".." were
// accepted as repository names (dots are allowed inside names).
func TestInitRefusesPathLikeNames(t *testing.T) {
	anchor := newRepo().Files["1.root.json"]
	for _, name := range []string{".", "..", ".hidden", "-x", "_x", "a/b", "../x", "a b", "a\x00b", "a\nb", "é", "", strings.Repeat("a", 65)} {
		s := openStore(t)
		if _, err := trust.Init(s, name, anchor, "file 1.root.json", t0); err == nil {
			t.Errorf("Init(%q) accepted", name)
		}
	}
	for _, name := range []string{"site", "site.v2", "A-1_b", "7"} {
		if _, err := trust.Init(openStore(t), name, anchor, "file 1.root.json", t0); err != nil {
			t.Errorf("Init(%q): %v", name, err)
		}
	}
}

// TestSelectSaysWhatWasSetAside: verification that fails with some
// repositories left out must be able to say which and why; Select lists
// them, too old or never imported, whether or not any is left.
func TestSelectSaysWhatWasSetAside(t *testing.T) {
	s := openStore(t)
	if _, err := trust.Init(s, trust.PublicGoodName, trust.PublicGoodRoot(), "embedded", realNow); err != nil {
		t.Fatal(err)
	}
	r := tufgen.New(realNow.Add(-time.Hour))
	r.AddTarget(trust.TrustedRootTarget, trJSON)
	r.Publish()
	if _, err := trust.Init(s, "site", r.Files["1.root.json"], "file 1.root.json", realNow); err != nil {
		t.Fatal(err)
	}
	if _, err := trust.Update(context.Background(), s, "site", medium(t, r.Files), trust.UpdateOptions{Now: realNow}); err != nil {
		t.Fatal(err)
	}
	repos, err := trust.Load(s, realNow)
	if err != nil {
		t.Fatal(err)
	}
	sel, err := trust.Select(repos, realNow, 30*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(sel.SetAside) != 1 || sel.SetAside[0].Name != trust.PublicGoodName || !sel.SetAside[0].NotImported {
		t.Errorf("set aside %+v, want public-good, not imported", sel.SetAside)
	}
	m, _ := trust.OpenDir(snapshotDir)
	if _, err := trust.Update(context.Background(), s, trust.PublicGoodName, m, trust.UpdateOptions{Now: realNow, At: realAt}); err != nil {
		t.Fatal(err)
	}
	repos, err = trust.Load(s, realNow)
	if err != nil {
		t.Fatal(err)
	}
	sel, err = trust.Select(repos, realNow, 30*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	got := sel.SetAside
	if len(got) != 1 || got[0].Name != trust.PublicGoodName || got[0].NotImported || got[0].MaxAge != 30*24*time.Hour ||
		!got[0].ReferenceTime.Equal(realAt) || got[0].Age != realNow.Sub(realAt) {
		t.Errorf("set aside %+v, want public-good too old", got)
	}
	// Everything too old: refused, and still said.
	sel, err = trust.Select(repos, realNow.Add(40*24*time.Hour), 30*24*time.Hour)
	if !errors.Is(err, trust.ErrStale) || sel == nil || len(sel.SetAside) != 2 || len(sel.Warnings) != 2 {
		t.Errorf("all too old: %v, selection %+v", err, sel)
	}
}

// TestMergeTrustedRootsIsDeterministic: protojson varies its whitespace
// on purpose, so the exported trusted_root.json had irregular spacing that
// could differ between builds. The output is encoding/json's indented form
// of itself.
func TestMergeTrustedRootsIsDeterministic(t *testing.T) {
	custom := mustRead("../testdata/conformance/bundle-verify/intoto-with-custom-trust-root/trusted_root.json")
	got, err := trust.MergeTrustedRoots([][]byte{trJSON, custom})
	if err != nil {
		t.Fatal(err)
	}
	var compact, want bytes.Buffer
	if err := json.Compact(&compact, got); err != nil {
		t.Fatal(err)
	}
	if err := json.Indent(&want, compact.Bytes(), "", "  "); err != nil {
		t.Fatal(err)
	}
	want.WriteByte('\n')
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("merged trusted root is not in canonical indented form:\n%s", got)
	}
	if !strings.Contains(string(got), "\n  \"mediaType\": \"application/vnd.dev.sigstore.trustedroot") {
		t.Errorf("unexpected layout:\n%.200s", got)
	}
}

// TestParseMaxAgeCapWhateverTheUnit: the defect was that the century cap
// held for days only: "99999999d" was refused but "2562047h" accepted.
func TestParseMaxAgeCapWhateverTheUnit(t *testing.T) {
	for _, in := range []string{"2562047h", "876001h", "52560060m", "9999999999999h", "36501d"} {
		_, err := trust.ParseMaxAge(in)
		if err == nil || !strings.Contains(err.Error(), "at most 36500d") {
			t.Errorf("ParseMaxAge(%q) = %v, want an error naming the limit 36500d", in, err)
		}
	}
	for _, in := range []string{"876000h", "36500d", "52560000m"} {
		if _, err := trust.ParseMaxAge(in); err != nil {
			t.Errorf("ParseMaxAge(%q): %v", in, err)
		}
	}
}

// TestMergeTrustedRootsLogConflict: found in review: two trusted roots
// naming one log ID with different keys were merged, and verifiers (which
// key logs by ID) kept the later key, silently replacing the earlier. The
// merge refuses, naming the documents; the same log twice is no conflict.
func TestMergeTrustedRootsLogConflict(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(trJSON, &doc); err != nil {
		t.Fatal(err)
	}
	tlogs := doc["tlogs"].([]any)
	pk := tlogs[0].(map[string]any)["publicKey"].(map[string]any)
	pk["rawBytes"] = base64.StdEncoding.EncodeToString([]byte("another key for the same log ID"))
	shadow, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	_, err = trust.MergeTrustedRoots([][]byte{trJSON, shadow})
	var lc *trust.LogConflictError
	if !errors.Is(err, trust.ErrLogConflict) || !errors.As(err, &lc) || lc.First != 0 || lc.Second != 1 || lc.Kind != "transparency log" {
		t.Fatalf("merge of a shadowed log: %v, want a LogConflictError between 0 and 1", err)
	}
	if _, err := trust.MergeTrustedRoots([][]byte{trJSON, trJSON}); err != nil {
		t.Errorf("the same trusted root twice: %v", err)
	}
	// The same log with another base URL (a mirror) and validity window
	// (listed after a rotation) is the same log: no conflict.
	if err := json.Unmarshal(trJSON, &doc); err != nil {
		t.Fatal(err)
	}
	tl := doc["tlogs"].([]any)[0].(map[string]any)
	tl["baseUrl"] = "https://rekor.mirror.example"
	tl["publicKey"].(map[string]any)["validFor"] = map[string]any{"start": "2021-01-12T11:53:27Z", "end": "2030-01-01T00:00:00Z"}
	mirror, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := trust.MergeTrustedRoots([][]byte{trJSON, mirror}); err != nil {
		t.Errorf("one log with another base URL and validity: %v", err)
	}
}
