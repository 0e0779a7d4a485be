#!/usr/bin/env python3
"""test_console_security.py - linkwatch-console against guessing, stale
sessions, forged requests and hostile Redis data (issue 20, M1-M4, L4, L6,
L8), on a redis-server and a console of the test's own (loopback only).

1. Guessing: 100 wrong passwords for one user, from 16 clients at once
   (each from its own loopback address): after them the right password is
   refused (429 with Retry-After) or delayed, and the console's peak RSS
   (VmHWM) stays under 100 MB; then 32 unknown names from 16 addresses at
   once (every try a yescrypt run: the bound on hashes at once is what
   keeps memory down). Failures are counted on the console's /metrics.
2. Timing: the median time of a wrong password and of an unknown name
   (10 each, interleaved, each from a fresh address and user so no backoff
   applies) are within 20% of each other.
3. Sessions: a removed user's cookie is refused at its next request; so is
   the cookie of a user whose password changed; 20 logins of one user keep
   its 16 newest sessions (the first cookie refused) while another user
   can still log in; "log out everywhere" ends both sessions of a user; a
   session outlives a console restart (sessions in Redis) and has the idle
   timeout as its Redis TTL; console.secure-cookies marks the cookie Secure.
4. CSRF: a POST with a foreign Origin (or Referer) is refused (403), as is
   Content-Type application/json-evil (415); the same request from the
   console's own origin is not.
5. Hostile Redis entries: a 1 MB event is skipped (counted), an event with
   a numeric timestamp is answered with the others, a 300,000-entry triage
   history answers its newest 200, and 60 entries of 200 kB answer at most
   ~10 MB (the rest through `next`).
6. Server-Sent Events: a published message holding CR (which would start
   a forged event in a browser) is not passed on; a plain one is.
"""

import base64
import json
import os
import re
import socket
import statistics
import threading
import time

import lwconsole
import lwredis
import lwtest
from lwhttp import raw, status_of

PREFIX = "lwsec"


def post(port, path, body, src="127.0.0.1", headers=(), timeout=30):
    """(status, headers text, body bytes, seconds) of a raw POST."""
    data = json.dumps(body).encode() if not isinstance(body, bytes) else body
    # Connection: close, as this client reads the answer to the end of the connection.
    head = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\n%s\r\n" % (path, port, len(data), "".join(h + "\r\n" for h in headers)))
    t0 = time.time()
    r = raw(port, head.encode() + data, src=src, timeout=timeout)
    dt = time.time() - t0
    h, _, b = r.partition(b"\r\n\r\n")
    return status_of(r), h.decode("latin-1"), b, dt


def cookie_of(headers):
    for line in headers.split("\r\n"):
        if line.lower().startswith("set-cookie:") and "lw_session=" in line:
            return line.split(":", 1)[1].strip().split(";")[0], line
    return None, None


def get(port, path, cookie=None, basic=None, src="127.0.0.1"):
    h = "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n" % (path, port)
    if cookie:
        h += "Cookie: %s\r\n" % cookie
    if basic:
        h += "Authorization: Basic %s\r\n" % base64.b64encode(("%s:%s" % basic).encode()).decode()
    r = raw(port, (h + "\r\n").encode(), src=src, timeout=60)
    return status_of(r), r.partition(b"\r\n\r\n")[2]


def login(con, user, pw, src="127.0.0.1"):
    st, h, b, dt = post(con.port, "/api/login", {"user": user, "password": pw}, src=src)
    return st, cookie_of(h)[0], h, dt


def vm(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return -1


def metric(con, name):
    st, body = get(con.port, "/metrics")
    for line in body.decode("utf-8", "replace").splitlines():
        if line.startswith(name + " "):
            return int(float(line.split()[-1]))
    return -1


def guessing(tap, con):
    statuses = []
    lock = threading.Lock()

    def worker(i, n):
        for _ in range(n):
            st = post(con.port, "/api/login", {"user": lwconsole.USER, "password": "wrong-%d" % i},
                      src="127.0.1.%d" % (i + 1))[0]
            with lock:
                statuses.append(st)

    threads = [threading.Thread(target=worker, args=(i, 100 // 16 + (1 if i < 100 % 16 else 0)))
               for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    counts = {s: statuses.count(s) for s in set(statuses)}
    print("# 100 wrong passwords from 16 clients: %s" % counts)
    st, _, h, _ = login(con, lwconsole.USER, lwconsole.PASSWORD, src="127.0.1.200")
    tap.ok(len(statuses) == 100 and 200 not in counts, "100 wrong passwords: none accepted", counts)
    tap.ok(st == 429 and "Retry-After:" in h,
           "after them the right password is refused (429 with Retry-After) until the wait is over", st)
    unknown = []

    def worker2(i):
        for k in range(2):
            unknown.append(post(con.port, "/api/login", {"user": "nobody%d-%d" % (i, k), "password": "x" * 12},
                                src="127.0.2.%d" % (i + 1))[0])

    threads = [threading.Thread(target=worker2, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    hwm = vm(con.proc.pid, "VmHWM")
    print("# console peak RSS (VmHWM) after 132 failed logins from 16 clients at once: %d MB" % hwm)
    tap.ok(0 < hwm < 100, "the console's peak RSS stays under 100 MB (%d MB)" % hwm)
    fails = metric(con, "linkwatch_console_login_failures_total")
    throttled = metric(con, "linkwatch_console_login_throttled_total")
    print("# /metrics: %d failures, %d throttled" % (fails, throttled))
    tap.ok(fails >= 10 and throttled >= 1 and fails + throttled >= 132,
           "failures and throttled tries are counted on /metrics", (fails, throttled))


def hashes_by_setting(con):
    """linkwatch_console_password_hashes_total by its setting label."""
    st, body = get(con.port, "/metrics")
    out = {}
    for line in body.decode("utf-8", "replace").splitlines():
        m = re.match(r'linkwatch_console_password_hashes_total\{setting="([^"]*)"\} (\S+)$', line)
        if m:
            out[m.group(1)] = int(float(m.group(2)))
    return out


def timing(tap, con, users):
    """An unknown user must cost what a wrong password costs, so that the
    answer's time does not tell which names exist. Counted, not timed: each
    check runs one password hash, with the users' setting (algorithm and
    cost), known user or not. (The times are printed for information.)"""
    with open(con.users) as f:
        settings = {"$".join(line.split(":", 1)[1].split("$")[:3]) + "$" for line in f if ":" in line}
    h0 = hashes_by_setting(con)
    wrong, unknown = [], []
    for i in range(10):
        wrong.append(post(con.port, "/api/login", {"user": users[i], "password": "not-the-password"},
                          src="127.0.3.%d" % (2 * i + 1))[3])
    h1 = hashes_by_setting(con)
    for i in range(10):
        unknown.append(post(con.port, "/api/login", {"user": "ghost%d" % i, "password": "not-the-password"},
                            src="127.0.3.%d" % (2 * i + 2))[3])
    h2 = hashes_by_setting(con)
    print("# login timing (not checked): wrong password median %.1f ms, unknown user median %.1f ms"
          % (statistics.median(wrong) * 1e3, statistics.median(unknown) * 1e3))
    delta1 = {k: v - h0.get(k, 0) for k, v in h1.items() if v != h0.get(k, 0)}
    delta2 = {k: v - h1.get(k, 0) for k, v in h2.items() if v != h1.get(k, 0)}
    tap.ok(len(settings) == 1 and delta1 == {next(iter(settings)): 10} and delta2 == delta1,
           "unknown-user and wrong-password answers cost the same: one password hash each, with the "
           "users' setting %s (wrong passwords %s, unknown users %s)" % (sorted(settings), delta1, delta2))


def sessions(tap, con, tmp, rs):
    con.add_user("temp", "temporary-pass-1")
    st, ck, _, _ = login(con, "temp", "temporary-pass-1", src="127.0.4.1")
    tap.ok(st == 200 and ck and get(con.port, "/api/me", cookie=ck)[0] == 200, "a user logs in", st)
    r = lwconsole.subprocess.run([lwconsole.binary()] + con.args + ["--remove-user", "temp"],
                                 stdout=lwconsole.subprocess.PIPE, stderr=lwconsole.subprocess.PIPE, timeout=30)
    tap.ok(r.returncode == 0, "--remove-user temp", r.stderr)
    tap.ok(get(con.port, "/api/me", cookie=ck)[0] == 401, "a removed user's cookie is refused at its next request")
    con.add_user("temp2", "temporary-pass-2")
    st, ck, _, _ = login(con, "temp2", "temporary-pass-2", src="127.0.4.2")
    con.add_user("temp2", "another-pass-22")
    tap.ok(st == 200 and get(con.port, "/api/me", cookie=ck)[0] == 401,
           "the cookie of a user whose password changed is refused at its next request")
    con.add_user("many", "many-sessions-1")
    cookies = [login(con, "many", "many-sessions-1", src="127.0.5.%d" % (i + 1))[1] for i in range(20)]
    alive = [get(con.port, "/api/me", cookie=c)[0] == 200 for c in cookies]
    tap.ok(alive == [False] * 4 + [True] * 16, "20 logins of one user keep its 16 newest sessions", alive)
    # (not analyst: the guessing above made it wait)
    con.add_user("other", "other-password-1")
    st, ck_other, _, _ = login(con, "other", "other-password-1", src="127.0.5.100")
    tap.ok(st == 200, "another user can still log in", st)
    a = login(con, "many", "many-sessions-1", src="127.0.5.101")[1]
    b = login(con, "many", "many-sessions-1", src="127.0.5.102")[1]
    st, h, body, _ = post(con.port, "/api/logout-all", {}, headers=("Cookie: " + a,))
    tap.ok(st == 200 and get(con.port, "/api/me", cookie=a)[0] == 401 and get(con.port, "/api/me", cookie=b)[0] == 401,
           "log out everywhere ends every session of the user", body)
    tap.ok(get(con.port, "/api/me", cookie=ck_other)[0] == 200, "another user's session is left", ck_other)
    c = rs.client()
    keys = [k for k in c.keys(PREFIX + ":{console}:session:*")]
    ttls = [c.call("TTL", k) for k in keys]
    c.close()
    tap.ok(keys and all(0 < t <= 1800 for t in ttls), "sessions expire after console.session-idle unused (30m)",
           ttls[:5])
    tap.ok(all(ck_other.split("=")[1] not in str(k) for k in keys),
           "Redis holds hashes of the tokens, not the tokens")
    con.stop()
    con.args += ["--set", "console.secure-cookies=yes"]
    con.start()
    tap.ok(get(con.port, "/api/me", cookie=ck_other)[0] == 200, "a session outlives a console restart")
    st, _, h, _ = login(con, "other", "other-password-1", src="127.0.5.103")
    tap.ok(st == 200 and "; Secure" in (cookie_of(h)[1] or ""), "console.secure-cookies: the cookie is Secure",
           cookie_of(h)[1])
    return ck_other


def csrf(tap, con, cookie):
    body = {"status": "acknowledged"}
    path = "/api/alerts/1-0/triage"
    st = post(con.port, path, body, headers=("Cookie: " + cookie, "Origin: http://evil.example"))[0]
    tap.ok(st == 403, "a POST with a foreign Origin is refused (403)", st)
    st = post(con.port, path, body, headers=("Cookie: " + cookie, "Referer: http://evil.example/x"))[0]
    tap.ok(st == 403, "a POST with a foreign Referer is refused (403)", st)
    st = post(con.port, path, body, headers=("Cookie: " + cookie, "Origin: http://127.0.0.1:%d.evil" % con.port))[0]
    tap.ok(st == 403, "near miss: an Origin that only starts like ours is refused (403)", st)
    data = json.dumps(body).encode()
    r = raw(con.port, ("POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\nContent-Type: application/json-evil\r\n"
                       "Cookie: %s\r\nContent-Length: %d\r\n\r\n" % (path, con.port, cookie, len(data))).encode() + data)
    tap.ok(status_of(r) == 415, "Content-Type application/json-evil is refused (415)", r[:60])
    st = post(con.port, path, body, headers=("Cookie: " + cookie, "Origin: http://127.0.0.1:%d" % con.port))[0]
    tap.ok(st == 404, "the same POST from the console's own origin goes through (404: no such alert)", st)


def xadd(c, event, sensor="evil"):
    return c.call("XADD", PREFIX + ":{alerts}", "*", "sensor", sensor, "seq", "1", "event", event)


def hostile(tap, con, rs, cookie):
    c = rs.client(timeout=60)
    good = {"timestamp": "2026-01-01T00:00:00.000000+0000", "event_type": "alert", "src_ip": "10.0.0.1",
            "dest_ip": "10.0.0.2", "alert": {"signature_id": 1, "signature": "good", "severity": 2}}
    xadd(c, json.dumps(good))
    big = dict(good, alert={"signature_id": 2, "signature": "x" * (1 << 20), "severity": 1})
    xadd(c, json.dumps(big))
    numeric = dict(good, timestamp=12345, alert={"signature_id": 3, "signature": "numeric ts", "severity": 3})
    nid = xadd(c, json.dumps(numeric)).decode()
    skipped0 = metric(con, "linkwatch_console_redis_skipped_total")
    st, body = get(con.port, "/api/alerts?limit=10", cookie=cookie)
    j = json.loads(body) if st == 200 else {}
    sids = [a["event"]["alert"]["signature_id"] for a in j.get("alerts", []) if isinstance(a.get("event"), dict)]
    tap.ok(st == 200 and 1 in sids and 3 in sids and 2 not in sids,
           "a 1 MB event is skipped; one with a numeric timestamp is answered with the others", (st, sids))
    tap.ok(metric(con, "linkwatch_console_redis_skipped_total") > skipped0, "the skipped entry is counted")
    hkey = PREFIX + ":{alerts}:history:" + nid
    for chunk in range(30):
        c.call("RPUSH", hkey, *[json.dumps({"by": "x", "at": i, "note": "n"}) for i in range(10000)])
    st, body = get(con.port, "/api/alerts/" + nid, cookie=cookie)
    j = json.loads(body) if st == 200 else {}
    tap.ok(st == 200 and len(j.get("history", [])) == 200 and len(body) < 200000,
           "a 300,000-entry history answers its newest 200 (%d bytes)" % len(body), st)
    pad = "p" * (200 << 10)
    for i in range(60):
        xadd(c, json.dumps(dict(good, alert={"signature_id": 100 + i, "signature": pad, "severity": 2})))
    st, body = get(con.port, "/api/alerts?limit=1000", cookie=cookie)
    j = json.loads(body) if st == 200 else {}
    print("# 60 entries of 200 kB: an answer of %d bytes, %d alerts, next %s" % (len(body), len(j.get("alerts", [])),
                                                                               j.get("next")))
    tap.ok(st == 200 and len(body) <= 10 * (1 << 20) and j.get("next"),
           "60 entries of 200 kB: the answer stays under 10 MB and says where to go on", (st, len(body)))
    c.close()


def sse_cr(tap, con, rs, cookie):
    s = socket.create_connection(("127.0.0.1", con.port), timeout=10)
    s.sendall(("GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: %s\r\n\r\n" % cookie).encode())
    got = b""
    end = time.time() + 10
    while b"linkwatch live alerts" not in got and time.time() < end:
        got += s.recv(4096)
    c = rs.client()
    chan = PREFIX + ":alerts"
    c.call("PUBLISH", chan, '{"a":1}\revent: alert\rdata: {"forged":true}')
    c.call("PUBLISH", chan, '{"plain":true}')
    c.close()
    end = time.time() + 10
    s.settimeout(1)
    while b'"plain"' not in got and time.time() < end:
        try:
            d = s.recv(4096)
            if not d:
                break
            got += d
        except socket.timeout:
            pass
    s.close()
    body = got.partition(b"\r\n\r\n")[2]
    tap.ok(b'"plain"' in body and b"forged" not in body and b"\r" not in body.replace(b"\r\n", b""),
           "SSE: a message holding CR is not passed on; a plain one is", body[-300:])


def main():
    if not lwredis.available():
        lwtest.skip("redis-server not available")
    tap = lwtest.Tap()
    with lwtest.TempDir("console-sec") as tmp, lwredis.RedisServer(tmp) as rs:
        con = lwconsole.Console(tmp, rs.port, prefix=PREFIX)
        r = con.add_user()
        tap.ok(r.returncode == 0, "--add-user", r.stderr)
        users = []
        for i in range(10):
            con.add_user("timing%d" % i, "timing-password-%d" % i)
            users.append("timing%d" % i)
        con.start()
        try:
            timing(tap, con, users)
            guessing(tap, con)
            log = open(con.log).read()          # before the restart in sessions() starts a new log
            tap.ok("login failed (page) for user 'analyst' from 127.0.1." in log,
                   "failed logins are logged with user and address", log[-600:])
            cookie = sessions(tap, con, tmp, rs)
            csrf(tap, con, cookie)
            hostile(tap, con, rs, cookie)
            sse_cr(tap, con, rs, cookie)
        finally:
            con.stop()
        log = open(con.log).read()
        tap.ok(not any(m in log for m in lwtest.SANITIZER_MARKS), "no sanitizer report", log[-1500:])
    tap.done()


if __name__ == "__main__":
    main()
