#!/usr/bin/env bash
# Slow clients against both built-in proxies with slowhttptest (Debian package
# slowhttptest): slow headers (-H), slow body (-B) and slow read (-X), each for
# a few seconds on loopback, through the reverse proxy and through the forward
# proxy (-d). After each attack it checks that the proxy still answers and
# that its open descriptors came back to where they were, and says how many
# slow connections the proxy cut itself (both proxies here cut headers at 2s,
# bodies at 4s, and a response write that moves no byte for 4s; -X's answers
# are small enough to sit in the socket buffers, so the proxy's writes finish
# and it holds only kept-alive connections, which the idle timeout ends).
#   .ci/slowhttptest.sh [SECONDS]    length of each attack, default 8
#   CONNS=300 .ci/slowhttptest.sh    connections per attack, default 200
# Reports (HTML and CSV) land in ${OUT:-slowhttptest-report}/. Skips with exit
# 0 when slowhttptest is not installed (apt-get install slowhttptest).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v slowhttptest >/dev/null 2>&1; then
  echo "slowhttptest: not installed (apt-get install slowhttptest); skipped"
  exit 0
fi
length="${1:-8}"
conns="${CONNS:-200}"
out="${OUT:-${TMPDIR:-/tmp}/proxylab-slowhttptest}"
mkdir -p "$out"
work="$(mktemp -d)"
pids=()
cleanup() {
  # start runs in a command substitution (a subshell), so its pids are read
  # back from the files it writes.
  for f in "$work"/*.pid; do [ -e "$f" ] && pids+=("$(cat "$f")"); done
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/proxylab" ./cmd/proxylab

# start NAME CMD... runs a proxylab command listening on port 0 and prints the
# URL it reports on its first line.
start() {
  local name="$1"
  shift
  "$work/proxylab" "$@" >"$work/$name.log" 2>&1 &
  pids+=("$!")
  echo "$!" >"$work/$name.pid"
  for _ in $(seq 50); do
    if url="$(grep -oE 'http://127\.0\.0\.1:[0-9]+' "$work/$name.log" | head -1)" && [ -n "$url" ]; then
      echo "$url"
      return
    fi
    sleep 0.1
  done
  echo "slowhttptest: $name did not start:" >&2
  cat "$work/$name.log" >&2
  exit 1
}

fds() { ls "/proc/$(cat "$work/$1.pid")/fd" | wc -l; }

origin="$(start origin serve --listen 127.0.0.1:0)"
cat >"$work/reverse.yaml" <<YAML
pools: [{name: app, servers: [{name: origin, url: "$origin"}]}]
routes: [{pool: app}]
timeouts: {client_header: 2s, client_body: 4s, client_write_idle: 4s}
YAML
cat >"$work/forward.yaml" <<YAML
open: true
allow_nets: [127.0.0.1/32]
timeouts: {client_header: 2s, client_body: 4s, client_write_idle: 4s}
YAML
reverse="$(start reverse proxy reverse --config "$work/reverse.yaml" --listen 127.0.0.1:0)"
forward="$(start forward proxy forward --config "$work/forward.yaml" --listen 127.0.0.1:0)"

failed=0
passed=0
attack() { # NAME PROXY MODE ARGS...
  local name="$1" proxy="$2" mode="$3"
  shift 3
  local before after
  before="$(fds "$proxy")"
  echo "== $name: slowhttptest $mode ($conns connections, ${length}s)"
  slowhttptest "$mode" -c "$conns" -r 100 -i 1 -l "$length" -p 3 -g -o "$out/$name" "$@" >"$work/$name.txt" 2>&1 || true
  sed 's/\x1b\[[0-9;]*m//g' "$work/$name.txt" | grep -E "service available|Exit status" | tail -2 | sed 's/^ */   /'
  # The CSV's last row: how many connections the proxy itself had closed by
  # the end of the attack (slowhttptest closes the rest when it stops).
  local cut
  cut="$(tail -1 "$out/$name.csv" 2>/dev/null | cut -d, -f2)"
  echo "   the proxy cut ${cut:-?} of $conns slow connections within ${length}s"
  # After the attack: the proxy answers, and its descriptors come back.
  local ok=1
  for _ in $(seq 50); do
    after="$(fds "$proxy")"
    [ "$after" -le $((before + 4)) ] && break
    sleep 0.1
  done
  if [ "$after" -gt $((before + 4)) ]; then
    echo "   FAIL: $proxy holds $after descriptors, $before before"
    ok=0
  fi
  if grep -q "service available:.*NO" "$work/$name.txt"; then
    echo "   FAIL: the service was unavailable during the attack"
    ok=0
  fi
  if [ "$ok" = 1 ]; then
    echo "   ok: descriptors $before -> $after"
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
  fi
}

attack reverse-H reverse -H -u "$reverse/"
attack reverse-B reverse -B -u "$reverse/" -s 65536
attack reverse-X reverse -X -u "$reverse/" -k 3 -n 1 -w 10 -y 20 -z 32
# Through the forward proxy: -d sends every connection through it to the origin.
attack forward-H forward -H -u "$origin/" -d "${forward#http://}"
attack forward-B forward -B -u "$origin/" -d "${forward#http://}" -s 65536
attack forward-X forward -X -u "$origin/" -d "${forward#http://}" -k 3 -n 1 -w 10 -y 20 -z 32

echo "slowhttptest: $passed passed, $failed failed (reports in $out/)"
[ "$failed" -eq 0 ]
