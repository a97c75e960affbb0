#!/usr/bin/env python3
# cosign.py ECO TSV: records cosign v3.1.3's verdict (scripts/ecosystem-cosign.sh's ECOSYSTEM_TSV) in each case.json,
# and the why of each difference from airlock.
import json, os, sys
eco, tsv = sys.argv[1], sys.argv[2]
WHY = {
 "model-transparency/v1.1.0-elliptic-key": "a P-384 key-signed DSSE bundle: the Sigstore algorithm registry pairs P-384 with SHA-384, and airlock (sigstore-go) verifies it so, as model_signing does; cosign v3.1.3 checks a DSSE signature with SHA-256 for any key given with --key and rejects it (it takes --signature-digest-algorithm only for blobs). airlock is right.",
 "sigstore-js/V1.MESSAGE_SIGNATURE.WITH_SIGNING_CERT": "cosign accepts on the SET's time and ignores the RFC 3161 timestamp its trusted root cannot verify (a TSA the root does not list); airlock refuses a timestamp that does not verify (docs/verify.md).",
 "sigstore-python/tsa-bundle.duplicate": "the same RFC 3161 timestamp twice: sigstore-python refuses it (\"duplicate\"), and so does airlock (the second does not verify against the message: \"hashed messages don't match\"); cosign accepts on the SET.",
 "sigstore-python/tsa-bundle.many_timestamp": "33 RFC 3161 timestamps: sigstore-go (and airlock) refuse more than 32, as sigstore-python does; cosign accepts on the SET.",
}
rows = {}
for line in open(tsv):
    f = line.rstrip("\n").split("\t")
    rows[f[0]] = (f[2], f[3] if len(f) > 3 else "")
for k, (cv, err) in rows.items():
    p = os.path.join(eco, k, "case.json")
    c = json.load(open(p))
    c["cosign"] = cv
    c.pop("cosign_why", None)
    if cv != c["verdict"]:
        c["cosign_why"] = WHY.get(k, "")
        assert c["cosign_why"], k
    json.dump(c, open(p, "w"), indent=2)
    open(p, "a").write("\n")
print(len(rows), "cosign verdicts")
