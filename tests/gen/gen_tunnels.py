#!/usr/bin/env python3
"""gen_tunnels.py - writes one small capture per encapsulation case, and the
flows the sensor must report for each.

Usage: gen_tunnels.py OUTDIR

Writes OUTDIR/<case>.pcap for every case in MANIFEST and OUTDIR/manifest.json
(what expected() returns). Everything is deterministic: fixed timestamps, fixed
seeds, no clock or host lookups, so two runs give byte-identical files.

MANIFEST is the source of truth: each case lists its conversations, how every
packet of them is wrapped (ENCAP specs, outermost first) and the flow the
sensor must report for it. The generator builds the packets from that; the
integration test (tests/integration/test_tunnels.py) checks the sensor's flow
events against it.

Addresses are documentation/private only: 192.0.2.0/24, 198.51.100.0/24,
203.0.113.0/24, 10/8, 2001:db8::/32.
"""

import json
import os
import random
import struct
import sys

from scapy.layers.inet import IP, TCP, UDP, ICMP
from scapy.layers.inet6 import IPv6
from scapy.layers.dns import DNS, DNSQR, DNSRR

BASE_TS = 1704164645 * 1000000      # 2024-01-02T03:04:05Z, in microseconds
MAC_A = bytes.fromhex("020000000a01")
MAC_B = bytes.fromhex("020000000b02")
MAC_C = bytes.fromhex("020000000c03")
MAC_D = bytes.fromhex("020000000d04")

# ---------------------------------------------------------------- manifest
#
# A conversation ("conv") entry:
#   kind      tcp | udp | icmp
#   src, sport, dst, dport   the initiator first (ports absent for icmp)
#   encap     list of layers from the outermost in, ending before the inner IP
#             header. Layers: ("vlan", vid) 802.1Q, ("svlan", vid) 802.1ad,
#             ("mpls", [labels]), ("pppoe", session), ("ip", a, b) outer IPv4
#             or IPv6 (a is the sender of the initiator's packets; replies swap
#             unless the packet is mirrored by ERSPAN), ("gre", key|None),
#             ("erspan1",), ("erspan2", session), ("erspan3", session) (each
#             includes its GRE header), ("vxlan", vni), ("geneve", vni)
#             (each includes its UDP header), ("eth",) an inner Ethernet header.
#             The capture's own Ethernet header is implicit.
#   n         udp/icmp: request/response pairs (default 2)
#   frag      optional: {"size": payload bytes, "pieces": 3,
#             "order": [indices]} fragments the first request and reply;
#             the other packets are sent whole
#   start     start time in ms after BASE_TS
#   flow      what the sensor must report (None: no flow must exist for
#             these inner addresses, e.g. too deep to decode):
#               tunnel {"type", "id", "depth", "src_ip", "dest_ip"} or None,
#               vlan list or None; packet counts are filled in by expected().
#
# Per case: "todo" (optional) names a known sensor limitation whose checks
# are reported as TAP TODO (not failures) until it is fixed; "stats" lists (dotted path in the final stats event, op, value)
# with op one of "==", ">=", and "exact_flows" says whether the flow events
# must be exactly the listed ones (else: at least these).

def _tcp(src, sport, dst, dport, encap, start, tunnel=None, vlan=None, **kw):
    d = dict(kind="tcp", src=src, sport=sport, dst=dst, dport=dport,
             encap=encap, start=start, flow=dict(tunnel=tunnel, vlan=vlan))
    d.update(kw)
    return d


def _udp(src, sport, dst, dport, encap, start, tunnel=None, vlan=None, n=2, **kw):
    d = dict(kind="udp", src=src, sport=sport, dst=dst, dport=dport, n=n,
             encap=encap, start=start, flow=dict(tunnel=tunnel, vlan=vlan))
    d.update(kw)
    return d


def _icmp(src, dst, encap, start, tunnel=None, vlan=None, n=2, **kw):
    d = dict(kind="icmp", src=src, dst=dst, n=n, encap=encap, start=start,
             flow=dict(tunnel=tunnel, vlan=vlan))
    d.update(kw)
    return d


def _tun(typ, tid, depth, src, dst):
    return {"type": typ, "id": tid, "depth": depth, "src_ip": src, "dest_ip": dst}


VTEP1, VTEP2 = "192.0.2.11", "192.0.2.12"
GW1, GW2 = "198.51.100.1", "198.51.100.2"
MON_SW, MON_COLL = "203.0.113.5", "203.0.113.50"

MANIFEST = {
    "vxlan.pcap": {
        "desc": "VXLAN (UDP 4789): tenants VNI 100 and 200 reuse the same inner addresses and ports",
        "convs": [
            _tcp("10.0.0.1", 40000, "10.0.0.2", 80, [("ip", VTEP1, VTEP2), ("vxlan", 100), ("eth",)], 0,
                 tunnel=_tun("vxlan", 100, 1, VTEP1, VTEP2)),
            _tcp("10.0.0.1", 40000, "10.0.0.2", 80, [("ip", VTEP1, VTEP2), ("vxlan", 200), ("eth",)], 2,
                 tunnel=_tun("vxlan", 200, 1, VTEP1, VTEP2)),
            _udp("10.0.0.1", 5353, "10.0.0.53", 53, [("ip", VTEP1, VTEP2), ("vxlan", 100), ("eth",)], 20,
                 tunnel=_tun("vxlan", 100, 1, VTEP1, VTEP2)),
            _udp("10.0.0.1", 5353, "10.0.0.53", 53, [("ip", VTEP2, VTEP1), ("vxlan", 200), ("eth",)], 21,
                 tunnel=_tun("vxlan", 200, 1, VTEP2, VTEP1)),
        ],
        "stats": [("decoder.vxlan", "==", 2 * 9 + 2 * 4)],
    },
    "geneve.pcap": {
        "desc": "GENEVE (UDP 6081) with a TLV option: Ethernet payload VNI 300, IPv4 payload VNI 301, IPv6 inner",
        "convs": [
            _tcp("10.1.1.1", 41000, "10.1.1.2", 443, [("ip", VTEP1, VTEP2), ("geneve", 300, "eth"), ("eth",)], 0,
                 tunnel=_tun("geneve", 300, 1, VTEP1, VTEP2)),
            _udp("10.1.1.1", 41001, "10.1.1.2", 53, [("ip", VTEP1, VTEP2), ("geneve", 301, "ip")], 5,
                 tunnel=_tun("geneve", 301, 1, VTEP1, VTEP2)),
            _tcp("2001:db8:100::1", 41002, "2001:db8:100::2", 22, [("ip", VTEP1, VTEP2), ("geneve", 300, "eth"), ("eth",)], 9,
                 tunnel=_tun("geneve", 300, 1, VTEP1, VTEP2)),
        ],
        "stats": [("decoder.geneve", "==", 9 + 4 + 9)],
    },
    "gre.pcap": {
        "desc": "GRE with key (IPv4 inner), the same inner flow under another key, and GRE transparent Ethernet bridging (0x6558)",
        "convs": [
            _tcp("10.2.0.1", 42000, "10.2.0.2", 80, [("ip", GW1, GW2), ("gre", 1234)], 0,
                 tunnel=_tun("gre", 1234, 1, GW1, GW2)),
            _udp("10.2.0.1", 42001, "10.2.0.2", 53, [("ip", GW1, GW2), ("gre", 1234)], 3,
                 tunnel=_tun("gre", 1234, 1, GW1, GW2)),
            _tcp("10.2.0.1", 42000, "10.2.0.2", 80, [("ip", GW1, GW2), ("gre", 4321)], 6,
                 tunnel=_tun("gre", 4321, 1, GW1, GW2)),
            _tcp("10.2.1.1", 42002, "10.2.1.2", 8080, [("ip", GW2, GW1), ("gre", None), ("eth",)], 9,
                 tunnel=_tun("gre", 0, 1, GW2, GW1)),
        ],
        "stats": [("decoder.gre", "==", 9 + 4 + 9 + 9)],
    },
    "erspan1.pcap": {
        "desc": "ERSPAN type I: GRE 0x88BE without sequence number, Ethernet right after GRE",
        "convs": [
            _tcp("10.3.0.1", 43000, "10.3.0.2", 3306, [("ip", MON_SW, MON_COLL), ("erspan1",), ("eth",)], 0,
                 tunnel=_tun("erspan", 0, 1, MON_SW, MON_COLL)),
            _udp("10.3.0.1", 43001, "10.3.0.2", 9999, [("ip", MON_SW, MON_COLL), ("erspan1",), ("eth",)], 4,
                 tunnel=_tun("erspan", 0, 1, MON_SW, MON_COLL)),
        ],
        "stats": [("decoder.erspan", "==", 9 + 4)],
    },
    "erspan2.pcap": {
        "desc": "ERSPAN type II (GRE 0x88BE with sequence number), session id 7",
        "convs": [
            _tcp("10.3.1.1", 43100, "10.3.1.2", 80, [("ip", MON_SW, MON_COLL), ("erspan2", 7), ("eth",)], 0,
                 tunnel=_tun("erspan", 7, 1, MON_SW, MON_COLL)),
            _udp("10.3.1.1", 43101, "10.3.1.2", 53, [("ip", MON_SW, MON_COLL), ("erspan2", 7), ("eth",)], 4,
                 tunnel=_tun("erspan", 7, 1, MON_SW, MON_COLL)),
        ],
        "stats": [("decoder.erspan", "==", 9 + 4)],
    },
    "erspan3.pcap": {
        "desc": "ERSPAN type III (GRE 0x22EB), session id 9",
        "convs": [
            _tcp("10.3.2.1", 43200, "10.3.2.2", 443, [("ip", MON_SW, MON_COLL), ("erspan3", 9), ("eth",)], 0,
                 tunnel=_tun("erspan", 9, 1, MON_SW, MON_COLL)),
            _icmp("10.3.2.1", "10.3.2.2", [("ip", MON_SW, MON_COLL), ("erspan3", 9), ("eth",)], 4,
                  tunnel=_tun("erspan", 9, 1, MON_SW, MON_COLL)),
        ],
        "stats": [("decoder.erspan", "==", 9 + 4)],
    },
    "mpls.pcap": {
        "desc": "Ethernet + 2-label MPLS stack (0x8847) + IPv4 and IPv6",
        "convs": [
            _tcp("10.4.0.1", 44000, "10.4.0.2", 80, [("mpls", [1000, 2000])], 0),
            _udp("2001:db8:4::1", 44001, "2001:db8:4::2", 53, [("mpls", [1000, 3000])], 3),
        ],
        "stats": [("decoder.mpls", "==", 9 + 4)],
    },
    "qinq.pcap": {
        "desc": "802.1ad (0x88a8) outer + 802.1Q inner; the same IPs under three tag pairs are three flows",
        "convs": [
            _tcp("10.5.0.1", 45000, "10.5.0.2", 80, [("svlan", 100), ("vlan", 10)], 0, vlan=[100, 10]),
            _tcp("10.5.0.1", 45000, "10.5.0.2", 80, [("svlan", 100), ("vlan", 20)], 1, vlan=[100, 20]),
            _tcp("10.5.0.1", 45000, "10.5.0.2", 80, [("svlan", 200), ("vlan", 10)], 2, vlan=[200, 10]),
            _udp("10.5.0.1", 45001, "10.5.0.2", 53, [("vlan", 10)], 3, vlan=[10]),
        ],
        "stats": [("decoder.vlan_qinq", ">=", 27)],
    },
    "pppoe.pcap": {
        "desc": "PPPoE discovery (PADI/PADO/PADR/PADS, not IP) then a session carrying IPv4 and IPv6",
        "convs": [
            _tcp("10.6.0.1", 46000, "198.51.100.80", 80, [("pppoe", 0x1234)], 10),
            _udp("2001:db8:6::1", 46001, "2001:db8:6::53", 53, [("pppoe", 0x1234)], 12),
        ],
        "pppoe_discovery": True,
        "stats": [("decoder.pppoe", ">=", 9 + 4)],
    },
    "ipip.pcap": {
        "desc": "IP-in-IP: 4in4, 6in4, 4in6, 6in6",
        "convs": [
            _tcp("10.7.0.1", 47000, "10.7.0.2", 80, [("ip", GW1, GW2)], 0,
                 tunnel=_tun("ipip", 0, 1, GW1, GW2)),
            _tcp("2001:db8:7::1", 47001, "2001:db8:7::2", 80, [("ip", GW1, GW2)], 2,
                 tunnel=_tun("ipip", 0, 1, GW1, GW2)),
            _udp("10.7.1.1", 47002, "10.7.1.2", 53, [("ip", "2001:db8:ffff::1", "2001:db8:ffff::2")], 4,
                 tunnel=_tun("ipip", 0, 1, "2001:db8:ffff::1", "2001:db8:ffff::2")),
            _udp("2001:db8:7:1::1", 47003, "2001:db8:7:1::2", 53, [("ip", "2001:db8:ffff::1", "2001:db8:ffff::2")], 6,
                 tunnel=_tun("ipip", 0, 1, "2001:db8:ffff::1", "2001:db8:ffff::2")),
        ],
        "stats": [("decoder.ipv4_in_ipv4", "==", 9), ("decoder.ipv6_in_ipv4", "==", 9),
                  ("decoder.ipv4_in_ipv6", "==", 4), ("decoder.ipv6_in_ipv6", "==", 4)],
    },
    "ipv6_frag.pcap": {
        "desc": "UDP over IPv6: the request in 3 fragments sent last-first-middle, the reply in 3 in order",
        "convs": [
            _udp("2001:db8:8::1", 48000, "2001:db8:8::2", 5000, [], 0,
                 frag={"size": 2400, "pieces": 3, "order_req": [2, 0, 1], "order_resp": [0, 1, 2]}),
        ],
        "stats": [("defrag.ipv6.fragments", "==", 6), ("defrag.ipv6.reassembled", "==", 2)],
    },
    "ipv4_frag.pcap": {
        "desc": "UDP and ICMP echo over IPv4: first request/reply in 3 fragments (request out of order)",
        "convs": [
            _udp("10.9.0.1", 49000, "10.9.0.2", 5000, [], 0,
                 frag={"size": 2400, "pieces": 3, "order_req": [0, 2, 1], "order_resp": [0, 1, 2]}),
            _icmp("10.9.0.1", "10.9.0.3", [], 5,
                  frag={"size": 3000, "pieces": 3, "order_req": [1, 0, 2], "order_resp": [0, 1, 2]}),
        ],
        "stats": [("defrag.ipv4.fragments", "==", 12), ("defrag.ipv4.reassembled", "==", 4)],
    },
    "nested.pcap": {
        "desc": "VXLAN inside GRE inside 802.1Q VLAN 30 (outermost tunnel GRE, depth 2)",
        "convs": [
            _tcp("10.10.0.1", 50000, "10.10.0.2", 80,
                 [("vlan", 30), ("ip", GW1, GW2), ("gre", 77), ("ip", VTEP1, VTEP2), ("vxlan", 500), ("eth",)], 0,
                 tunnel=_tun("gre", 77, 2, GW1, GW2), vlan=[30]),
            _udp("10.10.0.1", 50001, "10.10.0.2", 53,
                 [("vlan", 30), ("ip", GW1, GW2), ("gre", 77), ("ip", VTEP1, VTEP2), ("vxlan", 500), ("eth",)], 3,
                 tunnel=_tun("gre", 77, 2, GW1, GW2), vlan=[30]),
        ],
        "stats": [("decoder.gre", "==", 13), ("decoder.vxlan", "==", 13)],
    },
    "erspan_vxlan.pcap": {
        "desc": "ERSPAN II session 7 mirroring a VXLAN fabric link: tenants VNI 100 and 200 reuse the "
                "same inner addresses and must stay two flows",
        "convs": [
            _tcp("10.12.0.1", 52000, "10.12.0.2", 80,
                 [("ip", MON_SW, MON_COLL), ("erspan2", 7), ("eth",), ("ip", VTEP1, VTEP2), ("vxlan", 100), ("eth",)], 0,
                 tunnel=_tun("erspan", 7, 2, MON_SW, MON_COLL)),
            _tcp("10.12.0.1", 52000, "10.12.0.2", 80,
                 [("ip", MON_SW, MON_COLL), ("erspan2", 7), ("eth",), ("ip", VTEP1, VTEP2), ("vxlan", 200), ("eth",)], 1,
                 tunnel=_tun("erspan", 7, 2, MON_SW, MON_COLL)),
        ],
        "stats": [("decoder.erspan", "==", 18), ("decoder.vxlan", "==", 18)],
    },
    "too_deep.pcap": {
        "desc": "10 nested tunnels (must count tunnel.too_deep, not crash), then a plain UDP flow",
        "convs": [
            _udp("10.11.0.1", 51000, "10.11.0.2", 53,
                 [("ip", GW1, GW2), ("gre", None),
                  ("ip", "198.51.100.3", "198.51.100.4"), ("vxlan", 1), ("eth",),
                  ("ip", "198.51.100.5", "198.51.100.6"),
                  ("ip", "198.51.100.7", "198.51.100.8"), ("gre", 2),
                  ("ip", "198.51.100.9", "198.51.100.10"), ("geneve", 3, "ip"),
                  ("ip", "198.51.100.11", "198.51.100.12"), ("gre", None), ("eth",),
                  ("ip", "2001:db8:d::1", "2001:db8:d::2"),
                  ("ip", "198.51.100.13", "198.51.100.14"), ("vxlan", 4), ("eth",),
                  ("ip", "198.51.100.15", "198.51.100.16"), ("gre", 5),
                  ("ip", "198.51.100.17", "198.51.100.18"), ("vxlan", 6), ("eth",),
                  ("ip", "198.51.100.19", "198.51.100.20")], 0, n=2),
            _udp("10.11.1.1", 51001, "10.11.1.2", 53, [], 10),
        ],
        "deep_flow_absent": True,
        "exact_flows": False,
        "stats": [("decoder.event.tunnel.too_deep", "==", 4)],
    },
}


# ---------------------------------------------------------------- packets

def _is6(a):
    return ":" in a


def _l3(src, dst, ident, payload, proto=None):
    """An IPv4 or IPv6 header (by address family) over a scapy payload."""
    if _is6(src):
        p = IPv6(src=src, dst=dst, hlim=64)
        if proto is not None:
            p.nh = proto
    else:
        p = IP(src=src, dst=dst, ttl=64, id=ident & 0xFFFF)
        if proto is not None:
            p.proto = proto
    return p / payload


class Conv:
    """Builds the inner IP packets of one conversation, as a list of
    (time_ms_float, direction, [inner IP packet bytes...]). A list holds more
    than one element when the datagram is sent as fragments."""

    def __init__(self, spec, rng):
        self.s = spec
        self.rng = rng
        self.ipid = [rng.randrange(1, 30000), rng.randrange(30000, 60000)]
        self.out = []
        self.t = float(spec["start"])

    def _addr(self, d):
        s = self.s
        return (s["src"], s["dst"]) if d == 0 else (s["dst"], s["src"])

    def _emit(self, d, l4, proto=None, frag=None):
        src, dst = self._addr(d)
        self.ipid[d] += 1
        pkt = _l3(src, dst, self.ipid[d], l4, proto)
        data = bytes(pkt)
        pieces = [data] if frag is None else _fragment(data, frag[0], frag[1], self.ipid[d])
        self.out.append((self.t, d, pieces))
        self.t += 1.0

    def build(self):
        k = self.s["kind"]
        if k == "tcp":
            self._tcp()
        elif k == "udp":
            self._udp()
        else:
            self._icmp()
        return self.out

    def _tcp(self):
        s = self.s
        c, v = self.rng.randrange(1 << 31), self.rng.randrange(1 << 31)
        sp, dp = s["sport"], s["dport"]
        req = b"GET /index.html HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: lwgen\r\n\r\n"
        resp = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello"
        mss = [("MSS", 1460)]
        self._emit(0, TCP(sport=sp, dport=dp, flags="S", seq=c, window=64240, options=mss))
        c += 1
        self._emit(1, TCP(sport=dp, dport=sp, flags="SA", seq=v, ack=c, window=65160, options=mss))
        v += 1
        self._emit(0, TCP(sport=sp, dport=dp, flags="A", seq=c, ack=v, window=502))
        self._emit(0, TCP(sport=sp, dport=dp, flags="PA", seq=c, ack=v, window=502) / req)
        c += len(req)
        self._emit(1, TCP(sport=dp, dport=sp, flags="PA", seq=v, ack=c, window=509) / resp)
        v += len(resp)
        self._emit(0, TCP(sport=sp, dport=dp, flags="A", seq=c, ack=v, window=502))
        self._emit(0, TCP(sport=sp, dport=dp, flags="FA", seq=c, ack=v, window=502))
        c += 1
        self._emit(1, TCP(sport=dp, dport=sp, flags="FA", seq=v, ack=c, window=509))
        v += 1
        self._emit(0, TCP(sport=sp, dport=dp, flags="A", seq=c, ack=v, window=502))

    def _frag(self, i, which):
        f = self.s.get("frag")
        if f is None or i != 0:
            return None
        return (f["pieces"], f["order_" + which])

    def _udp(self):
        s = self.s
        sp, dp = s["sport"], s["dport"]
        f = s.get("frag")
        for i in range(s.get("n", 2)):
            qid = self.rng.randrange(1 << 16)
            if f is not None and i == 0:
                body_q = bytes((j * 7 + 1) & 0xFF for j in range(f["size"]))
                body_r = bytes((j * 11 + 3) & 0xFF for j in range(f["size"]))
                q, r = body_q, body_r
            elif dp == 53:
                name = "host%d.example.com" % i
                q = DNS(id=qid, rd=1, qd=DNSQR(qname=name, qtype="A"))
                r = DNS(id=qid, qr=1, rd=1, ra=1, qd=DNSQR(qname=name, qtype="A"),
                        an=DNSRR(rrname=name, type="A", ttl=300, rdata="192.0.2.%d" % (100 + i)))
            else:
                q = b"request %d" % i
                r = b"response %d" % i
            self._emit(0, UDP(sport=sp, dport=dp) / q, frag=self._frag(i, "req"))
            self._emit(1, UDP(sport=dp, dport=sp) / r, frag=self._frag(i, "resp"))

    def _icmp(self):
        s = self.s
        f = s.get("frag")
        ident = self.rng.randrange(1 << 16)
        for i in range(s.get("n", 2)):
            size = f["size"] if (f is not None and i == 0) else 56
            data = bytes((j + i) & 0xFF for j in range(size))
            self._emit(0, ICMP(type=8, code=0, id=ident, seq=i + 1) / data, frag=self._frag(i, "req"))
            self._emit(1, ICMP(type=0, code=0, id=ident, seq=i + 1) / data, frag=self._frag(i, "resp"))


def _fragment(data, pieces, order, ident):
    """Splits the IP datagram in data (IPv4 without options, or IPv6 with no
    extension headers) into `pieces` fragments, returned in `order`."""
    if data[0] >> 4 == 4:
        hl = (data[0] & 0x0F) * 4
        hdr, body = IP(data[:hl]), data[hl:]
    else:
        hdr, body = None, data[40:]
    chunk = ((len(body) + pieces - 1) // pieces + 7) & ~7
    frags = []
    for i in range(pieces):
        part = body[i * chunk:(i + 1) * chunk]
        more = 1 if (i + 1) * chunk < len(body) else 0
        off = i * chunk
        if hdr is not None:
            h = hdr.copy()
            h.flags = "MF" if more else 0
            h.frag = off // 8
            h.len = None
            h.chksum = None
            h.remove_payload()
            frags.append(bytes(h / part))
        else:
            src, dst = IPv6(data[:40]).src, IPv6(data[:40]).dst
            fh = struct.pack("!BBHI", data[6], 0, off | more, ident)
            frags.append(bytes(IPv6(src=src, dst=dst, nh=44, hlim=64) / (fh + part)))
    return [frags[i] for i in order]


ETH_IPV4, ETH_IPV6 = 0x0800, 0x86DD


def _ethertype(ipbytes):
    return ETH_IPV6 if ipbytes[0] >> 4 == 6 else ETH_IPV4


class Wrapper:
    """Wraps inner IP packets in a conversation's encapsulation spec."""

    def __init__(self, encap, ident_base):
        self.encap = encap
        self.ident = ident_base
        self.mirror = any(l[0].startswith("erspan") for l in encap)
        self.erspan_seq = 0

    def wrap(self, inner, d):
        """Returns the whole Ethernet frame carrying inner (IP packet bytes)
        in direction d (0: initiator to responder)."""
        payload, ptype = inner, _ethertype(inner)  # ptype: ethertype of payload
        for layer in reversed(self.encap):
            payload, ptype = self._layer(layer, payload, ptype, d)
        return _eth(MAC_A, MAC_B, ptype, payload) if d == 0 or self.mirror else _eth(MAC_B, MAC_A, ptype, payload)

    def _ip(self, a, b, d):
        if d == 1 and not self.mirror:
            a, b = b, a
        return a, b

    def _layer(self, layer, payload, ptype, d):
        kind = layer[0]
        self.ident += 1
        if kind == "eth":
            if d == 0 or self.mirror:
                return _eth(MAC_C, MAC_D, ptype, payload), 0x6558
            return _eth(MAC_D, MAC_C, ptype, payload), 0x6558
        if kind == "vlan":
            return struct.pack("!HH", layer[1], ptype) + payload, 0x8100
        if kind == "svlan":
            return struct.pack("!HH", layer[1], ptype) + payload, 0x88A8
        if kind == "mpls":
            labels = layer[1]
            hdr = b""
            for i, lab in enumerate(labels):
                bos = 1 if i == len(labels) - 1 else 0
                hdr += struct.pack("!I", (lab << 12) | (0 << 9) | (bos << 8) | 64)
            return hdr + payload, 0x8847
        if kind == "pppoe":
            pppproto = 0x0057 if ptype == ETH_IPV6 else 0x0021
            body = struct.pack("!H", pppproto) + payload
            return struct.pack("!BBHH", 0x11, 0, layer[1], len(body)) + body, 0x8864
        if kind == "ip":
            a, b = self._ip(layer[1], layer[2], d)
            proto = {ETH_IPV4: 4, ETH_IPV6: 41}.get(ptype)
            if ptype == "gre":
                proto = 47
            elif ptype == "udp":
                proto = 17
            p = _l3(a, b, self.ident, payload, proto)
            out = bytes(p)
            return out, _ethertype(out)
        if kind == "gre":
            key = layer[1]
            flags = 0x2000 if key is not None else 0
            hdr = struct.pack("!HH", flags, ptype)
            if key is not None:
                hdr += struct.pack("!I", key)
            return hdr + payload, "gre"
        if kind == "erspan1":
            return struct.pack("!HH", 0, 0x88BE) + payload, "gre"
        if kind == "erspan2":
            self.erspan_seq += 1
            gre = struct.pack("!HHI", 0x1000, 0x88BE, self.erspan_seq)
            # ver=1, vlan=0 | cos=0 en=0 t=0 session | reserved=0 index=0
            er = struct.pack("!HHI", (1 << 12) | 0, layer[1] & 0x3FF, 0)
            return gre + er + payload, "gre"
        if kind == "erspan3":
            self.erspan_seq += 1
            gre = struct.pack("!HHI", 0x1000, 0x22EB, self.erspan_seq)
            # ver=2, vlan=0 | cos bso t session | timestamp | sgt | p ft hw d gra o
            ts = (self.erspan_seq * 1000) & 0xFFFFFFFF
            er = struct.pack("!HHIHH", (2 << 12), layer[1] & 0x3FF, ts, 0, 0)
            return gre + er + payload, "gre"
        if kind == "vxlan":
            hdr = struct.pack("!II", 0x08000000, layer[1] << 8)
            return _udp_bytes(49152 + (layer[1] % 1000) + d, 4789, hdr + payload), "udp"
        if kind == "geneve":
            vni, nxt = layer[1], layer[2]
            gproto = 0x6558 if nxt == "eth" else ptype
            opt = struct.pack("!HBB", 0x0102, 0x01, 1) + b"\x00\x00\x00\x2a"   # one 4-byte option
            hdr = struct.pack("!BBHI", len(opt) // 4, 0, gproto, vni << 8) + opt
            return _udp_bytes(50000 + (vni % 1000) + d, 6081, hdr + payload), "udp"
        raise ValueError("unknown encapsulation layer %r" % (kind,))


def _udp_bytes(sport, dport, payload):
    # The checksum needs the IP header; outer tunnels send 0 (allowed for
    # UDP over IPv4 and, per RFC 6935, for tunnels over IPv6).
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def _eth(src, dst, etype, payload):
    return dst + src + struct.pack("!H", etype) + payload


def _pppoe_discovery():
    """PADI, PADO, PADR, PADS: non-IP frames before the session."""
    out = []
    tags = struct.pack("!HH", 0x0101, 0) + struct.pack("!HH", 0x0103, 4) + b"\x00\x00\x00\x01"
    for code, sess, frm, to in ((0x09, 0, MAC_A, b"\xff" * 6), (0x07, 0, MAC_B, MAC_A),
                                (0x19, 0, MAC_A, MAC_B), (0x65, 0x1234, MAC_B, MAC_A)):
        body = struct.pack("!BBHH", 0x11, code, sess, len(tags)) + tags
        out.append(_eth(frm, to, 0x8863, body))
    return out


# ---------------------------------------------------------------- cases

def build_case(name):
    """Returns (frames, flows) for one case: frames as [(ts_usec, bytes)] in
    capture order, flows the expected flow list with counts filled in."""
    case = MANIFEST[name]
    rng = random.Random("lw-tunnels-" + name)
    timed = []
    flows = []
    seq = 0
    if case.get("pppoe_discovery"):
        for i, fr in enumerate(_pppoe_discovery()):
            timed.append((float(i), seq, fr))
            seq += 1
    for ci, conv in enumerate(case["convs"]):
        pkts = Conv(conv, rng).build()
        w = Wrapper(conv["encap"], 1000 * (ci + 1))
        npk = [0, 0]
        nbytes = [0, 0]
        for t, d, pieces in pkts:
            npk[d] += 1
            for j, piece in enumerate(pieces):
                fr = w.wrap(piece, d)
                nbytes[d] += len(fr)
                timed.append((t + j * 0.1, seq, fr))
                seq += 1
        exp = dict(conv["flow"])
        exp.update(proto={"tcp": "TCP", "udp": "UDP", "icmp": "ICMP"}[conv["kind"]],
                   src_ip=conv["src"], dest_ip=conv["dst"],
                   pkts_toserver=npk[0], pkts_toclient=npk[1],
                   bytes_toserver=None if conv.get("frag") else nbytes[0],
                   bytes_toclient=None if conv.get("frag") else nbytes[1])
        if conv["kind"] == "icmp":
            exp.update(src_port=None, dest_port=None, icmp_type=8)
            if _is6(conv["src"]):
                exp["proto"] = "IPv6-ICMP"
        else:
            exp.update(src_port=conv["sport"], dest_port=conv["dport"])
        exp["present"] = not (case.get("deep_flow_absent") and conv["encap"])
        flows.append(exp)
    timed.sort(key=lambda x: (x[0], x[1]))
    frames = [(BASE_TS + int(round(t * 1000)), fr) for t, _, fr in timed]
    return frames, flows


def _entry(name, frames, flows):
    case = MANIFEST[name]
    return {"desc": case["desc"], "flows": flows,
            "stats": [list(st) for st in case.get("stats", [])],
            "exact_flows": case.get("exact_flows", True),
            "todo": case.get("todo"),
            "packets": len(frames)}


def expected():
    """The manifest as data: {case: {"desc", "flows": [...], "stats": [...],
    "exact_flows", "todo", "packets"}}. Flow entries carry src_ip, src_port,
    dest_ip, dest_port (None for ICMP), proto, icmp_type (ICMP), tunnel (dict
    or None), vlan (list or None), pkts_/bytes_toserver/toclient (bytes None
    where the sensor's accounting of fragments is not pinned down), and
    present (False: the sensor must not report this flow). "todo" (or None)
    names a known sensor limitation: the test reports those checks as TODO."""
    out = {}
    for name in MANIFEST:
        frames, flows = build_case(name)
        out[name] = _entry(name, frames, flows)
    return out


def write_pcap(path, frames, linktype=1):
    """Writes frames [(ts_usec, bytes)] as a classic microsecond pcap."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype))
        for ts, fr in frames:
            f.write(struct.pack("<IIII", ts // 1000000, ts % 1000000, len(fr), len(fr)))
            f.write(fr)


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: gen_tunnels.py OUTDIR\n")
        return 2
    outdir = argv[1]
    os.makedirs(outdir, exist_ok=True)
    exp = {}
    for name in MANIFEST:
        frames, flows = build_case(name)
        write_pcap(os.path.join(outdir, name), frames)
        exp[name] = _entry(name, frames, flows)
    with open(os.path.join(outdir, "manifest.json"), "w") as f:
        json.dump(exp, f, indent=1, sort_keys=True)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
