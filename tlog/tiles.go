package tlog

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"

	sumdb "golang.org/x/mod/sumdb/tlog"
)

// The log as C2SP tlog-tiles (https://c2sp.org/tlog-tiles): the files a
// standard tile client reads, made from the stored hashes and entries.
//
//	checkpoint                 the latest signed checkpoint (a signed note)
//	tile/<L>/<N>[.p/<W>]       hash tiles: the hashes of level 8*L, 256 a tile
//	tile/entries/<N>[.p/<W>]   entry bundles: the canonicalized bodies, 256 a bundle
//
// N is written in groups of three digits, all but the last prefixed with
// x (1234067 is x001/x234/067); a partial tile (fewer than 256 hashes or
// entries, W of them) adds .p/<W>. An entry bundle is, for each entry, its
// length as a big-endian uint16 and the body. The hash tiles are
// golang.org/x/mod/sumdb/tlog's tiles of height 8; only their path
// differs (sumdb's tile/8/L/N, data for entries).

// TileHeight is the height of a hash tile: a full tile holds 2^8 hashes,
// a full entry bundle 2^8 entries.
const TileHeight = 8

// TileWidth is the number of hashes in a full hash tile, and of entries
// in a full entry bundle.
const TileWidth = 1 << TileHeight

// EntryBundleLevel is the level (Tile.L) that names an entry bundle.
const EntryBundleLevel = -1

// MaxBundledEntry is the largest body an entry bundle can hold.
const MaxBundledEntry = math.MaxUint16

// Tile names a hash tile (L >= 0) or an entry bundle (L ==
// EntryBundleLevel) of W hashes or entries; H is TileHeight.
type Tile = sumdb.Tile

// ErrTileNotFound is returned for a tile beyond the log's latest tree.
var ErrTileNotFound = errors.New("no such tile in the site log")

// ErrForeignExport is returned by ExportTiles for a directory that holds
// something other than an export of this log.
var ErrForeignExport = errors.New("directory holds something other than an export of this site log")

// TilePath returns t's path in the tlog-tiles layout, without a leading
// slash: "tile/0/x001/x234/067", "tile/entries/000.p/7".
func TilePath(t Tile) string {
	var b strings.Builder
	b.WriteString("tile/")
	if t.L == EntryBundleLevel {
		b.WriteString("entries/")
	} else {
		b.WriteString(strconv.Itoa(t.L))
		b.WriteByte('/')
	}
	n := t.N
	groups := []string{fmt.Sprintf("%03d", n%1000)}
	for n >= 1000 {
		n /= 1000
		groups = append(groups, fmt.Sprintf("x%03d", n%1000))
	}
	for i := len(groups) - 1; i >= 0; i-- {
		b.WriteString(groups[i])
		if i > 0 {
			b.WriteByte('/')
		}
	}
	if t.W < TileWidth {
		fmt.Fprintf(&b, ".p/%d", t.W)
	}
	return b.String()
}

// ParseTilePath parses a path TilePath makes (no leading slash). It
// accepts only the canonical spelling, so that one tile has one path.
func ParseTilePath(p string) (Tile, error) {
	bad := func() (Tile, error) { return Tile{}, fmt.Errorf("%q is not a tile path", p) }
	rest, ok := strings.CutPrefix(p, "tile/")
	if !ok || len(p) > 64 {
		return bad()
	}
	elems := strings.Split(rest, "/")
	t := Tile{H: TileHeight, W: TileWidth}
	if elems[0] == "entries" {
		t.L = EntryBundleLevel
	} else {
		l, ok := decimal(elems[0], 63)
		if !ok {
			return bad()
		}
		t.L = int(l)
	}
	elems = elems[1:]
	if n := len(elems); n >= 2 && strings.HasSuffix(elems[n-2], ".p") {
		w, ok := decimal(elems[n-1], TileWidth-1)
		if !ok || w == 0 {
			return bad()
		}
		t.W = int(w)
		elems[n-2] = strings.TrimSuffix(elems[n-2], ".p")
		elems = elems[:n-1]
	}
	// At most 7 groups: 10^21 would overflow an int64.
	if len(elems) == 0 || len(elems) > 7 {
		return bad()
	}
	var n uint64
	for i, e := range elems {
		if i < len(elems)-1 {
			if e, ok = strings.CutPrefix(e, "x"); !ok {
				return bad()
			}
		}
		if len(e) != 3 || e[0] < '0' || e[0] > '9' || e[1] < '0' || e[1] > '9' || e[2] < '0' || e[2] > '9' {
			return bad()
		}
		g, _ := strconv.ParseUint(e, 10, 16)
		if i == 0 && g == 0 && len(elems) > 1 {
			return bad() // x000/... is a longer spelling of the same N
		}
		n = n*1000 + g
	}
	if n > math.MaxInt64>>TileHeight {
		return bad()
	}
	t.N = int64(n)
	return t, nil
}

// decimal parses a decimal number of at most limit, without sign or
// leading zeros.
func decimal(s string, limit uint64) (uint64, bool) {
	if s == "" || len(s) > 1 && s[0] == '0' || s[0] == '+' {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil && n <= limit
}

// TilesForSize returns the tiles of the tree of size entries: every full
// hash tile and entry bundle, and the partial ones at its right edge.
func TilesForSize(size int64) []Tile {
	if size <= 0 {
		return nil
	}
	tiles := sumdb.NewTiles(TileHeight, 0, size)
	for n := int64(0); n*TileWidth < size; n++ {
		tiles = append(tiles, Tile{H: TileHeight, L: EntryBundleLevel, N: n, W: int(min(TileWidth, size-n*TileWidth))})
	}
	return tiles
}

// ReadTile returns the contents of tile t of the log as it is now: the W
// hashes of a hash tile, or the entry bundle of W entries. A tile the
// latest tree does not cover in full is ErrTileNotFound. Tiles never
// change once the log covers them, so a client that read an older
// checkpoint gets the tiles of its tree.
func (l *Log) ReadTile(ctx context.Context, t Tile) ([]byte, error) {
	head, err := l.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	return l.readTile(ctx, t, head.Size)
}

func (l *Log) readTile(ctx context.Context, t Tile, size int64) ([]byte, error) {
	if t.H != TileHeight || t.W < 1 || t.W > TileWidth || t.L < EntryBundleLevel || t.N < 0 || t.N > math.MaxInt64>>TileHeight {
		return nil, fmt.Errorf("%w: %+v", ErrTileNotFound, t)
	}
	// The hashes (or entries) at the tile's level that the tree holds.
	have := size
	if t.L > 0 {
		if t.L*TileHeight >= 63 {
			have = 0
		} else {
			have = size >> (t.L * TileHeight)
		}
	}
	if t.N >= (have+TileWidth-1)/TileWidth || t.N*TileWidth+int64(t.W) > have {
		return nil, fmt.Errorf("%w: %s (the log has %d entries)", ErrTileNotFound, TilePath(t), size)
	}
	r := &overlay{ctx: ctx, store: l.store}
	if t.L >= 0 {
		return sumdb.ReadTileData(t, r)
	}
	first := t.N * TileWidth
	// The leaf hashes come with the bundle: a damaged record must not
	// go out in a bundle whose hash tile says otherwise.
	leaves, err := sumdb.ReadTileData(Tile{H: TileHeight, L: 0, N: t.N, W: t.W}, r)
	if err != nil {
		return nil, err
	}
	var b []byte
	for i := range int64(t.W) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		e, err := l.Entry(ctx, first+i)
		if err != nil {
			return nil, err
		}
		if len(e.Body) > MaxBundledEntry {
			return nil, fmt.Errorf("entry %d is %d bytes, more than an entry bundle holds (%d)", first+i, len(e.Body), MaxBundledEntry)
		}
		if h := sumdb.RecordHash(e.Body); !bytes.Equal(h[:], leaves[i*HashSize:(i+1)*HashSize]) {
			return nil, fmt.Errorf("%w: entry %d does not hash to its stored leaf hash", ErrCorrupt, first+i)
		}
		b = binary.BigEndian.AppendUint16(b, uint16(len(e.Body)))
		b = append(b, e.Body...)
	}
	return b, nil
}

// TilesExport is what ExportTiles did.
type TilesExport struct {
	// Size is the tree size of the exported checkpoint.
	Size int64
	// Written counts the files written (the checkpoint among them),
	// Kept the tiles a previous export already held, the same.
	Written, Kept int
}

// ExportTiles writes the log as it is now into dir in the tlog-tiles
// layout. dir must be missing, empty, or an earlier export of this log
// (its checkpoint signed by the log key, its tree a prefix of the log's):
// full tiles it holds are checked, not rewritten, and a new partial tile
// sits beside the older ones. Each file is written under a temporary name
// in dir and renamed into place, the checkpoint last: a reader never finds
// a checkpoint whose tiles are missing, and an export that fails leaves
// the earlier one readable.
func (l *Log) ExportTiles(ctx context.Context, dir string) (*TilesExport, error) {
	head, err := l.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	if root, err := sumdb.TreeHash(head.Size, &overlay{ctx: ctx, store: l.store}); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	} else if root != head.Hash {
		return nil, fmt.Errorf("%w: stored hashes give root %x for size %d, the checkpoint signs %x", ErrCorrupt, root[:], head.Size, head.Hash[:])
	}
	created := false
	if err := os.Mkdir(dir, 0o755); err == nil {
		created = true
	} else if !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	res, err := l.export(ctx, dir, head)
	if err != nil && created {
		os.RemoveAll(dir)
	}
	return res, err
}

const exportTempPrefix = ".airlock-export-"

func (l *Log) export(ctx context.Context, dir string, head *SignedCheckpoint) (*TilesExport, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	if err := l.checkExportDir(ctx, root, dir); err != nil {
		return nil, err
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := exportTempPrefix + hex.EncodeToString(rnd[:])
	if err := root.Mkdir(tmp, 0o755); err != nil {
		return nil, err
	}
	defer root.RemoveAll(tmp)
	res := &TilesExport{Size: head.Size}
	seq := 0
	put := func(name string, data []byte) error {
		seq++
		t := path.Join(tmp, strconv.Itoa(seq))
		if err := root.WriteFile(t, data, 0o644); err != nil {
			return err
		}
		if err := root.MkdirAll(path.Dir(name), 0o755); err != nil {
			return err
		}
		res.Written++
		return root.Rename(t, name)
	}
	for _, t := range TilesForSize(head.Size) {
		data, err := l.readTile(ctx, t, head.Size)
		if err != nil {
			return nil, err
		}
		name := TilePath(t)
		old, err := root.ReadFile(name)
		switch {
		case err == nil && bytes.Equal(old, data):
			res.Kept++
			continue
		case err == nil:
			return nil, fmt.Errorf("%w: %s differs from the log's", ErrForeignExport, name)
		case !errors.Is(err, fs.ErrNotExist):
			return nil, err
		}
		if err := put(name, data); err != nil {
			return nil, err
		}
	}
	if err := put("checkpoint", head.Note); err != nil {
		return nil, err
	}
	return res, nil
}

// checkExportDir refuses a directory that holds anything but an export
// of this log: only checkpoint, tile and leftover temporary directories,
// and a checkpoint the log key signed for a tree that is a prefix of the
// log's.
func (l *Log) checkExportDir(ctx context.Context, root *os.Root, dir string) error {
	f, err := root.Open(".")
	if err != nil {
		return err
	}
	ents, err := f.ReadDir(-1)
	f.Close()
	if err != nil {
		return err
	}
	hasCheckpoint := false
	for _, e := range ents {
		switch {
		case e.Name() == "checkpoint" && e.Type().IsRegular():
			hasCheckpoint = true
		case e.Name() == "tile" && e.IsDir():
		case strings.HasPrefix(e.Name(), exportTempPrefix) && e.IsDir():
			// An export that was killed: its files never made it in.
			if err := root.RemoveAll(e.Name()); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%w: %q holds %q", ErrForeignExport, dir, e.Name())
		}
	}
	if !hasCheckpoint {
		// Empty, or tiles of an export that stopped before its checkpoint:
		// each tile found there is compared with the log's.
		return nil
	}
	note, err := root.ReadFile("checkpoint")
	if err != nil {
		return err
	}
	head, st, err := l.checkpointState(ctx)
	if err != nil {
		return err
	}
	// An export made before a key rotation carries the old key's
	// checkpoint.
	old, err := st.openCheckpoint(note)
	if err != nil {
		return fmt.Errorf("%w: its checkpoint: %v", ErrForeignExport, err)
	}
	if old.TreeID != st.meta.TreeID || old.Size > head.Size {
		return fmt.Errorf("%w: its checkpoint is of tree %d size %d, the log is tree %d size %d", ErrForeignExport, old.TreeID, old.Size, st.meta.TreeID, head.Size)
	}
	if root, err := l.RootHash(ctx, old.Size); err != nil {
		return err
	} else if root != old.Hash {
		return fmt.Errorf("%w: its checkpoint signs root %x for size %d, the log's is %x", ErrForeignExport, old.Hash[:], old.Size, root[:])
	}
	return nil
}

// TileHandler serves the log read-only over HTTP in the tlog-tiles layout:
// GET or HEAD of /checkpoint and of the tile paths. The checkpoint is
// served with Cache-Control no-cache (it moves), full tiles as immutable;
// partial tiles, whose content is fixed too but which a full tile later
// supersedes, with no-cache. Any other path is 404, any other method 405.
func (l *Log) TileHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		ctx := r.Context()
		p := strings.TrimPrefix(r.URL.Path, "/")
		if p == "checkpoint" {
			head, err := l.Checkpoint(ctx)
			if err != nil {
				http.Error(w, "the site log cannot be read", http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("Cache-Control", "no-cache")
			w.Header().Set("Content-Length", strconv.Itoa(len(head.Note)))
			if r.Method == http.MethodGet {
				w.Write(head.Note)
			}
			return
		}
		t, err := ParseTilePath(p)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		data, err := l.ReadTile(ctx, t)
		if errors.Is(err, ErrTileNotFound) {
			w.Header().Set("Cache-Control", "no-cache")
			http.NotFound(w, r)
			return
		}
		if err != nil {
			http.Error(w, "the site log cannot be read", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		if t.W == TileWidth {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		if r.Method == http.MethodGet {
			w.Write(data)
		}
	})
}
