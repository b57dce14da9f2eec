#!/usr/bin/env bash
# Installs the dashboard's npm packages and builds it into web/dist, which `gatehouse serve`
# serves at /. Quick when nothing changed: `npm ci` runs only when node_modules is missing or
# package-lock.json changed since the last install, and the build only when a source is newer
# than web/dist/index.html.
set -euo pipefail
cd "$(dirname "$0")/../web"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "web: installing nodejs and npm" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.gatehouse-lock-sha256
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_hash" ]; then
  echo "web: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > "$stamp"
fi

if [ "${1:-}" = "--force" ] || [ ! -f dist/index.html ] ||
   [ -n "$(find src public index.html vite.config.ts tsconfig.json package-lock.json \
             -newer dist/index.html -print -quit)" ]; then
  echo "web: building the dashboard (web/dist)" >&2
  npm run --silent build >/dev/null
fi
