#!/usr/bin/env bash
# Builds the libFuzzer harnesses in fuzz/ with clang (address and undefined-behaviour
# sanitizers) in build-fuzz/ and runs each for FUZZ_SECONDS, starting from its committed seed
# corpus. New interesting inputs go to build-fuzz/corpus/<target>/ (not into the repo); a
# crash leaves its input in build-fuzz/artifacts/. Exit code 1 when any harness failed.
# Usage: scripts/fuzz.sh [target...]   (default: every fuzz/fuzz_*.cpp)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${FUZZ_SECONDS:-30}
JOBS=${JOBS:-$(nproc)}
OUT=build-fuzz

if [ ! -f "$OUT/build.ninja" ]; then
  CXX=clang++ cmake -S fuzz -B "$OUT" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER=clang++ >/dev/null
fi
cmake --build "$OUT" -j "$JOBS"

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in fuzz/fuzz_*.cpp; do t=$(basename "$f" .cpp); targets+=("${t#fuzz_}"); done
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$OUT/artifacts" "$OUT/logs"
failed=()
printf '%-16s %-8s %12s %8s %s\n' target result runs cov corpus
for t in "${targets[@]}"; do
  mkdir -p "$OUT/corpus/$t"
  log="$OUT/logs/$t.log"
  rc=0
  "$OUT/fuzz_$t" -max_total_time="$SECS" -timeout=10 -max_len=4096 -print_final_stats=1 \
    -artifact_prefix="$OUT/artifacts/$t-" "$OUT/corpus/$t" "fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || echo "?")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo "?")
  n=$(find "$OUT/corpus/$t" -type f | wc -l)
  if [ $rc -eq 0 ]; then result=ok; else result=FAILED; failed+=("$t"); fi
  printf '%-16s %-8s %12s %8s %s\n' "$t" "$result" "${runs:-?}" "${cov:-?}" "$n new inputs"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failed: ${failed[*]} (logs in $OUT/logs, inputs in $OUT/artifacts)" >&2
  exit 1
fi
