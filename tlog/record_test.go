package tlog

import (
	"bytes"
	"testing"
)

// FuzzDecodeRecord: stored entry records decode without panics, and what
// decodes encodes back to the same bytes.
func FuzzDecodeRecord(f *testing.F) {
	f.Add(encodeRecord(Entry{Body: []byte(`{"kind":"x"}`), IntegratedTime: 1_764_000_000, SET: bytes.Repeat([]byte{0x30}, 71)}))
	f.Add([]byte{1, 0, 0})
	f.Add([]byte{2, 1, 1, 1, 1})
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0, 'x'})
	f.Fuzz(func(t *testing.T, rec []byte) {
		e, err := decodeRecord(rec)
		if err != nil {
			return
		}
		if got := encodeRecord(*e); !bytes.Equal(got, rec) {
			t.Fatalf("record %x decodes to %+v, which encodes to %x", rec, e, got)
		}
	})
}
