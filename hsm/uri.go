package hsm

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrPINInURI is returned by ParseURI for a URI that carries pin-value. A PIN
// in a URI ends up in shell history, process lists and logs; airlock takes
// PINs only from a pin-source file, the environment or a prompt.
var ErrPINInURI = errors.New("pin-value is not accepted in a PKCS#11 URI: use pin-source=FILE, AIRLOCK_PIN or the prompt")

// URI is a parsed RFC 7512 PKCS#11 URI. Empty strings and a nil SlotID or ID
// mean the attribute was absent. A URI never holds a PIN: pin-value is
// rejected by ParseURI, and only the name of a pin-source is kept.
type URI struct {
	// Token attributes select a token.
	Token        string // token label
	Manufacturer string // token manufacturer
	Serial       string // token serial number
	Model        string // token model

	// Slot and library attributes narrow the token search further.
	SlotManufacturer    string
	SlotDescription     string
	SlotID              *uint64
	LibraryManufacturer string
	LibraryDescription  string
	LibraryVersion      string // "MAJOR" or "MAJOR.MINOR"

	// Object attributes select an object on the token.
	Object string // CKA_LABEL
	Type   string // public, private, cert, secret-key or data
	ID     []byte // CKA_ID, raw bytes

	// Query attributes say how to reach the token.
	ModuleName string // library name without directory or suffix
	ModulePath string // full path of the PKCS#11 library
	PINSource  string // file path or file: URI holding the PIN
}

// Limits on what ParseURI accepts; nobody types a longer key reference.
// The value limit keeps the canonical form (at most three bytes per value
// byte) under maxURILen, so String's output always parses again.
const (
	maxURILen      = 16384
	maxValuesBytes = 4096
)

var (
	pathAttrs = []string{"token", "manufacturer", "serial", "model",
		"slot-manufacturer", "slot-description", "slot-id",
		"library-manufacturer", "library-description", "library-version",
		"object", "type", "id"}
	queryAttrs = []string{"module-name", "module-path", "pin-source"}
	objTypes   = []string{"public", "private", "cert", "secret-key", "data"}
)

// ParseURI parses a PKCS#11 URI strictly as RFC 7512 defines it:
//
//   - the scheme is "pkcs11:" (any case); path attributes are separated by
//     ';', query attributes (after '?') by '&';
//   - values are percent-decoded; '+' is a literal plus sign, never a space;
//     a character outside the RFC's allowed set must be percent-encoded;
//   - an attribute may appear only once, and an empty value is an error;
//   - path attributes in the query or query attributes in the path are errors;
//   - vendor attributes ("x-...") and unknown attribute names are rejected,
//     because silently ignoring a constraint could select another key;
//   - pin-value is rejected with ErrPINInURI, wherever it stands (also
//     inside another attribute's value); the error never contains it.
func ParseURI(s string) (*URI, error) {
	if len(s) > maxURILen {
		return nil, fmt.Errorf("pkcs11 URI is longer than %d bytes", maxURILen)
	}
	if len(s) < 7 || !strings.EqualFold(s[:7], "pkcs11:") {
		return nil, errors.New(`a PKCS#11 URI starts with "pkcs11:"`)
	}
	// "pin-value" anywhere, also inside another attribute's value
	// ("object=k&pin-value=1234", where '&' is literal in the path; a
	// second '?' in the query): strict parsing would take it as part of a
	// label or path and echo it in an error, and a parser that splits the
	// whole URI on '&' would take it as the PIN (found in review).
	if strings.Contains(strings.ToLower(s), "pin-value") {
		return nil, ErrPINInURI
	}
	rest := s[7:]
	path, query, hasQuery := strings.Cut(rest, "?")
	u := &URI{}
	seen := map[string]bool{}
	total := 0
	if path != "" {
		for _, attr := range strings.Split(path, ";") {
			if err := u.setAttr(attr, false, seen, &total); err != nil {
				return nil, err
			}
		}
	}
	if hasQuery {
		if query == "" {
			return nil, errors.New("pkcs11 URI has an empty query after '?'")
		}
		for _, attr := range strings.Split(query, "&") {
			if err := u.setAttr(attr, true, seen, &total); err != nil {
				return nil, err
			}
		}
	}
	return u, nil
}

func (u *URI) setAttr(attr string, inQuery bool, seen map[string]bool, total *int) error {
	where := "path"
	if inQuery {
		where = "query"
	}
	if attr == "" {
		return fmt.Errorf("pkcs11 URI has an empty attribute in its %s", where)
	}
	name, raw, ok := strings.Cut(attr, "=")
	if !ok {
		return fmt.Errorf("pkcs11 URI attribute %q has no '='", clip(attr))
	}
	if name == "pin-value" {
		// Never echo the value: it is a PIN.
		return ErrPINInURI
	}
	known := pathAttrs
	other := queryAttrs
	if inQuery {
		known, other = queryAttrs, pathAttrs
	}
	switch {
	case contains(known, name):
	case contains(other, name):
		return fmt.Errorf("pkcs11 URI attribute %q belongs in the %s, not the %s", name, otherPart(inQuery), where)
	case strings.HasPrefix(name, "x-"):
		return fmt.Errorf("pkcs11 URI vendor attribute %q is not supported", clip(name))
	default:
		return fmt.Errorf("unknown pkcs11 URI attribute %q", clip(name))
	}
	if seen[name] {
		return fmt.Errorf("pkcs11 URI attribute %q appears more than once", name)
	}
	seen[name] = true
	val, err := pctDecode(raw, inQuery)
	if err != nil {
		return fmt.Errorf("pkcs11 URI attribute %q: %w", name, err)
	}
	if len(val) == 0 {
		return fmt.Errorf("pkcs11 URI attribute %q is empty", name)
	}
	if *total += len(val); *total > maxValuesBytes {
		return fmt.Errorf("pkcs11 URI values are longer than %d bytes in total", maxValuesBytes)
	}
	v := string(val)
	switch name {
	case "token":
		u.Token = v
	case "manufacturer":
		u.Manufacturer = v
	case "serial":
		u.Serial = v
	case "model":
		u.Model = v
	case "slot-manufacturer":
		u.SlotManufacturer = v
	case "slot-description":
		u.SlotDescription = v
	case "slot-id":
		for _, c := range v {
			if c < '0' || c > '9' {
				return fmt.Errorf("pkcs11 URI slot-id %q is not a decimal number", clip(v))
			}
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return fmt.Errorf("pkcs11 URI slot-id %q is out of range", clip(v))
		}
		u.SlotID = &n
	case "library-manufacturer":
		u.LibraryManufacturer = v
	case "library-description":
		u.LibraryDescription = v
	case "library-version":
		if !validVersion(v) {
			return fmt.Errorf("pkcs11 URI library-version %q is not MAJOR or MAJOR.MINOR", clip(v))
		}
		u.LibraryVersion = v
	case "object":
		u.Object = v
	case "type":
		if !contains(objTypes, v) {
			return fmt.Errorf("pkcs11 URI type %q is not one of %s", clip(v), strings.Join(objTypes, ", "))
		}
		u.Type = v
	case "id":
		u.ID = val
	case "module-name":
		if strings.ContainsAny(v, "/\\") {
			return fmt.Errorf("pkcs11 URI module-name %q must be a name, not a path: use module-path", clip(v))
		}
		u.ModuleName = v
	case "module-path":
		u.ModulePath = v
	case "pin-source":
		u.PINSource = v
	}
	return nil
}

func otherPart(inQuery bool) string {
	if inQuery {
		return "path"
	}
	return "query"
}

func validVersion(v string) bool {
	maj, min, hasMin := strings.Cut(v, ".")
	digits := func(s string) bool {
		if s == "" || len(s) > 3 {
			return false
		}
		for _, c := range s {
			if c < '0' || c > '9' {
				return false
			}
		}
		return true
	}
	return digits(maj) && (!hasMin || digits(min))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// clip shortens user input quoted back in an error.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// isResAvail reports pk11-res-avail: characters RFC 7512 allows unencoded in
// both components.
func isResAvail(c byte) bool {
	return strings.IndexByte(":[]@!$'()*+,=", c) >= 0
}

func allowedRaw(c byte, inQuery bool) bool {
	if isUnreserved(c) || isResAvail(c) {
		return true
	}
	if inQuery {
		return c == '/' || c == '?' || c == '|'
	}
	return c == '&'
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func pctDecode(s string, inQuery bool) ([]byte, error) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' {
			if i+2 >= len(s) {
				return nil, errors.New("truncated percent-encoding")
			}
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("invalid percent-encoding %q", s[i:i+3])
			}
			out = append(out, hi<<4|lo)
			i += 2
			continue
		}
		if !allowedRaw(c, inQuery) {
			return nil, fmt.Errorf("character %q must be percent-encoded", c)
		}
		out = append(out, c)
	}
	return out, nil
}

// pctEncode writes v encoded for its component. Unreserved characters and
// the RFC's "res-avail" set stay literal; everything else, including
// delimiters, is %XX. '&' is encoded in the path too, so a URI reads the
// same to parsers that split the whole string on '&'.
func pctEncode(b *strings.Builder, v []byte, inQuery, all bool) {
	const hexdig = "0123456789ABCDEF"
	for _, c := range v {
		if !all && c != '&' && allowedRaw(c, inQuery) && c != '?' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexdig[c>>4])
		b.WriteByte(hexdig[c&15])
	}
}

// String returns the URI in canonical form: path attributes in RFC order,
// then the query, each value percent-encoded where RFC 7512 requires it and
// the id encoded byte by byte. It never contains a PIN.
func (u *URI) String() string {
	var b strings.Builder
	b.WriteString("pkcs11:")
	n := 0
	add := func(name, val string, raw []byte, inQuery, all bool) {
		if val == "" && raw == nil {
			return
		}
		if n > 0 {
			if inQuery {
				b.WriteByte('&')
			} else {
				b.WriteByte(';')
			}
		}
		n++
		b.WriteString(name)
		b.WriteByte('=')
		if raw == nil {
			raw = []byte(val)
		}
		pctEncode(&b, raw, inQuery, all)
	}
	add("token", u.Token, nil, false, false)
	add("manufacturer", u.Manufacturer, nil, false, false)
	add("serial", u.Serial, nil, false, false)
	add("model", u.Model, nil, false, false)
	add("library-manufacturer", u.LibraryManufacturer, nil, false, false)
	add("library-description", u.LibraryDescription, nil, false, false)
	add("library-version", u.LibraryVersion, nil, false, false)
	add("slot-manufacturer", u.SlotManufacturer, nil, false, false)
	add("slot-description", u.SlotDescription, nil, false, false)
	if u.SlotID != nil {
		add("slot-id", strconv.FormatUint(*u.SlotID, 10), nil, false, false)
	}
	add("object", u.Object, nil, false, false)
	add("type", u.Type, nil, false, false)
	if len(u.ID) > 0 {
		add("id", "", u.ID, false, true)
	}
	if u.ModuleName != "" || u.ModulePath != "" || u.PINSource != "" {
		b.WriteByte('?')
		n = 0
		add("module-name", u.ModuleName, nil, true, false)
		add("module-path", u.ModulePath, nil, true, false)
		add("pin-source", u.PINSource, nil, true, false)
	}
	return b.String()
}

// TokenSelector returns the token-selecting attributes of u.
func (u *URI) TokenSelector() TokenSelector {
	return TokenSelector{
		Label: u.Token, Manufacturer: u.Manufacturer, Serial: u.Serial, Model: u.Model,
		SlotID: u.SlotID, SlotManufacturer: u.SlotManufacturer, SlotDescription: u.SlotDescription,
		LibraryManufacturer: u.LibraryManufacturer, LibraryDescription: u.LibraryDescription,
		LibraryVersion: u.LibraryVersion,
	}
}
