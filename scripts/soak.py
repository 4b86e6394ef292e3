#!/usr/bin/env python3
"""Soak run of the exporter against the simulator's api-trouble scenario (scripts/soak.sh).

For MINUTES the simulator generates calls with 429s, 5xx HTML pages, slow and malformed
answers. Meanwhile the exporter (with a SQLite state file) is scraped every second, reloaded
(SIGHUP) every minute and restarted every few minutes, alternating SIGTERM and SIGKILL. Then
generation stops, and the run checks:

- exactly once: the calls the exporter counted (its "call counted" records, summed over every
  process) equal the calls the simulator finished, by status too, and the calls in its state;
- every scrape of a running exporter answered 200, every reload succeeded, every SIGTERM
  ended with status 0;
- no growth: over the last half of the run, the resident memory does not rise above what the
  first half reached (with a little slack for the allocator), and neither does the floor of
  its open files; at its quietest a process holds no more sockets than its listener, one
  kept-alive connection per request slot and a scrape (IDLE_SOCKETS, whatever number of
  connections libcurl's cache happened to keep: a leak of a socket per request or per poll
  passes it within seconds, though a leak of a few sockets in a process's life would not), and
  no more than SOCKET_CEILING sockets are open at once;
- no error records in the log (the faults of the scenario explain warnings only).
"""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

BUILD = os.environ.get("BUILD_DIR", "build")
EXPORTER = os.path.join(BUILD, "bird_call_exporter")
SIMULATOR = os.path.join(BUILD, "bird_api_simulator")
KEY = "soak-access-key-7f3a9c"
# Listeners, the poller's 8 requests in flight with libcurl's connection cache, and the scrapes.
SOCKET_CEILING = 32
# The listener, one kept-alive connection per request slot (bird.max_concurrent_requests, 8:
# each pooled libcurl handle keeps at most one) and the scrape being answered.
IDLE_SOCKETS = 1 + 8 + 1


def log(message):
    print(f"soak: {message}", flush=True)


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read().decode()


def samples(text):
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        out[name] = float(value)
    return out


def total(metrics, prefix, *matchers):
    return sum(v for k, v in metrics.items()
               if (k == prefix or k.startswith(prefix + "{")) and all(m in k for m in matchers))


def proc_status(pid):
    rss = None
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) / 1024
        # Sockets come and go with the requests in flight and the scrapes; every other
        # descriptor (log, state, listener's files, pipes) stays put in a process that leaks none.
        files = sockets = 0
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:"):
                sockets += 1
            else:
                files += 1
    except OSError:
        return None
    return rss, files, sockets


class Exporter:
    """One exporter process; its log is kept in a file of the run directory."""

    def __init__(self, config, directory, number):
        self.log_path = os.path.join(directory, f"exporter-{number}.log")
        self.log_file = open(self.log_path, "w")
        env = dict(os.environ, BIRD_ACCESS_KEY=KEY)
        self.process = subprocess.Popen(
            [EXPORTER, f"--config.file={config}", "--web.listen-address=127.0.0.1:0",
             "--log.level=debug"],
            stdout=self.log_file, stderr=subprocess.STDOUT, env=env)
        self.port = None
        deadline = time.time() + 30
        while self.port is None and time.time() < deadline:
            with open(self.log_path) as f:
                match = re.search(r'msg="listening".* port=(\d+)', f.read())
            if match:
                self.port = int(match.group(1))
            elif self.process.poll() is not None:
                raise RuntimeError(f"exporter exited at start, see {self.log_path}")
            else:
                time.sleep(0.05)
        if self.port is None:
            raise RuntimeError(f"exporter did not listen, see {self.log_path}")

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self, sig):
        self.process.send_signal(sig)
        code = self.process.wait(timeout=30)
        self.log_file.close()
        return code

    def text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()


def main():
    minutes = float(sys.argv[1]) if len(sys.argv) > 1 else 30
    run_seconds = minutes * 60
    # Restarts every few minutes (at least four in a run), a reload every minute.
    restart_every = max(20.0, min(180.0, run_seconds / 8))
    reload_every = min(60.0, run_seconds / 3)
    # Long calls (3-8 minutes) only when the run is long enough for them to end within it;
    # calls stop starting early enough that the last ones end (and are counted) in the run.
    long_calls = run_seconds >= 15 * 60
    generate_for = int(run_seconds - (9 * 60 if long_calls else 20))
    directory = tempfile.mkdtemp(prefix="bird_soak_")
    log(f"{minutes:g} min in {directory}: restart every {restart_every:.0f} s, "
        f"reload every {reload_every:.0f} s")

    sim_log = open(os.path.join(directory, "simulator.log"), "w")
    simulator = subprocess.Popen(
        [SIMULATOR, "--web.listen-address=127.0.0.1:0", "--scenario=api-trouble",
         "--workspaces=1", "--channels-per-workspace=2", "--history=60",
         f"--generate-for={generate_for}", "--calls-per-second=0.5",
         f"--long-call-share={0.03 if long_calls else 0}",
         f"--access-key={KEY}", "--seed=7"],
        stdout=sim_log, stderr=subprocess.STDOUT)
    channels, sim_port = [], None
    deadline = time.time() + 10
    while sim_port is None and time.time() < deadline:
        with open(sim_log.name) as f:
            text = f.read()
        channels = re.findall(r"workspace=(\S+) channel=(\S+)", text)
        match = re.search(r"listening port=(\d+)", text)
        sim_port = int(match.group(1)) if match else None
        time.sleep(0.05)
    if sim_port is None:
        log("simulator did not start")
        return 1
    sim = f"http://127.0.0.1:{sim_port}"

    state_file = os.path.join(directory, "state.db")
    config = os.path.join(directory, "config.yml")
    with open(config, "w") as f:
        f.write(f"bird:\n  base_url: {sim}\n  access_key: ${{BIRD_ACCESS_KEY}}\n"
                "  request_timeout: 2s\n  max_retries: 3\n  max_concurrent_requests: 8\n"
                "poll:\n  interval: 1s\n  insights_grace_period: 2m\n  max_call_age: 2h\n"
                f"state_file: {state_file}\nworkspaces:\n  - id: {channels[0][0]}\n"
                "    channels:\n")
        for i, (_, channel) in enumerate(channels):
            f.write(f"      - id: {channel}\n        name: ch{i}\n")

    failures = []
    processes = []
    usage = []  # (seconds since start, rss MB, non-socket fds, sockets, process number)
    scrapes = scrape_errors = reloads = 0
    started = time.time()
    exporter = Exporter(config, directory, 1)
    processes.append(exporter)
    born = time.time()
    last_restart = last_reload = time.time()
    use_kill = False

    while time.time() - started < run_seconds:
        time.sleep(max(0.0, 1.0 - (time.time() - started) % 1.0))
        now = time.time()
        try:
            status, body = http_get(exporter.url("/metrics"))
            scrapes += 1
            if status != 200:
                scrape_errors += 1
            elif now - last_reload < 5 and reloads > 0:
                if total(samples(body), "bird_exporter_config_last_reload_successful") != 1:
                    failures.append(f"reload {reloads} did not succeed")
        except OSError as e:
            scrape_errors += 1
            log(f"scrape failed: {e}")
        # Usage once the process has settled, away from its start.
        if now - born > 15:
            status_now = proc_status(exporter.process.pid)
            if status_now:
                usage.append((now - started, *status_now, len(processes)))
        if now - last_reload >= reload_every:
            exporter.process.send_signal(signal.SIGHUP)
            reloads += 1
            last_reload = now
        if now - last_restart >= restart_every and run_seconds - (now - started) > 20:
            sig = signal.SIGKILL if use_kill else signal.SIGTERM
            code = exporter.stop(sig)
            if sig == signal.SIGTERM and code != 0:
                failures.append(f"SIGTERM ended process {len(processes)} with status {code}")
            log(f"restart {len(processes)} by {signal.Signals(sig).name} after "
                f"{now - born:.0f} s (status {code})")
            use_kill = not use_kill
            exporter = Exporter(config, directory, len(processes) + 1)
            processes.append(exporter)
            born = last_restart = time.time()

    # Generation is over. The exporter has caught up when it has counted exactly the calls the
    # simulator has finished (ended, insights published), twice in a row 5 s apart; calls still
    # going on (the tail of the talk times) are in neither count yet.
    def counted_records():
        return sum(p.text().count('msg="call counted"') for p in processes)

    truth = {}
    caught_up = False
    deadline = time.time() + 180
    while time.time() < deadline and not caught_up:
        truth = json.loads(http_get(f"{sim}/_sim/truth")[1])
        if counted_records() == truth["calls"]:
            time.sleep(5)
            truth = json.loads(http_get(f"{sim}/_sim/truth")[1])
            caught_up = counted_records() == truth["calls"]
        else:
            time.sleep(1)
    metrics = samples(http_get(exporter.url("/metrics"))[1])
    code = exporter.stop(signal.SIGTERM)
    if code != 0:
        failures.append(f"the final SIGTERM ended with status {code}")
    simulator.terminate()
    simulator.wait(timeout=10)

    counted = counted_records()
    inspect = subprocess.run([EXPORTER, f"--config.file={config}", "--state.inspect"],
                             capture_output=True, text=True, env=dict(os.environ, BIRD_ACCESS_KEY=KEY))
    match = re.search(r"^counted_calls (\d+)$", inspect.stdout, re.M)
    in_state = int(match.group(1)) if match else -1
    log(f"truth {truth.get('calls')} calls (quiet {truth.get('quiet')}), counted records "
        f"{counted}, in state {in_state}, by status {truth.get('by_status')}")
    if not caught_up or counted != truth.get("calls"):
        failures.append(f"counted {counted} calls, the simulator finished {truth.get('calls')}")
    if in_state != counted:
        failures.append(f"the state holds {in_state} calls, {counted} were counted")
    for status_name, expected in truth.get("by_status", {}).items():
        pattern = rf'msg="call counted" .* status={re.escape(status_name)} insights='
        got = sum(len(re.findall(pattern, p.text())) for p in processes)
        if got != expected:
            failures.append(f"status {status_name}: counted {got}, served {expected}")

    requests = truth.get("requests", {})
    log(f"{scrapes} scrapes ({scrape_errors} failed), {reloads} reloads, "
        f"{len(processes) - 1} restarts, requests {json.dumps(requests)}")
    if scrape_errors:
        failures.append(f"{scrape_errors} scrapes of a running exporter failed")
    faults = sum(v for k, v in metrics.items()
                 if k.startswith("bird_exporter_api_requests_total{") and 'code="200"' not in k)
    log(f"api answers other than 200 in the last process: {faults:.0f}")

    half = run_seconds / 2
    first = [u for u in usage if u[0] < half]
    second = [u for u in usage if u[0] >= half]
    if first and second:
        rss1, rss2 = max(u[1] for u in first), max(u[1] for u in second)
        files1, files2 = min(u[2] for u in first), min(u[2] for u in second)
        # How many connections libcurl keeps alive depends on how many requests a process had in
        # flight at once, so the floor of sockets is held to a bound, not to the first half.
        low1, low2 = min(u[3] for u in first), min(u[3] for u in second)
        peak1, peak2 = max(u[3] for u in first), max(u[3] for u in second)
        log(f"peak RSS {rss1:.1f} MB in the first half, {rss2:.1f} MB in the second; other "
            f"files at least {files1} then {files2}; sockets {low1}-{peak1} then {low2}-{peak2}")
        if rss2 > rss1 * 1.10 + 2:
            failures.append(f"RSS grew: {rss1:.1f} MB then {rss2:.1f} MB")
        if files2 > files1 + 1:
            failures.append(f"open files grew: at least {files1} then at least {files2}")
        for number in sorted({u[4] for u in usage}):
            quietest = min(u[3] for u in usage if u[4] == number)
            if quietest > IDLE_SOCKETS:
                failures.append(f"process {number} held at least {quietest} sockets (listener, "
                                f"request slots and a scrape: {IDLE_SOCKETS})")
        if max(peak1, peak2) > SOCKET_CEILING:
            failures.append(f"{max(peak1, peak2)} sockets open at once (ceiling {SOCKET_CEILING})")
    else:
        failures.append("too short to compare the two halves")

    errors = [line for p in processes for line in p.text().splitlines() if " level=error " in line]
    for line in errors[:10]:
        log(f"error record: {line}")
    if errors:
        failures.append(f"{len(errors)} error records in the log")
    if KEY in "".join(p.text() for p in processes):
        failures.append("the access key appears in a log")

    for failure in failures:
        log(f"FAIL: {failure}")
    log("passed" if not failures else f"failed, logs in {directory}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
