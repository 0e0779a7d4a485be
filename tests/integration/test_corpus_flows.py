#!/usr/bin/env python3
"""test_corpus_flows.py - the sensor's flows on every corpus capture agree
with nDPI 4.2's ndpiReader, except where the difference is known and
explained in EXPECTED below.

For each $LW_CORPUS/pcaps/<name>: run `linkwatch -r <name> -l DIR`; exit 0
and no sanitizer report on stderr; then compare the flow events with
$LW_CORPUS/reference/<name>.ndpi.txt (`ndpiReader -v 2`): the number of
flows, and for each reference flow the flow we report for the same endpoints
(either orientation): total packets, and packets per direction. A capture
passes when it has no difference, or when every difference it has is listed
for it in EXPECTED. The run ends with a table: ours vs reference, per capture.

ndpiReader (example/reader_util.c of nDPI 4.2) keys flows differently from
us; the differences this test has to allow are these (each capture entry in
EXPECTED names which one applies):
  - it decapsulates VLAN (0x8100 only, keeping the innermost id), MPLS,
    PPPoE, IP-in-IP and GTP-U (-t), but not VXLAN, GRE, ERSPAN, GENEVE or
    Teredo, and not 802.1ad (0x88a8) tags: those show as the outer flow or
    not at all; we report the inner flows.
  - it drops IPv4 fragments with a non-zero offset and reads the first
    fragment as if it were the whole datagram; we reassemble.
  - it drops packets whose captured length is shorter than the IP total
    length (snaplen-truncated frames), and frames under 28 bytes.
  - it never ends a flow within a file, so a 5-tuple seen again after a TCP
    close or a long idle gap is one flow there; we end flows on our idle
    timeouts. Such splits are accepted without listing them when the pieces
    follow each other with gaps of at least the timeout (split_by_timeouts()).
  - its DLT_NULL decoder reads every family but 2 as IPv6.
Everything else must agree: a split that no timeout explains, a missing or
extra flow, or different per-direction packet counts fail the test.

Environment: LINKWATCH, LW_CORPUS (skips with exit 77 when absent),
LW_CORPUS_ONLY=name[,name] limits the run to some captures.
"""

import os

import lwtest
from ndpiref import (PORTED, PROTO_NAME, addr_key, captures, ep_text, pair_flows,
                     parse_reference, parse_ts, proto_num)

# ---------------------------------------------------------------- expected
#
# capture -> {"reason": why we differ from ndpiReader,
#             "compare": "flows" (default: every difference must be listed in
#                        "diffs"), "totals" (only the total packet count is
#                        compared, with "pkt_delta" = ours - reference), or
#                        "none" (only exit status and sanitizers),
#             "diffs": exact difference lines (as the test prints them) that
#                      are explained by the reason,
#             "rc": the exit status when it is not 0}
# Flows we split where ndpiReader has one are not listed: the test accepts a
# split when the pieces follow each other and each gap is at least our idle
# timeout for the piece before it (see split_by_timeouts()).
EXPECTED = {
    "vxlan.pcap": {
        "reason": "ndpiReader does not decapsulate VXLAN (it shows 9 outer UDP 4789 flows); "
                  "we report the inner flows. Every outer packet carries one inner packet, "
                  "so the packet totals still agree.",
        "compare": "totals", "pkt_delta": 0,
    },
    "gre.pcapng": {
        "reason": "one PPTP packet (enhanced GRE, version 1, carrying PPP): ndpiReader does not "
                  "decapsulate GRE and shows an IP protocol 47 flow; we report the inner SIP/UDP "
                  "flow. Same packet total.",
        "compare": "totals", "pkt_delta": 0,
    },
    "teredo.pcap": {
        "reason": "ndpiReader does not decapsulate Teredo (it shows the outer UDP 3544 flows); we "
                  "report the inner IPv6 flows. Every outer packet carries one inner packet.",
        "compare": "totals", "pkt_delta": 0,
    },
    "fuzz-2021-06-07-c6c72a0a56.pcap": {
        "reason": "one 48-byte frame whose claimed wire length is 2 GB, holding the start of a "
                  "UDP datagram (IP total length 35205): ndpiReader skips any packet captured "
                  "shorter than its IP total length; we decode snaplen-cut frames as far as they "
                  "go, so we report the flow.",
        "diffs": ["extra: UDP 102.110.128.32:2152 -> 0.6.255.0:53975 (ours 1/0 pkts)",
                  "flow count: ours 1 (0 of them timeout splits), reference 0"],
    },
    "fuzz-2021-10-13.pcap": {
        "reason": "the file ends inside a record header: we report the read error and exit 1 "
                  "after the one complete frame. That frame's BSD loopback family word is 0x6c, "
                  "no address family; ndpiReader reads every family but 2 as IPv6 and makes a "
                  "garbage TCP flow of it, we refuse it (null.unknown_family).",
        "rc": 1,
        "diffs": ["flow count: ours 0 (0 of them timeout splits), reference 1",
                  "missing: TCP [3400:3a30:3035:2f75:706c:6f32:643f:6c3d]:44288 <-> "
                  "[302e::3d00::8001]:0 (reference 1/0 pkts)"],
    },
    "ip_fragmented_garbage.pcap": {
        "reason": "4 first fragments of 16 bytes, each followed by hundreds of garbage fragments "
                  "of the same id: ndpiReader drops non-first fragments and reads each 16-byte "
                  "first fragment as a TCP packet too short for a header (ports 0); we "
                  "reassemble: two datagrams have a bad TCP header length (refused, "
                  "tcp.bad_hlen) and two a bad option list, which is counted (tcp.bad_option) "
                  "but still tracked, as Suricata does, so a bad option cannot hide a segment.",
        "diffs": ["extra: TCP 10.0.0.2:18730 -> 10.128.0.2:20304 (ours 1/0 pkts)",
                  "extra: TCP 10.128.0.2:24102 -> 10.0.0.2:9253 (ours 0/1 pkts)",
                  "flow count: ours 2 (0 of them timeout splits), reference 1",
                  "missing: TCP 10.0.0.2:0 <-> 10.128.0.2:0 (reference 4/0 pkts)"],
    },
    "synscan.pcap": {
        "reason": "ndpiReader counts all 5 packets of 172.16.0.8:36050 <-> 64.13.134.52:22 in one "
                  "direction; the capture (tshark) has one SYN from 172.16.0.8 and four SYN/ACK "
                  "retransmissions from 64.13.134.52, which is what we report.",
        "diffs": ["packets: TCP 172.16.0.8:36050 <-> 64.13.134.52:22: ours 1/4, reference 5/0"],
    },
}

# ---------------------------------------------------------------- reference

# The default configuration's flow idle timeouts (linkwatch.yaml flow.timeouts),
# in seconds: a flow quiet for longer is ended and a later packet starts a new one.
TIMEOUTS = {"tcp-new": 60, "tcp-established": 3600, "tcp-closed": 10, "udp": 60, "default": 30}

def read_summary(corpus):
    out = {}
    path = os.path.join(corpus, "reference", "SUMMARY.tsv")
    if not os.path.exists(path):
        return out
    with open(path) as f:
        head = f.readline().rstrip("\n").split("\t")
        for line in f:
            row = dict(zip(head, line.rstrip("\n").split("\t")))
            out[row["file"]] = row
    return out


# ---------------------------------------------------------------- ours

class OurFlow:
    def __init__(self, ev):
        self.ev = ev
        self.proto = proto_num(ev.get("proto"))
        self.a = addr_key(ev.get("src_ip"))
        self.b = addr_key(ev.get("dest_ip"))
        has_ports = self.proto in PORTED
        self.ap = ev.get("src_port", 0) if has_ports else 0
        self.bp = ev.get("dest_port", 0) if has_ports else 0
        f = ev.get("flow", {})
        self.pab = f.get("pkts_toserver", 0)
        self.pba = f.get("pkts_toclient", 0)
        self.vlan = (ev.get("vlan") or [0])[-1]
        self.tunnel = ev.get("tunnel")
        self.start = parse_ts(f.get("start"))
        self.end = parse_ts(f.get("end"))
        self.state = f.get("state")
        self.reason = f.get("reason")

    def idle_timeout(self):
        """The idle timeout (s) of the class this flow was in when it ended,
        from the default configuration."""
        if self.proto == 6:
            return TIMEOUTS.get("tcp-%s" % self.state, TIMEOUTS["tcp-new"])
        if self.proto == 17:
            return TIMEOUTS["udp"]
        return TIMEOUTS["default"]

    def text(self):
        t = self.tunnel
        return "%s %s -> %s%s%s" % (PROTO_NAME.get(self.proto, self.proto),
                                    ep_text(self.a, self.ap, self.proto),
                                    ep_text(self.b, self.bp, self.proto),
                                    " vlan %s" % self.ev.get("vlan") if self.ev.get("vlan") else "",
                                    " tunnel %s/%s" % (t.get("type"), t.get("id")) if t else "")


def split_by_timeouts(pieces):
    """Whether flows pieces (ours, same endpoints) are one reference flow cut
    by our idle timeouts: they follow each other in time, each but the last
    ended on a timeout (or the TCP closed timeout), and the gap before the
    next one is at least that timeout. ndpiReader never ends a flow inside a
    file, so such a split is expected."""
    ps = sorted(pieces, key=lambda o: (o.start or 0))
    for prev, nxt in zip(ps, ps[1:]):
        if prev.start is None or prev.end is None or nxt.start is None:
            return False
        if prev.reason not in ("timeout", "tcp-closed"):
            return False
        if nxt.start - prev.end < prev.idle_timeout():
            return False
    return True


# ---------------------------------------------------------------- compare

def compare(ours, ref):
    """Returns (diffs, stats): diffs a sorted list of difference lines, stats
    a dict of counts for the table."""
    diffs = []
    nsplit = [0]        # extra flows explained by our idle timeouts
    used = set()
    for r, cands, _ in pair_flows(ours, ref, used):
        if not cands:
            diffs.append("missing: %s (reference %d/%d pkts)" % (r.text(), r.pab, r.pba))
            continue
        timed_out = len(cands) > 1 and split_by_timeouts(cands)
        if len(cands) > 1 and not timed_out:
            diffs.append("split: %s is %d flows here (reference 1)" % (r.text(), len(cands)))
        if timed_out:
            nsplit[0] += len(cands) - 1
        for o in cands:
            used.add(id(o))
        if len(cands) == 1:
            o = cands[0]
            if (o.a, o.ap) == (r.a, r.ap):
                got = (o.pab, o.pba)
            else:
                got = (o.pba, o.pab)
            if got != (r.pab, r.pba):
                diffs.append("packets: %s: ours %d/%d, reference %d/%d" %
                             (r.text(), got[0], got[1], r.pab, r.pba))
        else:
            tot = sum(o.pab + o.pba for o in cands)
            if tot != r.pab + r.pba:
                diffs.append("packets: %s: ours %d in total, reference %d" %
                             (r.text(), tot, r.pab + r.pba))
    for o in ours:
        if id(o) not in used:
            diffs.append("extra: %s (ours %d/%d pkts)" % (o.text(), o.pab, o.pba))
    if len(ours) - nsplit[0] != len(ref):
        diffs.append("flow count: ours %d (%d of them timeout splits), reference %d" %
                     (len(ours), nsplit[0], len(ref)))
    st = {"ours_flows": len(ours), "ref_flows": len(ref), "timeout_splits": nsplit[0],
          "ours_pkts": sum(o.pab + o.pba for o in ours),
          "ref_pkts": sum(r.pab + r.pba for r in ref)}
    return sorted(diffs), st


def judge(name, diffs, st):
    """Applies EXPECTED. Returns (status, unexplained, stale): status one of
    'same', 'explained', 'FAIL'."""
    exp = EXPECTED.get(name)
    if exp is None:
        return ("same" if not diffs else "FAIL"), diffs, []
    mode = exp.get("compare", "flows")
    if mode == "none":
        return "explained", [], []
    if mode == "totals":
        delta = st["ours_pkts"] - st["ref_pkts"]
        want = exp.get("pkt_delta", 0)
        if delta != want:
            return "FAIL", ["packet total: ours %d, reference %d (expected difference %+d)" %
                            (st["ours_pkts"], st["ref_pkts"], want)], []
        return "explained", [], []
    allowed = set(exp.get("diffs", ()))
    unexplained = [d for d in diffs if d not in allowed]
    stale = sorted(allowed - set(diffs))
    if unexplained:
        return "FAIL", unexplained, stale
    return ("explained" if diffs else "same"), [], stale


def main():
    corpus = lwtest.find_corpus()
    lwtest.find_binary()
    pdir = os.path.join(corpus, "pcaps")
    names = captures(corpus)
    summary = read_summary(corpus)
    tap = lwtest.Tap()
    table = []
    with lwtest.TempDir("lw-corpus-") as tmp:
        for n in names:
            refpath = os.path.join(corpus, "reference", n + ".ndpi.txt")
            run = lwtest.run_sensor(os.path.join(pdir, n), os.path.join(tmp, n))
            want_rc = EXPECTED.get(n, {}).get("rc", 0)
            ok = tap.ok(run.rc == want_rc, "%s: exit %d" % (n, want_rc),
                        "rc=%d\n%s" % (run.rc, run.stderr[-3000:]))
            rep = run.sanitizer_report()
            ok &= tap.ok(rep is None, "%s: no sanitizer report" % n, run.stderr[-3000:] if rep else None)
            try:
                ours = [OurFlow(e) for e in run.flows]
            except ValueError as e:
                tap.ok(False, "%s: eve.json is JSON lines" % n, str(e))
                table.append((n, "?", "?", "?", "?", "?", "FAIL"))
                continue
            if not os.path.exists(refpath):
                tap.ok(False, "%s: reference exists" % n, refpath)
                continue
            ref, _ = parse_reference(refpath)
            srow = summary.get(n)
            if srow:
                tap.ok(len(ref) == int(srow["flows"]) and
                       sum(r.pab + r.pba for r in ref) == int(srow["ip_packets"]),
                       "%s: reference parsed completely (%s flows, %s packets)" %
                       (n, srow["flows"], srow["ip_packets"]),
                       "parsed %d flows, %d packets" % (len(ref), sum(r.pab + r.pba for r in ref)))
            diffs, st = compare(ours, ref)
            status, unexplained, stale = judge(n, diffs, st)
            if n in EXPECTED:
                tap.note("%s: expected difference: %s" % (n, EXPECTED[n]["reason"]))
            tap.ok(status != "FAIL", "%s: flows agree with ndpiReader%s" %
                   (n, " (differences explained)" if status == "explained" else ""),
                   "\n".join(unexplained))
            for s in stale:
                tap.note("%s: listed difference no longer seen: %s" % (n, s))
            if not ok:
                status = "FAIL"
            table.append((n, st["ours_flows"], st["timeout_splits"], st["ref_flows"],
                          st["ours_pkts"], st["ref_pkts"], status))
    print("#")
    print("# %-40s %6s %6s %6s %8s %8s  %s" % ("capture", "flows", "split", "ref", "pkts", "ref", "status"))
    for row in table:
        print("# %-40s %6s %6s %6s %8s %8s  %s" % row)
    tap.done()


if __name__ == "__main__":
    main()
