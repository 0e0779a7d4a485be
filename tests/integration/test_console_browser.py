#!/usr/bin/env python3
"""test_console_browser.py - the console page in headless chromium (Debian's
/usr/bin/chromium driven by playwright-core from npm, tests/browser/):
log in, see the alerts of a sensor run on the demo capture, filter by
severity and country, open one with the keyboard, acknowledge it with a
note, reload and still see it acknowledged; at 1366x768 every column of
the alert list shows (the detail pane opens over it and closes with Esc);
the traffic view draws the country map, the alerts-per-bucket chart by
severity and the bytes-per-bucket chart by scope (checked against the
run's own eve.json), and a click on a bucket lists exactly its alerts; the
personal data sent abroad (pii tallies seeded as in test_console_api.py)
shows as a table and a chart, and as an explicit empty state for a sensor
that wrote nothing; the geolocation attribution shows. Screenshots are kept in the build folder
under console-screenshots/. Skipped without chromium, node or npm.
"""

import collections
import json
import os
import shutil
import subprocess
import sys
import time

import lwtest
import lwredis
import lwconsole

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_console_api  # noqa: E402  (its fill() runs the sensor)


COLUMNS = ["time (UTC)", "sev", "signature", "source", "destination", "proto", "application", "country",
           "status"]


def check_layout(tap, out):
    lay = out.get("layout") or {}
    cols = lay.get("columns", [])
    tap.ok([c["name"] for c in cols] == COLUMNS, "the list has every column", [c["name"] for c in cols])
    tap.ok(lay.get("width") == 1366 and cols and all(0 <= c["left"] < c["right"] <= lay["list_right"] <= 1366
                                                     for c in cols),
           "at 1366x768 every column lies within the window", cols)
    tap.ok(cols and not any(c["cut"] for c in cols), "no column header is cut", [c["name"] for c in cols if c["cut"]])
    tap.ok(lay.get("scroll", 1) <= lay.get("client", 0), "the list does not scroll sideways", lay)
    row = lay.get("first_row", [])
    tap.ok(len(row) == len(COLUMNS) and row[6] and row[7], "a row fills destination, application and country", row)
    tap.ok(lay.get("detail_hidden") is True and out.get("detail_open") is True and out.get("detail_closed") is True,
           "the detail pane is closed until an alert is opened, and closes with Esc")


def check_charts(tap, out, alerts):
    ch = out.get("charts") or {}
    ab, bb = ch.get("alerts", []), ch.get("bytes", [])
    tap.ok(len(ab) >= 3 and len(bb) >= 3, "both charts are drawn, a bar per bucket (%d and %d buckets)" % (len(ab), len(bb)))
    # each alerts bucket: parts add up, severities in order, coloured by severity, and match eve.json
    per = collections.Counter()
    for _, e in alerts:
        t = lwredis.eve_epoch(e["timestamp"])
        per[(t - t % 60, str(e["alert"]["severity"]))] += 1
    bad = [b for b in ab if sum(p[1] for p in b["parts"]) != b["total"] or
           any(p[2] != "s" + (p[0] if p[0] in "123" else "4") for p in b["parts"]) or
           any(per[(b["t"], p[0])] != p[1] for p in b["parts"]) or
           [p[0] for p in b["parts"]] != sorted(p[0] for p in b["parts"])]
    tap.ok(ab and not bad, "alerts per bucket by severity: as eve.json counts them, stacked and coloured", bad[:2])
    tap.ok(all(p[3] > 0 for b in ab for p in b["parts"]), "every part of a bar has a height")
    scopes = {p[0] for b in bb for p in b["parts"]}
    tap.ok(bb and scopes and all(p[2] == "sc-" + p[0] for b in bb for p in b["parts"]) and
           all(s in ch.get("bytes_legend", []) for s in scopes),
           "bytes per bucket by scope, with a legend", sorted(scopes))
    c = out.get("clicked")
    rows = out.get("bucket_rows") or []
    want = sum(1 for _, e in alerts if c and c["t"] <= lwredis.eve_epoch(e["timestamp"]) < c["t"] + c["step"])
    tap.ok(c and rows and len(rows) == min(100, want) == min(100, c["total"]) and
           all(time.strftime("%Y-%m-%d %H:%M", time.gmtime(c["t"])) == r[:16] for r in rows),
           "a click on a bucket lists exactly its alerts (%s)" % want, (c, rows[:3], len(rows)))
    tap.ok(out.get("bucket_form") == [str(c["t"]), str(c["t"] + c["step"])] if c else False,
           "and puts its from/to in the filter form", out.get("bucket_form"))


PII_HEAD = ["country", "identity numbers", "bank cards", "mobile numbers", "email addresses", "passports",
            "bodies", "total"]
PII_TYPES = ["cn-id", "bank-card", "cn-mobile", "email", "passport-cn"]


def check_pii(tap, out, want):
    """want: the summary's pii_abroad, what the sensors counted plus the seed."""
    p = out.get("pii") or {}
    tap.ok(p.get("head") == PII_HEAD and p.get("shown") == [True, True, False],
           "personal data sent abroad: a chart and a table with a column per type", p)
    rows = [[r["country"]] + ["%d" % r[k] for k in PII_TYPES + ["bodies", "total"]] for r in want]
    tap.ok(p.get("rows") == rows and {"JP", "US", "GB"} <= {r[0] for r in rows},
           "its table: a row per country, the largest total first", (p.get("rows"), rows))
    bars = p.get("bars", [])
    tap.ok([b["country"] for b in bars] == [r["country"] for r in want[:20]] and
           all(b["total"] == r["total"] for b, r in zip(bars, want)),
           "its chart: a bar per country in the table's order", bars)
    bad = [b for b, r in zip(bars, want) if
           [q[:3] for q in b["parts"]] != [[t, r[t], "pii-" + t] for t in PII_TYPES if r[t]] or
           any(q[3] <= 0 for q in b["parts"])]
    xs = [b["parts"][0][4] for b in bars if b["parts"]]
    tap.ok(bars and not bad and xs == sorted(xs) and all(t in p.get("legend", []) for t in PII_TYPES),
           "each bar stacked by type, coloured, with a legend", bad[:2])
    e = out.get("pii_empty") or {}
    tap.ok(e.get("rows") == 0 and e.get("shown") == [False, False] and "No personal data" in e.get("text", ""),
           "nothing sent abroad: said so, no empty chart or table", e)


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
        # the demo and two copies of it 2.5 and 5.5 minutes later: several buckets to chart
        alerts = test_console_api.fill(tmp, rs, tap, later=(150, 330))
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
            s, before = con.get("/api/summary")
            test_console_api.seed_pii(rs, "all", before)
            pii = test_console_api.add_abroad(before.get("pii_abroad", []), test_console_api.PII_ABROAD)
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
        check_layout(tap, out)
        check_charts(tap, out, alerts)
        check_pii(tap, out, pii)
        tap.ok(not [e for e in out.get("console_errors", []) if "Content Security Policy" in e],
               "no CSP violations", out.get("console_errors"))
        shots_made = sorted(os.listdir(shots))
        tap.ok(len(shots_made) >= 8 and "2-alerts-1366x768.png" in shots_made and "6-traffic.png" in shots_made,
               "screenshots saved in %s" % shots, shots_made)
    tap.done()


if __name__ == "__main__":
    main()
