package hsm

import (
	"bytes"
	"crypto/elliptic"
	"encoding/asn1"
	"errors"
	"math/big"
)

// ecdsaDER converts a PKCS#11 ECDSA signature (r || s, each the size of the
// curve order) to the ASN.1 DER form crypto/ecdsa and Sigstore use.
func ecdsaDER(raw []byte) ([]byte, error) {
	if len(raw) == 0 || len(raw)%2 != 0 {
		return nil, errors.New("token returned a malformed ECDSA signature")
	}
	n := len(raw) / 2
	return asn1.Marshal(struct{ R, S *big.Int }{
		new(big.Int).SetBytes(raw[:n]), new(big.Int).SetBytes(raw[n:]),
	})
}

func curveFor(params []byte) elliptic.Curve {
	switch {
	case bytes.Equal(params, []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}):
		return elliptic.P256()
	case bytes.Equal(params, []byte{0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22}):
		return elliptic.P384()
	case bytes.Equal(params, []byte{0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23}):
		return elliptic.P521()
	}
	return nil
}
