package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/airlock-project/airlock/bundle"
	"github.com/airlock-project/airlock/cache"
	"github.com/airlock-project/airlock/trust"
	"github.com/airlock-project/airlock/trust/tufgen"
	"github.com/urfave/cli/v2"
)

// TestDatabasePermissionDenied: the defect was that a database the user may
// not open said 'opening database "/x/a.db": open /x/a.db: permission
// denied' (the path twice) with no hint. (Tests run as root, for whom
// permissions do not apply, so the error is built as cache.Open builds it.)
func TestDatabasePermissionDenied(t *testing.T) {
	err := trustErr(&cache.OpenError{Path: "/x/a.db", Err: &fs.PathError{Op: "open", Path: "/x/a.db", Err: fs.ErrPermission}})
	var stderr bytes.Buffer
	if code := report(&stderr, err); code != exitFailed {
		t.Errorf("exit code %d, want %d", code, exitFailed)
	}
	got, want := stderr.String(), `airlock: error: opening database "/x/a.db": permission denied
airlock: hint: check the permissions of the database FILE and its directory, or choose another with --db (or AIRLOCK_DB)
`
	if got != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", got, want)
	}
	// Another file's permission error (a medium, say) gets no database hint.
	var other bytes.Buffer
	report(&other, trustErr(&fs.PathError{Op: "open", Path: "/media/tuf/timestamp.json", Err: fs.ErrPermission}))
	if bytes.Contains(other.Bytes(), []byte("hint")) {
		t.Errorf("a medium's permission error got a database hint: %s", other.String())
	}
}

// loadTrustWith runs loadTrust as a verification command would, with the
// database at $AIRLOCK_DB and args as its flags.
func loadTrustWith(t *testing.T, now time.Time, args ...string) (*trust.Selection, error) {
	t.Helper()
	var ts *trust.Selection
	var err error
	app := &cli.App{
		Flags:  append(trustFlags(), &cli.StringFlag{Name: "trusted-root"}),
		Action: func(c *cli.Context) error { ts, err = loadTrust(c, now); return nil },
	}
	if rerr := app.Run(append([]string{"airlock"}, args...)); rerr != nil {
		t.Fatal(rerr)
	}
	return ts, err
}

// trustDB makes a database at $AIRLOCK_DB holding public-good imported from
// the 2026-08-21 snapshot and, if site, a site repository pinned and, if
// siteImported, imported at today's clock.
func trustDB(t *testing.T, site, siteImported bool) {
	t.Helper()
	t.Setenv("AIRLOCK_DB", filepath.Join(t.TempDir(), "airlock.db"))
	t.Setenv("AIRLOCK_MAX_TRUST_AGE", "")
	must := func(code int, stdout, stderr string) {
		t.Helper()
		if code != 0 {
			t.Fatalf("exit %d: %s%s", code, stdout, stderr)
		}
	}
	must(runAirlock(t, "trust", "init", "--public-good"))
	must(runAirlock(t, "trust", "update", "--from", "../../testdata/tuf/public-good-2026-08-21", "--at", "2026-08-21T20:00:00Z"))
	if !site {
		return
	}
	dir := t.TempDir()
	r, err := genRepo(1, publicGoodTrustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	if err := tufgen.WriteDir(dir, r.Files); err != nil {
		t.Fatal(err)
	}
	must(runAirlock(t, "trust", "init", "--root", filepath.Join(dir, "1.root.json"), "--name", "site"))
	if siteImported {
		must(runAirlock(t, "trust", "update", "--name", "site", "--from", dir))
	}
}

// TestLoadTrustSaysWhatWasSetAside: the defect was that with public-good
// too old (or pinned and never imported) beside a usable site repository,
// a public-good bundle was rejected with "not enough verified log entries",
// and nothing but a warning said public-good had not been used. The trust
// source lists what was set aside, and setAsideHint words it for the
// rejection's hint.
func TestLoadTrustSaysWhatWasSetAside(t *testing.T) {
	trustDB(t, true, true)
	now := time.Now()
	ts, err := loadTrustWith(t, now, "--max-trust-age", "30d")
	if err != nil {
		t.Fatal(err)
	}
	if len(ts.Sources) != 1 || ts.Sources[0].Name != "site" {
		t.Fatalf("sources %v, want site alone", ts.Sources)
	}
	hint := setAsideHint(ts)
	want := regexp.MustCompile(`^repository "public-good" was not used: its trust is \d+d(\d+h)? old \(verified as of 2026-08-21T20:00:00Z\), over --max-trust-age 30d: import fresher metadata with 'airlock trust update --name public-good --from DIR\|TAR'$`)
	if !want.MatchString(hint) {
		t.Errorf("hint %q", hint)
	}
	// Under the default limit nothing is set aside.
	if ts, err := loadTrustWith(t, now); err != nil || setAsideHint(ts) != "" {
		t.Errorf("default limit: hint %q, %v", setAsideHint(ts), err)
	}

	// Pinned but never imported.
	trustDB(t, true, false)
	ts, err = loadTrustWith(t, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := setAsideHint(ts), `repository "site" was not used: it is pinned but nothing was imported into it: import its metadata with 'airlock trust update --name site --from DIR|TAR'`; got != want {
		t.Errorf("hint %q, want %q", got, want)
	}
}

// TestLoadTrustTooOldCarriesWarnings: the defect was that a verification
// refused because all trust is too old printed JSON results with
// "warnings": [], although the refusal comes with the warning naming the
// repository left out. The error carries the warnings (trustWarnings), for
// rejectAll to put in each Result.
func TestLoadTrustTooOldCarriesWarnings(t *testing.T) {
	trustDB(t, false, false)
	_, err := loadTrustWith(t, time.Now(), "--max-trust-age", "30d")
	if !errors.Is(err, trust.ErrStale) || isRejection(err) || exitCode(err) != exitFailed {
		t.Fatalf("load: %v, want trust.ErrStale, exit 2 (not a rejection of the evidence)", err)
	}
	w := trustWarnings(err)
	if len(w) != 1 || !strings.Contains(w[0], `trust from repository "public-good" is `) || !strings.HasSuffix(w[0], "over the limit of 30d; not used: import fresher metadata") {
		t.Errorf("warnings %q", w)
	}
	var stderr bytes.Buffer
	report(&stderr, err)
	if !strings.Contains(stderr.String(), "airlock: hint: import fresher TUF metadata") {
		t.Errorf("the hint is lost: %s", stderr.String())
	}
	if trustWarnings(errors.New("other")) != nil {
		t.Error("warnings from an unrelated error")
	}
}

// TestExportRootOutputFile: export-root writes with the shared output
// writer: a symlink is followed (the link stays, its target is replaced), a
// replaced file keeps its mode, a device or FIFO is written through, and a
// missing directory is named without a temporary file's name.
func TestExportRootOutputFile(t *testing.T) {
	trustDB(t, false, false)
	dir := t.TempDir()
	real, link := filepath.Join(dir, "real.json"), filepath.Join(dir, "link.json")
	if err := os.WriteFile(real, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real.json", link); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runAirlock(t, "trust", "export-root", "--out", link); code != 0 {
		t.Fatalf("exit %d: %s%s", code, out, errOut)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v, %v", st.Mode(), err)
	}
	st, err := os.Stat(real)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got != 0o600 {
		t.Errorf("replaced file has mode %v, want 0600", got)
	}
	data, _ := os.ReadFile(real)
	if !bytes.Contains(data, []byte("trustedroot")) {
		t.Errorf("target not written: %q", data)
	}

	if code, _, errOut := runAirlock(t, "trust", "export-root", "--out", os.DevNull); code != 0 {
		t.Errorf("--out %s: exit %d: %s", os.DevNull, code, errOut)
	}
	if st, err := os.Stat(os.DevNull); err != nil || st.Mode().IsRegular() {
		t.Fatalf("%s was replaced", os.DevNull)
	}

	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte)
	go func() {
		b, _ := os.ReadFile(fifo)
		got <- b
	}()
	if code, _, errOut := runAirlock(t, "trust", "export-root", "--out", fifo); code != 0 {
		t.Errorf("--out FIFO: exit %d: %s", code, errOut)
	}
	if b := <-got; !bytes.Equal(b, data) {
		t.Errorf("FIFO read %d bytes, want the %d exported", len(b), len(data))
	}

	missing := filepath.Join(dir, "nodir", "x.json")
	code, _, errOut := runAirlock(t, "trust", "export-root", "--out", missing)
	if want := fmt.Sprintf("airlock: error: writing %q: directory %q does not exist\n", missing, filepath.Dir(missing)); code != exitFailed || errOut != want {
		t.Errorf("missing directory: exit %d, %q; want %q", code, errOut, want)
	}
}

// TestStaleTrustErrorIsNotARejection: a rejection for want of trust while
// repositories were set aside as too old exits 2 with the stale message
// and the hint, and JSON says "error" with trust-too-old; a rejection no
// trust decides stays one.
func TestStaleTrustErrorIsNotARejection(t *testing.T) {
	stale := fmt.Errorf("%w: trust from repository %q is old", trust.ErrStale, "public-good")
	rej := bundle.Rejectf(bundle.ReasonNoLogInTrustedRoot, "no log")
	r := bundle.NewRejectedResult("bundle", "b.json", "f", rej)
	ir := notJudged(bundle.ItemResult{Result: r, Err: rej}, stale, []string{"site-log s.example"}, "import fresher metadata")
	var stderr bytes.Buffer
	if code := report(&stderr, ir.Err); code != exitFailed {
		t.Errorf("exit code %d, want %d", code, exitFailed)
	}
	want := "airlock: error: trust is too old: trust from repository \"public-good\" is old; the trust still in use (\"site-log s.example\") did not verify the evidence: no log\nairlock: hint: import fresher metadata\n"
	if got := stderr.String(); got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
	if r.Status != "error" || r.Reason != bundle.ReasonTrustTooOld || errors.Is(ir.Err, bundle.ErrRejected) || !errors.Is(ir.Err, trust.ErrStale) {
		t.Errorf("result %+v, err %v", r, ir.Err)
	}
	if bundle.ReasonSignatureInvalid.TrustDecides() {
		t.Error("a bad signature would become 'not judged'")
	}
}
