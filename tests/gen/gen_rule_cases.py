#!/usr/bin/env python3
"""gen_rule_cases.py - writes one small capture per shipped rule file
(rules/*.rules), each holding traffic that must trigger its rules and
near-misses that must not, and the alert counts the sensor must report.

Usage: gen_rule_cases.py OUTDIR

Writes OUTDIR/<case>.pcap for every case, OUTDIR/country.spec and
OUTDIR/expected.json:
  {"<case>": {"pcap": "<case>.pcap", "alerts": {"<sid>": count, ...},
              "needs": "geoip" and "mmdb_spec": "country.spec" (optional),
              "what": "..."}}
Every shipped sid a case is about is listed, with 0 where only near-misses
are present; a sid absent from "alerts" must not fire in that case either
(the test asserts the exact count of every sid seen or listed).

Deterministic: fixed timestamps and seeds, no clock or host lookups.
Addresses: inside hosts 10.0.0.0/8 ($HOME_NET is RFC 1918 by default),
outside hosts in the documentation ranges 192.0.2.0/24, 198.51.100.0/24,
203.0.113.0/24 ($EXTERNAL_NET: they are not private), except the
cross-border case, whose peers 81.2.69.142 (GB) and 175.16.199.0/24 (CN,
the default home country) the country database spec OUTDIR/country.spec
places, for tests/gen/mkmmdb ("GeoIP2-Country"; the case's "mmdb_spec").

TLS server flights carry X.509 certificates built here (DER by hand, a
fixed key and signature: nDPI reads the names, it checks no signature).

Flows whose rules read nDPI metadata (dns.query, tls.sni, http.uri) are
made long enough for nDPI to finish during the flow (answers with records,
responses, or more than dpi.max-packets = 32 packets), so the metadata
exists while packets still arrive.
"""

import json
import os
import random
import struct
import sys

from scapy.layers.inet import IP, TCP, UDP, ICMP
from scapy.layers.dns import DNS, DNSQR, DNSRR

BASE_US = 1735700000 * 1000000      # 2025-01-01T02:53:20Z
MSS = 1448


def mac_of(addr):
    h = sum((i + 1) * b for i, b in enumerate(addr.encode())) & 0xFFFFFFFF
    return bytes([0x02, 0x42]) + struct.pack("!I", h)


class Capture:
    def __init__(self, seed):
        self.frames = []
        self.rng = random.Random(seed)

    def add(self, t, src, dst, l3):
        ip = bytes(l3)
        fr = mac_of(dst) + mac_of(src) + struct.pack("!H", 0x0800) + ip
        self.frames.append((BASE_US + int(round(t * 1e6)), len(self.frames), fr))

    def write(self, path):
        self.frames.sort(key=lambda x: (x[0], x[1]))
        with open(path, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
            for ts, _, fr in self.frames:
                f.write(struct.pack("<IIII", ts // 1000000, ts % 1000000, len(fr), len(fr)))
                f.write(fr)


class Tcp:
    """One TCP connection with its own clock: handshake, data, close."""

    def __init__(self, cap, cli, cport, srv, sport, t0):
        self.cap, self.cli, self.srv = cap, cli, srv
        self.port = (cport, sport)
        self.t = t0
        self.seq = [cap.rng.randrange(1 << 32), cap.rng.randrange(1 << 32)]
        self.ipid = [cap.rng.randrange(1, 60000), cap.rng.randrange(1, 60000)]

    def seg(self, d, flags, data=b""):
        src, dst = (self.cli, self.srv) if d == 0 else (self.srv, self.cli)
        sp, dp = self.port if d == 0 else self.port[::-1]
        ack = self.seq[1 - d] if "A" in flags else 0
        self.ipid[d] += 1
        pkt = IP(src=src, dst=dst, ttl=64, id=self.ipid[d] & 0xFFFF, flags="DF") / \
            TCP(sport=sp, dport=dp, seq=self.seq[d] & 0xFFFFFFFF, ack=ack & 0xFFFFFFFF,
                flags=flags, window=64240) / data
        self.cap.add(self.t, src, dst, pkt)
        self.seq[d] += len(data) + (1 if ("S" in flags or "F" in flags) else 0)
        self.t += 0.0005

    def open(self):
        self.seg(0, "S")
        self.seg(1, "SA")
        self.seg(0, "A")
        return self

    def refused(self):
        self.seg(0, "S")
        self.seq[1] = 0
        self.seg(1, "RA")
        return self

    def send(self, d, data):
        for i in range(0, len(data), MSS):
            self.seg(d, "PA", data[i:i + MSS])
        self.seg(1 - d, "A")
        return self

    def pad(self, n):
        """n request/response exchanges of opaque bytes: gets nDPI past
        dpi.max-packets when it would otherwise wait for more."""
        for i in range(n):
            self.seg(0, "PA", b"\x17\x03\x03\x00\x10" + bytes(16))
            self.seg(1, "PA", b"\x17\x03\x03\x00\x10" + bytes(16))
        return self

    def close(self):
        self.seg(0, "FA")
        self.seg(1, "FA")
        self.seg(0, "A")
        return self


def dns_pair(cap, t, cli, cport, srv, name, rrtype="A", n=2):
    """n query/answer pairs on one flow (one client port): n transactions,
    so a dns.query rule on the name alerts n times (once per query, as
    Suricata); nDPI has the name after the first answer."""
    qid = cap.rng.randrange(1, 65535)
    for i in range(n):
        q = IP(src=cli, dst=srv, ttl=64) / UDP(sport=cport, dport=53) / \
            DNS(id=qid + i, rd=1, qd=DNSQR(qname=name, qtype=rrtype))
        a = IP(src=srv, dst=cli, ttl=64) / UDP(sport=53, dport=cport) / \
            DNS(id=qid + i, qr=1, aa=0, rd=1, ra=1, qd=DNSQR(qname=name, qtype=rrtype),
                an=DNSRR(rrname=name, type="A", ttl=60, rdata="192.0.2.200"))
        cap.add(t + i * 0.01, cli, srv, q)
        cap.add(t + i * 0.01 + 0.002, srv, cli, a)


def http_get(cap, t, cli, cport, srv, sport, target, host="app.example.net", extra=b""):
    req = (b"GET " + target.encode() + b" HTTP/1.1\r\nHost: " + host.encode() +
           b"\r\nUser-Agent: Mozilla/5.0\r\nAccept: */*\r\n" + extra + b"\r\n")
    body = b"x" * 20000
    resp = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: " +
            str(len(body)).encode() + b"\r\n\r\n" + body)
    c = Tcp(cap, cli, cport, srv, sport, t).open()
    c.send(0, req)
    c.send(1, resp)
    return c.close()


def tls_client_hello(sni):
    """A minimal TLS 1.2 ClientHello with a server_name extension."""
    host = sni.encode()
    sn = struct.pack("!HBH", len(host) + 3, 0, len(host)) + host
    exts = struct.pack("!HH", 0, len(sn)) + sn
    exts += struct.pack("!HHH", 10, 4, 2) + struct.pack("!H", 0x001d)      # groups
    exts += struct.pack("!HHB", 11, 2, 1) + b"\x00"                        # ec formats
    exts += struct.pack("!HHH", 13, 4, 2) + struct.pack("!H", 0x0401)      # sig algs
    ciphers = struct.pack("!HHHH", 6, 0xc02f, 0xc030, 0x009c)
    body = (struct.pack("!H", 0x0303) + bytes(range(32)) + b"\x00" + ciphers +
            b"\x01\x00" + struct.pack("!H", len(exts)) + exts)
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def tls_session(cap, t, cli, cport, srv, sport, sni):
    c = Tcp(cap, cli, cport, srv, sport, t).open()
    c.send(0, tls_client_hello(sni))
    c.pad(20)
    return c.close()


def der(tag, body):
    """One DER element (definite length)."""
    n = len(body)
    if n < 0x80:
        ln = bytes([n])
    elif n < 0x100:
        ln = bytes([0x81, n])
    else:
        ln = b"\x82" + struct.pack("!H", n)
    return bytes([tag]) + ln + body


def der_seq(*items):
    return der(0x30, b"".join(items))


NAME_OIDS = {"C": b"\x55\x04\x06", "ST": b"\x55\x04\x08", "L": b"\x55\x04\x07",
             "O": b"\x55\x04\x0a", "OU": b"\x55\x04\x0b", "CN": b"\x55\x04\x03"}
SHA256_RSA = der_seq(der(0x06, bytes.fromhex("2a864886f70d01010b")), b"\x05\x00")
RSA_KEY = der_seq(der(0x06, bytes.fromhex("2a864886f70d010101")), b"\x05\x00")


def x509_name(rdns):
    """[("C", "AU"), ("CN", "x")] -> a DER Name (PrintableString for C, UTF8String else)."""
    return der_seq(*[der(0x31, der_seq(der(0x06, NAME_OIDS[k]), der(0x13 if k == "C" else 0x0c, v.encode())))
                     for k, v in rdns])


def x509_cert(subject, issuer, serial):
    """A v3 certificate with these names, valid 2024-2034."""
    validity = der_seq(der(0x17, b"240101000000Z"), der(0x17, b"340101000000Z"))
    key = der_seq(der(0x02, b"\x00" + b"\xc3" * 128), der(0x02, b"\x01\x00\x01"))
    # DER INTEGER: minimal, and positive (a leading 00 only before a high bit)
    tbs = der_seq(der(0xa0, der(0x02, b"\x02")), der(0x02, serial.to_bytes(serial.bit_length() // 8 + 1, "big")), SHA256_RSA,
                  x509_name(issuer), validity, x509_name(subject),
                  der_seq(RSA_KEY, der(0x03, b"\x00" + key)))
    return der_seq(tbs, SHA256_RSA, der(0x03, b"\x00" + b"\x5a" * 128))


def tls_server_flight(certs):
    """ServerHello, Certificate (the chain given), ServerHelloDone in one TLS 1.2 record."""
    def hs(t, body):
        return bytes([t]) + struct.pack("!I", len(body))[1:] + body
    hello = hs(2, struct.pack("!H", 0x0303) + bytes(range(32, 64)) + b"\x00" + struct.pack("!H", 0xc02f) + b"\x00")
    chain = b"".join(struct.pack("!I", len(c))[1:] + c for c in certs)
    body = hello + hs(11, struct.pack("!I", len(chain))[1:] + chain) + hs(14, b"")
    return b"\x16\x03\x03" + struct.pack("!H", len(body)) + body


def tls_cert_session(cap, t, cli, cport, srv, sport, sni, subject, issuer):
    """A TLS 1.2 handshake whose server sends one certificate subject/issuer."""
    c = Tcp(cap, cli, cport, srv, sport, t).open()
    c.send(0, tls_client_hello(sni))
    c.send(1, tls_server_flight([x509_cert(subject, issuer, 0x1000 + cport)]))
    c.pad(20)
    return c.close()


# ---------------------------------------------------------------- cases

IN1, IN2, IN3, IN4 = "10.20.0.11", "10.20.0.12", "10.20.0.13", "10.20.0.14"
RESOLVER = "10.20.0.53"
OUT1, OUT2, OUT3 = "203.0.113.10", "198.51.100.20", "192.0.2.30"


def case_credentials(cap):
    t = 1.0
    # FTP login with USER and PASS from outside to an inside server: 9000001 x1
    c = Tcp(cap, OUT1, 40001, IN1, 21, t).open()
    c.send(1, b"220 ftp ready\r\n")
    c.send(0, b"USER backup\r\n")
    c.send(1, b"331 Password required\r\n")
    c.send(0, b"PASS s3cret!\r\n")
    c.send(1, b"230 Logged in\r\n")
    c.close()
    # near miss: USER then QUIT, no PASS
    c = Tcp(cap, OUT2, 40002, IN1, 21, t + 1).open()
    c.send(1, b"220 ftp ready\r\n")
    c.send(0, b"USER anonymous\r\n")
    c.send(1, b"331 Password required\r\n")
    c.send(0, b"QUIT\r\n")
    c.close()
    # near miss: "PASS " on a non-FTP port
    c = Tcp(cap, IN2, 40003, IN1, 2121, t + 2).open()
    c.send(0, b"PASS not-ftp\r\n")
    c.close()
    # Telnet login prompt: 9000002 x1
    c = Tcp(cap, IN2, 40004, IN3, 23, t + 3).open()
    c.send(1, b"\xff\xfd\x18\xff\xfd\x20")
    c.send(1, b"\r\nUbuntu 22.04 LTS\r\nrouter login: ")
    c.send(0, b"admin\r\n")
    c.send(1, b"Password: ")
    c.close()
    # near miss: "login:" sent by a client to port 23 (wrong direction)
    c = Tcp(cap, IN2, 40005, IN3, 23, t + 4).open()
    c.send(0, b"login: foo\r\n")
    c.close()
    # HTTP Basic auth to port 80: 9000003 x1
    c = Tcp(cap, OUT1, 40006, IN1, 80, t + 5).open()
    c.send(0, b"GET /admin HTTP/1.1\r\nHost: intranet\r\nAuthorization: Basic YWRtaW46cGFzc3dvcmQ=\r\n\r\n")
    c.send(1, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    c.close()
    # near miss: Bearer token; Basic auth on port 8443 (not $HTTP_PORTS)
    c = Tcp(cap, OUT1, 40007, IN1, 80, t + 6).open()
    c.send(0, b"GET /api HTTP/1.1\r\nHost: intranet\r\nAuthorization: Bearer abc.def.ghi\r\n\r\n")
    c.close()
    c = Tcp(cap, OUT1, 40008, IN1, 8443, t + 7).open()
    c.send(0, b"GET /x HTTP/1.1\r\nHost: intranet\r\nAuthorization: Basic Zm9vOmJhcg==\r\n\r\n")
    c.close()
    return {9000001: 1, 9000002: 1, 9000003: 1}


EXPOSED = [(3306, 9000101), (6379, 9000102), (27017, 9000103), (9200, 9000104),
           (3389, 9000105), (445, 9000106), (22, 9000107)]


def case_exposure(cap):
    t = 1.0
    exp = {}
    for i, (port, sid) in enumerate(EXPOSED):
        # outside client, inside server answers SYN/ACK: alert x1
        c = Tcp(cap, OUT1, 41000 + i, IN1, port, t + i).open()
        c.send(0, b"hello\r\n")
        c.close()
        # near miss: same port from an inside client
        Tcp(cap, IN2, 42000 + i, IN1, port, t + i + 0.2).open().close()
        # near miss: outside client, port closed (RST)
        Tcp(cap, OUT2, 43000 + i, IN3, port, t + i + 0.4).refused()
        exp[sid] = 1
    # a second MongoDB port of the range and Elasticsearch transport
    Tcp(cap, OUT3, 44001, IN2, 27019, t + 8).open().close()
    Tcp(cap, OUT3, 44002, IN2, 9300, t + 9).open().close()
    exp[9000103] += 1
    exp[9000104] += 1
    # near miss: an inside client reaching an outside MySQL (reverse way)
    Tcp(cap, IN1, 44003, OUT3, 3306, t + 10).open().close()
    return exp


def case_dns_tunnel(cap):
    t = 1.0
    long_label = "qwertzuiopasdfghjklyxcvbnmqwertzuiopasdfghjklyxcvbnm"   # 52, not hex
    names = [
        (long_label + ".t.example.com", {9000301: 1}),
        ("a1.b2.c3.d4.e5.f6.g7.h8.i9.j0.k1.example.com", {9000302: 1}),
        ("0123456789abcdef0123456789abcdef0123.x.example.net", {9000303: 1}),
        ("vaaaakardli.pirate.sea", {9000304: 1}),
        # near misses
        ("www.example.com", {}),
        ("qwertzuiopasdfghjklyxcvbnmqwertzuiopasdfghjk.example.com", {}),   # 44-char label
        ("b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa", {}),
        ("a.b.c.d.e.f.g.example.com", {}),                                   # 9 labels
        ("0123456789abcdef0123.example.net", {}),                          # 20 hex
        ("version.vaaaak.example.com", {}),
    ]
    exp = {9000301: 0, 9000302: 0, 9000303: 0, 9000304: 0}
    for i, (name, e) in enumerate(names):
        qt = "PTR" if name.endswith(".arpa") else "A"
        dns_pair(cap, t + i * 0.5, IN1 if i % 2 else IN2, 50000 + i, RESOLVER, name, qt)
        for sid, n in e.items():
            exp[sid] += 2 * n        # each of the flow's two queries
    return exp


def case_mining(cap):
    t = 1.0
    # nDPI names every stratum/JSON-RPC-to-pool flow below "Mining": 9000405
    # once per inside source (IN1, IN2; the IN2 -> IN3 flow is internal)
    exp = {9000401: 0, 9000402: 0, 9000403: 0, 9000404: 0, 9000405: 2}
    # stratum subscribe to an outside pool: 9000401 x1
    c = Tcp(cap, IN1, 45001, OUT1, 3333, t).open()
    c.send(0, b'{"id": 1, "method": "mining.subscribe", "params": ["cgminer/4.10"]}\n')
    c.send(1, b'{"id":1,"result":[[["mining.notify","ae6812eb4cd7735a302a8a9dd95cf71f"]],"08000002",4],"error":null}\n')
    c.send(0, b'{"id": 2, "method": "mining.authorize", "params": ["wallet.worker", "x"]}\n')
    c.close()
    exp[9000401] += 1
    # near miss: the same message between two inside hosts
    c = Tcp(cap, IN2, 45002, IN3, 3333, t + 1).open()
    c.send(0, b'{"id": 1, "method": "mining.subscribe", "params": []}\n')
    c.close()
    # XMRig login: 9000402 x1
    c = Tcp(cap, IN2, 45003, OUT2, 443, t + 2).open()
    c.send(0, b'{"id":1,"jsonrpc":"2.0","method":"login","params":{"login":"44AFFq5kSiGBoZ",'
              b'"pass":"x","agent":"XMRig/6.21.0 (Linux x86_64) libuv/1.44.2 gcc/12.2.0","algo":["rx/0"]}}\n')
    c.close()
    exp[9000402] += 1
    # near miss: a JSON-RPC login without an agent (an ordinary web API)
    c = Tcp(cap, IN2, 45004, OUT2, 8080, t + 3).open()
    c.send(0, b'{"jsonrpc":"2.0","method":"login","params":{"user":"bob"}}\n')
    c.close()
    # pool lookups: 9000403 x4 (two queries in each flow)
    dns_pair(cap, t + 4, IN1, 51001, RESOLVER, "pool.supportxmr.com")
    dns_pair(cap, t + 4.5, IN2, 51002, RESOLVER, "xmr-eu1.nanopool.org")
    exp[9000403] += 4
    # near misses: a look-alike name and a name that only contains a pool name
    dns_pair(cap, t + 5, IN1, 51003, RESOLVER, "supportxmr.com.evil.example")
    dns_pair(cap, t + 5.5, IN1, 51004, RESOLVER, "notnanopool.org")
    # TLS to a pool: 9000404 x1; near miss: an ordinary SNI
    tls_session(cap, t + 6, IN3, 45005, OUT3, 443, "gulf.moneroocean.stream")
    exp[9000404] += 1
    tls_session(cap, t + 7, IN3, 45006, OUT3, 443, "www.example.com")
    return exp


def case_remote_access(cap):
    t = 1.0
    # TeamViewer's own protocol on 5938 from IN1: 9000201 x1
    c = Tcp(cap, IN1, 45100, OUT1, 5938, t).open()
    for i in range(4):
        c.send(0, b"\x17\x24\x0a\x20" + bytes(20))
        c.send(1, b"\x17\x24\x0b\x20" + bytes(40))
    c.close()
    # TeamViewer found by SNI (TLS.TeamViewer) from IN3: 9000201 x1
    tls_session(cap, t + 1, IN3, 45101, OUT3, 443, "router15.teamviewer.com")
    # AnyDesk by SNI (TLS.AnyDesk) from IN2, twice: 9000202 x1 (limit by_src)
    tls_session(cap, t + 2, IN2, 45102, OUT2, 443, "relay-8f2e1c3a.net.anydesk.com")
    tls_session(cap, t + 3, IN2, 45103, OUT2, 443, "relay-0b7d44e1.net.anydesk.com")
    # near misses: TeamViewer between two inside hosts; ordinary TLS
    c = Tcp(cap, IN1, 45104, IN2, 5938, t + 4).open()
    for i in range(4):
        c.send(0, b"\x17\x24\x0a\x20" + bytes(20))
        c.send(1, b"\x17\x24\x0b\x20" + bytes(40))
    c.close()
    tls_session(cap, t + 5, IN1, 45105, OUT1, 443, "www.example.org")
    # Tor: nDPI names a ClientHello with a Tor-style random SNI (www.<random>.com)
    # TLS.Tor. Twice from IN1 (9000203 x1: limit by_src), once from IN2 (x1).
    tls_session(cap, t + 6, IN1, 45106, OUT1, 9001, "www.tl4xq2w6zv3kd7.com")
    tls_session(cap, t + 7, IN1, 45107, OUT2, 443, "www.n5ph2kq7rwx3vd.com")
    tls_session(cap, t + 8, IN2, 45108, OUT3, 9001, "www.b2xk7wq4mjt5zn.com")
    # near misses: Tor between two inside hosts (not $EXTERNAL_NET); an
    # ordinary SNI on Tor's relay port 9001
    tls_session(cap, t + 9, IN3, 45109, IN1, 9001, "www.j4tw2pq7xkz6vb.com")
    tls_session(cap, t + 10, IN3, 45110, OUT1, 9001, "www.example.com")
    return {9000201: 2, 9000202: 1, 9000203: 2}


def case_scan(cap):
    t = 1.0
    # 30 SYNs to closed ports of one inside host within 3 s: one alert (threshold
    # type both: at the 21st, once in the minute)
    for i in range(30):
        Tcp(cap, OUT1, 46000 + i, IN1, 1000 + i, t + i * 0.1).refused()
    # near miss: 5 ports from another outside address
    for i in range(5):
        Tcp(cap, OUT2, 46100 + i, IN2, 2000 + i, t + 4 + i * 0.1).refused()
    # near miss: exactly 20 SYNs (not more) from a third
    for i in range(20):
        Tcp(cap, OUT3, 46200 + i, IN2, 3000 + i, t + 6 + i * 0.1).refused()
    # near miss: 25 SYNs from one inside host (not $EXTERNAL_NET)
    for i in range(25):
        Tcp(cap, IN3, 46300 + i, IN2, 4000 + i, t + 9 + i * 0.05).refused()
    # ICMP sweep: 25 echo requests from OUT1 in 2.5 s: one alert, at the 21st
    for i in range(25):
        dst = "10.20.1.%d" % (i + 1)
        cap.add(t + 12 + i * 0.1, OUT1, dst,
                IP(src=OUT1, dst=dst, ttl=55) / ICMP(type=8, id=0x4242, seq=i) / (b"p" * 32))
    # near miss: 10 echo requests from OUT2; echo replies from inside
    for i in range(10):
        dst = "10.20.2.%d" % (i + 1)
        cap.add(t + 16 + i * 0.1, OUT2, dst,
                IP(src=OUT2, dst=dst, ttl=55) / ICMP(type=8, id=0x4343, seq=i) / (b"p" * 32))
        cap.add(t + 16 + i * 0.1 + 0.001, dst, OUT2,
                IP(src=dst, dst=OUT2, ttl=64) / ICMP(type=0, id=0x4343, seq=i) / (b"p" * 32))
    return {9000701: 1, 9000702: 1}


def case_web(cap):
    t = 1.0
    reqs = [
        ("/products?id=1%20UNION%20SELECT%20username,password%20FROM%20users", {9000801: 1}),
        ("/item.php?id=1+union/**/all+select+1,2,3--", {9000801: 1}),
        ("/login?user=admin%27%20or%201%3D1--&pw=x", {9000802: 1}),
        ("/login?user=x'+or+'1'='1", {9000802: 1}),
        ("/cgi-bin/ping?host=127.0.0.1%3Bcat%20/etc/shadow", {9000803: 1}),
        ("/download?file=../../../../etc/passwd", {9000804: 1}),
        # near misses
        ("/news/union-selection-2024.html", {}),
        ("/search?q=union+selection+committee", {}),       # "select" is part of a word
        ("/docs?topic=or%201%3D2", {}),
        ("/api/catalog?cat=id&sort=name", {}),
        ("/static/app.min.js", {}),
    ]
    exp = {9000801: 0, 9000802: 0, 9000803: 0, 9000804: 0}
    for i, (target, e) in enumerate(reqs):
        http_get(cap, t + i * 0.5, OUT1 if i % 2 else OUT2, 47000 + i, IN1, 80, target)
        for sid, n in e.items():
            exp[sid] += n
    return exp


def case_cross_border(cap):
    t = 1.0
    gb, cn = "81.2.69.142", "175.16.199.10"
    # 1200 segments of 1448 bytes to GB in ~6 s: type both -> 1 alert
    c = Tcp(cap, IN1, 48001, gb, 443, t).open()
    for i in range(1200):
        c.seg(0, "PA", bytes([i & 0xFF]) * MSS)
        if i % 2:
            c.seg(1, "A")
    c.close()
    # near misses: the same to CN; 300 segments to GB from another host
    c = Tcp(cap, IN2, 48002, cn, 443, t + 10).open()
    for i in range(1200):
        c.seg(0, "PA", bytes([i & 0xFF]) * MSS)
        if i % 2:
            c.seg(1, "A")
    c.close()
    c = Tcp(cap, IN3, 48003, gb, 443, t + 20).open()
    for i in range(300):
        c.seg(0, "PA", bytes([i & 0xFF]) * MSS)
        if i % 2:
            c.seg(1, "A")
    c.close()
    # Personal data (pii rules 9000602-9000604), from another inside host:
    # an export with 12 identity numbers, 6 cards and 22 mobile numbers to
    # GB fires each once; the same to CN, and one just under each
    # threshold (9, 4, 19) to GB, fire none.
    for i, (dst, n) in enumerate(((gb, (12, 6, 22)), (cn, (12, 6, 22)), (gb, (9, 4, 19)))):
        rows = [pii_id(cap.rng) for _ in range(n[0])] + [pii_card(cap.rng) for _ in range(n[1])] + \
            ["1%d%09d" % (cap.rng.randint(3, 9), cap.rng.randrange(10 ** 9)) for _ in range(n[2])]
        body = ("value\n" + "\n".join(rows) + "\n").encode()
        req = (b"POST /export HTTP/1.1\r\nHost: files.example.net\r\nContent-Type: text/csv\r\n"
               b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        c = Tcp(cap, IN4, 48004 + i, dst, 80, t + 30 + 2 * i).open()
        c.send(0, req)
        c.send(1, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        c.close()
    return {9000601: 1, 9000602: 1, 9000603: 1, 9000604: 1}


def pii_id(rng):
    """A fictitious resident identity number with a valid GB 11643 check character."""
    d = "%02d%04d%04d%02d%02d%03d" % (rng.choice((11, 31, 44, 51)), rng.randrange(100, 10000),
                                      rng.randrange(1940, 2005), rng.randint(1, 12), rng.randint(1, 28),
                                      rng.randrange(1000))
    w = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return d + "10X98765432"[sum(int(c) * k for c, k in zip(d, w)) % 11]


def pii_card(rng):
    """A fictitious UnionPay number (62, 16 digits) with a valid Luhn digit."""
    body = "62" + "".join(str(rng.randrange(10)) for _ in range(13))
    for c in "0123456789":
        n = body + c
        if sum(int(x) * (2 if i % 2 else 1) - (9 if int(x) * (2 if i % 2 else 1) > 9 else 0)
               for i, x in enumerate(reversed(n))) % 10 == 0:
            return n
    raise AssertionError("no Luhn digit")


OPENSSL_DEFAULT = [("C", "AU"), ("ST", "Some-State"), ("O", "Internet Widgits Pty Ltd")]


def case_tls(cap):
    t = 1.0
    # OpenSSL's placeholder issuer (a self-signed certificate made with the
    # defaults): 9000501 on the full default, on ST alone and on O alone
    tls_cert_session(cap, t, IN1, 49001, OUT1, 443, "intranet.example.org",
                     OPENSSL_DEFAULT + [("CN", "intranet.example.org")], OPENSSL_DEFAULT)
    tls_cert_session(cap, t + 1, OUT2, 49002, IN2, 8443, "ops.example.org",
                     [("CN", "ops.example.org")], [("C", "AU"), ("ST", "Some-State"), ("O", "Ops")])
    tls_cert_session(cap, t + 2, IN3, 49003, OUT3, 443, "lab.example.org",
                     [("CN", "lab.example.org")], [("C", "GB"), ("O", "Internet Widgits Pty Ltd")])
    # near misses: a public CA's issuer; the placeholder only in the subject
    le = [("C", "US"), ("O", "Let's Encrypt"), ("CN", "R3")]
    tls_cert_session(cap, t + 3, IN1, 49004, OUT1, 443, "app.example.net", [("CN", "app.example.net")], le)
    tls_cert_session(cap, t + 4, IN1, 49005, OUT2, 443, "dev.example.net",
                     OPENSSL_DEFAULT + [("CN", "dev.example.net")], le)
    # Tor-style certificate names (subject www.<base32>.net by www.<base32>.com):
    # 9000502 x2. From IN2 with a Tor SNI (nDPI: TLS.Tor, so 9000203 x1 too),
    # and from outside to an inside relay with an ordinary SNI.
    tor_names = ([("CN", "www.tl4xq2w6zv3kd7.net")], [("CN", "www.zq3vbx7hkw5nfr.com")])
    tls_cert_session(cap, t + 5, IN2, 49006, OUT3, 9001, "www.tl4xq2w6zv3kd7.com", *tor_names)
    tls_cert_session(cap, t + 6, OUT1, 49007, IN3, 443, "cdn.example.net", *tor_names)
    # near misses: 0, 1, 8, 9 are not base32; .org for .net; a real issuer
    tls_cert_session(cap, t + 7, IN1, 49008, OUT1, 443, "cdn.example.net",
                     [("CN", "www.abc0189xyzq.net")], [("CN", "www.zq3vbx7hkw5nfr.com")])
    tls_cert_session(cap, t + 8, IN1, 49009, OUT1, 443, "cdn.example.net",
                     [("CN", "www.tl4xq2w6zv3kd7.org")], [("CN", "www.zq3vbx7hkw5nfr.com")])
    tls_cert_session(cap, t + 9, IN1, 49010, OUT1, 443, "cdn.example.net", [("CN", "www.tl4xq2w6zv3kd7.net")], le)
    return {9000501: 3, 9000502: 2, 9000203: 1}


# The cross-border case's country database (tests/gen/mkmmdb "GeoIP2-Country").
COUNTRY_SPEC = """# network  fields (tests/unit/mmdbwrite.h)
81.2.69.0/24     country.iso_code=GB
175.16.199.0/24  country.iso_code=CN
"""


CASES = [
    ("credentials", case_credentials, "cleartext FTP/Telnet/HTTP Basic credentials", None),
    ("exposure", case_exposure, "database/admin ports answering the outside", None),
    ("dns_tunnel", case_dns_tunnel, "DNS tunnelling heuristics on dns.query", None),
    ("mining", case_mining, "stratum, pool names in DNS and TLS SNI", None),
    ("remote_access", case_remote_access, "TeamViewer, AnyDesk by nDPI, one per inside host", None),
    ("scan", case_scan, "TCP SYN scan and ICMP sweep thresholds", None),
    ("web", case_web, "SQL/command injection and traversal in http.uri", None),
    ("cross_border", case_cross_border, "large upload and personal data to GB (geoip, pii), not to CN", "geoip"),
    ("tls", case_tls, "OpenSSL placeholder issuers, Tor-style certificate names", None),
]


def write_expected(out, manifest):
    """OUTDIR/expected.json, the manifest the integration tests read."""
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: gen_rule_cases.py OUTDIR\n")
        return 2
    out = argv[1]
    os.makedirs(out, exist_ok=True)
    manifest = {}
    for name, fn, what, needs in CASES:
        cap = Capture("linkwatch-rules-" + name)
        exp = fn(cap)
        cap.write(os.path.join(out, name + ".pcap"))
        m = {"pcap": name + ".pcap", "what": what,
             "alerts": {str(k): v for k, v in sorted(exp.items())}}
        if needs:
            m["needs"] = needs
            m["mmdb_spec"] = "country.spec"
        manifest[name] = m
    with open(os.path.join(out, "country.spec"), "w") as f:
        f.write(COUNTRY_SPEC)
    write_expected(out, manifest)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
