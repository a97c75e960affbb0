package main

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/airlock-project/airlock/bundle"
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
	s, err := bundle.ParsePrivateKey(data, func() ([]byte, error) { return keyPassword(c, ref) })
	if err != nil {
		return nil, fmt.Errorf("key %q: %w", ref, err)
	}
	abs, err := filepath.Abs(ref)
	if err != nil {
		abs = ref
	}
	return &signingKey{signer: s, ref: "file:" + abs}, nil
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
