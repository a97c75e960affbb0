package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// TestSignOutputsNotRegularFiles: defect found in review: outputs were
// written to a temporary file and renamed over the path given, so a
// symlink, a FIFO, or (as root) /dev/stdout and /dev/null were replaced by
// regular files while airlock reported success. A symlink's target is now
// replaced, devices and FIFOs are written through, a replaced file keeps
// its mode, and an output that cannot be written fails before signing.
func TestSignOutputsNotRegularFiles(t *testing.T) {
	bin, dir := keyFileDir(t)
	write := func(name, content string, mode os.FileMode) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(dir, name), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("hello.tgz", "hello", 0o644)
	run := func(stdout io.Writer, args ...string) (string, int) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "AIRLOCK_DB="+filepath.Join(dir, "airlock.db"))
		cmd.Stdout = stdout
		var stderr strings.Builder
		cmd.Stderr = &stderr
		cmd.Run()
		return stderr.String(), cmd.ProcessState.ExitCode()
	}
	sign := []string{"sign-blob", "--key", "k.key", "--tlog", "none"}

	// A symlink: the file it points to is replaced, the link stays.
	write("real.json", "old", 0o600)
	if err := os.Symlink("real.json", filepath.Join(dir, "link.json")); err != nil {
		t.Fatal(err)
	}
	if stderr, code := run(nil, append(sign, "--bundle", "link.json", "hello.tgz")...); code != 0 {
		t.Fatalf("--bundle link.json: exit %d: %s", code, stderr)
	}
	if st, err := os.Lstat(filepath.Join(dir, "link.json")); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("link.json is no longer a symlink: %v %v", st.Mode(), err)
	}
	st, err := os.Stat(filepath.Join(dir, "real.json"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("real.json mode %v after replacement, want the old file's 0600", st.Mode().Perm())
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "real.json")); !strings.Contains(string(b), "verificationMaterial") {
		t.Errorf("real.json does not hold the bundle: %q", b)
	}

	// A FIFO is written through: its reader gets the signature.
	fifo := filepath.Join(dir, "sig.fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		f, err := os.Open(fifo)
		if err != nil {
			got <- "open: " + err.Error()
			return
		}
		defer f.Close()
		b, _ := io.ReadAll(f)
		got <- string(b)
	}()
	if stderr, code := run(nil, append(sign, "--output-signature", "sig.fifo", "hello.tgz")...); code != 0 {
		t.Fatalf("--output-signature sig.fifo: exit %d: %s", code, stderr)
	}
	if sig := <-got; len(sig) < 60 || strings.ContainsAny(sig, "\n {") {
		t.Errorf("the FIFO's reader got %q, want a base64 signature", sig)
	}
	if st, err := os.Lstat(fifo); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("sig.fifo is no longer a FIFO: %v", err)
	}

	// /dev/stdout, here a pipe: written through to the pipe.
	var out strings.Builder
	if stderr, code := run(&out, append(sign, "--output-signature", "/dev/stdout", "hello.tgz")...); code != 0 {
		t.Fatalf("--output-signature /dev/stdout: exit %d: %s", code, stderr)
	}
	if len(out.String()) < 60 {
		t.Errorf("--output-signature /dev/stdout printed %q", out.String())
	}

	// /dev/stdout redirected to a regular file (`> log.txt`): written to
	// the descriptor, after what the file already holds (defect found in
	// review: the log file was replaced by the signature alone).
	logf, err := os.Create(filepath.Join(dir, "log.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	logf.WriteString("before\n")
	if stderr, code := run(logf, append(sign, "--output-signature", "/dev/stdout", "hello.tgz")...); code != 0 {
		t.Fatalf("--output-signature /dev/stdout > log.txt: exit %d: %s", code, stderr)
	}
	logf.WriteString("\nafter\n")
	if b, _ := os.ReadFile(filepath.Join(dir, "log.txt")); !regexp.MustCompile(`^before\n[A-Za-z0-9+/=]{60,}\nafter\n$`).Match(b) {
		t.Errorf("log.txt after --output-signature /dev/stdout: %q, want before, the signature, after", b)
	}

	// Outputs that cannot be written fail before signing, and say why in
	// the user's terms (no temporary file name).
	for _, c := range []struct{ out, want string }{
		{"nodir/x.json", `airlock: error: writing "nodir/x.json": directory "nodir" does not exist`},
		{"dangling.json", `airlock: error: writing "dangling.json": is a symlink to "gone.json", which does not exist`},
	} {
		if c.out == "dangling.json" {
			if err := os.Symlink("gone.json", filepath.Join(dir, c.out)); err != nil {
				t.Fatal(err)
			}
		}
		stderr, code := run(nil, append(sign, "--bundle", c.out, "hello.tgz")...)
		if code != 2 || !strings.HasPrefix(stderr, c.want) {
			t.Errorf("--bundle %s: exit %d, stderr %q; want exit 2 and %q", c.out, code, stderr, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "gone.json")); err == nil {
		t.Errorf("a dangling symlink's target was created")
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}
