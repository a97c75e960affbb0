#!/usr/bin/env bash
# bench-compare-startup.sh: one process verifying one keyless bundle offline
# (conformance happy-path-v0.3, public-good trusted root): airlock vs stock cosign v3 vs
# sigstore-go's bare conformance client. Prints markdown for docs/benchmarks.md.
# Target (issue 3): airlock <= half of cosign's wall time (cosign comes first: the ratio
# column is relative to it).
#   RUNS=100 scripts/bench-compare-startup.sh
source "$(dirname "$0")/bench-compare-lib.sh"
RUNS=${RUNS:-100}
workdir
cp "$V/happy-path-v0.3/bundle.sigstore.json" bundle.json
cp "$V/a.txt" a.txt
cp "$PUBLIC_GOOD_ROOT" root.json
header "One keyless verification per process (happy-path-v0.3, ${RUNS} runs)"
echo "Identity: \`--certificate-identity \$ID --certificate-oidc-issuer \$ISS\` with ID=\`$ID\`, ISS=\`$ISS\` (written as ID and ISS below)."
echo
cmds=(
  "cosign verify-blob --bundle bundle.json --certificate-identity $ID --certificate-oidc-issuer $ISS --trusted-root root.json a.txt"
  "airlock verify-blob --bundle bundle.json --certificate-identity $ID --certificate-oidc-issuer $ISS --trusted-root root.json a.txt"
  "sgclient verify-bundle --bundle bundle.json --certificate-identity $ID --certificate-oidc-issuer $ISS --trusted-root root.json a.txt"
)
runnable cmds; echo
hyperfine -N --warmup 5 --runs "$RUNS" --export-json startup.json "${cmds[@]}" >&2 || echo "bench: warning: a command failed" >&2
rss=(); for c in "${cmds[@]}"; do rss+=("$(peak_rss_mib $c)"); done
[ -s startup.json ] && table startup.json "${rss[@]}" | sed "s|$ID|ID|g; s|$ISS|ISS|g"
