package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	bolt "go.etcd.io/bbolt"
	sumdb "golang.org/x/mod/sumdb/tlog"

	"github.com/airlock-project/airlock/bundle"
	"github.com/airlock-project/airlock/cache"
	"github.com/airlock-project/airlock/tlog"
)

func init() {
	scriptCmds["audit-tamper"] = cmdAuditTamper
}

// audit-tamper edits $AIRLOCK_DB with bbolt, as someone who can write the
// file would:
//
//	audit-tamper rewrite SEQ        edit record SEQ's fields in place
//	audit-tamper rewrite-all SEQ    edit record SEQ and redo every later link and the stored tree hashes
//	audit-tamper truncate N         delete the records after N
//	audit-tamper plant FROM TO      copy repository FROM's sub-bucket as TO
//	audit-tamper anchor REPO        replace REPO's anchor, with its recorded sha256
//	audit-tamper forge-seal KEY     sign a seal of the trail as it is with the key file KEY
//	audit-tamper legacy x           make the trail one from before seals (no tree, no seals, no states)
//	audit-tamper sitelog-from FILE  replace the site log with the one of an older copy FILE of the database
func cmdAuditTamper(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: audit-tamper rewrite|rewrite-all|truncate|plant|anchor|forge-seal ARGS")
	}
	path := ts.Getenv("AIRLOCK_DB")
	if args[0] == "forge-seal" {
		data, err := os.ReadFile(ts.MkAbs(args[1]))
		ts.Check(err)
		signer, err := bundle.ParsePrivateKey(data, nil)
		ts.Check(err)
		lk, err := tlog.NewLogKey(signer.Public())
		ts.Check(err)
		l, err := tlog.Open(context.Background(), &cache.SiteLogFile{Path: path})
		ts.Check(err)
		head, err := l.Checkpoint(context.Background())
		ts.Check(err)
		db, err := cache.Open(path, cache.Options{})
		ts.Check(err)
		defer db.Close()
		p, err := db.PlanAudit(nil)
		ts.Check(err)
		p.Seal, err = tlog.SignSeal(l.Meta(), p.Size, p.Root, time.Now(), head.Size, head.Hash, lk, signer)
		ts.Check(err)
		ts.Check(db.CommitAudit(p))
		return
	}
	if args[0] == "sitelog-from" {
		// The site log bucket as another (older) copy of the file has it.
		old, err := bolt.Open(ts.MkAbs(args[1]), 0o600, &bolt.Options{Timeout: time.Second, ReadOnly: true})
		ts.Check(err)
		defer old.Close()
		db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
		ts.Check(err)
		defer db.Close()
		ts.Check(old.View(func(otx *bolt.Tx) error {
			return db.Update(func(tx *bolt.Tx) error {
				if err := tx.DeleteBucket(cache.BucketLog); err != nil {
					return err
				}
				dst, err := tx.CreateBucket(cache.BucketLog)
				if err != nil {
					return err
				}
				return copyBucket(dst, otx.Bucket(cache.BucketLog))
			})
		}))
		return
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	ts.Check(err)
	defer db.Close()
	ts.Check(db.Update(func(tx *bolt.Tx) error {
		audit := tx.Bucket([]byte("audit"))
		edit := func(seq uint64) error {
			k := binary.BigEndian.AppendUint64(nil, seq)
			var r cache.AuditRecord
			if err := json.Unmarshal(audit.Get(k), &r); err != nil {
				return fmt.Errorf("record %d: %v", seq, err)
			}
			r.Fields["artifact"] = "/not/what/was/signed"
			data, err := json.Marshal(r)
			if err != nil {
				return err
			}
			return audit.Put(k, data)
		}
		switch args[0] {
		case "rewrite":
			seq, err := strconv.ParseUint(args[1], 10, 64)
			if err != nil {
				return err
			}
			return edit(seq)
		case "rewrite-all":
			seq, err := strconv.ParseUint(args[1], 10, 64)
			if err != nil {
				return err
			}
			if err := edit(seq); err != nil {
				return err
			}
			// Relink the records after it and rebuild the stored tree,
			// so that only a seal tells.
			prev := audit.Get(binary.BigEndian.AppendUint64(nil, seq))
			for s := seq + 1; ; s++ {
				k := binary.BigEndian.AppendUint64(nil, s)
				v := audit.Get(k)
				if v == nil {
					break
				}
				var r cache.AuditRecord
				if err := json.Unmarshal(v, &r); err != nil {
					return err
				}
				sum := sha256.Sum256(prev)
				r.Prev = hex.EncodeToString(sum[:])
				data, err := json.Marshal(r)
				if err != nil {
					return err
				}
				if err := audit.Put(k, data); err != nil {
					return err
				}
				prev = data
			}
			al := tx.Bucket([]byte("auditlog"))
			if err := al.DeleteBucket([]byte("hashes")); err != nil {
				return err
			}
			hb, err := al.CreateBucket([]byte("hashes"))
			if err != nil {
				return err
			}
			var stored []sumdb.Hash
			r := sumdb.HashReaderFunc(func(idx []int64) ([]sumdb.Hash, error) {
				out := make([]sumdb.Hash, len(idx))
				for i, x := range idx {
					out[i] = stored[x]
				}
				return out, nil
			})
			n := int64(0)
			err = audit.ForEach(func(_, v []byte) error {
				hs, err := sumdb.StoredHashesForRecordHash(n, sumdb.RecordHash(v), r)
				stored = append(stored, hs...)
				n++
				return err
			})
			if err != nil {
				return err
			}
			for i, h := range stored {
				if err := hb.Put(binary.BigEndian.AppendUint64(nil, uint64(i)), h[:]); err != nil {
					return err
				}
			}
			return nil
		case "legacy":
			// As an airlock from before seals left it: no audit tree,
			// no seals, trust records without the repository's state.
			if err := tx.DeleteBucket([]byte("auditlog")); err != nil {
				return err
			}
			var prev []byte
			return audit.ForEach(func(k, v []byte) error {
				var r cache.AuditRecord
				if err := json.Unmarshal(v, &r); err != nil {
					return err
				}
				delete(r.Fields, cache.AuditFieldState)
				r.Prev = ""
				if prev != nil {
					sum := sha256.Sum256(prev)
					r.Prev = hex.EncodeToString(sum[:])
				}
				data, err := json.Marshal(r)
				if err != nil {
					return err
				}
				prev = data
				return audit.Put(k, data)
			})
		case "truncate":
			n, err := strconv.ParseUint(args[1], 10, 64)
			if err != nil {
				return err
			}
			for {
				k, _ := audit.Cursor().Last()
				if k == nil || binary.BigEndian.Uint64(k) <= n {
					return nil
				}
				if err := audit.Delete(k); err != nil {
					return err
				}
			}
		case "plant":
			if len(args) != 3 {
				return fmt.Errorf("usage: audit-tamper plant FROM TO")
			}
			top := tx.Bucket(cache.BucketTUF)
			from := top.Bucket([]byte(args[1]))
			if from == nil {
				return fmt.Errorf("no repository %q", args[1])
			}
			to, err := top.CreateBucket([]byte(args[2]))
			if err != nil {
				return err
			}
			return from.ForEach(func(k, v []byte) error {
				if k := string(k); k == "state" {
					v = bytes.Replace(v, []byte(`"name":"`+args[1]+`"`), []byte(`"name":"`+args[2]+`"`), 1)
				}
				return to.Put(k, v)
			})
		case "anchor":
			b := tx.Bucket(cache.BucketTUF).Bucket([]byte(args[1]))
			if b == nil {
				return fmt.Errorf("no repository %q", args[1])
			}
			// Another encoding of the anchor, its recorded sha256 redone:
			// the records agree with each other, as an attacker leaves them.
			old := b.Get([]byte("anchor"))
			anchor := append(bytes.Clone(old), '\n')
			was, now := sha256.Sum256(old), sha256.Sum256(anchor)
			st := bytes.Replace(b.Get([]byte("state")), []byte(hex.EncodeToString(was[:])), []byte(hex.EncodeToString(now[:])), 1)
			if err := b.Put([]byte("anchor"), anchor); err != nil {
				return err
			}
			return b.Put([]byte("state"), st)
		}
		return fmt.Errorf("unknown audit-tamper %q", args[0])
	}))
}

func copyBucket(dst, src *bolt.Bucket) error {
	return src.ForEach(func(k, v []byte) error {
		if v != nil {
			return dst.Put(k, v)
		}
		sub, err := dst.CreateBucket(k)
		if err != nil {
			return err
		}
		return copyBucket(sub, src.Bucket(k))
	})
}
