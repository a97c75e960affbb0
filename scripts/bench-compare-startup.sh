#!/usr/bin/env bash
# bench-compare-startup.sh: one process verifying one keyless bundle offline
# (conformance happy-path-v0.3, public-good trusted root): stock cosign v3 vs airlock vs
# sigstore-go's bare conformance client, interleaved in rounds. Prints markdown for
# docs/benchmarks.md. Target (issue 3): airlock <= half of cosign's wall time (cosign comes
# first: the ratio columns are relative to it).
#   ROUNDS=10 RUNS=10 scripts/bench-compare-startup.sh
source "$(dirname "$0")/bench-compare-lib.sh"
ROUNDS=${ROUNDS:-10}
RUNS=${RUNS:-10}
workdir
cp "$V/happy-path-v0.3/bundle.sigstore.json" bundle.json
cp "$V/a.txt" a.txt
cp "$PUBLIC_GOOD_ROOT" root.json
header "One keyless verification per process (happy-path-v0.3, ${ROUNDS} interleaved rounds of ${RUNS} runs)"
echo "ID and ISS stand for \`$ID\` and \`$ISS\`."
echo
cmds=(
  "cosign verify-blob --bundle bundle.json --certificate-identity $ID --certificate-oidc-issuer $ISS --trusted-root root.json a.txt"
  "airlock verify-blob --bundle bundle.json --certificate-identity $ID --certificate-oidc-issuer $ISS --trusted-root root.json a.txt"
  "sgclient verify-bundle --bundle bundle.json --certificate-identity $ID --certificate-oidc-issuer $ISS --trusted-root root.json a.txt"
)
runnable cmds; echo
measure startup "$ROUNDS" "$RUNS" "${cmds[@]}"
rss=(); for c in "${cmds[@]}"; do rss+=("$(peak_rss_mib $c)"); done
table startup "${rss[@]}" | sed "s|$ID|ID|g; s|$ISS|ISS|g"
echo
echo "Load average at the end: $(load)."
