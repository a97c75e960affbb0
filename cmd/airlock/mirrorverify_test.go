package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"

	"github.com/airlock-project/airlock/tlog"
)

func init() {
	scriptCmds["witness"] = cmdWitness
}

// bundleCheckpoint is the checkpoint note of the first log entry with
// one in the bundle at path.
func bundleCheckpoint(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var b struct {
		VerificationMaterial struct {
			TlogEntries []struct {
				InclusionProof struct {
					Checkpoint struct{ Envelope string }
				}
			}
		}
	}
	if err := json.Unmarshal(data, &b); err != nil {
		return "", err
	}
	for _, e := range b.VerificationMaterial.TlogEntries {
		if cp := e.InclusionProof.Checkpoint.Envelope; cp != "" {
			return cp, nil
		}
	}
	return "", fmt.Errorf("%s: no log entry with a checkpoint", path)
}

// checkpointPack is a mirror pack holding the checkpoint note cp alone.
func checkpointPack(cp []byte) ([]byte, error) {
	var buf bytes.Buffer
	p := &tlog.Pack{Logs: []tlog.PackLog{{Checkpoint: cp}}}
	_, err := p.WriteTo(&buf)
	return buf.Bytes(), err
}

// witness keygen NAME SKEY POLICY: an Ed25519 witness key (cosignature/v1)
// named NAME: its signer key in SKEY, and a witness policy in POLICY
// whose quorum is that one witness.
//
// witness cosign SKEY NOTE OUT: NOTE (a signed checkpoint) with the
// cosignature of the witness whose signer key is in SKEY, to OUT.
func cmdWitness(ts *testscript.TestScript, neg bool, args []string) {
	switch {
	case !neg && len(args) == 4 && args[0] == "keygen":
		skey, vkey, err := note.GenerateKey(rand.Reader, args[1])
		ts.Check(err)
		cv, err := fnote.VKeyToCosignatureV1(vkey)
		ts.Check(err)
		ts.Check(os.WriteFile(ts.MkAbs(args[2]), []byte(skey+"\n"), 0o600))
		policy := fmt.Sprintf("witness %s %s\nquorum %s\n", args[1], cv, args[1])
		ts.Check(os.WriteFile(ts.MkAbs(args[3]), []byte(policy), 0o644))
	case !neg && len(args) == 4 && args[0] == "cosign":
		signed := cosign(ts, []byte(ts.ReadFile(args[2])), strings.TrimSpace(ts.ReadFile(args[1])))
		ts.Check(os.WriteFile(ts.MkAbs(args[3]), signed, 0o644))
	default:
		ts.Fatalf("usage: witness keygen NAME SKEY POLICY | witness cosign SKEY NOTE OUT")
	}
}

// cosign appends the cosignature/v1 of the witness with signer key skey
// to the signed note.
func cosign(ts *testscript.TestScript, signed []byte, skey string) []byte {
	s, err := fnote.NewSignerForCosignatureV1(skey)
	ts.Check(err)
	text, _, ok := bytes.Cut(signed, []byte("\n\n"))
	if !ok {
		ts.Fatalf("not a signed note")
	}
	sig, err := s.Sign(append(text, '\n'))
	ts.Check(err)
	line := binary.BigEndian.AppendUint32(nil, s.KeyHash())
	return fmt.Appendf(signed, "\u2014 %s %s\n", s.Name(), base64.StdEncoding.EncodeToString(append(line, sig...)))
}
