package cache

import (
	"crypto/sha256"
	"encoding/hex"
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
	init := TUFCommit{Repo: "r", Set: map[string][]byte{"state": []byte("s1")}, Blobs: map[string][]byte{sha: data}, Audit: AuditRecord{Kind: "trust-init", Time: now}}
	if ok, err := f.CommitTUF(init); !ok || err != nil {
		t.Fatalf("commit: %v, %v", ok, err)
	}
	// A failed compare-and-swap is ok == false with no error; a bad blob is
	// an error.
	tests := []struct {
		name    string
		expect  []byte
		blobs   map[string][]byte
		wantErr bool
	}{
		{"repository_exists", nil, nil, false},
		{"state_changed_meanwhile", []byte("s0"), nil, false},
		{"blob_under_wrong_sha256", []byte("s1"), map[string][]byte{sha: []byte("other")}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := TUFCommit{Repo: "r", ExpectState: tc.expect, Set: map[string][]byte{"state": []byte("s2")}, Blobs: tc.blobs, Audit: AuditRecord{Kind: "trust-update", Time: now}}
			ok, err := f.CommitTUF(c)
			if ok || (err != nil) != tc.wantErr {
				t.Fatalf("commit: ok %v, %v; want not ok, error %v", ok, err, tc.wantErr)
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
