#!/usr/bin/env bash
# Installs the Debian package into a fresh Debian 12 root (scripts/debian-root.sh) with apt, as an
# operator would, and checks what installation, removal and purge leave behind:
#   install: the binary runs (--version), the packaged configuration passes --config.check with
#            a key credential, the system user and its 0700 state directory exist, the manual
#            page and the bash completion are there;
#   remove:  the binary is gone, the configuration and the state are kept;
#   install again: the unit the removal masked is unmasked, the state is still there;
#   purge:   the configuration, the key and the state are gone, the user is kept.
#
#   scripts/package-install-test.sh PATH.deb
set -euo pipefail
cd "$(dirname "$0")/.."
deb="$(realpath "$1")"
pristine="$(scripts/debian-root.sh)"
root="$(mktemp -d /tmp/bird_install_root_XXXXXX)"
trap 'rm -rf "$root" "$root.apt.log"' EXIT
cp -a "$pristine/." "$root/"
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp "$deb" "$root/tmp/bird-call-exporter.deb"

in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"; }
fail() { echo "install-test: FAIL: $*" >&2; exit 1; }
step() { echo "install-test: $*"; }

step "apt-get install ./$(basename "$deb")"
in_root apt-get update -qq >/dev/null
in_root apt-get install -y -qq --no-install-recommends /tmp/bird-call-exporter.deb >"$root.apt.log" 2>&1 ||
  { tail -n 30 "$root.apt.log" >&2; fail "apt-get install failed"; }
rm -f "$root.apt.log"

version="$(in_root bird_call_exporter --version)" || fail "--version failed"
step "$version"
[[ "$version" == "bird_call_exporter version "* ]] || fail "unexpected --version: $version"

mkdir -p "$root/run/credentials"
printf 'install-test-key\n' >"$root/run/credentials/bird_access_key"
check="$(in_root CREDENTIALS_DIRECTORY=/run/credentials bird_call_exporter \
  --config.file=/etc/bird_call_exporter/bird_call_exporter.yml --config.check 2>&1)" ||
  { echo "$check" >&2; fail "--config.check of the packaged configuration failed"; }
grep -q "configuration OK" <<<"$check" || { echo "$check" >&2; fail "--config.check did not say OK"; }
step "--config.check of the packaged configuration: OK"

in_root getent passwd bird_exporter >/dev/null || fail "no user bird_exporter"
owner="$(in_root stat -c '%U:%G %a' /var/lib/bird_call_exporter)" || fail "no state directory"
[ "$owner" = "bird_exporter:bird_exporter 700" ] || fail "state directory is $owner"
[ -f "$root/usr/share/man/man1/bird_call_exporter.1.gz" ] || fail "no manual page"
in_root man -w bird_call_exporter >/dev/null 2>&1 || zcat "$root/usr/share/man/man1/bird_call_exporter.1.gz" | grep -q '^\.TH' ||
  fail "the manual page is not a man page"
[ -f "$root/usr/share/bash-completion/completions/bird_call_exporter" ] || fail "no bash completion"
[ -f "$root/usr/share/doc/bird-call-exporter/copyright" ] || fail "no copyright file"
step "user bird_exporter, state directory $owner, manual page, completion, copyright: OK"

# A state file and a key, as a running exporter and its operator would leave them.
touch "$root/var/lib/bird_call_exporter/state.json" "$root/etc/bird_call_exporter/access_key"

step "apt-get remove"
in_root apt-get remove -y -qq bird-call-exporter >/dev/null 2>&1 || fail "apt-get remove failed"
[ ! -e "$root/usr/bin/bird_call_exporter" ] || fail "the binary is still there after remove"
[ -f "$root/etc/bird_call_exporter/bird_call_exporter.yml" ] || fail "remove deleted the configuration"
[ -f "$root/var/lib/bird_call_exporter/state.json" ] || fail "remove deleted the state"
status="$(in_root dpkg-query -W -f='${db:Status-Abbrev}' bird-call-exporter)"
[ "${status// /}" = "rc" ] || fail "status after remove is '$status', expected rc"
[ "$(readlink "$root/etc/systemd/system/bird_call_exporter.service" || true)" = /dev/null ] ||
  fail "remove did not mask the unit"
step "binary gone, unit masked, configuration and state kept (status rc): OK"

step "apt-get install again after remove"
in_root apt-get install -y -qq --no-install-recommends /tmp/bird-call-exporter.deb >/dev/null 2>&1 ||
  fail "the second apt-get install failed"
[ ! -L "$root/etc/systemd/system/bird_call_exporter.service" ] ||
  fail "the unit is still masked after installing again"
[ -f "$root/var/lib/bird_call_exporter/state.json" ] || fail "installing again lost the state"
step "unit unmasked, state still there: OK"

step "apt-get purge"
in_root apt-get purge -y -qq bird-call-exporter >/dev/null 2>&1 || fail "apt-get purge failed"
[ ! -e "$root/etc/bird_call_exporter" ] || fail "/etc/bird_call_exporter is still there after purge"
[ ! -e "$root/var/lib/bird_call_exporter" ] || fail "/var/lib/bird_call_exporter is still there after purge"
if in_root dpkg-query -W bird-call-exporter >/dev/null 2>&1; then
  status="$(in_root dpkg-query -W -f='${db:Status-Abbrev}' bird-call-exporter)"
  [ "${status// /}" = "un" ] || fail "dpkg still knows the package after purge ($status)"
fi
in_root getent passwd bird_exporter >/dev/null || fail "purge removed the system user"
step "configuration, key and state gone, user kept: OK"
echo "install-test: passed"
