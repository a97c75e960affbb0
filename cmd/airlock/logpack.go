package main

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/airlock-project/airlock/output"
	"github.com/airlock-project/airlock/tlog"
	"github.com/urfave/cli/v2"
)

func logPackCommand() *cli.Command {
	return &cli.Command{
		Name:  "pack",
		Usage: "write the site log's mirror pack for other sites",
		Description: `Writes a mirror pack (docs/mirror.md) of the site log: its latest signed
checkpoint and a consistency proof from each --from-size N (the size another
site mirrors; repeat the flag for several). Another site imports it with
'airlock checkpoints import PACK'. The file is written whole or not at all.

Examples:
   airlock log pack --out site.pack
   airlock log pack --out site.pack --from-size 1 --from-size 2`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Usage: "write the pack to `FILE`"},
			&cli.Int64SliceFlag{Name: "from-size", Usage: "add a consistency proof from tree size `N` (repeatable)"},
		},
		Action: logPackAction,
	}
}

func logPackAction(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageErrorf("log pack takes no arguments")
	}
	asJSON, err := outputJSON(c)
	if err != nil {
		return err
	}
	out := c.String("out")
	if out == "" {
		return usageErrorf("log pack needs --out FILE")
	}
	for _, n := range c.Int64Slice("from-size") {
		if n < 0 {
			return usageErrorf("--from-size %d: a tree size is not negative", n)
		}
	}
	t, err := output.Resolve(out)
	if err != nil {
		return usageErr(err)
	}
	l, err := requireSiteLog(c)
	if err != nil {
		return err
	}
	p, err := l.Pack(c.Context, c.Int64Slice("from-size"))
	if errors.Is(err, tlog.ErrSizeRange) {
		return usageErrorf("--from-size: %v", err)
	}
	if err != nil {
		return err
	}
	n, err := tlog.ParseNote(p.Logs[0].Checkpoint)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if _, err := p.WriteTo(&buf); err != nil {
		return err
	}
	var b output.Batch
	if err := b.Stage(t, buf.Bytes()); err != nil {
		return err
	}
	if err := b.Commit(c.Context, func() error { return nil }); err != nil {
		return err
	}
	if asJSON {
		froms := []int64{}
		for _, pr := range p.Logs[0].Proofs {
			froms = append(froms, pr.From)
		}
		return writeJSON(c.App.Writer, logPackJSON{Out: out, Origin: n.Origin, Size: n.Size, ProofsFrom: froms})
	}
	fmt.Fprintf(c.App.Writer, "Wrote the mirror pack of the site log %s (size %d, %d consistency proofs) to %s\n", n.Origin, n.Size, len(p.Logs[0].Proofs), out)
	return nil
}

// logPackJSON is the --output json of log pack (docs/json.md).
type logPackJSON struct {
	Out        string  `json:"out"`
	Origin     string  `json:"origin"`
	Size       int64   `json:"size"`
	ProofsFrom []int64 `json:"proofsFrom"`
}
