#!/usr/bin/env bash
# Benchmarks of the running server and of the hot functions. Prints the figures that
# bench/RESULTS.md records. The server is pinned to core 0 with one I/O thread and wrk to
# core 1, so HTTP figures are per core. Every wrk run is bounded (DURATION seconds) and talks
# only to 127.0.0.1.
#   bash bench/run.sh            # everything (SQLite, then PostgreSQL 15 started by scripts/pg.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
CONNS=${CONNS:-50}
KEYS=${KEYS:-100000}
STARTUP_KEYS=${STARTUP_KEYS:-1000000}  # 0 skips the startup measurement with many keys
BUILD=build-bench

bash scripts/deps.sh --test
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGATEHOUSE_TESTS=OFF -DGATEHOUSE_BENCH=ON >/dev/null
cmake --build "$BUILD" -j "$(nproc)" --target gatehouse bench_core baseline_server

echo "== machine"
echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB"

echo "== function benchmarks (Google Benchmark, core 0)"
taskset -c 0 "$BUILD/bench_core" --benchmark_min_time=0.5

work=$(mktemp -d)
server=""
pg_dir=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  [ -n "$pg_dir" ] && bash scripts/pg.sh stop "$pg_dir"
  rm -rf "$work"
}
trap cleanup EXIT
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port

start_server() {  # $1: store URL
  if [ -n "$server" ]; then kill "$server"; wait "$server" 2>/dev/null || true; fi
  taskset -c 0 "$BUILD/gatehouse" serve --db "$1" --listen "127.0.0.1:$port" --threads 1 \
    >/dev/null 2>"$work/server.err" &
  server=$!
  for _ in $(seq 1200); do curl -sf "$base/healthz" >/dev/null && return; sleep 0.1; done
  cat "$work/server.err"; exit 1
}

# Waits until the server has written what the warm-up's first uses queued (an address row
# and an api_key.new_ip event per key), so that the measured runs do not pay for it.
wait_flushed() {  # $1: store URL
  local n started=$SECONDS
  for _ in $(seq 600); do
    if [[ $1 == sqlite:* ]]; then
      n=$(sqlite3 "${1#sqlite:}" "SELECT count(*) FROM api_key_ips" 2>/dev/null || echo 0)
    else
      n=$(psql "$1" -Atc "SELECT count(*) FROM api_key_ips" 2>/dev/null || echo 0)
    fi
    if [ "${n:-0}" -ge "$KEYS" ]; then
      echo "first uses of $KEYS keys written (addresses + api_key.new_ip events) $((SECONDS - started)) s after the warm-up"
      return
    fi
    sleep 1
  done
}

# CPU ticks (1/100 s) of each thread of process $1: "tid policy ticks" per line (policy 5 is
# SCHED_IDLE, the bookkeeping thread's).
thread_ticks() {
  for t in /proc/"$1"/task/*; do
    [ -r "$t/stat" ] && echo "$(basename "$t") $(awk '{print $41, $14 + $15}' "$t/stat")"
  done | sort
}

run_wrk() {
  echo "-- wrk -t1 -c$CONNS -d${DURATION}s --latency $*"
  local before
  [ -n "$server" ] && before=$(thread_ticks "$server")
  taskset -c 1 wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "$@" \
    | grep -E 'Latency  |50%|90%|99%|Requests/sec|Non-2xx|Socket errors|not VALID'
  # Where the server's core went: the request thread(s) and the idle-priority bookkeeping.
  if [ -n "$server" ]; then
    join <(echo "$before") <(thread_ticks "$server") | awk -v d="$DURATION" '
      { t = $5 - $3; if ($2 == 5) bk += t; else srv += t }
      END { printf "server CPU: %.0f %% of a core at normal priority, %.0f %% bookkeeping (SCHED_IDLE)\n", srv / d, bk / d }'
  fi
}

# Signs up, creates a workspace of 1,000 members and KEYS secret keys, then restarts the
# server so that it loads the keys at start, as a deployment would.
bench_store() {  # $1: store URL, $2: label
  local db=$1
  start_server "$db"
  local email="bench-$RANDOM$RANDOM@example.com"
  cookie=$(curl -si -X POST "$base/v1/auth/signup" -H 'content-type: application/json' \
    -d "{\"email\":\"$email\",\"password\":\"correct horse battery\",\"name\":\"Bench\"}" \
    | sed -n 's/^[Ss]et-[Cc]ookie: gh_session=\([^;]*\);.*/\1/p')
  csrf=$(curl -s "$base/v1/me" -H "Cookie: gh_session=$cookie" \
    | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf_token"])')
  ws=$(curl -sf -X POST "$base/v1/workspaces" -H "Cookie: gh_session=$cookie" \
    -H "X-CSRF-Token: $csrf" -H 'content-type: application/json' -d '{"name":"Bench Corp"}' \
    | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  "$BUILD/gatehouse" dev seed-members --db "$db" --workspace "$ws" --count 999 >/dev/null
  "$BUILD/gatehouse" dev seed-keys --db "$db" --workspace "$ws" --count "$KEYS" \
    --out "$work/keys.txt" >/dev/null
  start_server "$db"
  echo "== $2: start with $KEYS keys"
  grep -h "api keys:" "$work/server.err" || true
  echo "resident memory after start: $(grep VmRSS /proc/$server/status | awk '{print $2 " " $3}')"
  echo "== $2: HTTP (server on core 0, wrk on core 1)"
  run_wrk "$base/healthz"
  run_wrk -H "Cookie: gh_session=$cookie" "$base/v1/me"
  echo "(members: a 1,000-member workspace; default page of 50 with total, then 200)"
  run_wrk -H "Cookie: gh_session=$cookie" "$base/v1/workspaces/$ws/members"
  run_wrk -H "Cookie: gh_session=$cookie" "$base/v1/workspaces/$ws/members?limit=200"
  echo "(verify, warm-up: every key once, so that first-use-from-this-address events are done)"
  CHECK=1 KEYS_FILE="$work/keys.txt" taskset -c 1 wrk -t1 -c"$CONNS" -d30s -s bench/verify.lua \
    "$base/v1/keys/verify" | grep -E 'Requests/sec|not VALID'
  wait_flushed "$db"
  echo "(verify: POST /v1/keys/verify, traffic from 10,000 of the $KEYS keys)"
  KEYS_FILE="$work/keys.txt" ACTIVE_KEYS=10000 run_wrk -s bench/verify.lua "$base/v1/keys/verify"
  echo "(verify: traffic from all $KEYS keys)"
  KEYS_FILE="$work/keys.txt" run_wrk -s bench/verify.lua "$base/v1/keys/verify"
}

# The yardstick: a minimal Beast server answering a constant JSON body, pinned the same way.
# Its rate is the ceiling of any route on this machine today; read the figures below against it.
echo "== baseline: minimal Beast server, constant JSON (server on core 0, wrk on core 1)"
taskset -c 0 "$BUILD/baseline_server" 127.0.0.1 "$port" >/dev/null &
server=$!
for _ in $(seq 100); do curl -sf "$base/" >/dev/null && break; sleep 0.1; done
run_wrk "$base/"
echo "(the same server under verify.lua: the ceiling of wrk and the script on core 1)"
/usr/bin/python3 -c 'import secrets
for _ in range(100000): print("sk_live_" + secrets.token_urlsafe(32))' > "$work/baseline_keys.txt"
KEYS_FILE="$work/baseline_keys.txt" run_wrk -s bench/verify.lua "$base/v1/keys/verify"
kill "$server"; wait "$server" 2>/dev/null || true
server=""

bench_store "sqlite:$work/g.db" "SQLite"

# Startup time and resident memory with STARTUP_KEYS keys (SQLite): what a restart costs.
if [ "$STARTUP_KEYS" -gt 0 ]; then
  db="sqlite:$work/million.db"
  start_server "$db"
  email="bench-$RANDOM$RANDOM@example.com"
  cookie=$(curl -si -X POST "$base/v1/auth/signup" -H 'content-type: application/json' \
    -d "{\"email\":\"$email\",\"password\":\"correct horse battery\",\"name\":\"Bench\"}" \
    | sed -n 's/^[Ss]et-[Cc]ookie: gh_session=\([^;]*\);.*/\1/p')
  csrf=$(curl -s "$base/v1/me" -H "Cookie: gh_session=$cookie" \
    | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf_token"])')
  ws=$(curl -sf -X POST "$base/v1/workspaces" -H "Cookie: gh_session=$cookie" \
    -H "X-CSRF-Token: $csrf" -H 'content-type: application/json' -d '{"name":"Million Corp"}' \
    | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  "$BUILD/gatehouse" dev seed-keys --db "$db" --workspace "$ws" --count "$STARTUP_KEYS" \
    --out "$work/million.txt" >/dev/null
  start_server "$db"
  echo "== SQLite: start with $STARTUP_KEYS keys"
  grep -h "api keys:" "$work/server.err" || true
  echo "resident memory after start: $(grep VmRSS /proc/$server/status | awk '{print $2 " " $3}')"
  rm -f "$work/million.db" "$work/million.txt"
fi

eval "$(bash scripts/pg.sh)"
pg_dir=$GATEHOUSE_TEST_PG_DIR
bench_store "$GATEHOUSE_TEST_PG" "PostgreSQL 15"

echo "== SCIM: provisioning ${SCIM_USERS:-10000} users as Okta does (lookup + create), 8 clients"
echo "-- SQLite"
/usr/bin/python3 bench/scim_provision.py "$BUILD/gatehouse" "${SCIM_USERS:-10000}" 8
echo "-- PostgreSQL 15"
GATEHOUSE_BENCH_PG="$GATEHOUSE_TEST_PG" /usr/bin/python3 bench/scim_provision.py "$BUILD/gatehouse" "${SCIM_USERS:-10000}" 8
