//go:build cgo

package hsm_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"testing"

	"github.com/airlock-project/airlock/hsm"
	"github.com/airlock-project/airlock/hsm/softhsmtest"
)

func TestKeygenSignVerifyEveryType(t *testing.T) {
	tok := softhsmtest.New(t)
	msg := []byte("release 1.0")
	for _, typ := range hsm.GenerateTypes {
		t.Run(string(typ), func(t *testing.T) {
			ki := tok.GenerateKey(t, "k-"+string(typ), typ)
			if ki.Extractable || !ki.Sensitive || !ki.CanSign() || len(ki.Usage) != 1 || ki.Type != typ {
				t.Fatalf("generated key flags: %+v", ki)
			}
			k := tok.OpenKey(t, "k-"+string(typ))
			switch pub := k.Public().(type) {
			case *ecdsa.PublicKey:
				var d []byte
				var h crypto.Hash
				if typ == hsm.ECDSAP384 {
					s := sha512.Sum384(msg)
					d, h = s[:], crypto.SHA384
				} else {
					s := sha256.Sum256(msg)
					d, h = s[:], crypto.SHA256
				}
				sig, err := k.Sign(nil, d, h)
				if err != nil {
					t.Fatal(err)
				}
				if !ecdsa.VerifyASN1(pub, d, sig) {
					t.Fatal("ECDSA signature does not verify")
				}
			case *rsa.PublicKey:
				d := sha256.Sum256(msg)
				sig, err := k.Sign(nil, d[:], crypto.SHA256)
				if err != nil {
					t.Fatal(err)
				}
				if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, d[:], sig); err != nil {
					t.Fatal(err)
				}
				for _, salt := range []int{rsa.PSSSaltLengthAuto, rsa.PSSSaltLengthEqualsHash} {
					o := &rsa.PSSOptions{SaltLength: salt, Hash: crypto.SHA256}
					sig, err := k.Sign(nil, d[:], o)
					if err != nil {
						t.Fatal(err)
					}
					if err := rsa.VerifyPSS(pub, crypto.SHA256, d[:], sig, &rsa.PSSOptions{SaltLength: salt}); err != nil {
						t.Fatalf("PSS salt %d: %v", salt, err)
					}
				}
			case ed25519.PublicKey:
				sig, err := k.Sign(nil, msg, crypto.Hash(0))
				if err != nil {
					t.Fatal(err)
				}
				if !ed25519.Verify(pub, msg, sig) {
					t.Fatal("Ed25519 signature does not verify")
				}
			default:
				t.Fatalf("public key type %T", pub)
			}
		})
	}
}

// TestNoModule: no module at all is ErrNoModule (an ErrModule), which the
// command turns into its hint without reading the message.
func TestNoModule(t *testing.T) {
	if _, err := hsm.OpenModule(""); !errors.Is(err, hsm.ErrNoModule) || !errors.Is(err, hsm.ErrModule) {
		t.Errorf("OpenModule(\"\") = %v, want ErrNoModule", err)
	}
	if _, err := hsm.ResolveModulePath(&hsm.URI{Token: "t", Object: "k"}, ""); !errors.Is(err, hsm.ErrNoModule) {
		t.Errorf("ResolveModulePath(no module-path, no fallback) = %v, want ErrNoModule", err)
	}
	_, err := hsm.ResolveModulePath(&hsm.URI{Token: "t", Object: "k", ModuleName: "no-such-module"}, "")
	if !errors.Is(err, hsm.ErrModuleLoad) || errors.Is(err, hsm.ErrNoModule) {
		t.Errorf("ResolveModulePath(unknown module-name) = %v, want ErrModuleLoad", err)
	}
}
