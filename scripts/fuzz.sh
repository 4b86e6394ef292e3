#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (ASan + UBSan + coverage) and runs each
# for SECONDS (default 60). Fails on any crash, leak, timeout, out-of-memory or broken promise
# of a parser; the input that caused it is copied into tests/fuzz/corpus/<target>/, which the
# unit tests replay.
#
#   scripts/fuzz.sh [SECONDS]          every target
#   FUZZ_TARGETS="list_page config" scripts/fuzz.sh 600
#   FUZZ_RUNS=10000000 scripts/fuzz.sh 600   stop a target after that many inputs (or SECONDS)
#   FUZZ_BUILD_DIR=build-fuzz (default)
#
# The working corpus of each target grows in $FUZZ_BUILD_DIR/corpus/<target> across runs,
# seeded from tests/fuzz/corpus/<target>.
set -euo pipefail

cd "$(dirname "$0")/.."
seconds="${1:-60}"
build="${FUZZ_BUILD_DIR:-build-fuzz}"
all_targets="list_page single_call insights rfc3339 duration config web_config state_file state_rows http_request"
targets="${FUZZ_TARGETS:-$all_targets}"

if ! command -v clang++ >/dev/null || ! compgen -G "/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a" >/dev/null; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "fuzz: installing clang and its libFuzzer runtime"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends clang libclang-rt-dev
fi
scripts/install-deps.sh >/dev/null

CC=clang CXX=clang++ cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DBIRD_EXPORTER_FUZZ=ON -DBIRD_EXPORTER_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" --target fuzz_targets -j"$(nproc)" >/dev/null

failed=0
printf '%-14s %10s %14s %8s %s\n' target seconds executions exec/s result
for target in $targets; do
  work="$build/corpus/$target"
  findings="$build/findings/$target"
  mkdir -p "$work" "$findings"
  log="$build/fuzz-$target.log"
  status=0
  started=$(date +%s)
  # Leaks are found by LeakSanitizer at the end of each input (-detect_leaks, the default).
  "$build/tests/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 ${FUZZ_RUNS:+-runs="$FUZZ_RUNS"} -artifact_prefix="$findings/" "$work" "tests/fuzz/corpus/$target" \
    >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/.*exec\/s: \([0-9]*\).*/\1/p' "$log" | tail -1)
  result="ok"
  if [ "$status" -ne 0 ]; then
    result="FINDING (exit $status, see $log)"
    failed=1
    for artifact in "$findings"/*; do
      [ -f "$artifact" ] || continue
      cp "$artifact" "tests/fuzz/corpus/$target/finding-$(basename "$artifact")"
      echo "fuzz: $target: kept $(basename "$artifact") in tests/fuzz/corpus/$target/" >&2
    done
    grep -m5 -E "ERROR|SUMMARY|terminate|what\(\)" "$log" >&2 || true
  fi
  elapsed=$(( $(date +%s) - started ))
  printf '%-14s %10s %14s %8s %s\n' "$target" "$elapsed" "${runs:-0}" "${rate:-0}" "$result"
done
exit "$failed"
