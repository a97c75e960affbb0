//go:build cgo

// Loading a PKCS#11 module, finding its tokens, and the per-process login.

package hsm

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/miekg/pkcs11"
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
		return nil, errorf(ErrNoModule, "no PKCS#11 module given")
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
	return "", errorf(ErrNoModule, "no PKCS#11 module: the key URI has no module-path")
}

var moduleDirs = []string{
	"/usr/lib/x86_64-linux-gnu/pkcs11", "/usr/lib/aarch64-linux-gnu/pkcs11", "/usr/lib64/pkcs11",
	"/usr/lib/pkcs11", "/usr/local/lib/pkcs11", "/usr/lib/softhsm", "/usr/local/lib/softhsm",
}

// Available reports whether this build can load PKCS#11 modules (it was
// built with cgo).
func Available() bool { return true }

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

func tokenErr(err error, st slotToken, what string) error {
	if isRemoved(err) {
		return wrapf(ErrTokenRemoved, err, "token %q is no longer available (removed?) while %s", st.info.Label, what)
	}
	if errors.Is(err, ErrTooManyObjects) {
		return wrapf(ErrTooManyObjects, err, "%s on token %q", what, st.info.Label)
	}
	return wrapf(ErrModule, err, "%s on token %q", what, st.info.Label)
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
