package tlog_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"reflect"
	"strings"
	"testing"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"

	"github.com/airlock-project/airlock/tlog"
	"github.com/airlock-project/airlock/tlog/sitelogtest"
)

// witness is a cosignature/v1 witness: its signer and its vkey.
type witness struct {
	signer note.Signer
	vkey   string
}

func newWitness(t testing.TB, name string) witness {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := fnote.NewSignerForCosignatureV1(skey)
	if err != nil {
		t.Fatal(err)
	}
	cv, err := fnote.VKeyToCosignatureV1(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return witness{signer: s, vkey: cv}
}

// cosign adds w's cosignature line to the signed note.
func (w witness) cosign(t testing.TB, signed []byte) []byte {
	t.Helper()
	n, err := tlog.ParseNote(signed)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := w.signer.Sign(n.Text)
	if err != nil {
		t.Fatal(err)
	}
	var hint [4]byte
	h := w.signer.KeyHash()
	hint[0], hint[1], hint[2], hint[3] = byte(h>>24), byte(h>>16), byte(h>>8), byte(h)
	return append(append([]byte{}, signed...), []byte("\u2014 "+w.signer.Name()+" "+b64(append(hint[:], sig...))+"\n")...)
}

func TestWitnessPolicy(t *testing.T) {
	w1, w2, w3 := newWitness(t, "w1.example"), newWitness(t, "w2.example"), newWitness(t, "w3.example")
	text := "# two of three\n" +
		"witness one " + w1.vkey + " https://w1.example\n" +
		"witness two " + w2.vkey + "\n" +
		"witness three " + w3.vkey + "\n" +
		"group g 2 one two three\n" +
		"quorum g\n"
	p, err := tlog.ParseWitnessPolicy([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	tl := newLog(t)
	tl.append(t, bodies(0, 4))
	cp := tl.pack(t).Logs[0].Checkpoint
	check := func(signed []byte) ([]string, error) {
		n, err := tlog.ParseNote(signed)
		if err != nil {
			t.Fatal(err)
		}
		return p.Check(n)
	}
	if _, err := check(w1.cosign(t, cp)); !errors.Is(err, tlog.ErrNoQuorum) {
		t.Fatalf("one of three: got %v, want ErrNoQuorum", err)
	}
	got, err := check(w3.cosign(t, w1.cosign(t, cp)))
	if err != nil || !reflect.DeepEqual(got, []string{"one", "three"}) {
		t.Fatalf("two of three: %v, %v", got, err)
	}
	// A cosignature of another note does not count.
	other := tl.pack(t).Logs[0].Checkpoint
	tl.append(t, bodies(4, 1))
	moved := tl.pack(t, 4).Logs[0].Checkpoint
	stolen := w2.cosign(t, other)
	line := stolen[strings.LastIndex(string(stolen[:len(stolen)-1]), "\n")+1:]
	if _, err := check(append(w1.cosign(t, moved), line...)); !errors.Is(err, tlog.ErrNoQuorum) {
		t.Fatalf("a cosignature of another checkpoint counted: %v", err)
	}

	// Import under the policy: refused without the quorum, nothing stored.
	m := newMirror(t)
	opts := tlog.ImportOptions{Logs: []tlog.TrustedLog{sitelogtest.TrustedLog(tl.log)}, Witness: p, Source: "w.pack", Now: t0}
	pk := tl.pack(t)
	if _, err := tlog.ImportPack(context.Background(), m.store, pk, opts); !errors.Is(err, tlog.ErrNoQuorum) {
		t.Fatalf("import without a quorum: %v", err)
	}
	pk.Logs[0].Checkpoint = w2.cosign(t, w1.cosign(t, pk.Logs[0].Checkpoint))
	res, err := tlog.ImportPack(context.Background(), m.store, pk, opts)
	if err != nil || !reflect.DeepEqual(res.Logs[0].Cosigners, []string{"one", "two"}) {
		t.Fatalf("import with a quorum: %+v, %v", res, err)
	}
	if got := m.list(t)[0].Cosigners; !reflect.DeepEqual(got, []string{"one", "two"}) {
		t.Fatalf("stored cosigners %v", got)
	}
	// The stored policy applies when none is given.
	if err := m.store.SetWitnessPolicy(context.Background(), []byte(text), tlog.MirrorAudit{Kind: "checkpoints-policy", Time: t0}); err != nil {
		t.Fatal(err)
	}
	tl.append(t, bodies(5, 1))
	opts.Witness = nil
	if _, err := tlog.ImportPack(context.Background(), m.store, tl.pack(t, 5), opts); !errors.Is(err, tlog.ErrNoQuorum) {
		t.Fatalf("stored policy not applied: %v", err)
	}
}

func TestParseWitnessPolicyErrors(t *testing.T) {
	w := newWitness(t, "w.example")
	for name, text := range map[string]string{
		"no_quorum":          "witness a " + w.vkey + "\n",
		"undefined_member":   "witness a " + w.vkey + "\ngroup g 1 a b\nquorum g\n",
		"undefined_quorum":   "quorum x\n",
		"twice":              "witness a " + w.vkey + "\nwitness a " + w.vkey + "\nquorum a\n",
		"threshold_too_high": "witness a " + w.vkey + "\ngroup g 2 a\nquorum g\n",
		"bad_key_hash":       "witness a " + strings.Replace(w.vkey, "+", "+0", 1)[:len(w.vkey)] + "\nquorum a\n",
		"unknown_keyword":    "witnesses a " + w.vkey + "\nquorum a\n",
		"two_quorums":        "quorum none\nquorum none\n",
		"reserved_name":      "witness none " + w.vkey + "\nquorum none\n",
	} {
		if _, err := tlog.ParseWitnessPolicy([]byte(text)); !errors.Is(err, tlog.ErrMalformedPolicy) {
			t.Errorf("%s: got %v, want ErrMalformedPolicy", name, err)
		}
	}
	if _, err := tlog.ParseWitnessPolicy([]byte("quorum none\n")); err != nil {
		t.Errorf("quorum none: %v", err)
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
