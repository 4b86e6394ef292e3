#!/usr/bin/env bash
# The container image for real: builds deploy/docker/Dockerfile with podman on a Debian 12 base
# image imported from a debootstrap root file system (scripts/debian-root.sh; no registry is
# needed), runs it in --demo mode with a read-only root file system and no capabilities, and
# checks that /metrics serves counted calls, that the process runs as the image's non-root
# user, that the root file system refuses writes and that the image's HEALTHCHECK passes
# (built in the Docker image format: the OCI format has no HEALTHCHECK).
#
#   scripts/container-test.sh            needs root, podman and debootstrap (install-deps.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

base=docker.io/library/debian:bookworm-slim
image=localhost/bird_call_exporter:container-test
name="bird_container_test_$$"
fail() { echo "container-test: FAIL: $*" >&2; exit 1; }
step() { echo "container-test: $*"; }

command -v podman >/dev/null || fail "podman not found (run scripts/install-deps.sh)"
# Explicit limits: root containers otherwise get podman's default nofile and nproc, which a
# virtual machine may not allow to be set (crun: setrlimit ... Operation not permitted).
limits=(--ulimit nofile=8192:8192 --ulimit nproc=4096:4096)

build_log="$(mktemp /tmp/bird_container_build_XXXXXX.log)"
imported=0
cleanup() {
  podman "${runtime[@]}" rm -f "$name" >/dev/null 2>&1 || true
  rm -f "$build_log"
  podman rmi -f "$image" >/dev/null 2>&1 || true
  # The imported base must not stand in for the real image in later builds on this host.
  if [ "$imported" = 1 ]; then podman rmi -f "$base" >/dev/null 2>&1 || true; fi
  podman image prune -f >/dev/null 2>&1 || true
}
runtime=()
trap cleanup EXIT

if ! podman image exists "$base"; then
  root="$(scripts/debian-root.sh)"
  step "importing $root as $base (removed again at the end)"
  tar -C "$root" --exclude=./.complete -c . | podman import - "$base" >/dev/null
  imported=1
fi

# The health check is run once by hand below (podman schedules it with systemd timers, which a
# host without systemd as init does not have).
# crun refuses hybrid cgroup hierarchies ("cgroups in hybrid mode not supported"); runc runs
# containers there.
if ! podman run --rm "${limits[@]}" "$base" true >/dev/null 2>&1; then
  command -v runc >/dev/null || fail "podman cannot run a container with crun and runc is not installed"
  runtime=(--runtime "$(command -v runc)")
  podman "${runtime[@]}" run --rm "${limits[@]}" "$base" true >/dev/null ||
    fail "podman cannot run a container with crun or runc"
  step "using runc (crun cannot run containers on this host)"
fi

step "building $image from deploy/docker/Dockerfile"
started=$(date +%s)
nice podman "${runtime[@]}" build --format docker --pull=never "${limits[@]}" -f deploy/docker/Dockerfile \
  -t "$image" . >"$build_log" 2>&1 || { tail -n 30 "$build_log" >&2; fail "podman build failed"; }
step "built in $(( $(date +%s) - started )) s, $(podman image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}')"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
podman "${runtime[@]}" run -d --name "$name" "${limits[@]}" --read-only --cap-drop=ALL \
  --security-opt no-new-privileges --health-interval=disable -p "127.0.0.1:$port:9842" \
  "$image" --demo >/dev/null ||
  fail "podman run failed"

metrics=""
for _ in $(seq 1 120); do
  metrics="$(curl -fsS "http://127.0.0.1:$port/metrics" 2>/dev/null || true)"
  if grep -q '^bird_calls_total{' <<<"$metrics"; then break; fi
  sleep 0.5
done
grep -q '^bird_calls_total{' <<<"$metrics" ||
  { podman logs "$name" 2>&1 | tail -n 20 >&2; fail "no bird_calls_total on /metrics within 60 s"; }
calls=$(awk '/^bird_calls_total\{/ {s += $2} END {print s + 0}' <<<"$metrics")
[ "$calls" -gt 0 ] || fail "no call counted in --demo mode"
step "/metrics in --demo mode: $(grep -c '^bird_' <<<"$metrics") bird_ samples, $calls calls counted"

uid="$(podman "${runtime[@]}" exec "$name" sh -c 'awk "/^Uid:/ {print \$2}" /proc/1/status')"
[ "$uid" = 65532 ] || fail "the exporter runs as uid $uid, not 65532"
[ "$(podman inspect -f '{{.HostConfig.ReadonlyRootfs}}' "$name")" = true ] || fail "root file system not read-only"
# As root in the container (which owns /usr/bin), so that only the read-only mount can refuse.
if podman "${runtime[@]}" exec --user 0 "$name" sh -c 'touch /usr/bin/written' 2>/dev/null; then
  fail "the root file system accepted a write"
fi
step "runs as uid 65532 with a read-only root file system: OK"

health="$(podman "${runtime[@]}" healthcheck run "$name" 2>&1 && echo healthy || echo "unhealthy")"
[[ "$health" == *healthy* && "$health" != *unhealthy* ]] || fail "HEALTHCHECK: $health"
step "HEALTHCHECK: healthy"
echo "container-test: passed"
