#!/usr/bin/env python3
"""test_unit_security.py - the shipped systemd units' exposure, as
`systemd-analyze security --offline=yes` scores them (issue 20), and the
README's figures for them: the console's unit (no capabilities, its own
user) at most 2.0, the sensor's (root at start for the capture, bounded
capabilities) at most 4.0, and the README says what they score today.
Skipped where systemd-analyze is missing."""

import os
import re
import shutil
import subprocess

import lwtest

LIMITS = {"linkwatch-console.service": 2.0, "linkwatch@.service": 4.0}


def score(path):
    r = subprocess.run(["systemd-analyze", "security", "--offline=yes", path], capture_output=True,
                       text=True, timeout=120)
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout + r.stderr)
    return float(m.group(1)) if m else None, r.stdout[-800:] + r.stderr[-800:]


def main():
    if not shutil.which("systemd-analyze"):
        lwtest.skip("systemd-analyze not installed")
    tap = lwtest.Tap()
    src = lwtest.srcdir()
    readme = open(os.path.join(src, "README.md"), encoding="utf-8").read()
    with lwtest.TempDir("units-") as tmp:
        got = {}
        for unit, limit in LIMITS.items():
            path = os.path.join(tmp, unit.replace("@.", "@eth1."))   # a template is scored as an instance
            shutil.copy(os.path.join(src, "dist", unit), path)
            s, out = score(path)
            got[unit] = s
            tap.ok(s is not None and s <= limit, "%s: exposure %s (at most %.1f)" % (unit, s, limit), out)
        m = re.search(r"`systemd-analyze security --offline=yes`: ([0-9.]+) for the console, ([0-9.]+) for the\s+sensor",
                      readme)
        tap.ok(m and float(m.group(1)) == got["linkwatch-console.service"]
               and float(m.group(2)) == got["linkwatch@.service"],
               "README's figures are today's (console %s, sensor %s)" % (got["linkwatch-console.service"],
                                                                     got["linkwatch@.service"]),
               m.groups() if m else "no figures in README")
    tap.done()


if __name__ == "__main__":
    main()
