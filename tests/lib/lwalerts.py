"""lwalerts.py - many EVE alerts of a chosen shape written through the
sensor's own Redis writer (tests/gen/alertfeed: the redis exporter, its
scripts, indexes and trimming), and the ground truth to check the console
against: the stream read whole, and the console's filters (dashboards/
console-filter.c) written again in Python.
"""

import calendar
import ipaddress
import json
import os
import random
import subprocess
import time

import lwtest

WORDS = ["ET", "SCAN", "Suspicious", "inbound", "to", "mySQL", "port", "3306", "POLICY", "DNS",
         "Query", "for", ".onion", "Proxy", "TLS", "SNI", "x-cmd", "café", "Potential", "SSH",
         "brute-force", "(2024)", "GPL", "ATTACK_RESPONSE", "id", "check", "returned", "root"]
SCOPES = ["internal", "domestic", "cross-border-outbound", "cross-border-inbound", "transit", "external"]
COUNTRIES = ["US", "GB", "SE", "JP", "CN", "DE", "--"]
PROTOS = [("tls", "TLS.YouTube"), ("http", "HTTP"), ("dns", "DNS"), ("TLS", None), (None, "SSH"),
          ("smb", "SMB"), (None, None)]


def alertfeed():
    return os.path.join(lwtest.builddir(), "tests", "gen", "alertfeed")


def signatures(rnd, n):
    """n signature texts of 2 to 6 words, some sharing words."""
    return ["%s %s" % (rnd.choice(["ET", "GPL", "LW"]),
                       " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(1, 5)))) for _ in range(n)]


def address(rnd, v6):
    if v6:
        return str(ipaddress.ip_address("2001:db8:%x:%x::%x" % (rnd.randrange(3), rnd.randrange(4),
                                                               rnd.randrange(1, 40))))
    return "10.%d.%d.%d" % (rnd.choice([1, 1, 1, 2]), rnd.randrange(6), rnd.randrange(1, 60))


def gen_events(n, seed=1, t0=1718000000):
    """n EVE alerts: 40 signatures (one rare), 3 severities, IPv4 and IPv6
    ends in a few /24s and /64s, every scope, countries at either end,
    app_proto and nDPI names in mixed case, capture times over ~2 hours,
    a few out of order, a few without a timestamp or fields."""
    rnd = random.Random(seed)
    sigs = signatures(rnd, 40)
    out = []
    for i in range(n):
        rare = i % 997 == 0
        k = 39 if rare else rnd.randrange(39)
        sid = 2100000 + k
        v6 = rnd.random() < 0.2
        ts = t0 + i * 7200 // max(n, 1) + (rnd.randrange(-300, 300) if rnd.random() < 0.05 else 0)
        app, ndpi = rnd.choice(PROTOS)
        ev = {"timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + ".%06d+0000" % rnd.randrange(10**6),
              "flow_id": 1000 + i, "event_type": "alert", "src_ip": address(rnd, v6),
              "src_port": rnd.randrange(1024, 65535), "dest_ip": address(rnd, v6), "dest_port": 443,
              "proto": "TCP",
              "alert": {"action": "allowed", "gid": 1, "signature_id": sid, "rev": 1,
                        "signature": sigs[k], "category": "Misc", "severity": 1 + k % 3},
              "geo": {"src": {"country": rnd.choice(COUNTRIES)}, "dest": {"country": rnd.choice(COUNTRIES)},
                      "scope": rnd.choice(SCOPES)}}
        if app:
            ev["app_proto"] = app
        if ndpi:
            ev["ndpi"] = {"protocol": ndpi}
        if i % 501 == 7:
            del ev["timestamp"]
        if i % 733 == 5:
            del ev["geo"]
        out.append(ev)
    return out


def feed(port, events, sensor, spool, extra=()):
    """Writes events (dicts or JSON lines) through the writer as sensor."""
    lines = "".join((e if isinstance(e, str) else json.dumps(e, separators=(",", ":"))) + "\n" for e in events)
    args = [alertfeed(), "--set", "redis.port=%d" % port, "--set", "redis.spool-dir=%s" % spool,
            "--set", "sensor-id=%s" % sensor]
    for s in extra:
        args += ["--set", s]
    return subprocess.run(args, input=lines.encode(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=3600)


# ---- the truth: the stream read whole, and the filters

def stream_entries(c, key="lw:{alerts}"):
    """[(id, sensor, event dict or None)] oldest first."""
    out, start = [], "-"
    while True:
        r = c.call("XRANGE", key, start, "+", "COUNT", 5000)
        for i, f in r:
            d = dict(zip(f[::2], f[1::2]))
            try:
                ev = json.loads(d.get(b"event", b""))
            except ValueError:
                ev = None
            out.append((i.decode(), d.get(b"sensor", b"").decode(), ev))
        if len(r) < 5000:
            return out
        start = "(" + r[-1][0].decode()


def triage(c, key="lw:{alerts}:triage"):
    r = c.call("HGETALL", key)
    return {k.decode(): json.loads(v).get("status", "new") for k, v in zip(r[::2], r[1::2])}


def eve_seconds(ts):
    """What the console's parse_time makes of an EVE timestamp (None when it cannot)."""
    try:
        return calendar.timegm(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S"))
    except (TypeError, ValueError):
        return None


def in_cidr(addr, cidr):
    try:
        a, n = ipaddress.ip_address(addr), ipaddress.ip_network(cidr, strict=False)
    except (ValueError, TypeError):
        return False
    return a.version == n.version and a in n


def ascii_lower(s):
    return s.encode().lower() if isinstance(s, str) else None


def matches(q, sensor, ev, status):
    """Whether the console's filters q (a dict of query parameters) select
    the alert, as console-filter.c's filter_match() decides."""
    a = ev.get("alert", {}) if isinstance(ev.get("alert"), dict) else {}
    g = ev.get("geo", {}) if isinstance(ev.get("geo"), dict) else {}
    if "from" in q or "to" in q:
        t = eve_seconds(ev.get("timestamp"))
        if t is None or ("from" in q and t < int(q["from"])) or ("to" in q and t >= int(q["to"])):
            return False
    if "severity" in q and a.get("severity") not in [int(x) for x in q["severity"].split(",")]:
        return False
    if "sid" in q and a.get("signature_id") not in [int(x) for x in q["sid"].split(",")]:
        return False
    if "q" in q:
        sig = ascii_lower(a.get("signature"))
        if sig is None or q["q"].encode().lower() not in sig:
            return False
    if "src" in q and not in_cidr(ev.get("src_ip"), q["src"]):
        return False
    if "dst" in q and not in_cidr(ev.get("dest_ip"), q["dst"]):
        return False
    if "ip" in q and not (in_cidr(ev.get("src_ip"), q["ip"]) or in_cidr(ev.get("dest_ip"), q["ip"])):
        return False
    if "country" in q and q["country"] not in ((g.get("src") or {}).get("country"),
                                               (g.get("dest") or {}).get("country")):
        return False
    if "scope" in q:
        s = g.get("scope")
        if not isinstance(s, str) or (s != q["scope"] if q["scope"] != "cross-border"
                                      else not s.startswith("cross-border")):
            return False
    if "sensor" in q and sensor != q["sensor"]:
        return False
    if "proto" in q:
        p = q["proto"].encode().lower()
        if p not in (ascii_lower(ev.get("app_proto")), ascii_lower((ev.get("ndpi") or {}).get("protocol"))):
            return False
    if "status" in q and status != q["status"]:
        return False
    return True


def expected_ids(entries, states, q):
    """The ids the console must list for q, newest first."""
    return [i for i, s, ev in reversed(entries)
            if ev is not None and matches(q, s, ev, states.get(i, "new"))]


def groups_of(entries, states=None, q=None):
    """{(sid, src, dst): [count, first ts, last ts]} as the console groups."""
    out = {}
    for i, s, ev in entries:
        if ev is None or (q and not matches(q, s, ev, (states or {}).get(i, "new"))):
            continue
        a = ev.get("alert", {})
        k = (a.get("signature_id", 0), ev.get("src_ip", ""), ev.get("dest_ip", ""))
        g = out.setdefault(k, [0, None, None])
        g[0] += 1
        ts = ev.get("timestamp")
        if ts:
            g[1] = ts if g[1] is None or ts < g[1] else g[1]
            g[2] = ts if g[2] is None or ts > g[2] else g[2]
    return out


def index_lists(dump):
    """The index lists of a dump_index(), as lists of ids."""
    return {k: [decode_elem(e) for e in v] for k, v in dump.items()
            if isinstance(v, list) and b":ix:words" not in k and b":ix:grptop" not in k and b":ix:status:" not in k}


def dump_index(c, prefix="lw", tag="alerts"):
    """Every index key of the stream {tag} ({alerts:<sensor>}: a sensor's
    shard) and its content, comparable (lists as lists, zsets as sorted
    lists of members and scores, hashes as dicts)."""
    out, cur = {}, b"0"
    while True:
        cur, keys = c.call("SCAN", cur, "MATCH", "%s:{%s}:ix:*" % (prefix, tag), "COUNT", 1000)
        for k in keys:
            t = c.call("TYPE", k)
            if t == b"list":
                out[k] = c.call("LRANGE", k, 0, -1)
            elif t == b"zset":
                out[k] = sorted(c.call("ZRANGE", k, 0, -1, "WITHSCORES"))
            elif t == b"hash":
                r = c.call("HGETALL", k)
                out[k] = dict(zip(r[::2], r[1::2]))
            else:
                out[k] = c.call("GET", k)
        if cur == b"0":
            return out


def decode_elem(e):
    """A list element back to its stream id (alert-index.h)."""
    e = e.decode()
    return e if "-" in e else "%d-%d" % (int(e[:-3]), int(e[-3:]))


def id_key(i):
    ms, seq = i.split("-")
    return (int(ms), int(seq))
