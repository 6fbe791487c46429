#!/usr/bin/env bash
# `proxylab load` against wrk on the same target, core and connections: nginx
# (`return 200`, worker_processes 1, access log off) pinned to core 1, each
# load generator pinned to core 0 with one thread (wrk -t1; GOMAXPROCS=1), 64
# connections, runs interleaved (wrk, ours, wrk, ours, ...). Each run prints
# its requests, req/s, CPU time (utime+stime from /usr/bin/time) and requests
# per CPU-second; the summary gives the medians and ours/wrk. On a shared
# machine req/s swings with the neighbours' load; requests per CPU-second of
# the generator is the steadier figure.
#   .ci/loadgen-vs-wrk.sh [REPS] [DURATION] [PROXYLAB_BINARY...]
#     REPS 5, DURATION 3s, binaries: bin/proxylab built from this tree.
#     Several binaries (e.g. an old build) are run in turn after each wrk.
#   URL=http://127.0.0.1:8080/ .ci/loadgen-vs-wrk.sh   use a running target
#                                                       instead of nginx
#   CONNS=64                                            connections
# Skips with exit 0 when wrk (or nginx without URL) is not installed.
set -euo pipefail
cd "$(dirname "$0")/.."

reps="${1:-5}"
dur="${2:-3s}"
shift $(($# < 2 ? $# : 2))
conns="${CONNS:-64}"
for tool in wrk taskset; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "$tool: not installed; skipped"
    exit 0
  fi
done
work="$(mktemp -d)"
nginx_pid=""
cleanup() {
  if [[ -n "$nginx_pid" ]]; then kill "$nginx_pid" 2>/dev/null || true; fi
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

bins=("$@")
if [[ ${#bins[@]} -eq 0 ]]; then
  go build -o "$work/proxylab" ./cmd/proxylab
  bins=("$work/proxylab")
fi

url="${URL:-}"
if [[ -z "$url" ]]; then
  if ! command -v nginx >/dev/null 2>&1; then
    echo "nginx: not installed (apt-get install nginx-light); skipped"
    exit 0
  fi
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  cat >"$work/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 10000000;
  client_body_temp_path $work; proxy_temp_path $work; fastcgi_temp_path $work;
  uwsgi_temp_path $work; scgi_temp_path $work;
  server { listen 127.0.0.1:$port; location / { return 200; } }
}
EOF
  taskset -c 1 nginx -p "$work" -e "$work/error.log" -c "$work/nginx.conf" &
  nginx_pid=$!
  url="http://127.0.0.1:$port/"
  for _ in $(seq 50); do
    if curl -fs -o /dev/null "$url" 2>/dev/null; then break; fi
    sleep 0.1
  done
fi

# run NAME CMD...: one run; appends "NAME REQUESTS SECONDS CPU" to $work/runs.
run() {
  local name=$1 out n secs cpu
  shift
  out=$({ /usr/bin/time -f 'CPU %U %S' "$@"; } 2>&1)
  if [[ $name == wrk ]]; then
    n=$(awk '/requests in/{print $1}' <<<"$out")
    secs=$(awk '/requests in/{sub(/s,$/,"",$4); print $4}' <<<"$out")
  else
    n=$(grep -o '"requests": *[0-9]*' <<<"$out" | head -1 | grep -o '[0-9]*$')
    secs=$(grep -o '"duration_ns": *[0-9]*' <<<"$out" | head -1 | grep -o '[0-9]*$' | awk '{print $1/1e9}')
  fi
  cpu=$(awk '/^CPU /{print $2+$3}' <<<"$out")
  echo "$name $n $secs $cpu" >>"$work/runs"
  awk -v name="$name" -v n="$n" -v s="$secs" -v c="$cpu" \
    'BEGIN{printf "%-20s %9d req  %8.0f req/s  cpu %5.2fs  %8.0f req/cpu-s\n", name, n, n/s, c, n/c}'
}

echo "target $url, $conns connections, $reps × $dur, core 0"
for ((i = 0; i < reps; i++)); do
  run wrk taskset -c 0 wrk -t1 -c"$conns" -d"$dur" "$url"
  for b in "${bins[@]}"; do
    run "$(basename "$b")" env GOMAXPROCS=1 taskset -c 0 "$b" load "$url" \
      --connections "$conns" --duration "$dur" --quiet --json
  done
done
echo "medians:"
python3 - "$work/runs" <<'EOF'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    name, n, secs, cpu = line.split()
    runs.setdefault(name, []).append((int(n) / float(secs), int(n) / float(cpu)))
wrk = [statistics.median(x[i] for x in runs["wrk"]) for i in (0, 1)]
for name, xs in runs.items():
    rps, rpc = (statistics.median(x[i] for x in xs) for i in (0, 1))
    print(f"{name:20s} {rps:9.0f} req/s ({rps / wrk[0]:.2f}× wrk)  {rpc:9.0f} req/cpu-s ({rpc / wrk[1]:.2f}× wrk)")
EOF
