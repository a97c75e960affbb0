#!/usr/bin/env bash
# interop.sh: airlock <-> stock cosign v3 interoperability, offline. Run by `make interop`
# and `make test` (so CI runs it). Builds cosign from the Go module proxy once into
# a cache directory, then signs and attests with airlock and verifies with cosign, and the
# reverse. Every check prints PASS or FAIL (with the command and its output); the script exits
# 1 if any check failed. See docs/interop.md.
#
# Environment:
#   AIRLOCK          airlock binary (default: bin/airlock, built by `make build`)
#   COSIGN           cosign binary (default: built into $AIRLOCK_INTEROP_CACHE/bin)
#   COSIGN_VERSION   cosign module version to build (default v3.1.3)
#   AIRLOCK_INTEROP_CACHE  cache directory (default $HOME/.cache/airlock-interop)
#   INTEROP_KEEP=1   keep the work directory for inspection
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
REPO=$PWD
A=${AIRLOCK:-$REPO/bin/airlock}
COSIGN_VERSION=${COSIGN_VERSION:-v3.1.3}
CACHE=${AIRLOCK_INTEROP_CACHE:-$HOME/.cache/airlock-interop}
PUBLIC_GOOD_ROOT=$REPO/testdata/tuf/public-good-2026-08-21/targets/6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66.trusted_root.json
V=$REPO/testdata/conformance/bundle-verify
ID=https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main
ISS=https://token.actions.githubusercontent.com

die() { echo "interop: error: $*" >&2; exit 2; }

# ---- cosign ---------------------------------------------------------------------------------
# build_cosign installs cosign $COSIGN_VERSION into $CACHE/bin/cosign-$COSIGN_VERSION. It tries
# the local Go toolchain first and falls back to go1.27.3 from the module proxy when cosign's
# go.mod asks for a newer Go (GOTOOLCHAIN applies to this one build only).
build_cosign() {
  local out=$CACHE/bin/cosign-$COSIGN_VERSION tmp log start
  mkdir -p "$CACHE/bin" || die "cannot create $CACHE/bin"
  tmp=$(mktemp -d "$CACHE/build.XXXXXX") && log=$tmp/log
  echo "interop: building cosign $COSIGN_VERSION from the Go module proxy (once; cached in $CACHE/bin)" >&2
  start=$(date +%s)
  if ! (cd "$tmp" && GOTOOLCHAIN=local GOBIN=$tmp go install \
        "github.com/sigstore/cosign/v3/cmd/cosign@$COSIGN_VERSION") >"$log" 2>&1; then
    if grep -q 'requires go >=\|toolchain' "$log"; then
      echo "interop: cosign needs a newer Go; retrying with GOTOOLCHAIN=go1.27.3" >&2
      (cd "$tmp" && GOTOOLCHAIN=go1.27.3 GOBIN=$tmp go install \
        "github.com/sigstore/cosign/v3/cmd/cosign@$COSIGN_VERSION") >"$log" 2>&1 ||
        { tail -20 "$log" >&2; die "building cosign $COSIGN_VERSION failed"; }
    else
      tail -20 "$log" >&2; die "building cosign $COSIGN_VERSION failed"
    fi
  fi
  mv "$tmp/cosign" "$out.tmp" && mv "$out.tmp" "$out" || die "installing cosign failed"
  rm -rf "$tmp"
  echo "interop: built cosign in $(( $(date +%s) - start ))s" >&2
}

if [ -z "${COSIGN:-}" ]; then
  COSIGN=$CACHE/bin/cosign-$COSIGN_VERSION
  [ -x "$COSIGN" ] || build_cosign
fi
[ -x "$A" ] || die "airlock binary $A not found: run 'make build' first"
command -v openssl >/dev/null || die "openssl is required"

T=$(mktemp -d "${TMPDIR:-/tmp}/airlock-interop.XXXXXX") || die "mktemp failed"
if [ "${INTEROP_KEEP:-}" = 1 ]; then echo "interop: work dir $T (kept)"; else trap 'rm -rf "$T"' EXIT; fi
# cosign must never reach the network: keep its TUF cache inside the work dir, and give it
# explicit trust (--key, or --trusted-root for keyless) so it never needs one.
export TUF_ROOT=$T/tuf-cache SIGSTORE_NO_CACHE=true
export AIRLOCK_DB=$T/airlock.db

echo "interop: airlock: $("$A" --version 2>&1 | head -1)"
echo "interop: cosign:  $("$COSIGN" version 2>&1 | awk '/GitVersion/{print $2}')"
echo "interop: work dir $T"

# ---- check helpers --------------------------------------------------------------------------
PASS=0 FAIL=0 SKIP=0
FAILED=()
quote() { local s=; for a in "$@"; do s+=" $(printf '%q' "$a")"; done; echo "${s# }"; }
report_fail() { # name, output, command...
  local name=$1 out=$2; shift 2
  FAIL=$((FAIL+1)); FAILED+=("$name")
  echo "FAIL  $name"
  echo "      \$ $(quote "$@")"
  [ -n "$out" ] && sed -n '1,15s/^/      | /p' <<<"$out"
}
# ok NAME CMD...: the command must exit 0.
ok() {
  local name=$1 out rc; shift
  out=$("$@" 2>&1); rc=$?; printf '%s\n' "$out" >>"$T/checks.log"
  if [ $rc = 0 ]; then PASS=$((PASS+1)); echo "PASS  $name"; else report_fail "$name (exit $rc)" "$out" "$@"; fi
}
# rejects NAME WANT CMD...: the command must fail; WANT is the exact exit code, or "any".
rejects() {
  local name=$1 want=$2 out rc; shift 2
  out=$("$@" 2>&1); rc=$?; printf '%s\n' "$out" >>"$T/checks.log"
  if [ $rc != 0 ] && { [ "$want" = any ] || [ $rc = "$want" ]; }; then
    PASS=$((PASS+1)); echo "PASS  $name (rejected, exit $rc)"
  else
    report_fail "$name (want rejection exit $want, got $rc)" "$out" "$@"
  fi
}
# produces NAME OUTFILE CMD...: run CMD with stdout to OUTFILE; exit 0 and a non-empty file.
produces() {
  local name=$1 outfile=$2 err rc; shift 2
  err=$("$@" 2>&1 >"$outfile"); rc=$?; printf '%s\n' "$err" >>"$T/checks.log"
  if [ $rc = 0 ] && [ -s "$outfile" ]; then PASS=$((PASS+1)); echo "PASS  $name"
  else report_fail "$name (exit $rc, $(wc -c <"$outfile") bytes on stdout)" "$err" "$@"; fi
}
skip() { SKIP=$((SKIP+1)); echo "SKIP  $1: $2"; }
missing() { # an airlock command the issues require is not there yet: that is a FAIL
  FAIL=$((FAIL+1)); FAILED+=("$1"); echo "FAIL  $1: airlock has no '$2' command yet ($("$A" "$2" --help 2>&1 | head -1))"
}
has_cmd() { # has_cmd sign-blob | has_cmd hsm keygen
  local out
  out=$("$A" "$@" --help 2>&1) || return 1
  grep -qi 'usage\|NAME' <<<"$out" || return 1
  # urfave/cli prints the parent's help for an unknown subcommand; require the name in it
  grep -q -- "${*: -1}" <<<"$(head -3 <<<"$out")"
}
section() { printf '\n== %s\n' "$*"; }

# ---- inputs ---------------------------------------------------------------------------------
cd "$T" || die "cannot enter $T"
head -c 1048576 /dev/urandom >hello.tgz
cp hello.tgz tampered.tgz && printf x >>tampered.tgz
cat >sbom.json <<'EOF'
{
  "SPDXID": "SPDXRef-DOCUMENT",
  "spdxVersion": "SPDX-2.3",
  "name": "hello-archive",
  "packages": [
    { "SPDXID": "SPDXRef-Pkg-1", "name": "libfoo", "versionInfo": "1.2.3" }
  ]
}
EOF
# Software keys, PEM PKCS#8, made by openssl.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out p256.key 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out p384.key 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 -out p521.key 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out rsa3072.key 2>/dev/null
openssl genpkey -algorithm ED25519 -out ed25519.key 2>/dev/null
for k in p256 p384 p521 rsa3072 ed25519; do
  openssl pkey -in $k.key -pubout -out $k.pub 2>/dev/null || die "openssl could not make $k.pub"
done
export COSIGN_PASSWORD=interop-cosign-password
"$COSIGN" generate-key-pair --output-key-prefix cosign >/dev/null 2>&1 || die "cosign generate-key-pair failed"

HAVE_SIGN=0 HAVE_ATTEST=0 HAVE_VATT=0
has_cmd sign-blob && HAVE_SIGN=1
has_cmd attest-blob && HAVE_ATTEST=1
has_cmd verify-attestation && HAVE_VATT=1
HAVE_SIGFLAG=0
help=$("$A" verify-blob --help 2>&1); grep -q -- '--signature' <<<"$help" && HAVE_SIGFLAG=1

# airlock_signs NAME KEYREF PUB [ATTEST [COSIGN-FLAG...]]: airlock sign-blob / attest-blob with
# KEYREF, cosign verifies (with the extra flags given, e.g. for P-384).
airlock_signs() {
  local n=$1 key=$2 pub=$3 attest=${4:-1}
  local cx=("${@:5}")
  section "airlock signs ($n), cosign $COSIGN_VERSION verifies"
  if [ "$attest" = only ]; then :
  elif [ $HAVE_SIGN = 1 ]; then
    ok "airlock sign-blob --bundle ($n)" \
      "$A" sign-blob --key "$key" --tlog none --bundle $n.sigstore.json hello.tgz
    if [ -s $n.sigstore.json ]; then
      ok "cosign verify-blob --bundle <- airlock ($n)" \
        "$COSIGN" verify-blob "${cx[@]}" --key "$pub" --insecure-ignore-tlog --bundle $n.sigstore.json hello.tgz
      rejects "cosign verify-blob --bundle rejects a tampered artifact ($n)" any \
        "$COSIGN" verify-blob "${cx[@]}" --key "$pub" --insecure-ignore-tlog --bundle $n.sigstore.json tampered.tgz
      ok "airlock verify-blob --bundle <- airlock ($n)" \
        "$A" verify-blob --key "$pub" --insecure-ignore-tlog --bundle $n.sigstore.json hello.tgz
    fi
    produces "airlock sign-blob > .sig ($n)" $n.sig \
      "$A" sign-blob --key "$key" --tlog none hello.tgz
    if [ -s $n.sig ]; then
      ok "cosign verify-blob --signature <- airlock .sig ($n)" \
        "$COSIGN" verify-blob "${cx[@]}" --key "$pub" --insecure-ignore-tlog --signature $n.sig hello.tgz
      rejects "cosign verify-blob --signature rejects a tampered artifact ($n)" any \
        "$COSIGN" verify-blob "${cx[@]}" --key "$pub" --insecure-ignore-tlog --signature $n.sig tampered.tgz
    fi
  else
    missing "airlock sign-blob ($n)" sign-blob
  fi
  [ "$attest" = 0 ] && return 0
  if [ $HAVE_ATTEST = 1 ]; then
    ok "airlock attest-blob --bundle ($n)" \
      "$A" attest-blob --key "$key" --tlog none --predicate sbom.json --type spdxjson \
      --bundle $n.att.sigstore.json hello.tgz
    if [ -s $n.att.sigstore.json ]; then
      ok "cosign verify-blob-attestation --bundle <- airlock ($n)" \
        "$COSIGN" verify-blob-attestation "${cx[@]}" --key "$pub" --insecure-ignore-tlog --type spdxjson \
        --bundle $n.att.sigstore.json hello.tgz
      rejects "cosign verify-blob-attestation rejects a tampered artifact ($n)" any \
        "$COSIGN" verify-blob-attestation "${cx[@]}" --key "$pub" --insecure-ignore-tlog --type spdxjson \
        --bundle $n.att.sigstore.json tampered.tgz
    fi
    produces "airlock attest-blob > .att ($n)" $n.att \
      "$A" attest-blob --key "$key" --tlog none --predicate sbom.json --type spdxjson hello.tgz
    if [ -s $n.att ]; then
      ok "cosign verify-blob-attestation --signature <- airlock .att ($n)" \
        "$COSIGN" verify-blob-attestation "${cx[@]}" --key "$pub" --insecure-ignore-tlog --type spdxjson \
        --signature $n.att hello.tgz
    fi
  else
    missing "airlock attest-blob ($n)" attest-blob
  fi
}

# ---- 1. airlock signs, cosign verifies ------------------------------------------------------
airlock_signs p256 p256.key p256.pub
# airlock signs with P-384 keys over SHA-384 (the bundle says SHA2_384). cosign v3.1.3 verifying
# with --key ignores the bundle's digest algorithm and hashes with SHA-256 unless told
# otherwise: --signature-digest-algorithm sha384 (deprecated in cosign, but needed), for
# attestations too; P-521 keys likewise need sha512.
P384=(--signature-digest-algorithm sha384)
airlock_signs p384 p384.key p384.pub 1 "${P384[@]}"
airlock_signs p521 p521.key p521.pub 1 --signature-digest-algorithm sha512
airlock_signs rsa3072 rsa3072.key rsa3072.pub 0
# Ed25519 signs attestations only (DSSE signs the whole envelope; sign-blob would need the whole file).
airlock_signs ed25519 ed25519.key ed25519.pub only
# cosign's own encrypted key file: the migration path (password from COSIGN_PASSWORD).
airlock_signs cosign-key cosign.key cosign.pub 0

section "airlock signs several files in one call, cosign verifies each"
if [ $HAVE_SIGN = 1 ]; then
  head -c 4096 /dev/urandom >m1.bin; head -c 1 /dev/urandom >m2.bin; : >m3.bin
  ok "airlock sign-blob FILE... (3 files, bundles beside them, --output-signature)" \
    "$A" sign-blob --key p256.key --tlog none m1.bin m2.bin m3.bin
  for f in m1.bin m2.bin m3.bin; do
    ok "cosign verify-blob --bundle $f.sigstore.json <- airlock multi-file" \
      "$COSIGN" verify-blob --key p256.pub --insecure-ignore-tlog --bundle $f.sigstore.json $f
  done
  ok "airlock sign-blob --bundle B --output-signature S" \
    "$A" sign-blob --key p256.key --tlog none --bundle both.sigstore.json --output-signature both.sig hello.tgz
  [ -s both.sig ] && ok "cosign verify-blob --signature <- airlock --output-signature" \
    "$COSIGN" verify-blob --key p256.pub --insecure-ignore-tlog --signature both.sig hello.tgz
fi

section "airlock signs with a Rekor v2 log (rekor-tiles v2.3.0 on loopback), cosign verifies"
# The server's checkpoint origin is the URL's host (REKOR_HOSTNAME=127.0.0.1): cosign takes the
# origin from the trusted root's baseUrl host. The trusted root lists the log key and its ID
# (SHA-256 of the PKIX DER of an ECDSA key).
REKOR_PORT=${REKOR_PORT:-3950}
if [ $HAVE_SIGN = 1 ] && [ $HAVE_ATTEST = 1 ] &&
   REKOR_HOSTNAME=127.0.0.1 "$REPO/scripts/rekor-server.sh" start "$T/rekor" "$REKOR_PORT" >"$T/rekor-start.out" 2>&1; then
  trap '"$REPO/scripts/rekor-server.sh" stop "$T/rekor" >/dev/null 2>&1; [ "${INTEROP_KEEP:-}" = 1 ] || rm -rf "$T"' EXIT
  RURL=http://127.0.0.1:$REKOR_PORT
  rder=$(openssl pkey -pubin -in "$T/rekor/log.pub" -outform DER 2>/dev/null | base64 -w0)
  rid=$(openssl pkey -pubin -in "$T/rekor/log.pub" -outform DER 2>/dev/null | openssl dgst -sha256 -binary | base64 -w0)
  cat >rekor_root.json <<EOF2
{"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
 "tlogs": [{"baseUrl": "http://127.0.0.1", "hashAlgorithm": "SHA2_256",
   "publicKey": {"rawBytes": "$rder", "keyDetails": "PKIX_ECDSA_P256_SHA_256", "validFor": {"start": "2020-01-01T00:00:00Z"}},
   "logId": {"keyId": "$rid"}}]}
EOF2
  head -c 4096 /dev/urandom >r1.bin; head -c 10 /dev/urandom >r2.bin
  ok "airlock sign-blob --tlog rekor=URL --rekor-key (2 files)" \
    "$A" sign-blob --key p256.key --tlog "rekor=$RURL" --rekor-key "$T/rekor/log.pub" r1.bin r2.bin
  for f in r1.bin r2.bin; do
    ok "cosign verify-blob --key --bundle --trusted-root <- airlock Rekor v2 ($f)" \
      "$COSIGN" verify-blob --key p256.pub --bundle $f.sigstore.json --trusted-root rekor_root.json $f
    ok "airlock verify-blob --trusted-root <- airlock Rekor v2 ($f)" \
      "$A" verify-blob --key p256.pub --bundle $f.sigstore.json --trusted-root rekor_root.json $f
  done
  rejects "cosign verify-blob rejects a Rekor v2 bundle for another artifact" any \
    "$COSIGN" verify-blob --key p256.pub --bundle r1.bin.sigstore.json --trusted-root rekor_root.json r2.bin
  ok "airlock attest-blob --tlog rekor=URL --rekor-key" \
    "$A" attest-blob --key p256.key --tlog "rekor=$RURL" --rekor-key "$T/rekor/log.pub" \
      --predicate sbom.json --type spdxjson --bundle r1.att.sigstore.json r1.bin
  ok "cosign verify-blob-attestation --key --bundle --trusted-root <- airlock Rekor v2" \
    "$COSIGN" verify-blob-attestation --key p256.pub --bundle r1.att.sigstore.json --trusted-root rekor_root.json \
      --type spdxjson r1.bin
  "$REPO/scripts/rekor-server.sh" stop "$T/rekor" >/dev/null 2>&1
else
  report_fail "rekor-tiles server did not start (or airlock cannot sign)" "$(tail -5 "$T/rekor-start.out" 2>/dev/null)" \
    scripts/rekor-server.sh start DIR "$REKOR_PORT"
fi

# ---- 2. cosign signs, airlock verifies ------------------------------------------------------
section "cosign $COSIGN_VERSION signs (cosign.key, no tlog), airlock verifies"
# Offline signing in cosign v3: --use-signing-config=false (no TUF signing config),
# --tlog-upload=false (no Rekor). The bundle is the new format by default.
COSIGN_OFFLINE=(--key cosign.key --tlog-upload=false --use-signing-config=false --yes)
ok "cosign sign-blob --bundle" \
  "$COSIGN" sign-blob "${COSIGN_OFFLINE[@]}" --bundle cosign.sigstore.json hello.tgz
if [ -s cosign.sigstore.json ]; then
  ok "airlock verify-blob --bundle <- cosign" \
    "$A" verify-blob --key cosign.pub --insecure-ignore-tlog --bundle cosign.sigstore.json hello.tgz
  rejects "airlock verify-blob --bundle rejects a tampered artifact" 1 \
    "$A" verify-blob --key cosign.pub --insecure-ignore-tlog --bundle cosign.sigstore.json tampered.tgz
  rejects "airlock verify-blob --bundle rejects the wrong key" 1 \
    "$A" verify-blob --key p256.pub --insecure-ignore-tlog --bundle cosign.sigstore.json hello.tgz
fi
# A batch: cosign bundles beside each FILE (FILE.sigstore.json), one airlock process for all.
for f in c1.bin c2.bin c3.bin; do
  head -c 2048 /dev/urandom >$f
  "$COSIGN" sign-blob "${COSIGN_OFFLINE[@]}" --bundle $f.sigstore.json $f >/dev/null 2>&1
done
ok "airlock verify-blob FILE... (batch of 3 cosign bundles)" \
  "$A" verify-blob --key cosign.pub --insecure-ignore-tlog c1.bin c2.bin c3.bin
cp c2.bin c2.orig && printf x >>c2.bin
rejects "airlock verify-blob FILE... rejects a batch with one tampered file" 1 \
  "$A" verify-blob --key cosign.pub --insecure-ignore-tlog c1.bin c2.bin c3.bin
mv c2.orig c2.bin
# The legacy detached signature: base64 on stdout with --new-bundle-format=false.
produces "cosign sign-blob > .sig" cosign.sig \
  "$COSIGN" sign-blob "${COSIGN_OFFLINE[@]}" --new-bundle-format=false hello.tgz
if [ -s cosign.sig ]; then
  if [ $HAVE_SIGFLAG = 1 ]; then
    ok "airlock verify-blob --signature <- cosign .sig" \
      "$A" verify-blob --key cosign.pub --insecure-ignore-tlog --signature cosign.sig hello.tgz
    rejects "airlock verify-blob --signature rejects a tampered artifact" 1 \
      "$A" verify-blob --key cosign.pub --insecure-ignore-tlog --signature cosign.sig tampered.tgz
  else
    FAIL=$((FAIL+1)); FAILED+=("airlock verify-blob --signature"); echo "FAIL  airlock verify-blob --signature <- cosign .sig: airlock verify-blob has no --signature flag yet"
  fi
fi
ok "cosign attest-blob --bundle" \
  "$COSIGN" attest-blob "${COSIGN_OFFLINE[@]}" --predicate sbom.json --type spdxjson \
  --bundle cosign.att.sigstore.json hello.tgz
if [ -s cosign.att.sigstore.json ]; then
  if [ $HAVE_VATT = 1 ]; then
    ok "airlock verify-attestation --bundle <- cosign" \
      "$A" verify-attestation --key cosign.pub --insecure-ignore-tlog --type spdxjson \
      --bundle cosign.att.sigstore.json hello.tgz
    ok "airlock verify-blob-attestation (alias) --bundle <- cosign" \
      "$A" verify-blob-attestation --key cosign.pub --insecure-ignore-tlog --type https://spdx.dev/Document \
      --bundle cosign.att.sigstore.json hello.tgz
    rejects "airlock verify-attestation rejects a tampered artifact" 1 \
      "$A" verify-attestation --key cosign.pub --insecure-ignore-tlog --type spdxjson \
      --bundle cosign.att.sigstore.json tampered.tgz
    rejects "airlock verify-attestation rejects the wrong --type" 1 \
      "$A" verify-attestation --key cosign.pub --insecure-ignore-tlog --type cyclonedx \
      --bundle cosign.att.sigstore.json hello.tgz
  else
    missing "airlock verify-attestation <- cosign bundle" verify-attestation
  fi
fi
produces "cosign attest-blob > .att" cosign.att \
  "$COSIGN" attest-blob "${COSIGN_OFFLINE[@]}" --new-bundle-format=false --predicate sbom.json \
  --type spdxjson hello.tgz
if [ -s cosign.att ] && [ $HAVE_VATT = 1 ]; then
  ok "airlock verify-attestation --signature <- cosign .att" \
    "$A" verify-attestation --key cosign.pub --insecure-ignore-tlog --type https://spdx.dev/Document \
    --signature cosign.att hello.tgz
  rejects "airlock verify-attestation --signature rejects a tampered artifact" 1 \
    "$A" verify-attestation --key cosign.pub --insecure-ignore-tlog --type https://spdx.dev/Document \
    --signature cosign.att tampered.tgz
fi

# ---- 3. SoftHSM token key -------------------------------------------------------------------
section "SoftHSM token key: airlock signs, cosign verifies"
MODULE=
for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so \
         /usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so /usr/local/lib/softhsm/libsofthsm2.so; do
  [ -f "$m" ] && { MODULE=$m; break; }
done
if ! command -v softhsm2-util >/dev/null || [ -z "$MODULE" ]; then
  skip "SoftHSM" "softhsm2 is not installed (make softhsm installs it)"
elif ! has_cmd hsm keygen || ! has_cmd hsm pubkey; then
  missing "airlock hsm keygen/pubkey" "hsm keygen"
else
  mkdir -p "$T/softhsm/tokens"
  printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$T/softhsm/tokens" >"$T/softhsm/softhsm2.conf"
  export SOFTHSM2_CONF=$T/softhsm/softhsm2.conf AIRLOCK_PKCS11_MODULE=$MODULE
  PIN=$(openssl rand -hex 8)
  ( umask 077; printf '%s\n' "$PIN" >"$T/softhsm/pin" )
  if ! softhsm2-util --init-token --free --label interop --pin "$PIN" --so-pin "$(openssl rand -hex 8)" >/dev/null; then
    report_fail "softhsm2-util --init-token" "" softhsm2-util --init-token --free --label interop
  else
    for kt in ecdsa-p256 ecdsa-p384 rsa-3072 ed25519; do
      q="module-path=$MODULE&pin-source=$T/softhsm/pin"
      uri="pkcs11:token=interop;object=$kt?$q"
      ok "airlock hsm keygen --type $kt" \
        "$A" hsm keygen --token "pkcs11:token=interop?$q" --label $kt --type $kt
      produces "airlock hsm pubkey ($kt)" hsm-$kt.pub "$A" hsm pubkey "$uri"
      extra=(); [ $kt = ecdsa-p384 ] && extra=("${P384[@]}")
      [ -s hsm-$kt.pub ] &&
        airlock_signs hsm-$kt "$uri" hsm-$kt.pub \
          "$(case $kt in ecdsa-p256) echo 1;; ed25519) echo only;; *) echo 0;; esac)" "${extra[@]}"
    done
    # Several files, one login, parallel sessions.
    uri="pkcs11:token=interop;object=ecdsa-p256?$q"
    head -c 4096 /dev/urandom >h1.bin; head -c 65536 /dev/urandom >h2.bin; head -c 7 /dev/urandom >h3.bin
    ok "airlock sign-blob --key TOKEN FILE... (3 files)" "$A" sign-blob --key "$uri" --tlog none h1.bin h2.bin h3.bin
    for f in h1.bin h2.bin h3.bin; do
      ok "cosign verify-blob --bundle $f.sigstore.json <- airlock token multi-file" \
        "$COSIGN" verify-blob --key hsm-ecdsa-p256.pub --insecure-ignore-tlog --bundle $f.sigstore.json $f
    done
    # The PIN must appear nowhere in what airlock wrote: outputs, stdout, stderr.
    if grep -qF "$PIN" "$T"/*.sigstore.json "$T"/*.sig "$T"/*.att "$T"/*.pub "$T/checks.log" 2>/dev/null; then
      report_fail "PIN hygiene: the PIN appears in airlock's output" "" grep -lF PIN "$T"
    else
      PASS=$((PASS+1)); echo "PASS  PIN hygiene: the PIN appears in no output, stdout or stderr"
    fi
  fi
fi

# ---- 4. keyless conformance vectors: cosign and airlock agree ---------------------------------
section "keyless: cosign $COSIGN_VERSION and airlock on the same public-good bundle, offline"
ok "cosign verify-blob (keyless happy-path-v0.3, --trusted-root)" \
  "$COSIGN" verify-blob --bundle $V/happy-path-v0.3/bundle.sigstore.json \
  --certificate-identity "$ID" --certificate-oidc-issuer "$ISS" --trusted-root "$PUBLIC_GOOD_ROOT" $V/a.txt
ok "airlock verify-blob (keyless happy-path-v0.3, --trusted-root)" \
  "$A" verify-blob --bundle $V/happy-path-v0.3/bundle.sigstore.json \
  --certificate-identity "$ID" --certificate-oidc-issuer "$ISS" --trusted-root "$PUBLIC_GOOD_ROOT" $V/a.txt
rejects "cosign rejects signature-mismatch_fail" any \
  "$COSIGN" verify-blob --bundle $V/signature-mismatch_fail/bundle.sigstore.json \
  --certificate-identity "$ID" --certificate-oidc-issuer "$ISS" --trusted-root "$PUBLIC_GOOD_ROOT" $V/a.txt
rejects "airlock rejects signature-mismatch_fail" 1 \
  "$A" verify-blob --bundle $V/signature-mismatch_fail/bundle.sigstore.json \
  --certificate-identity "$ID" --certificate-oidc-issuer "$ISS" --trusted-root "$PUBLIC_GOOD_ROOT" $V/a.txt

section "conformance vectors: cosign $COSIGN_VERSION and airlock reach the same verdict on every case"
# Both run as sigstore-conformance clients through the offline runner (paths and digests), the
# public-good trusted root for cases without their own; then the verdicts are compared by case.
cat >"$T/cosign-client" <<'EOF2'
#!/usr/bin/env bash
# sigstore-conformance CLI protocol (verify-bundle ...) -> stock cosign verify-blob.
[ "${1:-}" = verify-bundle ] || exit 2; shift
args=(); while [ $# -gt 1 ]; do args+=("$1"); shift; done
exec "${COSIGN:?}" verify-blob "${args[@]}" "$1"
EOF2
chmod +x "$T/cosign-client"
(cd "$REPO" && COSIGN=$COSIGN testdata/conformance/run-offline.sh -t "$PUBLIC_GOOD_ROOT" \
  -l "$T/conf-cosign.log" -- "$T/cosign-client" >"$T/conf-cosign.out" 2>&1)
(cd "$REPO" && AIRLOCK=$A testdata/conformance/run-offline.sh -t "$PUBLIC_GOOD_ROOT" \
  -l "$T/conf-airlock.log" -- scripts/conformance-client >"$T/conf-airlock.out" 2>&1)
echo "      cosign:  $(tail -1 "$T/conf-cosign.out")"
echo "      airlock: $(tail -1 "$T/conf-airlock.out")"
verdicts() { awk '{print $2, ($3 == "rc=0" ? "accepted" : "rejected")}' "$1" | sort; }
if [ ! -s "$T/conf-cosign.log" ] || [ ! -s "$T/conf-airlock.log" ]; then
  report_fail "conformance verdicts: a run produced no log" "$(tail -3 "$T/conf-cosign.out" "$T/conf-airlock.out")" \
    testdata/conformance/run-offline.sh -t ROOT -l LOG -- CLIENT
else
  diffs=$(join -a1 -a2 -e missing -o 0,1.2,2.2 <(verdicts "$T/conf-cosign.log") <(verdicts "$T/conf-airlock.log") |
          awk '$2 != $3 {print $1 ": cosign " $2 ", airlock " $3}')
  if [ -z "$diffs" ]; then
    PASS=$((PASS+1)); echo "PASS  same verdict on all $(wc -l <"$T/conf-airlock.log") conformance cases (paths and digests)"
  else
    while IFS= read -r d; do report_fail "conformance verdicts differ: $d" "" scripts/conformance-client; done <<<"$diffs"
  fi
fi

# ---- 5. site log: airlock logs, cosign verifies against the exported root --------------------
# site_log_checks: bundles whose entries the site log holds verify with stock cosign against
# `airlock trust export-root` (no insecure flag), and with airlock from the database.
# SITE_LOG_SIGNER picks who makes them: "fixture" (default: scripts/sitelog-fixture, the tlog
# library as signing with the site log uses it) or "cli" (airlock log init + sign-blob and
# attest-blob, once they are on the branch).
site_log_checks() {
  local via=${SITE_LOG_SIGNER:-fixture} db=$T/site.db fx=$T/sitelog-fixture origin=transparency.site.example
  section "site log ($via): airlock logs, cosign $COSIGN_VERSION verifies with --trusted-root"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out logkey.pem 2>/dev/null
  if [ "$via" = cli ]; then
    ok "airlock log init" env AIRLOCK_DB="$db" "$A" log init --key logkey.pem --origin $origin
    ok "airlock sign-blob (site log)" env AIRLOCK_DB="$db" "$A" sign-blob --key p256.key \
      --bundle site.sigstore.json --output-signature site.sig hello.tgz
    ok "airlock attest-blob (site log)" env AIRLOCK_DB="$db" "$A" attest-blob --key p256.key \
      --predicate sbom.json --type spdxjson --bundle site.att.sigstore.json hello.tgz
    env AIRLOCK_DB="$db" "$A" attest-blob --key p256.key --predicate sbom.json --type spdxjson hello.tgz >site.att 2>/dev/null
  else
    (cd "$REPO" && GOTOOLCHAIN=local go build -o "$fx" ./scripts/sitelog-fixture) || { report_fail "build scripts/sitelog-fixture" "" go build ./scripts/sitelog-fixture; return; }
    ok "site log init (fixture)" "$fx" init "$db" $origin logkey.pem
    ok "sign and log a blob (fixture)" "$fx" sign "$db" logkey.pem p256.key hello.tgz site.sigstore.json site.sig
    ok "attest and log a blob (fixture)" "$fx" attest "$db" logkey.pem p256.key hello.tgz sbom.json spdxjson site.att.sigstore.json site.att
  fi
  ok "airlock trust export-root (the site log alone)" env AIRLOCK_DB="$db" "$A" trust export-root --out site-root.json
  ok "cosign verify-blob --bundle --trusted-root <- site log" \
    "$COSIGN" verify-blob --key p256.pub --trusted-root site-root.json --bundle site.sigstore.json hello.tgz
  rejects "cosign verify-blob --bundle --trusted-root rejects a tampered artifact (site log)" any \
    "$COSIGN" verify-blob --key p256.pub --trusted-root site-root.json --bundle site.sigstore.json tampered.tgz
  ok "cosign verify-blob-attestation --bundle --trusted-root <- site log" \
    "$COSIGN" verify-blob-attestation --key p256.pub --trusted-root site-root.json --type spdxjson \
    --bundle site.att.sigstore.json hello.tgz
  rejects "cosign verify-blob-attestation rejects a tampered artifact (site log)" any \
    "$COSIGN" verify-blob-attestation --key p256.pub --trusted-root site-root.json --type spdxjson \
    --bundle site.att.sigstore.json tampered.tgz
  # A root that does not list the log: cosign refuses the bundle (the log key is what vouches).
  rejects "cosign verify-blob rejects a site-log bundle under the public-good root" any \
    "$COSIGN" verify-blob --key p256.pub --trusted-root "$PUBLIC_GOOD_ROOT" --bundle site.sigstore.json hello.tgz
  ok "airlock verify-blob --bundle (database trust: the site log)" \
    env AIRLOCK_DB="$db" "$A" verify-blob --key p256.pub --bundle site.sigstore.json hello.tgz
  ok "airlock verify-blob --bundle --trusted-root (exported root)" \
    "$A" verify-blob --key p256.pub --trusted-root site-root.json --bundle site.sigstore.json hello.tgz
  ok "airlock verify-attestation --bundle (database trust: the site log)" \
    env AIRLOCK_DB="$db" "$A" verify-attestation --key p256.pub --type spdxjson --bundle site.att.sigstore.json hello.tgz
  ok "airlock verify-blob --signature .sig (entry found in the site log)" \
    env AIRLOCK_DB="$db" "$A" verify-blob --key p256.pub --signature site.sig hello.tgz
  ok "airlock verify-attestation --signature .att (entry found in the site log)" \
    env AIRLOCK_DB="$db" "$A" verify-attestation --key p256.pub --type spdxjson --signature site.att hello.tgz
  rejects "airlock verify-blob --signature: a .sig the site log never saw" 1 \
    env AIRLOCK_DB="$db" "$A" verify-blob --key cosign.pub --signature cosign.sig hello.tgz

  # A key rotation: bundles logged before it verify with stock cosign against the root exported
  # after it (both keys, each with its validFor window; cosign picks the key by the entry's log
  # ID); bundles logged after it are the new key's, which the root exported before it lacks.
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out logkey2.pem 2>/dev/null
  ok "airlock log rotate-key" env AIRLOCK_DB="$db" "$A" log rotate-key --key logkey2.pem --old-key logkey.pem
  ok "airlock sign-blob after the rotation (the new log key)" env AIRLOCK_DB="$db" "$A" sign-blob --key p256.key \
    --bundle rotated.sigstore.json hello.tgz
  ok "airlock trust export-root (both log keys)" env AIRLOCK_DB="$db" "$A" trust export-root --out rotated-root.json
  ok "cosign verify-blob <- a bundle logged before the rotation, root exported after" \
    "$COSIGN" verify-blob --key p256.pub --trusted-root rotated-root.json --bundle site.sigstore.json hello.tgz
  ok "cosign verify-blob-attestation <- logged before the rotation, root exported after" \
    "$COSIGN" verify-blob-attestation --key p256.pub --trusted-root rotated-root.json --type spdxjson \
    --bundle site.att.sigstore.json hello.tgz
  ok "cosign verify-blob <- a bundle logged after the rotation" \
    "$COSIGN" verify-blob --key p256.pub --trusted-root rotated-root.json --bundle rotated.sigstore.json hello.tgz
  rejects "cosign verify-blob rejects the new key's bundle under the root exported before the rotation" any \
    "$COSIGN" verify-blob --key p256.pub --trusted-root site-root.json --bundle rotated.sigstore.json hello.tgz
  ok "airlock verify-blob --signature .sig logged before the rotation (database trust)" \
    env AIRLOCK_DB="$db" "$A" verify-blob --key p256.pub --signature site.sig hello.tgz
}
site_log_checks

# ---- 6. site CA: certificate-signed bundles in the site log ------------------------------------
# The site pins its own trusted_root.json (its CA and the CT log that timestamps its certificates,
# made by scripts/sitelog-fixture ca-init) with `trust init --trusted-root`, and signs with a
# certificate from that CA and the site log. airlock verifies with database trust and the identity
# flags; `trust export-root` gives the CA, the CT log and the site log in one root, and stock cosign
# verifies with it (no insecure flag: the certificate carries an SCT from the listed CT log).
site_ca_checks() {
  local db=$T/site-ca.db fx=$T/sitelog-fixture origin=transparency.site.example
  local id=release@site.example iss=https://idp.site.example
  section "site CA: certificate-signed site-log bundles, airlock and cosign $COSIGN_VERSION verify"
  [ -x "$fx" ] || (cd "$REPO" && GOTOOLCHAIN=local go build -o "$fx" ./scripts/sitelog-fixture) ||
    { report_fail "build scripts/sitelog-fixture" "" go build ./scripts/sitelog-fixture; return; }
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out calogkey.pem 2>/dev/null
  ok "site CA and CT log (fixture)" "$fx" ca-init siteca site
  ok "site CA issues a certificate for p256.pub (fixture)" "$fx" ca-issue siteca p256.pub $id $iss release.pem
  ok "airlock log init" env AIRLOCK_DB="$db" "$A" log init --key calogkey.pem --origin $origin
  ok "airlock trust init --trusted-root (the site's CA)" \
    env AIRLOCK_DB="$db" "$A" trust init --trusted-root siteca/trusted_root.json --name site-ca
  ok "airlock sign-blob --certificate --certificate-chain (site log)" \
    env AIRLOCK_DB="$db" "$A" sign-blob --key p256.key --certificate release.pem --certificate-chain siteca/ca.pem \
    --bundle ca.sigstore.json hello.tgz
  ok "airlock attest-blob --certificate --certificate-chain (site log)" \
    env AIRLOCK_DB="$db" "$A" attest-blob --key p256.key --certificate release.pem --certificate-chain siteca/ca.pem \
    --predicate sbom.json --type spdxjson --bundle ca.att.sigstore.json hello.tgz
  ok "airlock verify-blob --certificate-identity (database trust: pinned CA + site log)" \
    env AIRLOCK_DB="$db" "$A" verify-blob --certificate-identity $id --certificate-oidc-issuer $iss \
    --bundle ca.sigstore.json hello.tgz
  rejects "airlock verify-blob rejects another identity (database trust)" 1 \
    env AIRLOCK_DB="$db" "$A" verify-blob --certificate-identity mallory@site.example --certificate-oidc-issuer $iss \
    --bundle ca.sigstore.json hello.tgz
  ok "airlock verify-attestation --certificate-identity (database trust)" \
    env AIRLOCK_DB="$db" "$A" verify-attestation --certificate-identity $id --certificate-oidc-issuer $iss \
    --type spdxjson --bundle ca.att.sigstore.json hello.tgz
  ok "airlock trust export-root (site CA, CT log, site log)" \
    env AIRLOCK_DB="$db" "$A" trust export-root --out site-ca-root.json
  ok "cosign verify-blob --bundle --trusted-root --certificate-identity <- site CA + site log" \
    "$COSIGN" verify-blob --bundle ca.sigstore.json --trusted-root site-ca-root.json \
    --certificate-identity $id --certificate-oidc-issuer $iss hello.tgz
  rejects "cosign verify-blob rejects another identity (site CA)" any \
    "$COSIGN" verify-blob --bundle ca.sigstore.json --trusted-root site-ca-root.json \
    --certificate-identity mallory@site.example --certificate-oidc-issuer $iss hello.tgz
  rejects "cosign verify-blob rejects a tampered artifact (site CA)" any \
    "$COSIGN" verify-blob --bundle ca.sigstore.json --trusted-root site-ca-root.json \
    --certificate-identity $id --certificate-oidc-issuer $iss tampered.tgz
  ok "cosign verify-blob-attestation --bundle --trusted-root --certificate-identity <- site CA + site log" \
    "$COSIGN" verify-blob-attestation --bundle ca.att.sigstore.json --trusted-root site-ca-root.json \
    --certificate-identity $id --certificate-oidc-issuer $iss --type spdxjson hello.tgz
  # The site log's root without the CA (section 5's export): cosign refuses the certificate.
  rejects "cosign verify-blob rejects a site-CA bundle under a root without the CA" any \
    "$COSIGN" verify-blob --bundle ca.sigstore.json --trusted-root site-root.json \
    --certificate-identity $id --certificate-oidc-issuer $iss hello.tgz
}
site_ca_checks

# ---- summary --------------------------------------------------------------------------------
echo
echo "interop: $PASS passed, $FAIL failed, $SKIP skipped (cosign $COSIGN_VERSION)"
if [ $FAIL -gt 0 ]; then
  printf 'interop: FAILED: %s\n' "${FAILED[@]}"
  exit 1
fi
