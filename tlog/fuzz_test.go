package tlog_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"

	"github.com/airlock-project/airlock/tlog"
)

// FuzzParseCheckpoint: the parser never panics, stays within its bound,
// and whatever it accepts has one text (it prints back what it read) and
// verifies with nothing but a real signature.
func FuzzParseCheckpoint(f *testing.F) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	lk, err := tlog.NewLogKey(&key.PublicKey)
	if err != nil {
		f.Fatal(err)
	}
	good, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: "log.example", TreeID: 42, Size: 7, Hash: tlog.Hash{1, 2, 3}}, lk, key)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte("log.example - 42\n7\nAQIDAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n\u2014 log.example AAAAAAAAAA==\n"))
	f.Add([]byte("a - 0\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n\u2014 a AQIDBAU=\n\u2014 witness AQIDBAU=\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, sigs, err := tlog.ParseCheckpoint(data)
		if err != nil {
			return
		}
		if len(sigs) == 0 {
			t.Fatal("accepted a checkpoint without signatures")
		}
		if !bytes.HasPrefix(data, c.Text()) {
			t.Fatalf("parsed %+v, whose text is not the input's", c)
		}
		if _, err := tlog.OpenCheckpoint(data, c.Origin, lk); err == nil && !bytes.Equal(data, good) {
			// Only signature lines other than the log's can differ.
			if !bytes.HasPrefix(data, good[:bytes.Index(good, []byte("\n\n"))]) {
				t.Fatalf("a checkpoint the key never signed verifies:\n%s", data)
			}
		}
	})
}
