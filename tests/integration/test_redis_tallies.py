#!/usr/bin/env python3
"""test_redis_tallies.py - every tally linkwatch writes to Redis equals the
ground truth computed from the sensor's own EVE events (docs/redis.md, key
family by key family), on a generated capture (tests/gen/gen_redis.py, with
test-rule alerts over several minutes) and on corpus captures when the
corpus is present. Then: the alerts stream and the live channel hold
exactly the EVE alerts in order, the flows stream the EVE flows; two
sensors with different ids write to one Redis and both their own keys and
the merged "all" keys are right; the top-hosts sets stay bounded; keys
expire as configured.

Each run starts its own redis-server on a free 127.0.0.1 port in a scratch
folder and stops it.
"""

import os
import re
import subprocess
import sys
import time

import lwtest
import lwredis

PREFIX = "lw"
FAMILIES = ("app", "l4", "src", "dst", "cc", "dir")
CORPUS_PCAPS = ["1kxun.pcap", "http_ipv6.pcap", "dns.pcap", "ssh.pcap", "synscan.pcap",
                "tor.pcap", "google_ssl.pcap", "WebattackSQLinj.pcap"]


def gen_capture(tmp, name, minutes, hostbase):
    path = os.path.join(tmp, name)
    gen = os.path.join(lwtest.srcdir(), "tests", "gen", "gen_redis.py")
    subprocess.run([sys.executable, gen, path, str(minutes), str(hostbase)], check=True,
                   stdout=subprocess.DEVNULL)
    return path


def rules_file(tmp):
    sys.path.insert(0, os.path.join(lwtest.srcdir(), "tests", "gen"))
    import gen_redis
    path = os.path.join(tmp, "lwtest.rules")
    with open(path, "w") as f:
        f.write(gen_redis.RULES)
    return path


def geo_args():
    """The corpus's MaxMind test country database when it is there (real
    countries for gen_redis.py's outside addresses); without it the geo
    stage still scopes flows internal or external."""
    corpus = os.environ.get("LW_CORPUS") or os.path.join(lwtest.srcdir(), "..", "shared", "corpus")
    db = os.path.join(corpus, "mmdb", "GeoIP2-Country-Test.mmdb")
    return ["--set", "geoip.databases=[%s]" % db] if os.path.exists(db) else []


def run(reads, logdir, port, spool, sensor, extra=(), rules=None):
    """One sensor run; reads: capture paths. Returns the lwtest.Run."""
    args = ["-c", os.path.join(lwtest.srcdir(), "linkwatch.yaml")] + geo_args()
    if rules:
        args += ["-S", rules]
    for r in reads[1:]:
        args += ["-r", r]
    args += lwredis.redis_args(port, spool, sensor, extra)
    return lwtest.run_sensor(reads[0], logdir, args, timeout=300)


def expires_seen(mon, c):
    """{key: seconds} of every EXPIRE a MONITOR connection saw (from the
    sensor's scripts and pipelines alike), read up to a marker sent now."""
    marker = "lw-monitor-end-%d" % os.getpid()
    c.call("ECHO", marker)
    out = {}
    while True:
        line = mon._reply().decode("utf-8", "replace")
        if marker in line:
            return out
        args = re.findall(r'"((?:[^"\\]|\\.)*)"', line)
        if len(args) == 3 and args[0].upper() == "EXPIRE":
            out[args[1]] = int(args[2])


def check_run(tap, r, what):
    tap.ok(r.rc == 0, "%s: linkwatch exits 0" % what, r.stderr[-2000:])
    rep = r.sanitizer_report()
    tap.ok(rep is None, "%s: no sanitizer report" % what, rep)


def diff(want, got):
    keys = sorted(set(want) | set(got))
    bad = ["%s: want %s, got %s" % (k, want.get(k), got.get(k))
           for k in keys if want.get(k) != got.get(k)]
    return "\n".join(bad[:10]) + ("\n... %d more" % (len(bad) - 10) if len(bad) > 10 else "")


def by_minute(tl, fam, metric):
    return {start: m for (res, start, f, mt), m in tl.items()
            if res == "m" and f == fam and mt == metric and m}


def check_tallies(tap, c, scope, truth, label, stats=None):
    """Each family of one scope against the truth (see lwredis.tallies_from_eve)."""
    tl = lwredis.read_tallies(c, PREFIX, scope)
    tap.ok(len(tl) > 0, "%s: tally keys written (%d)" % (label, len(tl)))
    # Totals over every bucket, minute and hour keys both.
    for fam in FAMILIES:
        for metric in ("bytes", "pkts", "flows"):
            want = truth["totals"].get((fam, metric), {})
            for res in ("m", "h"):
                got = lwredis.sum_buckets(tl, res, fam, metric)
                tap.ok(got == want, "%s: %s:%s over all %s buckets = EVE flows (%d members)"
                       % (label, fam, metric, "minute" if res == "m" else "hour", len(want)),
                       diff(want, got))
    for metric in ("sid", "severity"):
        want = truth["totals"].get(("alerts", metric), {})
        got = lwredis.sum_buckets(tl, "m", "alerts", metric)
        tap.ok(got == want, "%s: alerts:%s = EVE alerts (%s)" % (label, metric, want), diff(want, got))
    # Exact per minute: flows (in the minute of their last packet) and alerts.
    for fam in FAMILIES:
        want = {}
        for (f, minute), m in truth["flows_by_minute"].items():
            if f == fam:
                want[minute] = m
        got = by_minute(tl, fam, "flows")
        tap.ok(got == want, "%s: %s:flows per minute = EVE flow events per minute (%d minutes)"
               % (label, fam, len(want)), diff(want, got))
    for metric in ("sid", "severity"):
        want = {minute: m for (mt, minute), m in truth["alerts_by_minute"].items() if mt == metric}
        got = by_minute(tl, "alerts", metric)
        tap.ok(got == want, "%s: alerts:%s per minute = EVE alerts per minute" % (label, metric),
               diff(want, got))
    # Each hour key is the sum of its minutes.
    bad = []
    for (res, start, fam, metric), members in tl.items():
        if res != "h":
            continue
        s = {}
        for (r2, s2, f2, m2), mm in tl.items():
            if r2 == "m" and f2 == fam and m2 == metric and start <= s2 < start + 3600:
                for k, v in mm.items():
                    s[k] = s.get(k, 0) + v
        if fam == "health":
            s.pop("flows_active", None)
            members = {k: v for k, v in members.items() if k != "flows_active"}
        if s != members:
            bad.append("%s %s:%s: %s" % (start, fam, metric, diff(s, members)))
    tap.ok(not bad, "%s: every hour key = the sum of its minute keys" % label, "\n".join(bad[:5]))
    cc = truth["totals"].get(("cc", "flows"), {})
    tap.ok(cc, "%s: country pairs and directions counted (%s)" % (label, ", ".join(sorted(cc))[:200]))
    if stats is None:
        return tl
    # Health: every captured frame, flows and alerts per minute, drops, gauge.
    health = {start: m for (res, start, f, _), m in tl.items() if res == "m" and f == "health"}
    pk = sum(m.get("pkts", 0) for m in health.values())
    by = sum(m.get("bytes", 0) for m in health.values())
    cap = stats.get("capture", {})
    tap.ok(pk == cap.get("packets") and by == cap.get("bytes"),
           "%s: health pkts/bytes = stats.capture (%s/%s)" % (label, pk, by),
           "want %s/%s" % (cap.get("packets"), cap.get("bytes")))
    for field in ("flows", "alerts"):
        want = {minute: m[field] for minute, m in truth["health_by_minute"].items() if field in m}
        got = {minute: m[field] for minute, m in health.items() if m.get(field)}
        tap.ok(got == want, "%s: health %s per minute = EVE" % (label, field), diff(want, got))
    tap.ok(all(m.get("drops", 0) == 0 for m in health.values()), "%s: no drops" % label)
    tap.ok(any("flows_active" in m for m in health.values()), "%s: flows_active gauge written" % label)
    return tl


def names_from_eve(events):
    """{fam: {name: n}}: what the http_host, dns_query and tls_sni sets must
    hold, from the EVE transaction events: each HTTP transaction's hostname,
    each TLS handshake's sni, each DNS transaction's query names (from its
    request event, else from its lone response), lower case."""
    out = {"http_host": {}, "dns_query": {}, "tls_sni": {}}
    dns = {}

    def member(name):                   # tally.h: printable ASCII, lower case; a long name keeps its end
        name = "".join(c.lower() if 0x20 < ord(c) < 0x7f else "?" for c in name)
        return name if len(name) <= 47 else "~" + name[-46:]
    for e in events:
        t = e.get("event_type")
        if t == "http" and e["http"].get("hostname"):
            h = member(e["http"]["hostname"])
            out["http_host"][h] = out["http_host"].get(h, 0) + 1
        elif t == "tls" and e["tls"].get("sni"):
            h = member(e["tls"]["sni"])
            out["tls_sni"][h] = out["tls_sni"].get(h, 0) + 1
        elif t == "dns":
            key = (e.get("flow_id"), e["dns"].get("tx_id"))
            if e["dns"].get("type") == "request" or key not in dns:
                dns[key] = [member(q["rrname"]) for q in e["dns"].get("queries", []) if "rrname" in q]
    for names in dns.values():
        for h in names:
            out["dns_query"][h] = out["dns_query"].get(h, 0) + 1
    return out


def check_names(tap, tl, events, label):
    """The name sets over all minute buckets equal the EVE transactions
    (exact while a bucket has at most redis.top-hosts names: the callers
    set it high)."""
    want = names_from_eve(events)
    tap.ok(want["http_host"] or want["dns_query"] or want["tls_sni"], "%s: the capture has named transactions" % label)
    for fam in ("http_host", "dns_query", "tls_sni"):
        got = lwredis.sum_buckets(tl, "m", fam, None)
        tap.ok(got == want[fam], "%s: %s over all minute buckets = EVE transactions (%d names, %d in all)"
               % (label, fam, len(want[fam]), sum(want[fam].values())), diff(want[fam], got))


def check_streams(tap, c, sensor, events, label):
    alerts = [e for e in events if e.get("event_type") == "alert"]
    st = [f for _, f in c.stream(PREFIX + ":{alerts}") if f.get("sensor") == sensor]
    tap.ok(len(st) == len(alerts), "%s: the alerts stream holds %d alerts of %s (EVE: %d)"
           % (label, len(st), sensor, len(alerts)))
    same = [lwtest.json.loads(f["event"]) for f in st] == alerts
    tap.ok(same, "%s: stream entries are the EVE alerts, in order" % label)
    seqs = [int(f["seq"]) for f in st]
    tap.ok(seqs == sorted(set(seqs)), "%s: sequence numbers increase" % label)


def wait_sub(sub, n, timeout):
    """The next n messages of a subscribed client, bounded in time."""
    got = []
    until = time.time() + timeout
    sub.sock.settimeout(0.5)
    while len(got) < n and time.time() < until:
        try:
            m = sub._reply()
        except OSError:
            continue
        if isinstance(m, list) and m and m[0] == b"message":
            got.append(m[2].decode())
    return got


def main():
    tap = lwtest.Tap()
    lwtest.find_binary()
    if not lwredis.available():
        lwtest.skip("redis-server not installed (apt-get install redis-server)")
    with lwtest.TempDir("lwtest-redis-") as tmp:
        rules = rules_file(tmp)
        cap_a = gen_capture(tmp, "a.pcap", 5, 1)
        cap_b = gen_capture(tmp, "b.pcap", 3, 2)
        spool = os.path.join(tmp, "spool")
        srv = lwredis.RedisServer(tmp).start()
        try:
            c = srv.client()
            sub = srv.client()
            sub.call("SUBSCRIBE", PREFIX + ":alerts")

            # 1. The generated capture: every family, streams, channel, status.
            r = run([cap_a], os.path.join(tmp, "log-a"), srv.port, spool, "gen",
                    ["--set", "redis.top-hosts=100000", "--set", "redis.flows-stream.enabled=yes"],
                    rules=rules)
            check_run(tap, r, "generated")
            truth = lwredis.tallies_from_eve(r.events)
            tap.ok(len(r.of_type("alert")) > 50, "generated: %d alerts" % len(r.of_type("alert")))
            tl = check_tallies(tap, c, "gen", truth, "generated", r.final_stats())
            check_names(tap, tl, r.events, "generated")
            check_tallies(tap, c, "all", truth, "generated, merged view")
            check_streams(tap, c, "gen", r.events, "generated")
            msgs = wait_sub(sub, len(r.of_type("alert")), 10)
            tap.ok([lwtest.json.loads(m) for m in msgs] == r.of_type("alert"),
                   "live channel %s:alerts published every alert in order (%d)" % (PREFIX, len(msgs)))
            flows = [lwtest.json.loads(f["event"]) for _, f in c.stream(PREFIX + ":flows")]
            tap.ok(flows == r.flows, "flows stream holds the EVE flows (%d)" % len(flows))
            status = c.call("HGETALL", PREFIX + ":{gen}:sensor")
            st = {status[i].decode(): status[i + 1].decode() for i in range(0, len(status), 2)}
            tap.ok(st.get("packets") == str(r.final_stats()["capture"]["packets"]),
                   "status hash %s:{gen}:sensor: packets %s" % (PREFIX, st.get("packets")), st)
            tap.ok(c.call("ZSCORE", PREFIX + ":sensors", "gen") is not None, "sensor listed in lw:sensors")
            ttl_m = c.call("TTL", "%s:{gen:m:%d}:app:bytes" % (PREFIX, min(
                s for (res, s, f, m) in lwredis.read_tallies(c, PREFIX, "gen") if res == "m")))
            tap.ok(172800 - 120 < ttl_m <= 172800, "minute keys expire after redis.retention.minute (TTL %d)" % ttl_m)
            hkeys = c.keys(PREFIX + ":{gen:h:*}:l4:bytes")
            ttl_h = c.call("TTL", hkeys[0]) if hkeys else -3
            tap.ok(2592000 - 120 < ttl_h <= 2592000, "hour keys expire after redis.retention.hour (TTL %d)" % ttl_h)
            tap.ok("redis:" in r.stdout and " 0 errors" in r.stdout, "summary line", r.stdout[-600:])
            sub.close()

            # 2. Corpus captures with the shipped rules, when the corpus is here.
            corpus = os.environ.get("LW_CORPUS") or os.path.join(lwtest.srcdir(), "..", "shared", "corpus")
            pcaps = [os.path.join(corpus, "pcaps", p) for p in CORPUS_PCAPS
                     if os.path.exists(os.path.join(corpus, "pcaps", p))]
            if pcaps:
                r = run(pcaps, os.path.join(tmp, "log-corpus"), srv.port, spool, "corpus",
                        ["--set", "redis.top-hosts=100000"])
                check_run(tap, r, "corpus")
                truth = lwredis.tallies_from_eve(r.events)
                tap.note("corpus: %d captures, %d flows, %d alerts" % (len(pcaps), len(r.flows),
                                                                      len(r.of_type("alert"))))
                tl = check_tallies(tap, c, "corpus", truth, "corpus", r.final_stats())
                check_names(tap, tl, r.events, "corpus")
                check_streams(tap, c, "corpus", r.events, "corpus")
            else:
                tap.note("corpus not found: corpus captures skipped")

            # 3. Two sensors at once into one (emptied) Redis.
            c.call("FLUSHALL")
            procs = []
            for sensor, cap in (("s-a", cap_a), ("s-b", cap_b)):
                log = os.path.join(tmp, "log-" + sensor)
                os.makedirs(log, exist_ok=True)
                argv = [lwtest.find_binary(), "-c", os.path.join(lwtest.srcdir(), "linkwatch.yaml"),
                        "-S", rules, "-r", cap, "-l", log] + geo_args() + lwredis.redis_args(
                            srv.port, spool, sensor, ["--set", "redis.top-hosts=100000"])
                procs.append((sensor, log, argv, subprocess.Popen(argv, stdout=subprocess.PIPE,
                                                                  stderr=subprocess.PIPE)))
            truths, sums = [], {"totals": {}, "flows_by_minute": {}, "alerts_by_minute": {},
                                "health_by_minute": {}}
            for sensor, log, argv, p in procs:
                out, err = p.communicate(timeout=300)
                run_ = lwtest.Run(argv, p.returncode, out.decode(), err.decode(), log)
                check_run(tap, run_, "sensor " + sensor)
                t = lwredis.tallies_from_eve(run_.events)
                check_tallies(tap, c, sensor, t, "two sensors, " + sensor, run_.final_stats())
                check_streams(tap, c, sensor, run_.events, "two sensors, " + sensor)
                for part in sums:
                    for k, members in t[part].items():
                        for m, v in members.items():
                            lwredis.add(sums[part], k, m, v)
            check_tallies(tap, c, "all", sums, "two sensors, merged view = sum of both")
            names = sorted(x.decode() for x in c.call("ZRANGE", PREFIX + ":sensors", 0, -1))
            tap.ok(names == ["s-a", "s-b"], "lw:sensors lists both sensors", names)

            # 4. Top-K: sorted sets hold at most redis.top-hosts members.
            c.call("FLUSHALL")
            r = run([cap_a], os.path.join(tmp, "log-topk"), srv.port, spool, "topk",
                    ["--set", "redis.top-hosts=3"], rules=rules)
            check_run(tap, r, "top-hosts 3")
            zs = c.keys(PREFIX + ":{topk:*}:src:*") + c.keys(PREFIX + ":{topk:*}:dst:*")
            cards = [c.call("ZCARD", k) for k in zs]
            tap.ok(zs and max(cards) <= 3, "top-hosts 3: %d host sets, at most %d members each"
                   % (len(zs), max(cards) if cards else -1))
            full = lwredis.tallies_from_eve(r.events)["totals"][("dst", "bytes")]
            top = max(full, key=full.get)
            hour = lwredis.sum_buckets(lwredis.read_tallies(c, PREFIX, "topk"), "h", "dst", "bytes")
            tap.ok(hour.get(top) == full[top], "top-hosts 3: the top destination is kept exact (%s)" % top,
                   "want %s, got %s" % (full[top], hour.get(top)))

            # 5. Retention: keys expire as configured. The EXPIRE commands are
            # read with MONITOR: keys with a 2 s life may be gone by the time a
            # slow (ASan, busy) sensor has exited, so their TTLs are not read back.
            c.call("FLUSHALL")
            mon = srv.client(timeout=30)
            mon.call("MONITOR")
            r = run([cap_b], os.path.join(tmp, "log-ret"), srv.port, spool, "ret",
                    ["--set", "redis.retention.minute=2", "--set", "redis.retention.hour=5"], rules=rules)
            check_run(tap, r, "short retention")
            ttls = expires_seen(mon, c)
            mon.close()
            mk = [k for k in ttls if k.startswith(PREFIX + ":{ret:m:")]
            hk = [k for k in ttls if k.startswith(PREFIX + ":{ret:h:")]
            tap.ok(mk and hk and {ttls[k] for k in mk} == {2} and {ttls[k] for k in hk} == {5},
                   "TTLs follow retention 2s/5s (EXPIRE of %d minute keys, %d hour keys)" % (len(mk), len(hk)),
                   {k: ttls[k] for k in (mk[:3] + hk[:3])})
            gone = lwredis.wait_for(lambda: not any(c.call("EXISTS", k) for k in mk), 10)
            tap.ok(gone, "minute keys gone after 2 s")
            gone = lwredis.wait_for(lambda: not any(c.call("EXISTS", k) for k in hk), 12)
            tap.ok(gone, "hour keys gone after 5 s")
            c.close()
        finally:
            srv.stop()
        connection_options(tap, tmp, cap_b, rules, spool)
        live_capture(tap, tmp, rules, spool)
    tap.done()


def live_capture(tap, tmp, rules, spool):
    """Live on lo (UDP to one closed local port only): counts reach Redis
    while the link is quiet (the worker hands its table over between
    packets), alerts at once; then SIGTERM, and the EVE ground truth."""
    if os.geteuid() != 0:
        tap.note("not root: live capture on lo skipped")
        return
    import socket
    port = lwredis.free_port()
    srv = lwredis.RedisServer(tmp, "redis-live").start()
    log = os.path.join(tmp, "log-live")
    os.makedirs(log)
    argv = [lwtest.find_binary(), "-c", os.path.join(lwtest.srcdir(), "linkwatch.yaml"), "-S", rules,
            "-i", "lo", "-f", "udp port %d" % port, "-l", log] + lwredis.redis_args(srv.port, spool, "live")
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        c = srv.client()
        up = lwredis.wait_for(lambda: c.call("EXISTS", PREFIX + ":{live}:sensor") == 1, 15)
        tap.ok(up, "live: the sensor reports to Redis")
        def health_pkts():
            return sum(c.hgetall(k).get("pkts", 0) for k in c.keys(PREFIX + ":{live:m:*}:health"))

        # The sensor may report to Redis before its capture is open: probes
        # (no alert) until one is counted, so the 5 packets are not sent
        # into a capture that is not there yet.
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        seen = lwredis.wait_for(lambda: probe.sendto(b"probe", ("127.0.0.1", port)) and health_pkts() >= 1,
                                60, step=0.2)
        probe.close()
        tap.ok(seen, "live: the capture is open (a probe packet counted)")
        n0 = health_pkts()
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for i in range(5):
            s.sendto(b"live LWTEST-B %d" % i, ("127.0.0.1", port))
            time.sleep(0.02)
        s.close()
        got = lwredis.wait_for(lambda: health_pkts() >= n0 + 5, 10)
        tap.ok(got, "live: a quiet link's packets reach Redis without more traffic (%d)" % (health_pkts() - n0))
        got = lwredis.wait_for(lambda: len(c.stream(PREFIX + ":{alerts}")) == 5, 10)
        tap.ok(got, "live: its 5 alerts are in the stream")
        active = max([c.hgetall(k).get("flows_active", 0) for k in c.keys(PREFIX + ":{live:m:*}:health")] or [0])
        tap.ok(active >= 1, "live: flows_active gauge %d" % active)
        p.terminate()
        out, err = p.communicate(timeout=30)
    except Exception:
        p.kill()
        p.communicate(timeout=10)
        raise
    r = lwtest.Run(argv, p.returncode, out.decode(), err.decode(), log)
    check_run(tap, r, "live")
    truth = lwredis.tallies_from_eve(r.events)
    check_tallies(tap, c, "live", truth, "live", r.final_stats())
    check_streams(tap, c, "live", r.events, "live")
    c.close()
    srv.stop()


def connection_options(tap, tmp, cap, rules, spool):
    """Unix socket, AUTH (password alone, and user + password), SELECT;
    a wrong password is logged and the alerts wait in the spool."""
    srv = lwredis.RedisServer(tmp, "redis-auth", password="s3cret pass", unixsocket=True).start()
    try:
        c = srv.client()
        c.call("SELECT", 3)
        for sensor, user in (("sock", ""), ("sock-user", "default")):
            r = run([cap], os.path.join(tmp, "log-" + sensor), srv.port, spool, sensor,
                    ["--set", "redis.server=" + srv.socket, "--set", "redis.password=s3cret pass",
                     "--set", "redis.username=" + user, "--set", "redis.db=3"], rules=rules)
            check_run(tap, r, "unix socket, AUTH %s, db 3" % (user or "(password)"))
            n = len(r.of_type("alert"))
            tap.ok(n > 0 and len([1 for _, f in c.stream(PREFIX + ":{alerts}") if f["sensor"] == sensor]) == n,
                   "unix socket, AUTH %s, db 3: %d alerts in db 3" % (user or "(password)", n))
        tap.ok(len(c.keys(PREFIX + ":{sock:m:*")) > 0, "tallies in db 3")
        c.call("SELECT", 0)
        tap.ok(c.call("DBSIZE") == 0, "nothing in db 0")
        r = run([cap], os.path.join(tmp, "log-badpass"), srv.port, os.path.join(tmp, "spool-bad"), "bad",
                ["--set", "redis.password=wrong"], rules=rules)
        check_run(tap, r, "wrong password")
        tap.ok("WRONGPASS" in r.stderr or "invalid" in r.stderr.lower(), "a wrong password is logged",
               r.stderr[-600:])
        tap.ok(("%d in spool" % len(r.of_type("alert"))) in r.stdout,
               "its alerts wait in the spool", r.stdout[-400:])
        c.close()
    finally:
        srv.stop()


if __name__ == "__main__":
    main()
