#!/usr/bin/env python3
"""test_valgrind.py - valgrind memcheck on whole sensor runs: no invalid
read or write, no use of uninitialised memory, no definite leak.

1. The demo capture (tests/gen/gen_demo.py) with the shipped rules, the
   control socket and /metrics on: the README's first command.
2. Every capture of the corpus (when present) with its MaxMind test
   databases: every link type, tunnel and protocol the corpus has, geo on.
   (One corpus file is cut short on purpose: exit 1 is expected there.)

valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite.
Skipped without valgrind, or when the binary is built with ASan (the two
cannot run together).
"""

import os
import re
import shutil
import subprocess

import lwtest
from lwsensor import make_demo

VG = ["valgrind", "--error-exitcode=99", "--leak-check=full", "--errors-for-leak-kinds=definite",
      "--show-leak-kinds=definite", "--num-callers=30"]


def memcheck(tap, what, argv, ok_rcs, timeout=900):
    try:
        r = subprocess.run(VG + argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        rc, err = r.returncode, r.stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        rc, err = -9, "(timed out after %d s)" % timeout
    m = re.search(r"ERROR SUMMARY: (\d+) errors", err)
    errors = int(m.group(1)) if m else -1
    definite = re.search(r"definitely lost: ([\d,]+) bytes", err)
    lost = int(definite.group(1).replace(",", "")) if definite else 0
    tap.ok(rc in ok_rcs and errors == 0 and lost == 0,
           "%s: memcheck 0 errors, 0 bytes definitely lost (exit %d)" % (what, rc),
           "\n".join([l for l in err.splitlines() if l.startswith("==")][-60:]))
    return err


def main():
    tap = lwtest.Tap()
    binary = lwtest.find_binary()
    src = lwtest.srcdir()
    if not shutil.which("valgrind"):
        lwtest.skip("valgrind not installed (apt-get install valgrind)")
    with open(binary, "rb") as f:
        if b"__asan_init" in f.read():
            lwtest.skip("ASan build: valgrind cannot run it")
    py = lwtest.require_scapy()
    yaml = os.path.join(src, "linkwatch.yaml")
    with lwtest.TempDir("lwvalgrind-") as tmp:
        demo = os.path.join(tmp, "demo.pcap")
        make_demo(py, demo)
        memcheck(tap, "demo capture, shipped rules, control socket and /metrics",
                 [binary, "-c", yaml, "-r", demo, "-l", os.path.join(tmp, "out-demo"),
                  "--set", "control.socket=" + os.path.join(tmp, "ctl.sock"),
                  "--set", "metrics.enabled=yes", "--set", "metrics.listen=127.0.0.1:%d" % (20000 + os.getpid() % 20000)],
                 (0,))
        corpus = os.environ.get("LW_CORPUS") or os.path.join(src, "..", "shared", "corpus")
        pcaps = os.path.join(corpus, "pcaps")
        if not os.path.isdir(pcaps):
            tap.ok(True, "corpus: not found # SKIP")
        else:
            dbs = [os.path.join(corpus, "mmdb", n) for n in ("GeoIP2-City-Test.mmdb", "GeoLite2-ASN-Test.mmdb")]
            dbs = [d for d in dbs if os.path.exists(d)]
            memcheck(tap, "every corpus capture, geolocation on",
                     [binary, "-c", yaml, "-r", pcaps, "-l", os.path.join(tmp, "out-corpus"),
                      "--set", "control.socket=", "--set", "metrics.enabled=no",
                      "--set", "geoip.databases=[%s]" % ", ".join(dbs)],
                     (0, 1))
    tap.done()


if __name__ == "__main__":
    main()
