package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/airlock-project/airlock/cache"
	"github.com/urfave/cli/v2"
)

func auditCommand() *cli.Command {
	return &cli.Command{
		Name:  "audit",
		Usage: "read and check the hash-chained audit trail",
		Description: `The database keeps a hash-chained record of every signature (sign-blob,
attest-blob) and trust import.

Examples:
   airlock audit list
   airlock audit list --kind attest -o json`,
		Subcommands: []*cli.Command{{
			Name:  "list",
			Usage: "print every audit record after checking the hash chain",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "kind", Usage: "only records of `KIND` (sign, attest, trust-init, trust-update, log-init, checkpoints-import, checkpoints-inconsistency, checkpoints-policy)"},
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
// trust init, trust update); a new kind must be added here for --kind.
var auditKinds = []string{"sign", "attest", "trust-init", "trust-update", "log-init", "checkpoints-import", "checkpoints-inconsistency", "checkpoints-policy"}

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
