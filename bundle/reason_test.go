package bundle

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// TestConformanceFailReasons pins the reason each failing conformance
// vector is rejected for. The reasons come from which step failed (see
// classify), so a reworded sigstore-go message cannot change them; a
// change of sigstore-go's steps shows up here.
func TestConformanceFailReasons(t *testing.T) {
	want := map[string]Reason{
		"bundle-empty-certificate-chain_fail":                    ReasonMalformedBundle,
		"bundle-invalid-base64-signature_fail":                   ReasonMalformedBundle,
		"bundle-malformed-json_fail":                             ReasonMalformedBundle,
		"bundle-negative-log-index_fail":                         ReasonMalformedBundle,
		"bundle-unknown-version_fail":                            ReasonMalformedBundle,
		"checkpoint-wrong-roothash_fail":                         ReasonTlogEntryInconsistent, // its checkpoint is of another tree: the proof's treeSize says so
		"dsse-invalid-sig_fail":                                  ReasonTlogEntryMismatch,
		"dsse-mismatch-envelope_fail":                            ReasonTlogEntryMismatch,
		"inclusion-proof-corrupted-hash_fail":                    ReasonInclusionProofInvalid,
		"incorrect-public-key_fail":                              ReasonMalformedBundle,
		"intoto-expired-certificate_fail":                        ReasonOutsideValidity,
		"intoto-log-entry-mismatch_fail":                         ReasonMalformedBundle,
		"intoto-missing-inclusion-proof_fail":                    ReasonMalformedBundle,
		"intoto-set-outside-signing-cert-validity_fail":          ReasonOutsideValidity,
		"invalid-checkpoint-signature_fail":                      ReasonCheckpointInvalid,
		"invalid-ct-key_fail":                                    ReasonSCTInvalid,
		"invalid-inclusion-proof_fail":                           ReasonMalformedBundle,
		"managed-key-no-key_fail":                                ReasonSignedWithKey,
		"managed-key-wrong-key_fail":                             ReasonKeyInvalid,
		"message-digest-mismatch_fail":                           ReasonTlogEntryMismatch,
		"rekor2-checkpoint-missing-log-signature_fail":           ReasonCheckpointInvalid,
		"rekor2-checkpoint-missing-origin_fail":                  ReasonCheckpointInvalid,
		"rekor2-checkpoint-missing-size_fail":                    ReasonCheckpointInvalid,
		"rekor2-checkpoint-no-matching-signature_fail":           ReasonCheckpointInvalid,
		"rekor2-dsse-invalid-sig_fail":                           ReasonTlogEntryMismatch,
		"rekor2-dsse-mismatch-envelope_fail":                     ReasonTlogEntryMismatch,
		"rekor2-dsse-mismatch-sig_fail":                          ReasonTlogEntryMismatch,
		"rekor2-no-inclusion-proof_fail":                         ReasonMalformedBundle,
		"rekor2-no-timestamp_fail":                               ReasonNoSigningTime,
		"rekor2-timestamp-outside-trust-root-tsa-validity_fail":  ReasonTimestampUnverified,
		"rekor2-timestamp-outside-tsa-cert-validity_fail":        ReasonTimestampUnverified,
		"rekor2-timestamp-payload-mismatch_fail":                 ReasonTimestampUnverified,
		"rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail": ReasonTimestampUnverified,
		"rekor2-timestamp-with-incorrect-time_fail":              ReasonMalformedBundle,
		"signature-mismatch_fail":                                ReasonTlogEntryMismatch,
		"trust-root-tlog-missing-validity-start_fail":            ReasonTrustedRootInvalid,
		"wrong-hashedrekord-artifact_fail":                       ReasonTlogEntryMismatch,
		"wrong-hashedrekord-entry_fail":                          ReasonTlogEntryMismatch,
		"wrong-material_fail":                                    ReasonDigestMismatch,
	}
	const dir = "../testdata/conformance/bundle-verify/"
	vectors, err := filepath.Glob(dir + "*_fail")
	if err != nil || len(vectors) == 0 {
		t.Fatal("no conformance vectors", err)
	}
	for _, vec := range vectors {
		name := filepath.Base(vec)
		t.Run(name, func(t *testing.T) {
			w, ok := want[name]
			if !ok {
				t.Fatalf("vector %s has no expected reason: add it", name)
			}
			var tm root.TrustedMaterial = publicGood(t)
			if _, err := os.Stat(vec + "/trusted_root.json"); err == nil {
				tr, err := root.NewTrustedRootFromPath(vec + "/trusted_root.json")
				if err != nil {
					// A trusted root that does not load is the rejection
					// (the command line's trusted-root-invalid).
					if w != ReasonTrustedRootInvalid {
						t.Fatalf("trusted root: %v", err)
					}
					return
				}
				tm = tr
			}
			p := Policy{CertificateIdentity: conformanceID, CertificateOIDCIssuer: conformanceIss}
			if name == "managed-key-wrong-key_fail" {
				// Its key.pub is not a P-256 point: the command line's
				// key-invalid, before any bundle is read.
				pem, err := os.ReadFile(vec + "/key.pub")
				if err != nil {
					t.Fatal(err)
				}
				if _, err := cryptoutils.UnmarshalPEMToPublicKey(pem); err == nil {
					t.Fatal("the wrong key parses")
				}
				return
			}
			v, err := NewVerifier(Trust{Sources: []TrustSource{{Name: "root", Material: tm}}}, p, Options{})
			if err != nil {
				t.Fatal(err)
			}
			artifact := dir + "a.txt"
			if _, err := os.Stat(vec + "/artifact"); err == nil {
				artifact = vec + "/artifact"
			}
			r, err := v.VerifyFile(Item{Artifact: artifact, Evidence: vec + "/bundle.sigstore.json"})
			if !errors.Is(err, ErrRejected) {
				t.Fatalf("err = %v, want a rejection", err)
			}
			if got := ReasonOf(err); got != w || r.Reason != w {
				t.Errorf("reason %q (result %q), want %q: %v", got, r.Reason, w, err)
			}
		})
	}
}

// TestEveryReasonListed checks that Reasons lists each code once.
func TestEveryReasonListed(t *testing.T) {
	seen := map[Reason]bool{}
	for _, r := range Reasons {
		if seen[r] || r == "" {
			t.Errorf("reason %q listed twice or empty", r)
		}
		seen[r] = true
	}
}

// TestPolicyReasons: rejections that depend on the policy or the trusted
// root rather than on a defect of the vector.
func TestPolicyReasons(t *testing.T) {
	const dir = "../testdata/conformance/bundle-verify/"
	other, err := root.NewTrustedRootFromPath(dir + "intoto-with-custom-trust-root/trusted_root.json")
	if err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(dir + "managed-key-happy-path/key.pub")
	if err != nil {
		t.Fatal(err)
	}
	key, err := cryptoutils.UnmarshalPEMToPublicKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		evidence string
		tm       root.TrustedMaterial
		p        Policy
		want     Reason
		artifact string // default a.txt
	}{
		{"another artifact", "happy-path-v0.3", publicGood(t),
			Policy{CertificateIdentity: conformanceID, CertificateOIDCIssuer: conformanceIss}, ReasonDigestMismatch, "README.md"},
		{"another key", "managed-key-happy-path", publicGood(t),
			Policy{Key: stranger.Public()}, ReasonTlogEntryMismatch, ""},
		{"another identity", "happy-path-v0.3", publicGood(t),
			Policy{CertificateIdentity: "someone@example.com", CertificateOIDCIssuer: conformanceIss}, ReasonIdentityMismatch, ""},
		{"another issuer", "happy-path-v0.3", publicGood(t),
			Policy{CertificateIdentity: conformanceID, CertificateOIDCIssuer: "https://example.com"}, ReasonIdentityMismatch, ""},
		{"a trusted root without the bundle's log", "happy-path-v0.3", other,
			Policy{CertificateIdentity: conformanceID, CertificateOIDCIssuer: conformanceIss}, ReasonNoLogInTrustedRoot, ""},
		{"a key bundle checked against an identity", "managed-key-happy-path", publicGood(t),
			Policy{CertificateIdentity: conformanceID, CertificateOIDCIssuer: conformanceIss}, ReasonSignedWithKey, ""},
		{"a certificate bundle checked against a key", "happy-path-v0.3", publicGood(t),
			Policy{Key: key}, ReasonSignedWithCertificate, ""},
		{"a message signature as an attestation", "happy-path-v0.3", publicGood(t),
			Policy{CertificateIdentity: conformanceID, CertificateOIDCIssuer: conformanceIss, Attestation: true}, ReasonNotAttestation, ""},
		{"another predicate type", "happy-path-intoto-in-dsse-v3", publicGood(t),
			Policy{CertificateIdentity: conformanceID, CertificateOIDCIssuer: conformanceIss, PredicateType: PredicateSPDX}, ReasonPredicateTypeMismatch, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := NewVerifier(Trust{Sources: []TrustSource{{Name: "root", Material: tc.tm}}}, tc.p, Options{})
			if err != nil {
				t.Fatal(err)
			}
			artifact := dir + "a.txt"
			if tc.artifact != "" {
				artifact = dir + tc.artifact
			}
			_, err = v.VerifyFile(Item{Artifact: artifact, Evidence: dir + tc.evidence + "/bundle.sigstore.json"})
			if got := ReasonOf(err); got != tc.want {
				t.Errorf("reason %q, want %q: %v", got, tc.want, err)
			}
			var pe *PredicateTypeError
			if tc.want == ReasonPredicateTypeMismatch && (!errors.As(err, &pe) || pe.Want != PredicateSPDX) {
				t.Errorf("err %v does not carry the predicate types", err)
			}
		})
	}
}

// TestReasonTrustDecides: only rejections trusted material decides (no
// log, CA, CT log or TSA for the evidence in the trust used) may become
// "not judged" when trust was set aside as too old; a defect of the
// evidence never does.
func TestReasonTrustDecides(t *testing.T) {
	want := map[Reason]bool{
		ReasonNoLogInTrustedRoot: true, ReasonCertificateChainInvalid: true, ReasonSCTInvalid: true,
		ReasonTlogUnverified: true, ReasonTimestampUnverified: true, ReasonNoSigningTime: true,
	}
	for _, r := range Reasons {
		if got := r.TrustDecides(); got != want[r] {
			t.Errorf("%s.TrustDecides() = %v, want %v", r, got, want[r])
		}
	}
}

// TestLogBundleErrorKeepsReason: a rejection from the bundle beside a
// detached signature is still a rejection with its reason, and tells
// which bundle.
func TestLogBundleErrorKeepsReason(t *testing.T) {
	err := error(&LogBundleError{Bundle: "b.json", Err: Rejectf(ReasonLogBundleMismatch, "it holds another signature")})
	var lbe *LogBundleError
	if !errors.Is(err, ErrRejected) || ReasonOf(err) != ReasonLogBundleMismatch || !errors.As(err, &lbe) || lbe.Bundle != "b.json" {
		t.Errorf("%v: rejected %v, reason %q", err, errors.Is(err, ErrRejected), ReasonOf(err))
	}
	if got, want := err.Error(), `bundle "b.json": it holds another signature`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
