#!/usr/bin/env python3
# why.py ECO: adds the "why" of each case whose verdict differs from its producer's test (and from cosign's, see cosign.tsv).
import json, os, sys
eco = sys.argv[1]
GH_PRIVATE = ("GitHub private-instance attestation: certificate-signed, RFC 3161 timestamps from GitHub's TSA, no transparency-log "
              "entry, no SCT (GitHub's Fulcio has no CT log). The producer verifies it with log and CT checks off; airlock refuses it "
              "by default and verifies it under cosign's --insecure-ignore-tlog --use-signed-timestamps --insecure-ignore-sct "
              "(the @signed-timestamps case), with a warning for each waiver.")
UNLISTED_TSA = ("RFC 3161 timestamps from sigstore-js's test TSA, which the public-good root does not list, next to a valid SET: "
                "airlock refuses (a timestamp that does not verify is an error, not ignored); cosign accepts on the SET's time. "
                "sigstore-js's own test root (see the @sigstore-js-root case) is refused by sigstore-go's parser. Issue 13, second decision.")
WHY = {
 "gh/github_provenance_demo-0.0.12-py3-none-any-bundle": GH_PRIVATE,
 "sigstore-java/github-private-no-tlog": GH_PRIVATE,
 "model-transparency/v0.3.1-elliptic-key": "model_signing before v1.1 wrote the bundle's public key as {\"rawBytes\": ...} in verificationMaterial.publicKey, which is not the protobuf-specs schema (a PublicKeyIdentifier has only a hint): airlock, like sigstore-go, refuses the bundle as malformed. model_signing reads it itself.",
 "model-transparency/v1.0.0-elliptic-key": "as v0.3.1-elliptic-key: publicKey.rawBytes is not in the bundle schema.",
 "model-transparency/v1.0.1-elliptic-key": "as v0.3.1-elliptic-key: publicKey.rawBytes is not in the bundle schema.",
 "model-transparency/v0.2.0-certificate": "signed with a private CA chain in a v0.3 bundle's x509CertificateChain: the bundle spec allows only a single certificate in v0.3, and no Sigstore trusted root holds the CA. model_signing checks the chain against its own CA file.",
 "model-transparency/v1.0.0-certificate": "as v0.2.0-certificate.",
 "model-transparency/v1.1.0-certificate": "as v0.2.0-certificate.",
 "npm/valid-bundle": "a pre-release bundle draft (verificationData instead of verificationMaterial) kept by libnpmpublish only for its publish-time checks; not a Sigstore bundle any verifier reads today.",
 "npm/multi-subject-provenance-bundle": "as npm/valid-bundle: pre-release bundle draft.",
 "sigstore-go/public-key-validity": "key-signed; sigstore-go's test supplies the key as trusted public-key material (with a validity window) that is not published as a file. airlock needs --key for a key-signed bundle and says so.",
 "sigstore-java/bundle-no-digest": "a v0.3 bundle whose verification material is an x509CertificateChain: the bundle spec allows only a single certificate from v0.3 on; sigstore-go (and airlock) refuse it, sigstore-java accepts it.",
 "sigstore-java/bundle.v2.no.inclusion": "a v0.2+ bundle without an inclusion proof: the spec requires one from v0.2 on; sigstore-java's test only parses it.",
 "sigstore-java/bundle.v3.no.inclusion": "as bundle.v2.no.inclusion.",
 "sigstore-java/bundle.v3_1.no.inclusion": "as bundle.v2.no.inclusion.",
 "sigstore-js/V1.DSSE.WITH_SIGNING_CERT.TLOG_DSSE": UNLISTED_TSA,
 "sigstore-js/V1.DSSE.WITH_SIGNING_CERT.TLOG_INTOTO": UNLISTED_TSA,
 "sigstore-js/V1.MESSAGE_SIGNATURE.WITH_SIGNING_CERT": UNLISTED_TSA,
 "sigstore-js/V1.MESSAGE_SIGNATURE.WITH_SIGNING_CERT@sigstore-js-root": "sigstore-js's test trusted root has no validFor on its log keys; sigstore-go's trusted-root parser refuses it (\"tlog missing public key validity period\").",
 "sigstore-js/V1.MESSAGE_SIGNATURE.WITH_PUBLIC_KEY": "key-signed with sigstore-js's test key, logged in sigstore-js's test log under another key: the public-good log entry's verifier is not the fixture's key.",
 "sigstore-js/V3.DSSE.WITH_SIGNING_CERT.TLOG_DSSEV002": "a Rekor v2 dsse 0.0.2 entry from sigstore-js's test log, which the public-good root does not hold; sigstore-go v1.3.0 cannot parse that entry kind at all.",
 "sigstore-js/V3.MESSAGE_SIGNATURE.TLOG_HASHEDREKORDV002": "a Rekor v2 hashedrekord 0.0.2 entry whose logged verifier is a public key while the bundle carries a certificate: the entry rebuilt from the bundle differs, so the inclusion proof's root does not match. Issue 13: the message should name the key/certificate mismatch, not the root.",
 "sigstore-js/V3.MESSAGE_SIGNATURE.WITH_SIGNING_CERT": "certificate-signed with RFC 3161 timestamps only (sigstore-js's test TSA), no log entry: refused as the GitHub private-instance case is.",
 "sigstore-js/client.v1.dsse.withPublicKey": "as V1.MESSAGE_SIGNATURE.WITH_PUBLIC_KEY: the fixture key is not the logged one.",
 "sigstore-js/client.v1.dsse.withSigningCert": "a DSSE envelope of payload type text/plain, not an in-toto statement: verify-attestation verifies attestations (in-toto statements) only; sigstore-js verifies any DSSE payload.",
 "sigstore-js/client.v3.dsse.withSigningCert": "as client.v1.dsse.withSigningCert: text/plain DSSE payload.",
 "slsa-verifier/valid": "its in-toto statement has an empty predicate type. airlock's verify-attestation refuses an empty predicate type with or without --type (issue 13, third decision); slsa-verifier checks the builder, not the type; cosign's default --type custom refuses it too.",
}
NPM_PAIR = ("slsa-verifier's test file holds npm's two attestations (provenance, publish) and fails for the reason in its name, "
            "which concerns the other bundle or npm's pairing rules (payload type, predicate type, subjects); this bundle alone "
            "is a sound Sigstore bundle and airlock verifies it.")
for peer in sorted(os.listdir(eco)):
    if peer in ("roots", "gather") or not os.path.isdir(os.path.join(eco, peer)):
        continue
    for name in sorted(os.listdir(os.path.join(eco, peer))):
        k = peer + "/" + name
        p = os.path.join(eco, k, "case.json")
        c = json.load(open(p))
        c.pop("why", None)
        w = WHY.get(k)
        if w is None and k.startswith("slsa-verifier/npm-") and c.get("verdict") != c.get("producer"):
            w = NPM_PAIR
        if w:
            c["why"] = w
        json.dump(c, open(p, "w"), indent=2)
        open(p, "a").write("\n")
