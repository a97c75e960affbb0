package trust_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
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
	if b, err := m.Read("timestamp.json", 10); err != nil || string(b) != "{}" {
		t.Fatalf("timestamp.json: %q, %v", b, err)
	}
	if _, err := m.Read("timestamp.json", 1); !errors.Is(err, trust.ErrTooLarge) {
		t.Errorf("over the limit: %v", err)
	}
	for _, name := range []string{"1.root.json", "2.root.json", "3.root.json", "4.root.json", "../secret.json", "/etc/passwd", "nope.json"} {
		b, err := m.Read(name, 1<<20)
		if err == nil {
			t.Errorf("read %q: %q", name, b)
		}
		t.Logf("%s: %v", name, err)
	}
	if _, err := m.Read("nope.json", 10); !errors.Is(err, fs.ErrNotExist) {
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
		_, err := m.Read("timestamp.json", 1<<10)
		if !errors.Is(err, trust.ErrNotOnMedium) || !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: %v, want ErrNotOnMedium and fs.ErrNotExist", m, err)
			continue
		}
		if got, want := err.Error(), `"timestamp.json" is not on the medium`; got != want {
			t.Errorf("%s: error %q, want %q", m, got, want)
		}
	}
}
