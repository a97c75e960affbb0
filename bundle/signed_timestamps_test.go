package bundle

import (
	"encoding/json"
	"errors"
	"os"
	"slices"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/root"
)

// TestCertificateOnSignedTimestamps: a GitHub private-instance attestation
// (sigstore-java's github-private-no-tlog: a certificate, RFC 3161
// timestamps from GitHub's TSA, no log entry, no SCT) with GitHub's
// trusted root. Refused by default; verified under cosign's
// --insecure-ignore-tlog --use-signed-timestamps --insecure-ignore-sct,
// with each waiver in the warnings; refused when a waiver is missing,
// when the artifact differs, or when the trust source has no TSA.
func TestCertificateOnSignedTimestamps(t *testing.T) {
	const dir = "../testdata/ecosystem/sigstore-java/github-private-no-tlog/"
	var c struct{ Identity, Issuer, Artifact, Type string }
	raw, err := os.ReadFile(dir + "case.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	gh, err := root.NewTrustedRootFromPath("../testdata/ecosystem/roots/github.json")
	if err != nil {
		t.Fatal(err)
	}
	run := func(tm root.TrustedMaterial, artifact string, tlog, signed, sct bool) (*Result, error) {
		t.Helper()
		p := Policy{CertificateIdentity: c.Identity, CertificateOIDCIssuer: c.Issuer, PredicateType: c.Type, Attestation: true,
			InsecureIgnoreTlogUnsafe: tlog, UseSignedTimestamps: signed, InsecureIgnoreSCTUnsafe: sct}
		v, err := NewVerifier(Trust{Sources: []TrustSource{{Name: "github", Material: tm}}}, p, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return v.VerifyFile(Item{Artifact: artifact, Evidence: dir + "bundle.sigstore.json"})
	}

	r, err := run(gh, c.Artifact, true, true, true)
	if err != nil {
		t.Fatalf("with the three waivers: %v", err)
	}
	for _, w := range []string{insecureTlogCertWarning, insecureSCTWarning} {
		if !slices.Contains(r.Warnings, w) {
			t.Errorf("warnings %q lack %q", r.Warnings, w)
		}
	}
	if len(r.Times) != 1 || r.Times[0].Type != "TimestampAuthority" {
		t.Errorf("times %+v, want the one RFC 3161 timestamp", r.Times)
	}

	for _, tc := range []struct {
		name              string
		tm                root.TrustedMaterial
		artifact          string
		tlog, signed, sct bool
		want              Reason
	}{
		{"no waiver", gh, c.Artifact, false, false, false, ReasonNoTlogEntry},
		{"--insecure-ignore-tlog alone (keys only)", gh, c.Artifact, true, false, true, ReasonNoTlogEntry},
		{"--use-signed-timestamps alone", gh, c.Artifact, false, true, true, ReasonNoTlogEntry},
		{"the SCT still required", gh, c.Artifact, true, true, false, ReasonSCTInvalid},
		{"another artifact", gh, "sha256:" + "00000000000000000000000000000000000000000000000000000000000000ff", true, true, true, ReasonDigestMismatch},
		{"no TSA in the trust source", noTSA{gh}, c.Artifact, true, true, true, ReasonNoSigningTime},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := run(tc.tm, tc.artifact, tc.tlog, tc.signed, tc.sct)
			if !errors.Is(err, ErrRejected) || ReasonOf(err) != tc.want {
				t.Errorf("err %v (reason %q), want a %s rejection", err, ReasonOf(err), tc.want)
			}
		})
	}
}

// noTSA is trusted material without its timestamping authorities.
type noTSA struct{ root.TrustedMaterial }

func (noTSA) TimestampingAuthorities() []root.TimestampingAuthority { return nil }
