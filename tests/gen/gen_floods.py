#!/usr/bin/env python3
"""gen_floods.py - writes one capture per flood, each with legitimate TCP
sessions mixed into the flood, and a manifest of what the sensor must still
report for those sessions.

Usage: gen_floods.py OUTDIR [SCALE]

Cases (packet counts at SCALE 1.0):
  syn     200,000 SYNs from random sources to 10.9.0.1:80 (no answers)
  frag    40,000 first fragments (512 bytes, more-fragments set) of IPv4
          datagrams that never complete, random ids and sources
  dns     100,000 one-query DNS flows (query and answer) from random ports
  bigmeta 300 HTTP requests with 32 KB of headers (23 segments each) and
          300 TLS ClientHellos with a 16,000-byte SNI
  nested  10,000 UDP packets inside 10 nested IPv4-in-IPv4 tunnels
  legit   no flood: the baseline
Every case also holds 20 legitimate HTTP sessions between 10.1.0.10 and
10.2.0.20 (handshake, 3 request segments, 3 answer segments, FIN both
ways), spread over the flood's time line. OUTDIR/manifest.json lists, per
case, the flood's packets and the legitimate flows (src, sport, dst, dport,
pkts to server, pkts to client). Packets are built with struct (scapy is
too slow for floods); deterministic (fixed seeds and timestamps).
"""

import json
import os
import random
import struct
import sys

BASE_TS = 1704164645 * 1000000
MAC_A = bytes.fromhex("020000000a01")
MAC_B = bytes.fromhex("020000000b02")
LEGIT_CLI, LEGIT_SRV = "10.1.0.10", "10.2.0.20"
LEGIT_SESSIONS = 20


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def a4(s):
    return bytes(int(x) for x in s.split("."))


def ipv4(src, dst, proto, payload, ident=0, frag=0):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, frag, 64, proto, 0, src, dst)
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload


def l4sum(src, dst, proto, seg):
    return csum(src + dst + struct.pack("!BBH", 0, proto, len(seg)) + seg)


def tcp(src, dst, sport, dport, seq, ack, flags, data=b""):
    seg = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + data
    c = l4sum(src, dst, 6, seg)
    return ipv4(src, dst, 6, seg[:16] + struct.pack("!H", c) + seg[18:])


def udp(src, dst, sport, dport, data):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    c = l4sum(src, dst, 17, seg) or 0xffff
    return ipv4(src, dst, 17, seg[:6] + struct.pack("!H", c) + seg[8:])


def eth(ip):
    return MAC_B + MAC_A + b"\x08\x00" + ip


class Pcap:
    def __init__(self, path):
        self.f = open(path, "wb")
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        self.n = 0

    def put(self, ts, frame):
        self.f.write(struct.pack("<IIII", ts // 1000000, ts % 1000000, len(frame), len(frame)) + frame)
        self.n += 1

    def close(self):
        self.f.close()


def tcp_session(cli, srv, cport, sport, req, resp):
    """The frames of one HTTP-like session and (to server, to client) counts."""
    c, s = a4(cli), a4(srv)
    cs, ss = 1000, 5000
    out = [(0, tcp(c, s, cport, sport, cs, 0, 0x02)),
           (1, tcp(s, c, sport, cport, ss, cs + 1, 0x12)),
           (0, tcp(c, s, cport, sport, cs + 1, ss + 1, 0x10))]
    cs += 1
    ss += 1
    for part in req:
        out.append((0, tcp(c, s, cport, sport, cs, ss, 0x18, part)))
        cs += len(part)
    for part in resp:
        out.append((1, tcp(s, c, sport, cport, ss, cs, 0x18, part)))
        ss += len(part)
    out += [(0, tcp(c, s, cport, sport, cs, ss, 0x11)),
            (1, tcp(s, c, sport, cport, ss, cs + 1, 0x11)),
            (0, tcp(c, s, cport, sport, cs + 1, ss + 1, 0x10))]
    up = sum(1 for d, _ in out if d == 0)
    return [eth(f) for _, f in out], up, len(out) - up


def legit_sessions():
    req = [b"GET /index.html HTTP/1.1\r\n", b"Host: intranet.example\r\n", b"User-Agent: legit\r\n\r\n"]
    resp = [b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n", b"0123456789", b"abcdefghij"]
    out, flows = [], []
    for i in range(LEGIT_SESSIONS):
        frames, up, down = tcp_session(LEGIT_CLI, LEGIT_SRV, 40000 + i, 80, req, resp)
        out.append(frames)
        flows.append([LEGIT_CLI, 40000 + i, LEGIT_SRV, 80, up, down])
    return out, flows


def mix(path, flood, n_flood, spacing_us):
    """Writes flood frames (a generator of n_flood frames) at spacing_us,
    with the legitimate sessions' frames spread over the same time line."""
    sessions, flows = legit_sessions()
    legit = [f for s in sessions for f in s]
    every = max(1, n_flood // (len(legit) + 1))
    pc = Pcap(path)
    ts = BASE_TS
    li = 0
    for i, fr in enumerate(flood):
        pc.put(ts, fr)
        ts += spacing_us
        if i % every == every - 1 and li < len(legit):
            pc.put(ts, legit[li])
            li += 1
    for fr in legit[li:]:
        ts += spacing_us
        pc.put(ts, fr)
    pc.close()
    return {"packets": pc.n, "flood_packets": n_flood, "legit_flows": flows}


def rnd_addr(r):
    return bytes([198, 18 + r.randrange(2), r.randrange(256), 1 + r.randrange(254)])


def syn_flood(n):
    r = random.Random(1)
    dst = a4("10.9.0.1")
    for _ in range(n):
        yield eth(tcp(rnd_addr(r), dst, 1024 + r.randrange(60000), 80, r.randrange(1 << 32), 0, 0x02))


def frag_flood(n):
    r = random.Random(2)
    dst = a4("10.9.0.2")
    for i in range(n):
        # first fragment of a 2,000-byte UDP datagram whose rest never comes
        yield eth(ipv4(rnd_addr(r), dst, 17, bytes(512), ident=i & 0xffff, frag=0x2000))


def dns_flood(n):
    r = random.Random(3)
    srv = a4("10.9.0.53")
    for i in range(n):
        cli = rnd_addr(r)
        port = 1024 + r.randrange(60000)
        q = struct.pack("!HHHHHH", i & 0xffff, 0x0100, 1, 0, 0, 0) + b"\x01a\x07example\x00\x00\x01\x00\x01"
        a = struct.pack("!HHHHHH", i & 0xffff, 0x8180, 1, 1, 0, 0) + q[12:] + \
            b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x0a\x09\x00\x01"
        yield eth(udp(cli, srv, port, 53, q))
        yield eth(udp(srv, cli, 53, port, a))


def client_hello(sni):
    ext_sni = struct.pack("!HHHBH", 0, len(sni) + 5, len(sni) + 3, 0, len(sni)) + sni
    body = b"\x03\x03" + bytes(32) + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00" + \
        struct.pack("!H", len(ext_sni)) + ext_sni
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def split(data, mss=1448):
    return [data[i:i + mss] for i in range(0, len(data), mss)]


def bigmeta_flood(n_each):
    frames = []
    for i in range(n_each):
        hdr = b"GET /" + b"a" * 2000 + b" HTTP/1.1\r\nHost: " + b"h" * 4000 + b".example\r\n"
        hdr += b"".join(b"X-Pad-%d: %s\r\n" % (k, b"v" * 1000) for k in range(26)) + b"\r\n"
        f, _, _ = tcp_session("198.18.1.%d" % (1 + i % 250), "10.9.0.80", 20000 + i, 80, split(hdr),
                              [b"HTTP/1.1 400 Bad Request\r\n\r\n"])
        frames += f
        sni = (b"x" * 63 + b".") * 250
        f, _, _ = tcp_session("198.18.2.%d" % (1 + i % 250), "10.9.0.43", 20000 + i, 443,
                              split(client_hello(sni)), [b"\x15\x03\x03\x00\x02\x02\x28"])
        frames += f
    return frames


def nested_flood(n, depth=10):
    r = random.Random(5)
    for i in range(n):
        ip = udp(a4("10.7.0.1"), a4("10.7.0.2"), 1000 + r.randrange(1000), 9999, b"inner")
        for d in range(depth):
            ip = ipv4(a4("10.8.%d.1" % d), a4("10.8.%d.2" % d), 4, ip)
        yield eth(ip)


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = argv[1]
    scale = float(argv[2]) if len(argv) > 2 else 1.0
    os.makedirs(out, exist_ok=True)
    n = lambda k: max(100, int(k * scale))
    man = {}
    man["legit"] = mix(os.path.join(out, "legit.pcap"), iter(()), 0, 10)
    man["syn"] = mix(os.path.join(out, "syn.pcap"), syn_flood(n(200000)), n(200000), 10)
    man["frag"] = mix(os.path.join(out, "frag.pcap"), frag_flood(n(40000)), n(40000), 10)
    man["dns"] = mix(os.path.join(out, "dns.pcap"), dns_flood(n(100000)), 2 * n(100000), 10)
    big = bigmeta_flood(max(10, int(300 * scale)))
    man["bigmeta"] = mix(os.path.join(out, "bigmeta.pcap"), iter(big), len(big), 100)
    man["nested"] = mix(os.path.join(out, "nested.pcap"), nested_flood(n(10000)), n(10000), 10)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(man, f, indent=1, sort_keys=True)
    for k, v in man.items():
        print("%s: %d packets (%d flood)" % (k, v["packets"], v["flood_packets"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
