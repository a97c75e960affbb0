#!/usr/bin/env bash
# demo.sh: airlock end to end on shipped vectors, offline. Run by `make demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
A=$PWD/bin/airlock
V=testdata/conformance/bundle-verify
ROOT=testdata/tuf/public-good-2026-08-21/targets/6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66.trusted_root.json
ID=https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main
ISS=https://token.actions.githubusercontent.com
step() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "${*:2}"; "${@:2}"; }

echo "== 1. verify a keyless bundle offline against the public-good trusted root"
step "keyless happy path" "$A" verify-blob --bundle $V/happy-path-v0.3/bundle.sigstore.json \
  --certificate-identity "$ID" --certificate-oidc-issuer "$ISS" --trusted-root "$ROOT" $V/a.txt
set +e
step "a tampered signature is rejected (exit 1)" "$A" verify-blob --bundle $V/signature-mismatch_fail/bundle.sigstore.json \
  --certificate-identity "$ID" --certificate-oidc-issuer "$ISS" --trusted-root "$ROOT" $V/a.txt
echo "exit code: $?"
set -e
