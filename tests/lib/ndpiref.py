"""ndpiref.py - reading nDPI 4.2 ndpiReader reports and matching their flows
to ours, for the corpus integration tests (test_corpus_flows.py,
test_corpus_dpi.py).

A report is the output of `ndpiReader -v 2` in $LW_CORPUS/reference/. Both
sides are reduced to the same keys: IP protocol number, addresses in the
form ndpiReader prints them (patch_v6()), ports only for TCP, UDP and SCTP,
and the innermost VLAN id.
"""

import datetime
import os
import re

from lwtest import norm_ip

PROTO_NUM = {"TCP": 6, "UDP": 17, "ICMP": 1, "ICMPV6": 58, "IPV6-ICMP": 58,
             "IGMP": 2, "SCTP": 132, "GRE": 47, "ESP": 50, "AH": 51}
PROTO_NAME = {6: "TCP", 17: "UDP", 1: "ICMP", 58: "ICMPv6", 2: "IGMP", 132: "SCTP", 47: "GRE"}
# The IP protocols whose flows are keyed by ports.
PORTED = (6, 17, 132)

# "\t1\tUDP 1.2.3.4:5 <-> 6.7.8.9:53 [VLAN: 785][proto: 5.142/DNS.WhatsApp]..."
FLOW_RE = re.compile(r"^\t(\d+)\t(\S+) (\S+) (<->|->) (\S+) (.*)$")
# "[proto: 91/TLS]", "[proto: 7.178/HTTP.Amazon]", "[proto: GTP:91/TLS]"
PROTO_RE = re.compile(r"\[proto: (?:([A-Za-z_]+):)?([0-9.]+)/([^\]]*)\]")
CONF_RE = re.compile(r"\[Confidence: ([^\]]*)\]")
PKTS_RE = re.compile(r"\[(\d+) pkts/(\d+) bytes (?:<->|->) (\d+) pkts/(\d+) bytes\]")
VLAN_RE = re.compile(r"\[VLAN: (\d+)\]")


def proto_num(p):
    """An IP protocol as a number, from a number, its decimal text or its
    name (either case); None when it is none of these."""
    if p is None:
        return None
    if isinstance(p, int):
        return p
    p = str(p)
    if p.isdigit():
        return int(p)
    return PROTO_NUM.get(p.upper())


def patch_v6(s):
    """ndpiReader's patchIPv6Address(): every ':0:' becomes '::' (so its
    IPv6 text is not always canonical; we mangle ours the same way)."""
    out = []
    i = 0
    while i < len(s):
        if s[i:i + 3] == ":0:":
            out.append("::")
            i += 3
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def addr_key(a):
    """An address in a form both sides agree on: canonical when it parses,
    else (an IPv6 address mangled by patch_v6) the mangled text."""
    if a is None:
        return None
    a = a.strip("[]")
    if ":" in a:
        a = patch_v6(norm_ip(a))
    return norm_ip(a)


def split_endpoint(ep):
    """'1.2.3.4:80' or '[2001:db8::1]:80' -> (addr, port)."""
    if ep.startswith("["):
        host, _, port = ep[1:].partition("]:")
    else:
        host, _, port = ep.rpartition(":")
    return addr_key(host), int(port) if port.isdigit() else 0


def ep_text(a, p, proto):
    if proto not in PORTED:
        return a
    return ("[%s]:%d" if ":" in a else "%s:%d") % (a, p)


class RefFlow:
    """One flow line of a report. name, conf and tunnel come from its
    [proto: ...] and [Confidence: ...] tags: the nDPI protocol name (None
    when the line has no [proto: ...]), the confidence ('?' when absent)
    and the tunnel the flow was found in (None when none). complete is
    false for a line without [proto: ...] or with an IP protocol we do not
    know."""

    def __init__(self, proto, a, ap, b, bp, vlan, pab, pba, name, conf, tunnel, line):
        self.proto, self.a, self.ap, self.b, self.bp = proto, a, ap, b, bp
        self.vlan, self.pab, self.pba = vlan, pab, pba
        self.name, self.conf, self.tunnel, self.line = name, conf, tunnel, line
        self.complete = name is not None and proto is not None

    def text(self):
        return "%s %s <-> %s%s" % (PROTO_NAME.get(self.proto, self.proto),
                                   ep_text(self.a, self.ap, self.proto),
                                   ep_text(self.b, self.bp, self.proto),
                                   " vlan %d" % self.vlan if self.vlan else "")


def ref_flow(m, line):
    """A RefFlow from a FLOW_RE match m of line, or None when the line has
    no packet counts."""
    rest = m.group(6)
    pk = PKTS_RE.search(rest)
    if not pk:
        return None
    proto = proto_num(m.group(2))
    a, ap = split_endpoint(m.group(3))
    b, bp = split_endpoint(m.group(5))
    if proto not in PORTED:
        ap = bp = 0
    v, pr, c = VLAN_RE.search(rest), PROTO_RE.search(rest), CONF_RE.search(rest)
    return RefFlow(proto, a, ap, b, bp, int(v.group(1)) if v else 0,
                   int(pk.group(1)), int(pk.group(3)),
                   pr.group(3) if pr else None, c.group(1) if c else "?",
                   pr.group(1) if pr else None, line.strip())


def parse_reference(path):
    """The flows of an `ndpiReader -v 2` report. Returns (flows, bad):
    flows a RefFlow for every flow line with packet counts, bad the flow
    lines (first 160 characters) that are not complete: no packet counts,
    no [proto: ...] or an unknown IP protocol. A line in bad that has packet
    counts is also in flows, with complete false."""
    flows, bad = [], []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = FLOW_RE.match(line.rstrip("\n"))
            if not m:
                continue
            r = ref_flow(m, line)
            if r is not None:
                flows.append(r)
            if r is None or not r.complete:
                bad.append(line.strip()[:160])
    return flows, bad


def captures(corpus):
    """The capture names in corpus/pcaps, sorted, limited to those named in
    $LW_CORPUS_ONLY (comma-separated) when it is set."""
    pdir = os.path.join(corpus, "pcaps")
    names = sorted(x for x in os.listdir(pdir) if x.endswith((".pcap", ".pcapng")))
    only = os.environ.get("LW_CORPUS_ONLY")
    if only:
        names = [x for x in names if x in only.split(",")]
    return names


def parse_ts(t):
    """EVE timestamp -> seconds since the epoch (float), or None."""
    if not t:
        return None
    try:
        return datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
    except ValueError:
        return None


def endpoints(fl):
    """The matching key of a flow (ours or a RefFlow): protocol and the two
    endpoints in either orientation."""
    return (fl.proto, frozenset([(fl.a, fl.ap), (fl.b, fl.bp)]))


def pair_flows(ours, ref, used):
    """Pairs each reference flow with the flows of ours that have its
    endpoints and whose id() is not in the set used, which the caller fills
    with the flows it takes before asking for the next pair. Reference flows
    sharing endpoints differ by VLAN: tagged ones come first, each offered
    only our flows of the same innermost VLAN when there are some. Yields
    (reference flow, candidates, whether the candidates are same-VLAN)."""
    by_ep = {}
    for o in ours:
        by_ep.setdefault(endpoints(o), []).append(o)
    for r in sorted(ref, key=lambda r: -r.vlan):
        cands = [o for o in by_ep.get(endpoints(r), []) if id(o) not in used]
        same_vlan = [o for o in cands if o.vlan == r.vlan]
        yield r, same_vlan or cands, bool(same_vlan)
