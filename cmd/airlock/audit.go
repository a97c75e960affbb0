package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/airlock-project/airlock/cache"
	"github.com/airlock-project/airlock/tlog"
	"github.com/urfave/cli/v2"
)

func auditCommand() *cli.Command {
	return &cli.Command{
		Name:  "audit",
		Usage: "read, seal and verify the audit trail",
		Description: `The database keeps a record of every signature (sign-blob, attest-blob), trust
import and log init. The records are hash-chained, and are the leaves of a Merkle
tree whose checkpoints ("seals") the site log key signs: at log init, with every
site-log signing batch, and on demand with 'audit seal'. 'audit verify', given
the log key's public half from outside the database, detects a rewritten,
removed or truncated record and a planted or changed trust repository.

Examples:
   airlock audit list
   airlock audit seal --key 'pkcs11:token=site;object=logkey'
   airlock audit verify --log-key log.pub`,
		Subcommands: []*cli.Command{auditSealCommand(), auditVerifyCommand(), auditCheckpointCommand(), {
			Name:  "list",
			Usage: "print every audit record after checking the hash chain",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "kind", Usage: "only records of `KIND` (sign, attest, trust-init, trust-update, trust-replace, log-init, log-rotate-key, checkpoints-import, checkpoints-inconsistency, checkpoints-policy, audit-baseline)"},
			},
			Description: `Reads the audit trail from the database: trust imports (with the time they were
verified as of) and signatures (key, artifact digest, bundle digest). Each record
carries the SHA-256 of the one before it; the whole chain is checked before
anything is printed, and a broken chain is an error (exit 1) naming the first
record that does not follow.

Examples:
   airlock audit list
   airlock audit list --kind sign --output json`,
			Action: auditListAction,
		}},
	}
}

// auditKinds are the kinds of record airlock writes (sign-blob, attest-blob,
// trust init, trust update, trust init --replace, log rotate-key, checkpoints, the first audit seal); a new kind must be added here for --kind.
var auditKinds = []string{"sign", "attest", "trust-init", "trust-update", "trust-replace", "log-init", "log-rotate-key", "checkpoints-import", "checkpoints-inconsistency", "checkpoints-policy", cache.AuditBaselineKind}

// errAuditBroken marks an audit trail whose hash chain does not hold.
var errAuditBroken = errors.New("audit trail does not hold")

func auditListAction(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageErrorf("audit list takes no arguments")
	}
	asJSON, err := outputJSON(c)
	if err != nil {
		return err
	}
	// A misspelt kind would list nothing, which reads as "no such records".
	if k := c.String("kind"); k != "" && !slices.Contains(auditKinds, k) {
		return usageErrorf("--kind %q is not one of %s", k, strings.Join(auditKinds, ", "))
	}
	path, err := dbPath(c)
	if err != nil {
		return err
	}
	db, err := cache.Open(path, cache.Options{ReadOnly: true})
	if errors.Is(err, cache.ErrNotInitialized) {
		return withHint(err, "the audit trail starts with the first 'airlock trust init' or signature")
	}
	if err != nil {
		return trustErr(err)
	}
	defer db.Close()
	recs, err := db.Audit()
	if err != nil {
		return fmt.Errorf("%w: %v", errAuditBroken, err)
	}
	if k := c.String("kind"); k != "" {
		recs = slices.DeleteFunc(recs, func(r cache.AuditRecord) bool { return r.Kind != k })
	}
	if asJSON {
		if recs == nil {
			recs = []cache.AuditRecord{}
		}
		return writeJSON(c.App.Writer, recs)
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tTIME\tKIND\tDETAILS")
	for _, r := range recs {
		keys := make([]string, 0, len(r.Fields))
		for k := range r.Fields {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var kv []string
		for _, k := range keys {
			kv = append(kv, k+"="+r.Fields[k])
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", r.Seq, r.Time.Format("2006-01-02T15:04:05Z"), r.Kind, strings.Join(kv, " "))
	}
	return tw.Flush()
}

func auditSealCommand() *cli.Command {
	return &cli.Command{
		Name:  "seal",
		Usage: "seal the audit trail with the site log key",
		Description: `Signs a seal of the whole audit trail with the site log key KEYREF (the key of
'airlock log init': a pkcs11: URI, PIN as for sign-blob; a PEM key file for tests
only). A seal is a checkpoint of the Merkle tree whose leaves are the audit
records; 'airlock audit verify' checks the database against it. Signing batches
and log init seal as they go; audit seal seals what other commands (trust init,
trust update, signing with --tlog none) recorded since.

Before it signs, it verifies the database as 'audit verify' does, with the log's
own key: a rewritten record or repository is refused (exit 1) and nothing is
written, so that a seal never vouches for a changed history. The first seal of a
database made before seals existed vouches for its history as it is then: it
records the state of each trust repository that no record describes yet
(audit-baseline records) and seals them with the rest.

Examples:
   airlock audit seal --key 'pkcs11:token=site;object=logkey'
   airlock audit seal --key 'pkcs11:token=site;object=logkey' -o json`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "key", Usage: "the site log key `KEYREF`: a pkcs11: URI, or a PEM key file for tests"},
		},
		Action: auditSealAction,
	}
}

func auditVerifyCommand() *cli.Command {
	return &cli.Command{
		Name:  "verify",
		Usage: "check the database against its sealed audit trail",
		Description: `Checks, against the site log key PUB (a PEM public key kept outside the
database), that the newest seal of the audit trail is signed by PUB; that the
records it covers are all there and hash to it (none rewritten, removed or
truncated); that every trust repository in the database is the one its last
record describes (none planted or changed) and none that a sealed record
describes is gone; that every stored target blob hashes to its name; and that
the site log is signed by PUB and still holds the tree the newest seal saw.
With --checkpoint FILE, a seal saved earlier ('airlock audit checkpoint > FILE'),
the newest seal must also extend it: a rollback of the whole file to an older
sealed state is detected only this way.

Records after the newest seal are not vouched for by anything: they are
reported, and the database does not verify until they are sealed ('airlock
audit seal').

Exit 0: verified; 1: something was changed (named: the record, the repository);
2: could not run.

Examples:
   airlock audit verify --log-key log.pub
   airlock audit verify --log-key log.pub --checkpoint seal-2026-12-01.txt -o json`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "log-key", Usage: "the site log key's PEM public key `PUB`, pinned outside the database"},
			&cli.StringFlag{Name: "checkpoint", Usage: "a seal `FILE` saved earlier ('airlock audit checkpoint'), which the newest seal must extend"},
		},
		Action: auditVerifyAction,
	}
}

func auditCheckpointCommand() *cli.Command {
	return &cli.Command{
		Name:  "checkpoint",
		Usage: "print the latest seal of the audit trail",
		Description: `Prints the latest seal (a signed note) as stored, for an auditor to keep outside
the database and give to 'airlock audit verify --checkpoint' later. It does not
check the seal: audit verify does.

Examples:
   airlock audit checkpoint > seal.txt`,
		Action: auditCheckpointAction,
	}
}

// auditSealResult is `audit seal -o json`.
type auditSealResult struct {
	Database string   `json:"database"`
	Records  int64    `json:"records"`
	Baseline []string `json:"baseline"` // repositories recorded by this seal
	// Newly are the records written since the last seal, which this seal
	// vouches for from now on (the baseline records besides).
	Newly  []cache.AuditRecord `json:"newlySealed"`
	Sealed bool                `json:"sealed"` // false: the trail was sealed already
	Seal   *sealJSON           `json:"seal"`
	LogKey string              `json:"logKey"`
}

func auditSealAction(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageErrorf("audit seal takes no arguments, got %q", c.Args().First())
	}
	ref := c.String("key")
	if ref == "" {
		return usageErrorf("audit seal needs --key KEYREF (the site log key)")
	}
	asJSON, err := outputJSON(c)
	if err != nil {
		return err
	}
	// The log first: no log, no key (and no PIN).
	l, err := requireSiteLog(c)
	if err != nil {
		return err
	}
	path, _ := dbPath(c)
	if err := dbWritable(path); err != nil {
		return err
	}
	if !isTokenRef(ref) {
		fmt.Fprintf(c.App.ErrWriter, "airlock: warning: the log key %q is a key file: for tests only; a site log's key belongs in an HSM\n", ref)
	}
	key, lk, err := openLogKey(c, ref, l.Key())
	if err != nil {
		return err
	}
	defer key.Close()
	sealer := auditSealer{meta: l.Meta(), key: lk, signer: key.signer}
	now := time.Now().UTC()

	db, err := cache.Open(path, cache.Options{ReadOnly: true})
	if err != nil {
		return trustErr(err)
	}
	rep, err := db.VerifyAudit(cache.AuditCheck{OpenSeal: sealOpener(logKeys(l.Meta()), l.Meta())})
	if err != nil {
		db.Close()
		return err
	}
	if blocks := rep.BlocksSeal(); len(blocks) > 0 {
		db.Close()
		for _, p := range blocks {
			fmt.Fprintf(c.App.ErrWriter, "airlock: %s: %s\n", p.Code, p.Message)
		}
		return withHint(fmt.Errorf("%w: %s; not sealed", errAuditTampered, blocks[0].Message),
			"a seal must not vouch for a changed history: keep the file for investigation, and run 'airlock audit verify --log-key PUB' for the whole report")
	}
	baseline, err := db.AuditBaseline(now)
	if err != nil {
		db.Close()
		return err
	}
	sealHead, err := db.AuditHead()
	if err != nil {
		db.Close()
		return err
	}
	head, err := l.Checkpoint(c.Context)
	if err != nil {
		db.Close()
		return err
	}
	plan, err := sealer.plan(db, now, true, head.Size, head.Hash, baseline...)
	db.Close()
	if err != nil {
		return err
	}
	res := auditSealResult{Database: path, Records: plan.Size, Baseline: []string{}, LogKey: logKeyFingerprint(lk), Newly: rep.Unsealed}
	if res.Newly == nil {
		res.Newly = []cache.AuditRecord{}
	}
	for _, r := range baseline {
		res.Baseline = append(res.Baseline, r.Fields[cache.AuditFieldRepository])
	}
	if cur, err := tlog.ParseSealUnverified(sealHead); sealHead != nil && err == nil && cur.Size == plan.Size && rep.Seal != nil && rep.Seal.Size == plan.Size {
		// Nothing new: the latest seal stands.
		res.Seal = toSealJSON(rep.Seal)
	} else {
		wdb, err := cache.Open(path, cache.Options{})
		if err != nil {
			return trustErr(err)
		}
		err = wdb.CommitAudit(plan)
		if cerr := wdb.Close(); err == nil {
			err = cerr
		}
		if errors.Is(err, cache.ErrAuditMoved) {
			return withHint(fmt.Errorf("sealing the audit trail: %w", err), "another airlock process wrote to the database meanwhile; nothing was written: seal again")
		}
		if err != nil {
			return fmt.Errorf("sealing the audit trail: %w", err)
		}
		res.Sealed = true
		res.Seal = &sealJSON{Size: plan.Size, RootHash: hex.EncodeToString(plan.Root[:]), Time: now.Format(time.RFC3339Nano)}
	}
	if asJSON {
		return writeJSON(c.App.Writer, res)
	}
	w := c.App.Writer
	if !res.Sealed {
		fmt.Fprintf(w, "The audit trail is sealed already: %d records, sealed %s\n", res.Records, res.Seal.Time)
		return nil
	}
	fmt.Fprintf(w, "Sealed the audit trail: %d records, root %s\n", res.Records, res.Seal.RootHash)
	if n := len(res.Newly); n > 0 && rep.Seal != nil {
		fmt.Fprintf(w, "  sealed: %d records written since the last seal (%s)\n", n, cache.AuditKinds(res.Newly))
	} else if n > 0 {
		fmt.Fprintf(w, "  sealed: the %d records of a trail never sealed before (%s)\n", n, cache.AuditKinds(res.Newly))
	}
	if len(res.Baseline) > 0 {
		fmt.Fprintf(w, "  first seal: recorded the state of %s as it is now (audit-baseline records); it vouches from now on\n", strings.Join(res.Baseline, ", "))
	}
	fmt.Fprintf(w, "  log key:  %s\n", res.LogKey)
	fmt.Fprintf(w, "Keep a copy outside the database: airlock audit checkpoint > seal.txt\n")
	return nil
}

// sealOpener opens seals with keys, as seals of the site log meta (its
// origin and tree id) when the database holds one (m.Origin != "").
func sealOpener(keys []*tlog.LogKey, m tlog.Meta) func([]byte) (cache.AuditSeal, error) {
	return func(note []byte) (cache.AuditSeal, error) {
		s, _, err := tlog.OpenSeal(note, keys)
		if err == nil && m.Origin != "" && (s.Origin != tlog.SealOrigin(m.Origin) || s.TreeID != m.TreeID) {
			err = fmt.Errorf("%w: the seal is of %s - %d, the site log's seals are %s - %d", tlog.ErrBadSeal, s.Origin, s.TreeID, tlog.SealOrigin(m.Origin), m.TreeID)
		}
		if err != nil {
			claimed := cache.AuditSeal{Size: -1}
			if u, perr := tlog.ParseSealUnverified(note); perr == nil {
				claimed = cache.AuditSeal{Size: u.Size, Root: u.Hash, Time: u.Time, LogSize: u.LogSize, LogRoot: u.LogRoot}
			}
			return claimed, err
		}
		return cache.AuditSeal{Size: s.Size, Root: s.Hash, Time: s.Time, LogSize: s.LogSize, LogRoot: s.LogRoot}, nil
	}
}

// auditVerifyResult is `audit verify -o json`.
type auditVerifyResult struct {
	Database      string                  `json:"database"`
	Verified      bool                    `json:"verified"`
	LogKey        string                  `json:"logKey"`
	Records       int64                   `json:"records"`
	SealedRecords int64                   `json:"sealedRecords"`
	Seal          *sealJSON               `json:"seal"`
	SavedSeal     *sealJSON               `json:"savedSeal,omitempty"`
	Repositories  []cache.AuditRepository `json:"repositories"`
	Unsealed      []cache.AuditRecord     `json:"unsealed"`
	Problems      []cache.AuditProblem    `json:"problems"`
}

func auditVerifyAction(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageErrorf("audit verify takes no arguments, got %q", c.Args().First())
	}
	asJSON, err := outputJSON(c)
	if err != nil {
		return err
	}
	if c.String("log-key") == "" {
		return usageErrorf("audit verify needs --log-key PUB: the site log key's PEM public key, kept outside the database")
	}
	pinned, err := readLogPublicKey(c.String("log-key"))
	if err != nil {
		return withHint(err, "--log-key takes the site log key's PEM public key ('airlock hsm pubkey' of the log key, or a copy kept since log init)")
	}
	var savedNote []byte
	if f := c.String("checkpoint"); f != "" {
		if savedNote, err = readBounded(f, tlog.MaxCheckpointSize); err != nil {
			return err
		}
	}
	path, err := dbPath(c)
	if err != nil {
		return err
	}
	db, err := cache.Open(path, cache.Options{ReadOnly: true})
	if errors.Is(err, cache.ErrNotInitialized) {
		return withHint(err, "--db (or AIRLOCK_DB) names the database to check")
	}
	if err != nil {
		return trustErr(err)
	}
	defer db.Close()
	// The site log: its key must be one the pinned key vouches for, else
	// the log was replaced.
	var meta tlog.Meta
	var extra []cache.AuditProblem
	keys := auditKeys(pinned, meta)
	l, err := tlog.Open(c.Context, &cache.SiteLog{DB: db})
	switch {
	case errors.Is(err, tlog.ErrNoLog):
	case err != nil:
		extra = append(extra, cache.AuditProblem{Code: cache.AuditLogKeyMismatch, Message: fmt.Sprintf("the site log does not open: %v", err)})
	default:
		meta = l.Meta()
		keys = auditKeys(pinned, meta)
		if !slices.ContainsFunc(keys, func(k *tlog.LogKey) bool { return k.ID == l.Key().ID }) {
			extra = append(extra, cache.AuditProblem{Code: cache.AuditLogKeyMismatch, Message: fmt.Sprintf(
				"the site log is signed by %s, not by the pinned key %s (and no handover from the pinned key names it): the log was replaced, or --log-key is another log's key",
				logKeyFingerprint(l.Key()), logKeyFingerprint(pinned))})
		}
	}
	var saved *cache.AuditSeal
	if savedNote != nil {
		s, _, err := tlog.OpenSeal(savedNote, keys)
		if err != nil {
			return withHint(fmt.Errorf("--checkpoint %q: %w", c.String("checkpoint"), err), "give a seal saved with 'airlock audit checkpoint' from this database, signed by the --log-key key")
		}
		saved = &cache.AuditSeal{Size: s.Size, Root: s.Hash, Time: s.Time}
	}
	rep, err := db.VerifyAudit(cache.AuditCheck{OpenSeal: sealOpener(keys, meta), Saved: saved})
	if err != nil {
		return fmt.Errorf("reading the audit trail: %w", err)
	}
	// The newest seal names the site log's tree when it was signed: the
	// site log must still hold it (not rolled back, not rewritten).
	if l != nil && rep.Seal != nil {
		extra = append(extra, checkSealedSiteLog(c, l, rep.Seal)...)
	}
	rep.Problems = append(extra, rep.Problems...)
	res := auditVerifyResult{Database: path, Verified: len(rep.Problems) == 0, LogKey: logKeyFingerprint(pinned), Records: rep.Records,
		Seal: toSealJSON(rep.Seal), SavedSeal: toSealJSON(saved), Repositories: rep.Repositories, Unsealed: rep.Unsealed, Problems: rep.Problems}
	if rep.Seal != nil {
		res.SealedRecords = min(rep.Seal.Size, rep.Records)
	}
	if res.Repositories == nil {
		res.Repositories = []cache.AuditRepository{}
	}
	if res.Unsealed == nil {
		res.Unsealed = []cache.AuditRecord{}
	}
	if res.Problems == nil {
		res.Problems = []cache.AuditProblem{}
	}
	// Only what a seal answers (unsealed records; for a trail never
	// sealed, repositories no record describes yet)?
	sealAnswers := len(extra) == 0 && len(rep.BlocksSeal()) == 0
	if asJSON {
		if err := writeJSON(c.App.Writer, res); err != nil {
			return err
		}
		if !res.Verified {
			return &silentError{exitRejected}
		}
		return nil
	}
	w := c.App.Writer
	fmt.Fprintf(w, "database:    %s\nlog key:     %s\n", res.Database, res.LogKey)
	if s := res.Seal; s != nil {
		fmt.Fprintf(w, "newest seal: %d records, signed %s\n", s.Size, s.Time)
	} else {
		fmt.Fprintf(w, "newest seal: none verifies\n")
	}
	if s := res.SavedSeal; s != nil {
		fmt.Fprintf(w, "saved seal:  %d records, signed %s\n", s.Size, s.Time)
	}
	fmt.Fprintf(w, "records:     %d, %d sealed\n", res.Records, res.SealedRecords)
	for _, r := range res.Repositories {
		how := "no record"
		switch {
		case r.Record != 0 && r.Sealed:
			how = fmt.Sprintf("record %d, sealed", r.Record)
		case r.Record != 0:
			how = fmt.Sprintf("record %d, not sealed", r.Record)
		}
		fmt.Fprintf(w, "repository:  %s (state sha256 %s…, %s)\n", r.Name, r.State[:16], how)
	}
	for _, p := range res.Problems {
		fmt.Fprintf(w, "TAMPERED %s: %s\n", p.Code, p.Message)
	}
	if res.Verified {
		fmt.Fprintln(w, "Verified OK")
		return nil
	}
	err = fmt.Errorf("%w: %s", errAuditTampered, res.Problems[0].Message)
	switch n := len(res.Problems) - 1; {
	case n == 1:
		err = fmt.Errorf("%w: %s (and 1 more problem)", errAuditTampered, res.Problems[0].Message)
	case n > 1:
		err = fmt.Errorf("%w: %s (and %d more problems)", errAuditTampered, res.Problems[0].Message, n)
	}
	switch {
	case sealAnswers && rep.Seal == nil:
		return withHint(err, "the audit trail was never sealed (a database from before seals, or one whose log key never sealed): have the custodian review it and seal it with 'airlock audit seal --key LOGKEY'; the first seal vouches from then on")
	case sealAnswers:
		return withHint(err, "records no seal covers are vouched for by nothing: if they are the site's own, seal them with 'airlock audit seal --key LOGKEY' and verify again")
	}
	return withHint(err, "the database was changed outside airlock: keep the file for investigation, and restore it from a backup or a copy you trust")
}

func auditCheckpointAction(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageErrorf("audit checkpoint takes no arguments, got %q", c.Args().First())
	}
	path, err := dbPath(c)
	if err != nil {
		return err
	}
	db, err := cache.Open(path, cache.Options{ReadOnly: true})
	if err != nil {
		return trustErr(err)
	}
	defer db.Close()
	head, err := db.AuditHead()
	if err != nil {
		return err
	}
	if head == nil {
		return withHint(errors.New("the audit trail has no seal"), "seal it with 'airlock audit seal --key LOGKEY' (the site log key)")
	}
	_, err = c.App.Writer.Write(head)
	return err
}

// checkSealedSiteLog checks that the site log l extends the tree the seal
// s recorded.
func checkSealedSiteLog(c *cli.Context, l *tlog.Log, s *cache.AuditSeal) []cache.AuditProblem {
	head, err := l.Checkpoint(c.Context)
	if err != nil {
		return []cache.AuditProblem{{Code: cache.AuditLogKeyMismatch, Message: fmt.Sprintf("the site log does not open: %v", err)}}
	}
	if s.LogSize > head.Size {
		return []cache.AuditProblem{{Code: cache.AuditLogRolledBack, Message: fmt.Sprintf(
			"the site log was rolled back or truncated: the newest seal (%s) saw %d entries, the database's site log has %d", s.Time.Format(time.RFC3339), s.LogSize, head.Size)}}
	}
	root, err := l.RootHash(c.Context, s.LogSize)
	if err != nil || root != s.LogRoot {
		return []cache.AuditProblem{{Code: cache.AuditLogRewritten, Message: fmt.Sprintf(
			"the site log was rewritten: its first %d entries no longer hash to the root the newest seal (%s) recorded", s.LogSize, s.Time.Format(time.RFC3339))}}
	}
	return nil
}

// auditKeys are the keys whose seals audit verify accepts: the pinned key
// and the keys it handed over to, in turn. A handover is a note the
// retiring key signs naming its successor (log rotate-key's, stored in the
// log's metadata, checked by tlog's Meta.FollowHandovers); the metadata's
// key list alone is not enough: anyone who can write the file can write
// it. A chain that does not verify from the pinned key leaves the pinned
// key alone, and the site log's key check then names the mismatch.
func auditKeys(pinned *tlog.LogKey, meta tlog.Meta) []*tlog.LogKey {
	keys := []*tlog.LogKey{pinned}
	if meta.Origin == "" {
		return keys
	}
	hs, err := meta.FollowHandovers(pinned)
	if err != nil {
		return keys
	}
	for _, h := range hs {
		keys = append(keys, h.New)
	}
	return keys
}

// readBounded reads at most limit bytes of the file at path.
func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", path, errors.Unwrap(err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%q is larger than %d bytes", path, limit)
	}
	return data, nil
}
