#!/usr/bin/env python3
# readme.py (run in testdata/ecosystem): regenerates README.md's Sources and Cases tables from the
# case.json files, keeping the hand-written text before "## Sources".
import json, glob, collections
head = open("README.md").read().split("## Sources")[0]
cases = sorted(c for c in glob.glob("*/*/case.json") if not c.startswith(("roots/", "gather/")))
by = collections.OrderedDict()
for c in cases:
    d = json.load(open(c)); by.setdefault(c.split("/")[0], []).append((c.rsplit("/", 1)[0], d))
roots = json.load(open("roots/ORIGINS.json"))
L = [head.rstrip() + "\n", "## Sources", "", "| peer | repository | commit | licence | cases |", "|---|---|---|---|---|"]
for peer, cs in by.items():
    for r, cm, lic in sorted({(d["origin"]["repo"], d["origin"]["commit"], d["origin"]["licence"]) for _, d in cs}):
        L.append("| %s | %s | `%s` | %s | %d |" % (peer, r, cm[:12], lic, sum(1 for _, d in cs if d["origin"]["repo"] == r)))
L += ["| **total** | | | | **%d** |" % len(cases), "", "Trusted roots (`roots/`):", ""]
for n, o in roots.items():
    L.append("- `%s.json`: %s `%s`%s" % (n, o.get("repo", ""), o.get("path", ""), (" @ `%s`" % o["commit"][:12]) if o.get("commit") else ""))
L += ["", "## Cases", "", "| case | source file | producer | airlock | cosign v3.1.3 |", "|---|---|---|---|---|"]
for peer, cs in by.items():
    for dirn, d in cs:
        v = d["verdict"] + ("" if d["verdict"] == "ok" else ": " + "; ".join(d.get("reason", [])))
        fl = (" (" + " ".join(d["flags"]) + ")") if d.get("flags") else ""
        L.append("| `%s`%s | %s `%s` | %s | %s | %s |" % (dirn, fl, d["origin"]["repo"], d["origin"]["path"], d.get("producer", ""), v.replace("|", "\\|"), d.get("cosign", "")))
open("README.md", "w").write("\n".join(L).rstrip() + "\n")
