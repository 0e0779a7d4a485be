#!/usr/bin/env python3
"""test_keyword_list.py - rules/README.md's keyword reference is what the
loader accepts: the table between "<!-- keyword list begin -->" and
"<!-- keyword list end -->" equals `linkwatch --list-keywords` line for line
(both come from the keyword table and the buffer table), every keyword of it
has an example that parses (the digest lists of filemd5 & co. are made
empty beside it), and a name not in it is refused."""

import os
import subprocess

import lwtest


def readme_table(path):
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    begin, end = "<!-- keyword list begin -->\n", "<!-- keyword list end -->"
    if begin not in text or end not in text:
        return None
    return text.split(begin, 1)[1].split(end, 1)[0]


def main():
    t = lwtest.Tap()
    lw = lwtest.find_binary()
    listed = subprocess.run([lw, "--list-keywords"], capture_output=True, text=True, timeout=60)
    t.ok(listed.returncode == 0, "linkwatch --list-keywords exits 0", listed.stderr)
    table = readme_table(os.path.join(lwtest.srcdir(), "rules", "README.md"))
    t.ok(table is not None, "rules/README.md has the keyword list markers")
    if table is not None:
        want, have = listed.stdout.splitlines(), table.splitlines()
        diff = [("README: " + a, "linkwatch: " + b) for a, b in zip(have, want) if a != b][:5]
        t.ok(have == want, "the README's keyword table equals --list-keywords (%d lines)" % len(want),
             "\n".join("%s\n%s" % d for d in diff) + ("\nline counts %d vs %d" % (len(have), len(want))))
    # Each row's example is part of a rule that loads (-T on all of them).
    rows = [r for r in listed.stdout.splitlines()[2:] if r.startswith("| `")]
    t.ok(len(rows) > 120, "more than 120 keywords listed (%d)" % len(rows))
    with lwtest.TempDir() as d:
        path = os.path.join(d, "examples.rules")
        with open(path, "w") as fh:
            for sid, row in enumerate(rows, 1):
                ex = row.rsplit("| `", 1)[1].rsplit("` |", 1)[0].replace("\\|", "|")
                if row.startswith("| `decode-event`"):
                    continue                      # documented as refused
                fh.write('alert ip any any -> any any (%s%s)\n' % (ex, "" if "sid:" in ex else " sid:%d;" % sid))
                if row.startswith(("| `filemd5`", "| `filesha1`", "| `filesha256`")):
                    # the digest list the example names, beside the rules (empty: a valid list)
                    open(os.path.join(d, ex.split(":", 1)[1].strip(" !;")), "w").close()
            fh.write('alert tcp any any -> any any (no_such_keyword; sid:%d;)\n' % (len(rows) + 1))
        out = subprocess.run([lw, "-T", "-c", os.path.join(lwtest.srcdir(), "linkwatch.yaml"), "-S", path],
                             capture_output=True, text=True, timeout=120)
        bad = [l for l in out.stdout.splitlines() if l.startswith(path) and "no_such_keyword" not in l]
        t.ok(not bad, "every example of the list loads (decode-event is refused by design)", "\n".join(bad[:10]))
        t.ok("keyword 'no_such_keyword' is not supported" in out.stdout,
             "a keyword not in the list is refused (near miss)", out.stdout[-2000:])
    t.done()


if __name__ == "__main__":
    main()
