package main

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/airlock-project/airlock/bundle"
	"github.com/airlock-project/airlock/cache"
	"github.com/airlock-project/airlock/hsm"
	"github.com/airlock-project/airlock/hsm/softhsmtest"
	"github.com/airlock-project/airlock/trust"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// The --output json contract names every key in lowerCamelCase, as
// Sigstore's protobuf JSON does (docs/json.md, "Key names"). The only
// exceptions are data, not names: the `fields` map of an audit record,
// stored in the database as it was recorded (artifact_digest, ...).

var lowerCamel = regexp.MustCompile(`^[a-z][A-Za-z0-9]*$`)

// badKeys decodes every JSON value in out (one document, or JSON lines)
// and returns "path: key" for each object key that is not lowerCamelCase.
// skip(path) leaves the keys of the object at path unchecked (its values
// are not walked either); array elements appear in paths as "[]".
func badKeys(t *testing.T, out string, skip func(path string) bool) (bad []string, objects int) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	docs := 0
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("output is not JSON: %v\n%s", err, out)
		}
		docs++
		var walk func(v any, path string)
		walk = func(v any, path string) {
			switch v := v.(type) {
			case map[string]any:
				if skip != nil && skip(path) {
					return
				}
				objects++
				for k, e := range v {
					if !lowerCamel.MatchString(k) {
						bad = append(bad, path+": "+k)
					}
					walk(e, path+"."+k)
				}
			case []any:
				for _, e := range v {
					walk(e, path+"[]")
				}
			}
		}
		walk(v, "")
	}
	if docs == 0 {
		t.Fatalf("no JSON on stdout")
	}
	sort.Strings(bad)
	return bad, objects
}

// checkJSONCommand runs airlock with args, requires exit code want, and
// fails on any object key in its stdout that is not lowerCamelCase.
func checkJSONCommand(t *testing.T, want int, skip func(string) bool, args ...string) string {
	t.Helper()
	code, stdout, stderr := runAirlock(t, args...)
	if code != want {
		t.Fatalf("airlock %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, want, stdout, stderr)
	}
	bad, objects := badKeys(t, stdout, skip)
	if objects == 0 {
		t.Fatalf("airlock %s printed no JSON object:\n%s", strings.Join(args, " "), stdout)
	}
	for _, b := range bad {
		t.Errorf("airlock %s: key not lowerCamelCase at %s", strings.Join(args, " "), b)
	}
	return stdout
}

// TestJSONKeysLowerCamel runs every command that prints JSON without a
// token, on the real TUF snapshot, conformance bundles and a key file.
func TestJSONKeysLowerCamel(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AIRLOCK_DB", filepath.Join(dir, "airlock.db"))
	t.Setenv("AIRLOCK_PIN", "")
	t.Setenv("AIRLOCK_PKCS11_MODULE", "")
	tuf, err := filepath.Abs("../../testdata/tuf/public-good-2026-08-21")
	if err != nil {
		t.Fatal(err)
	}

	// trust: init, update (with --at), status with its freshness and
	// trusted root summary (authorities and logs with validity).
	out := checkJSONCommand(t, 0, nil, "trust", "init", "--public-good", "-o", "json")
	mustContain(t, out, `"rootChain"`, `"initAt"`)
	out = checkJSONCommand(t, 0, nil, "trust", "update", "--from", tuf, "--at", "2026-08-21T20:00:00Z", "-o", "json")
	mustContain(t, out, `"newRoots": []`, `"rootVersion": 15`, `"explicitTime": true`, `"referenceTime"`,
		`"timestampVersion"`, `"snapshotVersion"`, `"targetsVersion"`, `"targetFiles"`)
	out = checkJSONCommand(t, 0, nil, "trust", "status", "--max-trust-age", "30d", "-o", "json")
	mustContain(t, out, `"maxTrustAge": "30d"`, `"maxTrustAgeNs": 2592000000000000`, `"tooOld": true`,
		`"ageNs"`, `"staleForNs"`, `"rootExpired"`, `"trustedRoot"`, `"certificateAuthorities"`,
		`"timestampAuthorities"`, `"baseUrl"`, `"logId"`, `"validFrom"`, `"importedAt"`)

	// verification: a verified certificate bundle, a key-signed one, a
	// rejection, and a batch with an item that could not be checked.
	cv := "../../testdata/conformance/bundle-verify/"
	args := conformanceArgs(t, cv+"happy-path-v0.3", false)[1:]
	out = checkJSONCommand(t, 0, nil, append([]string{"-o", "json"}, args...)...)
	mustContain(t, out, `"logEntries"`, `"integratedTime"`, `"certificateIssuer"`)
	args = conformanceArgs(t, cv+"managed-key-happy-path", false)[1:]
	out = checkJSONCommand(t, 0, nil, append([]string{"-o", "json"}, args...)...)
	mustContain(t, out, `"keyFingerprint"`)
	args = conformanceArgs(t, cv+"rekor2-timestamp-with-embedded-cert", false)[1:]
	checkJSONCommand(t, 0, nil, append([]string{"-o", "json"}, args...)...)
	args = conformanceArgs(t, cv+"message-digest-mismatch_fail", false)[1:]
	out = checkJSONCommand(t, 1, nil, append([]string{"-o", "json"}, args...)...)
	mustContain(t, out, `"verified":false`, `"reason"`)
	args = conformanceArgs(t, cv+"intoto-with-custom-trust-root", false)[1:]
	checkJSONCommand(t, 0, nil, append([]string{"-o", "json", "verify-attestation", "--type", "https://slsa.dev/provenance/v1"}, args[1:]...)...)
	a := filepath.Join(dir, "a.txt")
	copyFile(t, cv+"a.txt", a)
	copyFile(t, cv+"happy-path-v0.3/bundle.sigstore.json", a+".sigstore.json")
	out = checkJSONCommand(t, 2, nil, "verify-blob", "-o", "json", "--trusted-root", publicGoodRoot,
		"--certificate-identity", conformanceIdentity, "--certificate-oidc-issuer", conformanceIssuer,
		a, filepath.Join(dir, "missing.txt"))
	mustContain(t, out, `"status":"verified"`, `"status":"error"`)

	// bundle inspect: message signature with certificate, DSSE envelope,
	// RFC 3161 timestamps, Rekor v2 proofs.
	for _, c := range []string{"happy-path-v0.1", "happy-path-v0.3", "happy-path-intoto-in-dsse-v3",
		"rekor2-timestamp-with-embedded-cert", "rekor2-dsse-happy-path", "managed-key-happy-path"} {
		checkJSONCommand(t, 0, nil, "bundle", "inspect", "-o", "json", cv+c+"/bundle.sigstore.json")
	}
	out = checkJSONCommand(t, 1, nil, "bundle", "inspect", "-o", "json", cv+"bundle-empty-certificate-chain_fail/bundle.sigstore.json")
	mustContain(t, out, `"invalid"`)

	// signing with a key file, then the audit trail it wrote.
	key, err := generateKey("ecdsa-p256")
	if err != nil {
		t.Fatal(err)
	}
	privPEM, err := cryptoutils.MarshalPrivateKeyToPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "signer.key")
	if err := os.WriteFile(keyFile, privPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	out = checkJSONCommand(t, 0, nil, "sign-blob", "-o", "json", "--key", keyFile, "--tlog", "none",
		"--bundle", filepath.Join(dir, "a.sigstore.json"), "--output-signature", filepath.Join(dir, "a.sig"), a)
	mustContain(t, out, `"keyFingerprint"`, `"signatureFile"`)
	pred := filepath.Join(dir, "pred.json")
	if err := os.WriteFile(pred, []byte(`{"builder_id": "x", "build_type": "y"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out = checkJSONCommand(t, 0, nil, "attest-blob", "-o", "json", "--key", keyFile, "--tlog", "none",
		"--predicate", pred, "--type", "custom", a)
	mustContain(t, out, `"predicateType"`, `"envelope"`)

	auditFields := func(path string) bool { return path == "[].fields" }
	out = checkJSONCommand(t, 0, auditFields, "audit", "list", "-o", "json")
	// The stored field names are data and stay snake_case.
	mustContain(t, out, `"artifact_digest"`, `"kind": "sign"`, `"kind": "trust-update"`)
}

// TestJSONKeysLowerCamelHSM runs the hsm commands' JSON on SoftHSM2.
func TestJSONKeysLowerCamelHSM(t *testing.T) {
	if !hsm.Available() {
		missingPart(t, "needs the cgo build")
	}
	tok := softhsmtest.New(t)
	dir := t.TempDir()
	t.Setenv("AIRLOCK_DB", filepath.Join(dir, "airlock.db"))
	t.Setenv("AIRLOCK_PKCS11_MODULE", tok.Module)
	t.Setenv("AIRLOCK_PIN", "")
	token := "pkcs11:token=" + tok.Label + "?pin-source=" + tok.PINFile

	out := checkJSONCommand(t, 0, nil, "hsm", "keygen", "-o", "json", "--token", token, "--label", "rel")
	mustContain(t, out, `"neverExtractable": true`, `"alwaysSensitive": true`, `"alwaysAuthenticate"`,
		`"hasPublicKey": true`, `"hasCertificate": false`)
	out = checkJSONCommand(t, 0, nil, "hsm", "tokens", "-o", "json")
	mustContain(t, out, `"slotId"`)
	out = checkJSONCommand(t, 0, nil, "hsm", "keys", "-o", "json", "--token", token)
	mustContain(t, out, `"neverExtractable": true`)
	out = checkJSONCommand(t, 0, nil, "hsm", "pubkey", "-o", "json", tok.KeyURI("rel"))
	mustContain(t, out, `"publicKeyPem": "-----BEGIN PUBLIC KEY-----`)
}

// TestJSONTypesLowerCamel checks the json tags of every type printed with
// --output json, including fields the commands above leave out
// (omitempty), down to nested structs.
func TestJSONTypesLowerCamel(t *testing.T) {
	for _, v := range []any{
		bundle.Result{}, bundle.Inspection{},
		trust.RepoStatus{}, trust.UpdateResult{}, statusJSON{},
		hsm.TokenInfo{}, hsm.KeyInfo{},
		signOutput{}, cache.AuditRecord{}, exportJSON{},
		auditVerifyResult{}, auditSealResult{},
	} {
		checkJSONTags(t, reflect.TypeOf(v), reflect.TypeOf(v).String(), map[reflect.Type]bool{})
	}
}

var jsonMarshaler = reflect.TypeFor[json.Marshaler]()

func checkJSONTags(t *testing.T, typ reflect.Type, path string, seen map[reflect.Type]bool) {
	t.Helper()
	for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Array || typ.Kind() == reflect.Map {
		typ = typ.Elem() // map keys are data, not names
	}
	if typ.Kind() != reflect.Struct || seen[typ] || typ.Implements(jsonMarshaler) || reflect.PointerTo(typ).Implements(jsonMarshaler) {
		return
	}
	seen[typ] = true
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" && tag == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			checkJSONTags(t, f.Type, path, seen)
			continue
		}
		if name == "" {
			t.Errorf("%s.%s has no json tag: its key would be %q", path, f.Name, f.Name)
		} else if !lowerCamel.MatchString(name) {
			t.Errorf("%s.%s: json key %q is not lowerCamelCase", path, f.Name, name)
		}
		checkJSONTags(t, f.Type, path+"."+f.Name, seen)
	}
}

func mustContain(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %s:\n%s", w, out)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
