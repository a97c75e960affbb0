package trust_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/airlock-project/airlock/trust"
	"github.com/airlock-project/airlock/trust/tufgen"
)

// TestUpdateHTTP: the connected path, against a real HTTP server on
// loopback serving a generated repository (and, for the size check, a
// timestamp.json that is too large).
func TestUpdateHTTP(t *testing.T) {
	r := newRepo()
	dir := t.TempDir()
	if err := tufgen.WriteDir(dir, r.Files); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()

	s := openStore(t)
	initRepo(t, s, r)
	m, err := trust.OpenMedium(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	res, err := update(s, m, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if res.Timestamp != 1 || res.Source != "url "+srv.URL {
		t.Errorf("result = %+v", res)
	}

	r.Publish()
	if err := tufgen.WriteDir(dir, r.Files); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "timestamp.json"), make([]byte, trust.MaxTimestampSize+1), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = update(s, m, t0.Add(2*time.Hour))
	if !errors.Is(err, trust.ErrTooLarge) || !errors.Is(err, trust.ErrRejected) {
		t.Fatalf("oversized timestamp over HTTP: %v", err)
	}
	// An interrupt cancels a download: the request carries ctx.
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Read(cancelled, "1.root.json", trust.MaxRootSize); !errors.Is(err, context.Canceled) {
		t.Errorf("read with a cancelled context: %v, want context.Canceled", err)
	}
	if _, err := trust.OpenMedium("https://"); err == nil {
		t.Error("URL without a host accepted")
	}
}
