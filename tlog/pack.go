package tlog

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	sumdb "golang.org/x/mod/sumdb/tlog"
)

// ErrMalformedPack is returned by ReadPack for an archive that is not a
// mirror pack, or one beyond its limits.
var ErrMalformedPack = errors.New("malformed mirror pack")

// ErrSizeRange is returned by Pack and PackFromTiles for a size to prove
// from that is negative or past the checkpoint's size.
var ErrSizeRange = errors.New("tree size out of range")

// Limits on what ReadPack reads.
const (
	// MaxPackLogs bounds the logs (origins) of one pack.
	MaxPackLogs = 4096
	// MaxPackProofs bounds the proofs of one log in a pack.
	MaxPackProofs = 1024
	// MaxPackSize bounds the bytes of a pack archive.
	MaxPackSize = 256 << 20
)

// packMarker is the pack's first file, "mirror-pack": its format and
// version.
const (
	packMarkerName = "mirror-pack"
	packMarker     = "airlock mirror pack v1\n"
)

// Pack is a mirror pack: per log, its newest checkpoint and consistency
// proofs from earlier sizes to it. Its archive form (ReadPack, WriteTo)
// is an uncompressed ustar archive described in docs/mirror.md:
//
//	mirror-pack            "airlock mirror pack v1\n"
//	logs/<i>/checkpoint    the signed note of log i (0, 1, ...)
//	logs/<i>/proofs/<j>    its proofs (0, 1, ...), each "old <size>\n" and base64 hashes
//
// in that order, regular files only.
type Pack struct {
	Logs []PackLog
}

// PackLog is one log of a pack.
type PackLog struct {
	// Checkpoint is the signed note, possibly carrying witness
	// cosignature lines.
	Checkpoint []byte
	// Proofs go from earlier sizes (From < the checkpoint's size) to the
	// checkpoint's size (To).
	Proofs []ConsistencyProof
}

// limitedReader fails with errTooLarge past n bytes.
type limitedReader struct {
	r io.Reader
	n int64
}

var errTooLarge = errors.New("too large")

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// ReadPack reads a pack archive from r, at most MaxPackSize bytes. It
// parses every checkpoint and proof (no signature is checked), checks
// that proofs end at their checkpoint's size, and rejects a log or a
// proof given twice; errors wrap ErrMalformedPack.
func ReadPack(r io.Reader) (*Pack, error) {
	lr := &limitedReader{r: r, n: MaxPackSize}
	tr := tar.NewReader(lr)
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrMalformedPack, fmt.Sprintf(format, args...))
	}
	p := &Pack{}
	var cur *Note
	origins := map[string]bool{}
	froms := map[int64]bool{}
	for i := 0; ; i++ {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			if i == 0 {
				return nil, bad("empty archive: no %q file", packMarkerName)
			}
			break
		}
		if errors.Is(err, errTooLarge) {
			return nil, bad("larger than %d bytes", MaxPackSize)
		}
		if err != nil {
			return nil, bad("%v", err)
		}
		if h.Typeflag != tar.TypeReg {
			return nil, bad("%q is not a regular file", h.Name)
		}
		name := h.Name
		var limit int64
		var kind string
		var logIdx int
		switch {
		case i == 0:
			if name != packMarkerName {
				return nil, bad("first file is %q, want %q", name, packMarkerName)
			}
			limit, kind = int64(len(packMarker)), "marker"
		default:
			rest, ok := strings.CutPrefix(name, "logs/")
			if !ok {
				return nil, bad("unexpected file %q", name)
			}
			idx, rest, _ := strings.Cut(rest, "/")
			n, err := parseDecimal(idx)
			if err != nil || n > MaxPackLogs {
				return nil, bad("unexpected file %q", name)
			}
			logIdx = int(n)
			switch {
			case rest == "checkpoint":
				if logIdx != len(p.Logs) {
					return nil, bad("%q out of order: want logs/%d/checkpoint", name, len(p.Logs))
				}
				if logIdx >= MaxPackLogs {
					return nil, bad("more than %d logs", MaxPackLogs)
				}
				limit, kind = MaxNoteSize, "checkpoint"
			case strings.HasPrefix(rest, "proofs/"):
				j, err := parseDecimal(rest[len("proofs/"):])
				if err != nil || logIdx != len(p.Logs)-1 || j != int64(len(p.Logs[logIdx].Proofs)) {
					return nil, bad("%q out of order", name)
				}
				if j >= MaxPackProofs {
					return nil, bad("more than %d proofs for one log", MaxPackProofs)
				}
				limit, kind = maxProofText, "proof"
			default:
				return nil, bad("unexpected file %q", name)
			}
		}
		if h.Size < 0 || h.Size > limit {
			return nil, bad("%q is %d bytes, at most %d", name, h.Size, limit)
		}
		data, err := io.ReadAll(tr)
		if errors.Is(err, errTooLarge) {
			return nil, bad("larger than %d bytes", MaxPackSize)
		}
		if err != nil {
			return nil, bad("%q: %v", name, err)
		}
		switch kind {
		case "marker":
			if string(data) != packMarker {
				return nil, bad("%q does not say %q", name, strings.TrimSpace(packMarker))
			}
		case "checkpoint":
			n, err := ParseNote(data)
			if err != nil {
				return nil, bad("%s: %v", name, err)
			}
			if origins[n.Origin] {
				return nil, bad("log %q appears twice", n.Origin)
			}
			origins[n.Origin] = true
			cur, froms = n, map[int64]bool{}
			p.Logs = append(p.Logs, PackLog{Checkpoint: data})
		case "proof":
			pr, err := ParseProof(data, cur.Origin, cur.Size)
			if err != nil {
				return nil, bad("%s: %v", name, err)
			}
			if pr.From >= cur.Size {
				return nil, bad("%s: proof from size %d, the checkpoint's size is %d", name, pr.From, cur.Size)
			}
			if froms[pr.From] {
				return nil, bad("%s: a second proof from size %d", name, pr.From)
			}
			froms[pr.From] = true
			p.Logs[logIdx].Proofs = append(p.Logs[logIdx].Proofs, *pr)
		}
	}
	return p, nil
}

// WriteTo writes p as a pack archive (deterministic: fixed times, modes
// and owners). It checks what ReadPack checks, so that what it writes
// reads back.
func (p *Pack) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	tw := tar.NewWriter(cw)
	put := func(name string, data []byte) error {
		h := &tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(data)), ModTime: time.Unix(0, 0), Format: tar.FormatUSTAR}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	if len(p.Logs) > MaxPackLogs {
		return 0, fmt.Errorf("%w: more than %d logs", ErrMalformedPack, MaxPackLogs)
	}
	if err := put(packMarkerName, []byte(packMarker)); err != nil {
		return cw.n, err
	}
	origins := map[string]bool{}
	for i, l := range p.Logs {
		n, err := ParseNote(l.Checkpoint)
		if err != nil {
			return cw.n, fmt.Errorf("%w: log %d: %v", ErrMalformedPack, i, err)
		}
		if origins[n.Origin] {
			return cw.n, fmt.Errorf("%w: log %q appears twice", ErrMalformedPack, n.Origin)
		}
		origins[n.Origin] = true
		if len(l.Proofs) > MaxPackProofs {
			return cw.n, fmt.Errorf("%w: more than %d proofs for %q", ErrMalformedPack, MaxPackProofs, n.Origin)
		}
		if err := put("logs/"+strconv.Itoa(i)+"/checkpoint", l.Checkpoint); err != nil {
			return cw.n, err
		}
		froms := map[int64]bool{}
		for j, pr := range l.Proofs {
			if pr.To != n.Size || pr.From >= n.Size || froms[pr.From] || (pr.Origin != "" && pr.Origin != n.Origin) {
				return cw.n, fmt.Errorf("%w: proof from %d to %d does not go to the checkpoint of %q (size %d), or is given twice", ErrMalformedPack, pr.From, pr.To, n.Origin, n.Size)
			}
			froms[pr.From] = true
			text, err := pr.MarshalText()
			if err != nil {
				return cw.n, err
			}
			if err := put("logs/"+strconv.Itoa(i)+"/proofs/"+strconv.Itoa(j), text); err != nil {
				return cw.n, err
			}
		}
	}
	err := tw.Close()
	return cw.n, err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// proofSizes returns the sizes to prove from: sorted, without duplicates,
// 0 and size itself; a negative size or one past size is an error.
func proofSizes(fromSizes []int64, size int64) ([]int64, error) {
	var out []int64
	for _, f := range fromSizes {
		if f < 0 || f > size {
			return nil, fmt.Errorf("%w: no consistency proof from size %d: the checkpoint's size is %d", ErrSizeRange, f, size)
		}
		if f > 0 && f < size {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Pack returns the site log's pack: its latest checkpoint and a
// consistency proof from each of fromSizes (each at most the latest size;
// 0 and the latest size itself need none and are skipped).
func (l *Log) Pack(ctx context.Context, fromSizes []int64) (*Pack, error) {
	head, err := l.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	sizes, err := proofSizes(fromSizes, head.Size)
	if err != nil {
		return nil, err
	}
	n, err := ParseNote(head.Note)
	if err != nil {
		return nil, fmt.Errorf("%w: latest checkpoint: %v", ErrCorrupt, err)
	}
	pl := PackLog{Checkpoint: head.Note}
	for _, from := range sizes {
		hashes, err := l.ConsistencyProof(ctx, from, head.Size)
		if err != nil {
			return nil, err
		}
		pl.Proofs = append(pl.Proofs, ConsistencyProof{Origin: n.Origin, From: from, To: head.Size, Hashes: hashes})
	}
	return &Pack{Logs: []PackLog{pl}}, nil
}

// PackFromTiles returns the pack entry of a C2SP tlog-tiles log (a
// rekor-tiles storage directory, say) whose signed checkpoint is
// checkpoint: the proofs from fromSizes to its size, computed from the
// hash tiles read returns (the full or partial tile t, as TilePath
// spells its path). The checkpoint's signature is not checked; the tiles
// are checked against its root hash (sumdb.TileHashReader), so tiles of
// another tree are an error.
func PackFromTiles(ctx context.Context, checkpoint []byte, read func(ctx context.Context, t Tile) ([]byte, error), fromSizes []int64) (*PackLog, error) {
	n, err := ParseNote(checkpoint)
	if err != nil {
		return nil, err
	}
	sizes, err := proofSizes(fromSizes, n.Size)
	if err != nil {
		return nil, err
	}
	hr := sumdb.TileHashReader(sumdb.Tree{N: n.Size, Hash: n.Root}, tileReader{ctx: ctx, read: read})
	pl := &PackLog{Checkpoint: bytes.Clone(checkpoint)}
	for _, from := range sizes {
		hashes, err := sumdb.ProveTree(n.Size, from, hr)
		if err != nil {
			return nil, fmt.Errorf("consistency proof of %q from size %d to %d from its tiles: %w", n.Origin, from, n.Size, err)
		}
		pl.Proofs = append(pl.Proofs, ConsistencyProof{Origin: n.Origin, From: from, To: n.Size, Hashes: hashes})
	}
	return pl, nil
}

// tileReader is a sumdb.TileReader over a read function.
type tileReader struct {
	ctx  context.Context
	read func(ctx context.Context, t Tile) ([]byte, error)
}

func (r tileReader) Height() int { return TileHeight }

func (r tileReader) ReadTiles(tiles []Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		data, err := r.read(r.ctx, t)
		if err != nil {
			return nil, fmt.Errorf("tile %s: %w", TilePath(t), err)
		}
		if len(data) != t.W*HashSize {
			return nil, fmt.Errorf("tile %s is %d bytes, want %d", TilePath(t), len(data), t.W*HashSize)
		}
		out[i] = data
	}
	return out, nil
}

func (r tileReader) SaveTiles(tiles []Tile, data [][]byte) {}
