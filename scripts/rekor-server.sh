#!/usr/bin/env bash
# rekor-server.sh: build and run a real Rekor v2 log (rekor-tiles v2.3.0's POSIX server) on
# 127.0.0.1, for `make demo` and interop runs. The server is built from the nested module
# tools/rekor-tiles (outside airlock's go.mod) with the local Go toolchain, once, into
# ${XDG_CACHE_HOME:-~/.cache}/airlock/rekor-tiles/ (the same binary the Go tests use).
#
#   scripts/rekor-server.sh start DIR PORT   start a log in DIR (kept across restarts); prints
#                                            the base URL and the path of the PEM log public key
#   scripts/rekor-server.sh stop DIR         stop the log started in DIR
#   scripts/rekor-server.sh build            build (or find) the server; prints its path
#
# start makes DIR/log.key (ECDSA P-256, PKCS#8 PEM, by openssl) and DIR/log.pub on first use,
# keeps the log in DIR/storage (checkpoint and C2SP tiles: serve it read-only for reads), writes
# DIR/server.log and DIR/server.pid. The HTTP API is on PORT, gRPC on PORT+1, metrics on PORT+2,
# all on 127.0.0.1.
#
# Environment:
#   REKOR_HOSTNAME              checkpoint origin (default rekor.local); a trusted root lists the
#                               log with baseUrl http://$REKOR_HOSTNAME
#   REKOR_CHECKPOINT_INTERVAL   how often a checkpoint is published (default 100ms); a submission
#                               waits for the next one
#   REKOR_BATCH_MAX_AGE         how long entries are gathered before sequencing (default 10ms)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
PKG=github.com/sigstore/rekor-tiles/v2/cmd/rekor-server/posix

die() { echo "rekor-server: error: $*" >&2; exit 2; }
usage() { sed -n '7,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

build() {
  local sum cache out tmp
  sum=$(sha256sum "$REPO/tools/rekor-tiles/go.sum" | cut -c1-16)
  cache=${XDG_CACHE_HOME:-$HOME/.cache}/airlock/rekor-tiles
  out=$cache/rekor-server-$sum
  if [ ! -x "$out" ]; then
    mkdir -p "$cache"
    tmp=$(mktemp -d "$cache/build-XXXXXX")
    echo "rekor-server: building $PKG (tools/rekor-tiles) into $cache" >&2
    (cd "$REPO/tools/rekor-tiles" && GOTOOLCHAIN=local GOWORK=off GOFLAGS=-mod=readonly \
      go build -o "$tmp/rekor-server" "$PKG") || { rm -rf "$tmp"; die "building the server failed"; }
    mv "$tmp/rekor-server" "$out" && rm -rf "$tmp"
  fi
  echo "$out"
}

running() { # running DIR: the pid in DIR/server.pid is a live rekor-server
  local pid
  [ -f "$1/server.pid" ] || return 1
  pid=$(cat "$1/server.pid")
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q rekor-server
}

start() {
  local dir=$1 port=$2 bin pid url i
  case $port in ''|*[!0-9]*) die "PORT must be a number, got '$port'";; esac
  [ "$port" -ge 1 ] && [ "$((port + 2))" -le 65535 ] || die "PORT out of range: $port"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  running "$dir" && die "a server is already running from $dir (pid $(cat "$dir/server.pid")): stop it first"
  command -v openssl >/dev/null || die "openssl is required to make the log key"
  bin=$(build)
  if [ ! -f "$dir/log.key" ]; then
    (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/log.key" 2>/dev/null) ||
      die "making the log key failed"
    openssl pkey -in "$dir/log.key" -pubout -out "$dir/log.pub" 2>/dev/null || die "exporting the log public key failed"
  fi
  url=http://127.0.0.1:$port
  nohup "$bin" serve \
    --hostname "${REKOR_HOSTNAME:-rekor.local}" \
    --storage-dir "$dir/storage" \
    --signer-filepath "$dir/log.key" \
    --http-address 127.0.0.1 --http-port "$port" \
    --grpc-address 127.0.0.1 --grpc-port "$((port + 1))" \
    --http-metrics-port "$((port + 2))" \
    --checkpoint-interval "${REKOR_CHECKPOINT_INTERVAL:-100ms}" \
    --batch-max-age "${REKOR_BATCH_MAX_AGE:-10ms}" \
    >"$dir/server.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$dir/server.pid"
  for i in $(seq 1 150); do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -20 "$dir/server.log" >&2; rm -f "$dir/server.pid"; die "the server exited at start (log: $dir/server.log)"
    fi
    if curl -fsS -o /dev/null "$url/healthz" 2>/dev/null; then
      echo "$url"
      echo "$dir/log.pub"
      return 0
    fi
    sleep 0.2
  done
  kill "$pid" 2>/dev/null || true
  rm -f "$dir/server.pid"
  die "the server did not answer $url/healthz within 30s (log: $dir/server.log)"
}

stop() {
  local dir=$1 pid i
  [ -d "$dir" ] || die "no directory $dir"
  if ! running "$dir"; then
    rm -f "$dir/server.pid"
    echo "rekor-server: no server running from $dir" >&2
    return 0
  fi
  pid=$(cat "$dir/server.pid")
  kill "$pid"
  for i in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  rm -f "$dir/server.pid"
}

case ${1:-} in
  start) [ $# -eq 3 ] || usage; start "$2" "$3" ;;
  stop) [ $# -eq 2 ] || usage; stop "$2" ;;
  build) [ $# -eq 1 ] || usage; build ;;
  *) usage ;;
esac
