#!/usr/bin/env bash
# The one run command for newcomers: installs dependencies, builds, and starts the exporter in
# demo mode against the built-in Bird API simulator (no account, no configuration).
# Usage: scripts/demo.sh [--demo.scenario=NAME] [--web.listen-address=:9842] [other flags]
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
build_dir="${BUILD_DIR:-build}"
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir" -j"$(nproc)" --target bird_call_exporter
echo "demo: open http://localhost:9842/ (metrics at /metrics); Ctrl-C stops it" >&2
exec "$build_dir/bird_call_exporter" --demo "$@"
