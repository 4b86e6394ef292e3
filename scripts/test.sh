#!/usr/bin/env bash
# The one test command: installs dependencies, checks the formatting (scripts/format.sh),
# configures, builds (warnings are errors) and runs
# every test under ctest, then a 2-minute soak run (scripts/soak.sh; SOAK_MINUTES=0 skips it)
# and the container image built and run with podman (scripts/container-test.sh; CONTAINER_TEST=0
# skips it).
# Usage: scripts/test.sh [extra ctest args]
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
bash scripts/format.sh
build_dir="${BUILD_DIR:-build}"
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBIRD_EXPORTER_WERROR=ON
cmake --build "$build_dir" -j"$(nproc)"
ctest --test-dir "$build_dir" --output-on-failure --timeout 600 -j"$(nproc)" "$@"
minutes="${SOAK_MINUTES:-2}"
if [ "$minutes" != 0 ]; then BUILD_DIR="$build_dir" bash scripts/soak.sh "$minutes"; fi
if [ "${CONTAINER_TEST:-1}" != 0 ]; then bash scripts/container-test.sh; fi
