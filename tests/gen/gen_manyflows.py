#!/usr/bin/env python3
"""gen_manyflows.py - writes a capture of many short flows, fast (stdlib only).

Usage: gen_manyflows.py OUT.pcap N [--spacing-us US] [--tcp-every K]

Writes N flows to a classic pcap (Ethernet, microsecond timestamps):
  - DNS-like UDP flows: a query for a.example.com and its reply with one A
    record (2 packets); client 10.0.0.0/8 port 32768-60767 (clear of the tunnel ports
    2152, 3544, 4789, 6081, which a decoder may take for GTP-U, Teredo, VXLAN,
    GENEVE) -> server 198.18.0.0/15 port 53;
  - every K-th flow (default 10) instead a TCP handshake without payload to
    port 80: SYN, SYN-ACK, ACK (3 packets).
Every flow has its own client address (10.x.y.z from the flow number), so
all N 5-tuples are distinct for N < 2**24. Flow i starts at i * US
microseconds (default 100: 10,000 new flows per second of capture time) and
its packets follow within 60 us, so with the default idle timeouts (UDP 60
s, TCP 60 s and more) about 600,000 flows are alive at once: a smaller
flow.max-flows must evict.

IPv4 header and TCP checksums are correct; UDP checksums are 0 (none).
1M flows take about 10 s with CPython 3.11.
"""

import argparse
import struct
import sys

T0 = 1700000000  # 2023-11-14, seconds
CLIENT_MAC = b"\x02\x00\x00\x00\x00\x01"
SERVER_MAC = b"\x02\x00\x00\x00\x00\x02"
SERVER_NET = 0xC6120000  # 198.18.0.0/15 (benchmarking range)
QNAME = b"\x01a\x07example\x03com\x00"
QUERY = QNAME + b"\x00\x01\x00\x01"
ANSWER = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x01\x2c\x00\x04\xc6\x12\x00\x01"

REC = struct.Struct("<IIII")
ETH_IP = struct.Struct("!6s6sH BBHHHBBH II")       # Ethernet + IPv4 (20 bytes)
UDP = struct.Struct("!HHHH")
DNS_HDR = struct.Struct("!HHHHHH")
TCP = struct.Struct("!HHIIBBHHH")


def fold(s):
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return s


def ip_sum_base(total_len, ident, proto):
    """One's-complement sum of the IPv4 header words that do not depend on
    the addresses (ttl 64, no options, checksum field 0)."""
    return 0x4500 + total_len + ident + 0x4000 + ((64 << 8) | proto)


def addr_sum(a):
    return (a >> 16) + (a & 0xFFFF)


def frame_ip(src_mac, dst_mac, total_len, ident, proto, src, dst, l4):
    s = fold(ip_sum_base(total_len, ident, proto) + addr_sum(src) + addr_sum(dst))
    return ETH_IP.pack(dst_mac, src_mac, 0x0800, 0x45, 0, total_len, ident, 0x4000,
                       64, proto, (~s) & 0xFFFF, src, dst) + l4


def udp_flow(i, cli, srv, cport, ts):
    txid = i & 0xFFFF
    q = DNS_HDR.pack(txid, 0x0100, 1, 0, 0, 0) + QUERY
    r = DNS_HDR.pack(txid, 0x8180, 1, 1, 0, 0) + QUERY + ANSWER
    ql, rl = 8 + len(q), 8 + len(r)
    f1 = frame_ip(CLIENT_MAC, SERVER_MAC, 20 + ql, txid, 17, cli, srv,
                  UDP.pack(cport, 53, ql, 0) + q)
    f2 = frame_ip(SERVER_MAC, CLIENT_MAC, 20 + rl, txid, 17, srv, cli,
                  UDP.pack(53, cport, rl, 0) + r)
    return [(ts, f1), (ts + 50, f2)]


def tcp_seg(src, dst, sport, dport, seq, ack, flags):
    """A 20-byte TCP header without payload, checksum included."""
    s = (addr_sum(src) + addr_sum(dst) + 6 + 20 + sport + dport +
         (seq >> 16) + (seq & 0xFFFF) + (ack >> 16) + (ack & 0xFFFF) +
         ((5 << 12) | flags) + 65535)
    s = fold(s)
    return TCP.pack(sport, dport, seq, ack, 5 << 4, flags, 65535, (~s) & 0xFFFF, 0)


def tcp_flow(i, cli, srv, cport, ts):
    iss, irs = (i * 2654435761) & 0xFFFFFFFF, (i * 40503 + 12345) & 0xFFFFFFFF
    ident = i & 0xFFFF
    a = frame_ip(CLIENT_MAC, SERVER_MAC, 40, ident, 6, cli, srv,
                 tcp_seg(cli, srv, cport, 80, iss, 0, 0x02))
    b = frame_ip(SERVER_MAC, CLIENT_MAC, 40, ident, 6, srv, cli,
                 tcp_seg(srv, cli, 80, cport, irs, (iss + 1) & 0xFFFFFFFF, 0x12))
    c = frame_ip(CLIENT_MAC, SERVER_MAC, 40, ident, 6, cli, srv,
                 tcp_seg(cli, srv, cport, 80, (iss + 1) & 0xFFFFFFFF,
                         (irs + 1) & 0xFFFFFFFF, 0x10))
    return [(ts, a), (ts + 30, b), (ts + 60, c)]


def write(path, n, spacing, tcp_every):
    if n >= 1 << 24:
        sys.exit("gen_manyflows: N must be below 2**24 (one 10/8 address per flow)")
    out = open(path, "wb")
    out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    buf = []
    pkts = 0
    for i in range(n):
        cli = 0x0A000000 | (i + 1)
        srv = SERVER_NET | (i & 0x1FFFF)
        cport = 32768 + i % 28000
        ts = i * spacing
        if tcp_every and i % tcp_every == tcp_every - 1:
            fl = tcp_flow(i, cli, srv, cport, ts)
        else:
            fl = udp_flow(i, cli, srv, cport, ts)
        for t, fr in fl:
            buf.append(REC.pack(T0 + t // 1000000, t % 1000000, len(fr), len(fr)))
            buf.append(fr)
        pkts += len(fl)
        if len(buf) >= 65536:
            out.write(b"".join(buf))
            buf = []
    out.write(b"".join(buf))
    out.close()
    return pkts


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("n", type=int)
    ap.add_argument("--spacing-us", type=int, default=100)
    ap.add_argument("--tcp-every", type=int, default=10,
                    help="every K-th flow is TCP (0: none)")
    a = ap.parse_args()
    pkts = write(a.out, a.n, a.spacing_us, a.tcp_every)
    ntcp = a.n // a.tcp_every if a.tcp_every else 0
    print("%s: %d flows (%d udp, %d tcp), %d packets" % (a.out, a.n, a.n - ntcp, ntcp, pkts))


if __name__ == "__main__":
    main()
