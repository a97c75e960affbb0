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

echo
echo "== trust store: a stale mirror carried into the air gap (issue 4)"
TDB=$(mktemp -d "${TMPDIR:-/tmp}/airlock-demo-trust.XXXXXX")
trap 'rm -rf "$TDB"' EXIT
SNAP=testdata/tuf/public-good-2026-08-21
export AIRLOCK_DB=$TDB/airlock.db
step "pin the public-good root embedded in airlock" "$A" trust init --public-good
set +e
step "import the three-month-old mirror at the machine clock: refused (exit 1)" "$A" trust update --from $SNAP
echo "exit code: $?"
set -e
step "import it as of a time its metadata was valid (recorded in the audit trail)" \
  "$A" trust update --from $SNAP --at 2026-08-21T20:00:00Z
step "what the database trusts, and how stale it is" "$A" trust status
step "verify with no --trusted-root: trust comes from the database, with a staleness warning" \
  "$A" verify-blob --bundle $V/happy-path-v0.3/bundle.sigstore.json \
  --certificate-identity "$ID" --certificate-oidc-issuer "$ISS" $V/a.txt
set +e
step "past a 30-day trust age limit the same verification is refused (exit 1)" \
  env AIRLOCK_MAX_TRUST_AGE=30d "$A" verify-blob --bundle $V/happy-path-v0.3/bundle.sigstore.json \
  --certificate-identity "$ID" --certificate-oidc-issuer "$ISS" $V/a.txt
echo "exit code: $?"
set -e
step "export the trusted root for cosign --trusted-root" "$A" trust export-root --out $TDB/trusted_root.json
unset AIRLOCK_DB
