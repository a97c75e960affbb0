package trust

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func logKeyDER(t *testing.T) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestSiteLogSourceRotatedKeys: a rotated log lists every key as a
// transparency log with its own window, IDs the SHA-256 of the DER, the
// base URL from the origin; and no certificate authority.
func TestSiteLogSourceRotatedKeys(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t1 := t0.AddDate(0, 6, 0)
	old, cur := logKeyDER(t), logKeyDER(t)
	src, err := SiteLogSource([]LogKey{
		{Origin: "log.example", PublicKey: old, ValidFrom: t0, ValidTo: t1},
		{Origin: "log.example", PublicKey: cur, ValidFrom: t1},
	})
	if err != nil {
		t.Fatal(err)
	}
	if src.Name != "site-log log.example" {
		t.Errorf("name %q", src.Name)
	}
	logs := src.Material.RekorLogs()
	if len(logs) != 2 || len(src.Material.FulcioCertificateAuthorities()) != 0 {
		t.Fatalf("%d logs, %d CAs", len(logs), len(src.Material.FulcioCertificateAuthorities()))
	}
	for _, c := range []struct {
		der        []byte
		start, end time.Time
	}{{old, t0, t1}, {cur, t1, time.Time{}}} {
		id := sha256.Sum256(c.der)
		l := logs[hex.EncodeToString(id[:])]
		if l == nil {
			t.Fatalf("key %x not listed", id)
		}
		if l.BaseURL != "https://log.example" || !l.ValidityPeriodStart.Equal(c.start) || !l.ValidityPeriodEnd.Equal(c.end) {
			t.Errorf("log %x: %s, %v..%v", id, l.BaseURL, l.ValidityPeriodStart, l.ValidityPeriodEnd)
		}
	}
	if _, err := SiteLogSource(nil); err == nil {
		t.Error("no keys accepted")
	}
	if _, err := SiteLogSource([]LogKey{{Origin: "x", PublicKey: []byte("junk"), ValidFrom: t0}}); err == nil {
		t.Error("a key that does not parse accepted")
	}
}

// TestWithSiteLog: the site log joins a selection, or stands alone when
// no repository is usable; other errors pass through.
func TestWithSiteLog(t *testing.T) {
	keys := []LogKey{{Origin: "log.example", PublicKey: logKeyDER(t), ValidFrom: time.Now()}}
	empty := &Selection{}
	sel, err := WithSiteLog(nil, &SelectionError{Err: ErrNoTrust, Selection: empty}, keys)
	if err != nil || len(sel.Sources) != 1 || sel.Sources[0].Name != "site-log log.example" {
		t.Fatalf("alone: %v %+v", err, sel)
	}
	sel, err = WithSiteLog(&Selection{Sources: []Source{{Name: "public-good"}}}, nil, keys)
	if err != nil || len(sel.Sources) != 2 || sel.Sources[1].Name != "site-log log.example" {
		t.Fatalf("beside: %v %+v", err, sel)
	}
	if _, err := WithSiteLog(nil, ErrTampered, keys); !errors.Is(err, ErrTampered) {
		t.Errorf("tampered: %v", err)
	}
	if _, err := WithSiteLog(nil, &SelectionError{Err: ErrNoTrust, Selection: empty}, nil); !errors.Is(err, ErrNoTrust) {
		t.Errorf("no log: %v", err)
	}
}

// TestLogKeyWindowWholeSeconds: a log created at 12:00:00.5 logs its first
// entry in that second, with integrated time 12:00:00 (whole seconds): the
// key's window must hold it. (The first site-log bundle signed in the
// second of airlock log init failed its SET check, found by the no-network
// test.)
func TestLogKeyWindowWholeSeconds(t *testing.T) {
	created := time.Date(2026, 12, 4, 12, 0, 0, 500_000_000, time.UTC)
	rotated := time.Date(2026, 12, 5, 12, 0, 0, 250_000_000, time.UTC)
	data, err := LogTrustedRootJSON([]LogKey{{Origin: "log.example", PublicKey: logKeyDER(t), ValidFrom: created, ValidTo: rotated}})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tlogs []struct {
			PublicKey struct {
				ValidFor struct{ Start, End time.Time } `json:"validFor"`
			} `json:"publicKey"`
		} `json:"tlogs"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Tlogs) != 1 {
		t.Fatalf("%d tlogs, want 1", len(doc.Tlogs))
	}
	got := doc.Tlogs[0].PublicKey.ValidFor
	if want := created.Truncate(time.Second); !got.Start.Equal(want) {
		t.Errorf("validFor.start = %v, want %v (the second the log was created in)", got.Start, want)
	}
	if want := rotated.Truncate(time.Second).Add(time.Second); !got.End.Equal(want) {
		t.Errorf("validFor.end = %v, want %v (the end of the second it was rotated in)", got.End, want)
	}
}
