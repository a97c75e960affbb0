#!/usr/bin/env python3
# gather.py: builds testdata/ecosystem from peers' repositories mirrored under /work/.mirror.
import warnings; warnings.filterwarnings('ignore')
import base64, hashlib, json, os, re, subprocess, sys, shutil
from cryptography import x509
from cryptography.hazmat.primitives import serialization

MIRROR = "/work/.mirror"
OUT = sys.argv[1]
REPO_ROOT = sys.argv[2]

LICENCES = {
    "sigstore/sigstore-java": "Apache-2.0", "sigstore/sigstore-go": "Apache-2.0",
    "sigstore/sigstore-js": "Apache-2.0", "sigstore/sigstore-rs": "Apache-2.0",
    "sigstore/cosign": "Apache-2.0", "cli/cli": "MIT", "sigstore/model-transparency": "Apache-2.0",
    "npm/cli": "Artistic-2.0", "slsa-framework/slsa-verifier": "Apache-2.0",
    "sigstore/sigstore-python": "Apache-2.0", "trailofbits/pypi-attestations": "Apache-2.0", "airlock": "(this repository)",
}

def gitdir(repo):
    return os.path.join(MIRROR, repo.replace("/", "+"), "repo")

_commits = {}
def commit(repo):
    if repo not in _commits:
        _commits[repo] = subprocess.check_output(["git", "-C", gitdir(repo), "rev-parse", "HEAD"], text=True).strip()
    return _commits[repo]

def show(repo, path):
    return subprocess.check_output(["git", "-C", gitdir(repo), "show", "HEAD:" + path])

def ls(repo, under=""):
    args = ["git", "-C", gitdir(repo), "ls-tree", "-r", "--name-only", "HEAD"]
    if under:
        args.append(under)
    return subprocess.check_output(args, text=True).split("\n")

# ---- trusted roots ------------------------------------------------------------------------
ROOTS = {}      # name -> (dict, origin)
def add_root(name, data, origin):
    ROOTS[name] = (data, origin)

pg = os.path.join(REPO_ROOT, "testdata/tuf/public-good-2026-08-21/targets/6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66.trusted_root.json")
add_root("public-good", json.load(open(pg)), {"repo": "airlock", "path": "testdata/tuf/public-good-2026-08-21 (Sigstore public-good TUF, 2026-08-21)"})
def root_from(name, repo, path, pick=None):
    raw = show(repo, path)
    if pick is None:
        data = json.loads(raw)
    else:
        data = [json.loads(l) for l in raw.decode().splitlines() if l.strip()][pick]
    add_root(name, data, {"repo": repo, "path": path + ("" if pick is None else " (line %d)" % (pick + 1)), "commit": commit(repo)})

root_from("staging", "sigstore/sigstore-python", "sigstore/_store/https%3A%2F%2Ftuf-repo-cdn.sigstage.dev/trusted_root.json")
root_from("github", "sigstore/sigstore-java", "sigstore-java/src/test/resources/dev/sigstore/samples/bundles/github-private-no-tlog/trusted_root.jsonl", pick=1)
root_from("sigstore-go-scaffolding", "sigstore/sigstore-go", "pkg/testing/data/trusted-roots/scaffolding.json")
root_from("sigstore-go-public-key-validity", "sigstore/sigstore-go", "pkg/testing/data/trusted-roots/public-key-validity.json")
root_from("cosign-pgi", "sigstore/cosign", "pkg/cosign/testdata/trusted_root_pgi.json")
_st = json.loads(show("sigstore/sigstore-python", "sigstore/_store/https%3A%2F%2Ftuf-repo-cdn.sigstage.dev/trusted_root.json"))
_st["timestampAuthorities"] = [json.loads(show("sigstore/sigstore-python", "test/assets/tsa/ca.json"))]
add_root("sigstore-python-tsa", _st, {"repo": "sigstore/sigstore-python", "path": "the staging trusted root (sigstore/_store/...sigstage.dev/trusted_root.json) with its timestampAuthorities replaced by test/assets/tsa/ca.json, as test/unit/verify/test_verifier.py TestVerifierWithTimestamp does", "commit": commit("sigstore/sigstore-python")})
_jsr = json.loads(subprocess.check_output(["node", "-e", "console.log(JSON.stringify(require('/tmp/h10/js/verify_trust.js').trustedRoot))"]))
add_root("sigstore-js", _jsr, {"repo": "sigstore/sigstore-js", "path": "packages/verify/src/__tests__/__fixtures__/trust.ts (trustedRootJSON)", "commit": commit("sigstore/sigstore-js")})
root_from("sigstore-java-staging", "sigstore/sigstore-java", "sigstore-java/src/test/resources/dev/sigstore/trustroot/staging_trusted_root.json")

def root_cas(data):
    out = []
    for ca in data.get("certificateAuthorities", []):
        for c in ca.get("certChain", {}).get("certificates", []):
            try:
                out.append(x509.load_der_x509_certificate(base64.b64decode(c["rawBytes"])))
            except Exception:
                pass
    return out

def root_logids(data):
    return {t.get("logId", {}).get("keyId") for t in data.get("tlogs", [])}

def ski(cert):
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except Exception:
        return None

def aki(cert):
    try:
        return cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    except Exception:
        return None

def pick_root(leaf, logids, prefer):
    order = prefer + [n for n in ROOTS if n not in prefer]
    if leaf is not None:
        for n in order:
            for ca in root_cas(ROOTS[n][0]):
                if ca.subject == leaf.issuer and (aki(leaf) is None or aki(leaf) == ski(ca)):
                    return n
        return prefer[0] if prefer else "public-good"
    for n in order:
        if logids & root_logids(ROOTS[n][0]):
            return n
    return prefer[0] if prefer else "public-good"

# ---- bundles ------------------------------------------------------------------------------
def parse_bundles(raw):
    """A bundle file, or JSON Lines of bundles, or gh/npm wrappers."""
    out = []
    try:
        docs = [json.loads(raw)]
    except Exception:
        docs = []
        for l in raw.decode(errors="replace").splitlines():
            l = l.strip()
            if l:
                try:
                    docs.append(json.loads(l))
                except Exception:
                    pass
    for d in docs:
        if isinstance(d, dict) and "attestations" in d and isinstance(d["attestations"], list):
            for a in d["attestations"]:
                if isinstance(a, dict) and isinstance(a.get("bundle"), dict):
                    out.append(a["bundle"])
        elif isinstance(d, dict) and isinstance(d.get("bundle"), dict) and "mediaType" in d["bundle"]:
            out.append(d["bundle"])
        elif isinstance(d, dict) and ("sigstore.bundle" in str(d.get("mediaType", "")) or "verificationMaterial" in d):
            out.append(d)
    return out

def leaf_of(b):
    vm = b.get("verificationMaterial", {})
    raw = None
    if "certificate" in vm:
        raw = vm["certificate"].get("rawBytes")
    elif "x509CertificateChain" in vm:
        certs = vm["x509CertificateChain"].get("certificates", [])
        raw = certs[0]["rawBytes"] if certs else None
    if not raw:
        return None
    try:
        return x509.load_der_x509_certificate(base64.b64decode(raw))
    except Exception:
        return None

def identity(cert):
    san = None
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        for g in ext:
            if isinstance(g, (x509.UniformResourceIdentifier, x509.RFC822Name)):
                san = g.value
                break
            if isinstance(g, x509.OtherName):
                # UTF8String inside: skip the DER tag/length
                v = g.value
                san = v[2:].decode(errors="replace") if len(v) > 2 else None
                break
    except Exception:
        pass
    iss = None
    for e in cert.extensions:
        oid = e.oid.dotted_string
        if oid == "1.3.6.1.4.1.57264.1.8":
            v = e.value.value
            iss = v[2:].decode(errors="replace")
        elif oid == "1.3.6.1.4.1.57264.1.1" and iss is None:
            iss = e.value.value.decode(errors="replace")
    return san, iss

def logids_of(b):
    return {t.get("logId", {}).get("keyId") for t in b.get("verificationMaterial", {}).get("tlogEntries", [])}

def statement_of(b):
    env = b.get("dsseEnvelope")
    if not env:
        return None
    try:
        return json.loads(base64.b64decode(env["payload"]))
    except Exception:
        return {}

def sha256(data):
    return hashlib.sha256(data).hexdigest()

# ---- cases --------------------------------------------------------------------------------
CASES = []
def slug(s):
    s = re.sub(r"\.(sigstore\.json|sigstore|json|jsonl|intoto|build\.slsa)$", "", s)
    s = re.sub(r"\.(sigstore\.json|sigstore|json|jsonl|intoto)$", "", s)
    return re.sub(r"[^A-Za-z0-9._-]+", "-", s).strip("-")

KEYS_BY_HINT = {}
def case(peer, name, repo, path, bundle, artifacts=(), prefer=(), key=None, producer=None, note=None, flags=(), identity=None):
    """artifacts: list of (repo, path) or ('bytes', name, data) candidates."""
    CASES.append(dict(peer=peer, name=name, repo=repo, path=path, bundle=bundle, artifacts=list(artifacts),
                      prefer=list(prefer), key=key, producer=producer, note=note, flags=list(flags), identity=identity))

def pypi_to_bundle(a):
    """A PyPI attestation (PEP 740) as the Sigstore bundle v0.3 it stands for, as pypi_attestations' to_bundle builds it."""
    vm = a["verification_material"]
    return {"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": {"certificate": {"rawBytes": vm["certificate"]}, "tlogEntries": vm["transparency_entries"]},
            "dsseEnvelope": {"payload": a["envelope"]["statement"], "payloadType": "application/vnd.in-toto+json",
                             "signatures": [{"sig": a["envelope"]["signature"]}]}}

def from_file(peer, repo, path, artifacts=(), prefer=(), key=None, producer=None, note=None, name=None, flags=(), identity=None):
    raw = show(repo, path)
    bs = parse_bundles(raw)
    for i, b in enumerate(bs):
        n = name or slug(os.path.basename(path))
        if len(bs) > 1:
            n += "-%d" % (i + 1)
        case(peer, n, repo, path + ("" if len(bs) == 1 else " (bundle %d)" % (i + 1)), b, artifacts, prefer, key, producer, note, flags, identity)
    if not bs:
        print("not a bundle:", repo, path, file=sys.stderr)

exec(open(os.path.join(os.path.dirname(__file__), "peers.py")).read())

# ---- write --------------------------------------------------------------------------------
shutil.rmtree(OUT, ignore_errors=True)
os.makedirs(os.path.join(OUT, "roots"))
used_roots = set()
origins = []
seen = set()
for c in CASES:
    d = os.path.join(OUT, c["peer"], c["name"])
    assert d not in seen, d
    seen.add(d)
    os.makedirs(d)
    b = c["bundle"]
    bundle_bytes = json.dumps(b, indent=2).encode() + b"\n"
    open(os.path.join(d, "bundle.sigstore.json"), "wb").write(bundle_bytes)
    leaf = leaf_of(b)
    spec = {}
    spec["origin"] = {"repo": c["repo"], "path": c["path"], "commit": commit(c["repo"]) if c["repo"] in LICENCES and c["repo"] != "airlock" else "", "licence": LICENCES.get(c["repo"], "?")}
    # artifact
    st = statement_of(b)
    wanted = {}   # hex -> algorithm
    if st is None:
        md = b.get("messageSignature", {}).get("messageDigest", {})
        if md.get("digest"):
            alg = {"SHA2_256": "sha256", "SHA2_384": "sha384", "SHA2_512": "sha512"}.get(md.get("algorithm"), "sha256")
            wanted[base64.b64decode(md["digest"]).hex()] = alg
    else:
        for s in (st.get("subject") or [] if isinstance(st, dict) else []):
            dg = s.get("digest") if isinstance(s, dict) else None
            if isinstance(dg, dict):
                for alg in ("sha256", "sha512", "sha384"):
                    if dg.get(alg):
                        wanted[dg[alg]] = alg
                        break
    art = None
    cands = []
    for a in c["artifacts"]:
        if a[0] == "bytes":
            cands.append((a[1], a[2], "(%s)" % a[3] if len(a) > 3 else ""))
        else:
            cands.append((os.path.basename(a[1]), show(a[0], a[1]), "%s:%s@%s" % (a[0], a[1], commit(a[0]))))
    def hx(alg, data):
        return hashlib.new(alg, data).hexdigest()
    for n, data, org in cands:
        if any(hx(alg, data) == h for h, alg in wanted.items()):
            art = (n, data, org)
            break
    if art is None and c["artifacts"] and c.get("producer") == "rejected" and cands:
        art = cands[0]          # the producer's test gives this artifact
    if art is not None and len(art[1]) <= 200_000:
        open(os.path.join(d, "artifact"), "wb").write(art[1])
        spec["artifact"] = "artifact"
        spec["artifact_origin"] = art[2]
    elif art is not None:
        spec["artifact"] = "sha256:" + sha256(art[1])
        for h, alg in wanted.items():
            if hx(alg, art[1]) == h:
                spec["artifact"] = alg + ":" + h
        spec["artifact_origin"] = art[2] + " (its digest: too big to keep)"
    elif wanted:
        h = sorted(wanted)[0]
        spec["artifact"] = wanted[h] + ":" + h
        spec["artifact_origin"] = "the digest the bundle names"
    else:
        spec["artifact"] = "sha256:" + "0" * 64
        spec["artifact_origin"] = "none: the bundle names no digest"
    if st is not None:
        spec["command"] = "verify-attestation"
        pt = st.get("predicateType", "") if isinstance(st, dict) else ""
        if pt:
            spec["type"] = pt
    else:
        spec["command"] = "verify-blob"
    rname = pick_root(leaf, logids_of(b), c["prefer"])
    used_roots.add(rname)
    spec["trusted_root"] = rname
    vmk = b.get("verificationMaterial", {}).get("publicKey", {}).get("hint", "")
    if not c["key"] and vmk in KEYS_BY_HINT:
        c["key"] = KEYS_BY_HINT[vmk]
    if c["key"]:
        kd = c["key"]
        pem = show(kd[0], kd[1]) if kd[0] != "bytes" else kd[2]
        open(os.path.join(d, "key.pub"), "wb").write(pem)
        spec["key"] = "key.pub"
        spec["key_origin"] = "%s:%s" % (kd[0], kd[1])
    elif c.get("identity"):
        spec["identity"], spec["issuer"] = c["identity"]
    else:
        san, iss = identity(leaf) if leaf is not None else (None, None)
        if san and iss:
            spec["identity"], spec["issuer"] = san, iss
        else:
            spec["identity_regexp"], spec["issuer_regexp"] = ".*", ".*"
    if c["flags"]:
        spec["flags"] = c["flags"]
    if c["producer"]:
        spec["producer"] = c["producer"]
    if c["note"]:
        spec["note"] = c["note"]
    json.dump(spec, open(os.path.join(d, "case.json"), "w"), indent=2)
for n in sorted(used_roots):
    json.dump(ROOTS[n][0], open(os.path.join(OUT, "roots", n + ".json"), "w"), indent=2)
json.dump({n: ROOTS[n][1] for n in sorted(used_roots)}, open(os.path.join(OUT, "roots", "ORIGINS.json"), "w"), indent=2)
print(len(CASES), "cases")
