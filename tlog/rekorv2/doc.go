// Package rekorv2 submits signatures to a Rekor v2 (rekor-tiles) log and
// refuses any response it cannot check.
//
// A Request is one hashedrekord v0.0.2 entry: a digest, a signature over it
// and the verifier (a public key or an X.509 certificate). rekor-tiles
// v2.3.0 accepts no other kind: a DSSE envelope is logged as a hashedrekord
// whose digest is the hash of the envelope's pre-authentication encoding
// (NewDSSE), which is what sigstore-go v1.3.0 rebuilds when it verifies.
//
// Submit posts a Request to POST {baseURL}/api/v2/log/entries and returns the
// server's TransparencyLogEntry only after Check accepted it:
//
//   - kindVersion is hashedrekord 0.0.2;
//   - logId is the log key's C2SP key hash (SHA-256 of the PKIX key for
//     ECDSA, the signed-note Ed25519 key hash otherwise);
//   - canonicalizedBody is byte for byte the canonical JSON of the entry
//     that was submitted (same digest, algorithm, signature and verifier):
//     the leaf a verifier rebuilds from a bundle;
//   - the inclusion proof's log index equals the entry's;
//   - the checkpoint is a C2SP signed note whose origin is the expected one
//     and whose signature verifies under the log key;
//   - the proof's tree size and root hash equal the checkpoint's;
//   - the proof hashes lead from the RFC 6962 leaf hash of the body to that
//     root.
//
// Each failed check is a *CheckError naming the field (errors.Is matches
// ErrRejected). A server that answers with an error status is a
// *ServerError; a transport failure matches ErrTransport.
//
// Reads are bounded (MaxResponseSize and friends); the zero Client uses an
// http.Client with the timeouts below. Nothing here prints or reads the
// environment.
package rekorv2
