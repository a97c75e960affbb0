package bundle

import (
	"encoding/json"
	"os"
	"testing"
)

// manyEntriesBundle is the happy-path v0.3 bundle with its log entry
// repeated n times: far over sigstore-go's limit of 32, so only
// ParseBundleUnchecked (bundle inspect of an invalid bundle) reads it.
func manyEntriesBundle(tb testing.TB, n int) []byte {
	tb.Helper()
	data, err := os.ReadFile("../testdata/conformance/bundle-verify/happy-path-v0.3/bundle.sigstore.json")
	if err != nil {
		tb.Fatal(err)
	}
	var b map[string]any
	if err := json.Unmarshal(data, &b); err != nil {
		tb.Fatal(err)
	}
	vm := b["verificationMaterial"].(map[string]any)
	e := vm["tlogEntries"].([]any)[0]
	entries := make([]any, n)
	for i := range entries {
		entries[i] = e
	}
	vm["tlogEntries"] = entries
	out, err := json.Marshal(b)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// TestInspectUncheckedManyEntries: an invalid bundle with thousands of log
// entries is described entry by entry. The defect: Inspect rebuilt every
// entry's summary for each entry (quadratic), which validation used to
// hide behind its limit of 32 entries; bundle inspect of such a bundle
// took seconds. BenchmarkInspectManyEntries measures it.
func TestInspectUncheckedManyEntries(t *testing.T) {
	const n = 4000
	if _, err := ParseBundle(manyEntriesBundle(t, n)); err == nil {
		t.Fatal("ParseBundle accepted 4000 log entries")
	}
	b, err := ParseBundleUnchecked(manyEntriesBundle(t, n))
	if err != nil {
		t.Fatal(err)
	}
	in := Inspect(b)
	if got, want := len(in.LogEntries), n; got != want {
		t.Fatalf("%d log entries, want %d", got, want)
	}
	for i, le := range in.LogEntries {
		if le.Index != 79571823 || le.Proof == nil || le.Origin == "" {
			t.Fatalf("entry %d = %+v", i, le)
		}
	}
}

func BenchmarkInspectManyEntries(b *testing.B) {
	bb, err := ParseBundleUnchecked(manyEntriesBundle(b, 4000))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		Inspect(bb)
	}
}
