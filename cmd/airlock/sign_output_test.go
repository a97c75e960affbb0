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
	"time"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
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
		if err := cmd.Run(); cmd.ProcessState == nil {
			t.Fatalf("airlock %v did not run: %v", args, err)
		}
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

	// A symlink to /dev/stdout while stdout is redirected to a file: still
	// the descriptor, found by the file's identity rather than its name.
	if err := os.Symlink("/dev/stdout", filepath.Join(dir, "so")); err != nil {
		t.Fatal(err)
	}
	logf.Seek(0, io.SeekEnd)
	if stderr, code := run(logf, append(sign, "--output-signature", "so", "hello.tgz")...); code != 0 {
		t.Fatalf("--output-signature so (-> /dev/stdout) >> log.txt: exit %d: %s", code, stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "log.txt")); !regexp.MustCompile(`^before\n[A-Za-z0-9+/=]{60,}\nafter\n[A-Za-z0-9+/=]{60,}$`).Match(b) {
		t.Errorf("log.txt after --output-signature so: %q, want its old text and a second signature", b)
	}

	// Refused before anything is signed or recorded: a descriptor airlock
	// was not given (here the runtime's own, close-on-exec, or none),
	// standard input, one file named by two outputs, and stdout for an
	// output while --output json prints there (found in review: fd 6, Go's
	// poller, was written and closed; two documents were mixed on stdout).
	audit := func() int {
		b, _ := exec.Command(bin, "--db", filepath.Join(dir, "airlock.db"), "audit", "list").Output()
		return strings.Count(string(b), "\n")
	}
	if err := os.Symlink(".", filepath.Join(dir, "lnkdir")); err != nil {
		t.Fatal(err)
	}
	write("ro.sig", "read-only", 0o444)
	before := audit()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--bundle", "/dev/fd/6"}, `airlock: error: writing "/dev/fd/6": descriptor 6 was not given to airlock for writing`},
		{[]string{"--bundle", "/dev/fd/97"}, `airlock: error: writing "/dev/fd/97": descriptor 97 was not given to airlock for writing`},
		{[]string{"--bundle", "/dev/stdin"}, `airlock: error: writing "/dev/stdin": is standard input`},
		{[]string{"--bundle", "real.json", "--output-signature", "link.json"}, `airlock: error: --output-signature "link.json" is also --bundle "real.json"`},
		{[]string{"--bundle", "real.json", "--output-signature", "lnkdir/real.json"}, `airlock: error: --output-signature "lnkdir/real.json" is also --bundle "real.json"`},
		{[]string{"--bundle", "new.json", "--output-signature", "lnkdir/new.json"}, `airlock: error: --output-signature "lnkdir/new.json" is also --bundle "new.json"`},
		{[]string{"--bundle", "k.key"}, `airlock: error: --bundle "k.key" is also --key "k.key"`},
		{[]string{"--bundle", "airlock.db"}, `airlock: error: --bundle "airlock.db" is also the database`},
		{[]string{"--bundle", "/dev/fd/3"}, `airlock: error: writing "/dev/fd/3": descriptor 3 was not given to airlock for writing`},
		// ".." after a missing directory names nothing (found in review:
		// cleaned as text, it named the key, which was overwritten).
		{[]string{"--bundle", "nosuchdir/../k.key"}, `airlock: error: writing "nosuchdir/../k.key": directory "nosuchdir/.." does not exist`},
		{[]string{"--bundle", "lnkdir/nosuchdir/../k.key"}, `airlock: error: writing "lnkdir/nosuchdir/../k.key": directory "lnkdir/nosuchdir/.." does not exist`},
		{[]string{"--bundle", "ro.sig"}, `airlock: error: writing "ro.sig": the file is read-only`},
		{[]string{"--bundle", strings.Repeat("x", 240)}, `airlock: error: writing "` + strings.Repeat("x", 240) + `": file name too long`},
		{[]string{"--bundle", "/dev/stdout", "--output", "json"}, `airlock: error: --bundle "/dev/stdout" is standard output, where --output json already prints`},
	} {
		var out strings.Builder // a pipe
		stderr, code := run(&out, append(append(sign, c.args...), "hello.tgz")...)
		if code != 2 || !strings.HasPrefix(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", c.args, code, stderr, c.want)
		}
	}
	// Standard output redirected to a file: two outputs through it are one
	// file. A descriptor open for reading only is not an output.
	if stderr, code := run(logf, append(sign, "--bundle", "/dev/stdout", "--output-signature", "/proc/self/fd/1", "hello.tgz")...); code != 2 ||
		!strings.HasPrefix(stderr, `airlock: error: --output-signature "/proc/self/fd/1" is also --bundle "/dev/stdout"`) {
		t.Errorf("two outputs to stdout redirected to a file: exit %d, stderr %q", code, stderr)
	}
	ro, err := os.Open(filepath.Join(dir, "hello.tgz"))
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	cmd := exec.Command(bin, append(sign, "--bundle", "/dev/fd/3", "hello.tgz")...)
	cmd.Dir, cmd.Env, cmd.ExtraFiles = dir, append(os.Environ(), "AIRLOCK_DB="+filepath.Join(dir, "airlock.db")), []*os.File{ro}
	if out, _ := cmd.CombinedOutput(); cmd.ProcessState.ExitCode() != 2 ||
		!strings.HasPrefix(string(out), `airlock: error: writing "/dev/fd/3": descriptor 3 was not given to airlock for writing`) {
		t.Errorf("--bundle /dev/fd/3 3<hello.tgz: exit %d, %q", cmd.ProcessState.ExitCode(), out)
	}
	// A descriptor that is a copy of standard output (3>&1) while
	// --output json prints there: refused like /dev/stdout.
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command(bin, append(sign, "--output", "json", "--bundle", "/dev/fd/3", "hello.tgz")...)
	var errOut strings.Builder
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr, cmd.ExtraFiles = dir, append(os.Environ(), "AIRLOCK_DB="+filepath.Join(dir, "airlock.db")), pw, &errOut, []*os.File{pw}
	err = cmd.Run()
	pw.Close()
	io.Copy(io.Discard, pr)
	pr.Close()
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 2 ||
		!strings.HasPrefix(errOut.String(), `airlock: error: --bundle "/dev/fd/3" is standard output, where --output json already prints`) {
		t.Errorf("--output json --bundle /dev/fd/3 3>&1: %v, stderr %q", err, errOut.String())
	}
	if after := audit(); after != before {
		t.Errorf("refused calls added %d audit records", after-before)
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

// TestSignFIFOWithoutReaderInterruptible: defect found in review: a FIFO
// output without a reader was opened while the commit held the lock the
// interrupt handler waits for, so SIGTERM (and Ctrl-C) could not end
// airlock. The FIFO is now opened after the lock is released.
func TestSignFIFOWithoutReaderInterruptible(t *testing.T) {
	bin, dir := keyFileDir(t)
	if err := os.WriteFile(filepath.Join(dir, "hello.tgz"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "b.fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "sign-blob", "--key", "k.key", "--tlog", "none", "--bundle", "b.fifo", "hello.tgz")
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	cmd.Env = append(os.Environ(), "AIRLOCK_DB="+filepath.Join(dir, "airlock.db"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// Wait until airlock blocks opening the FIFO: its audit record is
	// committed just before.
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, _ := exec.Command(bin, "--db", filepath.Join(dir, "airlock.db"), "audit", "list").Output()
		if strings.Contains(string(out), "sign") {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("airlock did not reach the FIFO in 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("airlock blocked on a FIFO without a reader did not end on SIGTERM within 10 s")
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		t.Errorf("airlock ended with %v, want to be ended by SIGTERM", cmd.ProcessState)
	}
	// The signature is recorded; the one output (the FIFO) was not written.
	if got, want := stderr.String(), "airlock: interrupted: the signatures were recorded in the audit trail, and 0 of 1 outputs written\n"; got != want {
		t.Errorf("stderr = %q, want %q", got, want)
	}
}

// TestSignRelativeToSymlinkedWorkDir: found in review: with the working
// directory reached through a symlink, "../out.json" was resolved the
// shell's way ($PWD, through the link) rather than the kernel's, so the
// bundle went to another directory than the one the user was in.
func TestSignRelativeToSymlinkedWorkDir(t *testing.T) {
	bin, dir := keyFileDir(t)
	deep := filepath.Join(dir, "real", "deep")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join("real", "deep"), filepath.Join(dir, "lnk")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(deep, "f.txt"), []byte("f"), 0o644); err != nil {
		t.Fatal(err)
	}
	wd := filepath.Join(dir, "lnk")
	cmd := exec.Command(bin, "sign-blob", "--key", filepath.Join(dir, "k.key"), "--tlog", "none", "--bundle", "../out.json", "f.txt")
	cmd.Dir = wd
	cmd.Env = append(os.Environ(), "PWD="+wd, "AIRLOCK_DB="+filepath.Join(dir, "airlock.db"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sign-blob --bundle ../out.json from %s: %v\n%s", wd, err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "real", "out.json")); err != nil {
		t.Errorf("../out.json from lnk (-> real/deep) is not real/out.json: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "out.json")); err == nil {
		t.Errorf("../out.json was resolved through $PWD: written beside lnk")
	}
}

// TestFlagLikeFileNames: found in review: in "verify-blob --key k.pub
// *.tgz", a file named "--key=evil.pub.tgz" that the glob expanded was moved
// in front of the FILEs as a flag and, urfave/cli keeping the last value,
// replaced the user's --key: an attacker's artifact verified, exit 0. A
// file whose name looks like a flag is a FILE, and a flag given twice is a
// usage error.
func TestFlagLikeFileNames(t *testing.T) {
	bin, dir := keyFileDir(t)
	run := func(args ...string) (string, int) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "AIRLOCK_DB="+filepath.Join(dir, "airlock.db"))
		out, err := cmd.CombinedOutput()
		if cmd.ProcessState == nil {
			t.Fatalf("airlock %v did not run: %v", args, err)
		}
		return string(out), cmd.ProcessState.ExitCode()
	}
	// The attacker's key signs the attacker's app.tgz; the user's key is
	// another. (Keys made here: openssl is not among what make test
	// installs.)
	for _, k := range []string{"evil", "user"} {
		key, err := generateKey("ecdsa-p256")
		if err != nil {
			t.Fatal(err)
		}
		priv, err := cryptoutils.MarshalPrivateKeyToPEM(key)
		if err != nil {
			t.Fatal(err)
		}
		pub, err := cryptoutils.MarshalPublicKeyToPEM(key.Public())
		if err != nil {
			t.Fatal(err)
		}
		pubName := k + ".pub"
		if k == "evil" {
			pubName = "evil.pub.tgz"
		}
		if err := os.WriteFile(filepath.Join(dir, k+".key"), priv, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, pubName), pub, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range map[string]string{"app.tgz": "attacker's app", "--key=evil.pub.tgz": ""} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if out, code := run("sign-blob", "--key", "evil.key", "--tlog", "none", "--bundle", "app.tgz.sigstore.json", "app.tgz"); code != 0 {
		t.Fatal(out)
	}
	if out, code := run("sign-blob", "--key", "evil.key", "--tlog", "none", "--bundle", "evil.pub.tgz.sigstore.json", "evil.pub.tgz"); code != 0 {
		t.Fatal(out)
	}
	// As the shell expands "*.tgz" (sorted): the flag-like name first. It
	// is refused as ambiguous, before anything is read.
	out, code := run("verify-blob", "--key", "user.pub", "--insecure-ignore-tlog", "--key=evil.pub.tgz", "app.tgz", "evil.pub.tgz")
	if code != 2 || !strings.Contains(out, `airlock: error: "--key=evil.pub.tgz" is both a flag and an existing file`) || strings.Contains(out, "OK") {
		t.Errorf("a file named --key=evil.pub.tgz: exit %d\n%s", code, out)
	}
	// A planted file named like the user's own flag does not cancel it
	// (found in review: read as a FILE, "--max-trust-age=30d" stopped
	// limiting the trust age): refused the same way.
	if err := os.WriteFile(filepath.Join(dir, "--max-trust-age=30d"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code = run("verify-blob", "--key", "user.pub", "--insecure-ignore-tlog", "--max-trust-age=30d", "app.tgz")
	if code != 2 || !strings.Contains(out, `"--max-trust-age=30d" is both a flag and an existing file`) {
		t.Errorf("a planted --max-trust-age=30d file: exit %d\n%s", code, out)
	}
	// "--" says what is meant: after it, the flag-like name is a FILE.
	out, _ = run("verify-blob", "--key", "user.pub", "--insecure-ignore-tlog", "--", "--key=evil.pub.tgz", "app.tgz")
	if !strings.Contains(out, "REJECTED app.tgz") || strings.Contains(out, "OK app.tgz") {
		t.Errorf("after --: want app.tgz checked against the user's key and rejected:\n%s", out)
	}
	// A flag given twice is refused, whatever its source.
	out, code = run("verify-blob", "--key", "user.pub", "--key", "evil.pub.tgz", "--insecure-ignore-tlog", "app.tgz")
	if code != 2 || !strings.Contains(out, "airlock: error: --key is given twice") {
		t.Errorf("--key twice: exit %d\n%s", code, out)
	}
}
