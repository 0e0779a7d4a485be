#!/usr/bin/env python3
"""summarize.py BUILD_DIR...: count test cases from automake's per-test logs.

A cmocka program contributes one pass per '[       OK ]' and one failure per
'[  FAILED  ]' line; a script test one per 'ok N'/'not ok N' line. A test
known failure marked 'not ok N ... # TODO' (TAP: not a failure) counts as a
skip, so the summary still shows that something is not done. A test
whose .trs says FAIL or ERROR but printed no failing case (a crash, a
sanitizer abort) counts one failure; a SKIP with no cases counts one skip.
A build that failed counts one failure. Prints 'tests: N passed, M failed'."""
import glob
import os
import re
import sys

passed = failed = skipped = 0
for d in sys.argv[1:]:
    if os.path.exists(os.path.join(d, ".build-failed")):
        print(f"{d}: build failed")
        failed += 1
        continue
    for trs in sorted(glob.glob(os.path.join(d, "tests", "**", "*.trs"), recursive=True)):
        log = trs[:-4] + ".log"
        result = "ERROR"
        with open(trs, errors="replace") as f:
            for line in f:
                if line.startswith(":test-result:"):
                    result = line.split(":", 2)[2].strip()
        p = fl = s = 0
        if os.path.exists(log):
            with open(log, errors="replace") as f:
                for line in f:
                    if (line.startswith("[  SKIPPED ]") and "test(s)" not in line) or \
                            re.match(r"^ok \d+ .*# SKIP", line) or \
                            re.match(r"^not ok \d+ .*# TODO", line):
                        s += 1
                    elif line.startswith("[       OK ]") or re.match(r"^ok \d+", line):
                        p += 1
                    elif (line.startswith("[  FAILED  ]") and "test(s)" not in line) or \
                            re.match(r"^not ok \d+", line):
                        fl += 1
        if result in ("FAIL", "ERROR", "XPASS") and fl == 0:
            fl = 1
        if result == "SKIP" and p + fl + s == 0:
            s = 1
        if result == "PASS" and p + fl + s == 0:
            p = 1
        passed += p
        failed += fl
        skipped += s
line = f"tests: {passed} passed, {failed} failed"
if skipped:
    line += f", {skipped} skipped"
print(line)
sys.exit(1 if failed else 0)
