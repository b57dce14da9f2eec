#!/usr/bin/env bash
# Verify throughput of two gatehouse binaries, interleaved: A, B, A, B … on the same machine
# in the same minutes, so that a change's effect is read against the machine's drift. Each
# binary gets its own SQLite store with KEYS secret keys (loaded at start, as a deployment
# would), a warm-up that uses every key once (first-use events written), then ROUNDS runs of
# wrk -c CONNS for DURATION seconds with traffic from all the keys. Server on core 0 with one
# I/O thread, wrk on core 1; only 127.0.0.1 is touched and every run is bounded.
#   bash bench/verify_ab.sh OLD_BINARY NEW_BINARY
# To build the previous commit's binary:
#   git worktree add /tmp/gh-old HEAD~1 && cmake -S /tmp/gh-old -B /tmp/gh-old/build-bench \
#     -G Ninja -DCMAKE_BUILD_TYPE=Release -DGATEHOUSE_TESTS=OFF && \
#     cmake --build /tmp/gh-old/build-bench --target gatehouse
set -euo pipefail
cd "$(dirname "$0")/.."
A=${1:?usage: verify_ab.sh OLD_BINARY NEW_BINARY}
B=${2:?usage: verify_ab.sh OLD_BINARY NEW_BINARY}
DURATION=${DURATION:-10}
CONNS=${CONNS:-50}
KEYS=${KEYS:-100000}
ROUNDS=${ROUNDS:-3}

work=$(mktemp -d)
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port

start() {  # $1: binary, $2: store URL
  if [ -n "$server" ]; then kill "$server"; wait "$server" 2>/dev/null || true; fi
  taskset -c 0 "$1" serve --db "$2" --listen "127.0.0.1:$port" --threads 1 \
    >/dev/null 2>"$work/server.err" &
  server=$!
  for _ in $(seq 1200); do curl -sf "$base/healthz" >/dev/null && return; sleep 0.1; done
  cat "$work/server.err"; exit 1
}

seed() {  # $1: binary, $2: label
  local db="sqlite:$work/$2.db"
  start "$1" "$db"
  local cookie csrf ws
  cookie=$(curl -si -X POST "$base/v1/auth/signup" -H 'content-type: application/json' \
    -d "{\"email\":\"bench-$2@example.com\",\"password\":\"correct horse battery\",\"name\":\"Bench\"}" \
    | sed -n 's/^[Ss]et-[Cc]ookie: gh_session=\([^;]*\);.*/\1/p')
  csrf=$(curl -s "$base/v1/me" -H "Cookie: gh_session=$cookie" \
    | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf_token"])')
  ws=$(curl -sf -X POST "$base/v1/workspaces" -H "Cookie: gh_session=$cookie" \
    -H "X-CSRF-Token: $csrf" -H 'content-type: application/json' -d '{"name":"Bench Corp"}' \
    | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  "$1" dev seed-keys --db "$db" --workspace "$ws" --count "$KEYS" --out "$work/$2.keys" >/dev/null
  start "$1" "$db"
  KEYS_FILE="$work/$2.keys" taskset -c 1 wrk -t1 -c"$CONNS" -d20s -s bench/verify.lua \
    "$base/v1/keys/verify" >/dev/null
  kill "$server"; wait "$server" 2>/dev/null || true
  server=""
}

run() {  # $1: binary, $2: label
  start "$1" "sqlite:$work/$2.db"
  sleep 2
  local out
  out=$(KEYS_FILE="$work/$2.keys" taskset -c 1 wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency \
    -s bench/verify.lua "$base/v1/keys/verify")
  printf '%s  %s req/s  p99 %s\n' "$2" "$(echo "$out" | awk '/Requests\/sec/{print $2}')" \
    "$(echo "$out" | awk '$1=="99%"{print $2}')"
}

echo "== $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $KEYS keys, wrk -c$CONNS -d${DURATION}s"
seed "$A" old
seed "$B" new
for _ in $(seq "$ROUNDS"); do
  run "$A" old
  run "$B" new
done
