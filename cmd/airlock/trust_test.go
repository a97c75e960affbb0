package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/airlock-project/airlock/cache"
	"github.com/airlock-project/airlock/trust"
	"github.com/airlock-project/airlock/trust/tufgen"
	"github.com/rogpeppe/go-internal/testscript"
	"github.com/theupdateframework/go-tuf/v2/metadata"
	bolt "go.etcd.io/bbolt"
)

// Trust in testscript:
//
//	airlock-exit CODE ARGS...  run airlock ARGS and require exit status CODE
//	tufgen STEP DIR|FILE.tar [TRUSTED_ROOT]
//	                           write a generated site TUF repository as it is
//	                           after STEP publications (1: root 1; 2: root 2
//	                           with new root keys), valid at today's clock,
//	                           carrying TRUSTED_ROOT (default: public-good's)
//	tuf-tamper REPO [anchor-version]
//	                           edit REPO's stored timestamp in $AIRLOCK_DB
//	                           (or the anchor version its state records)
//	trust-init-future DAYS     pin public-good in $AIRLOCK_DB as a machine
//	                           clock DAYS days ahead would have
func init() {
	scriptCmds["airlock-exit"] = cmdAirlockExit
	scriptCmds["tufgen"] = cmdTUFGen
	scriptCmds["tuf-tamper"] = cmdTUFTamper
	scriptCmds["trust-init-future"] = cmdTrustInitFuture
	scriptSetups = append(scriptSetups, func(env *testscript.Env) error {
		env.Setenv("AIRLOCK_MAX_TRUST_AGE", "")
		return nil
	})
}

func cmdAirlockExit(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 {
		ts.Fatalf("usage: airlock-exit CODE ARGS...")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	err = ts.Exec("airlock", args[1:]...)
	got := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("running airlock: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("airlock exited %d, want %d", got, want)
	}
}

const publicGoodTrustedRoot = "../../testdata/tuf/public-good-2026-08-21/targets/6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66.trusted_root.json"

// genRepo builds the generated site repository after step publications,
// carrying the trusted root in file trFile.
func genRepo(step int, trFile string) (*tufgen.Repo, error) {
	tr, err := os.ReadFile(trFile)
	if err != nil {
		return nil, err
	}
	t0 := time.Now().UTC().Truncate(24 * time.Hour).Add(-24 * time.Hour)
	r := tufgen.New(t0)
	r.AddTarget(trust.TrustedRootTarget, tr)
	r.Publish()
	if step >= 2 {
		r.RotateRoot(func() { r.SetKeys(metadata.ROOT, 2, "root-4", "root-5") }, "root-1", "root-2", "root-4", "root-5")
		r.Publish()
	}
	return r, nil
}

func cmdTUFGen(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: tufgen STEP DIR|FILE.tar [TRUSTED_ROOT]")
	}
	step, err := strconv.Atoi(args[0])
	ts.Check(err)
	trFile := publicGoodTrustedRoot
	if len(args) == 3 {
		trFile = ts.MkAbs(args[2])
	}
	r, err := genRepo(step, trFile)
	ts.Check(err)
	out := ts.MkAbs(args[1])
	if strings.HasSuffix(out, ".tar") {
		ts.Check(tufgen.WriteTar(out, r.Files))
		return
	}
	ts.Check(tufgen.WriteDir(out, r.Files))
}

var (
	expiresYear   = regexp.MustCompile(`"expires": ?"(\d{4})`)
	anchorVersion = regexp.MustCompile(`"anchor_version":(\d+)`)
)

func cmdTrustInitFuture(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: trust-init-future DAYS")
	}
	days, err := strconv.Atoi(args[0])
	ts.Check(err)
	store := trustStore{&cache.TUFFile{Path: ts.Getenv("AIRLOCK_DB")}}
	_, err = trust.Init(store, trust.PublicGoodName, trust.PublicGoodRoot(), "embedded", time.Now().AddDate(0, 0, days))
	ts.Check(err)
}

func cmdTUFTamper(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || len(args) > 2 || len(args) == 2 && args[1] != "anchor-version" {
		ts.Fatalf("usage: tuf-tamper REPO [anchor-version]")
	}
	db, err := bolt.Open(ts.Getenv("AIRLOCK_DB"), 0o600, &bolt.Options{Timeout: time.Second})
	ts.Check(err)
	defer db.Close()
	ts.Check(db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(cache.BucketTUF).Bucket([]byte(args[0]))
		if b == nil {
			return fmt.Errorf("no repository %q", args[0])
		}
		if len(args) == 2 {
			st := b.Get([]byte("state"))
			m := anchorVersion.FindSubmatchIndex(st)
			if m == nil {
				return fmt.Errorf("no anchor_version in the stored state")
			}
			edited := slices.Concat(st[:m[2]], []byte("9"), st[m[2]:])
			return b.Put([]byte("state"), edited)
		}
		v := b.Get([]byte("timestamp"))
		m := expiresYear.FindSubmatchIndex(v)
		if m == nil {
			return fmt.Errorf("no expiry in the stored timestamp")
		}
		edited := bytes.Clone(v)
		edited[m[3]-1]++ // one year later, same length
		return b.Put([]byte("timestamp"), edited)
	}))
}

// buildTestBinary builds airlock with the airlocktest tag, whose test hooks
// (testhook_airlocktest.go) a release build does not have.
func buildTestBinary(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "airlock")
	cmd := exec.Command(gobin, "build", "-tags", "airlocktest", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build -tags airlocktest: %v\n%s", err, out)
	}
	return bin
}

// startInsideCommit starts victim (an airlocktest build run with
// AIRLOCK_TEST_TRUST_COMMIT_DELAY set) and returns once its test hook says
// it is inside its commit transaction, where it waits.
func startInsideCommit(t *testing.T, victim *exec.Cmd) {
	t.Helper()
	stderr, err := victim.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	inside := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "test hook: inside the") {
				inside <- true
			}
		}
		close(inside)
	}()
	select {
	case ok := <-inside:
		if !ok {
			t.Fatalf("%s ended before reaching its transaction", victim.Args[1:])
		}
	case <-time.After(time.Minute):
		victim.Process.Kill()
		t.Fatalf("%s never reached its transaction", victim.Args[1:])
	}
}

// TestTrustUpdateKilled kills a real airlock process inside its update
// transaction (held there by a test hook of an airlocktest build), checks
// that a second writer is told the database is busy meanwhile, and that the
// database afterwards holds exactly the previous state and accepts the
// update again.
func TestTrustUpdateKilled(t *testing.T) {
	bin := buildTestBinary(t)
	dir := t.TempDir()
	env := append(os.Environ(), "AIRLOCK_DB="+filepath.Join(dir, "airlock.db"), "HOME="+dir, "AIRLOCK_TEST_TRUST_COMMIT_DELAY=")
	for step := 1; step <= 2; step++ {
		r, err := genRepo(step, publicGoodTrustedRoot)
		if err != nil {
			t.Fatal(err)
		}
		if err := tufgen.WriteDir(filepath.Join(dir, fmt.Sprint("v", step)), r.Files); err != nil {
			t.Fatal(err)
		}
	}
	run := func(wantCode int, args ...string) (string, string) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != wantCode {
			t.Fatalf("airlock %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, wantCode, &stdout, &stderr)
		}
		return stdout.String(), stderr.String()
	}
	timestampVersion := func() int64 {
		t.Helper()
		out, _ := run(0, "trust", "status", "--output", "json")
		var st statusJSON
		if err := json.Unmarshal([]byte(out), &st); err != nil {
			t.Fatal(err)
		}
		return st.Repositories[0].Timestamp.Version
	}
	run(0, "trust", "init", "--root", filepath.Join(dir, "v1", "1.root.json"), "--name", "site")
	run(0, "trust", "update", "--from", filepath.Join(dir, "v1"))
	if got := timestampVersion(); got != 1 {
		t.Fatalf("timestamp version %d after the first update", got)
	}

	victim := exec.Command(bin, "trust", "update", "--from", filepath.Join(dir, "v2"))
	victim.Env = append(env, "AIRLOCK_TEST_TRUST_COMMIT_DELAY=2m")
	startInsideCommit(t, victim)

	// Meanwhile a second writer waits for the lock, then gives up.
	_, errOut := run(2, "trust", "update", "--from", filepath.Join(dir, "v2"))
	if !strings.Contains(errOut, "database is locked by another airlock process") || !strings.Contains(errOut, "busy") {
		t.Errorf("second writer said %q", errOut)
	}

	if err := victim.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	victim.Wait()

	if got := timestampVersion(); got != 1 {
		t.Errorf("after the kill the timestamp is version %d, want the previous 1", got)
	}
	db, err := cache.Open(filepath.Join(dir, "airlock.db"), cache.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := db.Audit()
	db.Close()
	if err != nil || len(recs) != 2 {
		t.Errorf("audit after the kill: %d records, %v; want init and one update", len(recs), err)
	}
	// Kill updates at assorted moments, without the hook: whatever moment
	// the kill lands on, the database loads and holds the old or the new
	// state, never a mixture.
	for i := range 12 {
		cmd := exec.Command(bin, "trust", "update", "--from", filepath.Join(dir, "v2"))
		cmd.Env = env
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(i) * 2 * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
		if got := timestampVersion(); got != 1 && got != 2 {
			t.Fatalf("after kill %d the timestamp is version %d", i, got)
		}
	}

	run(0, "trust", "update", "--from", filepath.Join(dir, "v2"))
	if got := timestampVersion(); got != 2 {
		t.Errorf("after the retry the timestamp is version %d, want 2", got)
	}
}

// TestTrustCommitHookNotShipped: the defect was that the release binary
// slept inside its write transaction whenever
// AIRLOCK_TEST_TRUST_COMMIT_DELAY was set. Only an airlocktest build has
// the hook; a plain build (this test binary is one) ignores the variable.
func TestTrustCommitHookNotShipped(t *testing.T) {
	bin, err := exec.LookPath("airlock") // the test binary, installed in PATH by TestMain
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	r, err := genRepo(1, publicGoodTrustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	if err := tufgen.WriteDir(dir, r.Files); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "AIRLOCK_DB="+filepath.Join(dir, "airlock.db"), "HOME="+dir, "AIRLOCK_TEST_TRUST_COMMIT_DELAY=10m")
	for _, args := range [][]string{
		{"trust", "init", "--root", filepath.Join(dir, "1.root.json"), "--name", "site"},
		{"trust", "update", "--from", dir},
	} {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil || bytes.Contains(out, []byte("test hook")) {
			t.Fatalf("airlock %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
