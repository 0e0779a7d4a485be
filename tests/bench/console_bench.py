#!/usr/bin/env python3
"""console_bench.py [N]: writes N (default 1,000,000) alerts through the
sensor's own Redis writer (tests/gen/alertfeed: the redis exporter, its
scripts and its alert indexes) into a test redis-server, then times
linkwatch-console's queries and its --reindex.

The alerts are EVE alerts in the shape the sensor writes: 20 signatures, 3
severities, 5 destination countries, sources in 10.1.0.0/16; one signature
is rare (1 in 10,000). Prints:
  - the write: alerts/s through the writer;
  - Redis memory: INFO used_memory before and after, the stream's own
    (MEMORY USAGE), the indexes' (the rest, and per family by MEMORY USAGE);
  - per query: the median of 5 runs (wall clock, one console on loopback,
    a logged-in session), entries read, rows, the index that drove it;
  - the time of linkwatch-console --reindex on the whole stream.
Needs a build (tools/build.sh build) with tests/gen/alertfeed
(make -C build tests/gen/alertfeed)."""

import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
os.environ.setdefault("LW_BUILDDIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "build"))
import lwredis  # noqa: E402
import lwconsole  # noqa: E402
import lwalerts  # noqa: E402

RUNS = 5
QUERIES = [
    ("latest 100", "/api/alerts?limit=100"),
    ("latest 1000", "/api/alerts?limit=1000"),
    ("severity=1, 100 rows", "/api/alerts?severity=1&limit=100"),
    ("country=JP&severity=2, 100 rows", "/api/alerts?country=JP&severity=2&limit=100"),
    ("ip=10.1.3.0/24, 100 rows", "/api/alerts?ip=10.1.3.0/24&limit=100"),
    ("sid of a rare signature (1 in 10,000), whole stream", "/api/alerts?sid=9100000&limit=100"),
    ("q= signature text, whole stream", "/api/alerts?q=signature%209100000&limit=100"),
    ("groups over the newest 100,000 (scan=100000)", "/api/groups?scan=100000"),
    ("groups over all alerts", "/api/groups"),
    ("severity=1&country=US, 100 rows", "/api/alerts?severity=1&country=US&limit=100"),
    ("scope=cross-border-outbound&sid=9100000", "/api/alerts?scope=cross-border-outbound&sid=9100000&limit=100"),
    ("status=new&severity=1, 100 rows", "/api/alerts?status=new&severity=1&limit=100"),
    ("q=bench (every signature), 100 rows", "/api/alerts?q=bench&limit=100"),
    ("ip=10.0.0.0/8 (no index: read, bounded)", "/api/alerts?ip=10.0.0.0/8&limit=100"),
]


def event(i, rnd):
    sid = 9100000 if i % 10000 == 0 else 9000000 + rnd.randrange(20)
    cc = rnd.choice(["US", "GB", "SE", "JP", "CN"])
    return json.dumps({
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(1718000000 + i // 100)) + ".000000+0000",
        "flow_id": 1000000 + i, "sensor_id": "bench", "event_type": "alert",
        "src_ip": "10.1.%d.%d" % (i // 250 % 250, i % 250), "src_port": 40000 + i % 20000,
        "dest_ip": "81.2.69.%d" % (i % 200), "dest_port": 443, "proto": "TCP", "app_proto": "tls",
        "alert": {"action": "allowed", "gid": 1, "signature_id": sid, "rev": 1,
                  "signature": "LW BENCH signature %d" % sid, "category": "Misc activity",
                  "severity": 1 + sid % 3, "metadata": {"confidence": ["High"]}},
        "flow": {"pkts_toserver": 3, "pkts_toclient": 2, "bytes_toserver": 400, "bytes_toclient": 300},
        "geo": {"src": {"country": "CN", "internal": True}, "dest": {"country": cc},
                "scope": "cross-border-outbound" if cc != "CN" else "domestic"}},
        separators=(",", ":"))


def feed(port, n, spool):
    """Writes n alerts through the writer, generated while it reads them."""
    p = subprocess.Popen([lwalerts.alertfeed(), "--set", "redis.port=%d" % port, "--set",
                          "redis.spool-dir=%s" % spool, "--set", "sensor-id=bench"],
                         stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    err = []
    t = threading.Thread(target=lambda: err.append(p.stderr.read()))
    t.start()
    rnd = random.Random(1)
    for start in range(0, n, 10000):
        p.stdin.write("".join(event(i, rnd) + "\n" for i in range(start, min(n, start + 10000))).encode())
    p.stdin.close()
    p.wait()
    t.join()
    return p.returncode, err[0].decode() if err else ""


def used_memory(c):
    info = c.call("INFO", "memory").decode()
    return int(next(l.split(":")[1] for l in info.split("\r\n") if l.startswith("used_memory:")))


def index_memory(c):
    """MEMORY USAGE of every index key, summed per family."""
    fam, cur = {}, b"0"
    while True:
        cur, keys = c.call("SCAN", cur, "MATCH", "lw:{alerts}:ix:*", "COUNT", 2000)
        for k in keys:
            f = k.decode().split(":ix:", 1)[1].split(":", 1)[0]
            n, b = fam.get(f, (0, 0))
            fam[f] = (n + 1, b + (c.call("MEMORY", "USAGE", k, "SAMPLES", "0") or 0))
        if cur == b"0":
            return fam


def unlink_index(c):
    """Unlinks every index key and waits until Redis has freed them."""
    n, cur = 0, b"0"
    while True:
        cur, keys = c.call("SCAN", cur, "MATCH", "lw:{alerts}:ix:*", "COUNT", 2000)
        if keys:
            n += c.call("UNLINK", *keys)
        if cur == b"0":
            break
    for _ in range(600):
        info = c.call("INFO", "memory").decode()
        if "lazyfree_pending_objects:0" in info:
            break
        time.sleep(0.1)
    return n


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000000
    tmp = tempfile.mkdtemp(prefix="console-bench-")
    print("load average at start: %s" % open("/proc/loadavg").read().split()[:3])
    with lwredis.RedisServer(tmp) as rs:
        c = rs.client(timeout=600)
        c.call("CONFIG", "SET", "appendonly", "no")
        m0 = used_memory(c)
        t0 = time.time()
        rc, err = feed(rs.port, n, os.path.join(tmp, "spool"))
        dt = time.time() - t0
        xlen = c.call("XLEN", "lw:{alerts}")
        print("wrote %d alerts through the writer in %.1f s (%.0f alerts/s; generation included), XLEN %d, rc %d"
              % (n, dt, n / dt, xlen, rc))
        print("  " + err.strip().splitlines()[-1][:300] if err.strip() else "")
        m1 = used_memory(c)
        stream = c.call("MEMORY", "USAGE", "lw:{alerts}", "SAMPLES", "0")
        fam = index_memory(c)
        ix = sum(b for _, b in fam.values())
        print("memory: used_memory %d -> %d (+%.1f MB); the stream %.1f MB (%.0f bytes/alert); "
              "the indexes %.1f MB by MEMORY USAGE (%.0f bytes/alert, %.1f%% of the stream), "
              "%.1f MB by used_memory less the stream (%.1f%%)"
              % (m0, m1, (m1 - m0) / 1e6, stream / 1e6, stream / n, ix / 1e6, ix / n, 100.0 * ix / stream,
                 (m1 - m0 - stream) / 1e6, 100.0 * (m1 - m0 - stream) / stream))
        for f, (k, b) in sorted(fam.items(), key=lambda x: -x[1][1]):
            print("  %-8s %7d keys %8.1f MB %6.1f bytes/alert" % (f, k, b / 1e6, b / n))
        con = lwconsole.Console(tmp, rs.port)
        con.add_user()
        con.start()
        try:
            s, h, b = con.request("/api/login", body={"user": lwconsole.USER, "password": lwconsole.PASSWORD},
                                  auth=False)
            sess = h.get("Set-Cookie", "").split(";")[0]
            print("%-52s %9s %9s %6s  %s" % ("query (median of %d)" % RUNS, "time", "read", "rows", "driver"))
            for name, q in QUERIES:
                times = []
                for _ in range(RUNS):
                    t = time.time()
                    s, b = con.get(q, auth=sess)
                    times.append(time.time() - t)
                rows = len(b.get("alerts", b.get("groups", []))) if s == 200 else b
                ix = (b.get("index") or {}) if s == 200 else {}
                print("%-52s %7.1f ms %9s %6s  %s%s" % (
                    name, statistics.median(times) * 1000, b.get("scanned") if s == 200 else "-", rows,
                    ix.get("driver"), " (partial)" if s == 200 and b.get("partial") else ""))
        finally:
            con.stop()
        t0 = time.time()
        r = subprocess.run([lwconsole.binary()] + con.args + ["--reindex"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=7200)
        print("--reindex of %d alerts: %.1f s (rc %d) %s" % (xlen, time.time() - t0, r.returncode,
                                                          r.stderr.decode().strip()[-200:]))
        m2 = used_memory(c)
        print("memory after --reindex: used_memory %d (%+.1f MB against the write-time indexes)"
              % (m2, (m2 - m1) / 1e6))
        # the indexes' own memory, by INFO: used_memory without them
        unlinked = unlink_index(c)
        m3 = used_memory(c)
        print("memory without the indexes (%d keys unlinked): used_memory %d; the stream and its bookkeeping "
              "%.1f MB (%.0f bytes/alert), the indexes %.1f MB (%.0f bytes/alert): %.1f%% of the stream's own"
              % (unlinked, m3, (m3 - m0) / 1e6, (m3 - m0) / n, (m2 - m3) / 1e6, (m2 - m3) / n,
                 100.0 * (m2 - m3) / (m3 - m0)))
        c.close()
    print("load average at end: %s" % open("/proc/loadavg").read().split()[:3])


if __name__ == "__main__":
    main()
