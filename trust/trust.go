// Package trust keeps TUF-verified Sigstore trust in airlock's database.
//
// Each repository (public-good, a private Sigstore, the site's own) is
// pinned by an anchor root at Init and advanced by Update from a Medium (a
// directory or tar carried across the air gap, or HTTPS when connected).
// go-tuf/v2's trustedmetadata does the TUF checks: root rotation walk with
// threshold signatures, rollback, freeze, mix-and-match, lengths and hashes.
// trust drives it itself, so the reference time is a parameter: the machine
// clock, or an explicit time that the metadata's own validity allows.
//
// The state is kept by a Store (the bbolt database): the anchor, the whole
// root chain, the current timestamp, snapshot and targets, target blobs by
// sha256. Nothing stored is believed on its own: Load re-verifies the chain
// from the anchor and the other roles against it every time, and a database
// that does not verify is ErrTampered and never used.
//
// trust never prints, exits or reads flags; it returns typed values
// (Status, UpdateResult) and sentinel errors the command line maps to exit
// codes.
package trust

import (
	"errors"
	"time"
)

// Errors. Callers test them with errors.Is.
var (
	// ErrRejected wraps every reason an update's metadata is refused:
	// signatures, rollback, freeze, mix-and-match, hashes, sizes.
	ErrRejected = errors.New("trust metadata rejected")
	// ErrNotSigned is wrapped (with ErrRejected) when metadata on a medium
	// is not signed by a threshold of the keys the stored root trusts for
	// it: forged, or another repository's.
	ErrNotSigned = errors.New("not signed by a threshold of trusted keys")
	// ErrExpired is wrapped (with ErrRejected) when metadata is expired at
	// the reference time: TUF's defence against a freeze attack, and what an
	// old mirror imported at the machine clock (rather than with
	// UpdateOptions.At) runs into.
	ErrExpired = errors.New("expired at the reference time")
	// ErrRollback is wrapped (with ErrRejected) when a role's version does
	// not follow the stored one: a rollback or a mix-and-match.
	ErrRollback = errors.New("version does not follow")
	// ErrMismatch is wrapped (with ErrRejected) when metadata or a target
	// does not match the length and hashes the signed metadata gives for
	// it: mix-and-match or tampering.
	ErrMismatch = errors.New("length or hash does not match the signed metadata")
	// ErrStale means the trust in the database is older than the policy allows.
	ErrStale = errors.New("trust is too old")
	// ErrTampered means the stored state does not verify from its anchor.
	ErrTampered = errors.New("trust database does not verify")
	// ErrClock means the machine clock is earlier than a time the database
	// has already seen.
	ErrClock = errors.New("clock is earlier than the database's newest time")
	// ErrNoTrust means there is no imported repository to verify with.
	ErrNoTrust = errors.New("no trust in the database")
	// ErrUnknownRepository means the named repository was never initialised.
	ErrUnknownRepository = errors.New("no such trust repository")
	// ErrReservedName means Init was asked to pin another root under the
	// name kept for the embedded public-good root (PublicGoodName).
	ErrReservedName = errors.New("reserved repository name")
	// ErrExists means Init was asked for a repository name already in use.
	ErrExists = errors.New("trust repository already exists")
	// ErrReferenceTime means UpdateOptions.At is not a time an update may
	// be verified at: after the machine clock, or before the reference time
	// of the repository's previous update.
	ErrReferenceTime = errors.New("reference time")
	// ErrConflict means another process changed the repository during an
	// update: the Store's compare-and-swap did not hold.
	ErrConflict = errors.New("trust repository changed during the update")
)

// Store keeps TUF state: the database, wired by the command line (cache
// does not import this package).
//
// Records of one repository are keyed by strings this package chooses; the
// Store treats them as opaque. Values handed out are the caller's to keep.
type Store interface {
	// ReadTUF calls fn with every repository's records (name -> key ->
	// value) and a lookup of target blobs by hex sha256 (nil if absent),
	// all from one consistent read.
	ReadTUF(fn func(repos map[string]map[string][]byte, blob func(sha256Hex string) []byte) error) error
	// CommitTUF applies c in one transaction, as a compare-and-swap: only
	// if the repository's "state" record still equals c.ExpectState (nil:
	// the repository must not exist). When it no longer does (another
	// process committed in between), CommitTUF must commit nothing and
	// return ok == false with a nil error; the caller reports ErrConflict
	// (Update) or ErrExists (Init). Any other failure commits nothing and is
	// returned as err.
	CommitTUF(c Commit) (ok bool, err error)
}

// Commit is one change to one repository: records, the target blobs they
// name and the audit record saying what was done, committed together or
// not at all.
type Commit struct {
	// Repository is the repository changed.
	Repository string
	// ExpectState is the repository's "state" record the change was made
	// from; nil means the repository must not exist yet.
	ExpectState []byte
	// Set are the records to set in the repository.
	Set map[string][]byte
	// Blobs are target files to store, by hex sha256.
	Blobs map[string][]byte
	// Audit is the audit-trail record appended with the change.
	Audit Audit
}

// Audit is one audit-trail record: what was done (Kind: "trust-init",
// "trust-update"), at what machine-clock time, with which details. The
// Fields are the audit trail's schema for trust; `airlock audit` shows them.
type Audit struct {
	Kind   string
	Time   time.Time
	Fields map[string]string
}

// Record keys inside one repository.
const (
	keyState     = "state"
	keyAnchor    = "anchor"
	keyTimestamp = "timestamp"
	keySnapshot  = "snapshot"
	keyTargets   = "targets"
	rootPrefix   = "root."
)

// TrustedRootTarget is the target every Sigstore TUF repository must carry.
const TrustedRootTarget = "trusted_root.json"

// PublicGoodName is the repository name `trust init --public-good` uses.
const PublicGoodName = "public-good"

// state is the bookkeeping record of one repository. It is stored in the
// database: its JSON keys are the database layout, not command output, and
// stay as they are (snake_case) so existing databases keep loading.
type state struct {
	Name string `json:"name"`
	// Kind is "" for a TUF repository (databases written before pinned
	// trusted roots), KindTrustedRoot for a pinned trusted root, whose
	// Anchor fields describe the pinned file and whose RefTime is the time
	// it was pinned.
	Kind          string            `json:"kind,omitempty"`
	AnchorSource  string            `json:"anchor_source"` // "embedded" or "file NAME"
	AnchorVersion int64             `json:"anchor_version"`
	AnchorSHA256  string            `json:"anchor_sha256"`
	RootVersion   int64             `json:"root_version"`
	InitAt        time.Time         `json:"init_at"`
	ImportedAt    time.Time         `json:"imported_at,omitzero"`    // machine clock at the last update
	RefTime       time.Time         `json:"reference_time,omitzero"` // time the last update was verified at
	ExplicitTime  bool              `json:"explicit_time,omitempty"` // RefTime was given (UpdateOptions.At)
	Source        string            `json:"source,omitempty"`
	Targets       map[string]string `json:"targets,omitempty"` // target name -> hex sha256 of the stored blob
}

// newest is the latest machine-clock time this repository has seen.
func (s *state) newest() time.Time {
	if s.ImportedAt.After(s.InitAt) {
		return s.ImportedAt
	}
	return s.InitAt
}
