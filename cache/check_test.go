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
