package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/airlock-project/airlock/cache"
	"github.com/airlock-project/airlock/output"
	"github.com/airlock-project/airlock/trust"
	"github.com/urfave/cli/v2"
)

// trustCommand: trust init|update|status|export-root.
func trustCommand() *cli.Command {
	return &cli.Command{
		Name:  "trust",
		Usage: "TUF trust roots in the database",
		Description: `Trust lives in the database as TUF repositories, each pinned by an anchor
root and re-verified from it on every use. Import new metadata from a
directory or tar carried across the air gap (or HTTPS when connected).
Verification with no --trusted-root uses every repository (docs/trust.md).

Exit codes: 0 done; 1 metadata refused; 2 could not run (also: trust too old).

Examples:
   airlock trust init --public-good
   airlock trust update --from /media/usb/tuf --at 2026-08-21T20:00:00Z
   airlock trust status
   airlock trust export-root --out trusted_root.json`,
		Subcommands: []*cli.Command{
			{
				Name:      "init",
				Usage:     "pin a TUF repository's anchor root, or a plain trusted_root.json",
				ArgsUsage: " ",
				Description: `Pins the root a repository's metadata is verified from ever after: the
public-good root compiled into airlock, or a private or site repository's
root.json (which must carry a threshold of its own signatures; it may be
expired). A name already in use is an error: an anchor stays pinned.

--trusted-root pins a plain trusted_root.json (another site's export, a
private deployment without TUF) as a repository of its own, used by
verification and export-root like any other. It has no TUF freshness:
its age counts from when it was pinned (--max-trust-age applies), and
every verification it vouches for warns. --replace re-pins a changed (or
the same) file under a name already pinned this way, in the audit trail.

Examples:
   airlock trust init --public-good
   airlock trust init --root ./root.json --name site
   airlock trust init --trusted-root trusted_root.json --name site-a
   airlock trust init --trusted-root trusted_root.json --name site-a --replace`,
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "public-good", Usage: "pin the Sigstore public-good root embedded in airlock"},
					&cli.StringFlag{Name: "root", Usage: "pin the root.json `FILE` of a private or site repository"},
					&cli.StringFlag{Name: "trusted-root", Usage: "pin the trusted_root.json `FILE` itself, without TUF (another site's export, a private deployment)"},
					&cli.BoolFlag{Name: "replace", Usage: "with --trusted-root: re-pin the trusted root already pinned under --name"},
					&cli.StringFlag{Name: "name", Usage: "repository `NAME` (default public-good with --public-good)"},
				},
				Action: trustInitAction,
			},
			{
				Name:      "update",
				Usage:     "import TUF metadata from a directory, tar or URL",
				ArgsUsage: " ",
				Description: `Verifies new TUF metadata and targets on the medium against the stored
root chain (root rotations, rollback, freeze, mix-and-match, hashes and
lengths) and commits all of it in one transaction, or nothing. Strict at the
machine clock; --at imports an old mirror as of a time its metadata was
valid, recorded in the audit trail and shown by 'trust status'.

Examples:
   airlock trust update --from /media/usb/tuf
   airlock trust update --from tuf-2026-08-21.tar.gz --name public-good --at 2026-08-21T20:00:00Z
   airlock trust update --from https://tuf-repo-cdn.sigstore.dev    # connected machines only`,
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "from", Usage: "medium: `DIR`, TAR file (.tar, .tar.gz), or https:// URL (connected machines only)"},
					&cli.StringFlag{Name: "name", Usage: "repository `NAME` (default: the only one)"},
					&cli.StringFlag{Name: "at", Usage: "verify as of `TIME` (RFC 3339) instead of the clock, for an old mirror; recorded in the audit trail"},
				},
				Action: trustUpdateAction,
			},
			{
				Name:      "status",
				Usage:     "show each repository: role versions and expiries, import and reference times, staleness, trusted root contents",
				ArgsUsage: " ",
				Description: `Re-verifies every repository from its anchor and shows it. --max-trust-age
sets the age shown as the limit, as verification would apply it.

Examples:
   airlock trust status
   airlock trust status --output json`,
				Flags:  trustFlags(),
				Action: trustStatusAction,
			},
			{
				Name:      "export-root",
				Usage:     "write every repository's trusted root merged into one trusted_root.json (for cosign --trusted-root)",
				ArgsUsage: " ",
				Description: `Merges the trusted roots of the repositories verification would use
(duplicates removed) into one trusted_root.json: a repository whose trust
is older than --max-trust-age is left out, with a warning, as verification
leaves it out; a stale one is exported with the warning verification gives.
--name exports only the repositories named. A regular file is replaced
atomically (temporary file and rename).

airlock verifies against each repository on its own; a merged file lets a
verifier combine one repository's log with another's certificate
authority. Merging several repositories therefore warns, and two that name
one log with different keys are refused: export them one at a time.

Exit codes: 0 written; 2 could not run (also: every repository is too old).

Examples:
   airlock trust export-root --out trusted_root.json
   airlock trust export-root --out - | jq .tlogs
   airlock trust export-root --name public-good --out public-good.json`,
				Flags: append([]cli.Flag{
					&cli.StringFlag{Name: "out", Usage: "output `FILE` (- for stdout)"},
					&cli.StringSliceFlag{Name: "name", Usage: "export only repository `NAME` (repeatable; default: every repository verification would use)"},
				}, trustFlags()...),
				Action: trustExportAction,
			},
		},
	}
}

func trustNoArgs(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageErrorf("trust %s takes no arguments, got %q", c.Command.Name, c.Args().First())
	}
	return nil
}

// trustFile is the database as trust's Store for init and update: opened
// for each read and each commit, so no lock is held while a medium is read.
func trustFile(c *cli.Context) (trust.Store, error) {
	path, err := dbPath(c)
	if err != nil {
		return nil, err
	}
	return trustStore{&cache.TUFFile{Path: path}}, nil
}

// openTrustDBReadOnly opens an existing database for reading.
func openTrustDBReadOnly(c *cli.Context) (*cache.DB, error) {
	path, err := dbPath(c)
	if err != nil {
		return nil, err
	}
	db, err := cache.Open(path, cache.Options{ReadOnly: true})
	if errors.Is(err, cache.ErrNotInitialized) {
		return nil, withHint(err, "run 'airlock trust init --public-good' first")
	}
	return db, trustErr(err)
}

func trustInitAction(c *cli.Context) error {
	if err := trustNoArgs(c); err != nil {
		return err
	}
	asJSON, err := outputJSON(c)
	if err != nil {
		return err
	}
	pg, rootFile, name := c.Bool("public-good"), c.String("root"), c.String("name")
	trFile := c.String("trusted-root")
	switch {
	case trFile != "" && pg:
		return usageErrorf("--trusted-root and --public-good cannot be used together")
	case trFile != "" && rootFile != "":
		return usageErrorf("--trusted-root and --root cannot be used together: --root pins a TUF root.json, --trusted-root a trusted_root.json without TUF")
	case c.Bool("replace") && trFile == "":
		return usageErrorf("--replace re-pins a trusted root: it needs --trusted-root FILE --name NAME (a TUF anchor stays pinned)")
	case trFile != "":
		return trustPinAction(c, trFile, name, asJSON)
	}
	var anchor []byte
	var source string
	switch {
	case pg && rootFile != "":
		return usageErrorf("--public-good and --root cannot be used together")
	case pg:
		anchor, source = trust.PublicGoodRoot(), "embedded"
		if name == "" {
			name = trust.PublicGoodName
		}
	case rootFile != "":
		if name == "" {
			return usageErrorf("--root needs --name (e.g. --name site)")
		}
		f, err := os.Open(rootFile)
		if err != nil {
			return fmt.Errorf("reading root %q: %w", rootFile, err)
		}
		anchor, err = io.ReadAll(io.LimitReader(f, trust.MaxRootSize+1))
		f.Close()
		if err != nil {
			return fmt.Errorf("reading root %q: %w", rootFile, err)
		}
		source = "file " + filepath.Base(rootFile)
	default:
		return usageErrorf("trust init needs --public-good or --root FILE")
	}
	store, err := trustFile(c)
	if err != nil {
		return err
	}
	st, err := trust.Init(store, name, anchor, source, time.Now())
	if errors.Is(err, trust.ErrExists) {
		return withHint(err, "its anchor stays pinned; import new metadata with 'airlock trust update --name "+name+" --from DIR'")
	}
	if errors.Is(err, trust.ErrReservedName) {
		return withHint(err, "pin the embedded public-good root with 'airlock trust init --public-good', or give this root another --name")
	}
	if err != nil {
		return trustErr(err)
	}
	if asJSON {
		return writeJSON(c.App.Writer, st)
	}
	fmt.Fprintf(c.App.Writer, "pinned repository %q: anchor root version %d (%s, sha256 %s)\n", st.Name, st.Anchor.Version, st.Anchor.Source, st.Anchor.SHA256)
	fmt.Fprintf(c.App.Writer, "next: airlock trust update --name %s --from DIR|TAR\n", st.Name)
	return nil
}

// trustPinAction is trust init --trusted-root FILE --name NAME [--replace].
func trustPinAction(c *cli.Context, file, name string, asJSON bool) error {
	if name == "" {
		return usageErrorf("--trusted-root needs --name (e.g. --name site-a)")
	}
	data, err := output.ReadFile(file, trust.MaxTargetSize+1)
	if err != nil {
		return fmt.Errorf("reading trusted root %q: %w", file, err)
	}
	store, err := trustFile(c)
	if err != nil {
		return err
	}
	replace := c.Bool("replace")
	st, err := trust.InitTrustedRoot(store, name, data, trust.PinOptions{Source: "file " + filepath.Base(file), Replace: replace, Now: time.Now()})
	var te *trust.TrustedRootError
	switch {
	case errors.As(err, &te):
		return withHint(fmt.Errorf("trusted root %q is not valid: %w", file, te), trustedRootHint(file, te.Looks))
	case errors.Is(err, trust.ErrNotPinnedRoot):
		return withHint(err, "a TUF repository's anchor stays pinned, and --replace re-pins only a trusted root pinned with --trusted-root: give this one another --name")
	case errors.Is(err, trust.ErrExists):
		return withHint(err, fmt.Sprintf("to pin a changed file under this name, say so: 'airlock trust init --trusted-root %s --name %s --replace' (recorded in the audit trail)", file, name))
	case errors.Is(err, trust.ErrUnknownRepository) && replace:
		return withHint(err, "pin it first, without --replace: 'airlock trust init --trusted-root "+file+" --name "+name+"'")
	case errors.Is(err, trust.ErrReservedName):
		return withHint(err, "give this trusted root another --name")
	case err != nil:
		return trustErr(err)
	}
	if asJSON {
		return writeJSON(c.App.Writer, st)
	}
	verb := "pinned"
	if replace {
		verb = "re-pinned"
	}
	fmt.Fprintf(c.App.Writer, "%s trusted root %q: %s, sha256 %s\n", verb, st.Name, st.PinnedRoot.Source, st.PinnedRoot.SHA256)
	fmt.Fprintf(c.App.Writer, "no TUF freshness: its age counts from now; re-pin a current copy with 'airlock trust init --trusted-root FILE --name %s --replace'\n", st.Name)
	return nil
}

func trustUpdateAction(c *cli.Context) error {
	if err := trustNoArgs(c); err != nil {
		return err
	}
	asJSON, err := outputJSON(c)
	if err != nil {
		return err
	}
	from := c.String("from")
	if from == "" {
		return usageErrorf("trust update needs --from DIR|TAR|URL")
	}
	var at time.Time
	if s := c.String("at"); s != "" {
		at, err = time.Parse(time.RFC3339, s)
		if err != nil {
			return usageErrorf("--at %q is not an RFC 3339 time like 2026-08-21T20:00:00Z", s)
		}
		// The zero time means "no --at" to trust.Update, and no TUF
		// metadata is valid before 1970: such a time is a mistake.
		if at.Before(time.Unix(0, 0)) {
			return usageErrorf("--at %q is before 1970: give a time at which the medium's metadata was valid, like 2026-08-21T20:00:00Z", s)
		}
	}
	m, err := trust.OpenMedium(from)
	if err != nil {
		if errors.Is(err, trust.ErrRejected) || errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return withHint(err, "--from takes a TUF repository as a directory, a .tar or .tar.gz file, or an https:// URL")
	}
	defer trust.CloseMedium(m)
	store, err := trustFile(c)
	if err != nil {
		return err
	}
	name := c.String("name")
	if name == "" {
		if name, err = onlyRepository(store); err != nil {
			return err
		}
	}
	// An interrupt cancels the import (a download, say) and nothing is
	// committed; a second one ends the process as it would have.
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop)
	res, err := trust.Update(ctx, store, name, m, trust.UpdateOptions{Now: time.Now(), At: at})
	if err != nil {
		if errors.Is(err, trust.ErrReferenceTime) {
			return fmt.Errorf("--at: %w", err)
		}
		if errors.Is(err, context.Canceled) {
			return errors.New("interrupted: nothing imported")
		}
		if errors.Is(err, trust.ErrExpired) && at.IsZero() {
			return withHint(err, "the metadata is expired at the machine clock; if this is an old mirror, import it as of a time its metadata was valid with --at TIME (recorded in the audit trail)")
		}
		if errors.Is(err, trust.ErrExpired) && !at.IsZero() {
			return withHint(err, "--at must be a time at which the metadata is valid: before the expiry it names (and not before the previous update's reference time)")
		}
		if errors.Is(err, trust.ErrNotTUF) {
			return withHint(err, fmt.Sprintf("re-pin a current copy of its trusted_root.json with 'airlock trust init --trusted-root FILE --name %s --replace'", name))
		}
		if errors.Is(err, trust.ErrNotSigned) {
			return withHint(err, fmt.Sprintf("the medium may hold another repository's metadata than %q's: check --name ('airlock trust status' lists the repositories)", name))
		}
		return trustErr(err)
	}
	if asJSON {
		return writeJSON(c.App.Writer, res)
	}
	how := "machine clock"
	if res.ExplicitTime {
		how = "given by --at"
	}
	fmt.Fprintf(c.App.Writer, "updated %q from %s: root %d, timestamp %d, snapshot %d, targets %d\n",
		res.Repository, res.Source, res.Root, res.Timestamp, res.Snapshot, res.Targets)
	if len(res.NewRoots) > 0 {
		fmt.Fprintf(c.App.Writer, "root rotations: %s\n", joinVersions(res.NewRoots))
	}
	fmt.Fprintf(c.App.Writer, "verified as of %s (%s); targets stored: %s\n",
		res.ReferenceTime.Format(time.RFC3339), how, strings.Join(res.TargetFiles, ", "))
	return nil
}

// onlyRepository names the one repository in the database, or fails.
func onlyRepository(s trust.Store) (string, error) {
	names, err := trust.RepositoryNames(s)
	switch {
	case err != nil:
		return "", trustErr(err)
	case len(names) == 1:
		return names[0], nil
	case len(names) == 0:
		return "", withHint(trust.ErrNoTrust, "run 'airlock trust init --public-good' (or --root FILE --name NAME) first")
	}
	return "", usageErrorf("the database has %d repositories (%s): pass --name", len(names), strings.Join(names, ", "))
}

func joinVersions(v []int64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
}

// statusJSON is the `trust status --output json` document.
type statusJSON struct {
	Database    string    `json:"database"`
	Now         time.Time `json:"now"`
	MaxTrustAge string    `json:"maxTrustAge"`
	// MaxTrustAgeNS is the same limit in nanoseconds, as ageNs is.
	MaxTrustAgeNS time.Duration       `json:"maxTrustAgeNs"`
	Repositories  []*trust.RepoStatus `json:"repositories"`
}

func trustStatusAction(c *cli.Context) error {
	if err := trustNoArgs(c); err != nil {
		return err
	}
	asJSON, err := outputJSON(c)
	if err != nil {
		return err
	}
	maxAge, err := maxTrustAge(c)
	if err != nil {
		return err
	}
	db, err := openTrustDBReadOnly(c)
	if err != nil {
		return err
	}
	defer db.Close()
	now := time.Now().UTC()
	repos, err := trust.Load(tufStore(db), now)
	if err != nil {
		return trustErr(err)
	}
	out := statusJSON{Database: db.Path(), Now: now, MaxTrustAge: trust.FormatAge(maxAge), MaxTrustAgeNS: maxAge, Repositories: []*trust.RepoStatus{}}
	for _, r := range repos {
		st := r.Status(now)
		st.Freshness.SetMaxAge(maxAge)
		out.Repositories = append(out.Repositories, st)
	}
	if asJSON {
		return writeJSON(c.App.Writer, out)
	}
	w := c.App.Writer
	fmt.Fprintf(w, "database %s (now %s, max trust age %s)\n", out.Database, now.Format(time.RFC3339), out.MaxTrustAge)
	if len(repos) == 0 {
		fmt.Fprintln(w, "no repositories: run 'airlock trust init --public-good'")
	}
	for _, st := range out.Repositories {
		printRepoStatus(w, st)
	}
	return nil
}

func printRepoStatus(w io.Writer, st *trust.RepoStatus) {
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	role := func(name string, r *trust.RoleStatus) {
		if r == nil {
			return
		}
		flag := ""
		if r.Expired {
			flag = " (expired)"
		}
		fmt.Fprintf(w, "  %-15s version %d, expires %s%s\n", name+":", r.Version, ts(r.Expires), flag)
	}
	fmt.Fprintf(w, "\nrepository %s\n", st.Name)
	if p := st.PinnedRoot; p != nil {
		fmt.Fprintf(w, "  %-15s trusted root pinned without TUF (%s, sha256 %s)\n", "kind:", p.Source, p.SHA256)
		fmt.Fprintf(w, "  %-15s %s (first pinned %s)\n", "pinned:", ts(p.PinnedAt), ts(p.FirstPinnedAt))
		if f := st.Freshness; f != nil {
			state := "no TUF freshness: verification warns"
			if f.TooOld {
				state = "TOO OLD: verification refuses it; re-pin a current copy with --replace"
			}
			fmt.Fprintf(w, "  %-15s %s since pinned; %s\n", "age:", f.AgeText, state)
		}
		printTrustedRootSummary(w, st.TrustedRoot)
		return
	}
	fmt.Fprintf(w, "  %-15s root version %d (%s, sha256 %s)\n", "anchor:", st.Anchor.Version, st.Anchor.Source, st.Anchor.SHA256)
	fmt.Fprintf(w, "  %-15s %s\n", "root chain:", joinVersions(st.RootChain))
	role("root", st.Root)
	if st.Timestamp == nil {
		fmt.Fprintf(w, "  %-15s none yet: run 'airlock trust update --name %s --from DIR'\n", "imported:", st.Name)
		return
	}
	role("timestamp", st.Timestamp)
	role("snapshot", st.Snapshot)
	role("targets", st.Targets)
	fmt.Fprintf(w, "  %-15s %s from %s\n", "imported:", ts(*st.ImportedAt), st.Source)
	how := "machine clock"
	if st.ExplicitTime {
		how = "--at"
	}
	fmt.Fprintf(w, "  %-15s %s (%s)\n", "verified as of:", ts(*st.ReferenceTime), how)
	if f := st.Freshness; f != nil {
		state := "fresh"
		switch {
		case f.TooOld:
			state = "TOO OLD: verification refuses it"
		case f.Stale:
			state = fmt.Sprintf("STALE: timestamp expired %s ago; verification warns", trust.FormatAge(f.StaleFor))
		}
		fmt.Fprintf(w, "  %-15s %s; %s\n", "age:", f.AgeText, state)
	}
	fmt.Fprintf(w, "  %-15s %s\n", "targets stored:", strings.Join(st.TargetFiles, ", "))
	printTrustedRootSummary(w, st.TrustedRoot)
}

// printTrustedRootSummary lists what a repository's trusted root holds.
func printTrustedRootSummary(w io.Writer, tr *trust.TrustedRootSummary) {
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	if tr == nil {
		return
	}
	fmt.Fprintf(w, "  trusted root (sha256 %s):\n", tr.SHA256)
	validity := func(from, until *time.Time) string {
		s := "from ?"
		if from != nil {
			s = "from " + ts(*from)
		}
		if until != nil {
			s += " until " + ts(*until)
		}
		return s
	}
	for _, a := range tr.CertificateAuthorities {
		fmt.Fprintf(w, "    CA     %s %s, %s\n", a.Subject, a.URI, validity(a.ValidFrom, a.ValidUntil))
	}
	for _, l := range tr.Tlogs {
		fmt.Fprintf(w, "    tlog   %s %s…, %s\n", l.BaseURL, l.LogID[:min(16, len(l.LogID))], validity(l.ValidFrom, l.ValidUntil))
	}
	for _, l := range tr.CTLogs {
		fmt.Fprintf(w, "    ctlog  %s %s…, %s\n", l.BaseURL, l.LogID[:min(16, len(l.LogID))], validity(l.ValidFrom, l.ValidUntil))
	}
	for _, a := range tr.TimestampAuthorities {
		fmt.Fprintf(w, "    TSA    %s %s, %s\n", a.Subject, a.URI, validity(a.ValidFrom, a.ValidUntil))
	}
}

// exportJSON is the `trust export-root --output json` document.
type exportJSON struct {
	// Out is the file written, as given by --out.
	Out string `json:"out"`
	// SHA256 is the hex sha256 of the bytes written.
	SHA256 string `json:"sha256"`
	// Repositories are the repositories whose trusted roots were merged.
	Repositories []string `json:"repositories"`
	// Warnings are the stale and left-out repositories, as on stderr.
	Warnings []string `json:"warnings"`
	// SiteLog is the origin of the site log whose keys the root lists;
	// empty when the database holds no site log.
	SiteLog string `json:"siteLog,omitempty"`
}

func trustExportAction(c *cli.Context) error {
	if err := trustNoArgs(c); err != nil {
		return err
	}
	asJSON, err := outputJSON(c)
	if err != nil {
		return err
	}
	out := c.String("out")
	switch {
	case out == "":
		return usageErrorf("trust export-root needs --out FILE (or --out - for stdout)")
	case out == "-" && asJSON:
		return usageErrorf("--out - and --output json cannot be used together: both would be written to stdout")
	}
	if st, err := os.Stat(out); err == nil && st.IsDir() {
		return usageErrorf("--out %q is a directory: name the file to write, e.g. %q", out, filepath.Join(out, "trusted_root.json"))
	}
	maxAge, err := maxTrustAge(c)
	if err != nil {
		return err
	}
	var outTo output.Target
	if out != "-" {
		// A missing directory, a dangling link, the database itself, or
		// stdout while --output json prints there is said before any work.
		oc := output.NewCheck(stdoutUse(asJSON, ""))
		if db, err := dbPath(c); err == nil {
			oc.Input(db, fmt.Sprintf("the database %q", db))
		}
		if outTo, err = oc.Output(out, fmt.Sprintf("--out %q", out)); err != nil {
			return err
		}
	}
	db, err := openTrustDBReadOnly(c)
	if err != nil {
		return err
	}
	defer db.Close()
	now := time.Now()
	repos, err := trust.Load(tufStore(db), now)
	if err != nil {
		return trustErr(err)
	}
	// The same choice verification makes: what it would not use is not
	// handed to another verifier either.
	sel, err := trust.Select(repos, now, maxAge)
	// The site log's keys are listed whatever --name selects: bundles
	// airlock logs verify against the exported root. A site with a log
	// and no repository exports the log alone.
	logKeys, kerr := siteLogKeys(c.Context, db)
	if kerr != nil {
		return siteLogTrustErr(kerr)
	}
	if len(logKeys) > 0 && sel != nil && (err == nil || errors.Is(err, trust.ErrNoTrust) || errors.Is(err, trust.ErrStale)) {
		err = nil
	}
	if errors.Is(err, trust.ErrNoTrust) {
		return withHint(err, "import metadata with 'airlock trust update --from DIR|TAR' first: export-root writes imported trust")
	}
	if err != nil {
		return trustErr(err)
	}
	res := exportJSON{Out: out, Repositories: []string{}, Warnings: []string{}}
	res.Warnings = append(res.Warnings, sel.Warnings...)
	for _, a := range sel.SetAside {
		if a.NotImported {
			res.Warnings = append(res.Warnings, fmt.Sprintf("repository %q is pinned but nothing was imported into it; not exported", a.Name))
		}
	}
	var docs [][]byte
	var names []string
	want := c.StringSlice("name")
	for _, r := range sel.Repos {
		if len(want) > 0 && !slices.Contains(want, r.Name) {
			continue
		}
		docs = append(docs, r.TrustedRootJSON)
		names = append(names, r.Name)
	}
	for _, n := range want {
		if !slices.Contains(names, n) {
			return usageErrorf("--name %q: no such repository with usable trust (see 'airlock trust status')", n)
		}
	}
	res.Repositories = append(res.Repositories, names...)
	if len(logKeys) > 0 {
		logRoot, err := trust.LogTrustedRootJSON(logKeys)
		if err != nil {
			return siteLogTrustErr(err)
		}
		docs = append(docs, logRoot)
		names = append(names, "site log "+logKeys[0].Origin)
		res.SiteLog = logKeys[0].Origin
	}
	if len(res.Repositories) > 1 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("the exported root merges %d repositories (%s): a verifier using it may accept one repository's log vouching for another's certificates, which airlock does only for its own site log; export one with --name to keep them apart", len(res.Repositories), strings.Join(res.Repositories, ", ")))
	}
	data, err := trust.MergeTrustedRoots(docs)
	if lc := (*trust.LogConflictError)(nil); errors.As(err, &lc) {
		return withHint(fmt.Errorf("repositories %q and %q both name %s %x with different keys", names[lc.First], names[lc.Second], lc.Kind, lc.LogID),
			"export them one at a time with --name: merged, a verifier would keep only one key for that log")
	}
	if err != nil {
		return trustErr(err)
	}
	sum := sha256.Sum256(data)
	res.SHA256 = hex.EncodeToString(sum[:])
	for _, w := range res.Warnings {
		fmt.Fprintf(c.App.ErrWriter, "airlock: warning: %s\n", w)
	}
	if out == "-" {
		_, err = c.App.Writer.Write(data)
		return err
	}
	if err := output.Write(outTo, data); err != nil {
		return err
	}
	if asJSON {
		return writeJSON(c.App.Writer, res)
	}
	fmt.Fprintf(c.App.ErrWriter, "airlock: wrote %s from %s\n", out, strings.Join(names, ", "))
	return nil
}
