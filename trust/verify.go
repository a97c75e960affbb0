package trust

import (
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/trustedmetadata"
	"golang.org/x/sync/errgroup"
)

// verifiedState is stored metadata after verifyState.
type verifiedState struct {
	tm    *trustedmetadata.TrustedMetadata
	chain []int64
}

// verifyState checks one stored state: the root chain from the anchor
// (chain[0], already pinned by the caller), each root signed by a threshold of its predecessor's keys and
// of its own and exactly one version newer; then, if ts is not nil, the
// timestamp, snapshot and targets against the final root, their
// lengths, hashes and versions as each names the next, and that nothing is
// expired at ref. These are trustedmetadata's checks for one state (with no
// previous state to roll back from); they are done here so that the
// independent signature checks, which dominate the cost of loading trust,
// run in parallel.
func verifyState(chain [][]byte, ts, snap, targets []byte, ref time.Time) (*verifiedState, error) {
	if len(chain) == 0 {
		return nil, errors.New("no anchor root")
	}
	if (ts == nil) != (snap == nil) || (ts == nil) != (targets == nil) {
		return nil, errors.New("timestamp, snapshot and targets must be stored together")
	}
	roots := make([]*metadata.Metadata[metadata.RootType], len(chain))
	var (
		tsMeta   *metadata.Metadata[metadata.TimestampType]
		snapMeta *metadata.Metadata[metadata.SnapshotType]
		tgMeta   *metadata.Metadata[metadata.TargetsType]
	)
	// 1. Parse everything.
	var jobs []func() error
	for i := range chain {
		jobs = append(jobs, func() error {
			r, err := metadata.Root().FromBytes(chain[i])
			if err != nil {
				return fmt.Errorf("root at chain position %d: %w", i, err)
			}
			if r.Signed.Type != metadata.ROOT {
				return fmt.Errorf("root at chain position %d is a %q", i, r.Signed.Type)
			}
			roots[i] = r
			return nil
		})
	}
	if ts != nil {
		jobs = append(jobs, func() (err error) {
			tsMeta, err = metadata.Timestamp().FromBytes(ts)
			if err == nil && tsMeta.Signed.Type != metadata.TIMESTAMP {
				err = fmt.Errorf("timestamp is a %q", tsMeta.Signed.Type)
			}
			return err
		}, func() (err error) {
			snapMeta, err = metadata.Snapshot().FromBytes(snap)
			if err == nil && snapMeta.Signed.Type != metadata.SNAPSHOT {
				err = fmt.Errorf("snapshot is a %q", snapMeta.Signed.Type)
			}
			return err
		}, func() (err error) {
			tgMeta, err = metadata.Targets().FromBytes(targets)
			if err == nil && tgMeta.Signed.Type != metadata.TARGETS {
				err = fmt.Errorf("targets is a %q", tgMeta.Signed.Type)
			}
			return err
		})
	}
	if err := parallel(jobs); err != nil {
		return nil, err
	}

	// 2. Signatures, versions, lengths and hashes: every check independent.
	final := roots[len(roots)-1]
	jobs = jobs[:0]
	// The anchor's own signatures are not checked again: it was checked at
	// Init, and what pins it is its recorded sha256 (for public-good, the
	// copy compiled into airlock), not a signature anyone can make.
	for i := 1; i < len(roots); i++ {
		prev, next := roots[i-1], roots[i]
		if next.Signed.Version != prev.Signed.Version+1 {
			return nil, fmt.Errorf("root version %d follows %d", next.Signed.Version, prev.Signed.Version)
		}
		jobs = append(jobs, func() error {
			if err := prev.VerifyDelegate(metadata.ROOT, next); err != nil {
				return fmt.Errorf("root %d by root %d: %w", next.Signed.Version, prev.Signed.Version, err)
			}
			return nil
		}, func() error {
			if err := next.VerifyDelegate(metadata.ROOT, next); err != nil {
				return fmt.Errorf("root %d by itself: %w", next.Signed.Version, err)
			}
			return nil
		})
	}
	if ts != nil {
		sm := tsMeta.Signed.Meta["snapshot.json"]
		if sm == nil {
			return nil, errors.New("timestamp names no snapshot")
		}
		tm := snapMeta.Signed.Meta["targets.json"]
		if tm == nil {
			return nil, errors.New("snapshot names no targets")
		}
		jobs = append(jobs,
			func() error { return wrapRole("timestamp", final.VerifyDelegate(metadata.TIMESTAMP, tsMeta)) },
			func() error { return wrapRole("snapshot", final.VerifyDelegate(metadata.SNAPSHOT, snapMeta)) },
			func() error { return wrapRole("targets", final.VerifyDelegate(metadata.TARGETS, tgMeta)) },
			func() error { return wrapRole("snapshot", sm.VerifyLengthHashes(snap)) },
			func() error { return wrapRole("targets", tm.VerifyLengthHashes(targets)) },
		)
	}
	if err := parallel(jobs); err != nil {
		return nil, err
	}
	// 3. Versions and expiry, once the signatures are known good.
	if ts != nil {
		sm, tm := tsMeta.Signed.Meta["snapshot.json"], snapMeta.Signed.Meta["targets.json"]
		if final.Signed.IsExpired(ref) {
			return nil, fmt.Errorf("final root %d expired at the reference time %s", final.Signed.Version, ref.UTC().Format(time.RFC3339))
		}
		switch {
		case tsMeta.Signed.IsExpired(ref):
			return nil, errors.New("timestamp expired at the reference time")
		case snapMeta.Signed.IsExpired(ref):
			return nil, errors.New("snapshot expired at the reference time")
		case tgMeta.Signed.IsExpired(ref):
			return nil, errors.New("targets expired at the reference time")
		case snapMeta.Signed.Version != sm.Version:
			return nil, fmt.Errorf("snapshot version %d, timestamp names %d", snapMeta.Signed.Version, sm.Version)
		case tgMeta.Signed.Version != tm.Version:
			return nil, fmt.Errorf("targets version %d, snapshot names %d", tgMeta.Signed.Version, tm.Version)
		}
	}
	vs := &verifiedState{tm: &trustedmetadata.TrustedMetadata{
		Root:      final,
		Timestamp: tsMeta,
		Snapshot:  snapMeta,
		Targets:   map[string]*metadata.Metadata[metadata.TargetsType]{},
		RefTime:   ref,
	}}
	if tgMeta != nil {
		vs.tm.Targets[metadata.TARGETS] = tgMeta
	}
	for _, r := range roots {
		vs.chain = append(vs.chain, r.Signed.Version)
	}
	return vs, nil
}

func wrapRole(role string, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", role, err)
	}
	return nil
}

// parallel runs jobs on up to GOMAXPROCS goroutines and returns the first
// error in job order.
func parallel(jobs []func() error) error {
	errs := make([]error, len(jobs))
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, job := range jobs {
		g.Go(func() error {
			errs[i] = job()
			return nil
		})
	}
	g.Wait()
	return firstErr(errs)
}

func firstErr(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
