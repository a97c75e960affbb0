package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	sumdb "golang.org/x/mod/sumdb/tlog"

	"github.com/airlock-project/airlock/cache"
	"github.com/airlock-project/airlock/tlog"
)

// httpTiles is a sumdb.TileReader over a tlog-tiles HTTP server.
type httpTiles string

func (h httpTiles) Height() int { return tlog.TileHeight }

func (h httpTiles) ReadTiles(tiles []sumdb.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		b, err := httpGet(string(h) + "/" + tlog.TilePath(t))
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

func (h httpTiles) SaveTiles([]sumdb.Tile, [][]byte) {}

func httpGet(url string) ([]byte, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return io.ReadAll(resp.Body)
}

// TestLogServeTileClient runs `airlock log serve` on 127.0.0.1 over a site
// log of 1000 entries made in batches, reads it with sumdb's tile client,
// checks inclusion and consistency proofs from the tiles against the
// served checkpoint with transparency-dev/merkle, and stops the server with
// SIGINT (exit 0).
func TestLogServeTileClient(t *testing.T) {
	bin, err := exec.LookPath("airlock")
	if err != nil {
		t.Fatalf("the test binary's airlock command is not in PATH: %v", err)
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "airlock.db")
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	store := &cache.SiteLogFile{Path: path}
	l, err := tlog.Create(ctx, store, tlog.Config{Origin: "log.example", TreeID: 7}, key, time.Unix(1e9, 0))
	if err != nil {
		t.Fatal(err)
	}
	var bodies [][]byte
	var olds []*tlog.SignedCheckpoint
	for _, n := range []int{256, 1, 500, 243} {
		bs := make([][]byte, n)
		for i := range bs {
			bs[i] = fmt.Appendf(nil, `{"entry":%d}`, len(bodies)+i)
		}
		b, err := l.Prepare(ctx, bs, time.Unix(1e9, 0), key)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Append(ctx, b); err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, bs...)
		olds = append(olds, &b.Checkpoint)
	}

	cmd := exec.Command(bin, "log", "serve", "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "AIRLOCK_DB="+path)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(stderr)
	if !lines.Scan() {
		t.Fatalf("log serve said nothing: %v", cmd.Wait())
	}
	m := regexp.MustCompile(`^airlock: serving the site log log.example \(1000 entries\) read-only at (http://127.0.0.1:\d+)/checkpoint$`).FindStringSubmatch(lines.Text())
	if m == nil {
		t.Fatalf("log serve said %q", lines.Text())
	}
	base := m[1]

	note, err := httpGet(base + "/checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	cp, err := tlog.OpenCheckpoint(note, "log.example", l.Key())
	if err != nil {
		t.Fatal(err)
	}
	if cp.Size != 1000 {
		t.Fatalf("served checkpoint has size %d, want 1000", cp.Size)
	}
	thr := sumdb.TileHashReader(sumdb.Tree{N: cp.Size, Hash: cp.Hash}, httpTiles(base))
	for _, idx := range []int64{0, 255, 256, 757, 999} {
		p, err := sumdb.ProveRecord(cp.Size, idx, thr)
		if err != nil {
			t.Fatal(err)
		}
		leaf := sumdb.RecordHash(bodies[idx])
		hs := make([][]byte, len(p))
		for i := range p {
			hs[i] = p[i][:]
		}
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(idx), uint64(cp.Size), leaf[:], hs, cp.Hash[:]); err != nil {
			t.Errorf("entry %d: %v", idx, err)
		}
	}
	for _, old := range olds[:len(olds)-1] {
		p, err := sumdb.ProveTree(cp.Size, old.Size, thr)
		if err != nil {
			t.Fatal(err)
		}
		hs := make([][]byte, len(p))
		for i := range p {
			hs[i] = p[i][:]
		}
		if err := proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(old.Size), uint64(cp.Size), hs, old.Hash[:], cp.Hash[:]); err != nil {
			t.Errorf("consistency %d -> %d: %v", old.Size, cp.Size, err)
		}
	}
	// Read-only: no write method.
	resp, err := http.Post(base+"/checkpoint", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /checkpoint: %s, want 405", resp.Status)
	}

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	var rest []string
	for lines.Scan() {
		rest = append(rest, lines.Text())
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("log serve after SIGINT: %v (stderr %q), want exit 0", err, rest)
	}
	if len(rest) != 1 || rest[0] != "airlock: stopped serving the site log" {
		t.Errorf("log serve said %q after SIGINT", rest)
	}
}
