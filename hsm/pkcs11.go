//go:build cgo

package hsm

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"

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

var (
	oidP256    = []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}
	oidP384    = []byte{0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22}
	oidP521    = []byte{0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23}
	oidEd25519 = []byte{0x06, 0x03, 0x2b, 0x65, 0x70}
	// "edwards25519" as a PrintableString, the PKCS#11 3.0 curve name form.
	nameEd25519 = append([]byte{0x13, 12}, "edwards25519"...)
)

// library is one loaded PKCS#11 module, shared by every Module opened on the
// same path in this process: C_Initialize may run only once per process and
// the login state of a token is per process too.
type library struct {
	path      string
	ctx       *pkcs11.Ctx
	refs      int
	finalize  bool // we initialised it, so we finalise it
	loginMu   sync.Mutex
	loginRefs map[uint]int // slot -> open logins by this package
}

var (
	libMu sync.Mutex
	libs  = map[string]*library{}
)

// Module is a loaded PKCS#11 library. Close it when done.
type Module struct {
	lib       *library
	closeOnce sync.Once
}

// OpenModule loads the PKCS#11 library at path and initialises it.
func OpenModule(path string) (*Module, error) {
	if path == "" {
		return nil, errorf(ErrModule, "no PKCS#11 module given")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, wrapf(ErrModuleLoad, err, "cannot load PKCS#11 module %q", path)
	}
	if _, err := os.Stat(abs); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, errorf(ErrModuleLoad, "cannot load PKCS#11 module %q: no such file", path)
		}
		return nil, wrapf(ErrModuleLoad, err, "cannot load PKCS#11 module %q", path)
	}
	libMu.Lock()
	defer libMu.Unlock()
	if l, ok := libs[abs]; ok {
		l.refs++
		return &Module{lib: l}, nil
	}
	ctx := pkcs11.New(abs)
	if ctx == nil {
		return nil, errorf(ErrModuleLoad, "cannot load PKCS#11 module %q: not a PKCS#11 library, or it cannot be loaded", path)
	}
	l := &library{path: abs, ctx: ctx, refs: 1, finalize: true, loginRefs: map[uint]int{}}
	if err := ctx.Initialize(); err != nil {
		if !isCode(err, pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
			ctx.Destroy()
			return nil, wrapf(ErrModuleInit, err, "initialising PKCS#11 module %q", path)
		}
		l.finalize = false
	}
	libs[abs] = l
	return &Module{lib: l}, nil
}

// Path returns the absolute path of the module's library.
func (m *Module) Path() string { return m.lib.path }

// Close releases the module; the library is finalised and unloaded when its
// last Module and Key in this process are closed.
func (m *Module) Close() error {
	m.closeOnce.Do(func() {
		libMu.Lock()
		defer libMu.Unlock()
		l := m.lib
		l.refs--
		if l.refs > 0 {
			return
		}
		delete(libs, l.path)
		if l.finalize {
			l.ctx.Finalize()
		}
		l.ctx.Destroy()
	})
	return nil
}

func isCode(err error, code uint) bool {
	var pe pkcs11.Error
	return errors.As(err, &pe) && uint(pe) == code
}

func isRemoved(err error) bool {
	var pe pkcs11.Error
	if !errors.As(err, &pe) {
		return false
	}
	switch uint(pe) {
	case pkcs11.CKR_DEVICE_REMOVED, pkcs11.CKR_TOKEN_NOT_PRESENT, pkcs11.CKR_SESSION_HANDLE_INVALID,
		pkcs11.CKR_SESSION_CLOSED, pkcs11.CKR_DEVICE_ERROR, pkcs11.CKR_SLOT_ID_INVALID,
		pkcs11.CKR_TOKEN_NOT_RECOGNIZED, pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED:
		return true
	}
	return false
}

var tokenFlagNames = []struct {
	flag uint
	name string
}{
	{pkcs11.CKF_TOKEN_INITIALIZED, "initialized"},
	{pkcs11.CKF_LOGIN_REQUIRED, "login-required"},
	{pkcs11.CKF_USER_PIN_INITIALIZED, "user-pin-initialized"},
	{pkcs11.CKF_PROTECTED_AUTHENTICATION_PATH, "protected-authentication-path"},
	{pkcs11.CKF_WRITE_PROTECTED, "write-protected"},
	{pkcs11.CKF_RNG, "rng"},
	{pkcs11.CKF_USER_PIN_COUNT_LOW, "user-pin-count-low"},
	{pkcs11.CKF_USER_PIN_FINAL_TRY, "user-pin-final-try"},
	{pkcs11.CKF_USER_PIN_LOCKED, "user-pin-locked"},
	{pkcs11.CKF_USER_PIN_TO_BE_CHANGED, "user-pin-to-be-changed"},
	{pkcs11.CKF_SO_PIN_LOCKED, "so-pin-locked"},
}

type slotToken struct {
	slot  uint
	info  TokenInfo
	flags uint
	sinfo pkcs11.SlotInfo
}

func (l *library) slots() ([]slotToken, error) {
	ids, err := l.ctx.GetSlotList(true)
	if err != nil {
		return nil, wrapf(ErrModule, err, "listing the slots of %q", l.path)
	}
	var out []slotToken
	for _, id := range ids {
		ti, err := l.ctx.GetTokenInfo(id)
		if err != nil {
			if isRemoved(err) {
				continue
			}
			return nil, wrapf(ErrModule, err, "reading the token in slot %d", id)
		}
		si, _ := l.ctx.GetSlotInfo(id)
		info := TokenInfo{
			SlotID: uint64(id), Label: ti.Label, Manufacturer: ti.ManufacturerID,
			Model: ti.Model, Serial: ti.SerialNumber,
			Initialized: ti.Flags&pkcs11.CKF_TOKEN_INITIALIZED != 0,
			Flags:       []string{},
		}
		for _, f := range tokenFlagNames {
			if ti.Flags&f.flag != 0 {
				info.Flags = append(info.Flags, f.name)
			}
		}
		if info.Initialized {
			u := URI{Token: ti.Label, Manufacturer: ti.ManufacturerID, Serial: ti.SerialNumber, Model: ti.Model}
			info.URI = u.String()
		}
		out = append(out, slotToken{slot: id, info: info, flags: ti.Flags, sinfo: si})
	}
	return out, nil
}

// Tokens lists the slots that hold a token.
func (m *Module) Tokens() ([]TokenInfo, error) {
	sts, err := m.lib.slots()
	if err != nil {
		return nil, err
	}
	out := make([]TokenInfo, 0, len(sts))
	for _, st := range sts {
		out = append(out, st.info)
	}
	return out, nil
}

// Token returns the one initialised token sel selects, without logging in.
func (m *Module) Token(sel TokenSelector) (TokenInfo, error) {
	st, err := m.lib.token(sel)
	if err != nil {
		return TokenInfo{}, err
	}
	return st.info, nil
}

// token finds the one initialised token sel matches.
func (l *library) token(sel TokenSelector) (slotToken, error) {
	if sel.LibraryManufacturer != "" || sel.LibraryDescription != "" || sel.LibraryVersion != "" {
		info, err := l.ctx.GetInfo()
		if err != nil {
			return slotToken{}, wrapf(ErrModule, err, "reading the module information of %q", l.path)
		}
		v := fmt.Sprintf("%d.%d", info.LibraryVersion.Major, info.LibraryVersion.Minor)
		if (sel.LibraryManufacturer != "" && sel.LibraryManufacturer != info.ManufacturerID) ||
			(sel.LibraryDescription != "" && sel.LibraryDescription != info.LibraryDescription) ||
			(sel.LibraryVersion != "" && sel.LibraryVersion != v && sel.LibraryVersion+".0" != v) {
			return slotToken{}, errorf(ErrNoToken, "module %q does not match %s", l.path, sel)
		}
	}
	sts, err := l.slots()
	if err != nil {
		return slotToken{}, err
	}
	var match []slotToken
	for _, st := range sts {
		if !st.info.Initialized {
			continue
		}
		if (sel.Label != "" && sel.Label != st.info.Label) ||
			(sel.Serial != "" && sel.Serial != st.info.Serial) ||
			(sel.Model != "" && sel.Model != st.info.Model) ||
			(sel.Manufacturer != "" && sel.Manufacturer != st.info.Manufacturer) ||
			(sel.SlotID != nil && *sel.SlotID != uint64(st.slot)) ||
			(sel.SlotDescription != "" && sel.SlotDescription != strings.TrimRight(st.sinfo.SlotDescription, " ")) ||
			(sel.SlotManufacturer != "" && sel.SlotManufacturer != strings.TrimRight(st.sinfo.ManufacturerID, " ")) {
			continue
		}
		match = append(match, st)
	}
	switch len(match) {
	case 0:
		if sel.Label != "" {
			return slotToken{}, errorf(ErrNoToken, "no token labelled %q in module %q", sel.Label, l.path)
		}
		return slotToken{}, errorf(ErrNoToken, "no initialised token matches %q in module %q", sel.String(), l.path)
	case 1:
		return match[0], nil
	default:
		if sel == (TokenSelector{}) {
			return slotToken{}, errorf(ErrAmbiguousToken, "%d tokens in module %q and the URI names none: add token= (or serial=) to the URI", len(match), l.path)
		}
		return slotToken{}, errorf(ErrAmbiguousToken, "%d tokens match %q in module %q: add token= or serial=", len(match), sel.String(), l.path)
	}
}

// login logs the user in to the token in st unless this process already
// is (the login state is per process and token, shared by all sessions);
// every successful login must be paired with logout. The session state is
// asked every time rather than trusting loginRefs, so a login lost to a
// token reset is noticed.
func (l *library) login(sh pkcs11.SessionHandle, st slotToken, pin PINFunc) error {
	l.loginMu.Lock()
	defer l.loginMu.Unlock()
	if si, err := l.ctx.GetSessionInfo(sh); err == nil &&
		(si.State == pkcs11.CKS_RO_USER_FUNCTIONS || si.State == pkcs11.CKS_RW_USER_FUNCTIONS) {
		l.loginRefs[st.slot]++
		return nil
	}
	if st.flags&pkcs11.CKF_USER_PIN_LOCKED != 0 {
		return errorf(ErrPINLocked, "the user PIN of token %q is locked", st.info.Label)
	}
	if pin == nil {
		return errorf(ErrWrongPIN, "token %q needs a PIN and none was given", st.info.Label)
	}
	p, err := pin()
	if err != nil {
		return fmt.Errorf("reading the PIN for token %q: %w", st.info.Label, err)
	}
	err = l.ctx.Login(sh, pkcs11.CKU_USER, string(p))
	wipe(p)
	switch {
	case err == nil, isCode(err, pkcs11.CKR_USER_ALREADY_LOGGED_IN):
		l.loginRefs[st.slot]++
		return nil
	case isCode(err, pkcs11.CKR_PIN_INCORRECT), isCode(err, pkcs11.CKR_PIN_LEN_RANGE), isCode(err, pkcs11.CKR_PIN_INVALID):
		return errorf(ErrWrongPIN, "wrong PIN for token %q (not retried: tokens lock after a few wrong PINs)", st.info.Label)
	case isCode(err, pkcs11.CKR_PIN_LOCKED):
		return errorf(ErrPINLocked, "the user PIN of token %q is locked", st.info.Label)
	case isRemoved(err):
		return wrapf(ErrTokenRemoved, err, "token %q is no longer available", st.info.Label)
	default:
		return wrapf(ErrModule, err, "logging in to token %q", st.info.Label)
	}
}

func (l *library) logout(sh pkcs11.SessionHandle, slot uint) {
	l.loginMu.Lock()
	defer l.loginMu.Unlock()
	if l.loginRefs[slot] == 0 {
		return
	}
	l.loginRefs[slot]--
	if l.loginRefs[slot] == 0 {
		l.ctx.Logout(sh)
	}
}

// session opens a session on st and logs in if pin is not nil. The returned
// func closes it (logging out first).
func (l *library) session(st slotToken, rw bool, pin PINFunc) (pkcs11.SessionHandle, func(), error) {
	flags := uint(pkcs11.CKF_SERIAL_SESSION)
	if rw {
		flags |= pkcs11.CKF_RW_SESSION
	}
	sh, err := l.ctx.OpenSession(st.slot, flags)
	if err != nil {
		if isRemoved(err) {
			return 0, nil, wrapf(ErrTokenRemoved, err, "token %q is no longer available", st.info.Label)
		}
		return 0, nil, wrapf(ErrModule, err, "opening a session on token %q", st.info.Label)
	}
	if pin == nil || st.flags&pkcs11.CKF_LOGIN_REQUIRED == 0 {
		return sh, func() { l.ctx.CloseSession(sh) }, nil
	}
	if err := l.login(sh, st, pin); err != nil {
		l.ctx.CloseSession(sh)
		return 0, nil, err
	}
	return sh, func() { l.logout(sh, st.slot); l.ctx.CloseSession(sh) }, nil
}

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
		if len(all) > 10000 {
			return all, nil
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
	if pubs, err := l.find(sh, pairTemplate(pkcs11.CKO_PUBLIC_KEY, ki.Label, ki.ID)); err == nil && len(pubs) > 0 {
		ki.HasPublicKey = true
	}
	if certs, err := l.find(sh, pairTemplate(pkcs11.CKO_CERTIFICATE, ki.Label, ki.ID)); err == nil && len(certs) > 0 {
		ki.HasCertificate = true
	}
	u := URI{Token: st.info.Label, Object: ki.Label, ID: ki.ID, ModulePath: l.path}
	ki.URI = u.String()
	return ki
}

// pairTemplate finds the objects that belong with a private key: same
// CKA_ID when it has one, else same label.
func pairTemplate(class uint, label string, id []byte) []*pkcs11.Attribute {
	if len(id) > 0 {
		return keyTemplate(class, "", id)
	}
	return keyTemplate(class, label, nil)
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

func tokenErr(err error, st slotToken, what string) error {
	if isRemoved(err) {
		return wrapf(ErrTokenRemoved, err, "token %q is no longer available (removed?) while %s", st.info.Label, what)
	}
	return wrapf(ErrModule, err, "%s on token %q", what, st.info.Label)
}

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
		return 0, errorf(ErrAmbiguous, "%d keys %s on token %q: add id= to the URI", len(hs), describeKey(u), st.info.Label)
	}
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
		return nil, errorf(ErrAmbiguous, "%d public keys %s on token %q: add id= to the URI", len(hs), describeKey(&URI{Object: label, ID: id}), st.info.Label)
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

// pinCache calls a PINFunc at most once and hands out copies, so a key
// that needs the PIN for every signature asks the user only once.
type pinCache struct {
	mu     sync.Mutex
	f      PINFunc
	called bool
	pin    []byte
	err    error
}

func (c *pinCache) get() ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.called {
		c.called = true
		c.pin, c.err = c.f()
	}
	if c.err != nil {
		return nil, c.err
	}
	if c.pin == nil {
		return nil, errors.New("the PIN is no longer held")
	}
	return bytes.Clone(c.pin), nil
}

func (c *pinCache) wipe() {
	c.mu.Lock()
	defer c.mu.Unlock()
	wipe(c.pin)
	c.pin = nil
}

// ResolveModulePath picks the module for u: module-path, else module-name
// searched in the usual PKCS#11 directories, else fallback.
func ResolveModulePath(u *URI, fallback string) (string, error) {
	if u.ModulePath != "" {
		return u.ModulePath, nil
	}
	if u.ModuleName != "" {
		for _, dir := range moduleDirs {
			for _, name := range []string{u.ModuleName + ".so", "lib" + u.ModuleName + ".so", u.ModuleName} {
				p := filepath.Join(dir, name)
				if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
					return p, nil
				}
			}
		}
		return "", errorf(ErrModuleLoad, "PKCS#11 module-name %q not found in %s", u.ModuleName, strings.Join(moduleDirs, ", "))
	}
	if fallback != "" {
		return fallback, nil
	}
	return "", errorf(ErrModule, "no PKCS#11 module: the key URI has no module-path")
}

var moduleDirs = []string{
	"/usr/lib/x86_64-linux-gnu/pkcs11", "/usr/lib/aarch64-linux-gnu/pkcs11", "/usr/lib64/pkcs11",
	"/usr/lib/pkcs11", "/usr/local/lib/pkcs11", "/usr/lib/softhsm", "/usr/local/lib/softhsm",
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

func (k *Key) closeSessions() {
	// Wait for every Sign in flight to return its session.
	for i := 0; i < cap(k.sem); i++ {
		k.sem <- struct{}{}
	}
	ctx := k.mod.lib.ctx
	for {
		select {
		case sh := <-k.idle:
			if sh != k.loginSH {
				ctx.CloseSession(sh)
			}
			continue
		default:
		}
		break
	}
	k.logout()
}

// tokenGone probes the token with a fresh session: it is gone when no
// session opens, or when it needs a login and the session is not logged in
// any more (the login lasts as long as one of our sessions does).
func (k *Key) tokenGone() bool {
	ctx := k.mod.lib.ctx
	sh, err := ctx.OpenSession(k.st.slot, pkcs11.CKF_SERIAL_SESSION)
	if err != nil {
		return isRemoved(err)
	}
	defer ctx.CloseSession(sh)
	si, err := ctx.GetSessionInfo(sh)
	if err != nil {
		return isRemoved(err)
	}
	return k.st.flags&pkcs11.CKF_LOGIN_REQUIRED != 0 &&
		si.State != pkcs11.CKS_RO_USER_FUNCTIONS && si.State != pkcs11.CKS_RW_USER_FUNCTIONS
}

// contextLogin gives the PIN again for the one signature the key allows
// per login (CKU_CONTEXT_SPECIFIC). A wrong PIN breaks the key: it is never
// retried.
func (k *Key) contextLogin(sh pkcs11.SessionHandle) error {
	p, err := k.contextPIN.get()
	if err != nil {
		return fmt.Errorf("reading the PIN for token %q: %w", k.st.info.Label, err)
	}
	err = k.mod.lib.ctx.Login(sh, pkcs11.CKU_CONTEXT_SPECIFIC, string(p))
	wipe(p)
	if err == nil {
		return nil
	}
	if isCode(err, pkcs11.CKR_PIN_INCORRECT) || isCode(err, pkcs11.CKR_PIN_LOCKED) {
		e := errorf(ErrWrongPIN, "wrong PIN for token %q (not retried: tokens lock after a few wrong PINs)", k.st.info.Label)
		k.mu.Lock()
		if k.broken == nil {
			k.broken = e
		}
		k.mu.Unlock()
		return e
	}
	return k.fail(err, "logging in for a signature")
}

var errKeyClosed = errors.New("hsm key is closed")

func (k *Key) getSession() (pkcs11.SessionHandle, error) {
	select {
	case k.sem <- struct{}{}:
	case <-k.done:
		return 0, errKeyClosed
	}
	k.mu.Lock()
	closed, broken := k.closed, k.broken
	k.mu.Unlock()
	if closed {
		<-k.sem
		return 0, errKeyClosed
	}
	if broken != nil {
		<-k.sem
		return 0, broken
	}
	select {
	case sh := <-k.idle:
		return sh, nil
	default:
	}
	sh, err := k.mod.lib.ctx.OpenSession(k.st.slot, pkcs11.CKF_SERIAL_SESSION)
	if isCode(err, pkcs11.CKR_SESSION_COUNT) {
		// The token allows fewer sessions than Sessions asked for: share
		// the ones already open (there is always the login session).
		select {
		case sh := <-k.idle:
			return sh, nil
		case <-k.done:
			<-k.sem
			return 0, errKeyClosed
		}
	}
	if err != nil {
		<-k.sem
		return 0, k.fail(err, "opening a session")
	}
	return sh, nil
}

func (k *Key) putSession(sh pkcs11.SessionHandle, ok bool) {
	if ok {
		k.idle <- sh
	} else if sh != k.loginSH {
		k.mod.lib.ctx.CloseSession(sh)
	}
	<-k.sem
}

// fail classifies a signing error. A token that is gone, or whose login was
// lost (it was pulled and reinserted, or reset), breaks the key: this and
// every later Sign fail with ErrTokenRemoved and nothing is retried, so a
// batch stops instead of asking for the PIN again.
func (k *Key) fail(err error, what string) error {
	k.mu.Lock()
	broken := k.broken
	k.mu.Unlock()
	if broken != nil {
		return broken
	}
	if isRemoved(err) || k.tokenGone() {
		e := wrapf(ErrTokenRemoved, err, "token %q is no longer available (removed?) while %s", k.st.info.Label, what)
		k.mu.Lock()
		if k.broken == nil {
			k.broken = e
		}
		e = k.broken
		k.mu.Unlock()
		return e
	}
	switch {
	case isCode(err, pkcs11.CKR_KEY_FUNCTION_NOT_PERMITTED):
		return wrapf(ErrNotSignKey, err, "key %q may not sign", k.uri)
	case isCode(err, pkcs11.CKR_MECHANISM_INVALID), isCode(err, pkcs11.CKR_MECHANISM_PARAM_INVALID):
		return wrapf(ErrUnsupported, err, "token %q does not support this signature mechanism", k.st.info.Label)
	}
	return wrapf(ErrModule, err, "%s with key %q", what, k.uri)
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

// Available reports whether this build can load PKCS#11 modules (it was
// built with cgo).
func Available() bool { return true }
