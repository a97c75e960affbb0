package bundle

import (
	"encoding/base64"
	"os"
	"testing"
)

func TestSniffEvidence(t *testing.T) {
	bundleJSON, err := os.ReadFile("../testdata/conformance/bundle-verify/happy-path-v0.3/bundle.sigstore.json")
	if err != nil {
		t.Fatal(err)
	}
	env := `{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"sig":"MEUCIQ=="}]}`
	for _, tc := range []struct {
		name string
		data string
		want EvidenceForm
	}{
		{"bundle", string(bundleJSON), FormBundle},
		{"detached signature", "MEQCIClKg51u+7hi4R/SKhu6E3Ss7EYoix/ROWShQAG4/PKaAiAkx+MvV+MgwWqQ71JE/08+FCoS6gAL4Xnwx+ookrhjUQ==\n", FormSignature},
		{"envelope JSON", env, FormEnvelope},
		{"envelope base64", base64.StdEncoding.EncodeToString([]byte(env)), FormEnvelope},
		{"gzip", "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xcb\x48", FormNotText},
		{"prose", "this is not a bundle!", FormNotText},
		{"other JSON", `{"a": 1}`, FormUnknown},
		{"empty", "", FormUnknown},
	} {
		if got := SniffEvidence([]byte(tc.data)); got != tc.want {
			t.Errorf("%s: form %d, want %d", tc.name, got, tc.want)
		}
	}
	if EvidenceBundle.Fits(FormSignature) || !EvidenceSignature.Fits(FormSignature) || EvidenceSignature.Fits(FormEnvelope) ||
		!EvidenceAttestation.Fits(FormEnvelope) || EvidenceBundle.Fits(FormNotText) || !EvidenceBundle.Fits(FormUnknown) {
		t.Error("Fits does not match the kinds' forms")
	}
}

// TestNotBundleReason: a file that is not JSON is said to be what it
// looks like, not as the JSON parser's syntax error.
func TestNotBundleReason(t *testing.T) {
	_, err := ParseBundle([]byte("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xcb\x48"))
	if got, want := err.Error(), "not a valid Sigstore bundle: the file is application/x-gzip data, not JSON"; got != want {
		t.Errorf("err %q, want %q", got, want)
	}
	if ReasonOf(err) != ReasonMalformedBundle {
		t.Errorf("reason %q", ReasonOf(err))
	}
}
