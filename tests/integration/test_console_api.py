#!/usr/bin/env python3
"""test_console_api.py - linkwatch-console's JSON API against a real
redis-server (started here on a free loopback port) filled by the sensor
running the shipped rules on generated captures: the demo capture
(tests/gen/gen_demo.py, geolocated with a database built by tests/gen/mkmmdb)
as sensor "demo", and the web-attack and scan cases of the shipped rules
(tests/gen/gen_rule_cases.py) as sensor "rules". Every answer is checked
against the sensors' own eve.json.
List, filters, groups, detail, triage (stored with who and when, survives a
console restart), summaries (personal data sent abroad from pii tallies
seeded here, PII_SEED), sensors, live alerts (SSE); 401 without a
login, 400 on malformed filters; login cookie flags and security headers.
"""

import collections
import grp
import os
import socket
import time
import urllib.parse

import lwtest
import lwredis
import lwconsole
from lwsensor import pcap_header, read_pcap, records_bytes

RULE_CASES = ["web", "scan"]        # tests/gen/gen_rule_cases.py: SQL injection, scans

# pii tallies (docs/redis.md, family pii) seeded by hand, by bucket of the
# summary's window: metric -> "<from>><to>" -> count. Home is CN: JP>CN
# (inbound), CN>CN (internal) and US>JP (transit) were not sent abroad.
PII_SEED = {
    "first": {"cn-id": {"CN>US": 12, "CN>JP": 3, "JP>CN": 50, "CN>CN": 40, "US>JP": 7},
              "bank-card": {"CN>JP": 5}, "email": {"CN>US": 1, "CN>GB": 2},
              "bodies": {"CN>US": 3, "CN>JP": 2, "CN>GB": 1, "JP>CN": 9, "CN>CN": 4}},
    "last": {"cn-id": {"CN>JP": 20}, "cn-mobile": {"CN>US": 4}, "passport-cn": {"CN>GB": 1},
             "bodies": {"CN>JP": 1, "CN>US": 1}},
    "before": {"cn-id": {"CN>US": 1000}},           # outside the window
    "after": {"email": {"CN>GB": 1000}},
}
# What the summary answers for PII_SEED: per country, the largest total (of
# the five types, bodies apart) first; US has more bodies than JP.
PII_ABROAD = [
    {"country": "JP", "cn-id": 23, "bank-card": 5, "cn-mobile": 0, "email": 0, "passport-cn": 0,
     "bodies": 3, "total": 28},
    {"country": "US", "cn-id": 12, "bank-card": 0, "cn-mobile": 4, "email": 1, "passport-cn": 0,
     "bodies": 4, "total": 17},
    {"country": "GB", "cn-id": 0, "bank-card": 0, "cn-mobile": 0, "email": 2, "passport-cn": 1,
     "bodies": 1, "total": 3},
]


def seed_pii(rs, scope, summary):
    """HINCRBYs PII_SEED into scope's minute buckets around the window of a
    summary answer (its from and to)."""
    last = summary["to"] - 1 - (summary["to"] - 1) % 60
    start = {"first": summary["from"], "last": last, "before": summary["from"] - 60, "after": last + 60}
    c = rs.client()
    for at, metrics in PII_SEED.items():
        for metric, members in metrics.items():
            for member, n in members.items():
                c.call("HINCRBY", "lw:{%s:m:%d}:pii:%s" % (scope, start[at], metric), member, n)
    c.close()


def add_abroad(base, more):
    """pii_abroad lists base and more added up, in the answer's order."""
    per = {}
    for row in base + more:
        o = per.setdefault(row["country"], {"country": row["country"]})
        for k, v in row.items():
            if k != "country":
                o[k] = o.get(k, 0) + v
    return sorted(per.values(), key=lambda r: (-r["total"], r["country"]))


def shifted(pcap, out, start_us):
    """Writes pcap with its times moved so that it starts at start_us."""
    lt, recs = read_pcap(pcap)
    with open(out, "wb") as f:
        f.write(pcap_header(lt) + records_bytes(recs, start_us - recs[0][0]))
    return out


def fill(tmp, rs, tap, later=()):
    """Runs the sensor on the generated captures; returns the EVE alerts
    with their sensor id. The demo may be followed by copies of it the
    seconds in `later` after it (one capture over several minutes). The rule
    cases are moved to ten minutes before the demo, so the console's last
    hour and day hold both sensors."""
    demo, mmdb = lwtest.demo_capture(tmp)
    cases = lwtest.generate_cases("gen_rule_cases.py", os.path.join(tmp, "cases"))
    start = read_pcap(demo)[1][0][0]
    copies = [shifted(demo, os.path.join(tmp, "demo-later-%d.pcap" % n), start + sec * 1000000)
              for n, sec in enumerate(later)]
    runs = [("demo", [demo] + copies),
            ("rules", [shifted(os.path.join(tmp, "cases", cases[c]["pcap"]),
                               os.path.join(tmp, c + "-shifted.pcap"), start - 600 * 1000000) for c in RULE_CASES])]
    return run_sensors(tmp, rs, tap, mmdb, runs)


def run_sensors(tmp, rs, tap, mmdb, runs, extra=()):
    """Runs the sensor once per (sensor id, [captures]) of runs, writing to
    rs (extra: more --set arguments); returns their EVE alerts [(sensor, event)]."""
    alerts = []
    for sensor, reads in runs:
        args = ["-c", os.path.join(lwtest.srcdir(), "linkwatch.yaml"),
                "--set", "geoip.databases=[%s]" % mmdb]
        for r in reads[1:]:
            args += ["-r", r]
        args += lwredis.redis_args(rs.port, os.path.join(tmp, "spool"), sensor, list(extra))
        run = lwtest.run_sensor(reads[0], os.path.join(tmp, "log-" + sensor), args, timeout=300)
        tap.ok(run.rc == 0, "sensor %s: exits 0" % sensor, run.stderr[-2000:])
        evs = [e for e in lwtest.read_eve(os.path.join(tmp, "log-" + sensor, "eve.json"))
               if e.get("event_type") == "alert"]
        tap.ok(len(evs) > 0, "sensor %s: %d alerts" % (sensor, len(evs)))
        alerts += [(sensor, e) for e in evs]
    return alerts


def all_alerts(con, query="", limit=1000):
    """Pages through /api/alerts?query: (200, the alerts) or (status, error)."""
    out, before = [], None
    while True:
        q = query + ("&" if query else "") + "limit=%d" % limit + ("&before=" + before if before else "")
        s, b = con.get("/api/alerts?" + q)
        if s != 200:
            return s, b
        out += b["alerts"]
        before = b["next"]
        if not before:
            return 200, out


def key(e):
    return (e["timestamp"], e["alert"]["signature_id"], e["src_ip"], e.get("src_port"), e["dest_ip"])


def main():
    if not lwredis.available():
        lwtest.skip("redis-server not installed")
    if not os.path.exists(lwconsole.binary()):
        lwtest.skip("linkwatch-console not built")
    lwtest.require_scapy()
    tap = lwtest.Tap()
    with lwtest.TempDir("console-api") as tmp, lwredis.RedisServer(tmp) as rs:
        alerts = fill(tmp, rs, tap)
        tap.ok(len(alerts) > 0, "the sensor raised alerts (%d)" % len(alerts))
        con = lwconsole.Console(tmp, rs.port)
        r = con.add_user()
        tap.ok(r.returncode == 0, "--add-user reads the password from stdin", r.stderr)
        line = open(con.users).read()
        tap.ok(line.startswith(lwconsole.USER + ":$y$"), "users file holds a yescrypt hash", line)
        st = os.stat(con.users)
        if os.geteuid() == 0:
            # root writes it for console.user (nobody): its group may read it, nobody else
            tap.ok(oct(st.st_mode & 0o777) == "0o640" and st.st_gid == grp.getgrnam("nogroup").gr_gid,
                   "users file is 0640, group of console.user", (oct(st.st_mode), st.st_gid))
        else:
            tap.ok(oct(st.st_mode & 0o777) == "0o600", "users file is 0600")
        con.start()
        try:
            check_auth(tap, con)
            check_list(tap, con, alerts)
            check_filters(tap, con, alerts)
            check_bad(tap, con)
            check_groups(tap, con, alerts)
            check_detail_triage(tap, con, rs)
            check_summary(tap, con, alerts)
            check_pii(tap, con, rs)
            check_live(tap, con, rs)
            con.stop()
            con.start()
            s, b = con.get("/api/alerts?status=acknowledged")
            tap.ok(s == 200 and len(b["alerts"]) == 1, "triage survives a console restart", b)
        finally:
            con.stop()
    tap.done()


def check_auth(tap, con):
    for path in ("/api/alerts", "/api/groups", "/api/summary", "/api/sensors", "/api/alerts/1-0",
                 "/api/events", "/api/me"):
        s, b = con.get(path, auth=False)
        tap.ok(s == 401, "%s without a login: 401" % path, b)
    s, _, b = con.request("/api/alerts/1-0/triage", body={"status": "closed"}, auth=False)
    tap.ok(s == 401, "triage without a login: 401", b)
    s, _, b = con.request("/api/alerts", auth="lw_session=" + "0" * 64)
    tap.ok(s == 401, "a made-up session cookie: 401", b)
    s, _, b = con.request("/api/login", body={"user": lwconsole.USER, "password": "wrong"}, auth=False)
    tap.ok(s == 401, "login with a wrong password: 401", b)
    s, h, b = con.request("/api/login", body={"user": lwconsole.USER, "password": lwconsole.PASSWORD},
                          auth=False)
    cookie = h.get("Set-Cookie", "")
    tap.ok(s == 200 and "HttpOnly" in cookie and "SameSite=Strict" in cookie,
           "login sets an HttpOnly SameSite=Strict session cookie", cookie)
    sess = cookie.split(";")[0]
    s, h, b = con.request("/api/me", auth=sess)
    tap.ok(s == 200 and b.get("user") == lwconsole.USER, "the session cookie authenticates", b)
    csp = h.get("Content-Security-Policy", "")
    tap.ok("default-src 'none'" in csp and "frame-ancestors 'none'" in csp and
           h.get("X-Content-Type-Options") == "nosniff", "security headers on API answers", str(h))
    s, h, b = con.request("/", auth=False)
    tap.ok(s == 200 and "script-src 'self'" in h.get("Content-Security-Policy", ""),
           "the page is served with a CSP", str(h))
    s, _, b = con.request("/api/alerts/1-0/triage", body=b"status=closed", auth=sess,
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    tap.ok(s == 415, "a form post (cross-site shape) is refused", b)
    s, _, b = con.request("/api/logout", body={}, auth=sess)
    s, b = con.get("/api/me", auth=sess)
    tap.ok(s == 401, "after logout the cookie no longer works", b)


def check_list(tap, con, alerts):
    s, got = all_alerts(con)
    tap.ok(s == 200 and len(got) == len(alerts), "list pages through every alert (%d)" % len(alerts),
           "got %s" % (len(got) if s == 200 else got))
    if s != 200:
        return
    tap.ok(collections.Counter(key(a["event"]) for a in got) ==
           collections.Counter(key(e) for _, e in alerts), "the listed alerts are the EVE alerts")
    ids = [a["id"] for a in got]
    tap.ok(ids == sorted(ids, key=lambda i: tuple(map(int, i.split("-"))), reverse=True),
           "newest first")
    tap.ok(all(a["status"] == "new" for a in got), "untriaged alerts are 'new'")
    s, b = con.get("/api/alerts?limit=5")
    tap.ok(s == 200 and len(b["alerts"]) == 5 and b["next"], "limit and a cursor to older alerts")


def check_filters(tap, con, alerts):
    def want(pred):
        return collections.Counter(key(e) for s, e in alerts if pred(s, e))

    def geo(e, end):
        return e.get("geo", {}).get(end, {}).get("country")

    sevs = sorted({e["alert"]["severity"] for _, e in alerts})
    sids = collections.Counter(e["alert"]["signature_id"] for _, e in alerts)
    countries = collections.Counter(c for _, e in alerts for c in {geo(e, "src"), geo(e, "dest")} if c)
    cases = [("severity=%d" % sevs[0], lambda s, e: e["alert"]["severity"] == sevs[0]),
             ("severity=" + ",".join(map(str, sevs)), lambda s, e: True),
             ("sid=%d" % sids.most_common()[-1][0],
              lambda s, e: e["alert"]["signature_id"] == sids.most_common()[-1][0]),
             ("sensor=demo", lambda s, e: s == "demo"),
             ("ip=10.1.0.0/16", lambda s, e: e["src_ip"].startswith("10.1.") or e["dest_ip"].startswith("10.1.")),
             ("src=10.1.4.32", lambda s, e: e["src_ip"] == "10.1.4.32"),
             ("dst=10.0.0.0/8", lambda s, e: e["dest_ip"].startswith("10.")),
             ("q=" + urllib.parse.quote("cross-border"), lambda s, e: "cross-border" in e["alert"]["signature"].lower()),
             ("status=new", lambda s, e: True),
             ("status=closed", lambda s, e: False)]
    for c in list(countries)[:3]:
        cases.append(("country=%s" % c, lambda s, e, c=c: c in (geo(e, "src"), geo(e, "dest"))))
    if any(e.get("geo", {}).get("scope", "").startswith("cross-border") for _, e in alerts):
        cases.append(("scope=cross-border", lambda s, e: e.get("geo", {}).get("scope", "").startswith("cross-border")))
    ts = sorted(e["timestamp"] for _, e in alerts)
    mid = lwredis.eve_epoch(ts[len(ts) // 2])
    cases.append(("from=%d" % mid, lambda s, e: lwredis.eve_epoch(e["timestamp"]) >= mid))
    cases.append(("to=%s" % time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(mid)),
                  lambda s, e: lwredis.eve_epoch(e["timestamp"]) < mid))
    cases.append(("severity=%d&country=%s" % (sevs[0], list(countries)[0] if countries else "CN"),
                  lambda s, e: e["alert"]["severity"] == sevs[0] and
                  (list(countries)[0] if countries else "CN") in (geo(e, "src"), geo(e, "dest"))))
    for q, pred in cases:
        s, got = all_alerts(con, q)
        w = want(pred)
        tap.ok(s == 200 and collections.Counter(key(a["event"]) for a in got) == w,
               "filter %s: %d alerts as in eve.json" % (q, sum(w.values())),
               "status %s, got %s" % (s, len(got) if s == 200 else got))


def check_bad(tap, con):
    for q in ("severity=x", "severity=0", "sid=12a", "src=999.1.1.1", "ip=10.0.0.0/33", "country=USA",
              "scope=galaxy", "status=maybe", "from=yesterday", "limit=0", "limit=100000",
              "before=abc", "sensor=" + urllib.parse.quote("a b"), "nosuch=1",
              "q=" + "x" * 300, "sensor=" + urllib.parse.quote("*\r\nFLUSHALL")):
        s, b = con.get("/api/alerts?" + q)
        tap.ok(s == 400 and isinstance(b, dict) and b.get("error"), "400 with a message for %s" % q[:40], b)
    s, b = con.get("/api/alerts/not-an-id")
    tap.ok(s == 400, "400 for a malformed alert id", b)
    s, b = con.get("/api/alerts/1-1")
    tap.ok(s == 404, "404 for an alert not in the stream", b)
    s, b = con.get("/api/summary?res=d")
    tap.ok(s == 400, "400 for summary res=d", b)


def check_groups(tap, con, alerts):
    s, b = con.get("/api/groups?limit=1000")
    want = collections.Counter((e["alert"]["signature_id"], e["src_ip"], e["dest_ip"]) for _, e in alerts)
    got = {(g["sid"], g["src_ip"], g["dest_ip"]): g["count"] for g in b.get("groups", [])} if s == 200 else {}
    tap.ok(got == dict(want), "groups: same sid+src+dst collapsed with their counts (%d groups)" % len(want),
           "got %d groups" % len(got))
    if s == 200 and b["groups"]:
        g = b["groups"][0]
        times = sorted(e["timestamp"] for _, e in alerts
                       if (e["alert"]["signature_id"], e["src_ip"], e["dest_ip"]) == (g["sid"], g["src_ip"], g["dest_ip"]))
        tap.ok(g["first_seen"] == times[0] and g["last_seen"] == times[-1] and g["count"] == max(want.values()),
               "largest group first, with first and last seen", g)
    s, b = con.get("/api/groups?severity=1")
    tap.ok(s == 200 and all(g["severity"] == 1 for g in b["groups"]), "groups take the filters")


def check_detail_triage(tap, con, rs):
    s, b = con.get("/api/alerts?limit=3")
    a = b["alerts"][0]
    s, d = con.get("/api/alerts/" + a["id"])
    tap.ok(s == 200 and d["event"] == a["event"] and d["status"] == "new" and d["history"] == [],
           "detail: the full EVE record, untriaged", d)
    tap.ok("flow" in d["event"] and "alert" in d["event"] and "metadata" in d["event"]["alert"],
           "detail: flow and metadata of the alert")
    note = "checked with the owner <script>alert(1)</script> ;FLUSHALL"
    s, _, t = con.request("/api/alerts/%s/triage" % a["id"],
                          body={"status": "acknowledged", "note": note, "assignee": "bob"})
    tap.ok(s == 200 and t["triage"]["status"] == "acknowledged" and t["triage"]["by"] == lwconsole.USER
           and t["triage"]["assignee"] == "bob", "acknowledge with a note and assignee, by the logged-in user", t)
    s, d = con.get("/api/alerts/" + a["id"])
    h = d["history"]
    tap.ok(s == 200 and d["status"] == "acknowledged" and len(h) == 1 and h[0]["note"] == note
           and h[0]["by"] == lwconsole.USER and abs(h[0]["at"] - time.time()) < 60,
           "the note is stored verbatim with who and when", d)
    c = rs.client()
    raw = c.call("HGET", "lw:{alerts}:triage", a["id"])
    tap.ok(raw and b'"acknowledged"' in raw, "triage state in lw:{alerts}:triage (docs/redis.md)", raw)
    tap.ok(c.call("LLEN", "lw:{alerts}:history:" + a["id"]) == 1, "history in lw:{alerts}:history:<id>")
    tap.ok(c.call("DBSIZE") > 0 and c.call("EXISTS", "lw:{alerts}") == 1, "nothing else was touched")
    c.close()
    s, _, t = con.request("/api/alerts/%s/triage" % b["alerts"][1]["id"], body={"status": "escalated"})
    tap.ok(s == 200, "escalate")
    s, l = con.get("/api/alerts?status=escalated")
    tap.ok(s == 200 and [x["id"] for x in l["alerts"]] == [b["alerts"][1]["id"]], "status filter: escalated")
    s, l = con.get("/api/alerts?status=acknowledged")
    tap.ok(s == 200 and [x["id"] for x in l["alerts"]] == [a["id"]], "status filter: acknowledged")
    for body in ({"status": "done"}, {"note": "x" * 2001}, {}, {"assignee": "a b"}, [1]):
        s, _, r = con.request("/api/alerts/%s/triage" % a["id"], body=body)
        tap.ok(s == 400, "triage %s: 400" % str(body)[:30], r)
    s, _, r = con.request("/api/alerts/1-1/triage", body={"status": "closed"})
    tap.ok(s == 404, "triage of an alert not in the stream: 404", r)


def check_summary(tap, con, alerts):
    s, b = con.get("/api/summary")
    tap.ok(s == 200 and b["protocols"] and b["services"] and b["top_src"] and b["scopes"],
           "summary: protocol mix, services, top talkers, scopes", b)
    if s != 200:
        return
    total = sum(x["alerts"] for x in b["series"])
    last = max(lwredis.eve_epoch(e["timestamp"]) for _, e in alerts)
    inwin = sum(1 for _, e in alerts if b["from"] <= lwredis.eve_epoch(e["timestamp"]) < b["to"])
    tap.ok(total == inwin and b["to"] > last - 3600, "alerts over time: %d in the last hour of capture" % inwin,
           "series %d, eve %d" % (total, inwin))
    sev = {int(p["name"]): p["value"] for p in b["alerts_by_severity"]}
    tap.ok(sum(sev.values()) == inwin, "alerts by severity add up", sev)
    if any(e.get("geo", {}).get("scope", "").startswith("cross-border") for _, e in alerts):
        tap.ok(len(b["countries"]) > 0 and all(c != b["home_country"] for c in b["countries"]),
               "cross-border traffic by country", b["countries"])
    s, b = con.get("/api/summary?res=h&sensor=demo")
    tap.ok(s == 200 and b["scope"] == "demo" and b["protocols"], "summary of one sensor by hour", b)
    names = b.get("http_hosts", []) + b.get("dns_queries", []) + b.get("tls_snis", [])
    tap.ok(s == 200 and b.get("http_hosts") and b.get("dns_queries")
           and all(n["name"] == n["name"].lower() and n["value"] >= 1 for n in names),
           "summary: top HTTP hosts, DNS names and TLS server names (the demo's transactions)",
           {k: b.get(k) for k in ("http_hosts", "dns_queries", "tls_snis")})
    s, b = con.get("/api/sensors")
    ids = sorted(x["id"] for x in b.get("sensors", []))
    tap.ok(s == 200 and "demo" in ids and all("packets" in x for x in b["sensors"]),
           "sensor health: every sensor's status hash", b)


def check_pii(tap, con, rs):
    s, b = con.get("/api/summary?sensor=pii-seed")
    tap.ok(s == 200 and b["home_country"] == "CN" and b["pii_abroad"] == [],
           "personal data sent abroad: none before any pii tally", b.get("pii_abroad"))
    if s != 200:
        return
    seed_pii(rs, "pii-seed", b)
    s, b = con.get("/api/summary?sensor=pii-seed")
    tap.ok(s == 200 and b["pii_abroad"] == PII_ABROAD,
           "personal data sent abroad: per destination, home to abroad only, the window's buckets, "
           "largest total first", b.get("pii_abroad"))
    s, b = con.get("/api/summary?sensor=pii-seed&res=h")
    tap.ok(s == 200 and b["pii_abroad"] == [], "hour buckets: only minutes were seeded", b.get("pii_abroad"))
    # the merged view: whatever the sensors counted, plus the seed
    s, before = con.get("/api/summary")
    seed_pii(rs, "all", before)
    s, b = con.get("/api/summary")
    tap.ok(s == 200 and b["pii_abroad"] == add_abroad(before["pii_abroad"], PII_ABROAD),
           "personal data sent abroad: the merged view adds the seed to what the sensors counted",
           (before.get("pii_abroad"), b.get("pii_abroad")))


def sse_open(con):
    """GET /api/events on a socket of its own, read past the stream's first
    comment: (socket, what was read)."""
    import base64
    sock = socket.create_connection(("127.0.0.1", con.port), timeout=10)
    auth = base64.b64encode(("%s:%s" % (lwconsole.USER, lwconsole.PASSWORD)).encode()).decode()
    sock.sendall(("GET /api/events HTTP/1.1\r\nHost: x\r\nAuthorization: Basic %s\r\n\r\n" % auth).encode())
    return sock, sse_read(sock, b"", b"linkwatch live alerts", time.time() + 10)


def sse_read(sock, buf, want, until, step=None):
    """Reads sock onto buf until want is in it or until passes (step: calls
    it between reads of at most half a second). Returns buf."""
    if step:
        sock.settimeout(0.5)
    while want not in buf and time.time() < until:
        if step:
            step()
        try:
            d = sock.recv(4096)
        except socket.timeout:
            if step:
                continue
            break
        if not d:
            break
        buf += d
    return buf


def check_live(tap, con, rs):
    sock, buf = sse_open(con)
    c = rs.client()
    ev = '{"event_type":"alert","alert":{"signature_id":1}}'
    lwredis.wait_for(lambda: c.call("PUBLISH", "lw:alerts", ev) > 0, 5)
    buf = sse_read(sock, buf, ev.encode(), time.time() + 10)
    c.close()
    sock.close()
    tap.ok(b"text/event-stream" in buf and b"event: alert\ndata: " + ev.encode() in buf,
           "live: a published alert arrives as a Server-Sent Event", buf[-500:])


if __name__ == "__main__":
    main()
