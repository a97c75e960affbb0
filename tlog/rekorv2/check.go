package rekorv2

import (
	"bytes"
	"crypto"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/airlock-project/airlock/tlog"
	"github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	rekortilespb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	"github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// Field names a TransparencyLogEntry field, in its protobuf-JSON spelling.
type Field string

// The fields Check refuses.
const (
	FieldEntry       Field = "transparencyLogEntry"
	FieldKindVersion Field = "kindVersion"
	FieldLogID       Field = "logId"
	FieldBody        Field = "canonicalizedBody"
	FieldLogIndex    Field = "logIndex"
	FieldProof       Field = "inclusionProof"
	FieldTreeSize    Field = "inclusionProof.treeSize"
	FieldRootHash    Field = "inclusionProof.rootHash"
	FieldHashes      Field = "inclusionProof.hashes"
	FieldCheckpoint  Field = "inclusionProof.checkpoint"
	FieldOrigin      Field = "inclusionProof.checkpoint.origin"
	FieldSignature   Field = "inclusionProof.checkpoint.signature"
)

// ErrRejected is matched by every *CheckError: the log's response does not
// prove the submitted entry is in the log.
var ErrRejected = errors.New("rekor v2 response rejected")

// ErrLogKey is matched when the log key given to Check or Submit is not one
// a Rekor v2 log signs checkpoints with (ECDSA P-256, Ed25519).
var ErrLogKey = errors.New("rekor v2 log key")

// CheckError is a response field that does not check.
type CheckError struct {
	Field  Field
	Reason string
}

func (e *CheckError) Error() string {
	return fmt.Sprintf("rekor v2 response: %s: %s", e.Field, e.Reason)
}

// Is reports whether target is ErrRejected.
func (e *CheckError) Is(target error) bool { return target == ErrRejected }

func reject(f Field, format string, args ...any) error {
	return &CheckError{Field: f, Reason: fmt.Sprintf(format, args...)}
}

// Limits on what Check reads from a response.
const (
	// MaxBodySize bounds canonicalizedBody: the server takes requests up to
	// 4 MiB by default, a certificate chain at most a few KiB of that.
	MaxBodySize = 4 << 20
	// MaxCheckpointSize bounds the checkpoint note, witness cosignatures
	// included.
	MaxCheckpointSize = 64 << 10
	// MaxProofHashes bounds the inclusion proof: a tree of 2^63 leaves needs
	// 63.
	MaxProofHashes = 64
)

// LogID returns the log's ID for a checkpoint signing key: the full
// SHA-256 behind the C2SP signed-note key hash, as rekor-tiles sets logId
// and as a trusted root's tlogs[].logId.keyId must read. For ECDSA it is
// SHA-256 of the PKIX public key; for Ed25519 it is
// SHA-256(origin || "\n" || 0x01 || key).
func LogID(origin string, logKey crypto.PublicKey) ([]byte, error) {
	id, err := tlog.LogID(origin, logKey)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLogKey, err)
	}
	return id, nil
}

// NoteVerifier returns a golang.org/x/mod/sumdb/note verifier for the
// log's checkpoints, named origin, with rekor-tiles' key hash (the first 4
// bytes of LogID). ECDSA signatures are ASN.1 over SHA-256 of the note
// text.
func NoteVerifier(origin string, logKey crypto.PublicKey) (note.Verifier, error) {
	id, err := LogID(origin, logKey)
	if err != nil {
		return nil, err
	}
	return &noteVerifier{name: origin, hash: binary.BigEndian.Uint32(id), verify: func(msg, sig []byte) bool {
		return tlog.VerifyNoteSignature(logKey, msg, sig)
	}}, nil
}

type noteVerifier struct {
	name   string
	hash   uint32
	verify func(msg, sig []byte) bool
}

func (v *noteVerifier) Name() string                { return v.name }
func (v *noteVerifier) KeyHash() uint32             { return v.hash }
func (v *noteVerifier) Verify(msg, sig []byte) bool { return v.verify(msg, sig) }

// Check reports whether tle proves that the entry req describes is in the
// log with key logKey and checkpoint origin origin (see the package doc for
// each check). It returns the first failure as a *CheckError, or an error
// matching ErrLogKey for a key it cannot use.
func Check(tle *protorekor.TransparencyLogEntry, req *Request, logKey crypto.PublicKey, origin string) error {
	if req == nil {
		return fmt.Errorf("%w: nil request", ErrRequest)
	}
	nv, err := NoteVerifier(origin, logKey)
	if err != nil {
		return err
	}
	logID, err := LogID(origin, logKey)
	if err != nil {
		return err
	}
	if tle == nil {
		return reject(FieldEntry, "missing")
	}
	if kv := tle.GetKindVersion(); kv.GetKind() != Kind || kv.GetVersion() != APIVersion {
		return reject(FieldKindVersion, "%q %q, submitted %s %s", kv.GetKind(), kv.GetVersion(), Kind, APIVersion)
	}
	if !bytes.Equal(tle.GetLogId().GetKeyId(), logID) {
		return reject(FieldLogID, "is not the ID of the log key")
	}
	if err := checkBody(tle.GetCanonicalizedBody(), req); err != nil {
		return err
	}

	ip := tle.GetInclusionProof()
	if ip == nil {
		return reject(FieldProof, "missing")
	}
	if tle.GetLogIndex() < 0 {
		return reject(FieldLogIndex, "%d is negative", tle.GetLogIndex())
	}
	if ip.GetLogIndex() != tle.GetLogIndex() {
		return reject(FieldLogIndex, "entry says %d, inclusion proof says %d", tle.GetLogIndex(), ip.GetLogIndex())
	}
	cp, err := openCheckpoint(ip.GetCheckpoint().GetEnvelope(), nv)
	if err != nil {
		return err
	}
	if ip.GetTreeSize() < 0 || uint64(ip.GetTreeSize()) != cp.Size {
		return reject(FieldTreeSize, "%d, checkpoint says %d", ip.GetTreeSize(), cp.Size)
	}
	if !bytes.Equal(ip.GetRootHash(), cp.Hash) {
		return reject(FieldRootHash, "%x, checkpoint says %x", ip.GetRootHash(), cp.Hash)
	}
	if uint64(tle.GetLogIndex()) >= cp.Size {
		return reject(FieldLogIndex, "%d is outside a tree of size %d", tle.GetLogIndex(), cp.Size)
	}
	hashes := ip.GetHashes()
	if len(hashes) > MaxProofHashes {
		return reject(FieldHashes, "%d hashes, at most %d", len(hashes), MaxProofHashes)
	}
	leaf := rfc6962.DefaultHasher.HashLeaf(tle.GetCanonicalizedBody())
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(tle.GetLogIndex()), cp.Size, leaf, hashes, cp.Hash); err != nil {
		return reject(FieldHashes, "the entry is not at index %d of the checkpoint's tree: %v", tle.GetLogIndex(), err)
	}
	return nil
}

// checkBody checks that body is the canonical JSON of the entry req
// submits, naming the first differing part.
func checkBody(body []byte, req *Request) error {
	if len(body) > MaxBodySize {
		return reject(FieldBody, "%d bytes, at most %d", len(body), MaxBodySize)
	}
	var got rekortilespb.Entry
	if err := protojson.Unmarshal(body, &got); err != nil {
		return reject(FieldBody, "does not decode as a Rekor v2 entry: %v", err)
	}
	if got.GetKind() != Kind || got.GetApiVersion() != APIVersion {
		return reject(FieldBody, "records %q %q, submitted %s %s", got.GetKind(), got.GetApiVersion(), Kind, APIVersion)
	}
	hr := got.GetSpec().GetHashedRekordV002()
	if hr == nil {
		return reject(FieldBody, "holds no hashedRekordV002 spec")
	}
	if !bytes.Equal(hr.GetData().GetDigest(), req.hr.GetDigest()) {
		return reject(FieldBody, "data.digest differs from the submitted digest")
	}
	if hr.GetData().GetAlgorithm() != req.alg {
		return reject(FieldBody, "data.algorithm is %s, submitted %s", hr.GetData().GetAlgorithm(), req.alg)
	}
	if !bytes.Equal(hr.GetSignature().GetContent(), req.hr.GetSignature().GetContent()) {
		return reject(FieldBody, "signature.content differs from the submitted signature")
	}
	if !proto.Equal(hr.GetSignature().GetVerifier(), req.hr.GetSignature().GetVerifier()) {
		return reject(FieldBody, "signature.verifier differs from the submitted verifier")
	}
	want, err := canonicalBody(req)
	if err != nil {
		return err
	}
	if !bytes.Equal(body, want) {
		return reject(FieldBody, "is not the canonical JSON of the submitted entry")
	}
	return nil
}

// canonicalBody returns the canonicalized body the log stores for req:
// RFC 8785 JSON of the protobuf-JSON entry, as rekor-tiles writes it and
// sigstore-go rebuilds it.
func canonicalBody(req *Request) ([]byte, error) {
	e := &rekortilespb.Entry{
		Kind:       Kind,
		ApiVersion: APIVersion,
		Spec: &rekortilespb.Spec{Spec: &rekortilespb.Spec_HashedRekordV002{
			HashedRekordV002: &rekortilespb.HashedRekordLogEntryV002{
				Data:      &protocommon.HashOutput{Digest: req.hr.GetDigest(), Algorithm: req.alg},
				Signature: req.hr.GetSignature(),
			},
		}},
	}
	j, err := protojson.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRequest, err)
	}
	c, err := jsoncanonicalizer.Transform(j)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRequest, err)
	}
	return c, nil
}

// openCheckpoint verifies the checkpoint note under nv and parses it.
func openCheckpoint(env string, nv note.Verifier) (*log.Checkpoint, error) {
	if env == "" {
		return nil, reject(FieldCheckpoint, "missing")
	}
	if len(env) > MaxCheckpointSize {
		return nil, reject(FieldCheckpoint, "%d bytes, at most %d", len(env), MaxCheckpointSize)
	}
	// The origin is the note text's first line; read it before the
	// signatures so that a note of another log is named as such.
	var unverified log.Checkpoint
	text, _, _ := strings.Cut(env, "\n\n")
	if _, err := unverified.Unmarshal([]byte(text + "\n")); err != nil {
		return nil, reject(FieldCheckpoint, "is not a checkpoint: %v", err)
	}
	if unverified.Origin != nv.Name() {
		return nil, reject(FieldOrigin, "%q, want %q", unverified.Origin, nv.Name())
	}
	n, err := note.Open([]byte(env), note.VerifierList(nv))
	if err != nil {
		var unv *note.UnverifiedNoteError
		var bad *note.InvalidSignatureError
		switch {
		case errors.As(err, &unv):
			return nil, reject(FieldSignature, "no signature by the log key %q", nv.Name())
		case errors.As(err, &bad):
			return nil, reject(FieldSignature, "does not verify under the log key")
		default:
			return nil, reject(FieldCheckpoint, "is not a signed note: %v", err)
		}
	}
	var cp log.Checkpoint
	if _, err := cp.Unmarshal([]byte(n.Text)); err != nil {
		return nil, reject(FieldCheckpoint, "is not a checkpoint: %v", err)
	}
	if cp.Origin != nv.Name() {
		return nil, reject(FieldOrigin, "%q, want %q", cp.Origin, nv.Name())
	}
	if len(cp.Hash) != rfc6962.DefaultHasher.Size() {
		return nil, reject(FieldCheckpoint, "root hash is %d bytes, want %d", len(cp.Hash), rfc6962.DefaultHasher.Size())
	}
	return &cp, nil
}
