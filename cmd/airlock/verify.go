package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/airlock-project/airlock/bundle"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/urfave/cli/v2"
)

// verifyCommands: verify-blob, verify-attestation (alias verify-blob-attestation).
// MINIMAL SKELETON: the verifier issue grows this into the full command.
func verifyCommands() []*cli.Command {
	return []*cli.Command{{
		Name:      "verify-blob",
		Usage:     "verify a file's Sigstore bundle or detached signature, offline",
		ArgsUsage: "FILE|sha256:HEX",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "bundle", Usage: "Sigstore bundle `FILE`"},
			&cli.StringFlag{Name: "key", Usage: "public key `FILE` (PEM)"},
			&cli.StringFlag{Name: "certificate-identity"},
			&cli.StringFlag{Name: "certificate-identity-regexp"},
			&cli.StringFlag{Name: "certificate-oidc-issuer"},
			&cli.StringFlag{Name: "certificate-oidc-issuer-regexp"},
			&cli.StringFlag{Name: "trusted-root", Usage: "trusted_root.json `FILE`"},
			&cli.BoolFlag{Name: "insecure-ignore-tlog"},
		},
		Action: verifyBlobAction,
	}}
}

func verifyBlobAction(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageErrorf("verify-blob takes one FILE or sha256:DIGEST")
	}
	ts, err := loadTrust(c, time.Now())
	if err != nil {
		return err
	}
	b, err := sgbundle.LoadJSONFromPath(c.String("bundle"))
	if err != nil {
		return bundle.Rejectf("reading bundle %q: %v", c.String("bundle"), err)
	}
	p := bundle.Policy{
		CertificateIdentity:         c.String("certificate-identity"),
		CertificateIdentityRegexp:   c.String("certificate-identity-regexp"),
		CertificateOIDCIssuer:       c.String("certificate-oidc-issuer"),
		CertificateOIDCIssuerRegexp: c.String("certificate-oidc-issuer-regexp"),
		InsecureIgnoreTlogUnsafe:    c.Bool("insecure-ignore-tlog"),
	}
	if k := c.String("key"); k != "" {
		pem, err := os.ReadFile(k)
		if err != nil {
			return err
		}
		p.Key, err = cryptoutils.UnmarshalPEMToPublicKey(pem)
		if err != nil {
			return fmt.Errorf("reading key %q: %w", k, err)
		}
	}
	a, err := artifactDigest(c.Args().First())
	if err != nil {
		return err
	}
	if _, err := bundle.Verify(b, ts.Sources[0].Material, p, a, time.Now()); err != nil {
		return err
	}
	fmt.Fprintln(c.App.Writer, "Verified OK")
	return nil
}

func artifactDigest(arg string) (bundle.Artifact, error) {
	if hexd, ok := strings.CutPrefix(arg, "sha256:"); ok {
		d, err := hex.DecodeString(hexd)
		if err != nil || len(d) != sha256.Size {
			return bundle.Artifact{}, usageErrorf("%q is not a sha256 digest", arg)
		}
		return bundle.Artifact{Algorithm: "sha256", Digest: d}, nil
	}
	f, err := os.Open(arg)
	if err != nil {
		return bundle.Artifact{}, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return bundle.Artifact{}, err
	}
	return bundle.Artifact{Algorithm: "sha256", Digest: h.Sum(nil)}, nil
}

