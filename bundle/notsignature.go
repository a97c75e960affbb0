package bundle

import (
	"encoding/json"
	"fmt"

	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
)

// NotSignatureError is the rejection of a bundle holding a DSSE envelope
// (an in-toto attestation) where a signature of the artifact is required
// (Policy.Signature, verify-blob). An attestation names the artifact as
// its subject and says something about it, whatever its predicate says
// ("vulnerable: critical" as well as "built from this commit"); it is not
// the signer's signature of the artifact. PredicateType is read from the
// unverified statement, to name it; PayloadType is the envelope's.
type NotSignatureError struct {
	PayloadType   string
	PredicateType string
}

func (e *NotSignatureError) Error() string {
	if e.PredicateType != "" {
		return fmt.Sprintf("not a signature: the bundle holds an in-toto attestation (predicate type %q) about the artifact, not a signature of it", e.PredicateType)
	}
	return fmt.Sprintf("not a signature: the bundle holds a DSSE envelope (payload type %q), not a signature of the artifact", e.PayloadType)
}

// notSignature returns the rejection of b under Policy.Signature, or nil
// when b holds a message signature.
func notSignature(b *sgbundle.Bundle) error {
	env := b.GetDsseEnvelope()
	if env == nil {
		return nil
	}
	e := &NotSignatureError{PayloadType: env.GetPayloadType()}
	var st struct {
		PredicateType string `json:"predicateType"`
	}
	if env.GetPayloadType() == "application/vnd.in-toto+json" && json.Unmarshal(env.GetPayload(), &st) == nil {
		e.PredicateType = st.PredicateType
	}
	return Reject(ReasonNotSignature, e)
}
