package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// An outputTarget is where an output file named on the command line is
// written. Regular files are replaced atomically: the data goes to a
// temporary file beside the final file, which is renamed over it. A
// symlink is followed, so the file it points to is replaced, not the link.
// Anything else that exists and is not a directory (a device such as
// /dev/null, a FIFO) is written through in place: replacing it with a
// regular file would destroy it.
//
// A descriptor airlock was given (/dev/stdout, /dev/stderr, /dev/fd/N,
// /proc/self/fd/N, or any path to the very file standard output or error
// is) is written to through that descriptor: opening the file anew would
// truncate a file the shell redirected output to (`> log.txt`) or write
// over it from its start, and renaming over it would replace it.
type outputTarget struct {
	name     string      // as given, for messages
	final    string      // the file replaced (name with symlinks resolved)
	direct   bool        // write through in place, no temporary file
	fd       int         // with direct: an inherited descriptor to write to, or -1
	replaces bool        // a regular file exists and is replaced
	mode     fs.FileMode // with replaces: its permission bits, kept
	id       os.FileInfo // the existing file, to tell two outputs naming one file; nil if none
}

// resolveOutput checks that name can be written and says how. Its errors
// name the output as given and never a temporary file.
func resolveOutput(name string) (outputTarget, error) {
	fail := func(err error) (outputTarget, error) {
		return outputTarget{}, fmt.Errorf("writing %q: %w", name, err)
	}
	t := outputTarget{name: name, final: name, fd: -1}
	if fd, ok := descriptorName(name); ok {
		if err := checkInherited(fd); err != nil {
			return fail(err)
		}
		t.direct, t.fd = true, fd
		// The file behind the descriptor (os.NewFile would close it when
		// collected).
		t.id, _ = os.Stat("/proc/self/fd/" + strconv.Itoa(fd))
		return t, nil
	}
	st, err := os.Stat(name)
	switch {
	case err == nil && st.IsDir():
		return fail(errors.New("is a directory"))
	case err == nil:
		t.id = st
		if fd := stdDescriptorOf(st); fd > 0 {
			t.direct, t.fd = true, fd
			return t, nil
		}
		if !st.Mode().IsRegular() {
			t.direct = true
			return t, nil
		}
		if t.final, err = filepath.EvalSymlinks(name); err != nil {
			return fail(unwrapPath(err))
		}
		t.replaces, t.mode = true, st.Mode().Perm()
		return t, nil
	case !errors.Is(err, fs.ErrNotExist):
		return fail(unwrapPath(err))
	}
	if lst, lerr := os.Lstat(name); lerr == nil && lst.Mode()&fs.ModeSymlink != 0 {
		dest, _ := os.Readlink(name)
		return fail(fmt.Errorf("is a symlink to %q, which does not exist", dest))
	}
	dir := filepath.Dir(name)
	if st, err := os.Stat(dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fail(fmt.Errorf("directory %q does not exist", dir))
		}
		return fail(unwrapPath(err))
	} else if !st.IsDir() {
		return fail(fmt.Errorf("%q is not a directory", dir))
	}
	return t, nil
}

// descriptorName returns the descriptor name stands for when it is one of
// the names of a descriptor of this process (/dev/stdout, /dev/fd/3, ...).
func descriptorName(name string) (int, bool) {
	switch name {
	case "/dev/stdin":
		return 0, true
	case "/dev/stdout":
		return 1, true
	case "/dev/stderr":
		return 2, true
	}
	for _, dir := range []string{"/dev/fd/", "/proc/self/fd/"} {
		if n, ok := strings.CutPrefix(name, dir); ok {
			fd, err := strconv.Atoi(n)
			return fd, err == nil && fd >= 0 && strconv.Itoa(fd) == n
		}
	}
	return 0, false
}

// checkInherited accepts fd as an output only when it was given to airlock
// by its parent: open, and not close-on-exec (Go opens every descriptor of
// its own close-on-exec, so /dev/fd/6 cannot name the runtime's poller).
// Standard input is not an output.
func checkInherited(fd int) error {
	if fd == 0 {
		return errors.New("is standard input")
	}
	if fd <= 2 {
		return nil
	}
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	if err != nil || flags&unix.FD_CLOEXEC != 0 {
		return fmt.Errorf("descriptor %d was not given to airlock (open it in the shell, e.g. %d>FILE)", fd, fd)
	}
	return nil
}

// stdDescriptorOf returns 1 or 2 when st is the file standard output or
// standard error is open on (`--bundle log.txt > log.txt`, a symlink to
// /dev/stdout), else 0.
func stdDescriptorOf(st os.FileInfo) int {
	for fd, f := range []*os.File{1: os.Stdout, 2: os.Stderr} {
		if f == nil {
			continue
		}
		if fst, err := f.Stat(); err == nil && fst.Mode().IsRegular() && os.SameFile(st, fst) {
			return fd
		}
	}
	return 0
}

// sameOutput reports whether a and b name one file.
func sameOutput(a, b outputTarget) bool {
	switch {
	case a.fd >= 0 && a.fd == b.fd:
		return true
	case a.id != nil && b.id != nil:
		return os.SameFile(a.id, b.id)
	}
	return absPath(a.final) == absPath(b.final)
}

// writeDirect writes data through to a non-regular file (a device, a FIFO)
// or to an inherited descriptor, which stays open.
func (t outputTarget) writeDirect(data []byte) error {
	fail := func(err error) error { return fmt.Errorf("writing %q: %w", t.name, unwrapPath(err)) }
	var f *os.File
	switch t.fd {
	case -1:
		var err error
		if f, err = os.OpenFile(t.final, os.O_WRONLY, 0); err != nil {
			return fail(err)
		}
	case 1:
		f = os.Stdout
	case 2:
		f = os.Stderr
	default:
		// A duplicate, closed when written: the inherited descriptor is
		// left as it was, for a second output naming it.
		dup, err := unix.FcntlInt(uintptr(t.fd), unix.F_DUPFD_CLOEXEC, 3)
		if err != nil {
			return fail(err)
		}
		f = os.NewFile(uintptr(dup), t.name)
	}
	_, err := f.Write(data)
	if f != os.Stdout && f != os.Stderr {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fail(err)
	}
	return nil
}

// createTemp creates the temporary file a regular output is written to,
// beside the file it replaces.
func (t outputTarget) createTemp() (*os.File, error) {
	return createTemp(t.final)
}

// fill writes data to f, a temporary file from createTemp, with the
// replaced file's mode, syncs it when sync is set, and closes it.
func (t outputTarget) fill(f *os.File, data []byte, sync bool) error {
	_, err := f.Write(data)
	if err == nil && t.replaces {
		err = f.Chmod(t.mode)
	}
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeOutputFile writes data to name as resolveOutput says: replaced
// atomically (synced before the rename) or written through. A failure
// leaves the old file as it was and no temporary file behind.
func writeOutputFile(name string, data []byte) error {
	t, err := resolveOutput(name)
	if err != nil {
		return err
	}
	if t.direct {
		return t.writeDirect(data)
	}
	f, err := t.createTemp()
	if err != nil {
		return fmt.Errorf("writing %q: %w", name, unwrapPath(err))
	}
	tmp := f.Name()
	err = t.fill(f, data, true)
	if err == nil {
		err = os.Rename(tmp, t.final)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %q: %w", name, unwrapPath(err))
	}
	return nil
}
