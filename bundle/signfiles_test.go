package bundle

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/airlock-project/airlock/output"
)

// memRecorder keeps what a signing call commits, and can fail.
type memRecorder struct {
	commits []*SignCommit
	fail    error
}

func (m *memRecorder) RecordSignatures(c *SignCommit) error {
	if m.fail != nil {
		return m.fail
	}
	m.commits = append(m.commits, c)
	return nil
}

// markLogger is a Logger that marks each bundle, so that a test sees the
// marked bundle staged and the pending append committed.
type markLogger struct{ prepared int }

func (l *markLogger) Name() string { return "test" }

func (l *markLogger) Origin() string { return "test.example" }

func (l *markLogger) Prepare(_ context.Context, signed []*Signed) (any, error) {
	for i, s := range signed {
		s.Bundle = fmt.Appendf(nil, "logged %d", i)
	}
	l.prepared = len(signed)
	return "pending", nil
}

func signFilesSetup(t *testing.T, n int) (*Builder, string, SignRequest) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBuilder(key, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	req := SignRequest{KeyRef: "file:/k.pem", Workers: 2}
	for i := range n {
		p := filepath.Join(dir, fmt.Sprintf("f%d.txt", i))
		if err := os.WriteFile(p, fmt.Appendf(nil, "artifact %d", i), 0o644); err != nil {
			t.Fatal(err)
		}
		to, err := output.Resolve(p + ".sigstore.json")
		if err != nil {
			t.Fatal(err)
		}
		req.Files = append(req.Files, FileRequest{Path: p, Bundle: &to})
	}
	return b, dir, req
}

// entries lists dir's file names.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestSignFiles(t *testing.T) {
	b, dir, req := signFilesSetup(t, 5)
	rec := &memRecorder{}
	res, err := SignFiles(context.Background(), b, req, &output.Batch{}, rec)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(entries(t, dir)), 10; got != want {
		t.Errorf("%d files in the directory, want %d: %v", got, want, entries(t, dir))
	}
	if len(rec.commits) != 1 || len(rec.commits[0].Records) != 5 || rec.commits[0].Log != nil {
		t.Fatalf("commits = %+v, want one of 5 records and no log", rec.commits)
	}
	for i, r := range rec.commits[0].Records {
		f := res.Files[i]
		want := map[string]string{"key": "file:/k.pem", "key_sha256": res.KeySHA256, "artifact": f.File, "artifact_digest": f.Digest,
			"signature": f.Signature, "tlog": "none", "bundle": f.Bundle, "bundle_digest": f.BundleDigest}
		if r.Kind != "sign" || fmt.Sprint(r.Fields) != fmt.Sprint(want) {
			t.Errorf("record %d = %s %v, want sign %v", i, r.Kind, r.Fields, want)
		}
		data, err := os.ReadFile(f.Bundle)
		if err != nil {
			t.Fatal(err)
		}
		if sha256Digest(data) != f.BundleDigest {
			t.Errorf("%s: digest differs from the recorded one", f.Bundle)
		}
	}
}

// TestSignFilesLogger: the Logger runs between signing and staging, and its
// pending append is committed with the records.
func TestSignFilesLogger(t *testing.T) {
	b, _, req := signFilesSetup(t, 3)
	l := &markLogger{}
	req.Log = l
	rec := &memRecorder{}
	res, err := SignFiles(context.Background(), b, req, &output.Batch{}, rec)
	if err != nil {
		t.Fatal(err)
	}
	if l.prepared != 3 || len(rec.commits) != 1 || rec.commits[0].Log != "pending" || res.Tlog != "test" {
		t.Fatalf("prepared %d, commits %+v, tlog %q", l.prepared, rec.commits, res.Tlog)
	}
	for i, f := range res.Files {
		if data, _ := os.ReadFile(f.Bundle); !bytes.Equal(data, fmt.Appendf(nil, "logged %d", i)) {
			t.Errorf("%s = %q, want the logged bundle", f.Bundle, data)
		}
		if got := rec.commits[0].Records[i].Fields["tlog"]; got != "test" {
			t.Errorf("record %d tlog = %q", i, got)
		}
	}
}

// TestSignFilesNothingOnFailure: a failed record, a missing file or a
// cancelled call leaves no output, no temporary file and no record.
func TestSignFilesNothingOnFailure(t *testing.T) {
	for name, setup := range map[string]func(req *SignRequest, rec *memRecorder) context.Context{
		"record fails": func(_ *SignRequest, rec *memRecorder) context.Context {
			rec.fail = errors.New("database is locked")
			return context.Background()
		},
		"missing file": func(req *SignRequest, _ *memRecorder) context.Context {
			req.Files[2].Path += ".missing"
			return context.Background()
		},
		"cancelled": func(*SignRequest, *memRecorder) context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		},
	} {
		t.Run(name, func(t *testing.T) {
			b, dir, req := signFilesSetup(t, 4)
			before := entries(t, dir)
			rec := &memRecorder{}
			ctx := setup(&req, rec)
			if _, err := SignFiles(ctx, b, req, &output.Batch{}, rec); err == nil {
				t.Fatal("SignFiles succeeded")
			}
			if got := entries(t, dir); !slices.Equal(got, before) {
				t.Errorf("directory now holds %v, want %v", got, before)
			}
			if len(rec.commits) != 0 {
				t.Errorf("%d commits recorded", len(rec.commits))
			}
		})
	}
}

// BenchmarkSignFiles1000 is SignFiles over 1000 small files with a software
// P-256 key: hashing, signing, 1000 bundles staged and renamed, and the
// records built (kept in memory): the library's share of
// cmd/airlock's BenchmarkSignBlobBatch1000, without the token and the
// database.
func BenchmarkSignFiles1000(b *testing.B) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	signer, err := NewBuilder(key, nil)
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	var req SignRequest
	for i := range 1000 {
		p := filepath.Join(dir, fmt.Sprintf("f%04d.txt", i))
		if err := os.WriteFile(p, fmt.Appendf(nil, "artifact %d\n", i), 0o644); err != nil {
			b.Fatal(err)
		}
		to, err := output.Resolve(p + ".sigstore.json")
		if err != nil {
			b.Fatal(err)
		}
		req.Files = append(req.Files, FileRequest{Path: p, Bundle: &to})
	}
	b.ResetTimer()
	for range b.N {
		if _, err := SignFiles(context.Background(), signer, req, &output.Batch{}, &memRecorder{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(1000*b.N)/b.Elapsed().Seconds(), "sig/s")
}
