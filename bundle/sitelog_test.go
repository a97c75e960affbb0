package bundle

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/airlock-project/airlock/cache"
	"github.com/airlock-project/airlock/output"
	"github.com/airlock-project/airlock/tlog"
)

// siteRecorder commits a SiteLogAppend with the audit records in one
// transaction, as the command's recorder does.
type siteRecorder struct{ store *cache.SiteLogFile }

func (r siteRecorder) RecordSignatures(c *SignCommit) error {
	recs := make([]cache.AuditRecord, len(c.Records))
	for i, a := range c.Records {
		recs[i] = cache.AuditRecord{Time: a.Time, Kind: a.Kind, Fields: a.Fields}
	}
	r.store.InTx = cache.AuditTx(recs...)
	p := c.Log.(*SiteLogAppend)
	return p.Log.Append(context.Background(), p.Batch)
}

// TestSiteLoggerBundlesVerifyWithSigstoreGo signs a batch and an
// attestation with the site log and has sigstore-go verify every bundle
// against a trusted root that lists the log, requiring a log entry and
// its integrated time.
func TestSiteLoggerBundlesVerifyWithSigstoreGo(t *testing.T) {
	ctx := context.Background()
	b, dir, req := signFilesSetup(t, 4)
	logKey := newP256(t)
	store := &cache.SiteLogFile{Path: filepath.Join(t.TempDir(), "airlock.db")}
	created := time.Now().Add(-time.Minute).Truncate(time.Second)
	l, err := tlog.Create(ctx, store, tlog.Config{Origin: "log.test.example"}, logKey, created)
	if err != nil {
		t.Fatal(err)
	}
	req.Log = &SiteLogger{Log: l, Signer: logKey}
	res, err := SignFiles(ctx, b, req, &output.Batch{}, siteRecorder{store})
	if err != nil {
		t.Fatal(err)
	}
	if res.Tlog != "site" || res.LogOrigin != "log.test.example" {
		t.Errorf("result names log %q %q", res.Tlog, res.LogOrigin)
	}
	pred := []byte(`{"a":1}`)
	attTo, err := output.Resolve(filepath.Join(dir, "att.json"))
	if err != nil {
		t.Fatal(err)
	}
	ares, err := AttestFile(ctx, b, AttestRequest{KeyRef: "file:/k.pem", File: req.Files[0].Path, Predicate: pred, Bundle: &attTo,
		Log: &SiteLogger{Log: l, Signer: logKey}}, &output.Batch{}, siteRecorder{store})
	if err != nil {
		t.Fatal(err)
	}
	head, err := l.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if head.Size != 5 || ares.Files[0].LogIndex != 4 || !ares.Files[0].Logged {
		t.Fatalf("log size %d, attestation at %d", head.Size, ares.Files[0].LogIndex)
	}

	trJSON := fmt.Sprintf(`{"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
  "tlogs": [{"baseUrl": "https://log.test.example", "hashAlgorithm": "SHA2_256",
    "publicKey": {"rawBytes": %q, "keyDetails": "PKIX_ECDSA_P256_SHA_256", "validFor": {"start": %q}},
    "logId": {"keyId": %q}}]}`, base64.StdEncoding.EncodeToString(l.Key().DER), created.UTC().Format(time.RFC3339),
		base64.StdEncoding.EncodeToString(l.Key().ID[:]))
	tr, err := root.NewTrustedRootFromJSON([]byte(trJSON))
	if err != nil {
		t.Fatal(err)
	}
	sv, err := signature.LoadVerifier(b.PublicKey(), crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	keyTM := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
		return root.NewExpiringKey(sv, created.Add(-time.Hour), time.Now().Add(time.Hour)), nil
	})
	v, err := sgverify.NewVerifier(root.TrustedMaterialCollection{tr, keyTM}, sgverify.WithTransparencyLog(1), sgverify.WithIntegratedTimestamps(1))
	if err != nil {
		t.Fatal(err)
	}
	check := func(bundlePath, artifact string) {
		t.Helper()
		sb, err := sgbundle.LoadJSONFromPath(bundlePath)
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(artifact)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := v.Verify(sb, sgverify.NewPolicy(sgverify.WithArtifact(f), sgverify.WithKey())); err != nil {
			t.Errorf("%s: %v", bundlePath, err)
		}
	}
	for i, r := range res.Files {
		if !r.Logged || r.LogIndex != int64(i) {
			t.Errorf("%s logged %v at %d", r.File, r.Logged, r.LogIndex)
		}
		check(r.Bundle, r.File)
	}
	check(ares.Files[0].Bundle, req.Files[0].Path)

	// A verifier whose root lists another log key refuses them.
	other, err := tlog.NewLogKey(newP256(t).Public())
	if err != nil {
		t.Fatal(err)
	}
	trOther, err := root.NewTrustedRootFromJSON([]byte(fmt.Sprintf(`{"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
  "tlogs": [{"baseUrl": "https://log.test.example", "hashAlgorithm": "SHA2_256",
    "publicKey": {"rawBytes": %q, "keyDetails": "PKIX_ECDSA_P256_SHA_256", "validFor": {"start": %q}},
    "logId": {"keyId": %q}}]}`, base64.StdEncoding.EncodeToString(other.DER), created.UTC().Format(time.RFC3339),
		base64.StdEncoding.EncodeToString(other.ID[:]))))
	if err != nil {
		t.Fatal(err)
	}
	v, err = sgverify.NewVerifier(root.TrustedMaterialCollection{trOther, keyTM}, sgverify.WithTransparencyLog(1), sgverify.WithIntegratedTimestamps(1))
	if err != nil {
		t.Fatal(err)
	}
	sb, err := sgbundle.LoadJSONFromPath(res.Files[0].Bundle)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(sb, sgverify.NewPolicy(sgverify.WithArtifactDigest("sha256", make([]byte, 32)), sgverify.WithKey())); err == nil {
		t.Error("a root listing another log key accepted the bundle")
	}
}

func newP256(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// racingRecorder appends another batch to the log just before the commit,
// as a second airlock process would.
type racingRecorder struct {
	siteRecorder
	l   *tlog.Log
	key crypto.Signer
}

func (r racingRecorder) RecordSignatures(c *SignCommit) error {
	body, err := tlog.HashedRekordBody([]byte{1}, crypto.SHA256, make([]byte, 32), tlog.Verifier{PublicKey: r.key.Public()})
	if err != nil {
		return err
	}
	b, err := r.l.Prepare(context.Background(), [][]byte{body}, time.Now(), r.key)
	if err != nil {
		return err
	}
	if err := r.l.Append(context.Background(), b); err != nil {
		return err
	}
	return r.siteRecorder.RecordSignatures(c)
}

// TestSiteLoggerConflictWritesNothing: another writer appends between
// Prepare and the commit; the call fails with tlog.ErrWriteConflict and
// writes no output, no entry and no audit record.
func TestSiteLoggerConflictWritesNothing(t *testing.T) {
	ctx := context.Background()
	b, dir, req := signFilesSetup(t, 3)
	logKey := newP256(t)
	path := filepath.Join(t.TempDir(), "airlock.db")
	store := &cache.SiteLogFile{Path: path, ConflictErr: tlog.ErrWriteConflict}
	l, err := tlog.Create(ctx, store, tlog.Config{Origin: "log.test.example"}, logKey, time.Now().Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	before := entries(t, dir)
	req.Log = &SiteLogger{Log: l, Signer: logKey}
	_, err = SignFiles(ctx, b, req, &output.Batch{}, racingRecorder{siteRecorder{store}, l, logKey})
	if !errors.Is(err, tlog.ErrWriteConflict) {
		t.Fatalf("err = %v, want ErrWriteConflict", err)
	}
	if got := entries(t, dir); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Errorf("files %v after a failed call, want %v", got, before)
	}
	head, err := l.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if head.Size != 1 {
		t.Errorf("log size %d, want 1 (the other writer's entry)", head.Size)
	}
	db, err := cache.Open(path, cache.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	recs, err := db.Audit()
	if err != nil || len(recs) != 0 {
		t.Errorf("audit records %v, %v; want none", recs, err)
	}
}

// TestSiteLoggerCertificateVerifier: with a certificate, the hashedrekord
// entry names the certificate (as Rekor stores a cosign upload with one),
// so that the body matches the bundle's verification material.
func TestSiteLoggerCertificateVerifier(t *testing.T) {
	ctx := context.Background()
	key := newP256(t)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBuilder(key, []*x509.Certificate{cert})
	if err != nil {
		t.Fatal(err)
	}
	s, err := b.signDigest(make([]byte, 32), false)
	if err != nil {
		t.Fatal(err)
	}
	logKey := newP256(t)
	l, err := tlog.Create(ctx, &cache.SiteLogFile{Path: filepath.Join(t.TempDir(), "a.db")}, tlog.Config{Origin: "log.test.example"}, logKey, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&SiteLogger{Log: l, Signer: logKey}).Prepare(ctx, []*Signed{s}); err != nil {
		t.Fatal(err)
	}
	body := s.pb.VerificationMaterial.TlogEntries[0].CanonicalizedBody
	want := base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	if !bytes.Contains(body, []byte(`"publicKey":{"content":"`+want+`"}`)) {
		t.Errorf("entry body does not name the certificate: %s", body)
	}
	if !bytes.Contains(s.Bundle, []byte(`"tlogEntries"`)) {
		t.Error("bundle was not encoded with its entry")
	}
}
