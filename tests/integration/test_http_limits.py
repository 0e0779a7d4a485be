#!/usr/bin/env python3
"""test_http_limits.py - the sensor's /metrics and the console's listener
against slow, idle and malformed clients (issue 20, M5, M6, L10).

/metrics (an idle sensor with metrics on a free loopback port):
1. 20 slow clients from 127.0.0.5 (one byte every 2 s, a slowloris) while
   a scraper on 127.0.0.1 asks every second: every scrape is answered, the
   slow clients are let go (408 or closed) within the test's 30 s bound,
   and the refusals are counted on /metrics.
2. One address may hold 8 connections: the 9th idle one is refused (429).
3. Framing: two Content-Length headers, Content-Length with
   Transfer-Encoding, and a body on /metrics are refused (400, 411, 413);
   the near miss, one Content-Length: 0, is answered 200.
The console (linkwatch-console on its own redis-server, loopback):
4. The same 20 slow clients while an analyst on 127.0.0.1 lists alerts
   every second (Basic auth): every list is answered, the slow clients
   are let go within 30 s (the console's 10 s deadline), and counted on
   its /metrics.
5. One address may hold 32 connections: the 33rd is refused (429) while
   another address is answered.
6. The same framing checks on /api/alerts.
Bounded: at most 64 connections at once, 30 s of slow clients per part.
"""

import base64
import os
import time

import lwconsole
import lwredis
import lwtest
from lwhttp import SlowClients, get, raw, status_of
from lwredis import free_port
from lwsensor import idle_sensor, stop_idle

SLOW_SECONDS = 30


def slow_scrape(tap, port, what, path, headers=(), ok_status=(200,), seconds=SLOW_SECONDS):
    """20 slow clients from 127.0.0.5 while 127.0.0.1 asks path every second."""
    slow = SlowClients(port, 20)
    answered, asked, worst = 0, 0, 0.0
    end = time.time() + seconds
    next_ask = time.time() + 2          # after the slow ones have taken their places
    while time.time() < end and asked < seconds:
        slow.step()
        if time.time() >= next_ask:
            st, dt, _ = get(port, path, headers=headers, timeout=10)
            asked += 1
            answered += st in ok_status
            worst = max(worst, dt)
            next_ask = time.time() + 1
        if slow.alive() == 0 and asked >= 5:
            break
        time.sleep(0.05)
    let_go = slow.closed
    slow.close()
    print("# %s: %d of %d asked answered, slowest %.2f s; %d of 20 slow clients let go, %d refused at connect"
          % (what, answered, asked, worst, let_go, slow.refused))
    tap.ok(asked >= 5 and answered == asked,
           "%s: every request from another address answered while 20 slow clients hold connections" % what,
           "%d of %d" % (answered, asked))
    tap.ok(let_go + slow.refused == 20, "%s: the 20 slow clients were let go within %d s" % (what, seconds),
           "%d let go, %d refused" % (let_go, slow.refused))


def framing(tap, port, what, path):
    dup = raw(port, ("GET %s HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n"
                     % path).encode())
    tap.ok(status_of(dup) == 400, "%s: two Content-Length headers refused (400)" % what, dup[:80])
    both = raw(port, ("POST %s HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "0\r\n\r\n" % path).encode())
    tap.ok(status_of(both) == 400, "%s: Content-Length with Transfer-Encoding refused (400)" % what, both[:80])
    te = raw(port, ("POST %s HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" % path).encode())
    tap.ok(status_of(te) in (400, 411), "%s: Transfer-Encoding alone refused (411)" % what, te[:80])
    one = raw(port, ("GET %s HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n" % path).encode())
    return one


def per_address(tap, port, what, limit, path="/metrics", headers=()):
    socks = SlowClients(port, limit, src="127.0.0.7", every=1000)
    time.sleep(0.3)
    extra = raw(port, b"GET / HTTP/1.1\r\n", src="127.0.0.7", timeout=5)
    other = get(port, path, headers=headers, src="127.0.0.8", timeout=10)[0]
    socks.close()
    tap.ok(status_of(extra) == 429, "%s: the %dth connection from one address is refused (429)" % (what, limit + 1),
           extra[:80])
    tap.ok(other != 0, "%s: another address is still answered (%d)" % (what, other))


def metrics_part(tap, binary, src, tmp):
    port = free_port()
    s = idle_sensor(binary, src, tmp, "metrics", None,
                    ["--set", "metrics.enabled=yes", "--set", "metrics.listen=127.0.0.1:%d" % port])
    if not tap.ok(s.wait_socket(), "metrics: sensor up"):
        stop_idle(s)
        return
    st, _, body = get(port, "/metrics")
    tap.ok(st == 200 and b"linkwatch_" in body, "metrics: a scrape answers", st)
    slow_scrape(tap, port, "metrics", "/metrics")
    st, _, body = get(port, "/metrics")
    refused = [l for l in body.decode("utf-8", "replace").splitlines()
               if l.startswith("linkwatch_metrics_http_refused_total{reason=\"timeout\"}")]
    tap.ok(refused and int(refused[0].split()[-1]) >= 1,
           "metrics: slow clients counted (linkwatch_metrics_http_refused_total{reason=\"timeout\"})", refused)
    per_address(tap, port, "metrics", 8)
    one = framing(tap, port, "metrics", "/metrics")
    tap.ok(status_of(one) == 200, "metrics: near miss: one Content-Length: 0 answered (200)", one[:80])
    body = raw(port, b"GET /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc")
    tap.ok(status_of(body) == 413, "metrics: a body refused (413)", body[:80])
    rc = stop_idle(s)
    tap.ok(rc == 0 and not any(m in s.err for m in lwtest.SANITIZER_MARKS), "metrics: sensor exits 0",
           s.err[-1500:])


def console_part(tap, tmp):
    if not lwredis.available() or not os.path.exists(lwconsole.binary()):
        tap.note("console: redis-server or linkwatch-console missing: console part skipped")
        return
    with lwredis.RedisServer(tmp) as rs:
        con = lwconsole.Console(tmp, rs.port)
        r = con.add_user()
        tap.ok(r.returncode == 0, "console: --add-user", r.stderr)
        con.start()
        try:
            auth = "Authorization: Basic " + base64.b64encode(
                ("%s:%s" % (lwconsole.USER, lwconsole.PASSWORD)).encode()).decode()
            st, _, body = get(con.port, "/api/alerts?limit=10", headers=(auth,))
            tap.ok(st == 200, "console: an analyst's list answers", body[:200])
            slow_scrape(tap, con.port, "console", "/api/alerts?limit=10", headers=(auth,))
            st, _, body = get(con.port, "/metrics")
            refused = [l for l in body.decode("utf-8", "replace").splitlines()
                       if l.startswith("linkwatch_console_http_refused_total{reason=\"timeout\"}")]
            tap.ok(refused and int(refused[0].split()[-1]) >= 1,
                   "console: slow clients counted (linkwatch_console_http_refused_total{reason=\"timeout\"})",
                   refused or body[-600:])
            per_address(tap, con.port, "console", 32, "/api/alerts?limit=1", (auth,))
            one = framing(tap, con.port, "console", "/api/alerts")
            tap.ok(status_of(one) in (200, 401), "console: near miss: one Content-Length: 0 is not refused (%d)"
                   % status_of(one), one[:80])
        finally:
            con.stop()
        log = open(con.log).read()
        tap.ok(not any(m in log for m in lwtest.SANITIZER_MARKS), "console: no sanitizer report", log[-1500:])


def main():
    binary = lwtest.find_binary()
    src = lwtest.srcdir()
    tap = lwtest.Tap()
    with lwtest.TempDir() as tmp:
        metrics_part(tap, binary, src, tmp)
    with lwtest.TempDir() as tmp:
        console_part(tap, tmp)
    tap.done()


if __name__ == "__main__":
    main()
