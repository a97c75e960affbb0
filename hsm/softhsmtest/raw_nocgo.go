//go:build !cgo

package softhsmtest

import "github.com/airlock-project/airlock/hsm"

// RawP256Key needs cgo.
func RawP256Key(module, tokenLabel string, pin []byte, label string, id []byte, sign bool) error {
	return hsm.ErrNoCgo
}
