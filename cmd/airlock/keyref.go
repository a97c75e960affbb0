package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

// A KEYREF names the key sign-blob and attest-blob sign with: a PKCS#11
// URI ("pkcs11:...", the product) or a PEM private key file (PKCS#8, SEC 1,
// PKCS#1, or cosign's encrypted cosign.key), kept for migration from cosign
// and for tests.

// signingKey is an opened KEYREF.
type signingKey struct {
	signer crypto.Signer
	certs  []*x509.Certificate // from the token, leaf first; may be nil
	// ref names the key in the audit trail: the PKCS#11 URI in canonical
	// form (never a PIN) or "file:" and the key file's absolute path.
	ref   string
	close func()
}

func (k *signingKey) Close() {
	if k.close != nil {
		k.close()
		k.close = nil
	}
}

// fingerprint returns the hex SHA-256 of the public key's DER
// SubjectPublicKeyInfo, the key's identity in the audit trail.
func fingerprint(pub crypto.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// maxKeyFileSize bounds a private key file read.
const maxKeyFileSize = 1 << 20

// openSigningKey opens ref: a pkcs11: URI through the token, else a key file.
func openSigningKey(c *cli.Context, ref string) (*signingKey, error) {
	if len(ref) >= 7 && strings.EqualFold(ref[:7], "pkcs11:") {
		return openTokenSigningKey(c, ref)
	}
	f, err := os.Open(ref)
	if err != nil {
		return nil, withHint(fmt.Errorf("reading key %q: %w", ref, errors.Unwrap(err)),
			"--key takes a pkcs11: URI or a PEM private key file")
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading key %q: %w", ref, err)
	}
	if len(data) > maxKeyFileSize {
		return nil, fmt.Errorf("key file %q is larger than %d bytes", ref, maxKeyFileSize)
	}
	s, err := parsePrivateKey(data, func() ([]byte, error) { return keyPassword(c, ref) })
	if err != nil {
		return nil, fmt.Errorf("key %q: %w", ref, err)
	}
	abs, err := filepath.Abs(ref)
	if err != nil {
		abs = ref
	}
	return &signingKey{signer: s, ref: "file:" + abs}, nil
}

var errWrongPassword = errors.New("wrong password")

// parsePrivateKey reads a PEM private key: PKCS#8 ("PRIVATE KEY"), SEC 1
// ("EC PRIVATE KEY"), PKCS#1 ("RSA PRIVATE KEY"), cosign's scrypt and
// secretbox encrypted key ("ENCRYPTED SIGSTORE PRIVATE KEY", or the older
// "ENCRYPTED COSIGN PRIVATE KEY"), or encrypted PKCS#8 ("ENCRYPTED PRIVATE
// KEY", openssl genpkey -aes-256-cbc). password is called only for an
// encrypted key.
func parsePrivateKey(data []byte, password func() ([]byte, error)) (crypto.Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("not a PEM private key")
	}
	var key crypto.PrivateKey
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		if _, enc := block.Headers["Proc-Type"]; enc {
			return nil, errors.New("legacy encrypted PEM keys are not supported: convert the key to PKCS#8")
		}
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case string(cryptoutils.EncryptedSigstorePrivateKeyPEMType), "ENCRYPTED COSIGN PRIVATE KEY", "ENCRYPTED PRIVATE KEY":
		pw, perr := password()
		if perr != nil {
			return nil, perr
		}
		key, err = cryptoutils.UnmarshalPEMToPrivateKey(data, cryptoutils.StaticPasswordFunc(pw))
		clear(pw)
		// secretbox (cosign) and PKCS#8 PBES2 (openssl) say it their ways;
		// CBC decryption with a wrong password can also pass its padding
		// check and leave garbage that fails as ASN.1.
		if err != nil && (strings.Contains(err.Error(), "decryption failed") || strings.Contains(err.Error(), "incorrect password") ||
			block.Type == "ENCRYPTED PRIVATE KEY" && strings.Contains(err.Error(), "asn1:")) {
			return nil, errWrongPassword
		}
	case "PUBLIC KEY", "CERTIFICATE":
		return nil, fmt.Errorf("is a %s, not a private key", strings.ToLower(block.Type))
	default:
		return nil, fmt.Errorf("unsupported PEM type %q", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("parsing private key: %w", err)
	}
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		return k, nil
	case *rsa.PrivateKey:
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	default:
		return nil, fmt.Errorf("unsupported private key type %T", key)
	}
}

// keyPassword returns the password of an encrypted key file: AIRLOCK_PASSWORD,
// else COSIGN_PASSWORD (an empty value is an empty password, as in cosign),
// else a prompt on the terminal. It is never read from argv.
func keyPassword(c *cli.Context, ref string) ([]byte, error) {
	for _, name := range []string{"AIRLOCK_PASSWORD", "COSIGN_PASSWORD"} {
		if pw, ok := os.LookupEnv(name); ok {
			return []byte(pw), nil
		}
	}
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil || !term.IsTerminal(int(tty.Fd())) {
		if tty != nil {
			tty.Close()
		}
		// The caller says which key: `key "cosign.key": encrypted, ...`.
		return nil, withHint(errors.New("encrypted, and there is no terminal to ask for its password"),
			"set AIRLOCK_PASSWORD or COSIGN_PASSWORD")
	}
	defer tty.Close()
	fmt.Fprintf(tty, "Enter password for private key %s: ", ref)
	pw, err := readSecret(tty)
	if err != nil {
		return nil, fmt.Errorf("reading password: %w", err)
	}
	return pw, nil
}
