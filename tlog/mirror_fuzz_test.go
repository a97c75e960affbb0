package tlog_test

import (
	"bytes"
	"testing"

	"github.com/airlock-project/airlock/tlog"
)

const fuzzRoot = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="

// FuzzParseNote: the parser never panics, stays within its bound, and
// what it accepts has its text as a prefix and at least one signature.
func FuzzParseNote(f *testing.F) {
	f.Add([]byte("log.example\n7\n" + fuzzRoot + "\n\n\u2014 log.example AQIDBAU=\n"))
	f.Add([]byte("log.example - 42\n7\n" + fuzzRoot + "\nTimestamp: 1\n\n\u2014 log.example AQIDBAU=\n\u2014 w.example AQIDBAUG\n"))
	f.Add([]byte("log.example - 042\n7\n" + fuzzRoot + "\n\n\u2014 log.example AQIDBAU=\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := tlog.ParseNote(data)
		if err != nil {
			return
		}
		if len(data) > tlog.MaxNoteSize || len(n.Sigs) == 0 || !bytes.HasPrefix(data, n.Text) || n.Size < 0 {
			t.Fatalf("accepted %q as %+v", data, n)
		}
		if _, _, err := tlog.OpenNote(data, nil); err == nil {
			t.Fatal("opened a note with no trusted log")
		}
	})
}

// FuzzReadPack: ReadPack never panics, and what it accepts writes back
// and reads back the same.
func FuzzReadPack(f *testing.F) {
	cp := []byte("log.example\n7\n" + fuzzRoot + "\n\n\u2014 log.example AQIDBAU=\n")
	p := &tlog.Pack{Logs: []tlog.PackLog{{Checkpoint: cp, Proofs: []tlog.ConsistencyProof{{From: 3, To: 7, Hashes: []tlog.Hash{{1}, {2}}}}}}}
	var buf bytes.Buffer
	if _, err := p.WriteTo(&buf); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add(buf.Bytes()[:700])
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := tlog.ReadPack(bytes.NewReader(data))
		if err != nil {
			return
		}
		var out bytes.Buffer
		if _, err := p.WriteTo(&out); err != nil {
			t.Fatalf("a pack ReadPack accepted does not write: %v", err)
		}
		back, err := tlog.ReadPack(&out)
		if err != nil || len(back.Logs) != len(p.Logs) {
			t.Fatalf("written pack does not read back: %v", err)
		}
	})
}

// FuzzParseProof: the text form parses to a proof that prints back the
// same text.
func FuzzParseProof(f *testing.F) {
	f.Add([]byte("old 3\n" + fuzzRoot + "\n" + fuzzRoot + "\n"))
	f.Add([]byte("old 0\n"))
	f.Add([]byte("old 3\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := tlog.ParseProof(data, "log.example", 1<<40)
		if err != nil {
			return
		}
		text, err := p.MarshalText()
		if err != nil || !bytes.Equal(text, data) {
			t.Fatalf("%q parsed, prints back as %q (%v)", data, text, err)
		}
	})
}

// FuzzParseWitnessPolicy: the parser never panics, and an accepted
// policy checks a note without panicking.
func FuzzParseWitnessPolicy(f *testing.F) {
	vkey := "w.example+c2d8b2a4+BDGLhfb7yvxuLe/AX0MTEP5jKwXkIiDzhgQqa/eFe13E"
	f.Add([]byte("witness a " + vkey + " https://w.example\ngroup g any a\nquorum g\n"))
	f.Add([]byte("# none\nquorum none\n"))
	f.Add([]byte("log l.example+01234567+AQID\nwitness a " + vkey + "\ngroup g 1 a\ngroup h all g a\nquorum h\n"))
	n, err := tlog.ParseNote([]byte("log.example\n7\n" + fuzzRoot + "\n\n\u2014 log.example AQIDBAU=\n\u2014 w.example AQIDBAUG\n"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := tlog.ParseWitnessPolicy(data)
		if err != nil {
			return
		}
		p.Check(n)
	})
}
