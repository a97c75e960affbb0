package trust_test

import (
	"github.com/airlock-project/airlock/cache"
	"github.com/airlock-project/airlock/trust"
)

// dbStore is the database as trust.Store, wired as the command line wires
// it (cmd/airlock's trustStore): cache speaks its own types.
type dbStore struct {
	cache interface {
		ReadTUF(fn func(repos map[string]map[string][]byte, blob func(string) []byte) error) error
		CommitTUF(c cache.TUFCommit) (bool, error)
	}
}

func (s dbStore) ReadTUF(fn func(repos map[string]map[string][]byte, blob func(string) []byte) error) error {
	return s.cache.ReadTUF(fn)
}

func (s dbStore) CommitTUF(c trust.Commit) (bool, error) {
	return s.cache.CommitTUF(cache.TUFCommit{
		Repo: c.Repository, ExpectState: c.ExpectState, Set: c.Set, Blobs: c.Blobs,
		Audit: cache.AuditRecord{Kind: c.Audit.Kind, Time: c.Audit.Time, Fields: c.Audit.Fields},
	})
}
