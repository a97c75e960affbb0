#!/usr/bin/env bash
# demo.sh: airlock end to end on shipped vectors, offline. Run by `make demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
A=$PWD/bin/airlock
V=testdata/conformance/bundle-verify
ROOT=testdata/tuf/public-good-2026-08-21/targets/6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66.trusted_root.json
ID=https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main
ISS=https://token.actions.githubusercontent.com
# step TITLE CMD...: print TITLE and CMD as a line that can be pasted into a shell (an
# `sh -c SCRIPT` step prints SCRIPT), then run CMD.
step() {
  local title=$1 shown= a
  shift
  if [ "$1" = sh ] && [ "$2" = -c ]; then
    shown=$3
  else
    for a in "$@"; do
      # (no argument here holds a single quote)
      if [[ $a =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then shown+="$a "; else shown+="'$a' "; fi
    done
    shown=${shown% }
  fi
  printf '\n\033[1m== %s\033[0m\n$ %s\n' "$title" "$shown"
  "$@"
}

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

echo
echo "== signing with a key that never leaves a token (issue 5), SoftHSM2"
# Runs in a subshell with its own token, database and files, removed at the end.
(
  set -euo pipefail
  S=$(mktemp -d "${TMPDIR:-/tmp}/airlock-demo-sign.XXXXXX")
  trap 'rm -rf "$S"' EXIT
  MODULE=
  for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so \
           /usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so /usr/local/lib/softhsm/libsofthsm2.so; do
    [ -f "$m" ] && { MODULE=$m; break; }
  done
  if ! command -v softhsm2-util >/dev/null || [ -z "$MODULE" ]; then
    echo "softhsm2 is not installed: run 'make softhsm' (make demo does)"; exit 1
  fi
  mkdir -p "$S/tokens"
  printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$S/tokens" >"$S/softhsm2.conf"
  export SOFTHSM2_CONF=$S/softhsm2.conf AIRLOCK_PKCS11_MODULE=$MODULE AIRLOCK_DB=$S/airlock.db
  ( umask 077; od -An -N8 -tx1 /dev/urandom | tr -d ' \n' >"$S/pin"; echo >>"$S/pin" )
  softhsm2-util --init-token --free --label release --pin "$(head -1 "$S/pin")" \
    --so-pin "$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" >/dev/null
  KEY="pkcs11:token=release;object=signer?pin-source=$S/pin"
  cd "$S"
  printf 'hello, air gap\n' >hello.tgz
  cat >sbom.json <<'JSON'
{"SPDXID": "SPDXRef-DOCUMENT", "spdxVersion": "SPDX-2.3", "name": "hello-archive",
 "packages": [{"SPDXID": "SPDXRef-Pkg-1", "name": "libfoo", "versionInfo": "1.2.3"}]}
JSON
  step "generate a non-extractable P-256 key on the token (PIN from a 0600 pin-source file)" \
    "$A" hsm keygen --token "pkcs11:token=release?pin-source=$S/pin" --label signer --type ecdsa-p256
  step "hand out its public key" sh -c "'$A' hsm pubkey '$KEY' > release.pub && cat release.pub"
  set +e
  step "signing without a transparency log must be asked for (exit 2, before the token is touched)" \
    "$A" sign-blob --key "$KEY" ./hello.tgz
  echo "exit code: $?"
  set -e
  step "the primer's form: cosign's base64 signature on stdout" \
    sh -c "'$A' sign-blob --key '$KEY' --tlog none ./hello.tgz > hello.tgz.sig && cat hello.tgz.sig"
  step "a Sigstore bundle" "$A" sign-blob --key "$KEY" --tlog none --bundle hello.tgz.sigstore.json ./hello.tgz
  step "verify both with the public key" sh -c \
    "'$A' verify-blob --key release.pub --insecure-ignore-tlog --signature hello.tgz.sig ./hello.tgz &&
     '$A' verify-blob --key release.pub --insecure-ignore-tlog --bundle hello.tgz.sigstore.json ./hello.tgz"
  step "attest: an SPDX SBOM in a DSSE envelope (cosign's .att) on stdout" \
    sh -c "'$A' attest-blob --key '$KEY' --tlog none --predicate sbom.json --type spdxjson ./hello.tgz > hello.tgz.att && head -c 120 hello.tgz.att && echo ..."
  step "verify the attestation" "$A" verify-attestation --key release.pub --insecure-ignore-tlog \
    --type https://spdx.dev/Document --signature hello.tgz.att ./hello.tgz
  for i in $(seq 1 200); do printf 'artifact %d\n' "$i" >"f$i.txt"; done
  step "200 files in one call: one login, parallel sessions, FILE.sigstore.json beside each" \
    sh -c "'$A' sign-blob --key '$KEY' --tlog none f*.txt && ls f*.sigstore.json | wc -l"
  echo "(each of these signatures is a record in the hash-chained audit trail in \$AIRLOCK_DB)"

  echo
  echo "== the site transparency log (issue 10): its key on the token, every signature logged"
  step "a second P-256 key on the token: the log key" \
    "$A" hsm keygen --token "pkcs11:token=release?pin-source=$S/pin" --label logkey --type ecdsa-p256
  step "create the site log" \
    "$A" log init --key "pkcs11:token=release;object=logkey?pin-source=$S/pin" --origin transparency.demo.example
  step "sign-blob now logs by default: the bundle carries its entry, proof, checkpoint and SET" \
    sh -c "'$A' sign-blob --key '$KEY' --bundle hello.tgz.logged.sigstore.json ./hello.tgz && grep -o '\"kindVersion\":{[^}]*}' hello.tgz.logged.sigstore.json"
  step "attest-blob too (a dsse entry)" \
    "$A" attest-blob --key "$KEY" --predicate sbom.json --type spdxjson --bundle hello.tgz.att.sigstore.json ./hello.tgz
  step "a batch: 200 entries, one transaction with their audit records" \
    sh -c "'$A' sign-blob --key '$KEY' f*.txt && '$A' log status"
  step "the signed checkpoint" "$A" log checkpoint
  step "an inclusion proof" "$A" log proof --index 1
  step "the primer's detached form: the .sig verifies by its entry in the site log (no --insecure-ignore-tlog)" sh -c \
    "'$A' sign-blob --key '$KEY' ./hello.tgz > hello.tgz.logged.sig && '$A' verify-blob --key release.pub --signature hello.tgz.logged.sig ./hello.tgz"
  step "export a trusted root that lists the site log's key (what a verifier elsewhere is given)" \
    "$A" trust export-root --out site_root.json
  step "verify with the log's evidence (no --insecure-ignore-tlog)" sh -c \
    "'$A' verify-blob --key release.pub --trusted-root site_root.json --bundle hello.tgz.logged.sigstore.json ./hello.tgz &&
     '$A' verify-attestation --key release.pub --trusted-root site_root.json --type spdxjson --bundle hello.tgz.att.sigstore.json ./hello.tgz"
  # Stock cosign, when on the machine (make interop builds it into ~/.cache/airlock-interop/bin).
  COSIGN=$(command -v cosign || ls "$HOME"/.cache/airlock-interop/bin/cosign-* 2>/dev/null | head -1 || true)
  if [ -n "$COSIGN" ] && [ -x "$COSIGN" ]; then
    step "stock cosign verifies the same bundles against the exported trusted root" sh -c \
      "'$COSIGN' verify-blob --key release.pub --trusted-root site_root.json --bundle hello.tgz.logged.sigstore.json ./hello.tgz &&
       '$COSIGN' verify-blob-attestation --key release.pub --trusted-root site_root.json --type spdxjson --bundle hello.tgz.att.sigstore.json ./hello.tgz"
  else
    echo "(cosign is not on this machine: make interop builds it and checks the same)"
  fi

  echo
  echo "== tamper evidence and the mirror (issues 10 and 11): what crosses the gap to another site"
  step "the log key's public half, kept outside the database" \
    sh -c "'$A' hsm pubkey 'pkcs11:token=release;object=logkey?pin-source=$S/pin' > logkey.pub"
  step "the audit trail is sealed by the log key (log init and every batch): an auditor checks the database" \
    "$A" audit verify --log-key logkey.pub
  step "the site log's mirror pack: its checkpoint, and a consistency proof from the size of the first bundle's tree" \
    "$A" log pack --out site.pack --from-size 1
  step "site B pins site A's exported root (no TUF) and imports the pack" sh -c \
    "AIRLOCK_DB=siteb.db '$A' trust init --trusted-root site_root.json --name site-a &&
     AIRLOCK_DB=siteb.db '$A' checkpoints import site.pack && AIRLOCK_DB=siteb.db '$A' checkpoints list"
  step "site B verifies A's first bundle: its checkpoint is proved consistent with the mirror (--require-mirrored)" \
    env AIRLOCK_DB=siteb.db "$A" verify-blob --require-mirrored -o json --key release.pub \
    --bundle hello.tgz.logged.sigstore.json ./hello.tgz
  if grep -rqF "$(head -1 pin)" --exclude=pin --exclude-dir=tokens . ; then echo "PIN found in an output"; exit 1; fi
  echo "the PIN appears in no output"
)
