package bundle

import (
	"context"
	"errors"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
)

// cancelOnRead cancels a context when it is first read, then reads r.
type cancelOnRead struct {
	cancel context.CancelFunc
	r      io.Reader
}

func (c *cancelOnRead) Read(p []byte) (int, error) {
	c.cancel()
	return c.r.Read(p)
}

// TestVerifyFilesCancelled: once the context is done no further item
// starts; the items left are not checked (ErrNotChecked and the cause, no
// Result), never verified. Items already started run to their end.
func TestVerifyFilesCancelled(t *testing.T) {
	bc := loadBenchCase(t)
	a, err := os.ReadFile("../testdata/conformance/bundle-verify/a.txt")
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(Trust{Sources: []TrustSource{{Name: "pg", Material: bc.tr}}},
		Policy{CertificateIdentity: conformanceID, CertificateOIDCIssuer: conformanceIss}, Options{CacheCertificates: true})
	if err != nil {
		t.Fatal(err)
	}
	evidence := "../testdata/conformance/bundle-verify/happy-path-v0.3/bundle.sigstore.json"

	// Cancelled before the batch: nothing is checked.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	items := []Item{{Artifact: "a.txt", ArtifactReader: strings.NewReader(string(a)), Evidence: evidence}, {Artifact: "../testdata/conformance/bundle-verify/a.txt", Evidence: evidence}}
	for i, r := range v.VerifyFiles(ctx, items) {
		if !errors.Is(r.Err, ErrNotChecked) || !errors.Is(r.Err, context.Canceled) || r.Result != nil {
			t.Errorf("item %d of a cancelled batch: %v, %v", i, r.Result, r.Err)
		}
	}

	// Cancelled by the first items read: every item that started reads
	// its artifact and cancels, so no more than GOMAXPROCS start.
	ctx, cancel = context.WithCancel(t.Context())
	defer cancel()
	items = nil
	for range 32 {
		items = append(items, Item{Artifact: "a.txt", ArtifactReader: &cancelOnRead{cancel, strings.NewReader(string(a))}, Evidence: evidence})
	}
	ran := 0
	for i, r := range v.VerifyFiles(ctx, items) {
		switch {
		case errors.Is(r.Err, ErrNotChecked):
			if r.Result != nil {
				t.Errorf("item %d not checked, with a Result %+v", i, r.Result)
			}
		case r.Err == nil && r.Result != nil && r.Result.Verified:
			ran++ // started before the cancellation: verified as it stands
		default:
			t.Errorf("item %d: %+v, %v", i, r.Result, r.Err)
		}
	}
	if ran < 1 || ran > runtime.GOMAXPROCS(0) {
		t.Errorf("%d items ran, want 1 to %d", ran, runtime.GOMAXPROCS(0))
	}
}
