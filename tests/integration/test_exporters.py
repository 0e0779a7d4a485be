#!/usr/bin/env python3
"""test_exporters.py - exporters and metrics.

1. Valid JSON everywhere: the generated junk capture (control characters,
   quotes, invalid UTF-8 in SNI, HTTP and DNS names) and, with the corpus,
   every corpus capture go through eve-file (split by type) and unix-socket
   at once; every line either writes parses as JSON, and both carry the
   same events.
2. Rotation by size keeps every line exactly once across the rotated
   files; only rotate-keep files are kept.
3. Reopen (logrotate): the file is renamed, then `linkwatchctl
   reopen-logs` (and SIGUSR1) make the sensor write a new one; no line is
   lost or duplicated across the two.
4. Syslog: RFC 5424 messages received on a UDP and on a TCP (octet
   counting) socket the test opens on loopback, one per alert, with the
   facility and the severity of the alert's priority.
5. /metrics: scraped after the demo traffic, the counters equal the final
   EVE stats event and the alert events; the exposition passes `promtool
   check metrics` when Debian's prometheus is installed, and a strict
   parser here otherwise.
6. A sink that is away: the unix-socket peer starts late; the alerts the
   sensor produced meanwhile are spooled and delivered, in order, once it
   is there; events other than alerts that failed are counted.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import lwtest
from lwsensor import feed, start_idle, stop_idle

RFC5424 = re.compile(rb"^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\d+) (\S+) - (.*)$", re.S)


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def events_total(summary):
    """Every event the run's summary line counts ("events: alert N, flow N, ...")."""
    m = re.search(r"events: ([^>]*) ->", summary)
    return sum(int(x) for x in re.findall(r"\d+", m.group(1))) if m else -1


def read_lines(path):
    """Every line of a file, each parsed as JSON (raises on one that is not)."""
    out = []
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            try:
                out.append(json.loads(raw.decode("utf-8")))
            except (UnicodeDecodeError, ValueError) as e:
                raise ValueError("%s:%d: not JSON: %s: %r" % (path, n, e, raw[:200]))
    return out


class UnixSink:
    """A unix stream socket listener collecting lines, like a local shipper."""

    def __init__(self, path):
        self.path = path
        self.lines = []
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(path)
        self.srv.listen(4)
        self.srv.settimeout(0.2)
        self.stop = False
        self.t = threading.Thread(target=self.run)
        self.t.start()

    def run(self):
        while not self.stop:
            try:
                c, _ = self.srv.accept()
            except socket.timeout:
                continue
            buf = b""
            c.settimeout(0.2)
            while not self.stop:
                try:
                    d = c.recv(65536)
                except socket.timeout:
                    continue
                if not d:
                    break
                buf += d
                *full, buf = buf.split(b"\n")
                self.lines.extend(full)
            c.close()

    def close(self):
        time.sleep(0.3)
        self.stop = True
        self.t.join(timeout=10)
        self.srv.close()


# ---------------------------------------------------------------- 1. JSON

def json_everywhere(tap, binary, src, tmp, py):
    junk = os.path.join(tmp, "junk.pcap")
    subprocess.run([py, os.path.join(src, "tests", "gen", "gen_junk.py"), junk], check=True)
    inputs = [junk]
    corpus = os.environ.get("LW_CORPUS") or os.path.join(src, "..", "shared", "corpus")
    if os.path.isdir(os.path.join(corpus, "pcaps")):
        inputs.append(os.path.join(corpus, "pcaps"))
    else:
        tap.note("corpus not found: only the generated junk capture")
    sockp = os.path.join(tmp, "ship.sock")
    sink = UnixSink(sockp)
    out = os.path.join(tmp, "out-json")
    argv = [binary, "-c", os.path.join(src, "linkwatch.yaml"), "-l", out,
            "--set", "metrics.enabled=no", "--set", "control.socket=",
            "--set", "outputs.eve-file.split-by-type=yes",
            "--set", "outputs.unix-socket.enabled=yes", "--set", "outputs.unix-socket.path=" + sockp]
    for i in inputs:
        argv += ["-r", i]
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    sink.close()
    err = r.stderr.decode("utf-8", "replace")
    tap.ok("Sanitizer" not in err and "runtime error:" not in err, "json: no sanitizer report", err[-2000:])
    files = sorted(f for f in os.listdir(out) if f.endswith(".json"))
    tap.ok(files == ["eve-alert.json", "eve-flow.json", "eve-reload.json", "eve-stats.json"] or
           set(files) >= {"eve-alert.json", "eve-flow.json", "eve-stats.json"},
           "json: split-by-type writes one file per event type", files)
    bad, n_file = [], 0
    for f in files:
        try:
            ev = read_lines(os.path.join(out, f))
            n_file += len(ev)
            want = f[len("eve-"):-len(".json")]
            if any(e.get("event_type") != want for e in ev):
                bad.append("%s holds other event types" % f)
        except ValueError as e:
            bad.append(str(e))
    n_sock = 0
    for raw in sink.lines:
        try:
            json.loads(raw.decode("utf-8"))
            n_sock += 1
        except (UnicodeDecodeError, ValueError) as e:
            bad.append("unix-socket: %s: %r" % (e, raw[:200]))
    tap.ok(not bad and n_file > 0, "json: all %d eve-file lines and %d unix-socket lines parse" % (n_file, n_sock),
           "\n".join(bad[:5]))
    tap.ok(n_sock == n_file, "json: unix-socket carried the same %d events as the files" % n_file,
           "%d vs %d" % (n_sock, n_file))


# ---------------------------------------------------------------- 2. rotation

def rotation(tap, binary, src, tmp, demo):
    out = os.path.join(tmp, "out-rot")
    r = lwtest.run_sensor(demo, out, ["-c", os.path.join(src, "linkwatch.yaml"), "--set", "metrics.enabled=no",
                                      "--set", "control.socket=", "--set", "outputs.eve-file.rotate-size=64kb",
                                      "--set", "outputs.eve-file.rotate-keep=1000"])
    files = sorted(os.listdir(out))
    rotated = [f for f in files if re.match(r"eve\.json\.\d+$", f)]
    lines = []
    for f in ["eve.json"] + rotated:
        with open(os.path.join(out, f), "rb") as fh:
            lines += fh.read().splitlines()
    sizes_ok = all(os.path.getsize(os.path.join(out, f)) <= 64 * 1024 for f in rotated)
    total = events_total(r.stdout)
    tap.ok(r.rc == 0 and len(rotated) >= 3 and sizes_ok,
           "rotation: %d rotated files, none over 64 KB" % len(rotated), (r.rc, files, r.stderr[-1000:]))
    tap.ok(len(lines) == total and len(set(lines)) == len(lines),
           "rotation: every event exactly once across the files (%d)" % total,
           "%d lines, %d distinct, %d events" % (len(lines), len(set(lines)), total))
    out2 = os.path.join(tmp, "out-rot2")
    lwtest.run_sensor(demo, out2, ["-c", os.path.join(src, "linkwatch.yaml"), "--set", "metrics.enabled=no",
                                   "--set", "control.socket=", "--set", "outputs.eve-file.rotate-size=64kb",
                                   "--set", "outputs.eve-file.rotate-keep=2"])
    tap.ok(sorted(os.listdir(out2)) == ["eve.json", "eve.json.1", "eve.json.2", "spool"],
           "rotation: rotate-keep 2 keeps two rotated files", sorted(os.listdir(out2)))


# ---------------------------------------------------------------- 3. reopen

def reopen(tap, binary, src, tmp, demo, half1, half2):
    s = start_idle(tap, binary, src, tmp, "reopen", None)
    if not s:
        return
    eve = os.path.join(s.logdir, "eve.json")
    feed(s, half1)
    os.rename(eve, eve + ".old")
    rc, text = s.ctl_run("reopen-logs")
    tap.ok(rc == 0 and os.path.exists(eve), "reopen: linkwatchctl reopen-logs starts a new file", text)
    feed(s, half2)
    os.rename(eve, eve + ".old2")
    s.p.send_signal(signal.SIGUSR1)
    for _ in range(100):
        if os.path.exists(eve):
            break
        time.sleep(0.05)
    tap.ok(os.path.exists(eve), "reopen: SIGUSR1 starts a new file")
    tap.ok(stop_idle(s) == 0, "reopen: sensor exits 0", s.err[-1500:])
    lines = []
    for f in (eve + ".old", eve + ".old2", eve):
        if os.path.exists(f):
            with open(f, "rb") as fh:
                lines += fh.read().splitlines()
    total = events_total(s.out)
    tap.ok(len(lines) == total and len(set(lines)) == len(lines),
           "reopen: no line lost or duplicated across the renamed and new files (%d)" % total,
           "%d lines, %d distinct, %d events" % (len(lines), len(set(lines)), total))


# ---------------------------------------------------------------- 4. syslog

def syslog(tap, binary, src, tmp, demo, alerts_expected):
    for proto in ("udp", "tcp"):
        port = free_port(socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM)
        msgs, stop = [], [False]
        if proto == "udp":
            srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            srv.bind(("127.0.0.1", port))
            srv.settimeout(0.2)

            def run():
                while not stop[0]:
                    try:
                        msgs.append(srv.recv(70000))
                    except socket.timeout:
                        pass
        else:
            srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            srv.bind(("127.0.0.1", port))
            srv.listen(2)
            srv.settimeout(0.2)

            def run():
                buf = b""
                conn = None
                while not stop[0]:
                    try:
                        if conn is None:
                            conn, _ = srv.accept()
                            conn.settimeout(0.2)
                        d = conn.recv(65536)
                        if not d:
                            conn = None
                            continue
                        buf += d
                        while True:          # octet counting: "LEN MSG"
                            sp = buf.find(b" ")
                            if sp < 0:
                                break
                            n = int(buf[:sp])
                            if len(buf) < sp + 1 + n:
                                break
                            msgs.append(buf[sp + 1:sp + 1 + n])
                            buf = buf[sp + 1 + n:]
                    except socket.timeout:
                        pass
        t = threading.Thread(target=run)
        t.start()
        out = os.path.join(tmp, "out-syslog-" + proto)
        r = lwtest.run_sensor(demo, out, ["-c", os.path.join(src, "linkwatch.yaml"), "--set", "metrics.enabled=no",
                                          "--set", "control.socket=", "--set", "outputs.syslog.enabled=yes",
                                          "--set", "outputs.syslog.server=127.0.0.1",
                                          "--set", "outputs.syslog.port=%d" % port,
                                          "--set", "outputs.syslog.protocol=" + proto,
                                          "--set", "outputs.syslog.facility=local3"])
        time.sleep(0.5)
        stop[0] = True
        t.join(timeout=5)
        srv.close()
        alerts = [e for e in r.events if e.get("event_type") == "alert"]
        bad = []
        for raw, a in zip(msgs, alerts):
            m = RFC5424.match(raw)
            if not m:
                bad.append("not RFC 5424: %r" % raw[:120])
                continue
            pri = int(m.group(1))
            sev = {1: 2, 2: 3, 3: 4}.get(a["alert"]["severity"], 5)
            body = json.loads(m.group(7))
            if pri != 19 * 8 + sev or m.group(4) != b"linkwatch" or m.group(6) != b"alert" or \
                    body["alert"]["signature_id"] != a["alert"]["signature_id"]:
                bad.append("pri %d sev %d app %r msgid %r sid %s" % (pri, sev, m.group(4), m.group(6),
                                                                   body["alert"]["signature_id"]))
        tap.ok(r.rc == 0 and len(msgs) == len(alerts) == alerts_expected and not bad,
               "syslog %s: one RFC 5424 message per alert (%d), local3 and the alert's severity, in order"
               % (proto, alerts_expected), "%d messages, %d alerts\n%s" % (len(msgs), len(alerts), "\n".join(bad[:5])))


# ---------------------------------------------------------------- 5. metrics

SAMPLE = re.compile(r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?P<labels>[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*"'
                    r'(,[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*")*)\})? (?P<value>-?[0-9.e+-]+|NaN|[+-]Inf)$')


def parse_metrics(text):
    """{(name, labels-string): value}; raises ValueError on anything that is
    not valid text exposition (HELP/TYPE before samples, names, labels)."""
    typed, out = {}, {}
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith("# HELP ") or not line:
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            if kind not in ("counter", "gauge", "histogram", "summary", "untyped") or name in typed:
                raise ValueError("line %d: bad or repeated TYPE: %s" % (n, line))
            typed[name] = kind
            continue
        m = SAMPLE.match(line)
        if not m:
            raise ValueError("line %d: not a sample: %s" % (n, line))
        name = m.group("name")
        if name not in typed:
            raise ValueError("line %d: %s has no TYPE before it" % (n, name))
        if typed[name] == "counter" and not name.endswith("_total"):
            raise ValueError("line %d: counter %s does not end in _total" % (n, name))
        key = (name, m.group("labels") or "")
        if key in out:
            raise ValueError("line %d: repeated sample %s" % (n, line))
        out[key] = float(m.group("value"))
    return out


def metrics(tap, binary, src, tmp, demo):
    port = free_port()
    s = start_idle(tap, binary, src, tmp, "metrics", None,
                   ["--set", "metrics.enabled=yes", "--set", "metrics.listen=127.0.0.1:%d" % port])
    if not s:
        return
    feed(s, demo)
    time.sleep(0.3)
    text = ""
    try:
        text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10).read().decode()
    except OSError as e:
        tap.ok(False, "metrics: scrape", str(e))
    try:
        urllib.request.urlopen("http://127.0.0.1:%d/other" % port, timeout=10)
        notfound = False
    except urllib.error.HTTPError as e:
        notfound = e.code == 404
    tap.ok(notfound, "metrics: other paths are 404")
    tap.ok(stop_idle(s) == 0, "metrics: sensor exits 0", s.err[-1500:])
    try:
        m = parse_metrics(text)
        tap.ok(True, "metrics: the exposition parses (HELP/TYPE, names, labels, _total counters)")
    except ValueError as e:
        tap.ok(False, "metrics: the exposition parses", str(e))
        return
    promtool = shutil.which("promtool")
    if promtool:
        r = subprocess.run([promtool, "check", "metrics"], input=text.encode(), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        tap.ok(r.returncode == 0, "metrics: promtool check metrics passes", r.stdout.decode()[-2000:])
    else:
        tap.ok(True, "metrics: promtool not installed (Debian prometheus) # SKIP")
    ev = lwtest.read_eve(os.path.join(s.logdir, "eve.json"))
    st = [e["stats"] for e in ev if e.get("event_type") == "stats"][-1]
    loaded = [e["reload"]["rules_loaded"] for e in ev if e.get("event_type") == "reload"]
    get = lambda name, labels="": m.get((name, labels))
    checks = [
        ("packets", get("linkwatch_packets_total"), st["capture"]["packets"]),
        ("bytes", get("linkwatch_bytes_total"), st["capture"]["bytes"]),
        ("ethernet", get("linkwatch_decoded_packets_total", 'layer="ethernet"'), st["decoder"]["ethernet"]),
        ("tcp", get("linkwatch_decoded_packets_total", 'layer="tcp"'), st["decoder"]["tcp"]),
        ("invalid", get("linkwatch_invalid_packets_total"), st["decoder"]["invalid"]),
        ("flows created", get("linkwatch_flows_created_total"), st["flow"]["created"]),
        ("rules loaded", get("linkwatch_rules_loaded"), loaded[-1] if loaded else None),
    ]
    alerts = [e for e in ev if e.get("event_type") == "alert"]
    by_sid = {}
    for a in alerts:
        k = 'gid="1",sid="%d",severity="%d"' % (a["alert"]["signature_id"], a["alert"]["severity"])
        by_sid[k] = by_sid.get(k, 0) + 1
    for k, v in by_sid.items():
        checks.append(("alerts " + k, get("linkwatch_alerts_total", k), v))
    checks.append(("alert events", get("linkwatch_events_total", 'type="alert"'), len(alerts)))
    bad = ["%s: metrics %s, EVE %s" % (what, a, b) for what, a, b in checks if a is None or a != b]
    tap.ok(not bad and alerts, "metrics: %d counters equal the EVE stats and alert events" % len(checks),
           "\n".join(bad))


# ---------------------------------------------------------------- 6. sink away

def sink_away(tap, binary, src, tmp, demo):
    sockp = os.path.join(tmp, "shipper-late.sock")
    s = start_idle(tap, binary, src, tmp, "late", None,
                   ["--set", "outputs.unix-socket.enabled=yes", "--set", "outputs.unix-socket.path=" + sockp])
    if not s:
        return
    feed(s, demo)
    time.sleep(0.5)
    sink = UnixSink(sockp)             # the shipper comes up only now
    for _ in range(100):               # the sensor retries once a second
        if sum(1 for l in sink.lines if b'"event_type":"alert"' in l) >= 1:
            break
        time.sleep(0.1)
    time.sleep(1.5)
    rc = stop_idle(s)
    sink.close()
    ev = lwtest.read_eve(os.path.join(s.logdir, "eve.json"))
    want = [json.dumps(e["alert"]["signature_id"]) + e["timestamp"] for e in ev if e.get("event_type") == "alert"]
    got = []
    for raw in sink.lines:
        e = json.loads(raw)
        if e.get("event_type") == "alert":
            got.append(json.dumps(e["alert"]["signature_id"]) + e["timestamp"])
    tap.ok(rc == 0 and want and got == want,
           "sink away: all %d alerts reach the late shipper, in order, from the spool" % len(want),
           "%d delivered of %d" % (len(got), len(want)))


def main():
    tap = lwtest.Tap()
    binary = lwtest.find_binary()
    src = lwtest.srcdir()
    py = lwtest.require_scapy()
    if not os.path.exists(os.path.join(os.path.dirname(binary), "linkwatchctl")):
        lwtest.skip("linkwatchctl not built")
    with lwtest.TempDir("lwexp-") as tmp:
        demo = os.path.join(tmp, "demo.pcap")
        subprocess.run([py, os.path.join(src, "tests", "gen", "gen_demo.py"), demo], check=True,
                       stdout=subprocess.DEVNULL)
        # the demo capture in two halves, for the reopen test
        from lwsensor import pcap_header, read_pcap, records_bytes
        lt, recs = read_pcap(demo)
        half = len(recs) // 2
        h1, h2 = os.path.join(tmp, "h1.pcap"), os.path.join(tmp, "h2.pcap")
        for path, part in ((h1, recs[:half]), (h2, recs[half:])):
            with open(path, "wb") as f:
                f.write(pcap_header(lt) + records_bytes(part, 0))
        base = lwtest.run_sensor(demo, os.path.join(tmp, "out-base"),
                                 ["-c", os.path.join(src, "linkwatch.yaml"), "--set", "metrics.enabled=no",
                                  "--set", "control.socket="])
        n_alerts = len(base.of_type("alert"))

        json_everywhere(tap, binary, src, tmp, py)
        rotation(tap, binary, src, tmp, demo)
        reopen(tap, binary, src, tmp, demo, h1, h2)
        syslog(tap, binary, src, tmp, demo, n_alerts)
        metrics(tap, binary, src, tmp, demo)
        sink_away(tap, binary, src, tmp, demo)
    tap.done()


if __name__ == "__main__":
    main()
