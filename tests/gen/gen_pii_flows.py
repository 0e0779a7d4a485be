#!/usr/bin/env python3
"""gen_pii_flows.py - writes a capture of HTTP uploads with and without
personal data, a country database spec that places them, and what the
sensor must report with the shipped rules/cross-border.rules.

Usage: gen_pii_flows.py OUTDIR

Writes into OUTDIR:
  pii.pcap        one capture, all of it inside one geo summary interval
  country.spec    a country database (tests/gen/mkmmdb, "GeoIP2-Country"):
                  11.0.0.0/8 is US, 36.0.0.0/8 is CN (a domestic peer)
  expected.json   {"sets": [...], "alerts": [{sid, src_ip, dest_ip, pii}],
                   "rows": {"scope|src|dst": {"to_server": {...}, "to_client": {...}}},
                   "redis": {type: {"from>to": n}}, "values": [every generated value]}

Nothing in it is real: identity numbers are random region codes, birth
dates and sequence numbers with a GB 11643 check character; cards are
random digits after 62 with a Luhn digit; mobile numbers random digits
after 1[3-9]; email addresses at example.com. The expected figures come
from this file's own model (what each body holds, how the shipped rules'
thresholds and the geo scopes decide), not from the sensor.

The flows, home country CN, home-net 10.0.0.0/8:
  1  10.0.0.1 -> 11.0.0.1 (US)  POST: 12 ids, 6 cards, 25 mobiles, 3 emails, 2 passports
  2  10.0.0.2 -> 11.0.0.2 (US)  POST: no personal data, near misses only
  3  10.0.0.3 -> 10.0.0.200     POST: 12 ids, to an inside host
  4  10.0.0.4 -> 11.0.0.4 (US)  POST: 9 ids (just under the rule's 10)
  5  10.0.0.5 -> 11.0.0.5 (US)  POST: 10 ids (just at it)
  6  10.0.0.6 -> 11.0.0.6 (US)  keep-alive: GET, then POST with 11 ids
  7  11.0.0.7 (US) -> 10.0.0.7  GET; the inside server's response holds 13 ids
  8  10.0.0.1 -> 11.0.0.1 (US)  POST: 12 ids again (same pair: no second alert)
  9  10.0.0.9 -> 36.0.0.9 (CN)  POST: 12 ids, domestic
 10  10.0.0.10 -> 11.0.0.10 (US) POST: 60 ids over two segments (the alert
                                 says 60, not what the first segment held)
 11  10.0.0.11 -> 11.0.0.11 (US) POST: 15 ids, then the connection closes
                                 short of its Content-Length (counted, and
                                 alerted, at the flow's end)
"""
import json
import os
import random
import sys

from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.packet import Raw
from scapy.utils import wrpcap

BASE = 1735699980          # 2025-01-01T02:53:00Z, a multiple of 60 s
HOME = "CN"
MSS = 1400
ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
PROVINCES = [11, 12, 13, 31, 32, 33, 44, 50, 51, 65]
COUNTRY_SPEC = """# network  fields (tests/unit/mmdbwrite.h)
11.0.0.0/8      country.iso_code=US
36.0.0.0/8      country.iso_code=CN
"""
# The shipped rules (rules/cross-border.rules) this capture exercises:
# sid -> (type, minimum count in one request body).
RULES = {9000602: ("cn-id", 10), 9000603: ("bank-card", 5), 9000604: ("cn-mobile", 20)}
TYPES = ["cn-id", "bank-card", "cn-mobile", "email", "passport-cn"]


def id_number(rng):
    d = "%02d%04d%04d%02d%02d%03d" % (rng.choice(PROVINCES), rng.randint(100, 9999), rng.randint(1940, 2005),
                                      rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 999))
    return d + "10X98765432"[sum(int(c) * w for c, w in zip(d, ID_WEIGHTS)) % 11]


def luhn_ok(n):
    s = 0
    for i, ch in enumerate(reversed(n)):
        d = int(ch) * (2 if i % 2 else 1)
        s += d - 9 if d > 9 else d
    return s % 10 == 0


def card(rng):
    body = "62" + "".join(str(rng.randint(0, 9)) for _ in range(13))
    return next(body + str(c) for c in range(10) if luhn_ok(body + str(c)))


def mobile(rng):
    return "1%d%09d" % (rng.randint(3, 9), rng.randint(0, 10 ** 9 - 1))


class Body:
    """A CSV export with n of each type, and its counts."""

    def __init__(self, rng, ids=0, cards=0, mobiles=0, emails=0, passports=0):
        self.values, rows = [], ["name,value"]
        for kind, n, make in (("id", ids, id_number), ("card", cards, card), ("mobile", mobiles, mobile),
                              ("email", emails, lambda r: "user%d@example.com" % r.randint(1000, 9999)),
                              ("passport", passports, lambda r: "E%08d" % r.randint(0, 10 ** 8 - 1))):
            for i in range(n):
                v = make(rng)
                self.values.append(v)
                rows.append("%s%d,%s" % (kind, i, v))
        self.text = ("\n".join(rows) + "\n").encode()
        self.counts = dict(zip(TYPES, (ids, cards, mobiles, emails, passports)))


def near_misses(rng):
    """A body with numbers that must count as nothing: a wrong check
    character, a failed Luhn digit, a 12-digit phone, an id inside a longer
    run, a file name that looks like an address."""
    good = id_number(rng)
    bad_id = good[:17] + ("0" if good[17] != "0" else "1")
    c = card(rng)
    bad_card = c[:-1] + str((int(c[-1]) + 1) % 10)
    text = "ref,%s\ncard,%s\nphone,1380013800012\nrun,99%s\nicon,icon@2x.png\nnote,ok\n" % (
        bad_id, bad_card, good)
    b = Body(rng)
    b.text, b.values = text.encode(), [bad_id, bad_card]
    return b


class Capture:
    def __init__(self):
        self.frames, self.t = [], float(BASE) + 1.0

    def add(self, p):
        p.time = self.t
        self.t += 0.0005
        self.frames.append(p)

    def conn(self, cli, srv, sport, exchanges):
        """One TCP connection: handshake, each (request, response) in turn
        (segments of at most MSS bytes), then FIN both ways."""
        seq, ack = 1000, 50000
        e = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
        self.add(e / IP(src=cli, dst=srv) / TCP(sport=sport, dport=80, flags="S", seq=seq - 1))
        self.add(e / IP(src=srv, dst=cli) / TCP(sport=80, dport=sport, flags="SA", seq=ack - 1, ack=seq))
        self.add(e / IP(src=cli, dst=srv) / TCP(sport=sport, dport=80, flags="A", seq=seq, ack=ack))
        for req, resp in exchanges:
            for i in range(0, len(req), MSS):
                seg = req[i:i + MSS]
                self.add(e / IP(src=cli, dst=srv) / TCP(sport=sport, dport=80, flags="PA", seq=seq, ack=ack) / Raw(seg))
                seq += len(seg)
            self.add(e / IP(src=srv, dst=cli) / TCP(sport=80, dport=sport, flags="A", seq=ack, ack=seq))
            for i in range(0, len(resp), MSS):
                seg = resp[i:i + MSS]
                self.add(e / IP(src=srv, dst=cli) / TCP(sport=80, dport=sport, flags="PA", seq=ack, ack=seq) / Raw(seg))
                ack += len(seg)
            self.add(e / IP(src=cli, dst=srv) / TCP(sport=sport, dport=80, flags="A", seq=seq, ack=ack))
        self.add(e / IP(src=cli, dst=srv) / TCP(sport=sport, dport=80, flags="FA", seq=seq, ack=ack))
        self.add(e / IP(src=srv, dst=cli) / TCP(sport=80, dport=sport, flags="FA", seq=ack, ack=seq + 1))
        self.add(e / IP(src=cli, dst=srv) / TCP(sport=sport, dport=80, flags="A", seq=seq + 1, ack=ack + 1))
        self.t += 0.01


def post(body, host="upload.example.com", missing=0):
    return (b"POST /export HTTP/1.1\r\nHost: %s\r\nContent-Type: text/csv\r\nContent-Length: %d\r\n\r\n"
            % (host.encode(), len(body.text) + missing)) + body.text


def get(path="/"):
    return b"GET %s HTTP/1.1\r\nHost: upload.example.com\r\n\r\n" % path.encode()


def ok(body=b"ok"):
    return b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % len(body) + body


def country(a):
    if a.startswith("10."):
        return HOME
    return "US" if a.startswith("11.") else "CN" if a.startswith("36.") else "--"


def scope(cli, srv):
    ci, si = cli.startswith("10."), srv.startswith("10.")
    if ci and si:
        return "internal"
    hc, hs = country(cli) == HOME, country(srv) == HOME
    if hc and hs:
        return "domestic"
    return "cross-border-outbound" if hc else "cross-border-inbound" if hs else "transit"


def main():
    out = sys.argv[1]
    rng = random.Random(24)
    cap = Capture()
    alerts, rows, redis, values, seen_pairs = [], {}, {t: {} for t in TYPES + ["bodies"]}, [], set()

    def account(cli, srv, direction, body):
        """A body's counts into the model's geo rows and Redis tallies."""
        values.extend(body.values)
        if not any(body.counts.values()):
            return
        row = rows.setdefault("%s|%s|%s" % (scope(cli, srv), country(cli), country(srv)), {})
        d = row.setdefault(direction, dict.fromkeys(TYPES + ["bodies"], 0))
        frm, to = (cli, srv) if direction == "to_server" else (srv, cli)
        member = "%s>%s" % (country(frm), country(to))
        for t in TYPES:
            d[t] += body.counts[t]
            if body.counts[t]:
                redis[t][member] = redis[t].get(member, 0) + body.counts[t]
        d["bodies"] += 1
        redis["bodies"][member] = redis["bodies"].get(member, 0) + 1

    def upload(cli, srv, sport, body, first_get=False, cut=False):
        ex = ([(get(), ok())] if first_get else []) + [(post(body, missing=100 if cut else 0), b"" if cut else ok())]
        cap.conn(cli, srv, sport, ex)
        account(cli, srv, "to_server", body)
        # The shipped rules: $HOME_NET -> $EXTERNAL_NET, geoip:dst,!CN, one
        # alert per (src, dst) and rule an hour (threshold type limit by_both).
        if cli.startswith("10.") and not srv.startswith("10.") and country(srv) not in (HOME, "--"):
            for sid, (t, n) in sorted(RULES.items()):
                if body.counts[t] >= n and (sid, cli, srv) not in seen_pairs:
                    seen_pairs.add((sid, cli, srv))
                    alerts.append({"sid": sid, "src_ip": cli, "dest_ip": srv, "pii": {t: body.counts[t]}})

    upload("10.0.0.1", "11.0.0.1", 40001, Body(rng, ids=12, cards=6, mobiles=25, emails=3, passports=2))
    b = near_misses(rng)
    cap.conn("10.0.0.2", "11.0.0.2", 40002, [(post(b), ok())])
    values.extend(b.values)
    upload("10.0.0.3", "10.0.0.200", 40003, Body(rng, ids=12))
    upload("10.0.0.4", "11.0.0.4", 40004, Body(rng, ids=9))
    upload("10.0.0.5", "11.0.0.5", 40005, Body(rng, ids=10))
    upload("10.0.0.6", "11.0.0.6", 40006, Body(rng, ids=11), first_get=True)
    resp = Body(rng, ids=13)
    cap.conn("11.0.0.7", "10.0.0.7", 40007, [(get("/customers.csv"), ok(resp.text))])
    account("11.0.0.7", "10.0.0.7", "to_client", resp)
    upload("10.0.0.1", "11.0.0.1", 40008, Body(rng, ids=12))
    upload("10.0.0.9", "36.0.0.9", 40009, Body(rng, ids=12))
    big = Body(rng, ids=60)
    assert len(post(big)) > MSS
    upload("10.0.0.10", "11.0.0.10", 40010, big)
    upload("10.0.0.11", "11.0.0.11", 40011, Body(rng, ids=15), cut=True)

    wrpcap(os.path.join(out, "pii.pcap"), cap.frames)
    with open(os.path.join(out, "country.spec"), "w") as f:
        f.write(COUNTRY_SPEC)
    exp = {"sets": ["home-net=[10.0.0.0/8]", "home-country=" + HOME, "geoip.summary-interval=60"],
           "alerts": alerts, "rows": rows, "redis": {t: m for t, m in redis.items() if m}, "values": values}
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(exp, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
