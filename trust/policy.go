package trust

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// DefaultMaxAge is how old trust may be (since the reference time of its
// last import) before verification refuses it: 180 days. An air-gapped site
// that carries metadata in quarterly can miss one delivery and keep
// working; past that, someone must bring fresh metadata. Past the
// timestamp's own expiry (usually 7 days for public-good) verification
// already warns.
const DefaultMaxAge = 180 * 24 * time.Hour

// maxAgeDays bounds a trust age (a century), whatever unit it is given in.
const maxAgeDays = 100 * 365

// durationForm is what time.ParseDuration reads (unsigned, or "+"), so
// that a duration it refuses only for its size is told apart from garbage.
var durationForm = regexp.MustCompile(`^\+?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:ns|us|µs|μs|ms|s|m|h))+$`)

// ParseMaxAge parses a trust age limit: a Go duration ("720h", "90m") or a
// whole number of days ("30d"). It must be positive and at most 36500 days.
func ParseMaxAge(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	tooLong := fmt.Errorf("invalid trust age %q: at most %dd", s, maxAgeDays)
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.ParseUint(n, 10, 32)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("invalid trust age %q: want days like 30d or a duration like 720h", s)
		}
		if err != nil || days > maxAgeDays {
			return 0, tooLong
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		var err error
		d, err = time.ParseDuration(s)
		if err != nil && durationForm.MatchString(s) {
			return 0, tooLong // well formed, but past what a Duration holds
		}
		if err != nil {
			return 0, fmt.Errorf("invalid trust age %q: want days like 30d or a duration like 720h", s)
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("invalid trust age %q: must be positive", s)
	}
	if d > maxAgeDays*24*time.Hour {
		return 0, tooLong
	}
	return d, nil
}

// SetAside is a repository Select left out.
type SetAside struct {
	Name string
	// NotImported is true for a repository pinned by Init that no Update
	// has given a trusted root yet; otherwise it is past the age limit.
	NotImported bool
	// Pinned is true for a pinned trusted root (no TUF) past the age
	// limit: its age counts from when it was pinned (ReferenceTime).
	Pinned bool
	// Age is how old the trust is, ReferenceTime the time it was verified
	// as of, and MaxAge the limit it is over (zero when NotImported).
	Age           time.Duration
	ReferenceTime time.Time
	MaxAge        time.Duration
}

// Select picks the repositories a verification at now may use: those with
// an imported trusted root whose age is within maxAge. Stale ones (past
// their timestamp's expiry) are used with a warning; ones past maxAge are
// left out with a warning, and if none is left the error wraps ErrStale.
// No imported repository at all is ErrNoTrust. Either way the Selection
// says what was set aside.
func Select(repos []*Repo, now time.Time, maxAge time.Duration) (*Selection, error) {
	sel := &Selection{Time: now, MaxAge: maxAge}
	for _, r := range repos {
		if r.TrustedRoot == nil {
			sel.SetAside = append(sel.SetAside, SetAside{Name: r.Name, NotImported: true})
			continue
		}
		f := r.Freshness(now)
		f.SetMaxAge(maxAge)
		ref := r.v.st.RefTime.UTC()
		if f.TooOld && r.v.pinned() {
			a := SetAside{Name: r.Name, Pinned: true, Age: f.Age, ReferenceTime: ref, MaxAge: maxAge}
			sel.Warnings = append(sel.Warnings, a.tooOld()+"; not used: re-pin a current copy")
			sel.SetAside = append(sel.SetAside, a)
			continue
		}
		if f.TooOld {
			a := SetAside{Name: r.Name, Age: f.Age, ReferenceTime: ref, MaxAge: maxAge}
			sel.Warnings = append(sel.Warnings, a.tooOld()+"; not used: import fresher metadata")
			sel.SetAside = append(sel.SetAside, a)
			continue
		}
		var warnings []string
		if r.v.pinned() {
			warnings = append(warnings, pinnedWarning(r.Name, ref, now))
		}
		if f.Stale {
			exp := r.v.tm.Timestamp.Signed.Expires.UTC().Format(time.RFC3339)
			warnings = append(warnings, fmt.Sprintf("trust from repository %q is stale: its timestamp expired %s (%s ago); verified as of %s", r.Name, exp, FormatAge(f.StaleFor), ref.Format(time.RFC3339)))
		}
		if f.RootExpired {
			// Said on its own: a timestamp can outlive the root, and an
			// expired root is TUF's own sign that keys may have moved on.
			exp := r.v.tm.Root.Signed.Expires.UTC()
			warnings = append(warnings, fmt.Sprintf("the root of repository %q expired %s (%s ago): its keys may have been rotated since; verified as of %s", r.Name, exp.Format(time.RFC3339), FormatAge(now.Sub(exp)), ref.Format(time.RFC3339)))
		}
		sel.Warnings = append(sel.Warnings, warnings...)
		sel.Repos = append(sel.Repos, r)
		sel.Sources = append(sel.Sources, Source{Name: r.Name, Material: r.TrustedRoot, Warnings: warnings})
	}
	if len(sel.Repos) > 0 {
		return sel, nil
	}
	if err := sel.StaleError(); err != nil {
		return sel, err
	}
	return sel, ErrNoTrust
}

// tooOld says why a repository was set aside for its age.
func (a SetAside) tooOld() string {
	if a.Pinned {
		return fmt.Sprintf("trust from repository %q is %s old (a trusted root pinned %s), over the limit of %s",
			a.Name, FormatAge(a.Age), a.ReferenceTime.UTC().Format(time.RFC3339), FormatAge(a.MaxAge))
	}
	return fmt.Sprintf("trust from repository %q is %s old (verified as of %s), over the limit of %s",
		a.Name, FormatAge(a.Age), a.ReferenceTime.UTC().Format(time.RFC3339), FormatAge(a.MaxAge))
}

// StaleError is the error that names the repositories s set aside as older
// than its MaxAge (wrapping ErrStale, as Select's when none is left), or
// nil when none was. A caller whose remaining trust (another repository,
// a site log) did not vouch for evidence that the set-aside trust might
// have vouched for reports it: the evidence was not judged against the
// trust it may need.
func (s *Selection) StaleError() error {
	var tooOld []string
	for _, a := range s.SetAside {
		if !a.NotImported {
			tooOld = append(tooOld, a.tooOld())
		}
	}
	if len(tooOld) == 0 {
		return nil
	}
	sort.Strings(tooOld)
	return fmt.Errorf("%w: %s", ErrStale, strings.Join(tooOld, "; "))
}
