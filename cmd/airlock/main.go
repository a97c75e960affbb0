// Command airlock signs, attests and verifies software artifacts with
// Sigstore, on both sides of an air gap. See README.md.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"
)

// version is set by the Makefile with -ldflags "-X main.version=...".
var version = "dev"

func main() { os.Exit(Main()) }

// Main runs airlock with os.Args and returns the process exit code. It never
// calls os.Exit itself, so deferred cleanup (token logout, database close) runs.
func Main() int {
	return run(os.Args, os.Stdin, os.Stdout, os.Stderr)
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := newApp(stdin, stdout, stderr)
	if a := ambiguousArg(app, args); a != "" {
		return report(stderr, withHint(fmt.Errorf("%q is both a flag and an existing file", a),
			fmt.Sprintf("write ./%s for the file, or put -- before the FILEs; or, for the flag, run where no such file is", a)))
	}
	args = interspersed(app, args)
	if f := repeatedFlag(app, args); f != "" {
		return report(stderr, usageErrorf("%s is given twice", f))
	}
	var unknown string
	app.CommandNotFound = func(_ *cli.Context, name string) { unknown = name }
	err := app.Run(args)
	if unknown != "" && err == nil {
		err = &unknownCommandError{unknown}
	}
	return report(stderr, err)
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	cli.VersionPrinter = func(c *cli.Context) {
		fmt.Fprintf(c.App.Writer, "airlock %s\n", c.App.Version)
	}
	app := &cli.App{
		Name:                 "airlock",
		Usage:                "Sigstore signing and offline verification for air-gapped sites",
		Version:              version,
		Reader:               stdin,
		Writer:               stdout,
		ErrWriter:            stderr,
		EnableBashCompletion: false,
		HideHelpCommand:      false,
		Flags:                globalFlags(),
		ExitErrHandler:       func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return usageErr(err)
		},
		Commands: commands(),
		Description: `airlock verifies Sigstore bundles with no network, against trust kept in one
bbolt database (or a --trusted-root file), and signs with keys held in PKCS#11 tokens.

Exit codes: 0 ok or verified; 1 rejected (the evidence does not hold);
2 could not run (usage, unreadable input, locked database, token error).

Examples:
   airlock trust init --public-good
   airlock trust update --from /media/usb/tuf-mirror --at 2026-08-21T20:00:00Z
   airlock verify-blob --bundle hello.tgz.sigstore.json \
       --certificate-identity ID --certificate-oidc-issuer URL hello.tgz
   airlock verify-blob --key release.pub --signature hello.tgz.sig hello.tgz
   airlock hsm keygen --token release --label signer --type ecdsa-p256
   airlock sign-blob --key 'pkcs11:token=release;object=signer' --tlog none hello.tgz > hello.tgz.sig
   airlock help COMMAND     (or airlock COMMAND --help)`,
	}
	setUsageErrorHandlers(app.Commands)
	addGlobalFlags(app.Commands)
	return app
}

// commands lists every top-level command. Each lives in its own file.
func commands() []*cli.Command {
	var cmds []*cli.Command
	cmds = append(cmds, verifyCommands()...)
	cmds = append(cmds, bundleCommand())
	cmds = append(cmds, signCommands()...)
	cmds = append(cmds, hsmCommand())
	cmds = append(cmds, trustCommand())
	cmds = append(cmds, auditCommand())
	cmds = append(cmds, withSubcommands(logCommand(), append(logTilesCommands(), logPackCommand())...))
	cmds = append(cmds, checkpointsCommand())
	return cmds
}

// setUsageErrorHandlers makes every usage error exit 2, and takes the
// "help" subcommand away from commands without subcommands: urfave/cli
// would read a FILE named "help" or "h" as a request for help and exit 0,
// verifying nothing ("airlock COMMAND --help" and "airlock help COMMAND"
// still show it).
func setUsageErrorHandlers(cmds []*cli.Command) {
	for _, c := range cmds {
		if c.OnUsageError == nil {
			c.OnUsageError = func(_ *cli.Context, err error, _ bool) error { return usageErr(err) }
		}
		if len(c.Subcommands) == 0 {
			c.HideHelpCommand = true
		}
		setUsageErrorHandlers(c.Subcommands)
	}
}
