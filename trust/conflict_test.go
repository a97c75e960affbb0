package trust_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/airlock-project/airlock/cache"
	"github.com/airlock-project/airlock/trust"
)

// hookMedium is a real medium that runs a hook before serving one name.
type hookMedium struct {
	trust.Medium
	name string
	hook func()
}

func (m *hookMedium) Read(ctx context.Context, name string, limit int64) ([]byte, error) {
	if name == m.name && m.hook != nil {
		h := m.hook
		m.hook = nil
		h()
	}
	return m.Medium.Read(ctx, name, limit)
}

// TestConcurrentUpdates: with TUFFile no lock is held while the medium is
// read, so another update can commit in between; the slower one must then
// fail with ErrConflict instead of overwriting it.
func TestConcurrentUpdates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "airlock.db")
	s := dbStore{&cache.TUFFile{Path: path}}
	r := newRepo()
	initRepo(t, s, r)
	r.Publish()
	files := r.Clone()

	var other error
	slow := &hookMedium{Medium: medium(t, files), name: "timestamp.json", hook: func() {
		_, other = trust.Update(context.Background(), s, "site", medium(t, files), trust.UpdateOptions{Now: t0.Add(time.Hour)})
	}}
	_, err := trust.Update(context.Background(), s, "site", slow, trust.UpdateOptions{Now: t0.Add(time.Hour)})
	if other != nil {
		t.Fatalf("the update in between failed: %v", other)
	}
	if !errors.Is(err, trust.ErrConflict) {
		t.Fatalf("slower update: %v, want ErrConflict", err)
	}
	db, err := cache.Open(path, cache.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	recs, err := db.Audit()
	if err != nil || len(recs) != 2 {
		t.Errorf("audit: %d records, %v; want init and one update", len(recs), err)
	}
}

// TestUpdateCancelled: an interrupt (ctx cancelled) while the medium is
// being read stops the import, and nothing is committed.
func TestUpdateCancelled(t *testing.T) {
	s := openStore(t)
	r := newRepo()
	initRepo(t, s, r)
	r.Publish()
	ctx, cancel := context.WithCancel(context.Background())
	m := &hookMedium{Medium: medium(t, r.Clone()), name: "timestamp.json", hook: cancel}
	before := dump(t, s)
	if _, err := trust.Update(ctx, s, "site", m, trust.UpdateOptions{Now: t0.Add(time.Hour)}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled update: %v, want context.Canceled", err)
	}
	if dump(t, s) != before {
		t.Error("a cancelled update changed the database")
	}
}
