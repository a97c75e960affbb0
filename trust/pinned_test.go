package trust_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/airlock-project/airlock/cache"
	"github.com/airlock-project/airlock/trust"
	"github.com/airlock-project/airlock/trust/catest"
	bolt "go.etcd.io/bbolt"
)

// pin pins data as name at now.
func pin(s trust.Store, name string, data []byte, replace bool, now time.Time) (*trust.RepoStatus, error) {
	return trust.InitTrustedRoot(s, name, data, trust.PinOptions{Source: "file " + name + ".json", Replace: replace, Now: now})
}

// siteCARoot is a trusted_root.json listing a fresh private CA and its
// CT log.
func siteCARoot(t *testing.T, name string) []byte {
	t.Helper()
	ca, err := catest.New(name, t0.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	data, err := ca.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestPinTrustedRoot: a pinned trusted root loads, is selected for
// verification with the warning that it has no TUF freshness, ages from
// its pin time, and its audit record names its sha256.
func TestPinTrustedRoot(t *testing.T) {
	s := openStore(t)
	data := siteCARoot(t, "site-a")
	st, err := pin(s, "site-a", data, false, t0)
	if err != nil {
		t.Fatal(err)
	}
	if st.Kind != trust.KindTrustedRoot || st.PinnedRoot == nil || st.Anchor != nil || st.Root != nil {
		t.Fatalf("status %+v", st)
	}
	if got, want := st.PinnedRoot.Source, "file site-a.json"; got != want {
		t.Errorf("source %q, want %q", got, want)
	}
	if len(st.TrustedRoot.CertificateAuthorities) != 1 || len(st.TrustedRoot.CTLogs) != 1 {
		t.Errorf("trusted root summary %+v", st.TrustedRoot)
	}
	repos, err := trust.Load(s, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(repos) != 1 || !repos[0].Pinned() || repos[0].TrustedRoot == nil || string(repos[0].TrustedRootJSON) != string(data) {
		t.Fatalf("loaded %+v", repos)
	}
	f := repos[0].Freshness(t0.Add(time.Hour))
	if !f.NoTUF || f.Stale || f.Age != time.Hour {
		t.Errorf("freshness %+v", f)
	}
	sel, err := trust.Select(repos, t0.Add(time.Hour), trust.DefaultMaxAge)
	if err != nil {
		t.Fatal(err)
	}
	if len(sel.Sources) != 1 || len(sel.Sources[0].Warnings) != 1 || !strings.Contains(sel.Sources[0].Warnings[0], "pinned trusted root with no TUF freshness") {
		t.Errorf("selection %+v", sel)
	}
	// Past the age limit, counted from the pin time: set aside.
	sel, err = trust.Select(repos, t0.Add(48*time.Hour), 24*time.Hour)
	if !errors.Is(err, trust.ErrStale) || len(sel.SetAside) != 1 || !sel.SetAside[0].Pinned {
		t.Errorf("too old: %v %+v", err, sel)
	}
	recs, err := s.db.Audit()
	if err != nil {
		t.Fatal(err)
	}
	last := recs[len(recs)-1]
	if last.Kind != "trust-init" || last.Fields["kind"] != trust.KindTrustedRoot || last.Fields["sha256"] != st.PinnedRoot.SHA256 {
		t.Errorf("audit record %+v", last)
	}
}

// TestPinTrustedRootReplace: an existing name needs Replace; Replace needs
// an existing pinned root; a TUF repository is never replaced; a refused
// pin changes nothing. A replace restarts the age and names the previous
// sha256 in the audit trail.
func TestPinTrustedRootReplace(t *testing.T) {
	s, _ := publicGoodAndSite(t, trJSON)
	a, b := siteCARoot(t, "a"), siteCARoot(t, "b")
	first, err := pin(s, "site-a", a, false, realNow)
	if err != nil {
		t.Fatal(err)
	}
	before := dump(t, s)
	for name, c := range map[string]struct {
		name    string
		data    []byte
		replace bool
		want    error
	}{
		"exists_without_replace": {"site-a", b, false, trust.ErrExists},
		"replace_unknown":        {"site-b", b, true, trust.ErrUnknownRepository},
		"replace_tuf_repository": {"site", b, true, trust.ErrNotPinnedRoot},
		"pin_over_tuf":           {"site", b, false, trust.ErrNotPinnedRoot},
		"public_good":            {trust.PublicGoodName, b, true, trust.ErrReservedName},
		"not_a_trusted_root":     {"site-a", []byte(`{"signed":{"_type":"root"}}`), true, trust.ErrNotTrustedRoot},
		"nothing_to_trust":       {"site-c", []byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`), false, trust.ErrNotTrustedRoot},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := pin(s, c.name, c.data, c.replace, realNow.Add(time.Minute))
			if !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
			if got := dump(t, s); got != before {
				t.Error("a refused pin changed the database")
			}
		})
	}
	later := realNow.Add(time.Hour)
	st, err := pin(s, "site-a", b, true, later)
	if err != nil {
		t.Fatal(err)
	}
	if !st.PinnedRoot.PinnedAt.Equal(later) || !st.PinnedRoot.FirstPinnedAt.Equal(realNow) || st.PinnedRoot.SHA256 == first.PinnedRoot.SHA256 {
		t.Errorf("replaced: %+v", st.PinnedRoot)
	}
	recs, err := s.db.Audit()
	if err != nil {
		t.Fatal(err)
	}
	last := recs[len(recs)-1]
	if last.Kind != "trust-replace" || last.Fields["previous_sha256"] != first.PinnedRoot.SHA256 || last.Fields["sha256"] != st.PinnedRoot.SHA256 {
		t.Errorf("audit record %+v", last)
	}
	// A pinned root has no TUF metadata to update.
	m, _ := trust.OpenDir(snapshotDir)
	if _, err := trust.Update(context.Background(), s, "site-a", m, trust.UpdateOptions{Now: later}); !errors.Is(err, trust.ErrNotTUF) {
		t.Errorf("update of a pinned root: %v, want ErrNotTUF", err)
	}
}

// TestPinnedRootTampered: the stored file, its recorded sha256, its kind
// and its records are all checked on load.
func TestPinnedRootTampered(t *testing.T) {
	edits := map[string]func(b *bolt.Bucket) error{
		"file_edited": func(b *bolt.Bucket) error {
			return b.Put([]byte("trusted_root"), append([]byte(" "), b.Get([]byte("trusted_root"))...))
		},
		"file_removed": func(b *bolt.Bucket) error { return b.Delete([]byte("trusted_root")) },
		"kind_unknown": func(b *bolt.Bucket) error {
			return replaceIn(b, "state", `"kind":"trusted-root"`, `"kind":"tuf-v9"`)
		},
		"kind_removed": func(b *bolt.Bucket) error {
			return replaceIn(b, "state", `"kind":"trusted-root",`, ``)
		},
		"record_planted": func(b *bolt.Bucket) error { return b.Put([]byte("timestamp"), []byte("{}")) },
		"pin_time_removed": func(b *bolt.Bucket) error {
			return replaceIn(b, "state", `"reference_time":"2026-09-01T00:00:00Z"`, `"reference_time":"0001-01-01T00:00:00Z"`)
		},
	}
	for name, edit := range edits {
		t.Run(name, func(t *testing.T) {
			s := openStore(t)
			if _, err := pin(s, "site-a", siteCARoot(t, "a"), false, t0); err != nil {
				t.Fatal(err)
			}
			err := s.tx(t, true, func(tx *bolt.Tx) error {
				return edit(tx.Bucket(cache.BucketTUF).Bucket([]byte("site-a")))
			})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := trust.Load(s, t0.Add(time.Hour)); !errors.Is(err, trust.ErrTampered) {
				t.Fatalf("load: %v, want ErrTampered", err)
			}
		})
	}
}

// TestWithSiteLogCombinesCA: a repository with a certificate authority
// is combined with the site log into a source of its own, after the site
// log's, holding the repository's CA and CT log and the site log's keys
// as its only transparency logs, and carrying the repository's warnings.
// A repository with no CA (public-good has one; a log-only root has none)
// is not combined.
func TestWithSiteLogCombinesCA(t *testing.T) {
	s := openStore(t)
	caRoot := siteCARoot(t, "site")
	if _, err := pin(s, "site-ca", caRoot, false, t0); err != nil {
		t.Fatal(err)
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	keys := []trust.LogKey{{Origin: "log.site.example", PublicKey: der, ValidFrom: t0}}
	logOnly, err := trust.LogTrustedRootJSON(keys)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pin(s, "site-log-copy", logOnly, false, t0); err != nil {
		t.Fatal(err)
	}
	sel, err := trust.ForVerification(context.Background(), s, t0.Add(time.Hour), trust.DefaultMaxAge)
	if err != nil {
		t.Fatal(err)
	}
	sel, err = trust.WithSiteLog(sel, nil, keys)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, src := range sel.Sources {
		names = append(names, src.Name)
	}
	if got, want := strings.Join(names, ", "), "site-ca, site-log-copy, site-log log.site.example, site-ca + site-log log.site.example"; got != want {
		t.Fatalf("sources %q, want %q", got, want)
	}
	combined := sel.Sources[3]
	if len(combined.Material.FulcioCertificateAuthorities()) != 1 || len(combined.Material.CTLogs()) != 1 || len(combined.Material.RekorLogs()) != 1 {
		t.Errorf("combined: %d CAs, %d CT logs, %d logs", len(combined.Material.FulcioCertificateAuthorities()), len(combined.Material.CTLogs()), len(combined.Material.RekorLogs()))
	}
	if len(combined.Warnings) != 1 || combined.Warnings[0] != sel.Sources[0].Warnings[0] {
		t.Errorf("combined warnings %q, want the repository's %q", combined.Warnings, sel.Sources[0].Warnings)
	}
	if len(sel.Sources[2].Warnings) != 0 {
		t.Errorf("the site log carries warnings %q", sel.Sources[2].Warnings)
	}
}
