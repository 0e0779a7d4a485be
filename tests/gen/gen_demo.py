#!/usr/bin/env python3
"""gen_demo.py - writes the bundled demo capture: a few seconds of a
data-centre link, for the README's first command.

Usage: gen_demo.py OUTPUT.pcap [COUNTRY.spec]

With COUNTRY.spec it also writes a country database spec for
tests/gen/mkmmdb ("GeoIP2-Country") that places the outside peers as
below, so the tests geolocate the demo without any downloaded database.

Deterministic (fixed timestamps and seeds): two runs write identical bytes.
About 4,300 packets over 8 seconds. Inside hosts are in 10.1.0.0/16 (and
2001:db8:1::/48); outside peers are real allocations that both the MaxMind
test databases in the corpus and public country databases geolocate
(81.2.69.142 GB, 2.125.160.216 GB, 89.160.20.112 SE, 216.160.83.56 US,
175.16.199.0/24 CN - the demo's home country -, 2001:218::/32 JP for
MaxMind, AU in ip-location-db's whois-based data). What is in it:

  - HTTP to an inside web server, including one request with a Basic
    Authorization header and one with an SQL-injection-looking URL, and a
    1.5 MB download (most of the packets)
  - DNS queries to an inside resolver, one with a long tunnelling-like name,
    and the resolver asking an outside server
  - TLS ClientHellos with SNI to several names, from inside hosts to outside
    servers (IPv4 and IPv6), and a 1.6 MB TLS upload to the US address (an
    offsite backup: cross-border traffic the shipped rule 9000601 reports)
  - an SSH banner exchange
  - MySQL (3306) and Redis (6379) sessions from outside addresses to inside
    database hosts on VLAN 100
  - an FTP login with USER/PASS
  - a SYN scan of 100 ports of one inside host from one outside address
  - ICMP echo inside and to the outside
  - tenant traffic in VXLAN (VNI 5001 and 5002) between two inside VTEPs
  - HTTP uploads of personal data (generated, fictitious, see
    PII_ABROAD_COUNTS and PII_INSIDE_COUNTS): a CSV export to the US address
    on a keep-alive connection (a small GET first, then the POST), the same
    kind of data as JSON to the inside web server, and an upload abroad
    (GB) with no personal data in it

Every TCP session has a complete handshake and teardown with consistent
sequence and acknowledgement numbers (the scan's probes excepted: they are
answered by SYN/ACK or RST as a scanned host does).
"""

import random
import struct
import sys

from scapy.layers.inet import IP, TCP, UDP, ICMP
from scapy.layers.inet6 import IPv6
from scapy.layers.dns import DNS, DNSQR, DNSRR

import gen_pii      # tests/gen/gen_pii.py, beside this file

BASE_US = 1718000000 * 1000000      # 2024-06-10T06:13:20Z
MSS = 1448
RNG = random.Random("linkwatch-demo-1")

GW_MAC = bytes.fromhex("00005e000101")


def mac_of(addr):
    """A stable locally administered MAC per address."""
    h = sum((i + 1) * b for i, b in enumerate(addr.encode())) & 0xFFFFFFFF
    return bytes([0x02, 0x42]) + struct.pack("!I", h)


class Capture:
    """Frames gathered from every session, written in time order."""

    def __init__(self):
        self.frames = []        # (ts_us, seq, bytes)
        self.seq = 0

    def add(self, t_s, frame):
        self.frames.append((BASE_US + int(round(t_s * 1e6)), self.seq, frame))
        self.seq += 1

    def write(self, path):
        self.frames.sort(key=lambda x: (x[0], x[1]))
        with open(path, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
            for ts, _, fr in self.frames:
                f.write(struct.pack("<IIII", ts // 1000000, ts % 1000000, len(fr), len(fr)))
                f.write(fr)
        return len(self.frames)


def eth(src_mac, dst_mac, etype, payload, vlan=None):
    if vlan is not None:
        return dst_mac + src_mac + struct.pack("!HHH", 0x8100, vlan, etype) + payload
    return dst_mac + src_mac + struct.pack("!H", etype) + payload


class Link:
    """How one conversation's packets reach the wire: plain Ethernet, an
    802.1Q tag, or VXLAN between two VTEPs."""

    def __init__(self, vlan=None, vxlan=None):
        self.vlan = vlan
        self.vxlan = vxlan      # (vni, vtep_a, vtep_b)
        self.ipid = RNG.randrange(1, 60000)

    def frame(self, ip_bytes, src, dst, d):
        v6 = ip_bytes[0] >> 4 == 6
        etype = 0x86DD if v6 else 0x0800
        inner = eth(mac_of(src), mac_of(dst), etype, ip_bytes, self.vlan if not self.vxlan else None)
        if not self.vxlan:
            return inner
        vni, a, b = self.vxlan
        if d == 1:
            a, b = b, a
        self.ipid += 1
        hdr = struct.pack("!II", 0x08000000, vni << 8)
        outer = IP(src=a, dst=b, ttl=64, id=self.ipid & 0xFFFF, flags="DF") / \
            UDP(sport=49152 + (hash_port(src, dst) % 16000), dport=4789) / (hdr + inner)
        return eth(mac_of(a), mac_of(b), 0x0800, bytes(outer), self.vlan)


def hash_port(a, b):
    x = sorted([a, b])
    return sum(ord(c) * (i + 7) for i, c in enumerate(x[0] + x[1]))


def l3(src, dst, ident, payload, ttl=64):
    if ":" in src:
        return IPv6(src=src, dst=dst, hlim=ttl) / payload
    return IP(src=src, dst=dst, ttl=ttl, id=ident & 0xFFFF, flags="DF") / payload


class Session:
    """One conversation between a client and a server, with its own clock."""

    def __init__(self, cap, cli, srv, t0, link=None, rtt=0.002, ttl=(64, 64)):
        self.cap, self.cli, self.srv = cap, cli, srv
        self.t = t0
        self.link = link or Link()
        self.rtt = rtt
        self.ttl = ttl
        self.ipid = [RNG.randrange(1, 60000), RNG.randrange(1, 60000)]

    def emit(self, d, l4, gap=None):
        src, dst = (self.cli, self.srv) if d == 0 else (self.srv, self.cli)
        self.ipid[d] += 1
        ip = bytes(l3(src, dst, self.ipid[d], l4, self.ttl[d]))
        self.cap.add(self.t, self.link.frame(ip, src, dst, d))
        self.t += gap if gap is not None else 0.00005

    def wait(self, s):
        self.t += s


class Tcp(Session):
    """A TCP connection: handshake, data each way in MSS segments with
    delayed ACKs, and an orderly close."""

    def __init__(self, cap, cli, cport, srv, sport, t0, **kw):
        super().__init__(cap, cli, srv, t0, **kw)
        self.port = (cport, sport)
        self.seq = [RNG.randrange(1 << 32), RNG.randrange(1 << 32)]
        self.win = (64240, 65160)

    def seg(self, d, flags, data=b"", gap=None):
        sp, dp = self.port if d == 0 else self.port[::-1]
        ack = self.seq[1 - d] if "A" in flags else 0
        opts = [("MSS", 1460), ("SAckOK", b""), ("WScale", 7)] if "S" in flags else []
        t = TCP(sport=sp, dport=dp, flags=flags, seq=self.seq[d], ack=ack,
                window=self.win[d] if "S" in flags else 502, options=opts)
        self.emit(d, t / data if data else t, gap)
        self.seq[d] = (self.seq[d] + len(data) + (1 if ("S" in flags or "F" in flags) else 0)) % (1 << 32)

    def open(self):
        self.seg(0, "S", gap=self.rtt / 2)
        self.seg(1, "SA", gap=self.rtt / 2)
        self.seg(0, "A")
        return self

    def send(self, d, data, ack_every=2):
        """data from side d, segmented; the peer ACKs every ack_every
        segments and after the last."""
        n = 0
        for i in range(0, len(data), MSS):
            chunk = data[i:i + MSS]
            last = i + MSS >= len(data)
            self.seg(d, "PA" if last else "A", chunk, gap=0.00012)
            n += 1
            if n % ack_every == 0 or last:
                self.wait(self.rtt / 2)
                self.seg(1 - d, "A", gap=0.00005)
        self.wait(self.rtt / 2)
        return self

    def exchange(self, req, resp):
        self.send(0, req)
        if resp:
            self.send(1, resp)
        return self

    def close(self, who=0):
        self.seg(who, "FA", gap=self.rtt / 2)
        self.seg(1 - who, "FA", gap=self.rtt / 2)
        self.seg(who, "A")
        return self


# ---------------------------------------------------------------- payloads

def http_req(host, path, extra=""):
    return ("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:126.0) "
            "Gecko/20100101 Firefox/126.0\r\nAccept: */*\r\n%sConnection: close\r\n\r\n"
            % (path, host, extra)).encode()


def http_resp(body, ctype="text/html"):
    return ("HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
            "Connection: close\r\n\r\n" % (ctype, len(body))).encode() + body


def len3(n):
    return struct.pack("!I", n)[1:]


def client_hello(sni, rnd):
    name = sni.encode()
    ext = b""
    ext += struct.pack("!HHHBH", 0, len(name) + 5, len(name) + 3, 0, len(name)) + name
    ext += struct.pack("!HH", 23, 0)                                   # extended_master_secret
    ext += struct.pack("!HHB", 0xFF01, 1, 0)                           # renegotiation_info
    groups = [0x001D, 0x0017, 0x0018, 0x0019]
    ext += struct.pack("!HHH", 10, 2 + 2 * len(groups), 2 * len(groups)) + b"".join(struct.pack("!H", g) for g in groups)
    ext += struct.pack("!HHBB", 11, 2, 1, 0)                           # ec_point_formats
    ext += struct.pack("!HH", 35, 0)                                   # session_ticket
    alpn = b"\x02h2\x08http/1.1"
    ext += struct.pack("!HHH", 16, len(alpn) + 2, len(alpn)) + alpn
    ext += struct.pack("!HHBHH", 5, 5, 1, 0, 0)                        # status_request
    ks = bytes(rnd.randrange(256) for _ in range(32))
    ext += struct.pack("!HHHHH", 51, 38, 36, 0x001D, 32) + ks          # key_share
    ext += struct.pack("!HHBHH", 43, 5, 4, 0x0304, 0x0303)             # supported_versions
    algs = [0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601]
    ext += struct.pack("!HHH", 13, 2 + 2 * len(algs), 2 * len(algs)) + b"".join(struct.pack("!H", a) for a in algs)
    ext += struct.pack("!HHB", 45, 2, 1) + b"\x01"                     # psk_key_exchange_modes
    ciphers = [0x1301, 0x1303, 0x1302, 0xC02B, 0xC02F, 0xCCA9, 0xCCA8, 0xC02C, 0xC030,
               0xC00A, 0xC009, 0xC013, 0xC014, 0x009C, 0x009D, 0x002F, 0x0035]
    body = struct.pack("!H", 0x0303) + bytes(rnd.randrange(256) for _ in range(32))
    body += b"\x20" + bytes(rnd.randrange(256) for _ in range(32))
    body += struct.pack("!H", 2 * len(ciphers)) + b"".join(struct.pack("!H", c) for c in ciphers)
    body += b"\x01\x00" + struct.pack("!H", len(ext)) + ext
    hs = b"\x01" + len3(len(body)) + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def server_hello(rnd):
    ext = struct.pack("!HHH", 43, 2, 0x0304)
    ext += struct.pack("!HHHH", 51, 36, 0x001D, 32) + bytes(rnd.randrange(256) for _ in range(32))
    body = struct.pack("!H", 0x0303) + bytes(rnd.randrange(256) for _ in range(32))
    body += b"\x20" + bytes(rnd.randrange(256) for _ in range(32)) + struct.pack("!HB", 0x1301, 0)
    body += struct.pack("!H", len(ext)) + ext
    hs = b"\x02" + len3(len(body)) + body
    rec = b"\x16\x03\x03" + struct.pack("!H", len(hs)) + hs
    rec += b"\x14\x03\x03\x00\x01\x01"                                 # change_cipher_spec
    return rec + app_data(rnd, 2400)                                   # encrypted extensions, cert, ...


def app_data(rnd, n):
    out = b""
    while n > 0:
        k = min(n, 1400)
        out += b"\x17\x03\x03" + struct.pack("!H", k) + bytes(rnd.randrange(256) for _ in range(k))
        n -= k
    return out


def tls_session(cap, cli, cport, srv, sni, t0, resp_bytes=6000, link=None, rtt=0.02, upload=0):
    rnd = random.Random("tls-" + sni)
    s = Tcp(cap, cli, cport, srv, 443, t0, link=link, rtt=rtt, ttl=(64, 52)).open()
    s.send(0, client_hello(sni, rnd))
    s.send(1, server_hello(rnd))
    s.send(0, b"\x14\x03\x03\x00\x01\x01" + app_data(rnd, 80))       # client Finished
    s.send(0, app_data(rnd, 420))                                     # request
    if upload:
        s.send(0, b"".join(app_data(rnd, 16000) for _ in range(upload // 16000)))
    s.send(1, app_data(rnd, resp_bytes))
    return s.close()


def mysql_packet(seq, payload):
    return struct.pack("<I", len(payload))[:3] + bytes([seq]) + payload


def mysql_session(cap, cli, cport, srv, t0, link):
    rnd = random.Random("mysql")
    s = Tcp(cap, cli, cport, srv, 3306, t0, link=link, rtt=0.03, ttl=(49, 64)).open()
    salt = bytes(rnd.randrange(33, 127) for _ in range(20))
    greet = b"\x0a8.0.36-0+deb12u1\x00" + struct.pack("<I", 2317) + salt[:8] + b"\x00"
    greet += struct.pack("<HBHH", 0xFFFF, 0xFF, 0x0002, 0xDFFF) + bytes([21]) + b"\x00" * 10
    greet += salt[8:] + b"\x00" + b"caching_sha2_password\x00"
    s.send(1, mysql_packet(0, greet))
    auth = bytes(rnd.randrange(256) for _ in range(32))
    login = struct.pack("<IIB", 0x01AFA68D, 16777216, 0xFF) + b"\x00" * 23 + b"root\x00"
    login += bytes([len(auth)]) + auth + b"mysql\x00" + b"caching_sha2_password\x00"
    s.send(0, mysql_packet(1, login))
    s.send(1, mysql_packet(2, b"\x00\x00\x00\x02\x00\x00\x00"))
    q = b"\x03SELECT user, authentication_string FROM mysql.user"
    s.send(0, mysql_packet(0, q))
    err = b"\xff" + struct.pack("<H", 1142) + b"#42000SELECT command denied to user 'root'@'89.160.20.112' for table 'user'"
    s.send(1, mysql_packet(1, err))
    s.send(0, mysql_packet(0, b"\x01"))                               # COM_QUIT
    return s.close(0)


def redis_session(cap, cli, cport, srv, t0, link):
    s = Tcp(cap, cli, cport, srv, 6379, t0, link=link, rtt=0.09, ttl=(47, 64)).open()
    info = (b"# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\nos:Linux 6.1.0-21-amd64 x86_64\r\n"
            b"arch_bits:64\r\ntcp_port:6379\r\nuptime_in_seconds:1829311\r\nexecutable:/usr/bin/redis-server\r\n"
            b"config_file:/etc/redis/redis.conf\r\n")
    for req, resp in ((b"*1\r\n$4\r\nPING\r\n", b"+PONG\r\n"),
                      (b"*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n", b"$%d\r\n%s\r\n" % (len(info), info)),
                      (b"*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$3\r\ndir\r\n",
                       b"*2\r\n$3\r\ndir\r\n$14\r\n/var/lib/redis\r\n"),
                      (b"*2\r\n$4\r\nKEYS\r\n$1\r\n*\r\n",
                       b"*3\r\n$12\r\nsession:9f2a\r\n$10\r\nuser:1001\r\n$11\r\ncart:77aa31\r\n")):
        s.exchange(req, resp)
    return s.close(0)


def ftp_session(cap, cli, cport, srv, t0):
    s = Tcp(cap, cli, cport, srv, 21, t0, rtt=0.001).open()
    s.send(1, b"220 (vsFTPd 3.0.3)\r\n")
    for req, resp in ((b"USER alice\r\n", b"331 Please specify the password.\r\n"),
                      (b"PASS Winter2024!\r\n", b"230 Login successful.\r\n"),
                      (b"SYST\r\n", b"215 UNIX Type: L8\r\n"),
                      (b"PWD\r\n", b"257 \"/home/alice\" is the current directory\r\n"),
                      (b"QUIT\r\n", b"221 Goodbye.\r\n")):
        s.exchange(req, resp)
    return s.close(1)


def ssh_session(cap, cli, cport, srv, t0):
    rnd = random.Random("ssh")
    s = Tcp(cap, cli, cport, srv, 22, t0, rtt=0.001).open()
    s.send(1, b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u2\r\n")
    s.send(0, b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n")
    for d, n in ((0, 1512), (1, 1080), (0, 48), (1, 564), (0, 16), (0, 180), (1, 92), (0, 128), (1, 740)):
        s.send(d, bytes(rnd.randrange(256) for _ in range(n)))
    return s.close(0)


def dns_exchange(cap, cli, cport, srv, name, t0, qtype="A", answer=None, link=None, rtt=0.0008):
    s = Session(cap, cli, srv, t0, link=link)
    qid = RNG.randrange(1 << 16)
    q = DNS(id=qid, rd=1, qd=DNSQR(qname=name, qtype=qtype))
    if qtype == "TXT":
        an = DNSRR(rrname=name, type="TXT", ttl=0, rdata="dGhlIHF1aWNrIGJyb3duIGZveA")
    elif answer is None:
        an = None
    else:
        an = DNSRR(rrname=name, type=qtype, ttl=300, rdata=answer)
    r = DNS(id=qid, qr=1, rd=1, ra=1, qd=DNSQR(qname=name, qtype=qtype), an=an,
            rcode=0 if an is not None else 3)
    s.emit(0, UDP(sport=cport, dport=53) / q, gap=rtt)
    s.emit(1, UDP(sport=53, dport=cport) / r)


def ping(cap, cli, srv, t0, n, interval=0.2, rtt=0.0004, link=None):
    s = Session(cap, cli, srv, t0, link=link)
    ident = RNG.randrange(1 << 16)
    data = bytes(range(0x10, 0x10 + 48))
    for i in range(n):
        s.t = t0 + i * interval
        s.emit(0, ICMP(type=8, id=ident, seq=i + 1) / (struct.pack("!Q", i) + data), gap=rtt)
        s.emit(1, ICMP(type=0, id=ident, seq=i + 1) / (struct.pack("!Q", i) + data))


def http_keepalive(cap, cli, cport, srv, t0, host, requests, rtt=0.02):
    """One keep-alive HTTP/1.1 connection: each (method, path, ctype, body)
    request in turn, each answered by a small JSON response."""
    s = Tcp(cap, cli, cport, srv, 80, t0, rtt=rtt, ttl=(64, 52)).open()
    for method, path, ctype, body in requests:
        head = ("%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: python-requests/2.28.1\r\nAccept: */*\r\n"
                "Connection: keep-alive\r\n" % (method, path, host))
        if method == "POST":
            head += "Content-Type: %s\r\nContent-Length: %d\r\n" % (ctype, len(body))
        answer = b'{"ok": true}' if method == "GET" else b'{"status": "accepted"}'
        s.exchange(head.encode() + b"\r\n" + body,
                   ("HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nContent-Type: application/json\r\n"
                    "Content-Length: %d\r\nConnection: keep-alive\r\n\r\n" % len(answer)).encode() + answer)
    return s.close()


def syn_scan(cap, scanner, target, t0, ports, open_ports):
    rnd = random.Random("scan")
    s = Session(cap, scanner, target, t0, ttl=(40, 64))
    for i, p in enumerate(ports):
        s.t = t0 + i * 0.004
        seq = rnd.randrange(1 << 32)
        s.emit(0, TCP(sport=51874, dport=p, flags="S", seq=seq, window=1024, options=[("MSS", 1460)]),
               gap=0.0003)
        if p in open_ports:
            srv_seq = rnd.randrange(1 << 32)
            s.emit(1, TCP(sport=p, dport=51874, flags="SA", seq=srv_seq, ack=seq + 1, window=64240,
                          options=[("MSS", 1460)]), gap=0.0003)
            s.emit(0, TCP(sport=51874, dport=p, flags="R", seq=seq + 1, window=0))
        else:
            s.emit(1, TCP(sport=p, dport=51874, flags="RA", seq=0, ack=seq + 1, window=0))


# ---------------------------------------------------------------- personal data
# Fictitious people for the uploads, made by tests/gen/gen_pii.py's
# generators (the unit tests' vectors): identity numbers with a GB 11643
# check character, UnionPay card numbers with a Luhn digit, mobile numbers
# 1[3-9] and 9 digits; addresses at example.com. Nothing is real.

FAMILY = ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun"]
GIVEN = ["Wei", "Fang", "Na", "Min", "Jing", "Lei", "Qiang", "Yan", "Jun", "Tao", "Ping", "Hui"]


def make_person(rng, card_length):
    """name, identity number (province 11-65, born 1950-2004: before the
    capture's date), mobile, email and a UnionPay card number ("" when
    card_length is 0)."""
    y, m = rng.randint(1950, 2004), rng.randint(1, 12)
    d = rng.randint(1, [31, 29 if y % 4 == 0 else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1])
    ident = gen_pii.make_id(rng, rng.choice([p for p in gen_pii.PROVINCES if p <= 65]),
                            "%04d%02d%02d" % (y, m, d))
    family, given = rng.choice(FAMILY), rng.choice(GIVEN)
    return {"name": "%s %s" % (family, given), "id": ident, "mobile": gen_pii.make_mobile(rng),
            "email": "%s.%s%d@example.com" % (given.lower(), family.lower(), rng.randint(1, 99)),
            "card": gen_pii.make_card(rng, "62", card_length) if card_length else ""}


def people(rng, n, cards):
    """n people; every (n // cards)-th has a card, 16, 17 or 19 digits (never
    18: an 18-digit number may read as an identity number)."""
    return [make_person(rng, (16, 17, 19)[(i // (n // cards)) % 3] if i % (n // cards) == 0 else 0)
            for i in range(n)]


def pii_counts(rows):
    """What the rows hold, as the sensor counts it (pii types)."""
    return {"cn-id": len(rows), "bank-card": sum(1 for r in rows if r["card"]),
            "cn-mobile": len(rows), "email": len(rows), "passport-cn": 0}


PII_RNG = random.Random("linkwatch-demo-pii")
PII_ABROAD = people(PII_RNG, 20, 5)      # CSV to the US address
PII_INSIDE = people(PII_RNG, 12, 3)      # JSON to the inside web server
PII_ABROAD_COUNTS = pii_counts(PII_ABROAD)   # cn-id 20, bank-card 5, cn-mobile 20, email 20
PII_INSIDE_COUNTS = pii_counts(PII_INSIDE)   # cn-id 12, bank-card 3, cn-mobile 12, email 12


def csv_export(rows):
    out = "name,id_number,mobile,email,card_number\r\n"
    for r in rows:
        out += "%s,%s,%s,%s,%s\r\n" % (r["name"], r["id"], r["mobile"], r["email"], r["card"])
    return out.encode()


def json_export(rows):
    return ("[" + ",\n".join('{"name": "%s", "id_number": "%s", "mobile": "%s", "email": "%s", "card": "%s"}'
                              % (r["name"], r["id"], r["mobile"], r["email"], r["card"]) for r in rows)
            + "]\n").encode()


# ---------------------------------------------------------------- the capture

WEB, DB, CACHE, FTP, RESOLVER, BASTION = "10.1.1.10", "10.1.2.20", "10.1.2.21", "10.1.3.5", "10.1.0.53", "10.1.0.22"
CLIENTS = ["10.1.4.%d" % i for i in range(30, 38)]
V6_CLIENT = "2001:db8:1::20"
GB1, GB2, SE, US, CN = "81.2.69.142", "2.125.160.216", "89.160.20.112", "216.160.83.56", "175.16.199.23"
JP6 = "2001:218::443"

# The peers' countries, for tests/gen/mkmmdb (the MaxMind test databases' view).
COUNTRY_SPEC = """# network  fields (tests/unit/mmdbwrite.h)
2.125.160.0/24   country.iso_code=GB
81.2.69.0/24     country.iso_code=GB
89.160.20.0/24   country.iso_code=SE
175.16.199.0/24  country.iso_code=CN
216.160.83.0/24  country.iso_code=US
2001:218::/32    country.iso_code=JP
"""


def build():
    cap = Capture()
    ports = iter(range(40000, 65000, 7))
    db_vlan = Link(vlan=100)

    # HTTP to the inside web server.
    pages = [("/", b"<html><head><title>Intranet</title></head><body>Welcome</body></html>"),
             ("/status", b"ok\n"),
             ("/admin/", b"<html><body>Admin console</body></html>"),
             ("/products.php?id=1%27%20UNION%20SELECT%20username,password%20FROM%20users--%20",
              b"<html><body>Product not found</body></html>"),
             ("/static/app.js", b"console.log('app');\n" * 40)]
    for i, (path, body) in enumerate(pages):
        extra = "Authorization: Basic YWRtaW46UzNjcmV0IQ==\r\n" if path == "/admin/" else ""
        Tcp(cap, CLIENTS[i % 4], next(ports), WEB, 80, 0.05 + i * 0.37).open() \
            .exchange(http_req("intranet.example.com", path, extra), http_resp(body)).close()
    # A large download: most of the capture's packets.
    blob = random.Random("blob").randbytes(1_500_000)
    Tcp(cap, CLIENTS[5], next(ports), WEB, 80, 0.4, rtt=0.0006).open() \
        .exchange(http_req("intranet.example.com", "/downloads/backup-2024-06-09.tar.gz"),
                  http_resp(blob, "application/gzip")).close()
    # Monitoring polls the web servers' health page.
    for i in range(30):
        Tcp(cap, BASTION, next(ports), WEB if i % 2 else "10.1.1.11", 80, 0.1 + i * 0.17, rtt=0.0004).open() \
            .exchange(http_req("intranet.example.com", "/healthz"), http_resp(b"ok\n", "text/plain")).close()
    # HTTP from outside to the web server.
    Tcp(cap, GB1, next(ports), WEB, 80, 1.1, rtt=0.03, ttl=(51, 64)).open() \
        .exchange(http_req("www.example.com", "/wp-login.php"), http_resp(b"Not Found")).close()

    # DNS: clients ask the inside resolver; the resolver asks outside.
    names = ["intranet.example.com", "mail.example.com", "api.example.net", "cdn.example.org",
             "updates.example.jp", "login.example.net", "www.example.co.uk", "files.example.se",
             "db1.corp.example.com", "time.example.org"]
    t = 0.02
    for i in range(60):
        name = names[i % len(names)]
        dns_exchange(cap, CLIENTS[i % len(CLIENTS)], 30000 + i * 13, RESOLVER, name, t,
                     answer="192.0.2.%d" % (10 + i % len(names)))
        t += 0.09
    for i, name in enumerate(names[:6]):
        dns_exchange(cap, RESOLVER, 53000 + i, US, name, 0.03 + i * 0.8, answer="198.51.100.%d" % (20 + i),
                     rtt=0.08)
    tunnel_name = ("nbswy3dpeb3w64tmmqqhezlnn5tgk4tfmnxw2zlsmvzxi2lonmqgc3tfebqwg2dfmjzwk3tjnz"[:63] +
                   ".a7f3e9c1b2d40586.t1.tunnel.example.net")
    dns_exchange(cap, CLIENTS[7], 41111, RESOLVER, tunnel_name, 2.51, qtype="TXT")
    dns_exchange(cap, CLIENTS[7], 41112, RESOLVER, "mfrggzdfmztwq2lknnwg23tpobyxe43uov3ho6dzpi" +
                 ".a7f3e9c1b2d40587.t1.tunnel.example.net", 2.53, qtype="TXT")

    # TLS to outside servers, IPv4 and IPv6.
    for i, (srv, sni) in enumerate(((GB1, "www.example.co.uk"), (SE, "files.example.se"),
                                    (US, "api.example.net"), (CN, "cdn.example.cn"),
                                    (GB2, "login.example.net"))):
        tls_session(cap, CLIENTS[i], next(ports), srv, sni, 0.3 + i * 0.9)
    tls_session(cap, V6_CLIENT, next(ports), JP6, "updates.example.jp", 1.7, rtt=0.12)
    # An offsite backup: 1.6 MB uploaded over TLS to a server abroad (the
    # cross-border rule's case once a country database is configured).
    tls_session(cap, CLIENTS[2], next(ports), US, "backup.example.net", 4.6, rtt=0.01, upload=1_600_000)

    # SSH from the bastion to the web server.
    ssh_session(cap, BASTION, next(ports), WEB, 0.9)

    # Database and cache, reached from outside (they should not be), on VLAN 100.
    mysql_session(cap, SE, next(ports), DB, 2.2, db_vlan)
    redis_session(cap, US, next(ports), CACHE, 3.0, db_vlan)

    # FTP login.
    ftp_session(cap, CLIENTS[3], next(ports), FTP, 3.4)

    # A SYN scan of 100 ports of the web server.
    scan_ports = sorted(set([21, 22, 23, 25, 53, 80, 110, 143, 443, 445, 3306, 3389, 6379, 8080] +
                            random.Random("ports").sample(range(1, 10000), 90)))[:100]
    syn_scan(cap, GB2, WEB, 4.0, scan_ports, {22, 80, 443})

    # ICMP echo.
    ping(cap, BASTION, WEB, 0.5, 5)
    ping(cap, CLIENTS[6], GB1, 1.3, 4, rtt=0.028)

    # Tenant traffic in VXLAN between two VTEPs.
    vx1 = Link(vxlan=(5001, "10.1.255.1", "10.1.255.2"))
    vx2 = Link(vxlan=(5002, "10.1.255.1", "10.1.255.2"))
    for i in range(3):
        Tcp(cap, "10.200.0.10", next(ports), "10.200.0.20", 8080, 1.0 + i * 1.3, link=vx1).open() \
            .exchange(http_req("orders.tenant1.example", "/api/v1/orders?page=%d" % i),
                      http_resp(b'{"orders": []}', "application/json")).close()
        dns_exchange(cap, "10.200.0.10", 35000 + i, "10.200.0.2", "orders.tenant1.example", 0.95 + i * 1.3,
                     answer="10.200.0.20", link=vx1)
    for i in range(4):
        dns_exchange(cap, "10.200.0.10", 36000 + i, "10.200.0.2", "billing.tenant2.example", 1.5 + i,
                     answer="10.200.0.30", link=vx2)

    # Uploads of personal data, added after everything above so that the
    # rest of the capture keeps its bytes (RNG draws and ports come after).
    # A CRM export to the US: keep-alive, a small GET, then the CSV POST.
    http_keepalive(cap, CLIENTS[4], next(ports), US, 5.2, "api.example.net",
                   [("GET", "/v2/session", "", b""),
                    ("POST", "/v2/contacts/import", "text/csv", csv_export(PII_ABROAD))])
    # The same kind of data to the inside web server: not cross-border.
    http_keepalive(cap, CLIENTS[6], next(ports), WEB, 5.5, "intranet.example.com",
                   [("POST", "/hr/api/import", "application/json", json_export(PII_INSIDE))], rtt=0.001)
    # An upload abroad with no personal data: host metrics to GB.
    metrics = ('{"host": "web-01", "ts": "2024-06-10T06:13:26Z", "cpu": [0.42, 0.38, 0.51], '
               '"mem_used_mb": 2931, "disk_free_gb": 118, "requests": 48213, "errors_5xx": 3}').encode()
    http_keepalive(cap, CLIENTS[1], next(ports), GB1, 5.8, "metrics.example.co.uk",
                   [("POST", "/ingest", "application/json", metrics)], rtt=0.03)
    return cap


def main(argv):
    if len(argv) not in (2, 3):
        sys.stderr.write("usage: gen_demo.py OUTPUT.pcap [COUNTRY.spec]\n")
        return 2
    if len(argv) == 3:
        with open(argv[2], "w") as f:
            f.write(COUNTRY_SPEC)
    n = build().write(argv[1])
    sys.stderr.write("%s: %d packets\n" % (argv[1], n))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
