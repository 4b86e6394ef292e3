#!/usr/bin/env bash
# Makes (once) a minimal Debian 12 root file system with debootstrap from the Debian archive, for
# the package's install test and the container image's base. Prints its path.
#
#   scripts/debian-root.sh [DIR]      default build/debian-root; reused when it is complete
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(realpath -m "${1:-build/debian-root}")"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if [ -f "$root/.complete" ]; then
  echo "$root"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "debian-root: debootstrap needs root" >&2
  exit 1
fi
command -v debootstrap >/dev/null || { echo "debian-root: debootstrap not found (run scripts/install-deps.sh)" >&2; exit 1; }
rm -rf "$root"
mkdir -p "$(dirname "$root")"
if ! debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1; then
  echo "debian-root: debootstrap failed; the end of $root.log:" >&2
  tail -n 20 "$root.log" >&2
  exit 1
fi
touch "$root/.complete"
echo "$root"
