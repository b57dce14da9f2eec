#!/usr/bin/env bash
# Installs the dashboard's npm packages and builds it into web/dist, which `gatehouse serve`
# serves at /. Quick when nothing changed: `npm ci` runs only when node_modules is missing or
# package-lock.json changed since the last install (scripts/npm-ci.sh), and the build only
# when a source is newer than web/dist/index.html.
set -euo pipefail
cd "$(dirname "$0")/../web"

bash ../scripts/npm-ci.sh web web

if [ "${1:-}" = "--force" ] || [ ! -f dist/index.html ] ||
   [ -n "$(find src public index.html vite.config.ts tsconfig.json package-lock.json \
             -newer dist/index.html -print -quit)" ]; then
  echo "web: building the dashboard (web/dist)" >&2
  npm run --silent build >/dev/null
fi
