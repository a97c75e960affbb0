package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/airlock-project/airlock/cache"
	"github.com/airlock-project/airlock/tlog"
	"github.com/urfave/cli/v2"
)

// The site log for standard tile clients (C2SP tlog-tiles): `log
// export-tiles DIR` writes it to disk, `log serve` serves the same files
// over HTTP, read-only, straight from the database.

const defaultListen = "127.0.0.1:8080"

func logTilesCommands() []*cli.Command {
	return []*cli.Command{
		{
			Name:      "export-tiles",
			Usage:     "write the site log to DIR as C2SP tlog-tiles",
			ArgsUsage: "DIR",
			Description: `Writes the site log as it is now into DIR in the C2SP tlog-tiles layout
(https://c2sp.org/tlog-tiles), readable by standard tile clients:

   checkpoint                 the latest signed checkpoint
   tile/<L>/<N>[.p/<W>]       hash tiles (256 hashes of level 8*L each)
   tile/entries/<N>[.p/<W>]   entry bundles (256 canonicalized entry bodies each)

DIR is created if missing. It must be empty or hold an earlier export of this
log: full tiles already there are checked, not rewritten, and the checkpoint is
replaced last, so a reader never sees a checkpoint whose tiles are missing. A
DIR holding anything else is refused and left as it was.

Examples:
   airlock log export-tiles /media/usb/site-log
   rsync -a /media/usb/site-log/ webserver:/srv/site-log/`,
			Action: logExportTilesAction,
		},
		{
			Name:  "serve",
			Usage: "serve the site log's checkpoint and tiles over HTTP, read-only",
			Description: `Serves the site log over HTTP in the C2SP tlog-tiles layout (the files
export-tiles writes), read from the database on each request: GET /checkpoint,
GET /tile/... . There is no write path. The checkpoint is served with
Cache-Control: no-cache, full tiles as immutable. Ctrl-C (SIGINT) or SIGTERM
stops the server after the requests in flight.

The default address is 127.0.0.1:8080, this machine only. Any other address
must be given with --listen; one that is not a loopback address makes the log
readable from the network, and serve says so on stderr.

Examples:
   airlock log serve
   airlock log serve --listen 10.0.0.5:8080`,
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "listen", Value: defaultListen, Usage: "listen on `ADDR` (host:port)"},
			},
			Action: logServeAction,
		},
	}
}

func logExportTilesAction(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageErrorf("log export-tiles takes one DIR, got %d arguments", c.NArg())
	}
	dir := c.Args().First()
	if _, err := requireSiteLog(c); err != nil {
		return err
	}
	// One read-only open for the whole export: a consistent view, and no
	// reopening of the database for every hash.
	path, err := dbPath(c)
	if err != nil {
		return err
	}
	db, err := cache.Open(path, cache.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer db.Close()
	l, err := tlog.Open(c.Context, &cache.SiteLog{DB: db})
	if err != nil {
		return fmt.Errorf("site log: %w", err)
	}
	ctx, stop := interruptContext(c.Context)
	res, err := l.ExportTiles(ctx, dir)
	if sig := stop(); sig != nil {
		interrupted(c.App.ErrWriter, sig, fmt.Sprintf("the export in %q is incomplete; its previous checkpoint (if any) still stands", dir))
	}
	if errors.Is(err, tlog.ErrForeignExport) {
		return withHint(fmt.Errorf("export-tiles %q: %w", dir, err), "give an empty or new directory, or one an earlier export-tiles of this log wrote")
	}
	if err != nil {
		return fmt.Errorf("export-tiles %q: %w", dir, err)
	}
	fmt.Fprintf(c.App.Writer, "Exported the site log %s (%d entries) to %s: %d files written, %d tiles already there\n",
		l.Meta().Origin, res.Size, dir, res.Written, res.Kept)
	return nil
}

// isLoopback reports whether host (from host:port) is a loopback address
// or localhost; an empty host is every interface.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func logServeAction(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageErrorf("log serve takes no arguments, got %q", c.Args().First())
	}
	addr := c.String("listen")
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return usageErr(fmt.Errorf("--listen %q: %w", addr, err))
	}
	l, err := requireSiteLog(c)
	if err != nil {
		return err
	}
	head, err := l.Checkpoint(c.Context)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--listen %q: %w", addr, err)
	}
	if !isLoopback(host) {
		fmt.Fprintf(c.App.ErrWriter, "airlock: warning: serving on %s, not a loopback address: the site log is readable from the network\n", ln.Addr())
	}
	srv := &http.Server{Handler: l.TileHandler(), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := interruptContext(c.Context)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	fmt.Fprintf(c.App.ErrWriter, "airlock: serving the site log %s (%d entries) read-only at http://%s/checkpoint\n", l.Meta().Origin, head.Size, ln.Addr())
	select {
	case err := <-done:
		return fmt.Errorf("serving the site log: %w", err)
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(shut)
	fmt.Fprintf(c.App.ErrWriter, "airlock: stopped serving the site log\n")
	return err
}

// withSubcommands appends subs to cmd's subcommands: export-tiles and
// serve join `log` from this file, so that log.go stays as it is.
func withSubcommands(cmd *cli.Command, subs ...*cli.Command) *cli.Command {
	cmd.Subcommands = append(cmd.Subcommands, subs...)
	return cmd
}
