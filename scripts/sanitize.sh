#!/usr/bin/env bash
# Builds the exporter and its tests with sanitizers and runs the unit and integration suites
# under them: ASan + UBSan (build-asan) and, separately, TSan (build-tsan). Fails on any
# report. The package build test (a separate Release build) is left to scripts/test.sh.
#
#   scripts/sanitize.sh            both
#   scripts/sanitize.sh asan|tsan  one
set -euo pipefail

cd "$(dirname "$0")/.."
which="${1:-all}"
scripts/install-deps.sh >/dev/null
jobs="$(nproc)"
failed=0

run() {
  local name="$1" sanitizers="$2" dir="build-$1"
  local started
  started=$(date +%s)
  # Without -Werror: GCC's flow warnings (maybe-uninitialized in Boost) are not reliable with
  # sanitizer instrumentation.
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBIRD_EXPORTER_WERROR=OFF \
    -DBIRD_EXPORTER_SANITIZE="$sanitizers" >/dev/null
  cmake --build "$dir" -j"$jobs" >/dev/null
  local built
  built=$(date +%s)
  # Every report ends the process with an error, so a test sees it as a failure; the child
  # processes (the exporter, the simulator) inherit the options.
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"
  local status=0
  # Sanitized code runs several times slower: the same deadlines, more time per test.
  ctest --test-dir "$dir" -j"$jobs" --timeout 1800 --output-on-failure \
    -E 'DeploymentPackageTest' >"$dir/ctest.log" 2>&1 || status=$?
  tail -n 3 "$dir/ctest.log"
  grep -E "^[0-9]+% tests passed" "$dir/ctest.log" || true
  if [ "$status" -ne 0 ]; then
    failed=1
    grep -E "\(Failed\)|\(Timeout\)|\(SEGFAULT\)|Subprocess aborted" "$dir/ctest.log" || true
  fi
  echo "sanitize: $name ($sanitizers): build $((built - started)) s, tests $(($(date +%s) - built)) s, status $status"
}

case "$which" in
  asan) run asan address,undefined ;;
  tsan) run tsan thread ;;
  all) run asan address,undefined; run tsan thread ;;
  *) echo "usage: $0 [asan|tsan|all]" >&2; exit 2 ;;
esac
exit "$failed"
