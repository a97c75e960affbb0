package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/airlock-project/airlock/cache"
	"github.com/airlock-project/airlock/trust"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/urfave/cli/v2"
)

// trustSource is the trust one verification runs against, and where it came
// from. Owned by the trust-store issue; the verifier only reads it.
type trustSource struct {
	// Sources are tried in order; the first that verifies is the one that
	// vouched, and the result names it. There is always at least one.
	Sources []namedMaterial
	// From says where trust was loaded from: "trusted-root FILE" or "database FILE".
	From string
	// Time is the reference time the trust was evaluated at.
	Time time.Time
	// Warnings are shown on stderr and carried in JSON results (e.g. stale trust).
	Warnings []string
	// MaxAge is the trust age limit applied (database trust only).
	MaxAge time.Duration
	// SetAside are the database's repositories left out of Sources (past
	// MaxAge, or pinned with nothing imported), with the reason. A
	// rejected verification names them in its hint (setAsideHint): the
	// bundle may be one a repository set aside would have verified.
	SetAside []trust.SetAside
}

// setAsideHint says which repositories verification did not use and
// what to do about each; "" if it used them all.
func (ts *trustSource) setAsideHint() string {
	if ts == nil {
		return ""
	}
	var parts []string
	for _, a := range ts.SetAside {
		update := fmt.Sprintf("'airlock trust update --name %s --from DIR|TAR'", a.Name)
		if a.NotImported {
			parts = append(parts, fmt.Sprintf("repository %q was not used: it is pinned but nothing was imported into it: import its metadata with %s", a.Name, update))
			continue
		}
		parts = append(parts, fmt.Sprintf("repository %q was not used: its trust is %s old (verified as of %s), over --max-trust-age %s: import fresher metadata with %s",
			a.Name, trust.FormatAge(a.Age), a.ReferenceTime.UTC().Format(time.RFC3339), trust.FormatAge(a.MaxAge), update))
	}
	return strings.Join(parts, "; ")
}

// warnedError is a failure to load trust that comes with the warnings
// loading produced (the repositories left out as too old, say), so that a
// rejection's JSON result carries them as a verified one would.
type warnedError struct {
	err      error
	warnings []string
}

func (e *warnedError) Error() string { return e.err.Error() }
func (e *warnedError) Unwrap() error { return e.err }

// trustWarnings returns the warnings err carries from loading trust, if
// any (a rejection's Result.Warnings).
func trustWarnings(err error) []string {
	var we *warnedError
	if errors.As(err, &we) {
		return we.warnings
	}
	return nil
}

type namedMaterial struct {
	Name     string // repository name, or the --trusted-root file name
	Material root.TrustedMaterial
}

// trustFlags are the flags loadTrust reads; verification commands append
// them to their own.
func trustFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{
			Name:  "max-trust-age",
			Usage: "refuse database trust verified longer ago than `AGE`, exit 2 (720h, 30d; default $AIRLOCK_MAX_TRUST_AGE, else 180d)",
		},
	}
}

// maxTrustAge reads --max-trust-age (if the command has it), else
// $AIRLOCK_MAX_TRUST_AGE, else trust.DefaultMaxAge.
func maxTrustAge(c *cli.Context) (time.Duration, error) {
	if c.IsSet("max-trust-age") {
		d, err := trust.ParseMaxAge(c.String("max-trust-age"))
		if err != nil {
			return 0, usageErrorf("--max-trust-age: %v", err)
		}
		return d, nil
	}
	if s := os.Getenv("AIRLOCK_MAX_TRUST_AGE"); s != "" {
		d, err := trust.ParseMaxAge(s)
		if err != nil {
			return 0, usageErrorf("AIRLOCK_MAX_TRUST_AGE: %v", err)
		}
		return d, nil
	}
	return trust.DefaultMaxAge, nil
}

// loadTrust returns the trust for a verification at time now:
// --trusted-root FILE, else every repository in the database, each
// re-verified from its anchor.
func loadTrust(c *cli.Context, now time.Time) (*trustSource, error) {
	if p := c.String("trusted-root"); p != "" {
		tr, err := readTrustedRoot(p)
		if err != nil {
			return nil, fmt.Errorf("reading trusted root %q: %w", p, err)
		}
		return &trustSource{Sources: []namedMaterial{{Name: p, Material: tr}}, From: "trusted-root " + p, Time: now}, nil
	}
	maxAge, err := maxTrustAge(c)
	if err != nil {
		return nil, err
	}
	path, err := dbPath(c)
	if err != nil {
		return nil, err
	}
	db, err := cache.Open(path, cache.Options{ReadOnly: true})
	if errors.Is(err, cache.ErrNotInitialized) {
		return nil, withHint(fmt.Errorf("%w: no database at %q", errNoTrustedRoot, path),
			"pass --trusted-root FILE, or run 'airlock trust init --public-good' and 'airlock trust update --from DIR'")
	}
	if err != nil {
		return nil, trustErr(err)
	}
	defer db.Close()
	repos, err := trust.Load(tufStore(db), now)
	if err != nil {
		return nil, trustErr(err)
	}
	sel, err := trust.Select(repos, now, maxAge)
	if err != nil {
		if len(sel.Warnings) > 0 {
			err = &warnedError{err, sel.Warnings}
		}
		return nil, trustErr(err)
	}
	ts := &trustSource{From: "database " + path, Time: now, Warnings: sel.Warnings, MaxAge: maxAge, SetAside: sel.SetAside}
	for _, r := range sel.Repos {
		ts.Sources = append(ts.Sources, namedMaterial{Name: r.Name, Material: r.TrustedRoot})
	}
	return ts, nil
}

// readTrustedRoot reads a trusted_root.json, bounded as a TUF target is.
// A file that cannot be read is an *fs.PathError; one that is not JSON
// says so (sigstore-go would say only "protobuf error").
func readTrustedRoot(path string) (*root.TrustedRoot, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, trust.MaxTargetSize+1))
	if err != nil {
		return nil, err
	}
	switch {
	case len(data) > trust.MaxTargetSize:
		return nil, fmt.Errorf("larger than %d bytes", trust.MaxTargetSize)
	case !json.Valid(data):
		return nil, errors.New("not JSON")
	}
	return root.NewTrustedRootFromJSON(data)
}

// errNoTrustedRoot means no trust is configured at all: no --trusted-root
// and no database.
var errNoTrustedRoot = errors.New("no trusted root")

// noTrustConfigured reports whether loadTrust failed only because no trust
// is configured (no database, or one with no imported repository).
func noTrustConfigured(err error) bool {
	return errors.Is(err, errNoTrustedRoot) || errors.Is(err, trust.ErrNoTrust)
}

// staleTrust reports whether loading trust failed because every repository
// is older than --max-trust-age: not a rejection of the evidence (exit 2),
// but reported per item like one.
func staleTrust(err error) bool { return errors.Is(err, trust.ErrStale) }

// tufStore is an open database as trust's Store.
func tufStore(db *cache.DB) trustStore { return trustStore{&cache.TUFStore{DB: db}} }

// trustStore is the database as trust.Store. cache does not import trust,
// so it speaks its own types; this is the wiring between them.
type trustStore struct {
	cache interface {
		ReadTUF(fn func(repos map[string]map[string][]byte, blob func(string) []byte) error) error
		CommitTUF(c cache.TUFCommit) (bool, error)
	}
}

func (s trustStore) ReadTUF(fn func(repos map[string]map[string][]byte, blob func(string) []byte) error) error {
	return s.cache.ReadTUF(fn)
}

func (s trustStore) CommitTUF(c trust.Commit) (bool, error) {
	return s.cache.CommitTUF(cache.TUFCommit{
		Repo: c.Repository, ExpectState: c.ExpectState, Set: c.Set, Blobs: c.Blobs,
		Audit: cache.AuditRecord{Kind: c.Audit.Kind, Time: c.Audit.Time, Fields: c.Audit.Fields},
	})
}

// trustErr attaches the hint that goes with a trust or database error.
func trustErr(err error) error {
	switch {
	case errors.Is(err, trust.ErrStale):
		return withHint(err, "import fresher TUF metadata with 'airlock trust update --from DIR|TAR', or raise --max-trust-age / AIRLOCK_MAX_TRUST_AGE")
	case errors.Is(err, trust.ErrNoTrust):
		return withHint(err, "run 'airlock trust init --public-good' and 'airlock trust update --from DIR', or pass --trusted-root FILE")
	case errors.Is(err, trust.ErrTampered):
		return withHint(err, "the database was changed outside airlock or is damaged: keep it for investigation, and restore it from a backup or start a new database file (--db NEW or AIRLOCK_DB) and import again with 'airlock trust init' and 'airlock trust update'")
	case errors.Is(err, trust.ErrClock):
		return withHint(err, "the machine clock went backwards: set it right; if the clock is right now, the database recorded a future time when the clock was wrong: start a new database file (--db NEW or AIRLOCK_DB) and import again with 'airlock trust init' and 'airlock trust update'")
	case errors.As(err, new(*cache.OpenError)) && errors.Is(err, fs.ErrPermission):
		return withHint(err, "check the permissions of the database FILE and its directory, or choose another with --db (or AIRLOCK_DB)")
	case errors.Is(err, cache.ErrNotDatabase):
		return withHint(err, "--db (or AIRLOCK_DB) names the airlock database FILE; 'airlock trust init' creates one")
	case errors.Is(err, cache.ErrLocked):
		return withHint(err, "the database is busy: another airlock process is using it; retry when it has finished")
	case errors.Is(err, trust.ErrConflict):
		return withHint(err, "another airlock process changed it meanwhile; run the update again")
	case errors.Is(err, trust.ErrNotOnMedium):
		return withHint(err, "carry the whole TUF repository: timestamp.json, the snapshot and targets it names (V.snapshot.json, V.targets.json) and targets/<sha256>.<name>, plus any new N.root.json")
	case errors.Is(err, trust.ErrUnknownRepository):
		return withHint(err, "see 'airlock trust status' for the repositories, or create it with 'airlock trust init'")
	}
	return err
}
