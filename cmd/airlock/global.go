package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/urfave/cli/v2"
)

// Global flags are accepted before or after the command name:
// `airlock --output json trust status` and `airlock trust status --output json`
// mean the same. They are declared on the app and on every command, and read
// with globalString, which takes the one nearest the command that was set.

func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "db", Usage: "airlock database `FILE` (default $AIRLOCK_DB, else $XDG_DATA_HOME/airlock/airlock.db)"},
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "text", Usage: "result `FORMAT`: text or json"},
	}
}

func addGlobalFlags(cmds []*cli.Command) {
	for _, c := range cmds {
		c.Flags = append(c.Flags, globalFlags()...)
		addGlobalFlags(c.Subcommands)
	}
}

func globalString(c *cli.Context, name string) string {
	for _, x := range c.Lineage() {
		if slices.Contains(x.LocalFlagNames(), name) {
			return x.String(name)
		}
	}
	return ""
}

// outputJSON reports whether --output json was asked for; any other value
// than text or json is a usage error.
func outputJSON(c *cli.Context) (bool, error) {
	switch o := globalString(c, "output"); o {
	case "", "text":
		return false, nil
	case "json":
		return true, nil
	default:
		return false, usageErrorf("--output must be text or json, not %q", o)
	}
}

// dbPath resolves the database path: --db, then $AIRLOCK_DB, then the XDG
// data directory.
func dbPath(c *cli.Context) (string, error) {
	if p := globalString(c, "db"); p != "" {
		return p, nil
	}
	if p := os.Getenv("AIRLOCK_DB"); p != "" {
		return p, nil
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "airlock", "airlock.db"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find the database: set --db or AIRLOCK_DB: %w", err)
	}
	return filepath.Join(home, ".local", "share", "airlock", "airlock.db"), nil
}
