#!/usr/bin/env bash
# bench-compare-batch.sh: keyless batch throughput. N copies of a public-good keyless bundle
# (conformance happy-path-v0.3; each FILE with FILE.sigstore.json beside it) verified by one
# `airlock verify-blob ... FILE...` process, against a bare in-process loop over sigstore-go's
# verifier on all cores (scripts/bench-compare-sgloop), interleaved in rounds; and cosign /
# sigstore-go's conformance client one process per bundle (a smaller sample).
# Prints markdown for docs/benchmarks.md.
# Target (issue 3): airlock's batch at least as fast as the bare sigstore-go loop.
#   N=2000 SAMPLE=50 ROUNDS=5 scripts/bench-compare-batch.sh
source "$(dirname "$0")/bench-compare-lib.sh"
N=${N:-2000}
SAMPLE=${SAMPLE:-50}
ROUNDS=${ROUNDS:-5}
workdir
(cd "$REPO" && GOTOOLCHAIN=local go build -o "$W/bin/sgloop" ./scripts/bench-compare-sgloop) || die "building sgloop failed"
cp "$PUBLIC_GOOD_ROOT" root.json
mkdir -p many sample
for i in $(seq -w 1 "$N"); do
  cp "$V/a.txt" many/f$i.txt; cp "$V/happy-path-v0.3/bundle.sigstore.json" many/f$i.txt.sigstore.json
done
for i in $(seq -w 1 "$SAMPLE"); do
  cp "$V/a.txt" sample/f$i.txt; cp "$V/happy-path-v0.3/bundle.sigstore.json" sample/f$i.txt.sigstore.json
done
FLAGS="--certificate-identity $ID --certificate-oidc-issuer $ISS --trusted-root root.json"
header "Keyless batch throughput (happy-path-v0.3 copies; $N in one process, per-process sample of $SAMPLE; ${ROUNDS} interleaved rounds)"
echo "FLAGS stands for \`--certificate-identity ID --certificate-oidc-issuer ISS --trusted-root root.json\`."
echo

# rates PREFIX COUNT LABEL...: bundles/s from measure's exports, one row per command.
rates() {
  python3 - "$@" <<'PY'
import glob, json, statistics, sys
prefix, n, labels = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
t = {}
cpu = {}
for path in sorted(glob.glob(prefix + ".*.json")):
    for i, r in enumerate(json.load(open(path))["results"]):
        t.setdefault(i, []).extend(r["times"])
        cpu.setdefault(i, []).extend([r["user"] + r["system"]] * len(r["times"]))
for i in sorted(t):
    med, mn = statistics.median(t[i]), min(t[i])
    c = statistics.mean(cpu[i])
    print(f"| {labels[i]} | {n} | {med:.3f} s | {mn:.3f} s | {c:.3f} s | {c/n*1000:.2f} ms | "
          f"{n/med:.0f} | {n/mn:.0f} | {len(t[i])} |")
PY
}
export HF_SHELL=--shell=bash
big=("airlock verify-blob $FLAGS many/*.txt"
     "sgloop -trusted-root root.json -certificate-identity $ID -certificate-oidc-issuer $ISS many/*.txt")
small=("for f in sample/*.txt; do cosign verify-blob --bundle \$f.sigstore.json $FLAGS \$f || exit 1; done"
       "ls sample/*.txt | xargs -P $(nproc) -I{} cosign verify-blob --bundle {}.sigstore.json $FLAGS {}"
       "for f in sample/*.txt; do sgclient verify-bundle --bundle \$f.sigstore.json $FLAGS \$f || exit 1; done")
for c in "${big[@]}" "${small[@]}"; do
  bash -c "$c" >/dev/null 2>err.txt || echo "- did not run: \`${c//$ID/ID}\`: $(head -1 err.txt)"
done
echo
echo "| what | bundles | median wall | min wall | mean CPU (user+sys) | CPU per bundle | bundles/s (median) | bundles/s (best) | runs |"
echo "|---|---|---|---|---|---|---|---|---|"
measure big "$ROUNDS" 1 "${big[@]}" && rates big "$N" \
  "\`airlock verify-blob FLAGS many/*.txt\`: one process" \
  "\`sgloop\`: bare sigstore-go v1.3.0 verifier loop, $(nproc) workers, one process"
measure small "$ROUNDS" 1 "${small[@]}" && rates small "$SAMPLE" \
  "\`cosign verify-blob --bundle F.sigstore.json FLAGS F\`: one process per bundle, sequential" \
  "same, cosign, $(nproc) processes at a time (xargs -P $(nproc))" \
  "\`sgclient verify-bundle\` (sigstore-go conformance client): one process per bundle, sequential"
echo
echo "Peak RSS (MiB) of the airlock batch of $N: $(peak_rss_mib airlock verify-blob --certificate-identity "$ID" --certificate-oidc-issuer "$ISS" --trusted-root root.json many/*.txt)" \
  "(sgloop: $(peak_rss_mib sgloop -trusted-root root.json -certificate-identity "$ID" -certificate-oidc-issuer "$ISS" many/*.txt)). Load average at the end: $(load)."
