package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/airlock-project/airlock/hsm"
	"github.com/airlock-project/airlock/hsm/softhsmtest"
)

// TestSignBlobTokenRemovedMidBatch removes a SoftHSM token's files while a
// sign-blob batch runs: one FILE is a FIFO, so the batch is held mid-way
// (other files signed, this one still hashing) until the token is gone.
// The batch must fail with exit 2 and leave no bundle, no temporary file
// and no audit record.
func TestSignBlobTokenRemovedMidBatch(t *testing.T) {
	tok := softhsmtest.New(t)
	m, err := hsm.OpenModule(tok.Module)
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.GenerateKey(hsm.TokenSelector{Label: tok.Label}, tok.PINFunc(), hsm.GenerateOptions{Label: "k", Type: hsm.ECDSAP256})
	m.Close()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "airlock.db")
	t.Setenv("AIRLOCK_DB", db)
	uri := fmt.Sprintf("pkcs11:token=%s;object=k?module-path=%s&pin-source=%s", tok.Label, tok.Module, tok.PINFile)
	args := []string{"airlock", "sign-blob", "--key", uri, "--tlog", "none"}
	for i := range 8 {
		p := filepath.Join(dir, fmt.Sprintf("f%d.txt", i))
		if err := os.WriteFile(p, []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, p)
	}
	fifo := filepath.Join(dir, "slow.bin")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	args = append(args, fifo)

	var stdout, stderr bytes.Buffer
	done := make(chan int)
	go func() { done <- run(args, nil, &stdout, &stderr) }()
	w, err := os.OpenFile(fifo, os.O_WRONLY, 0) // returns once a worker is reading it
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(tok.Dir, "tokens")); err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("the last artifact"))
	w.Close()
	code := <-done

	if code != exitFailed {
		t.Fatalf("exit code %d, want %d; stderr:\n%s", code, exitFailed, stderr.String())
	}
	if !strings.HasPrefix(stderr.String(), "airlock: error: ") {
		t.Errorf("stderr = %q, want an airlock error", stderr.String())
	}
	if strings.Contains(stderr.String(), tok.PIN) {
		t.Errorf("stderr holds the PIN")
	}
	t.Logf("stderr: %s", stderr.String())
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".sigstore.json") {
			t.Errorf("left behind after a failed batch: %s", e.Name())
		}
	}
	if _, err := os.Stat(db); err == nil {
		t.Errorf("the database was written for a failed batch")
	}
}
