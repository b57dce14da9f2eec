#!/usr/bin/env bash
# Installs the npm packages of one folder (its package-lock.json) into its node_modules, and
# nodejs/npm from Debian first when they are missing. Quick when nothing changed: `npm ci`
# runs only when node_modules is missing or package-lock.json changed since the last install.
#   bash scripts/npm-ci.sh DIR LABEL
set -euo pipefail
dir=${1:?usage: npm-ci.sh DIR LABEL}
label=${2:-$dir}
cd "$(dirname "$0")/../$dir"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "$label: installing nodejs and npm" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.gatehouse-lock-sha256
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_hash" ]; then
  echo "$label: npm ci ($dir)" >&2
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > "$stamp"
fi
