package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/airlock-project/airlock/bundle"
	"github.com/airlock-project/airlock/cache"
	"github.com/airlock-project/airlock/trust"
	"github.com/urfave/cli/v2"
)

// setAsideHint says which repositories verification did not use and
// what to do about each; "" if it used them all.
func setAsideHint(sel *trust.Selection) string {
	if sel == nil {
		return ""
	}
	var parts []string
	for _, a := range sel.SetAside {
		update := fmt.Sprintf("'airlock trust update --name %s --from DIR|TAR'", a.Name)
		if a.Pinned {
			parts = append(parts, fmt.Sprintf("repository %q was not used: it is a trusted root pinned %s (%s ago), over --max-trust-age %s: re-pin a current copy with 'airlock trust init --trusted-root FILE --name %s --replace'",
				a.Name, a.ReferenceTime.UTC().Format(time.RFC3339), trust.FormatAge(a.Age), trust.FormatAge(a.MaxAge), a.Name))
			continue
		}
		if a.NotImported {
			parts = append(parts, fmt.Sprintf("repository %q was not used: it is pinned but nothing was imported into it: import its metadata with %s", a.Name, update))
			continue
		}
		parts = append(parts, fmt.Sprintf("repository %q was not used: its trust is %s old (verified as of %s), over --max-trust-age %s: import fresher metadata with %s",
			a.Name, trust.FormatAge(a.Age), a.ReferenceTime.UTC().Format(time.RFC3339), trust.FormatAge(a.MaxAge), update))
	}
	return strings.Join(parts, "; ")
}

// setAsidePinned reports whether err, from selecting trust, set aside a
// pinned trusted root as too old.
func setAsidePinned(err error) bool {
	var se *trust.SelectionError
	if !errors.As(err, &se) || se.Selection == nil {
		return false
	}
	return slices.ContainsFunc(se.Selection.SetAside, func(a trust.SetAside) bool { return a.Pinned })
}

// trustWarnings returns the warnings err carries from selecting trust, if
// any (a refusal's Result.Warnings: the repositories left out as too old).
func trustWarnings(err error) []string {
	var se *trust.SelectionError
	if errors.As(err, &se) && se.Selection != nil {
		return se.Selection.Warnings
	}
	return nil
}

// bundleTrust is sel as the trust bundle verifies against.
func bundleTrust(sel *trust.Selection, from string) bundle.Trust {
	t := bundle.Trust{From: from, Time: sel.Time}
	for _, s := range sel.Sources {
		t.Sources = append(t.Sources, bundle.TrustSource(s))
	}
	return t
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
// re-verified from its anchor (trust.ForVerification). A --trusted-root
// that cannot be read means airlock could not run (exit 2); one that reads
// but is not a valid trusted root is a rejection (exit 1), as the
// conformance suite requires: the trusted root is then part of the
// evidence given.
func loadTrust(c *cli.Context, now time.Time) (*trust.Selection, error) {
	if p := c.String("trusted-root"); p != "" {
		sel, err := trust.FromTrustedRoot(p, now)
		var te *trust.TrustedRootError
		switch {
		case errors.As(err, &te):
			return nil, withHint(bundle.Rejectf(bundle.ReasonTrustedRootInvalid, "trusted root %q is not valid: %v", p, te), trustedRootHint(p, te.Looks))
		case err != nil:
			return nil, fmt.Errorf("reading trusted root %q: %w", p, err)
		}
		return sel, nil
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
	sel, err := trust.ForVerification(c.Context, tufStore(db), now, maxAge)
	if err == nil || errors.As(err, new(*trust.SelectionError)) {
		// The site log vouches for its own entries next to the
		// repositories, or alone on a site with none.
		keys, kerr := siteLogKeys(c.Context, db)
		if kerr != nil {
			return nil, siteLogTrustErr(kerr)
		}
		sel, err = trust.WithSiteLog(sel, err, keys)
	}
	if err != nil {
		return nil, trustErr(err)
	}
	return sel, nil
}

// trustedRootHint says what the file given as --trusted-root is, when it
// is something else Sigstore users carry (looks: trust.TrustedRootError's).
func trustedRootHint(path, looks string) string {
	switch looks {
	case trust.LooksTUFRoot:
		return fmt.Sprintf("%q is a TUF root.json, not a Sigstore trusted_root.json: pin it with 'airlock trust init --root %s --name NAME', then 'airlock trust update'", path, path)
	case trust.LooksBundle:
		return fmt.Sprintf("%q is a Sigstore bundle: pass it with --bundle; --trusted-root takes a trusted_root.json", path)
	}
	return "check that the file is a trusted_root.json from a TUF repository (or `airlock trust export-root`)"
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
	case errors.Is(err, trust.ErrStale) && setAsidePinned(err):
		return withHint(err, "import fresher TUF metadata with 'airlock trust update --from DIR|TAR', re-pin a current copy of a pinned trusted root with 'airlock trust init --trusted-root FILE --name NAME --replace', or raise --max-trust-age / AIRLOCK_MAX_TRUST_AGE")
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
	case errors.Is(err, cache.ErrCorrupt):
		return withHint(err, "the file is damaged (a disk or copy error, or an edit outside airlock); airlock wrote nothing to it: keep it for investigation, and restore the database from a backup or start a new one (--db NEW or AIRLOCK_DB) with 'airlock trust init' and 'airlock trust update'")
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
