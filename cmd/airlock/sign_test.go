package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"os"
	"time"

	"github.com/airlock-project/airlock/cache"
	"github.com/rogpeppe/go-internal/testscript"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

func init() {
	scriptCmds["genkey"] = cmdGenkey
	scriptCmds["auditlog"] = cmdAuditlog
	scriptCmds["gencert"] = cmdGencert
}

// gencert PUB LEAF.der CA.pem makes a throwaway CA and issues it a
// code-signing certificate for the PEM public key PUB (e.g. a token key's,
// from airlock hsm pubkey), written as DER; the CA certificate as PEM.
func cmdGencert(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: gencert PUB LEAF.der CA.pem")
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey([]byte(ts.ReadFile(args[0])))
	ts.Check(err)
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ts.Check(err)
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "airlock test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	ts.Check(err)
	ca, err := x509.ParseCertificate(caDER)
	ts.Check(err)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "release signer"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, pub, caKey)
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), leafDER, 0o644))
	ts.Check(os.WriteFile(ts.MkAbs(args[2]), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644))
}

// genkey [-format pkcs8|sec1|pkcs1|cosign] [-cert CERTFILE] TYPE PRIV PUB
// writes a fresh private key (TYPE ecdsa-p256, ecdsa-p384, rsa-3072,
// ed25519) and its PEM public key. -format cosign encrypts it as cosign
// generate-key-pair does, with $COSIGN_PASSWORD. -cert also writes a
// self-signed certificate for the key.
func cmdGenkey(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! genkey")
	}
	fs := flag.NewFlagSet("genkey", flag.ContinueOnError)
	format := fs.String("format", "pkcs8", "")
	certFile := fs.String("cert", "", "")
	if err := fs.Parse(args); err != nil || fs.NArg() != 3 {
		ts.Fatalf("usage: genkey [-format pkcs8|sec1|pkcs1|cosign] [-cert FILE] TYPE PRIV PUB")
	}
	key, err := generateKey(fs.Arg(0))
	ts.Check(err)
	var privPEM []byte
	switch *format {
	case "pkcs8":
		privPEM, err = cryptoutils.MarshalPrivateKeyToPEM(key)
	case "sec1":
		der, e := x509.MarshalECPrivateKey(key.(*ecdsa.PrivateKey))
		privPEM, err = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), e
	case "pkcs1":
		privPEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key.(*rsa.PrivateKey))})
	case "cosign":
		der, e := cryptoutils.MarshalPrivateKeyToEncryptedDER(key, cryptoutils.StaticPasswordFunc([]byte(ts.Getenv("COSIGN_PASSWORD"))))
		privPEM, err = pem.EncodeToMemory(&pem.Block{Type: string(cryptoutils.EncryptedSigstorePrivateKeyPEMType), Bytes: der}), e
	default:
		ts.Fatalf("unknown format %q", *format)
	}
	ts.Check(err)
	pubPEM, err := cryptoutils.MarshalPublicKeyToPEM(key.Public())
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(fs.Arg(1)), privPEM, 0o600))
	ts.Check(os.WriteFile(ts.MkAbs(fs.Arg(2)), pubPEM, 0o644))
	if *certFile != "" {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "release signer"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
		ts.Check(err)
		ts.Check(os.WriteFile(ts.MkAbs(*certFile), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644))
	}
}

func generateKey(typ string) (crypto.Signer, error) {
	switch typ {
	case "ecdsa-p256":
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ecdsa-p384":
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "rsa-3072":
		return rsa.GenerateKey(rand.Reader, 3072)
	case "ed25519":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	}
	return nil, fmt.Errorf("unknown key type %q", typ)
}

// auditlog [-bundles] prints the audit trail of $AIRLOCK_DB, one JSON
// record a line, after checking its hash chain. With no database it prints
// nothing. -bundles also checks that every recorded bundle file (relative
// to $WORK) still has the recorded bundle_digest.
func cmdAuditlog(ts *testscript.TestScript, neg bool, args []string) {
	checkBundles := len(args) == 1 && args[0] == "-bundles"
	path := ts.Getenv("AIRLOCK_DB")
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if neg {
			return
		}
		return
	}
	db, err := cache.Open(path, cache.Options{ReadOnly: true})
	ts.Check(err)
	defer db.Close()
	recs, err := db.Audit()
	if neg {
		if err == nil {
			ts.Fatalf("audit trail is intact")
		}
		return
	}
	ts.Check(err)
	for _, r := range recs {
		if b := r.Fields["bundle"]; checkBundles && b != "" {
			sum := sha256.Sum256([]byte(ts.ReadFile(b)))
			if got, want := "sha256:"+hex.EncodeToString(sum[:]), r.Fields["bundle_digest"]; got != want {
				ts.Fatalf("record %d: %s has digest %s, the audit trail says %s", r.Seq, b, got, want)
			}
		}
		line, err := json.Marshal(r)
		ts.Check(err)
		fmt.Fprintf(ts.Stdout(), "%s\n", line)
	}
}
