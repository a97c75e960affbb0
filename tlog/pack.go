package tlog

import (
	"context"
	"errors"
	"io"
)

// ErrMalformedPack is returned by ReadPack for an archive that is not a
// mirror pack, or one beyond its limits.
var ErrMalformedPack = errors.New("malformed mirror pack")

// Limits on what ReadPack reads.
const (
	// MaxPackLogs bounds the logs (origins) of one pack.
	MaxPackLogs = 4096
	// MaxPackProofs bounds the proofs of one log in a pack.
	MaxPackProofs = 1024
	// MaxPackSize bounds the bytes of a pack archive.
	MaxPackSize = 256 << 20
)

// Pack is a mirror pack: per log, its newest checkpoint and consistency
// proofs from earlier sizes to it. Its archive form (ReadPack, WriteTo)
// is an uncompressed ustar archive described in docs/mirror.md.
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

// ReadPack reads a pack archive from r, at most MaxPackSize bytes. It
// parses every checkpoint and proof (no signature is checked) and rejects
// duplicates; errors wrap ErrMalformedPack.
func ReadPack(r io.Reader) (*Pack, error) {
	return nil, errNotYet
}

// WriteTo writes p as a pack archive.
func (p *Pack) WriteTo(w io.Writer) (int64, error) {
	return 0, errNotYet
}

// Pack returns the site log's pack: its latest checkpoint and a
// consistency proof from each of fromSizes (each smaller than the latest
// size; 0 and the latest size itself are skipped).
func (l *Log) Pack(ctx context.Context, fromSizes []int64) (*Pack, error) {
	return nil, errNotYet
}

// PackFromTiles returns the pack entry of a C2SP tlog-tiles log (a
// rekor-tiles storage directory, say) whose signed checkpoint is
// checkpoint: the proofs from fromSizes to its size, computed from the
// hash tiles read returns (the full or partial tile named by t, as
// TilePath spells it). The checkpoint's signature is not checked; the
// root the tiles give must be the checkpoint's.
func PackFromTiles(ctx context.Context, checkpoint []byte, read func(ctx context.Context, t Tile) ([]byte, error), fromSizes []int64) (*PackLog, error) {
	return nil, errNotYet
}
