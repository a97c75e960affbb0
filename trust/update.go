package trust

import (
	"context"
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
func fetch(ctx context.Context, m Medium, name string, limit int64) ([]byte, error) {
	data, err := m.Read(ctx, name, limit)
	if errors.Is(err, ErrTooLarge) {
		return nil, fmt.Errorf("%w: oversized: %w", ErrRejected, err)
	}
	return data, err
}

// Update imports new TUF metadata for repository name from m: it walks root
// rotations N+1, N+2, ... from the stored root, then timestamp, snapshot,
// targets and the target files they list, verifying everything at the
// reference time, and commits all of it, with an audit record, in one
// transaction. On any error, and when ctx is done before the commit,
// nothing is committed.
func Update(ctx context.Context, s Store, name string, m Medium, opts UpdateOptions) (*UpdateResult, error) {
	u, err := startUpdate(s, name, m, opts)
	if err != nil {
		return nil, err
	}
	for _, step := range []func(context.Context) error{
		u.walkRoots,
		u.timestamp,
		u.snapshot,
		u.targets,
		u.targetFiles,
	} {
		if err := step(ctx); err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	return u.commit(s)
}

// updater is one Update in progress: what was read from the store, and
// what the medium has given so far.
type updater struct {
	m        Medium
	name     string
	source   string
	now, ref time.Time
	explicit bool

	old        *verified // the stored state, re-verified
	tm         *trustedmetadata.TrustedMetadata
	storedRoot *metadata.Metadata[metadata.RootType]
	newRoot    *metadata.Metadata[metadata.RootType] // after walkRoots

	set    map[string][]byte // records to commit
	blobs  map[string][]byte // target files by sha256
	kept   map[string]string // target name -> sha256
	tgts   *metadata.Metadata[metadata.TargetsType]
	result *UpdateResult
}

// startUpdate checks the times, loads and re-verifies the stored state
// (an update never builds on a database that does not verify, in this
// repository or any other), and starts again from the repository's anchor
// and stored root chain.
func startUpdate(s Store, name string, m Medium, opts UpdateOptions) (*updater, error) {
	now := opts.Now.UTC()
	if now.IsZero() {
		return nil, errors.New("trust.Update: no clock")
	}
	u := &updater{m: m, name: name, source: opts.Source, now: now, ref: now,
		set: map[string][]byte{}, blobs: map[string][]byte{}, kept: map[string]string{}}
	if !opts.At.IsZero() {
		u.ref, u.explicit = opts.At.UTC(), true
		if u.ref.After(now) {
			return nil, fmt.Errorf("%w %s is in the future of the machine clock (%s)", ErrReferenceTime, u.ref.Format(time.RFC3339), now.Format(time.RFC3339))
		}
	}
	if u.source == "" {
		u.source = m.String()
	}
	repos, err := Load(s, now)
	if err != nil {
		return nil, err
	}
	for _, r := range repos {
		if r.Name == name {
			u.old = r.v
		}
	}
	if u.old == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownRepository, name)
	}
	if u.old.pinned() {
		return nil, fmt.Errorf("%w: %q has no TUF metadata to update", ErrNotTUF, name)
	}
	if u.explicit && u.ref.Before(u.old.st.RefTime) {
		return nil, fmt.Errorf("%w %s is earlier than the previous update's reference time %s", ErrReferenceTime, u.ref.Format(time.RFC3339), u.old.st.RefTime.Format(time.RFC3339))
	}
	u.tm, err = trustedmetadata.New(u.old.raw[keyAnchor])
	if err != nil {
		return nil, fmt.Errorf("%w: repository %q: anchor: %v", ErrTampered, name, err)
	}
	for _, v := range u.old.chain[1:] {
		if _, err := u.tm.UpdateRoot(u.old.raw[rootKey(v)]); err != nil {
			return nil, fmt.Errorf("%w: repository %q: root %d: %v", ErrTampered, name, v, err)
		}
	}
	u.storedRoot = u.tm.Root
	u.result = &UpdateResult{Repository: name, Source: u.source, ReferenceTime: u.ref, ExplicitTime: u.explicit, NewRoots: []int64{}}
	return u, nil
}

// walkRoots takes root rotations N+1, N+2, ... from the medium, each signed
// by a threshold of the previous root's keys and of its own; the final
// root must be valid at the reference time.
func (u *updater) walkRoots(ctx context.Context) error {
	for i := 0; ; i++ {
		next := u.tm.Root.Signed.Version + 1
		data, err := fetch(ctx, u.m, fmt.Sprintf("%d.root.json", next), MaxRootSize)
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err != nil {
			return err
		}
		if i >= MaxRootRotations {
			return reject("more than %d root rotations on the medium", MaxRootRotations)
		}
		if _, err := u.tm.UpdateRoot(data); err != nil {
			return rejectTUF(fmt.Sprintf("root version %d", next), err)
		}
		u.set[rootKey(next)] = data
		u.result.NewRoots = append(u.result.NewRoots, next)
	}
	u.tm.RefTime = u.ref
	if u.tm.Root.Signed.IsExpired(u.ref) {
		return rejectAs(ErrExpired, "root version %d expired at %s, before the reference time %s (freeze)",
			u.tm.Root.Signed.Version, u.tm.Root.Signed.Expires.UTC().Format(time.RFC3339), u.ref.Format(time.RFC3339))
	}
	u.newRoot = u.tm.Root
	return nil
}

// keysSame reports whether the timestamp (and, for snapshot, the
// snapshot) keys are unchanged since the stored root: only then does the
// stored state guard against rollback (after a key change it may not:
// fast-forward attack recovery, TUF 5.3.11).
func (u *updater) keysSame(role string) bool {
	same := sameRole(u.storedRoot, u.newRoot, metadata.TIMESTAMP)
	if role == metadata.SNAPSHOT {
		same = same && sameRole(u.storedRoot, u.newRoot, metadata.SNAPSHOT)
	}
	return same
}

// timestamp takes the medium's timestamp.json, newer than the stored one,
// or the stored one again if it is the same version and still valid.
func (u *updater) timestamp(ctx context.Context) error {
	var oldTs *metadata.Metadata[metadata.TimestampType]
	if b := u.old.raw[keyTimestamp]; b != nil && u.keysSame(metadata.TIMESTAMP) {
		if _, err := u.tm.UpdateTimestamp(b); err != nil && !isExpired(err) {
			return fmt.Errorf("%w: repository %q: stored timestamp: %v", ErrTampered, u.name, err)
		}
		oldTs = u.tm.Timestamp
	}
	data, err := fetch(ctx, u.m, "timestamp.json", MaxTimestampSize)
	if err != nil {
		return fmt.Errorf("reading timestamp.json from %s: %w", u.m, err)
	}
	if _, err := u.tm.UpdateTimestamp(data); err != nil {
		if !errors.As(err, new(*metadata.ErrEqualVersionNumber)) {
			if oldTs != nil && errors.As(err, new(*metadata.ErrBadVersionNumber)) {
				return rejectAs(ErrRollback, "timestamp: rollback: the medium has an older timestamp than the database (%v)", err)
			}
			if isExpired(err) {
				if ts, perr := metadata.Timestamp().FromBytes(data); perr == nil {
					return fmt.Errorf("%w (it expired %s)", rejectTUF("timestamp", err), ts.Signed.Expires.UTC().Format(time.RFC3339))
				}
			}
			return rejectTUF("timestamp", err)
		}
		// Same version as stored: nothing newer; the stored one stays, and
		// must itself be valid at the reference time.
		data = u.old.raw[keyTimestamp]
		if u.tm.Timestamp.Signed.IsExpired(u.ref) {
			return rejectTUF("timestamp", &metadata.ErrExpiredMetadata{Msg: "timestamp.json is expired"})
		}
	}
	u.set[keyTimestamp] = data
	return nil
}

// snapshot takes the snapshot version the timestamp names.
func (u *updater) snapshot(ctx context.Context) error {
	meta := u.tm.Timestamp.Signed.Meta["snapshot.json"]
	if meta == nil {
		return reject("timestamp lists no snapshot.json")
	}
	if b := u.old.raw[keySnapshot]; b != nil && u.keysSame(metadata.SNAPSHOT) {
		if _, err := u.tm.UpdateSnapshot(b, true); err != nil && !isExpired(err) && !errors.As(err, new(*metadata.ErrBadVersionNumber)) {
			return fmt.Errorf("%w: repository %q: stored snapshot: %v", ErrTampered, u.name, err)
		}
	}
	file := "snapshot.json"
	if u.newRoot.Signed.ConsistentSnapshot {
		file = fmt.Sprintf("%d.snapshot.json", meta.Version)
	}
	data, err := fetch(ctx, u.m, file, limitFor(meta.Length, MaxSnapshotSize))
	if err != nil {
		return fmt.Errorf("reading %s from %s: %w", file, u.m, err)
	}
	if _, err := u.tm.UpdateSnapshot(data, false); err != nil {
		return rejectTUF("snapshot", err)
	}
	u.set[keySnapshot] = data
	return nil
}

// targets takes the top-level targets version the snapshot names.
func (u *updater) targets(ctx context.Context) error {
	meta := u.tm.Snapshot.Signed.Meta["targets.json"]
	if meta == nil {
		return reject("snapshot lists no targets.json")
	}
	if b := u.old.raw[keyTargets]; b != nil && u.keysSame(metadata.SNAPSHOT) {
		if prev, err := metadata.Targets().FromBytes(b); err == nil && meta.Version < prev.Signed.Version {
			return rejectAs(ErrRollback, "targets: rollback: snapshot names targets version %d, the database has %d", meta.Version, prev.Signed.Version)
		}
	}
	file := "targets.json"
	if u.newRoot.Signed.ConsistentSnapshot {
		file = fmt.Sprintf("%d.targets.json", meta.Version)
	}
	data, err := fetch(ctx, u.m, file, limitFor(meta.Length, MaxTargetsSize))
	if err != nil {
		return fmt.Errorf("reading %s from %s: %w", file, u.m, err)
	}
	if u.tgts, err = u.tm.UpdateTargets(data); err != nil {
		return rejectTUF("targets", err)
	}
	u.set[keyTargets] = data
	return nil
}

// targetFiles takes the target files the targets list, each checked
// against its signed length and hashes and kept by sha256.
// trusted_root.json is required, and must parse as a Sigstore trusted
// root; others are taken when the medium has them.
func (u *updater) targetFiles(ctx context.Context) error {
	listed := u.tgts.Signed.Targets
	if len(listed) > MaxTargets {
		return reject("targets lists %d files, more than %d", len(listed), MaxTargets)
	}
	for _, name := range slices.Sorted(maps.Keys(listed)) {
		if err := u.targetFile(ctx, name, listed[name]); err != nil {
			return err
		}
	}
	if _, err := root.NewTrustedRootFromJSON(u.blobs[u.kept[TrustedRootTarget]]); err != nil {
		return reject("%s does not parse as a Sigstore trusted root: %v", TrustedRootTarget, err)
	}
	return nil
}

func (u *updater) targetFile(ctx context.Context, name string, tf *metadata.TargetFiles) error {
	required := name == TrustedRootTarget
	sha := hex.EncodeToString(tf.Hashes["sha256"])
	if len(tf.Hashes["sha256"]) != 32 {
		if required {
			return reject("target %q has no sha256 hash", name)
		}
		return nil
	}
	if tf.Length > MaxTargetSize || tf.Length < 0 {
		if required {
			return reject("target %q: oversized: %d bytes, the limit is %d", name, tf.Length, MaxTargetSize)
		}
		return nil
	}
	file := name
	if u.newRoot.Signed.ConsistentSnapshot {
		dir, base := path.Split(name)
		file = dir + sha + "." + base
	}
	data, err := fetch(ctx, u.m, "targets/"+file, tf.Length)
	if errors.Is(err, fs.ErrNotExist) && !required {
		return nil
	}
	if err != nil {
		return fmt.Errorf("target %q: %w", name, err)
	}
	if err := tf.VerifyLengthHashes(data); err != nil {
		return rejectAs(ErrMismatch, "target %q does not match its signed length and hashes (tampered): %v", name, err)
	}
	u.blobs[sha] = data
	u.kept[name] = sha
	u.result.TargetFiles = append(u.result.TargetFiles, name)
	return nil
}

// commit writes everything, or nothing: the records, the target files, the
// new state and the audit record, if the repository is still as it was
// read (else ErrConflict).
func (u *updater) commit(s Store) (*UpdateResult, error) {
	st := u.old.st
	st.RootVersion = u.newRoot.Signed.Version
	st.ImportedAt = u.now
	st.RefTime = u.ref
	st.ExplicitTime = u.explicit
	st.Source = u.source
	st.Targets = u.kept
	stJSON, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	u.set[keyState] = stJSON
	res := u.result
	res.Root = u.newRoot.Signed.Version
	res.Timestamp = u.tm.Timestamp.Signed.Version
	res.Snapshot = u.tm.Snapshot.Signed.Version
	res.Targets = u.tgts.Signed.Version
	ok, err := s.CommitTUF(Commit{Repository: u.name, ExpectState: u.old.raw[keyState], Set: u.set, Blobs: u.blobs,
		Audit: Audit{Kind: "trust-update", Time: u.now, Fields: map[string]string{
			"repository":        u.name,
			"source":            u.source,
			"reference_time":    u.ref.Format(time.RFC3339),
			"explicit_time":     fmt.Sprint(u.explicit),
			"root_version":      fmt.Sprint(res.Root),
			"timestamp_version": fmt.Sprint(res.Timestamp),
			"snapshot_version":  fmt.Sprint(res.Snapshot),
			"targets_version":   fmt.Sprint(res.Targets),
			"trusted_root":      u.kept[TrustedRootTarget],
		}}})
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrConflict, u.name)
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
