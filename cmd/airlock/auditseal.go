package main

import (
	"crypto"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/airlock-project/airlock/cache"
	"github.com/airlock-project/airlock/tlog"
)

// Seals of the audit trail: the audit records are the leaves of a Merkle
// tree beside the site log (cache), and a seal is its checkpoint signed
// by the site log key (tlog.SignSeal). A seal is made wherever the log
// key is in hand: log init, every site-log signing batch (in the batch's
// transaction), and audit seal.

// errAuditNotExtended means the trail no longer extends its latest seal:
// a new seal would vouch for a rewritten history.
var errAuditNotExtended = errors.New("the audit trail does not extend its latest seal")

// errAuditTampered means audit verify found the database changed.
var errAuditTampered = errors.New("the database does not verify against its sealed audit trail")

// auditSealer signs seals with the site log key.
type auditSealer struct {
	meta   tlog.Meta // the log's origin and tree id, and its keys
	key    *tlog.LogKey
	signer crypto.Signer
}

// logKeys parses every key of the log (retired ones too).
func logKeys(m tlog.Meta) []*tlog.LogKey {
	var keys []*tlog.LogKey
	for _, p := range m.Keys() {
		if k, err := tlog.ParseLogKey(p.PublicKey); err == nil {
			keys = append(keys, k)
		}
	}
	return keys
}

// errUnsealedTail means records written without the log key (trust init
// or update, signing without the site log) follow the latest seal: a
// signing batch does not seal them unseen; audit seal does, once the
// custodian has looked.
var errUnsealedTail = errors.New("the trail holds records no seal covers")

// plan plans appending recs to db's trail with a seal signed at now, when
// the site log is logSize entries long with root logRoot. It
// refuses a trail whose records no longer hash to its latest seal, and,
// unless tail, one with records after the latest seal (or, never sealed,
// any record): a seal made on the side of another command vouches only
// for what was sealed already and what that command recorded.
func (s auditSealer) plan(db *cache.DB, now time.Time, tail bool, logSize int64, logRoot tlog.Hash, recs ...cache.AuditRecord) (*cache.AuditPlan, error) {
	keys := append(logKeys(s.meta), s.key)
	check := func(head []byte, base int64, rootAt func(int64) ([32]byte, error)) error {
		if head == nil {
			if !tail && base > 0 {
				return fmt.Errorf("%w: the trail's %d records were never sealed", errUnsealedTail, base)
			}
			return nil
		}
		seal, _, err := tlog.OpenSeal(head, keys)
		if err != nil {
			return fmt.Errorf("%w: %v", errAuditNotExtended, err)
		}
		root, err := rootAt(seal.Size)
		if err != nil {
			return fmt.Errorf("%w: %v", errAuditNotExtended, err)
		}
		if root != seal.Hash {
			return fmt.Errorf("%w: its first %d records no longer hash to the seal's root", errAuditNotExtended, seal.Size)
		}
		if !tail && base > seal.Size {
			return fmt.Errorf("%w: %s, written after the latest seal (of %d records)", errUnsealedTail, seqSpan(seal.Size+1, base), seal.Size)
		}
		return nil
	}
	p, err := db.PlanAudit(check, recs...)
	if err != nil {
		return nil, err
	}
	if p.Seal, err = tlog.SignSeal(s.meta, p.Size, p.Root, now, logSize, logRoot, s.key, s.signer); err != nil {
		return nil, err
	}
	return p, nil
}

func seqSpan(a, b int64) string {
	if a == b {
		return fmt.Sprintf("record %d", a)
	}
	return fmt.Sprintf("records %d to %d", a, b)
}

// planFile is plan on the database at path, opened read-only for it.
func (s auditSealer) planFile(path string, now time.Time, tail bool, logSize int64, logRoot tlog.Hash, recs ...cache.AuditRecord) (*cache.AuditPlan, error) {
	db, err := cache.Open(path, cache.Options{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return s.plan(db, now, tail, logSize, logRoot, recs...)
}

// warnUnsealed says that records were written without a seal.
func warnUnsealed(w io.Writer, why error) {
	if errors.Is(why, errUnsealedTail) {
		fmt.Fprintf(w, "airlock: warning: the audit records were written unsealed: %v (by commands that do not hold the log key); review them ('airlock audit verify --log-key PUB' lists them) and seal them with 'airlock audit seal --key LOGKEY'\n", why)
		return
	}
	fmt.Fprintf(w, "airlock: warning: the audit records were written unsealed: %v; 'airlock audit verify' reports them until 'airlock audit seal' seals them\n", why)
}

// maxPublicKeyFile bounds a PEM public key read for --log-key.
const maxPublicKeyFile = 64 << 10

// readLogPublicKey reads a PEM public key file (PKIX) as a log key.
func readLogPublicKey(path string) (*tlog.LogKey, error) {
	data, err := readBounded(path, maxPublicKeyFile)
	if err != nil {
		return nil, fmt.Errorf("log key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("log key %q is not a PEM public key (a \"PUBLIC KEY\" block)", path)
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("log key %q: %w", path, err)
	}
	k, err := tlog.NewLogKey(pub)
	if err != nil {
		return nil, fmt.Errorf("log key %q: %w", path, err)
	}
	return k, nil
}

// sealJSON is a seal in audit JSON output.
type sealJSON struct {
	Size     int64  `json:"size"`
	RootHash string `json:"rootHash"` // hex
	Time     string `json:"time"`
}

func toSealJSON(s *cache.AuditSeal) *sealJSON {
	if s == nil {
		return nil
	}
	return &sealJSON{Size: s.Size, RootHash: hex.EncodeToString(s.Root[:]), Time: s.Time.UTC().Format(time.RFC3339Nano)}
}
