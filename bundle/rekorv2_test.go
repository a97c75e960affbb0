package bundle

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net"
	"testing"

	"github.com/airlock-project/airlock/tlog/rekorv2"
)

// TestNewRekorV2Logger refuses what could never give a checked entry: a
// base URL that is not http(s), a log key rekor-tiles does not sign with.
func TestNewRekorV2Logger(t *testing.T) {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	for _, tc := range []struct {
		url  string
		key  any
		want error
	}{
		{"127.0.0.1:3000", p256.Public(), rekorv2.ErrRequest},
		{"ftp://127.0.0.1:3000", p256.Public(), rekorv2.ErrRequest},
		{"http://127.0.0.1:3000?x=1", p256.Public(), rekorv2.ErrRequest},
		{"http://127.0.0.1:3000", p384.Public(), rekorv2.ErrLogKey},
		{"http://127.0.0.1:3000", nil, rekorv2.ErrLogKey},
	} {
		if _, err := NewRekorV2Logger(tc.url, tc.key, "", nil); !errors.Is(err, tc.want) {
			t.Errorf("NewRekorV2Logger(%q, %T): %v, want %v", tc.url, tc.key, err, tc.want)
		}
	}
	l, err := NewRekorV2Logger("http://rekor.example:3000", p256.Public(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := l.Name(), "rekor=http://rekor.example:3000"; got != want {
		t.Errorf("Name() = %q, want %q", got, want)
	}
	if got, want := l.Origin(), "rekor.example"; got != want {
		t.Errorf("Origin() = %q, want %q (the URL's host)", got, want)
	}
}

// TestRekorV2LoggerFails: an Ed25519 envelope signature is refused before
// anything is submitted, and an unreachable server fails Prepare with the
// bundles left as they were.
func TestRekorV2LoggerFails(t *testing.T) {
	logKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close()
	l, err := NewRekorV2Logger(url, logKey.Public(), "", nil)
	if err != nil {
		t.Fatal(err)
	}

	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	ed, err := NewBuilder(edKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ed.SignDSSE(InTotoPayloadType, []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Prepare(context.Background(), []*Signed{s}); err == nil || errors.Is(err, rekorv2.ErrTransport) {
		t.Errorf("Prepare(Ed25519 envelope): %v, want a refusal before any submission", err)
	}

	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ec, err := NewBuilder(ecKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err = ec.SignDigest(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	before := bytes.Clone(s.Bundle)
	if _, err := l.Prepare(context.Background(), []*Signed{s}); !errors.Is(err, rekorv2.ErrTransport) {
		t.Errorf("Prepare(unreachable server): %v, want ErrTransport", err)
	}
	if !bytes.Equal(s.Bundle, before) || s.Logged {
		t.Errorf("a failed Prepare changed the bundle")
	}
}
