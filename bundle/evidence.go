package bundle

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"net/http"
	"os"
	"regexp"
)

// EvidenceForm is what a file given as evidence looks like, from its first
// bytes: a guess for telling the user which flag or command it belongs
// to, never used to verify.
type EvidenceForm int

const (
	// FormUnknown is JSON or text of no form below (or an unreadable or
	// empty file).
	FormUnknown EvidenceForm = iota
	// FormBundle is a Sigstore bundle's JSON.
	FormBundle
	// FormSignature is a detached signature: short base64 text (.sig).
	FormSignature
	// FormEnvelope is a bare DSSE envelope, its JSON or that base64 (.att).
	FormEnvelope
	// FormNotText is neither JSON nor base64: binary data, or text that is
	// no evidence (an artifact given as the evidence, say).
	FormNotText
)

// sniffSize is how much of a file SniffEvidence looks at.
const sniffSize = 4096

// SniffEvidenceFile reads the start of the file at path and says what it
// looks like (FormUnknown when it cannot be read).
func SniffEvidenceFile(path string) EvidenceForm {
	f, err := os.Open(path)
	if err != nil {
		return FormUnknown
	}
	defer f.Close()
	head := make([]byte, sniffSize)
	n, _ := io.ReadFull(f, head)
	return SniffEvidence(head[:n])
}

// SniffEvidence says what data (a file's start, or all of it) looks like.
func SniffEvidence(data []byte) EvidenceForm {
	head := bytes.TrimSpace(data[:min(len(data), sniffSize)])
	if len(head) == 0 {
		return FormUnknown
	}
	if bytes.HasPrefix(head, []byte("{")) && bytes.Contains(head, []byte("verificationMaterial")) {
		return FormBundle
	}
	// A .att is the envelope's JSON or its base64; only the head is
	// decoded, whole 4-character groups of it.
	decoded := head
	isBase64 := base64Text.Match(head)
	if isBase64 {
		decoded = decodeBase64Head(head)
	}
	// "payload" or "payloadType", whichever comes first: a long payload
	// can push the other out of the head.
	if bytes.HasPrefix(decoded, []byte("{")) && bytes.Contains(decoded, []byte(`"payload`)) &&
		!bytes.Contains(decoded, []byte(`"mediaType"`)) && !bytes.Contains(decoded, []byte(`"dsseEnvelope"`)) {
		return FormEnvelope
	}
	switch {
	case isBase64 && len(head) < 1024 && !bytes.HasPrefix(decoded, []byte("{")):
		return FormSignature
	case !isBase64 && !bytes.HasPrefix(head, []byte("{")) && !bytes.HasPrefix(head, []byte("[")):
		return FormNotText
	}
	return FormUnknown
}

// Fits reports whether evidence of form f can be evidence of kind k: a
// bundle given as a signature, a signature or DSSE envelope given as a
// bundle, an envelope given as a signature of a file, a signature given as
// an attestation, and data that is not text at all do not. FormUnknown
// fits every kind.
func (k EvidenceKind) Fits(f EvidenceForm) bool {
	switch f {
	case FormBundle:
		return k == EvidenceBundle
	case FormSignature:
		return k == EvidenceSignature
	case FormEnvelope:
		return k == EvidenceAttestation
	case FormNotText:
		return false
	}
	return true
}

// ContentKind names the media type data looks like ("application/x-gzip",
// "text/plain"), as net/http sniffs it, without parameters.
func ContentKind(data []byte) string {
	t, _, err := mime.ParseMediaType(http.DetectContentType(data[:min(len(data), 512)]))
	if err != nil {
		return "application/octet-stream"
	}
	return t
}

var base64Text = regexp.MustCompile(`^[A-Za-z0-9+/=\s]+$`)

// decodeBase64Head decodes the start of a base64 text, in whole
// 4-character groups, as far as it decodes.
func decodeBase64Head(head []byte) []byte {
	b64 := bytes.Join(bytes.Fields(head), nil)
	b64 = b64[:len(b64)/4*4]
	out := make([]byte, base64.StdEncoding.DecodedLen(len(b64)))
	n, _ := base64.StdEncoding.Decode(out, b64)
	return bytes.TrimSpace(out[:n])
}
