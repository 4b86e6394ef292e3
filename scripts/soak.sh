#!/usr/bin/env bash
# Soak run: the exporter against the simulator's api-trouble scenario for MINUTES (default 30)
# with restarts (SIGTERM and SIGKILL in turn), a scrape every second and a reload every minute;
# checks exact totals against the simulator's truth, no growth of memory or open files, and a
# log without errors. scripts/test.sh runs a 2-minute version. See scripts/soak.py.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${BUILD_DIR:-build}"
if [ ! -x "$build/bird_call_exporter" ] || [ ! -x "$build/bird_api_simulator" ]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" -j"$(nproc)" --target bird_call_exporter bird_api_simulator >/dev/null
fi
BUILD_DIR="$build" exec python3 scripts/soak.py "${1:-30}"
