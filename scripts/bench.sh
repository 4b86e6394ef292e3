#!/usr/bin/env bash
# Runs the real bird_call_exporter against the Bird API simulator and prints, per run: calls
# counted, API requests per counted call, CPU per 1,000 calls, peak resident memory and poll
# duration. Run it alone on the machine (it measures CPU time).
#
# Usage: scripts/bench.sh [RUN...]     runs: all-long-1s all-1s all-long-30s none poor-long-1s
#                                      state (default: all of them, one after the other)
# Environment: BUILD_DIR (default build), BENCH_SECONDS (how long new calls start in a 1 s-interval
# run, default 150; 30 s-interval runs last three times as long).
#
# "steady" figures are taken between the middle and the end of the time calls start (warm-up,
# when calls have started but few have ended, and the tail after the last start are left out);
# "run" figures cover the whole run, tail included.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir="${BUILD_DIR:-build}"
seconds="${BENCH_SECONDS:-150}"
exporter="$build_dir/bird_call_exporter"
simulator="$build_dir/bird_api_simulator"
if [[ ! -x "$exporter" || ! -x "$simulator" ]]; then
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build_dir" -j"$(nproc)" --target bird_call_exporter bird_api_simulator
fi

work="$(mktemp -d /tmp/bird_bench_XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The port a process printed on its "listening ... port=N" log line.
wait_port() {
  local log="$1"
  for _ in $(seq 1 200); do
    local port
    port="$(grep 'listening' "$log" 2>/dev/null | grep -o 'port=[0-9]*' | head -1 | cut -d= -f2 || true)"
    if [[ -n "$port" ]]; then echo "$port"; return 0; fi
    sleep 0.05
  done
  echo "no port in $log" >&2
  cat "$log" >&2
  return 1
}

# Sum of every sample of a metric family on a scrape.
metric() {
  awk -v name="$2" '$1 == name || index($1, name "{") == 1 { s += $2 } END { printf "%.6f", s }' "$1"
}

# run NAME MODE INTERVAL CHANNELS CALLS_PER_SECOND_PER_CHANNEL LONG_SHARE BUDGET DURATION
run() {
  local name="$1" mode="$2" interval="$3" channels="$4" rate="$5" long_share="$6" budget="$7"
  local duration="$8"
  local sim_log="$work/$name.sim.log" exp_log="$work/$name.exporter.log"
  "$simulator" --web.listen-address=127.0.0.1:0 --scenario=contact-centre --seed=7 \
    --workspaces=1 --channels-per-workspace="$channels" --calls-per-second="$rate" \
    --long-call-share="$long_share" --history=0 --generate-for="$duration" \
    2>"$sim_log" &
  local sim_pid=$!
  pids+=("$sim_pid")
  local sim_port
  sim_port="$(wait_port "$sim_log")"
  {
    echo "bird:"
    echo "  base_url: http://127.0.0.1:$sim_port"
    echo "  access_key: demo-access-key"
    echo "  max_requests_per_second: $budget"
    echo "  page_size: 1000"
    echo "poll:"
    echo "  interval: $interval"
    echo "  initial_lookback: 1m"
    echo "  insights: $mode"
    echo "workspaces:"
    echo "  - id: $(grep -o 'workspace=[^ ]*' "$sim_log" | head -1 | cut -d= -f2)"
    echo "    name: bench"
    echo "    channels:"
    grep -o 'channel=[^ ]*' "$sim_log" | cut -d= -f2 | sed 's/^/      - id: /'
  } >"$work/$name.yml"
  "$exporter" --config.file="$work/$name.yml" --web.listen-address=127.0.0.1:0 \
    --log.level="${BENCH_LOG_LEVEL:-info}" 2>"$exp_log" &
  local exp_pid=$!
  pids+=("$exp_pid")
  local exp_port
  exp_port="$(wait_port "$exp_log")"
  local started=$SECONDS
  # Calls keep ending after the last one started; give the tail two intervals and half a minute.
  local interval_s="${interval%s}"
  local drain=$((30 + 2 * interval_s))
  # Scraped only at the middle and at the end of the starts (and once after the drain): a
  # scrape costs CPU of its own, which a once-a-second scrape would add to every figure. The
  # peak resident memory is the kernel's (VmHWM), read once at the end.
  local half_taken=0 end_taken=0
  while ((SECONDS - started < duration + drain)); do
    sleep 1
    if ((!half_taken && SECONDS - started >= duration / 2)); then
      curl -s "http://127.0.0.1:$exp_port/metrics" >"$work/$name.half.prom"
      curl -s "http://127.0.0.1:$sim_port/_sim/truth" >"$work/$name.half.truth.json"
      half_taken=1
    fi
    if ((!end_taken && SECONDS - started >= duration)); then
      curl -s "http://127.0.0.1:$exp_port/metrics" >"$work/$name.end.prom"
      curl -s "http://127.0.0.1:$sim_port/_sim/truth" >"$work/$name.end.truth.json"
      end_taken=1
    fi
  done
  local peak_rss
  peak_rss="$(awk '/^VmHWM:/ { print $2 * 1024 }' "/proc/$exp_pid/status")"
  curl -s "http://127.0.0.1:$exp_port/metrics" >"$work/$name.prom"
  curl -s "http://127.0.0.1:$sim_port/_sim/truth" >"$work/$name.truth.json"
  if [[ -n "${BENCH_KEEP:-}" ]]; then cp "$work/$name.prom" "$BENCH_KEEP.prom"; cp "$exp_log" "$BENCH_KEEP.log"; fi
  local calls requests cpu poll pending followed
  local d_calls d_requests d_cpu d_ended
  # Calls the simulator had ended by then, served or not: what a sustained exporter keeps up with.
  d_ended="$(/usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[2]))["ended"] - json.load(open(sys.argv[1]))["ended"])' \
    "$work/$name.half.truth.json" "$work/$name.end.truth.json")"
  d_calls="$(awk -v a="$(metric "$work/$name.half.prom" bird_calls_total)" \
    -v b="$(metric "$work/$name.end.prom" bird_calls_total)" 'BEGIN { print b - a }')"
  d_requests="$(awk -v a="$(metric "$work/$name.half.prom" bird_exporter_api_requests_total)" \
    -v b="$(metric "$work/$name.end.prom" bird_exporter_api_requests_total)" 'BEGIN { print b - a }')"
  d_cpu="$(awk -v a="$(metric "$work/$name.half.prom" process_cpu_seconds_total)" \
    -v b="$(metric "$work/$name.end.prom" process_cpu_seconds_total)" 'BEGIN { print b - a }')"
  calls="$(metric "$work/$name.prom" bird_calls_total)"
  requests="$(metric "$work/$name.prom" bird_exporter_api_requests_total)"
  cpu="$(metric "$work/$name.prom" process_cpu_seconds_total)"
  poll="$(metric "$work/$name.prom" bird_exporter_poll_duration_seconds)"
  pending="$(metric "$work/$name.prom" bird_exporter_insights_pending)"
  followed="$(metric "$work/$name.prom" bird_exporter_calls_followed)"
  local truth_calls generated sim_requests max_second
  read -r truth_calls generated sim_requests max_second < <(/usr/bin/python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))
reqs = t.get("requests", {})
total = sum(w.get("total", 0) for w in reqs.values())
parts = {k: sum(w.get(k, 0) for w in reqs.values()) for k in ("list_calls", "get_call", "call_insights", "rate_limited")}
print(" ".join("%s=%d" % kv for kv in parts.items()), file=open(sys.argv[2], "w"))
peak = max([w.get("max_in_any_second", 0) for w in reqs.values()] or [0])
print(t["calls"], t["generated"], total, peak)' "$work/$name.truth.json" "$work/$name.parts")
  kill "$exp_pid" "$sim_pid" 2>/dev/null || true
  wait "$exp_pid" "$sim_pid" 2>/dev/null || true
  awk -v name="$name" -v mode="$mode" -v interval="$interval" -v calls="$calls" \
    -v generated="$generated" -v truth="$truth_calls" -v requests="$requests" \
    -v sim_requests="$sim_requests" -v cpu="$cpu" -v rss="$peak_rss" -v poll="$poll" \
    -v pending="$pending" -v followed="$followed" -v duration="$duration" -v peak="$max_second" \
    -v budget="$budget" -v d_calls="$d_calls" -v d_requests="$d_requests" -v d_cpu="$d_cpu" \
    -v half="$((duration / 2))" -v d_ended="$d_ended" 'BEGIN {
      printf "%s: insights=%s interval=%s\n", name, mode, interval
      printf "  steady  calls_per_s=%.1f (simulator ended %.1f/s) requests_per_call=%.3f cpu_ms_per_1000_calls=%.0f\n",
        d_calls / half, d_ended / half, d_requests / (d_calls > 0 ? d_calls : 1),
        1000000 * d_cpu / (d_calls > 0 ? d_calls : 1)
      printf "  run     calls=%d of %d started (%d served ended) requests=%d requests_per_call=%.3f ",
        calls, generated, truth, requests, requests / (calls > 0 ? calls : 1)
      printf "cpu_ms_per_1000_calls=%.0f\n", 1000000 * cpu / (calls > 0 ? calls : 1)
      printf "  simulator saw %d requests, at most %d in a second (budget %d/s); peak rss_mb=%.1f ",
        sim_requests, peak, budget, rss / 1048576
      printf "last poll_seconds=%.3f followed=%d pending=%d\n", poll, followed, pending
    }'
  echo "  requests by endpoint: $(cat "$work/$name.parts")"
}

# A state of 1M remembered calls: the import of a 1M-id JSON state file once, then a restart on
# the SQLite database, with little new traffic at poll.interval 1s. Prints the import time, the
# time from start until /metrics answers, and the resident memory and CPU of a minute of polling.
state_run() {
  local ids="${BENCH_STATE_IDS:-1000000}" watch="${BENCH_STATE_SECONDS:-60}"
  local sim_log="$work/state.sim.log"
  "$simulator" --web.listen-address=127.0.0.1:0 --scenario=contact-centre --seed=7 \
    --workspaces=1 --channels-per-workspace=2 --calls-per-second=0.5 --long-call-share=0 \
    --history=0 --generate-for=$((3 * watch + 60)) 2>"$sim_log" &
  pids+=("$!")
  local sim_port
  sim_port="$(wait_port "$sim_log")"
  /usr/bin/python3 - "$work/state.json" "$ids" <<'PY'
import json, random, sys, time
path, n = sys.argv[1], int(sys.argv[2])
now = int(time.time() * 1000)
rnd = random.Random(7)
with open(path, "w") as out:
    out.write('{"version":1,"channels":[],"counted":{')
    out.write(",".join('"%08x-%04x-4%03x-8%03x-%012x":%d' % (
        i, rnd.getrandbits(16), rnd.getrandbits(12), rnd.getrandbits(12), rnd.getrandbits(48),
        now - rnd.randrange(5 * 3600 * 1000)) for i in range(n)))
    out.write("}}")
PY
  {
    echo "bird:"
    echo "  base_url: http://127.0.0.1:$sim_port"
    echo "  access_key: demo-access-key"
    echo "poll:"
    echo "  interval: 1s"
    echo "  initial_lookback: 1m"
    echo "state_file: $work/state.json"
    echo "workspaces:"
    echo "  - id: $(grep -o 'workspace=[^ ]*' "$sim_log" | head -1 | cut -d= -f2)"
    echo "    name: bench"
    echo "    channels:"
    grep -o 'channel=[^ ]*' "$sim_log" | cut -d= -f2 | sed 's/^/      - id: /'
  } >"$work/state.yml"
  echo "state: ${ids} remembered calls, JSON file $(du -m "$work/state.json" | cut -f1) MB"
  local run
  for run in import restart; do
    local log="$work/state.$run.log" t0 t1
    t0=$(date +%s.%N)
    "$exporter" --config.file="$work/state.yml" --web.listen-address=127.0.0.1:0 2>"$log" &
    local pid=$!
    pids+=("$pid")
    local port
    port="$(wait_port "$log")"
    until curl -sf "http://127.0.0.1:$port/metrics" >/dev/null; do sleep 0.01; done
    t1=$(date +%s.%N)
    local migrated
    migrated="$(grep -o 'migrated from JSON.*seconds=[0-9.]*' "$log" | grep -o 'seconds=[0-9.]*' || true)"
    printf '  %-8s until /metrics answers: %.2f s %s\n' "$run" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
      "${migrated:+(import $migrated)}"
    if [[ "$run" == restart ]]; then
      sleep 5
      local cpu0 cpu1
      cpu0="$(metric <(curl -s "http://127.0.0.1:$port/metrics") process_cpu_seconds_total)"
      sleep "$watch"
      curl -s "http://127.0.0.1:$port/metrics" >"$work/state.prom"
      cpu1="$(metric "$work/state.prom" process_cpu_seconds_total)"
      awk -v c0="$cpu0" -v c1="$cpu1" -v w="$watch" \
        -v rss="$(metric "$work/state.prom" process_resident_memory_bytes)" \
        -v calls="$(metric "$work/state.prom" bird_exporter_state_calls)" \
        -v commit="$(metric "$work/state.prom" bird_exporter_state_commit_duration_seconds)" \
        'BEGIN { printf "  polling %ds at 1s: cpu=%.1f%% of a core rss_mb=%.1f state_calls=%d last_commit_ms=%.1f\n", w, 100 * (c1 - c0) / w, rss / 1048576, calls, 1000 * commit }'
    fi
    kill "$pid"
    wait "$pid" 2>/dev/null || true
  done
  echo "  database $(du -m "$work/state.json" | cut -f1) MB; JSON kept as $(basename "$work")/state.json.migrated"
}

runs=("$@")
if ((${#runs[@]} == 0)); then runs=(all-long-1s all-1s all-long-30s poor-long-1s none state); fi
for r in "${runs[@]}"; do
  case "$r" in
    # A busy contact centre: 2 channels x 20 calls/s, 5% of answered calls last 10-60 minutes.
    all-long-1s) run "$r" all 1s 2 20 0.05 50 "$seconds" ;;
    all-1s) run "$r" all 1s 2 20 0 50 "$seconds" ;;
    all-long-30s) run "$r" all 30s 2 20 0.05 50 $((seconds * 3)) ;;
    poor-long-1s) run "$r" poor 1s 2 20 0.05 20 "$seconds" ;;
    # High volume from the call list alone: 20 channels x 100 calls/s in one workspace.
    none) run "$r" none 5s 20 100 0 20 "$seconds" ;;
    state) state_run ;;
    *) echo "unknown run $r (see --help in the script)" >&2; exit 2 ;;
  esac
done
