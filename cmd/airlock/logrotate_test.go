package main

import (
	"bytes"
	"crypto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/airlock-project/airlock/cache"
	"github.com/airlock-project/airlock/hsm"
	"github.com/airlock-project/airlock/hsm/softhsmtest"
	"github.com/airlock-project/airlock/tlog"
)

// TestLogRotateKeySoftHSM signs with the site log on SoftHSM before and
// after `log rotate-key`, and verifies both bundles with database trust
// and, with sigstore-go alone, against the trusted root `trust
// export-root` writes: sigstore-go picks each entry's key by its log ID
// and checks the integrated time against that key's window (a root whose
// window for the old key ends before the old entry refuses it). The
// handover in the database leads from the first key to the second.
func TestLogRotateKeySoftHSM(t *testing.T) {
	tok := softhsmtest.New(t)
	for _, label := range []string{"signer", "log1", "log2"} {
		tok.GenerateKey(t, label, hsm.ECDSAP256)
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "airlock.db")
	t.Setenv("AIRLOCK_DB", db)
	airlock := func(args ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if code := run(append([]string{"airlock"}, args...), nil, &stdout, &stderr); code != 0 {
			t.Fatalf("airlock %s: exit %d\n%s", strings.Join(args, " "), code, stderr.String())
		}
		if strings.Contains(stdout.String()+stderr.String(), tok.PIN) {
			t.Fatalf("airlock %s printed the PIN", args[0])
		}
		return stdout.String()
	}
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	signerPub := file("signer.pub", airlock("hsm", "pubkey", tok.KeyURI("signer")))
	oldArt, newArt := file("old.txt", "signed under the first log key\n"), file("new.txt", "signed under the second\n")

	airlock("log", "init", "--key", tok.KeyURI("log1"), "--origin", "rotate.site.example")
	airlock("sign-blob", "--key", tok.KeyURI("signer"), "--bundle", oldArt+".sigstore.json", oldArt)
	airlock("log", "rotate-key", "--key", tok.KeyURI("log2"))
	airlock("sign-blob", "--key", tok.KeyURI("signer"), "--bundle", newArt+".sigstore.json", newArt)

	// Database trust: both verify.
	for _, a := range []string{oldArt, newArt} {
		if out := airlock("verify-blob", "--key", signerPub, "--bundle", a+".sigstore.json", a); !strings.Contains(out, "Verified OK") {
			t.Errorf("%s: %s", filepath.Base(a), out)
		}
	}

	// The exported root, with sigstore-go.
	rootPath := filepath.Join(dir, "trusted_root.json")
	airlock("trust", "export-root", "--out", rootPath)
	rootJSON, err := os.ReadFile(rootPath)
	if err != nil {
		t.Fatal(err)
	}
	log1, log2 := logKeyOf(t, tok, "log1"), logKeyOf(t, tok, "log2")
	oldB, newB := readBundle(t, oldArt+".sigstore.json"), readBundle(t, newArt+".sigstore.json")
	for _, c := range []struct {
		b   *protobundle.Bundle
		key *tlog.LogKey
	}{{oldB, log1}, {newB, log2}} {
		if got := c.b.GetVerificationMaterial().GetTlogEntries()[0].GetLogId().GetKeyId(); !bytes.Equal(got, c.key.ID[:]) {
			t.Errorf("bundle's log ID %x, want %x", got, c.key.ID[:])
		}
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey([]byte(mustRead(t, signerPub)))
	if err != nil {
		t.Fatal(err)
	}
	if err := sgVerify(t, rootJSON, pub, oldB, oldArt); err != nil {
		t.Errorf("old bundle, exported root: %v", err)
	}
	if err := sgVerify(t, rootJSON, pub, newB, newArt); err != nil {
		t.Errorf("new bundle, exported root: %v", err)
	}
	// The root lists each key with its window: the old key's ends at the
	// rotation, the new key's starts there.
	var tr prototrustroot.TrustedRoot
	if err := protojson.Unmarshal(rootJSON, &tr); err != nil {
		t.Fatal(err)
	}
	if len(tr.Tlogs) != 2 || !bytes.Equal(tr.Tlogs[0].LogId.KeyId, log1.ID[:]) || !bytes.Equal(tr.Tlogs[1].LogId.KeyId, log2.ID[:]) {
		t.Fatalf("exported tlogs: %v", tr.Tlogs)
	}
	end := tr.Tlogs[0].PublicKey.ValidFor.End.AsTime()
	if !end.Equal(tr.Tlogs[1].PublicKey.ValidFor.Start.AsTime()) || tr.Tlogs[1].PublicKey.ValidFor.End != nil {
		t.Errorf("windows: old ends %v, new %v", end, tr.Tlogs[1].PublicKey.ValidFor)
	}
	// sigstore-go checks the integrated time against the window of the key
	// the log ID names: close the old key's window before the old entry.
	oldTime := time.Unix(oldB.GetVerificationMaterial().GetTlogEntries()[0].IntegratedTime, 0)
	tr.Tlogs[0].PublicKey.ValidFor.End = timestamppb.New(oldTime.Add(-time.Second))
	tr.Tlogs[0].PublicKey.ValidFor.Start = timestamppb.New(oldTime.Add(-time.Hour))
	narrowed, err := protojson.Marshal(&tr)
	if err != nil {
		t.Fatal(err)
	}
	if err := sgVerify(t, narrowed, pub, oldB, oldArt); err == nil {
		t.Error("the old entry verified with its key's window closed before it")
	}
	if err := sgVerify(t, narrowed, pub, newB, newArt); err != nil {
		t.Errorf("new bundle with the old key's window narrowed: %v", err)
	}

	// An auditor holding only the first key follows the handover.
	l, err := tlog.Open(t.Context(), &cache.SiteLogFile{Path: db, Options: cache.Options{ReadOnly: true}})
	if err != nil {
		t.Fatal(err)
	}
	hs, err := l.VerifyHandovers(t.Context(), log1)
	if err != nil || len(hs) != 1 || hs[0].New.ID != log2.ID || hs[0].Size != 1 {
		t.Fatalf("handovers from the first key: %+v, %v", hs, err)
	}
}

// logKeyOf is the public key of the token key labelled label.
func logKeyOf(t *testing.T, tok *softhsmtest.Token, label string) *tlog.LogKey {
	t.Helper()
	lk, err := tlog.NewLogKey(tok.OpenKey(t, label).Public())
	if err != nil {
		t.Fatal(err)
	}
	return lk
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func readBundle(t *testing.T, path string) *protobundle.Bundle {
	t.Helper()
	var b protobundle.Bundle
	if err := protojson.Unmarshal([]byte(mustRead(t, path)), &b); err != nil {
		t.Fatal(err)
	}
	return &b
}

// sgVerify verifies b with sigstore-go alone: the log from rootJSON, the
// signing key pub, a transparency-log entry and its integrated time
// required, as cosign verify-blob --key --trusted-root does.
func sgVerify(t *testing.T, rootJSON []byte, pub crypto.PublicKey, b *protobundle.Bundle, artifact string) error {
	t.Helper()
	tr, err := root.NewTrustedRootFromJSON(rootJSON)
	if err != nil {
		return err
	}
	v, err := signature.LoadVerifier(pub, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	keys := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
		return root.NewExpiringKey(v, time.Time{}, time.Time{}), nil
	})
	sv, err := sgverify.NewVerifier(root.TrustedMaterialCollection{tr, keys}, sgverify.WithTransparencyLog(1), sgverify.WithIntegratedTimestamps(1))
	if err != nil {
		t.Fatal(err)
	}
	sb, err := sgbundle.NewBundle(b)
	if err != nil {
		return err
	}
	f, err := os.Open(artifact)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = sv.Verify(sb, sgverify.NewPolicy(sgverify.WithArtifact(f), sgverify.WithKey()))
	return err
}
