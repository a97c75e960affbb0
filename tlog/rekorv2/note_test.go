package rekorv2_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/airlock-project/airlock/tlog/rekorv2"
)

// An Ed25519 log key gets the standard signed-note key hash, so a
// checkpoint signed with golang.org/x/mod/sumdb/note verifies.
func TestNoteVerifierEd25519(t *testing.T) {
	skey, vkey, err := note.GenerateKey(rand.Reader, "log.example")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.SplitN(vkey, "+", 3)[2]) // name+hash+key
	if err != nil {
		t.Fatal(err)
	}
	pub := ed25519.PublicKey(raw[1:]) // after the algorithm byte
	v, err := rekorv2.NoteVerifier("log.example", pub)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := v.KeyHash(), signer.KeyHash(); got != want {
		t.Fatalf("key hash %08x, want %08x", got, want)
	}
	msg, err := note.Sign(&note.Note{Text: "log.example\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"}, signer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := note.Open(msg, note.VerifierList(v)); err != nil {
		t.Fatalf("checkpoint signed by the log key does not verify: %v", err)
	}
	other, err := rekorv2.NoteVerifier("other.example", pub)
	if err != nil {
		t.Fatal(err)
	}
	if other.KeyHash() == v.KeyHash() {
		t.Errorf("the Ed25519 key hash does not depend on the origin")
	}
}
