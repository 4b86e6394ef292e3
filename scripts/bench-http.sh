#!/usr/bin/env bash
# Measures the HTTP server of two exporter builds in one run, on this machine: the previous
# (civetweb) build and the current (Boost.Beast) build, and prints a small table of each.
#
#   small, large  scrape latency of GET /metrics over one kept-alive connection (like
#                 Prometheus), plain and with Accept-Encoding: gzip, at about 12k and 100k series:
#                 p50/p99/max of the time from sending the request to the last byte of the body,
#                 and the size of the answer. Both exporters poll the same Bird API simulator
#                 (history of a few minutes, insights for every call) until both expose at least
#                 the target number of series and the counts stop growing; the exporter not being
#                 measured is stopped (SIGSTOP) while the other one is scraped.
#   hostile       while 1,000 idle TCP connections, 64 slow-header clients and 8 pipelining
#                 non-readers are held open, 200 concurrent scrapers (own connection each, 5 s
#                 timeout) GET /metrics once: how many got 200, how many within 1 s, the worst
#                 latency, and the exporter's VmRSS with the idle connections open. New build over
#                 plain HTTP and over TLS (throwaway CA made with openssl), old build over plain
#                 HTTP. Exporters run in --demo mode.
# "Series" are the non-comment lines of the plain exposition. The client is
# scripts/http_bench.py (python3 standard library only). Every step has a timeout; every process
# started is stopped on exit. Run it alone on the machine: it measures latency.
#
# Usage: scripts/bench-http.sh [RUN...]   runs: small large hostile (default: all three)
# Environment (defaults in brackets):
#   OLD_EXPORTER [/tmp/old-build/bird_call_exporter]  NEW_EXPORTER [build/bird_call_exporter]
#   SIMULATOR [build/bird_api_simulator]   (the new exporter and the simulator are copied into the
#                                           work dir first, so a relink meanwhile does not matter)
#   HTTP_BENCH_SCRAPES [200]       timed scrapes per latency case
#   HTTP_BENCH_WARMUP [5]          untimed scrapes before them
#   HTTP_BENCH_SMALL [3x3]         workspaces x channels of the small run (~1,300 series a channel)
#   HTTP_BENCH_SMALL_TARGET [11500]  (3x3 reaches about 11,750)
#   HTTP_BENCH_LARGE [16x5]        workspaces x channels of the large run (about 106k series)
#   HTTP_BENCH_LARGE_TARGET [100000]
#   HTTP_BENCH_HISTORY [300]       seconds of calls the simulator already has at start
#   HTTP_BENCH_GENERATE_FOR [10]   seconds new calls keep starting after that
#   HTTP_BENCH_CALLS_PER_SECOND [1]  per channel (300 s x 1/s: ~300 calls a channel)
#   HTTP_BENCH_POLL_INTERVAL [5s]  exporters' poll.interval
#   HTTP_BENCH_CONCURRENCY [8]     exporters' bird.max_concurrent_requests
#   HTTP_BENCH_WARM_TIMEOUT [600]  longest wait, in seconds, for the series (then it measures
#                                  what it reached and says so)
#   HTTP_BENCH_STABLE [10]         seconds without change in the counts that end the wait once
#                                  the target is reached (three times as long when below it)
#   HTTP_BENCH_IDLE [1000] HTTP_BENCH_SLOW [64] HTTP_BENCH_NONREAD [8] HTTP_BENCH_SCRAPERS [200]
#   HTTP_BENCH_SCRAPE_TIMEOUT [5]  seconds, per hostile-mix scraper, in all
#   HTTP_BENCH_SETTLE [2]          seconds the hostile clients are held before the scrapers start
#                                  (keep it well under the new server's 10 s head deadline, or
#                                  the idle connections are gone when VmRSS is read)
#   NEW_EXTRA_ARGS, OLD_EXTRA_ARGS extra flags for the exporters (e.g. --web.max-requests=0)
#   HTTP_BENCH_KEEP                a directory to copy the work dir into (logs, configs, and
#                                  "unix_time latency_ms" of every timed scrape, *.latencies)
# A default run takes about 5 minutes on 2 cores (small ~1.5, large ~3, hostile ~1), most of it
# the large run's warm-up (~2 minutes) and the old build's 100k scrapes.
set -euo pipefail
cd "$(dirname "$0")/.."

old_exporter="${OLD_EXPORTER:-/tmp/old-build/bird_call_exporter}"
new_exporter_src="${NEW_EXPORTER:-build/bird_call_exporter}"
simulator_src="${SIMULATOR:-build/bird_api_simulator}"
scrapes="${HTTP_BENCH_SCRAPES:-200}"
warmup="${HTTP_BENCH_WARMUP:-5}"
small="${HTTP_BENCH_SMALL:-3x3}"
small_target="${HTTP_BENCH_SMALL_TARGET:-11500}"
large="${HTTP_BENCH_LARGE:-16x5}"
large_target="${HTTP_BENCH_LARGE_TARGET:-100000}"
history="${HTTP_BENCH_HISTORY:-300}"
generate_for="${HTTP_BENCH_GENERATE_FOR:-10}"
calls_per_second="${HTTP_BENCH_CALLS_PER_SECOND:-1}"
poll_interval="${HTTP_BENCH_POLL_INTERVAL:-5s}"
concurrency="${HTTP_BENCH_CONCURRENCY:-8}"
warm_timeout="${HTTP_BENCH_WARM_TIMEOUT:-600}"
stable="${HTTP_BENCH_STABLE:-10}"
idle="${HTTP_BENCH_IDLE:-1000}"
slow="${HTTP_BENCH_SLOW:-64}"
nonread="${HTTP_BENCH_NONREAD:-8}"
scrapers="${HTTP_BENCH_SCRAPERS:-200}"
scrape_timeout="${HTTP_BENCH_SCRAPE_TIMEOUT:-5}"
settle="${HTTP_BENCH_SETTLE:-2}"
read -r -a new_extra <<<"${NEW_EXTRA_ARGS:-}"
read -r -a old_extra <<<"${OLD_EXTRA_ARGS:-}"
client=(/usr/bin/python3 scripts/http_bench.py)

work="$(mktemp -d /tmp/bird_bench_http_XXXXXX)"
pids=()
# Stops one process started here: SIGCONT (it may be stopped), SIGTERM, SIGKILL after 5 s; then
# forgets its pid, so that cleanup never signals a reused one.
stop_pid() {
  local pid="$1" p rest=()
  for p in "${pids[@]}"; do [[ $p == "$pid" ]] || rest+=("$p"); done
  pids=(${rest[@]+"${rest[@]}"})
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -CONT "$pid" 2>/dev/null || true
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local pid
  for pid in ${pids[@]+"${pids[@]}"}; do stop_pid "$pid"; done
  if [[ -n "${HTTP_BENCH_KEEP:-}" ]]; then
    rm -f "$work/bird_call_exporter.new" "$work/bird_api_simulator"
    mkdir -p "$HTTP_BENCH_KEEP" && cp -r "$work"/. "$HTTP_BENCH_KEEP"/ || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "$*" >&2; }

# A binary that is there and runs; the build tree may be relinking it right now.
wait_binary() {
  local path="$1"
  for _ in $(seq 1 300); do
    if [[ -x "$path" ]] && timeout 10 "$path" --help >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  say "$path is missing or does not run"
  return 1
}
# Copies a binary into the work dir once it has stopped changing and runs.
take_binary() {
  local src="$1" dst="$2"
  for _ in $(seq 1 60); do
    wait_binary "$src"
    local before after
    before="$(stat -c %s.%Y "$src" 2>/dev/null || true)"
    sleep 1
    after="$(stat -c %s.%Y "$src" 2>/dev/null || true)"
    if [[ -n "$before" && "$before" == "$after" ]] && cp "$src" "$dst" 2>/dev/null &&
      timeout 10 "$dst" --help >/dev/null 2>&1; then
      return 0
    fi
  done
  say "cannot take a stable copy of $src"
  return 1
}

# The port a process printed on its "listening ... port=N" log line.
wait_port() {
  local log="$1" pid="$2"
  for _ in $(seq 1 400); do
    local port
    port="$(grep 'listening' "$log" 2>/dev/null | grep -o 'port=[0-9]*' | head -1 | cut -d= -f2 || true)"
    if [[ -n "$port" ]]; then echo "$port"; return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.05
  done
  say "no port in $log"
  cat "$log" >&2
  return 1
}

# Runs the client with a time limit, in the background and waited for, so that a signal to this
# script is handled at once (bash runs traps only between foreground commands); prints its
# stdout, or FALLBACK when it failed or timed out.
client_run() {
  local limit="$1" fallback="$2"
  shift 2
  local out="$work/client.out"
  timeout "$limit" "${client[@]}" --deadline $((limit - 10)) "$@" >"$out" &
  local cpid=$!
  pids+=("$cpid")
  local rc=0
  wait "$cpid" || rc=$?
  stop_pid "$cpid"
  if ((rc == 0)) && [[ -s "$out" ]]; then cat "$out"; else echo "$fallback"; fi
}

# key=value out of a line of http_bench.py output.
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p" | head -1; }

wait_binary "$old_exporter"
take_binary "$new_exporter_src" "$work/bird_call_exporter.new"
take_binary "$simulator_src" "$work/bird_api_simulator"
new_exporter="$work/bird_call_exporter.new"
simulator="$work/bird_api_simulator"
old_version="$("$old_exporter" --version 2>&1 | head -1 || true)"
new_version="$("$new_exporter" --version 2>&1 | head -1 || true)"

latency_rows=()
warm_rows=()
hostile_rows=()

# latency_run NAME WORKSPACESxCHANNELS TARGET
latency_run() {
  local name="$1" layout="$2" target="$3"
  local ws="${layout%x*}" ch="${layout#*x}"
  local sim_log="$work/$name.sim.log"
  say "== $name: $ws workspaces x $ch channels, target $target series"
  "$simulator" --web.listen-address=127.0.0.1:0 --seed=7 --workspaces="$ws" \
    --channels-per-workspace="$ch" --calls-per-second="$calls_per_second" \
    --history="$history" --generate-for="$generate_for" --max-gets-per-second=1000 \
    2>"$sim_log" &
  local sim_pid=$!
  pids+=("$sim_pid")
  local sim_port
  sim_port="$(wait_port "$sim_log" "$sim_pid")"
  {
    echo "bird:"
    echo "  base_url: http://127.0.0.1:$sim_port"
    echo "  access_key: demo-access-key"
    echo "  max_requests_per_second: 50"
    echo "  max_concurrent_requests: $concurrency"
    echo "poll:"
    echo "  interval: $poll_interval"
    echo "  initial_lookback: $((history + 120))s"
    echo "workspaces:"
    grep -o 'workspace=[^ ]* channel=[^ ]*' "$sim_log" | awk '{
      w = substr($1, 11); c = substr($2, 9)
      if (w != last) { printf "  - id: %s\n    name: ws%d\n    channels:\n", w, n++; last = w }
      printf "      - id: %s\n", c
    }'
  } >"$work/$name.yml"
  local b
  declare -A pid port
  for b in old new; do
    local bin="$old_exporter" extra=("${old_extra[@]}")
    if [[ $b == new ]]; then bin="$new_exporter"; extra=("${new_extra[@]}"); fi
    "$bin" --config.file="$work/$name.yml" --web.listen-address=127.0.0.1:0 \
      ${extra[@]+"${extra[@]}"} 2>"$work/$name.$b.log" &
    pid[$b]=$!
    pids+=("${pid[$b]}")
  done
  for b in old new; do port[$b]="$(wait_port "$work/$name.$b.log" "${pid[$b]}")"; done
  local started=$SECONDS
  local waited
  client_run $((warm_timeout + 120)) "counts=-1,-1 seconds=$((SECONDS - started)) end=failed" \
    wait --target "$target" --stable "$stable" --timeout "$warm_timeout" \
    "http://127.0.0.1:${port[old]}/metrics" "http://127.0.0.1:${port[new]}/metrics" >"$work/wait.out"
  waited="$(cat "$work/wait.out")"
  local counts
  counts="$(field "$waited" counts)"
  warm_rows+=("$(printf '%-6s %-6s %6s  old=%s new=%s after %s s (%s)' "$name" "$layout" "$target" \
    "${counts%,*}" "${counts#*,}" "$(field "$waited" seconds)" "$(field "$waited" end)")")
  say "   reached old=${counts%,*} new=${counts#*,} series in $(field "$waited" seconds) s ($(field "$waited" end))"
  local other enc
  for b in old new; do
    other=new
    [[ $b == new ]] && other=old
    kill -STOP "${pid[$other]}" 2>/dev/null || true
    for enc in plain gzip; do
      local flags=()
      [[ $enc == gzip ]] && flags=(--gzip)
      local out
      client_run 900 "scrapes=0" latency "http://127.0.0.1:${port[$b]}/metrics" \
        --scrapes "$scrapes" --warmup "$warmup" --dump "$work/$name.$b.$enc.latencies" \
        ${flags[@]+"${flags[@]}"} >"$work/latency.out"
      out="$(cat "$work/latency.out")"
      say "   $b $enc: $out"
      latency_rows+=("$(printf '%-5s %-6s %-7s %-9s %-8s %-9s %7s %7s %7s %7s' "$b" "$name" \
        "$(field "$out" series)" "$enc" "$(field "$out" served)" "$(field "$out" bytes)" \
        "$(field "$out" p50_ms)" "$(field "$out" p99_ms)" "$(field "$out" max_ms)" \
        "$(field "$out" scrapes)")")
    done
    kill -CONT "${pid[$other]}" 2>/dev/null || true
  done
  for b in old new; do stop_pid "${pid[$b]}"; done
  stop_pid "$sim_pid"
}

make_tls() {
  local d="$work/tls"
  mkdir -p "$d"
  (
    cd "$d"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
      -keyout ca.key -out ca.crt -subj /CN=bench-http-ca \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout server.key -out server.csr -subj /CN=127.0.0.1
    printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n' >ext.cnf
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
      -extfile ext.cnf -out server.crt
    printf 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n' >web.yml
  ) >"$work/tls.log" 2>&1 || { cat "$work/tls.log" >&2; return 1; }
}

# hostile_run BUILD TRANSPORT [gzip]
hostile_run() {
  local b="$1" transport="$2"
  local bin="$old_exporter" extra=("${old_extra[@]}") tls_args=() ca_args=()
  if [[ $b == new ]]; then bin="$new_exporter"; extra=("${new_extra[@]}"); fi
  if [[ $transport == tls ]]; then
    tls_args=(--web.config.file="$work/tls/web.yml")
    ca_args=(--ca "$work/tls/ca.crt")
  fi
  local log="$work/hostile.$b.$transport${3:+.gzip}.log"
  say "== hostile: $b over $transport"
  "$bin" --demo --web.listen-address=127.0.0.1:0 ${tls_args[@]+"${tls_args[@]}"} \
    ${extra[@]+"${extra[@]}"} 2>"$log" &
  local pid=$!
  pids+=("$pid")
  local port
  port="$(wait_port "$log" "$pid")"
  sleep 3 # a first poll of the demo simulator, a first snapshot
  local out
  client_run 150 "answered=failed" hostile 127.0.0.1 "$port" --pid "$pid" \
    ${ca_args[@]+"${ca_args[@]}"} --idle "$idle" --slow "$slow" --nonread "$nonread" \
    --scrapers "$scrapers" --timeout "$scrape_timeout" --settle "$settle" \
    ${3:+--gzip} >"$work/hostile.out"
  out="$(cat "$work/hostile.out")"
  say "   $out"
  local alive=yes
  kill -0 "$pid" 2>/dev/null || alive="no (exited)"
  hostile_rows+=("$(printf '%-5s %-14s %8s %9s %8s %16s   %-8s %8s %6s %9s %8s %13s %16s' "$b" \
    "$transport${3:++gzip}" "$(field "$out" answered)" "$(field "$out" within_1s)" \
    "$(field "$out" worst_ms)" "$(field "$out" rss_mb_with_idle)" "$(field "$out" other_status)" \
    "$(field "$out" timeouts)" "$(field "$out" errors)" "$(field "$out" idle_open)" \
    "$(field "$out" slow_cut)" "$(field "$out" rss_mb_before)" "$(field "$out" rss_mb_idle_only)")")
  [[ $alive == yes ]] || hostile_rows+=("      ($b $transport: the exporter had exited, see its log)")
  stop_pid "$pid"
}

runs=("$@")
if ((${#runs[@]} == 0)); then runs=(small large hostile); fi
t0=$SECONDS
for r in "${runs[@]}"; do
  case "$r" in
    small) latency_run small "$small" "$small_target" ;;
    large) latency_run large "$large" "$large_target" ;;
    hostile)
      make_tls
      hostile_run new plain
      hostile_run new plain gzip
      hostile_run new tls
      hostile_run new tls gzip
      hostile_run old plain
      hostile_run old plain gzip
      ;;
    *) echo "unknown run $r (runs: small large hostile)" >&2; exit 2 ;;
  esac
done

echo "bench-http $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $((SECONDS - t0)) s"
echo "old: $old_exporter ($old_version)"
echo "new: $new_exporter_src ($new_version)"
if ((${#warm_rows[@]})); then
  echo
  echo "warm-up (series reached by old and new, simulator: history ${history}s, ${calls_per_second} calls/s a channel)"
  echo "run    layout target  reached"
  printf '%s\n' "${warm_rows[@]}"
fi
if ((${#latency_rows[@]})); then
  echo
  echo "scrape latency (keep-alive, $scrapes scrapes after $warmup warm-up; the other exporter stopped)"
  echo "build run    series  encoding  served   bytes      p50_ms  p99_ms  max_ms scrapes"
  printf '%s\n' "${latency_rows[@]}"
fi
if ((${#hostile_rows[@]})); then
  echo
  echo "hostile mix ($idle idle, $slow slow-header, $nonread non-reading, $scrapers concurrent scrapers, ${scrape_timeout} s timeout; --demo)"
  echo "build transport      answered within_1s worst_ms rss_mb_with_idle   other    timeouts errors idle_open slow_cut rss_mb_before rss_mb_idle_only"
  printf '%s\n' "${hostile_rows[@]}"
fi
