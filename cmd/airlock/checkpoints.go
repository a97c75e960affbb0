package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/airlock-project/airlock/cache"
	"github.com/airlock-project/airlock/output"
	"github.com/airlock-project/airlock/tlog"
	"github.com/urfave/cli/v2"
)

func checkpointsCommand() *cli.Command {
	return &cli.Command{
		Name:  "checkpoints",
		Usage: "the mirror of transparency-log checkpoints: import packs, list, check consistency",
		Description: `The database mirrors, per log, the newest checkpoint carried in from outside and
a history by size. A new checkpoint is accepted only with a consistency proof
from the mirrored one; verification then checks every bundle's checkpoint
against the mirror. See docs/mirror.md.

Examples:
   airlock checkpoints import /media/usb/site-a.pack
   airlock checkpoints list
   airlock checkpoints verify-consistency old.txt new.txt --proof proof.txt`,
		Subcommands: []*cli.Command{
			{
				Name:      "import",
				Usage:     "import a mirror pack: newest checkpoints and consistency proofs",
				ArgsUsage: "PACK",
				Description: `Checks every checkpoint of PACK against the log keys the database trusts (its
trusted roots and the site log), the witness policy (--witness-policy FILE,
else the stored one, if any), and every advance against a consistency proof
from the mirrored size; then stores the whole pack in one transaction with its
audit record. A bad pack changes nothing. A checkpoint that contradicts the
mirror is a SECURITY ERROR (exit 1): the evidence is printed and stored.

Examples:
   airlock checkpoints import /media/usb/site-a.pack
   airlock checkpoints import /media/usb/site-a.pack --witness-policy witnesses.txt -o json`,
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "witness-policy", Usage: "check cosignatures against the witness policy `FILE` instead of the stored one"},
				},
				Action: checkpointsImportAction,
			},
			{
				Name:  "list",
				Usage: "print what is mirrored and any recorded inconsistency evidence",
				Description: `Prints, per mirrored log origin, the latest checkpoint's size and root hash, when
it was imported and from which pack; then the inconsistency evidence recorded.

Examples:
   airlock checkpoints list
   airlock checkpoints list --origin 'rekor.sigstore.dev - 1193050959916656506' -o json`,
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "origin", Usage: "only the log `ORIGIN` (a checkpoint's first line)"},
				},
				Action: checkpointsListAction,
			},
			{
				Name:      "verify-consistency",
				Usage:     "check that two signed checkpoints of one log are consistent",
				ArgsUsage: "OLD NEW",
				Description: `Checks that OLD and NEW (signed checkpoint notes) are signed by a log the
database trusts and that the proof FILE (the text form: "old <size>" then one
base64 hash per line) shows the tree of OLD is a prefix of the tree of NEW.
Exit 0: consistent; 1: inconsistent (a SECURITY ERROR, the evidence printed) or
a checkpoint or proof that does not check; 2: could not run.

Examples:
   airlock checkpoints verify-consistency old.txt new.txt --proof proof.txt`,
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "proof", Usage: "the consistency proof `FILE`"},
				},
				Action: checkpointsVerifyConsistencyAction,
			},
			{
				Name:  "policy",
				Usage: "the stored witness policy",
				Subcommands: []*cli.Command{
					{
						Name:      "set",
						Usage:     "store the witness policy imports check cosignatures against",
						ArgsUsage: "FILE",
						Description: `Stores the witness policy FILE (lines "witness NAME VKEY [URL]",
"group NAME K|all|any MEMBER...", "quorum NAME|none"; see docs/mirror.md) in the
database, with an audit record. Imports then reject checkpoints without the
quorum.

Examples:
   airlock checkpoints policy set witnesses.txt`,
						Action: checkpointsPolicySetAction,
					},
					{
						Name:        "show",
						Usage:       "print the stored witness policy",
						Description: "Prints the stored witness policy, or says there is none.\n\nExamples:\n   airlock checkpoints policy show",
						Action:      checkpointsPolicyShowAction,
					},
				},
			},
		},
	}
}

// readUserFile reads the file the user named, at most limit bytes, through
// os.OpenRoot on its directory (the file may be on removable media).
func readUserFile(name string, limit int64) ([]byte, error) {
	r, err := os.OpenRoot(filepath.Dir(name))
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", name, output.UnwrapPath(err))
	}
	defer r.Close()
	f, err := r.Open(filepath.Base(name))
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", name, output.UnwrapPath(err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", name, output.UnwrapPath(err))
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("reading %q: larger than %d bytes", name, limit)
	}
	return data, nil
}

// errMirrorRejected marks what a checkpoints command rejects: the evidence
// given (a pack, a checkpoint, a proof) does not hold. Exit 1.
var errMirrorRejected = errors.New("rejected")

type mirrorRejection struct{ err error }

func (e *mirrorRejection) Error() string   { return e.err.Error() }
func (e *mirrorRejection) Unwrap() []error { return []error{e.err, errMirrorRejected} }

// mirrorRejectionErrors are the library errors that reject the evidence.
var mirrorRejectionErrors = []error{
	tlog.ErrInconsistent, tlog.ErrRollback, tlog.ErrNoQuorum, tlog.ErrNoConsistencyProof,
	tlog.ErrUnknownLog, tlog.ErrBadSignature, tlog.ErrMalformedCheckpoint, tlog.ErrMalformedProof,
	tlog.ErrMalformedPack,
}

// rejectMirror marks err as a rejection if it is one, and attaches its
// hint.
func rejectMirror(err error) error {
	for _, target := range mirrorRejectionErrors {
		if errors.Is(err, target) {
			return mirrorErr(&mirrorRejection{err})
		}
	}
	return mirrorErr(err)
}

// reportInconsistency prints a SECURITY ERROR for err, if it is an
// inconsistency, and returns the error the command ends with.
func reportInconsistency(c *cli.Context, err error) error {
	var ie *tlog.InconsistencyError
	if errors.As(err, &ie) {
		printSecurityError(c.App.ErrWriter, err, ie)
		return &silentError{exitRejected}
	}
	return rejectMirror(err)
}

// openMirrorDB opens the database for a checkpoints command.
func openMirrorDB(c *cli.Context, readOnly bool) (*cache.DB, error) {
	path, err := dbPath(c)
	if err != nil {
		return nil, err
	}
	db, err := cache.Open(path, cache.Options{ReadOnly: readOnly})
	if errors.Is(err, cache.ErrNotInitialized) {
		return nil, withHint(err, "run 'airlock trust init' first: the mirror checks checkpoints against the database's trusted logs")
	}
	if err != nil {
		return nil, trustErr(err)
	}
	return db, nil
}

// importJSON is the --output json of checkpoints import (docs/json.md).
type importJSON struct {
	Pack string          `json:"pack"`
	Logs []importLogJSON `json:"logs"`
}

type importLogJSON struct {
	Origin    string   `json:"origin"`
	Status    string   `json:"status"`
	From      int64    `json:"from"`
	To        int64    `json:"to"`
	Cosigners []string `json:"cosigners"`
	Trust     string   `json:"trust"`
}

func checkpointsImportAction(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageErrorf("checkpoints import takes one PACK")
	}
	asJSON, err := outputJSON(c)
	if err != nil {
		return err
	}
	name := c.Args().First()
	var policy *tlog.WitnessPolicy
	if p := c.String("witness-policy"); p != "" {
		text, err := readUserFile(p, tlog.MaxPolicySize)
		if err != nil {
			return err
		}
		if policy, err = tlog.ParseWitnessPolicy(text); err != nil {
			return usageErrorf("--witness-policy %q: %v", p, err)
		}
	}
	data, err := readUserFile(name, tlog.MaxPackSize)
	if err != nil {
		return err
	}
	pack, err := tlog.ReadPack(strings.NewReader(string(data)))
	if err != nil {
		return rejectMirror(fmt.Errorf("pack %q: %w", name, err))
	}
	maxAge, err := maxTrustAge(c)
	if err != nil {
		return err
	}
	// Trust is read from a read-only open; the import reads and commits
	// through a file store, so a refused pack writes nothing.
	db, err := openMirrorDB(c, true)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	logs, err := databaseLogs(c.Context, db, now, maxAge)
	db.Close()
	if err != nil {
		return err
	}
	store, done := mirrorFile(db.Path())
	defer done()
	res, err := tlog.ImportPack(c.Context, store, pack, tlog.ImportOptions{
		Logs: logs, Witness: policy, Source: filepath.Base(name), Now: now,
	})
	if err != nil {
		return reportInconsistency(c, fmt.Errorf("pack %q: %w", name, err))
	}
	out := importJSON{Pack: filepath.Base(name), Logs: []importLogJSON{}}
	for _, l := range res.Logs {
		cs := l.Cosigners
		if cs == nil {
			cs = []string{}
		}
		out.Logs = append(out.Logs, importLogJSON{Origin: l.Origin, Status: l.Status, From: l.From, To: l.To, Cosigners: cs, Trust: l.Source})
	}
	if asJSON {
		return writeJSON(c.App.Writer, out)
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STATUS\tFROM\tTO\tORIGIN\tCOSIGNERS")
	for _, l := range out.Logs {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", l.Status, l.From, l.To, l.Origin, strings.Join(l.Cosigners, ","))
	}
	return tw.Flush()
}

// listJSON is the --output json of checkpoints list (docs/json.md).
type listJSON struct {
	Logs     []listLogJSON      `json:"logs"`
	Evidence []listEvidenceJSON `json:"evidence"`
}

type listLogJSON struct {
	Origin     string    `json:"origin"`
	Size       int64     `json:"size"`
	Root       string    `json:"root"`
	Imported   time.Time `json:"imported"`
	Pack       string    `json:"pack"`
	Cosigners  []string  `json:"cosigners"`
	History    []int64   `json:"history"`
	Checkpoint string    `json:"checkpoint"`
}

type listEvidenceJSON struct {
	Origin   string    `json:"origin"`
	Time     time.Time `json:"time"`
	Source   string    `json:"source"`
	Detail   string    `json:"detail"`
	Evidence string    `json:"evidence"`
}

func checkpointsListAction(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageErrorf("checkpoints list takes no arguments")
	}
	asJSON, err := outputJSON(c)
	if err != nil {
		return err
	}
	db, err := openMirrorDB(c, true)
	if err != nil {
		return err
	}
	defer db.Close()
	logs, ev, err := tlog.ListMirror(c.Context, mirrorStore(db), c.String("origin"))
	if err != nil {
		return mirrorErr(err)
	}
	out := listJSON{Logs: []listLogJSON{}, Evidence: []listEvidenceJSON{}}
	for _, l := range logs {
		cs := l.Cosigners
		if cs == nil {
			cs = []string{}
		}
		out.Logs = append(out.Logs, listLogJSON{Origin: l.Origin, Size: l.Size, Root: hex.EncodeToString(l.Root[:]),
			Imported: l.Imported.UTC(), Pack: l.Source, Cosigners: cs, History: l.History, Checkpoint: string(l.Note)})
	}
	for _, e := range ev {
		out.Evidence = append(out.Evidence, listEvidenceJSON(e))
	}
	if asJSON {
		return writeJSON(c.App.Writer, out)
	}
	w := c.App.Writer
	if len(out.Logs) == 0 {
		fmt.Fprintln(w, "no mirrored checkpoints")
	} else {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ORIGIN\tSIZE\tROOT\tIMPORTED\tPACK")
		for _, l := range out.Logs {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", l.Origin, l.Size, l.Root, l.Imported.Format(time.RFC3339), l.Pack)
		}
		tw.Flush()
	}
	for _, e := range out.Evidence {
		fmt.Fprintf(w, "\nINCONSISTENCY EVIDENCE recorded %s (from %s):\n%s", e.Time.Format(time.RFC3339), e.Source, e.Evidence)
	}
	return nil
}

// consistencyJSON is the --output json of checkpoints verify-consistency.
type consistencyJSON struct {
	Origin     string `json:"origin"`
	Consistent bool   `json:"consistent"`
	From       int64  `json:"from"`
	To         int64  `json:"to"`
	FromRoot   string `json:"fromRoot"`
	ToRoot     string `json:"toRoot"`
	Trust      string `json:"trust"`
}

func checkpointsVerifyConsistencyAction(c *cli.Context) error {
	if c.NArg() != 2 {
		return usageErrorf("checkpoints verify-consistency takes OLD and NEW (signed checkpoints)")
	}
	if c.String("proof") == "" {
		return usageErrorf("checkpoints verify-consistency needs --proof FILE")
	}
	asJSON, err := outputJSON(c)
	if err != nil {
		return err
	}
	oldData, err := readUserFile(c.Args().Get(0), tlog.MaxNoteSize)
	if err != nil {
		return err
	}
	newData, err := readUserFile(c.Args().Get(1), tlog.MaxNoteSize)
	if err != nil {
		return err
	}
	proofData, err := readUserFile(c.String("proof"), 64<<10)
	if err != nil {
		return err
	}
	maxAge, err := maxTrustAge(c)
	if err != nil {
		return err
	}
	db, err := openMirrorDB(c, true)
	if err != nil {
		return err
	}
	defer db.Close()
	logs, err := databaseLogs(c.Context, db, time.Now().UTC(), maxAge)
	if err != nil {
		return err
	}
	oldN, _, err := tlog.OpenNote(oldData, logs)
	if err != nil {
		return rejectMirror(fmt.Errorf("OLD %q: %w", c.Args().Get(0), err))
	}
	newN, tl, err := tlog.OpenNote(newData, logs)
	if err != nil {
		return rejectMirror(fmt.Errorf("NEW %q: %w", c.Args().Get(1), err))
	}
	if oldN.Origin != newN.Origin {
		return rejectMirror(fmt.Errorf("%w: OLD is a checkpoint of %q, NEW of %q", tlog.ErrMalformedCheckpoint, oldN.Origin, newN.Origin))
	}
	proof, err := tlog.ParseProof(proofData, newN.Origin, newN.Size)
	if err != nil {
		return rejectMirror(fmt.Errorf("proof %q: %w", c.String("proof"), err))
	}
	if proof.From != oldN.Size {
		return rejectMirror(fmt.Errorf("%w: the proof is from size %d, OLD has size %d", tlog.ErrMalformedProof, proof.From, oldN.Size))
	}
	if err := tlog.VerifyConsistency(*proof, oldN.Root, newN.Root); err != nil {
		var ie *tlog.InconsistencyError
		if errors.As(err, &ie) {
			ie.Claimed, ie.Mirrored = newN.Signed, oldN.Signed
		}
		return reportInconsistency(c, err)
	}
	out := consistencyJSON{Origin: newN.Origin, Consistent: true, From: oldN.Size, To: newN.Size,
		FromRoot: hex.EncodeToString(oldN.Root[:]), ToRoot: hex.EncodeToString(newN.Root[:]), Trust: tl.Source}
	if asJSON {
		return writeJSON(c.App.Writer, out)
	}
	fmt.Fprintf(c.App.Writer, "consistent: %s\nfrom:       %d %s\nto:         %d %s\n", out.Origin, out.From, out.FromRoot, out.To, out.ToRoot)
	return nil
}

func checkpointsPolicySetAction(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageErrorf("checkpoints policy set takes one FILE")
	}
	name := c.Args().First()
	text, err := readUserFile(name, tlog.MaxPolicySize)
	if err != nil {
		return err
	}
	p, err := tlog.ParseWitnessPolicy(text)
	if err != nil {
		return usageErrorf("witness policy %q: %v", name, err)
	}
	db, err := openMirrorDB(c, false)
	if err != nil {
		return err
	}
	defer db.Close()
	err = mirrorStore(db).SetWitnessPolicy(c.Context, text, tlog.MirrorAudit{Kind: "checkpoints-policy", Time: time.Now().UTC(),
		Fields: map[string]string{"file": filepath.Base(name), "quorum": p.Quorum()}})
	if err != nil {
		return trustErr(err)
	}
	fmt.Fprintf(c.App.Writer, "witness policy stored (quorum %s)\n", p.Quorum())
	return nil
}

// policyJSON is the --output json of checkpoints policy show.
type policyJSON struct {
	Policy *string `json:"policy"`
	Quorum string  `json:"quorum,omitempty"`
}

func checkpointsPolicyShowAction(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageErrorf("checkpoints policy show takes no arguments")
	}
	asJSON, err := outputJSON(c)
	if err != nil {
		return err
	}
	db, err := openMirrorDB(c, true)
	if err != nil {
		return err
	}
	defer db.Close()
	text, err := mirrorStore(db).WitnessPolicy(c.Context)
	if err != nil {
		return trustErr(err)
	}
	out := policyJSON{}
	if text != nil {
		p, err := tlog.ParseWitnessPolicy(text)
		if err != nil {
			return mirrorErr(fmt.Errorf("%w: stored witness policy: %v", tlog.ErrMirrorCorrupt, err))
		}
		s := string(text)
		out.Policy, out.Quorum = &s, p.Quorum()
	}
	if asJSON {
		return writeJSON(c.App.Writer, out)
	}
	if out.Policy == nil {
		fmt.Fprintln(c.App.Writer, "no witness policy stored")
		return nil
	}
	fmt.Fprint(c.App.Writer, *out.Policy)
	return nil
}
