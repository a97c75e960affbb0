// Package tufgen builds TUF repositories for tests, deterministically: keys
// come from fixed seeds (ed25519 signatures are deterministic) and every
// time is given, so the same calls produce the same bytes. Tests use it to
// make the attacks trust must refuse (rollback, freeze, mix-and-match,
// tampered targets, oversized files, bad root rotations, fast-forward).
package tufgen

import (
	"archive/tar"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// Key returns the deterministic ed25519 key called name.
func Key(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("airlock tufgen key " + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

// Repo is a TUF repository under construction. Files holds what a mirror
// would serve (name -> bytes); the metadata fields may be edited between
// Publish calls.
type Repo struct {
	Root      *metadata.Metadata[metadata.RootType]
	Targets   *metadata.Metadata[metadata.TargetsType]
	Snapshot  *metadata.Metadata[metadata.SnapshotType]
	Timestamp *metadata.Metadata[metadata.TimestampType]
	Files     map[string][]byte

	// Signers name the keys signing each role from now on.
	Signers map[string][]string

	targetData map[string][]byte
}

// New starts a repository at time t0: root version 1 with three root keys
// (threshold 2) and one key for each other role; root, targets and snapshot
// expire after a year, the timestamp after 7 days.
func New(t0 time.Time) *Repo {
	t0 = t0.UTC()
	r := &Repo{
		Root:       metadata.Root(t0.AddDate(1, 0, 0)),
		Targets:    metadata.Targets(t0.AddDate(1, 0, 0)),
		Snapshot:   metadata.Snapshot(t0.AddDate(1, 0, 0)),
		Timestamp:  metadata.Timestamp(t0.AddDate(0, 0, 7)),
		Files:      map[string][]byte{},
		Signers:    map[string][]string{},
		targetData: map[string][]byte{},
	}
	r.Targets.Signed.Version = 0
	r.Snapshot.Signed.Version = 0
	r.Timestamp.Signed.Version = 0
	r.SetKeys(metadata.ROOT, 2, "root-1", "root-2", "root-3")
	for _, role := range []string{metadata.TARGETS, metadata.SNAPSHOT, metadata.TIMESTAMP} {
		r.SetKeys(role, 1, role+"-1")
	}
	r.SignRoot("root-1", "root-2", "root-3")
	return r
}

// SetKeys replaces role's keys in the (unsigned) root and makes them the
// role's signers.
func (r *Repo) SetKeys(role string, threshold int, names ...string) {
	for _, id := range slices.Clone(r.Root.Signed.Roles[role].KeyIDs) {
		must(r.Root.Signed.RevokeKey(id, role))
	}
	for _, n := range names {
		k, err := metadata.KeyFromPublicKey(Key(n).Public())
		must(err)
		must(r.Root.Signed.AddKey(k, role))
	}
	r.Root.Signed.Roles[role].Threshold = threshold
	r.Signers[role] = names
}

// SignRoot signs the current root with the named keys and publishes it as
// N.root.json.
func (r *Repo) SignRoot(keys ...string) {
	r.Root.ClearSignatures()
	sign(r.Root, keys)
	r.Files[fmt.Sprintf("%d.root.json", r.Root.Signed.Version)] = bytesOf(r.Root)
	r.Files["root.json"] = bytesOf(r.Root)
}

// RotateRoot makes root version N+1 after edit changes it, signed by keys
// (list both old and new root keys for a valid rotation).
func (r *Repo) RotateRoot(edit func(), keys ...string) {
	r.Root.Signed.Version++
	if edit != nil {
		edit()
	}
	r.SignRoot(keys...)
}

// AddTarget adds (or replaces) a target file.
func (r *Repo) AddTarget(name string, data []byte) {
	tf, err := metadata.TargetFile().FromBytes(name, data, "sha256")
	must(err)
	r.Targets.Signed.Targets[name] = tf
	r.targetData[name] = data
}

// Publish bumps and signs targets, snapshot and timestamp (in that order)
// and writes them and the target files into Files.
func (r *Repo) Publish() {
	r.PublishTargets()
	r.PublishSnapshot()
	r.PublishTimestamp()
}

// PublishTargets bumps and signs targets.json and writes the target files.
func (r *Repo) PublishTargets() {
	r.Targets.Signed.Version++
	r.Targets.ClearSignatures()
	sign(r.Targets, r.Signers[metadata.TARGETS])
	data := bytesOf(r.Targets)
	r.Files[r.metaName("targets", r.Targets.Signed.Version)] = data
	for name, d := range r.targetData {
		r.Files[r.TargetPath(name)] = d
	}
	mf := metadata.MetaFile(r.Targets.Signed.Version)
	mf.Length = int64(len(data))
	sum := sha256.Sum256(data)
	mf.Hashes = metadata.Hashes{"sha256": sum[:]}
	r.Snapshot.Signed.Meta["targets.json"] = mf
}

// PublishSnapshot bumps and signs snapshot.json.
func (r *Repo) PublishSnapshot() {
	r.Snapshot.Signed.Version++
	r.Snapshot.ClearSignatures()
	sign(r.Snapshot, r.Signers[metadata.SNAPSHOT])
	r.Files[r.metaName("snapshot", r.Snapshot.Signed.Version)] = bytesOf(r.Snapshot)
	r.Timestamp.Signed.Meta["snapshot.json"] = metadata.MetaFile(r.Snapshot.Signed.Version)
}

// PublishTimestamp bumps and signs timestamp.json.
func (r *Repo) PublishTimestamp() {
	r.Timestamp.Signed.Version++
	r.Timestamp.ClearSignatures()
	sign(r.Timestamp, r.Signers[metadata.TIMESTAMP])
	r.Files["timestamp.json"] = bytesOf(r.Timestamp)
}

// TargetPath is where target name is served (hash-prefixed when the root
// says consistent_snapshot).
func (r *Repo) TargetPath(name string) string {
	if !r.Root.Signed.ConsistentSnapshot {
		return "targets/" + name
	}
	dir, base := path.Split(name)
	sum := sha256.Sum256(r.targetData[name])
	return "targets/" + dir + hex.EncodeToString(sum[:]) + "." + base
}

func (r *Repo) metaName(role string, v int64) string {
	if r.Root.Signed.ConsistentSnapshot {
		return fmt.Sprintf("%d.%s.json", v, role)
	}
	return role + ".json"
}

// SnapshotName and TargetsName are the file names of the current versions.
func (r *Repo) SnapshotName() string { return r.metaName("snapshot", r.Snapshot.Signed.Version) }
func (r *Repo) TargetsName() string  { return r.metaName("targets", r.Targets.Signed.Version) }

// Clone copies Files: a mirror frozen at this moment.
func (r *Repo) Clone() map[string][]byte { return maps.Clone(r.Files) }

// WriteDir writes files into dir.
func WriteDir(dir string, files map[string][]byte) error {
	for _, name := range slices.Sorted(maps.Keys(files)) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, files[name], 0o644); err != nil {
			return err
		}
	}
	return nil
}

// WriteTar writes files as a tar at file, in name order, with fixed times.
func WriteTar(file string, files map[string][]byte) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	for _, name := range slices.Sorted(maps.Keys(files)) {
		h := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(files[name])), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(h); err != nil {
			f.Close()
			return err
		}
		if _, err := tw.Write(files[name]); err != nil {
			f.Close()
			return err
		}
	}
	if err := tw.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

type signable interface {
	Sign(signature.Signer) (*metadata.Signature, error)
}

func sign(m signable, keys []string) {
	for _, n := range keys {
		s, err := signature.LoadED25519Signer(Key(n))
		must(err)
		_, err = m.Sign(s)
		must(err)
	}
}

type marshaler interface{ ToBytes(bool) ([]byte, error) }

func bytesOf(m marshaler) []byte {
	b, err := m.ToBytes(true)
	must(err)
	return b
}

func must(err error) {
	if err != nil {
		panic("tufgen: " + err.Error())
	}
}
