//go:build cgo

// The signing key: a private key on a token as a crypto.Signer.

package hsm

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/miekg/pkcs11"
)

// Key is a private key on a token, usable as a crypto.Signer. Sign is safe
// for concurrent use: each call takes a session from a pool; all sessions
// share one login.
type Key struct {
	mod    *Module
	st     slotToken
	obj    pkcs11.ObjectHandle
	typ    KeyType
	pub    crypto.PublicKey
	certs  []*x509.Certificate
	uri    string
	idle   chan pkcs11.SessionHandle
	sem    chan struct{}
	done   chan struct{} // closed by Close; wakes Signs waiting for a session
	mu     sync.Mutex    // guards closed, broken, loginSH
	closed bool
	broken error // set once the token is gone; every later Sign fails fast
	// loginSH is the session that holds the login; kept open so the login
	// outlives idle pool sessions.
	loginSH pkcs11.SessionHandle
	logout  func()
	// contextPIN holds the PIN for a key with CKA_ALWAYS_AUTHENTICATE
	// (PIV signature keys, for one), which needs a context-specific login
	// before every signature; nil for other keys. Wiped by Close.
	contextPIN *pinCache
}

// OpenKey opens the private key u names for signing. It loads the module,
// finds the one token and the one private key u selects, logs in once (the
// PIN is asked for once and never retried), reads the public key and any
// certificate chain, and checks with a test signature that the private and
// public key belong together.
func OpenKey(u *URI, opts KeyOptions) (*Key, error) {
	path, err := ResolveModulePath(u, opts.ModulePath)
	if err != nil {
		return nil, err
	}
	if u.Type != "" && u.Type != "private" {
		return nil, errorf(ErrNoKey, "key URI %q has type=%s: a signing key is type=private", u.String(), u.Type)
	}
	if u.Object == "" && len(u.ID) == 0 {
		return nil, errorf(ErrNoKey, "key URI %q names no key: add object= or id=", u.String())
	}
	m, err := OpenModule(path)
	if err != nil {
		return nil, err
	}
	k, err := openKey(m, u, opts)
	if err != nil {
		m.Close()
		return nil, err
	}
	return k, nil
}

func openKey(m *Module, u *URI, opts KeyOptions) (*Key, error) {
	l := m.lib
	st, err := l.token(u.TokenSelector())
	if err != nil {
		return nil, err
	}
	pin := opts.PIN
	if pin == nil {
		pin = func() ([]byte, error) { return nil, errors.New("no PIN source given") }
	}
	// The PIN is kept only for a key that needs it at every signature.
	cache := &pinCache{f: pin}
	sh, done0, err := l.session(st, false, cache.get)
	if err != nil {
		cache.wipe()
		return nil, err
	}
	done := func() { done0(); cache.wipe() }
	obj, err := l.privateKey(sh, st, u)
	if err != nil {
		done()
		return nil, err
	}
	label := string(l.attr(sh, obj, pkcs11.CKA_LABEL))
	id := l.attr(sh, obj, pkcs11.CKA_ID)
	if !l.boolAttr(sh, obj, pkcs11.CKA_SIGN) {
		done()
		return nil, errorf(ErrNotSignKey, "key %q on token %q may not sign (CKA_SIGN is false)", label, st.info.Label)
	}
	var contextPIN *pinCache
	if l.boolAttr(sh, obj, pkcs11.CKA_ALWAYS_AUTHENTICATE) {
		contextPIN = cache
	} else {
		cache.wipe()
	}
	typ := l.keyType(sh, obj)
	switch typ {
	case ECDSAP256, ECDSAP384, ECDSAP521, Ed25519:
	default:
		if !strings.HasPrefix(string(typ), "rsa-") {
			done()
			return nil, errorf(ErrUnsupported, "key %q on token %q has unsupported type %s", label, st.info.Label, typ)
		}
	}
	pub, err := l.publicKey(sh, st, label, id, obj)
	if err != nil {
		done()
		return nil, err
	}
	if !publicMatchesType(pub, typ) {
		// A public object of another kind of key under the private key's
		// id: said as the mismatch it is, before the self-test would sign
		// with a mechanism the private key does not have (found in review:
		// CKR_GENERAL_ERROR).
		done()
		return nil, errorf(ErrKeyMismatch, "the public key of %q on token %q does not match its private key (a %T for a %s key)", label, st.info.Label, pub, typ)
	}
	if rp, ok := pub.(*rsa.PublicKey); ok {
		// Some tokens hide CKA_MODULUS on the private key; name the type
		// from the public key.
		typ = KeyType("rsa-" + strconv.Itoa(rp.N.BitLen()))
	}
	n := opts.Sessions
	if n <= 0 {
		n = runtime.NumCPU()
	}
	k := &Key{
		mod: m, st: st, obj: obj, typ: typ, pub: pub,
		certs:      l.certificates(sh, label, id),
		uri:        (&URI{Token: st.info.Label, Object: label, ID: id, ModulePath: l.path, PINSource: u.PINSource}).String(),
		idle:       make(chan pkcs11.SessionHandle, n+1),
		sem:        make(chan struct{}, n),
		done:       make(chan struct{}),
		loginSH:    sh,
		logout:     done,
		contextPIN: contextPIN,
	}
	if len(k.certs) > 0 && !publicKeysEqual(k.certs[0].PublicKey, pub) {
		k.certs = nil // a certificate for some other key; do not hand it out
	}
	k.idle <- sh // the login session also signs
	if err := k.selfTest(); err != nil {
		k.closeSessions()
		return nil, err
	}
	return k, nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	ea, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ea.Equal(b)
}

// selfTest signs a fixed digest and verifies it with the public key, so a
// token whose public object belongs to another key is caught at open.
func (k *Key) selfTest() error {
	msg := []byte("airlock pkcs11 pairing check")
	d := sha256.Sum256(msg)
	var err error
	switch pub := k.pub.(type) {
	case *ecdsa.PublicKey:
		var sig []byte
		if sig, err = k.Sign(nil, d[:], crypto.SHA256); err == nil && !ecdsa.VerifyASN1(pub, d[:], sig) {
			err = errorf(ErrKeyMismatch, "the public key of %q on token %q does not match its private key", k.uri, k.st.info.Label)
		}
	case *rsa.PublicKey:
		var sig []byte
		if sig, err = k.Sign(nil, d[:], crypto.SHA256); err == nil {
			if rsa.VerifyPKCS1v15(pub, crypto.SHA256, d[:], sig) != nil {
				err = errorf(ErrKeyMismatch, "the public key of %q on token %q does not match its private key", k.uri, k.st.info.Label)
			}
		}
	case ed25519.PublicKey:
		var sig []byte
		if sig, err = k.Sign(nil, msg, crypto.Hash(0)); err == nil && !ed25519.Verify(pub, msg, sig) {
			err = errorf(ErrKeyMismatch, "the public key of %q on token %q does not match its private key", k.uri, k.st.info.Label)
		}
	default:
		err = errorf(ErrUnsupported, "public key type %T is not supported", k.pub)
	}
	return err
}

// Public returns the public key.
func (k *Key) Public() crypto.PublicKey { return k.pub }

// Type returns the key's type.
func (k *Key) Type() KeyType { return k.typ }

// Certificates returns the certificate chain found on the token for this
// key, leaf first, or nil.
func (k *Key) Certificates() []*x509.Certificate { return k.certs }

// URI returns a URI naming this key (token, object, id, module-path and the
// pin-source it was opened with). It never contains a PIN.
func (k *Key) URI() string { return k.uri }

// TokenLabel returns the label of the key's token.
func (k *Key) TokenLabel() string { return k.st.info.Label }

// Close closes the key's sessions and logs out. Sign fails after Close.
func (k *Key) Close() error {
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return nil
	}
	k.closed = true
	close(k.done)
	k.mu.Unlock()
	k.closeSessions()
	return k.mod.Close()
}

// Sign signs digest with the key on the token. For ECDSA and RSA, digest is
// the hash of the message computed by the caller and opts.HashFunc() names
// the hash (for RSA PKCS#1 v1.5 its DigestInfo is prefixed; crypto.Hash(0)
// signs digest as is). *rsa.PSSOptions selects RSA-PSS. For Ed25519, digest
// is the whole message and opts.HashFunc() must be 0. rand is not used: the
// token makes its own randomness.
func (k *Key) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts == nil {
		opts = crypto.Hash(0)
	}
	mech, input, err := k.mechanism(digest, opts)
	if err != nil {
		return nil, err
	}
	sh, err := k.getSession()
	if err != nil {
		return nil, err
	}
	ctx := k.mod.lib.ctx
	if err := ctx.SignInit(sh, []*pkcs11.Mechanism{mech}, k.obj); err != nil {
		e := k.fail(err, "signing")
		k.putSession(sh, !isRemoved(err))
		return nil, e
	}
	if k.contextPIN != nil {
		if err := k.contextLogin(sh); err != nil {
			// The signing operation is still active in sh: drop it.
			k.putSession(sh, false)
			return nil, err
		}
	}
	sig, err := ctx.Sign(sh, input)
	if err != nil {
		e := k.fail(err, "signing")
		k.putSession(sh, !isRemoved(err))
		return nil, e
	}
	k.putSession(sh, true)
	switch k.typ {
	case ECDSAP256, ECDSAP384, ECDSAP521:
		return ecdsaDER(sig)
	}
	return sig, nil
}

func (k *Key) mechanism(digest []byte, opts crypto.SignerOpts) (*pkcs11.Mechanism, []byte, error) {
	h := opts.HashFunc()
	if h != 0 && k.typ != Ed25519 && len(digest) != h.Size() {
		return nil, nil, fmt.Errorf("digest is %d bytes, %v needs %d", len(digest), h, h.Size())
	}
	switch pub := k.pub.(type) {
	case *ecdsa.PublicKey:
		if len(digest) == 0 {
			return nil, nil, errors.New("ecdsa: empty digest")
		}
		if _, ok := opts.(*rsa.PSSOptions); ok {
			return nil, nil, errors.New("RSA-PSS options given for an ECDSA key")
		}
		// CKM_ECDSA truncates a digest longer than the curve order itself,
		// as ECDSA does; P-384 keys pair with SHA-384 by the caller's choice.
		return pkcs11.NewMechanism(pkcs11.CKM_ECDSA, nil), digest, nil
	case ed25519.PublicKey:
		if h != 0 {
			return nil, nil, fmt.Errorf("ed25519 signs the message itself, not a %v digest (ed25519ph is not supported)", h)
		}
		return pkcs11.NewMechanism(ckmEdDSA, nil), digest, nil
	case *rsa.PublicKey:
		if pss, ok := opts.(*rsa.PSSOptions); ok {
			ck, ok := pssHashes[h]
			if !ok {
				return nil, nil, fmt.Errorf("RSA-PSS with %v is not supported", h)
			}
			emLen := (pub.N.BitLen() - 1 + 7) / 8
			salt := pss.SaltLength
			switch salt {
			case rsa.PSSSaltLengthAuto:
				salt = emLen - h.Size() - 2
			case rsa.PSSSaltLengthEqualsHash:
				salt = h.Size()
			}
			if salt < 0 || salt > emLen-h.Size()-2 {
				return nil, nil, fmt.Errorf("RSA-PSS salt length %d does not fit the key", pss.SaltLength)
			}
			return pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS_PSS, pkcs11.NewPSSParams(ck[0], ck[1], uint(salt))), digest, nil
		}
		if h == 0 {
			return pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS, nil), digest, nil
		}
		prefix, ok := digestInfoPrefix[h]
		if !ok {
			return nil, nil, fmt.Errorf("RSA PKCS#1 v1.5 with %v is not supported", h)
		}
		return pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS, nil), append(bytes.Clone(prefix), digest...), nil
	}
	return nil, nil, errorf(ErrUnsupported, "key type %s is not supported", k.typ)
}

var pssHashes = map[crypto.Hash][2]uint{
	crypto.SHA1:   {pkcs11.CKM_SHA_1, pkcs11.CKG_MGF1_SHA1},
	crypto.SHA224: {pkcs11.CKM_SHA224, pkcs11.CKG_MGF1_SHA224},
	crypto.SHA256: {pkcs11.CKM_SHA256, pkcs11.CKG_MGF1_SHA256},
	crypto.SHA384: {pkcs11.CKM_SHA384, pkcs11.CKG_MGF1_SHA384},
	crypto.SHA512: {pkcs11.CKM_SHA512, pkcs11.CKG_MGF1_SHA512},
}

// digestInfoPrefix is the DER DigestInfo header before the digest, RFC 8017
// section 9.2 note 1.
var digestInfoPrefix = map[crypto.Hash][]byte{
	crypto.SHA1:   {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14},
	crypto.SHA224: {0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04, 0x05, 0x00, 0x04, 0x1c},
	crypto.SHA256: {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20},
	crypto.SHA384: {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30},
	crypto.SHA512: {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40},
}
