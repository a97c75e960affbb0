package trust_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/airlock-project/airlock/trust"
)

// TestReadTrustedRoot: a file that does not read is an *fs.PathError (the
// caller could not run); one that reads but is no trusted root is a
// *TrustedRootError saying why in one line, and what the file is instead
// when it is a TUF root or a bundle.
func TestReadTrustedRoot(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if _, err := trust.ReadTrustedRoot(write("good.json", trJSON)); err != nil {
		t.Fatalf("good trusted root: %v", err)
	}
	if _, err := trust.ReadTrustedRoot(filepath.Join(dir, "missing.json")); !errors.As(err, new(*fs.PathError)) {
		t.Errorf("missing file: %v, want an *fs.PathError", err)
	}
	tests := []struct {
		name        string
		data        []byte
		reason      string
		looks       string
		wantReasonN bool // reason is sigstore-go's, not fixed
	}{
		{"not_json", []byte("this is not a trusted root\n"), "not JSON", "", false},
		{"oversized", bytes.Repeat([]byte(" "), trust.MaxTargetSize+1), "larger than 8388608 bytes", "", false},
		{"tuf_root", mustRead(snapshotDir + "/5.root.json"), "", trust.LooksTUFRoot, true},
		{"bundle", mustRead("../testdata/conformance/bundle-verify/happy-path-v0.3/bundle.sigstore.json"), "", trust.LooksBundle, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := trust.ReadTrustedRoot(write(tc.name+".json", tc.data))
			var te *trust.TrustedRootError
			if !errors.As(err, &te) || !errors.Is(err, trust.ErrNotTrustedRoot) {
				t.Fatalf("error %v, want a *TrustedRootError", err)
			}
			if !tc.wantReasonN && te.Reason != tc.reason {
				t.Errorf("reason %q, want %q", te.Reason, tc.reason)
			}
			if te.Reason == "" || bytes.ContainsAny([]byte(te.Reason), "\n\r") {
				t.Errorf("reason %q is not one line", te.Reason)
			}
			if te.Looks != tc.looks {
				t.Errorf("looks %q, want %q", te.Looks, tc.looks)
			}
		})
	}
}

// TestForVerification: the one call a verification makes. Nothing imported
// is a *SelectionError wrapping ErrNoTrust; all too old wraps ErrStale and
// carries the warnings; a usable repository gives one Source per
// repository, in order, named after it; a cancelled context stops it.
func TestForVerification(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	var se *trust.SelectionError
	if _, err := trust.ForVerification(ctx, s, realNow, trust.DefaultMaxAge); !errors.Is(err, trust.ErrNoTrust) || !errors.As(err, &se) {
		t.Fatalf("empty database: %v, want a SelectionError wrapping ErrNoTrust", err)
	}
	if _, err := trust.Init(s, trust.PublicGoodName, trust.PublicGoodRoot(), "embedded", realNow); err != nil {
		t.Fatal(err)
	}
	if _, err := trust.Init(s, "a-site", newRepo().Files["1.root.json"], "file 1.root.json", realNow); err != nil {
		t.Fatal(err)
	}
	if names, err := trust.RepositoryNames(s); err != nil || !slices.Equal(names, []string{trust.PublicGoodName, "a-site"}) {
		t.Errorf("RepositoryNames: %q, %v; want public-good first, as verification tries them", names, err)
	}
	m, err := trust.OpenDir(snapshotDir)
	if err != nil {
		t.Fatal(err)
	}
	defer trust.CloseMedium(m)
	if _, err := trust.Update(ctx, s, trust.PublicGoodName, m, trust.UpdateOptions{Now: realNow, At: realAt}); err != nil {
		t.Fatal(err)
	}
	sel, err := trust.ForVerification(ctx, s, realNow, trust.DefaultMaxAge)
	if err != nil {
		t.Fatal(err)
	}
	if len(sel.Sources) != 1 || len(sel.SetAside) != 1 || sel.Sources[0].Name != trust.PublicGoodName || sel.Sources[0].Material == nil || !sel.Time.Equal(realNow) {
		t.Errorf("selection %+v", sel)
	}
	// Pinned but never imported is not stale: nothing to refresh.
	if err := sel.StaleError(); err != nil {
		t.Errorf("StaleError with a-site not imported: %v, want nil", err)
	}
	_, err = trust.ForVerification(ctx, s, realNow, time.Hour)
	if !errors.Is(err, trust.ErrStale) || !errors.As(err, &se) || len(se.Selection.Warnings) != 1 || len(se.Selection.SetAside) != 2 {
		t.Errorf("too old: %v, want a SelectionError wrapping ErrStale with one warning and two set aside", err)
	}
	// The selection names what was set aside for its age, as the error
	// did: a caller whose remaining trust (a site log) did not vouch says
	// the same.
	if se != nil {
		if got := se.Selection.StaleError(); !errors.Is(got, trust.ErrStale) || got.Error() != err.Error() {
			t.Errorf("StaleError = %v, want %v", got, err)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := trust.ForVerification(cancelled, s, realNow, trust.DefaultMaxAge); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
