#!/usr/bin/env bash
# Installs the npm packages of the end-to-end tests' OpenID Provider (tests/e2e/idp: oidc-provider)
# into tests/e2e/idp/node_modules. Quick when nothing changed: `npm ci` runs only when
# node_modules is missing or package-lock.json changed since the last install (as scripts/web.sh).
# Run by `scripts/deps.sh --test` (so by `make test-deps` and `make test`).
set -euo pipefail
cd "$(dirname "$0")/../tests/e2e/idp"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "e2e-idp: installing nodejs and npm" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.gatehouse-lock-sha256
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_hash" ]; then
  echo "e2e-idp: npm ci (tests/e2e/idp)" >&2
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > "$stamp"
fi
