//go:build cgo

// Objects and attributes: finding keys, public keys and certificates on a
// token and reading what they are.

package hsm

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/miekg/pkcs11"
)

// PKCS#11 3.0 values miekg/pkcs11 v1.1.2 does not define.
const (
	ckkECEdwards            = 0x40
	ckmECEdwardsKeyPairGen  = 0x1055
	ckmEdDSA                = 0x1057
	maxObjectsPerSearch     = 64
	maxCertificateChainSize = 8
)

// maxFoundObjects bounds the objects one search returns; a var so that a
// test can lower it.
var maxFoundObjects = 10000

var (
	oidP256    = []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}
	oidP384    = []byte{0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22}
	oidP521    = []byte{0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23}
	oidEd25519 = []byte{0x06, 0x03, 0x2b, 0x65, 0x70}
	// "edwards25519" as a PrintableString, the PKCS#11 3.0 curve name form.
	nameEd25519 = append([]byte{0x13, 12}, "edwards25519"...)
)

// find returns every object matching tmpl, reading them maxObjectsPerSearch
// at a time. More than maxFoundObjects is ErrTooManyObjects, never a partial
// list: a caller deciding "no such key" or "one key" from a cut list would
// decide wrong.
func (l *library) find(sh pkcs11.SessionHandle, tmpl []*pkcs11.Attribute) ([]pkcs11.ObjectHandle, error) {
	if err := l.ctx.FindObjectsInit(sh, tmpl); err != nil {
		return nil, err
	}
	defer l.ctx.FindObjectsFinal(sh)
	var all []pkcs11.ObjectHandle
	for {
		hs, _, err := l.ctx.FindObjects(sh, maxObjectsPerSearch)
		if err != nil {
			return nil, err
		}
		if len(hs) == 0 {
			return all, nil
		}
		all = append(all, hs...)
		if len(all) > maxFoundObjects {
			return nil, errorf(ErrTooManyObjects, "more than %d objects match", maxFoundObjects)
		}
	}
}

// attr reads one attribute; absent or unreadable attributes give nil.
func (l *library) attr(sh pkcs11.SessionHandle, o pkcs11.ObjectHandle, typ uint) []byte {
	as, err := l.ctx.GetAttributeValue(sh, o, []*pkcs11.Attribute{pkcs11.NewAttribute(typ, nil)})
	if err != nil || len(as) != 1 {
		return nil
	}
	return as[0].Value
}

func (l *library) boolAttr(sh pkcs11.SessionHandle, o pkcs11.ObjectHandle, typ uint) bool {
	v := l.attr(sh, o, typ)
	return len(v) == 1 && v[0] != 0
}

func (l *library) ulongAttr(sh pkcs11.SessionHandle, o pkcs11.ObjectHandle, typ uint) (uint64, bool) {
	v := l.attr(sh, o, typ)
	switch len(v) {
	case 8:
		return binary.NativeEndian.Uint64(v), true
	case 4:
		return uint64(binary.NativeEndian.Uint32(v)), true
	}
	return 0, false
}

func keyTemplate(class uint, label string, id []byte) []*pkcs11.Attribute {
	t := []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_CLASS, class)}
	if label != "" {
		t = append(t, pkcs11.NewAttribute(pkcs11.CKA_LABEL, label))
	}
	if len(id) > 0 {
		t = append(t, pkcs11.NewAttribute(pkcs11.CKA_ID, id))
	}
	return t
}

// pairTemplate finds the objects that belong with a private key: same
// CKA_ID when it has one, else same label.
func pairTemplate(class uint, label string, id []byte) []*pkcs11.Attribute {
	if len(id) > 0 {
		return keyTemplate(class, "", id)
	}
	return keyTemplate(class, label, nil)
}

// keyType works out a private key's type from its attributes.
func (l *library) keyType(sh pkcs11.SessionHandle, o pkcs11.ObjectHandle) KeyType {
	kt, _ := l.ulongAttr(sh, o, pkcs11.CKA_KEY_TYPE)
	switch kt {
	case pkcs11.CKK_EC:
		switch p := l.attr(sh, o, pkcs11.CKA_EC_PARAMS); {
		case bytes.Equal(p, oidP256):
			return ECDSAP256
		case bytes.Equal(p, oidP384):
			return ECDSAP384
		case bytes.Equal(p, oidP521):
			return ECDSAP521
		}
		return "ecdsa-unknown-curve"
	case ckkECEdwards:
		if p := l.attr(sh, o, pkcs11.CKA_EC_PARAMS); bytes.Equal(p, oidEd25519) || bytes.Equal(p, nameEd25519) {
			return Ed25519
		}
		return "eddsa-unknown-curve"
	case pkcs11.CKK_RSA:
		n := l.attr(sh, o, pkcs11.CKA_MODULUS)
		bits := new(big.Int).SetBytes(n).BitLen()
		return KeyType("rsa-" + strconv.Itoa(bits))
	}
	return KeyType(fmt.Sprintf("key-type-0x%x", kt))
}

func (l *library) keyInfo(sh pkcs11.SessionHandle, st slotToken, o pkcs11.ObjectHandle) KeyInfo {
	ki := KeyInfo{
		Token:              st.info.Label,
		Label:              string(l.attr(sh, o, pkcs11.CKA_LABEL)),
		ID:                 l.attr(sh, o, pkcs11.CKA_ID),
		Type:               l.keyType(sh, o),
		Usage:              []string{},
		Extractable:        l.boolAttr(sh, o, pkcs11.CKA_EXTRACTABLE),
		Sensitive:          l.boolAttr(sh, o, pkcs11.CKA_SENSITIVE),
		NeverExtractable:   l.boolAttr(sh, o, pkcs11.CKA_NEVER_EXTRACTABLE),
		AlwaysSensitive:    l.boolAttr(sh, o, pkcs11.CKA_ALWAYS_SENSITIVE),
		AlwaysAuthenticate: l.boolAttr(sh, o, pkcs11.CKA_ALWAYS_AUTHENTICATE),
	}
	ki.IDHex = hex.EncodeToString(ki.ID)
	for _, u := range []struct {
		a    uint
		name string
	}{{pkcs11.CKA_SIGN, "sign"}, {pkcs11.CKA_SIGN_RECOVER, "sign-recover"}, {pkcs11.CKA_DECRYPT, "decrypt"},
		{pkcs11.CKA_UNWRAP, "unwrap"}, {pkcs11.CKA_DERIVE, "derive"}} {
		if l.boolAttr(sh, o, u.a) {
			ki.Usage = append(ki.Usage, u.name)
		}
	}
	// Too many matches still means there is one.
	if pubs, err := l.find(sh, pairTemplate(pkcs11.CKO_PUBLIC_KEY, ki.Label, ki.ID)); len(pubs) > 0 || errors.Is(err, ErrTooManyObjects) {
		ki.HasPublicKey = true
	}
	if certs, err := l.find(sh, pairTemplate(pkcs11.CKO_CERTIFICATE, ki.Label, ki.ID)); len(certs) > 0 || errors.Is(err, ErrTooManyObjects) {
		ki.HasCertificate = true
	}
	u := URI{Token: st.info.Label, Object: ki.Label, ID: ki.ID, ModulePath: l.path}
	ki.URI = u.String()
	return ki
}

// Keys lists the private keys on the token sel selects. pin is asked for
// when the token needs a login; with a nil pin only public objects show.
func (m *Module) Keys(sel TokenSelector, pin PINFunc) ([]KeyInfo, error) {
	l := m.lib
	st, err := l.token(sel)
	if err != nil {
		return nil, err
	}
	sh, done, err := l.session(st, false, pin)
	if err != nil {
		return nil, err
	}
	defer done()
	hs, err := l.find(sh, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY)})
	if err != nil {
		return nil, tokenErr(err, st, "listing keys")
	}
	out := make([]KeyInfo, 0, len(hs))
	for _, h := range hs {
		out = append(out, l.keyInfo(sh, st, h))
	}
	return out, nil
}

// PublicKey returns the public key sel names, read from the public key
// object or a certificate on the token. It logs in (asking pin) only when
// no public object matches and pin is not nil.
func (m *Module) PublicKey(u *URI, pin PINFunc) (crypto.PublicKey, error) {
	l := m.lib
	if u.Object == "" && len(u.ID) == 0 {
		return nil, errorf(ErrNoKey, "key URI %q names no key: add object= or id=", u.String())
	}
	st, err := l.token(u.TokenSelector())
	if err != nil {
		return nil, err
	}
	sh, done, err := l.session(st, false, nil)
	if err != nil {
		return nil, err
	}
	defer done()
	var pk crypto.PublicKey
	if u.Object != "" && len(u.ID) > 0 {
		// Both given: the public object must match both (pairTemplate
		// pairs by id alone, which is right for a private key's pair but
		// would ignore the object= the user wrote; found in review).
		hs, ferr := l.find(sh, keyTemplate(pkcs11.CKO_PUBLIC_KEY, u.Object, u.ID))
		switch {
		case ferr != nil:
			return nil, tokenErr(ferr, st, "searching public keys")
		case len(hs) == 1:
			return l.parsePublic(sh, hs[0])
		case len(hs) > 1:
			return nil, ambiguousKey(len(hs), "public keys", u, st)
		}
		err = errorf(ErrNoKey, "no public key %s on token %q", describeKey(u), st.info.Label)
	} else {
		pk, err = l.publicKey(sh, st, u.Object, u.ID, 0)
	}
	if err == nil || pin == nil || !errors.Is(err, ErrNoKey) {
		return pk, err
	}
	sh2, done2, err := l.session(st, false, pin)
	if err != nil {
		return nil, err
	}
	defer done2()
	k, err := l.privateKey(sh2, st, u)
	if err != nil {
		return nil, err
	}
	return l.publicKey(sh2, st, string(l.attr(sh2, k, pkcs11.CKA_LABEL)), l.attr(sh2, k, pkcs11.CKA_ID), k)
}

// privateKey finds the one private key u names.
func (l *library) privateKey(sh pkcs11.SessionHandle, st slotToken, u *URI) (pkcs11.ObjectHandle, error) {
	if u.Type != "" && u.Type != "private" {
		return 0, errorf(ErrNoKey, "key URI %q has type=%s: a signing key is type=private", u.String(), u.Type)
	}
	if u.Object == "" && len(u.ID) == 0 {
		return 0, errorf(ErrNoKey, "key URI %q names no key: add object= or id=", u.String())
	}
	hs, err := l.find(sh, keyTemplate(pkcs11.CKO_PRIVATE_KEY, u.Object, u.ID))
	if err != nil {
		return 0, tokenErr(err, st, "searching keys")
	}
	switch len(hs) {
	case 0:
		return 0, errorf(ErrNoKey, "no key %s on token %q", describeKey(u), st.info.Label)
	case 1:
		return hs[0], nil
	default:
		return 0, ambiguousKey(len(hs), "keys", u, st)
	}
}

// ambiguousKey is the ErrAmbiguous of a key lookup that matched n objects
// (what: "keys", "public keys"). The URI can be narrowed with id= only when
// it has none.
func ambiguousKey(n int, what string, u *URI, st slotToken) error {
	if len(u.ID) == 0 {
		return errorf(ErrAmbiguous, "%d %s %s on token %q: add id= to the URI", n, what, describeKey(u), st.info.Label)
	}
	return errorf(ErrAmbiguous, "%d %s %s on token %q", n, what, describeKey(u), st.info.Label)
}

func describeKey(u *URI) string {
	var parts []string
	if u.Object != "" {
		parts = append(parts, fmt.Sprintf("labelled %q", u.Object))
	}
	if len(u.ID) > 0 {
		parts = append(parts, fmt.Sprintf("with id %x", u.ID))
	}
	return strings.Join(parts, " and ")
}

// publicKey finds the public key for a private key (label, id): the public
// key object, else a certificate, else (RSA) the private key's public
// attributes. priv may be 0 when the private key is not known.
func (l *library) publicKey(sh pkcs11.SessionHandle, st slotToken, label string, id []byte, priv pkcs11.ObjectHandle) (crypto.PublicKey, error) {
	hs, err := l.find(sh, pairTemplate(pkcs11.CKO_PUBLIC_KEY, label, id))
	if err != nil {
		return nil, tokenErr(err, st, "searching public keys")
	}
	if len(hs) > 1 {
		return nil, ambiguousKey(len(hs), "public keys", &URI{Object: label, ID: id}, st)
	}
	if len(hs) == 1 {
		return l.parsePublic(sh, hs[0])
	}
	certs := l.certificates(sh, label, id)
	if len(certs) > 0 {
		return certs[0].PublicKey, nil
	}
	if priv != 0 {
		if kt, _ := l.ulongAttr(sh, priv, pkcs11.CKA_KEY_TYPE); kt == pkcs11.CKK_RSA {
			if pk, err := l.parsePublic(sh, priv); err == nil {
				return pk, nil
			}
		}
	}
	return nil, errorf(ErrNoKey, "no public key or certificate %s on token %q", describeKey(&URI{Object: label, ID: id}), st.info.Label)
}

func (l *library) parsePublic(sh pkcs11.SessionHandle, o pkcs11.ObjectHandle) (crypto.PublicKey, error) {
	kt, _ := l.ulongAttr(sh, o, pkcs11.CKA_KEY_TYPE)
	switch kt {
	case pkcs11.CKK_RSA:
		n := new(big.Int).SetBytes(l.attr(sh, o, pkcs11.CKA_MODULUS))
		e := new(big.Int).SetBytes(l.attr(sh, o, pkcs11.CKA_PUBLIC_EXPONENT))
		if n.Sign() == 0 || !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 {
			return nil, errorf(ErrUnsupported, "RSA public key on the token is malformed")
		}
		return &rsa.PublicKey{N: n, E: int(e.Int64())}, nil
	case pkcs11.CKK_EC, ckkECEdwards:
		params := l.attr(sh, o, pkcs11.CKA_EC_PARAMS)
		point := l.attr(sh, o, pkcs11.CKA_EC_POINT)
		var raw []byte
		if rest, err := asn1.Unmarshal(point, &raw); err != nil || len(rest) > 0 {
			raw = point // some tokens return the bare point
		}
		switch {
		case bytes.Equal(params, oidEd25519), bytes.Equal(params, nameEd25519):
			if len(raw) != ed25519.PublicKeySize {
				return nil, errorf(ErrUnsupported, "Ed25519 public key on the token is malformed")
			}
			return ed25519.PublicKey(bytes.Clone(raw)), nil
		case bytes.Equal(params, oidP256), bytes.Equal(params, oidP384), bytes.Equal(params, oidP521):
			c := curveFor(params)
			pk, err := ecdsa.ParseUncompressedPublicKey(c, raw)
			if err != nil {
				return nil, wrapf(ErrUnsupported, err, "EC public key on the token is malformed")
			}
			return pk, nil
		}
		return nil, errorf(ErrUnsupported, "the key's curve (parameters %x) is not supported", params)
	}
	return nil, errorf(ErrUnsupported, "key type 0x%x is not supported", kt)
}

// publicMatchesType reports whether pub is a key of the private key's type
// (its curve for ECDSA; any size for RSA, whose size may be hidden on the
// private key).
func publicMatchesType(pub crypto.PublicKey, typ KeyType) bool {
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		switch typ {
		case ECDSAP256:
			return p.Curve == elliptic.P256()
		case ECDSAP384:
			return p.Curve == elliptic.P384()
		case ECDSAP521:
			return p.Curve == elliptic.P521()
		}
		return false
	case ed25519.PublicKey:
		return typ == Ed25519
	case *rsa.PublicKey:
		return strings.HasPrefix(string(typ), "rsa-")
	}
	return false
}

// certificates returns the X.509 certificate for (label, id) on the token,
// followed by the issuers found on the token, leaf first.
func (l *library) certificates(sh pkcs11.SessionHandle, label string, id []byte) []*x509.Certificate {
	hs, err := l.find(sh, append(pairTemplate(pkcs11.CKO_CERTIFICATE, label, id),
		pkcs11.NewAttribute(pkcs11.CKA_CERTIFICATE_TYPE, pkcs11.CKC_X_509)))
	if err != nil || len(hs) != 1 {
		return nil
	}
	leaf, err := x509.ParseCertificate(l.attr(sh, hs[0], pkcs11.CKA_VALUE))
	if err != nil {
		return nil
	}
	chain := []*x509.Certificate{leaf}
	for cur := leaf; len(chain) < maxCertificateChainSize && !bytes.Equal(cur.RawIssuer, cur.RawSubject); {
		hs, err := l.find(sh, []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_CERTIFICATE),
			pkcs11.NewAttribute(pkcs11.CKA_SUBJECT, cur.RawIssuer)})
		if err != nil {
			break
		}
		var next *x509.Certificate
		for _, h := range hs {
			c, err := x509.ParseCertificate(l.attr(sh, h, pkcs11.CKA_VALUE))
			if err == nil && cur.CheckSignatureFrom(c) == nil {
				next = c
				break
			}
		}
		if next == nil {
			break
		}
		chain = append(chain, next)
		cur = next
	}
	return chain
}
