// Package tlog will hold transparency-log maths and state: checkpoints
// (Rekor v1 style and C2SP), inclusion and consistency proofs, Rekor-compatible
// entry bodies and SETs, the site log and the mirrored-checkpoint state.
//
// It is empty until the site-log issue; verification of log evidence in
// bundles is sigstore-go's, driven by package bundle.
package tlog
