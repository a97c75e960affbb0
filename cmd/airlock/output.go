package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// An outputTarget is where an output file named on the command line is
// written. Regular files are replaced atomically: the data goes to a
// temporary file beside the final file, which is renamed over it. A
// symlink is followed, so the file it points to is replaced, not the link.
// Anything else that exists and is not a directory (a device such as
// /dev/stdout or /dev/null, a FIFO) is written through in place: replacing
// it with a regular file would destroy it.
//
// /dev/stdout, /dev/stderr, /dev/fd/N and /proc/self/fd/N name a file
// descriptor airlock already holds, and are written to it: opening them
// anew would truncate a file the shell redirected output to (`> log.txt`)
// or write over it from its start, and renaming over them would replace
// that file.
type outputTarget struct {
	name   string      // as given, for messages
	final  string      // the file replaced (name with symlinks resolved)
	direct bool        // write through in place, no temporary file
	fd     int         // with direct: an inherited descriptor to write to, or -1
	mode   fs.FileMode // the replaced file's permission bits; 0 for a new file (0644 less the umask)
}

// resolveOutput checks that name can be written and says how. Its errors
// name the output as given and never a temporary file.
func resolveOutput(name string) (outputTarget, error) {
	fail := func(err error) (outputTarget, error) {
		return outputTarget{}, fmt.Errorf("writing %q: %w", name, err)
	}
	t := outputTarget{name: name, final: name, fd: -1}
	if fd, ok := inheritedFD(name); ok {
		t.direct, t.fd = true, fd
		return t, nil
	}
	st, err := os.Stat(name)
	switch {
	case err == nil && st.IsDir():
		return fail(errors.New("is a directory"))
	case err == nil && !st.Mode().IsRegular():
		t.direct = true
		return t, nil
	case err == nil:
		if t.final, err = filepath.EvalSymlinks(name); err != nil {
			return fail(unwrapPath(err))
		}
		t.mode = st.Mode().Perm()
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

// inheritedFD returns the descriptor name refers to when it is one of the
// names of an open descriptor of this process (/dev/stdout, /dev/fd/3, ...).
func inheritedFD(name string) (int, bool) {
	switch name {
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

// writeDirect writes data through to a non-regular file (a device, a FIFO)
// or to an inherited descriptor.
func (t outputTarget) writeDirect(data []byte) error {
	if t.fd >= 0 {
		var err error
		switch t.fd {
		case 1:
			_, err = os.Stdout.Write(data)
		case 2:
			_, err = os.Stderr.Write(data)
		default:
			// Given for this output alone: closed once written, as a
			// file airlock opened would be.
			f := os.NewFile(uintptr(t.fd), t.name)
			_, err = f.Write(data)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			return fmt.Errorf("writing %q: %w", t.name, unwrapPath(err))
		}
		return nil
	}
	f, err := os.OpenFile(t.final, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("writing %q: %w", t.name, unwrapPath(err))
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %q: %w", t.name, unwrapPath(err))
	}
	return nil
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
	f, err := createTemp(t.final)
	if err != nil {
		return fmt.Errorf("writing %q: %w", name, unwrapPath(err))
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil && t.mode != 0 {
		err = f.Chmod(t.mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, t.final)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %q: %w", name, unwrapPath(err))
	}
	return nil
}
