package trust

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// A Medium is where TUF metadata and targets are read from: a directory or a
// tar file carried across the air gap, or (on a connected machine) a
// repository over HTTPS. Names are slash-separated and relative to the
// repository's top ("timestamp.json", "15.root.json", "targets/<hash>.x").
//
// Read returns at most limit bytes; a file longer than limit is an
// ErrTooLarge error, a missing one wraps fs.ErrNotExist. Nothing on a medium
// can name a file outside it.
type Medium interface {
	// Read returns the file name. ctx cancels a read that waits on a
	// network; a local medium may ignore it.
	Read(ctx context.Context, name string, limit int64) ([]byte, error)
	// String names the medium for messages and the audit trail.
	String() string
}

// ErrTooLarge is returned when a file on a medium exceeds its size limit.
var ErrTooLarge = errors.New("file is larger than allowed")

// ErrNotOnMedium is wrapped (with fs.ErrNotExist) by Read for a file the
// medium does not have.
var ErrNotOnMedium = errors.New("not on the medium")

// notOnMedium names the missing file in the user's terms, never in the
// system call's ("statat x: no such file or directory").
type notOnMedium struct{ name string }

func (e *notOnMedium) Error() string   { return fmt.Sprintf("%q is not on the medium", e.name) }
func (e *notOnMedium) Unwrap() []error { return []error{ErrNotOnMedium, fs.ErrNotExist} }

// readBounded reads r up to limit bytes and fails if there is more.
func readBounded(r io.Reader, name string, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", name, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: %q is over %d bytes", ErrTooLarge, name, limit)
	}
	return data, nil
}

func checkName(name string) error {
	if !fs.ValidPath(name) || name == "." {
		return fmt.Errorf("invalid file name %q on medium", name)
	}
	return nil
}

// dirMedium reads a directory through os.Root: symlinks and ".." cannot
// leave it.
type dirMedium struct {
	root *os.Root
	dir  string
}

// OpenDir opens a directory medium. Close it with CloseMedium.
func OpenDir(dir string) (Medium, error) {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("opening medium %q: %w", dir, err)
	}
	return &dirMedium{root: r, dir: dir}, nil
}

func (m *dirMedium) String() string { return "dir " + m.dir }

func (m *dirMedium) Read(_ context.Context, name string, limit int64) ([]byte, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	// Stat first: opening a FIFO or device on a hostile medium could block
	// or never end.
	if st, err := m.root.Stat(filepath.FromSlash(name)); errors.Is(err, fs.ErrNotExist) {
		return nil, &notOnMedium{name}
	} else if err != nil {
		return nil, mediumErr(name, err)
	} else if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%q on medium is not a regular file", name)
	}
	f, err := m.root.Open(filepath.FromSlash(name))
	if err != nil {
		return nil, mediumErr(name, err)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return nil, err
	} else if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%q on medium is not a regular file", name)
	}
	return readBounded(f, name, limit)
}

func (m *dirMedium) Close() error { return m.root.Close() }

// mediumErr words an error from os.Root in the medium's terms: the file
// name as the medium calls it, without the system call ("statat x: path
// escapes from parent" becomes "x" on the medium: path escapes from parent).
func mediumErr(name string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%q on the medium: %w", name, pe.Err)
	}
	return err
}

// tarMedium holds the regular files of a tar (optionally gzip-compressed)
// in memory, by cleaned name. The tar is never extracted to disk. Other
// entries (links, devices, FIFOs) are kept only as what they are, so that
// reading one says so rather than that the file is missing.
type tarMedium struct {
	name    string
	files   map[string][]byte
	special map[string]string // name -> what the entry is ("is a FIFO, not a regular file")
}

// OpenTar reads a tar or tar.gz medium, bounded by MaxTarSize and
// MaxTarEntries. If the repository sits in one top directory of the tar
// (repo/timestamp.json), names are taken relative to it.
func OpenTar(file string) (Medium, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("opening medium %q: %w", file, err)
	}
	defer f.Close()
	m, err := ReadTar(f)
	if errors.Is(err, ErrTooLarge) {
		// Refused as an oversized file is from a directory or over HTTP.
		return nil, fmt.Errorf("%w: oversized: reading tar medium %q: %w", ErrRejected, file, err)
	}
	if err != nil {
		return nil, fmt.Errorf("reading tar medium %q: %w", file, err)
	}
	m.(*tarMedium).name = file
	return m, nil
}

// ReadTar reads a tar medium from r (see OpenTar).
func ReadTar(r io.Reader) (Medium, error) {
	br := bufio.NewReader(r)
	var src io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		src = zr
	}
	// The whole tar stream, headers included, is bounded.
	lr := &io.LimitedReader{R: src, N: MaxTarSize + 1}
	tr := tar.NewReader(lr)
	files := map[string][]byte{}
	special := map[string]string{}
	for n := 0; ; n++ {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if lr.N <= 0 {
				return nil, fmt.Errorf("%w: tar is over %d bytes", ErrTooLarge, MaxTarSize)
			}
			return nil, err
		}
		if n >= MaxTarEntries {
			return nil, fmt.Errorf("%w: more than %d entries", ErrTooLarge, MaxTarEntries)
		}
		if h.Typeflag == tar.TypeDir || h.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		name := path.Clean(strings.TrimPrefix(h.Name, "./"))
		if !fs.ValidPath(name) || name == "." {
			return nil, fmt.Errorf("tar entry %q leaves the medium", h.Name)
		}
		_, dupFile := files[name]
		_, dupSpecial := special[name]
		if dupFile || dupSpecial {
			return nil, fmt.Errorf("tar entry %q appears twice", name)
		}
		if h.Typeflag != tar.TypeReg {
			// Links, devices, FIFOs: never followed, never read.
			special[name] = tarEntryKind(h)
			continue
		}
		if h.Size > MaxTargetsSize && h.Size > MaxTargetSize {
			return nil, fmt.Errorf("%w: tar entry %q is %d bytes", ErrTooLarge, name, h.Size)
		}
		data, err := readBounded(tr, name, max(MaxTargetsSize, MaxTargetSize))
		if err != nil {
			if lr.N <= 0 {
				return nil, fmt.Errorf("%w: tar is over %d bytes", ErrTooLarge, MaxTarSize)
			}
			return nil, err
		}
		files[name] = data
		if lr.N <= 0 {
			return nil, fmt.Errorf("%w: tar is over %d bytes", ErrTooLarge, MaxTarSize)
		}
	}
	if lr.N <= 0 {
		return nil, fmt.Errorf("%w: tar is over %d bytes", ErrTooLarge, MaxTarSize)
	}
	// A repository packed as one top directory: strip it.
	_, hasTs := files["timestamp.json"]
	_, hasTsSpecial := special["timestamp.json"]
	if !hasTs && !hasTsSpecial {
		var tops []string
		for _, name := range slices.Concat(slices.Collect(maps.Keys(files)), slices.Collect(maps.Keys(special))) {
			if dir, base := path.Split(name); base == "timestamp.json" && strings.Count(dir, "/") == 1 {
				tops = append(tops, dir)
			}
		}
		if len(tops) > 1 {
			// Picking one would depend on map order: refuse to guess.
			sort.Strings(tops)
			return nil, fmt.Errorf("tar holds more than one repository (%s): carry one per tar", strings.Join(tops, ", "))
		}
		if len(tops) == 1 {
			top := tops[0]
			stripped := map[string][]byte{}
			for name, data := range files {
				if rest, ok := strings.CutPrefix(name, top); ok {
					stripped[rest] = data
				}
			}
			files = stripped
			strippedSpecial := map[string]string{}
			for name, kind := range special {
				if rest, ok := strings.CutPrefix(name, top); ok {
					strippedSpecial[rest] = kind
				}
			}
			special = strippedSpecial
		}
	}
	return &tarMedium{name: "tar", files: files, special: special}, nil
}

// tarEntryKind says what a tar entry that is not a regular file is, as
// the end of a sentence naming it.
func tarEntryKind(h *tar.Header) string {
	switch h.Typeflag {
	case tar.TypeSymlink:
		return fmt.Sprintf("is a symbolic link to %q: links are not followed on a medium", h.Linkname)
	case tar.TypeLink:
		return fmt.Sprintf("is a hard link to %q: links are not followed on a medium", h.Linkname)
	case tar.TypeChar, tar.TypeBlock:
		return "is a device, not a regular file"
	case tar.TypeFifo:
		return "is a FIFO, not a regular file"
	}
	return fmt.Sprintf("is a tar entry of type %q, not a regular file", h.Typeflag)
}

func (m *tarMedium) String() string { return "tar " + m.name }

func (m *tarMedium) Read(_ context.Context, name string, limit int64) ([]byte, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	data, ok := m.files[name]
	if kind, special := m.special[name]; special {
		return nil, fmt.Errorf("%q on the medium %s", name, kind)
	}
	if !ok {
		return nil, &notOnMedium{name}
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: %q is over %d bytes", ErrTooLarge, name, limit)
	}
	return bytes.Clone(data), nil
}

// OpenMedium opens from as a directory, a tar file (.tar, .tar.gz, .tgz or
// any regular file), or, for http:// and https:// URLs, a remote repository.
func OpenMedium(from string) (Medium, error) {
	if strings.HasPrefix(from, "https://") || strings.HasPrefix(from, "http://") {
		return OpenHTTP(from)
	}
	st, err := os.Stat(from)
	if err != nil {
		return nil, fmt.Errorf("opening medium %q: %w", from, err)
	}
	if st.IsDir() {
		return OpenDir(from)
	}
	return OpenTar(from)
}

// CloseMedium releases what m holds open, if anything.
func CloseMedium(m Medium) error {
	if c, ok := m.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
