package trust

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/trustedmetadata"
)

// UpdateOptions says how to run an Update. The zero value is not valid:
// Now must be set.
type UpdateOptions struct {
	// Now is the machine clock.
	Now time.Time
	// At, if not zero, is the reference time to verify the metadata at
	// instead of Now (--at). It may not be after Now, nor before the
	// reference time of the repository's previous update.
	At time.Time
	// Source names the medium in the audit trail; empty means m.String().
	Source string
}

// UpdateResult says what an Update committed.
type UpdateResult struct {
	Repository    string    `json:"repository"`
	Source        string    `json:"source"`
	ReferenceTime time.Time `json:"referenceTime"`
	ExplicitTime  bool      `json:"explicitTime"`
	NewRoots      []int64   `json:"newRoots"` // [] when the root did not rotate
	Root          int64     `json:"rootVersion"`
	Timestamp     int64     `json:"timestampVersion"`
	Snapshot      int64     `json:"snapshotVersion"`
	Targets       int64     `json:"targetsVersion"`
	TargetFiles   []string  `json:"targetFiles"`
}

func reject(format string, args ...any) error {
	return rejectAs(nil, format, args...)
}

// rejection is an error wrapping ErrRejected and, if not nil, the sentinel
// kind that says which check refused the metadata (ErrExpired, ...).
type rejection struct {
	kind error
	msg  string
}

func (e *rejection) Error() string { return ErrRejected.Error() + ": " + e.msg }
func (e *rejection) Unwrap() []error {
	if e.kind == nil {
		return []error{ErrRejected}
	}
	return []error{ErrRejected, e.kind}
}

// rejectAs is reject wrapping kind as well.
func rejectAs(kind error, format string, args ...any) error {
	return &rejection{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// rejectTUF words a go-tuf error for the user, naming the attack it stops,
// and wraps the sentinel for it. go-tuf's errors are typed throughout, so
// no message text is read.
func rejectTUF(role string, err error) error {
	var (
		ver *metadata.ErrBadVersionNumber
		exp *metadata.ErrExpiredMetadata
		hsh *metadata.ErrLengthOrHashMismatch
		uns *metadata.ErrUnsignedMetadata
	)
	switch {
	case errors.As(err, &exp):
		return rejectAs(ErrExpired, "%s: %v (freeze): %v", role, ErrExpired, err)
	case errors.As(err, &hsh):
		return rejectAs(ErrMismatch, "%s: length or hash does not match what the signed metadata says (mix-and-match or tampering): %v", role, err)
	case errors.As(err, &ver):
		return rejectAs(ErrRollback, "%s: version does not follow (rollback or mix-and-match): %v", role, err)
	case errors.As(err, &uns):
		return rejectAs(ErrNotSigned, "%s: %v: %v", role, ErrNotSigned, err)
	}
	return reject("%s: %v", role, err)
}

// fetch reads name from m, treating size overruns as rejections.
func fetch(m Medium, name string, limit int64) ([]byte, error) {
	data, err := m.Read(name, limit)
	if errors.Is(err, ErrTooLarge) {
		return nil, fmt.Errorf("%w: oversized: %w", ErrRejected, err)
	}
	return data, err
}

// Update imports new TUF metadata for repository name from m: it walks root
// rotations N+1, N+2, ... from the stored root, then timestamp, snapshot,
// targets and the target files they list, verifying everything at the
// reference time, and commits all of it, with an audit record, in one
// transaction. On any error nothing is committed.
func Update(s Store, name string, m Medium, opts UpdateOptions) (*UpdateResult, error) {
	now := opts.Now.UTC()
	if now.IsZero() {
		return nil, errors.New("trust.Update: no clock")
	}
	ref, explicit := now, false
	if !opts.At.IsZero() {
		ref, explicit = opts.At.UTC(), true
		if ref.After(now) {
			return nil, fmt.Errorf("--at %s is in the future of the machine clock (%s)", ref.Format(time.RFC3339), now.Format(time.RFC3339))
		}
	}
	source := opts.Source
	if source == "" {
		source = m.String()
	}

	// The stored state, re-verified: an update never builds on a database
	// that does not verify, in this repository or any other.
	repos, err := Load(s, now)
	if err != nil {
		return nil, err
	}
	var old *verified
	for _, r := range repos {
		if r.Name == name {
			old = r.v
		}
	}
	if old == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownRepository, name)
	}
	if explicit && ref.Before(old.st.RefTime) {
		return nil, fmt.Errorf("--at %s is earlier than the previous update's reference time %s", ref.Format(time.RFC3339), old.st.RefTime.Format(time.RFC3339))
	}

	// Start again from the anchor and the stored chain, at the new
	// reference time.
	tm, err := trustedmetadata.New(old.raw[keyAnchor])
	if err != nil {
		return nil, fmt.Errorf("%w: repository %q: anchor: %v", ErrTampered, name, err)
	}
	set := map[string][]byte{}
	for _, v := range old.chain[1:] {
		if _, err := tm.UpdateRoot(old.raw[rootKey(v)]); err != nil {
			return nil, fmt.Errorf("%w: repository %q: root %d: %v", ErrTampered, name, v, err)
		}
	}
	storedRoot := tm.Root
	res := &UpdateResult{Repository: name, Source: source, ReferenceTime: ref, ExplicitTime: explicit, NewRoots: []int64{}}

	// 1. Root rotations, each signed by a threshold of the previous root's
	// keys and of its own.
	for i := 0; ; i++ {
		next := tm.Root.Signed.Version + 1
		data, err := fetch(m, fmt.Sprintf("%d.root.json", next), MaxRootSize)
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err != nil {
			return nil, err
		}
		if i >= MaxRootRotations {
			return nil, reject("more than %d root rotations on the medium", MaxRootRotations)
		}
		if _, err := tm.UpdateRoot(data); err != nil {
			return nil, rejectTUF(fmt.Sprintf("root version %d", next), err)
		}
		set[rootKey(next)] = data
		res.NewRoots = append(res.NewRoots, next)
	}
	tm.RefTime = ref
	if tm.Root.Signed.IsExpired(ref) {
		return nil, rejectAs(ErrExpired, "root version %d expired at %s, before the reference time %s (freeze)",
			tm.Root.Signed.Version, tm.Root.Signed.Expires.UTC().Format(time.RFC3339), ref.Format(time.RFC3339))
	}
	newRoot := tm.Root

	// 2. Timestamp. The stored one guards against rollback unless the
	// timestamp or snapshot keys changed since (fast-forward attack
	// recovery, TUF 5.3.11).
	tsKeysSame := sameRole(storedRoot, newRoot, metadata.TIMESTAMP)
	snapKeysSame := tsKeysSame && sameRole(storedRoot, newRoot, metadata.SNAPSHOT)
	var oldTs *metadata.Metadata[metadata.TimestampType]
	if b := old.raw[keyTimestamp]; b != nil && tsKeysSame {
		if _, err := tm.UpdateTimestamp(b); err != nil && !isExpired(err) {
			return nil, fmt.Errorf("%w: repository %q: stored timestamp: %v", ErrTampered, name, err)
		}
		oldTs = tm.Timestamp
	}
	tsData, err := fetch(m, "timestamp.json", MaxTimestampSize)
	if err != nil {
		return nil, fmt.Errorf("reading timestamp.json from %s: %w", m, err)
	}
	if _, err := tm.UpdateTimestamp(tsData); err != nil {
		var eq *metadata.ErrEqualVersionNumber
		if !errors.As(err, &eq) {
			if oldTs != nil && errors.As(err, new(*metadata.ErrBadVersionNumber)) {
				return nil, rejectAs(ErrRollback, "timestamp: rollback: the medium has an older timestamp than the database (%v)", err)
			}
			if isExpired(err) {
				if ts, perr := metadata.Timestamp().FromBytes(tsData); perr == nil {
					return nil, fmt.Errorf("%w (it expired %s)", rejectTUF("timestamp", err), ts.Signed.Expires.UTC().Format(time.RFC3339))
				}
			}
			return nil, rejectTUF("timestamp", err)
		}
		// Same version as stored: nothing newer; the stored one stays, and
		// must itself be valid at the reference time.
		tsData = old.raw[keyTimestamp]
		if tm.Timestamp.Signed.IsExpired(ref) {
			return nil, rejectTUF("timestamp", &metadata.ErrExpiredMetadata{Msg: "timestamp.json is expired"})
		}
	}
	set[keyTimestamp] = tsData

	// 3. Snapshot, from the version the timestamp names.
	snapMeta := tm.Timestamp.Signed.Meta["snapshot.json"]
	if snapMeta == nil {
		return nil, reject("timestamp lists no snapshot.json")
	}
	if b := old.raw[keySnapshot]; b != nil && snapKeysSame {
		if _, err := tm.UpdateSnapshot(b, true); err != nil && !isExpired(err) && !errors.As(err, new(*metadata.ErrBadVersionNumber)) {
			return nil, fmt.Errorf("%w: repository %q: stored snapshot: %v", ErrTampered, name, err)
		}
	}
	snapName := "snapshot.json"
	if newRoot.Signed.ConsistentSnapshot {
		snapName = fmt.Sprintf("%d.snapshot.json", snapMeta.Version)
	}
	snapData, err := fetch(m, snapName, limitFor(snapMeta.Length, MaxSnapshotSize))
	if err != nil {
		return nil, fmt.Errorf("reading %s from %s: %w", snapName, m, err)
	}
	if _, err := tm.UpdateSnapshot(snapData, false); err != nil {
		return nil, rejectTUF("snapshot", err)
	}
	set[keySnapshot] = snapData

	// 4. Top-level targets.
	tMeta := tm.Snapshot.Signed.Meta["targets.json"]
	if tMeta == nil {
		return nil, reject("snapshot lists no targets.json")
	}
	if b := old.raw[keyTargets]; b != nil && snapKeysSame {
		if prev, err := metadata.Targets().FromBytes(b); err == nil && tMeta.Version < prev.Signed.Version {
			return nil, rejectAs(ErrRollback, "targets: rollback: snapshot names targets version %d, the database has %d", tMeta.Version, prev.Signed.Version)
		}
	}
	tName := "targets.json"
	if newRoot.Signed.ConsistentSnapshot {
		tName = fmt.Sprintf("%d.targets.json", tMeta.Version)
	}
	tData, err := fetch(m, tName, limitFor(tMeta.Length, MaxTargetsSize))
	if err != nil {
		return nil, fmt.Errorf("reading %s from %s: %w", tName, m, err)
	}
	targets, err := tm.UpdateTargets(tData)
	if err != nil {
		return nil, rejectTUF("targets", err)
	}
	set[keyTargets] = tData

	// 5. Target files, checked against the signed length and hashes and
	// stored by sha256. trusted_root.json is required; others are taken
	// when the medium has them.
	listed := targets.Signed.Targets
	if len(listed) > MaxTargets {
		return nil, reject("targets lists %d files, more than %d", len(listed), MaxTargets)
	}
	blobs := map[string][]byte{}
	kept := map[string]string{}
	for _, tname := range slices.Sorted(maps.Keys(listed)) {
		tf := listed[tname]
		required := tname == TrustedRootTarget
		sha := hex.EncodeToString(tf.Hashes["sha256"])
		if len(tf.Hashes["sha256"]) != 32 {
			if required {
				return nil, reject("target %q has no sha256 hash", tname)
			}
			continue
		}
		if tf.Length > MaxTargetSize || tf.Length < 0 {
			if required {
				return nil, reject("target %q: oversized: %d bytes, the limit is %d", tname, tf.Length, MaxTargetSize)
			}
			continue
		}
		file := tname
		if newRoot.Signed.ConsistentSnapshot {
			dir, base := path.Split(tname)
			file = dir + sha + "." + base
		}
		data, err := fetch(m, "targets/"+file, tf.Length)
		if errors.Is(err, fs.ErrNotExist) && !required {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("target %q: %w", tname, err)
		}
		if err := tf.VerifyLengthHashes(data); err != nil {
			return nil, rejectAs(ErrMismatch, "target %q does not match its signed length and hashes (tampered): %v", tname, err)
		}
		blobs[sha] = data
		kept[tname] = sha
		res.TargetFiles = append(res.TargetFiles, tname)
	}
	if _, err := root.NewTrustedRootFromJSON(blobs[kept[TrustedRootTarget]]); err != nil {
		return nil, reject("%s does not parse as a Sigstore trusted root: %v", TrustedRootTarget, err)
	}

	// 6. Commit: everything or nothing.
	st := old.st
	st.RootVersion = newRoot.Signed.Version
	st.ImportedAt = now
	st.RefTime = ref
	st.ExplicitTime = explicit
	st.Source = source
	st.Targets = kept
	stJSON, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	set[keyState] = stJSON
	res.Root = newRoot.Signed.Version
	res.Timestamp = tm.Timestamp.Signed.Version
	res.Snapshot = tm.Snapshot.Signed.Version
	res.Targets = targets.Signed.Version
	fields := map[string]string{
		"repository":        name,
		"source":            source,
		"reference_time":    ref.Format(time.RFC3339),
		"explicit_time":     fmt.Sprint(explicit),
		"root_version":      fmt.Sprint(res.Root),
		"timestamp_version": fmt.Sprint(res.Timestamp),
		"snapshot_version":  fmt.Sprint(res.Snapshot),
		"targets_version":   fmt.Sprint(res.Targets),
		"trusted_root":      kept[TrustedRootTarget],
	}
	ok, err := s.CommitTUF(Commit{Repository: name, ExpectState: old.raw[keyState], Set: set, Blobs: blobs,
		Audit: Audit{Kind: "trust-update", Time: now, Fields: fields}})
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrConflict, name)
	}
	return res, nil
}

func isExpired(err error) bool {
	return errors.As(err, new(*metadata.ErrExpiredMetadata))
}

func limitFor(length, def int64) int64 {
	if length > 0 {
		return length
	}
	return def
}

// sameRole reports whether role has the same keys and threshold in a and b.
func sameRole(a, b *metadata.Metadata[metadata.RootType], role string) bool {
	ra, rb := a.Signed.Roles[role], b.Signed.Roles[role]
	if ra == nil || rb == nil || ra.Threshold != rb.Threshold {
		return false
	}
	return slices.Equal(slices.Sorted(slices.Values(ra.KeyIDs)), slices.Sorted(slices.Values(rb.KeyIDs)))
}
