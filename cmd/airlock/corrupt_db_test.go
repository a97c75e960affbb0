package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCorruptDatabase damages a real database byte by byte (made by trust
// init, trust update and a signing with a key file, so that TUF metadata
// and audit records are in it) and runs read and write commands on it.
// bbolt trusts its pages and panics, or faults, on some damage; airlock
// must instead exit 2 saying the database is damaged, and leave the file
// exactly as it was. The offsets are derived from the file's page size and
// page headers, so the cases are the same on every run.
func TestCorruptDatabase(t *testing.T) {
	bin, dir := keyFileDir(t)
	td, err := filepath.Abs("../../testdata")
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(td, "conformance", "bundle-verify")
	good := filepath.Join(dir, "good.db")
	if err := os.WriteFile(filepath.Join(dir, "a.txt"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(db string, args ...string) (int, string, string) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "AIRLOCK_DB="+db, "HOME="+dir, "XDG_DATA_HOME="+dir)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, stdout.String(), stderr.String()
	}
	tufDir := filepath.Join(td, "tuf", "public-good-2026-08-21")
	for _, args := range [][]string{
		{"trust", "init", "--public-good"},
		{"trust", "update", "--from", tufDir, "--at", "2026-08-22T00:00:00Z"},
		{"sign-blob", "--key", "k.key", "--tlog", "none", "--bundle", "a1.sigstore.json", "a.txt"},
		{"sign-blob", "--key", "k.key", "--tlog", "none", "--bundle", "a2.sigstore.json", "a.txt"},
	} {
		if code, _, stderr := run(good, args...); code != 0 {
			t.Fatalf("airlock %s: exit %d\n%s", strings.Join(args, " "), code, stderr)
		}
	}
	id := "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
	commands := map[string][]string{
		"verify-blob": {"verify-blob", "--bundle", filepath.Join(conf, "happy-path-v0.3", "bundle.sigstore.json"),
			"--certificate-identity", id, "--certificate-oidc-issuer", "https://token.actions.githubusercontent.com", filepath.Join(conf, "a.txt")},
		"trust status": {"trust", "status"},
		"audit list":   {"audit", "list"},
		"trust update": {"trust", "update", "--from", tufDir, "--at", "2026-08-22T00:00:00Z"},
		"sign-blob":    {"sign-blob", "--key", "k.key", "--tlog", "none", "--bundle", "b.sigstore.json", "a.txt"},
	}
	// Every command works on the intact file.
	for name, args := range commands {
		cp := filepath.Join(dir, "intact.db")
		copyFile(t, good, cp)
		if code, _, stderr := run(cp, args...); code != 0 {
			t.Fatalf("%s on the intact database: exit %d\n%s", name, code, stderr)
		}
		os.Remove(filepath.Join(dir, "b.sigstore.json"))
	}

	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range corruptions(t, data) {
		for name, args := range commands {
			t.Run(c.name+"/"+strings.ReplaceAll(name, " ", "-"), func(t *testing.T) {
				db := filepath.Join(dir, "damaged.db")
				if err := os.WriteFile(db, c.data, 0o600); err != nil {
					t.Fatal(err)
				}
				code, _, stderr := run(db, args...)
				if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "fatal error") {
					t.Fatalf("airlock crashed:\n%s", stderr)
				}
				if code != 2 || !strings.Contains(stderr, "database \""+db+"\" is damaged: ") ||
					!strings.Contains(stderr, "airlock: hint: ") {
					t.Errorf("exit %d, want 2 with 'database ... is damaged' and a hint:\n%s", code, stderr)
				}
				after, err := os.ReadFile(db)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(after, c.data) {
					t.Errorf("the damaged file was written to")
				}
				if _, err := os.Stat(filepath.Join(dir, "b.sigstore.json")); err == nil {
					t.Errorf("a failed signing left its bundle behind")
					os.Remove(filepath.Join(dir, "b.sigstore.json"))
				}
			})
		}
	}
}

type corruption struct {
	name string
	data []byte
}

// corruptions derives damaged copies of a bbolt file from its own layout:
// its page size (meta page 0), the page types in the page headers, the
// freelist page the newer meta page names and the last audit record.
func corruptions(t *testing.T, data []byte) []corruption {
	t.Helper()
	ne := binary.NativeEndian
	pageSize := int(ne.Uint32(data[16+8:]))
	if pageSize < 1024 || len(data)%pageSize != 0 {
		t.Fatalf("page size %d does not divide the file (%d bytes)", pageSize, len(data))
	}
	meta := func(i int) (freelist, hwm, txid uint64) {
		b := data[i*pageSize+16:]
		return ne.Uint64(b[32:]), ne.Uint64(b[40:]), ne.Uint64(b[48:])
	}
	fl0, hwm0, tx0 := meta(0)
	fl1, hwm1, tx1 := meta(1)
	freelist, hwm := fl0, hwm0
	if tx1 > tx0 {
		freelist, hwm = fl1, hwm1
	}
	// The first branch and the first leaf page below the high-water mark
	// that are in use (not the freelist, nor on it) are found by their flags;
	// bbolt reaches a leaf through a branch only in a large bucket, so a
	// missing branch page is allowed.
	free := map[int]bool{int(freelist): true}
	fl := data[int(freelist)*pageSize:]
	n, ids := int(ne.Uint16(fl[10:])), fl[16:]
	if n == 0xFFFF {
		n, ids = int(ne.Uint64(ids)), ids[8:]
	}
	for i := range n {
		free[int(ne.Uint64(ids[8*i:]))] = true
	}
	firstOf := func(flag uint16) int {
		for p := 2; p < int(hwm); p++ {
			if ne.Uint16(data[p*pageSize+8:]) == flag && !free[p] {
				return p
			}
		}
		return -1
	}
	branch, leaf := firstOf(0x01), firstOf(0x02)
	if leaf < 0 {
		t.Fatal("no leaf page in the database")
	}
	flip := func(name string, offs ...int) corruption {
		d := bytes.Clone(data)
		for _, o := range offs {
			d[o] ^= 0xff
		}
		return corruption{name, d}
	}
	// Flipping a page's header (flags, element count, overflow) makes it
	// something else than its parent says; flipping a meta page's body
	// breaks its checksum.
	header := func(p int) []int {
		var offs []int
		for o := 8; o < 16; o++ {
			offs = append(offs, p*pageSize+o)
		}
		return offs
	}
	cs := []corruption{
		flip("meta0-body", 16+16, 16+40),
		flip("meta1-body", pageSize+16+16, pageSize+16+40),
		flip("meta0-magic", 16),
		flip(fmt.Sprintf("leaf%d-header", leaf), header(leaf)...),
		flip(fmt.Sprintf("leaf%d-elements", leaf), leaf*pageSize+16+4, leaf*pageSize+16+8, leaf*pageSize+16+12),
		flip(fmt.Sprintf("freelist%d-header", freelist), header(int(freelist))...),
		flip(fmt.Sprintf("freelist%d-ids", freelist), int(freelist)*pageSize+16+7),
	}
	if branch > 0 {
		cs = append(cs, flip(fmt.Sprintf("branch%d-header", branch), header(branch)...),
			flip(fmt.Sprintf("branch%d-elements", branch), branch*pageSize+16+8, branch*pageSize+16+15))
	}
	for _, n := range []int{pageSize / 2, pageSize + pageSize/2, 2 * pageSize, int(hwm) * pageSize / 2, int(hwm)*pageSize - 1} {
		cs = append(cs, corruption{fmt.Sprintf("truncated-at-%d", n), bytes.Clone(data[:n])})
	}
	// The audit trail's tail: cut the file inside the last record signed.
	last := bytes.LastIndex(data, []byte(`"kind":"sign"`))
	if last < 0 {
		t.Fatal("no sign record in the database")
	}
	cs = append(cs, corruption{"truncated-audit-tail", bytes.Clone(data[:last])})
	return cs
}
