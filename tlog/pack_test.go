package tlog_test

import (
	"archive/tar"
	"bytes"
	"crypto/elliptic"
	"errors"
	"reflect"
	"testing"

	"github.com/airlock-project/airlock/tlog"
)

func newLogOrigin(t testing.TB, o string) *testLog {
	t.Helper()
	return createLog(t, o, 7, ecKey(t, elliptic.P256()))
}

func TestPackRoundTrip(t *testing.T) {
	a, b := newLog(t), newLogOrigin(t, "other.example")
	a.append(t, bodies(0, 40))
	b.append(t, bodies(0, 3))
	p := &tlog.Pack{Logs: append(a.pack(t, 1, 20, 39).Logs, b.pack(t).Logs...)}
	var buf bytes.Buffer
	n, err := p.WriteTo(&buf)
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("WriteTo: %d, %v", n, err)
	}
	again := bytes.Clone(buf.Bytes())
	got, err := tlog.ReadPack(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, p) {
		t.Fatalf("read back %+v, wrote %+v", got, p)
	}
	// Deterministic.
	var buf2 bytes.Buffer
	if _, err := got.WriteTo(&buf2); err != nil || !bytes.Equal(buf2.Bytes(), again) {
		t.Fatal("writing the same pack twice gave different bytes")
	}
}

// tarOf builds an archive of name/data pairs (regular files unless the
// name ends in "@link").
func tarOf(t testing.TB, files ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i := 0; i < len(files); i += 2 {
		h := &tar.Header{Name: files[i], Mode: 0o644, Size: int64(len(files[i+1])), Typeflag: tar.TypeReg}
		if name, ok := bytes.CutSuffix([]byte(files[i]), []byte("@link")); ok {
			h = &tar.Header{Name: string(name), Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(files[i+1]))
		}
	}
	tw.Close()
	return buf.Bytes()
}

func TestReadPackErrors(t *testing.T) {
	tl := newLog(t)
	tl.append(t, bodies(0, 5))
	cp := string(tl.pack(t).Logs[0].Checkpoint)
	marker := "airlock mirror pack v1\n"
	h := "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
	for name, data := range map[string][]byte{
		"empty":              tarOf(t),
		"no_marker":          tarOf(t, "logs/0/checkpoint", cp),
		"wrong_marker":       tarOf(t, "mirror-pack", "airlock mirror pack v2\n"),
		"symlink":            tarOf(t, "mirror-pack", marker, "logs/0/checkpoint@link", ""),
		"out_of_order":       tarOf(t, "mirror-pack", marker, "logs/1/checkpoint", cp),
		"proof_first":        tarOf(t, "mirror-pack", marker, "logs/0/proofs/0", "old 1\n"+h),
		"same_origin_twice":  tarOf(t, "mirror-pack", marker, "logs/0/checkpoint", cp, "logs/1/checkpoint", cp),
		"proof_from_size":    tarOf(t, "mirror-pack", marker, "logs/0/checkpoint", cp, "logs/0/proofs/0", "old 5\n"),
		"proof_twice":        tarOf(t, "mirror-pack", marker, "logs/0/checkpoint", cp, "logs/0/proofs/0", "old 1\n"+h, "logs/0/proofs/1", "old 1\n"+h),
		"bad_checkpoint":     tarOf(t, "mirror-pack", marker, "logs/0/checkpoint", "not a note"),
		"unknown_file":       tarOf(t, "mirror-pack", marker, "README", "hi"),
		"path_traversal":     tarOf(t, "mirror-pack", marker, "logs/../../etc/passwd", "x"),
		"leading_zero_index": tarOf(t, "mirror-pack", marker, "logs/00/checkpoint", cp),
		"not_tar":            []byte("this is not an archive at all, but it is long enough to be read as a header block or two......................................................................................................................................................................................................................................................................................................................................................................................................................................................................................."),
	} {
		if _, err := tlog.ReadPack(bytes.NewReader(data)); !errors.Is(err, tlog.ErrMalformedPack) {
			t.Errorf("%s: got %v, want ErrMalformedPack", name, err)
		}
	}
}
