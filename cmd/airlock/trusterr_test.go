package main

import (
	"bytes"
	"io/fs"
	"testing"

	"github.com/airlock-project/airlock/cache"
)

// TestDatabasePermissionDenied: the defect was that a database the user may
// not open said 'opening database "/x/a.db": open /x/a.db: permission
// denied' (the path twice) with no hint. (Tests run as root, for whom
// permissions do not apply, so the error is built as cache.Open builds it.)
func TestDatabasePermissionDenied(t *testing.T) {
	err := trustErr(&cache.OpenError{Path: "/x/a.db", Err: &fs.PathError{Op: "open", Path: "/x/a.db", Err: fs.ErrPermission}})
	var stderr bytes.Buffer
	if code := report(&stderr, err); code != exitFailed {
		t.Errorf("exit code %d, want %d", code, exitFailed)
	}
	got, want := stderr.String(), `airlock: error: opening database "/x/a.db": permission denied
airlock: hint: check the permissions of the database FILE and its directory, or choose another with --db (or AIRLOCK_DB)
`
	if got != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", got, want)
	}
	// Another file's permission error (a medium, say) gets no database hint.
	var other bytes.Buffer
	report(&other, trustErr(&fs.PathError{Op: "open", Path: "/media/tuf/timestamp.json", Err: fs.ErrPermission}))
	if bytes.Contains(other.Bytes(), []byte("hint")) {
		t.Errorf("a medium's permission error got a database hint: %s", other.String())
	}
}
