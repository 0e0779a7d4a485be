#!/usr/bin/env python3
"""test_console_index.py - the alert indexes the sensor's Redis writer keeps
next to the stream (sensor/redis/alert-index.c) and the console's answers
from them (dashboards/console-query.c), against a scan of the stream.

10,000 generated alerts of two sensors go through the writer itself
(tests/gen/alertfeed); a real redis-server is started here. Checked:
  - the text search returns the same alerts as a scan, for whole words,
    word starts and ends, inner parts, several words, punctuation, case,
    non-ASCII text and texts no signature has;
  - every filter alone with several values, every pair of filters, a set of
    triples and all of them at once, paged with before=, against the scan
    (the filters' meaning written again in tests/lib/lwalerts.py);
  - a filter with no index (a CIDR wider than /16 or /56) says so and is
    still right; the groups from the counters equal the scan's;
  - linkwatch-console --reindex gives exactly the write-time indexes;
  - with redis.alerts-stream-maxlen, the stream keeps its length and every
    index key is trimmed with it: no list, status set, signature, time or
    group outlives the alerts it counts, and the lists equal a rebuild;
  - alerts written before the index are read from the stream (and said to
    be) until --reindex files them; while a reindex holds the lock the
    writer adds alerts unfiled and the console reads the stream.
"""

import collections
import itertools
import json
import os
import random
import subprocess
import urllib.parse

import lwtest
import lwredis
import lwconsole
import lwalerts


def all_ids(con, params):
    """Pages through /api/alerts?params; returns (ids, first answer) or (None, error)."""
    out, before, first = [], None, None
    for _ in range(200):
        p = dict(params, limit=1000)
        if before:
            p["before"] = before
        s, b = con.get("/api/alerts?" + urllib.parse.urlencode(p))
        if s != 200:
            return None, b
        first = first or b
        out += [a["id"] for a in b["alerts"]]
        before = b["next"]
        if not before:
            return out, first
    return None, "did not end"


def check_query(tap, con, entries, states, params, what=None):
    got, first = all_ids(con, params)
    want = lwalerts.expected_ids(entries, states, params)
    ok = got == want
    tap.ok(ok, "%s: %d alerts, as a scan" % (what or urllib.parse.urlencode(params), len(want)),
           None if ok else "got %s, want %d; first answer %s" % (
               len(got) if got is not None else first, len(want), str(first)[:300]))
    return first if ok else None


def check_text(tap, con, entries, states):
    sigs = sorted({ev["alert"]["signature"] for _, _, ev in entries if ev and "alert" in ev})
    long_sig = max(sigs, key=len)
    texts = ["scan", "SCAN", "sCaN", "Suspic", "picious", "uspiciou", "SCAN Suspicious",
             "brute-force", "rute-fo", ".onion", "(2024)", "x-cmd", "3306", "330", "port 3306",
             "café", "caf", "é", "s", "E", "ET ", " to ", "GPL ATTACK_RESPONSE", "ATTACK_",
             long_sig, long_sig + "x", long_sig.lower(), "zzzz", "-", "  ", "LW check"]
    for t in texts:
        check_query(tap, con, entries, states, {"q": t}, "text search q=%r" % t)
    check_query(tap, con, entries, states, {"q": "scan", "severity": "1"}, "text search with severity")


def values(entries):
    """Filter values drawn from the data, several per filter (some match
    nothing, some need a network of /24s, some have no index)."""
    evs = [ev for _, _, ev in entries if ev]
    t = lwalerts.eve_seconds(evs[len(evs) // 2]["timestamp"])
    sids = collections.Counter(e["alert"]["signature_id"] for e in evs)
    v4 = next(e["src_ip"] for e in evs if "." in e["src_ip"])
    v6 = next(e["dest_ip"] for e in evs if ":" in e["dest_ip"])
    return {
        "from": [str(t)], "to": [str(t + 1800)],
        "severity": ["1", "2,3"],
        "sid": [str(sids.most_common()[0][0]), str(sids.most_common()[-1][0]), "2100001,2100002", "999"],
        "q": ["scan", "ET "],
        "src": [v4, v4.rsplit(".", 1)[0] + ".0/24", "10.1.0.0/20", "10.0.0.0/8", v6 + "/64", "2001:db8::/60",
                "2001:db8::/32"],
        "dst": [v6, "10.2.0.0/16", v4.rsplit(".", 1)[0] + ".128/25"],
        "ip": ["10.1.3.0/24", "2001:db8:1::/56", "10.1.0.0/15"],
        "country": ["US", "--"],
        "scope": ["cross-border", "domestic"],
        "sensor": ["edge-1", "nosuch"],
        "proto": ["TLS", "ssh", "dns"],
        "status": ["new", "acknowledged", "closed"],
    }


def check_filters(tap, con, entries, states):
    vals = values(entries)
    names = sorted(vals)
    for n in names:
        for v in vals[n]:
            check_query(tap, con, entries, states, {n: v})
    rnd = random.Random(7)
    for i, (a, b) in enumerate(itertools.combinations(names, 2)):
        check_query(tap, con, entries, states, {a: vals[a][i % len(vals[a])], b: vals[b][i % len(vals[b])]})
    for _ in range(40):
        chosen = rnd.sample(names, 3)
        check_query(tap, con, entries, states, {n: rnd.choice(vals[n]) for n in chosen})
    check_query(tap, con, entries, states, {n: vals[n][0] for n in names}, "every filter at once")
    # how the answers were found
    s, b = con.get("/api/alerts?severity=1&country=US")
    tap.ok(s == 200 and b["index"]["driver"] in ("severity=1", "country=US") and not b["partial"],
           "severity=1&country=US is driven by an index", b.get("index"))
    s, b = con.get("/api/alerts?ip=10.0.0.0/8")
    tap.ok(s == 200 and b["index"]["driver"] == "stream" and
           any("no index" in n and "bounded in time" in n for n in b["index"]["notes"]),
           "a CIDR wider than /16 says it has no index and reads the stream, bounded", b.get("index"))
    s, b = con.get("/api/alerts?src=2001:db8::/48")
    tap.ok(s == 200 and any("no index" in n for n in b["index"]["notes"]), "so does an IPv6 /48", b.get("index"))
    s, b = con.get("/api/alerts?status=new&severity=1")
    tap.ok(s == 200 and b["index"]["driver"] == "severity=1" and
           any("status=new" in n for n in b["index"]["notes"]),
           "status=new has no index: the other filter drives, new is checked on each", b.get("index"))


def check_groups(tap, con, entries, states):
    truth = lwalerts.groups_of(entries)
    s, b = con.get("/api/groups?limit=1000")
    ok = s == 200 and b["total_groups"] == len(truth)
    tap.ok(ok, "groups from the counters: %d groups in all, as a scan" % len(truth), b if s != 200 else b["total_groups"])
    if not ok:
        return
    got = b["groups"]
    counts = [g["count"] for g in got]
    tap.ok(counts == sorted(counts, reverse=True) and len(got) == min(1000, len(truth)),
           "largest first, the limit given")
    bad = [g for g in got if truth.get((g["sid"], g["src_ip"], g["dest_ip"]), [0])[0] != g["count"] or
           truth[(g["sid"], g["src_ip"], g["dest_ip"])][1:] != [g.get("first_seen"), g.get("last_seen")]]
    tap.ok(not bad, "each group's count, first and last seen are the scan's", bad[:3])
    floor = min(counts)
    missing = [k for k, v in truth.items() if v[0] > floor and
               not any((g["sid"], g["src_ip"], g["dest_ip"]) == k for g in got)]
    tap.ok(not missing, "no group larger than the smallest listed is left out", missing[:3])
    tap.ok(all(g.get("signature") and g.get("severity") for g in got), "groups carry signature and severity")
    for q in ({"severity": "1"}, {"country": "US", "scope": "cross-border"}, {"q": "scan"}):
        s, b = con.get("/api/groups?limit=1000&" + urllib.parse.urlencode(q))
        want = lwalerts.groups_of(entries, states, q)
        got = {(g["sid"], g["src_ip"], g["dest_ip"]): g["count"] for g in b.get("groups", [])}
        tap.ok(s == 200 and not b["partial"] and b["total_groups"] == len(want) and
               all(want[k][0] == v for k, v in got.items()),
               "groups with %s: %d groups, as a scan" % (urllib.parse.urlencode(q), len(want)),
               b.get("index") if s == 200 else b)


def triage_some(con, ids, rnd):
    """Sets statuses on a few alerts (one moved twice, one back to new)."""
    for i, st in zip(ids, itertools.cycle(["acknowledged", "escalated", "closed"])):
        s, _, b = con.request("/api/alerts/%s/triage" % i, body={"status": st})
        if s != 200:
            return False
    con.request("/api/alerts/%s/triage" % ids[0], body={"status": "closed"})
    con.request("/api/alerts/%s/triage" % ids[1], body={"status": "new"})
    return True


def reindex(con, prefix="lw"):
    return subprocess.run([lwconsole.binary()] + con.args + ["--reindex"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=600)


def check_reindex_same(tap, con, c):
    before = lwalerts.dump_index(c)
    r = reindex(con)
    after = lwalerts.dump_index(c)
    tap.ok(r.returncode == 0 and "reindexed" in r.stderr.decode(), "--reindex runs", r.stderr.decode()[-300:])
    diff = [k for k in set(before) | set(after) if before.get(k) != after.get(k)]
    tap.ok(before and not diff, "--reindex gives exactly the write-time indexes (%d keys)" % len(before),
           [(k, str(before.get(k))[:120], str(after.get(k))[:120]) for k in sorted(diff)[:3]])


def check_trimmed(tap, c, con, maxlen):
    """Every index key holds only what the stream still has."""
    entries = lwalerts.stream_entries(c)
    ids = {i for i, _, _ in entries}
    first = lwalerts.id_key(entries[0][0])
    tap.ok(maxlen <= len(entries) <= maxlen + 64, "the stream keeps to redis.alerts-stream-maxlen (%d, %d)" %
           (maxlen, len(entries)))
    ix = lwalerts.dump_index(c)
    lists = lwalerts.index_lists(ix)
    stray = [(k, v[0]) for k, v in lists.items() if any(i not in ids for i in v)]
    tap.ok(lists and not stray, "every index list holds only ids in the stream (%d lists)" % len(lists), stray[:3])
    unordered = [k for k, v in lists.items() if [lwalerts.id_key(i) for i in v] != sorted(lwalerts.id_key(i) for i in v)]
    tap.ok(not unordered, "index lists are in stream order", unordered[:3])
    st = {k: v for k, v in ix.items() if b":ix:status:" in k}
    old = [k for k, v in st.items() if any(lwalerts.id_key(m.decode()) < first for m in v if b"-" in m)]
    tap.ok(not old, "no status set keeps a trimmed alert", old)
    msg = ix.get(b"lw:{alerts}:ix:msg", {})
    sids = {k.rsplit(b":", 1)[1] for k in lists if b":ix:sid:" in k}
    tap.ok(set(msg) == sids, "signatures are kept exactly while their sid has alerts (%d)" % len(sids),
           (sorted(set(msg) ^ sids))[:5])
    words = ix.get(b"lw:{alerts}:ix:words", [])
    wsids = {m.rsplit(b" ", 1)[1] for m in words if m != b"0"}
    tap.ok(wsids <= sids, "the word index names no sid without alerts", sorted(wsids - sids)[:5])
    tm = ix.get(b"lw:{alerts}:ix:time", {})
    stale = [m for m, v in tm.items() if lwalerts.id_key(v.split()[1].decode()) < first]
    tap.ok(not stale, "no capture minute outlives its alerts", stale[:3])
    truth = lwalerts.groups_of(entries)
    counted = {}
    for k, v in ix.items():
        if b":ix:grp:" in k:
            for f, val in v.items():
                sid, src, dst = f.decode().split("|")
                counted[(int(sid), src, dst)] = int(val.split()[0])
    tap.ok(counted == {k: v[0] for k, v in truth.items()},
           "group counters count exactly the alerts left (%d groups)" % len(truth),
           "%d counted, %d in the stream" % (len(counted), len(truth)))
    meta = ix.get(b"lw:{alerts}:ix:meta", {})
    tap.ok(int(meta.get(b"groups", b"-1")) == len(truth), "the group total too", meta)
    # a rebuild from what is left gives the same lists and counts (time
    # map firsts may be older: a minute's first alert trimmed keeps its id)
    r = reindex(con)
    after = lwalerts.dump_index(c)
    diff = []
    for k in set(ix) | set(after):
        a, b = ix.get(k), after.get(k)
        if k.endswith(b":ix:time") and a and b and set(a) == set(b):
            if all(lwalerts.id_key(a[m].split()[0].decode()) <= lwalerts.id_key(b[m].split()[0].decode()) and
                   a[m].split()[1] == b[m].split()[1] for m in a):
                continue
        if k.startswith(b"lw:{alerts}:ix:grp:") and a and b and set(a) == set(b):
            # counts equal; first/last may reach past what is left
            if all(a[f].split()[0] == b[f].split()[0] for f in a):
                continue
        if a != b:
            diff.append(k)
    tap.ok(r.returncode == 0 and not diff, "after trimming, the indexes equal a rebuild from the stream",
           [(k, str(ix.get(k))[:100], str(after.get(k))[:100]) for k in sorted(diff)[:3]])


def check_trimming(tap, tmp):
    os.makedirs(os.path.join(tmp, "trim"))
    with lwredis.RedisServer(os.path.join(tmp, "trim")) as rs:
        c = rs.client(timeout=60)
        c.call("CONFIG", "SET", "appendonly", "no")
        spool = os.path.join(tmp, "spool-trim")
        evs = lwalerts.gen_events(10000, seed=3)
        maxlen = ["redis.alerts-stream-maxlen=1500"]
        r = lwalerts.feed(rs.port, evs[:3000], "edge-1", spool, maxlen)
        tap.ok(r.returncode == 0, "trim: 3000 alerts through the writer", r.stderr.decode()[-300:])
        con = lwconsole.Console(os.path.join(tmp, "trim"), rs.port)
        con.add_user()
        con.start()
        try:
            oldest = [i for i, _, _ in lwalerts.stream_entries(c)[:30]]
            tap.ok(triage_some(con, oldest, random.Random(2)), "trim: triage 30 of the oldest")
            r = lwalerts.feed(rs.port, evs[3000:], "edge-1", spool, maxlen)
            tap.ok(r.returncode == 0, "trim: 7000 more", r.stderr.decode()[-300:])
            check_trimmed(tap, c, con, 1500)
            entries = lwalerts.stream_entries(c)
            got, _ = all_ids(con, {})
            tap.ok(got == [i for i, _, _ in reversed(entries)], "trim: the list is the stream, newest first")
            check_query(tap, con, entries, lwalerts.triage(c), {"severity": "2", "scope": "cross-border"},
                        "trim: severity=2&scope=cross-border")
        finally:
            con.stop()
        c.close()


def check_unindexed(tap, tmp):
    """Alerts written before the index (an older sensor), and the lock."""
    os.makedirs(os.path.join(tmp, "old"))
    with lwredis.RedisServer(os.path.join(tmp, "old")) as rs:
        c = rs.client(timeout=60)
        c.call("CONFIG", "SET", "appendonly", "no")
        evs = lwalerts.gen_events(2000, seed=5)
        for n, e in enumerate(evs[:800]):
            c.call("XADD", "lw:{alerts}", "*", "sensor", "old", "seq", str(n + 1),
                   "event", json.dumps(e, separators=(",", ":")))
        spool = os.path.join(tmp, "spool-old")
        r = lwalerts.feed(rs.port, evs[800:1600], "edge-1", spool)
        tap.ok(r.returncode == 0, "old: 800 alerts without the index, 800 through the writer")
        con = lwconsole.Console(os.path.join(tmp, "old"), rs.port)
        con.add_user()
        con.start()
        try:
            entries, states = lwalerts.stream_entries(c), {}
            b = check_query(tap, con, entries, states, {"severity": "1"}, "old: severity=1 covers both parts")
            tap.ok(b and any("written without the index" in n for n in b["index"]["notes"]),
                   "old: the answer says older alerts were read from the stream", b and b["index"])
            check_query(tap, con, entries, states, {"q": "scan", "ip": "10.1.0.0/16"}, "old: q=scan&ip=10.1.0.0/16")
            # a reindex holds the lock: the writer adds unfiled, the console reads the stream
            c.call("SET", "lw:{alerts}:ix:lock", "someone", "PX", "60000")
            r = lwalerts.feed(rs.port, evs[1600:], "edge-1", spool)
            entries = lwalerts.stream_entries(c)
            b = check_query(tap, con, entries, states, {"severity": "1"}, "lock: severity=1 while locked")
            tap.ok(b and b["index"]["driver"] == "stream" and
                   any("being rebuilt" in n for n in b["index"]["notes"]), "lock: read from the stream, said so",
                   b and b["index"])
            r = reindex(con)
            tap.ok(r.returncode != 0 and "another reindex" in r.stderr.decode(),
                   "lock: a second reindex refuses", r.stderr.decode()[-200:])
            c.call("DEL", "lw:{alerts}:ix:lock")
            r = reindex(con)
            tap.ok(r.returncode == 0, "old: --reindex files them all", r.stderr.decode()[-200:])
            b = check_query(tap, con, entries, states, {"severity": "1"}, "old: severity=1 after the reindex")
            tap.ok(b and not b["index"]["notes"] and b["index"]["driver"] == "severity=1",
                   "old: then from the index alone", b and b["index"])
            tap.ok(c.call("EXISTS", "lw:{alerts}:ix:lock") == 0, "the reindex let go of its lock")
        finally:
            con.stop()
        c.close()


def main():
    if not lwredis.available():
        lwtest.skip("redis-server not installed")
    if not os.path.exists(lwconsole.binary()) or not os.path.exists(lwalerts.alertfeed()):
        lwtest.skip("linkwatch-console or tests/gen/alertfeed not built")
    tap = lwtest.Tap()
    with lwtest.TempDir("console-index") as tmp:
        with lwredis.RedisServer(tmp) as rs:
            c = rs.client(timeout=60)
            c.call("CONFIG", "SET", "appendonly", "no")
            evs = lwalerts.gen_events(10000)
            spool = os.path.join(tmp, "spool")
            for part in range(4):
                r = lwalerts.feed(rs.port, evs[part * 2500:(part + 1) * 2500], "edge-%d" % (part % 2 + 1), spool)
                tap.ok(r.returncode == 0, "2500 alerts through the writer as edge-%d" % (part % 2 + 1),
                       r.stderr.decode()[-300:])
            con = lwconsole.Console(tmp, rs.port)
            con.add_user()
            con.start()
            try:
                entries = lwalerts.stream_entries(c)
                tap.ok(len(entries) == 10000, "10,000 alerts in the stream", len(entries))
                rnd = random.Random(1)
                tap.ok(triage_some(con, rnd.sample([i for i, _, _ in entries], 40), rnd), "triage 40 alerts")
                states = lwalerts.triage(c)
                check_text(tap, con, entries, states)
                check_filters(tap, con, entries, states)
                check_groups(tap, con, entries, states)
                check_reindex_same(tap, con, c)
            finally:
                con.stop()
            c.close()
        check_trimming(tap, tmp)
        check_unindexed(tap, tmp)
    tap.done()


if __name__ == "__main__":
    main()
