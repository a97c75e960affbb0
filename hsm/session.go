//go:build cgo

// Sessions: opening one on a token, and the pool a Key signs from.

package hsm

import (
	"bytes"
	"errors"
	"fmt"
	"sync"

	"github.com/miekg/pkcs11"
)

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
