package main

import (
	"bytes"
	"crypto"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// Streaming: airlock hashes an artifact as a stream, never reading it whole
// into memory. TestStreamingUnderMemoryLimit checks it: it signs (with a key
// file) and verifies a 2 GiB file in airlock processes whose address space
// is limited to streamLimitMiB, and shows, as a control, that the same test
// binary reading the same file whole under the same limit fails.
//
// The limit is RLIMIT_AS (sh's ulimit -v), a hard limit; GOMEMLIMIT is only a
// target for the garbage collector. The Go runtime and glibc reserve address
// space they never touch: on linux/amd64 (Go 1.26, cgo for PKCS#11) an idle
// airlock maps about 1.6 GiB, 1.1 GiB of it the page allocator's PROT_NONE
// reservations. Under a tighter limit those reservations fail and the
// runtime falls back to smaller ones, or it succeeds and a thread stack then
// does not fit ("pthread_create failed"): limits between about 1.1 and 1.4
// GiB make every Go program abort, whatever it reads. 1.75 GiB leaves the
// runtime its reservations and a few hundred MiB of heap, well under the
// 2 GiB a whole read needs. MALLOC_ARENA_MAX=2 keeps glibc's per-thread
// arenas (64 MiB of address space each) from depending on the thread count.
// If a Go or glibc upgrade moves these numbers, re-measure them with
// `ulimit -v` and the control below.
const (
	streamLimitMiB = 1792
	streamFileSize = 2 << 30 // sparse: quick to make, quick to read
)

func TestStreamingUnderMemoryLimit(t *testing.T) {
	if p := os.Getenv("AIRLOCK_TEST_READ_WHOLE"); p != "" {
		// The control, in a child process: read the file whole.
		b, err := os.ReadFile(p)
		fmt.Println("read", len(b), err)
		os.Exit(0)
	}
	bin, dir := keyFileDir(t)
	writePublicKey(t, filepath.Join(dir, "k.key"), filepath.Join(dir, "k.pub"))
	big := filepath.Join(dir, "big.bin")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	// Sparse, with a few real bytes so that it is not all zeros.
	if _, err := f.WriteAt([]byte("the start"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("the end"), streamFileSize-7); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	// limited runs argv under the address-space limit.
	limited := func(env []string, argv ...string) (int, string) {
		t.Helper()
		script := fmt.Sprintf(`ulimit -v %d && exec "$@"`, streamLimitMiB*1024)
		cmd := exec.Command("/bin/sh", append([]string{"-c", script, "sh"}, argv...)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), append(env, "MALLOC_ARENA_MAX=2", "AIRLOCK_DB="+filepath.Join(dir, "airlock.db"), "HOME="+dir)...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), out.String()
		} else if err != nil {
			t.Fatal(err)
		}
		return 0, out.String()
	}

	// The control: reading the file whole under the limit fails.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	code, out := limited([]string{"AIRLOCK_TEST_READ_WHOLE=" + big}, self, "-test.run=^TestStreamingUnderMemoryLimit$")
	if code == 0 && strings.Contains(out, fmt.Sprintf("read %d <nil>", streamFileSize)) {
		t.Fatalf("the control read the whole %d-byte file under a %d MiB limit: the limit proves nothing\n%s", streamFileSize, streamLimitMiB, out)
	}
	// Under the race detector (make test) the runtime's allocator reports
	// the same address-space limit in its own words: the control is this
	// test binary, built with -race.
	outOfMemory := strings.Contains(out, "out of memory") ||
		raceEnabled && strings.Contains(out, "too many address space collisions for -race mode")
	if !outOfMemory {
		t.Fatalf("the control failed for another reason than memory (exit %d):\n%.2000s", code, out)
	}

	code, out = limited(nil, bin, "sign-blob", "--key", "k.key", "--tlog", "none", "--bundle", "big.sigstore.json", "big.bin")
	if code != 0 {
		t.Fatalf("sign-blob of a %d-byte file under a %d MiB limit: exit %d\n%.2000s", streamFileSize, streamLimitMiB, code, out)
	}
	code, out = limited(nil, bin, "verify-blob", "--key", "k.pub", "--insecure-ignore-tlog", "--bundle", "big.sigstore.json", "big.bin")
	if code != 0 || !strings.Contains(out, "Verified OK") {
		t.Fatalf("verify-blob of a %d-byte file under a %d MiB limit: exit %d\n%.2000s", streamFileSize, streamLimitMiB, code, out)
	}
	// The verdict is about this file: one byte changed at the end rejects.
	f, err = os.OpenFile(big, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("X"), streamFileSize-1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	code, out = limited(nil, bin, "verify-blob", "--key", "k.pub", "--insecure-ignore-tlog", "--bundle", "big.sigstore.json", "big.bin")
	if code != 1 {
		t.Fatalf("verify-blob of the changed file: exit %d, want 1\n%.2000s", code, out)
	}
}

// writePublicKey writes the PEM public key of the PEM private key file.
func writePublicKey(t *testing.T, keyFile, pubFile string) {
	t.Helper()
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	key, err := cryptoutils.UnmarshalPEMToPrivateKey(keyPEM, cryptoutils.SkipPassword)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := cryptoutils.MarshalPublicKeyToPEM(key.(crypto.Signer).Public())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pubFile, pub, 0o644); err != nil {
		t.Fatal(err)
	}
}
