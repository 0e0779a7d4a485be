#!/usr/bin/env python3
"""gen_xff.py - writes HTTP sessions through proxies (X-Forwarded-For and
X-Real-IP request headers) for the outputs.xff test, the rules that alert
on them, and the address each session's alerts must carry.

Usage: gen_xff.py OUTDIR

Writes OUTDIR/xff.pcap, OUTDIR/xff.rules and OUTDIR/expected.json:
  {"sessions": [{"client": ip, "forward": ip|null, "reverse": ip|null,
                 "real_ip": ip|null, "what": ...}],
   "alerts_per_session": {sid: n}}
forward/reverse: the address outputs.xff must take from X-Forwarded-For
(first entry, last entry), null when that entry is no address or there is
no header; real_ip: the same for header X-Real-IP (one entry).

Each session is one TCP connection from the client (10.0.0.0/8) to
192.0.2.80:80: handshake, a GET of /login with the session's headers, a
200 response in two segments, the first holding "uid=" (so sid 3, a packet
rule, alerts while the transaction is still open), close. Deterministic: fixed
timestamps, sequence numbers and bytes. The packets only go into the file.
"""

import json
import os
import sys

from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

SERVER = "192.0.2.80"

# (client, extra request headers, forward pick, reverse pick, X-Real-IP pick, what)
SESSIONS = [
    ("10.0.0.5", b"X-Forwarded-For: 198.51.100.7, 203.0.113.9\r\n",
     "198.51.100.7", "203.0.113.9", None, "two entries"),
    ("10.0.0.6", b"",
     None, None, None, "no header (near miss)"),
    ("10.0.0.7", b"X-Forwarded-For: unknown\r\n",
     None, None, None, "an entry that is no address (near miss)"),
    ("10.0.0.8", b"x-forwarded-for: [2001:db8::7]:443 , 198.51.100.8:8080\r\n",
     "2001:db8::7", "198.51.100.8", None, "lower-case name, ports, IPv6 in brackets"),
    ("10.0.0.9", b"X-Real-IP: 198.51.100.99\r\n",
     None, None, "198.51.100.99", "another header (outputs.xff.header)"),
]

RULES = """\
alert http any any -> any any (msg:"login request"; flow:to_server; http.uri; content:"/login"; sid:1;)
alert http any any -> any any (msg:"uid in the response"; flow:to_client; file.data; content:"uid="; sid:2;)
alert tcp any any -> any any (msg:"uid in a packet"; flow:to_client; content:"uid="; sid:3;)
"""


def session(pkts, t, client, cport, headers, seqs):
    cs, ss = seqs
    eth = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    ethr = Ether(src="02:00:00:00:00:02", dst="02:00:00:00:00:01")

    def c2s(flags, data=b""):
        nonlocal cs
        p = eth / IP(src=client, dst=SERVER) / TCP(sport=cport, dport=80, seq=cs, ack=ss if "A" in flags else 0,
                                                   flags=flags, window=64240) / data
        cs += len(data) + (1 if ("S" in flags or "F" in flags) else 0)
        return p

    def s2c(flags, data=b""):
        nonlocal ss
        p = ethr / IP(src=SERVER, dst=client) / TCP(sport=80, dport=cport, seq=ss, ack=cs, flags=flags,
                                                    window=64240) / data
        ss += len(data) + (1 if ("S" in flags or "F" in flags) else 0)
        return p

    req = b"GET /login HTTP/1.1\r\nHost: app.example.net\r\nUser-Agent: test\r\n" + headers + b"\r\n"
    body = b"<html>uid=42" + b" " * 64 + b"</html>"
    resp = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: " + str(len(body)).encode() +
            b"\r\n\r\n" + body)
    cut = resp.index(b"uid=") + 8           # the response in two segments: "uid=" in the first
    seq = [c2s("S"), s2c("SA"), c2s("A"), c2s("PA", req), s2c("A"), s2c("PA", resp[:cut]), c2s("A"),
           s2c("PA", resp[cut:]), c2s("A"), c2s("FA"), s2c("FA"), c2s("A")]
    for p in seq:
        p.time = t
        pkts.append(p)
        t += 0.001
    return t


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    out = argv[1]
    os.makedirs(out, exist_ok=True)
    pkts, t = [], 1718000000.0
    for i, (client, headers, _, _, _, _) in enumerate(SESSIONS):
        t = session(pkts, t + 1, client, 40001 + i, headers, (1000000 * (i + 1), 5000000 * (i + 1)))
    wrpcap(os.path.join(out, "xff.pcap"), pkts)
    with open(os.path.join(out, "xff.rules"), "w") as fh:
        fh.write(RULES)
    exp = {"sessions": [{"client": c, "forward": f, "reverse": r, "real_ip": x, "what": w}
                        for c, _, f, r, x, w in SESSIONS],
           "alerts_per_session": {"1": 1, "2": 1, "3": 1}}
    with open(os.path.join(out, "expected.json"), "w") as fh:
        json.dump(exp, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
