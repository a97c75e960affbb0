package tlog_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	sumdb "golang.org/x/mod/sumdb/tlog"

	"github.com/airlock-project/airlock/tlog"
)

// TestTilePathSpecExamples checks the paths of c2sp.org/tlog-tiles's
// examples, and that they are sumdb's tile paths without the height.
func TestTilePathSpecExamples(t *testing.T) {
	for _, c := range []struct {
		tile tlog.Tile
		want string
	}{
		{tlog.Tile{H: 8, L: 0, N: 1234067, W: 256}, "tile/0/x001/x234/067"},
		{tlog.Tile{H: 8, L: 0, N: 1234067, W: 8}, "tile/0/x001/x234/067.p/8"},
		{tlog.Tile{H: 8, L: -1, N: 1234067, W: 256}, "tile/entries/x001/x234/067"},
		{tlog.Tile{H: 8, L: -1, N: 1234067, W: 8}, "tile/entries/x001/x234/067.p/8"},
		{tlog.Tile{H: 8, L: 1, N: 0, W: 256}, "tile/1/000"},
		{tlog.Tile{H: 8, L: 2, N: 1000, W: 1}, "tile/2/x001/000.p/1"},
		{tlog.Tile{H: 8, L: 0, N: 999, W: 255}, "tile/0/999.p/255"},
	} {
		if got := tlog.TilePath(c.tile); got != c.want {
			t.Errorf("TilePath(%+v) = %q, want %q", c.tile, got, c.want)
		}
		got, err := tlog.ParseTilePath(c.want)
		if err != nil || got != c.tile {
			t.Errorf("ParseTilePath(%q) = %+v, %v; want %+v", c.want, got, err, c.tile)
		}
	}
	// sumdb spells the same tiles tile/8/L/N and tile/8/data/N.
	for _, n := range []int64{0, 1, 999, 1000, 1001, 123456789, 1 << 40} {
		for _, l := range []int{-1, 0, 3} {
			for _, w := range []int{1, 200, 256} {
				tile := tlog.Tile{H: 8, L: l, N: n, W: w}
				want := strings.Replace(strings.Replace(tile.Path(), "tile/8/", "tile/", 1), "tile/data/", "tile/entries/", 1)
				if got := tlog.TilePath(tile); got != want {
					t.Errorf("TilePath(%+v) = %q, sumdb without the height gives %q", tile, got, want)
				}
			}
		}
	}
}

func TestParseTilePathRejectsNonCanonical(t *testing.T) {
	for _, p := range []string{
		"tile/0/x000/001", "tile/00/000", "tile/0/1", "tile/0/0001", "tile/0/000.p/256", "tile/0/000.p/0",
		"tile/0/000.p/08", "tile/64/000", "tile/-1/000", "tile/0/001/002", "tile/0/x001", "tile/entries/000.p/",
		"tile/0/000/", "tile/8/0/000", "tile/data/000", "/tile/0/000", "tile/0/x001/x002/x003/x004/x005/x006/x007/008",
		"tile/0/+00", "tile/0/000.p/+1", "checkpoint", "tile/0/x999/x999/x999/x999/x999/x999/999",
	} {
		if tile, err := tlog.ParseTilePath(p); err == nil {
			t.Errorf("ParseTilePath(%q) = %+v, want an error", p, tile)
		}
	}
}

// FuzzParseTilePath: a path the parser accepts is the one TilePath makes.
func FuzzParseTilePath(f *testing.F) {
	for _, s := range []string{"tile/0/x001/x234/067.p/8", "tile/entries/000", "tile/63/x009/x223/x372/x036/x854/775", "tile/0/x000/001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		tile, err := tlog.ParseTilePath(p)
		if err != nil {
			return
		}
		if got := tlog.TilePath(tile); got != p {
			t.Fatalf("ParseTilePath(%q) = %+v, which is %q", p, tile, got)
		}
	})
}

// tileFetcher is a sumdb.TileReader over a tlog-tiles source.
type tileFetcher func(path string) ([]byte, error)

func (f tileFetcher) Height() int { return tlog.TileHeight }

func (f tileFetcher) ReadTiles(tiles []sumdb.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		b, err := f(tlog.TilePath(t))
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

func (f tileFetcher) SaveTiles([]sumdb.Tile, [][]byte) {}

func dirFetcher(dir string) tileFetcher {
	return func(p string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, filepath.FromSlash(p))) }
}

func httpFetcher(base string) tileFetcher {
	return func(p string) ([]byte, error) {
		resp, err := http.Get(base + "/" + p)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %s", p, resp.Status)
		}
		return io.ReadAll(resp.Body)
	}
}

// tiledLog is a log of 1000 entries appended in batches, with the signed
// checkpoint of each batch.
func tiledLog(t *testing.T) (*testLog, [][]byte, []*tlog.SignedCheckpoint) {
	tl := newLog(t)
	var all [][]byte
	var cps []*tlog.SignedCheckpoint
	for _, n := range []int{300, 1, 255, 444} {
		bs := bodies(len(all), n)
		b := tl.append(t, bs)
		all = append(all, bs...)
		cps = append(cps, &b.Checkpoint)
	}
	return tl, all, cps
}

// checkTiles reads the log through fetch with sumdb's tile client and
// checks the checkpoint, every entry bundle, inclusion proofs and the
// consistency proofs from every earlier batch's checkpoint, with sumdb
// and with transparency-dev/merkle.
func checkTiles(t *testing.T, tl *testLog, fetch tileFetcher, all [][]byte, cps []*tlog.SignedCheckpoint) {
	t.Helper()
	note, err := fetch("checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	cp, err := tlog.OpenCheckpoint(note, origin, tl.log.Key())
	if err != nil {
		t.Fatal(err)
	}
	if cp.Size != int64(len(all)) {
		t.Fatalf("checkpoint size %d, want %d", cp.Size, len(all))
	}
	tree := sumdb.Tree{N: cp.Size, Hash: cp.Hash}
	thr := sumdb.TileHashReader(tree, fetch)

	var got [][]byte
	for n := int64(0); n*tlog.TileWidth < cp.Size; n++ {
		w := int(min(tlog.TileWidth, cp.Size-n*tlog.TileWidth))
		b, err := fetch(tlog.TilePath(tlog.Tile{H: 8, L: -1, N: n, W: w}))
		if err != nil {
			t.Fatal(err)
		}
		for k := 0; k < w; k++ {
			if len(b) < 2 || len(b) < 2+int(binary.BigEndian.Uint16(b)) {
				t.Fatalf("entry bundle %d is truncated at entry %d", n, k)
			}
			l := int(binary.BigEndian.Uint16(b))
			got = append(got, b[2:2+l])
			b = b[2+l:]
		}
		if len(b) != 0 {
			t.Fatalf("entry bundle %d has %d bytes after its %d entries", n, len(b), w)
		}
	}
	if len(got) != len(all) {
		t.Fatalf("entry bundles hold %d entries, want %d", len(got), len(all))
	}
	for i := range all {
		if !bytes.Equal(got[i], all[i]) {
			t.Fatalf("entry %d in its bundle is %q, want %q", i, got[i], all[i])
		}
	}
	for _, idx := range []int64{0, 1, 255, 256, 299, 300, 511, 512, 555, 999, cp.Size - 1} {
		if idx >= cp.Size {
			continue
		}
		p, err := sumdb.ProveRecord(cp.Size, idx, thr)
		if err != nil {
			t.Fatalf("inclusion proof of %d from tiles: %v", idx, err)
		}
		leaf := sumdb.RecordHash(got[idx])
		if err := sumdb.CheckRecord(p, cp.Size, cp.Hash, idx, leaf); err != nil {
			t.Errorf("sumdb: entry %d: %v", idx, err)
		}
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(idx), uint64(cp.Size), leaf[:], slices(p), cp.Hash[:]); err != nil {
			t.Errorf("merkle: entry %d: %v", idx, err)
		}
	}
	for _, old := range cps {
		if old.Size >= cp.Size {
			continue
		}
		p, err := sumdb.ProveTree(cp.Size, old.Size, thr)
		if err != nil {
			t.Fatalf("consistency proof from %d from tiles: %v", old.Size, err)
		}
		if err := sumdb.CheckTree(p, cp.Size, cp.Hash, old.Size, old.Hash); err != nil {
			t.Errorf("sumdb: consistency %d -> %d: %v", old.Size, cp.Size, err)
		}
		if err := proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(old.Size), uint64(cp.Size), slices(p), old.Hash[:], cp.Hash[:]); err != nil {
			t.Errorf("merkle: consistency %d -> %d: %v", old.Size, cp.Size, err)
		}
	}
}

func TestExportTilesReadByTileClient(t *testing.T) {
	ctx := context.Background()
	tl, all, cps := tiledLog(t)
	dir := filepath.Join(t.TempDir(), "tiles")
	res, err := tl.log.ExportTiles(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	// 4 entry bundles, 4 level-0 tiles, 1 level-1 tile, the checkpoint.
	if res.Size != 1000 || res.Written != 10 || res.Kept != 0 {
		t.Errorf("export = %+v, want size 1000, 10 written", res)
	}
	for _, p := range []string{"checkpoint", "tile/0/000", "tile/0/002", "tile/0/003.p/232", "tile/1/000.p/3", "tile/entries/003.p/232"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Error(err)
		}
	}
	checkTiles(t, tl, dirFetcher(dir), all, cps)

	// Again after an append: full tiles kept, the old partial tiles stay
	// beside the new ones, and the tiles still prove the old checkpoints.
	more := bodies(len(all), 100)
	b := tl.append(t, more)
	all = append(all, more...)
	cps = append(cps, &b.Checkpoint)
	res, err = tl.log.ExportTiles(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if res.Size != 1100 || res.Kept != 6 || res.Written != 6 {
		t.Errorf("second export = %+v, want size 1100, 6 kept, 6 written", res)
	}
	if _, err := os.Stat(filepath.Join(dir, "tile/0/003.p/232")); err != nil {
		t.Error(err)
	}
	checkTiles(t, tl, dirFetcher(dir), all, cps)
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("export dir holds %d names, want checkpoint and tile (no temporary files)", len(entries))
	}
}

func TestExportTilesRefusesForeignDir(t *testing.T) {
	ctx := context.Background()
	tl, _, _ := tiledLog(t)

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := tl.log.ExportTiles(ctx, dir); !errors.Is(err, tlog.ErrForeignExport) {
		t.Fatalf("export into a directory with notes.txt: %v, want ErrForeignExport", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the refused export left %d names in the directory, want 1", len(entries))
	}

	// Another log's export (another key) is not ours to extend.
	other := newLog(t)
	other.append(t, bodies(0, 3))
	odir := filepath.Join(t.TempDir(), "other")
	if _, err := other.log.ExportTiles(ctx, odir); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(odir, "checkpoint"))
	if _, err := tl.log.ExportTiles(ctx, odir); !errors.Is(err, tlog.ErrForeignExport) {
		t.Fatalf("export over another log's export: %v, want ErrForeignExport", err)
	}
	after, _ := os.ReadFile(filepath.Join(odir, "checkpoint"))
	if !bytes.Equal(before, after) {
		t.Error("the refused export replaced the other log's checkpoint")
	}
}

func TestTileHandlerReadByTileClient(t *testing.T) {
	tl, all, cps := tiledLog(t)
	srv := httptest.NewServer(tl.log.TileHandler())
	defer srv.Close()
	checkTiles(t, tl, httpFetcher(srv.URL), all, cps)

	for _, c := range []struct {
		method, path string
		status       int
		cache        string
	}{
		{"GET", "/checkpoint", 200, "no-cache"},
		{"GET", "/tile/0/000", 200, "public, max-age=31536000, immutable"},
		{"GET", "/tile/entries/001", 200, "public, max-age=31536000, immutable"},
		{"GET", "/tile/0/003.p/232", 200, "no-cache"},
		{"GET", "/tile/0/003.p/100", 200, "no-cache"}, // an older tree's partial tile
		{"HEAD", "/tile/1/000.p/3", 200, "no-cache"},
		{"GET", "/tile/0/003", 404, "no-cache"},
		{"GET", "/tile/0/003.p/233", 404, "no-cache"},
		{"GET", "/tile/2/000.p/1", 404, "no-cache"},
		{"GET", "/tile/0/x000/003", 404, ""},
		{"GET", "/", 404, ""},
		{"POST", "/checkpoint", 405, ""},
		{"PUT", "/tile/0/000", 405, ""},
	} {
		req, _ := http.NewRequest(c.method, srv.URL+c.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.status || resp.Header.Get("Cache-Control") != c.cache {
			t.Errorf("%s %s: %d, Cache-Control %q; want %d, %q", c.method, c.path, resp.StatusCode, resp.Header.Get("Cache-Control"), c.status, c.cache)
		}
	}
}

// TestExportTilesAfterKilledExport: an export that stopped after some
// tiles and before its checkpoint (and left its temporary directory) is
// finished by the next one.
func TestExportTilesAfterKilledExport(t *testing.T) {
	ctx := context.Background()
	tl, all, cps := tiledLog(t)
	dir := t.TempDir()
	if _, err := tl.log.ExportTiles(ctx, dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "checkpoint")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "tile/0/002")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, ".airlock-export-0123456789abcdef"), 0o755); err != nil {
		t.Fatal(err)
	}
	res, err := tl.log.ExportTiles(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if res.Written != 2 || res.Kept != 8 {
		t.Errorf("export = %+v, want the missing tile and the checkpoint written, 8 kept", res)
	}
	checkTiles(t, tl, dirFetcher(dir), all, cps)
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("export dir holds %d names, want checkpoint and tile", len(entries))
	}
	// A tile that differs from the log's is refused, the checkpoint kept.
	if err := os.WriteFile(filepath.Join(dir, "tile/0/001"), make([]byte, 8192), 0o644); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "checkpoint"))
	tl.append(t, bodies(len(all), 1))
	if _, err := tl.log.ExportTiles(ctx, dir); !errors.Is(err, tlog.ErrForeignExport) {
		t.Fatalf("export over a damaged tile: %v, want ErrForeignExport", err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "checkpoint")); !bytes.Equal(before, after) {
		t.Error("the refused export replaced the checkpoint")
	}
}
