package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/airlock-project/airlock/bundle"
	"github.com/airlock-project/airlock/cache"
	"github.com/airlock-project/airlock/tlog"
	"github.com/urfave/cli/v2"
)

// The site transparency log: `airlock log init` creates it in the
// database with its key (an ECDSA P-256 key in the HSM), and from then on
// sign-blob and attest-blob log every signature in it (--tlog site, the
// default once it exists). The read commands print its state and proofs.

func logCommand() *cli.Command {
	return &cli.Command{
		Name:  "log",
		Usage: "the site transparency log: create it, rotate its key, read its checkpoint and proofs",
		Description: `The site transparency log lives in the database. Once it exists, sign-blob and
attest-blob log every signature in it and every bundle carries its entry, an
inclusion proof, the signed checkpoint and a signed entry timestamp.

Examples:
   airlock log init --key 'pkcs11:token=site;object=logkey' --origin transparency.site.example
   airlock log status
   airlock log rotate-key --key 'pkcs11:token=site;object=logkey-2027'
   airlock log checkpoint
   airlock log proof --index 0
   airlock log consistency --from 10`,
		Subcommands: []*cli.Command{
			{
				Name:  "init",
				Usage: "create the site log with its key (ECDSA P-256, in the HSM)",
				Description: `Creates the site transparency log in the database, signed by KEYREF: an ECDSA
P-256 key on a token (a pkcs11: URI; the PIN as for sign-blob, never stored).
A PEM private key file is accepted for tests only. The database keeps the key's
reference (the URI, or the file's path) so that signing opens it again. ORIGIN
names the log in its checkpoints and in a trusted root (https://ORIGIN). A
database that has a log keeps it: init refuses to replace it.

Examples:
   airlock log init --key 'pkcs11:token=site;object=logkey' --origin transparency.site.example
   airlock log init --key 'pkcs11:token=site;object=logkey' --origin log.example --tree-id 1`,
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "key", Usage: "log key `KEYREF`: a pkcs11: URI (an ECDSA P-256 key), or a PEM key file for tests"},
					&cli.StringFlag{Name: "origin", Usage: "the log's `ORIGIN`, a host name (checkpoints name it)"},
					&cli.Int64Flag{Name: "tree-id", Usage: "the checkpoints' tree `ID`; default: a random positive number"},
				},
				Action: logInitAction,
			},
			logRotateKeyCommand(),
			{
				Name:        "status",
				Usage:       "print the site log's origin, tree id, size, key and times",
				Description: "Reads the site log from the database (read-only) and checks its latest checkpoint.\n\nExamples:\n   airlock log status\n   airlock log status -o json",
				Action:      logStatusAction,
			},
			{
				Name:        "checkpoint",
				Usage:       "print the latest signed checkpoint",
				Description: "Prints the site log's latest signed checkpoint (a signed note) on stdout, after\nchecking its signature.\n\nExamples:\n   airlock log checkpoint > checkpoint.txt",
				Action:      logCheckpointAction,
			},
			{
				Name:  "proof",
				Usage: "print the inclusion proof of an entry",
				Description: `Prints the inclusion proof of entry N in the tree of M entries (default: the
log's size), checked against the signed root before it is printed.

Examples:
   airlock log proof --index 0
   airlock log proof --index 3 --size 10 -o json`,
				Flags: []cli.Flag{
					&cli.Int64Flag{Name: "index", Value: -1, Usage: "the entry's `N`"},
					&cli.Int64Flag{Name: "size", Usage: "the tree size `M`; default: the log's size"},
				},
				Action: logProofAction,
			},
			{
				Name:  "consistency",
				Usage: "print the consistency proof between two tree sizes",
				Description: `Prints the proof that the tree of N entries is a prefix of the tree of M entries
(default: the log's size).

Examples:
   airlock log consistency --from 10
   airlock log consistency --from 10 --to 20 -o json`,
				Flags: []cli.Flag{
					&cli.Int64Flag{Name: "from", Value: -1, Usage: "the older tree size `N`"},
					&cli.Int64Flag{Name: "to", Usage: "the newer tree size `M`; default: the log's size"},
				},
				Action: logConsistencyAction,
			},
		},
	}
}

// siteLogStore is the database at the --db path as a site log store.
func siteLogStore(c *cli.Context) (*cache.SiteLogFile, error) {
	path, err := dbPath(c)
	if err != nil {
		return nil, err
	}
	return &cache.SiteLogFile{Path: path, ConflictErr: tlog.ErrWriteConflict}, nil
}

const logInitHint = "create it with: airlock log init --key 'pkcs11:token=LABEL;object=NAME' --origin HOST"

// openSiteLog opens the site log of the database; ok is false if there
// is none.
func openSiteLog(c *cli.Context) (l *tlog.Log, store *cache.SiteLogFile, ok bool, err error) {
	store, err = siteLogStore(c)
	if err != nil {
		return nil, nil, false, err
	}
	l, ok, err = openSiteLogIn(c, store)
	if err != nil {
		return nil, nil, false, err
	}
	return l, store, ok, nil
}

// openSiteLogIn is openSiteLog on store.
func openSiteLogIn(c *cli.Context, store *cache.SiteLogFile) (l *tlog.Log, ok bool, err error) {
	l, err = tlog.Open(c.Context, store)
	switch {
	case errors.Is(err, tlog.ErrNoLog):
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("site log: %w", err)
	}
	return l, true, nil
}

// requireSiteLog is openSiteLog for the read commands: no log is an error.
func requireSiteLog(c *cli.Context) (*tlog.Log, error) {
	l, _, ok, err := openSiteLog(c)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, withHint(errors.New("the database has no site log"), logInitHint)
	}
	return l, nil
}

// logKeyFingerprint is "sha256:HEX" of the log key's PKIX DER (its log ID).
func logKeyFingerprint(k *tlog.LogKey) string { return "sha256:" + hex.EncodeToString(k.ID[:]) }

func isTokenRef(ref string) bool { return len(ref) >= 7 && strings.EqualFold(ref[:7], "pkcs11:") }

// openLogKey opens the log key ref and checks that it is ECDSA P-256 (and,
// with want, that it is want's key). The caller closes it.
func openLogKey(c *cli.Context, ref string, want *tlog.LogKey) (*signingKey, *tlog.LogKey, error) {
	key, err := openSigningKey(c, ref)
	if err != nil {
		return nil, nil, err
	}
	lk, err := tlog.NewLogKey(key.signer.Public())
	if errors.Is(err, tlog.ErrKeyType) {
		key.Close()
		return nil, nil, withHint(fmt.Errorf("%w: %q", tlog.ErrKeyType, ref), "make one with: airlock hsm keygen --type ecdsa-p256")
	}
	if err != nil {
		key.Close()
		return nil, nil, fmt.Errorf("log key %q: %w", ref, err)
	}
	if want != nil && lk.ID != want.ID {
		key.Close()
		return nil, nil, withHint(fmt.Errorf("log key %q (%s): %w (%s)", ref, logKeyFingerprint(lk), tlog.ErrKeyMismatch, logKeyFingerprint(want)),
			"the database names the log's current key (airlock log status shows its fingerprint): check the token and the key's label")
	}
	return key, lk, nil
}

// warnLogKeyFile warns that a log key given as a file is for tests only.
func warnLogKeyFile(c *cli.Context, ref string) {
	if !isTokenRef(ref) {
		fmt.Fprintf(c.App.ErrWriter, "airlock: warning: the log key %q is a key file: for tests only; a site log's key belongs in an HSM\n", ref)
	}
}

// storedLogKeyRef is how the database names an opened log key: the
// token key's URI, or the key file's path, opened again at signing.
func storedLogKeyRef(key *signingKey) string {
	if isTokenRef(key.ref) {
		return key.ref
	}
	return strings.TrimPrefix(key.ref, "file:")
}

func logInitAction(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageErrorf("log init takes no arguments, got %q", c.Args().First())
	}
	ref, origin := c.String("key"), c.String("origin")
	if ref == "" {
		return usageErrorf("log init needs --key KEYREF (a pkcs11: URI naming an ECDSA P-256 key)")
	}
	if origin == "" {
		return usageErrorf("log init needs --origin ORIGIN (a host name, e.g. transparency.site.example)")
	}
	if err := tlog.CheckOrigin(origin); err != nil {
		return usageErr(fmt.Errorf("--origin %q: %w", origin, err))
	}
	tree := c.Int64("tree-id")
	if tree < 0 || c.IsSet("tree-id") && tree == 0 {
		return usageErrorf("--tree-id must be a positive number, not %d", tree)
	}
	asJSON, err := outputJSON(c)
	if err != nil {
		return err
	}
	// A database with a log is refused before the key (and its PIN).
	if _, _, ok, err := openSiteLog(c); err != nil {
		return err
	} else if ok {
		return withHint(tlog.ErrLogExists, "airlock log status shows it; a database holds one site log")
	}
	path, _ := dbPath(c)
	if err := dbWritable(path); err != nil {
		return err
	}
	if tree == 0 {
		if tree, err = tlog.NewTreeID(); err != nil {
			return err
		}
	}
	warnLogKeyFile(c, ref)
	key, lk, err := openLogKey(c, ref, nil)
	if err != nil {
		return err
	}
	defer key.Close()
	stored := storedLogKeyRef(key)
	now := time.Now().UTC()
	store, err := siteLogStore(c)
	if err != nil {
		return err
	}
	initRec := cache.AuditRecord{Time: now, Kind: "log-init", Fields: map[string]string{
		"log_origin": origin, "tree_id": fmt.Sprint(tree), "log_key": stored, "log_key_sha256": hex.EncodeToString(lk.ID[:]),
	}}
	store.InTx = cache.LogInitTx(stored, initRec)
	// The log key is in hand: seal the audit trail with the log-init
	// record (and, on a database with history, what is there).
	sealer := auditSealer{meta: tlog.Meta{Origin: origin, TreeID: tree}, key: lk, signer: key.signer}
	if plan, err := planLogInitSeal(path, sealer, now, initRec); err != nil {
		warnUnsealed(c.App.ErrWriter, err)
	} else {
		store.InTx = cache.LogInitSealTx(stored, plan)
	}
	l, err := tlog.Create(c.Context, store, tlog.Config{Origin: origin, TreeID: tree}, key.signer, now)
	if err != nil {
		return err
	}
	m := l.Meta()
	if asJSON {
		return writeJSON(c.App.Writer, logStatus{Origin: m.Origin, TreeID: m.TreeID, KeyFingerprint: logKeyFingerprint(l.Key()),
			Key: stored, Created: m.Created.Format(time.RFC3339)})
	}
	w := c.App.Writer
	fmt.Fprintf(w, "Created the site log %s - %d\n", m.Origin, m.TreeID)
	fmt.Fprintf(w, "  origin:      %s\n  tree id:     %d\n  log key:     %s\n  fingerprint: %s\n", m.Origin, m.TreeID, stored, logKeyFingerprint(l.Key()))
	fmt.Fprintf(w, "Next:\n  airlock sign-blob --key KEYREF FILE...   logs every signature (--tlog site is now the default)\n")
	fmt.Fprintf(w, "  airlock log status                       shows the log\n")
	return nil
}

// logStatus is `log status -o json` (and `log init -o json`).
type logStatus struct {
	Origin         string `json:"origin"`
	TreeID         int64  `json:"treeID"`
	Size           int64  `json:"size"`
	RootHash       string `json:"rootHash,omitempty"` // base64, as in checkpoints
	KeyFingerprint string `json:"keyFingerprint"`
	Key            string `json:"key,omitempty"` // where the log key is
	Created        string `json:"created"`
	LastAppend     string `json:"lastAppend,omitempty"`
	// KeySince and RetiredKeys describe a rotated log: when the current
	// key began signing, and the earlier keys, oldest first.
	KeySince    string          `json:"keySince,omitempty"`
	RetiredKeys []logRetiredKey `json:"retiredKeys,omitempty"`
}

// logRetiredKey is a key the log retired (log rotate-key).
type logRetiredKey struct {
	KeyFingerprint string `json:"keyFingerprint"`
	From           string `json:"from"`
	To             string `json:"to"`
	Size           int64  `json:"size"`     // the tree size at its rotation
	Handover       string `json:"handover"` // the signed note naming the next key
}

func logStatusAction(c *cli.Context) error {
	asJSON, err := outputJSON(c)
	if err != nil {
		return err
	}
	l, store, ok, err := openSiteLog(c)
	if err != nil {
		return err
	}
	if !ok {
		return withHint(errors.New("the database has no site log"), logInitHint)
	}
	head, err := l.Checkpoint(c.Context)
	if err != nil {
		return err
	}
	ref, err := store.LogKeyRef(c.Context)
	if err != nil {
		return err
	}
	m := l.Meta()
	st := logStatus{Origin: m.Origin, TreeID: m.TreeID, Size: head.Size, RootHash: base64.StdEncoding.EncodeToString(head.Hash[:]),
		KeyFingerprint: logKeyFingerprint(l.Key()), Key: ref, Created: m.Created.UTC().Format(time.RFC3339)}
	if head.Size > 0 {
		e, err := l.Entry(c.Context, head.Size-1)
		if err != nil {
			return err
		}
		st.LastAppend = time.Unix(e.IntegratedTime, 0).UTC().Format(time.RFC3339)
	}
	if len(m.RetiredKeys) > 0 {
		st.KeySince = m.KeySince.UTC().Format(time.RFC3339)
	}
	for _, k := range m.RetiredKeys {
		lk, err := tlog.ParseLogKey(k.PublicKey)
		if err != nil {
			return err // Open checked the history
		}
		st.RetiredKeys = append(st.RetiredKeys, logRetiredKey{KeyFingerprint: logKeyFingerprint(lk), From: k.From.UTC().Format(time.RFC3339),
			To: k.To.UTC().Format(time.RFC3339), Size: k.Size, Handover: string(k.Handover)})
	}
	if asJSON {
		return writeJSON(c.App.Writer, st)
	}
	last := st.LastAppend
	if last == "" {
		last = "never"
	}
	w := c.App.Writer
	fmt.Fprintf(w, "origin:      %s\ntree id:     %d\nsize:        %d\nroot hash:   %s\nlog key:     %s\nfingerprint: %s\n",
		st.Origin, st.TreeID, st.Size, st.RootHash, st.Key, st.KeyFingerprint)
	if st.KeySince != "" {
		fmt.Fprintf(w, "key since:   %s\n", st.KeySince)
	}
	fmt.Fprintf(w, "created:     %s\nlast append: %s\n", st.Created, last)
	for _, k := range st.RetiredKeys {
		fmt.Fprintf(w, "retired key: %s, %s to %s, tree size %d; handover:\n", k.KeyFingerprint, k.From, k.To, k.Size)
		for _, line := range strings.Split(strings.TrimSuffix(k.Handover, "\n"), "\n") {
			if line == "" {
				fmt.Fprintln(w)
				continue
			}
			fmt.Fprintf(w, "  %s\n", line)
		}
	}
	return nil
}

func logCheckpointAction(c *cli.Context) error {
	l, err := requireSiteLog(c)
	if err != nil {
		return err
	}
	head, err := l.Checkpoint(c.Context)
	if err != nil {
		return err
	}
	_, err = c.App.Writer.Write(head.Note)
	return err
}

// logProof is `log proof -o json`.
type logProof struct {
	Origin     string   `json:"origin"`
	LogIndex   int64    `json:"logIndex"`
	TreeSize   int64    `json:"treeSize"`
	RootHash   string   `json:"rootHash"` // hex, as in a bundle's JSON rendering of tools
	Hashes     []string `json:"hashes"`   // hex, leaf to root
	Checkpoint string   `json:"checkpoint,omitempty"`
}

func hexHashes(hs []tlog.Hash) []string {
	out := make([]string, len(hs))
	for i := range hs {
		out[i] = hex.EncodeToString(hs[i][:])
	}
	return out
}

func logProofAction(c *cli.Context) error {
	asJSON, err := outputJSON(c)
	if err != nil {
		return err
	}
	if !c.IsSet("index") || c.Int64("index") < 0 {
		return usageErrorf("log proof needs --index N (an entry's index, from 0)")
	}
	l, err := requireSiteLog(c)
	if err != nil {
		return err
	}
	size, err := treeSizeArg(c, l, "size")
	if err != nil {
		return err
	}
	idx := c.Int64("index")
	if idx >= size {
		return fmt.Errorf("entry %d is not in the tree of %d entries", idx, size)
	}
	p, err := l.InclusionProof(c.Context, idx, size)
	if err != nil {
		return err
	}
	out := logProof{Origin: l.Meta().Origin, LogIndex: p.Index, TreeSize: p.TreeSize, RootHash: hex.EncodeToString(p.RootHash[:]), Hashes: hexHashes(p.Hashes)}
	if cp, err := l.CheckpointAt(c.Context, p.TreeSize); err == nil && cp != nil {
		out.Checkpoint = string(cp.Note)
	}
	if asJSON {
		return writeJSON(c.App.Writer, out)
	}
	fmt.Fprintf(c.App.Writer, "index:     %d\ntree size: %d\nroot hash: %s\n", out.LogIndex, out.TreeSize, out.RootHash)
	for _, h := range out.Hashes {
		fmt.Fprintf(c.App.Writer, "hash:      %s\n", h)
	}
	return nil
}

// treeSizeArg is the tree size flag name, default the log's size, which it
// may not exceed.
func treeSizeArg(c *cli.Context, l *tlog.Log, name string) (int64, error) {
	head, err := l.Checkpoint(c.Context)
	if err != nil {
		return 0, err
	}
	if !c.IsSet(name) {
		return head.Size, nil
	}
	n := c.Int64(name)
	if n < 0 || n > head.Size {
		return 0, usageErrorf("--%s %d: the log has %d entries", name, n, head.Size)
	}
	return n, nil
}

// logConsistency is `log consistency -o json`.
type logConsistency struct {
	Origin   string   `json:"origin"`
	From     int64    `json:"from"`
	To       int64    `json:"to"`
	FromRoot string   `json:"fromRootHash"` // hex
	ToRoot   string   `json:"toRootHash"`   // hex
	Hashes   []string `json:"hashes"`       // hex
}

func logConsistencyAction(c *cli.Context) error {
	asJSON, err := outputJSON(c)
	if err != nil {
		return err
	}
	if !c.IsSet("from") || c.Int64("from") < 0 {
		return usageErrorf("log consistency needs --from N (an older tree size)")
	}
	l, err := requireSiteLog(c)
	if err != nil {
		return err
	}
	to, err := treeSizeArg(c, l, "to")
	if err != nil {
		return err
	}
	from := c.Int64("from")
	if from > to {
		return usageErrorf("--from %d is larger than the tree size %d", from, to)
	}
	p, err := l.ConsistencyProof(c.Context, from, to)
	if err != nil {
		return err
	}
	fr, err := l.RootHash(c.Context, from)
	if err != nil {
		return err
	}
	tr, err := l.RootHash(c.Context, to)
	if err != nil {
		return err
	}
	out := logConsistency{Origin: l.Meta().Origin, From: from, To: to, FromRoot: hex.EncodeToString(fr[:]), ToRoot: hex.EncodeToString(tr[:]), Hashes: hexHashes(p)}
	if asJSON {
		return writeJSON(c.App.Writer, out)
	}
	fmt.Fprintf(c.App.Writer, "from:      %d %s\nto:        %d %s\n", out.From, out.FromRoot, out.To, out.ToRoot)
	for _, h := range out.Hashes {
		fmt.Fprintf(c.App.Writer, "hash:      %s\n", h)
	}
	return nil
}

// signingLog is what a signing command logs with: the site log and its
// key, opened once per run.
type signingLog struct {
	log    *tlog.Log
	store  *cache.SiteLogFile
	keyRef string // where the log key is, as stored with the log
	key    *signingKey
	logger *bundle.SiteLogger
	// remote is the Logger of a log airlock does not hold (--tlog
	// rekor=URL): it has no key to open and nothing to append here.
	remote bundle.Logger
}

func (s *signingLog) Close() {
	if s != nil && s.key != nil {
		s.key.Close()
	}
}

// resolveTlog reads --tlog against the database: nil for none, else the
// site log (its key not yet opened). It runs before the signing key is
// opened, so that a missing or unreadable log costs no PIN.
func resolveTlog(c *cli.Context) (*signingLog, error) {
	v := c.String("tlog")
	if !strings.HasPrefix(v, "rekor=") {
		// --rekor-key without rekor=URL is a usage error.
		if _, err := loggerFor(c); err != nil {
			return nil, err
		}
	}
	switch {
	case v == "none":
		return nil, nil
	case v == "" || v == "site":
	case strings.HasPrefix(v, "rekor="):
		lg, err := loggerFor(c)
		if err != nil {
			return nil, err
		}
		return &signingLog{remote: lg}, nil
	default:
		return nil, usageErrorf("--tlog must be none, site or rekor=URL, not %q", v)
	}
	store, err := siteLogStore(c)
	if err != nil {
		return nil, err
	}
	// The log and its key's reference in one open of the database.
	release, err := store.HoldReads(c.Context)
	if err != nil {
		return nil, err
	}
	defer release()
	l, ok, err := openSiteLogIn(c, store)
	if err != nil {
		return nil, err
	}
	if !ok {
		if v == "" {
			return nil, withHint(errors.New("no transparency log is configured, and airlock does not silently sign without one"),
				"create the site log (airlock log init --key KEYREF --origin HOST), or pass --tlog none to make a bundle with no log entry (verify it with --insecure-ignore-tlog)")
		}
		return nil, withHint(errors.New("the database has no site log"), logInitHint)
	}
	ref, err := store.LogKeyRef(c.Context)
	if err != nil {
		return nil, err
	}
	return &signingLog{log: l, store: store, keyRef: ref}, nil
}

// openKey opens the log key stored with the log (after the signing key:
// a token shared by both logs in once).
func (s *signingLog) openKey(c *cli.Context) error {
	if s.remote != nil {
		return nil
	}
	ref := s.keyRef
	if ref == "" {
		return errors.New("the database names no key for its site log")
	}
	key, _, err := openLogKey(c, ref, s.log.Key())
	if err != nil {
		return err
	}
	s.key = key
	s.logger = &bundle.SiteLogger{Log: s.log, Signer: key.signer}
	return nil
}

// bundleLogger is the request's Logger (nil without a log).
func (s *signingLog) bundleLogger() bundle.Logger {
	switch {
	case s == nil:
		return nil
	case s.remote != nil:
		return s.remote
	}
	return s.logger
}

// planLogInitSeal plans log init's first seal on the database at path
// (created if missing, as log init creates it): the records recs and, when
// the trail was never sealed, a baseline record of each repository that
// no record describes.
func planLogInitSeal(path string, sealer auditSealer, now time.Time, recs ...cache.AuditRecord) (*cache.AuditPlan, error) {
	db, err := cache.Open(path, cache.Options{})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	baseline, err := db.AuditBaseline(now)
	if err != nil {
		return nil, err
	}
	// The new log is empty: the root of no entries, SHA-256 of nothing.
	return sealer.plan(db, now, true, 0, sha256.Sum256(nil), append(baseline, recs...)...)
}

// appendSiteLog commits the pending append p with the audit records in
// one transaction of the database, and a seal of the audit trail signed
// by the log key (tl.key) that covers them. When the trail cannot be
// sealed (it no longer extends its latest seal, or another process wrote
// to it meanwhile), the records are written unsealed, with a warning on
// warn: the signatures are not lost for it.
func appendSiteLog(p *bundle.SiteLogAppend, tl *signingLog, recs []cache.AuditRecord, warn io.Writer) error {
	store := tl.store
	store.InTx = cache.AuditTx(recs...)
	defer func() { store.InTx = nil }()
	var plan *cache.AuditPlan
	if tl.key != nil {
		lk, err := tlog.NewLogKey(tl.key.signer.Public())
		if err == nil {
			sealer := auditSealer{meta: p.Log.Meta(), key: lk, signer: tl.key.signer}
			plan, err = sealer.planFile(store.Path, time.Now(), false, p.Batch.Checkpoint.Size, p.Batch.Checkpoint.Hash, recs...)
		}
		if err != nil {
			warnUnsealed(warn, err)
			plan = nil
		} else {
			store.InTx = plan.Tx()
		}
	}
	// The commit is not cancelled halfway: a signal lands before or after.
	err := p.Log.Append(context.Background(), p.Batch)
	if errors.Is(err, tlog.ErrWriteConflict) {
		return withHint(fmt.Errorf("recording the signatures: %w", err),
			"another airlock process logged signatures or rotated the log key meanwhile; nothing was written: sign again")
	}
	if err != nil {
		return withHint(fmt.Errorf("recording the signatures in the site log and the audit trail: %w", err),
			"nothing was written; retry when the database is free")
	}
	if plan != nil && !plan.Sealed {
		warnUnsealed(warn, errors.New("another airlock process wrote to the audit trail while the batch was signed"))
	}
	return nil
}
