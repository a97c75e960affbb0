package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/airlock-project/airlock/cache"
	"github.com/airlock-project/airlock/tlog"
	"github.com/urfave/cli/v2"
)

// `airlock log rotate-key` retires the site log's key: the old key signs
// a handover naming the new one, the new key signs the head again, and
// from then on every checkpoint and entry is the new key's. Bundles
// logged before keep verifying: trust lists each key with its window.

func logRotateKeyCommand() *cli.Command {
	return &cli.Command{
		Name:  "rotate-key",
		Usage: "retire the site log's key and sign with a new one from now on",
		Description: `Retires the site log's current key now (at the whole second T) and makes NEWKEY,
an ECDSA P-256 key on a token (a pkcs11: URI; a PEM key file for tests only),
the log key from T on. The old key (--old-key; default: the key the database
names, the one given to log init or the last rotation) signs a handover: a
signed note naming the new key, T and the tree at the rotation, so that whoever
holds only the old public key can follow the rotation. The new key signs the
latest checkpoint again. The log keeps its origin, tree id and entries.

Bundles logged before the rotation keep verifying: database trust and
trust export-root list every key of the log with the window in which it signed,
and verifiers pick the key by the entry's log ID. Export the trusted root again
after a rotation and hand it to those who verify with cosign.

Nothing changes when the new key is not ECDSA P-256, is the log's current or
an earlier key, when the old key is not the log's, when a token fails, or when
another airlock process appends meanwhile (sign again, then rotate again).

Examples:
   airlock hsm keygen --token release --label logkey-2027 --type ecdsa-p256
   airlock log rotate-key --key 'pkcs11:token=release;object=logkey-2027'
   airlock log rotate-key --key 'pkcs11:token=site2;object=logkey' --old-key 'pkcs11:token=site;object=logkey'
   airlock log status`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "key", Usage: "the new log key `NEWKEY`: a pkcs11: URI (an ECDSA P-256 key), or a PEM key file for tests"},
			&cli.StringFlag{Name: "old-key", Usage: "the current log key `OLDKEY`; default: the key the database names"},
		},
		Action: logRotateKeyAction,
	}
}

// logRotation is `log rotate-key -o json`.
type logRotation struct {
	Origin         string `json:"origin"`
	TreeID         int64  `json:"treeID"`
	Size           int64  `json:"size"`
	RotatedAt      string `json:"rotatedAt"`
	OldFingerprint string `json:"oldKeyFingerprint"`
	KeyFingerprint string `json:"keyFingerprint"`
	Key            string `json:"key"`
	Handover       string `json:"handover"`
}

func logRotateKeyAction(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageErrorf("log rotate-key takes no arguments, got %q", c.Args().First())
	}
	ref := c.String("key")
	if ref == "" {
		return usageErrorf("log rotate-key needs --key NEWKEY (a pkcs11: URI naming the new ECDSA P-256 key)")
	}
	if c.IsSet("old-key") && c.String("old-key") == "" {
		return usageErrorf("--old-key is empty")
	}
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
	path, _ := dbPath(c)
	if err := dbWritable(path); err != nil {
		return err
	}
	oldRef := c.String("old-key")
	if oldRef == "" {
		if oldRef, err = store.LogKeyRef(c.Context); err != nil {
			return err
		}
		if oldRef == "" {
			return withHint(errors.New("the database names no key for its site log"), "name the current log key with --old-key OLDKEY")
		}
	}
	warnLogKeyFile(c, ref)
	// The new key first: the stored reference of the old one names no
	// PIN source, and a token shared by both logs in once.
	cur := l.Key()
	newKey, nlk, err := openLogKey(c, ref, nil)
	if err != nil {
		return err
	}
	defer newKey.Close()
	oldKey, _, err := openLogKey(c, oldRef, cur)
	if err != nil {
		return err
	}
	defer oldKey.Close()
	stored := storedLogKeyRef(newKey)
	rot, err := l.PrepareRotation(c.Context, oldKey.signer, newKey.signer, time.Now())
	if errors.Is(err, tlog.ErrKeyReused) {
		return withHint(fmt.Errorf("--key %q (%s): %w", ref, logKeyFingerprint(nlk), err),
			"make a new key for the log: airlock hsm keygen --type ecdsa-p256")
	}
	if err != nil {
		return err
	}
	h := rot.Handover
	m := l.Meta()
	rec := cache.AuditRecord{Time: h.Time, Kind: "log-rotate-key", Fields: map[string]string{
		"log_origin": m.Origin, "tree_id": fmt.Sprint(m.TreeID), "tree_size": fmt.Sprint(h.Size),
		"rotated_at": h.Time.Format(time.RFC3339), "old_log_key_sha256": hex.EncodeToString(h.Old[:]),
		"log_key": stored, "log_key_sha256": hex.EncodeToString(h.New.ID[:]),
	}}
	store.InTx = cache.LogInitTx(stored, rec)
	// The new key is in hand: seal the rotation's record with it, in the
	// rotation's transaction (as log init and signing batches do; records
	// others left unsealed stay for audit seal).
	sealer := auditSealer{meta: m, key: h.New, signer: newKey.signer}
	if plan, err := sealer.planFile(path, time.Now(), false, h.Size, h.Root, rec); err != nil {
		warnUnsealed(c.App.ErrWriter, err)
	} else {
		store.InTx = cache.LogInitSealTx(stored, plan)
	}
	err = l.CommitRotation(c.Context, rot)
	store.InTx = nil
	if errors.Is(err, tlog.ErrWriteConflict) {
		return withHint(fmt.Errorf("rotating the site log key: %w", err),
			"another airlock process logged signatures or rotated the key meanwhile; nothing was written: rotate again")
	}
	if err != nil {
		return err
	}
	out := logRotation{Origin: m.Origin, TreeID: m.TreeID, Size: h.Size, RotatedAt: h.Time.Format(time.RFC3339),
		OldFingerprint: logKeyFingerprint(cur), KeyFingerprint: logKeyFingerprint(h.New), Key: stored, Handover: string(rot.Note)}
	if asJSON {
		return writeJSON(c.App.Writer, out)
	}
	w := c.App.Writer
	fmt.Fprintf(w, "Rotated the key of the site log %s - %d at %s (tree size %d)\n", out.Origin, out.TreeID, out.RotatedAt, out.Size)
	fmt.Fprintf(w, "  retired key: %s\n  log key:     %s\n  fingerprint: %s\n", out.OldFingerprint, out.Key, out.KeyFingerprint)
	fmt.Fprintf(w, "Next:\n  airlock trust export-root --out trusted_root.json   lists both keys: hand it to those who verify with cosign\n")
	fmt.Fprintf(w, "  airlock log status                                  shows the keys and the handover\n")
	return nil
}
