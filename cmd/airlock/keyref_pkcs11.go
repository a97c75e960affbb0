package main

import (
	"github.com/urfave/cli/v2"
)

// openTokenSigningKey opens a pkcs11: KEYREF through the token (module,
// PIN and errors as openPKCS11Key in hsm.go). The audit trail names the key
// by the URI the token resolved, which never holds a PIN.
func openTokenSigningKey(c *cli.Context, ref string) (*signingKey, error) {
	k, err := openPKCS11Key(c, ref)
	if err != nil {
		return nil, err
	}
	return &signingKey{signer: k, certs: k.Certificates(), ref: k.URI(), close: func() { k.Close() }}, nil
}
