package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/airlock-project/airlock/cache"
	"github.com/airlock-project/airlock/tlog"
)

func init() {
	scriptCmds["sitelog-root"] = cmdSiteLogRoot
	scriptCmds["db-schema"] = cmdDBSchema
	scriptCmds["db-lock"] = cmdDBLock
	scriptCmds["db-unlock"] = cmdDBUnlock
}

// db-schema N sets $AIRLOCK_DB's schema number to N (bbolt directly, as a
// newer airlock would have written it).
func cmdDBSchema(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: db-schema N")
	}
	n, err := strconv.Atoi(args[0])
	ts.Check(err)
	db, err := bolt.Open(ts.Getenv("AIRLOCK_DB"), 0o600, &bolt.Options{Timeout: time.Second})
	ts.Check(err)
	defer db.Close()
	ts.Check(db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("meta")).Put([]byte("schema"), []byte{byte(n)})
	}))
}

// heldDBs are the databases db-lock holds open, by script.
var heldDBs sync.Map // *testscript.TestScript -> *bolt.DB

// db-lock holds $AIRLOCK_DB's exclusive lock (this test process, not
// airlock's) until db-unlock.
func cmdDBLock(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: db-lock")
	}
	db, err := bolt.Open(ts.Getenv("AIRLOCK_DB"), 0o600, &bolt.Options{Timeout: time.Second})
	ts.Check(err)
	heldDBs.Store(ts, db)
	ts.Defer(func() { db.Close() })
}

func cmdDBUnlock(ts *testscript.TestScript, neg bool, args []string) {
	if v, ok := heldDBs.LoadAndDelete(ts); ok {
		ts.Check(v.(*bolt.DB).Close())
	}
}

// siteLogTrustedRoot is the trusted_root.json that lists the site log of
// the database at db: baseUrl https://ORIGIN, its P-256 key (PKIX DER)
// valid from the log's creation, log ID the SHA-256 of the DER. (A
// site's own export is `trust export-root`; tests build it here.)
func siteLogTrustedRoot(db string) ([]byte, error) {
	l, err := tlog.Open(context.Background(), &cache.SiteLogFile{Path: db})
	if err != nil {
		return nil, err
	}
	m, k := l.Meta(), l.Key()
	return fmt.Appendf(nil, `{
  "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
  "tlogs": [{
    "baseUrl": "https://%s",
    "hashAlgorithm": "SHA2_256",
    "publicKey": {"rawBytes": %q, "keyDetails": "PKIX_ECDSA_P256_SHA_256", "validFor": {"start": %q}},
    "logId": {"keyId": %q}
  }]
}
`, m.Origin, base64.StdEncoding.EncodeToString(k.DER), m.Created.UTC().Format(time.RFC3339), base64.StdEncoding.EncodeToString(k.ID[:])), nil
}

// sitelog-root OUT writes the trusted root of $AIRLOCK_DB's site log to OUT.
func cmdSiteLogRoot(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: sitelog-root OUT")
	}
	js, err := siteLogTrustedRoot(ts.Getenv("AIRLOCK_DB"))
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), js, 0o644))
}
