package trust

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/theupdateframework/go-tuf/v2/metadata"
	"google.golang.org/protobuf/encoding/protojson"
)

// RoleStatus is one TUF role's current version and expiry.
type RoleStatus struct {
	Version int64     `json:"version"`
	Expires time.Time `json:"expires"`
	Expired bool      `json:"expired"` // at the time the status was made
}

// AnchorStatus describes a repository's pinned anchor root.
type AnchorStatus struct {
	Version int64  `json:"version"`
	SHA256  string `json:"sha256"`
	Source  string `json:"source"` // "embedded" or "file NAME"
}

// RepoStatus is what `trust status` shows for one repository. Times are UTC.
type RepoStatus struct {
	Name string `json:"name"`
	// Kind is KindTUF or KindTrustedRoot. A pinned trusted root has
	// PinnedRoot, and no anchor, root chain or TUF roles.
	Kind       string            `json:"kind"`
	PinnedRoot *PinnedRootStatus `json:"pinnedRoot,omitempty"`
	Anchor     *AnchorStatus     `json:"anchor,omitempty"`
	RootChain  []int64           `json:"rootChain,omitempty"`
	Root       *RoleStatus       `json:"root,omitempty"`
	// Timestamp, Snapshot and Targets are nil until the first update.
	Timestamp *RoleStatus `json:"timestamp,omitempty"`
	Snapshot  *RoleStatus `json:"snapshot,omitempty"`
	Targets   *RoleStatus `json:"targets,omitempty"`
	InitAt    time.Time   `json:"initAt"`
	// ImportedAt is the machine clock at the last update; ReferenceTime
	// the time its metadata was verified at (ExplicitTime: given by --at).
	ImportedAt    *time.Time `json:"importedAt,omitempty"`
	ReferenceTime *time.Time `json:"referenceTime,omitempty"`
	ExplicitTime  bool       `json:"explicitTime"`
	Source        string     `json:"source,omitempty"`
	TargetFiles   []string   `json:"targetFiles,omitempty"`
	Freshness     *Freshness `json:"freshness,omitempty"`
	// TrustedRoot summarises the trusted_root.json target.
	TrustedRoot *TrustedRootSummary `json:"trustedRoot,omitempty"`
}

// Freshness says how old a repository's trust is at a given time.
type Freshness struct {
	// Now is the time it was evaluated at.
	Now time.Time `json:"now"`
	// Age is Now minus the reference time of the last update.
	Age     time.Duration `json:"ageNs"`
	AgeText string        `json:"age"`
	// Stale is true once the timestamp has expired: the repository no
	// longer vouches for this state. StaleFor says since how long.
	Stale       bool          `json:"stale"`
	StaleFor    time.Duration `json:"staleForNs,omitempty"`
	RootExpired bool          `json:"rootExpired"`
	// TooOld is true when Age is over the trust age limit the status was
	// made with (SetMaxAge): verification leaves the repository out.
	TooOld bool `json:"tooOld"`
	// NoTUF is true for a pinned trusted root: no timestamp says whether
	// it is current (Stale is never set), and Age counts from when it was
	// pinned.
	NoTUF bool `json:"noTuf,omitempty"`
}

// SetMaxAge records whether the trust is past maxAge, as Select judges it.
func (f *Freshness) SetMaxAge(maxAge time.Duration) {
	if f != nil {
		f.TooOld = f.Age > maxAge
	}
}

// TrustedRootSummary lists what a trusted_root.json holds.
type TrustedRootSummary struct {
	SHA256                 string      `json:"sha256"`
	CertificateAuthorities []Authority `json:"certificateAuthorities"`
	Tlogs                  []Log       `json:"tlogs"`
	CTLogs                 []Log       `json:"ctlogs"`
	TimestampAuthorities   []Authority `json:"timestampAuthorities"`
}

// Authority is a certificate or timestamping authority.
type Authority struct {
	Subject    string     `json:"subject"`
	URI        string     `json:"uri,omitempty"`
	ValidFrom  *time.Time `json:"validFrom,omitempty"`
	ValidUntil *time.Time `json:"validUntil,omitempty"`
}

// Log is a transparency or certificate-transparency log.
type Log struct {
	BaseURL    string     `json:"baseUrl"`
	LogID      string     `json:"logId"` // hex
	ValidFrom  *time.Time `json:"validFrom,omitempty"`
	ValidUntil *time.Time `json:"validUntil,omitempty"`
}

// Status returns the repository's status as of now.
func (r *Repo) Status(now time.Time) *RepoStatus { return r.v.status(now) }

// Freshness returns how old the repository's trust is at now; nil before
// the first update.
func (r *Repo) Freshness(now time.Time) *Freshness { return r.v.freshness(now) }

func (v *verified) freshness(now time.Time) *Freshness {
	if v.pinned() {
		now = now.UTC()
		age := now.Sub(v.st.RefTime)
		return &Freshness{Now: now, Age: age, AgeText: FormatAge(age), NoTUF: true}
	}
	ts := v.tm.Timestamp
	if ts == nil {
		return nil
	}
	now = now.UTC()
	f := &Freshness{Now: now, Age: now.Sub(v.st.RefTime)}
	f.AgeText = FormatAge(f.Age)
	if exp := ts.Signed.Expires; now.After(exp) {
		f.Stale, f.StaleFor = true, now.Sub(exp)
	}
	f.RootExpired = v.tm.Root.Signed.IsExpired(now)
	return f
}

func (v *verified) status(now time.Time) *RepoStatus {
	now = now.UTC()
	if v.pinned() {
		return v.pinnedStatus(now)
	}
	st := &RepoStatus{
		Name:      v.st.Name,
		Kind:      KindTUF,
		Anchor:    &AnchorStatus{Version: v.chain[0], SHA256: v.st.AnchorSHA256, Source: v.st.AnchorSource},
		RootChain: v.chain,
		Root:      ptr(role(v.tm.Root.Signed.Version, v.tm.Root.Signed.Expires, now)),
		InitAt:    v.st.InitAt,
		Source:    v.st.Source,
	}
	if ts := v.tm.Timestamp; ts != nil {
		st.Timestamp = ptr(role(ts.Signed.Version, ts.Signed.Expires, now))
		st.Snapshot = ptr(role(v.tm.Snapshot.Signed.Version, v.tm.Snapshot.Signed.Expires, now))
		t := v.tm.Targets[metadata.TARGETS]
		st.Targets = ptr(role(t.Signed.Version, t.Signed.Expires, now))
		st.ImportedAt = ptr(v.st.ImportedAt.UTC())
		st.ReferenceTime = ptr(v.st.RefTime.UTC())
		st.ExplicitTime = v.st.ExplicitTime
		for name := range v.st.Targets {
			st.TargetFiles = append(st.TargetFiles, name)
		}
		sortStrings(st.TargetFiles)
		st.Freshness = v.freshness(now)
		if sum, err := summarize(v.targets[TrustedRootTarget]); err == nil {
			st.TrustedRoot = sum
		}
	}
	return st
}

func role(version int64, expires, now time.Time) RoleStatus {
	return RoleStatus{Version: version, Expires: expires.UTC(), Expired: now.After(expires)}
}

func ptr[T any](v T) *T { return &v }

func summarize(trJSON []byte) (*TrustedRootSummary, error) {
	var pb prototrustroot.TrustedRoot
	if err := protojson.Unmarshal(trJSON, &pb); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(trJSON)
	s := &TrustedRootSummary{SHA256: hex.EncodeToString(sum[:])}
	for _, ca := range pb.GetCertificateAuthorities() {
		s.CertificateAuthorities = append(s.CertificateAuthorities, authority(ca))
	}
	for _, ca := range pb.GetTimestampAuthorities() {
		s.TimestampAuthorities = append(s.TimestampAuthorities, authority(ca))
	}
	for _, l := range pb.GetTlogs() {
		s.Tlogs = append(s.Tlogs, tlog(l))
	}
	for _, l := range pb.GetCtlogs() {
		s.CTLogs = append(s.CTLogs, tlog(l))
	}
	return s, nil
}

func authority(ca *prototrustroot.CertificateAuthority) Authority {
	a := Authority{URI: ca.GetUri()}
	if sub := ca.GetSubject(); sub != nil {
		a.Subject = sub.GetOrganization()
		if cn := sub.GetCommonName(); cn != "" {
			a.Subject += " / " + cn
		}
	}
	if vf := ca.GetValidFor(); vf != nil {
		if vf.GetStart() != nil {
			a.ValidFrom = ptr(vf.GetStart().AsTime())
		}
		if vf.GetEnd() != nil {
			a.ValidUntil = ptr(vf.GetEnd().AsTime())
		}
	}
	return a
}

func tlog(l *prototrustroot.TransparencyLogInstance) Log {
	g := Log{BaseURL: l.GetBaseUrl(), LogID: hex.EncodeToString(l.GetLogId().GetKeyId())}
	if vf := l.GetPublicKey().GetValidFor(); vf != nil {
		if vf.GetStart() != nil {
			g.ValidFrom = ptr(vf.GetStart().AsTime())
		}
		if vf.GetEnd() != nil {
			g.ValidUntil = ptr(vf.GetEnd().AsTime())
		}
	}
	return g
}

// FormatAge renders a duration in days and hours ("89d4h", "3h12m").
func FormatAge(d time.Duration) string {
	neg := d < 0
	if neg {
		d = -d
	}
	var s string
	switch days := d / (24 * time.Hour); {
	case days > 0:
		s = fmt.Sprintf("%dd", days)
		if h := (d % (24 * time.Hour)) / time.Hour; h > 0 {
			s += fmt.Sprintf("%dh", h)
		}
	default:
		s = d.Truncate(time.Minute).String()
	}
	if neg {
		s = "-" + s
	}
	return s
}

// ErrLogConflict is returned by MergeTrustedRoots when two documents name
// one transparency or CT log (by log ID) with different contents:
// verifiers key logs by their ID, so the later would silently replace the
// earlier.
var ErrLogConflict = errors.New("two trusted roots name one log with different keys")

// A LogConflictError is ErrLogConflict, saying which documents (by their
// index in the merge) name which log.
type LogConflictError struct {
	First, Second int
	Kind          string // "transparency log" or "CT log"
	LogID         []byte
}

func (e *LogConflictError) Error() string {
	return fmt.Sprintf("%v: trusted roots %d and %d both name %s %x", ErrLogConflict, e.First, e.Second, e.Kind, e.LogID)
}

func (e *LogConflictError) Is(target error) bool { return target == ErrLogConflict }

// MergeTrustedRoots merges trusted_root.json documents into one: every
// certificate authority, log and timestamping authority of each, without
// duplicates. The result parses as a Sigstore trusted root. A log ID given
// twice with different contents is ErrLogConflict, naming the documents by
// their index.
func MergeTrustedRoots(docs [][]byte) ([]byte, error) {
	if len(docs) == 0 {
		return nil, ErrNoTrust
	}
	var out prototrustroot.TrustedRoot
	seen := map[string]bool{}
	// Kind and log ID -> the document that first named the log, and its
	// key. Only the key decides a conflict: one log listed with another
	// validity window (updated after a rotation) or base URL (a mirror) is
	// the same log.
	type logKey struct {
		doc int
		key *protocommon.PublicKey
	}
	logs := map[string]logKey{}
	sameLog := func(kind string, i int, x interface {
		GetLogId() *protocommon.LogId
		GetPublicKey() *protocommon.PublicKey
	}) error {
		if len(x.GetLogId().GetKeyId()) == 0 {
			return nil
		}
		id := kind + "\x00" + string(x.GetLogId().GetKeyId())
		first, ok := logs[id]
		if !ok {
			logs[id] = logKey{i, x.GetPublicKey()}
			return nil
		}
		a, b := first.key, x.GetPublicKey()
		if bytes.Equal(a.GetRawBytes(), b.GetRawBytes()) && a.GetKeyDetails() == b.GetKeyDetails() {
			return nil
		}
		return &LogConflictError{First: first.doc, Second: i, Kind: kind, LogID: x.GetLogId().GetKeyId()}
	}
	key := func(kind string, m interface{ String() string }) bool {
		k := kind + "\x00" + m.String()
		if seen[k] {
			return false
		}
		seen[k] = true
		return true
	}
	for i, d := range docs {
		var pb prototrustroot.TrustedRoot
		if err := protojson.Unmarshal(d, &pb); err != nil {
			return nil, fmt.Errorf("trusted root %d: %w", i, err)
		}
		if out.MediaType == "" {
			out.MediaType = pb.GetMediaType()
		}
		for _, x := range pb.GetCertificateAuthorities() {
			if key("ca", x) {
				out.CertificateAuthorities = append(out.CertificateAuthorities, x)
			}
		}
		for _, x := range pb.GetTlogs() {
			if err := sameLog("transparency log", i, x); err != nil {
				return nil, err
			}
			if key("transparency log", x) {
				out.Tlogs = append(out.Tlogs, x)
			}
		}
		for _, x := range pb.GetCtlogs() {
			if err := sameLog("CT log", i, x); err != nil {
				return nil, err
			}
			if key("CT log", x) {
				out.Ctlogs = append(out.Ctlogs, x)
			}
		}
		for _, x := range pb.GetTimestampAuthorities() {
			if key("tsa", x) {
				out.TimestampAuthorities = append(out.TimestampAuthorities, x)
			}
		}
	}
	data, err := EncodeTrustedRoot(&out)
	if err != nil {
		return nil, err
	}
	if _, err := root.NewTrustedRootFromJSON(data); err != nil {
		return nil, fmt.Errorf("merged trusted root does not parse: %w", err)
	}
	return data, nil
}

func sortStrings(s []string) { sort.Strings(s) }

// EncodeTrustedRoot writes tr as a trusted_root.json in the layout every
// trusted root airlock writes has. protojson varies its whitespace on
// purpose (so that nobody relies on it); the file is written in
// encoding/json's layout instead, indented by two spaces, so that the same
// trust always exports to the same bytes.
func EncodeTrustedRoot(tr *prototrustroot.TrustedRoot) ([]byte, error) {
	pj, err := protojson.Marshal(tr)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, pj, "", "  "); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}
