package bundle

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/youmark/pkcs8"
	"golang.org/x/crypto/nacl/secretbox"
	"golang.org/x/crypto/scrypt"
)

// ErrWrongPassword is the error of ParsePrivateKey for an encrypted key
// whose password is wrong: the encryption's own check (an authenticator,
// or the key that decryption yields) failed on a well-formed file.
var ErrWrongPassword = errors.New("wrong password")

// ParsePrivateKey reads a PEM private key file: PKCS#8 ("PRIVATE KEY"),
// SEC 1 ("EC PRIVATE KEY"), PKCS#1 ("RSA PRIVATE KEY"), cosign's scrypt and
// secretbox encrypted key ("ENCRYPTED SIGSTORE PRIVATE KEY", or the older
// "ENCRYPTED COSIGN PRIVATE KEY"), or encrypted PKCS#8 ("ENCRYPTED PRIVATE
// KEY" with PBES2, as openssl genpkey -aes-256-cbc writes). password is
// called only for an encrypted key. The key is ECDSA, RSA or Ed25519.
//
// A wrong password is ErrWrongPassword, decided by the file's structure:
// once the encrypted file parses and names a scheme that is supported, a
// failure to decrypt (secretbox's authenticator, PBES2's padding or tag)
// or to parse what decryption yielded can only come from the password.
func ParsePrivateKey(data []byte, password func() ([]byte, error)) (crypto.Signer, error) {
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
	case "ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY", "ENCRYPTED PRIVATE KEY":
		decrypt := decryptPBES2
		if block.Type != "ENCRYPTED PRIVATE KEY" {
			decrypt = decryptCosign
		}
		pw, perr := password()
		if perr != nil {
			return nil, perr // the caller's, as it is
		}
		key, err = decrypt(block.Bytes, pw)
		clear(pw)
	case "PUBLIC KEY", "CERTIFICATE":
		return nil, fmt.Errorf("is a %s, not a private key", strings.ToLower(block.Type))
	default:
		return nil, fmt.Errorf("unsupported PEM type %q", block.Type)
	}
	if errors.Is(err, ErrWrongPassword) {
		return nil, ErrWrongPassword
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

// cosignKey is cosign's encrypted key (go-securesystemslib's encrypted
// format): scrypt with one of three fixed parameter sets, then NaCl
// secretbox over the PKCS#8 DER.
type cosignKey struct {
	KDF struct {
		Name   string `json:"name"`
		Params struct {
			N, R, P int
		} `json:"params"`
		Salt []byte `json:"salt"`
	} `json:"kdf"`
	Cipher struct {
		Name  string `json:"name"`
		Nonce []byte `json:"nonce"`
	} `json:"cipher"`
	Ciphertext []byte `json:"ciphertext"`
}

func decryptCosign(der, pw []byte) (crypto.PrivateKey, error) {
	var k cosignKey
	if err := json.Unmarshal(der, &k); err != nil {
		return nil, fmt.Errorf("malformed encrypted key: %w", err)
	}
	p := k.KDF.Params
	switch {
	case k.KDF.Name != "scrypt":
		return nil, fmt.Errorf("unsupported key derivation %q", k.KDF.Name)
	case k.Cipher.Name != "nacl/secretbox":
		return nil, fmt.Errorf("unsupported cipher %q", k.Cipher.Name)
	case len(k.Cipher.Nonce) != 24:
		return nil, errors.New("malformed encrypted key: the nonce is not 24 bytes")
	case p.R != 8 || p.P != 1 || !slices.Contains([]int{1 << 15, 1 << 16, 1 << 17}, p.N):
		return nil, errors.New("unsupported scrypt parameters")
	}
	sym, err := scrypt.Key(pw, k.KDF.Salt, p.N, p.R, p.P, 32)
	if err != nil {
		return nil, err
	}
	var key [32]byte
	var nonce [24]byte
	copy(key[:], sym)
	copy(nonce[:], k.Cipher.Nonce)
	plain, ok := secretbox.Open(nil, k.Ciphertext, &nonce, &key)
	clear(key[:])
	if !ok {
		return nil, ErrWrongPassword
	}
	// Authenticated: what fails to parse now is a bad key, not a password.
	return x509.ParsePKCS8PrivateKey(plain)
}

// PKCS#8 PBES2 (RFC 8018) as youmark/pkcs8 decrypts it.
var (
	oidPBES2     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	pbes2KDFs    = []asn1.ObjectIdentifier{{1, 2, 840, 113549, 1, 5, 12}, {1, 3, 6, 1, 4, 1, 11591, 4, 11}} // PBKDF2, scrypt
	pbes2Ciphers = []asn1.ObjectIdentifier{
		{2, 16, 840, 1, 101, 3, 4, 1, 2}, {2, 16, 840, 1, 101, 3, 4, 1, 22}, {2, 16, 840, 1, 101, 3, 4, 1, 42}, // AES-CBC
		{2, 16, 840, 1, 101, 3, 4, 1, 6}, {2, 16, 840, 1, 101, 3, 4, 1, 26}, {2, 16, 840, 1, 101, 3, 4, 1, 46}, // AES-GCM
		{1, 2, 840, 113549, 3, 7}, // DES-EDE3-CBC
	}
)

func decryptPBES2(der, pw []byte) (crypto.PrivateKey, error) {
	var info struct {
		Algo pkix.AlgorithmIdentifier
		Data []byte
	}
	if rest, err := asn1.Unmarshal(der, &info); err != nil || len(rest) > 0 {
		return nil, errors.New("malformed encrypted PKCS#8 key")
	}
	if !info.Algo.Algorithm.Equal(oidPBES2) {
		return nil, fmt.Errorf("unsupported key encryption %v (only PBES2)", info.Algo.Algorithm)
	}
	var params struct {
		KDF, Cipher pkix.AlgorithmIdentifier
	}
	if _, err := asn1.Unmarshal(info.Algo.Parameters.FullBytes, &params); err != nil {
		return nil, errors.New("malformed PBES2 parameters")
	}
	if !slices.ContainsFunc(pbes2KDFs, params.KDF.Algorithm.Equal) {
		return nil, fmt.Errorf("unsupported key derivation %v", params.KDF.Algorithm)
	}
	if !slices.ContainsFunc(pbes2Ciphers, params.Cipher.Algorithm.Equal) {
		return nil, fmt.Errorf("unsupported cipher %v", params.Cipher.Algorithm)
	}
	// A supported, well-formed file: decryption (CBC padding, GCM tag) and
	// the parse of what it yields fail only with a wrong password; a CBC
	// key can pass the padding check and leave garbage.
	key, err := pkcs8.ParsePKCS8PrivateKey(der, pw)
	if err != nil {
		return nil, ErrWrongPassword
	}
	return key, nil
}
