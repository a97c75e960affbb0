package main

import (
	"context"
	"crypto"
	"encoding/base64"
	"os"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/airlock-project/airlock/bundle"
	"github.com/airlock-project/airlock/cache"
	"github.com/airlock-project/airlock/tlog"
	"github.com/airlock-project/airlock/tlog/sitelogtest"
)

func init() {
	scriptCmds["sitelog"] = cmdSitelog
}

// sitelog init DB ORIGIN LOGKEY: start a site log named ORIGIN in the
// database DB, signed by the PEM private key LOGKEY (genkey ecdsa-p256).
//
// sitelog sign DB LOGKEY SIGNER FILE BUNDLE SIG: sign FILE with the PEM
// private key SIGNER, log the hashedrekord entry in DB's site log, and
// write the bundle (with the entry) and cosign's base64 .sig.
//
// sitelog attest DB LOGKEY SIGNER FILE TYPE BUNDLE ATT: the same for an
// in-toto statement about FILE with predicate TYPE (a dsse entry; the
// envelope as cosign's .att).
//
// Built with the tlog library as signing with the site log builds them;
// it does not wait for the log CLI.
func cmdSitelog(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 {
		ts.Fatalf("usage: sitelog init|sign|attest ...")
	}
	ctx := context.Background()
	now := time.Now().Add(-time.Minute).Truncate(time.Second)
	signerOf := func(path string) crypto.Signer {
		data, err := os.ReadFile(ts.MkAbs(path))
		ts.Check(err)
		s, err := bundle.ParsePrivateKey(data, nil)
		ts.Check(err)
		return s
	}
	switch args[0] {
	case "init":
		if len(args) != 4 {
			ts.Fatalf("usage: sitelog init DB ORIGIN LOGKEY")
		}
		s, err := sitelogtest.Create(ctx, ts.MkAbs(args[1]), args[2], signerOf(args[3]), now.Add(-time.Hour))
		ts.Check(err)
		ts.Check(s.Close())
	case "sign", "attest":
		if args[0] == "sign" && len(args) != 7 || args[0] == "attest" && len(args) != 8 {
			ts.Fatalf("usage: sitelog sign DB LOGKEY SIGNER FILE BUNDLE SIG | sitelog attest DB LOGKEY SIGNER FILE TYPE BUNDLE ATT")
		}
		db, err := cache.Open(ts.MkAbs(args[1]), cache.Options{})
		ts.Check(err)
		defer db.Close()
		l, err := tlog.Open(ctx, &cache.SiteLog{DB: db})
		ts.Check(err)
		site := &sitelogtest.Site{DB: db, Log: l, LogKey: signerOf(args[2])}
		b, err := bundle.NewBuilder(signerOf(args[3]), nil)
		ts.Check(err)
		f, err := os.Open(ts.MkAbs(args[4]))
		ts.Check(err)
		defer f.Close()
		var logged *sitelogtest.Logged
		var detached []byte
		if args[0] == "sign" {
			d, err := b.Digest(f)
			ts.Check(err)
			logged, err = site.SignDigest(ctx, b, d, now)
			ts.Check(err)
			detached = []byte(base64.StdEncoding.EncodeToString(logged.Signature) + "\n")
		} else {
			d, err := bundle.HashSHA256(f)
			ts.Check(err)
			st, _, err := bundle.Statement(args[5], []byte(`{"name":"fixture"}`), []bundle.Subject{{Name: args[4], SHA256: d}}, now)
			ts.Check(err)
			logged, err = site.SignDSSE(ctx, b, "application/vnd.in-toto+json", st, now)
			ts.Check(err)
			detached = logged.Envelope
			args = append(args[:5], args[6:]...)
		}
		ts.Check(os.WriteFile(ts.MkAbs(args[5]), logged.Bundle, 0o644))
		ts.Check(os.WriteFile(ts.MkAbs(args[6]), detached, 0o644))
	case "tamper":
		// sitelog tamper BUNDLE FIELD OUT: change one unsigned field of
		// the bundle's first log entry (treeSize, rootHash).
		if len(args) != 4 {
			ts.Fatalf("usage: sitelog tamper BUNDLE treeSize|rootHash OUT")
		}
		data, err := os.ReadFile(ts.MkAbs(args[1]))
		ts.Check(err)
		var pb protobundle.Bundle
		ts.Check(protojson.Unmarshal(data, &pb))
		p := pb.VerificationMaterial.TlogEntries[0].InclusionProof
		switch args[2] {
		case "treeSize":
			p.TreeSize++
		case "rootHash":
			p.RootHash[0] ^= 1
		default:
			ts.Fatalf("unknown field %q", args[2])
		}
		out, err := sitelogtest.MarshalBundle(&pb)
		ts.Check(err)
		ts.Check(os.WriteFile(ts.MkAbs(args[3]), out, 0o644))
	default:
		ts.Fatalf("unknown sitelog subcommand %q", args[0])
	}
}

// TestLogKeysOfRotatedLog: a log's metadata with retired keys lists each
// key with its window for trust, the current one open-ended.
func TestLogKeysOfRotatedLog(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t1, t2 := t0.AddDate(0, 3, 0), t0.AddDate(0, 6, 0)
	m := tlog.Meta{Origin: "log.example", PublicKey: []byte("k3"), Created: t0, KeySince: t2,
		RetiredKeys: []tlog.KeyPeriod{{PublicKey: []byte("k1"), From: t0, To: t1}, {PublicKey: []byte("k2"), From: t1, To: t2}}}
	got := logKeysOf(m)
	if len(got) != 3 {
		t.Fatalf("%d keys", len(got))
	}
	for i, w := range []struct {
		key      string
		from, to time.Time
	}{{"k1", t0, t1}, {"k2", t1, t2}, {"k3", t2, time.Time{}}} {
		if string(got[i].PublicKey) != w.key || !got[i].ValidFrom.Equal(w.from) || !got[i].ValidTo.Equal(w.to) || got[i].Origin != "log.example" {
			t.Errorf("key %d: %+v", i, got[i])
		}
	}
	if one := logKeysOf(tlog.Meta{Origin: "o", PublicKey: []byte("k"), Created: t0}); len(one) != 1 || !one[0].ValidFrom.Equal(t0) || !one[0].ValidTo.IsZero() {
		t.Errorf("unrotated: %+v", one)
	}
}
