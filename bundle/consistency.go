package bundle

import (
	"bytes"
	"encoding/base64"
	"strconv"
	"strings"

	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
)

// checkTlogConsistency rejects a bundle whose log entries' unsigned
// fields contradict what is signed, before sigstore-go runs (it accepts
// some such Rekor v2 bundles). For every entry with an inclusion proof:
//
//   - the proof's tree size and root hash must be the checkpoint's (the
//     signed note the proof carries);
//   - for Rekor v2 entries, the entry's log index must be the proof's
//     (Rekor v1's public-good shards number entries across shards, so
//     there the two differ by the shard's offset; the SET signs the
//     entry's index and the proof the proof's);
//   - for Rekor v2 entries, the canonicalized body must be the leaf the
//     proof proves: sigstore-go proves the inclusion of the entry it
//     rebuilds from the bundle's signature, key and digest, so a body
//     that is not that leaf is not the entry rebuilt from the bundle's
//     content. (A Rekor v1 body is signed by the SET and proved by the
//     proof; sigstore-go then compares its signature, key and digest with
//     the bundle's.)
//
// The rejection's message names the field. A checkpoint that does not
// parse is left to sigstore-go, which rejects it.
func checkTlogConsistency(b *sgbundle.Bundle) error {
	for _, tle := range b.GetVerificationMaterial().GetTlogEntries() {
		p := tle.GetInclusionProof()
		if p == nil {
			continue
		}
		if size, root, ok := checkpointTree(p.GetCheckpoint().GetEnvelope()); ok {
			if p.GetTreeSize() != size {
				return Rejectf(ReasonTlogEntryInconsistent, "log entry %d: the inclusion proof's treeSize %d disagrees with its checkpoint's tree size %d", tle.GetLogIndex(), p.GetTreeSize(), size)
			}
			if !bytes.Equal(p.GetRootHash(), root) {
				return Rejectf(ReasonTlogEntryInconsistent, "log entry %d: the inclusion proof's rootHash disagrees with its checkpoint's root hash", tle.GetLogIndex())
			}
		}
		if !rekorV2(tle.GetKindVersion()) {
			continue
		}
		if tle.GetLogIndex() != p.GetLogIndex() {
			return Rejectf(ReasonTlogEntryInconsistent, "log entry %d: the entry's logIndex disagrees with its inclusion proof's logIndex %d", tle.GetLogIndex(), p.GetLogIndex())
		}
		if !bodyProved(tle.GetCanonicalizedBody(), p.GetLogIndex(), p.GetTreeSize(), p.GetHashes(), p.GetRootHash()) {
			return Rejectf(ReasonTlogEntryInconsistent, "log entry %d: the canonicalizedBody is not the entry its inclusion proof proves (it does not match the entry rebuilt from the bundle's content)", tle.GetLogIndex())
		}
	}
	return nil
}

// checkpointTree returns the tree size and root hash a checkpoint's note
// text states ("<origin>\n<size>\n<base64 root>\n..."); ok is false when
// it does not parse.
func checkpointTree(envelope string) (size int64, root []byte, ok bool) {
	text, _, found := strings.Cut(envelope, "\n\n")
	if !found {
		return 0, nil, false
	}
	lines := strings.Split(text, "\n")
	if len(lines) < 3 {
		return 0, nil, false
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 {
		return 0, nil, false
	}
	root, err = base64.StdEncoding.DecodeString(lines[2])
	if err != nil {
		return 0, nil, false
	}
	return size, root, true
}

// rekorV2 reports whether an entry is a Rekor v2 one: hashedrekord or
// dsse 0.0.2 (as sigstore-go tells them; Rekor v1's intoto 0.0.2 is not).
func rekorV2(kv interface {
	GetKind() string
	GetVersion() string
}) bool {
	return kv.GetVersion() == "0.0.2" && (kv.GetKind() == "hashedrekord" || kv.GetKind() == "dsse")
}
