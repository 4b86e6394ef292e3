#!/usr/bin/env bash
# Installs every build and test dependency on Debian 12 (idempotent; apt-get only).
set -euo pipefail

packages=(
  build-essential cmake g++ pkg-config git curl ca-certificates
  prometheus-cpp-dev libcurl4-openssl-dev libssl-dev nlohmann-json3-dev
  libsqlite3-dev sqlite3
  # Boost.Beast and Boost.Asio (header-only) for the HTTP server; zlib for its gzip answers.
  # Debian's default Boost (1.74): libphonenumber-dev pulls it in, and no other version can be
  # installed beside it.
  libboost-dev zlib1g-dev
  # the remote party's country from its number
  libphonenumber-dev
  libyaml-cpp-dev libspdlog-dev libgtest-dev libgmock-dev libbenchmark-dev
  prometheus
  # dpkg-shlibdeps for scripts/package.sh; systemd-analyze for the deployment tests
  dpkg-dev systemd
  # scripts/soak.sh (run by scripts/test.sh) and the benchmark drivers
  python3
  # the monitoring mixin (deploy/mixin/): jsonnet, and PyYAML for its generator
  jsonnet python3-yaml
  # the package: its manual page (help2man), lintian, and the install test's Debian root
  help2man lintian debootstrap
  # the bash completion test: the helpers of bash-completion
  bash-completion
  # scripts/format.sh (run by scripts/test.sh): the formatter the tree is checked against
  clang-format
  # scripts/container-test.sh (run by scripts/test.sh): the image built and run for real
  podman runc
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
