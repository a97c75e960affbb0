package tlog

import (
	"fmt"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
)

// TransparencyLogEntry returns e as a bundle's tlog entry: the body, the
// SET as inclusion promise, and proof with the signed checkpoint of its
// tree as inclusion proof. logID is the log key's ID. The proof's index
// must be e's and the checkpoint's size and root must be the proof's: a
// bundle whose unsigned fields contradict the signed ones is refused by
// airlock's verifier, so none is made.
func TransparencyLogEntry(e *Entry, logID [32]byte, proof *InclusionProof, cp *SignedCheckpoint) (*protorekor.TransparencyLogEntry, error) {
	kind, version, err := KindVersion(e.Body)
	if err != nil {
		return nil, err
	}
	if proof.Index != e.Index {
		return nil, fmt.Errorf("inclusion proof is for entry %d, not %d", proof.Index, e.Index)
	}
	if cp.Size != proof.TreeSize || cp.Hash != proof.RootHash {
		return nil, fmt.Errorf("checkpoint of size %d does not sign the proof's tree of size %d", cp.Size, proof.TreeSize)
	}
	hashes := make([][]byte, len(proof.Hashes))
	for i := range proof.Hashes {
		hashes[i] = proof.Hashes[i][:]
	}
	return &protorekor.TransparencyLogEntry{
		LogIndex:          e.Index,
		LogId:             &protocommon.LogId{KeyId: logID[:]},
		KindVersion:       &protorekor.KindVersion{Kind: kind, Version: version},
		IntegratedTime:    e.IntegratedTime,
		InclusionPromise:  &protorekor.InclusionPromise{SignedEntryTimestamp: e.SET},
		CanonicalizedBody: e.Body,
		InclusionProof: &protorekor.InclusionProof{
			LogIndex:   proof.Index,
			RootHash:   proof.RootHash[:],
			TreeSize:   proof.TreeSize,
			Hashes:     hashes,
			Checkpoint: &protorekor.Checkpoint{Envelope: string(cp.Note)},
		},
	}, nil
}

// TransparencyLogEntry returns entry i of the batch for its bundle, with
// its proof against the batch's checkpoint.
func (b *Batch) TransparencyLogEntry(i int) (*protorekor.TransparencyLogEntry, error) {
	return TransparencyLogEntry(&b.Entries[i], b.logID, &b.Proofs[i], &b.Checkpoint)
}
