package trust

import (
	"errors"
	"fmt"
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

// ParseMaxAge parses a trust age limit: a Go duration ("720h", "90m") or a
// whole number of days ("30d"). It must be positive.
// maxAgeDays bounds the days form of a trust age (a century).
const maxAgeDays = 100 * 365

func ParseMaxAge(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.ParseUint(n, 10, 32)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("invalid trust age %q: want days like 30d or a duration like 720h", s)
		}
		if err != nil || days > maxAgeDays {
			return 0, fmt.Errorf("invalid trust age %q: at most %dd", s, maxAgeDays)
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		var err error
		d, err = time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("invalid trust age %q: want days like 30d or a duration like 720h", s)
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("invalid trust age %q: must be positive", s)
	}
	return d, nil
}

// Selection is the trust a verification may use.
type Selection struct {
	// Repos are the usable repositories, in the order to try them.
	Repos []*Repo
	// Warnings say what is stale (past the timestamp's expiry) or was left
	// out (past maxAge).
	Warnings []string
}

// Select picks the repositories a verification at now may use: those with
// an imported trusted root whose age is within maxAge. Stale ones (past
// their timestamp's expiry) are used with a warning; ones past maxAge are
// left out with a warning, and if none is left the error wraps ErrStale.
// No imported repository at all is ErrNoTrust.
func Select(repos []*Repo, now time.Time, maxAge time.Duration) (*Selection, error) {
	sel := &Selection{}
	var tooOld []string
	for _, r := range repos {
		if r.TrustedRoot == nil {
			continue
		}
		f := r.Freshness(now)
		f.SetMaxAge(maxAge)
		ref := r.v.st.RefTime.UTC().Format(time.RFC3339)
		if f.TooOld {
			msg := fmt.Sprintf("trust from repository %q is %s old (verified as of %s), over the limit of %s", r.Name, FormatAge(f.Age), ref, FormatAge(maxAge))
			tooOld = append(tooOld, msg)
			sel.Warnings = append(sel.Warnings, msg+"; not used")
			continue
		}
		if f.Stale {
			exp := r.v.tm.Timestamp.Signed.Expires.UTC().Format(time.RFC3339)
			sel.Warnings = append(sel.Warnings, fmt.Sprintf("trust from repository %q is stale: its timestamp expired %s (%s ago); verified as of %s", r.Name, exp, FormatAge(f.StaleFor), ref))
		}
		sel.Repos = append(sel.Repos, r)
	}
	if len(sel.Repos) > 0 {
		return sel, nil
	}
	if len(tooOld) > 0 {
		sort.Strings(tooOld)
		return sel, fmt.Errorf("%w: %s", ErrStale, strings.Join(tooOld, "; "))
	}
	return sel, ErrNoTrust
}
