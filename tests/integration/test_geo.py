#!/usr/bin/env python3
"""test_geo.py - geolocation end to end, on a generated capture with known
cross-border traffic and MMDB files the test builds itself.

1. tests/gen/gen_geo.py writes the capture (IPv4 and IPv6 flows in every
   scope, over two 10 s summary intervals), a country and an ASN database
   spec (built with tests/gen/mkmmdb), geoip rules, and the figures the
   sensor must report (computed from the frames and an independent model).
   `linkwatch -r geo.pcap -S geo.rules --set geoip.databases=[...]`:
   - every flow event's geo block is exactly the expected one (country,
     internal, asn, org, scope);
   - alert counts per geoip rule (src/dst/both/any, negated; IPv4 and IPv6)
     are exact, and alerts carry the flow's geo block;
   - the geo_summary events are exactly the expected rows: per interval and
     (scope, src_country, dest_country): bytes, packets, flows, alerts,
     distinct internal hosts, top endpoints and ASNs (with organisations);
     applications never get more than the row's bytes, and the HTTP flows'
     bytes are credited to HTTP;
   - the stats event counts lookups and cache hits.
2. Without databases: the sensor runs, warns that geolocation is off,
   scopes are internal or external only, and geoip matches internal ends
   (home country) only. A database that cannot be opened is reported by
   -T and stops start-up.
3. With the corpus: the MaxMind test databases (GeoIP2-City-Test,
   GeoLite2-ASN-Test) give city, coordinates (UTF-8 names too), ASN and
   organisation; skipped without the corpus.
"""

import datetime
import json
import os
import subprocess
import sys

import lwtest


def ts_us(text):
    """EVE timestamp -> microseconds since the epoch."""
    d = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")
    return int(round(d.timestamp() * 1e6))


def build_db(tap, mkmmdb, spec, out, dbtype):
    with open(spec) as f:
        r = subprocess.run([mkmmdb, out, dbtype], stdin=f, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
    tap.ok(r.returncode == 0 and os.path.exists(out), "mkmmdb builds %s" % os.path.basename(out),
           r.stdout.decode("utf-8", "replace"))


def sensor_ok(tap, run, what):
    san = run.sanitizer_report()
    tap.ok(run.rc == 0 and san is None, "%s: sensor exits 0, no sanitizer report" % what,
           "rc=%d %s\n%s" % (run.rc, san or "", run.stderr[-2000:]))


def flow_key(e):
    return (lwtest.norm_ip(e["src_ip"]), lwtest.norm_ip(e["dest_ip"]))


def check_flows(tap, run, exp):
    got = {flow_key(e): e for e in run.flows}
    tap.ok(len(run.flows) == len(exp["flows"]), "%d flow events" % len(exp["flows"]),
           "got %d" % len(run.flows))
    bad = []
    for f in exp["flows"]:
        e = got.get((lwtest.norm_ip(f["src_ip"]), lwtest.norm_ip(f["dest_ip"])))
        if e is None:
            bad.append("%s: no flow event" % f["name"])
        elif e.get("geo") != f["geo"]:
            bad.append("%s: geo %s, want %s" % (f["name"], json.dumps(e.get("geo")), json.dumps(f["geo"])))
    tap.ok(not bad, "every flow's geo block: country, internal, asn, org and scope exact (IPv4 and IPv6)",
           "\n".join(bad))
    return got


def check_alerts(tap, run, want, flows, what):
    counts = {}
    bad = []
    for a in run.of_type("alert"):
        sid = str(a["alert"]["signature_id"])
        counts[sid] = counts.get(sid, 0) + 1
        f = flows.get(flow_key(a)) if flows else None
        if flows and (f is None or a.get("geo") != f.get("geo")):
            bad.append("sid %s %s -> %s: geo %s" % (sid, a["src_ip"], a["dest_ip"], json.dumps(a.get("geo"))))
    for sid in sorted(want, key=int):
        tap.ok(counts.get(sid, 0) == want[sid], "%s: geoip rule %s alerts %d time(s)" % (what, sid, want[sid]),
               "got %d" % counts.get(sid, 0))
    if flows:
        tap.ok(not bad, "%s: alerts carry their flow's geo block" % what, "\n".join(bad[:5]))


def row_key(start_us, scope, src, dst):
    return "%d|%s|%s|%s" % (start_us, scope, src or "", dst or "")


def check_summary(tap, run, exp):
    ev = run.of_type("geo_summary")
    rows = {}
    bad = []
    for e in ev:
        g = e["geo_summary"]
        k = row_key(ts_us(g["start"]), g["scope"], g.get("src_country"), g.get("dest_country"))
        if k in rows:
            bad.append("row %s twice" % k)
        rows[k] = g
        if e["timestamp"] != g["end"]:
            bad.append("row %s: timestamp %s is not its end %s" % (k, e["timestamp"], g["end"]))
    tap.ok(not bad and len(ev) == len(exp["rows"]),
           "%d geo_summary events, one per interval and country pair" % len(exp["rows"]),
           "\n".join(bad) + "\ngot %d: %s" % (len(ev), sorted(rows)))
    last_start = max(r["start_us"] for r in exp["rows"])
    for r in exp["rows"]:
        k = row_key(r["start_us"], r["scope"], r["src_country"], r["dest_country"])
        g = rows.get(k)
        name = "summary %s %s %s->%s" % ("interval 1" if r["start_us"] < last_start else "interval 2",
                                          r["scope"], r["src_country"], r["dest_country"])
        if g is None:
            tap.ok(False, name + ": present", "rows: %s" % sorted(rows))
            continue
        got = {x: g.get(x) for x in ("bytes", "packets", "flows", "alerts", "internal_hosts")}
        want = {x: r[x] for x in ("bytes", "packets", "flows", "alerts", "internal_hosts")}
        tap.ok(got == want, name + ": bytes, packets, flows, alerts, internal hosts",
               "got %s\nwant %s" % (got, want))
        eps = [[lwtest.norm_ip(x["ip"]), x["bytes"]] for x in g["top_endpoints"]]
        weps = [[lwtest.norm_ip(ip), b] for ip, b in r["top_endpoints"]]
        asns = [[x["asn"], x.get("org"), x["bytes"]] for x in g["top_asns"]]
        tap.ok(eps == weps and asns == r["top_asns"], name + ": top endpoints and ASNs",
               "got %s %s\nwant %s %s" % (eps, asns, weps, r["top_asns"]))
        cc = {"cross-border-outbound": r["dest_country"], "cross-border-inbound": r["src_country"],
              "transit": r["dest_country"]}.get(r["scope"])
        app_bytes = sum(x["bytes"] for x in g["top_apps"])
        tap.ok(g.get("country") == cc and g["home_country"] == "CN" and
               app_bytes + g["unidentified_bytes"] == g["bytes"],
               name + ": country %s, applications + unidentified = bytes" % cc,
               json.dumps(g))
        if r["start_us"] == last_start:
            tap.ok(ts_us(g["end"]) <= r["start_us"] + exp["interval_us"], name + ": ends at capture end",
                   g["end"])
        else:
            tap.ok(ts_us(g["end"]) == r["start_us"] + exp["interval_us"], name + ": a full interval",
                   g["end"])
    http = {}
    for g in rows.values():
        for x in g["top_apps"]:
            if x["app"] == "HTTP":
                k = "%s|%s|%s" % (g["scope"], g.get("src_country"), g.get("dest_country"))
                http[k] = http.get(k, 0) + x["bytes"]
    tap.ok(http == exp["http_bytes"], "the HTTP flows' bytes are credited to HTTP",
           "got %s want %s" % (http, exp["http_bytes"]))


def main():
    tap = lwtest.Tap()
    lwtest.find_binary()
    src = lwtest.srcdir()
    py = lwtest.scapy_python()
    if py is None:
        lwtest.skip("no python3 with scapy (apt-get install python3-scapy)")
    mkmmdb = os.path.join(lwtest.builddir(), "tests", "gen", "mkmmdb")
    if not os.access(mkmmdb, os.X_OK):
        lwtest.skip("tests/gen/mkmmdb not built (make check builds it)")
    cls = os.path.join(src, "rules", "classification.config")

    with lwtest.TempDir("lwgeo-") as tmp:
        r = subprocess.run([py, os.path.join(src, "tests", "gen", "gen_geo.py"), tmp],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if r.returncode != 0:
            print("Bail out! gen_geo.py failed: " + r.stderr.decode("utf-8", "replace"))
            sys.exit(lwtest.HARD_ERROR)
        with open(os.path.join(tmp, "expected.json")) as f:
            exp = json.load(f)
        country, asn = os.path.join(tmp, "country.mmdb"), os.path.join(tmp, "asn.mmdb")
        build_db(tap, mkmmdb, os.path.join(tmp, "country.spec"), country, "GeoIP2-Country")
        build_db(tap, mkmmdb, os.path.join(tmp, "asn.spec"), asn, "GeoLite2-ASN")
        pcap = os.path.join(tmp, "geo.pcap")
        sets = []
        for s in exp["sets"]:
            sets += ["--set", s]
        base = ["-S", os.path.join(tmp, "geo.rules"), "--set", "rules.classification-file=" + cls] + sets

        # 1. with the two databases
        run = lwtest.run_sensor(pcap, os.path.join(tmp, "out"),
                                extra=base + ["--set", "geoip.databases=[%s, %s]" % (country, asn)])
        sensor_ok(tap, run, "with databases")
        flows = check_flows(tap, run, exp)
        check_alerts(tap, run, exp["alerts"], flows, "with databases")
        check_summary(tap, run, exp)
        g = run.final_stats().get("geo", {})
        tap.ok(g.get("flows") == len(exp["flows"]) and g.get("lookups", 0) > 0 and
               g.get("cache_hits", 0) > 0 and g.get("lookups", 0) + g.get("cache_hits", 0) +
               g.get("internal", 0) == 2 * len(exp["flows"]),
               "stats.geo: every flow geolocated once, both ends; the cache is used", json.dumps(g))

        # 2. without databases
        run = lwtest.run_sensor(pcap, os.path.join(tmp, "out-nodb"), extra=base)
        sensor_ok(tap, run, "without databases")
        tap.ok("geolocation is off" in run.stderr, "without databases: a warning says geolocation is off",
               run.stderr[-1000:])
        scopes = sorted(set(e["geo"]["scope"] for e in run.flows))
        tap.ok(scopes == ["external", "internal"], "without databases: scopes are internal or external",
               scopes)
        bad = [e for e in run.flows
               if any(("country" in e["geo"][k]) != bool(e["geo"][k].get("internal"))
                      for k in ("src", "dest"))]
        tap.ok(not bad and len(run.flows) == len(exp["flows"]),
               "without databases: only internal ends have a country (the home country)",
               json.dumps([e["geo"] for e in bad[:3]]))
        sums = run.of_type("geo_summary")
        tap.ok(sums and all(e["geo_summary"]["scope"] in ("internal", "external") for e in sums) and
               sum(e["geo_summary"]["bytes"] for e in sums) == sum(exp["flow_bytes"].values()),
               "without databases: summaries are internal/external and count every byte")
        check_alerts(tap, run, exp["alerts_nodb"], None, "without databases")

        # A database that cannot be opened: -T says so, and the sensor does not start.
        missing = os.path.join(tmp, "missing.mmdb")
        r = subprocess.run([lwtest.find_binary(), "-T", "-S", os.path.join(tmp, "geo.rules"), "--set",
                            "rules.classification-file=" + cls, "--set", "geoip.databases=[%s]" % missing],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        err = r.stderr.decode("utf-8", "replace")
        tap.ok(r.returncode == 1 and "geoip.databases: %s" % missing in err and "No such file" in err,
               "-T reports a geoip database that cannot be opened", "rc=%d %s" % (r.returncode, err))
        run = lwtest.run_sensor(pcap, os.path.join(tmp, "out-missing"),
                                extra=base + ["--set", "geoip.databases=[%s]" % missing])
        tap.ok(run.rc == 1 and "linkwatch: error: geoip.databases: %s" % missing in run.stderr,
               "the sensor does not start with a geoip database that cannot be opened",
               "rc=%d %s" % (run.rc, run.stderr[-500:]))

        # 3. the corpus MaxMind test databases
        corpus = os.environ.get("LW_CORPUS") or os.path.join(src, "..", "shared", "corpus")
        city = os.path.join(corpus, "mmdb", "GeoIP2-City-Test.mmdb")
        asndb = os.path.join(corpus, "mmdb", "GeoLite2-ASN-Test.mmdb")
        if not (os.path.exists(city) and os.path.exists(asndb)):
            tap.note("corpus MaxMind test databases not found: skipped")
        else:
            cdir = os.path.join(tmp, "corpus")
            r = subprocess.run([py, os.path.join(src, "tests", "gen", "gen_geo.py"), "--corpus", cdir],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            tap.ok(r.returncode == 0, "gen_geo.py --corpus", r.stderr.decode("utf-8", "replace"))
            with open(os.path.join(cdir, "expected_corpus.json")) as f:
                cexp = json.load(f)
            run = lwtest.run_sensor(os.path.join(cdir, "corpus.pcap"), os.path.join(cdir, "out"),
                                    extra=["--set", "geoip.databases=[%s, %s]" % (city, asndb)])
            sensor_ok(tap, run, "corpus databases")
            got = {flow_key(e): e for e in run.flows}
            for c in cexp:
                e = got.get((lwtest.norm_ip(c["src_ip"]), lwtest.norm_ip(c["dest_ip"])), {})
                tap.ok(e.get("geo", {}).get("dest") == c["dest"],
                       "corpus: %s is %s" % (c["dest_ip"], json.dumps(c["dest"], ensure_ascii=False)),
                       json.dumps(e.get("geo"), ensure_ascii=False))
    tap.done()


if __name__ == "__main__":
    main()
