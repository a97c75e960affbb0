#!/usr/bin/env python3
# run.py ECO AIRLOCK: runs airlock on every case, prints peer/case/exit/first error line.
import json, os, subprocess, sys
eco, airlock = sys.argv[1], sys.argv[2]
res = {}
for peer in sorted(os.listdir(eco)):
    if peer in ("roots", "gather") or not os.path.isdir(os.path.join(eco, peer)): continue
    for name in sorted(os.listdir(os.path.join(eco, peer))):
        d = os.path.join(eco, peer, name)
        c = json.load(open(os.path.join(d, "case.json")))
        args = [airlock, c["command"], "--bundle", "bundle.sigstore.json", "--trusted-root", os.path.join(eco, "roots", c["trusted_root"] + ".json")]
        if "key" in c: args += ["--key", c["key"]]
        elif "identity" in c: args += ["--certificate-identity", c["identity"], "--certificate-oidc-issuer", c["issuer"]]
        else: args += ["--certificate-identity-regexp", c["identity_regexp"], "--certificate-oidc-issuer-regexp", c["issuer_regexp"]]
        if c.get("type"): args += ["--type", c["type"]]
        args += c.get("flags", [])
        args.append(c["artifact"])
        p = subprocess.run(args, cwd=d, capture_output=True, text=True, env=dict(os.environ, AIRLOCK_DB="/nonexistent/airlock.db"))
        res[peer + "/" + name] = (p.returncode, p.stderr.strip(), p.stdout.strip())
        first = [l for l in p.stderr.splitlines() if l.startswith("airlock: error")]
        print("%-75s %d %s | %s" % (peer + "/" + name, p.returncode, c.get("producer"), (first[0] if first else p.stdout.splitlines()[0] if p.stdout else p.stderr[:150])[:250]))
json.dump(res, open("/tmp/h10/airlock-results.json", "w"), indent=1)
