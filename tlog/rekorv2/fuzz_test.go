package rekorv2

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/airlock-project/airlock/tlog/rekorv2/rekortest"
)

var update = flag.Bool("update", false, "regenerate testdata/vector_ok.json from a real rekor-tiles server")

// vector is one real exchange with a rekor-tiles v2.3.0 server: what was
// submitted, the log's key and origin, and the server's raw answer.
type vector struct {
	Origin    string `json:"origin"`
	LogKey    string `json:"logKey"`    // PEM
	PublicKey string `json:"publicKey"` // PEM, the signer's
	Digest    []byte `json:"digest"`
	Signature []byte `json:"signature"`
	Response  string `json:"response"` // the server's answer, verbatim
}

const vectorPath = "testdata/vector_ok.json"

func parsePEMKey(t testing.TB, s string) any {
	t.Helper()
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		t.Fatal("no PEM block")
	}
	k, err := x509.ParsePKIXPublicKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func loadVector(t testing.TB) (vector, *Request) {
	t.Helper()
	raw, err := os.ReadFile(vectorPath)
	if err != nil {
		t.Fatalf("%v (regenerate with: go test ./tlog/rekorv2 -run TestVector -update)", err)
	}
	var v vector
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	req, err := NewHashedRekord(v.Digest, v.Signature, Verifier{PublicKey: parsePEMKey(t, v.PublicKey)})
	if err != nil {
		t.Fatal(err)
	}
	return v, req
}

// TestVector checks the recorded real answer without a server; with
// -update it first records a new one (the generator of the vector).
func TestVector(t *testing.T) {
	if *update {
		writeVector(t)
	}
	v, req := loadVector(t)
	tle, err := decodeEntry([]byte(v.Response))
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(tle, req, parsePEMKey(t, v.LogKey), v.Origin); err != nil {
		t.Fatalf("the recorded answer does not check: %v", err)
	}
}

func writeVector(t *testing.T) {
	srv := rekortest.Start(t, rekortest.Options{})
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	v := vector{Origin: srv.Origin}
	// Two entries: the recorded one's proof then holds a hash.
	var req *Request
	for _, data := range []string{"first", "hello.tgz"} {
		d := sha256.Sum256([]byte(data))
		sig, err := ecdsa.SignASN1(rand.Reader, k, d[:])
		if err != nil {
			t.Fatal(err)
		}
		req, err = NewHashedRekord(d[:], sig, Verifier{PublicKey: k.Public()})
		if err != nil {
			t.Fatal(err)
		}
		v.Digest, v.Signature = d[:], sig
		body, err := requestJSON(req)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Post(srv.URL+EntriesPath, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
			t.Fatalf("%d %s %v", resp.StatusCode, raw, err)
		}
		v.Response = string(raw)
	}
	logPEM, err := os.ReadFile(srv.LogKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	v.LogKey = string(logPEM)
	der, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	v.PublicKey = string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(vectorPath), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(vectorPath, append(out, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// FuzzCheck feeds mutated server answers to the decoder and the checks:
// they must never panic, and an answer they accept must carry the body of
// the submitted entry.
func FuzzCheck(f *testing.F) {
	v, req := loadVector(f)
	logKey := parsePEMKey(f, v.LogKey)
	f.Add(v.Response)
	f.Add(strings.Replace(v.Response, `"logIndex":"1"`, `"logIndex":"-1"`, 1))
	f.Add("{}")
	want, err := canonicalBody(req)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, resp string) {
		tle, err := decodeEntry([]byte(resp))
		if err != nil {
			return
		}
		if Check(tle, req, logKey, v.Origin) == nil && !bytes.Equal(tle.GetCanonicalizedBody(), want) {
			t.Fatalf("accepted an answer whose body is not the submitted entry")
		}
	})
}
