#!/usr/bin/env bash
# Checks (or, with --fix, applies) the project's .clang-format on every C++ file in git.
#   scripts/format.sh          fails and lists the files that differ
#   scripts/format.sh --fix    rewrites them
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.cpp' '*.h' | grep -v '^tests/fuzz/corpus/')
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${files[@]}"
  exit 0
fi
unformatted=()
for file in "${files[@]}"; do
  if ! clang-format --dry-run --Werror "$file" >/dev/null 2>&1; then unformatted+=("$file"); fi
done
if [ "${#unformatted[@]}" -ne 0 ]; then
  echo "format: ${#unformatted[@]} file(s) differ from .clang-format (scripts/format.sh --fix):" >&2
  printf '  %s\n' "${unformatted[@]}" >&2
  exit 1
fi
echo "format: ${#files[@]} files match .clang-format"
