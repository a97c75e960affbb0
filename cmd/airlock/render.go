package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/airlock-project/airlock/bundle"
	"github.com/urfave/cli/v2"
)

// renderResults prints verification results: "Verified OK" (one item) or
// one line per item (a batch) in text; one JSON object per item, one per
// line, with --output json. It returns the error that sets the exit code:
// nil when all verified, a rejection (1) if any was rejected, otherwise a
// could-not-run error (2) if any item could not be checked.
func renderResults(c *cli.Context, jsonOut bool, v *bundle.Verifier, items []bundle.Item, results []bundle.ItemResult) error {
	batch := len(items) > 1
	stdout, stderr := c.App.Writer, c.App.ErrWriter
	var warned []string
	for _, ir := range results {
		if ir.Result == nil {
			continue
		}
		for _, w := range ir.Result.Warnings {
			if !slices.Contains(warned, w) {
				warned = append(warned, w)
				fmt.Fprintf(stderr, "airlock: warning: %s\n", w)
			}
		}
	}

	rejected, failed := 0, 0
	for _, ir := range results {
		switch {
		case ir.Err == nil:
		case errors.Is(ir.Err, bundle.ErrRejected):
			rejected++
		default:
			failed++
		}
	}

	if !batch {
		ir := results[0]
		if jsonOut && ir.Result != nil {
			writeJSONLine(stdout, ir.Result)
		}
		if ir.Err != nil {
			// The caller's hint (repositories left out of database trust)
			// beats a generic one, not one that names the defect.
			h := rejectionHint(ir, v.Key() != nil)
			if errors.As(ir.Err, new(*hintError)) && (h == "" || h == trustedRootMissingHint) {
				return ir.Err
			}
			return withHint(ir.Err, h)
		}
		if !jsonOut {
			fmt.Fprintln(stdout, "Verified OK")
		}
		return nil
	}

	for i, ir := range results {
		r := ir.Result
		if r == nil {
			r = v.ErrorResult(items[i], ir.Err)
		}
		if jsonOut {
			writeJSONLine(stdout, r)
			continue
		}
		switch {
		case ir.Err == nil:
			fmt.Fprintf(stdout, "OK %s\n", r.Artifact.Name)
		case errors.Is(ir.Err, bundle.ErrRejected):
			fmt.Fprintf(stdout, "REJECTED %s: %s\n", r.Artifact.Name, oneLine(ir.Err.Error()))
		default:
			fmt.Fprintf(stdout, "ERROR %s: %s\n", r.Artifact.Name, oneLine(ir.Err.Error()))
		}
	}
	// Both counts are told: a summary that named only the rejections
	// would hide items that were never checked.
	if rejected > 0 {
		fmt.Fprintf(stderr, "airlock: error: %d of %d rejected\n", rejected, len(results))
	}
	if failed > 0 {
		fmt.Fprintf(stderr, "airlock: error: %d of %d could not be checked\n", failed, len(results))
	}
	switch {
	case rejected > 0:
		return &silentError{exitRejected}
	case failed > 0:
		return &silentError{exitFailed}
	}
	if !jsonOut {
		fmt.Fprintf(stdout, "Verified OK: %d of %d\n", len(results), len(results))
	}
	return nil
}

// writeJSON writes one indented JSON document: the form of every non-batch
// command's --output json.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func writeJSONLine(w io.Writer, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Results are plain data; this cannot happen.
		panic(err)
	}
	w.Write(append(b, '\n'))
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// rejectionHint suggests what to check for common rejections. It matches
// the reason with quoted parts (file names, values from the evidence) left
// out, so that a path like "managed-key/b.json" cannot choose the hint.
// withKey says whether the policy was --key (else an identity).
func rejectionHint(ir bundle.ItemResult, withKey bool) string {
	if ir.Result == nil || !errors.Is(ir.Err, bundle.ErrRejected) {
		return ""
	}
	if h := evidenceFormHint(ir.Result); h != "" {
		return h
	}
	if ns := new(bundle.NotSignatureError); errors.As(ir.Err, &ns) {
		if ns.PredicateType != "" {
			return "check what it says with 'airlock verify-attestation --type " + ns.PredicateType + "' (same flags); a signature of the file is made with 'airlock sign-blob'"
		}
		return "check it with 'airlock verify-attestation' (same flags)"
	}
	msg := quoted.ReplaceAllString(ir.Err.Error(), `""`)
	inspect := "`airlock bundle inspect " + ir.Result.Evidence + "`"
	switch {
	case msg == `signature file "" is empty`:
		// Not a key problem: there is no signature to check.
		return ""
	case strings.Contains(msg, "but the artifact was given as"):
		alg := "sha256"
		if m := evidenceAlg.FindStringSubmatch(msg); m != nil {
			alg = m[1]
		}
		return "give the artifact as the FILE itself, or as its digest with the algorithm the evidence names (" + alg + ":HEX)"
	case strings.Contains(msg, "signed with a public key"):
		return "verify it with --key and the signer's PEM public key"
	case strings.Contains(msg, "signed with a certificate, not a key"):
		return "verify it with --certificate-identity and --certificate-oidc-issuer: " + inspect + " shows the certificate's"
	case strings.Contains(msg, "certificate identity") || strings.Contains(msg, "CertificateIdentity"):
		return "check --certificate-identity and --certificate-oidc-issuer against " + inspect
	case strings.Contains(msg, "has no transparency log to check the bundle's log entry"):
		if withKey {
			return "--insecure-ignore-tlog accepts it on the key alone (and says so); or give a trusted root that holds the bundle's log"
		}
		return trustedRootMissingHint
	case strings.Contains(msg, "no transparency-log entry") && withKey:
		return "--insecure-ignore-tlog accepts a key-signed bundle without one (and says so)"
	case strings.Contains(msg, "not enough verified log entries") || strings.Contains(msg, "certificate signed by unknown authority") ||
		strings.Contains(msg, "no matching") || strings.Contains(msg, "unable to verify") && strings.Contains(msg, "timestamp"):
		return trustedRootMissingHint
	case strings.Contains(msg, "checkpoint"):
		return ""
	case strings.Contains(msg, "artifact") || strings.Contains(msg, "digest"):
		return "the evidence does not match this artifact: check that FILE and its bundle or signature belong together"
	case withKey && (strings.Contains(msg, "signature") || strings.Contains(msg, "key") || strings.Contains(msg, "log certificate does not match")):
		return "check that --key is the signer's public key"
	}
	return ""
}

const trustedRootMissingHint = "the trusted root may not hold the log, CA or timestamping authority that made this bundle: check --trusted-root, or `airlock trust status` for the database"

// evidenceAlg finds the digest algorithm a "... but the artifact was given
// as" reason names.
var evidenceAlg = regexp.MustCompile(`(sha256|sha384|sha512) digest, but the artifact was given as`)

var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// evidenceFormHint spots evidence given with the wrong flag or to the
// wrong command: a Sigstore bundle passed as --signature; a detached
// signature passed as --bundle (or found as FILE.sigstore.json); cosign's
// bare DSSE envelope (.att) passed as --bundle, or to verify-blob; a .sig
// passed to verify-attestation.
func evidenceFormHint(r *bundle.Result) string {
	if r.Verified || r.Evidence == "" {
		return ""
	}
	f, err := os.Open(r.Evidence)
	if err != nil {
		return ""
	}
	defer f.Close()
	head := make([]byte, 4096)
	n, _ := io.ReadFull(f, head)
	head = bytes.TrimSpace(head[:n])
	looksBundle := bytes.HasPrefix(head, []byte("{")) && bytes.Contains(head, []byte("verificationMaterial"))
	// A .att is the envelope's JSON or its base64; only the head is
	// decoded, whole 4-character groups of it.
	decoded := head
	if base64Text.Match(head) {
		decoded = decodeBase64Head(head)
	}
	// "payload" or "payloadType", whichever comes first: a long payload
	// can push the other out of the head.
	looksDSSE := !looksBundle && bytes.HasPrefix(decoded, []byte("{")) && bytes.Contains(decoded, []byte(`"payload`)) &&
		!bytes.Contains(decoded, []byte(`"mediaType"`)) && !bytes.Contains(decoded, []byte(`"dsseEnvelope"`))
	looksSig := len(head) > 0 && len(head) < 1024 && base64Text.Match(head) && !bytes.HasPrefix(decoded, []byte("{"))
	switch {
	case r.Kind != "bundle" && looksBundle:
		return fmt.Sprintf("%q is a Sigstore bundle: pass it with --bundle, not --signature", r.Evidence)
	case r.Kind == "bundle" && looksSig:
		return fmt.Sprintf("%q looks like a detached signature: pass it with --signature (and --key), not --bundle", r.Evidence)
	case r.Kind == "bundle" && looksDSSE:
		return fmt.Sprintf("%q is a DSSE envelope: pass it to verify-attestation with --signature (and --key), not --bundle", r.Evidence)
	case r.Kind == "signature" && looksDSSE:
		return fmt.Sprintf("%q is a DSSE envelope (an attestation): use verify-attestation", r.Evidence)
	case r.Kind == "attestation" && looksSig:
		return fmt.Sprintf("%q looks like a detached signature of a file, not an attestation: use verify-blob", r.Evidence)
	}
	return ""
}

var base64Text = regexp.MustCompile(`^[A-Za-z0-9+/=\s]+$`)
