package hsm

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"syscall"
)

// MaxPINFile bounds what ReadPINFile reads from a pin-source file.
const MaxPINFile = 1024

// ErrPINFile is the sentinel of every ReadPINFile error: the pin-source is
// not a local file, cannot be read, or is unsafe or unusable as a PIN.
// ErrPINFileMode is the ErrPINFile of a file others may read or write.
var (
	ErrPINFile     = errors.New("unusable pin-source")
	ErrPINFileMode = fmt.Errorf("%w: readable or writable by others", ErrPINFile)
)

// PINSourcePath turns an RFC 7512 pin-source value into a file path: a
// file: URI (local, no query or fragment) or a plain path. Anything else (a
// command, another scheme) is refused.
func PINSourcePath(src string) (string, error) {
	if !strings.HasPrefix(src, "file:") {
		if strings.HasPrefix(src, "|") || strings.Contains(src, "://") {
			return "", errorf(ErrPINFile, "pin-source %q is not a file: only files are supported", src)
		}
		return src, nil
	}
	u, err := url.Parse(src)
	if err != nil || (u.Host != "" && u.Host != "localhost") || u.RawQuery != "" || u.Fragment != "" {
		return "", errorf(ErrPINFile, "pin-source %q is not a local file: URI", src)
	}
	p := u.Path
	if p == "" {
		p = u.Opaque
	}
	if p == "" {
		return "", errorf(ErrPINFile, "pin-source %q names no file", src)
	}
	return p, nil
}

// ReadPINFile reads the PIN from the file a pin-source names
// (PINSourcePath). The file must be a regular file (a FIFO is refused, not
// waited on) that neither group nor others may read or write, of at most
// MaxPINFile bytes and not empty; one trailing newline (LF or CRLF) is
// trimmed. Errors wrap ErrPINFile, name the file and never hold its
// content.
func ReadPINFile(src string) ([]byte, error) {
	path, err := PINSourcePath(src)
	if err != nil {
		return nil, err
	}
	// O_NONBLOCK: a FIFO must be refused below, not waited on (opening it
	// for reading would block until something writes to it).
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, wrapf(ErrPINFile, pathCause(err), "opening pin-source %q", path)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, wrapf(ErrPINFile, pathCause(err), "reading pin-source %q", path)
	}
	if !fi.Mode().IsRegular() {
		return nil, errorf(ErrPINFile, "pin-source %q is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, errorf(ErrPINFileMode, "pin-source %q is readable or writable by others (mode %04o)", path, perm)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxPINFile+1))
	if err != nil {
		return nil, wrapf(ErrPINFile, pathCause(err), "reading pin-source %q", path)
	}
	if len(b) > MaxPINFile {
		wipe(b)
		return nil, errorf(ErrPINFile, "pin-source %q is larger than %d bytes", path, MaxPINFile)
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	if len(b) == 0 {
		return nil, errorf(ErrPINFile, "pin-source %q is empty", path)
	}
	return b, nil
}

// pathCause drops the path an *os.PathError names: the message names the
// file once, quoted, as the user gave it.
func pathCause(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
