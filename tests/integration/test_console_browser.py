#!/usr/bin/env python3
"""test_console_browser.py - the console page in headless chromium (Debian's
/usr/bin/chromium driven by playwright-core from npm, tests/browser/):
log in, see the alerts of a sensor run on the demo capture, filter by
severity and country, open one with the keyboard, acknowledge it with a
note, reload and still see it acknowledged; the traffic view draws the
country map and shows the geolocation attribution. Screenshots are kept
in the build folder under console-screenshots/. Skipped without chromium,
node or npm.
"""

import json
import os
import shutil
import subprocess
import sys

import lwtest
import lwredis
import lwconsole

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_console_api  # noqa: E402  (its fill() runs the sensor)


def main():
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not os.path.exists(chromium):
        lwtest.skip("chromium not installed (apt-get install chromium)")
    if not shutil.which("node") or not shutil.which("npm"):
        lwtest.skip("node/npm not installed")
    if not lwredis.available():
        lwtest.skip("redis-server not installed")
    lwtest.require_scapy()
    tap = lwtest.Tap()
    build = lwtest.builddir()
    nodedir = os.path.join(build, "browser-node")
    os.makedirs(nodedir, exist_ok=True)
    for f in ("package.json", "package-lock.json", "console.js"):
        shutil.copy(os.path.join(lwtest.srcdir(), "tests", "browser", f), nodedir)
    if not os.path.exists(os.path.join(nodedir, "node_modules", "playwright-core")):
        r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=nodedir,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
        if r.returncode != 0:
            lwtest.skip("npm ci failed (no registry?): " + r.stdout.decode()[-300:])
    shots = os.path.join(build, "console-screenshots")
    shutil.rmtree(shots, ignore_errors=True)
    os.makedirs(shots)
    with lwtest.TempDir("console-browser") as tmp, lwredis.RedisServer(tmp) as rs:
        alerts = test_console_api.fill(tmp, rs, tap)
        sev1 = [e for s, e in alerts if s == "demo" and e["alert"]["severity"] == 1]
        countries = {}
        for e in sev1:
            for end in ("src", "dest"):
                c = e.get("geo", {}).get(end, {}).get("country")
                if c and c != "CN":
                    countries[c] = countries.get(c, 0) + 1
        country = max(countries, key=countries.get) if countries else "CN"
        want = sum(1 for s, e in alerts if e["alert"]["severity"] == 1 and
                   country in (e.get("geo", {}).get("src", {}).get("country"),
                               e.get("geo", {}).get("dest", {}).get("country")))
        con = lwconsole.Console(tmp, rs.port)
        con.add_user()
        con.start()
        try:
            r = subprocess.run(["node", os.path.join(nodedir, "console.js"), con.url("/"),
                                lwconsole.USER, lwconsole.PASSWORD, shots, country],
                               cwd=nodedir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=180)
        finally:
            con.stop()
        try:
            out = json.loads(r.stdout.decode().strip().splitlines()[-1])
        except (ValueError, IndexError):
            out = {"error": "no result: " + r.stderr.decode()[-1500:]}
        tap.note("result: " + json.dumps(out)[:1500])
        tap.ok("error" not in out, "the browser script ran to the end", out.get("error"))
        tap.ok(out.get("rows") == min(100, len(alerts)), "after login the page lists the run's alerts",
               out.get("rows"))
        f = out.get("filtered", [])
        tap.ok(len(f) == want and all(s == "1" and country in c for s, c in f),
               "filter severity 1 and country %s: %d rows" % (country, want), f)
        tap.ok(out.get("signature"), "the detail pane opens with Enter")
        ar = out.get("after_reload", [])
        tap.ok(len(ar) == 1 and ar[0][1] == "acknowledged" and ar[0][0] == out.get("signature"),
               "after a reload the alert is still acknowledged", ar)
        tap.ok("called the owner" in (out.get("history") or "") and lwconsole.USER in (out.get("history") or ""),
               "its note and who wrote it are shown", out.get("history"))
        tap.ok((out.get("map_bubbles") or 0) > 0, "the traffic view draws country bubbles on the map")
        tap.ok("ip-location-db" in (out.get("attribution") or ""), "geolocation attribution shown")
        tap.ok(not [e for e in out.get("console_errors", []) if "Content Security Policy" in e],
               "no CSP violations", out.get("console_errors"))
        shots_made = sorted(os.listdir(shots))
        tap.ok(len(shots_made) >= 5, "screenshots saved in %s" % shots, shots_made)
    tap.done()


if __name__ == "__main__":
    main()
