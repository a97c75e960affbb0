package output

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// A Batch holds outputs staged for one call: regular files in temporary
// files beside their destinations, devices, FIFOs and descriptors in
// memory. Commit puts them in place; Abort removes them. A Batch is safe
// for concurrent use by workers staging outputs and by a caller aborting
// it: once aborted or committed, nothing more is staged.
//
// The zero Batch is ready to use.
type Batch struct {
	mu        sync.Mutex
	temps     []string
	paths     []string
	names     []string // as given, for messages
	direct    []directOutput
	finished  bool // aborted or committed
	committed bool
}

// ErrAborted is the error of a Stage or Commit after Abort: the call failed
// or was interrupted, and its outputs are being removed.
var ErrAborted = errors.New("interrupted")

// A PartialCommitError is the error of a Commit whose record step
// succeeded but some of whose outputs could not be put in place (a rename
// refused because the directory changed since the check, a device that
// failed to take the data). Err is the first failure.
type PartialCommitError struct {
	Written, Total int
	Err            error
}

func (e *PartialCommitError) Error() string {
	if n := e.Total - e.Written; n > 1 {
		return fmt.Sprintf("%v (and %d more outputs not written)", e.Err, n-1)
	}
	return e.Err.Error()
}

func (e *PartialCommitError) Unwrap() error { return e.Err }

// Stage stages data for t (from Resolve): in a temporary file beside the
// file it replaces, or, for a device, FIFO or descriptor, in memory until
// Commit writes it through.
func (b *Batch) Stage(t Target, data []byte) error {
	fail := func(err error) error { return fmt.Errorf("writing %q: %w", t.name, UnwrapPath(err)) }
	// The temporary file is created and registered under the lock, so an
	// Abort either sees it and removes it or comes first and no file is
	// made.
	b.mu.Lock()
	if b.finished {
		b.mu.Unlock()
		return fail(ErrAborted)
	}
	if t.direct {
		b.direct = append(b.direct, directOutput{t, data})
		b.mu.Unlock()
		return nil
	}
	f, err := t.createTemp()
	if err != nil {
		b.mu.Unlock()
		return fail(err)
	}
	b.temps = append(b.temps, f.Name())
	b.paths = append(b.paths, t.final)
	b.names = append(b.names, t.name)
	b.mu.Unlock()
	if err := t.fill(f, data, false); err != nil {
		return fail(err)
	}
	return nil
}

// A directOutput is data for a device or FIFO, written at commit.
type directOutput struct {
	target Target
	data   []byte
}

// Abort removes every staged file not yet committed; later Stage and
// Commit calls fail with ErrAborted. It waits for a Commit in progress, and
// then leaves its outputs alone. It reports whether the batch was
// committed.
func (b *Batch) Abort() (committed bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.finished = true
	if b.committed {
		return true
	}
	for _, t := range b.temps {
		os.Remove(t)
	}
	b.temps, b.paths, b.names, b.direct = nil, nil, nil, nil
	return false
}

// Commit runs record (the caller's transaction) and then renames the staged
// files into place, all under the batch's lock: a cancellation or an Abort
// lands before (nothing recorded, nothing written: Commit returns ctx's
// error or ErrAborted) or after (both done), never between. An error from
// record aborts the batch.
//
// The outputs are not fsynced one by one: like cosign, the batch leaves
// that to the file system (for a thousand small bundles an fsync per file
// took most of the run time); a rename replaces a file atomically.
//
// Devices and FIFOs are written last, after the lock is released: opening a
// FIFO blocks until it has a reader. If ctx is cancelled meanwhile, Commit
// returns a *PartialCommitError at once, leaving the blocked write behind
// (the caller is about to exit).
func (b *Batch) Commit(ctx context.Context, record func() error) error {
	direct, renamed, err := b.commitFiles(ctx, record)
	if err != nil {
		return err
	}
	total := renamed + len(direct)
	for i, d := range direct {
		if err := d.target.writeDirectCtx(ctx, d.data); err != nil {
			return &PartialCommitError{Written: renamed + i, Total: total, Err: err}
		}
	}
	return nil
}

func (b *Batch) commitFiles(ctx context.Context, record func() error) ([]directOutput, int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.finished {
		return nil, 0, ErrAborted
	}
	b.finished = true
	removeTemps := func() {
		for _, t := range b.temps {
			os.Remove(t)
		}
	}
	if err := ctx.Err(); err != nil {
		removeTemps()
		return nil, 0, context.Cause(ctx)
	}
	if err := record(); err != nil {
		removeTemps()
		return nil, 0, err
	}
	b.committed = true
	// Recorded: every output that can still be put in place is (a rename
	// can fail now only if the directory changed since the check, e.g.
	// another user's file appeared in a sticky directory), and the error
	// says how many were.
	var firstErr error
	written := 0
	for i := range b.temps {
		if err := os.Rename(b.temps[i], b.paths[i]); err != nil {
			os.Remove(b.temps[i])
			if firstErr == nil {
				firstErr = fmt.Errorf("writing %q: %w", b.names[i], UnwrapPath(err))
			}
			continue
		}
		written++
	}
	if firstErr != nil {
		return nil, 0, &PartialCommitError{Written: written, Total: len(b.temps) + len(b.direct), Err: firstErr}
	}
	return b.direct, written, nil
}

// writeDirectCtx is writeDirect, returning when ctx is cancelled even if
// the write is blocked (a FIFO without a reader).
func (t Target) writeDirectCtx(ctx context.Context, data []byte) error {
	if ctx.Done() == nil {
		return t.writeDirect(data)
	}
	done := make(chan error, 1)
	go func() { done <- t.writeDirect(data) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("writing %q: %w", t.name, context.Cause(ctx))
	}
}

// createTemp creates a new file beside path, mode 0644 (less the umask):
// the outputs are public (bundles, signatures).
func createTemp(path string) (*os.File, error) {
	dir, base := filepath.Split(path)
	for range 10 {
		var rnd [6]byte
		rand.Read(rnd[:])
		f, err := os.OpenFile(filepath.Join(dir, "."+base+".tmp"+hex.EncodeToString(rnd[:])), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		if !errors.Is(err, os.ErrExist) {
			return f, err
		}
	}
	return nil, errors.New("cannot create a temporary file")
}

// workDir is read once, and is the directory the process is really in
// (syscall.Getwd, not os.Getwd, which returns $PWD when it names the same
// directory through a symlink: "../x" must mean what the kernel makes of
// it, not the shell).
var workDir = sync.OnceValues(syscall.Getwd)

// Abs is name made absolute, as filepath.Abs does but against the kernel's
// working directory, or name when the working directory cannot be read.
func Abs(name string) string {
	if filepath.IsAbs(name) {
		return filepath.Clean(name)
	}
	wd, err := workDir()
	if err != nil {
		return name
	}
	return filepath.Join(wd, name)
}

// ReadFile reads the file name, failing when it is larger than limit
// bytes. Its errors do not repeat the path.
func ReadFile(name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, UnwrapPath(err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, UnwrapPath(err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return data, nil
}

// UnwrapPath drops the path an os error names (errors name the file as the
// user gave it, never a temporary file): *PathError, and *LinkError from a
// rename.
func UnwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}
