#!/usr/bin/env bash
# Runs every test: unit tests and the store conformance suite (ctest) against SQLite and a
# throwaway PostgreSQL 15, then the end-to-end suite against the real binary.
set -euo pipefail
BUILD=${1:-build}
cd "$(dirname "$0")/.."

eval "$(bash scripts/pg.sh)"
trap 'bash scripts/pg.sh stop "$GATEHOUSE_TEST_PG_DIR"' EXIT

echo "== unit and store conformance tests (ctest)"
(cd "$BUILD" && GATEHOUSE_TEST_PG="$GATEHOUSE_TEST_PG" ctest --output-on-failure)

echo "== end-to-end tests (pytest against $BUILD/gatehouse)"
GATEHOUSE_BIN="$PWD/$BUILD/gatehouse" /usr/bin/python3 -m pytest -q tests/e2e
