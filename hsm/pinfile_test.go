package hsm_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/airlock-project/airlock/hsm"
)

func TestReadPINFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, mode)
		return p
	}
	lf := write("lf.pin", "1234-lf\n", 0o600)
	crlf := write("crlf.pin", "1234-crlf\r\n", 0o400)
	bare := write("bare.pin", "1234 bare", 0o600)
	two := write("two.pin", "1234\n\n", 0o600)
	for _, tc := range []struct{ src, want string }{
		{lf, "1234-lf"},
		{crlf, "1234-crlf"},
		{bare, "1234 bare"},
		{two, "1234\n"}, // only one newline is trimmed
		{"file://" + lf, "1234-lf"},
		{"file:" + lf, "1234-lf"},
		{"file://localhost" + lf, "1234-lf"},
	} {
		got, err := hsm.ReadPINFile(tc.src)
		if err != nil || string(got) != tc.want {
			t.Errorf("ReadPINFile(%q) = %q, %v; want %q", tc.src, got, err, tc.want)
		}
	}
	secret := write("open.pin", "Open-PIN-5150\n", 0o644)
	big := write("big.pin", strings.Repeat("x", 2000), 0o600)
	empty := write("empty.pin", "\n", 0o600)
	// A FIFO is refused, not waited on (found in review: opening it blocked
	// until something wrote to it).
	fifo := filepath.Join(dir, "pin.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		src, want string
		is        error
	}{
		{fifo, "is not a regular file", hsm.ErrPINFile},
		{secret, "is readable or writable by others (mode 0644)", hsm.ErrPINFileMode},
		{big, "is larger than 1024 bytes", hsm.ErrPINFile},
		{empty, "is empty", hsm.ErrPINFile},
		{dir, "is not a regular file", hsm.ErrPINFile},
		{filepath.Join(dir, "missing.pin"), "no such file", fs.ErrNotExist},
		{"|cat /etc/pin", "is not a file", hsm.ErrPINFile},
		{"https://example.com/pin", "is not a file", hsm.ErrPINFile},
		{"file://otherhost/pin", "is not a local file", hsm.ErrPINFile},
	} {
		_, err := hsm.ReadPINFile(tc.src)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, tc.is) || !errors.Is(err, hsm.ErrPINFile) {
			t.Errorf("ReadPINFile(%q) = %v, want %v containing %q", tc.src, err, tc.is, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "Open-PIN-5150") {
			t.Errorf("error %q contains the PIN", err)
		}
	}
	if _, err := hsm.ReadPINFile(big); errors.Is(err, hsm.ErrPINFileMode) {
		t.Errorf("ReadPINFile(too big) = %v, is ErrPINFileMode", err)
	}
}

// TestReadPINFileErrorQuotesPath: defect pin_source_error_unquoted: a
// pin-source that could not be opened was reported as
// "opening pin-source: open /path: no such file or directory", the path
// unquoted and said twice over, against the %q rule for user input.
func TestReadPINFileErrorQuotesPath(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no such.pin")
	_, err := hsm.ReadPINFile(missing)
	if err == nil {
		t.Fatal("ReadPINFile of a missing file succeeded")
	}
	if got, want := err.Error(), fmt.Sprintf("opening pin-source %q: no such file or directory", missing); got != want {
		t.Errorf("error %q, want %q", got, want)
	}
}
