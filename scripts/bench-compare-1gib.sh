#!/usr/bin/env bash
# bench-compare-1gib.sh: verify and sign a 1 GiB artifact with a key: `openssl dgst -sha256`
# vs airlock vs stock cosign v3; wall time (hyperfine, warm page cache, commands interleaved
# in rounds) and peak RSS (/usr/bin/time's maximum resident set size, as time -v reports it).
# Prints markdown for docs/benchmarks.md.
# Targets (issues 3 and 5): airlock <= 1.2x openssl, peak RSS < 64 MiB.
#   ROUNDS=5 SIZE_MIB=1024 BENCH_DIR=/var/tmp scripts/bench-compare-1gib.sh
source "$(dirname "$0")/bench-compare-lib.sh"
ROUNDS=${ROUNDS:-5}
SIZE_MIB=${SIZE_MIB:-1024}
workdir
head -c $((SIZE_MIB * 1048576)) /dev/urandom >big.bin || die "cannot write the test file"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out release.key 2>/dev/null
openssl pkey -in release.key -pubout -out release.pub 2>/dev/null
export COSIGN_PASSWORD=bench
cosign generate-key-pair --output-key-prefix cosign >/dev/null 2>&1 || die "cosign generate-key-pair failed"
COSIGN_SIGN="cosign sign-blob --key cosign.key --tlog-upload=false --use-signing-config=false --yes"
$COSIGN_SIGN --bundle cosign.sigstore.json big.bin >/dev/null 2>&1 || die "cosign sign-blob failed"

# airlock's own bundle when it can sign; the cosign bundle verifies with airlock either way.
AIRLOCK_SIGNS=0
airlock sign-blob --key release.key --tlog none --bundle airlock.sigstore.json big.bin >/dev/null 2>sign.err &&
  AIRLOCK_SIGNS=1
header "1 GiB artifact, key-signed bundle (${SIZE_MIB} MiB, ${ROUNDS} interleaved rounds, warm page cache)"

echo "Verify (P-256 key, bundle without log entry):"
echo
verify=("openssl dgst -sha256 big.bin")
# --key needs no trusted root (issue 3); if this airlock still wants one, give it one and say so.
cp "$PUBLIC_GOOD_ROOT" root.json
TR=
if ! airlock verify-blob --key cosign.pub --insecure-ignore-tlog --bundle cosign.sigstore.json big.bin >/dev/null 2>&1 &&
   airlock verify-blob --key cosign.pub --insecure-ignore-tlog --bundle cosign.sigstore.json --trusted-root root.json big.bin >/dev/null 2>&1; then
  TR=" --trusted-root root.json"
  echo "- airlock verify-blob --key failed without --trusted-root; measured with one."
fi
[ $AIRLOCK_SIGNS = 1 ] &&
  verify+=("airlock verify-blob --key release.pub --insecure-ignore-tlog --bundle airlock.sigstore.json$TR big.bin")
verify+=("airlock verify-blob --key cosign.pub --insecure-ignore-tlog --bundle cosign.sigstore.json$TR big.bin"
         "cosign verify-blob --key cosign.pub --insecure-ignore-tlog --bundle cosign.sigstore.json big.bin")
runnable verify; echo
measure verify "$ROUNDS" 1 "${verify[@]}"
rss=(); for c in "${verify[@]}"; do rss+=("$(peak_rss_mib $c)"); done
table verify "${rss[@]}"
echo

echo "Sign (P-256 key, no log):"
echo
sign=("openssl dgst -sha256 big.bin" "openssl dgst -sha256 -sign release.key -out openssl.sig big.bin")
if [ $AIRLOCK_SIGNS = 1 ]; then
  sign+=("airlock sign-blob --key release.key --tlog none --bundle airlock.sigstore.json big.bin")
else
  echo "- airlock sign-blob did not run: $(head -1 sign.err)"
fi
sign+=("$COSIGN_SIGN --bundle cosign.sigstore.json big.bin")
runnable sign; echo
measure sign "$ROUNDS" 1 "${sign[@]}"
rss=(); for c in "${sign[@]}"; do rss+=("$(peak_rss_mib $c)"); done
table sign "${rss[@]}"
echo
echo "Load average at the end: $(load)."
