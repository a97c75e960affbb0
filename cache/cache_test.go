package cache

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestOpenEmptyFileIsNoDatabaseYet: the defect was that an empty file at
// the database path (AIRLOCK_DB=$(mktemp)) made every command fail with
// "write ...: bad file descriptor", since bbolt tried to initialise it
// through a read-only open. Read-only it is no database yet; read-write
// opens create the database in it.
func TestOpenEmptyFileIsNoDatabaseYet(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, Options{ReadOnly: true}); !errors.Is(err, ErrNotInitialized) {
		t.Fatalf("read-only open of an empty file: %v, want ErrNotInitialized", err)
	}
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("read-write open of an empty file: %v", err)
	}
	db.Close()
	db, err = Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("read-only open after creation: %v", err)
	}
	db.Close()
}

// TestOpenNotADatabase: the defect was that a directory or a file that is
// not a bbolt file at the database path said only "invalid database". Both
// are ErrNotDatabase, naming the path, and nothing is written to them.
func TestOpenNotADatabase(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(garbage, []byte("not a database, keep me\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{dir, garbage} {
		for _, ro := range []bool{true, false} {
			_, err := Open(path, Options{ReadOnly: ro})
			if !errors.Is(err, ErrNotDatabase) {
				t.Errorf("Open(%q, ReadOnly=%v): %v, want ErrNotDatabase", path, ro, err)
			}
		}
	}
	if got, _ := os.ReadFile(garbage); string(got) != "not a database, keep me\n" {
		t.Errorf("the file was changed: %q", got)
	}
}
