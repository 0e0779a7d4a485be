#!/usr/bin/env python3
"""gen_redis.py - a capture for the Redis tally tests: a few minutes of
mixed traffic with alerts of the test rules below spread over every minute.

Usage: gen_redis.py OUT.pcap [MINUTES [HOST_BASE]]

MINUTES (default 4) minutes of capture time starting 30 s into a minute,
so flows and alerts straddle minute (and one hour) boundaries. HOST_BASE
(default 1) is the second octet of the inside addresses (10.B.x.y), so two
sensors can be fed different hosts. Deterministic: fixed timestamps, no
randomness, plain struct packing (no scapy, so it is fast).

Every second of capture time:
  - an HTTP request/response on a full TCP session from an inside host to
    an outside web server (192.0.2.0/24); every 7th carries "LWTEST-A"
  - a DNS query and answer to the inside resolver 10.B.0.53; every 5th asks
    a name with "LWTEST-B" in it
  - every 3rd second an IPv6 UDP exchange (2001:db8:B::/48 to 2001:db8:ff::/48)
  - every 4th an ICMP echo and reply
  - every 11th a TCP session to port 22 carrying "LWTEST-C"
  - every 13th an HTTP session to an address the MaxMind test databases
    locate abroad (81.2.69.142 GB, 216.160.83.56 US, 89.160.20.112 SE), and
    every 17th one from 175.16.199.5 (CN in those databases) to an inside
    server, for country pairs and cross-border directions
and one TCP session that lasts the whole capture with a packet every 10 s.

RULES is the rule file the tests load with it (sid 9000001-9000003 with
priorities 1-3).
"""

import struct
import sys

RULES = """\
alert tcp any any -> any any (msg:"lwtest A"; content:"LWTEST-A"; sid:9000001; rev:1; priority:1;)
alert udp any any -> any any (msg:"lwtest B"; content:"LWTEST-B"; sid:9000002; rev:1; priority:2;)
alert tcp any any -> any any (msg:"lwtest C"; content:"LWTEST-C"; sid:9000003; rev:1; priority:3;)
"""

# 2025-01-01T00:57:30Z: 30 s into a minute, 2.5 minutes before an hour.
BASE = 1735693050


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip4(a):
    return bytes(int(x) for x in a.split("."))


def ip6(a):
    import ipaddress
    return ipaddress.IPv6Address(a).packed


class Writer:
    def __init__(self, path):
        self.f = open(path, "wb")
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        self.n = 0

    def frame(self, ts, l3, v6=False):
        eth = b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01" + (b"\x86\xdd" if v6 else b"\x08\x00")
        d = eth + l3
        sec, usec = int(ts), int(round((ts - int(ts)) * 1e6))
        self.f.write(struct.pack("<IIII", sec, usec, len(d), len(d)) + d)
        self.n += 1

    def close(self):
        self.f.close()


def l4_ip4(src, dst, proto, seg):
    s, d = ip4(src), ip4(dst)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(seg), 1, 0, 64, proto, 0, s, d)
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr, s + d + struct.pack("!BBH", 0, proto, len(seg))


def ipv4(src, dst, proto, seg_fn):
    """seg_fn(pseudo) -> segment with its checksum filled in."""
    hdr, pseudo = l4_ip4(src, dst, proto, seg_fn(None))
    return hdr + seg_fn(pseudo)


def tcp_seg(sp, dp, seq, ack, flags, payload=b""):
    def fn(pseudo):
        h = struct.pack("!HHIIBBHHH", sp, dp, seq, ack, 5 << 4, flags, 65535, 0, 0)
        if pseudo is not None:
            c = csum(pseudo + h + payload)
            h = h[:16] + struct.pack("!H", c) + h[18:]
        return h + payload
    return fn


def udp_seg(sp, dp, payload):
    def fn(pseudo):
        h = struct.pack("!HHHH", sp, dp, 8 + len(payload), 0)
        if pseudo is not None:
            h = h[:6] + struct.pack("!H", csum(pseudo + h + payload) or 0xFFFF)
        return h + payload
    return fn


def tcp_session(w, t, cli, srv, sp, dp, request, response):
    """A whole TCP session: handshake, one request, one response, FIN both ways."""
    F, S, R, P, A = 0x01, 0x02, 0x04, 0x08, 0x10
    c, s = 1000, 5000
    steps = [
        (0, cli, srv, sp, dp, c, 0, S, b""),
        (1, srv, cli, dp, sp, s, c + 1, S | A, b""),
        (0, cli, srv, sp, dp, c + 1, s + 1, A, b""),
        (0, cli, srv, sp, dp, c + 1, s + 1, P | A, request),
        (1, srv, cli, dp, sp, s + 1, c + 1 + len(request), P | A, response),
        (0, cli, srv, sp, dp, c + 1 + len(request), s + 1 + len(response), F | A, b""),
        (1, srv, cli, dp, sp, s + 1 + len(response), c + 2 + len(request), F | A, b""),
        (0, cli, srv, sp, dp, c + 2 + len(request), s + 2 + len(response), A, b""),
    ]
    for i, (_, a, b, x, y, seq, ack, fl, pl) in enumerate(steps):
        w.frame(t + i * 0.01, ipv4(a, b, 6, tcp_seg(x, y, seq, ack, fl, pl)))


def dns_query(qid, name, answer=None):
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    flags = 0x8180 if answer else 0x0100
    msg = struct.pack("!HHHHHH", qid, flags, 1, 1 if answer else 0, 0, 0) + q + struct.pack("!HH", 1, 1)
    if answer:
        msg += b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + ip4(answer)
    return msg


def main():
    out = sys.argv[1]
    minutes = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    b = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    w = Writer(out)
    long_cli, long_srv = "10.%d.9.9" % b, "192.0.2.250"
    lseq = 7000
    for sec in range(minutes * 60):
        t = BASE + sec
        cli = "10.%d.%d.%d" % (b, sec % 8, 10 + sec % 50)
        srv = "192.0.2.%d" % (1 + sec % 16)
        path = "/index-%d.html%s" % (sec, "?q=LWTEST-A" if sec % 7 == 0 else "")
        req = ("GET %s HTTP/1.1\r\nHost: www%d.example.com\r\nUser-Agent: lwtest\r\n\r\n"
               % (path, sec % 5)).encode()
        resp = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 20\r\n\r\n" + b"x" * 20
        tcp_session(w, t, cli, srv, 20000 + sec % 30000, 80, req, resp)

        name = "host%d.%s.example.org" % (sec, "LWTEST-B" if sec % 5 == 0 else "plain")
        qid = sec & 0xFFFF
        rsv = "10.%d.0.53" % b
        w.frame(t + 0.2, ipv4(cli, rsv, 17, udp_seg(30000 + sec % 20000, 53, dns_query(qid, name))))
        w.frame(t + 0.21, ipv4(rsv, cli, 17, udp_seg(53, 30000 + sec % 20000,
                                                     dns_query(qid, name, "192.0.2.77"))))
        if sec % 3 == 0:
            s6, d6 = "2001:db8:%x::%x" % (b, 1 + sec % 6), "2001:db8:ff::%x" % (1 + sec % 3)
            for k, (a, z) in enumerate(((s6, d6), (d6, s6))):
                pl = b"v6 datagram %d" % sec
                sp, dp = (5000 + sec % 4, 6000) if k == 0 else (6000, 5000 + sec % 4)
                hdr = struct.pack("!IHBB16s16s", 6 << 28, 8 + len(pl), 17, 64, ip6(a), ip6(z))
                pseudo = ip6(a) + ip6(z) + struct.pack("!IxxxB", 8 + len(pl), 17)
                w.frame(t + 0.3 + k * 0.01, hdr + udp_seg(sp, dp, pl)(pseudo), v6=True)
        if sec % 4 == 0:
            for k, (a, z) in enumerate(((cli, "192.0.2.200"), ("192.0.2.200", cli))):
                icmp = struct.pack("!BBHHH", 0 if k else 8, 0, 0, sec & 0xFFFF, 1) + b"ping"
                icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
                hdr, _ = l4_ip4(a, z, 1, icmp)
                w.frame(t + 0.4 + k * 0.01, hdr + icmp)
        if sec % 11 == 0:
            tcp_session(w, t + 0.5, cli, "192.0.2.22", 40000 + sec, 22,
                        b"SSH-2.0-LWTEST-C\r\n", b"SSH-2.0-OpenSSH_9.0\r\n")
        if sec % 13 == 0:
            far = ("81.2.69.142", "216.160.83.56", "89.160.20.112")[sec // 13 % 3]
            tcp_session(w, t + 0.7, cli, far, 41000 + sec, 80,
                        b"GET /abroad HTTP/1.1\r\nHost: abroad.example\r\n\r\n", resp)
        if sec % 17 == 0:
            tcp_session(w, t + 0.8, "175.16.199.5", "10.%d.0.80" % b, 42000 + sec, 80,
                        b"GET /inbound HTTP/1.1\r\nHost: inside.example\r\n\r\n", resp)
        if sec % 10 == 0:
            pl = b"keepalive %d" % sec
            w.frame(t + 0.6, ipv4(long_cli, long_srv, 6, tcp_seg(55555, 443, lseq, 9000, 0x18, pl)))
            lseq += len(pl)
    w.close()
    print("%s: %d packets, %d minutes" % (out, w.n, minutes))


if __name__ == "__main__":
    main()
