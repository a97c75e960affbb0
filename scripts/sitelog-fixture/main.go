// Command sitelog-fixture makes site-log bundles with the tlog library for
// scripts/interop.sh, standing in for `airlock log init` and signing with
// the site log until those are on the branch:
//
//	sitelog-fixture init DB ORIGIN LOGKEY.pem
//	sitelog-fixture sign DB LOGKEY.pem SIGNER.pem FILE BUNDLE SIG
//	sitelog-fixture attest DB LOGKEY.pem SIGNER.pem FILE PREDICATE TYPE BUNDLE ATT
//	sitelog-fixture ca-init DIR NAME
//	sitelog-fixture ca-issue DIR PUB.pem EMAIL ISSUER OUT.pem
//
// ca-init makes a private CA with a CT log in DIR (ca.pem, its keys, and
// trusted_root.json listing the CA and the CT log); ca-issue certifies a
// public key for an email identity from an OIDC issuer, valid from a
// minute ago for an hour, with an embedded SCT (trust/catest).
//
// Keys are PEM private keys (the log key ECDSA P-256). Not for production:
// the log key is a software key.
package main

import (
	"context"
	"crypto"
	"encoding/base64"
	"fmt"
	"os"
	"time"

	"github.com/airlock-project/airlock/bundle"
	"github.com/airlock-project/airlock/cache"
	"github.com/airlock-project/airlock/tlog"
	"github.com/airlock-project/airlock/tlog/sitelogtest"
	"github.com/airlock-project/airlock/trust/catest"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "sitelog-fixture:", err)
		os.Exit(1)
	}
}

func signer(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return bundle.ParsePrivateKey(data, nil)
}

func run(args []string) error {
	ctx := context.Background()
	now := time.Now().Truncate(time.Second)
	if len(args) == 4 && args[0] == "init" {
		k, err := signer(args[3])
		if err != nil {
			return err
		}
		s, err := sitelogtest.Create(ctx, args[1], args[2], k, now.Add(-time.Minute))
		if err != nil {
			return err
		}
		return s.Close()
	}
	if len(args) == 3 && args[0] == "ca-init" {
		ca, err := catest.New(args[2], now.Add(-time.Hour))
		if err != nil {
			return err
		}
		return ca.Save(args[1])
	}
	if len(args) == 6 && args[0] == "ca-issue" {
		ca, err := catest.Load(args[1])
		if err != nil {
			return err
		}
		data, err := os.ReadFile(args[2])
		if err != nil {
			return err
		}
		pub, err := cryptoutils.UnmarshalPEMToPublicKey(data)
		if err != nil {
			return err
		}
		leaf, err := ca.Issue(pub, catest.Identity{Email: args[3], Issuer: args[4]}, now.Add(-time.Minute), now.Add(time.Hour))
		if err != nil {
			return err
		}
		out, err := cryptoutils.MarshalCertificateToPEM(leaf)
		if err != nil {
			return err
		}
		return os.WriteFile(args[5], out, 0o644)
	}
	if !(len(args) == 7 && args[0] == "sign" || len(args) == 9 && args[0] == "attest") {
		return fmt.Errorf("usage: init DB ORIGIN LOGKEY | sign DB LOGKEY SIGNER FILE BUNDLE SIG | attest DB LOGKEY SIGNER FILE PREDICATE TYPE BUNDLE ATT | ca-init DIR NAME | ca-issue DIR PUB EMAIL ISSUER OUT")
	}
	logKey, err := signer(args[2])
	if err != nil {
		return err
	}
	key, err := signer(args[3])
	if err != nil {
		return err
	}
	db, err := cache.Open(args[1], cache.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	l, err := tlog.Open(ctx, &cache.SiteLog{DB: db})
	if err != nil {
		return err
	}
	site := &sitelogtest.Site{DB: db, Log: l, LogKey: logKey}
	b, err := bundle.NewBuilder(key, nil)
	if err != nil {
		return err
	}
	f, err := os.Open(args[4])
	if err != nil {
		return err
	}
	defer f.Close()
	var logged *sitelogtest.Logged
	var detached []byte
	if args[0] == "sign" {
		d, err := b.Digest(f)
		if err != nil {
			return err
		}
		if logged, err = site.SignDigest(ctx, b, d, now); err != nil {
			return err
		}
		detached = []byte(base64.StdEncoding.EncodeToString(logged.Signature) + "\n")
	} else {
		d, err := bundle.HashSHA256(f)
		if err != nil {
			return err
		}
		pred, err := os.ReadFile(args[5])
		if err != nil {
			return err
		}
		st, _, err := bundle.Statement(args[6], pred, []bundle.Subject{{Name: args[4], SHA256: d}}, now)
		if err != nil {
			return err
		}
		if logged, err = site.SignDSSE(ctx, b, bundle.InTotoPayloadType, st, now); err != nil {
			return err
		}
		detached = logged.Envelope
		args = append(args[:5], args[7:]...)
	}
	if err := os.WriteFile(args[5], logged.Bundle, 0o644); err != nil {
		return err
	}
	return os.WriteFile(args[6], detached, 0o644)
}
