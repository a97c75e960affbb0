GH_FLAGS = ["--insecure-ignore-tlog", "--use-signed-timestamps", "--insecure-ignore-sct"]
npmkey = ("bytes", "test/lib/commands/audit.js (npm registry key SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA)",
          b"-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE1Olb3zMAFFxXKHiIkQO5cJ3Yhl5i6UPp+\nIhuteBJbuHcA5UogKo0EWtlWwW6KSaKoTNEYL7JlCQiVnkhBktUgg==\n-----END PUBLIC KEY-----\n")
KEYS_BY_HINT["SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA"] = npmkey
# peers.py: which files of which repositories become cases (exec'd by gather.py).
J = "sigstore/sigstore-java"
JB = "sigstore-java/src/test/resources/dev/sigstore/samples/bundles/"
jart = [(J, JB + "artifact.txt")]
java_bad = {"bundle-with-mismatched-set": "rejected", "bundle-with-wrong-tlog-entry": "rejected",
            "bundle-with-bad-checkpoint-signature": "rejected", "bundle-with-rekor-v2-entry": "ok",
            "bundle.dsse.bad-signature": "rejected", "bundle.dsse.mismatched-envelope": "rejected",
            "bundle.dsse.mismatched-signature": "rejected", "bundle.dsse.rekor-v2.bad-signature": "rejected",
            "bundle.dsse.rekor-v2.mismatched-envelope": "rejected", "bundle.dsse.rekor-v2.mismatched-signature": "rejected",
            "bundle.dsse.rekor-v2.bad-entry-type": "rejected", "bundle-with-expired-cert": "rejected",
            "bundle-with-timestamp": "ok", "bundle-no-digest": "ok"}
for p in ls(J, JB):
    if not p or not re.search(r"\.sigstore(\.json)?$", p) or "/" in p[len(JB):]:
        continue
    base = slug(os.path.basename(p))
    prod = java_bad.get(base, "ok")
    if "no.inclusion" in base:
        prod = "ok"
    from_file("sigstore-java", J, p, jart, prefer=["public-good", "staging"], producer=prod)
from_file("sigstore-java", J, JB + "github-private-no-tlog/attestation.sigstore.json", prefer=["github"],
          producer="ok", name="github-private-no-tlog",
          note="GitHub private-instance attestation: RFC 3161 timestamps only, no log entry, no CT log")
from_file("sigstore-java", J, JB + "github-private-no-tlog/attestation.sigstore.json", prefer=["github"],
          producer="ok", name="github-private-no-tlog@signed-timestamps", flags=GH_FLAGS,
          note="GitHub private-instance attestation under cosign's flags for it (GitHub's Fulcio has no CT log)")

# sigstore-go
G = "sigstore/sigstore-go"
gart = [(G, "examples/sigstore-go-signing/hello_world.txt"), (G, "examples/sigstore-go-signing/intoto.txt")]
for p in ["pkg/testing/data/bundles/dsse-2sigs.sigstore.json", "pkg/testing/data/bundles/dsse.sigstore.json",
          "pkg/testing/data/bundles/othername.sigstore.json", "pkg/testing/data/bundles/sigstore.js@2.0.0-provenance.sigstore.json",
          "examples/bundle-provenance.json"]:
    from_file("sigstore-go", G, p, gart, prefer=["sigstore-go-scaffolding", "public-good"],
              producer="rejected" if "2sigs" in p else "ok")
from_file("sigstore-go", G, "examples/bundle-publish.json", key=(G, "examples/publish_key.pub"), producer="ok")
from_file("sigstore-go", G, "pkg/testing/data/bundles/public-key-validity.sigstore.json", prefer=["sigstore-go-public-key-validity"], producer="ok",
          note="key-signed; sigstore-go's test gives the key through the trusted root's validity window, airlock needs --key")

# sigstore-js (TypeScript fixtures evaluated by node)
S = "sigstore/sigstore-js"
def js(path):
    return json.loads(subprocess.check_output(["node", "-e",
        "const m=require(process.argv[1]); const f=(o)=>{if(Buffer.isBuffer(o))return {__buffer:o.toString('base64')}; if(o&&typeof o==='object'){const r=Array.isArray(o)?[]:{}; for(const k in o) r[k]=f(o[k]); return r;} return o}; console.log(JSON.stringify(f(m)))",
        path]))
vb = js("/tmp/h10/js/verify_bundles.js")
jsart = [("bytes", "hello-world", base64.b64decode(vb["ARTIFACT"]["__buffer"]), "sigstore-js fixture ARTIFACT: 'hello, world!'")]
jskey = ("bytes", "packages/verify/src/__tests__/__fixtures__/bundles.ts PUBLIC_KEY", vb["PUBLIC_KEY"].encode())
def walk(tree, prefix):
    for k, v in tree.items():
        if isinstance(v, dict) and "mediaType" in v:
            yield prefix + [k], v
        elif isinstance(v, dict):
            yield from walk(v, prefix + [k])
for keys, b in walk({k: vb[k] for k in ("V1", "V3")}, []):
    nm = ".".join(keys)
    key = jskey if "PUBLIC_KEY" in nm else None
    case("sigstore-js", nm, S, "packages/verify/src/__tests__/__fixtures__/bundles.ts " + nm, b, jsart,
         prefer=["public-good"], key=key, producer="ok",
         note="verified against the public-good trusted root: sigstore-js's tests use their own (trust.ts), which lists a test TSA and a Rekor v2 test log")
    if nm == "V1.MESSAGE_SIGNATURE.WITH_SIGNING_CERT":
        case("sigstore-js", nm + "@sigstore-js-root", S, "packages/verify/src/__tests__/__fixtures__/bundles.ts " + nm, b, jsart,
             prefer=["sigstore-js"], key=key, producer="ok",
             note="with sigstore-js's own test trusted root (packages/verify/src/__tests__/__fixtures__/trust.ts), as its tests do")
cv = js("/tmp/h10/js/client_bundles_valid.js")
cart = [("bytes", "hello-world", base64.b64decode(cv["artifact"]["__buffer"]), "sigstore-js client fixture artifact")]
for keys, b in walk({k: cv[k] for k in ("v1", "v2", "v3")}, []):
    nm = "client." + ".".join(keys)
    key = None
    if "publicKey" in b.get("verificationMaterial", {}):
        hint = b["verificationMaterial"]["publicKey"].get("hint")
        if hint in cv["publicKeys"]:
            key = ("bytes", "packages/client/src/__tests__/__fixtures__/bundles/valid.ts publicKeys[%s]" % hint, cv["publicKeys"][hint].encode())
    case("sigstore-js", nm, S, "packages/client/src/__tests__/__fixtures__/bundles/valid.ts " + ".".join(keys), b, cart,
         prefer=["public-good"], key=key, producer="ok")
for p in ls(S, "tests/bundles"):
    if p.endswith(".sigstore"):
        from_file("sigstore-js", S, p, prefer=["public-good", "staging"], producer="ok")

# sigstore-rs
R = "sigstore/sigstore-rs"
from_file("sigstore-rs", R, "tests/data/bundle_v03.json", prefer=["public-good"], producer="ok")

# cosign
C = "sigstore/cosign"
from_file("cosign", C, "pkg/cosign/testdata/oci-attestation.sigstore.json", prefer=["cosign-pgi", "public-good"], producer="ok")

# gh CLI
GH = "cli/cli"
GD = "pkg/cmd/attestation/test/data/"
ghart = [(GH, GD + "github_provenance_demo-0.0.12-py3-none-any.whl"), (GH, GD + "sigstore-js-2.1.0.tgz"),
         (GH, GD + "custom-issuer-artifact"), (GH, GD + "reusable-workflow-artifact")]
for p in ["custom-issuer.sigstore.json", "github_provenance_demo-0.0.12-py3-none-any-bundle.jsonl",
          "github_provenance_demo-0.0.12-py3-none-any-bundle-missing-cert.jsonl",
          "github_provenance_demo-0.0.12-py3-none-any-bundle-missing-verification-material.jsonl",
          "reusable-workflow-attestation.sigstore.json", "sigstore-js-2.1.0-bundle-v0.1.json", "sigstore-js-2.1.0-bundle.json",
          "sigstore-js-2.1.0_with_2_bundles.jsonl", "sigstoreBundle-invalid-signature.json"]:
    bad = "missing" in p or "invalid" in p
    ident = None
    if "github_provenance_demo" in p:
        ident = ("https://github.com/actions/attest-demo/.github/workflows/build-python.yml@refs/heads/main", "https://token.actions.githubusercontent.com")
    from_file("gh", GH, GD + p, ghart, prefer=["public-good", "github"], producer="rejected" if bad else "ok", identity=ident)
    if p == "github_provenance_demo-0.0.12-py3-none-any-bundle.jsonl":
        from_file("gh", GH, GD + p, ghart, prefer=["public-good", "github"], producer="ok", identity=ident,
                  name="github_provenance_demo-0.0.12-py3-none-any-bundle@signed-timestamps", flags=GH_FLAGS,
                  note="GitHub private-instance attestation under cosign's flags for it (gh attestation verify accepts it with GitHub's trusted root)")

# pypi-attestations (the repository trailofbits/pypi-attestations, since moved to pypi/pypi-attestations)
PA = "trailofbits/pypi-attestations"
paart = [(PA, x) for x in ls(PA, "test/assets") if x.endswith((".whl", ".tar.gz"))]
for p in ls(PA, "test/assets"):
    nm = os.path.basename(p)
    if p.endswith(".sigstore"):
        from_file("pypi-attestations", PA, p, paart, prefer=["staging", "public-good"], producer="ok", name=nm.replace(".sigstore", ".bundle"))
    elif p.endswith(".attestation"):
        b = pypi_to_bundle(json.loads(show(PA, p)))
        case("pypi-attestations", slug(nm), PA, p + " (PEP 740 attestation, as a bundle)", b, paart, prefer=["staging", "public-good"], producer="ok",
             note="a PyPI attestation (PEP 740) rewritten as the Sigstore bundle v0.3 it stands for, as pypi_attestations' Attestation.to_bundle does")
    elif p.endswith(".provenance"):
        prov = json.loads(show(PA, p))
        i = 0
        for ab in prov.get("attestation_bundles", []):
            for a in ab.get("attestations", []):
                i += 1
                case("pypi-attestations", slug(nm) + "-provenance-%d" % i, PA, p + " (attestation %d, as a bundle)" % i, pypi_to_bundle(a), paart,
                     prefer=["staging", "public-good"], producer="ok",
                     note="an attestation of a PyPI provenance object rewritten as a Sigstore bundle v0.3, as pypi_attestations does")

# model-transparency
M = "sigstore/model-transparency"
for v in ["v0.3.1", "v1.0.0", "v1.0.1", "v1.1.0"]:
    from_file("model-transparency", M, "scripts/tests/%s-sigstore/model.sig" % v, prefer=["public-good"], producer="ok", name=v + "-sigstore")
    from_file("model-transparency", M, "scripts/tests/%s-elliptic-key/model.sig" % v, key=(M, "scripts/tests/keys/certificate/signing-key-pub.pem"),
              producer="ok", name=v + "-elliptic-key", flags=["--insecure-ignore-tlog"])
for v in ["v0.2.0", "v1.0.0", "v1.1.0"]:
    from_file("model-transparency", M, "scripts/tests/%s-certificate/model.sig" % v, prefer=["public-good"], producer="ok", name=v + "-certificate",
              note="signed by a private CA chain (scripts/tests/keys/certificate), not Fulcio: no Sigstore trusted root holds it")

# npm/cli
N = "npm/cli"
KEYS_BY_HINT["SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA"] = npmkey
for p in ["test/fixtures/sigstore/valid-sigstore-attestations.json", "test/fixtures/sigstore/valid-tuf-js-attestations.json"]:
    raw = show(N, p)
    for i, b in enumerate(parse_bundles(raw)):
        k = npmkey if "publicKey" in b["verificationMaterial"] else None
        case("npm", slug(os.path.basename(p)) + "-%d" % (i + 1), N, p + " (attestation %d)" % (i + 1), b, prefer=["public-good"], key=k, producer="ok")
LP = "workspaces/libnpmpublish/test/fixtures/"
for p in ["bad-dsse-payload-bundle.json", "digest-mismatch-provenance-bundle.json", "invalid-signature-bundle.json",
          "multi-subject-provenance-bundle.json", "no-provenance-envelope-bundle.json", "no-provenance-subject-bundle.json", "valid-bundle.json"]:
    from_file("npm", N, LP + p, prefer=["public-good"], producer="ok" if p.startswith(("valid", "multi")) else "rejected",
              note="libnpmpublish fixture: npm checks the provenance against the package it publishes")

# slsa-verifier
V = "slsa-framework/slsa-verifier"
VB = "verifiers/internal/gha/testdata/"
for p in ls(V, VB):
    if p.endswith(".intoto.sigstore"):
        nm = os.path.basename(p)
        bad = any(w in nm for w in ("invalid", "mismatch", "untrusted", "nodigest", "nosubjects"))
        from_file("slsa-verifier", V, p, prefer=["public-good"], producer="rejected" if bad else "ok")
for p in ls(V, "cli/slsa-verifier/testdata/gha_container-based/v1.7.0"):
    if p.endswith(".intoto.sigstore"):
        from_file("slsa-verifier", V, p, [(V, p[:-len(".intoto.sigstore")])], prefer=["public-good"], producer="ok")

# sigstore-python
P = "sigstore/sigstore-python"
prod = {"bundle_cve_2022_36056.txt": "rejected", "bundle_invalid_version.txt": "rejected", "bundle_no_cert_v1.txt": "rejected",
        "bundle_no_log_entry.txt": "rejected", "bundle_v3_no_signed_time.txt": "rejected", "bundle_no_checkpoint.txt": "rejected",
        "integration-Python-3.12.5.tgz": "rejected", "tsa-bundle.duplicate": "rejected", "tsa-bundle.many_timestamp": "rejected",
        "tsa-bundle.txt.late_timestamp": "rejected"}
for p in ls(P, "test/assets"):
    if not re.search(r"\.sigstore(\.json)?$", p):
        continue
    art = re.sub(r"\.sigstore(\.json)?$", "", p)
    if p.startswith("test/assets/tsa/"):
        art = "test/assets/tsa/bundle.txt"
    arts = [(P, art)] if art in ls(P, os.path.dirname(p)) else []
    nm = os.path.basename(p) if not p.startswith("test/assets/integration") else "integration-" + os.path.basename(p)
    if p.startswith("test/assets/tsa/"):
        nm = "tsa-" + nm
    b = slug(nm)
    from_file("sigstore-python", P, p, arts, prefer=(["sigstore-python-tsa"] if "/tsa/" in p else []) + ["staging", "public-good"], producer=prod.get(b, "ok"), name=b)
