package bundle

import (
	"bytes"
	"crypto"
	"testing"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
)

// TestDigestAlgs: the one table translates every way between names,
// crypto.Hash and the protobuf HashAlgorithm, and knows nothing else.
func TestDigestAlgs(t *testing.T) {
	for _, d := range digestAlgs {
		if !d.hash.Available() {
			t.Errorf("%s: %v not linked in", d.name, d.hash)
		}
		if got, ok := digestByName(d.name); !ok || got != d {
			t.Errorf("by name %q: %v %v", d.name, got, ok)
		}
		if got, ok := digestByHash(d.hash); !ok || got != d {
			t.Errorf("by hash %v: %v %v", d.hash, got, ok)
		}
		if got, ok := digestByProto(d.proto); !ok || got != d {
			t.Errorf("by proto %v: %v %v", d.proto, got, ok)
		}
		h, err := newHash(d.name)
		if err != nil || h.Size() != d.hash.Size() {
			t.Errorf("newHash(%q): %v", d.name, err)
		}
	}
	if _, ok := digestByName("sha1"); ok {
		t.Error("sha1 known")
	}
	if _, ok := digestByHash(crypto.SHA1); ok {
		t.Error("crypto.SHA1 known")
	}
	if _, ok := digestByProto(protocommon.HashAlgorithm_HASH_ALGORITHM_UNSPECIFIED); ok {
		t.Error("HASH_ALGORITHM_UNSPECIFIED known")
	}
	if len(supportedDigests) != len(digestAlgs) {
		t.Errorf("supportedDigests %v", supportedDigests)
	}
}

// TestHashWith: one algorithm through HashReader's pipeline, as signing
// hashes a file, for sizes around the pipeline's buffer.
func TestHashWith(t *testing.T) {
	for _, n := range []int{0, 1, hashBufferSize - 1, hashBufferSize, 3*hashBufferSize + 7} {
		data := bytes.Repeat([]byte{0x5a}, n)
		for _, d := range digestAlgs {
			got, err := hashWith(bytes.NewReader(data), d.hash)
			h := d.hash.New()
			h.Write(data)
			if err != nil || !bytes.Equal(got, h.Sum(nil)) {
				t.Errorf("%s over %d bytes: %x, %v", d.name, n, got, err)
			}
		}
	}
	if _, err := hashWith(bytes.NewReader(nil), crypto.SHA1); err == nil {
		t.Error("SHA-1 hashed")
	}
}
