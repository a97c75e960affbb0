package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/airlock-project/airlock/hsm"
	"github.com/airlock-project/airlock/hsm/softhsmtest"
	"github.com/rogpeppe/go-internal/testscript"
)

// scriptCmds are extra testscript commands; other _test.go files register
// theirs in init (e.g. a SoftHSM token per script).
var scriptCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	"interrupts": cmdInterrupts,
}

// scriptSetups run for every script after the common environment is set.
var scriptSetups []func(env *testscript.Env) error

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"airlock": func() { os.Exit(Main()) },
	})
}

// requireAllEnv, when set (make test sets it), makes every real part the
// suite uses required: a missing program, device or build feature fails
// the test that needs it instead of skipping it. Without it a developer's
// `go test` skips what the machine lacks, and says so.
const requireAllEnv = "AIRLOCK_REQUIRE_ALL"

// scriptPrograms are the programs the testscripts run besides airlock.
var scriptPrograms = []string{"softhsm2-util", "pkcs11-tool", "openssl", "mkfifo"}

// missingPart skips t for want of a real part, or fails it when
// AIRLOCK_REQUIRE_ALL is set.
func missingPart(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv(requireAllEnv) != "" {
		t.Fatalf(format+" (%s is set: every real part is required; run 'make deps')", append(args, requireAllEnv)...)
	}
	t.Skipf(format, args...)
}

// TestScripts runs cmd/airlock/testdata/script/*.txtar. Each script gets
// $TESTDATA (the repository's testdata), a private $HOME and $AIRLOCK_DB.
// The scripts are linted first (lintScript).
func TestScripts(t *testing.T) {
	td, err := filepath.Abs("../../testdata")
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("testdata/script/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range lintScript(string(b)) {
			t.Errorf("%s:%s", f, p)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	if os.Getenv(requireAllEnv) != "" {
		for _, p := range scriptPrograms {
			if _, err := exec.LookPath(p); err != nil {
				t.Errorf("%s is not installed and %s is set: run 'make deps'", p, requireAllEnv)
			}
		}
		if !softhsmtest.Available() {
			t.Errorf("SoftHSM2 is not installed and %s is set: run 'make deps'", requireAllEnv)
		}
		if !hsm.Available() {
			t.Errorf("this test binary was built without cgo and %s is set: PKCS#11 scripts need CGO_ENABLED=1", requireAllEnv)
		}
		if t.Failed() {
			t.FailNow()
		}
	}
	testscript.Run(t, testscript.Params{
		Dir:  "testdata/script",
		Cmds: scriptCmds,
		Setup: func(env *testscript.Env) error {
			env.Setenv("TESTDATA", td)
			env.Setenv("HOME", env.WorkDir+"/home")
			env.Setenv("XDG_DATA_HOME", env.WorkDir+"/home/.local/share")
			env.Setenv("AIRLOCK_DB", env.WorkDir+"/airlock.db")
			for _, s := range scriptSetups {
				if err := s(env); err != nil {
					return err
				}
			}
			env.Values[scriptEnvKey{}] = append([]string(nil), env.Vars...)
			return nil
		},
	})
}

// A failing airlock run must say which failure it expects:
//
//	exits 1 airlock verify-blob ...
//	stderr '^airlock: error: .*key words of the reason'
//
// lintScript returns a script's lines that break this rule: `! exec
// airlock` and `? exec airlock` (any non-zero exit, or any exit, passes:
// a panic or a usage error would too), and an `exits N airlock` with N
// non-zero not followed, among the assertions right after it, by a
// `stderr` assertion of its reason (or a `stdout` one: -o json puts the
// reason there).
func lintScript(script string) []string {
	var problems []string
	lines := strings.Split(script, "\n")
	for i := 0; i < len(lines); i++ {
		if strings.HasPrefix(lines[i], "-- ") {
			break // the archive's files
		}
		neg, cmd, args := scriptLine(lines[i])
		switch {
		case cmd == "exec" && len(args) > 0 && args[0] == "airlock" && neg != "":
			problems = append(problems, fmt.Sprintf("%d: %q accepts any failure: use 'exits CODE airlock ...' and a stderr assertion of the reason", i+1, strings.TrimSpace(lines[i])))
		case cmd == "exits" && len(args) > 1 && args[0] != "0" && args[1] == "airlock":
			if !reasonChecked(lines[i+1:]) {
				problems = append(problems, fmt.Sprintf("%d: %q: no stderr (or, for -o json, stdout) assertion of the reason follows", i+1, strings.TrimSpace(lines[i])))
			}
		}
	}
	return problems
}

// reasonChecked reports whether the assertions that follow a run (up to the
// first line that is not one) include a positive stderr or stdout one.
func reasonChecked(lines []string) bool {
	for _, l := range lines {
		neg, cmd, _ := scriptLine(l)
		switch cmd {
		case "":
			continue // blank or comment
		case "stderr", "stdout":
			if neg == "" {
				return true
			}
		case "exists", "cmp", "cmpenv", "grep", "ttyout":
		default:
			return false
		}
	}
	return false
}

var scriptCond = regexp.MustCompile(`^\[[^]]*\]\s*`)

// scriptLine splits a script line into its ! or ? prefix, command and
// (whitespace-separated, unquoted) arguments; cmd is "" for a blank line or
// a comment.
func scriptLine(line string) (neg, cmd string, args []string) {
	l := strings.TrimSpace(line)
	for scriptCond.MatchString(l) {
		l = scriptCond.ReplaceAllString(l, "")
	}
	if l == "" || strings.HasPrefix(l, "#") {
		return "", "", nil
	}
	if l[0] == '!' || l[0] == '?' {
		neg, l = l[:1], strings.TrimSpace(l[1:])
	}
	f := strings.Fields(l)
	if len(f) == 0 {
		return neg, "", nil
	}
	return neg, f[0], f[1:]
}

// TestScriptLint: the lint catches the lines it exists for.
func TestScriptLint(t *testing.T) {
	for _, tc := range []struct {
		script string
		bad    int
	}{
		{"! exec airlock verify-blob x\nstderr 'airlock: error: '\n", 1},
		{"[exec:openssl] ! exec airlock sign-blob x\nstderr 'wrong password'\n", 1},
		{"? exec airlock trust status\n", 1},
		{"!exec airlock x\n", 1},
		{"exits 1 airlock verify-blob x\n! stdout .\n", 1},
		{"exits 2 airlock sign-blob x\nauditlog\nstderr 'airlock: error: '\n", 1},
		{"exits 2 airlock sign-blob x\n! stderr PIN\n", 1},
		{"exits 1 airlock verify-blob x\n# why\n! stdout .\nstderr '^airlock: error: .*digest'\n", 0},
		{"[exec:openssl] exits 2 airlock sign-blob x\n[exec:openssl] stderr 'wrong password'\n", 0},
		{"exits 0 airlock verify-blob x\n", 0},
		{"! exec openssl x\nexec airlock x\n", 0},
		{"exec airlock x\n-- f --\n! exec airlock x\n", 0},
	} {
		if got := lintScript(tc.script); len(got) != tc.bad {
			t.Errorf("lintScript(%q) = %q, want %d problem(s)", tc.script, got, tc.bad)
		}
	}
}

type scriptEnvKey struct{}

// interrupts SIGNAL GLOB... -- PROG ARGS... starts PROG in the script's
// directory and environment, waits until every GLOB matches a file (up to a
// minute: a precondition, not a timing assertion), sends it SIGNAL (INT or
// TERM), and requires that it then ended by that signal, as a process that
// cleaned up and re-raised it does; its stdout and stderr are then the
// script's. It is `exec PROG &`, waitfor, kill and wait with the ending
// checked exactly.
func cmdInterrupts(ts *testscript.TestScript, neg bool, args []string) {
	dash := -1
	for i, a := range args {
		if a == "--" {
			dash = i
			break
		}
	}
	if neg || dash < 2 || dash == len(args)-1 {
		ts.Fatalf("usage: interrupts SIGNAL GLOB... -- PROG [ARGS...]")
	}
	sig := map[string]syscall.Signal{"INT": syscall.SIGINT, "TERM": syscall.SIGTERM}[args[0]]
	if sig == 0 {
		ts.Fatalf("interrupts: signal %q is not INT or TERM", args[0])
	}
	env, _ := ts.Value(scriptEnvKey{}).([]string)
	for i, kv := range env {
		if k, _, ok := strings.Cut(kv, "="); ok {
			env[i] = k + "=" + ts.Getenv(k)
		}
	}
	prog := args[dash+1]
	for _, dir := range filepath.SplitList(ts.Getenv("PATH")) {
		if p := filepath.Join(dir, prog); fileExecutable(p) {
			prog = p
			break
		}
	}
	cmd := exec.Command(prog, args[dash+2:]...)
	cmd.Dir = ts.MkAbs(".")
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = ts.Stdout(), ts.Stderr()
	ts.Check(cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(time.Minute)
	for _, g := range args[1:dash] {
		for {
			m, err := filepath.Glob(ts.MkAbs(g))
			ts.Check(err)
			if len(m) > 0 {
				break
			}
			select {
			case err := <-done:
				ts.Fatalf("%s ended (%v) before %s matched a file", args[dash+1], err, g)
			default:
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				<-done
				ts.Fatalf("no file matches %s", g)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	ts.Check(cmd.Process.Signal(sig))
	err := <-done
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		ts.Fatalf("%s ended with %v, want to be ended by SIG%s", args[dash+1], err, args[0])
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != sig {
		ts.Fatalf("%s ended with %v, want to be ended by SIG%s", args[dash+1], err, args[0])
	}
}

func fileExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}
