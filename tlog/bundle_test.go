package tlog_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"testing"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"
	"google.golang.org/protobuf/proto"

	"github.com/airlock-project/airlock/tlog"
)

// trustedRoot is the trusted_root.json a site exports for its log.
func trustedRoot(t *testing.T, key *tlog.LogKey) *root.TrustedRoot {
	t.Helper()
	js := fmt.Sprintf(`{
  "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
  "tlogs": [{
    "baseUrl": "https://%s",
    "hashAlgorithm": "SHA2_256",
    "publicKey": {"rawBytes": %q, "keyDetails": "PKIX_ECDSA_P256_SHA_256", "validFor": {"start": "2026-01-01T00:00:00Z"}},
    "logId": {"keyId": %q}
  }]
}`, origin, base64.StdEncoding.EncodeToString(key.DER), base64.StdEncoding.EncodeToString(key.ID[:]))
	tr, err := root.NewTrustedRootFromJSON([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func keyMaterial(t *testing.T, pub crypto.PublicKey) root.TrustedMaterial {
	t.Helper()
	v, err := signature.LoadVerifier(pub, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
		return root.NewExpiringKey(v, t0.AddDate(-1, 0, 0), t0.AddDate(1, 0, 0)), nil
	})
}

func hint(t *testing.T, pub crypto.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	return base64.StdEncoding.EncodeToString(sum[:])
}

func sgbundleNew(pb *protobundle.Bundle) (*sgbundle.Bundle, error) { return sgbundle.NewBundle(pb) }

func verifyBundle(t *testing.T, pb *protobundle.Bundle, tm root.TrustedMaterial, artifact sgverify.ArtifactPolicyOption) error {
	t.Helper()
	b, err := sgbundle.NewBundle(pb)
	if err != nil {
		return err
	}
	v, err := sgverify.NewVerifier(tm, sgverify.WithTransparencyLog(1), sgverify.WithIntegratedTimestamps(1))
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.Verify(b, sgverify.NewPolicy(artifact, sgverify.WithKey()))
	return err
}

// TestBundlesVerifyWithSigstoreGo logs a message signature and a DSSE
// envelope in a site log, makes v0.3 bundles of them and has sigstore-go
// verify them against a trusted root that lists the log key; then breaks
// each logged field in turn.
func TestBundlesVerifyWithSigstoreGo(t *testing.T) {
	ctx := context.Background()
	tl := newLog(t)
	tl.append(t, bodies(0, 5)) // the entries are not the first ones
	signer := ecKey(t, elliptic.P256())
	tm := root.TrustedMaterialCollection{trustedRoot(t, tl.log.Key()), keyMaterial(t, &signer.PublicKey)}

	artifact := []byte("hello, site log")
	digest := sha256.Sum256(artifact)
	sig, err := signer.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	hrBody, err := tlog.HashedRekordBody(sig, crypto.SHA256, digest[:], tlog.Verifier{PublicKey: &signer.PublicKey})
	if err != nil {
		t.Fatal(err)
	}
	statement := []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"hello","digest":{"sha256":"` + fmt.Sprintf("%x", digest) + `"}}],"predicateType":"https://example.com/p","predicate":{}}`)
	env, dsseSigs := dsseEnvelope(t, "application/vnd.in-toto+json", statement, signer)
	dsseBody, err := tlog.DSSEBody(env, statement, []tlog.DSSESignature{{Sig: dsseSigs[0], Verifier: tlog.Verifier{PublicKey: &signer.PublicKey}}})
	if err != nil {
		t.Fatal(err)
	}
	batch := tl.append(t, [][]byte{hrBody, dsseBody})
	older := tl.append(t, bodies(7, 3)) // another tree's checkpoint, for the mismatch cases

	vm := func(tle *protorekor.TransparencyLogEntry) *protobundle.VerificationMaterial {
		return &protobundle.VerificationMaterial{
			Content:     &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{Hint: hint(t, &signer.PublicKey)}},
			TlogEntries: []*protorekor.TransparencyLogEntry{tle},
		}
	}
	msgBundle := func(tle *protorekor.TransparencyLogEntry) *protobundle.Bundle {
		return &protobundle.Bundle{
			MediaType:            "application/vnd.dev.sigstore.bundle.v0.3+json",
			VerificationMaterial: vm(tle),
			Content: &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
				MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: digest[:]},
				Signature:     sig,
			}},
		}
	}
	dsseBundle := func(tle *protorekor.TransparencyLogEntry) *protobundle.Bundle {
		return &protobundle.Bundle{
			MediaType:            "application/vnd.dev.sigstore.bundle.v0.3+json",
			VerificationMaterial: vm(tle),
			Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
				Payload: statement, PayloadType: "application/vnd.in-toto+json",
				Signatures: []*protodsse.Signature{{Sig: dsseSigs[0]}},
			}},
		}
	}
	hrEntry, err := batch.TransparencyLogEntry(0)
	if err != nil {
		t.Fatal(err)
	}
	dsseEntry, err := batch.TransparencyLogEntry(1)
	if err != nil {
		t.Fatal(err)
	}
	if hrEntry.LogIndex != 5 || dsseEntry.LogIndex != 6 || dsseEntry.KindVersion.Kind != "dsse" {
		t.Fatalf("entries %d %d %v", hrEntry.LogIndex, dsseEntry.LogIndex, dsseEntry.KindVersion)
	}
	byDigest := sgverify.WithArtifactDigest("sha256", digest[:])
	if err := verifyBundle(t, msgBundle(hrEntry), tm, sgverify.WithArtifact(bytes.NewReader(artifact))); err != nil {
		t.Fatalf("message signature bundle: %v", err)
	}
	if err := verifyBundle(t, dsseBundle(dsseEntry), tm, byDigest); err != nil {
		t.Fatalf("dsse bundle: %v", err)
	}

	// A proof served later by the log, against its latest checkpoint,
	// verifies as well.
	p, err := tl.log.InclusionProof(ctx, 5, 0)
	if err != nil {
		t.Fatal(err)
	}
	e, err := tl.log.Entry(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	head, err := tl.log.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	later, err := tlog.TransparencyLogEntry(e, tl.log.Key().ID, p, head)
	if err != nil {
		t.Fatal(err)
	}
	if later.InclusionProof.TreeSize != 10 {
		t.Fatalf("later proof in a tree of %d", later.InclusionProof.TreeSize)
	}
	if err := verifyBundle(t, msgBundle(later), tm, byDigest); err != nil {
		t.Fatalf("message signature bundle with a later proof: %v", err)
	}
	if _, err := tlog.TransparencyLogEntry(e, tl.log.Key().ID, p, &batch.Checkpoint); err == nil {
		t.Error("TransparencyLogEntry paired a proof with another tree's checkpoint")
	}

	other := newLog(t)
	for _, c := range []struct {
		name   string
		dsse   bool
		mutate func(*protorekor.TransparencyLogEntry)
	}{
		{"body_of_another_entry", false, func(e *protorekor.TransparencyLogEntry) { e.CanonicalizedBody = dsseBody }},
		{"body_digest_changed", false, func(e *protorekor.TransparencyLogEntry) {
			e.CanonicalizedBody = bytes.Replace(e.CanonicalizedBody, []byte(fmt.Sprintf("%x", digest[:4])), []byte("00000000"), 1)
		}},
		{"dsse_body_payload_hash_changed", true, func(e *protorekor.TransparencyLogEntry) {
			// The hash of another statement: the body still parses.
			want, other := sha256.Sum256(statement), sha256.Sum256(append(statement, ' '))
			e.CanonicalizedBody = bytes.Replace(e.CanonicalizedBody, fmt.Appendf(nil, "%x", want), fmt.Appendf(nil, "%x", other), 1)
		}},
		{"set_flipped", false, func(e *protorekor.TransparencyLogEntry) { e.InclusionPromise.SignedEntryTimestamp[10] ^= 1 }},
		{"set_of_another_entry", false, func(e *protorekor.TransparencyLogEntry) {
			e.InclusionPromise.SignedEntryTimestamp = batch.Entries[1].SET
		}},
		{"integrated_time_changed", false, func(e *protorekor.TransparencyLogEntry) { e.IntegratedTime++ }},
		{"log_index_changed", false, func(e *protorekor.TransparencyLogEntry) { e.LogIndex++ }},
		{"proof_hash_flipped", false, func(e *protorekor.TransparencyLogEntry) { e.InclusionProof.Hashes[0][0] ^= 1 }},
		{"proof_index_changed", false, func(e *protorekor.TransparencyLogEntry) { e.InclusionProof.LogIndex++ }},
		{"proof_of_older_checkpoint", false, func(e *protorekor.TransparencyLogEntry) {
			e.InclusionProof.Checkpoint.Envelope = string(older.Checkpoint.Note)
		}},
		{"root_hash_not_checkpoints", false, func(e *protorekor.TransparencyLogEntry) { e.InclusionProof.RootHash[0] ^= 1 }},
		{"checkpoint_signed_by_another_log", false, func(e *protorekor.TransparencyLogEntry) {
			cp, err := tlog.SignCheckpoint(batch.Checkpoint.Checkpoint, other.log.Key(), other.key)
			if err != nil {
				t.Fatal(err)
			}
			e.InclusionProof.Checkpoint.Envelope = string(cp)
		}},
		{"log_id_of_another_log", false, func(e *protorekor.TransparencyLogEntry) { e.LogId.KeyId = other.log.Key().ID[:] }},
	} {
		t.Run(c.name, func(t *testing.T) {
			src, b := hrEntry, msgBundle
			if c.dsse {
				src, b = dsseEntry, dsseBundle
			}
			e := proto.Clone(src).(*protorekor.TransparencyLogEntry)
			c.mutate(e)
			err := verifyBundle(t, b(e), tm, byDigest)
			if err == nil {
				t.Fatal("sigstore-go accepted the bundle")
			}
			t.Logf("rejected: %v", err)
		})
	}
}
