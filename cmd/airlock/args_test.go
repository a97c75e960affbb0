package main

import (
	"io"
	"slices"
	"strings"
	"testing"
)

func TestInterspersed(t *testing.T) {
	app := newApp(strings.NewReader(""), io.Discard, io.Discard)
	for _, tc := range []struct{ in, want string }{
		{"airlock verify-blob --key k.pub a.txt --output json", "airlock verify-blob --key k.pub --output json a.txt"},
		{"airlock verify-blob a.txt b.txt --key=k.pub -o json", "airlock verify-blob --key=k.pub -o json a.txt b.txt"},
		{"airlock --output json verify-blob a.txt --insecure-ignore-tlog", "airlock --output json verify-blob --insecure-ignore-tlog a.txt"},
		// "--" ends the options and is never a FILE: it goes before every
		// positional argument (defect: it stayed among them and was
		// counted as a second FILE, or read as a file named "--").
		{"airlock verify-blob a.txt -- --key", "airlock verify-blob -- a.txt --key"},
		{"airlock verify-blob --key k.pub a.txt --", "airlock verify-blob --key k.pub -- a.txt"},
		{"airlock verify-blob --key k.pub a.txt -- --bundle", "airlock verify-blob --key k.pub -- a.txt --bundle"},
		{"airlock verify-blob a.txt --key k.pub -- -", "airlock verify-blob --key k.pub -- a.txt -"},
		{"airlock verify-blob --key -- a.txt", "airlock verify-blob --key -- a.txt"},
		// `help A B` shows the help of A B (defect: urfave/cli/v2 showed A's).
		{"airlock help trust update", "airlock trust update --help"},
		{"airlock --db x.db help trust update", "airlock --db x.db trust update --help"},
		{"airlock trust help update", "airlock trust update --help"},
		{"airlock help verify-blob", "airlock verify-blob --help"},
		{"airlock help", "airlock help"},
		{"airlock help nosuch", "airlock help nosuch"},
		{"airlock verify-blob a.txt --no-such-flag x", "airlock verify-blob --no-such-flag a.txt x"},
		{"airlock trust status --output json", "airlock trust status --output json"},
		{"airlock --db x.db trust update --from dir --at 2026-08-21T20:00:00Z", "airlock --db x.db trust update --from dir --at 2026-08-21T20:00:00Z"},
		{"airlock hsm pubkey pkcs11:token=a --module m.so", "airlock hsm pubkey --module m.so pkcs11:token=a"},
		{"airlock sign-blob f1 --tlog none f2", "airlock sign-blob --tlog none f1 f2"},
	} {
		got := strings.Join(interspersed(app, strings.Fields(tc.in)), " ")
		if got != tc.want {
			t.Errorf("interspersed(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
	// The input is not modified.
	in := strings.Fields("airlock verify-blob a.txt --key k")
	orig := slices.Clone(in)
	interspersed(app, in)
	if !slices.Equal(in, orig) {
		t.Errorf("input modified: %q", in)
	}
}
