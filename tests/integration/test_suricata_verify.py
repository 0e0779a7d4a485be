#!/usr/bin/env python3
"""test_suricata_verify.py - linkwatch scored on Suricata's own regression
tests (../shared/suricata-verify: its README, tools/sv_select.py and
tools/sv_run.py).

The qualifying tests (sv_select.py --ignore-nonalert-checks: rules with the
keywords of issues 17 and 18, IDS on a capture, alert checks) are run
through tests/lib/sv_sensor.py (linkwatch with each test's rule variables
and suricata-verify's classification.config), in $LW_SV_JOBS (6) parts side
by side: a run spends most of its second waiting, not computing.
The passes are counted separately for the http-evader-* family and for the
others, and the test fails when either count drops below the number kept
in tests/integration/sv-baseline.json: raise those numbers as the counts
grow, so that a regression is caught. The failing tests are listed.

SKIP when ../shared/suricata-verify (or $LW_SV_DIR) is absent.
"""

import json
import os
import subprocess
import sys

import lwtest


def families(names):
    ev = [n for n in names if n.startswith("http-evader")]
    return ev, [n for n in names if not n.startswith("http-evader")]


def main():
    t = lwtest.Tap()
    lw = lwtest.find_binary()
    src = lwtest.srcdir()
    sv = os.environ.get("LW_SV_DIR") or os.path.join(src, "..", "shared", "suricata-verify")
    if not os.path.isdir(os.path.join(sv, "tests")):
        lwtest.skip("no suricata-verify at %s" % sv)
    with open(os.path.join(src, "tests", "integration", "sv-baseline.json")) as fh:
        base = json.load(fh)
    tools = os.path.join(sv, "tools")
    with lwtest.TempDir() as d:
        tsv = os.path.join(d, "sv.tsv")
        sel = subprocess.run([sys.executable, os.path.join(tools, "sv_select.py"), "--sv-dir", sv,
                              "--ignore-nonalert-checks", "--out", tsv], capture_output=True, text=True)
        t.ok(sel.returncode == 0, "sv_select.py runs", sel.stderr[-2000:])
        with open(tsv) as fh:
            names = [l.split("\t")[0] for l in fh if l.strip() and not l.startswith("test\t")]
        t.note("%d qualifying tests" % len(names))
        cmd = "%s %s %s %s {vars} {classification} {pcap} {rules} {outdir} {config}" % (
            sys.executable, os.path.join(src, "tests", "lib", "sv_sensor.py"), lw,
            os.path.join(src, "linkwatch.yaml"))
        procs = []
        jobs = max(1, int(os.environ.get("LW_SV_JOBS", "6")))
        for half in (names[k::jobs] for k in range(jobs)):
            part = os.path.join(d, "part%d.tsv" % len(procs))
            with open(part, "w") as fh:
                fh.write("".join(n + "\n" for n in half))
            procs.append(subprocess.Popen([sys.executable, os.path.join(tools, "sv_run.py"), "--sv-dir", sv,
                                           "--select-file", part, "--ignore-nonalert-checks",
                                           "--sensor-cmd", cmd], stdout=subprocess.PIPE,
                                          stderr=subprocess.STDOUT, text=True))
        result = {}
        for p in procs:
            out, _ = p.communicate()
            for line in out.splitlines():
                f = line.split()
                if len(f) >= 2 and f[1] in ("PASS", "FAIL", "SKIP") and f[0] in names:
                    result[f[0]] = (f[1], line)
        t.ok(len(result) == len(names), "every qualifying test ran (%d of %d)" % (len(result), len(names)))
        ev, other = families(names)
        for fam, members, key in (("http-evader", ev, "http-evader"), ("others", other, "other")):
            passed = sum(1 for n in members if result.get(n, ("",))[0] == "PASS")
            print("# sv %s: %d passed, %d failed (baseline %d)" % (fam, passed, len(members) - passed, base[key]))
            t.ok(passed >= base[key], "%s: %d of %d pass, not below the baseline %d" %
                 (fam, passed, len(members), base[key]))
        for n in names:
            if result.get(n, ("FAIL",))[0] != "PASS":
                t.note("FAIL " + result.get(n, ("", n + " did not run"))[1])
    t.done()


if __name__ == "__main__":
    main()
