package bundle

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"
)

// InTotoStatementV1 is the _type of the statements attest-blob makes.
const InTotoStatementV1 = "https://in-toto.io/Statement/v1"

// Predicate type URIs Statement uses by name.
const (
	PredicateCustom = "https://cosign.sigstore.dev/attestation/v1"
	PredicateSPDX   = "https://spdx.dev/Document"
)

// cosignPredicateTypes maps cosign's --type names to predicate type URIs,
// as cosign v3 does (cmd/cosign/cli/options/predicate.go).
var cosignPredicateTypes = map[string]string{
	"custom":           PredicateCustom,
	"slsaprovenance":   "https://slsa.dev/provenance/v0.2",
	"slsaprovenance02": "https://slsa.dev/provenance/v0.2",
	"slsaprovenance1":  "https://slsa.dev/provenance/v1",
	"spdx":             PredicateSPDX,
	"spdxjson":         PredicateSPDX,
	"cyclonedx":        "https://cyclonedx.org/bom",
	"link":             "https://in-toto.io/Link/v1",
	"vuln":             "https://cosign.sigstore.dev/attestation/vuln/v1",
	"openvex":          "https://openvex.dev/ns",
}

// PredicateTypeURI resolves a --type value: one of cosign's names (custom,
// slsaprovenance, slsaprovenance02, slsaprovenance1, spdx, spdxjson,
// cyclonedx, link, vuln, openvex) or an absolute URI, used as it is.
func PredicateTypeURI(t string) (string, error) {
	if u, ok := cosignPredicateTypes[t]; ok {
		return u, nil
	}
	if !isURI(t) {
		return "", fmt.Errorf("invalid predicate type %q: want a URI or one of custom, slsaprovenance, slsaprovenance02, slsaprovenance1, spdx, spdxjson, cyclonedx, link, vuln, openvex", t)
	}
	return t, nil
}

// PredicateTypeName returns cosign's --type name for a predicate type URI
// ("spdxjson" for https://spdx.dev/Document), or "" when it has none.
func PredicateTypeName(uri string) string {
	for _, n := range []string{"spdxjson", "cyclonedx", "slsaprovenance", "slsaprovenance1", "link", "vuln", "openvex", "custom"} {
		if cosignPredicateTypes[n] == uri {
			return n
		}
	}
	return ""
}

// isURI reports whether s is an absolute URI ("*" and paths are not).
func isURI(s string) bool {
	u, err := url.ParseRequestURI(s)
	return err == nil && u.Scheme != ""
}

// MaxPredicateSize bounds the predicate file attest-blob reads.
const MaxPredicateSize = 32 << 20

// Subject is an artifact an in-toto statement is about.
type Subject struct {
	Name   string
	SHA256 []byte
}

// Statement builds the in-toto Statement v1 that attest-blob signs, the way
// cosign attest-blob does for the same --type:
//
//   - "" (no --type): when the predicate file is itself of the form
//     {"predicateType": URI, "predicate": {...}} (the workflow primer's
//     sbom.json), that type and predicate are used; otherwise as "custom".
//   - "custom" (cosign's default): the predicate file's text wrapped as
//     {"Data": TEXT, "Timestamp": now (RFC 3339)}.
//   - "spdx": a JSON object, or the file's text as a string predicate.
//   - any other name or URI: the predicate must be a JSON object.
//
// A file of the {"predicateType", "predicate"} form given with a --type
// other than "custom" is unwrapped too when its predicateType is the one
// --type names, so that the primer's sbom.json makes the same statement with
// and without --type (not an SPDX predicate nested in another); when the two
// types differ it is an error rather than a guess.
//
// It returns the statement and its predicate type.
func Statement(t string, predicate []byte, subjects []Subject, now time.Time) ([]byte, string, error) {
	if len(subjects) == 0 {
		return nil, "", errors.New("statement needs a subject")
	}
	var ptype string
	var pred any
	wrappedType, wrappedPred := unwrapPredicate(predicate)
	switch {
	case t == "" && wrappedType != "":
		ptype, pred = wrappedType, wrappedPred
	case t == "":
		t = "custom"
	case wrappedType != "":
		want, err := PredicateTypeURI(t)
		if err != nil {
			return nil, "", err
		}
		switch {
		case want == PredicateCustom:
			// cosign's custom type wraps the file's text, whatever it holds.
		case wrappedType != want:
			named := fmt.Sprintf("%q", t)
			if t != want {
				named += fmt.Sprintf(" (%s)", want)
			}
			return nil, "", fmt.Errorf("its predicateType %q is not --type %s", wrappedType, named)
		default:
			ptype, pred = wrappedType, wrappedPred
		}
	}
	if ptype == "" {
		var err error
		ptype, err = PredicateTypeURI(t)
		if err != nil {
			return nil, "", err
		}
		switch {
		case ptype == PredicateCustom:
			pred = map[string]string{"Data": string(predicate), "Timestamp": now.UTC().Format(time.RFC3339)}
		case isJSONObject(predicate):
			pred = json.RawMessage(predicate)
		case t == "spdx":
			pred = string(predicate)
		default:
			return nil, "", fmt.Errorf("predicate for type %q must be a JSON object", t)
		}
	}
	st := struct {
		Type          string        `json:"_type"`
		Subject       []subjectJSON `json:"subject"`
		PredicateType string        `json:"predicateType"`
		Predicate     any           `json:"predicate"`
	}{Type: InTotoStatementV1, PredicateType: ptype, Predicate: pred}
	for _, s := range subjects {
		if len(s.SHA256) != 32 {
			return nil, "", fmt.Errorf("subject %q: sha256 digest is %d bytes", s.Name, len(s.SHA256))
		}
		st.Subject = append(st.Subject, subjectJSON{Name: s.Name, Digest: map[string]string{"sha256": hex.EncodeToString(s.SHA256)}})
	}
	out, err := json.Marshal(st)
	if err != nil {
		return nil, "", fmt.Errorf("encoding statement: %w", err)
	}
	return out, ptype, nil
}

// unwrapPredicate returns the type and predicate of a predicate file of
// the form {"predicateType": URI, "predicate": {...}}, or "" and nil.
func unwrapPredicate(predicate []byte) (string, json.RawMessage) {
	var wrapped struct {
		PredicateType string          `json:"predicateType"`
		Predicate     json.RawMessage `json:"predicate"`
	}
	if json.Unmarshal(predicate, &wrapped) != nil || !isURI(wrapped.PredicateType) || !isJSONObject(wrapped.Predicate) {
		return "", nil
	}
	return wrapped.PredicateType, wrapped.Predicate
}

type subjectJSON struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// isJSONObject reports whether b is one valid JSON object.
func isJSONObject(b []byte) bool {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return false
	}
	var m map[string]json.RawMessage
	return json.Unmarshal(b, &m) == nil
}
