package cache

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestOpenDamaged: a database damaged at the byte level is refused by Open,
// read-only and read-write, with a *CorruptError (errors.Is ErrCorrupt),
// and the file is left as it was. cmd/airlock's TestCorruptDatabase runs
// the commands on more kinds of damage.
func TestOpenDamaged(t *testing.T) {
	good := filepath.Join(t.TempDir(), "good.db")
	db, err := Open(good, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var recs []AuditRecord
	for i := range 200 {
		recs = append(recs, AuditRecord{Kind: "sign", Fields: map[string]string{"n": fmt.Sprint(i), "pad": string(bytes.Repeat([]byte("x"), 200))}})
	}
	if err := db.AppendAudit(recs...); err != nil {
		t.Fatal(err)
	}
	db.Close()
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	pageSize := int(binary.NativeEndian.Uint32(data[16+8:]))
	// The newer meta page's high-water mark: the pages in use end there
	// (bbolt grows the file in steps, so it may be longer).
	m0, _, err0 := readMeta(bytes.NewReader(data), 0)
	m1, _, err1 := readMeta(bytes.NewReader(data), int64(pageSize))
	if err0 != nil || err1 != nil {
		t.Fatal(err0, err1)
	}
	hwm := m1.hwm
	if m0.txid > m1.txid {
		hwm = m0.hwm
	}
	// Every page header from page 2 on, in turn: whatever the page is
	// (branch, leaf, freelist, free), flipping its type and counts must
	// never panic; a page in use must be reported damaged.
	cases := map[string][]byte{
		"meta0":     flipAt(data, 16+20),
		"meta1":     flipAt(data, pageSize+16+20),
		"truncated": bytes.Clone(data[:int(hwm)*pageSize-1]),
	}
	for p := 2; p < int(hwm); p++ {
		cases[fmt.Sprintf("page%d", p)] = flipAt(data, p*pageSize+8, p*pageSize+10)
	}
	for name, d := range cases {
		for _, ro := range []bool{true, false} {
			path := filepath.Join(t.TempDir(), "damaged.db")
			if err := os.WriteFile(path, d, 0o600); err != nil {
				t.Fatal(err)
			}
			db, err := Open(path, Options{ReadOnly: ro})
			if err == nil {
				_, err = db.Audit()
				db.Close()
			}
			var ce *CorruptError
			switch {
			case errors.As(err, &ce) && errors.Is(err, ErrCorrupt) && ce.Path == path:
			case err == nil && name[:4] == "page":
				// A free page's header is nothing bbolt reads; a
				// read-write open of the (whole) file may commit.
				continue
			default:
				t.Errorf("%s (read-only %v): %v, want a *CorruptError", name, ro, err)
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(after, d) {
				t.Errorf("%s (read-only %v): the file was written to", name, ro)
			}
		}
	}
}

func flipAt(data []byte, offs ...int) []byte {
	d := bytes.Clone(data)
	for _, o := range offs {
		d[o] ^= 0xff
	}
	return d
}

// TestOpenWalksAgainAfterAWrite: a file this process has walked whole is
// not walked again on the next open, but one written since is, even when
// the writer kept its size and set its modification time back: the change
// time moves with any write.
func TestOpenWalksAgainAfterAWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var recs []AuditRecord
	for i := range 50 {
		recs = append(recs, AuditRecord{Kind: "sign", Fields: map[string]string{"n": fmt.Sprint(i), "pad": string(bytes.Repeat([]byte("x"), 200))}})
	}
	if err := db.AppendAudit(recs...); err != nil {
		t.Fatal(err)
	}
	db.Close()
	// Walked whole, and remembered.
	db, err = Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := fileIdentity(st); !ok {
		t.Skip("no file identity on this platform: every open walks the file")
	} else if _, done := checked.Load(id); !done {
		t.Fatal("a file walked whole is not remembered")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pageSize := int(binary.NativeEndian.Uint32(data[16+8:]))
	// Damage page headers in place, one at a time, keeping the size and
	// setting the modification time back, until one in use is caught (a
	// free page's header is nothing bbolt reads): with the walk skipped,
	// none would be.
	for p := 2; p < len(data)/pageSize; p++ {
		off := int64(p*pageSize + 8)
		if err := writeAt(path, off, []byte{data[off] ^ 0xff, data[off+2] ^ 0xff}); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, st.ModTime(), st.ModTime()); err != nil {
			t.Fatal(err)
		}
		db, err = Open(path, Options{ReadOnly: true})
		if err == nil {
			db.Close()
		}
		if errors.Is(err, ErrCorrupt) {
			return
		}
		if err != nil {
			t.Fatalf("page %d: %v", p, err)
		}
		if err := writeAt(path, off, []byte{data[off], data[off+2]}); err != nil {
			t.Fatal(err)
		}
	}
	t.Error("no in-place damage of a page header was caught after the first walk")
}

// writeAt writes b[0] at off and b[1] at off+2 of the file at path.
func writeAt(path string, off int64, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteAt(b[:1], off)
	if err == nil {
		_, err = f.WriteAt(b[1:], off+2)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
