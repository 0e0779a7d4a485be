#!/usr/bin/env python3
"""gen_stream_cases.py - captures for TCP stream reassembly: patterns split
across segments, sent out of order, hidden behind retransmissions with
other data, cut by a gap, or past the reassembly depth; with the rules they
are matched against and the alert count the sensor must report.

Usage: gen_stream_cases.py OUTDIR

Writes OUTDIR/<case>.pcap for every case, OUTDIR/stream.rules and
OUTDIR/expected.json:
  {"<case>": {"pcap": "<case>.pcap", "what": "...",
              "alerts": {"<sid>": count, ...},     # every sid of stream.rules
              "stream": 0|1,                     # the alerts' "stream" field
              "set": ["key=value", ...],         # --set for this run
              "stats": {"stream.<counter>": ">0" | 0}}}

Deterministic: fixed ISNs and times, no clock. Addresses are synthetic:
clients in 10.30.0.0/16, servers in 198.51.100.0/24.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_rule_cases import Capture, write_expected  # noqa: E402
from scapy.layers.inet import IP, TCP            # noqa: E402

MARK = b"EVIL-PAYLOAD-MARKER"     # sid 9100101, client to server
BANNER = b"Backdoor-Shell-Ready"  # sid 9100102, server to client
RULES = [
    (9100101, 'alert tcp any any -> any any (msg:"LW TEST stream marker to server"; '
              'flow:to_server,established; content:"EVIL-PAYLOAD-MARKER"; classtype:bad-unknown; '
              'sid:9100101; rev:1;)'),
    (9100102, 'alert tcp any any -> any any (msg:"LW TEST stream banner to client"; '
              'flow:to_client; pcre:"/backdoor-shell-ready/i"; classtype:bad-unknown; '
              'sid:9100102; rev:1;)'),
]


class Conn:
    """One TCP connection whose segments are placed by stream offset."""

    def __init__(self, cap, n, t0, isn=(100000, 700000), sport=None, dport=8080):
        self.cap = cap
        self.cli, self.srv = "10.30.0.%d" % (10 + n), "198.51.100.%d" % (10 + n)
        self.port = (sport or 40000 + n, dport)
        self.isn = list(isn)
        self.t = t0
        self.ipid = [1000 + n, 5000 + n]

    def seg(self, d, off, flags="PA", data=b"", ack_off=0):
        """Segment of direction d (0 client, 1 server) at stream offset off
        (offset 0: the byte after the SYN), acknowledging the other
        direction up to ack_off."""
        src, dst = (self.cli, self.srv) if d == 0 else (self.srv, self.cli)
        sp, dp = self.port if d == 0 else self.port[::-1]
        seq = (self.isn[d] + 1 + off) & 0xFFFFFFFF
        if "S" in flags:
            seq = self.isn[d]
        ack = (self.isn[1 - d] + 1 + ack_off) & 0xFFFFFFFF if "A" in flags else 0
        self.ipid[d] += 1
        pkt = IP(src=src, dst=dst, ttl=64, id=self.ipid[d] & 0xFFFF) / \
            TCP(sport=sp, dport=dp, seq=seq, ack=ack, flags=flags, window=64240) / data
        self.cap.add(self.t, src, dst, pkt)
        self.t += 0.001

    def open(self):
        self.seg(0, 0, "S")
        self.seg(1, 0, "SA")
        self.seg(0, 0, "A")
        return self

    def close(self, cend, send=0):
        self.seg(0, cend, "FA", ack_off=send)
        self.seg(1, send, "FA", ack_off=cend + 1)
        self.seg(0, cend + 1, "A", ack_off=send + 1)


def pieces(data, n, mark=MARK):
    """data cut into n pieces, every one holding a part of mark (the first
    also what comes before it, the last what follows): (offset, bytes)."""
    i = data.index(mark)
    cuts = [0] + [i + k * len(mark) // n for k in range(1, n)] + [len(data)]
    return [(cuts[k], data[cuts[k]:cuts[k + 1]]) for k in range(n)]


def send_split(c, req, n, order=None, base=0):
    """Sends req from the client in n segments cutting the marker, in the
    given order of piece indices; then the server ACKs it all."""
    parts = pieces(req, n)
    for i in (order or range(n)):
        off, data = parts[i]
        c.seg(0, base + off, "PA", data)
    c.seg(1, 0, "A", ack_off=base + len(req))
    return base + len(req)


def request(before=b"POST /upload HTTP/1.1\r\nHost: files.example\r\n\r\nid=7&x=",
            after=b"&end=1\r\n"):
    return before + MARK + after


# ---------------------------------------------------------------- cases
# Each returns (alerts {sid: count}, stream field, sets, stats, what).

def case_split(n):
    def fn(cap):
        c = Conn(cap, n, 1.0).open()
        end = send_split(c, request(b"GET /a?q=", b" HTTP/1.1\r\n\r\n"), n)
        c.close(end)
        return {9100101: 1}, 1, [], {"stream.reassembled_bytes": ">0"}, \
            "the marker split across %d segments" % n
    return fn


def case_out_of_order(cap):
    c = Conn(cap, 20, 1.0).open()
    req = request()
    end = send_split(c, req, 3, order=[2, 0, 1])
    c.close(end)
    return {9100101: 1}, 1, [], {"stream.ooo_segments": ">0"}, \
        "three segments sent 3, 1, 2; the marker spans all three"


def case_whole(cap):
    # the marker inside one packet is one alert, not two (packet + stream);
    # a retransmission of that packet is no second alert; a second request
    # on the same connection is a new match
    c = Conn(cap, 21, 1.0).open()
    req = request()
    c.seg(0, 0, "PA", req)
    c.seg(0, 0, "PA", req)                        # retransmitted, same data
    c.seg(1, 0, "A", ack_off=len(req))
    c.seg(1, 0, "PA", b"HTTP/1.1 100 Continue\r\n\r\n" + b"." * 3000, ack_off=len(req))
    c.seg(0, len(req), "PA", b"." * 2500 + req, ack_off=3025)
    end = 2 * len(req) + 2500
    c.close(end, 3025)
    return {9100101: 2}, 1, [], {"stream.overlaps": ">0"}, \
        "the marker whole in one packet, that packet again, then a new request: 2 alerts"


def case_retrans_first_evil(cap):
    # first copy has the marker's second half; a retransmission replaces it
    # with harmless bytes: first wins, the marker stands
    c = Conn(cap, 30, 1.0).open()
    req = request()
    cut = req.index(MARK) + 8
    c.seg(0, 0, "PA", req[:cut])
    c.seg(0, cut, "PA", req[cut:])
    c.seg(0, cut, "PA", b"X" * (len(req) - cut))
    c.seg(1, 0, "A", ack_off=len(req))
    c.close(len(req))
    return {9100101: 1}, 1, [], {"stream.overlaps_diff_data": ">0"}, \
        "retransmission with other data after the marker's second half: first copy kept, 1 alert"


def case_retrans_first_benign(cap):
    # the second half comes first as harmless bytes, then "again" with the
    # marker's second half: first wins, no marker in the stream
    c = Conn(cap, 31, 1.0).open()
    req = request()
    cut = req.index(MARK) + 8
    c.seg(0, cut, "PA", b"X" * (len(req) - cut))     # ahead of the hole: held
    c.seg(0, 0, "PA", req[:cut])
    c.seg(0, cut, "PA", req[cut:])                   # the other data, too late
    c.seg(1, 0, "A", ack_off=len(req))
    c.close(len(req))
    return {9100101: 0}, 0, [], {"stream.overlaps_diff_data": ">0"}, \
        "harmless bytes first, the marker's half as a retransmission: first copy kept, 0 alerts"


def case_gap(cap):
    # the marker's middle is lost in capture (the server ACKs past it): no
    # match across the gap; a marker after the gap, split in two, is found
    c = Conn(cap, 40, 1.0).open()
    req = request()
    i = req.index(MARK)
    c.seg(0, 0, "PA", req[:i + 6])
    lost = req[i + 6:i + 12]                         # never captured
    c.seg(0, i + 12, "PA", req[i + 12:])
    c.seg(1, 0, "A", ack_off=len(req))
    req2 = request(b"POST /again HTTP/1.1\r\n\r\n")
    end = send_split(c, req2, 2, base=len(req))
    c.close(end)
    assert lost and MARK not in req[:i + 6] + req[i + 12:]
    return {9100101: 1}, 1, [], {"stream.gaps": ">0", "stream.gap_bytes": ">0"}, \
        "6 bytes of the marker missed (gap): no alert there; a marker after the gap: 1 alert"


def case_depth(cap):
    # stream.depth 4kb: a marker split at 1000 is found; past 4096 neither a
    # split one nor one whole in a packet is (payload inspection stops)
    c = Conn(cap, 50, 1.0).open()
    off = send_split(c, b"A" * 1000 + MARK + b"B" * 81, 2)          # 1100 bytes
    for _ in range(4):
        c.seg(0, off, "PA", b"C" * 1000)
        off += 1000
    off = send_split(c, b"D" * 100 + MARK + b"E" * 100, 2, base=off)  # past 4096
    c.seg(0, off, "PA", MARK)
    off += len(MARK)
    c.seg(1, 0, "A", ack_off=off)
    c.close(off)
    return {9100101: 1}, 1, ["stream.depth=4kb"], {"stream.depth_reached": ">0"}, \
        "stream.depth=4kb: a marker before it found, two after it not"


def case_wrap(cap):
    # the client's sequence numbers wrap through 2^32 inside the marker
    req = request()
    isn = (0x100000000 - 1 - req.index(MARK) - 7) & 0xFFFFFFFF
    c = Conn(cap, 60, 1.0, isn=(isn, 4000000000)).open()
    end = send_split(c, req, 4)
    c.close(end)
    return {9100101: 1}, 1, [], {}, "sequence numbers wrap through 2^32 inside the marker"


def case_midstream(cap):
    # no handshake in the capture (the sensor started mid-connection)
    c = Conn(cap, 70, 1.0)
    req = request()
    c.seg(0, 5000, "A", ack_off=9000)            # both sides seen: established
    c.seg(1, 9000, "A", ack_off=5000)
    for off, data in pieces(req, 2):
        c.seg(0, 5000 + off, "PA", data, ack_off=9000)
    c.seg(1, 9000, "A", ack_off=5000 + len(req))
    return {9100101: 1}, 1, [], {"stream.midstream": ">0"}, \
        "picked up mid-stream, no handshake: the marker split in two"


def case_to_client(cap):
    # the server's banner split in two (a pcre rule, to_client)
    c = Conn(cap, 80, 1.0, dport=4444).open()
    c.seg(0, 0, "PA", b"hello\n")
    ban = b"220 " + BANNER + b"\r\n"
    c.seg(1, 0, "PA", ban[:9], ack_off=6)
    c.seg(1, 9, "PA", ban[9:], ack_off=6)
    c.seg(0, 6, "A", ack_off=len(ban))
    c.close(6, len(ban))
    return {9100102: 1}, 1, [], {}, "the server's banner split in two, pcre rule"


def case_stream_off(cap):
    # the same split marker with reassembly off: single packets miss it,
    # and a whole one is still found (packet semantics)
    c = Conn(cap, 90, 1.0).open()
    end = send_split(c, request(), 2)
    c.seg(0, end, "PA", request())
    end += len(request())
    c.seg(1, 0, "A", ack_off=end)
    c.close(end)
    return {9100101: 1}, 0, ["stream.enabled=no"], {}, \
        "stream.enabled=no: the split marker is missed, a whole one found"


CASES = [
    ("split2", case_split(2)),
    ("split3", case_split(3)),
    ("split10", case_split(10)),
    ("out_of_order", case_out_of_order),
    ("whole_once", case_whole),
    ("retrans_first_evil", case_retrans_first_evil),
    ("retrans_first_benign", case_retrans_first_benign),
    ("gap", case_gap),
    ("depth", case_depth),
    ("wraparound", case_wrap),
    ("midstream", case_midstream),
    ("to_client", case_to_client),
    ("stream_off", case_stream_off),
]


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: gen_stream_cases.py OUTDIR\n")
        return 2
    out = argv[1]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "stream.rules"), "w") as f:
        for _, text in RULES:
            f.write(text + "\n")
    manifest = {}
    for name, fn in CASES:
        cap = Capture("linkwatch-stream-" + name)
        alerts, stream, sets, stats, what = fn(cap)
        cap.write(os.path.join(out, name + ".pcap"))
        full = {str(sid): alerts.get(sid, 0) for sid, _ in RULES}
        manifest[name] = {"pcap": name + ".pcap", "what": what, "alerts": full,
                          "stream": stream, "set": sets, "stats": stats}
    write_expected(out, manifest)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
