#!/usr/bin/env python3
"""test_console_shards.py - linkwatch-console over alerts sharded per sensor
(redis.alerts-layout: per-sensor; docs/redis.md, "Alerts per sensor").

One redis-server (started here on a free loopback port); two sensors run on
the demo capture (tests/gen/gen_demo.py), the second moved by a third of a
second so that their alerts interleave in time, each writing its own stream
<p>:{alerts:<sensor>} and naming itself in <p>:alert-shards. Checked against
the sensors' own eve.json:
  - the list holds every alert of both exactly once, ids "<sensor>:<stream
    id>", newest first by EVE timestamp across the shards;
  - paging (limit 7 and 1, and with a filter) crosses the merge boundary
    without skipping or repeating: the pages joined are the one-page list;
  - filters, groups (counters and filtered), detail and triage (state,
    history and status index in the alert's shard, written by one script)
    for an alert of each shard; a shared-stream id is not found;
  - linkwatch-console --reindex rebuilds the indexes of both shards exactly.
And, when redis-cli can build one, on a Redis Cluster of 3 masters and 3
replicas (tests/lib/lwcluster.py): two sensors' alerts written per-sensor
through the writer (tests/gen/alertfeed), the console logs in (its session
script) and lists, pages, details and triages them; its live alerts stream
goes on from another node when the node it subscribed on is killed.
"""

import collections
import os
import subprocess
import time
import urllib.parse

import lwtest
import lwredis
import lwconsole
import lwalerts
import lwcluster
from lwsensor import read_pcap
from test_console_api import all_alerts, key, run_sensors, shifted, sse_open, sse_read

SENSORS = ["s-a", "s.b"]
SHIFT_US = 333333                    # the second sensor's capture, later by this


def fill(tmp, rs, tap):
    """Runs both sensors per-sensor; returns their EVE alerts [(sensor, event)]."""
    demo, mmdb = lwtest.demo_capture(tmp)
    start = read_pcap(demo)[1][0][0]
    later = shifted(demo, os.path.join(tmp, "demo-later.pcap"), start + SHIFT_US)
    return run_sensors(tmp, rs, tap, mmdb, [(SENSORS[0], [demo]), (SENSORS[1], [later])],
                       ["--set", "redis.alerts-layout=per-sensor"])


def pages(con, query, limit):
    """Every page of /api/alerts?query at limit, joined; None when one failed."""
    s, out = all_alerts(con, query, limit)
    return out if s == 200 else None


def eve_usec(ts):
    """EVE "2024-06-10T06:13:20.123456+0000" -> microseconds since the epoch."""
    return lwredis.eve_epoch(ts) * 1000000 + int(ts[20:26])


def time_key(a):
    """The list's order: EVE timestamp (microseconds), then stream id."""
    xid = a["id"].split(":")[-1]
    ms, seq = map(int, xid.split("-"))
    ts = a["event"].get("timestamp")
    return (eve_usec(ts) if ts else ms * 1000, ms, seq)


def check_list(tap, con, alerts):
    s, b = con.get("/api/alerts?limit=1000")
    got = b["alerts"] if s == 200 else None
    tap.ok(got is not None and not b["next"] and len(got) == len(alerts),
           "one page lists every alert of both shards (%d)" % len(alerts), b if got is None else len(got))
    if got is None:
        return None
    tap.ok(collections.Counter((a["sensor"], key(a["event"])) for a in got) ==
           collections.Counter((sn, key(e)) for sn, e in alerts), "each EVE alert of each sensor exactly once")
    tap.ok(all(a["id"].startswith(a["sensor"] + ":") and lwalerts.id_key(a["id"].split(":", 1)[1])
               for a in got), "ids are <sensor>:<stream id>", [a["id"] for a in got[:3]])
    tap.ok(len({a["id"] for a in got}) == len(got), "no id twice")
    # each shard in stream order (newest first); the shards merged by time:
    # at each step the newest of the shards' next alerts
    per = {sn: [a for a in got if a["sensor"] == sn] for sn in SENSORS}
    tap.ok(all([lwalerts.id_key(a["id"].split(":", 1)[1]) for a in v] ==
               sorted((lwalerts.id_key(a["id"].split(":", 1)[1]) for a in v), reverse=True) for v in per.values()),
           "each shard's alerts in stream order, newest first")
    merged, heads = [], {sn: 0 for sn in SENSORS}
    while len(merged) < len(got):
        sn = max((x for x in SENSORS if heads[x] < len(per[x])), key=lambda x: time_key(per[x][heads[x]]))
        merged.append(per[sn][heads[sn]]["id"])
        heads[sn] += 1
    tap.ok(merged == [a["id"] for a in got], "the shards merged by EVE timestamp, then stream id",
           [(a["id"], a["event"].get("timestamp")) for a in got[:6]])
    keys = [time_key(a) for a in got]
    bad = [(x["id"], x["event"].get("timestamp"), y["id"], y["event"].get("timestamp"))
           for x, y in zip(got, got[1:]) if time_key(x) < time_key(y)]
    tap.ok(not bad or any(time_key(x) < time_key(y) for v in per.values() for x, y in zip(v, v[1:])),
           "newest first by EVE timestamp across the shards (where each shard is)", bad[:3])
    switches = sum(1 for x, y in zip(got, got[1:]) if x["sensor"] != y["sensor"])
    tap.ok(switches >= 4, "the shards interleave in time (%d changes of shard)" % switches)
    for limit in (7, 1):
        p = pages(con, "", limit)
        tap.ok(p is not None and [a["id"] for a in p] == [a["id"] for a in got],
               "pages of %d cross the merge without a skip or a repeat" % limit,
               p if p is None else [a["id"] for a in p][:10])
    return got


def check_filters(tap, con, alerts, got):
    sevs = collections.Counter(e["alert"]["severity"] for _, e in alerts)
    sev = sevs.most_common()[0][0]
    cases = [("severity=%d" % sev, lambda sn, e: e["alert"]["severity"] == sev),
             ("sensor=s.b", lambda sn, e: sn == "s.b"),
             ("ip=10.1.0.0/16", lambda sn, e: e["src_ip"].startswith("10.1.") or e["dest_ip"].startswith("10.1.")),
             ("q=" + urllib.parse.quote("cross-border"),
              lambda sn, e: "cross-border" in e["alert"]["signature"].lower())]
    for q, pred in cases:
        want = collections.Counter((sn, key(e)) for sn, e in alerts if pred(sn, e))
        p = pages(con, q, 3)
        one = [a["id"] for a in got if pred(a["sensor"], a["event"])]
        tap.ok(p is not None and collections.Counter((a["sensor"], key(a["event"])) for a in p) == want
               and [a["id"] for a in p] == one,
               "filter %s, pages of 3: %d alerts, in the list's order" % (q, sum(want.values())),
               p if p is None else len(p))


def check_groups(tap, con, alerts):
    want = collections.Counter((e["alert"]["signature_id"], e["src_ip"], e["dest_ip"]) for _, e in alerts)
    for q in ("", "&severity=1,2,3,4"):
        s, b = con.get("/api/groups?limit=1000" + q)
        got = {(g["sid"], g["src_ip"], g["dest_ip"]): g["count"] for g in b.get("groups", [])} if s == 200 else b
        tap.ok(got == dict(want), "groups%s add up both shards (%d groups)" % (q or " (counters)", len(want)), got)
    s, b = con.get("/api/groups?limit=1000")
    if s == 200 and b["groups"]:
        g = b["groups"][0]
        times = sorted(e["timestamp"] for _, e in alerts
                       if (e["alert"]["signature_id"], e["src_ip"], e["dest_ip"]) == (g["sid"], g["src_ip"], g["dest_ip"]))
        tap.ok(g["first_seen"] == times[0] and g["last_seen"] == times[-1], "first and last seen over both", g)


def check_detail_triage(tap, con, rs, got):
    c = rs.client()
    tagged = []
    for sensor in SENSORS:
        a = next(x for x in got if x["sensor"] == sensor)
        xid = a["id"].split(":", 1)[1]
        s, d = con.get("/api/alerts/" + a["id"])
        tap.ok(s == 200 and d["id"] == a["id"] and d["event"] == a["event"] and d["sensor"] == sensor
               and d["history"] == [], "detail of %s" % a["id"], d)
        s, d = con.get("/api/alerts/" + urllib.parse.quote(a["id"], safe=""))
        tap.ok(s == 200 and d["id"] == a["id"], "detail with the id escaped (%%3A)", d)
        s, _, t = con.request("/api/alerts/%s/triage" % a["id"], body={"status": "acknowledged", "note": "seen"})
        tap.ok(s == 200 and t["id"] == a["id"] and t["triage"]["status"] == "acknowledged" and len(t["history"]) == 1,
               "triage of %s" % a["id"], t)
        tag = "lw:{alerts:%s}" % sensor
        raw = c.call("HGET", tag + ":triage", xid)
        tap.ok(raw and b'"acknowledged"' in raw and c.call("LLEN", "%s:history:%s" % (tag, xid)) == 1 and
               c.call("ZSCORE", tag + ":ix:status:acknowledged", xid) is not None,
               "state, history and status index in %s's shard" % sensor, raw)
        s, b = con.get("/api/alerts/" + xid)
        tap.ok(s == 404, "its stream id alone names the shared stream: 404", b)
        tagged.append(a["id"])
    s, b = con.get("/api/alerts?status=acknowledged&limit=1000")
    tap.ok(s == 200 and sorted(x["id"] for x in b["alerts"]) == sorted(tagged),
           "status=acknowledged finds both, one in each shard", b)
    s, _, t = con.request("/api/alerts/%s/triage" % tagged[0], body={"status": "new"})
    xid = tagged[0].split(":", 1)[1]
    tap.ok(s == 200 and c.call("ZSCORE", "lw:{alerts:%s}:ix:status:acknowledged" % SENSORS[0], xid) is None,
           "back to new: out of the status index", t)
    for bad in ("nosuch:1-1", "s-a:1-1"):
        s, _, r = con.request("/api/alerts/%s/triage" % bad, body={"status": "closed"})
        tap.ok(s == 404, "triage of %s: 404" % bad, r)
        tap.ok(c.call("EXISTS", "lw:{alerts:%s}:history:1-1" % bad.split(":")[0]) == 0, "and nothing written")
    for bad in ("s a:1-0", "s-a:", ":1-0", "s-a:1-0:2", "s-a/1-0", "s" * 64 + ":1-0" + "0" * 60):
        s, b = con.get("/api/alerts/" + urllib.parse.quote(bad, safe=":/"))
        tap.ok(s in (400, 404) and isinstance(b, dict) and b.get("error"), "malformed id %r refused" % bad, b)
    s, b = con.get("/api/alerts?before=" + urllib.parse.quote("s-a:1-0,bad id"))
    tap.ok(s == 400, "a malformed cursor: 400", b)
    c.close()


def check_reindex(tap, con, rs):
    c = rs.client()
    before = {s: lwalerts.dump_index(c, tag="alerts:%s" % s) for s in SENSORS}
    r = subprocess.run([lwconsole.binary()] + con.args + ["--reindex"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=300)
    err = r.stderr.decode()
    tap.ok(r.returncode == 0 and "reindexed" in err and all("shard %s" % s in err for s in SENSORS),
           "--reindex runs over both shards", err[-500:])
    for s in SENSORS:
        after = lwalerts.dump_index(c, tag="alerts:%s" % s)
        tap.ok(before[s] and after == before[s], "--reindex gives %s's write-time index (%d keys)" % (s, len(after)),
               sorted(set(before[s]) ^ set(after))[:5])
    tap.ok(c.call("EXISTS", "lw:{alerts}") == 0 and not c.keys("lw:{alerts}:*"),
           "no shared stream or index was made")
    c.close()


def check_cluster(tap, tmp):
    """The console on a Redis Cluster: alerts of two sensors, per-sensor."""
    if not lwcluster.available():
        tap.ok(True, "cluster: skipped, redis-cli not installed")
        return
    with lwcluster.RedisCluster(os.path.join(tmp, "cluster")) as rc:
        seeds = "[%s]" % ",".join(rc.seeds())
        auth = ["redis.username=%s" % lwcluster.USER, "redis.password=%s" % lwcluster.PASSWORD]
        events = lwalerts.gen_events(40, seed=7)
        fed = []
        for i, sensor in enumerate(SENSORS):
            part = [e for j, e in enumerate(events) if j % 2 == i and "timestamp" in e]
            r = lwalerts.feed(rc.nodes[0].port, part, sensor, os.path.join(tmp, "cspool"),
                              ["redis.cluster=" + seeds, "redis.alerts-layout=per-sensor"] + auth)
            tap.ok(r.returncode == 0, "cluster: %d alerts of %s written" % (len(part), sensor), r.stderr[-500:])
            fed += [(sensor, e) for e in part]
        con = lwconsole.Console(tmp, rc.nodes[0].port)
        con.args += ["--set", "redis.cluster=" + seeds]
        for a in auth:
            con.args += ["--set", a]
        con.add_user()
        con.start()
        try:
            s, sess, b = con.login()
            tap.ok(s == 200 and sess.startswith("lw_session="), "cluster: login (the session script)", b)
            s, b = con.get("/api/alerts?limit=1000", auth=sess)
            tap.ok(s == 200 and len(b["alerts"]) == len(fed) and
                   collections.Counter((a["sensor"], a["event"]["timestamp"]) for a in b["alerts"]) ==
                   collections.Counter((sn, e["timestamp"]) for sn, e in fed),
                   "cluster: /api/alerts lists both sensors' alerts once (%d)" % len(fed),
                   b if s != 200 else len(b["alerts"]))
            one = b["alerts"] if s == 200 else []
            p = pages(con, "", 6)
            tap.ok(p is not None and [a["id"] for a in p] == [a["id"] for a in one],
                   "cluster: pages of 6 are the one-page list", p)
            for sensor in SENSORS:
                a = next((x for x in one if x["sensor"] == sensor), None)
                if a is None:
                    tap.ok(False, "cluster: an alert of %s" % sensor)
                    continue
                s, d = con.get("/api/alerts/" + a["id"])
                s2, _, t = con.request("/api/alerts/%s/triage" % a["id"], body={"status": "escalated"})
                tap.ok(s == 200 and s2 == 200 and t["triage"]["status"] == "escalated",
                       "cluster: detail and triage of %s" % a["id"], (d, t))
            s, b = con.get("/api/alerts?status=escalated")
            tap.ok(s == 200 and len(b["alerts"]) == 2, "cluster: status filter over both shards", b)
            check_cluster_live(tap, con, rc)
        finally:
            con.stop()


def check_cluster_live(tap, con, rc):
    """Live alerts on a cluster: the console subscribes on the first seed;
    when that node dies it subscribes on the next, and an alert published
    on a third node still arrives (PUBLISH reaches every node)."""
    sock, buf = sse_open(con)
    tap.ok(b"linkwatch live alerts" in buf, "cluster: live alerts stream opens", buf[-300:])
    other = rc.nodes[2]
    c = other.client()
    ev = '{"event_type":"alert","alert":{"signature_id":2}}'
    lwredis.wait_for(lambda: c.call("PUBLISH", "lw:alerts", ev) > 0, 5)
    buf = sse_read(sock, buf, ev.encode(), time.time() + 10)
    tap.ok(b"data: " + ev.encode() in buf, "cluster: an alert published on another node arrives", buf[-300:])
    rc.nodes[0].kill()               # the node the console subscribed on
    ev2 = ev.replace("2}", "3}")
    buf = sse_read(sock, buf, ev2.encode(), time.time() + 20, step=lambda: c.call("PUBLISH", "lw:alerts", ev2))
    c.close()
    sock.close()
    tap.ok(b"data: " + ev2.encode() in buf,
           "cluster: its node killed, the stream goes on from another node", buf[-300:])


def main():
    if not lwredis.available():
        lwtest.skip("redis-server not installed")
    if not os.path.exists(lwconsole.binary()) or not os.path.exists(lwalerts.alertfeed()):
        lwtest.skip("linkwatch-console or tests/gen/alertfeed not built")
    lwtest.require_scapy()
    tap = lwtest.Tap()
    with lwtest.TempDir("console-shards") as tmp:
        with lwredis.RedisServer(tmp) as rs:
            alerts = fill(tmp, rs, tap)
            c = rs.client()
            shards = sorted(x.decode() for x in c.call("SMEMBERS", "lw:alert-shards"))
            tap.ok(shards == sorted(SENSORS) and c.call("EXISTS", "lw:{alerts}") == 0,
                   "per-sensor: two shards named in lw:alert-shards, no shared stream", shards)
            c.close()
            con = lwconsole.Console(tmp, rs.port)
            r = con.add_user()
            tap.ok(r.returncode == 0, "--add-user", r.stderr)
            con.start()
            try:
                got = check_list(tap, con, alerts)
                if got:
                    check_filters(tap, con, alerts, got)
                    check_groups(tap, con, alerts)
                    check_detail_triage(tap, con, rs, got)
                s, b = con.get("/api/sensors")
                tap.ok(s == 200 and sorted(x["id"] for x in b.get("sensors", [])) == sorted(SENSORS),
                       "/api/sensors lists both", b)
            finally:
                con.stop()
            check_reindex(tap, con, rs)
        check_cluster(tap, tmp)
    tap.done()


if __name__ == "__main__":
    main()
