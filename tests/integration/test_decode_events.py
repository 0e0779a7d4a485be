#!/usr/bin/env python3
"""test_decode_events.py - decoder events in rules: Suricata's IPv6
extension-header and fragment anomalies reach decode-event rules, on the
packets that go through (any rule) and on those the decoder holds or
refuses (pkthdr rules); ipv4/ipv6/icmpv4/icmpv6 header protocols match
their IP version only.

tests/gen/gen_decode_events.py writes the capture, the rules and the alert
count of every rule (near misses included: the IPv4 name of an event on
IPv6, an ICMPv4 type on an ipv6 rule, a clean ICMPv6 packet). For 1 and 2
workers (the second hands held packets over a ring): exit 0, no sanitizer
report, the refused rule reported as file:line with its reason, every
rule's alert count exact, the decoder's event counters, and the summary's
refusals and anomalies on separate lines.
"""

import os
import re

import lwtest


def main():
    t = lwtest.Tap()
    with lwtest.TempDir() as tmp:
        exp = lwtest.generate_cases("gen_decode_events.py", tmp)
        pcap = os.path.join(tmp, "decode-events.pcap")
        rules = os.path.join(tmp, "decode-events.rules")
        for workers in (1, 2):
            run = lwtest.run_sensor(pcap, os.path.join(tmp, "w%d" % workers),
                                    ["-S", rules, "--set", "workers=%d" % workers,
                                     "--set", "outputs.eve-file.types=[alert, stats]"])
            w = "workers=%d: " % workers
            t.ok(run.rc == 0, w + "exit 0", run.stderr[-2000:])
            t.ok(run.sanitizer_report() is None, w + "no sanitizer report", run.sanitizer_report())
            for sid in exp["refused"]:
                want = re.compile(r"decode-events\.rules:%d: unknown decode-event 'ipv6\.no_such_event'" % sid)
                t.ok(want.search(run.stderr) is not None, w + "sid %d refused with file:line and reason" % sid,
                     run.stderr[-1000:])
            got = {}
            for a in run.of_type("alert"):
                sid = str(a["alert"]["signature_id"])
                got[sid] = got.get(sid, 0) + 1
            for sid, n in sorted(exp["alerts"].items(), key=lambda kv: int(kv[0])):
                t.ok(got.get(sid, 0) == n, w + "sid %s: %d alert(s)" % (sid, n), "got %d" % got.get(sid, 0))
            extra = sorted(set(got) - set(exp["alerts"]))
            t.ok(not extra, w + "no alerts of other rules", extra)
            ev = lwtest.dig(run.final_stats(), "decoder.event", {})
            for name, n in sorted(exp["events"].items()):
                t.ok(ev.get(name) == n, w + "decoder.event.%s = %d" % (name, n), ev.get(name))
            inv = re.search(r"^\s*invalid: (\d+)(.*)$", run.stdout, re.M)
            ano = re.search(r"^\s*anomalies: (.*)$", run.stdout, re.M)
            t.ok(inv is not None and inv.group(1) == "4" and "exthdr" not in inv.group(2),
                 w + "summary: 4 invalid, refusal reasons only", inv.group(0) if inv else run.stdout)
            t.ok(ano is not None and "ipv6.exthdr_dupl_fh 1" in ano.group(1) and "defrag" not in ano.group(1),
                 w + "summary: anomalies on their own line", ano.group(0) if ano else run.stdout)
    t.done()


if __name__ == "__main__":
    main()
