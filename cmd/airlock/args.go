package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// interspersed moves flags that follow positional arguments in front of
// them, so that `airlock verify-blob --key k.pub hello.tgz --output json`
// works as it does in cosign. urfave/cli/v2 stops parsing flags at the first
// positional argument. An unknown flag is moved too, so that it is reported
// as one rather than read as a file name; after "--" nothing is moved.
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
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if a == "--" {
			positional = append(positional, rest[i:]...)
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
	return append(out, positional...)
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
