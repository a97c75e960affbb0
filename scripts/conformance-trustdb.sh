#!/usr/bin/env bash
# conformance-trustdb.sh: the sigstore-conformance verification cases with
# trust taken from airlock's database instead of an injected --trusted-root:
# pin the embedded public-good root, import the shipped public-good snapshot
# as of a time it was valid, then run run-offline.sh WITHOUT -t.
set -euo pipefail
cd "$(dirname "$0")/.."
db=$(mktemp -d "${TMPDIR:-/tmp}/airlock-conformance-db.XXXXXX")
trap 'rm -rf "$db"' EXIT
export AIRLOCK_DB=$db/airlock.db
bin/airlock trust init --public-good
bin/airlock trust update --from testdata/tuf/public-good-2026-08-21 --at 2026-08-21T20:00:00Z
PATH=$PWD/bin:$PATH testdata/conformance/run-offline.sh -E 1 -- scripts/conformance-client
