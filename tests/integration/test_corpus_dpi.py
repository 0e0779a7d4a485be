#!/usr/bin/env python3
"""test_corpus_dpi.py - the application protocol we detect for each flow of
the corpus captures agrees with nDPI 4.2's ndpiReader for at least 99% of
the reference flows.

For each $LW_CORPUS/pcaps/<name>: run `linkwatch -r <name> -l DIR`, then
match every flow line of $LW_CORPUS/reference/<name>.ndpi.txt
(`ndpiReader -v 2`, the same nDPI version we link) to our flow event with the
same endpoints (either orientation; VLAN ids only break ties) and compare
nDPI's protocol name: our "ndpi"."protocol" (absent = "Unknown") against the
reference's `[proto: master.app/Name]` Name. Both sides print it with
ndpi_protocol2name(), so they must be equal as strings.

A reference flow ends up as one of:
  match      same name;
  explained  we cannot report it by construction, for a reason listed in
             EXPECTED below (we decapsulate VXLAN, GRE and Teredo, so the
             outer flow ndpiReader shows does not exist here);
  mismatch   a different name, or no flow of ours at all, without an
             EXPECTED entry. Each is printed with the facts that explain it
             (packets each side saw, nDPI confidence on each side, flow
             splits), so that a regression can be told from a known
             difference in flow handling.
The score is match / (reference flows - explained); the test fails below
THRESHOLD. It also fails when a capture does not run (exit status) or when
an EXPECTED entry no longer happens (a stale excuse hides nothing).

Environment: LINKWATCH (the binary), LW_CORPUS (skips with exit 77 when
absent), LW_CORPUS_ONLY=name[,name] limits the run to some captures (the
threshold is then still applied to what ran).
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import lwtest  # noqa: E402
from ndpiref import (PORTED, addr_key, captures, pair_flows, parse_reference,  # noqa: E402
                     parse_ts, proto_num)

THRESHOLD = 0.99

# ---------------------------------------------------------------- expected
#
# capture -> (reason, predicate(RefFlow) -> bool). A reference flow for which
# the predicate holds and which has no flow of ours is "explained". An entry
# that explains nothing in a run is reported as stale and fails the test.
DECAP = "we decapsulate %s and report the inner flows; ndpiReader 4.2 does not, so its outer flow has no counterpart here"
EXPECTED = {
    "vxlan.pcap": (DECAP % "VXLAN (UDP 4789)",
                   lambda r: r.proto == 17 and 4789 in (r.ap, r.bp)),
    "gre.pcapng": (DECAP % "GRE (IP protocol 47)",
                   lambda r: r.proto == 47),
    "teredo.pcap": (DECAP % "Teredo (UDP 3544)",
                    lambda r: r.proto == 17 and 3544 in (r.ap, r.bp)),
}

# capture -> [(predicate(RefFlow), reason)]: why a reference flow has no
# flow of ours, when that is known from tests/integration/test_corpus_flows.py
# (flow handling, not DPI). These still count as mismatches; the reason is
# only printed with them.
KNOWN = {
    "fuzz-2021-10-13.pcap": [
        (lambda r: True, "the file's one frame has BSD loopback family 0x6c: ndpiReader reads it "
                         "as IPv6 and makes a garbage TCP flow, we refuse it (null.unknown_family)")],
    "ip_fragmented_garbage.pcap": [
        (lambda r: True, "ndpiReader reads 16-byte first fragments as TCP without ports; we "
                         "reassemble: two datagrams have a bad TCP header length (refused, "
                         "tcp.bad_hlen) and two a bad option list, which is counted "
                         "(tcp.bad_option) but still tracked, as Suricata does: two flows with "
                         "ports that ndpiReader does not have, none for its portless one")],
}

# Exit status other than 0, as tests/integration/test_corpus_flows.py knows it:
# this file ends inside a record header (read error after one frame).
RC = {"fuzz-2021-10-13.pcap": 1}

# ---------------------------------------------------------------- ours

class OurFlow:
    def __init__(self, ev):
        self.proto = proto_num(ev.get("proto"))
        self.a = addr_key(ev.get("src_ip"))
        self.b = addr_key(ev.get("dest_ip"))
        self.ap = ev.get("src_port", 0) if self.proto in PORTED else 0
        self.bp = ev.get("dest_port", 0) if self.proto in PORTED else 0
        f = ev.get("flow", {})
        self.pab = f.get("pkts_toserver", 0)
        self.pba = f.get("pkts_toclient", 0)
        self.vlan = (ev.get("vlan") or [0])[-1]
        self.start = parse_ts(f.get("start")) or 0.0
        self.reason = f.get("reason")
        nd = ev.get("ndpi") or {}
        self.name = nd.get("protocol") or "Unknown"
        self.conf = nd.get("confidence") or "none"


# ---------------------------------------------------------------- compare

def why_differs(r, pieces):
    """The facts behind a protocol mismatch, as one line: what each side
    saw and how sure each side was."""
    o = pieces[0]
    got = (o.pab, o.pba) if (o.a, o.ap) == (r.a, r.ap) else (o.pba, o.pab)
    facts = []
    if len(pieces) > 1:
        facts.append("we split it into %d flows (%s), the first is compared" %
                     (len(pieces), ",".join(p.reason or "?" for p in pieces)))
    if got != (r.pab, r.pba):
        facts.append("packets ours %d/%d vs reference %d/%d" % (got[0], got[1], r.pab, r.pba))
    if r.conf != o.conf:
        facts.append("confidence ours '%s' vs reference '%s'" % (o.conf, r.conf))
    if r.tunnel:
        facts.append("reference flow is inside %s" % r.tunnel)
    if not facts:
        facts.append("same packets and confidence: different detection")
    return "; ".join(facts)


def compare(name, ours, ref):
    """Returns (counts, mismatches, explained) for one capture. mismatches
    and explained are lists of text lines."""
    exp = EXPECTED.get(name)
    used = set()
    n = {"ref": len(ref), "match": 0, "unknown": 0, "explained": 0, "mismatch": 0}
    mism, expl = [], []
    for r, cands, same_vlan in pair_flows(ours, ref, used):
        if not cands:
            if exp and exp[1](r):
                n["explained"] += 1
                expl.append("%s [%s]: %s" % (r.text(), r.name, exp[0]))
            else:
                n["mismatch"] += 1
                why = [t for pred, t in KNOWN.get(name, ()) if pred(r)]
                mism.append("%s: reference %s, ours none: no flow with these endpoints (%s)" %
                            (r.text(), r.name, why[0] if why else "no known reason"))
            continue
        # Several flows of ours with the same endpoints and VLAN are pieces
        # of one reference flow cut by our idle timeouts or a TCP close
        # (ndpiReader never ends a flow); nDPI ran on each, compare the first.
        cands.sort(key=lambda o: o.start)
        if not same_vlan:
            cands = cands[:1]
        for o in cands:
            used.add(id(o))
        if cands[0].name == r.name:
            n["match"] += 1
            if r.name == "Unknown":
                n["unknown"] += 1
        else:
            n["mismatch"] += 1
            mism.append("%s: reference %s, ours %s: %s" %
                        (r.text(), r.name, cands[0].name, why_differs(r, cands)))
    return n, mism, expl


def main():
    corpus = lwtest.find_corpus()
    lwtest.find_binary()
    pdir = os.path.join(corpus, "pcaps")
    names = captures(corpus)
    tap = lwtest.Tap()
    table, all_mism, all_expl = [], [], []
    tot = {"ref": 0, "match": 0, "unknown": 0, "explained": 0, "mismatch": 0}
    with lwtest.TempDir("lw-dpi-") as tmp:
        for name in names:
            run = lwtest.run_sensor(os.path.join(pdir, name), os.path.join(tmp, name))
            want = RC.get(name, 0)
            tap.ok(run.rc == want and run.sanitizer_report() is None,
                   "%s: sensor exits %d, no sanitizer report" % (name, want),
                   "rc=%d\n%s" % (run.rc, run.stderr[-2000:]))
            try:
                ours = [OurFlow(e) for e in run.flows]
            except ValueError as e:
                tap.ok(False, "%s: eve.json is JSON lines" % name, str(e))
                ours = []
            refpath = os.path.join(corpus, "reference", name + ".ndpi.txt")
            if not os.path.exists(refpath):
                tap.ok(False, "%s: reference exists" % name, refpath)
                continue
            ref, bad = parse_reference(refpath)
            if bad:
                tap.ok(False, "%s: reference flow lines parsed" % name, "\n".join(bad))
            ref = [r for r in ref if r.complete]
            n, mism, expl = compare(name, ours, ref)
            if name in EXPECTED:
                tap.ok(n["explained"] > 0, "%s: expected difference still happens" % name,
                       "EXPECTED lists: %s" % EXPECTED[name][0])
            for k in tot:
                tot[k] += n[k]
            all_mism += ["%s: %s" % (name, m) for m in mism]
            all_expl += ["%s: %s" % (name, m) for m in expl]
            table.append((name, n["ref"], len(ours), n["match"], n["explained"], n["mismatch"]))

    print("#")
    print("# %-40s %5s %5s %5s %5s %5s" % ("capture", "ref", "ours", "match", "expl", "MISM"))
    for row in table:
        print("# %-40s %5d %5d %5d %5d %5d" % row)
    print("# %-40s %5d %5s %5d %5d %5d" % ("TOTAL", tot["ref"], "", tot["match"],
                                           tot["explained"], tot["mismatch"]))
    print("#")
    print("# EXPECTED (explained, not counted): %d" % len(all_expl))
    for line in all_expl:
        print("#   " + line)
    print("# MISMATCHES: %d" % len(all_mism))
    for line in all_mism:
        print("#   " + line)
    scored = tot["ref"] - tot["explained"]
    ratio = tot["match"] / scored if scored else 1.0
    known = scored - tot["unknown"]
    print("# %d matches are Unknown on both sides; without them: %d of %d (%.4f)" %
          (tot["unknown"], tot["match"] - tot["unknown"], known,
           (tot["match"] - tot["unknown"]) / known if known else 1.0))
    print("#")
    tap.ok(scored > 0 and ratio >= THRESHOLD,
           "protocol matches ndpiReader for %.4f of %d reference flows (%d match, %d mismatch, "
           "%d explained and not scored; threshold %.2f)" %
           (ratio, scored, tot["match"], tot["mismatch"], tot["explained"], THRESHOLD))
    tap.done()


if __name__ == "__main__":
    main()
