#!/usr/bin/env bash
# ecosystem-cosign.sh: runs stock cosign on every case of testdata/ecosystem, offline, and prints
# one line per case: PEER/CASE, airlock's recorded verdict (case.json), cosign's verdict, and
# cosign's first error line when it rejects. A final line counts agreements. See docs/interop.md.
# Not part of `make test`. cosign is the binary scripts/interop.sh builds (or $COSIGN).
#
# Environment:
#   COSIGN                 cosign binary (default: $AIRLOCK_INTEROP_CACHE/bin/cosign-$COSIGN_VERSION)
#   COSIGN_VERSION         default v3.1.3
#   AIRLOCK_INTEROP_CACHE  default $HOME/.cache/airlock-interop
#   ECOSYSTEM_TSV=FILE     also write the table as tab-separated values to FILE
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
REPO=$PWD
ECO=$REPO/testdata/ecosystem
COSIGN_VERSION=${COSIGN_VERSION:-v3.1.3}
CACHE=${AIRLOCK_INTEROP_CACHE:-$HOME/.cache/airlock-interop}
COSIGN=${COSIGN:-$CACHE/bin/cosign-$COSIGN_VERSION}
die() { echo "ecosystem-cosign: error: $*" >&2; exit 2; }
[ -x "$COSIGN" ] || die "cosign $COSIGN not found: run scripts/interop.sh once (it builds cosign $COSIGN_VERSION into $CACHE/bin), or set COSIGN"
command -v jq >/dev/null || die "jq is required"

T=$(mktemp -d "${TMPDIR:-/tmp}/airlock-ecosystem.XXXXXX") || die "mktemp failed"
trap 'rm -rf "$T"' EXIT
# Offline: cosign's TUF cache stays in the work dir; every case gives --trusted-root or --key.
export TUF_ROOT=$T/tuf-cache SIGSTORE_NO_CACHE=true
TSV=${ECOSYSTEM_TSV:-}
[ -n "$TSV" ] && : >"$TSV"

echo "ecosystem-cosign: cosign $("$COSIGN" version 2>&1 | awk '/GitVersion/{print $2}')"
total=0 agree=0
for f in "$ECO"/*/*/case.json; do
  dir=$(dirname "$f") name=${f#"$ECO"/}; name=${name%/case.json}
  j() { jq -r "$1 // empty" "$f"; }
  cmd=$(j .command) art=$(j .artifact) root=$ECO/roots/$(j .trusted_root).json
  args=(--bundle bundle.sigstore.json --trusted-root "$root")
  if [ -n "$(j .key)" ]; then
    args+=(--key "$(j .key)")
  elif [ -n "$(j .identity)" ]; then
    args+=(--certificate-identity "$(j .identity)" --certificate-oidc-issuer "$(j .issuer)")
  else
    args+=(--certificate-identity-regexp "$(j .identity_regexp)" --certificate-oidc-issuer-regexp "$(j .issuer_regexp)")
  fi
  while read -r fl; do [ -n "$fl" ] && args+=("$fl"); done < <(jq -r '.flags // [] | .[]' "$f")
  if [ "$cmd" = verify-attestation ]; then
    sub=verify-blob-attestation
    [ -n "$(j .type)" ] && args+=(--type "$(j .type)")
  else
    sub=verify-blob
  fi
  case $art in
    sha256:*|sha384:*|sha512:*)
      if [ "$sub" = verify-blob-attestation ]; then
        args+=(--digest "${art#*:}" --digestAlg "${art%%:*}")
      else
        args+=("$art")
      fi ;;
    *) args+=("$art") ;;
  esac
  out=$(cd "$dir" && timeout 60 "$COSIGN" "$sub" "${args[@]}" 2>&1)
  rc=$?
  if [ $rc = 0 ]; then cv=ok; else cv=rejected; fi
  av=$(j .verdict)
  total=$((total+1)); [ "$av" = "$cv" ] && agree=$((agree+1))
  why=$(grep -m1 '^Error' <<<"$out" | cut -c1-200)
  printf '%-80s airlock=%-8s cosign=%-8s %s\n' "$name" "$av" "$cv" "$why"
  [ -n "$TSV" ] && printf '%s\t%s\t%s\t%s\n' "$name" "$av" "$cv" "$why" >>"$TSV"
done
echo "ecosystem-cosign: $agree of $total cases: same verdict as airlock"
