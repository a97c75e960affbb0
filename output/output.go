// Package output writes a command's output files all or nothing.
//
// A Check, made before any work, resolves every output named by the user
// (Resolve) and refuses one that is also an input, the key, the database or
// another output, or that is standard output while the command prints
// there. A Batch then stages each output beside its destination (regular
// files) or in memory (devices, FIFOs, inherited descriptors), and Commit
// runs the caller's record step (a database transaction) and only then
// renames the staged files into place: a failure or a cancellation before
// the record leaves no output and no record; after it, every output that
// can still be put in place is, and a *PartialCommitError says how many
// were. A rename replaces a file atomically, so a half-written file never
// stands where a good one was.
//
// The descriptors a process may write to by name (/dev/stdout, /dev/fd/3)
// are those it inherited open for writing; they are listed when the
// package is initialized, before main runs and so before any PKCS#11 module
// can open descriptors of its own.
//
// Errors name each output as the caller gave it (a path, or the caller's
// description of it) and never a temporary file.
package output

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// A Target is where an output file named by the user is
// written. Regular files are replaced atomically: the data goes to a
// temporary file beside the final file, which is renamed over it. A
// symlink is followed, so the file it points to is replaced, not the link.
// Anything else that exists and is not a directory (a device such as
// /dev/null, a FIFO) is written through in place: replacing it with a
// regular file would destroy it.
//
// A descriptor the process was given for writing (/dev/stdout, /dev/fd/3, or
// any path to the very file, pipe or terminal such a descriptor is open
// on) is written to through that descriptor: opening the file anew would
// truncate a file the shell redirected output to (`> log.txt`) or write
// over it from its start, and renaming over it would replace it.
type Target struct {
	name     string      // as given, for messages
	final    string      // absolute, symlinks resolved: the file written
	direct   bool        // write through in place, no temporary file
	fd       int         // with direct: an inherited descriptor to write to, or -1
	replaces bool        // a regular file exists and is replaced
	mode     fs.FileMode // with replaces: its permission, setuid, setgid and sticky bits, kept
	id       os.FileInfo // the existing file; nil if none
}

// Resolve checks that name can be written and says how. Its errors
// name the output as given and never a temporary file.
func Resolve(name string) (Target, error) {
	fail := func(err error) (Target, error) {
		return Target{}, fmt.Errorf("writing %q: %w", name, err)
	}
	t := Target{name: name, final: name, fd: -1}
	if fd, ok := DescriptorName(name); ok {
		if fd == 0 {
			return fail(errors.New("is standard input"))
		}
		id, ok := inheritedFile(fd)
		if !ok {
			return fail(fmt.Errorf("descriptor %d was not given to airlock for writing (open it in the shell, e.g. %d>FILE)", fd, fd))
		}
		t.direct, t.fd, t.id = true, fd, id
		return t, nil
	}
	st, err := os.Stat(name)
	switch {
	case err == nil && st.IsDir():
		return fail(errors.New("is a directory"))
	case err == nil:
		t.id = st
		if fd := inheritedFDOf(st); fd > 0 {
			t.direct, t.fd = true, fd
			return t, nil
		}
		if !st.Mode().IsRegular() {
			switch {
			case st.Mode()&fs.ModeSocket != 0:
				return fail(errors.New("is a socket"))
			case !canWrite(name, false):
				return fail(errors.New("permission denied"))
			}
			t.direct = true
			return t, nil
		}
		if t.final, err = filepath.EvalSymlinks(name); err != nil {
			return fail(UnwrapPath(err))
		}
		t.final = Abs(t.final)
		if fst, err := os.Lstat(t.final); err != nil || !os.SameFile(fst, st) {
			return fail(errors.New("the path does not resolve to one file (it changed while it was checked?)"))
		}
		// Root may write anything: the mode bits still say read-only.
		if !canWrite(t.final, false) || st.Mode().Perm()&0o222 == 0 {
			return fail(errors.New("the file is read-only"))
		}
		if err := writableDir(filepath.Dir(t.final)); err != nil {
			return fail(err)
		}
		if err := stickyAllows(filepath.Dir(t.final), st); err != nil {
			return fail(err)
		}
		if err := tempNameFits(filepath.Base(t.final)); err != nil {
			return fail(err)
		}
		t.replaces, t.mode = true, st.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)
		return t, nil
	case !errors.Is(err, fs.ErrNotExist):
		return fail(UnwrapPath(err))
	}
	if lst, lerr := os.Lstat(name); lerr == nil && lst.Mode()&fs.ModeSymlink != 0 {
		dest, _ := os.Readlink(name)
		return fail(fmt.Errorf("is a symlink to %q, which does not exist", dest))
	}
	// The directory as the kernel resolves it: ".." after following
	// links, and failing on a missing component ("nosuchdir/../k.pem"
	// names nothing; filepath.Dir would clean it to the key).
	dir, base := splitParent(name)
	if base == "" || base == "." || base == ".." {
		return fail(errors.New("names a directory, not a file"))
	}
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fail(fmt.Errorf("directory %q does not exist", dir))
		}
		return fail(UnwrapPath(err))
	}
	if st, err := os.Stat(realDir); err != nil {
		return fail(UnwrapPath(err))
	} else if !st.IsDir() {
		return fail(fmt.Errorf("%q is not a directory", dir))
	}
	t.final = Abs(filepath.Join(realDir, base))
	if _, err := os.Lstat(t.final); err == nil {
		// It exists after all (made meanwhile, or reached another way):
		// judged as the existing file it is.
		t2, err := Resolve(t.final)
		t2.name = name
		return t2, err
	}
	if err := writableDir(realDir); err != nil {
		return fail(err)
	}
	if err := tempNameFits(base); err != nil {
		return fail(err)
	}
	return t, nil
}

// splitParent splits name at its last "/" without cleaning it: the
// directory keeps its ".." and symlinks for the kernel's (and
// filepath.EvalSymlinks') order of resolution.
func splitParent(name string) (dir, base string) {
	i := strings.LastIndexByte(name, '/')
	switch {
	case i < 0:
		return ".", name
	case i == 0:
		return "/", name[1:]
	}
	return name[:i], name[i+1:]
}

// tempNameFits fails when the temporary file for base (createTemp's
// ".BASE.tmpXXXXXXXXXXXX") would be too long a name.
func tempNameFits(base string) error {
	if len(base)+len("..tmp")+12 > 255 {
		return errors.New("file name too long (its temporary file would be over 255 bytes)")
	}
	return nil
}

// stickyAllows fails when the file st cannot be renamed over in dir: in a
// sticky directory (/tmp) only the file's or the directory's owner (or
// root) may replace it, and the rename would fail after the signature is
// recorded.
func stickyAllows(dir string, st os.FileInfo) error {
	dst, err := os.Stat(dir)
	if err != nil || dst.Mode()&fs.ModeSticky == 0 {
		return nil
	}
	uid := uint32(os.Geteuid())
	fileUID, ok1 := fileOwner(st)
	dirUID, ok2 := fileOwner(dst)
	if uid == 0 || !ok1 || !ok2 || fileUID == uid || dirUID == uid {
		return nil
	}
	return fmt.Errorf("it belongs to another user in the sticky directory %q, so it cannot be replaced", dir)
}

// writableDir fails when files cannot be created in dir (where the
// temporary file goes).
func writableDir(dir string) error {
	if !canWrite(dir, true) {
		return fmt.Errorf("directory %q is not writable", dir)
	}
	return nil
}

// DescriptorName returns the descriptor name stands for when it is one of
// the names of a descriptor of this process (/dev/stdout, /dev/fd/3, ...).
func DescriptorName(name string) (int, bool) {
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

// inheritedOutputs lists the descriptors the process was given by its parent
// that it may write to, with the files they are open on: open for writing,
// not standard input, and not close-on-exec (Go opens every descriptor of
// its own close-on-exec, so /dev/fd/6 cannot name the runtime's poller).
//
// The list is taken once, at package initialization: before main runs, so
// before any PKCS#11 module (loaded only at run time) can open descriptors
// of its own without close-on-exec, which a later scan could not tell from
// inherited ones (/dev/fd/N would then write into a module's log or
// socket). It is taken also inside a test binary, and costs one read of
// /proc/self/fd. It is sorted by descriptor.
var inheritedOutputs = listInherited()

// An inheritedFD is a descriptor the process was given for writing and the
// file it is open on.
type inheritedFD struct {
	fd int
	st os.FileInfo
}

// inheritedFile returns the file descriptor fd is open on, if the process was
// given fd for writing.
func inheritedFile(fd int) (os.FileInfo, bool) {
	for _, in := range inheritedOutputs {
		if in.fd == fd {
			return in.st, true
		}
	}
	return nil, false
}

func listInherited() []inheritedFD {
	fds := []int{1, 2} // without /proc, standard output and error only
	if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
		fds = fds[:0]
		for _, e := range ents {
			if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 0 {
				fds = append(fds, fd)
			}
		}
		slices.Sort(fds)
	}
	var out []inheritedFD
	for _, fd := range fds {
		if !givenForWriting(fd) {
			continue
		}
		var st os.FileInfo
		var err error
		switch fd {
		case 1:
			st, err = os.Stdout.Stat()
		case 2:
			st, err = os.Stderr.Stat()
		default:
			// Not os.NewFile: it would close the descriptor when collected.
			st, err = os.Stat("/proc/self/fd/" + strconv.Itoa(fd))
		}
		if err == nil {
			out = append(out, inheritedFD{fd, st})
		}
	}
	return out
}

// inheritedFDOf returns the lowest descriptor the process was given for
// writing that is open on st (`--bundle log.txt > log.txt`, a symlink to
// /dev/stdout, the terminal), else 0.
func inheritedFDOf(st os.FileInfo) int {
	for _, in := range inheritedOutputs {
		if os.SameFile(st, in.st) {
			return in.fd
		}
	}
	return 0
}

// fileKey identifies a file for comparing outputs with inputs and with
// each other: the device and inode of an existing file, else its resolved
// path.
func fileKey(st os.FileInfo, final string) string {
	if st != nil {
		if id, ok := fileID(st); ok {
			return "ino " + id
		}
	}
	return "path " + final
}

// inputKey is fileKey for a file a command reads or keeps (its inputs, key,
// database), which may not exist yet (a new database).
func inputKey(name string) string {
	if st, err := os.Stat(name); err == nil {
		return fileKey(st, "")
	}
	name = followDangling(name)
	final := Abs(name)
	if dir, base := splitParent(name); base != "" {
		if real, err := filepath.EvalSymlinks(dir); err == nil {
			final = Abs(filepath.Join(real, base))
		}
	}
	return fileKey(nil, final)
}

// isStdout reports whether t writes where standard output goes: through
// descriptor 1, or to the same file or pipe by another descriptor
// (/dev/fd/3 with 3>&1, /dev/stderr with 2>&1). A terminal does not count:
// two outputs on a screen mix nothing a program reads.
func isStdout(t Target) bool {
	if t.fd == 1 {
		return true
	}
	out, ok := inheritedFile(1)
	return ok && t.id != nil && out.Mode()&fs.ModeCharDevice == 0 && os.SameFile(t.id, out)
}

// followDangling returns the path a chain of symlinks ending nowhere leads
// to (a database path that is a link to a file not made yet), or name.
func followDangling(name string) string {
	for range 40 {
		st, err := os.Lstat(name)
		if err != nil || st.Mode()&fs.ModeSymlink == 0 {
			return name
		}
		dest, err := os.Readlink(name)
		if err != nil {
			return name
		}
		if !filepath.IsAbs(dest) {
			// Not filepath.Join: it would clean ".." as text.
			dir, _ := splitParent(name)
			dest = dir + "/" + dest
		}
		name = dest
	}
	return name
}

// key is t's fileKey.
func (t Target) key() string { return fileKey(t.id, t.final) }

// shareable reports whether several outputs may be one target: the null
// device, a terminal or a pipe, where writes append and destroy nothing.
func (t Target) shareable() bool {
	return t.id != nil && !t.id.Mode().IsRegular()
}

// writeDirect writes data through to a non-regular file (a device, a FIFO)
// or to an inherited descriptor, which stays open.
func (t Target) writeDirect(data []byte) error {
	fail := func(err error) error { return fmt.Errorf("writing %q: %w", t.name, UnwrapPath(err)) }
	var f *os.File
	switch t.fd {
	case -1:
		var err error
		if f, err = os.OpenFile(t.final, os.O_WRONLY, 0); err != nil {
			return fail(err)
		}
		// The path is followed again now: if it leads elsewhere than the
		// device or FIFO checked before signing (swapped for a link to
		// the key meanwhile), nothing is written.
		if st, err := f.Stat(); err != nil || t.id == nil || !os.SameFile(st, t.id) {
			f.Close()
			return fail(errors.New("it changed since it was checked: not written"))
		}
	case 1:
		f = os.Stdout
	case 2:
		f = os.Stderr
	default:
		// A duplicate, closed when written: the inherited descriptor is
		// left as it was, for a second output naming it.
		var err error
		if f, err = dupFD(t.fd, t.name); err != nil {
			return fail(err)
		}
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
func (t Target) createTemp() (*os.File, error) {
	return createTemp(t.final)
}

// fill writes data to f, a temporary file from createTemp, with the
// replaced file's mode, syncs it when sync is set, and closes it.
func (t Target) fill(f *os.File, data []byte, sync bool) error {
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

// Write writes data to t: replaced atomically (synced before the
// rename) or written through. A failure leaves the old file as it was and
// no temporary file behind.
func Write(t Target, data []byte) error {
	if t.direct {
		return t.writeDirect(data)
	}
	f, err := t.createTemp()
	if err != nil {
		return fmt.Errorf("writing %q: %w", t.name, UnwrapPath(err))
	}
	tmp := f.Name()
	err = t.fill(f, data, true)
	if err == nil {
		err = os.Rename(tmp, t.final)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %q: %w", t.name, UnwrapPath(err))
	}
	return nil
}

// A Check collects what a command reads and keeps (its inputs,
// key, database) and the outputs it will write, and refuses, before any
// work, an output that is one of those files or another output's file, or
// that is standard output while stdoutUse prints there.
type Check struct {
	stdoutUse string
	seen      map[string]string // fileKey -> what it is, for messages
}

// NewCheck starts a Check for a command that prints stdoutUse on standard
// output ("" for nothing): its description, for messages ("--output json").
func NewCheck(stdoutUse string) *Check {
	return &Check{stdoutUse: stdoutUse, seen: map[string]string{}}
}

// Input registers a file that no output may be; what says what it is
// ("the input \"a.txt\"", "--key \"k.pem\"").
func (oc *Check) Input(name, what string) {
	if name != "" {
		oc.seen[inputKey(name)] = what
	}
}

// Output resolves an output and checks it against everything registered;
// what names it in messages (`--bundle "x"`).
func (oc *Check) Output(name, what string) (Target, error) {
	t, err := Resolve(name)
	if err != nil {
		return t, err
	}
	if oc.stdoutUse != "" && isStdout(t) {
		return t, fmt.Errorf("%s is standard output, where %s already prints", what, oc.stdoutUse)
	}
	if t.shareable() {
		return t, nil
	}
	k := t.key()
	if other, ok := oc.seen[k]; ok {
		return t, fmt.Errorf("%s is also %s", what, other)
	}
	oc.seen[k] = what
	return t, nil
}

// Name returns the output's name as given to Resolve.
func (t Target) Name() string { return t.name }

// Writable fails when the file name could not be written in place (a
// database, which is updated rather than replaced): it exists and is not
// readable and writable, or it does not exist (a dangling symlink counts
// as where it leads) and the first existing directory above it is not
// writable.
func Writable(name string) error {
	p := followDangling(name)
	if _, err := os.Stat(p); err == nil {
		if !canReadWrite(p) {
			return errors.New("it is not writable")
		}
		return nil
	}
	for dir := filepath.Dir(p); ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(dir); err == nil {
			return writableDir(dir)
		}
		if dir == filepath.Dir(dir) {
			return nil
		}
	}
}
