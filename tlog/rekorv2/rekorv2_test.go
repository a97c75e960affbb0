package rekorv2_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/airlock-project/airlock/tlog/rekorv2"
	"github.com/airlock-project/airlock/tlog/rekorv2/rekortest"
)

// signer is a software ECDSA P-256 signing key.
type signer struct {
	key  *ecdsa.PrivateKey
	hint string
}

func newSigner(t testing.TB) *signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(der)
	return &signer{key: k, hint: hex.EncodeToString(h[:])}
}

// hashedRekord signs data and returns the request with its digest.
func (s *signer) hashedRekord(t testing.TB, data []byte) (*rekorv2.Request, []byte) {
	t.Helper()
	d := sha256.Sum256(data)
	sig, err := ecdsa.SignASN1(rand.Reader, s.key, d[:])
	if err != nil {
		t.Fatal(err)
	}
	req, err := rekorv2.NewHashedRekord(d[:], sig, rekorv2.Verifier{PublicKey: s.key.Public()})
	if err != nil {
		t.Fatal(err)
	}
	return req, d[:]
}

func submit(t testing.TB, srv *rekortest.Server, req *rekorv2.Request) *protorekor.TransparencyLogEntry {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tle, err := rekorv2.Submit(ctx, srv.URL, req, srv.LogKey, srv.Origin)
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	return tle
}

// trustedRoot is a trusted_root.json listing the server as a Rekor v2 log:
// baseUrl http://ORIGIN (sigstore-go takes the checkpoint origin from its
// host), the log key and logId = LogID(origin, key).
func trustedRoot(t testing.TB, srv *rekortest.Server) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(srv.LogKey)
	if err != nil {
		t.Fatal(err)
	}
	id, err := rekorv2.LogID(srv.Origin, srv.LogKey)
	if err != nil {
		t.Fatal(err)
	}
	tr := map[string]any{
		"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
		"tlogs": []any{map[string]any{
			"baseUrl":       "http://" + srv.Origin,
			"hashAlgorithm": "SHA2_256",
			"publicKey": map[string]any{
				"rawBytes":   base64.StdEncoding.EncodeToString(der),
				"keyDetails": "PKIX_ECDSA_P256_SHA_256",
				"validFor":   map[string]any{"start": "2020-01-01T00:00:00Z"},
			},
			"logId": map[string]any{"keyId": base64.StdEncoding.EncodeToString(id)},
		}},
	}
	b, err := json.Marshal(tr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// verifyOffline round-trips the bundle through JSON and verifies it with
// sigstore-go v1.3.0, no network: the trusted root from trustedRoot plus
// the signing key, the time taken as now.
func verifyOffline(t testing.TB, srv *rekortest.Server, s *signer, pb *protobundle.Bundle, artifactDigest []byte, timeOpt sgverify.VerifierOption) error {
	t.Helper()
	j, err := protojson.Marshal(pb)
	if err != nil {
		t.Fatal(err)
	}
	var b sgbundle.Bundle
	if err := b.UnmarshalJSON(j); err != nil {
		t.Fatalf("bundle does not load: %v", err)
	}
	tr, err := root.NewTrustedRootFromJSON(trustedRoot(t, srv))
	if err != nil {
		t.Fatal(err)
	}
	v, err := signature.LoadVerifier(s.key.Public(), crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	keys := root.NewTrustedPublicKeyMaterialFromMapping(map[string]*root.ExpiringKey{
		s.hint: root.NewExpiringKey(v, time.Time{}, time.Time{}),
	})
	sv, err := sgverify.NewVerifier(root.TrustedMaterialCollection{tr, keys}, sgverify.WithTransparencyLog(1), timeOpt)
	if err != nil {
		t.Fatal(err)
	}
	_, err = sv.Verify(&b, sgverify.NewPolicy(sgverify.WithArtifactDigest("sha256", artifactDigest), sgverify.WithKey()))
	return err
}

func messageBundle(s *signer, digest []byte, req *rekorv2.Request, tle *protorekor.TransparencyLogEntry) *protobundle.Bundle {
	return &protobundle.Bundle{
		MediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content:     &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{Hint: s.hint}},
			TlogEntries: []*protorekor.TransparencyLogEntry{tle},
		},
		Content: &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: digest},
			Signature:     req.Signature(),
		}},
	}
}

func TestSubmitHashedRekordVerifiesOffline(t *testing.T) {
	srv := rekortest.Start(t, rekortest.Options{})
	s := newSigner(t)
	// Two entries, so the second's proof has a hash in it.
	req0, _ := s.hashedRekord(t, []byte("first"))
	tle0 := submit(t, srv, req0)
	req, digest := s.hashedRekord(t, []byte("hello.tgz"))
	tle := submit(t, srv, req)
	if got, want := tle.GetLogIndex(), tle0.GetLogIndex()+1; got != want {
		t.Errorf("log index %d, want %d", got, want)
	}
	if len(tle.GetInclusionProof().GetHashes()) == 0 {
		t.Errorf("second entry's proof has no hashes")
	}
	if tle.GetIntegratedTime() != 0 || tle.GetInclusionPromise() != nil {
		t.Errorf("rekor v2 entry with integratedTime %d, promise %v", tle.GetIntegratedTime(), tle.GetInclusionPromise())
	}

	pb := messageBundle(s, digest, req, tle)
	if err := verifyOffline(t, srv, s, pb, digest, sgverify.WithCurrentTime()); err != nil {
		t.Fatalf("sigstore-go (WithCurrentTime) rejects the bundle: %v", err)
	}
	if err := verifyOffline(t, srv, s, pb, digest, sgverify.WithNoObserverTimestamps()); err != nil {
		t.Fatalf("sigstore-go (WithNoObserverTimestamps) rejects the bundle: %v", err)
	}
	// A Rekor v2 entry carries no signed time: asking for one fails.
	if err := verifyOffline(t, srv, s, pb, digest, sgverify.WithIntegratedTimestamps(1)); err == nil {
		t.Errorf("sigstore-go found an integrated timestamp in a Rekor v2 entry")
	}
	other := sha256.Sum256([]byte("tampered.tgz"))
	if err := verifyOffline(t, srv, s, pb, other[:], sgverify.WithCurrentTime()); err == nil {
		t.Errorf("sigstore-go accepts the bundle for another artifact")
	}
}

// dsseBundle signs an in-toto SPDX statement about artifact, logs it and
// returns the bundle.
func dsseBundle(t testing.TB, srv *rekortest.Server, s *signer, artifact []byte) *protobundle.Bundle {
	t.Helper()
	d := sha256.Sum256(artifact)
	payload := fmt.Appendf(nil, `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"hello.tgz","digest":{"sha256":%q}}],"predicateType":"https://spdx.dev/Document","predicate":{"spdxVersion":"SPDX-2.3"}}`, hex.EncodeToString(d[:]))
	const payloadType = "application/vnd.in-toto+json"
	pae := sha256.Sum256(rekorv2.PAE(payloadType, payload))
	sig, err := ecdsa.SignASN1(rand.Reader, s.key, pae[:])
	if err != nil {
		t.Fatal(err)
	}
	req, err := rekorv2.NewDSSE(payloadType, payload, sig, rekorv2.Verifier{PublicKey: s.key.Public()})
	if err != nil {
		t.Fatal(err)
	}
	tle := submit(t, srv, req)
	return &protobundle.Bundle{
		MediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content:     &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{Hint: s.hint}},
			TlogEntries: []*protorekor.TransparencyLogEntry{tle},
		},
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload: payload, PayloadType: payloadType,
			Signatures: []*protodsse.Signature{{Sig: sig}},
		}},
	}
}

func TestSubmitDSSEVerifiesOffline(t *testing.T) {
	srv := rekortest.Start(t, rekortest.Options{})
	s := newSigner(t)
	pb := dsseBundle(t, srv, s, []byte("hello.tgz"))
	d := sha256.Sum256([]byte("hello.tgz"))
	if err := verifyOffline(t, srv, s, pb, d[:], sgverify.WithCurrentTime()); err != nil {
		t.Fatalf("sigstore-go rejects the DSSE bundle: %v", err)
	}
}

// TestCosignVerifiesBundles runs stock cosign (the binary named by COSIGN,
// as scripts/interop.sh builds it; skipped when unset) on key-signed
// bundles carrying a Rekor v2 entry, with only --key, --bundle and
// --trusted-root.
func TestCosignVerifiesBundles(t *testing.T) {
	cosign := os.Getenv("COSIGN")
	if cosign == "" {
		t.Skip("COSIGN is not set (scripts/interop.sh builds cosign v3.1.3)")
	}
	srv := rekortest.Start(t, rekortest.Options{})
	s := newSigner(t)
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	artifact := []byte("hello.tgz contents")
	art := write("hello.tgz", artifact)
	tampered := write("tampered.tgz", append(artifact, '!'))
	der, err := x509.MarshalPKIXPublicKey(s.key.Public())
	if err != nil {
		t.Fatal(err)
	}
	pub := write("release.pub", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	root := write("trusted_root.json", trustedRoot(t, srv))
	req, digest := s.hashedRekord(t, artifact)
	marshal := func(pb *protobundle.Bundle) []byte {
		j, err := protojson.Marshal(pb)
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	blob := write("hello.tgz.sigstore.json", marshal(messageBundle(s, digest, req, submit(t, srv, req))))
	att := write("hello.tgz.att.sigstore.json", marshal(dsseBundle(t, srv, s, artifact)))
	run := func(args ...string) error {
		cmd := exec.Command(cosign, args...)
		cmd.Env = append(os.Environ(), "TUF_ROOT="+filepath.Join(dir, "tuf"), "HOME="+dir)
		out, err := cmd.CombinedOutput()
		t.Logf("cosign %s:\n%s", strings.Join(args, " "), out)
		return err
	}
	if err := run("verify-blob", "--key", pub, "--bundle", blob, "--trusted-root", root, art); err != nil {
		t.Errorf("cosign verify-blob rejects the Rekor v2 bundle: %v", err)
	}
	if err := run("verify-blob", "--key", pub, "--bundle", blob, "--trusted-root", root, tampered); err == nil {
		t.Errorf("cosign verify-blob accepts the bundle for another artifact")
	}
	// The log entry is what cosign checks: a trusted root listing another
	// key for the log rejects the same bundle.
	otherLog := *srv
	otherLog.LogKey = newSigner(t).key.Public()
	otherRoot := write("trusted_root_other.json", trustedRoot(t, &otherLog))
	if err := run("verify-blob", "--key", pub, "--bundle", blob, "--trusted-root", otherRoot, art); err == nil {
		t.Errorf("cosign verify-blob accepts the bundle against a trusted root with another log key")
	}
	if err := run("verify-blob-attestation", "--key", pub, "--bundle", att, "--trusted-root", root, "--type", "spdxjson", art); err != nil {
		t.Errorf("cosign verify-blob-attestation rejects the Rekor v2 bundle: %v", err)
	}
	if err := run("verify-blob-attestation", "--key", pub, "--bundle", att, "--trusted-root", root, "--type", "spdxjson", tampered); err == nil {
		t.Errorf("cosign verify-blob-attestation accepts the bundle for another artifact")
	}
}

// A signing key with a certificate from a site CA: the entry records the
// certificate, and sigstore-go accepts the bundle against a trusted root
// listing the CA and the log, the time taken as now (a Rekor v2 entry has
// no signed time; cosign would need an RFC 3161 timestamp, see
// docs/tlog-rekorv2.md).
func TestSubmitCertificateVerifiesOffline(t *testing.T) {
	srv := rekortest.Start(t, rekortest.Options{})
	ca := newSigner(t)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "site CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, ca.key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	s := newSigner(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "release"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		EmailAddresses: []string{"release@site.example"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, s.key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256([]byte("hello.tgz"))
	sig, err := ecdsa.SignASN1(rand.Reader, s.key, d[:])
	if err != nil {
		t.Fatal(err)
	}
	req, err := rekorv2.NewHashedRekord(d[:], sig, rekorv2.Verifier{Certificate: cert})
	if err != nil {
		t.Fatal(err)
	}
	tle := submit(t, srv, req)
	if !strings.Contains(string(tle.GetCanonicalizedBody()), base64.StdEncoding.EncodeToString(der)) {
		t.Errorf("the logged entry does not name the certificate")
	}

	pb := &protobundle.Bundle{
		MediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content:     &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: der}},
			TlogEntries: []*protorekor.TransparencyLogEntry{tle},
		},
		Content: &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: d[:]},
			Signature:     sig,
		}},
	}
	j, err := protojson.Marshal(pb)
	if err != nil {
		t.Fatal(err)
	}
	var b sgbundle.Bundle
	if err := b.UnmarshalJSON(j); err != nil {
		t.Fatalf("bundle does not load: %v", err)
	}
	var tr map[string]any
	if err := json.Unmarshal(trustedRoot(t, srv), &tr); err != nil {
		t.Fatal(err)
	}
	tr["certificateAuthorities"] = []any{map[string]any{
		"subject":   map[string]any{"commonName": "site CA"},
		"certChain": map[string]any{"certificates": []any{map[string]any{"rawBytes": base64.StdEncoding.EncodeToString(caDER)}}},
		"validFor":  map[string]any{"start": "2020-01-01T00:00:00Z"},
	}}
	trJSON, err := json.Marshal(tr)
	if err != nil {
		t.Fatal(err)
	}
	trm, err := root.NewTrustedRootFromJSON(trJSON)
	if err != nil {
		t.Fatal(err)
	}
	policy := sgverify.NewPolicy(sgverify.WithArtifactDigest("sha256", d[:]), sgverify.WithoutIdentitiesUnsafe())
	sv, err := sgverify.NewVerifier(trm, sgverify.WithTransparencyLog(1), sgverify.WithCurrentTime())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sv.Verify(&b, policy); err != nil {
		t.Fatalf("sigstore-go (WithCurrentTime) rejects the certificate bundle: %v", err)
	}
	sv, err = sgverify.NewVerifier(trm, sgverify.WithTransparencyLog(1), sgverify.WithIntegratedTimestamps(1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sv.Verify(&b, policy); err == nil {
		t.Errorf("sigstore-go found an integrated timestamp for a certificate in a Rekor v2 entry")
	}
}

func TestSubmitBadSignatureIsServerError(t *testing.T) {
	srv := rekortest.Start(t, rekortest.Options{})
	s := newSigner(t)
	d := sha256.Sum256([]byte("hello.tgz"))
	other := sha256.Sum256([]byte("other"))
	sig, err := ecdsa.SignASN1(rand.Reader, s.key, other[:])
	if err != nil {
		t.Fatal(err)
	}
	req, err := rekorv2.NewHashedRekord(d[:], sig, rekorv2.Verifier{PublicKey: s.key.Public()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = rekorv2.Submit(context.Background(), srv.URL, req, srv.LogKey, srv.Origin)
	var se *rekorv2.ServerError
	if !errors.As(err, &se) || se.StatusCode != 400 {
		t.Fatalf("got %v, want a 400 ServerError", err)
	}
}

func TestSubmitCancelled(t *testing.T) {
	srv := rekortest.Start(t, rekortest.Options{})
	req, _ := newSigner(t).hashedRekord(t, []byte("hello.tgz"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := rekorv2.Submit(ctx, srv.URL, req, srv.LogKey, srv.Origin)
	if !errors.Is(err, rekorv2.ErrTransport) || !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want ErrTransport and context.Canceled", err)
	}
}

func TestSubmitRefusesWrongLogKey(t *testing.T) {
	srv := rekortest.Start(t, rekortest.Options{})
	req, _ := newSigner(t).hashedRekord(t, []byte("hello.tgz"))
	_, err := rekorv2.Submit(context.Background(), srv.URL, req, newSigner(t).key.Public(), srv.Origin)
	var ce *rekorv2.CheckError
	if !errors.As(err, &ce) || ce.Field != rekorv2.FieldLogID {
		t.Fatalf("got %v, want a CheckError on %s", err, rekorv2.FieldLogID)
	}
}

func TestCheckRefusesTamperedResponse(t *testing.T) {
	srv := rekortest.Start(t, rekortest.Options{})
	s := newSigner(t)
	var reqs []*rekorv2.Request
	var tles []*protorekor.TransparencyLogEntry
	for i := range 3 {
		req, _ := s.hashedRekord(t, fmt.Appendf(nil, "artifact %d", i))
		reqs = append(reqs, req)
		tles = append(tles, submit(t, srv, req))
	}
	req, good := reqs[1], tles[1]
	if err := rekorv2.Check(good, req, srv.LogKey, srv.Origin); err != nil {
		t.Fatalf("the real response does not check: %v", err)
	}
	otherKey := newSigner(t).key.Public()

	cases := []struct {
		name   string
		tamper func(tle *protorekor.TransparencyLogEntry)
		key    crypto.PublicKey
		origin string
		want   rekorv2.Field
	}{
		{name: "root_hash", want: rekorv2.FieldRootHash, tamper: func(e *protorekor.TransparencyLogEntry) {
			e.InclusionProof.RootHash[0] ^= 1
		}},
		{name: "tree_size", want: rekorv2.FieldTreeSize, tamper: func(e *protorekor.TransparencyLogEntry) {
			e.InclusionProof.TreeSize++
		}},
		{name: "log_index_entry", want: rekorv2.FieldLogIndex, tamper: func(e *protorekor.TransparencyLogEntry) {
			e.LogIndex++
		}},
		{name: "log_index_proof", want: rekorv2.FieldLogIndex, tamper: func(e *protorekor.TransparencyLogEntry) {
			e.InclusionProof.LogIndex++
		}},
		{name: "log_index_both", want: rekorv2.FieldHashes, tamper: func(e *protorekor.TransparencyLogEntry) {
			e.LogIndex--
			e.InclusionProof.LogIndex--
		}},
		{name: "proof_hash", want: rekorv2.FieldHashes, tamper: func(e *protorekor.TransparencyLogEntry) {
			e.InclusionProof.Hashes[0][0] ^= 1
		}},
		{name: "body_of_another_entry", want: rekorv2.FieldBody, tamper: func(e *protorekor.TransparencyLogEntry) {
			e.CanonicalizedBody = tles[0].CanonicalizedBody
		}},
		{name: "body_not_canonical", want: rekorv2.FieldBody, tamper: func(e *protorekor.TransparencyLogEntry) {
			e.CanonicalizedBody = append([]byte(" "), e.CanonicalizedBody...)
		}},
		{name: "kind_version", want: rekorv2.FieldKindVersion, tamper: func(e *protorekor.TransparencyLogEntry) {
			e.KindVersion.Kind = "dsse"
		}},
		{name: "log_id", want: rekorv2.FieldLogID, tamper: func(e *protorekor.TransparencyLogEntry) {
			e.LogId.KeyId[0] ^= 1
		}},
		{name: "checkpoint_signature", want: rekorv2.FieldSignature, tamper: func(e *protorekor.TransparencyLogEntry) {
			env := e.InclusionProof.Checkpoint.Envelope
			i := strings.LastIndex(env, " ") + 10 // inside the base64 of key hash and signature
			c := byte('A')
			if env[i] == 'A' {
				c = 'B'
			}
			e.InclusionProof.Checkpoint.Envelope = env[:i] + string(c) + env[i+1:]
		}},
		{name: "checkpoint_other_key", want: rekorv2.FieldLogID, key: otherKey},
		{name: "checkpoint_origin_line", want: rekorv2.FieldOrigin, tamper: func(e *protorekor.TransparencyLogEntry) {
			e.InclusionProof.Checkpoint.Envelope = "evil.example" + strings.TrimPrefix(e.InclusionProof.Checkpoint.Envelope, srv.Origin)
		}},
		{name: "origin_expected_elsewhere", want: rekorv2.FieldOrigin, origin: "log.example"},
		{name: "checkpoint_size_line", want: rekorv2.FieldSignature, tamper: func(e *protorekor.TransparencyLogEntry) {
			env := e.InclusionProof.Checkpoint.Envelope
			lines := strings.SplitN(env, "\n", 3)
			e.InclusionProof.Checkpoint.Envelope = lines[0] + "\n" + lines[1] + "0\n" + lines[2]
		}},
		{name: "no_proof", want: rekorv2.FieldProof, tamper: func(e *protorekor.TransparencyLogEntry) {
			e.InclusionProof = nil
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tle := proto.Clone(good).(*protorekor.TransparencyLogEntry)
			if c.tamper != nil {
				c.tamper(tle)
			}
			key, origin := srv.LogKey, srv.Origin
			if c.key != nil {
				key = c.key
			}
			if c.origin != "" {
				origin = c.origin
			}
			err := rekorv2.Check(tle, req, key, origin)
			var ce *rekorv2.CheckError
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a CheckError on %s", err, c.want)
			}
			if ce.Field != c.want {
				t.Fatalf("got %v, want a CheckError on %s", err, c.want)
			}
			if !errors.Is(err, rekorv2.ErrRejected) {
				t.Errorf("%v does not match ErrRejected", err)
			}
		})
	}

	// The right entry with another request: the body names what differs.
	other, _ := s.hashedRekord(t, []byte("artifact 1"))
	err := rekorv2.Check(good, other, srv.LogKey, srv.Origin)
	var ce *rekorv2.CheckError
	if !errors.As(err, &ce) || ce.Field != rekorv2.FieldBody {
		t.Fatalf("another signature over the same artifact: got %v, want a CheckError on %s", err, rekorv2.FieldBody)
	}
}

// An Ed25519 key logs DSSE envelopes signed Ed25519ph over SHA-512 of the
// PAE; the server refuses a pure Ed25519 envelope signature.
func TestSubmitDSSEEd25519(t *testing.T) {
	srv := rekortest.Start(t, rekortest.Options{})
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	const payloadType = "application/vnd.in-toto+json"
	payload := []byte(`{"_type":"https://in-toto.io/Statement/v1"}`)
	pae := rekorv2.PAE(payloadType, payload)
	h := sha512.Sum512(pae)
	ph, err := priv.Sign(rand.Reader, h[:], &ed25519.Options{Hash: crypto.SHA512})
	if err != nil {
		t.Fatal(err)
	}
	req, err := rekorv2.NewDSSE(payloadType, payload, ph, rekorv2.Verifier{PublicKey: pub})
	if err != nil {
		t.Fatal(err)
	}
	submit(t, srv, req)

	pure, err := rekorv2.NewDSSE(payloadType, payload, ed25519.Sign(priv, pae), rekorv2.Verifier{PublicKey: pub})
	if err != nil {
		t.Fatal(err)
	}
	_, err = rekorv2.Submit(context.Background(), srv.URL, pure, srv.LogKey, srv.Origin)
	var se *rekorv2.ServerError
	if !errors.As(err, &se) || se.StatusCode != 400 {
		t.Fatalf("pure Ed25519 envelope signature: got %v, want a 400 ServerError", err)
	}
}
