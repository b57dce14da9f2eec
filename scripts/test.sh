#!/usr/bin/env bash
# Runs every test: unit tests and the store conformance suite (ctest) against SQLite and a
# throwaway PostgreSQL 15, the end-to-end suite against the real binary, then the browser
# tests of the dashboard (web/dist, built by scripts/web.sh) in Debian's Chromium.
set -euo pipefail
BUILD=${1:-build}
cd "$(dirname "$0")/.."

eval "$(bash scripts/pg.sh)"
trap 'bash scripts/pg.sh stop "$GATEHOUSE_TEST_PG_DIR"' EXIT

echo "== unit and store conformance tests (ctest)"
(cd "$BUILD" && GATEHOUSE_TEST_PG="$GATEHOUSE_TEST_PG" ctest --output-on-failure)

echo "== end-to-end tests (pytest against $BUILD/gatehouse)"
GATEHOUSE_BIN="$PWD/$BUILD/gatehouse" /usr/bin/python3 -m pytest -q tests/e2e

echo "== browser tests (playwright-core + /usr/bin/chromium against $BUILD/gatehouse)"
export BROWSER_TEST_OUTPUT="$PWD/$BUILD/browser-output"
GATEHOUSE_BIN="$PWD/$BUILD/gatehouse" node --test --test-reporter=spec tests/browser/dashboard.test.mjs
echo "screenshots: $BROWSER_TEST_OUTPUT"
