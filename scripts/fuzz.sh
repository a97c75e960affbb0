#!/usr/bin/env bash
# fuzz.sh: run every Go fuzz target in the module for a short while
# (FUZZTIME, default 10s each), after the committed seed corpora have run
# as plain tests. Used by `make fuzz`. A crasher is written by Go under the
# package's testdata/fuzz/FuzzXxx/ and makes this script fail.
#
#   scripts/fuzz.sh                 # every target, 10s each
#   FUZZTIME=1m scripts/fuzz.sh     # longer
#   scripts/fuzz.sh ./bundle        # only these packages
set -euo pipefail
export GOTOOLCHAIN=local
cd "$(dirname "${BASH_SOURCE[0]}")/.."
fuzztime=${FUZZTIME:-10s}
pkgs=("$@")
[ ${#pkgs[@]} -gt 0 ] || pkgs=(./...)

failed=0
total=0
for pkg in $(go list "${pkgs[@]}"); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  targets=$(grep -hoE '^func (Fuzz[A-Za-z0-9_]+)\(' "$dir"/*_test.go 2>/dev/null | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/' | sort -u || true)
  [ -n "$targets" ] || continue
  for t in $targets; do
    total=$((total + 1))
    echo "== $pkg $t ($fuzztime)"
    if ! go test "$pkg" -run '^$' -fuzz "^${t}\$" -fuzztime "$fuzztime" >/tmp/fuzz.$$.log 2>&1; then
      cat /tmp/fuzz.$$.log
      echo "FAIL $pkg $t"
      failed=$((failed + 1))
    else
      tail -n 1 /tmp/fuzz.$$.log
    fi
  done
done
rm -f /tmp/fuzz.$$.log
echo "$total fuzz targets, $failed failed"
[ "$failed" -eq 0 ]
