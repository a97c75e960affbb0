#!/usr/bin/env python3
# finalize.py ECO: writes airlock's current verdicts (from /tmp/h10/airlock-results.json) into every case.json.
import json, os, re, sys
eco = sys.argv[1]
res = json.load(open("/tmp/h10/airlock-results.json"))
def reason(stderr):
    lines = [l for l in stderr.splitlines() if l.startswith("airlock: error: ")]
    if not lines:
        return []
    msg = lines[0][len("airlock: error: "):]
    segs = [s.strip() for s in re.split(r": |; ", msg) if s.strip()]
    good = [s for s in segs if not re.search(r"[0-9a-f]{16}|\"|\d+ [<>] \d+|line \d", s) and len(s) > 8]
    pick = good[-1] if good else segs[0]
    return [pick[:90]]
for k, (rc, err, out) in res.items():
    p = os.path.join(eco, k, "case.json")
    c = json.load(open(p))
    c["exit"] = rc
    c["verdict"] = "ok" if rc == 0 else "rejected" if rc == 1 else "error"
    if rc != 0:
        c["reason"] = reason(err)
    else:
        c.pop("reason", None)
    json.dump(c, open(p, "w"), indent=2)
    open(p, "a").write("\n")
