package trust_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/airlock-project/airlock/trust"
	"github.com/airlock-project/airlock/trust/tufgen"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

func tarOf(files map[string]string, gz bool) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, data := range files {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg})
		tw.Write([]byte(data))
	}
	tw.Close()
	if !gz {
		return buf.Bytes()
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(buf.Bytes())
	zw.Close()
	return z.Bytes()
}

// FuzzReadTar: any bytes as a tar medium. ReadTar must not panic, and what
// it serves stays inside the medium and within the limits.
func FuzzReadTar(f *testing.F) {
	f.Add(tarOf(map[string]string{"timestamp.json": "{}", "1.root.json": "{}"}, false))
	f.Add(tarOf(map[string]string{"repo/timestamp.json": "{}", "repo/targets/x": "y"}, true))
	f.Add(tarOf(map[string]string{"../escape.json": "{}"}, false))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := trust.ReadTar(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, name := range []string{"timestamp.json", "1.root.json", "../escape.json", "/etc/passwd", "targets/x", "."} {
			b, err := m.Read(context.Background(), name, 1<<20)
			if err == nil && (strings.Contains(name, "..") || strings.HasPrefix(name, "/") || name == ".") {
				t.Fatalf("served %q", name)
			}
			if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, trust.ErrTooLarge) && !strings.Contains(err.Error(), "invalid file name") &&
				!strings.Contains(err.Error(), "not followed") && !strings.Contains(err.Error(), "not a regular file") {
				t.Fatalf("Read(%q): unexpected error %v", name, err)
			}
			if len(b) > 1<<20 {
				t.Fatalf("Read(%q) returned %d bytes", name, len(b))
			}
		}
	})
}

// FuzzParseMaxAge: the --max-trust-age / AIRLOCK_MAX_TRUST_AGE parser.
func FuzzParseMaxAge(f *testing.F) {
	for _, s := range []string{"30d", "720h", "1h30m", "0d", "-5d", "1e9d", "9223372036854775807ns", " 7d ", "d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := trust.ParseMaxAge(s)
		if err == nil && d <= 0 {
			t.Fatalf("ParseMaxAge(%q) = %v, accepted a non-positive age", s, d)
		}
	})
}

// FuzzUpdateTimestamp: the timestamp.json of an otherwise valid generated
// repository replaced by fuzz input. The update must not panic; anything
// but a fully valid timestamp is refused and leaves the database as it was.
func FuzzUpdateTimestamp(f *testing.F) {
	r := newRepo()
	good := r.Files["timestamp.json"]
	f.Add(good)
	f.Add([]byte(strings.Replace(string(good), `"version": 1`, `"version": 2`, 1)))
	f.Add([]byte(`{"signed":{"_type":"timestamp"},"signatures":[]}`))
	f.Add([]byte(`null`))
	s := openStore(f)
	initRepo(f, s, r)
	now := t0.Add(time.Hour)
	f.Fuzz(func(t *testing.T, ts []byte) {
		files := r.Clone()
		files["timestamp.json"] = ts
		m, err := trust.ReadTar(bytes.NewReader(tarBytes(t, files)))
		if err != nil {
			t.Fatal(err)
		}
		before := dump(t, s)
		_, err = trust.Update(context.Background(), s, "site", m, trust.UpdateOptions{Now: now})
		if err != nil && dump(t, s) != before {
			t.Fatalf("refused update (%v) changed the database", err)
		}
		if err == nil {
			// Only the signed content counts: whitespace may differ.
			got, perr := metadata.Timestamp().FromBytes(ts)
			if perr != nil || got.Signed.Version != r.Timestamp.Signed.Version || !got.Signed.Expires.Equal(r.Timestamp.Signed.Expires) {
				t.Fatalf("accepted a timestamp that is not the signed one: %q", ts)
			}
		}
	})
}

func tarBytes(t *testing.T, files map[string][]byte) []byte {
	t.Helper()
	p := t.TempDir() + "/m.tar"
	if err := tufgen.WriteTar(p, files); err != nil {
		t.Fatal(err)
	}
	return mustRead(p)
}

// FuzzParseTrustedRoot: any bytes as a file to pin with trust init
// --trusted-root. ParseTrustedRoot must not panic; what it refuses is a
// *TrustedRootError, and what it accepts lists something to trust.
func FuzzParseTrustedRoot(f *testing.F) {
	f.Add(trJSON)
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`))
	f.Add([]byte(`{"signed":{"_type":"root"}}`))
	f.Add([]byte(`{"verificationMaterial":{}}`))
	f.Add([]byte("not json"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := trust.ParseTrustedRoot(data)
		if err != nil {
			var te *trust.TrustedRootError
			if !errors.As(err, &te) || !errors.Is(err, trust.ErrNotTrustedRoot) {
				t.Fatalf("error %v is not a *TrustedRootError", err)
			}
			return
		}
		if len(tr.FulcioCertificateAuthorities())+len(tr.RekorLogs())+len(tr.CTLogs())+len(tr.TimestampingAuthorities()) == 0 {
			t.Fatal("accepted a trusted root that lists nothing to trust")
		}
	})
}
