package cache

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	sumdb "golang.org/x/mod/sumdb/tlog"
)

// AuditSeal is what an opened seal says: the audit tree's size and root,
// and when it was signed.
type AuditSeal struct {
	Size int64
	Root [32]byte
	Time time.Time
	// LogSize and LogRoot are the site log's tree when the seal was
	// signed; VerifyAudit does not read them (the caller checks the site
	// log: AuditLogRolledBack, AuditLogRewritten).
	LogSize int64
	LogRoot [32]byte
}

// AuditCheck configures VerifyAudit.
type AuditCheck struct {
	// OpenSeal opens a seal with the keys the auditor trusts (the log key
	// pinned outside the database): it returns an error if the seal does
	// not verify, and then what the seal claims (Size -1 if it does not
	// parse). Required.
	OpenSeal func(note []byte) (AuditSeal, error)
	// Saved is a seal the auditor kept outside the database, already
	// opened; nil for none. The database's newest seal must be an
	// extension of it.
	Saved *AuditSeal
}

// Audit problem codes (AuditProblem.Code): stable, in JSON output.
const (
	AuditSealMissing     = "seal-missing"          // records no seal covers at all, or no seal verifies
	AuditSealInvalid     = "seal-invalid"          // the latest seal does not verify with the pinned key
	AuditRecordRewritten = "record-rewritten"      // sealed records do not hash to the seal
	AuditRecordMissing   = "record-missing"        // a gap in the trail's numbering
	AuditTruncated       = "trail-truncated"       // fewer records than the seal covers
	AuditRolledBack      = "rolled-back"           // the newest seal is not an extension of the saved one
	AuditRepoUnrecorded  = "repository-unrecorded" // a repository no record describes: planted
	AuditRepoChanged     = "repository-changed"    // a repository's state is not the recorded one
	AuditRepoMissing     = "repository-missing"    // a recorded repository is gone
	AuditTargetChanged   = "target-changed"        // a target blob does not hash to its name
	AuditUnsealed        = "unsealed"              // records after the newest seal
	AuditChainBroken     = "chain-broken"          // an unsealed record does not link to the one before
	// AuditLogKeyMismatch is found by the command line, not VerifyAudit:
	// the site log in the database is signed by a key the pinned key did
	// not hand over to (a replaced log).
	AuditLogKeyMismatch = "log-key-mismatch"
	// AuditLogRolledBack and AuditLogRewritten are found by the command
	// line: the site log holds fewer entries than the newest seal saw, or
	// its tree at that size is not the one the seal recorded.
	AuditLogRolledBack = "site-log-rolled-back"
	AuditLogRewritten  = "site-log-rewritten"
)

// AuditProblem is one thing VerifyAudit found wrong.
type AuditProblem struct {
	Code string `json:"code"`
	// Record is the record concerned (its Seq), 0 if none.
	Record uint64 `json:"record,omitempty"`
	// Repository is the repository concerned, "" if none.
	Repository string `json:"repository,omitempty"`
	Message    string `json:"message"`
}

// AuditRepository is a repository's stored state and the record that
// vouches for it.
type AuditRepository struct {
	Name string `json:"name"`
	// State is the hex RepositoryDigest of its stored state.
	State string `json:"stateSha256"`
	// Record is the last record that describes it (0: none), Sealed
	// whether a verified seal covers that record.
	Record uint64 `json:"record,omitempty"`
	Sealed bool   `json:"sealed"`
}

// AuditReport is what VerifyAudit found. The database verifies when
// Problems is empty.
type AuditReport struct {
	// Records is the number of records in the trail.
	Records int64
	// Seal is the newest seal that verifies (nil: none).
	Seal *AuditSeal
	// Saved is the auditor's own seal, as given.
	Saved        *AuditSeal
	Repositories []AuditRepository
	// Unsealed are the records after Seal.
	Unsealed []AuditRecord
	Problems []AuditProblem
}

// BlocksSeal returns the problems a new seal must not vouch for: all but
// the unsealed records and a missing seal (which sealing answers), and,
// for a first seal (no seal verifies yet), repositories no record
// describes (which it records, AuditBaseline).
func (r *AuditReport) BlocksSeal() []AuditProblem {
	var out []AuditProblem
	for _, p := range r.Problems {
		switch {
		case p.Code == AuditUnsealed, p.Code == AuditSealMissing:
		case p.Code == AuditRepoUnrecorded && r.Seal == nil:
		default:
			out = append(out, p)
		}
	}
	return out
}

// VerifyAudit checks the database against its sealed audit trail, in one
// read transaction: that the newest seal verifies (check.OpenSeal); that
// the records it covers are all there and hash to its root (no record
// rewritten, removed or truncated); that, with check.Saved, the newest
// seal extends the saved one; that every repository under BucketTUF is
// described by a record whose state digest is its current state, and
// every repository a sealed record describes is there; that every target
// blob hashes to its name; and which records no seal covers yet. An error
// means the check could not run; what it found is in the report.
func (db *DB) VerifyAudit(check AuditCheck) (*AuditReport, error) {
	if check.OpenSeal == nil {
		return nil, errors.New("VerifyAudit needs OpenSeal")
	}
	rep := &AuditReport{Saved: check.Saved}
	err := db.view(func(tx *bolt.Tx) error { return verifyAuditTx(tx, check, rep) })
	if err != nil {
		return nil, err
	}
	return rep, nil
}

// auditLeaf is one record as read back.
type auditLeaf struct {
	seq    uint64
	data   []byte // the stored bytes (valid in the read transaction)
	hash   sumdb.Hash
	parsed bool
	rec    AuditRecord
	ok     bool // parsed, and numbered as its key
}

func (l *auditLeaf) parse() {
	if !l.parsed {
		l.parsed = true
		l.ok = json.Unmarshal(l.data, &l.rec) == nil && l.rec.Seq == l.seq
	}
}

func verifyAuditTx(tx *bolt.Tx, check AuditCheck, rep *AuditReport) error {
	problem := func(code string, seq uint64, repo, format string, args ...any) {
		rep.Problems = append(rep.Problems, AuditProblem{Code: code, Record: seq, Repository: repo, Message: fmt.Sprintf(format, args...)})
	}
	// The records, in key order: leaf i is the i-th record read. Their
	// bytes stay in the read transaction's map; a record is parsed only
	// when a check needs what it says (see parse, below).
	var leaves []auditLeaf
	if audit := tx.Bucket(bucketAudit); audit != nil {
		var want uint64 = 1
		err := audit.ForEach(func(k, v []byte) error {
			if len(k) != 8 || v == nil {
				return fmt.Errorf("audit trail holds a key %x that is not a record number", k)
			}
			seq := binary.BigEndian.Uint64(k)
			if seq != want {
				if seq > want {
					problem(AuditRecordMissing, want, "", "audit records %s are missing: the trail goes from record %d to %d", seqRange(want, seq-1), want-1, seq)
				}
				want = seq
			}
			leaves = append(leaves, auditLeaf{seq: seq, data: v, hash: sumdb.RecordHash(v)})
			want++
			return nil
		})
		if err != nil {
			return err
		}
	}
	n := int64(len(leaves))
	rep.Records = n
	// The tree over the records as they are now, in memory.
	stored := make([]sumdb.Hash, 0, sumdb.StoredHashCount(n))
	reader := sumdb.HashReaderFunc(func(idx []int64) ([]sumdb.Hash, error) {
		out := make([]sumdb.Hash, len(idx))
		for i, x := range idx {
			if x < 0 || x >= int64(len(stored)) {
				return nil, fmt.Errorf("no audit tree hash %d", x)
			}
			out[i] = stored[x]
		}
		return out, nil
	})
	for i, l := range leaves {
		hs, err := sumdb.StoredHashesForRecordHash(int64(i), l.hash, reader)
		if err != nil {
			return err
		}
		stored = append(stored, hs...)
	}
	rootAt := func(size int64) (sumdb.Hash, error) { return sumdb.TreeHash(size, reader) }

	// The newest seal that verifies.
	al := tx.Bucket(bucketAuditLog)
	var head []byte
	var seals *bolt.Bucket
	if al != nil {
		head = al.Get(auditKeyHead)
		seals = al.Bucket(auditBucketSeals)
	}
	var newest *AuditSeal
	if head != nil {
		if s, err := check.OpenSeal(head); err != nil {
			problem(AuditSealInvalid, 0, "", "the latest seal%s does not verify: %v (forged, or signed by a key the pinned key did not hand over to)", sealDesc(s), err)
		} else {
			newest = &s
		}
	}
	if seals != nil {
		c := seals.Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			if newest != nil && int64(binary.BigEndian.Uint64(k)) <= newest.Size {
				break
			}
			if s, err := check.OpenSeal(v); err == nil && s.Size == int64(binary.BigEndian.Uint64(k)) {
				newest = &s
				break
			}
		}
	}
	rep.Seal = newest
	var sealed int64
	switch {
	case newest == nil && n == 0:
		problem(AuditSealMissing, 0, "", "the database holds no audit seal and no records")
	case newest == nil:
		problem(AuditSealMissing, 0, "", "no seal of the audit trail verifies: none of its %d records is sealed", n)
	case newest.Size > n:
		sealed = n
		problem(AuditTruncated, uint64(n+1), "", "the audit trail was truncated: the seal of %s covers %d records, the database holds %d (records %s are gone)",
			newest.Time.Format(time.RFC3339), newest.Size, n, seqRange(uint64(n+1), uint64(newest.Size)))
	default:
		sealed = newest.Size
		root, err := rootAt(newest.Size)
		if err != nil {
			return err
		}
		if root != newest.Root {
			locateRewrite(al, seals, leaves, newest.Size, check, rootAt, problem)
		}
	}
	if s := check.Saved; s != nil {
		switch {
		case newest == nil || s.Size > newest.Size:
			have := "no seal that verifies"
			if newest != nil {
				have = fmt.Sprintf("a newest seal of %d records", newest.Size)
			}
			problem(AuditRolledBack, 0, "", "the saved seal of %s covers %d records; the database holds %s: the database was rolled back or its seals removed",
				s.Time.Format(time.RFC3339), s.Size, have)
		case s.Size > n:
			problem(AuditTruncated, uint64(n+1), "", "the audit trail was truncated: the saved seal covers %d records, the database holds %d", s.Size, n)
		default:
			root, err := rootAt(s.Size)
			if err != nil {
				return err
			}
			if root != s.Root {
				problem(AuditRolledBack, 0, "", "the records the saved seal of %s covers (1 to %d) do not hash to its root: the database's history is not the one the saved seal vouched for (rewritten, or a fork)",
					s.Time.Format(time.RFC3339), s.Size)
			}
		}
	}

	// Unsealed records, and their links (a seal covers the sealed ones').
	var chain []uint64 // unsealed records that do not link to the one before
	for i := sealed; i < n; i++ {
		l := &leaves[i]
		l.parse()
		rep.Unsealed = append(rep.Unsealed, l.rec)
		want := ""
		if i > 0 {
			sum := sha256.Sum256(leaves[i-1].data)
			want = hex.EncodeToString(sum[:])
		}
		if !l.ok || l.rec.Prev != want {
			chain = append(chain, l.seq)
		}
	}
	if len(rep.Unsealed) > 0 && newest != nil {
		what := fmt.Sprintf("%d audit records after the newest seal (%s) are", len(rep.Unsealed), seqRange(leaves[sealed].seq, leaves[n-1].seq))
		if len(rep.Unsealed) == 1 {
			what = fmt.Sprintf("1 audit record after the newest seal (%d) is", leaves[sealed].seq)
		}
		problem(AuditUnsealed, leaves[sealed].seq, "", "%s not sealed: %s", what, AuditKinds(rep.Unsealed))
	}
	for _, seq := range chain {
		if int64(seq) > sealed && newest != nil {
			problem(AuditChainBroken, seq, "", "unsealed audit record %d does not link to the record before it: one of them was changed", seq)
		}
	}

	// Repositories: each described by its last record with a state.
	type desc struct {
		seq    uint64
		kind   string
		state  string
		sealed bool
	}
	last := map[string]desc{}
	stateField := []byte(`"` + AuditFieldState + `"`)
	for i := range leaves {
		l := &leaves[i]
		if !bytes.Contains(l.data, stateField) {
			continue // not a record of a repository's state
		}
		l.parse()
		name, state := l.rec.Fields[AuditFieldRepository], l.rec.Fields[AuditFieldState]
		if !l.ok || name == "" || state == "" {
			continue
		}
		last[name] = desc{seq: l.seq, kind: l.rec.Kind, state: state, sealed: int64(i) < sealed}
	}
	present := map[string]bool{}
	if top := tx.Bucket(BucketTUF); top != nil {
		err := top.ForEachBucket(func(name []byte) error {
			sum := RepositoryDigest(top.Bucket(name))
			r := AuditRepository{Name: string(name), State: hex.EncodeToString(sum[:])}
			present[r.Name] = true
			d, ok := last[r.Name]
			switch {
			case !ok:
				problem(AuditRepoUnrecorded, 0, r.Name, "repository %q has no audit record: it was planted in the file (or pinned by an airlock that did not record repository states, before the first seal)", r.Name)
			case d.state != r.State:
				r.Record, r.Sealed = d.seq, d.sealed
				how := "sealed"
				if !d.sealed {
					how = "unsealed"
				}
				problem(AuditRepoChanged, d.seq, r.Name, "repository %q was changed outside airlock: its stored state (sha256 %s) is not the one %s record %d (%s) describes (sha256 %s)",
					r.Name, shortHash(r.State), how, d.seq, d.kind, shortHash(d.state))
			default:
				r.Record, r.Sealed = d.seq, d.sealed
			}
			rep.Repositories = append(rep.Repositories, r)
			return nil
		})
		if err != nil {
			return err
		}
	}
	names := make([]string, 0, len(last))
	for name := range last {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if d := last[name]; d.sealed && !present[name] {
			problem(AuditRepoMissing, d.seq, name, "repository %q, described by sealed record %d (%s), is missing from the database", name, d.seq, d.kind)
		}
	}
	if tb := tx.Bucket(BucketTargets); tb != nil {
		err := tb.ForEach(func(k, v []byte) error {
			if v == nil {
				return nil
			}
			sum := sha256.Sum256(v)
			if hex.EncodeToString(sum[:]) != string(k) {
				problem(AuditTargetChanged, 0, "", "target blob %q does not hash to its name (sha256 %x)", k, sum)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// maxNamed bounds the rewritten records named one by one (a removed
// record shifts every later one).
const maxNamed = 20

// locateRewrite names the records that changed among the first size
// (whose tree does not hash to the newest seal's root): by the leaf hashes
// stored when each record was appended, else by the stored seals of
// smaller trees, which bound the change between two of them.
func locateRewrite(al, seals *bolt.Bucket, leaves []auditLeaf, size int64, check AuditCheck, rootAt func(int64) (sumdb.Hash, error),
	problem func(code string, seq uint64, repo, format string, args ...any)) {
	var hb *bolt.Bucket
	if al != nil {
		hb = al.Bucket(auditBucketHashes)
	}
	found := 0
	if hb != nil {
		for i := int64(0); i < size; i++ {
			v := hb.Get(key64(sumdb.StoredHashIndex(0, i)))
			if v != nil && !bytes.Equal(v, leaves[i].hash[:]) && found == maxNamed {
				found++
				problem(AuditRecordRewritten, leaves[i].seq, "", "more sealed audit records from %d on no longer hash as when they were appended (only the first %d are named)", leaves[i].seq, maxNamed)
				break
			}
			if v != nil && !bytes.Equal(v, leaves[i].hash[:]) {
				l := &leaves[i]
				l.parse()
				what := "its stored bytes"
				if l.ok {
					what = fmt.Sprintf("a %s record of %s", l.rec.Kind, l.rec.Time.Format(time.RFC3339))
				}
				problem(AuditRecordRewritten, l.seq, "", "audit record %d was rewritten after it was sealed (now %s): the records do not hash to the seal's root", l.seq, what)
				found++
			}
		}
	}
	if found > 0 {
		return
	}
	// The stored hashes were rewritten with it: bound it by seals. The
	// smaller trees whose roots still match are below the change.
	lo, hi := int64(0), size
	if seals != nil {
		var sizes []int64
		seals.ForEach(func(k, _ []byte) error {
			if s := int64(binary.BigEndian.Uint64(k)); s > 0 && s < size {
				sizes = append(sizes, s)
			}
			return nil
		})
		good := func(s int64) bool {
			st, err := check.OpenSeal(seals.Get(key64(s)))
			if err != nil || st.Size != s {
				return false
			}
			root, err := rootAt(s)
			return err == nil && root == st.Root
		}
		// Matching seals come first, then mismatching ones.
		i := sort.Search(len(sizes), func(i int) bool { return !good(sizes[i]) })
		if i > 0 {
			lo = sizes[i-1]
		}
		if i < len(sizes) {
			hi = sizes[i]
		}
	}
	var first uint64 = 1
	if lo < int64(len(leaves)) {
		first = leaves[lo].seq
	}
	which := "a record among " + seqRange(first, leaves[hi-1].seq)
	if first == leaves[hi-1].seq {
		which = fmt.Sprintf("record %d", first)
	}
	problem(AuditRecordRewritten, first, "", "the sealed audit records do not hash to the seal's root: %s was rewritten (with the stored tree hashes; the seals of smaller trees bound it)", which)
}

func sealDesc(s AuditSeal) string {
	if s.Size < 0 {
		return ""
	}
	return fmt.Sprintf(" (of %d records)", s.Size)
}

func seqRange(a, b uint64) string {
	if a == b {
		return fmt.Sprint(a)
	}
	return fmt.Sprintf("%d to %d", a, b)
}

func shortHash(h string) string {
	if len(h) > 16 {
		return h[:16] + "…"
	}
	return h
}

// AuditKinds says how many records of each kind recs holds: "2 sign, 1
// trust-update".
func AuditKinds(recs []AuditRecord) string {
	count := map[string]int{}
	var kinds []string
	for _, r := range recs {
		if count[r.Kind] == 0 {
			kinds = append(kinds, r.Kind)
		}
		count[r.Kind]++
	}
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%d %s", count[k], k)
	}
	return strings.Join(parts, ", ")
}

// AuditBaseline returns, for a trail that was never sealed, an
// AuditBaselineKind record for each repository that no record describes
// (one pinned before airlock recorded repository states), carrying its
// current state, for the first seal to vouch for. Once a seal exists it
// returns none: a repository no record describes is then a planted one,
// which a seal must not vouch for.
func (db *DB) AuditBaseline(now time.Time) ([]AuditRecord, error) {
	var out []AuditRecord
	err := db.view(func(tx *bolt.Tx) error {
		if al := tx.Bucket(bucketAuditLog); al != nil && al.Get(auditKeyHead) != nil {
			return nil
		}
		described := map[string]bool{}
		if audit := tx.Bucket(bucketAudit); audit != nil {
			err := audit.ForEach(func(_, v []byte) error {
				var r AuditRecord
				if json.Unmarshal(v, &r) == nil && r.Fields[AuditFieldState] != "" {
					described[r.Fields[AuditFieldRepository]] = true
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		top := tx.Bucket(BucketTUF)
		if top == nil {
			return nil
		}
		return top.ForEachBucket(func(name []byte) error {
			if described[string(name)] {
				return nil
			}
			sum := RepositoryDigest(top.Bucket(name))
			out = append(out, AuditRecord{Time: now, Kind: AuditBaselineKind, Fields: map[string]string{
				AuditFieldRepository: string(name), AuditFieldState: hex.EncodeToString(sum[:]),
			}})
			return nil
		})
	})
	return out, err
}
