package tlog_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"testing"
	"time"

	"github.com/go-openapi/strfmt"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/rekor/pkg/types"
	rekordsse "github.com/sigstore/rekor/pkg/types/dsse/v0.0.1"
	rekorhashed "github.com/sigstore/rekor/pkg/types/hashedrekord/v0.0.1"

	"github.com/airlock-project/airlock/tlog"
)

func ecKey(t testing.TB, c elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// selfSigned returns a certificate for key's public half.
func selfSigned(t testing.TB, key crypto.Signer) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "signer"},
		NotBefore:    time.Unix(1_700_000_000, 0),
		NotAfter:     time.Unix(1_900_000_000, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// rekorHashedRekord is the body Rekor v1 itself canonicalizes for the same
// submission.
func rekorHashedRekord(t *testing.T, sig []byte, alg string, digest []byte, keyPEM []byte) []byte {
	t.Helper()
	value := hex.EncodeToString(digest)
	e := &rekorhashed.V001Entry{HashedRekordObj: models.HashedrekordV001Schema{
		Data: &models.HashedrekordV001SchemaData{Hash: &models.HashedrekordV001SchemaDataHash{Algorithm: &alg, Value: &value}},
		Signature: &models.HashedrekordV001SchemaSignature{
			Content:   strfmt.Base64(sig),
			PublicKey: &models.HashedrekordV001SchemaSignaturePublicKey{Content: strfmt.Base64(keyPEM)},
		},
	}}
	body, err := types.CanonicalizeEntry(context.Background(), e)
	if err != nil {
		t.Fatalf("rekor canonicalizes: %v", err)
	}
	return body
}

func TestHashedRekordBodyIsRekors(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p256 := ecKey(t, elliptic.P256())
	cases := []struct {
		name string
		key  crypto.Signer
		hash crypto.Hash
		alg  string
		cert bool
	}{
		{"p256-sha256", p256, crypto.SHA256, "sha256", false},
		{"p384-sha384", ecKey(t, elliptic.P384()), crypto.SHA384, "sha384", false},
		{"p521-sha512", ecKey(t, elliptic.P521()), crypto.SHA512, "sha512", false},
		{"rsa-sha256", rsaKey, crypto.SHA256, "sha256", false},
		{"p256-certificate", p256, crypto.SHA256, "sha256", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := c.hash.New()
			h.Write([]byte("hello, " + c.name))
			digest := h.Sum(nil)
			sig, err := c.key.Sign(rand.Reader, digest, c.hash)
			if err != nil {
				t.Fatal(err)
			}
			v := tlog.Verifier{PublicKey: c.key.Public()}
			if c.cert {
				v.Certificate = selfSigned(t, c.key)
			}
			got, err := tlog.HashedRekordBody(sig, c.hash, digest, v)
			if err != nil {
				t.Fatal(err)
			}
			keyPEM, _ := v.PEM()
			want := rekorHashedRekord(t, sig, c.alg, digest, keyPEM)
			if !bytes.Equal(got, want) {
				t.Errorf("body\n got %s\nwant %s", got, want)
			}
			kind, version, err := tlog.KindVersion(got)
			if err != nil || kind != "hashedrekord" || version != "0.0.1" {
				t.Errorf("KindVersion = %q, %q, %v", kind, version, err)
			}
		})
	}
}

func TestHashedRekordBodyRejects(t *testing.T) {
	k := ecKey(t, elliptic.P256())
	d := sha256.Sum256([]byte("x"))
	v := tlog.Verifier{PublicKey: k.Public()}
	if _, err := tlog.HashedRekordBody([]byte{1}, crypto.SHA1, d[:20], v); err == nil {
		t.Error("sha1 digest accepted")
	}
	if _, err := tlog.HashedRekordBody([]byte{1}, crypto.SHA256, d[:20], v); err == nil {
		t.Error("short digest accepted")
	}
	if _, err := tlog.HashedRekordBody(nil, crypto.SHA256, d[:], v); err == nil {
		t.Error("empty signature accepted")
	}
	if _, err := tlog.HashedRekordBody([]byte{1}, crypto.SHA256, d[:], tlog.Verifier{}); err == nil {
		t.Error("no verifier accepted")
	}
}

// dsseEnvelope signs payload with keys and returns cosign's .att JSON
// and the signatures.
func dsseEnvelope(t testing.TB, payloadType string, payload []byte, keys ...crypto.Signer) ([]byte, [][]byte) {
	t.Helper()
	pae := []byte("DSSEv1 " + itoa(len(payloadType)) + " " + payloadType + " " + itoa(len(payload)) + " ")
	pae = append(pae, payload...)
	d := sha256.Sum256(pae)
	type sigJSON struct {
		Sig []byte `json:"sig"`
	}
	env := struct {
		Payload     []byte    `json:"payload"`
		PayloadType string    `json:"payloadType"`
		Signatures  []sigJSON `json:"signatures"`
	}{Payload: payload, PayloadType: payloadType}
	var sigs [][]byte
	for _, k := range keys {
		s, err := k.Sign(rand.Reader, d[:], crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		sigs = append(sigs, s)
		env.Signatures = append(env.Signatures, sigJSON{s})
	}
	out, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return out, sigs
}

func itoa(n int) string { return big.NewInt(int64(n)).String() }

func TestDSSEBodyIsRekors(t *testing.T) {
	k1, k2 := ecKey(t, elliptic.P256()), ecKey(t, elliptic.P256())
	payload := []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"` + hex.EncodeToString(make([]byte, 32)) + `"}}],"predicateType":"https://example.com/p","predicate":{}}`)
	for _, c := range []struct {
		name string
		keys []crypto.Signer
		cert bool
	}{
		{"one-key", []crypto.Signer{k1}, false},
		{"two-keys", []crypto.Signer{k1, k2}, false},
		{"certificate", []crypto.Signer{k1}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			env, sigs := dsseEnvelope(t, "application/vnd.in-toto+json", payload, c.keys...)
			var ds []tlog.DSSESignature
			var verifiers []strfmt.Base64
			for i, k := range c.keys {
				v := tlog.Verifier{PublicKey: k.Public()}
				if c.cert {
					v.Certificate = selfSigned(t, k)
				}
				ds = append(ds, tlog.DSSESignature{Sig: sigs[i], Verifier: v})
				p, _ := v.PEM()
				verifiers = append(verifiers, strfmt.Base64(p))
			}
			got, err := tlog.DSSEBody(env, payload, ds)
			if err != nil {
				t.Fatal(err)
			}
			envs := string(env)
			api := "0.0.1"
			pe := &models.DSSE{APIVersion: &api, Spec: &models.DSSEV001Schema{ProposedContent: &models.DSSEV001SchemaProposedContent{Envelope: &envs, Verifiers: verifiers}}}
			var e rekordsse.V001Entry
			if err := e.Unmarshal(pe); err != nil {
				t.Fatalf("rekor reads the proposal: %v", err)
			}
			want, err := types.CanonicalizeEntry(context.Background(), &e)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("body\n got %s\nwant %s", got, want)
			}
		})
	}
	if _, err := tlog.DSSEBody([]byte("{}"), payload, nil); err == nil {
		t.Error("no signatures accepted")
	}
	v := tlog.Verifier{PublicKey: k1.Public()}
	if _, err := tlog.DSSEBody([]byte("{}"), payload, []tlog.DSSESignature{{[]byte{1}, v}, {[]byte{1}, v}}); err == nil {
		t.Error("duplicate signatures accepted")
	}
}

// TestVerifierWithPEM: a verifier whose PEM was made once gives the same
// bodies and PEM as one that makes it each time, and PEM hands out a copy.
func TestVerifierWithPEM(t *testing.T) {
	key := ecKey(t, elliptic.P256())
	for name, v := range map[string]tlog.Verifier{
		"key":         {PublicKey: key.Public()},
		"certificate": {PublicKey: key.Public(), Certificate: selfSigned(t, key)},
	} {
		w, err := v.WithPEM()
		if err != nil {
			t.Fatal(err)
		}
		want, err := v.PEM()
		if err != nil {
			t.Fatal(err)
		}
		got, err := w.PEM()
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: PEM with it made once = %q, %v; want %q", name, got, err, want)
		}
		got[0] ^= 1
		if again, _ := w.PEM(); !bytes.Equal(again, want) {
			t.Errorf("%s: changing what PEM returned changed the verifier's PEM", name)
		}
		digest := sha256.Sum256([]byte("x"))
		b1, err1 := tlog.HashedRekordBody([]byte{1, 2}, crypto.SHA256, digest[:], v)
		b2, err2 := tlog.HashedRekordBody([]byte{1, 2}, crypto.SHA256, digest[:], w)
		if err1 != nil || err2 != nil || !bytes.Equal(b1, b2) {
			t.Errorf("%s: hashedrekord bodies differ: %v, %v", name, err1, err2)
		}
		d1, err1 := tlog.DSSEBody([]byte("{}"), []byte("p"), []tlog.DSSESignature{{Sig: []byte{3}, Verifier: v}})
		d2, err2 := tlog.DSSEBody([]byte("{}"), []byte("p"), []tlog.DSSESignature{{Sig: []byte{3}, Verifier: w}})
		if err1 != nil || err2 != nil || !bytes.Equal(d1, d2) {
			t.Errorf("%s: dsse bodies differ: %v, %v", name, err1, err2)
		}
	}
}
