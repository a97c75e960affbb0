package main

import "testing"

// TestCutURIHint: a new user's unquoted `--key pkcs11:token=release;object=signer`
// reached airlock as `--key pkcs11:token=release` with no FILE and got only
// "needs at least one FILE".
func TestCutURIHint(t *testing.T) {
	const quote = "the shell ends a command at ';': quote the pkcs11: URI, as in --key "
	for _, tc := range []struct {
		key  string
		args []string
		want string
	}{
		{"pkcs11:token=release", nil, quote + "'pkcs11:token=release;object=KEY'"},
		{"PKCS11:token=release", []string{}, quote + "'PKCS11:token=release;object=KEY'"},
		{"pkcs11:serial=c84a", nil, quote + "'pkcs11:serial=c84a;object=KEY'"},
		{"pkcs11:token=release?pin-source=/run/p.pin", nil, quote + "'pkcs11:token=LABEL;object=KEY'"},
		// Not cut: a FILE is left, or the URI names a key.
		{"pkcs11:token=release", []string{"hello.tgz"}, ""},
		{"pkcs11:token=release;object=signer", nil, ""},
		{"pkcs11:object=signer", nil, ""},
		{"pkcs11:token=release;id=%01", nil, ""},
		// Not a pkcs11: URI, or not one at all: nothing to quote.
		{"release.key", nil, ""},
		{"", nil, ""},
		{"pkcs11:token=release?pin-value=1234", nil, ""},
		{"pkcs11:token=%zz", nil, ""},
	} {
		if got := cutURIHint(tc.key, tc.args); got != tc.want {
			t.Errorf("cutURIHint(%q, %q) = %q, want %q", tc.key, tc.args, got, tc.want)
		}
	}
}
