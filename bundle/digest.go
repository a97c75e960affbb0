package bundle

import (
	"crypto"
	_ "crypto/sha256" // registers crypto.SHA256 for digestAlgs
	_ "crypto/sha512" // registers crypto.SHA384, crypto.SHA512
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"slices"
	"strings"
	"sync"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
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

// digestAlg is one digest algorithm airlock hashes artifacts with: its
// name in results, digest arguments and in-toto subjects, its crypto.Hash,
// and the protobuf-specs HashAlgorithm bundles name it by.
type digestAlg struct {
	name  string
	hash  crypto.Hash
	proto protocommon.HashAlgorithm
}

// digestAlgs is the one table of those names; every translation between
// them is a look-up here.
var digestAlgs = []digestAlg{
	{"sha256", crypto.SHA256, protocommon.HashAlgorithm_SHA2_256},
	{"sha384", crypto.SHA384, protocommon.HashAlgorithm_SHA2_384},
	{"sha512", crypto.SHA512, protocommon.HashAlgorithm_SHA2_512},
}

// supportedDigests are the algorithms' names, in digestAlgs' order.
var supportedDigests = func() []string {
	var names []string
	for _, d := range digestAlgs {
		names = append(names, d.name)
	}
	return names
}()

// digestByName returns the algorithm named name ("sha256", ...).
func digestByName(name string) (digestAlg, bool) {
	i := slices.IndexFunc(digestAlgs, func(d digestAlg) bool { return d.name == name })
	if i < 0 {
		return digestAlg{}, false
	}
	return digestAlgs[i], true
}

// digestByHash returns the algorithm of h.
func digestByHash(h crypto.Hash) (digestAlg, bool) {
	i := slices.IndexFunc(digestAlgs, func(d digestAlg) bool { return d.hash == h })
	if i < 0 {
		return digestAlg{}, false
	}
	return digestAlgs[i], true
}

// digestByProto returns the algorithm a bundle names p.
func digestByProto(p protocommon.HashAlgorithm) (digestAlg, bool) {
	i := slices.IndexFunc(digestAlgs, func(d digestAlg) bool { return d.proto == p })
	if i < 0 {
		return digestAlg{}, false
	}
	return digestAlgs[i], true
}

func newHash(alg string) (hash.Hash, error) {
	d, ok := digestByName(alg)
	if !ok {
		return nil, fmt.Errorf("unsupported digest algorithm %q", alg)
	}
	return d.hash.New(), nil
}

// hashWith streams r through h with HashReader's pipeline and buffers.
func hashWith(r io.Reader, h crypto.Hash) ([]byte, error) {
	d, ok := digestByHash(h)
	if !ok {
		return nil, fmt.Errorf("unsupported digest algorithm %v", h)
	}
	sums, err := hashReader(r, []string{d.name}, -1)
	if err != nil {
		return nil, err
	}
	return sums[d.name], nil
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
	da, supported := digestByName(alg)
	if !found || !supported {
		return Artifact{}, false, nil
	}
	d, err := hex.DecodeString(hexd)
	if err != nil || len(d) != da.hash.Size() {
		return Artifact{}, true, fmt.Errorf("%q is not a %s digest: want %d hex digits", arg, alg, 2*da.hash.Size())
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
