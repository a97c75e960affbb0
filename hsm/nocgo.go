//go:build !cgo

package hsm

import (
	"crypto"
	"crypto/x509"
	"io"
)

// Module is a loaded PKCS#11 library. Without cgo it cannot be loaded.
type Module struct{}

// OpenModule returns ErrNoCgo in a build without cgo.
func OpenModule(path string) (*Module, error) { return nil, ErrNoCgo }

// Path returns "".
func (m *Module) Path() string { return "" }

// Close does nothing.
func (m *Module) Close() error { return nil }

// Tokens returns ErrNoCgo.
func (m *Module) Tokens() ([]TokenInfo, error) { return nil, ErrNoCgo }

// Token returns ErrNoCgo.
func (m *Module) Token(sel TokenSelector) (TokenInfo, error) { return TokenInfo{}, ErrNoCgo }

// Keys returns ErrNoCgo.
func (m *Module) Keys(sel TokenSelector, pin PINFunc) ([]KeyInfo, error) { return nil, ErrNoCgo }

// GenerateKey returns ErrNoCgo.
func (m *Module) GenerateKey(sel TokenSelector, pin PINFunc, opts GenerateOptions) (KeyInfo, error) {
	return KeyInfo{}, ErrNoCgo
}

// PublicKey returns ErrNoCgo.
func (m *Module) PublicKey(u *URI, pin PINFunc) (crypto.PublicKey, error) { return nil, ErrNoCgo }

// Key is a private key on a token. Without cgo it cannot be opened.
type Key struct{}

// ResolveModulePath returns ErrNoCgo.
func ResolveModulePath(u *URI, fallback string) (string, error) { return "", ErrNoCgo }

// OpenKey returns ErrNoCgo in a build without cgo.
func OpenKey(u *URI, opts KeyOptions) (*Key, error) { return nil, ErrNoCgo }

// Public returns nil.
func (k *Key) Public() crypto.PublicKey { return nil }

// Type returns "".
func (k *Key) Type() KeyType { return "" }

// Sign returns ErrNoCgo.
func (k *Key) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) { return nil, ErrNoCgo }

// Certificates returns nil.
func (k *Key) Certificates() []*x509.Certificate { return nil }

// URI returns "".
func (k *Key) URI() string { return "" }

// TokenLabel returns "".
func (k *Key) TokenLabel() string { return "" }

// Close does nothing.
func (k *Key) Close() error { return nil }

// Available reports whether this build can load PKCS#11 modules: without
// cgo it cannot.
func Available() bool { return false }
