#!/usr/bin/env bash
# The audit log at scale: append rate through the store's batch path and over HTTP, first-page
# query latency of each filter over a large log, export rate and memory, store size.
#   EVENTS=10000000 bash bench/audit.sh      # default 2,000,000 events over 100 workspaces
#   BENCH_BUILD=build bash bench/audit.sh    # reuse an existing build directory, no cmake steps
# Same pinning as bench/run.sh: the server on core 0 (one I/O thread), clients on core 1.
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${EVENTS:-2000000}
WORKSPACES=${WORKSPACES:-100}
QUERIES=${QUERIES:-40}
BUILD=${BENCH_BUILD:-build-bench}

if [ -z "${BENCH_BUILD:-}" ]; then
  bash scripts/deps.sh --test
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGATEHOUSE_TESTS=OFF -DGATEHOUSE_BENCH=ON >/dev/null
  cmake --build "$BUILD" -j "$(nproc)" --target gatehouse
elif [ ! -x "$BUILD/gatehouse" ]; then
  echo "bench/audit.sh: no $BUILD/gatehouse; build it first or unset BENCH_BUILD" >&2
  exit 1
fi

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

json() { /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

bench_store() {  # $1: store URL, $2: label
  local db=$1
  echo "== $2: seed $EVENTS events over $WORKSPACES workspaces + the measured workspace"
  start_server "$db"
  local email="audit-$RANDOM$RANDOM@example.com"
  cookie=$(curl -si -X POST "$base/v1/auth/signup" -H 'content-type: application/json' \
    -d "{\"email\":\"$email\",\"password\":\"correct horse battery\",\"name\":\"Bench\"}" \
    | sed -n 's/^[Ss]et-[Cc]ookie: gh_session=\([^;]*\);.*/\1/p')
  csrf=$(curl -s "$base/v1/me" -H "Cookie: gh_session=$cookie" | json '["csrf_token"]')
  ws=$(curl -sf -X POST "$base/v1/workspaces" -H "Cookie: gh_session=$cookie" \
    -H "X-CSRF-Token: $csrf" -H 'content-type: application/json' -d '{"name":"Audit Bench"}' \
    | json '["id"]')
  me=$(curl -s "$base/v1/me" -H "Cookie: gh_session=$cookie" | json '["id"]')
  key=$(curl -sf -X POST "$base/v1/workspaces/$ws/api-keys" -H "Cookie: gh_session=$cookie" \
    -H "X-CSRF-Token: $csrf" -H 'content-type: application/json' -d '{"name":"Audit bench"}' \
    | json '["key"]')
  kill "$server"; wait "$server" 2>/dev/null || true; server=""
  # Most events in other workspaces; a tenth of them in the measured one.
  "$BUILD/gatehouse" dev seed-audit --db "$db" --events "$EVENTS" --workspaces "$WORKSPACES" \
    --batch 1000
  "$BUILD/gatehouse" dev seed-audit --db "$db" --events "$((EVENTS / 10))" --workspace "$ws" \
    --batch 1000
  start_server "$db"

  echo "== $2: HTTP append, one event per request (wrk, 10 s)"
  AUDIT_PATH="/v1/workspaces/$ws/audit-logs" BENCH_KEY="$key" taskset -c 1 \
    wrk -t1 -c50 -d10s --latency -s bench/audit_append.lua "$base" \
    | grep -E 'Latency  |50%|99%|Requests/sec|failed'

  echo "== $2: first page (50 events) latency, $QUERIES requests per filter"
  local day_from day_to actor
  day_from=$(date -u -d '-3 days' +%Y-%m-%dT%H:%M:%SZ)
  day_to=$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)
  actor=$(curl -s "$base/v1/workspaces/$ws/audit-logs?limit=1&action=report.*" \
    -H "Cookie: gh_session=$cookie" | json '["data"][0]["actor"]["id"]')
  for q in "" "action=member.invited" "action=member.*" "actor=$actor" "actor=$me" \
           "target=rep_7" "from=$day_from&to=$day_to" \
           "actor=$actor&action=report.exported&from=$day_from&to=$day_to"; do
    taskset -c 1 /usr/bin/python3 - "$base/v1/workspaces/$ws/audit-logs?limit=50&$q" "$cookie" "$QUERIES" <<'PY'
import sys, time, urllib.request
url, cookie, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
times = []
for _ in range(n):
    req = urllib.request.Request(url, headers={"Cookie": "gh_session=" + cookie})
    t = time.perf_counter()
    body = urllib.request.urlopen(req).read()
    times.append((time.perf_counter() - t) * 1000)
times.sort()
print(f"  {url.split('?', 1)[1]:<90} p50 {times[len(times)//2]:6.2f} ms  p95 {times[int(len(times)*0.95)-1]:6.2f} ms  ({len(body)} bytes)")
PY
  done

  echo "== $2: export (CLI to /dev/null twice, then HTTP)"
  # The first read of freshly appended rows costs more on PostgreSQL (it sets each row's
  # commit hint bits, which a later read, or autovacuum, finds set): both runs are shown.
  for run in "first read after the appends" "again"; do
    /usr/bin/time -f "  CLI ($run): %e s, max RSS %M KiB" "$BUILD/gatehouse" audit export \
      --db "$db" --workspace "$ws" --format csv --out /dev/null
  done
  local t
  t=$(curl -s -o "$work/export.csv" -w '%{time_total}' "$base/v1/workspaces/$ws/audit-logs/export" \
    -H "Cookie: gh_session=$cookie")
  echo "  HTTP: $(wc -l < "$work/export.csv") lines, $(du -b "$work/export.csv" | cut -f1) bytes" \
    "in $t s; server RSS after: $(grep VmRSS /proc/$server/status | awk '{print $2 " " $3}')"
  rm -f "$work/export.csv"
  kill "$server"; wait "$server" 2>/dev/null || true; server=""
}

bench_store "sqlite:$work/a.db" "SQLite"
echo "== SQLite: store size $(du -b "$work"/a.db* | awk '{s+=$1} END {printf "%.0f MiB", s/1048576}')" \
  "for $((EVENTS + EVENTS / 10)) events"
rm -f "$work"/a.db*

eval "$(bash scripts/pg.sh)"
pg_dir=$GATEHOUSE_TEST_PG_DIR
bench_store "$GATEHOUSE_TEST_PG" "PostgreSQL 15"
echo "== PostgreSQL: audit_events $(psql "$GATEHOUSE_TEST_PG" -Atc \
  "SELECT pg_size_pretty(pg_total_relation_size('audit_events'))") (table and indexes)"
