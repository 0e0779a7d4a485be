#!/usr/bin/env python3
"""test_eve_schema.py - 0 conflicts with Suricata's EVE schema
(../shared/suricata/eve-schema.json, python3-jsonschema, additionalProperties
ignored: our own blocks are allowed, a field Suricata types otherwise or a
required one missing is not) in every event the sensor writes for:

  - the demo capture (tests/gen/gen_demo.py), with the shipped config and rules;
  - every corpus capture (../shared/corpus/pcaps; SKIP when absent), the same;
  - the application-layer cases (tests/gen/gen_app_cases.py), the same.

Each conflict found is listed with the capture, the event type, the path in
the event and the schema's message, and one offending event. SKIP as a
whole when the schema or jsonschema is missing.
"""

import collections
import glob
import json
import os
import subprocess
import sys

import lwtest

sys.path.insert(0, os.path.join(lwtest.srcdir(), "tests", "lib"))
import eveschema  # noqa: E402


# Captures the sensor does not read to the end, with the exit status that says so.
EXIT = {"fuzz-2021-10-13.pcap": (1, "the file ends inside a record header (test_corpus_flows.py)")}


def check_run(tap, schema, label, pcap, tmp, yaml, totals):
    out = os.path.join(tmp, "out-" + label.replace("/", "-"))
    run = lwtest.run_sensor(pcap, out, extra=["-c", yaml, "--set", "metrics.enabled=no",
                                              "--set", "control.socket=" + os.path.join(tmp, "ctl.sock")])
    san = run.sanitizer_report()
    rc = EXIT.get(os.path.basename(pcap), (0,))[0]
    if not tap.ok(run.rc == rc and san is None, "%s: sensor exits %d, no sanitizer report" % (label, rc),
                  "rc=%d %s\n%s" % (run.rc, san or "", run.stderr[-1500:])):
        return
    found = collections.OrderedDict()
    for e in run.events:
        t = e.get("event_type")
        totals[t] += 1
        for path, msg in schema.conflicts(e):
            k = (t, path, msg)
            if k not in found:
                found[k] = [0, json.dumps(e)[:400]]
            found[k][0] += 1
    tap.ok(not found, "%s: %d events, 0 schema conflicts" % (label, len(run.events)),
           "\n".join("%s event, %s: %s (%d event(s)), e.g. %s" % (t, p, msg, n, ex)
                     for (t, p, msg), (n, ex) in found.items()))
    return found


def main():
    tap = lwtest.Tap()
    lwtest.find_binary()
    schema, why = eveschema.load()
    if schema is None:
        lwtest.skip(why)
    py = lwtest.require_scapy()
    src = lwtest.srcdir()
    yaml = os.path.join(src, "linkwatch.yaml")
    totals = collections.Counter()
    with lwtest.TempDir("lwschema-") as tmp:
        demo = os.path.join(tmp, "demo.pcap")
        r = subprocess.run([py, os.path.join(src, "tests", "gen", "gen_demo.py"), demo],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if tap.ok(r.returncode == 0, "gen_demo.py writes the demo capture", r.stderr.decode()[-500:]):
            check_run(tap, schema, "demo", demo, tmp, yaml, totals)
        cases = os.path.join(tmp, "cases")
        manifest = lwtest.generate_cases("gen_app_cases.py", cases)
        for name in sorted(manifest):
            check_run(tap, schema, "case/" + name, os.path.join(cases, manifest[name]["pcap"]), tmp, yaml, totals)
        corpus = os.environ.get("LW_CORPUS") or os.path.join(src, "..", "shared", "corpus")
        pcaps = sorted(glob.glob(os.path.join(corpus, "pcaps", "*.pcap")) +
                       glob.glob(os.path.join(corpus, "pcaps", "*.pcapng")))
        if not pcaps:
            tap.ok(True, "corpus captures # SKIP corpus not found")
        for pcap in pcaps:
            check_run(tap, schema, "corpus/" + os.path.basename(pcap), pcap, tmp, yaml, totals)
    tap.note("events checked, by type: %s" % ", ".join("%s %d" % kv for kv in sorted(totals.items())))
    for t in ("http", "dns", "tls", "ssh", "fileinfo", "flow", "alert", "stats"):
        tap.ok(totals[t] > 0, "some %s events were checked" % t, dict(totals))
    tap.done()


if __name__ == "__main__":
    main()
