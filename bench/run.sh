#!/usr/bin/env bash
# HTTP and function benchmarks for the foundation. Prints figures for bench/RESULTS.md.
#   bash bench/run.sh            # everything
# The server is pinned to core 0 with one I/O thread and wrk to core 1, so the figures are
# per core. Each wrk run is bounded (DURATION seconds) and talks only to 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
CONNS=${CONNS:-50}
BUILD=build-bench

bash scripts/deps.sh --test
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGATEHOUSE_TESTS=OFF -DGATEHOUSE_BENCH=ON >/dev/null
cmake --build "$BUILD" -j "$(nproc)" --target gatehouse bench_core

echo "== machine"
echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB"

echo "== function benchmarks (Google Benchmark)"
taskset -c 0 "$BUILD/bench_core" --benchmark_min_time=0.2

work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port
taskset -c 0 "$BUILD/gatehouse" serve --db "sqlite:$work/g.db" --listen "127.0.0.1:$port" \
  --threads 1 >/dev/null 2>"$work/server.err" &
server=$!
for _ in $(seq 50); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done

cookie=$(curl -si -X POST "$base/v1/auth/signup" -H 'content-type: application/json' \
  -d '{"email":"bench@example.com","password":"correct horse battery","name":"Bench"}' \
  | sed -n 's/^[Ss]et-[Cc]ookie: gh_session=\([^;]*\);.*/\1/p')
csrf=$(curl -s "$base/v1/me" -H "Cookie: gh_session=$cookie" \
  | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf_token"])')
ws=$(curl -sf -X POST "$base/v1/workspaces" -H "Cookie: gh_session=$cookie" -H "X-CSRF-Token: $csrf" \
  -H 'content-type: application/json' -d '{"name":"Bench Corp"}' \
  | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
"$BUILD/gatehouse" dev seed-members --db "sqlite:$work/g.db" --workspace "$ws" --count 999 >/dev/null

run_wrk() {
  echo "-- wrk -t1 -c$CONNS -d${DURATION}s --latency $*"
  taskset -c 1 wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "$@" \
    | grep -E 'Latency  |50%|90%|99%|Requests/sec|Non-2xx|Socket errors'
}
echo "== HTTP (server on core 0, wrk on core 1)"
run_wrk "$base/healthz"
run_wrk -H "Cookie: gh_session=$cookie" "$base/v1/me"
echo "(members: a 1,000-member workspace, default page of 50 with total)"
run_wrk -H "Cookie: gh_session=$cookie" "$base/v1/workspaces/$ws/members"
run_wrk -H "Cookie: gh_session=$cookie" "$base/v1/workspaces/$ws/members?limit=200"
