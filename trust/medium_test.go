package trust_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/airlock-project/airlock/trust"
)

// TestDirMediumStaysInside: symlinks and names that leave the directory,
// FIFOs and directories are never read.
func TestDirMediumStaysInside(t *testing.T) {
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret.json"), []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "timestamp.json"), []byte("{}"), 0o644)
	os.Symlink(filepath.Join(outside, "secret.json"), filepath.Join(dir, "1.root.json"))
	os.Symlink("../"+filepath.Base(outside)+"/secret.json", filepath.Join(dir, "2.root.json"))
	os.Mkdir(filepath.Join(dir, "3.root.json"), 0o755)
	if err := syscall.Mkfifo(filepath.Join(dir, "4.root.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := trust.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer trust.CloseMedium(m)
	if b, err := m.Read(context.Background(), "timestamp.json", 10); err != nil || string(b) != "{}" {
		t.Fatalf("timestamp.json: %q, %v", b, err)
	}
	if _, err := m.Read(context.Background(), "timestamp.json", 1); !errors.Is(err, trust.ErrTooLarge) {
		t.Errorf("over the limit: %v", err)
	}
	for _, name := range []string{"1.root.json", "2.root.json", "3.root.json", "4.root.json", "../secret.json", "/etc/passwd", "nope.json"} {
		b, err := m.Read(context.Background(), name, 1<<20)
		if err == nil {
			t.Errorf("read %q: %q", name, b)
		}
		t.Logf("%s: %v", name, err)
	}
	if _, err := m.Read(context.Background(), "nope.json", 10); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
}

// TestMissingFileOnMediumIsNamed: a file the medium lacks is named as
// such (ErrNotOnMedium, and fs.ErrNotExist for the root walk), for a
// directory and a tar alike. The defect: a directory said "statat
// timestamp.json: no such file or directory", the system call's words.
func TestMissingFileOnMediumIsNamed(t *testing.T) {
	dir := t.TempDir()
	dm, err := trust.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer trust.CloseMedium(dm)
	tarFile := filepath.Join(t.TempDir(), "empty.tar")
	if err := os.WriteFile(tarFile, make([]byte, 1024), 0o644); err != nil { // two zero blocks: an empty tar
		t.Fatal(err)
	}
	tm, err := trust.OpenTar(tarFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []trust.Medium{dm, tm} {
		_, err := m.Read(context.Background(), "timestamp.json", 1<<10)
		if !errors.Is(err, trust.ErrNotOnMedium) || !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: %v, want ErrNotOnMedium and fs.ErrNotExist", m, err)
			continue
		}
		if got, want := err.Error(), `"timestamp.json" is not on the medium`; got != want {
			t.Errorf("%s: error %q, want %q", m, got, want)
		}
	}
}

// TestTarOversizedIsRejected: an oversized file in a tar medium is refused
// like one in a directory or over HTTP (ErrRejected, exit 1). The defect:
// the tar said ErrTooLarge alone, so the same oversized timestamp.json was
// exit 1 from a directory and exit 2 from a tar.
func TestTarOversizedIsRejected(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	big := int64(max(trust.MaxTargetsSize, trust.MaxTargetSize) + 1)
	if err := tw.WriteHeader(&tar.Header{Name: "timestamp.json", Mode: 0o644, Size: big, Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(tw, zeros{}, big); err != nil {
		t.Fatal(err)
	}
	tw.Close()
	file := filepath.Join(t.TempDir(), "big.tar")
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := trust.OpenTar(file)
	if !errors.Is(err, trust.ErrTooLarge) || !errors.Is(err, trust.ErrRejected) {
		t.Fatalf("oversized tar entry: %v, want ErrTooLarge and ErrRejected", err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestTarTwoRepositoriesIsRefused: a tar with the repository in one top
// directory is read from inside it; the defect was that with two such
// directories (a/timestamp.json, b/timestamp.json) one was picked in map
// order, so the same medium could import either. It is refused, naming both.
func TestTarTwoRepositoriesIsRefused(t *testing.T) {
	tarOf := func(names ...string) []byte {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for _, n := range names {
			data := []byte(n)
			if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
				t.Fatal(err)
			}
			tw.Write(data)
		}
		tw.Close()
		return buf.Bytes()
	}
	for i := 0; i < 20; i++ {
		_, err := trust.ReadTar(bytes.NewReader(tarOf("a/timestamp.json", "b/timestamp.json", "a/1.root.json")))
		if err == nil || !strings.Contains(err.Error(), "more than one repository (a/, b/)") {
			t.Fatalf("two repositories in one tar: %v", err)
		}
	}
	m, err := trust.ReadTar(bytes.NewReader(tarOf("repo/timestamp.json", "repo/2.root.json")))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := m.Read(context.Background(), "timestamp.json", 100); err != nil || string(got) != "repo/timestamp.json" {
		t.Errorf("one top directory: %q, %v", got, err)
	}
}

// TestDirMediumErrorsInMediumTerms: the defect was that a symlink leaving a
// directory medium was reported as "statat 1.root.json: path escapes from
// parent", in the system call's words. The file is named as the medium
// calls it.
func TestDirMediumErrorsInMediumTerms(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "timestamp.json")); err != nil {
		t.Fatal(err)
	}
	m, err := trust.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer trust.CloseMedium(m)
	_, err = m.Read(context.Background(), "timestamp.json", 1<<10)
	if err == nil {
		t.Fatal("read a symlink leaving the medium")
	}
	if got := err.Error(); strings.Contains(got, "statat") || !strings.HasPrefix(got, `"timestamp.json" on the medium: `) {
		t.Errorf("error %q, want it to start with %q and not name the system call", got, `"timestamp.json" on the medium: `)
	}
}

// TestTarLinkIsNamed: the defect was that a tar whose timestamp.json is a
// symlink or hardlink said "timestamp.json" is not on the medium, because
// link entries were dropped unseen. The entry is named as a link that is
// not followed, as a directory medium names what is not a regular file.
func TestTarLinkIsNamed(t *testing.T) {
	for _, tc := range []struct {
		typ  byte
		want string
	}{
		{tar.TypeSymlink, `"timestamp.json" on the medium is a symbolic link to "real.json": links are not followed on a medium`},
		{tar.TypeLink, `"timestamp.json" on the medium is a hard link to "real.json": links are not followed on a medium`},
		{tar.TypeFifo, `"timestamp.json" on the medium is a FIFO, not a regular file`},
	} {
		for _, top := range []string{"", "repo/"} {
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			tw.WriteHeader(&tar.Header{Name: top + "real.json", Mode: 0o644, Size: 2, Typeflag: tar.TypeReg})
			tw.Write([]byte("{}"))
			if err := tw.WriteHeader(&tar.Header{Name: top + "timestamp.json", Linkname: "real.json", Mode: 0o644, Typeflag: tc.typ}); err != nil {
				t.Fatal(err)
			}
			tw.Close()
			m, err := trust.ReadTar(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			_, err = m.Read(context.Background(), "timestamp.json", 1<<10)
			if err == nil || err.Error() != tc.want {
				t.Errorf("%s with %q: %v, want %s", top+"timestamp.json", tc.typ, err, tc.want)
			}
			if errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a link entry reads as missing: %v", err)
			}
		}
	}
}
