#!/usr/bin/env bash
# Installs the Debian packages Gatehouse builds, runs and tests with; with --test also the npm
# packages of the end-to-end tests' identity providers (tests/e2e/idp) and webhook receiver
# (tests/e2e/webhook_receiver), by scripts/npm-ci.sh.
# Idempotent: when everything is already present it only runs dpkg-query and compares a hash.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  libboost-dev libboost-system-dev
  libsqlite3-dev libpq-dev libssl-dev libsodium-dev
  nlohmann-json3-dev libcli11-dev libtomlplusplus-dev libabsl-dev
  libfmt-dev libcurl4-openssl-dev libjemalloc-dev libqrencode-dev libgeoip-dev tzdata
  libxml2-dev libxmlsec1-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
)
TEST_PACKAGES=(
  postgresql-15 python3-pytest python3-requests python3-aiosmtpd wrk sqlite3 curl oathtool clang
  chromium fonts-dejavu-core geoip-database xmlsec1 python3-lxml python3-pysaml2 openssl
)

want=("${PACKAGES[@]}")
if [ "${1:-}" = "--test" ]; then want+=("${TEST_PACKAGES[@]}"); fi

missing=()
for p in "${want[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "${1:-}" = "--test" ]; then
  bash "$(dirname "$0")/npm-ci.sh" tests/e2e/idp e2e-idp
  bash "$(dirname "$0")/npm-ci.sh" tests/e2e/webhook_receiver e2e-webhooks
fi
