#!/usr/bin/env python3
"""test_rule_reach.py - every rule that loads can be reached.

`linkwatch -T` compiles the rules and reports each loaded rule that could
never match ("file:line: never matches: why": one the engine put where no
packet or flow is offered it, one classed against what it tests, one whose
tests contradict each other or its protocol, one on a buffer that nobody
fills although its protocol's parser is plugged in) and counts the rules
waiting for an application-layer parser that is not plugged in yet (their
buffers are declared filled by no provider: sensor/detect/detect-buffer.c).
When the parsers are plugged in as providers the waiting ones become either
reachable or errors here, with no change to this test.

1. The shipped rules: none never matches, none waits.
2. Rules written to be unreachable are each reported (near misses of the
   check), and sound rules are not, among them rules on buffers and events
   only the HTTP, TLS and SSH parsers fill; with every parser plugged in
   none waits.
3. With the corpus: all of ET Open - no loaded rule never matches; the
   waiting ones are listed by buffer.
"""

import os
import re
import subprocess

import lwtest

UNREACHABLE = {
    1: 'alert tcp any any -> any any (dsize:<3; content:"abcd"; sid:1;)',
    2: 'alert udp any any -> any any (seq:0; sid:2;)',
    3: 'alert tcp any any -> any any (icmp_id:5; sid:3;)',
    4: 'alert udp any any -> any any (stream_size:client,>,10; sid:4;)',
    5: 'alert dns any any -> any any (dns.query; content:"example.com"; bsize:<5; sid:5;)',
}
SOUND = {
    6: 'alert tcp any any -> any any (dsize:<5; content:"abcd"; sid:6;)',
    7: 'alert dns any any -> any any (dns.query; content:"example.com"; bsize:<20; sid:7;)',
    8: 'alert icmp any any -> any any (icmp_id:5; sid:8;)',
    # buffers only a parser fills (issue 17): filled now, neither waiting nor unreachable
    9: 'alert http any any -> any any (http.request_body; content:"passwd"; sid:9;)',
    10: 'alert http any any -> any any (http.request_header; content:"X-Debug: 1"; sid:10;)',
    11: 'alert tls any any -> any any (tls.certs; content:"|30 82|"; sid:11;)',
    12: 'alert ssh any any -> any any (ssh.hassh.server.string; content:"curve25519"; sid:12;)',
    13: 'alert http any any -> any any (app-layer-event:http.gzip_decompression_failed; sid:13;)',
}


def check(lw, paths, extra=()):
    args = [lw, "-T", "-c", os.path.join(lwtest.srcdir(), "linkwatch.yaml")]
    for p in paths:
        args += ["-S", p]
    out = subprocess.run(args + list(extra), capture_output=True, text=True, timeout=600)
    never = [l for l in out.stdout.splitlines() if ": never matches: " in l]
    m = re.search(r"rules: (\d+) loaded, waiting", out.stdout)
    return out, never, int(m.group(1)) if m else 0


def main():
    t = lwtest.Tap()
    lw = lwtest.find_binary()
    src = lwtest.srcdir()

    out, never, waiting = check(lw, [os.path.join(src, "rules")],
                                ["--set", "rules.classification-file=" + os.path.join(src, "rules", "classification.config")])
    t.ok(out.returncode == 0, "linkwatch -T on the shipped rules exits 0", out.stdout[-2000:] + out.stderr)
    t.ok(not never, "no shipped rule never matches", "\n".join(never))
    t.ok(waiting == 0, "no shipped rule waits for a parser (%d)" % waiting)

    with lwtest.TempDir() as d:
        path = os.path.join(d, "reach.rules")
        with open(path, "w") as fh:
            for rules in (UNREACHABLE, SOUND):
                for text in rules.values():
                    fh.write(text + "\n")
        out, never, waiting = check(lw, [path])
        lines = {int(l.split(":")[1]): l for l in never}
        for sid in UNREACHABLE:
            t.ok(sid in lines, "unreachable rule %d is reported" % sid, out.stdout[-1500:])
        for sid in SOUND:
            t.ok(sid not in lines, "sound rule %d is not reported (near miss)" % sid, lines.get(sid))
        t.ok(waiting == 0 and " waits " not in out.stdout,
             "no rule waits for a parser: HTTP, DNS, TLS and SSH fill their buffers", out.stdout[-1500:])
        t.ok(out.returncode == 1, "-T exits 1 when a loaded rule can never match")

    corpus = os.environ.get("LW_CORPUS") or os.path.join(src, "..", "shared", "corpus")
    et = os.path.join(corpus, "rules-et-open")
    if os.path.isdir(et):
        out, never, waiting = check(lw, [et], ["--set", "rules.classification-file=" + os.path.join(et, "classification.config")])
        m = re.search(r"rules: (\d+) loaded, (\d+) failed", out.stdout)
        t.note(m.group(0) if m else out.stdout[-500:])
        t.ok(not never, "no loaded ET Open rule never matches", "\n".join(never[:20]))
        t.note("waiting for application-layer parsers: %d" % waiting)
        t.note("\n".join(l for l in out.stdout.splitlines() if " waits " in l or " wait " in l))
    else:
        t.note("SKIP ET Open part: no corpus at %s" % corpus)
    t.done()


if __name__ == "__main__":
    main()
