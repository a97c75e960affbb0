package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/airlock-project/airlock/hsm"
	"golang.org/x/term"
)

// pinFunc returns the PIN source for a token, in order of preference:
//
//  1. pin-source from the key URI: a file (path or file: URI) of mode 0600
//     or stricter, one trailing newline trimmed (hsm.ReadPINFile);
//  2. the AIRLOCK_PIN environment variable, when not empty;
//  3. a prompt on the controlling terminal (/dev/tty), input not echoed;
//  4. otherwise an error saying how to give one.
//
// The PIN is never taken from argv, never printed and never put in an error.
// The func is called at most once per login by package hsm, which never
// retries a wrong PIN.
func pinFunc(pinSource, tokenLabel string) hsm.PINFunc {
	return func() ([]byte, error) {
		if pinSource != "" {
			return readPINFile(pinSource)
		}
		if p := os.Getenv("AIRLOCK_PIN"); p != "" {
			return []byte(p), nil
		}
		return promptPIN(tokenLabel)
	}
}

// readPINFile is hsm.ReadPINFile with the hint for a file others may read.
func readPINFile(src string) ([]byte, error) {
	p, err := hsm.ReadPINFile(src)
	if errors.Is(err, hsm.ErrPINFileMode) {
		path, _ := hsm.PINSourcePath(src)
		return nil, withHint(err, "chmod 600 "+path)
	}
	return p, err
}

// errNoPIN says how to give a PIN when there is no terminal to ask on.
// It is reported as `reading the PIN for token "T": ...`, and the token
// may have been named by --token LABEL, with no URI at all.
var errNoPIN = errors.New("not on a terminal, no pin-source in a pkcs11: URI, and AIRLOCK_PIN is not set")

const noPINHint = "add ?pin-source=FILE (mode 0600) to the pkcs11: URI (--key URI, or --token 'pkcs11:token=LABEL?pin-source=FILE'), or set AIRLOCK_PIN"

func promptPIN(tokenLabel string) ([]byte, error) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil, withHint(errNoPIN, noPINHint)
	}
	defer tty.Close()
	fd := int(tty.Fd())
	if !term.IsTerminal(fd) {
		return nil, withHint(errNoPIN, noPINHint)
	}
	if tokenLabel != "" {
		fmt.Fprintf(tty, "PIN for token %q: ", tokenLabel)
	} else {
		fmt.Fprint(tty, "Token PIN: ")
	}
	p, err := readSecret(tty)
	if err != nil {
		return nil, fmt.Errorf("reading the PIN from the terminal: %w", err)
	}
	if len(p) == 0 {
		return nil, errors.New("empty PIN")
	}
	return p, nil
}

// readSecret reads a line from the terminal tty without echo. Ctrl-C (or
// another interrupt) while it waits restores the terminal before airlock
// ends: term.ReadPassword turns echo off and its own restore is a defer,
// which a signal's default action skips, leaving the shell without echo.
func readSecret(tty *os.File) ([]byte, error) {
	fd := int(tty.Fd())
	if state, err := term.GetState(fd); err == nil {
		defer onInterrupt(func() {
			term.Restore(fd, state)
			fmt.Fprintln(tty)
		})()
	}
	p, err := term.ReadPassword(fd)
	fmt.Fprintln(tty)
	return p, err
}
