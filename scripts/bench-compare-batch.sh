#!/usr/bin/env bash
# bench-compare-batch.sh: keyless batch throughput. N copies of a public-good keyless bundle
# (conformance happy-path-v0.3; each FILE with FILE.sigstore.json beside it) verified by one
# `airlock verify-blob ... FILE...` process, against: a bare in-process loop over sigstore-go's
# verifier on all cores (scripts/bench-compare-sgloop), and cosign / sigstore-go's conformance
# client one process per bundle (a smaller sample). Prints markdown for docs/benchmarks.md.
# Target (issue 3): airlock's batch at least as fast as the bare sigstore-go loop.
#   N=2000 SAMPLE=50 RUNS=5 scripts/bench-compare-batch.sh
source "$(dirname "$0")/bench-compare-lib.sh"
N=${N:-2000}
SAMPLE=${SAMPLE:-50}
RUNS=${RUNS:-5}
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
header "Keyless batch throughput (happy-path-v0.3 copies; N=$N in one process, per-process sample $SAMPLE, ${RUNS} runs)"
echo "FLAGS = \`--certificate-identity ID --certificate-oidc-issuer ISS --trusted-root root.json\`."
echo

# rate LABEL COUNT JSON: bundles/s from a hyperfine JSON export (mean and best run).
rate() {
  python3 - "$1" "$2" "$3" <<'PY'
import json, sys
label, n, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
r = json.load(open(path))["results"][0]
print(f"| {label} | {n} | {r['mean']:.3f} ± {r['stddev']:.3f} s | {n/r['mean']:.0f} | {n/r['min']:.0f} |")
PY
}
echo "| what | bundles | wall time (mean ± σ) | bundles/s (mean) | bundles/s (best run) |"
echo "|---|---|---|---|---|"
bench() { # LABEL COUNT CMD: hyperfine it (checking it succeeds first), then print a row
  local label=$1 n=$2 cmd=$3 err
  if ! err=$(bash -c "$cmd" 2>&1 >/dev/null); then
    echo "| $label | $n | did not run: $(head -1 <<<"$err" | tr '|' '/') | - | - |"; return
  fi
  hyperfine --warmup 1 --runs "$RUNS" --export-json r.json "$cmd" >&2 && rate "$label" "$n" r.json
}
bench "\`airlock verify-blob FLAGS many/*.txt\` (one process)" "$N" \
  "airlock verify-blob $FLAGS many/*.txt"
bench "\`sgloop\`: bare sigstore-go v1.3.0 verifier loop, $(nproc) workers, one process" "$N" \
  "sgloop -trusted-root root.json -certificate-identity $ID -certificate-oidc-issuer $ISS many/*.txt"
bench "\`cosign verify-blob --bundle F.sigstore.json FLAGS F\`, one process per bundle, sequential" "$SAMPLE" \
  "for f in sample/*.txt; do cosign verify-blob --bundle \$f.sigstore.json $FLAGS \$f || exit 1; done"
bench "same, cosign, 2 processes at a time (xargs -P $(nproc))" "$SAMPLE" \
  "ls sample/*.txt | xargs -P $(nproc) -I{} cosign verify-blob --bundle {}.sigstore.json $FLAGS {}"
bench "\`sgclient verify-bundle\` (sigstore-go conformance client), one process per bundle, sequential" "$SAMPLE" \
  "for f in sample/*.txt; do sgclient verify-bundle --bundle \$f.sigstore.json $FLAGS \$f || exit 1; done"
echo
echo "Peak RSS (MiB) of the airlock batch: $(peak_rss_mib airlock verify-blob --certificate-identity "$ID" --certificate-oidc-issuer "$ISS" --trusted-root root.json many/*.txt)" \
  "(sgloop: $(peak_rss_mib sgloop -trusted-root root.json -certificate-identity "$ID" -certificate-oidc-issuer "$ISS" many/*.txt))."
