#!/usr/bin/env python3
"""test_xff.py - outputs.xff: the client behind a proxy in HTTP alerts, as
Suricata's eve-log xff option.

tests/gen/gen_xff.py writes five HTTP sessions (two X-Forwarded-For entries;
no header; an entry that is no address; a lower-case header name with ports
and a bracketed IPv6 address; X-Real-IP) and three rules: a request-side
transaction rule (sid 1), a response-side one (sid 2) and a packet rule that
matches the response's first segment while its transaction is open (sid 3).
Every rule alerts once per session in every mode. Checked, per alert:
  off (the default)          no alert.xff, the packet's addresses
  extra-data, reverse        alert.xff = the last entry; addresses unchanged
  overwrite, forward         the first entry replaces the client's address:
                             src_ip of sid 1, dest_ip of sids 2 and 3; no
                             alert.xff; 2 workers
  extra-data, X-Real-IP      only the session with that header has alert.xff
Sessions whose chosen entry is no address, or that have no header, are the
near misses: nothing changes. A bad mode stops start-up naming the key.
"""

import os
import subprocess

import lwtest


MODES = [
    ("off", [], None, None),
    ("extra-data reverse", ["outputs.xff.enabled=yes", "outputs.xff.mode=extra-data",
                            "outputs.xff.deployment=reverse"], "extra", "reverse"),
    ("overwrite forward", ["outputs.xff.enabled=yes", "outputs.xff.mode=overwrite",
                           "outputs.xff.deployment=forward", "workers=2"], "overwrite", "forward"),
    ("extra-data X-Real-IP", ["outputs.xff.enabled=yes", "outputs.xff.deployment=forward",
                              "outputs.xff.header=X-Real-IP"], "extra", "real_ip"),
]


def main():
    t = lwtest.Tap()
    with lwtest.TempDir() as tmp:
        exp = lwtest.generate_cases("gen_xff.py", tmp)
        pcap = os.path.join(tmp, "xff.pcap")
        rules = os.path.join(tmp, "xff.rules")
        sessions = {s["client"]: s for s in exp["sessions"]}
        for name, sets, mode, pick in MODES:
            args = ["-S", rules, "--set", "outputs.eve-file.types=[alert]"]
            for kv in sets:
                args += ["--set", kv]
            run = lwtest.run_sensor(pcap, os.path.join(tmp, name.replace(" ", "-")), args)
            t.ok(run.rc == 0, name + ": exit 0", run.stderr[-2000:])
            t.ok(run.sanitizer_report() is None, name + ": no sanitizer report", run.sanitizer_report())
            seen = {}
            for a in run.of_type("alert"):
                sid = str(a["alert"]["signature_id"])
                client = a["flow"]["src_ip"]
                s = sessions.get(client)
                key = (client, sid)
                seen[key] = seen.get(key, 0) + 1
                if s is None:
                    t.ok(False, name + ": alert of a known session", a)
                    continue
                want = s.get(pick) if pick else None
                server_side = sid == "1"
                orig_src, orig_dst = (client, "192.0.2.80") if server_side else ("192.0.2.80", client)
                if mode == "overwrite" and want:
                    w_src, w_dst = (want, orig_dst) if server_side else (orig_src, want)
                else:
                    w_src, w_dst = orig_src, orig_dst
                w_xff = want if mode == "extra" else None
                got = (a["src_ip"], a["dest_ip"], a["alert"].get("xff"))
                t.ok(got == (w_src, w_dst, w_xff),
                     "%s: sid %s, %s (%s): src %s dest %s xff %s" % (name, sid, client, s["what"], w_src, w_dst, w_xff),
                     got)
            for client in sessions:
                for sid, n in exp["alerts_per_session"].items():
                    t.ok(seen.get((client, sid), 0) == n, "%s: sid %s alerts %d time(s) for %s" % (name, sid, n, client),
                         seen.get((client, sid), 0))
        bad = subprocess.run([lwtest.find_binary(), "-T", "-c", os.path.join(lwtest.srcdir(), "linkwatch.yaml"),
                              "--set", "outputs.xff.mode=rewrite"], capture_output=True, text=True)
        t.ok(bad.returncode != 0 and "outputs.xff.mode" in bad.stderr and "overwrite" in bad.stderr,
             "a bad outputs.xff.mode stops start-up with the key and the choices", bad.stderr)
    t.done()


if __name__ == "__main__":
    main()
