//go:build cgo

package softhsmtest

import (
	"errors"
	"fmt"

	"github.com/miekg/pkcs11"
)

// RawP256Key makes a P-256 key pair labelled label with CKA_ID id on the
// token labelled tokenLabel, through the raw PKCS#11 API, with CKA_SIGN set
// to sign (false makes the key airlock must refuse to sign with; SoftHSM's
// defaults then leave it decrypt, unwrap and derive). It loads and
// finalises the module itself, so the calling process must not have it
// loaded: cmd tests run it in a child process.
func RawP256Key(module, tokenLabel string, pin []byte, label string, id []byte, sign bool) error {
	ctx := pkcs11.New(module)
	if ctx == nil {
		return fmt.Errorf("cannot load %q", module)
	}
	defer ctx.Destroy()
	if err := ctx.Initialize(); err != nil {
		return err
	}
	defer ctx.Finalize()
	slots, err := ctx.GetSlotList(true)
	if err != nil {
		return err
	}
	for _, s := range slots {
		ti, err := ctx.GetTokenInfo(s)
		if err != nil || ti.Label != tokenLabel {
			continue
		}
		sh, err := ctx.OpenSession(s, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
		if err != nil {
			return err
		}
		defer ctx.CloseSession(sh)
		if err := ctx.Login(sh, pkcs11.CKU_USER, string(pin)); err != nil {
			return errors.New("login failed")
		}
		defer ctx.Logout(sh)
		pub, priv := P256PairTemplates(label, id, sign)
		_, _, err = ctx.GenerateKeyPair(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_EC_KEY_PAIR_GEN, nil)}, pub, priv)
		return err
	}
	return fmt.Errorf("no token labelled %q", tokenLabel)
}

// P256PairTemplates are the public and private key templates of a P-256
// token key pair labelled label with CKA_ID id, for C_GenerateKeyPair: the
// private key non-extractable and sensitive, with CKA_SIGN set to sign
// (and CKA_DERIVE to its opposite).
func P256PairTemplates(label string, id []byte, sign bool) (pub, priv []*pkcs11.Attribute) {
	pub = []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PUBLIC_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_EC),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_VERIFY, sign),
		pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, label), pkcs11.NewAttribute(pkcs11.CKA_ID, id),
	}
	priv = []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_EC),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false),
		pkcs11.NewAttribute(pkcs11.CKA_SIGN, sign),
		pkcs11.NewAttribute(pkcs11.CKA_DERIVE, !sign),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, label), pkcs11.NewAttribute(pkcs11.CKA_ID, id),
	}
	return pub, priv
}
