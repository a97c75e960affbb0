# shellcheck shell=bash disable=SC2034  # sets variables for the scripts that source it
# bench-compare-lib.sh: shared by scripts/bench-compare-*.sh (sourced, not run).
# Locates airlock, stock cosign v3 and sigstore-go's bare conformance client (building the
# latter two from the Go module proxy into $AIRLOCK_INTEROP_CACHE/bin once), and renders
# hyperfine results as a markdown table with ratios and peak RSS.
set -uo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
A=${AIRLOCK:-}
COSIGN_VERSION=${COSIGN_VERSION:-v3.1.3}
SIGSTORE_GO_VERSION=${SIGSTORE_GO_VERSION:-v1.3.0}
CACHE=${AIRLOCK_INTEROP_CACHE:-$HOME/.cache/airlock-interop}
PUBLIC_GOOD_ROOT=$REPO/testdata/tuf/public-good-2026-08-21/targets/6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66.trusted_root.json
V=$REPO/testdata/conformance/bundle-verify
ID=https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main
ISS=https://token.actions.githubusercontent.com

die() { echo "bench: error: $*" >&2; exit 2; }

# go_tool NAME MODULE_PATH@VERSION: install a main package into $CACHE/bin/NAME once.
go_tool() {
  local name=$1 pkg=$2 out=$CACHE/bin/$1 tmp
  [ -x "$out" ] && { echo "$out"; return; }
  mkdir -p "$CACHE/bin" && tmp=$(mktemp -d "$CACHE/build.XXXXXX") || die "cannot create $CACHE"
  echo "bench: building $pkg (once)" >&2
  (cd "$tmp" && GOTOOLCHAIN=local GOBIN=$tmp go install "$pkg") >&2 ||
    (cd "$tmp" && GOTOOLCHAIN=go1.27.3 GOBIN=$tmp go install "$pkg") >&2 || die "building $pkg failed"
  mv "$tmp/$(basename "${pkg%@*}")" "$out" && rm -rf "$tmp" || die "installing $name failed"
  echo "$out"
}

# head_airlock: airlock built from the committed HEAD (git archive, so neither uncommitted edits
# in the tree nor a concurrent `make build` of bin/airlock change what is measured); cached by
# commit in $CACHE/airlock-<commit>.
head_airlock() {
  local c out tmp
  c=$(git -C "$REPO" rev-parse --short=12 HEAD) || die "not a git tree"
  out=$CACHE/airlock-$c
  if [ ! -x "$out" ]; then
    mkdir -p "$CACHE" && tmp=$(mktemp -d "$CACHE/src.XXXXXX") || die "cannot create $CACHE"
    echo "bench: building airlock at $c (git archive HEAD)" >&2
    git -C "$REPO" archive HEAD | tar -x -C "$tmp" || die "git archive failed"
    (cd "$tmp" && GOTOOLCHAIN=local go build -trimpath -ldflags "-X main.version=$c" -o "$out" ./cmd/airlock) >&2 ||
      { rm -rf "$tmp"; die "building airlock at $c failed"; }
    rm -rf "$tmp"
    # keep the three newest builds
    find "$CACHE" -maxdepth 1 -name 'airlock-*' -type f -printf '%T@ %p\n' | sort -rn | tail -n +4 |
      cut -d' ' -f2- | xargs -r rm -f
  fi
  echo "$out"
}
# AIRLOCK=bin/airlock measures the working tree's build instead.
[ -n "$A" ] || A=$(head_airlock)

COSIGN=${COSIGN:-$(go_tool "cosign-$COSIGN_VERSION" "github.com/sigstore/cosign/v3/cmd/cosign@$COSIGN_VERSION")}
SGCLIENT=${SGCLIENT:-$(go_tool "sigstore-go-conformance-$SIGSTORE_GO_VERSION" "github.com/sigstore/sigstore-go/test/conformance@$SIGSTORE_GO_VERSION")}
[ -x "$A" ] || die "airlock binary $A not found: run 'make build' first"
command -v hyperfine >/dev/null || die "hyperfine is required (apt-get install hyperfine)"
[ -x /usr/bin/time ] || die "/usr/bin/time is required (apt-get install time)"
# cosign must never reach the network; keep anything it caches out of $HOME.
export TUF_ROOT=${TMPDIR:-/tmp}/airlock-bench-tuf SIGSTORE_NO_CACHE=true

# header TITLE: what ran, where, when.
header() {
  echo "### $1"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo);" \
    "airlock binary $("$A" --version 2>&1 | awk '{print $NF}' | head -1) (tree at $(git -C "$REPO" rev-parse --short HEAD)), cosign $COSIGN_VERSION," \
    "sigstore-go conformance client $SIGSTORE_GO_VERSION, $(openssl version | cut -d' ' -f1-2), hyperfine $(hyperfine --version | awk '{print $2}');" \
    "load average at start $(load) (the machine is shared: see the median and min columns)."
  echo
}

# peak_rss_mib CMD...: the largest of three runs' maximum resident set size, in MiB
# (/usr/bin/time's %M, the same figure as "Maximum resident set size" of time -v).
peak_rss_mib() {
  local max=0 kb i f
  f=$(mktemp)
  for i in 1 2 3; do
    if ! /usr/bin/time -o "$f" -f '%M' "$@" >/dev/null 2>&1; then
      rm -f "$f"; echo "n/a (the command failed)"; return
    fi
    kb=$(tail -1 "$f")
    [ "$kb" -gt "$max" ] 2>/dev/null && max=$kb
  done
  rm -f "$f"
  awk -v k="$max" 'BEGIN{printf "%.1f", k/1024}'
}

# runnable NAME CMD...: keep in array NAME only the commands that exit 0 (run once each, which
# also warms the page cache); say which did not and why.
runnable() {
  local -n _cmds=$1; local keep=() c err
  for c in "${_cmds[@]}"; do
    if err=$($c 2>&1 >/dev/null); then keep+=("$c")
    else echo "- did not run, excluded: \`$c\`: $(head -1 <<<"$err")"; fi
  done
  _cmds=("${keep[@]}")
}

# measure PREFIX ROUNDS RUNS CMD...: hyperfine ROUNDS times over all commands, RUNS runs each
# per round (after one warm-up run each; HF_SHELL=--shell=bash for shell commands), so the commands are interleaved and a burst of load
# from other processes on the machine hits all of them alike. Writes PREFIX.<round>.json.
measure() {
  local prefix=$1 rounds=$2 runs=$3 r; shift 3
  for r in $(seq 1 "$rounds"); do
    hyperfine ${HF_SHELL:--N} --warmup 1 --runs "$runs" --export-json "$prefix.$r.json" "$@" >&2 ||
      { echo "bench: warning: hyperfine failed in round $r" >&2; return 1; }
  done
}

# table PREFIX RSS...: markdown rows from measure's exports: median and min wall time, mean CPU
# time (user+system), ratios of median, min and CPU time to the first command, the given peak RSS
# figures (MiB, in command order).
table() {
  local prefix=$1; shift
  python3 - "$prefix" "$@" <<'EOF2'
import glob, json, statistics, sys
prefix, rss = sys.argv[1], sys.argv[2:]
runs = {}
for path in sorted(glob.glob(prefix + ".*.json")):
    for i, r in enumerate(json.load(open(path))["results"]):
        d = runs.setdefault(i, {"command": r["command"], "times": [], "cpu": []})
        n = len(r["times"])
        d["times"] += r["times"]
        d["cpu"] += [r["user"] + r["system"]] * n
def fmt(x):
    return f"{x:.3g} s" if x >= 1 else f"{x*1000:.3g} ms"
rows = [runs[i] for i in sorted(runs)]
bmed = statistics.median(rows[0]["times"]); bmin = min(rows[0]["times"]); bcpu = statistics.mean(rows[0]["cpu"])
print("| command | median wall | min wall | mean CPU (user+sys) | median ratio | min ratio | CPU ratio | peak RSS | runs |")
print("|---|---|---|---|---|---|---|---|---|")
for i, d in enumerate(rows):
    med, mn = statistics.median(d["times"]), min(d["times"])
    rs = rss[i] if i < len(rss) else "-"
    rs = rs + " MiB" if rs[:1].isdigit() else rs
    print(f"| `{d['command']}` | {fmt(med)} | {fmt(mn)} | {fmt(statistics.mean(d['cpu']))} | "
          f"{med/bmed:.2f}x | {mn/bmin:.2f}x | {statistics.mean(d['cpu'])/bcpu:.2f}x | {rs} | {len(d['times'])} |")
EOF2
}

# load: the load average, to judge how busy the shared machine was.
load() { cut -d' ' -f1-3 /proc/loadavg; }

# workdir: a temp dir (never in git) with airlock, cosign and sgclient on PATH under short
# names, so the commands in the tables read as typed. Removed on exit unless BENCH_KEEP=1.
workdir() {
  W=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/airlock-bench.XXXXXX") || die "mktemp failed"
  [ "${BENCH_KEEP:-}" = 1 ] && echo "bench: work dir $W (kept)" >&2 || trap 'rm -rf "$W"' EXIT
  mkdir -p "$W/bin"
  ln -s "$A" "$W/bin/airlock"; ln -s "$COSIGN" "$W/bin/cosign"; ln -s "$SGCLIENT" "$W/bin/sgclient"
  export PATH=$W/bin:$PATH
  cd "$W" || die "cannot enter $W"
}
