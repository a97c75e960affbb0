package tlog_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"

	"github.com/airlock-project/airlock/tlog"
)

// TestConsistencyAgainstMerkle: for every pair of sizes of a tree of 70
// leaves, VerifyConsistency accepts transparency-dev/merkle's proof, and
// both reject the proof with any hash flipped.
func TestConsistencyAgainstMerkle(t *testing.T) {
	tree := testonly.New(rfc6962.DefaultHasher)
	for i := 0; i < 70; i++ {
		tree.AppendData(fmt.Appendf(nil, "leaf %d", i))
	}
	for to := uint64(1); to <= tree.Size(); to++ {
		for from := uint64(1); from <= to; from++ {
			hs, err := tree.ConsistencyProof(from, to)
			if err != nil {
				t.Fatal(err)
			}
			p := tlog.ConsistencyProof{Origin: "x", From: int64(from), To: int64(to)}
			for _, h := range hs {
				p.Hashes = append(p.Hashes, tlog.Hash(h))
			}
			r1, r2 := tlog.Hash(tree.HashAt(from)), tlog.Hash(tree.HashAt(to))
			if err := tlog.VerifyConsistency(p, r1, r2); err != nil {
				t.Fatalf("%d to %d: %v", from, to, err)
			}
			// Text form round trip.
			text, err := p.MarshalText()
			if err != nil {
				t.Fatal(err)
			}
			back, err := tlog.ParseProof(text, "x", int64(to))
			if err != nil || back.From != p.From || len(back.Hashes) != len(p.Hashes) {
				t.Fatalf("%d to %d: text round trip: %v", from, to, err)
			}
			for i := range p.Hashes {
				bad := p
				bad.Hashes = append([]tlog.Hash(nil), p.Hashes...)
				bad.Hashes[i][31] ^= 0x80
				if err := tlog.VerifyConsistency(bad, r1, r2); !errors.Is(err, tlog.ErrInconsistent) {
					t.Fatalf("%d to %d, hash %d flipped: got %v", from, to, i, err)
				}
				raw := make([][]byte, len(bad.Hashes))
				for j := range bad.Hashes {
					raw[j] = bad.Hashes[j][:]
				}
				if proof.VerifyConsistency(rfc6962.DefaultHasher, from, to, raw, r1[:], r2[:]) == nil {
					t.Fatalf("%d to %d: merkle accepts what tlog rejects", from, to)
				}
			}
			if from < to {
				// A proof for other roots fails.
				if err := tlog.VerifyConsistency(p, r2, r1); err == nil {
					t.Fatalf("%d to %d: roots swapped accepted", from, to)
				}
			}
		}
	}
}

// TestProofsFromSumdbVerifyWithMerkle: the proofs the site log makes
// (sumdb.ProveTree) verify with transparency-dev/merkle.
func TestProofsFromSumdbVerifyWithMerkle(t *testing.T) {
	tl := newLog(t)
	tl.append(t, bodies(0, 300))
	p := tl.pack(t, 1, 7, 8, 255, 256, 257, 299)
	to, _ := tlog.ParseNote(p.Logs[0].Checkpoint)
	for _, pr := range p.Logs[0].Proofs {
		from, err := tl.log.RootHash(t.Context(), pr.From)
		if err != nil {
			t.Fatal(err)
		}
		raw := make([][]byte, len(pr.Hashes))
		for i := range pr.Hashes {
			raw[i] = pr.Hashes[i][:]
		}
		if err := proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(pr.From), uint64(pr.To), raw, from[:], to.Root[:]); err != nil {
			t.Errorf("from %d: %v", pr.From, err)
		}
	}
}

func TestParseProofErrors(t *testing.T) {
	h := "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
	for name, text := range map[string]string{
		"empty":           "",
		"no_newline":      "old 3",
		"leading_zero":    "old 03\n",
		"negative":        "old -3\n",
		"past_the_tree":   "old 11\n",
		"short_hash":      "old 3\nAAAA\n",
		"blank_line":      "old 3\n\n" + h + "\n",
		"crlf":            "old 3\r\n" + h + "\r\n",
		"not_old":         "new 3\n",
		"too_many_hashes": "old 3\n" + string(bytes.Repeat([]byte(h+"\n"), tlog.MaxProofHashes+1)),
	} {
		if _, err := tlog.ParseProof([]byte(text), "x", 10); !errors.Is(err, tlog.ErrMalformedProof) {
			t.Errorf("%s: got %v, want ErrMalformedProof", name, err)
		}
	}
}
