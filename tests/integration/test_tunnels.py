#!/usr/bin/env python3
"""test_tunnels.py - the sensor decapsulates every tunnel and link layer of
tests/gen/gen_tunnels.py and reports the inner flows keyed by tunnel id and
VLAN, with exact per-direction packet and byte counts.

For each generated capture: exit 0, no sanitizer report, every expected inner
flow reported exactly once (addresses, ports, proto, tunnel type/id/depth and
outer addresses, VLAN tags, packets and bytes each way), no other flows, and
the case's stats counters (decoder layers, defrag, tunnel.too_deep).
"""

import json
import os
import subprocess
import sys

import lwtest
from lwtest import norm_ip, dig


def gen_captures(tap, outdir):
    py = lwtest.scapy_python()
    if py is None:
        lwtest.skip("no python3 with scapy (apt-get install python3-scapy)")
    gen = os.path.join(lwtest.srcdir(), "tests", "gen", "gen_tunnels.py")
    r = subprocess.run([py, gen, outdir], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        print("Bail out! gen_tunnels.py failed: " + r.stderr.decode("utf-8", "replace"))
        sys.exit(lwtest.HARD_ERROR)
    with open(os.path.join(outdir, "manifest.json")) as f:
        return json.load(f)


def same_tunnel(ev, exp):
    t = ev.get("tunnel")
    if exp is None:
        return not t
    return bool(t) and t.get("type") == exp["type"] and t.get("id", 0) == exp["id"]


def same_vlan(ev, exp):
    v = ev.get("vlan") or None
    return v == exp


def same_tuple(ev, exp):
    if ev.get("proto") != exp["proto"]:
        return False
    if norm_ip(ev.get("src_ip")) != norm_ip(exp["src_ip"]):
        return False
    if norm_ip(ev.get("dest_ip")) != norm_ip(exp["dest_ip"]):
        return False
    return ev.get("src_port") == exp["src_port"] and ev.get("dest_port") == exp["dest_port"]


def loose_match(ev, exp):
    """Same endpoints in either orientation, any tunnel/VLAN."""
    a = {norm_ip(ev.get("src_ip")), norm_ip(ev.get("dest_ip"))}
    return a == {norm_ip(exp["src_ip"]), norm_ip(exp["dest_ip"])}


def describe(ev):
    f = ev.get("flow", {})
    return "%s %s:%s -> %s:%s tunnel=%s vlan=%s pkts=%s/%s bytes=%s/%s" % (
        ev.get("proto"), ev.get("src_ip"), ev.get("src_port"), ev.get("dest_ip"),
        ev.get("dest_port"), json.dumps(ev.get("tunnel")), ev.get("vlan"),
        f.get("pkts_toserver"), f.get("pkts_toclient"),
        f.get("bytes_toserver"), f.get("bytes_toclient"))


def exp_name(exp):
    t = exp["tunnel"]
    tun = " %s/%s" % (t["type"], t["id"]) if t else ""
    vl = " vlan=%s" % exp["vlan"] if exp["vlan"] else ""
    if exp["src_port"] is None:
        return "%s %s -> %s%s%s" % (exp["proto"], exp["src_ip"], exp["dest_ip"], tun, vl)
    return "%s %s:%d -> %s:%d%s%s" % (exp["proto"], exp["src_ip"], exp["src_port"],
                                      exp["dest_ip"], exp["dest_port"], tun, vl)


def matches(ev, exp):
    return same_tuple(ev, exp) and same_tunnel(ev, exp["tunnel"]) and same_vlan(ev, exp["vlan"])


def check_flow(tap, case, exp, flows, siblings, used, todo=None):
    """Checks one expected flow. siblings: how many expected flows of the
    case look the same in a flow event (tenants told apart only by an inner
    tunnel id that EVE does not show); that many events must match. used:
    ids of events already taken by a sibling."""
    name = "%s: %s" % (case, exp_name(exp))
    if not exp["present"]:
        bad = [e for e in flows if loose_match(e, exp)]
        tap.ok(not bad, name + ": not reported (too deep to decode)",
               "\n".join(describe(e) for e in bad), todo=todo)
        return
    hits = [e for e in flows if matches(e, exp)]
    free = [e for e in hits if id(e) not in used]
    if len(hits) != siblings or not free:
        near = [e for e in flows if loose_match(e, exp)]
        tap.ok(False, name + ": reported %s" % ("once" if siblings == 1 else "as %d flows" % siblings),
               "found %d matching flow events; flows with these endpoints:\n%s" %
               (len(hits), "\n".join(describe(e) for e in near) or "(none)"), todo=todo)
        return
    ev = free[0]
    used.add(id(ev))
    f = ev.get("flow", {})
    got = (f.get("pkts_toserver"), f.get("pkts_toclient"))
    want = (exp["pkts_toserver"], exp["pkts_toclient"])
    tap.ok(got == want, name + ": packets %d/%d" % want, "got " + describe(ev), todo=todo)
    if exp["bytes_toserver"] is not None:
        got = (f.get("bytes_toserver"), f.get("bytes_toclient"))
        want = (exp["bytes_toserver"], exp["bytes_toclient"])
        tap.ok(got == want, name + ": bytes %d/%d" % want, "got " + describe(ev), todo=todo)
    t = exp["tunnel"]
    if t:
        et = ev.get("tunnel", {})
        got = (et.get("depth"), norm_ip(et.get("src_ip")), norm_ip(et.get("dest_ip")))
        want = (t["depth"], norm_ip(t["src_ip"]), norm_ip(t["dest_ip"]))
        tap.ok(got == want, name + ": tunnel depth %d outer %s -> %s" % want,
               "got tunnel " + json.dumps(et))
    if exp["proto"] == "TCP":
        tcp = ev.get("tcp", {})
        tap.ok(tcp.get("syn") is True and tcp.get("fin") is True
               and f.get("state") == "closed",
               name + ": TCP handshake and teardown seen (syn, fin, state closed)",
               "got flow.state=%r tcp=%s" % (f.get("state"), json.dumps(tcp)))
    if exp.get("icmp_type") is not None:
        tap.ok(ev.get("icmp_type") == exp["icmp_type"] and "src_port" not in ev,
               name + ": icmp_type %d, no ports" % exp["icmp_type"],
               "got " + json.dumps(ev))


def matches_exp(a, b):
    """Whether two expected flows would look the same in a flow event."""
    keys = ("proto", "src_ip", "src_port", "dest_ip", "dest_port", "vlan")
    if any(a[k] != b[k] for k in keys):
        return False
    ta, tb = a["tunnel"], b["tunnel"]
    if (ta is None) != (tb is None):
        return False
    return ta is None or (ta["type"], ta["id"]) == (tb["type"], tb["id"])


def check_stats(tap, case, checks, stats):
    for path, op, val in checks:
        got = dig(stats, path)
        if op == "==":
            cond = got == val
        else:
            cond = isinstance(got, int) and got >= val
        tap.ok(cond, "%s: stats.%s %s %d" % (case, path, op, val), "got %r" % (got,))


def main():
    lwtest.find_binary()
    tap = lwtest.Tap()
    with lwtest.TempDir("lw-tunnels-") as tmp:
        man = gen_captures(tap, os.path.join(tmp, "pcaps"))
        for case in sorted(man):
            m = man[case]
            tap.note("%s: %s" % (case, m["desc"]))
            run = lwtest.run_sensor(os.path.join(tmp, "pcaps", case),
                                    os.path.join(tmp, "log", case))
            tap.ok(run.rc == 0, "%s: exit 0" % case, "rc=%d\n%s" % (run.rc, run.stderr[-2000:]))
            rep = run.sanitizer_report()
            tap.ok(rep is None, "%s: no sanitizer report" % case, run.stderr[-3000:] if rep else None)
            try:
                flows = run.flows
                stats = run.final_stats()
            except ValueError as e:
                tap.ok(False, "%s: eve.json is valid JSON lines" % case, str(e))
                continue
            tap.ok(stats != {}, "%s: a final stats event" % case)
            want = [e for e in m["flows"] if e["present"]]
            todo = m.get("todo")
            used = set()
            for exp in m["flows"]:
                sib = sum(1 for x in want if x is not exp and matches_exp(x, exp)) + 1
                check_flow(tap, case, exp, flows, sib, used, todo)
            if m["exact_flows"]:
                tap.ok(len(flows) == len(want), "%s: %d flows, no others" % (case, len(want)),
                       "got %d:\n%s" % (len(flows), "\n".join(describe(e) for e in flows)),
                       todo=todo)
            check_stats(tap, case, m["stats"], stats)
            tap.ok(dig(stats, "decoder.pkts") == m["packets"],
                   "%s: stats.decoder.pkts == %d" % (case, m["packets"]),
                   "got %r" % (dig(stats, "decoder.pkts"),))
    tap.done()


if __name__ == "__main__":
    main()
