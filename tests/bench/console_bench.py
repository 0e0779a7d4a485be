#!/usr/bin/env python3
"""console_bench.py [N]: fills a test redis-server's alerts stream with N
(default 1,000,000) alerts by pipelined XADD (EVE alerts in the shape the
sensor writes, 20 signatures, 3 severities, 5 countries; one signature is
rare: 1 in 10,000) and times linkwatch-console's list and filter endpoints.
Prints one line per query: median of 5 runs, entries scanned, rows."""

import json
import os
import random
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import lwredis  # noqa: E402
import lwconsole  # noqa: E402


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


def fill(c, n):
    rnd = random.Random(1)
    batch = 10000
    for start in range(0, n, batch):
        out = []
        for i in range(start, min(n, start + batch)):
            args = [b"XADD", b"lw:{alerts}", b"*", b"sensor", b"bench", b"seq", str(i).encode(),
                    b"event", event(i, rnd).encode()]
            out.append(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args))
        c.sock.sendall(b"".join(out))
        for _ in range(len(out)):
            c._reply()


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000000
    tmp = tempfile.mkdtemp(prefix="console-bench-")
    with lwredis.RedisServer(tmp) as rs:
        c = rs.client(timeout=300)
        c.call("CONFIG", "SET", "appendonly", "no")
        t0 = time.time()
        fill(c, n)
        print("filled %d alerts in %.1f s (XLEN %d)" % (n, time.time() - t0, c.call("XLEN", "lw:{alerts}")))
        con = lwconsole.Console(tmp, rs.port)
        con.add_user()
        con.start()
        try:
            s, h, b = con.request("/api/login", body={"user": lwconsole.USER, "password": lwconsole.PASSWORD},
                                  auth=False)
            sess = h.get("Set-Cookie", "").split(";")[0]
            for q in ("/api/alerts?limit=100", "/api/alerts?limit=1000", "/api/alerts?severity=1&limit=100",
                      "/api/alerts?country=JP&severity=2&limit=100", "/api/alerts?ip=10.1.3.0/24&limit=100",
                      "/api/alerts?sid=9100000&limit=100", "/api/alerts?q=signature%209100000&limit=100",
                      "/api/groups?scan=100000", "/api/groups?scan=1000000"):
                times = []
                for _ in range(5 if "scan=1000000" not in q and "sid=" not in q and "q=" not in q else 3):
                    t = time.time()
                    s, b = con.get(q, auth=sess)
                    times.append(time.time() - t)
                times.sort()
                rows = len(b.get("alerts", b.get("groups", []))) if s == 200 else b
                print("%-48s %8.1f ms  scanned %8s  rows %s" % (q, times[len(times) // 2] * 1000,
                                                              b.get("scanned") if s == 200 else "-", rows))
        finally:
            con.stop()
            c.close()


if __name__ == "__main__":
    main()
