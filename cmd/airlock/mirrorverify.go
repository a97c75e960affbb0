package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/airlock-project/airlock/bundle"
	"github.com/airlock-project/airlock/cache"
	"github.com/airlock-project/airlock/tlog"
)

// mirrorFlags are the verification commands' flags for the checkpoint
// mirror (issue 11; docs/mirror-verify.md).
func mirrorFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "require-mirrored", Usage: "reject a bundle whose log checkpoint the database's mirror does not vouch for (newer than the mirror, older with no consistency proof, or of a log not mirrored) instead of warning; needs database trust"},
		&cli.StringFlag{Name: "witness-policy", Usage: "witness policy `FILE` (C2SP tlog-policy text) the checkpoints must meet (default: the policy stored with 'airlock checkpoints policy set'); needs database trust"},
	}
}

// checkMirrorFlags rejects the mirror flags where no mirror is consulted:
// with --trusted-root FILE trust comes from the file alone, and the
// mirror is in the database.
func checkMirrorFlags(c *cli.Context) error {
	if c.String("trusted-root") == "" {
		return nil
	}
	for _, f := range []string{"require-mirrored", "witness-policy"} {
		if c.IsSet(f) {
			return withHint(usageErrorf("--%s and --trusted-root cannot be used together: the checkpoint mirror is in the database, and --trusted-root does not consult it", f),
				"drop --trusted-root to verify with the database's trust and its mirror")
		}
	}
	return nil
}

// mirrorOptions sets o's mirror check for a verification with the trust
// of the database at path, from --require-mirrored and --witness-policy.
func mirrorOptions(c *cli.Context, path string, o *bundle.Options) error {
	return setMirror(c.Context, path, c.String("witness-policy"), c.Bool("require-mirrored"), o)
}

// setMirror sets o's mirror check against the database at path: the site
// log held there is its own mirror, every other log's checkpoints are
// checked against the mirrored ones. The witness policy is the file
// witnessPolicy, else the one stored in the database (none if none).
func setMirror(ctx context.Context, path, witnessPolicy string, require bool, o *bundle.Options) error {
	m := &dbMirror{path: path, memo: map[claimKey]memoCheck{}, origins: map[string]originMirror{}}
	var text []byte
	what := "the stored witness policy"
	if witnessPolicy != "" {
		what = fmt.Sprintf("witness policy %q", witnessPolicy)
		var err error
		if text, err = os.ReadFile(witnessPolicy); err != nil {
			return fmt.Errorf("reading witness policy: %w", err)
		}
	}
	// One read for the site log's name and the stored policy.
	err := m.read(ctx, func(db *cache.DB) error {
		l, err := tlog.Open(ctx, &cache.SiteLog{DB: db})
		switch {
		case errors.Is(err, tlog.ErrNoLog):
		case err != nil:
			return siteLogTrustErr(err)
		default:
			meta := l.Meta()
			m.siteOrigin = fmt.Sprintf("%s - %d", meta.Origin, meta.TreeID)
		}
		if witnessPolicy == "" {
			if text, err = mirrorStore(db).WitnessPolicy(ctx); err != nil {
				return trustErr(fmt.Errorf("reading the stored witness policy: %w", err))
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if m.siteOrigin != "" {
		o.WitnessExempt = []string{m.siteOrigin}
	}
	o.Mirror = m
	o.RequireMirrored = require
	if text != nil {
		if o.Witness, err = tlog.ParseWitnessPolicy(text); err != nil {
			return usageErrorf("%s: %v", what, err)
		}
	}
	return nil
}

// dbMirror is the database's checkpoint mirror as the verifier checks
// against it. The database is opened read-only for each check and closed
// after, so no lock is held while artifacts are hashed; each distinct
// checkpoint is checked once per run.
type dbMirror struct {
	path string
	// siteOrigin names the database's site log on its checkpoints ("" if
	// it holds none): that log is its own mirror.
	siteOrigin string

	mu   sync.Mutex
	memo map[claimKey]memoCheck
	// origins holds each origin's mirror, read once per run: a batch's
	// checkpoints of one log cost one open of the database, not one each.
	origins map[string]originMirror
	// noMemo checks every claim afresh (benchmarks: the cost of a batch
	// whose bundles all have distinct checkpoints).
	noMemo bool
}

type claimKey struct {
	origin string
	size   int64
	root   tlog.Hash
}

type memoCheck struct {
	mc  *tlog.MirrorCheck
	err error
}

// read runs fn on a read-only open of the database, closed after.
func (m *dbMirror) read(ctx context.Context, fn func(db *cache.DB) error) error {
	db, err := cache.Open(m.path, cache.Options{ReadOnly: true})
	if err != nil {
		return trustErr(err)
	}
	defer db.Close()
	return fn(db)
}

// CheckCheckpoint is bundle.MirrorChecker's: the site log's checkpoints
// against the log itself, any other against the mirrored ones.
func (m *dbMirror) CheckCheckpoint(ctx context.Context, c tlog.Claim) (*tlog.MirrorCheck, error) {
	k := claimKey{c.Origin, c.Size, c.Root}
	m.mu.Lock()
	r, ok := m.memo[k]
	m.mu.Unlock()
	if ok && !m.noMemo {
		return r.mc, r.err
	}
	if m.siteOrigin != "" && c.Origin == m.siteOrigin {
		r.err = m.read(ctx, func(db *cache.DB) error {
			l, err := tlog.Open(ctx, &cache.SiteLog{DB: db})
			if err == nil {
				r.mc, err = l.CheckClaim(ctx, c)
			}
			return err
		})
	} else {
		var om originMirror
		if om, r.err = m.originMirror(ctx, c.Origin); r.err == nil {
			r.mc, r.err = tlog.CheckMirror(ctx, om, c)
		}
	}
	if r.err != nil && !errors.Is(r.err, tlog.ErrInconsistent) {
		// Not remembered: a busy database may answer the next time.
		return nil, r.err
	}
	m.mu.Lock()
	m.memo[k] = r
	m.mu.Unlock()
	return r.mc, r.err
}

// originMirror returns origin's mirror, read from the database the first
// time (under m.mu: concurrent workers wait for one read).
func (m *dbMirror) originMirror(ctx context.Context, origin string) (originMirror, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if om, ok := m.origins[origin]; ok {
		return om, nil
	}
	om := originMirror{origin: origin}
	err := m.read(ctx, func(db *cache.DB) error {
		var err error
		om.o, err = (&cache.MirrorStore{DB: db}).ReadMirrorOrigin(ctx, origin)
		return err
	})
	if err != nil {
		return originMirror{}, err
	}
	m.origins[origin] = om
	return om, nil
}

// originMirror is one origin's mirror read at once
// (cache.ReadMirrorOrigin), as the tlog.MirrorReader CheckMirror reads:
// the origin's latest checkpoint, history and proofs; no other origin's,
// no evidence, no policy.
type originMirror struct {
	origin string
	o      *cache.MirrorOrigin // nil: the origin is not mirrored
}

func (m originMirror) has(origin string) bool { return m.o != nil && origin == m.origin }

func (m originMirror) MirrorOrigins(context.Context) ([]string, error) {
	if m.o == nil {
		return nil, nil
	}
	return []string{m.origin}, nil
}

func (m originMirror) MirrorLatest(_ context.Context, origin string) ([]byte, error) {
	if !m.has(origin) {
		return nil, nil
	}
	return m.o.Latest, nil
}

func (m originMirror) MirrorCheckpointAt(_ context.Context, origin string, size int64) ([]byte, error) {
	if !m.has(origin) {
		return nil, nil
	}
	return m.o.History[size], nil
}

func (m originMirror) MirrorSizes(_ context.Context, origin string) ([]int64, error) {
	if !m.has(origin) {
		return nil, nil
	}
	return slices.Sorted(maps.Keys(m.o.History)), nil
}

func (m originMirror) MirrorProofsFrom(_ context.Context, origin string, from int64) (map[int64][]byte, error) {
	if !m.has(origin) {
		return map[int64][]byte{}, nil
	}
	return maps.Clone(m.o.Proofs[from]), nil
}

func (originMirror) MirrorEvidence(context.Context, string) ([][]byte, error) { return nil, nil }

func (originMirror) WitnessPolicy(context.Context) ([]byte, error) { return nil, nil }

// recordOnce records the evidence of sv unless the same evidence is
// recorded already (the same bundle verified again).
func recordOnce(ctx context.Context, s tlog.MirrorStore, sv *bundle.SplitViewError, source string, now time.Time) error {
	_, stored, err := tlog.ListMirror(ctx, s, sv.Err.Origin)
	if err != nil {
		return err
	}
	for _, e := range stored {
		if e.Evidence == sv.Evidence() {
			return nil
		}
	}
	return tlog.RecordEvidence(ctx, s, sv.Err, source, now)
}

// recordSplitViews stores the evidence of each split view among results
// in the database at path (tlog.RecordEvidence, with an audit record),
// so that 'airlock checkpoints list' shows it to whoever comes next (once:
// evidence already recorded is not recorded again). The
// verdict does not depend on it: a database that cannot be written (a
// read-only copy, a busy one) leaves a warning on the item instead.
func recordSplitViews(c *cli.Context, path string, items []bundle.Item, results []bundle.ItemResult, now time.Time) {
	var store tlog.MirrorStore
	recorded := map[string]bool{}
	for i, ir := range results {
		var sv *bundle.SplitViewError
		if !errors.As(ir.Err, &sv) || recorded[sv.Evidence()] {
			continue
		}
		if store == nil {
			// Read-only until the write, which opens the file
			// read-write for its one transaction (cache.MirrorFile).
			f, done := mirrorFile(path)
			defer done()
			store = f
		}
		if err := recordOnce(c.Context, store, sv, "bundle "+items[i].Evidence, now); err != nil {
			if ir.Result != nil {
				ir.Result.Warnings = append(ir.Result.Warnings, fmt.Sprintf("the evidence of the split view was not recorded in the database: %v", err))
			}
			continue
		}
		recorded[sv.Evidence()] = true
	}
}
