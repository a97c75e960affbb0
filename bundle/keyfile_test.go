package bundle

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"testing"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/youmark/pkcs8"
)

func keyOfType(typ string) (crypto.Signer, error) {
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

// TestParsePrivateKey: every supported form parses to its key, and a wrong
// or empty password is ErrWrongPassword (decided by structure: a
// dependency's rewording of its error cannot change it).
func TestParsePrivateKey(t *testing.T) {
	pw := []byte("correct horse")
	for _, typ := range []string{"ecdsa-p256", "ecdsa-p384", "rsa-3072", "ed25519"} {
		key, err := keyOfType(typ)
		if err != nil {
			t.Fatal(err)
		}
		pk8, err := cryptoutils.MarshalPrivateKeyToPEM(key)
		if err != nil {
			t.Fatal(err)
		}
		der, err := cryptoutils.MarshalPrivateKeyToEncryptedDER(key, cryptoutils.StaticPasswordFunc(pw))
		if err != nil {
			t.Fatal(err)
		}
		enc := pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED SIGSTORE PRIVATE KEY", Bytes: der})
		noPassword := func() ([]byte, error) { t.Fatal("password asked for an unencrypted key"); return nil, nil }
		for name, tc := range map[string]struct {
			data []byte
			pw   func() ([]byte, error)
		}{
			"pkcs8":  {pk8, noPassword},
			"cosign": {enc, func() ([]byte, error) { return append([]byte(nil), pw...), nil }},
		} {
			got, err := ParsePrivateKey(tc.data, tc.pw)
			if err != nil {
				t.Fatalf("%s %s: %v", typ, name, err)
			}
			if !got.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(key.Public()) {
				t.Errorf("%s %s: parsed another key", typ, name)
			}
		}
		p8der, err := pkcs8.MarshalPrivateKey(key, pw, nil)
		if err != nil {
			t.Fatal(err)
		}
		p8 := pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: p8der})
		got, err := ParsePrivateKey(p8, func() ([]byte, error) { return append([]byte(nil), pw...), nil })
		if err != nil || !got.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(key.Public()) {
			t.Errorf("%s pbes2: %v", typ, err)
		}
		for name, data := range map[string][]byte{"cosign": enc, "pbes2": p8} {
			for _, wrong := range []string{"wrong", ""} {
				_, err = ParsePrivateKey(data, func() ([]byte, error) { return []byte(wrong), nil })
				if !errors.Is(err, ErrWrongPassword) {
					t.Errorf("%s %s: password %q: err = %v, want ErrWrongPassword", typ, name, wrong, err)
				}
			}
		}
	}
	for _, bad := range []string{"", "not pem", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
		"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"} {
		if _, err := ParsePrivateKey([]byte(bad), nil); err == nil {
			t.Errorf("ParsePrivateKey(%q) succeeded", bad)
		}
	}
}

// FuzzParsePrivateKey: a key file is user input; parsing never panics and
// asks for a password only for an encrypted key.
func FuzzParsePrivateKey(f *testing.F) {
	for _, typ := range []string{"ecdsa-p256", "ed25519"} {
		key, _ := keyOfType(typ)
		p, _ := cryptoutils.MarshalPrivateKeyToPEM(key)
		f.Add(p)
		der, _ := cryptoutils.MarshalPrivateKeyToEncryptedDER(key, cryptoutils.StaticPasswordFunc([]byte("pw")))
		f.Add(pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED SIGSTORE PRIVATE KEY", Bytes: der}))
	}
	f.Add([]byte("-----BEGIN EC PRIVATE KEY-----\nMAA=\n-----END EC PRIVATE KEY-----\n"))
	f.Add([]byte("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nMAA=\n-----END RSA PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParsePrivateKey(data, func() ([]byte, error) { return []byte("pw"), nil })
		if err == nil && k == nil {
			t.Fatal("nil key without error")
		}
	})
}
