package tlog_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/airlock-project/airlock/tlog"
)

func sealKey(t testing.TB) (*ecdsa.PrivateKey, *tlog.LogKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	lk, err := tlog.NewLogKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return key, lk
}

// TestSealOpens: a seal opens with its key and says what it signed; with
// another key it does not.
func TestSealOpens(t *testing.T) {
	key, lk := sealKey(t)
	_, other := sealKey(t)
	meta := tlog.Meta{Origin: "log.example", TreeID: 42}
	at := time.Date(2026, 12, 4, 17, 0, 0, 123, time.UTC)
	note, err := tlog.SignSeal(meta, 57, tlog.Hash{9}, at, 12, tlog.Hash{7}, lk, key)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(note, []byte("log.example/audit - 42\n57\n")) {
		t.Errorf("seal text:\n%s", note)
	}
	s, by, err := tlog.OpenSeal(note, []*tlog.LogKey{other, lk})
	if err != nil {
		t.Fatal(err)
	}
	if s.Size != 57 || s.Hash != (tlog.Hash{9}) || !s.Time.Equal(at) || by != lk || s.Origin != tlog.SealOrigin("log.example") || s.LogSize != 12 || s.LogRoot != (tlog.Hash{7}) {
		t.Errorf("opened %+v by %x", s, by.ID)
	}
	if _, _, err := tlog.OpenSeal(note, []*tlog.LogKey{other}); !errors.Is(err, tlog.ErrBadSeal) {
		t.Errorf("another key: %v, want ErrBadSeal", err)
	}
}

// TestCheckpointIsNotASeal: the key signs the site log's checkpoints too;
// none of them opens as a seal.
func TestCheckpointIsNotASeal(t *testing.T) {
	key, lk := sealKey(t)
	for _, c := range []tlog.Checkpoint{
		{Origin: "log.example", TreeID: 42, Size: 57, Hash: tlog.Hash{9}},
		{Origin: "log.example/audit", TreeID: 42, Size: 57, Hash: tlog.Hash{9}}, // the seal's origin, no time
	} {
		cp, err := tlog.SignCheckpoint(c, lk, key)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := tlog.OpenSeal(cp, []*tlog.LogKey{lk}); !errors.Is(err, tlog.ErrBadSeal) {
			t.Errorf("checkpoint of %q opened as a seal: %v", c.Origin, err)
		}
	}
}

// FuzzOpenSeal: whatever opens is a seal the key signed.
func FuzzOpenSeal(f *testing.F) {
	key, lk := sealKey(f)
	good, err := tlog.SignSeal(tlog.Meta{Origin: "log.example", TreeID: 1}, 3, tlog.Hash{1}, time.Unix(1, 2), 0, tlog.Hash{}, lk, key)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte("a/audit - 0\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\nTimestamp: 5\n\n\u2014 a/audit AQIDBAU=\n"))
	f.Add([]byte("a/audit - 0\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\nTimestamp: -5\n\n\u2014 a/audit AQIDBAU=\n"))
	f.Add([]byte("a/audit - 0\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\nTimestamp: 5\nSite-Log: 0 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n\u2014 a/audit AQIDBAU=\n"))
	text := good[:bytes.Index(good, []byte("\n\n"))]
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, _, err := tlog.OpenSeal(data, []*tlog.LogKey{lk}); err == nil && !bytes.HasPrefix(data, text) {
			t.Fatalf("a seal the key never signed opens:\n%s", data)
		}
		tlog.ParseSealUnverified(data)
	})
}
