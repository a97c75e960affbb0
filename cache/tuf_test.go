package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func TestTUFStoreCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "airlock.db")
	f := &TUFFile{Path: path}
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)

	// Reading a database that does not exist yet: no repositories, no file.
	err := f.ReadTUF(func(repos map[string]map[string][]byte, blob func(string) []byte) error {
		if len(repos) != 0 || blob("00") != nil {
			t.Errorf("repos = %v", repos)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	data := []byte("target")
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	if err := f.CommitTUF("r", nil, map[string][]byte{"state": []byte("s1")}, map[string][]byte{sha: data}, "trust-init", now, nil); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		expect []byte
		blobs  map[string][]byte
		want   error
	}{
		{"repository_exists", nil, nil, ErrTUFConflict},
		{"state_changed_meanwhile", []byte("s0"), nil, ErrTUFConflict},
		{"blob_under_wrong_sha256", []byte("s1"), map[string][]byte{sha: []byte("other")}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := f.CommitTUF("r", tc.expect, map[string][]byte{"state": []byte("s2")}, tc.blobs, "trust-update", now, nil)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("commit: %v, want an error (%v)", err, tc.want)
			}
		})
	}
	// Nothing of the refused commits is there; the audit trail has one record.
	err = f.ReadTUF(func(repos map[string]map[string][]byte, blob func(string) []byte) error {
		if got := string(repos["r"]["state"]); got != "s1" {
			t.Errorf("state = %q, want s1", got)
		}
		if got := string(blob(sha)); got != "target" {
			t.Errorf("blob = %q", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	recs, err := db.Audit()
	if err != nil || len(recs) != 1 || recs[0].Kind != "trust-init" {
		t.Errorf("audit = %v, %v", recs, err)
	}
}
