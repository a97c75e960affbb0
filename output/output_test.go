package output

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestOutputTargetEdges: found in review: a FIFO or device output swapped
// for a link to the key between the check and the write got the bundle
// written over the key; a socket or an unwritable FIFO failed only after
// the signature was recorded; a replaced file lost its setgid bit; a
// database path that is a link to a file not made yet did not count as
// the database.
func TestOutputTargetEdges(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "k.pem")
	if err := os.WriteFile(key, []byte("the key"), 0o600); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "out.fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	to, err := Resolve(fifo)
	if err != nil || !to.direct {
		t.Fatalf("Resolve(fifo) = %+v, %v", to, err)
	}
	if err := os.Remove(fifo); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(key, fifo); err != nil {
		t.Fatal(err)
	}
	if err := to.writeDirect([]byte("BUNDLE")); err == nil || !strings.Contains(err.Error(), "changed since it was checked") {
		t.Errorf("writeDirect after the FIFO became a link to the key: %v", err)
	}
	if b, _ := os.ReadFile(key); string(b) != "the key" {
		t.Errorf("the key now holds %q", b)
	}

	sock := filepath.Join(dir, "s.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := Resolve(sock); err == nil || !strings.Contains(err.Error(), "is a socket") {
		t.Errorf("Resolve(socket) = %v, want is a socket", err)
	}

	sg := filepath.Join(dir, "sg.json")
	if err := os.WriteFile(sg, []byte("old"), 0o664); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(sg, 0o664|os.ModeSetgid); err == nil {
		if st, _ := os.Stat(sg); st.Mode()&os.ModeSetgid != 0 {
			to, err := Resolve(sg)
			if err != nil {
				t.Fatal(err)
			}
			if err := Write(to, []byte("new")); err != nil {
				t.Fatal(err)
			}
			if st, _ := os.Stat(sg); st.Mode()&(os.ModePerm|os.ModeSetgid) != 0o664|os.ModeSetgid {
				t.Errorf("replaced file mode %v, want the old one's (setgid, 0664)", st.Mode())
			}
		}
	}

	link := filepath.Join(dir, "dblink")
	if err := os.Symlink("real.db", link); err != nil {
		t.Fatal(err)
	}
	oc := NewCheck("")
	oc.Input(link, "the database")
	if _, err := oc.Output(filepath.Join(dir, "real.db"), "--bundle"); err == nil || !strings.Contains(err.Error(), "is also the database") {
		t.Errorf("an output where a dangling database link leads: %v", err)
	}
}
