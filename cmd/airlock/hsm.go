package main

import (
	"bytes"
	"cmp"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/airlock-project/airlock/hsm"
	"github.com/urfave/cli/v2"
)

// hsmCommand: hsm tokens|keys|keygen|pubkey.
func hsmCommand() *cli.Command {
	moduleFlag := func() cli.Flag {
		return &cli.StringFlag{Name: "module", Usage: "PKCS#11 module `PATH` (default $AIRLOCK_PKCS11_MODULE)"}
	}
	tokenFlag := func() cli.Flag {
		return &cli.StringFlag{Name: "token", Usage: "token `LABEL`, or a pkcs11: URI selecting the token (may carry module-path and pin-source)"}
	}
	return &cli.Command{
		Name:  "hsm",
		Usage: "PKCS#11 tokens and keys",
		Description: `Lists tokens and keys, generates non-extractable sign-only keys and exports
public keys. The module comes from --module, a module-path in a pkcs11: URI, or
$AIRLOCK_PKCS11_MODULE. The PIN comes from pin-source in a pkcs11: URI, else
$AIRLOCK_PIN, else a prompt on the terminal; never from the command line.

Examples:
   export AIRLOCK_PKCS11_MODULE=/usr/lib/softhsm/libsofthsm2.so
   airlock hsm tokens
   airlock hsm keygen --token release --label signer --type ecdsa-p256
   airlock hsm keys --token release
   airlock hsm pubkey 'pkcs11:token=release;object=signer' > release.pub`,
		Subcommands: []*cli.Command{
			{
				Name:  "tokens",
				Usage: "list slots and tokens: label, serial, model, flags",
				Description: `Lists the module's slots that hold a token: slot id, label, serial, model,
manufacturer and flags. Needs no PIN. --output json adds a URI selecting each
token.

Examples:
   airlock hsm tokens --module /usr/lib/softhsm/libsofthsm2.so
   airlock hsm tokens -o json`,
				Flags:  []cli.Flag{moduleFlag()},
				Action: hsmTokensAction,
			},
			{
				Name:  "keys",
				Usage: "list the private keys on a token, with their URIs (never a PIN)",
				Description: `Lists the private keys on the token --token selects: label, id (hex), type,
usage, whether the key is extractable, and a URI for --key. Logs in (PIN).

Examples:
   airlock hsm keys --token release
   airlock hsm keys --token 'pkcs11:serial=c84af146e6bcad62?pin-source=/run/release.pin' -o json`,
				Flags:  []cli.Flag{moduleFlag(), tokenFlag()},
				Action: hsmKeysAction,
			},
			{
				Name:  "keygen",
				Usage: "generate a non-extractable, sign-only key pair on a token",
				Description: `Generates a key pair on the token --token selects. The private key is
sensitive, never extractable and may only sign; the flags are read back from the
token and the key is deleted again if the token did not honour them. A label
already used on the token is refused. Logs in (PIN).

Examples:
   airlock hsm keygen --token release --label signer
   airlock hsm keygen --token 'pkcs11:token=release?pin-source=/run/release.pin' \
       --label attester --type ed25519 --id 0a01`,
				Flags: []cli.Flag{moduleFlag(), tokenFlag(),
					&cli.StringFlag{Name: "label", Usage: "`NAME` (CKA_LABEL) of the new key, not yet used on the token"},
					&cli.StringFlag{Name: "type", Value: "ecdsa-p256", Usage: "key `TYPE`: ecdsa-p256, ecdsa-p384, rsa-3072, rsa-4096 or ed25519"},
					&cli.StringFlag{Name: "id", Usage: "CKA_ID of the new key in `HEX` (default 16 random bytes)"},
				},
				Action: hsmKeygenAction,
			},
			{
				Name:      "pubkey",
				Usage:     "write a key's public key as PEM (SubjectPublicKeyInfo)",
				ArgsUsage: "PKCS11-URI",
				Description: `Writes the public key of the key PKCS11-URI names as PEM, the form
verify-blob --key and cosign verify-blob --key read. It is read from the public
key object or a certificate on the token; a PIN is asked only when neither is
visible without a login.

Examples:
   airlock hsm pubkey 'pkcs11:token=release;object=signer' > release.pub
   airlock hsm pubkey 'pkcs11:token=release;id=%0a%01' -o json`,
				Flags:  []cli.Flag{moduleFlag()},
				Action: hsmPubkeyAction,
			},
		},
	}
}

var errNoModule = errors.New("no PKCS#11 module given")

const noModuleHint = "pass --module PATH, add module-path=PATH to the pkcs11: URI, or set AIRLOCK_PKCS11_MODULE (SoftHSM2: /usr/lib/softhsm/libsofthsm2.so)"

// hsmErr adds a hint to errors from package hsm.
func hsmErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, hsm.ErrNoCgo):
		return withHint(err, "this airlock was built with CGO_ENABLED=0; build it with cgo (make build) to use PKCS#11 tokens; verification works in both builds")
	case errors.Is(err, hsm.ErrNoToken), errors.Is(err, hsm.ErrAmbiguousToken):
		return withHint(err, "run 'airlock hsm tokens' to list the tokens")
	case errors.Is(err, hsm.ErrNoKey), errors.Is(err, hsm.ErrAmbiguous):
		return withHint(err, "run 'airlock hsm keys --token LABEL' to list the keys and their URIs")
	case errors.Is(err, hsm.ErrTokenRemoved):
		return withHint(err, "check that the token is inserted and run the command again; nothing was written")
	case errors.Is(err, hsm.ErrWrongPIN):
		return withHint(err, "check the PIN before trying again: 'airlock hsm tokens' shows user-pin-count-low or user-pin-final-try when the token counts failures")
	case errors.Is(err, hsm.ErrPINLocked):
		return withHint(err, "the token's security officer must unlock or reset the user PIN")
	case errors.Is(err, hsm.ErrNotSignKey):
		return withHint(err, "use a key generated for signing ('airlock hsm keygen' makes sign-only keys)")
	case errors.Is(err, hsm.ErrNoModule), errors.Is(err, hsm.ErrModuleLoad):
		return withHint(err, noModuleHint)
	case errors.Is(err, hsm.ErrModuleInit):
		return withHint(err, "the module loaded but could not start: check its configuration (SoftHSM2: SOFTHSM2_CONF names a readable softhsm2.conf whose directories.tokendir exists)")
	}
	return err
}

// moduleFor picks the module: flag, then the URI's module-path or
// module-name, then AIRLOCK_PKCS11_MODULE.
func moduleFor(c *cli.Context, u *hsm.URI) (string, error) {
	if !hsm.Available() {
		return "", hsmErr(hsm.ErrNoCgo)
	}
	if c != nil && c.IsSet("module") {
		if u != nil && u.ModulePath != "" && u.ModulePath != c.String("module") {
			return "", usageErrorf("--module %q and the URI's module-path %q disagree", c.String("module"), u.ModulePath)
		}
		return c.String("module"), nil
	}
	if u != nil {
		p, err := hsm.ResolveModulePath(u, os.Getenv("AIRLOCK_PKCS11_MODULE"))
		if err != nil {
			if errors.Is(err, hsm.ErrNoModule) {
				return "", withHint(errNoModule, noModuleHint)
			}
			return "", hsmErr(err)
		}
		return p, nil
	}
	if p := os.Getenv("AIRLOCK_PKCS11_MODULE"); p != "" {
		return p, nil
	}
	return "", withHint(errNoModule, noModuleHint)
}

// cutURIHint returns a hint to quote a pkcs11: URI that the shell has cut
// at ';', or "". Unquoted, `--key pkcs11:token=release;object=signer FILE`
// runs airlock with `--key pkcs11:token=release` and no FILE, then
// `object=signer FILE` as a command of its own. So: keyRef is a pkcs11: URI
// that names no key (no object=, no id=) and no FILE arguments are left.
func cutURIHint(keyRef string, args []string) string {
	if len(args) > 0 || !strings.HasPrefix(strings.ToLower(keyRef), "pkcs11:") {
		return ""
	}
	u, err := hsm.ParseURI(keyRef)
	if err != nil || u.Object != "" || len(u.ID) > 0 {
		return ""
	}
	example := "'pkcs11:token=LABEL;object=KEY'"
	if !strings.ContainsAny(keyRef, "?'") {
		example = "'" + keyRef + ";object=KEY'"
	}
	return "the shell ends a command at ';': quote the pkcs11: URI, as in --key " + example
}

// parseKeyURI parses a pkcs11: URI given on the command line.
func parseKeyURI(s string) (*hsm.URI, error) {
	u, err := hsm.ParseURI(s)
	if err != nil {
		if errors.Is(err, hsm.ErrPINInURI) {
			return nil, withHint(err, "put the PIN in a file of mode 0600 and add ?pin-source=FILE, or set AIRLOCK_PIN")
		}
		return nil, withHint(fmt.Errorf("invalid PKCS#11 URI: %w", err), "RFC 7512 syntax: pkcs11:token=LABEL;object=KEY?module-path=PATH&pin-source=FILE; percent-encode reserved characters")
	}
	return u, nil
}

// openPKCS11Key opens the signing key a `--key pkcs11:...` reference names:
// module from the URI (module-path or module-name), else
// AIRLOCK_PKCS11_MODULE; PIN from pin-source, AIRLOCK_PIN or a prompt.
// The caller closes the key.
func openPKCS11Key(c *cli.Context, ref string) (*hsm.Key, error) {
	u, err := parseKeyURI(ref)
	if err != nil {
		return nil, err
	}
	var mc *cli.Context
	if c != nil && hasFlag(c, "module") {
		mc = c
	}
	mod, err := moduleFor(mc, u)
	if err != nil {
		return nil, err
	}
	k, err := hsm.OpenKey(u, hsm.KeyOptions{ModulePath: mod, PIN: pinFunc(u.PINSource, u.Token)})
	return k, hsmErr(err)
}

func hasFlag(c *cli.Context, name string) bool {
	for _, n := range c.LocalFlagNames() {
		if n == name {
			return true
		}
	}
	return false
}

// tokenArg reads --token: a label, or a pkcs11: URI selecting the token.
func tokenArg(c *cli.Context) (*hsm.URI, error) {
	t := c.String("token")
	if t == "" {
		return nil, usageErrorf("--token LABEL is required (see 'airlock hsm tokens')")
	}
	if strings.HasPrefix(strings.ToLower(t), "pkcs11:") {
		return parseKeyURI(t)
	}
	return &hsm.URI{Token: t}, nil
}

func openModule(c *cli.Context, u *hsm.URI) (*hsm.Module, error) {
	path, err := moduleFor(c, u)
	if err != nil {
		return nil, err
	}
	m, err := hsm.OpenModule(path)
	if err != nil {
		return nil, hsmErr(err)
	}
	return m, nil
}

// openToken opens the module and finds the one token u selects. The token's
// own label names it in output, however --token selected it (a label, a
// serial, a URI with a pin-source). The caller closes the module.
func openToken(c *cli.Context, u *hsm.URI) (*hsm.Module, hsm.TokenInfo, error) {
	m, err := openModule(c, u)
	if err != nil {
		return nil, hsm.TokenInfo{}, err
	}
	tok, err := m.Token(u.TokenSelector())
	if err != nil {
		m.Close()
		return nil, hsm.TokenInfo{}, hsmErr(err)
	}
	return m, tok, nil
}

func hsmTokensAction(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageErrorf("hsm tokens takes no arguments")
	}
	asJSON, err := outputJSON(c)
	if err != nil {
		return err
	}
	m, err := openModule(c, nil)
	if err != nil {
		return err
	}
	defer m.Close()
	toks, err := m.Tokens()
	if err != nil {
		return hsmErr(err)
	}
	w := c.App.Writer
	if asJSON {
		return writeJSON(w, struct {
			Module string          `json:"module"`
			Tokens []hsm.TokenInfo `json:"tokens"`
		}{m.Path(), toks})
	}
	fmt.Fprintf(w, "module %s\n", m.Path())
	if len(toks) == 0 {
		fmt.Fprintln(w, "no tokens")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SLOT\tLABEL\tSERIAL\tMODEL\tMANUFACTURER\tFLAGS")
	initialized := false
	for _, t := range toks {
		label := t.Label
		if !t.Initialized {
			label = "(not initialized)"
		}
		initialized = initialized || t.Initialized
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", t.SlotID, label, t.Serial, t.Model, t.Manufacturer, strings.Join(t.Flags, ","))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if !initialized {
		// SoftHSM2 always shows one free slot, so the hint is only for a
		// module with no token to use yet (a new user's first run).
		fmt.Fprintf(c.App.ErrWriter, "airlock: hint: %s\n", initTokenHint)
	}
	return nil
}

// initTokenHint says how to initialise a token: airlock does not, as that
// sets the security officer's PIN.
const initTokenHint = "no token is initialised: initialise one with the token vendor's tool (SoftHSM2: softhsm2-util --init-token --free --label LABEL, which asks for the SO PIN and the user PIN)"

func hsmKeysAction(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageErrorf("hsm keys takes no arguments; use --token LABEL")
	}
	asJSON, err := outputJSON(c)
	if err != nil {
		return err
	}
	u, err := tokenArg(c)
	if err != nil {
		return err
	}
	m, tok, err := openToken(c, u)
	if err != nil {
		return err
	}
	defer m.Close()
	keys, err := m.Keys(u.TokenSelector(), pinFunc(u.PINSource, tok.Label))
	if err != nil {
		return hsmErr(err)
	}
	slices.SortStableFunc(keys, func(a, b hsm.KeyInfo) int {
		return cmp.Or(strings.Compare(a.Label, b.Label), bytes.Compare(a.ID, b.ID))
	})
	w := c.App.Writer
	if asJSON {
		return writeJSON(w, struct {
			Module string        `json:"module"`
			Token  string        `json:"token"`
			Keys   []hsm.KeyInfo `json:"keys"`
		}{m.Path(), tok.Label, keys})
	}
	if len(keys) == 0 {
		fmt.Fprintf(w, "no private keys on token %q\n", tok.Label)
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LABEL\tID\tTYPE\tUSAGE\tEXTRACTABLE\tURI")
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.Label, k.IDHex, k.Type, strings.Join(k.Usage, ","), yesNo(k.Extractable), k.URI)
	}
	return tw.Flush()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func hsmKeygenAction(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageErrorf("hsm keygen takes no arguments")
	}
	asJSON, err := outputJSON(c)
	if err != nil {
		return err
	}
	u, err := tokenArg(c)
	if err != nil {
		return err
	}
	label := c.String("label")
	if label == "" {
		return usageErrorf("--label NAME is required")
	}
	typ, err := hsm.ParseKeyType(c.String("type"))
	if err != nil {
		return usageErr(err)
	}
	var id []byte
	if s := c.String("id"); s != "" {
		if id, err = hex.DecodeString(s); err != nil || len(id) == 0 {
			return usageErrorf("--id %q is not hexadecimal", s)
		}
	}
	m, tok, err := openToken(c, u)
	if err != nil {
		return err
	}
	defer m.Close()
	ki, err := m.GenerateKey(u.TokenSelector(), pinFunc(u.PINSource, tok.Label), hsm.GenerateOptions{Label: label, ID: id, Type: typ})
	if err != nil {
		return hsmErr(err)
	}
	w := c.App.Writer
	if asJSON {
		return writeJSON(w, ki)
	}
	fmt.Fprintf(w, "generated %s key %q on token %q\n", ki.Type, ki.Label, ki.Token)
	fmt.Fprintf(w, "id:          %s\n", ki.IDHex)
	fmt.Fprintf(w, "usage:       %s\n", strings.Join(ki.Usage, ","))
	fmt.Fprintf(w, "extractable: %s (sensitive: %s, never extractable: %s)\n", yesNo(ki.Extractable), yesNo(ki.Sensitive), yesNo(ki.NeverExtractable))
	fmt.Fprintf(w, "uri:         %s\n", ki.URI)
	return nil
}

func hsmPubkeyAction(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageErrorf("hsm pubkey takes one pkcs11: URI")
	}
	asJSON, err := outputJSON(c)
	if err != nil {
		return err
	}
	u, err := parseKeyURI(c.Args().First())
	if err != nil {
		return err
	}
	m, err := openModule(c, u)
	if err != nil {
		return err
	}
	defer m.Close()
	pub, err := m.PublicKey(u, pinFunc(u.PINSource, u.Token))
	if err != nil {
		return hsmErr(err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return fmt.Errorf("encoding the public key: %w", err)
	}
	p := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	if asJSON {
		return writeJSON(c.App.Writer, struct {
			URI       string `json:"uri"`
			PublicKey string `json:"publicKeyPem"`
		}{u.String(), string(p)})
	}
	_, err = c.App.Writer.Write(p)
	return err
}
