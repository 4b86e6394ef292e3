#!/usr/bin/env bash
# Builds the Debian package bird-call-exporter_<version>-1_<arch>.deb and prints its path on the
# last line of standard output. The build directory is separate from the development build
# (tests off, prefix /usr, Release): scripts/package.sh [BUILD_DIR], default build-package.
# Needs the build dependencies, dpkg-dev and help2man (scripts/install-deps.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
source_dir="$PWD"
build_dir="${1:-${PACKAGE_BUILD_DIR:-build-package}}"

for tool in cmake cpack dpkg-deb dpkg-shlibdeps dpkg-buildflags help2man gzip; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "package: $tool not found (run scripts/install-deps.sh)" >&2
    exit 1
  fi
done

# Debian's hardening flags (fortified functions, stack protector, PIE, full RELRO and BIND_NOW),
# as a package built by debhelper would get them.
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
cxxflags="$(dpkg-buildflags --get CPPFLAGS) $(dpkg-buildflags --get CXXFLAGS)"
ldflags="$(dpkg-buildflags --get LDFLAGS)"

cmake -S "$source_dir" -B "$build_dir" \
  -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_FLAGS="$cxxflags" \
  -DCMAKE_EXE_LINKER_FLAGS="$ldflags" \
  -DCMAKE_INSTALL_PREFIX=/usr \
  -DBIRD_EXPORTER_BUILD_TESTS=OFF >&2
cmake --build "$build_dir" -j"$(nproc)" >&2
rm -f "$build_dir"/*.deb
(cd "$build_dir" && cpack -G DEB) >&2

debs=("$build_dir"/*.deb)
if [ "${#debs[@]}" -ne 1 ] || [ ! -f "${debs[0]}" ]; then
  echo "package: expected one .deb in $build_dir" >&2
  exit 1
fi
realpath "${debs[0]}"
