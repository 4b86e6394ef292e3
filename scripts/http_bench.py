#!/usr/bin/env python3
"""HTTP client side of scripts/bench-http.sh (python3 standard library only).

Subcommands (each prints one line of key=value pairs on stdout, progress on stderr):

  series URL...                  series (non-comment lines) and bytes of each plain exposition
  wait --target N URL...         scrape the URLs until each shows at least N series and no
                                 count has changed for --stable seconds (or --timeout passes)
  latency URL                    --scrapes GETs over one kept-alive connection after --warmup
                                 ones; p50/p99 of the time from sending the request to the
                                 last byte of the body (--gzip: with Accept-Encoding: gzip)
  hostile HOST PORT              idle, slow-header and non-reading clients held open while
                                 --scrapers concurrent scrapers each GET the telemetry path
                                 once (--ca FILE: over TLS, verified with that CA)

Every socket operation has a timeout and every subcommand a deadline, so it never hangs.
"""
import argparse
import gzip
import os
import resource
import select
import socket
import ssl
import sys
import threading
import time
import urllib.parse


def log(*parts):
    print(*parts, file=sys.stderr, flush=True)


class HttpError(Exception):
    pass


class Conn:
    """A minimal HTTP/1.1 client connection (Content-Length and chunked bodies)."""

    def __init__(self, host, port, timeout, ssl_context=None, deadline=None):
        self.deadline = deadline
        self.sock = socket.create_connection((host, port), timeout=self._left(timeout))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if ssl_context is not None:
            self.sock.settimeout(self._left(timeout))
            self.sock = ssl_context.wrap_socket(self.sock, server_hostname=host)
        self.timeout = timeout
        self.host = host
        self.port = port
        self.buf = bytearray()

    def _left(self, timeout):
        if self.deadline is None:
            return timeout
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("deadline passed")
        return min(timeout, left)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def _recv(self):
        self.sock.settimeout(self._left(self.timeout))
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise HttpError("connection closed by the server")
        self.buf += chunk

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[: i + 2]
                return line
            if len(self.buf) > 65536:
                raise HttpError("line too long")
            self._recv()

    def _exact(self, n):
        out = bytearray(n)
        view = memoryview(out)
        have = min(n, len(self.buf))
        view[:have] = self.buf[:have]
        del self.buf[:have]
        while have < n:
            self.sock.settimeout(self._left(self.timeout))
            got = self.sock.recv_into(view[have:], n - have)
            if got == 0:
                raise HttpError("connection closed in the body")
            have += got
        return out

    def get(self, path, headers=()):
        lines = ["GET %s HTTP/1.1" % path, "Host: %s:%d" % (self.host, self.port),
                 "User-Agent: http_bench"]
        lines += ["%s: %s" % kv for kv in headers]
        self.sock.settimeout(self._left(self.timeout))
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        status_line = self._line()
        parts = status_line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
            raise HttpError("bad status line %r" % status_line[:80])
        status = int(parts[1])
        head = {}
        while True:
            line = self._line()
            if not line:
                break
            name, _, value = line.partition(b":")
            head[name.strip().lower().decode()] = value.strip().decode("latin-1")
        if "content-length" in head:
            body = self._exact(int(head["content-length"]))
        elif "chunked" in head.get("transfer-encoding", "").lower():
            body = bytearray()
            while True:
                size = int(self._line().split(b";")[0], 16)
                if size == 0:
                    while self._line():
                        pass
                    break
                body += self._exact(size)
                self._exact(2)
        else:  # until close
            while True:
                try:
                    self._recv()
                except HttpError:
                    break
            body, self.buf = self.buf, bytearray()
            head["connection"] = "close"
        return status, head, body


def split_url(url):
    u = urllib.parse.urlsplit(url)
    return u.hostname, u.port or 80, (u.path or "/") + ("?" + u.query if u.query else "")


def count_series(body):
    n = 0
    for line in body.split(b"\n"):
        if line and not line.startswith(b"#"):
            n += 1
    return n


def fetch_series(url, timeout=30):
    host, port, path = split_url(url)
    conn = Conn(host, port, timeout)
    try:
        status, _, body = conn.get(path)
    finally:
        conn.close()
    if status != 200:
        raise HttpError("status %d" % status)
    return count_series(body), len(body)


def cmd_series(args):
    out = []
    for i, url in enumerate(args.urls):
        try:
            series, size = fetch_series(url)
        except (OSError, HttpError) as e:
            log("series: %s: %s" % (url, e))
            series, size = -1, -1
        out.append("series%d=%d bytes%d=%d" % (i, series, i, size))
    print(" ".join(out))


def cmd_wait(args):
    start = time.monotonic()
    last = [None] * len(args.urls)
    changed = start
    next_report = start
    while True:
        counts = []
        for url in args.urls:
            try:
                counts.append(fetch_series(url)[0])
            except (OSError, HttpError) as e:
                log("wait: %s: %s" % (url, e))
                counts.append(-1)
        now = time.monotonic()
        if counts != last:
            changed = now
            last = counts
        reached = all(c >= args.target for c in counts)
        stable = now - changed >= args.stable
        # A count that stopped growing long below the target will not get there.
        stuck = now - changed >= 3 * args.stable and min(counts) > 0
        if now >= next_report:
            log("  %5.0f s  series %s (target %d)" % (now - start, " ".join(map(str, counts)),
                                                     args.target))
            next_report = now + args.report
        if (reached and stable) or stuck or now - start >= args.timeout:
            why = "stable" if reached and stable else ("stuck" if stuck else "timeout")
            print("counts=%s seconds=%.0f end=%s" % (",".join(map(str, counts)), now - start, why))
            return
        time.sleep(args.interval)


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, int(round(p / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def cmd_latency(args):
    host, port, path = split_url(args.url)
    headers = [("Accept-Encoding", "gzip")] if args.gzip else []
    deadline = time.monotonic() + max(1.0, args.deadline - 2)
    conn = Conn(host, port, args.timeout, deadline=deadline)
    times = []
    stamps = []
    reconnects = 0
    status = size = 0
    encoding = "identity"
    body = b""
    try:
        for i in range(args.warmup + args.scrapes):
            t0 = time.perf_counter()
            status, head, body = conn.get(path, headers)
            t1 = time.perf_counter()
            if status != 200:
                raise HttpError("status %d" % status)
            if i >= args.warmup:
                times.append((t1 - t0) * 1000.0)
                stamps.append((time.time(), (t1 - t0) * 1000.0))
            size = len(body)
            encoding = head.get("content-encoding", "identity")
            if head.get("connection", "").lower() == "close":
                reconnects += 1
                conn.close()
                conn = Conn(host, port, args.timeout, deadline=deadline)
            if args.pause:
                time.sleep(args.pause)
    except (OSError, HttpError) as e:
        log("latency: %s after %d scrapes: %s" % (args.url, len(times), e))
    finally:
        conn.close()
    plain = gzip.decompress(body) if encoding == "gzip" else body
    if args.dump:
        with open(args.dump, "w") as f:
            f.writelines("%.6f %.3f\n" % st for st in stamps)
    times.sort()
    print("scrapes=%d bytes=%d served=%s series=%d p50_ms=%.1f p99_ms=%.1f max_ms=%.1f "
          "reconnects=%d" % (len(times), size, encoding, count_series(plain) if body else -1,
                             percentile(times, 50), percentile(times, 99),
                             times[-1] if times else float("nan"), reconnects))


# --- the hostile mix ---------------------------------------------------------------------------

def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError) as e:
            log("hostile: cannot raise the open-file limit: %s" % e)
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rss_mb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def closed_by_peer(sock):
    """True when the server closed (or reset) a connection we never read from."""
    try:
        poller = select.poll()  # not select(): descriptors here go far above 1024
        poller.register(sock.fileno(), select.POLLIN | select.POLLRDHUP)
        events = poller.poll(0)
        if not events:
            return False
        if events[0][1] & (select.POLLHUP | select.POLLERR):
            return True
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except (OSError, ValueError):
        return True


class Hostile:
    def __init__(self, args):
        self.args = args
        self.host, self.port = args.host, args.port
        self.ctx = None
        if args.ca:
            self.ctx = ssl.create_default_context(cafile=args.ca)
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.idle = []
        self.idle_failed = 0
        self.slow_cut = 0
        self.slow_failed = 0
        self.nonread = []
        self.nonread_requests = 0
        self.nonread_failed = 0

    def connect_plain(self, timeout):
        return socket.create_connection((self.host, self.port), timeout=timeout)

    def connect_tls(self, timeout, rcvbuf=None):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.settimeout(timeout)
        s.connect((self.host, self.port))
        if self.ctx is not None:
            s = self.ctx.wrap_socket(s, server_hostname=self.host)
        return s

    def open_idle(self):
        end = time.monotonic() + self.args.connect_budget
        for _ in range(self.args.idle):
            if time.monotonic() >= end:
                self.idle_failed += 1
                continue
            try:
                self.idle.append(self.connect_plain(min(1.0, max(0.05, end - time.monotonic()))))
            except OSError:
                self.idle_failed += 1

    def slow_loop(self):
        # Each client: "GET /metrics HTTP/1.1\r\nHo", then one byte every interval. A client cut
        # by the server (as it should be at its head deadline) reconnects and starts over.
        head = ("GET %s HTTP/1.1\r\nHo" % self.args.path).encode()
        filler = b"st: x\r\nX-Slow: "
        socks = [None] * self.args.slow
        sent = [0] * self.args.slow
        born = [0.0] * self.args.slow

        def start(i):
            try:
                s = self.connect_tls(3.0)
                s.settimeout(1.0)
                s.sendall(head)
                socks[i], sent[i] = s, 0
                born[i] = time.monotonic()
            except (OSError, ssl.SSLError):
                socks[i] = None
                with self.lock:
                    self.slow_failed += 1

        for i in range(self.args.slow):
            if self.stop.is_set():
                break
            start(i)
        while not self.stop.wait(self.args.slow_interval):
            for i in range(self.args.slow):
                if self.stop.is_set():
                    break
                s = socks[i]
                if s is None:
                    start(i)
                    continue
                byte = filler[sent[i]:sent[i] + 1] or b"a"
                try:
                    if self.ctx is None and closed_by_peer(s):
                        raise OSError("closed")
                    s.send(byte)
                    sent[i] += 1
                except (OSError, ssl.SSLError, ValueError) as e:
                    if os.environ.get("HTTP_BENCH_DEBUG"):
                        log("slow client %d cut after %d bytes, %.1f s: %r"
                            % (i, sent[i], time.monotonic() - born[i], e))
                    with self.lock:
                        self.slow_cut += 1
                    try:
                        s.close()
                    except OSError:
                        pass
                    start(i)
        for s in socks:
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass

    def open_nonread(self):
        self.request = ("GET %s HTTP/1.1\r\nHost: %s:%d\r\n\r\n"
                        % (self.args.path, self.host, self.port)).encode()
        for _ in range(self.args.nonread):
            try:
                s = self.connect_tls(3.0, rcvbuf=self.args.rcvbuf)
                s.setblocking(False)
                self.nonread.append([s, b""])
            except (OSError, ssl.SSLError):
                self.nonread_failed += 1

    def push_nonread(self, budget_s):
        """Non-blocking sends of pipelined requests (32 at a time) until every socket buffer is
        full. What a partial send left over goes first, so the stream stays well-formed."""
        end = time.monotonic() + budget_s
        batch = self.request * 32
        for entry in self.nonread:
            s = entry[0]
            while time.monotonic() < end:
                data = entry[1] or batch
                try:
                    n = s.send(data)
                except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
                    entry[1] = data  # TLS: a retried write must carry the same bytes
                    break
                except (OSError, ssl.SSLError):
                    break
                if n <= 0:
                    break
                self.nonread_requests += data[:n].count(b"\r\n\r\n")
                entry[1] = data[n:]

    def nonread_loop(self):
        while not self.stop.wait(1.0):
            self.push_nonread(0.5)

    def scrape(self, barrier, results, i):
        try:
            barrier.wait(timeout=30)
        except threading.BrokenBarrierError:
            pass
        t0 = time.monotonic()
        deadline = t0 + self.args.timeout
        conn = None
        try:
            conn = Conn(self.host, self.port, self.args.timeout, self.ctx, deadline=deadline)
            headers = [("Accept-Encoding", "gzip")] if self.args.gzip else []
            status, _, _ = conn.get(self.args.path, headers)
            results[i] = (status, (time.monotonic() - t0) * 1000.0)
        except (OSError, ssl.SSLError, HttpError) as e:
            kind = "timeout" if isinstance(e, (socket.timeout, TimeoutError)) else "error"
            results[i] = (kind, (time.monotonic() - t0) * 1000.0)
        finally:
            if conn is not None:
                conn.close()

    def run(self):
        a = self.args
        limit = raise_nofile()
        need = a.idle + a.slow + a.nonread + a.scrapers + 64
        if limit < need:
            log("hostile: open-file limit %d is below the %d sockets needed" % (limit, need))
        rss_before = rss_mb(a.pid)
        t = time.monotonic()
        self.open_idle()
        idle_seconds = time.monotonic() - t
        time.sleep(0.5)
        rss_idle_only = rss_mb(a.pid)  # before the slow and non-reading clients
        threads = [threading.Thread(target=self.slow_loop, daemon=True)]
        threads[0].start()
        self.open_nonread()
        self.push_nonread(3.0)
        threads.append(threading.Thread(target=self.nonread_loop, daemon=True))
        threads[1].start()
        time.sleep(a.settle)
        idle_open = sum(1 for s in self.idle if not closed_by_peer(s))
        rss_idle = rss_mb(a.pid)
        results = [None] * a.scrapers
        barrier = threading.Barrier(a.scrapers)
        scrapers = [threading.Thread(target=self.scrape, args=(barrier, results, i), daemon=True)
                    for i in range(a.scrapers)]
        for th in scrapers:
            th.start()
        end = time.monotonic() + a.timeout + 35
        for th in scrapers:
            th.join(max(0.0, end - time.monotonic()))
        rss_after = rss_mb(a.pid)
        idle_open_after = sum(1 for s in self.idle if not closed_by_peer(s))
        self.stop.set()
        for th in threads:
            th.join(3.0)
        for s in self.idle + [entry[0] for entry in self.nonread]:
            try:
                s.close()
            except OSError:
                pass
        ok = [ms for r in results if r and r[0] == 200 for ms in [r[1]]]
        other = sum(1 for r in results if r and isinstance(r[0], int) and r[0] != 200)
        timeouts = sum(1 for r in results if r is None or r[0] == "timeout")
        errors = sum(1 for r in results if r and r[0] == "error")
        statuses = sorted({r[0] for r in results if r and isinstance(r[0], int) and r[0] != 200})
        worst = max((r[1] for r in results if r), default=float("nan"))
        if any(r is None for r in results):  # a scraper thread still stuck past its deadline
            worst = max(worst, a.timeout * 1000.0) if worst == worst else a.timeout * 1000.0
        print("answered=%d within_1s=%d other_status=%d%s timeouts=%d errors=%d worst_ms=%.0f "
              "p50_ok_ms=%.0f rss_mb_before=%.1f rss_mb_idle_only=%.1f rss_mb_with_idle=%.1f "
              "rss_mb_after=%.1f "
              "idle_open=%d idle_open_after=%d idle_failed=%d idle_connect_s=%.1f "
              "slow_cut=%d slow_failed=%d nonread_open=%d nonread_requests=%d"
              % (len(ok), sum(1 for ms in ok if ms <= 1000.0), other,
                 ("(%s)" % ",".join(map(str, statuses))) if statuses else "", timeouts, errors,
                 worst, percentile(sorted(ok), 50), rss_before, rss_idle_only, rss_idle, rss_after,
                 idle_open, idle_open_after, self.idle_failed, idle_seconds, self.slow_cut,
                 self.slow_failed, len(self.nonread), self.nonread_requests))
        sys.stdout.flush()


def cmd_hostile(args):
    Hostile(args).run()


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--deadline", type=float, default=600,
                   help="exit (status 3) if the subcommand is still running after this long")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("series")
    s.add_argument("urls", nargs="+")
    s.set_defaults(func=cmd_series)
    w = sub.add_parser("wait")
    w.add_argument("urls", nargs="+")
    w.add_argument("--target", type=int, required=True)
    w.add_argument("--stable", type=float, default=10)
    w.add_argument("--timeout", type=float, default=600)
    w.add_argument("--interval", type=float, default=2)
    w.add_argument("--report", type=float, default=10)
    w.set_defaults(func=cmd_wait)
    l = sub.add_parser("latency")
    l.add_argument("url")
    l.add_argument("--scrapes", type=int, default=200)
    l.add_argument("--warmup", type=int, default=5)
    l.add_argument("--gzip", action="store_true")
    l.add_argument("--timeout", type=float, default=30, help="per socket operation")
    l.add_argument("--pause", type=float, default=0, help="seconds between scrapes")
    l.add_argument("--dump", help="write 'unix_time latency_ms' of each timed scrape here")
    l.set_defaults(func=cmd_latency)
    h = sub.add_parser("hostile")
    h.add_argument("host")
    h.add_argument("port", type=int)
    h.add_argument("--pid", type=int, required=True, help="the server's pid (for VmRSS)")
    h.add_argument("--ca", help="TLS: the CA file that signed the server certificate")
    h.add_argument("--path", default="/metrics")
    h.add_argument("--idle", type=int, default=1000)
    h.add_argument("--slow", type=int, default=64)
    h.add_argument("--slow-interval", type=float, default=2.0)
    h.add_argument("--nonread", type=int, default=8)
    h.add_argument("--rcvbuf", type=int, default=4096)
    h.add_argument("--scrapers", type=int, default=200)
    h.add_argument("--gzip", action="store_true",
                   help="scrapers send Accept-Encoding: gzip, as Prometheus does")
    h.add_argument("--timeout", type=float, default=5.0, help="per scraper, in all")
    h.add_argument("--settle", type=float, default=2.0,
                   help="seconds the hostile clients are held before the scrapers start")
    h.add_argument("--connect-budget", type=float, default=15.0,
                   help="seconds allowed for opening the idle connections")
    h.set_defaults(func=cmd_hostile)
    args = p.parse_args()
    watchdog = threading.Timer(args.deadline, lambda: (log("http_bench: deadline of %.0f s passed"
                                                           % args.deadline), os._exit(3)))
    watchdog.daemon = True
    watchdog.start()
    args.func(args)
    sys.stdout.flush()
    os._exit(0)  # do not wait for helper threads stuck on a socket


if __name__ == "__main__":
    main()
