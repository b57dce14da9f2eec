#!/usr/bin/env bash
# Starts a throwaway PostgreSQL 15 cluster in a temp dir on a free loopback port and prints
# `export` lines for GATEHOUSE_TEST_PG and GATEHOUSE_TEST_PG_DIR. `scripts/pg.sh stop DIR`
# stops and removes it. initdb refuses to run as root, so as root the cluster belongs to the
# `postgres` system user that Debian's package creates.
set -euo pipefail

PGBIN=$(ls -d /usr/lib/postgresql/15/bin 2>/dev/null || true)
[ -n "$PGBIN" ] || { echo "pg.sh: PostgreSQL 15 is not installed (apt-get install postgresql-15)" >&2; exit 1; }

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ "${1:-}" = "stop" ]; then
  dir=$2
  as_owner "$PGBIN/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
  exit 0
fi

dir=$(mktemp -d /tmp/gatehouse-pg.XXXXXX)
chmod 755 "$dir"
[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_owner "$PGBIN/initdb" -D "$dir/data" -A trust -U gatehouse -E UTF8 --no-instructions >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; exit 1; }
as_owner "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
  start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
as_owner "$PGBIN/createdb" -h 127.0.0.1 -p "$port" -U gatehouse gatehouse_test
echo "export GATEHOUSE_TEST_PG=postgres://gatehouse@127.0.0.1:$port/gatehouse_test"
echo "export GATEHOUSE_TEST_PG_DIR=$dir"
