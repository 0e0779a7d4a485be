#!/usr/bin/env python3
"""test_faults.py - the disk under eve.json fills up.

The log folder is a 64 KB tmpfs this test mounts (and unmounts); the alert
spool (outputs.spool-dir) is on the ordinary disk. The demo capture is fed
to a running sensor:
  - no crash, exit 0;
  - /metrics counts the events that did not reach the disk as failed and
    the alerts as spooled;
  - eve.json holds only whole, valid JSON lines (a write cut short by the
    full disk is cut back to the last whole event);
  - no alert is lost: the alerts in eve.json plus those in the spool are
    all the alerts of a run with room, and a restart with room delivers
    the spooled ones first.
(Needs root to mount; skipped otherwise.) Other faults have their own
tests: a rule file removed during a reload (test_reload.py), a
configuration value of every wrong type (test_config_errors.sh).
"""

import os
import re
import subprocess
import urllib.request

import lwtest
from lwsensor import feed, idle_sensor, make_demo, pcap_header, read_pcap, stop_idle


def metric(text, name, **labels):
    want = ",".join('%s="%s"' % kv for kv in sorted(labels.items()))
    for line in text.splitlines():
        m = re.match(r'^%s\{([^}]*)\} (\S+)$' % re.escape(name), line)
        if m and ",".join(sorted(m.group(1).split(","))) == want:
            return float(m.group(2))
    return None


def alerts(events):
    return sorted((e["alert"]["signature_id"], e.get("src_ip"), e.get("src_port", 0), e.get("dest_ip"),
                   e.get("dest_port", 0), e["timestamp"]) for e in events if e.get("event_type") == "alert")


def main():
    tap = lwtest.Tap()
    binary = lwtest.find_binary()
    src = lwtest.srcdir()
    py = lwtest.require_scapy()
    if os.geteuid() != 0:
        lwtest.skip("needs root to mount a tmpfs")
    with lwtest.TempDir("lwfaults-") as tmp:
        demo = os.path.join(tmp, "demo.pcap")
        make_demo(py, demo)
        yaml = os.path.join(src, "linkwatch.yaml")
        base = lwtest.run_sensor(demo, os.path.join(tmp, "out-room"),
                                 ["-c", yaml, "--set", "metrics.enabled=no", "--set", "control.socket="])
        want = alerts(base.events)
        tap.ok(base.rc == 0 and len(want) > 0, "a run with room: %d alerts" % len(want))

        full = os.path.join(tmp, "full")
        spool = os.path.join(tmp, "spool")
        os.mkdir(full)
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", full]).returncode != 0:
            lwtest.skip("cannot mount a tmpfs")
        try:
            port = 20000 + os.getpid() % 20000
            s = idle_sensor(binary, src, tmp, "full", None,
                            ["--set", "outputs.spool-dir=" + spool, "--set", "metrics.enabled=yes", "--set", "stats.interval=1",
                             "--set", "metrics.listen=127.0.0.1:%d" % port, "-l", full])
            if not tap.ok(s.wait_socket(), "disk full: sensor up", s.err):
                stop_idle(s)
                raise SystemExit(tap.done())
            got = feed(s, demo)
            rc, _ = s.ctl_run("reopen-logs")       # also flushes what is buffered
            try:
                text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10).read().decode()
            except OSError as e:
                text = "unreachable: %s" % e
            failed = metric(text, "linkwatch_exporter_events_total", exporter="eve-file", result="failed")
            spooled = metric(text, "linkwatch_exporter_alerts_spooled_total", exporter="eve-file")
            npk = len(read_pcap(demo)[1])
            tap.ok(got >= npk, "disk full: all %d packets processed" % npk, "%d read" % got)
            tap.ok(failed and failed > 0, "disk full: /metrics counts %s events as failed" % failed,
                   text[-2000:])
            tap.ok(spooled and spooled > 0, "disk full: /metrics counts %s alerts spooled" % spooled)
            code = stop_idle(s)
            tap.ok(code == 0 and not any(m in s.err for m in lwtest.SANITIZER_MARKS),
                   "disk full: no crash, exit 0", s.err[-2000:])
            try:
                ev = lwtest.read_eve(os.path.join(full, "eve.json"))
                valid = True
            except ValueError as e:
                ev, valid = [], str(e)
            tap.ok(valid is True and len(ev) > 0,
                   "disk full: eve.json holds %d whole events, every line valid JSON" % len(ev), valid)
            in_file = alerts(ev)
        finally:
            subprocess.run(["umount", full])

        # Room again: an empty capture; the spooled alerts are delivered first.
        empty = os.path.join(tmp, "empty.pcap")
        with open(empty, "wb") as f:
            f.write(pcap_header(1))
        again = lwtest.run_sensor(empty, os.path.join(tmp, "out-again"),
                                  ["-c", yaml, "--set", "outputs.spool-dir=" + spool,
                                   "--set", "metrics.enabled=no", "--set", "control.socket="])
        replayed = alerts(again.events)
        tap.ok(again.rc == 0 and len(replayed) > 0 and again.events[0].get("event_type") in ("alert", "reload"),
               "restart with room: the %d spooled alerts are delivered" % len(replayed), again.stderr[-1000:])
        tap.ok(sorted(in_file + replayed) == want,
               "no alert lost: %d in the full file + %d from the spool = the %d of the run with room"
               % (len(in_file), len(replayed), len(want)),
               "missing %s" % sorted(set(want) - set(in_file + replayed))[:3])
    tap.done()


if __name__ == "__main__":
    main()
