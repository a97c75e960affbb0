package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"syscall"

	"github.com/airlock-project/airlock/hsm"
	"golang.org/x/term"
)

// maxPINFile bounds what is read from a pin-source file.
const maxPINFile = 1024

// pinFunc returns the PIN source for a token, in order of preference:
//
//  1. pin-source from the key URI: a file (path or file: URI) of mode 0600
//     or stricter, one trailing newline trimmed;
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

// pinSourcePath turns a pin-source value into a file path. RFC 7512 allows
// a file: URI or a plain path; anything else (a command, another scheme) is
// refused.
func pinSourcePath(src string) (string, error) {
	if !strings.HasPrefix(src, "file:") {
		if strings.HasPrefix(src, "|") || strings.Contains(src, "://") {
			return "", fmt.Errorf("pin-source %q is not a file: only files are supported", src)
		}
		return src, nil
	}
	u, err := url.Parse(src)
	if err != nil || (u.Host != "" && u.Host != "localhost") || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("pin-source %q is not a local file: URI", src)
	}
	p := u.Path
	if p == "" {
		p = u.Opaque
	}
	if p == "" {
		return "", fmt.Errorf("pin-source %q names no file", src)
	}
	return p, nil
}

func readPINFile(src string) ([]byte, error) {
	path, err := pinSourcePath(src)
	if err != nil {
		return nil, err
	}
	// O_NONBLOCK: a FIFO must be refused below, not waited on (opening it
	// for reading would block until something writes to it).
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("opening pin-source %q: %w", path, unwrapPath(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading pin-source %q: %w", path, unwrapPath(err))
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("pin-source %q is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, withHint(fmt.Errorf("pin-source %q is readable or writable by others (mode %04o)", path, perm),
			fmt.Sprintf("chmod 600 %s", path))
	}
	b, err := io.ReadAll(io.LimitReader(f, maxPINFile+1))
	if err != nil {
		return nil, fmt.Errorf("reading pin-source %q: %w", path, unwrapPath(err))
	}
	if len(b) > maxPINFile {
		return nil, fmt.Errorf("pin-source %q is larger than %d bytes", path, maxPINFile)
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	if len(b) == 0 {
		return nil, fmt.Errorf("pin-source %q is empty", path)
	}
	return b, nil
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
