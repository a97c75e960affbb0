package main

import (
	"os"
	"time"

	"github.com/airlock-project/airlock/trust/catest"
	"github.com/rogpeppe/go-internal/testscript"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

func init() {
	scriptCmds["site-ca"] = cmdSiteCA
}

// site-ca init DIR NAME makes a private CA with a CT log in DIR (ca.pem,
// ca.key, ctlog.key, trusted_root.json listing the CA and the CT log);
// site-ca issue DIR PUB EMAIL ISSUER OUT.pem certifies the PEM public key
// PUB for the identity EMAIL from the OIDC issuer ISSUER, valid from a
// minute ago for an hour, with an embedded SCT (trust/catest).
func cmdSiteCA(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! site-ca")
	}
	now := time.Now()
	switch {
	case len(args) == 3 && args[0] == "init":
		ca, err := catest.New(args[2], now.Add(-time.Hour))
		ts.Check(err)
		ts.Check(ca.Save(ts.MkAbs(args[1])))
	case len(args) == 6 && args[0] == "issue":
		ca, err := catest.Load(ts.MkAbs(args[1]))
		ts.Check(err)
		pub, err := cryptoutils.UnmarshalPEMToPublicKey([]byte(ts.ReadFile(args[2])))
		ts.Check(err)
		leaf, err := ca.Issue(pub, catest.Identity{Email: args[3], Issuer: args[4]}, now.Add(-time.Minute), now.Add(time.Hour))
		ts.Check(err)
		data, err := cryptoutils.MarshalCertificateToPEM(leaf)
		ts.Check(err)
		ts.Check(os.WriteFile(ts.MkAbs(args[5]), data, 0o644))
	default:
		ts.Fatalf("usage: site-ca init DIR NAME | site-ca issue DIR PUB EMAIL ISSUER OUT.pem")
	}
}
