//go:build cgo

// Key generation on a token.

package hsm

import (
	"crypto/rand"
	"errors"
	"strings"

	"github.com/miekg/pkcs11"
)

// GenerateKey generates a key pair on the token sel selects: the private key
// is a token object, private, sensitive, not extractable and may only sign;
// the public key may only verify. The attributes are read back from the
// token and the key is destroyed again if the token did not honour them.
func (m *Module) GenerateKey(sel TokenSelector, pin PINFunc, opts GenerateOptions) (KeyInfo, error) {
	l := m.lib
	if opts.Label == "" {
		return KeyInfo{}, errors.New("a new key needs a label")
	}
	if _, err := ParseKeyType(string(opts.Type)); err != nil {
		return KeyInfo{}, errorf(ErrUnsupported, "%s", err)
	}
	st, err := l.token(sel)
	if err != nil {
		return KeyInfo{}, err
	}
	if pin == nil {
		pin = func() ([]byte, error) { return nil, errors.New("no PIN given") }
	}
	sh, done, err := l.session(st, true, pin)
	if err != nil {
		return KeyInfo{}, err
	}
	defer done()
	for _, class := range []uint{pkcs11.CKO_PRIVATE_KEY, pkcs11.CKO_PUBLIC_KEY} {
		hs, err := l.find(sh, keyTemplate(class, opts.Label, nil))
		if err != nil {
			return KeyInfo{}, tokenErr(err, st, "searching keys")
		}
		if len(hs) > 0 {
			return KeyInfo{}, errorf(ErrAmbiguous, "a key labelled %q already exists on token %q", opts.Label, st.info.Label)
		}
	}
	id := opts.ID
	if len(id) == 0 {
		id = make([]byte, 16)
		if _, err := rand.Read(id); err != nil {
			return KeyInfo{}, err
		}
	} else if hs, err := l.find(sh, keyTemplate(pkcs11.CKO_PRIVATE_KEY, "", id)); err == nil && len(hs) > 0 {
		return KeyInfo{}, errorf(ErrAmbiguous, "a key with id %x already exists on token %q", id, st.info.Label)
	}
	pub := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PUBLIC_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, false),
		pkcs11.NewAttribute(pkcs11.CKA_VERIFY, true),
		pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, false),
		pkcs11.NewAttribute(pkcs11.CKA_WRAP, false),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, opts.Label),
		pkcs11.NewAttribute(pkcs11.CKA_ID, id),
	}
	priv := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false),
		pkcs11.NewAttribute(pkcs11.CKA_SIGN, true),
		pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, false),
		pkcs11.NewAttribute(pkcs11.CKA_UNWRAP, false),
		pkcs11.NewAttribute(pkcs11.CKA_DERIVE, false),
		pkcs11.NewAttribute(pkcs11.CKA_SIGN_RECOVER, false),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, opts.Label),
		pkcs11.NewAttribute(pkcs11.CKA_ID, id),
	}
	var mech uint
	switch opts.Type {
	case ECDSAP256, ECDSAP384:
		mech = pkcs11.CKM_EC_KEY_PAIR_GEN
		params := oidP256
		if opts.Type == ECDSAP384 {
			params = oidP384
		}
		pub = append(pub, pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_EC), pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, params))
		priv = append(priv, pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_EC))
	case RSA3072, RSA4096:
		mech = pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN
		bits := 3072
		if opts.Type == RSA4096 {
			bits = 4096
		}
		pub = append(pub, pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_RSA),
			pkcs11.NewAttribute(pkcs11.CKA_MODULUS_BITS, bits),
			pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, []byte{1, 0, 1}))
		priv = append(priv, pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_RSA))
	case Ed25519:
		mech = ckmECEdwardsKeyPairGen
		pub = append(pub, pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, ckkECEdwards), pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, oidEd25519))
		priv = append(priv, pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, ckkECEdwards))
	}
	ph, kh, err := l.ctx.GenerateKeyPair(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(mech, nil)}, pub, priv)
	if err != nil {
		if isCode(err, pkcs11.CKR_MECHANISM_INVALID) {
			return KeyInfo{}, wrapf(ErrUnsupported, err, "token %q cannot generate %s keys", st.info.Label, opts.Type)
		}
		return KeyInfo{}, tokenErr(err, st, "generating a key")
	}
	ki := l.keyInfo(sh, st, kh)
	var bad []string
	if !ki.CanSign() {
		bad = append(bad, "CKA_SIGN is false")
	}
	if len(ki.Usage) != 1 {
		bad = append(bad, "usage is "+strings.Join(ki.Usage, ",")+", not sign only")
	}
	if ki.Extractable {
		bad = append(bad, "CKA_EXTRACTABLE is true")
	}
	if !ki.Sensitive {
		bad = append(bad, "CKA_SENSITIVE is false")
	}
	if !l.boolAttr(sh, kh, pkcs11.CKA_TOKEN) || !l.boolAttr(sh, kh, pkcs11.CKA_PRIVATE) {
		bad = append(bad, "not a private token object")
	}
	if ki.Type != opts.Type {
		bad = append(bad, "type is "+string(ki.Type))
	}
	if len(bad) > 0 {
		l.ctx.DestroyObject(sh, kh)
		l.ctx.DestroyObject(sh, ph)
		return KeyInfo{}, errorf(ErrUnsupported, "token %q did not make the key as asked (%s); the key was deleted", st.info.Label, strings.Join(bad, "; "))
	}
	return ki, nil
}
