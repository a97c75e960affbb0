package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/airlock-project/airlock/bundle"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/urfave/cli/v2"
)

// bundleCommand: `airlock bundle inspect B`.
func bundleCommand() *cli.Command {
	return &cli.Command{
		Name:  "bundle",
		Usage: "inspect Sigstore bundles",
		Description: `Shows what a Sigstore bundle holds, without verifying it (use verify-blob
or verify-attestation for that).

Examples:
   airlock bundle inspect hello.tgz.sigstore.json
   airlock bundle inspect --output json hello.tgz.sigstore.json`,
		Subcommands: []*cli.Command{{
			Name:      "inspect",
			Usage:     "show what a bundle holds: signer, subject, log entries, proofs, timestamps (nothing is verified)",
			ArgsUsage: "BUNDLE",
			Description: `Prints the bundle's media type, the signer (certificate subject, SAN and OIDC
issuer, or public-key hint), what was signed (message digest, or the in-toto
statement's predicate type and subjects), each transparency-log entry with its
inclusion proof and checkpoint, and RFC 3161 timestamps. Nothing is verified:
use verify-blob for that. A file that is not a valid bundle exits 1.

Example:
   airlock bundle inspect hello.tgz.sigstore.json
   airlock bundle inspect --output json hello.tgz.sigstore.json`,
			Action: inspectAction,
		}},
	}
}

func inspectAction(c *cli.Context) error {
	jsonOut, err := outputJSON(c)
	if err != nil {
		return err
	}
	if c.NArg() != 1 {
		return usageErrorf("bundle inspect takes one BUNDLE file")
	}
	path := c.Args().First()
	b, err := bundle.ReadBundleFile(path)
	var invalid error
	if errors.Is(err, bundle.ErrRejected) {
		// A bundle that reads but does not validate is still described
		// (that is when an auditor most wants to see it), then rejected.
		if ub := readBundleUnchecked(path); ub != nil {
			b, invalid = ub, err
		} else {
			return withHint(err, inspectFormHint(path))
		}
	} else if err != nil {
		return err
	}
	in := bundle.Inspect(b)
	if invalid != nil {
		in.Invalid = oneLine(strings.TrimPrefix(invalid.Error(), fmt.Sprintf("bundle %q: ", path)))
	}
	if jsonOut {
		writeJSONLine(c.App.Writer, in)
	} else {
		renderInspection(c.App.Writer, path, in)
	}
	return invalid
}

// inspectFormHint says what a file that is not a bundle looks like, when
// it is other evidence (bundle.SniffEvidenceFile).
func inspectFormHint(path string) string {
	switch bundle.SniffEvidenceFile(path) {
	case bundle.FormSignature:
		return fmt.Sprintf("%q looks like a detached signature: it holds nothing to inspect; verify it with verify-blob --signature (and --key)", path)
	case bundle.FormEnvelope:
		return fmt.Sprintf("%q is a DSSE envelope (an attestation): verify it with verify-attestation --signature (and --key)", path)
	case bundle.FormNotText:
		return fmt.Sprintf("%q is not a bundle (is it the artifact?): bundle inspect takes a Sigstore bundle, e.g. FILE.sigstore.json", path)
	}
	return ""
}

// readBundleUnchecked parses path without validation (see
// bundle.ParseBundleUnchecked), or returns nil.
func readBundleUnchecked(path string) *sgbundle.Bundle {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	data, err := bundle.ReadLimited(f, bundle.MaxBundleSize, path)
	if err != nil {
		return nil
	}
	b, err := bundle.ParseBundleUnchecked(data)
	if err != nil {
		return nil
	}
	return b
}

func renderInspection(w io.Writer, path string, in *bundle.Inspection) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	p("Bundle:     %s", path)
	if in.Invalid != "" {
		p("INVALID:    %s", in.Invalid)
	}
	mt, ver := in.MediaType, in.Version
	if mt == "" {
		mt = "(none)"
	}
	if ver == "" {
		ver = "unknown version"
	}
	p("Media type: %s (%s)", mt, ver)
	switch in.Content {
	case "messageSignature":
		p("Content:    message signature")
		if d := in.MessageDigest; d != nil {
			p("Digest:     %s:%s", d.Algorithm, d.Digest)
		}
	case "dsseEnvelope":
		p("Content:    DSSE envelope (%s)", in.PayloadType)
		if in.PredicateType != "" {
			p("Predicate:  %s", in.PredicateType)
		}
		for _, s := range in.Subjects {
			var ds []string
			for alg, d := range s.Digests {
				ds = append(ds, alg+":"+d)
			}
			p("Subject:    %s %s", s.Name, strings.Join(ds, " "))
		}
	}
	if c := in.Signer.Certificate; c != nil {
		p("Signer:     certificate (chain of %d)", in.Signer.ChainLength)
		p("  Identity:    %s", c.SAN)
		if c.OIDCIssuer != "" {
			p("  OIDC issuer: %s", c.OIDCIssuer)
		}
		if c.Subject != "" {
			p("  Subject:     %s", c.Subject)
		}
		p("  Issuer:      %s", c.CertificateIssuer)
		p("  Valid:       %s to %s", ts(c.NotBefore), ts(c.NotAfter))
		p("  Serial:      %s", c.Serial)
		p("  SHA-256:     %s", c.SHA256)
		p("  SCTs:        %v", c.SCTs)
	} else {
		switch in.Signer.Kind {
		case "certificate":
			if in.Signer.ChainLength == 0 {
				p("Signer:     certificate chain, empty")
			} else {
				p("Signer:     certificate (chain of %d), not parsable", in.Signer.ChainLength)
			}
		case "publicKey":
			switch {
			case in.Signer.KeyFingerprint != "":
				p("Signer:     public key %s (hint %s)", in.Signer.KeyFingerprint, in.Signer.KeyHint)
			case in.Signer.KeyHint != "":
				p("Signer:     public key, hint %s", in.Signer.KeyHint)
			default:
				p("Signer:     public key, hint (none)")
			}
		default:
			p("Signer:     none (the bundle has no verification material)")
		}
	}
	if len(in.LogEntries) == 0 {
		p("Log entries: none")
	}
	for i, e := range in.LogEntries {
		p("Log entry %d: %s %s, log %s, index %d", i+1, e.Kind, e.Version, e.LogID, e.Index)
		if e.Origin != "" {
			p("  Origin: %s", e.Origin)
		}
		if e.IntegratedTime != nil {
			p("  Integrated time: %s", ts(*e.IntegratedTime))
		}
		if e.SignedEntryTimestamp != "" {
			p("  Signed entry timestamp: present")
		}
		if pr := e.Proof; pr != nil {
			p("  Inclusion proof: index %d in tree of %d, root %s, %d hashes", pr.LogIndex, pr.TreeSize, pr.RootHash, len(pr.Hashes))
			if pr.Checkpoint != "" {
				p("  Checkpoint:")
				for _, l := range strings.Split(strings.TrimRight(pr.Checkpoint, "\n"), "\n") {
					p("    %s", l)
				}
			}
		} else {
			p("  Inclusion proof: none")
		}
	}
	for i, t := range in.Timestamps {
		switch {
		case t.Error != "":
			p("Timestamp %d: unparsable: %s", i+1, t.Error)
		case t.Signer != "":
			p("Timestamp %d: %s by %s", i+1, ts(*t.Time), t.Signer)
		default:
			p("Timestamp %d: %s", i+1, ts(*t.Time))
		}
	}
}
