package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/airlock-project/airlock/bundle"
	"github.com/airlock-project/airlock/trust"
	"github.com/urfave/cli/v2"
)

// Exit codes. They are part of the command-line contract.
const (
	exitOK       = 0 // verified, or the command did what was asked
	exitRejected = 1 // the evidence does not hold
	exitFailed   = 2 // could not run: usage, unreadable input, locked database, token error
)

// usageError is a mistake in how airlock was called.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usageErr(err error) error { return &usageError{err} }

func usageErrorf(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// hintError attaches a line telling the user what to do next.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Unwrap() error { return e.err }

// An empty hint leaves err as it is, so a hint err already carries (or
// the usage hint) still shows.
func withHint(err error, hint string) error {
	if err == nil || hint == "" {
		return err
	}
	return &hintError{err, hint}
}

// silentError carries an exit code for a result that was already reported
// (a rejected verification rendered on stdout, a batch with failures).
type silentError struct{ code int }

func (e *silentError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// exitCode maps an error to the process exit code. This is the one place
// that decides what "rejected" means.
func exitCode(err error) int {
	var se *silentError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &se):
		return se.code
	case isRejection(err):
		return exitRejected
	default:
		return exitFailed
	}
}

// isRejection reports whether err says the evidence does not hold, as
// opposed to airlock being unable to run.
func isRejection(err error) bool {
	var ue *usageError
	if errors.As(err, &ue) {
		return false
	}
	for _, target := range rejectionErrors {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// rejectionErrors are the sentinel errors whose wrapping means "rejected".
var rejectionErrors = []error{
	bundle.ErrRejected,
	errAuditBroken,
	trust.ErrRejected, // TUF metadata refused on import
	// Not trust.ErrStale: trust past --max-trust-age says nothing about the
	// evidence; verification could not run (exit 2), so that CI tells stale
	// trust from a bad artifact.
}

// unknownCommand recognises urfave/cli's error for a command name it does
// not know ("No help topic for 'x'"), which follows none of our rules.
func unknownCommand(err error) (string, bool) {
	var ec cli.ExitCoder
	if !errors.As(err, &ec) {
		return "", false
	}
	name, ok := strings.CutPrefix(ec.Error(), "No help topic for '")
	if !ok {
		return "", false
	}
	name, _, _ = strings.Cut(name, "'")
	return name, true
}

// report prints err (if any) on stderr and returns the exit code.
func report(stderr io.Writer, err error) int {
	if name, ok := unknownCommand(err); ok {
		err = withHint(usageErrorf("unknown command %q", name), "run 'airlock --help' for the commands, 'airlock COMMAND --help' for one")
	}
	code := exitCode(err)
	var se *silentError
	if err == nil || errors.As(err, &se) {
		return code
	}
	// One line, whatever a library put in its message.
	msg := strings.Join(strings.FieldsFunc(err.Error(), func(r rune) bool { return r == '\n' || r == '\r' }), " ")
	msg = strings.TrimSuffix(strings.TrimSpace(msg), ".")
	fmt.Fprintf(stderr, "airlock: error: %s\n", msg)
	var he *hintError
	if errors.As(err, &he) && he.hint != "" {
		fmt.Fprintf(stderr, "airlock: hint: %s\n", he.hint)
	}
	var ue *usageError
	if errors.As(err, &ue) && he == nil {
		fmt.Fprintf(stderr, "airlock: hint: run 'airlock --help' or 'airlock COMMAND --help'\n")
	}
	return code
}
