package main

import (
	"crypto"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/airlock-project/airlock/bundle"
	"github.com/airlock-project/airlock/cache"
	"github.com/airlock-project/airlock/output"
	"github.com/airlock-project/airlock/tlog/rekorv2"
	"github.com/airlock-project/airlock/trust"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/urfave/cli/v2"
)

// The --tlog value of sign-blob and attest-blob: which log, if any, each
// signature goes to. loggerFor turns it into the library's Logger before
// any file or key is touched.

// rekorKeyFlag is the Rekor v2 log's public key. cosign v3.1.3 has no flag
// for it (it reads SIGSTORE_REKOR_PUBLIC_KEY or a trusted root): the name
// follows --key.
func rekorKeyFlag() cli.Flag {
	return &cli.StringFlag{Name: "rekor-key", Usage: "PEM public `FILE` of the --tlog rekor=URL log, to check its answers; default: the database's trusted root listing a log at URL's host"}
}

// loggerFor returns the Logger that --tlog names (nil for none). For
// rekor=URL the log key is --rekor-key, else the key of a transparency log
// whose baseUrl host is URL's host in the database's trusted roots; the
// checkpoint origin is URL's host (the server's --hostname), as verifiers
// derive it from a trusted root's baseUrl.
func loggerFor(c *cli.Context) (bundle.Logger, error) {
	v := c.String("tlog")
	rawURL, ok := strings.CutPrefix(v, "rekor=")
	if !ok {
		if c.IsSet("rekor-key") {
			return nil, usageErrorf("--rekor-key is the key of a --tlog rekor=URL log, not of --tlog %q", v)
		}
		return nil, nil // none: checkSignFlags refused anything else
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, usageErrorf("--tlog rekor=URL needs an http(s) base URL, not %q", rawURL)
	}
	key, err := rekorLogKey(c, u)
	if err != nil {
		return nil, err
	}
	l, err := bundle.NewRekorV2Logger(rawURL, key, "", nil)
	if err != nil {
		return nil, withHint(fmt.Errorf("--tlog %q: %w", v, err), "a Rekor v2 log key is ECDSA P-256 or Ed25519")
	}
	return l, nil
}

// rekorLogKey is the public key of the Rekor v2 log at u: --rekor-key,
// else the database's trusted roots.
func rekorLogKey(c *cli.Context, u *url.URL) (crypto.PublicKey, error) {
	if p := c.String("rekor-key"); p != "" {
		data, err := output.ReadFile(p, maxKeyFileSize)
		if err != nil {
			return nil, fmt.Errorf("reading --rekor-key %q: %w", p, err)
		}
		k, err := cryptoutils.UnmarshalPEMToPublicKey(data)
		if err != nil {
			return nil, withHint(fmt.Errorf("--rekor-key %q is not a PEM public key: %v", p, err),
				"--rekor-key takes the log's public key (the server's --signer-filepath key, public half)")
		}
		return k, nil
	}
	noKey := withHint(fmt.Errorf("no public key is known for the Rekor v2 log at %q, and its answers cannot be checked without one", u.String()),
		fmt.Sprintf("pass --rekor-key FILE (the log's PEM public key), or import a trusted root that lists a transparency log with baseUrl http://%s", u.Hostname()))
	path, err := dbPath(c)
	if err != nil {
		return nil, err
	}
	db, err := cache.Open(path, cache.Options{ReadOnly: true})
	if errors.Is(err, cache.ErrNotInitialized) {
		return nil, noKey
	}
	if err != nil {
		return nil, trustErr(err)
	}
	defer db.Close()
	sel, err := trust.ForVerification(c.Context, tufStore(db), time.Now(), trust.DefaultMaxAge)
	if err != nil {
		var se *trust.SelectionError
		if errors.As(err, &se) {
			return nil, noKey
		}
		return nil, trustErr(err)
	}
	for _, s := range sel.Sources {
		for _, l := range s.Material.RekorLogs() {
			lu, err := url.Parse(l.BaseURL)
			if err == nil && strings.EqualFold(lu.Hostname(), u.Hostname()) && l.PublicKey != nil {
				return l.PublicKey, nil
			}
		}
	}
	return nil, noKey
}

// tlogError adds the hint for a log's failure in a signing call; nothing
// was written then.
func tlogError(err error) error {
	var se *rekorv2.ServerError
	switch {
	case errors.Is(err, rekorv2.ErrTransport):
		return withHint(err, "nothing was written; check that the Rekor v2 server is running at the --tlog URL")
	case errors.Is(err, rekorv2.ErrRejected):
		return withHint(err, "nothing was written; the answer does not check under the log key: check --rekor-key (or the trusted root) and that the server's --hostname is the URL's host")
	case errors.As(err, &se) && se.StatusCode == http.StatusConflict:
		// RSA PKCS#1 v1.5 signatures are deterministic: signing the same
		// file again makes the same entry. The log's API gives no proof for
		// an existing entry (it serves no tiles).
		return withHint(err, fmt.Sprintf("nothing was written; this signature is already in the log (index %d): the bundle written when it was first logged holds its proof", se.LogIndex))
	case errors.As(err, &se):
		return withHint(err, "nothing was written; the Rekor v2 server refused the entry")
	}
	return err
}
