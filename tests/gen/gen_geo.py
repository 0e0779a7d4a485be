#!/usr/bin/env python3
"""gen_geo.py - writes a capture with known cross-border traffic, the MMDB
specs that geolocate it, geoip rules, and what the sensor must report.

Usage: gen_geo.py OUTDIR
       gen_geo.py --corpus OUTDIR   (corpus.pcap and expected_corpus.json:
                                     flows to addresses the corpus MaxMind
                                     test databases know)

Writes into OUTDIR:
  geo.pcap          two summary intervals (geoip.summary-interval 10 s) of
                    IPv4 and IPv6 flows in every scope: internal, domestic,
                    cross-border outbound and inbound, transit, external
  country.spec      a country database (tests/gen/mkmmdb, "GeoIP2-Country")
  asn.spec          an ASN database ("GeoLite2-ASN")
  geo.rules         geoip rules (src/dst/both/any, negated), one alert per
                    matching TCP flow (flags:S, the client's SYN)
  expected.json     {"sets": [--set overrides], "flows": [...per flow: ends,
                    expected geo block...], "alerts": {sid: n},
                    "rows": [...per interval and (scope, src_country,
                    dest_country): bytes, packets, flows, alerts,
                    internal_hosts, top endpoints, top ASNs...],
                    "http_bytes": {pair: bytes}}

The expected figures are computed here from the frames written and an
independent model of the rules (countries, scopes, Suricata's geoip
semantics with internal ends in the home country), not from the sensor.

Addresses: inside hosts 10.0.0.0/8 and fd00::/8 (reserved: internal) and
61.1.0.0/16 (a public range given as home-net); outside hosts in ranges the
specs place in US, DE, JP and CN; 8.8.8.8 is in no database (external).
Deterministic: fixed times and seeds.
"""

import json
import os
import random
import struct
import sys

from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.dns import DNS, DNSQR, DNSRR

BASE_US = 1735700000 * 1000000      # 2025-01-01T02:53:20Z, a multiple of 10 s
INTERVAL_US = 10 * 1000000
HOME = "CN"
MSS = 1000

COUNTRY_SPEC = """# network  fields (tests/unit/mmdbwrite.h)
11.0.0.0/8      country.iso_code=US
36.0.0.0/8      country.iso_code=CN
43.0.0.0/8      country.iso_code=JP
46.0.0.0/8      country.iso_code=DE
2001:4860::/32  country.iso_code=US
2a00:1450::/32  country.iso_code=DE
240e::/20       country.iso_code=CN
"""

ASN_SPEC = """11.0.0.0/8      autonomous_system_number=15169 autonomous_system_organization="Google LLC"
11.9.0.0/16     autonomous_system_number=13335 autonomous_system_organization="Cloudflare, Inc."
36.0.0.0/8      autonomous_system_number=4134 autonomous_system_organization=CHINANET
46.0.0.0/8      autonomous_system_number=3320 autonomous_system_organization="Deutsche Telekom AG"
2001:4860::/32  autonomous_system_number=15169 autonomous_system_organization="Google LLC"
2a00:1450::/32  autonomous_system_number=15169 autonomous_system_organization="Google LLC"
"""

# (network prefix as text, country, asn, org) for the model; most specific first.
NETS = [
    ("11.9.", "US", 13335, "Cloudflare, Inc."),
    ("11.", "US", 15169, "Google LLC"),
    ("36.", "CN", 4134, "CHINANET"),
    ("43.", "JP", None, None),
    ("46.", "DE", 3320, "Deutsche Telekom AG"),
    ("2001:4860:", "US", 15169, "Google LLC"),
    ("2a00:1450:", "DE", 15169, "Google LLC"),
    ("240e:", "CN", None, None),
]

HOME_NET = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "61.1.0.0/16"]

RULES = [
    (1, "geoip:dst,US;"),
    (2, "geoip:src,JP;"),
    (3, "geoip:both,US,DE;"),
    (4, "geoip:any,DE;"),
    (5, "geoip:dst,!CN;"),
    (6, "geoip:both,!CN;"),
    (7, "geoip:src,CN;"),
    (8, "geoip:US,JP;"),
    (9, "geoip:src,!US;"),
]


def internal(a):
    return a.startswith(("10.", "61.1.", "fd"))


def locate(a):
    """The model's geolocation: (country or None, asn or None, org, internal)."""
    if internal(a):
        return HOME, None, None, True
    for pfx, cc, asn, org in NETS:
        if a.startswith(pfx):
            return cc, asn, org, False
    return None, None, None, False


def scope_of(s, d):
    (sc, _, _, si), (dc, _, _, di) = s, d
    if si and di:
        return "internal"
    if sc is None or dc is None:
        return "external"
    hs, hd = sc == HOME, dc == HOME
    if hs and hd:
        return "domestic"
    if hs:
        return "cross-border-outbound"
    if hd:
        return "cross-border-inbound"
    return "transit"


def geoip_match(spec, src_cc, dst_cc):
    """Suricata's geoip on the SYN (src = initiator); None = no country."""
    spec = spec.rstrip(";").split(":", 1)[1].split(",")
    d = "any"
    if spec[0] in ("src", "dst", "both", "any"):
        d, spec = spec[0], spec[1:]
    neg = spec[0].startswith("!")
    ccs = [spec[0].lstrip("!")] + spec[1:]

    def test(cc):
        if cc is None:
            return False
        return (cc in ccs) != neg

    if d == "src":
        return test(src_cc)
    if d == "dst":
        return test(dst_cc)
    if d == "both":
        return test(src_cc) and test(dst_cc)
    return test(src_cc) or test(dst_cc)


def mac_of(addr):
    h = sum((i + 1) * b for i, b in enumerate(addr.encode())) & 0xFFFFFFFF
    return bytes([0x02, 0x42]) + struct.pack("!I", h)


class Capture:
    def __init__(self):
        self.frames = []
        self.rng = random.Random("linkwatch-geo")

    def add(self, t, src, dst, l3, flow):
        ip = bytes(l3)
        etype = 0x86DD if ":" in src else 0x0800
        fr = mac_of(dst) + mac_of(src) + struct.pack("!H", etype) + ip
        ts = BASE_US + int(round(t * 1e6))
        self.frames.append((ts, len(self.frames), fr))
        flow.frames.append((ts, len(fr), src == flow.cli))

    def write(self, path):
        self.frames.sort(key=lambda x: (x[0], x[1]))
        with open(path, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
            for ts, _, fr in self.frames:
                f.write(struct.pack("<IIII", ts // 1000000, ts % 1000000, len(fr), len(fr)))
                f.write(fr)


def l3(src, dst, payload, ident):
    if ":" in src:
        return IPv6(src=src, dst=dst, hlim=64) / payload
    return IP(src=src, dst=dst, ttl=64, id=ident & 0xFFFF, flags="DF") / payload


class Flow:
    """One flow of the capture and what the model says about it."""

    def __init__(self, cap, name, proto, cli, cport, srv, sport, t0):
        self.cap, self.name, self.proto = cap, name, proto
        self.cli, self.srv, self.port = cli, srv, (cport, sport)
        self.t = t0
        self.frames = []        # (ts, wirelen, from_client)
        self.seq = [cap.rng.randrange(1 << 32), cap.rng.randrange(1 << 32)]
        self.ipid = [cap.rng.randrange(1, 60000), cap.rng.randrange(1, 60000)]
        self.http = False

    def emit(self, d, l4):
        src, dst = (self.cli, self.srv) if d == 0 else (self.srv, self.cli)
        self.ipid[d] += 1
        self.cap.add(self.t, src, dst, l3(src, dst, l4, self.ipid[d]), self)
        self.t += 0.001

    def seg(self, d, flags, data=b""):
        sp, dp = self.port if d == 0 else self.port[::-1]
        ack = self.seq[1 - d] if "A" in flags else 0
        self.emit(d, TCP(sport=sp, dport=dp, seq=self.seq[d] & 0xFFFFFFFF, ack=ack & 0xFFFFFFFF,
                         flags=flags, window=64240) / data)
        self.seq[d] += len(data) + (1 if ("S" in flags or "F" in flags) else 0)

    def open(self):
        self.seg(0, "S")
        self.seg(1, "SA")
        self.seg(0, "A")
        return self

    def send(self, d, data):
        for i in range(0, len(data), MSS):
            self.seg(d, "PA", data[i:i + MSS])
        self.seg(1 - d, "A")
        return self

    def close(self):
        self.seg(0, "FA")
        self.seg(1, "FA")
        self.seg(0, "A")
        return self

    def http_get(self, body_len):
        self.http = True
        req = (b"GET /index.html HTTP/1.1\r\nHost: www.example.net\r\n"
               b"User-Agent: Mozilla/5.0\r\nAccept: */*\r\n\r\n")
        body = b"y" * body_len
        resp = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: " +
                str(len(body)).encode() + b"\r\n\r\n" + body)
        return self.open().send(0, req).send(1, resp).close()

    def dns(self, name):
        qid = self.cap.rng.randrange(1, 65535)
        q = UDP(sport=self.port[0], dport=53) / DNS(id=qid, rd=1, qd=DNSQR(qname=name))
        a = UDP(sport=53, dport=self.port[0]) / DNS(id=qid, qr=1, rd=1, ra=1, qd=DNSQR(qname=name),
                                                    an=DNSRR(rrname=name, type="A", ttl=60,
                                                             rdata="36.7.7.7"))
        self.emit(0, q)
        self.emit(1, a)
        return self


def build(cap):
    fl = []

    def F(*a):
        f = Flow(cap, *a)
        fl.append(f)
        return f

    rnd = random.Random("payload")
    # Interval 1: [0 s, 10 s)
    up = F("upload-us", 6, "10.0.0.1", 40001, "11.1.1.1", 443, 1.0).open()
    up.send(0, rnd.randbytes(60 * MSS))
    F("small-us-cloudflare", 6, "10.0.0.2", 40002, "11.9.9.9", 443, 1.5).open() \
        .send(0, rnd.randbytes(300)).send(1, rnd.randbytes(2000)).close()
    F("http-de", 6, "10.0.0.1", 40003, "46.1.1.1", 80, 2.0).http_get(5000)
    F("inbound-jp", 6, "43.2.2.2", 40004, "10.0.0.3", 22, 2.5).open() \
        .send(0, b"SSH-2.0-OpenSSH_9.6\r\n").send(1, b"SSH-2.0-OpenSSH_9.2p1\r\n").close()
    F("dns-domestic", 17, "10.0.0.4", 40005, "36.5.5.5", 53, 3.0).dns("www.example.cn")
    F("internal", 6, "10.0.0.5", 40006, "10.0.0.6", 8080, 3.5).open() \
        .send(0, rnd.randbytes(800)).close()
    F("http-de-v6", 6, "fd00::1", 40007, "2a00:1450::1", 80, 4.0).http_get(3000)
    F("transit-v6", 6, "2001:4860::8", 40008, "2a00:1450::9", 443, 4.5).open() \
        .send(0, rnd.randbytes(1500)).close()
    F("external", 6, "10.0.0.7", 40009, "8.8.8.8", 443, 5.0).open() \
        .send(0, rnd.randbytes(400)).close()
    F("homenet-us", 6, "61.1.0.5", 40010, "11.1.1.2", 443, 5.5).open() \
        .send(0, rnd.randbytes(700)).close()
    F("domestic-v6", 6, "fd00::2", 40011, "240e::5", 443, 6.0).open() \
        .send(0, rnd.randbytes(600)).close()
    # Interval 2: [10 s, 20 s): the upload goes on (not a new flow), a new
    # flow to the same US address from another inside host.
    up.t = 12.0
    up.send(0, rnd.randbytes(20 * MSS)).close()
    F("second-us", 6, "10.0.0.8", 40012, "11.1.1.1", 443, 13.0).open() \
        .send(0, rnd.randbytes(900)).close()
    return fl


def expected(flows):
    out_flows, alerts, rows, http = [], {sid: 0 for sid, _ in RULES}, {}, {}
    nodb = {sid: 0 for sid, _ in RULES}
    for f in flows:
        s, d = locate(f.cli), locate(f.srv)
        if f.proto == 6:
            # without databases only internal ends have a country
            for sid, spec in RULES:
                nodb[sid] += geoip_match(spec, HOME if s[3] else None, HOME if d[3] else None)
        scope = scope_of(s, d)

        def ep(x):
            cc, asn, org, intl = x
            e = {}
            if cc:
                e["country"] = cc
            if intl:
                e["internal"] = True
            if asn:
                e["asn"] = asn
            if org:
                e["org"] = org
            return e

        out_flows.append({"name": f.name, "src_ip": f.cli, "dest_ip": f.srv, "proto": f.proto,
                          "geo": {"src": ep(s), "dest": ep(d), "scope": scope}})
        fired = []
        if f.proto == 6:
            fired = [sid for sid, spec in RULES if geoip_match(spec, s[0], d[0])]
            for sid in fired:
                alerts[sid] += 1
        # remote end of the summary's top lists
        if scope == "internal":
            remote = None
        elif scope == "cross-border-inbound":
            remote = (f.cli, s)
        else:
            remote = (f.cli, s) if d[3] else (f.srv, d)
        first = True
        for ts, ln, _ in f.frames:
            start = (ts - ts % INTERVAL_US)
            key = "%d|%s|%s|%s" % (start, scope, s[0] or "", d[0] or "")
            r = rows.setdefault(key, {"start_us": start, "scope": scope, "src_country": s[0],
                                      "dest_country": d[0], "bytes": 0, "packets": 0, "flows": 0,
                                      "alerts": 0, "hosts": set(), "endpoints": {}, "asns": {}})
            r["bytes"] += ln
            r["packets"] += 1
            if first:
                r["flows"] += 1
                r["alerts"] += len(fired)
                first = False
            for a, x in ((f.cli, s), (f.srv, d)):
                if x[3]:
                    r["hosts"].add(a)
            if remote:
                r["endpoints"][remote[0]] = r["endpoints"].get(remote[0], 0) + ln
                if remote[1][1]:
                    k = "%d|%s" % (remote[1][1], remote[1][2])
                    r["asns"][k] = r["asns"].get(k, 0) + ln
        if f.http:
            pair = "%s|%s|%s" % (scope, s[0], d[0])
            http[pair] = http.get(pair, 0) + sum(ln for _, ln, _ in f.frames)
    out_rows = []
    for r in rows.values():
        r["internal_hosts"] = len(r.pop("hosts"))
        r["top_endpoints"] = sorted(([ip, b] for ip, b in r.pop("endpoints").items()),
                                    key=lambda x: -x[1])
        r["top_asns"] = sorted(([int(k.split("|")[0]), k.split("|", 1)[1], b]
                                for k, b in r.pop("asns").items()), key=lambda x: -x[2])
        out_rows.append(r)
    out_rows.sort(key=lambda r: (r["start_us"], r["scope"], r["src_country"] or "", r["dest_country"] or ""))
    return {"sets": ["home-net=[%s]" % ", ".join(HOME_NET), "home-country=" + HOME,
                     "geoip.summary-interval=10"],
            "interval_us": INTERVAL_US,
            "flows": out_flows, "alerts": {str(k): v for k, v in alerts.items()},
            "alerts_nodb": {str(k): v for k, v in nodb.items()},
            "rows": out_rows, "http_bytes": http,
            "flow_bytes": {f.name: sum(ln for _, ln, _ in f.frames) for f in flows}}


# Addresses the corpus MaxMind test databases know (mmdb/source-data):
# GeoIP2-City-Test and GeoLite2-ASN-Test.
CORPUS_FLOWS = [
    ("10.0.0.1", "81.2.69.142", {"country": "GB", "city": "London", "lat": 51.5142, "lon": -0.0931}),
    ("10.0.0.2", "89.160.20.112", {"country": "SE", "city": "Link\u00f6ping", "lat": 58.4167,
                                   "lon": 15.6167, "asn": 29518, "org": "Bredband2 AB"}),
    ("10.0.0.3", "216.160.83.56", {"country": "US", "city": "Milton", "lat": 47.2513,
                                   "lon": -122.3149, "asn": 209}),
    ("fd00::1", "2001:218::1", {"country": "JP", "lat": 35.68536, "lon": 139.75309}),
    ("10.0.0.4", "1.128.0.1", {"asn": 1221, "org": "Telstra Pty Ltd"}),
]


def corpus(out):
    cap = Capture()
    exp = []
    for i, (cli, srv, dest) in enumerate(CORPUS_FLOWS):
        Flow(cap, "corpus-%d" % i, 6, cli, 41000 + i, srv, 443, 1.0 + i).open() \
            .send(0, b"hello").close()
        exp.append({"src_ip": cli, "dest_ip": srv, "dest": dest})
    cap.write(os.path.join(out, "corpus.pcap"))
    with open(os.path.join(out, "expected_corpus.json"), "w") as f:
        json.dump(exp, f, indent=1)


def main(argv):
    if len(argv) == 3 and argv[1] == "--corpus":
        os.makedirs(argv[2], exist_ok=True)
        corpus(argv[2])
        return 0
    if len(argv) != 2:
        sys.stderr.write("usage: gen_geo.py OUTDIR | gen_geo.py --corpus OUTDIR\n")
        return 2
    out = argv[1]
    os.makedirs(out, exist_ok=True)
    cap = Capture()
    flows = build(cap)
    cap.write(os.path.join(out, "geo.pcap"))
    with open(os.path.join(out, "country.spec"), "w") as f:
        f.write(COUNTRY_SPEC)
    with open(os.path.join(out, "asn.spec"), "w") as f:
        f.write(ASN_SPEC)
    with open(os.path.join(out, "geo.rules"), "w") as f:
        for sid, opt in RULES:
            f.write('alert tcp any any -> any any (msg:"geoip rule %d"; flags:S; %s '
                    'classtype:policy-violation; sid:%d; rev:1;)\n' % (sid, opt, sid))
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected(flows), f, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
