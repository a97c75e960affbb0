package bundle

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
)

// hashBufferSize is the read size used when streaming an artifact. Large
// reads keep the hashing loop at memory speed; the buffer is the only
// memory an artifact of any size costs.
const hashBufferSize = 1 << 20

// Artifact is what evidence is checked against: its digests, computed by
// streaming the file (DigestFile, HashReader) or given by the user
// (ParseArtifactArg with "sha256:HEX").
type Artifact struct {
	// Name is the file name, or the "ALG:HEX" argument for a digest.
	Name string
	// Digests maps "sha256", "sha384" or "sha512" to the raw digest.
	Digests map[string][]byte
}

// digest returns a's digest with algorithm alg.
func (a Artifact) digest(alg string) ([]byte, bool) {
	d, ok := a.Digests[alg]
	return d, ok
}

// supportedDigests are the algorithms airlock hashes artifacts with.
var supportedDigests = []string{"sha256", "sha384", "sha512"}

func newHash(alg string) (hash.Hash, error) {
	switch alg {
	case "sha256":
		return sha256.New(), nil
	case "sha384":
		return sha512.New384(), nil
	case "sha512":
		return sha512.New(), nil
	}
	return nil, fmt.Errorf("unsupported digest algorithm %q", alg)
}

// HashReader hashes r with every algorithm in algs in one pass, reading
// hashBufferSize bytes at a time (a few buffers in flight); memory use does
// not grow with the input.
func HashReader(r io.Reader, algs []string) (map[string][]byte, error) {
	return hashReader(r, algs, -1)
}

// smallFile is the size below which a file is hashed in one read on the
// caller's goroutine: the pipeline's buffers would cost more than they save.
const smallFile = 256 << 10

// hashReader hashes r; size is r's length when known (else -1).
func hashReader(r io.Reader, algs []string, size int64) (map[string][]byte, error) {
	if len(algs) == 0 {
		algs = []string{"sha256"}
	}
	hs := make([]hash.Hash, 0, len(algs))
	ws := make([]io.Writer, 0, len(algs))
	for _, a := range algs {
		h, err := newHash(a)
		if err != nil {
			return nil, err
		}
		hs = append(hs, h)
		ws = append(ws, h)
	}
	w := ws[0]
	if len(ws) > 1 {
		w = io.MultiWriter(ws...)
	}
	if size >= 0 && size < smallFile {
		buf := make([]byte, size+1)
		for {
			n, err := r.Read(buf)
			w.Write(buf[:n])
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, err
			}
		}
	} else if err := pipelineCopy(w, r); err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(algs))
	for i, a := range algs {
		out[a] = hs[i].Sum(nil)
	}
	return out, nil
}

// bufPool recycles the pipeline's buffers across files of a batch.
var bufPool = sync.Pool{New: func() any { b := make([]byte, hashBufferSize); return &b }}

// pipelineCopy copies r to w with reads and writes overlapped: one
// goroutine reads into a few hashBufferSize buffers while the caller's
// goroutine hashes the previous ones, so reading from the page cache and
// hashing run on two cores. Memory is bounded by the buffers.
func pipelineCopy(w io.Writer, r io.Reader) error {
	const nbuf = 4
	type chunk struct {
		buf []byte
		n   int
		err error
	}
	free := make(chan []byte, nbuf)
	full := make(chan chunk, nbuf)
	for range nbuf {
		free <- *bufPool.Get().(*[]byte)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	defer func() {
		close(done)
		wg.Wait() // the reader has stopped: every buffer is back here
		for len(free) > 0 {
			b := <-free
			bufPool.Put(&b)
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(full)
		for {
			var buf []byte
			select {
			case buf = <-free:
			case <-done:
				return
			}
			// Fill the buffer: fewer, larger writes to the hash.
			n, err := io.ReadFull(r, buf)
			if err == io.ErrUnexpectedEOF {
				err = io.EOF
			}
			select {
			case full <- chunk{buf, n, err}:
			case <-done:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range full {
		if c.n > 0 {
			w.Write(c.buf[:c.n]) // hash writes never fail
		}
		free <- c.buf // never blocks: at most nbuf buffers exist
		if c.err == io.EOF {
			return nil
		}
		if c.err != nil {
			return c.err
		}
	}
	return nil
}

// DigestFile streams the file at path through HashReader. An error here
// means the file could not be read; it does not wrap ErrRejected.
func DigestFile(path string, algs []string) (Artifact, error) {
	f, err := os.Open(path)
	if err != nil {
		return Artifact{}, fileErr("artifact", path, err)
	}
	defer f.Close()
	size := int64(-1)
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return Artifact{}, fmt.Errorf("%q is a directory", path)
	} else if err == nil && fi.Mode().IsRegular() {
		size = fi.Size()
	}
	d, err := hashReader(f, algs, size)
	if err != nil {
		return Artifact{}, fileErr("artifact", path, err)
	}
	return Artifact{Name: path, Digests: d}, nil
}

// ParseDigestArg parses an artifact argument of the form "sha256:HEX"
// (also sha384 and sha512). ok is false when arg does not have that form
// and should be treated as a file name; err is set when it has the prefix
// but not a valid digest.
func ParseDigestArg(arg string) (a Artifact, ok bool, err error) {
	alg, hexd, found := strings.Cut(arg, ":")
	if !found || !slices.Contains(supportedDigests, alg) {
		return Artifact{}, false, nil
	}
	h, _ := newHash(alg)
	d, err := hex.DecodeString(hexd)
	if err != nil || len(d) != h.Size() {
		return Artifact{}, true, fmt.Errorf("%q is not a %s digest: want %d hex digits", arg, alg, 2*h.Size())
	}
	return Artifact{Name: arg, Digests: map[string][]byte{alg: d}}, true, nil
}

// hexDigests renders a's digests for a Result.
func (a Artifact) hexDigests() map[string]string {
	m := make(map[string]string, len(a.Digests))
	for k, v := range a.Digests {
		m[k] = hex.EncodeToString(v)
	}
	return m
}
