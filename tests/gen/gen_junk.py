#!/usr/bin/env python3
"""gen_junk.py - a capture whose application metadata is hostile to JSON
writers: TLS SNI, HTTP host/URL/user agent and DNS names holding control
characters, quotes, backslashes, NUL bytes, invalid UTF-8 (lone
continuation bytes, overlong forms, surrogates, truncated sequences) and
valid multi-byte text. Every EVE line the sensor writes about it must
still be valid JSON.

Usage: gen_junk.py OUT.pcap
Deterministic; addresses 10.30.0.0/16 inside, 198.51.100.0/24 outside.
"""

import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_rule_cases as g                     # noqa: E402  (Capture, Tcp, helpers)
from scapy.layers.inet import IP, UDP          # noqa: E402

JUNK = [
    b"a\x00b\x01c\x1f\x7f.example",
    b"quote\"back\\slash/\x08\x0c\n\r\t.example",
    b"\xc3\x28bad-2byte.example",
    b"\xa0\xa1lone-continuation.example",
    b"\xe2\x28\xa1bad-3byte.example",
    b"\xf0\x28\x8c\xbcbad-4byte.example",
    b"\xc0\xafoverlong.example",
    b"\xed\xa0\x80surrogate.example",
    b"\xf4\x90\x80\x80too-big.example",
    b"trunc\xe2\x82",
    "\u4e2d\u56fd-\u0440\u0443\u0441-\u00e9\u00e8.example".encode(),
    bytes(range(0x80, 0xff)),
    b"\xff\xfe\xfd" * 20,
]


def client_hello(sni):
    """tls_client_hello with raw bytes for the name."""
    sn = struct.pack("!HBH", len(sni) + 3, 0, len(sni)) + sni
    exts = struct.pack("!HH", 0, len(sn)) + sn
    exts += struct.pack("!HHH", 10, 4, 2) + struct.pack("!H", 0x001d)
    exts += struct.pack("!HHB", 11, 2, 1) + b"\x00"
    exts += struct.pack("!HHH", 13, 4, 2) + struct.pack("!H", 0x0401)
    ciphers = struct.pack("!HHHH", 6, 0xc02f, 0xc030, 0x009c)
    body = (struct.pack("!H", 0x0303) + bytes(range(32)) + b"\x00" + ciphers +
            b"\x01\x00" + struct.pack("!H", len(exts)) + exts)
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def dns_raw(qid, name_labels, answer):
    """A DNS query (or answer) for labels given as raw bytes."""
    q = b"".join(bytes([len(l)]) + l for l in name_labels) + b"\x00" + struct.pack("!HH", 1, 1)
    if not answer:
        return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + q
    a = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + bytes([192, 0, 2, 99])
    return struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0) + q + a


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    cap = g.Capture(7)
    t = 0.0
    for i, j in enumerate(JUNK):
        cli = "10.30.0.%d" % (10 + i)
        srv = "198.51.100.%d" % (10 + i)
        # TLS with the junk as SNI
        c = g.Tcp(cap, cli, 40000 + i, srv, 443, t).open()
        c.send(0, client_hello(j[:200]))
        c.pad(20)
        c.close()
        # HTTP with junk in URL, Host and User-Agent
        req = (b"GET /" + j + b"?q=" + j + b" HTTP/1.1\r\nHost: " + j[:60] +
               b"\r\nUser-Agent: " + j + b"\r\nAccept: */*\r\n\r\n")
        resp = b"HTTP/1.1 200 OK\r\nContent-Type: " + j[:40] + b"\r\nContent-Length: 2\r\n\r\nok"
        h = g.Tcp(cap, cli, 41000 + i, srv, 80, t + 0.2).open()
        h.send(0, req)
        h.send(1, resp)
        h.close()
        # DNS with junk labels (split into <= 63-byte labels)
        labels = [j[k:k + 63] for k in range(0, len(j), 63)] + [b"example"]
        for n, ans in ((0, False), (1, True)):
            src, dst = (cli, "10.30.0.53") if not ans else ("10.30.0.53", cli)
            sp, dp = (42000 + i, 53) if not ans else (53, 42000 + i)
            cap.add(t + 0.4 + n * 0.001, src, dst,
                    IP(src=src, dst=dst, ttl=64) / UDP(sport=sp, dport=dp) /
                    dns_raw(0x1000 + i, labels, ans))
        t += 1.0
    cap.write(argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
