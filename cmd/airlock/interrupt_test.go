package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/airlock-project/airlock/hsm/softhsmtest"
	"github.com/rogpeppe/go-internal/testscript"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"golang.org/x/sys/unix"
)

func init() {
	scriptCmds["waitfor"] = cmdWaitfor
}

// waitfor GLOB... waits (up to a minute) until every GLOB, relative to the
// script's directory, matches a file: a background command has got that
// far. It is a precondition, not a timing assertion.
func cmdWaitfor(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: waitfor GLOB...")
	}
	deadline := time.Now().Add(time.Minute)
	for _, g := range args {
		for {
			m, err := filepath.Glob(ts.MkAbs(g))
			ts.Check(err)
			if len(m) > 0 {
				break
			}
			if time.Now().After(deadline) {
				ts.Fatalf("no file matches %s", g)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// TestInterruptAtPromptRestoresEcho: defect interrupt_prompt_echo_off:
// Ctrl-C at the PIN or password prompt ended airlock by the signal's
// default action, which skips term.ReadPassword's deferred restore, and
// left the custodian's terminal with echo off. airlock runs on a fresh
// pseudo-terminal, gets Ctrl-C at the prompt, and the terminal must echo
// again once airlock has ended (still by SIGINT, having written nothing).
func TestInterruptAtPromptRestoresEcho(t *testing.T) {
	bin, err := exec.LookPath("airlock")
	if err != nil {
		t.Fatalf("the test binary's airlock command is not in PATH: %v", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hello.tgz"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := cryptoutils.MarshalPrivateKeyToEncryptedDER(key, cryptoutils.StaticPasswordFunc([]byte("pw")))
	if err != nil {
		t.Fatal(err)
	}
	encKey := filepath.Join(dir, "cosign.key")
	if err := os.WriteFile(encKey, pem.EncodeToMemory(&pem.Block{Type: string(cryptoutils.EncryptedSigstorePrivateKeyPEMType), Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("password", func(t *testing.T) {
		ctrlCAtPrompt(t, bin, dir, nil, "Enter password for private key ",
			"sign-blob", "--key", encKey, "--tlog", "none", "--bundle", "out.json", "hello.tgz")
	})
	t.Run("pin", func(t *testing.T) {
		if !softhsmtest.Available() && os.Getenv("AIRLOCK_REQUIRE_SOFTHSM") == "" {
			missingPart(t, "SoftHSM2 is not installed")
		}
		tok, err := softhsmtest.Create(t.TempDir(), "prompted")
		if err != nil {
			t.Fatal(err)
		}
		ctrlCAtPrompt(t, bin, dir, []string{"SOFTHSM2_CONF=" + tok.Conf}, `PIN for token "prompted": `,
			"sign-blob", "--key", "pkcs11:token=prompted;object=k?module-path="+tok.Module, "--tlog", "none", "--bundle", "out.json", "hello.tgz")
	})
}

func ctrlCAtPrompt(t *testing.T, bin, dir string, env []string, prompt string, args ...string) {
	t.Helper()
	ptmx, pts := openPTY(t)
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		switch {
		case strings.HasPrefix(kv, "AIRLOCK_PASSWORD="), strings.HasPrefix(kv, "COSIGN_PASSWORD="), strings.HasPrefix(kv, "AIRLOCK_PIN="):
		default:
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(append(cmd.Env, "AIRLOCK_DB="+filepath.Join(dir, "airlock.db")), env...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = pts, pts, pts
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pts.Close()
	defer cmd.Process.Kill()
	var out bytes.Buffer
	buf := make([]byte, 1024)
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(out.String(), prompt) {
		ptmx.SetReadDeadline(deadline)
		n, err := ptmx.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			t.Fatalf("no prompt %q: %v; the terminal shows %q", prompt, err, out.String())
		}
	}
	// Type Ctrl-C once the prompt has turned echo off.
	for echoOn(t, ptmx) {
		if time.Now().After(deadline) {
			t.Fatal("the prompt never turned echo off")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := ptmx.Write([]byte{3}); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGINT {
		t.Errorf("airlock ended with %v, want to be ended by SIGINT", err)
	}
	if !echoOn(t, ptmx) {
		t.Errorf("the terminal was left with echo off after Ctrl-C at the prompt")
	}
	for _, f := range []string{"out.json", "airlock.db"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("an interrupted sign-blob wrote %s", f)
		}
	}
}

func echoOn(t *testing.T, ptmx *os.File) bool {
	tio, err := unix.IoctlGetTermios(int(ptmx.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	return tio.Lflag&unix.ECHO != 0
}

// openPTY opens a pseudo-terminal pair (echo on, as a shell has it).
func openPTY(t *testing.T) (ptmx, pts *os.File) {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		missingPart(t, "no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { ptmx.Close() })
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	pts, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return ptmx, pts
}
