// Package tlog is the site transparency log: Rekor v1 compatible entries,
// signed entry timestamps and checkpoints, and an append-only Merkle log
// kept in a Store (package cache's bbolt file), so that bundles signed in
// an offline room carry log evidence that cosign and sigstore-go accept
// once the trusted root lists the log key.
//
// Entries. HashedRekordBody and DSSEBody return the canonicalized bodies
// of hashedrekord 0.0.1 and dsse 0.0.1 entries, byte for byte as Rekor v1
// stores them (RFC 8785 JSON; verifiers are PEM, base64 in the body). A
// body is the Merkle leaf: leaf hash SHA-256(0x00 || body), node hash
// SHA-256(0x01 || left || right) (RFC 6962), tree maths by
// golang.org/x/mod/sumdb/tlog.
//
// Keys. The log key is ECDSA P-256 (a crypto.Signer: the HSM key). Its
// log ID is the SHA-256 of its PKIX DER; a checkpoint signature's key hint
// is the first 4 bytes of that ID.
//
// SET. A signed entry timestamp is an ASN.1 ECDSA signature over the
// SHA-256 of the canonical JSON
// {"body":"<base64 body>","integratedTime":<unix s>,"logID":"<hex log ID>","logIndex":<index>}.
//
// Checkpoints. A checkpoint is a signed note whose text is
// "<origin> - <tree id>\n<size>\n<base64 root hash>\n" and whose
// signature line is "— <origin> <base64(key hint || ASN.1 signature over
// SHA-256(text))>\n" after a blank line. ParseCheckpoint reads at most
// MaxCheckpointSize bytes and also keeps the extra lines older Rekor
// checkpoints carry; OpenCheckpoint checks the signature.
//
// The log. Create stores the metadata (Meta: origin, tree id, key, time,
// schema) and a checkpoint of size 0. Prepare computes a batch outside
// any transaction: indexes, stored hashes, the inclusion proof of every
// entry in the new tree, the signed checkpoint and the SETs, checking each
// signature. Append commits the batch in one store transaction only if
// the log has not moved (compare-and-swap); otherwise it returns
// ErrWriteConflict and nothing changed. TransparencyLogEntry turns an
// entry, its proof and checkpoint into a bundle's tlog entry.
//
// Rotation. PrepareRotation and CommitRotation (RotateKey) retire the
// current key at a whole second T for a new one: the old key signs a
// handover note naming the new key (VerifyHandover, Meta.FollowHandovers),
// the new key signs the head again, and the metadata keeps each retired
// key with its window (Meta.Keys) and part of the tree (EntryKey), so
// that entries and checkpoints it signed keep verifying.
//
// Tiles. TilePath, ReadTile, ExportTiles and TileHandler publish the log
// as C2SP tlog-tiles (checkpoint, tile/<L>/<N>[.p/<W>] hash tiles of
// height 8, tile/entries/<N>[.p/<W>] entry bundles of uint16-length-prefixed
// bodies) for standard tile clients, on disk or over HTTP, read-only.
//
// Times are parameters; nothing here reads a clock, prints or touches the
// network. Verification of bundles stays sigstore-go's.
package tlog
