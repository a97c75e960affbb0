package cache

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// AuditRecord is one entry of the hash-chained audit trail. Prev is the
// hex SHA-256 of the previous record's stored bytes ("" for the first), so
// removing or editing any record breaks every later link.
type AuditRecord struct {
	Seq    uint64            `json:"seq"`
	Time   time.Time         `json:"time"`
	Kind   string            `json:"kind"` // e.g. "trust-import", "sign", "verify"
	Fields map[string]string `json:"fields,omitempty"`
	Prev   string            `json:"prev"`
}

// AppendAudit appends records to the audit trail in one transaction.
func (db *DB) AppendAudit(recs ...AuditRecord) error {
	return db.update(func(tx *bolt.Tx) error {
		for _, r := range recs {
			if err := appendAuditTx(tx, r); err != nil {
				return err
			}
		}
		return nil
	})
}

// appendAuditTx appends r inside tx, so that it commits (or not) with the
// change it records. Seq and Prev are filled in.
func appendAuditTx(tx *bolt.Tx, r AuditRecord) error {
	b := tx.Bucket(bucketAudit)
	if b == nil {
		return fmt.Errorf("audit bucket missing")
	}
	k, v := b.Cursor().Last()
	if k != nil {
		r.Seq = binary.BigEndian.Uint64(k) + 1
		sum := sha256.Sum256(v)
		r.Prev = hex.EncodeToString(sum[:])
	} else {
		r.Seq, r.Prev = 1, ""
	}
	r.Time = r.Time.UTC()
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return b.Put(binary.BigEndian.AppendUint64(nil, r.Seq), data)
}

// Audit returns every audit record in order after checking the hash chain.
// A broken link is an error naming the first record that does not follow.
func (db *DB) Audit() ([]AuditRecord, error) {
	var out []AuditRecord
	err := db.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAudit)
		if b == nil {
			return nil
		}
		prev := ""
		var want uint64 = 1
		return b.ForEach(func(k, v []byte) error {
			var r AuditRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("audit record %x: %w", k, err)
			}
			if r.Seq != want || binary.BigEndian.Uint64(k) != want || r.Prev != prev {
				return fmt.Errorf("audit trail broken at record %d", want)
			}
			sum := sha256.Sum256(v)
			prev = hex.EncodeToString(sum[:])
			want++
			out = append(out, r)
			return nil
		})
	})
	return out, err
}
