package bundle

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/digitorus/pkcs7"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgtlog "github.com/sigstore/sigstore-go/pkg/tlog"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// classify says why sigstore-go rejected b under verifier k, by re-running
// its verification one step at a time, in its order, through its exported
// step functions: log entries, observer timestamps, the certificate chain
// and SCTs, the artifact's digest, the signature, the identity. The first
// step that fails is the reason. It runs only after a rejection, so it
// costs nothing on the verified path, and it never decides a verdict:
// sigstore-go's Verify did. No error text is read.
func (v *Verifier) classify(k verifierKey, b *sgbundle.Bundle, alg string, digest []byte) Reason {
	k.plain = true
	sv, err := v.sgVerifier(k)
	if err != nil {
		return ReasonVerificationFailed
	}
	tm := v.plain[k.source]
	logTimes, err := sv.VerifyTransparencyLogInclusion(b)
	if err != nil {
		return classifyTlog(b, tm)
	}
	times, err := sv.VerifyObserverTimestamps(b, logTimes)
	if err != nil {
		return ReasonTimestampUnverified
	}
	vc, err := b.VerificationContent()
	if err != nil {
		return ReasonMalformedBundle
	}
	sc, err := b.SignatureContent()
	if err != nil {
		return ReasonMalformedBundle
	}
	var summary *certificate.Summary
	if leaf := vc.Certificate(); leaf != nil {
		// As sigstore-go does: Go's x509 does not handle Fulcio's
		// OtherName SAN, a critical extension; it is summarised, then set
		// aside for path validation.
		s, err := certificate.SummarizeCertificate(leaf)
		if err != nil {
			return ReasonMalformedBundle
		}
		summary = &s
		l := *leaf
		l.UnhandledCriticalExtensions = nil
		for _, oid := range leaf.UnhandledCriticalExtensions {
			if !oid.Equal(asn1.ObjectIdentifier(cryptoutils.SANOID)) {
				l.UnhandledCriticalExtensions = append(l.UnhandledCriticalExtensions, oid)
			}
		}
		var chains [][]*x509.Certificate
		for _, t := range times {
			if chains = leafChains(t.Timestamp, &l, vc.Intermediates(), tm); chains == nil {
				return ReasonCertificateChainInvalid
			}
		}
		if v.policy.Key == nil && !v.policy.InsecureIgnoreSCTUnsafe && sgverify.VerifySignedCertificateTimestamp(chains, 1, tm) != nil {
			return ReasonSCTInvalid
		}
	}
	if !signsDigest(b, alg, digest) {
		return ReasonDigestMismatch
	}
	if err := sgverify.VerifySignatureWithArtifactDigests(sc, vc, tm, []sgverify.ArtifactDigest{{Algorithm: alg, Digest: digest}}); err != nil {
		return ReasonSignatureInvalid
	}
	if summary != nil && v.identity != nil && v.identity.Verify(*summary) != nil {
		return ReasonIdentityMismatch
	}
	return ReasonVerificationFailed
}

// leafChains is sigstore-go's certificate path validation at time t: the
// leaf must chain to one of the trusted root's CAs, with the bundle's
// intermediates. It returns nil when it does not.
func leafChains(t time.Time, leaf *x509.Certificate, intermediates []*x509.Certificate, tm root.TrustedMaterial) [][]*x509.Certificate {
	for _, ca := range tm.FulcioCertificateAuthorities() {
		if fca, ok := ca.(*root.FulcioCertificateAuthority); ok && len(intermediates) > 0 {
			with := *fca
			with.Intermediates = append(append([]*x509.Certificate{}, fca.Intermediates...), intermediates...)
			ca = &with
		}
		if chains, err := ca.Verify(leaf, t); err == nil {
			return chains
		}
	}
	return nil
}

// signsDigest reports whether b signs the artifact digest: the message
// digest of a message signature, a subject's digest of a statement.
func signsDigest(b *sgbundle.Bundle, alg string, digest []byte) bool {
	if ms := b.GetMessageSignature(); ms != nil {
		return bytes.Equal(ms.GetMessageDigest().GetDigest(), digest)
	}
	env, err := b.Envelope()
	if err != nil {
		return false
	}
	st, err := env.Statement()
	if err != nil {
		return false
	}
	want := hex.EncodeToString(digest)
	for _, s := range st.GetSubject() {
		if s.GetDigest()[alg] == want {
			return true
		}
	}
	return false
}

// classifyTlog says why b's log entries did not verify under tm, checking
// each entry as sigstore-go's VerifyTlogEntry does, one part at a time: an
// entry of a log tm holds, its signed entry timestamp, its Merkle
// inclusion proof, its checkpoint's signature, the entry against the
// bundle's signature and key.
func classifyTlog(b *sgbundle.Bundle, tm root.TrustedMaterial) Reason {
	entries, err := b.TlogEntries()
	if err != nil {
		return ReasonMalformedBundle
	}
	sc, err := b.SignatureContent()
	if err != nil {
		return ReasonMalformedBundle
	}
	vc, err := b.VerificationContent()
	if err != nil {
		return ReasonMalformedBundle
	}
	logs := tm.RekorLogs()
	known, setBad, passed := false, false, 0
	for _, e := range entries {
		if sgtlog.ValidateEntry(e) != nil {
			return ReasonMalformedBundle
		}
		log, ok := logs[hex.EncodeToString([]byte(e.LogKeyID()))]
		if !ok {
			continue
		}
		known = true
		if e.HasInclusionPromise() && sgtlog.VerifySET(e, logs) != nil {
			setBad = true
			continue
		}
		if e.HasInclusionProof() {
			if !inclusionHolds(e) {
				return ReasonInclusionProofInvalid
			}
			ver, err := signature.LoadVerifier(log.PublicKey, log.SignatureHashFunc)
			if err != nil {
				return ReasonCheckpointInvalid
			}
			if !e.IsRekorV2() && sgtlog.VerifyInclusion(e, ver) != nil {
				return ReasonCheckpointInvalid
			}
			if e.IsRekorV2() {
				u, err := url.Parse(log.BaseURL)
				if err != nil || sgtlog.VerifyCheckpointAndInclusion(e, ver, u.Hostname()) != nil {
					return ReasonCheckpointInvalid
				}
				// The entry is in the log, under a valid checkpoint; but
				// sigstore-go proves inclusion of the entry rebuilt from
				// the bundle's signature, key and digest: they differ.
				return ReasonTlogEntryMismatch
			}
		}
		if !e.IsRekorV2() && !entryMatches(e, sc, vc, tm) {
			return ReasonTlogEntryMismatch
		}
		if it := e.IntegratedTime(); !it.IsZero() && !vc.ValidAtTime(it, tm) {
			return ReasonOutsideValidity
		}
		passed++
	}
	switch {
	case !known:
		return ReasonNoLogInTrustedRoot
	case setBad && passed == 0:
		return ReasonSETInvalid
	}
	return ReasonTlogUnverified
}

// inclusionHolds checks an entry's Merkle inclusion proof (RFC 6962) from
// its canonicalized body to the root hash the proof names.
func inclusionHolds(e *sgtlog.Entry) bool {
	tle := e.TransparencyLogEntry()
	p := tle.GetInclusionProof()
	if p == nil {
		return false
	}
	return bodyProved(tle.GetCanonicalizedBody(), p.GetLogIndex(), p.GetTreeSize(), p.GetHashes(), p.GetRootHash())
}

// bodyProved reports whether hashes prove body is leaf index of the tree
// of size entries whose root is root (RFC 6962).
func bodyProved(body []byte, index, size int64, hashes [][]byte, root []byte) bool {
	if index < 0 || size < 0 {
		return false
	}
	leaf := rfc6962.DefaultHasher.HashLeaf(body)
	return proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(index), uint64(size), leaf, hashes, root) == nil
}

// entryMatches reports whether a Rekor v1 entry records the bundle's
// signature, key, and message digest or DSSE payload hash.
func entryMatches(e *sgtlog.Entry, sc sgverify.SignatureContent, vc sgverify.VerificationContent, tm root.TrustedMaterial) bool {
	if !bytes.Equal(e.Signature(), sc.Signature()) || !vc.CompareKey(e.PublicKey(), tm) {
		return false
	}
	if ms := sc.MessageSignatureContent(); ms != nil {
		d, _, ok := e.GetHashedRekordDigest()
		return ok && bytes.Equal(d, ms.Digest())
	}
	if env := sc.EnvelopeContent(); env != nil && env.RawEnvelope() != nil {
		payload, err := base64.StdEncoding.DecodeString(env.RawEnvelope().Payload)
		d, ok := e.GetDssePayloadHash()
		sum := sha256.Sum256(payload)
		return err == nil && ok && bytes.Equal(d, sum[:])
	}
	return false
}

// explainRejection puts airlock's words before sigstore-go's error where
// its own would point at the wrong cause: "not enough verified log
// entries" for a bad SET reads like a missing log; "calculated root does
// not match" for a Rekor v2 entry that logged another verifier reads like
// a damaged proof. The reason, not these words, is the contract.
func explainRejection(reason Reason, b *sgbundle.Bundle, err error) error {
	switch reason {
	case ReasonTimestampUnverified:
		if who := timestampSigners(b); who != "" {
			return fmt.Errorf("an RFC 3161 timestamp does not verify against the trusted root's timestamping authorities: it is signed by %s, which the trusted root may not list: %w", who, err)
		}
	case ReasonSETInvalid:
		return fmt.Errorf("the signed entry timestamp (SET) of the bundle's log entry does not verify under its log's key in the trusted root (the log is there: the SET does not belong to this entry): %w", err)
	case ReasonTlogEntryMismatch:
		entries, terr := b.TlogEntries()
		if terr != nil {
			return err
		}
		for _, e := range entries {
			if e.IsRekorV2() {
				return fmt.Errorf("the Rekor v2 log entry records another signature, digest or verifier than the bundle carries (for example a public key logged where the bundle has a certificate): %w", err)
			}
		}
	}
	return err
}

// timestampSigners names who signed b's RFC 3161 timestamps, from each
// token's SignerInfo (the issuer and serial of the TSA's certificate) and,
// where the token embeds it, that certificate's subject: the TSA a trusted
// root would have to list. "" if no token parses.
func timestampSigners(b *sgbundle.Bundle) string {
	var names []string
	for _, ts := range b.GetVerificationMaterial().GetTimestampVerificationData().GetRfc3161Timestamps() {
		p7, err := pkcs7.Parse(timestampToken(ts.GetSignedTimestamp()))
		if err != nil || len(p7.Signers) == 0 {
			continue
		}
		ias := p7.Signers[0].IssuerAndSerialNumber
		var issuer pkix.RDNSequence
		if _, err := asn1.Unmarshal(ias.IssuerName.FullBytes, &issuer); err != nil || ias.SerialNumber == nil {
			continue
		}
		name := fmt.Sprintf("the TSA certificate with serial %s issued by %q", ias.SerialNumber.Text(16), issuer.String())
		for _, c := range p7.Certificates {
			if c.SerialNumber.Cmp(ias.SerialNumber) == 0 && bytes.Equal(c.RawIssuer, ias.IssuerName.FullBytes) {
				name = fmt.Sprintf("the TSA %q (certificate serial %s, issued by %q)", c.Subject.String(), ias.SerialNumber.Text(16), issuer.String())
			}
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return strings.Join(names, " and ")
}

// timestampToken is the signed token of an RFC 3161 TimeStampResp (whose
// first element is the PKIStatusInfo SEQUENCE), or der itself when der is
// already the token (a ContentInfo, whose first element is an OID).
func timestampToken(der []byte) []byte {
	var resp struct {
		Status asn1.RawValue
		Token  asn1.RawValue `asn1:"optional"`
	}
	if rest, err := asn1.Unmarshal(der, &resp); err == nil && len(rest) == 0 && resp.Status.Tag == asn1.TagSequence && len(resp.Token.FullBytes) > 0 {
		return resp.Token.FullBytes
	}
	return der
}
