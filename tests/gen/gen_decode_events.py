#!/usr/bin/env python3
"""gen_decode_events.py - writes a capture of IPv6 decoder anomalies (and
the ICMP packets that tell the IP-version protocols apart), the rules that
look for them, and the alerts each rule must give.

Usage: gen_decode_events.py OUTDIR

Writes OUTDIR/decode-events.pcap, OUTDIR/decode-events.rules and
OUTDIR/expected.json: {"alerts": {sid: count}, "refused": [sid, ...],
"events": {decoder event: count}}. Deterministic: fixed timestamps and
bytes. Addresses are documentation ones (192.0.2.0/24, 2001:db8::/32) and
ff02::1; nothing is sent anywhere, the packets only go into the file.

Each packet and what Suricata's decoder says of it:
   1  ICMPv6 echo request                      nothing (the near miss)
   2  destination options of PadN only, UDP    ipv6.dstopts_only_padding
   3  hop-by-hop with an unknown option, UDP   ipv6.hopopts_unknown_opt
   4  two fragment headers, both offset 0, no
      more fragments, UDP                      ipv6.exthdr_useless_fh,
                                               ipv6.exthdr_dupl_fh
   5  fragment 0-15 of datagram 10, more
   6  fragment 8-23 of datagram 10, other
      bytes where they overlap                 ipv6.frag_overlap
   7  a fragment ending past 65535             ipv6.frag_pkt_too_large
   8  a first fragment of 13 bytes, more       ipv6.frag_invalid_length
   9  a useless fragment header naming TCP
      and nothing after it                     ipv6.exthdr_useless_fh,
                                               ipv6.trunc_exthdr (refused)
  10  ICMPv4 echo request                      nothing
  11  ICMPv6 echo request to ff02::1           nothing
Packets 5-8 are held or refused by the defragmenter and 9 by the decoder:
only pkthdr rules and rules with a decode-event see them, without a flow.
"""

import json
import os
import sys

from scapy.layers.inet import IP, ICMP
from scapy.layers.inet6 import (IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop,
                                ICMPv6EchoRequest, PadN, HBHOptUnknown)
from scapy.layers.inet import UDP
from scapy.layers.l2 import Ether
from scapy.packet import Raw
from scapy.utils import wrpcap

A, B = "2001:db8::1", "2001:db8::2"


def eth6(pkt):
    return Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02", type=0x86dd) / pkt


def packets():
    udp = UDP(sport=1000, dport=2000) / Raw(b"x" * 8)
    ps = [
        eth6(IPv6(src=A, dst=B) / ICMPv6EchoRequest(id=1, seq=1)),
        eth6(IPv6(src=A, dst=B) / IPv6ExtHdrDestOpt(options=[PadN(optdata=b"\0" * 4)]) / udp),
        eth6(IPv6(src=A, dst=B) / IPv6ExtHdrHopByHop(options=[HBHOptUnknown(otype=0x3e, optdata=b"\0\0\0\0")]) /
             udp),
        eth6(IPv6(src=A, dst=B) / IPv6ExtHdrFragment(offset=0, m=0, id=1) /
             IPv6ExtHdrFragment(offset=0, m=0, id=2) / udp),
        eth6(IPv6(src=A, dst=B, nh=44) / IPv6ExtHdrFragment(nh=17, offset=0, m=1, id=10) / Raw(b"a" * 16)),
        eth6(IPv6(src=A, dst=B, nh=44) / IPv6ExtHdrFragment(nh=17, offset=1, m=0, id=10) / Raw(b"b" * 16)),
        eth6(IPv6(src=A, dst=B, nh=44) / IPv6ExtHdrFragment(nh=17, offset=8191, m=0, id=11) / Raw(b"c" * 16)),
        eth6(IPv6(src=A, dst=B, nh=44) / IPv6ExtHdrFragment(nh=17, offset=0, m=1, id=12) / Raw(b"d" * 13)),
        eth6(IPv6(src=A, dst=B, nh=44) / IPv6ExtHdrFragment(nh=6, offset=0, m=0, id=13)),
        Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") /
        IP(src="192.0.2.1", dst="192.0.2.2") / ICMP(type=8, id=1, seq=1),
        eth6(IPv6(src=A, dst="ff02::1") / ICMPv6EchoRequest(id=2, seq=1)),
    ]
    for i, p in enumerate(ps):
        p.time = 1700000000 + i * 0.001
    return ps


RULES = [
    (1, 'alert pkthdr any any -> any any (msg:"only padding"; decode-event:ipv6.dstopts_only_padding; sid:1;)', 1),
    (2, 'alert pkthdr any any -> any any (msg:"unknown hbh"; decode-event:ipv6.hopopts_unknown_opt; sid:2;)', 1),
    (3, 'alert pkthdr any any -> any any (msg:"useless fh"; decode-event:ipv6.exthdr_useless_fh; sid:3;)', 2),
    (4, 'alert pkthdr any any -> any any (msg:"dup fh"; decode-event:ipv6.exthdr_dupl_fh; sid:4;)', 1),
    (5, 'alert pkthdr any any -> any any (msg:"overlap"; decode-event:ipv6.frag_overlap; sid:5;)', 1),
    (6, 'alert pkthdr any any -> any any (msg:"too large"; decode-event:ipv6.frag_pkt_too_large; sid:6;)', 1),
    (7, 'alert pkthdr any any -> any any (msg:"frag len"; decode-event:ipv6.frag_invalid_length; sid:7;)', 1),
    (8, 'alert pkthdr any any -> any any (msg:"trunc exthdr"; decode-event:ipv6.trunc_exthdr; sid:8;)', 1),
    # the IPv4 name of an event never matches an IPv6 packet
    (9, 'alert pkthdr any any -> any any (msg:"v4 overlap"; decode-event:ipv4.frag_overlap; sid:9;)', 0),
    (10, 'alert icmpv6 any any -> ff00::/8 any (msg:"multicast ping"; itype:128; sid:10;)', 1),
    (11, 'alert icmpv4 any any -> any any (msg:"v4 ping"; itype:8; sid:11;)', 1),
    (12, 'alert icmpv6 any any -> any any (msg:"v6 ping"; itype:128; sid:12;)', 2),
    (13, 'alert ipv6 any any -> any any (msg:"echo on v6"; itype:8; sid:13;)', 0),
    (14, 'alert icmp any any -> any any (msg:"any ping"; itype:8; sid:14;)', 1),
    # an anomaly rides a packet that goes through: any rule sees it
    (15, 'alert ip any any -> any any (msg:"dup fh, ip"; decode-event:ipv6.exthdr_dupl_fh; sid:15;)', 1),
]
RULES += [
    # a held fragment's event reaches a decode-event rule of any protocol...
    (16, 'alert ip any any -> any any (msg:"overlap, ip"; decode-event:ipv6.frag_overlap; sid:16;)', 1),
    # ... that the packet fits: the refused packet 9 is TCP, the overlap UDP
    (17, 'alert tcp any any -> any any (msg:"trunc, tcp"; decode-event:ipv6.trunc_exthdr; sid:17;)', 1),
    (18, 'alert tcp any any -> any any (msg:"overlap, tcp"; decode-event:ipv6.frag_overlap; sid:18;)', 0),
    # without a decode-event, a rule never sees held or refused packets
    (19, 'alert ipv6 2001:db8::1 any -> any any (msg:"any v6 from A"; ip_proto:17; sid:19;)', 3),
]
REFUSED = [(20, 'alert pkthdr any any -> any any (msg:"no such"; decode-event:ipv6.no_such_event; sid:20;)')]

EVENTS = {
    "ipv6.dstopts_only_padding": 1, "ipv6.hopopts_unknown_opt": 1, "ipv6.exthdr_useless_fh": 2,
    "ipv6.exthdr_dupl_fh": 1, "defrag.overlap": 1, "defrag.too_large": 1,
    "ipv6.frag_invalid_length": 1, "defrag.bad_len": 1, "ipv6.bad_ext_header": 1,
}


def main():
    if len(sys.argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    wrpcap(os.path.join(out, "decode-events.pcap"), packets())
    with open(os.path.join(out, "decode-events.rules"), "w") as fh:
        for _, text, _ in RULES + [(s, t, 0) for s, t in REFUSED]:
            fh.write(text + "\n")
    with open(os.path.join(out, "expected.json"), "w") as fh:
        json.dump({"alerts": {str(s): n for s, _, n in RULES}, "refused": [s for s, _ in REFUSED],
                   "events": EVENTS}, fh, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
