#!/usr/bin/env python3
"""test_workers.py - offline, the number of workers does not change the
result: the same capture read with --workers 1, 2 and 4 gives the same
flows, the same alerts, the same geo summaries, the same stats counters and
the same Redis tallies (the order of events aside).

Inputs: three scanners sweeping 80 hosts with rules thresholded by source,
destination, rule and host pair (a scanner's packets reach every worker:
the shared threshold table must see them in capture order), the demo capture with the shipped rules (tests/gen/gen_demo.py),
the Redis capture over several minutes with its rules (gen_redis.py:
minute buckets, summary intervals), every tunnel and fragment case
(gen_tunnels.py: the capture thread reassembles, the inner addresses pick
the worker) and, when the corpus is there, all of its captures in one run
(files out of time order) with every loadable ET Open rule.

Compared, against --workers 1:
  flows   every flow event, flow_id aside (ids carry the worker number);
  alerts  every alert event, flow_id aside;
  geo     every geo_summary row; a row whose top lists had to evict keys
          (top_approximate: Space-Saving estimates, order-dependent) is
          compared without its top lists, and must be approximate in both;
  stats   the final stats event, memory gauges and maxima aside;
  redis   every tally key of the sensor (its own sensor id per run), minute
          and hour buckets, read back from the test's own redis-server.
Also: with 2 workers the summary shows each worker's packets, and
/metrics (an idle sensor fed through a FIFO) has per-worker packets and
busy time that add up to the decoded packets.
"""

import json
import os
import re
import socket
import struct
import subprocess
import sys
import time
import urllib.request

import lwtest
import lwredis
import lwsensor

# (workers, capture-worker): the capture thread running worker 0 itself
# (yes) or only capturing and dispatching (no); both ways for 2 and 4.
RUNS = ((1, "auto"), (2, "yes"), (4, "yes"), (2, "no"), (4, "no"))
# Gauges of memory and maxima, and the geolocation cache's hit and miss
# counts (each worker has its own cache): per worker by nature, not results.
VOLATILE_STATS = {"uptime", "memuse", "memuse_max", "max_active", "state_bytes", "result_bytes",
                  "lookups", "cache_hits", "found"}


def corpus_dir():
    d = os.environ.get("LW_CORPUS") or os.path.join(lwtest.srcdir(), "..", "shared", "corpus")
    return os.path.abspath(d) if os.path.isdir(os.path.join(d, "pcaps")) else None


def geo_args():
    c = corpus_dir()
    db = os.path.join(c, "mmdb", "GeoIP2-Country-Test.mmdb") if c else None
    return ["--set", "geoip.databases=[%s]" % db] if db and os.path.exists(db) else []


def gen(tmp, script, *args, scapy=True):
    py = lwtest.scapy_python() if scapy else sys.executable
    if py is None:
        lwtest.skip("no python3 with scapy (apt-get install python3-scapy)")
    path = os.path.join(lwtest.srcdir(), "tests", "gen", script)
    subprocess.run([py, path] + list(args), check=True, stdout=subprocess.DEVNULL)


SCAN_RULES = """\
alert tcp any any -> any any (msg:"df by_src"; flags:S; detection_filter:track by_src, count 20, seconds 60; sid:9100001; rev:1;)
alert tcp any any -> any any (msg:"limit by_dst"; flags:S; threshold:type limit, track by_dst, count 2, seconds 30; sid:9100002; rev:1;)
alert tcp any any -> any any (msg:"both by_rule"; flags:S; threshold:type both, track by_rule, count 50, seconds 10; sid:9100003; rev:1;)
alert tcp any any -> any any (msg:"threshold by_src"; flags:S; threshold:type threshold, track by_src, count 7, seconds 5; sid:9100004; rev:1;)
alert tcp any any -> any any (msg:"limit by_both"; flags:S; threshold:type limit, track by_both, count 1, seconds 60; sid:9100005; rev:1;)
alert tcp any any -> any any (msg:"flow-level by_src"; ndpi-protocol:SSH; threshold:type both, track by_src, count 5, seconds 20; sid:9100006; rev:1;)
"""


def ip_csum(h):
    s = sum(struct.unpack("!10H", h))
    s = (s & 0xffff) + (s >> 16)
    s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def syn(src, dst, sport, dport):
    """An Ethernet/IPv4/TCP SYN (the decoder does not need the TCP checksum)."""
    tcp = struct.pack("!HHIIBBHHH", sport, dport, 1000, 0, 5 << 4, 0x02, 1024, 0, 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0, 64, 6, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", ip_csum(ip)) + ip[12:]
    return b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00" + ip + tcp


def write_scan(path):
    """Three outside scanners sweeping 80 inside hosts on 3 ports each,
    interleaved, 160 ms apart (about 108 s): each scanner's SYNs are spread
    over every worker, so thresholds by source, destination and rule see
    all workers' packets, windows of 5 s to 30 s open and close, and (with
    tcp-new at 10 s) flows time out during the capture, where the flow-level
    rule's threshold is checked at the capture thread's ticks."""
    recs, t = [], 1735689600 * 1000000
    for h in range(80):
        for port in (22, 80, 443):
            for k, scanner in enumerate(("203.0.113.7", "198.51.100.9", "192.0.2.66")):
                if (h + k) % 5 == 4 and port == 443:
                    continue                    # not every scanner hits every port
                recs.append((t, 54, syn(scanner, "10.9.%d.%d" % (h // 50, h % 50 + 1), 40000 + h, port)))
                t += 160000
    with open(path, "wb") as f:
        f.write(lwsensor.pcap_header(1) + lwsensor.records_bytes(recs, 0))


def inputs(tmp):
    """[(name, [capture paths], extra args)]"""
    out = []
    scan = os.path.join(tmp, "scan.pcap")
    write_scan(scan)
    scan_rules = os.path.join(tmp, "scan.rules")
    with open(scan_rules, "w") as f:
        f.write(SCAN_RULES)
    out.append(("scan-thresholds", [scan], ["-S", scan_rules, "--set", "flow.timeouts.tcp-new=10"]))

    demo = os.path.join(tmp, "demo.pcap")
    gen(tmp, "gen_demo.py", demo)
    out.append(("demo", [demo], geo_args()))

    sys.path.insert(0, os.path.join(lwtest.srcdir(), "tests", "gen"))
    import gen_redis
    red = os.path.join(tmp, "redis.pcap")
    gen(tmp, "gen_redis.py", red, "5", "1", scapy=False)
    rules = os.path.join(tmp, "redis.rules")
    with open(rules, "w") as f:
        f.write(gen_redis.RULES)
    out.append(("redis-5min", [red], ["-S", rules] + geo_args()))

    tun = os.path.join(tmp, "tunnels")
    os.makedirs(tun)
    gen(tmp, "gen_tunnels.py", tun)
    out.append(("tunnels-fragments", [tun], []))

    c = corpus_dir()
    if c:
        et = os.path.join(c, "rules-et-open")
        extra = ["-S", et, "--set", "rules.classification-file=%s" % os.path.join(et, "classification.config")]
        out.append(("corpus-ET", [os.path.join(c, "pcaps")], extra + geo_args()))
    return out


# A flow-level rule (nDPI metadata) with a threshold by source: checked when
# flows end, which happens in every worker at once at a tick.
FLOW_LEVEL_THRESHOLDED = {9100006}


def split_alerts(alerts):
    """(alerts compared one by one, alerts of FLOW_LEVEL_THRESHOLDED)"""
    one = [a for a in alerts if a["alert"]["signature_id"] not in FLOW_LEVEL_THRESHOLDED]
    return one, [a for a in alerts if a["alert"]["signature_id"] in FLOW_LEVEL_THRESHOLDED]


def count_by(alerts):
    out = {}
    for a in alerts:
        k = (a["alert"]["signature_id"], a.get("src_ip"))
        out[k] = out.get(k, 0) + 1
    return out


def strip_ids(ev):
    ev = dict(ev)
    ev.pop("flow_id", None)
    ev.pop("sensor_id", None)     # each run writes under its own id
    return ev


def canon(events):
    return sorted(json.dumps(strip_ids(e), sort_keys=True) for e in events)


def geo_rows(events):
    rows = {}
    for e in events:
        g = e["geo_summary"]
        k = (g["start"], g["scope"], g.get("src_country"), g.get("dest_country"), g.get("country"),
             bool(g.get("overflow")))
        rows[k] = g
    return rows


def flat(d, p=""):
    o = {}
    for k, v in d.items():
        if isinstance(v, dict):
            o.update(flat(v, p + k + "."))
        elif k not in VOLATILE_STATS:
            o[p + k] = v
    return o


def first_diff(a, b, limit=3):
    sa, sb = set(a), set(b)
    only_a, only_b = sorted(sa - sb)[:limit], sorted(sb - sa)[:limit]
    return "only with 1 worker: %s\nonly with N: %s" % (
        "\n  ".join(x[:400] for x in only_a), "\n  ".join(x[:400] for x in only_b))


def compare_geo(tap, label, base, got):
    a, b = geo_rows(base), geo_rows(got)
    tap.ok(set(a) == set(b), "%s: the same geo_summary rows (%d)" % (label, len(a)),
           "missing %s, extra %s" % (sorted(set(a) - set(b))[:3], sorted(set(b) - set(a))[:3]))
    bad, approx = [], 0
    for k in set(a) & set(b):
        x, y = dict(a[k]), dict(b[k])
        if x.get("top_approximate") or y.get("top_approximate"):
            approx += 1
            if not (x.get("top_approximate") and y.get("top_approximate")):
                bad.append("%s: top_approximate only in one" % (k,))
            for t in ("top_apps", "top_asns", "top_endpoints"):
                x.pop(t, None)
                y.pop(t, None)
        if x != y:
            bad.append("%s: %s" % (k, {f: (x.get(f), y.get(f)) for f in set(x) | set(y)
                                       if x.get(f) != y.get(f)}))
    tap.ok(not bad, "%s: every geo_summary row equal (%d with approximate top lists compared "
           "without them)" % (label, approx), "\n".join(bad[:5]))


def run_id(name, n, cw):
    return "%s-w%d-%s" % (name, n, cw)


def run_one(tmp, name, reads, extra, n, cw, port):
    logdir = os.path.join(tmp, "out-" + run_id(name, n, cw))
    spool = os.path.join(tmp, "spool-" + run_id(name, n, cw))
    args = ["-c", os.path.join(lwtest.srcdir(), "linkwatch.yaml"), "--workers", str(n),
            "--set", "capture-worker=" + cw,
            # The decompression time limit is wall time, so what it cuts
            # varies with the machine's load (and a sanitizer's slowness):
            # out of the way here, where one worker and several are compared.
            "--set", "app-layer.protocols.http.decompress-time-limit=60000000"]
    for r in reads[1:]:
        args += ["-r", r]
    args += list(extra)
    # Exact top-host sets: beyond redis.top-hosts a set is an approximate
    # top K that depends on when the writer flushed (docs/redis.md).
    args += lwredis.redis_args(port, spool, run_id(name, n, cw), ["--set", "redis.top-hosts=1000000"])
    return lwtest.run_sensor(reads[0], logdir, args, timeout=600)


def check_input(tap, tmp, srv, name, reads, extra):
    c = srv.client()
    runs = {}
    for n, cw in RUNS:
        r = run_one(tmp, name, reads, extra, n, cw, srv.port)
        runs[(n, cw)] = r
        rep = r.sanitizer_report()
        tap.ok(rep is None, "%s, %d worker(s), capture-worker %s: no sanitizer report" % (name, n, cw), rep)
        if n > 1:
            tap.ok("workers: %d;" % n in r.stdout,
                   "%s, %d workers, capture-worker %s: the summary shows the workers" % (name, n, cw),
                   r.stdout[-1500:])
    base = runs[RUNS[0]]
    if name != "corpus-ET":   # one corpus capture is cut short on purpose: exit 1
        tap.ok(base.rc == 0, "%s, 1 worker: exit 0" % name, base.stderr[-1500:])
    tl1 = tallies(c, run_id(name, *RUNS[0]))
    tap.ok(len(base.flows) > 0 and len(tl1) > 0,
           "%s: 1 worker: %d flows, %d alerts, %d tally keys" % (
               name, len(base.flows), len(base.of_type("alert")), len(tl1)))
    for n, cw in RUNS[1:]:
        r = runs[(n, cw)]
        label = "%s, %d workers (capture-worker %s)" % (name, n, cw)
        tap.ok(r.rc == base.rc, "%s: exit status %d as with 1 worker" % (label, r.rc), r.stderr[-1500:])
        a, b = canon(base.of_type("flow")), canon(r.of_type("flow"))
        tap.ok(a == b, "%s: the same %d flow events" % (label, len(a)), first_diff(a, b))
        pa, fa = split_alerts(base.of_type("alert"))
        pb, fb = split_alerts(r.of_type("alert"))
        a, b = canon(pa), canon(pb)
        tap.ok(a == b, "%s: the same %d alert events" % (label, len(a)), first_diff(a, b))
        if fa or fb:
            # Known limit (README, Workers): flows that end in the same tick
            # end in several workers at once, so which of them a flow-level
            # rule's shared threshold picks may differ; how many may not.
            ca, cb = count_by(fa), count_by(fb)
            tap.ok(ca == cb, "%s: flow-level thresholded rule: the same number of alerts per "
                   "source (%d alerts)" % (label, len(fa)), "%s != %s" % (ca, cb))
        compare_geo(tap, label, base.of_type("geo_summary"), r.of_type("geo_summary"))
        s1, sn = flat(base.final_stats() or {}), flat(r.final_stats() or {})
        tap.ok(s1 == sn and s1, "%s: the same final stats counters (%d)" % (label, len(s1)),
               str({k: (s1.get(k), sn.get(k)) for k in set(s1) | set(sn) if s1.get(k) != sn.get(k)})[:1500])
        tl = tallies(c, run_id(name, n, cw))
        bad = [k for k in set(tl1) | set(tl) if tl1.get(k) != tl.get(k)]
        tap.ok(not bad, "%s: the same Redis tallies (%d keys)" % (label, len(tl1)),
               "\n".join("%s: %s != %s" % (k, str(tl1.get(k))[:200], str(tl.get(k))[:200])
                         for k in sorted(bad, key=str)[:5]))
    c.close()


def tallies(c, scope):
    """The sensor's tally keys; the health hash's flows_active is a gauge
    sampled when the writer flushes (wall clock), not a count: left out."""
    tl = lwredis.read_tallies(c, "lw", scope)
    for k, v in tl.items():
        if k[2] == "health" and isinstance(v, dict):
            v.pop("flows_active", None)
    return tl


def scrape(port):
    text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10).read().decode()
    vals = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        k, v = line.rsplit(" ", 1)
        vals[k] = float(v)
    return vals


def check_metrics(tap, tmp, demo):
    port = lwredis.free_port()
    s = lwsensor.start_idle(tap, lwtest.find_binary(), lwtest.srcdir(), tmp, "metrics", None,
                            ["--workers", "2", "--set", "metrics.enabled=yes",
                             "--set", "metrics.listen=127.0.0.1:%d" % port])
    if not s:
        return
    try:
        got = lwsensor.feed(s, demo)
        # The families of one scrape are read one after another while the
        # capture thread may still be decoding and queueing the last packets
        # read: a scrape can show a worker count newer than the decoder's.
        # Wait until two scrapes in a row agree (the sensor is idle then).
        decoded, last = None, None
        vals = {}
        end = time.time() + 30
        while time.time() < end:
            vals = scrape(port)
            decoded = vals.get('linkwatch_decoded_packets_total{layer="ipv4"}', 0) + \
                vals.get('linkwatch_decoded_packets_total{layer="ipv6"}', 0)
            now = (decoded,) + tuple(vals.get('linkwatch_worker_%s_total{worker="%d"}' % (k, i))
                                     for k in ("packets", "queued_packets") for i in (0, 1))
            if decoded and now == last:
                break
            last = now
            time.sleep(0.2)
        per = [vals.get('linkwatch_worker_packets_total{worker="%d"}' % i) for i in (0, 1)]
        busy = [vals.get('linkwatch_worker_busy_seconds_total{worker="%d"}' % i) for i in (0, 1)]
        queued = [vals.get('linkwatch_worker_queued_packets_total{worker="%d"}' % i) for i in (0, 1)]
        tap.ok(vals.get("linkwatch_workers") == 2, "metrics: linkwatch_workers 2")
        tap.ok(None not in per and sum(per) == decoded and min(per) > 0,
               "metrics: per-worker packets %s add up to the %s IP packets decoded of %d read" % (per, decoded, got))
        tap.ok(per == queued, "metrics: each worker processed what the capture thread queued for it %s" % queued)
        tap.ok(None not in busy and min(busy) > 0, "metrics: per-worker busy seconds %s" % busy)
        tap.ok("linkwatch_capture_busy_seconds_total" in vals and
               'linkwatch_worker_queue_full_total{worker="1"}' in vals,
               "metrics: capture-thread busy time and queue-full counts exported")
        # The Grafana dashboard asks only for metrics the sensor exports.
        text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10).read().decode()
        with open(os.path.join(lwtest.srcdir(), "dashboards", "grafana", "linkwatch-sensor.json")) as f:
            dash = json.load(f)
        names = set()
        for panel in dash.get("panels", []):
            for t in panel.get("targets", []):
                names |= set(re.findall(r"linkwatch_[a-z_]+", t.get("expr", "")))
        missing = sorted(n for n in names if "# TYPE %s " % n not in text)
        tap.ok(names and not missing, "metrics: every metric the Grafana dashboard uses is exported (%d)"
               % len(names), "missing: %s" % missing)
        # Reloads with the workers asleep (offline), then traffic again: every
        # worker moves to the newest set at its next packet.
        vers = []
        for _ in range(3):
            rc, j = s.ctl_json("reload")
            vers.append((rc, j.get("status"), j.get("version")))
        tap.ok([v[1] for v in vers] == ["ok"] * 3 and [v[2] for v in vers] == [2, 3, 4],
               "reload: 3 reloads with 2 idle workers, versions 2, 3, 4", str(vers))
        lwsensor.feed(s, demo)
        end, ver = time.time() + 30, None
        while time.time() < end:
            _, j = s.ctl_json("stats")
            ver = j.get("worker_rule_version")
            if ver == 4:
                break
            time.sleep(0.1)
        tap.ok(ver == 4, "reload: after more traffic every worker matches with version 4 (%s)" % ver)
    finally:
        rc = lwsensor.stop_idle(s)
        tap.ok(rc == 0, "metrics: sensor exits 0", (s.err or "")[-1500:])


def check_live(tap, tmp, demo):
    """Live on a veth in a namespace of our own, 2 workers: the demo (its
    addresses rewritten into 127/8, evenly spaced as the replay sends it)
    gives the flows and alerts of an offline run with 1 worker."""
    py = lwtest.scapy_python()
    if py is None:
        tap.ok(True, "live: skipped (no python3 with scapy) # SKIP")
        return
    ns = lwsensor.veth_namespace(tap, "lwworkers%d" % os.getpid())
    if ns is None:
        return
    try:
        lo = os.path.join(tmp, "demo-lo.pcap")
        npk = lwsensor.rewrite_loopback(py, demo, lo, spacing_us=1000)
        yaml = os.path.join(lwtest.srcdir(), "linkwatch.yaml")
        home = ["--set", "home-net=[127.10.0.0/16]"]
        off = lwtest.run_sensor(lo, os.path.join(tmp, "out-live-offline"),
                                ["-c", yaml, "--workers", "1"] + home)
        sock = os.path.join(tmp, "live.sock")
        out = os.path.join(tmp, "out-live")
        s = lwsensor.Sensor([lwtest.find_binary(), "-c", yaml, "-i", "lwv1", "-l", out, "--workers", "2",
                             "--set", "control.socket=" + sock] + home, sock, netns=ns)
        if not tap.ok(s.wait_socket() and s.wait_capturing(), "live: sensor with 2 workers capturing on lwv1"):
            s.finish(timeout=10)
            return
        lwsensor.replay(ns, lo, npk, 1000 // lwtest.slow())
        s.wait_packets(npk)
        s.ctl_run("shutdown")
        rc = s.finish(timeout=60)
        ev = lwtest.read_eve(os.path.join(out, "eve.json"))
        st = [e["stats"] for e in ev if e.get("event_type") == "stats"]
        cap = st[-1].get("capture", {}) if st else {}
        tap.ok(rc == 0 and not any(m in s.err for m in lwtest.SANITIZER_MARKS),
               "live: exits 0, no sanitizer report", s.err[-1500:])
        tap.ok(cap.get("packets") == npk and cap.get("kernel_drops") == 0,
               "live: all %d packets captured, kernel drops 0 (%s)" % (npk, cap))
        a, b = lwsensor.alert_keys(off.events), lwsensor.alert_keys(ev)
        tap.ok(len(a) > 0 and a == b, "live, 2 workers: the alerts of the offline run (%d)" % len(a),
               "offline %d, live %d" % (len(a), len(b)))
        a, b = lwsensor.flow_keys(off.events), lwsensor.flow_keys(ev)
        tap.ok(a == b, "live, 2 workers: the flows of the offline run (%d)" % len(a),
               "offline %d, live %d; first difference: %s" % (
                   len(a), len(b), next(((x, y) for x, y in zip(a, b) if x != y), None)))
    finally:
        lwsensor.veth_namespace_del(ns)


def main():
    tap = lwtest.Tap()
    if not lwredis.available():
        lwtest.skip("no redis-server (apt-get install redis-server)")
    with lwtest.TempDir("lwtest-workers-") as tmp:
        ins = inputs(tmp)
        srv = lwredis.RedisServer(tmp).start()
        try:
            for name, reads, extra in ins:
                check_input(tap, tmp, srv, name, reads, extra)
        finally:
            srv.stop()
        demo = [r for n, r, _ in ins if n == "demo"][0][0]
        check_metrics(tap, tmp, demo)
        check_live(tap, tmp, demo)
        if not corpus_dir():
            tap.ok(True, "corpus captures with all ET Open rules: no corpus (LW_CORPUS) # SKIP")
    sys.exit(tap.done())


if __name__ == "__main__":
    main()
