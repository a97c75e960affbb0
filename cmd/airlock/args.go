package main

import (
	"os"
	"strings"

	"github.com/urfave/cli/v2"
)

// interspersed moves flags that follow positional arguments in front of
// them, so that `airlock verify-blob --key k.pub hello.tgz --output json`
// works as it does in cosign. urfave/cli/v2 stops parsing flags at the first
// positional argument. An unknown flag is moved too, so that it is reported
// as one rather than read as a file name.
//
// "--" ends the options: it is put after the flags and before every
// positional argument, so that it is never read as a file name and
// everything after it is positional, even if it starts with "-".
//
// `airlock help A B` becomes `airlock A B --help`: urfave/cli/v2's help
// command shows only the first command named, and its help of a command
// with subcommands leaves out the subcommands and flags that --help shows.
func interspersed(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	out := []string{args[0]}
	rest := args[1:]
	// Walk the leading app flags and command names down to the leaf command.
	flags := app.Flags
	cmds := app.Commands
	var leaf *cli.Command
	for len(rest) > 0 {
		a := rest[0]
		if strings.HasPrefix(a, "-") {
			n := 1
			if takesValue(flags, a) {
				n = 2
			}
			n = min(n, len(rest))
			out = append(out, rest[:n]...)
			rest = rest[n:]
			continue
		}
		if (a == "help" || a == "h") && len(rest) > 1 && findCommand(cmds, rest[1]) != nil && !anyFlag(rest[1:]) {
			out = append(out, rest[1:]...)
			return interspersed(app, append(out, "--help"))
		}
		c := findCommand(cmds, a)
		if c == nil {
			break
		}
		out = append(out, a)
		rest = rest[1:]
		leaf, flags, cmds = c, c.Flags, c.Subcommands
	}
	if leaf == nil || len(leaf.Subcommands) > 0 {
		return append(out, rest...)
	}
	var front, positional []string
	dashdash := false
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if a == "--" {
			dashdash = true
			positional = append(positional, rest[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			positional = append(positional, a)
			continue
		}
		front = append(front, a)
		if takesValue(flags, a) && i+1 < len(rest) {
			i++
			front = append(front, rest[i])
		}
	}
	out = append(out, front...)
	if dashdash {
		out = append(out, "--")
	}
	return append(out, positional...)
}

// ambiguousArg returns the first argument after the command name, before
// "--", that both looks like a flag and names an existing file (or link),
// "" if none. Such an argument is refused: read as a flag, a file named
// "--key=evil.pub.tgz" that a glob expanded in a directory an attacker
// filled replaced the user's --key; read as a file, a planted file named
// like one of the user's own flags ("--type=slsaprovenance1") cancelled
// that flag (both found in review). Only the user can say which is meant:
// "./NAME" for the file, or "--" before the FILEs.
func ambiguousArg(app *cli.App, args []string) string {
	flags, cmds := app.Flags, app.Commands
	leaf := false
	for i := 1; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return ""
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			if c := findCommand(cmds, a); c != nil && !leaf {
				flags, cmds = c.Flags, c.Subcommands
				leaf = len(c.Subcommands) == 0
			}
			continue
		}
		if leaf {
			if _, err := os.Lstat(a); err == nil {
				return a
			}
		}
		if takesValue(flags, a) {
			i++
		}
	}
	return ""
}

// repeatedFlag returns the first flag that args (as interspersed leaves
// them) give twice, "" if none. urfave/cli keeps the last value of a flag
// given twice; a verification tool must not let a second --key or
// --trusted-root (from a typo, or a file name a glob expanded) silently
// replace the first. Flags that take a list (trust export-root --name)
// may repeat.
func repeatedFlag(app *cli.App, args []string) string {
	seen := map[string]bool{}
	flags, cmds := app.Flags, app.Commands
	for i := 1; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			c := findCommand(cmds, a)
			if c == nil {
				break
			}
			flags, cmds = c.Flags, c.Subcommands
			continue
		}
		f := lookupFlag(flags, a)
		if f == nil {
			continue
		}
		if takesValue(flags, a) {
			i++
		}
		switch f.(type) {
		case *cli.StringSliceFlag, *cli.Int64SliceFlag:
			continue
		}
		name := f.Names()[0]
		if seen[name] {
			return "--" + name
		}
		seen[name] = true
	}
	return ""
}

// anyFlag reports whether any of args looks like a flag.
func anyFlag(args []string) bool {
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			return true
		}
	}
	return false
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}

// lookupFlag finds the flag named by arg ("-o", "--output", "--output=json").
func lookupFlag(flags []cli.Flag, arg string) cli.Flag {
	name := strings.TrimLeft(arg, "-")
	name, _, _ = strings.Cut(name, "=")
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	return nil
}

// takesValue reports whether arg is a flag whose value is the next argument.
func takesValue(flags []cli.Flag, arg string) bool {
	if strings.Contains(arg, "=") {
		return false
	}
	f := lookupFlag(flags, arg)
	if f == nil {
		return false
	}
	df, ok := f.(cli.DocGenerationFlag)
	return ok && df.TakesValue()
}
