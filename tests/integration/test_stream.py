#!/usr/bin/env python3
"""test_stream.py - TCP stream reassembly seen from the outside: payload
rules on TCP match the reassembled stream, exactly once per match.

tests/gen/gen_stream_cases.py writes one capture per case (a pattern split
across 2, 3 and 10 segments; segments out of order; a retransmission with
other data, both ways round; a gap; a stream past stream.depth; sequence
numbers wrapping; a flow picked up mid-stream; the server's direction; the
same split with reassembly off), its rules and the expected alert count per
sid. Each capture runs through
    linkwatch -S stream.rules -r CASE.pcap -l DIR [--set ...]
and the test checks: exit 0 and no sanitizer report; the exact alert count
of every sid; each alert's "stream" field (1: matched on the stream), flow
id and direction; its pcap_cnt (the number of a frame with its time); the counters of the final stats event the case is about
(stream.gaps, stream.overlaps_diff_data, stream.depth_reached, ...); and
the "stream:" line of the run summary.
"""

import json
import os
import re
import time

import lwtest


def frame_times(path):
    """The capture time of each frame of a classic pcap, "%s.%06d" % (sec, usec)."""
    import struct
    with open(path, "rb") as f:
        data = f.read()
    out, off = [], 24
    while off + 16 <= len(data):
        sec, usec, incl, _ = struct.unpack("<IIII", data[off:off + 16])
        out.append((sec, usec))
        off += 16 + incl
    return out


def check_pcap_cnt(tap, name, run, pcap):
    """Every alert names its packet's frame (EVE pcap_cnt, counted from 1,
    as Suricata): a frame of that number exists, with the alert's time."""
    import calendar
    frames = frame_times(pcap)
    bad = []
    for e in run.of_type("alert"):
        n = e.get("pcap_cnt")
        ts = e["timestamp"]
        want = (calendar.timegm(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S")), int(ts[20:26]))
        if not isinstance(n, int) or not 1 <= n <= len(frames) or frames[n - 1] != want:
            bad.append((n, ts))
    tap.ok(not bad, "%s: each alert's pcap_cnt is the number of a frame with its time" % name, bad[:5])


def check_alerts(tap, name, run, m):
    alerts = run.of_type("alert")
    counts = {}
    for e in alerts:
        sid = e.get("alert", {}).get("signature_id")
        counts[sid] = counts.get(sid, 0) + 1
    for sid, want in sorted(m["alerts"].items()):
        got = counts.pop(int(sid), 0)
        tap.ok(got == want, "%s: sid %s alerts %d time(s)" % (name, sid, want), "got %d" % got)
    tap.ok(not counts, "%s: no other alerts" % name, counts)
    bad = [e for e in alerts
           if e.get("stream") != m["stream"] or not e.get("flow_id") or e.get("proto") != "TCP"]
    tap.ok(not bad, "%s: alerts are TCP, have a flow_id and \"stream\": %d" % (name, m["stream"]),
           "\n".join(json.dumps(e)[:400] for e in bad[:3]))
    want_dir = {9100101: "to_server", 9100102: "to_client"}
    wrong_way = [e for e in alerts if e.get("direction") != want_dir.get(e["alert"]["signature_id"])]
    tap.ok(not wrong_way, "%s: each alert is on a packet of its rule's direction" % name,
           "\n".join(json.dumps(e)[:300] for e in wrong_way[:3]))


def check_stats(tap, name, run, m):
    st = run.final_stats()
    for key, want in sorted(m["stats"].items()):
        got = lwtest.dig(st, key)
        ok = got is not None and (got > 0 if want == ">0" else got == want)
        tap.ok(ok, "%s: stats %s %s" % (name, key, want), "got %r" % (got,))
    enabled = "stream.enabled=no" not in m["set"]
    tap.ok((lwtest.dig(st, "stream") is not None) == enabled,
           "%s: stats event %s a stream object" % (name, "has" if enabled else "has no"),
           json.dumps(st.get("stream"))[:300])
    line = re.search(r"^  stream: (\d+) bytes reassembled, (\d+) gaps", run.stdout, re.M)
    tap.ok(bool(line) == enabled, "%s: run summary %s a stream line" % (
        name, "has" if enabled else "has no"), run.stdout)
    if line and enabled:
        tap.ok(int(line.group(1)) == lwtest.dig(st, "stream.reassembled_bytes"),
               "%s: summary and stats agree on reassembled bytes" % name, run.stdout)


def main():
    tap = lwtest.Tap()
    lwtest.find_binary()
    src = lwtest.srcdir()
    with lwtest.TempDir("lwstream-") as tmp:
        cases = os.path.join(tmp, "cases")
        manifest = lwtest.generate_cases("gen_stream_cases.py", cases)
        rules = os.path.join(cases, "stream.rules")
        cls = os.path.join(src, "rules", "classification.config")
        for name in sorted(manifest):
            m = manifest[name]
            extra = ["-S", rules, "--set", "rules.classification-file=" + cls]
            for s in m["set"]:
                extra += ["--set", s]
            run = lwtest.run_sensor(os.path.join(cases, m["pcap"]), os.path.join(tmp, "out-" + name),
                                    extra=extra)
            san = run.sanitizer_report()
            tap.note("%s: %s" % (name, m["what"]))
            if not tap.ok(run.rc == 0 and san is None,
                          "%s: sensor exits 0, no sanitizer report" % name,
                          "rc=%d %s\n%s" % (run.rc, san or "", run.stderr[-2000:])):
                continue
            check_alerts(tap, name, run, m)
            check_pcap_cnt(tap, name, run, os.path.join(cases, m["pcap"]))
            check_stats(tap, name, run, m)
    tap.done()


if __name__ == "__main__":
    main()
