#!/usr/bin/python3
"""test_layering.py: the source tree keeps its shape (docs/architecture.md):
no include circle between modules, no call circle between modules or files
besides the decoder's layer recursion (tools/check-layering.py over this
build's libsensor.a), no .c file over 1,500 lines, main.c under 1,000."""
import os
import subprocess
import sys

import lwtest

top = lwtest.srcdir()
archive = os.path.join(lwtest.builddir(), "libsensor.a")
if not os.path.exists(archive):
    lwtest.skip("libsensor.a not built")
tap = lwtest.Tap()
r = subprocess.run([sys.executable, os.path.join(top, "tools", "check-layering.py"), "--objects", archive, top],
                   capture_output=True, text=True)
tap.ok(r.returncode == 0, "no include or call circle besides the decoder's layer recursion", r.stdout + r.stderr)
for line in r.stdout.splitlines():
    print("# " + line)
for d, _, files in [w for sub in ("sensor", "dashboards") for w in os.walk(os.path.join(top, sub))]:
    for f in files:
        if not f.endswith(".c"):
            continue
        p = os.path.join(d, f)
        n = sum(1 for _ in open(p, encoding="utf-8", errors="replace"))
        limit = 1000 if f == "main.c" else 1500
        tap.ok(n < limit if f == "main.c" else n <= limit,
               "%s: %d lines (limit %d)" % (os.path.relpath(p, top), n, limit))
tap.done()
