#!/usr/bin/env python3
"""test_app_http_eve.py - the HTTP parser's EVE events against Suricata's
EVE schema (../shared/suricata/eve-schema.json, validated with
python3-jsonschema, additionalProperties ignored: our extra blocks are
allowed, a field Suricata types otherwise is not).

tests/gen/http_eve (built by make check) turns flows in fuzz_app_http's
input format into one "http" event per transaction, with the
request_headers/response_headers arrays, and one "fileinfo" event per body
file. The flows: the committed fuzz seeds (keep-alive, pipelining, gzip,
CONNECT, Upgrade, gaps, malformed input) and cases written here for the
fields the seeds do not reach (Content-Range, a status that is not a
number, Content-Disposition, truncated and gapped files, a response
without its request). Besides 0 schema errors the test checks that each
field it was written to reach is there, so a writer that stops emitting
one fails.
"""

import copy
import glob
import json
import os
import struct
import subprocess

import lwtest


def record(to_client, data=b"", eof=False, gap=0):
    flags = (1 if to_client else 0) | (2 if eof else 0) | (4 if gap else 0)
    return bytes([flags]) + struct.pack("<H", gap or len(data)) + (b"" if gap else data)


CASES = {
    "range_status_cd": [
        record(0, b"GET /dl/a.zip?v=2 HTTP/1.1\r\nHost: Files.Example.com:8443\r\nUser-Agent: curl/8.0\r\n"
                  b"Referer: http://ref/\r\n\r\n"),
        record(1, b"HTTP/1.1 206 Partial Content\r\nContent-Type: application/zip\r\n"
                  b"Content-Range: bytes 0-3/10\r\nContent-Disposition: attachment; filename=\"a b.zip\"\r\n"
                  b"Location: /elsewhere\r\nContent-Length: 4\r\n\r\nPK\x03\x04"),
        record(0, b"GET /odd HTTP/1.0\r\n\r\n"),
        record(1, b"HTTP/1.0 2XX Odd\r\nContent-Range: bytes */99\r\nContent-Length: 0\r\n\r\n"),
    ],
    "truncated_and_gap": [
        record(0, b"POST /up.php HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc"),
        record(0, gap=3),
        record(0, b"defg"),
        record(1, b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort", eof=True),
    ],
    "no_request": [
        record(1, b"HTTP/1.1 200 OK\r\nServer: s\r\nContent-Length: 2\r\n\r\nok", eof=True),
    ],
    "binary_headers": [
        record(0, b"GET /\xff\xfe?q=\xc3\xa9 HTTP/1.1\r\nHost: h\r\nUser-Agent: \x01\x7f\xc0\r\n\r\n"),
        record(1, b"HTTP/1.1 200 OK\r\nX-Bin: \xe2\x82\r\nContent-Length: 1\r\n\r\n\x00"),
    ],
}

# fields each case set must make appear somewhere (path in the event)
WANT = [
    ("http", "hostname"), ("http", "http_port"), ("http", "url"), ("http", "http_user_agent"),
    ("http", "http_content_type"), ("http", "content_range"), ("http", "http_refer"),
    ("http", "http_method"), ("http", "protocol"), ("http", "status"), ("http", "status_string"),
    ("http", "redirect"), ("http", "length"), ("http", "request_headers"), ("http", "response_headers"),
    ("fileinfo", "filename"), ("fileinfo", "gaps"), ("fileinfo", "state"), ("fileinfo", "sha256"),
    ("fileinfo", "stored"), ("fileinfo", "size"), ("fileinfo", "tx_id"),
]


def open_schema(schema):
    """The schema with every additionalProperties dropped."""
    s = copy.deepcopy(schema)

    def walk(o):
        if isinstance(o, dict):
            o.pop("additionalProperties", None)
            for v in o.values():
                walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)
    walk(s)
    return s


def main():
    tap = lwtest.Tap()
    try:
        import jsonschema
    except ImportError:
        lwtest.skip("python3-jsonschema not installed")
    src = lwtest.srcdir()
    path = os.path.join(src, "..", "shared", "suricata", "eve-schema.json")
    if not os.path.isfile(path):
        lwtest.skip("Suricata's EVE schema not found at " + path)
    gen = os.path.join(lwtest.builddir(), "tests", "gen", "http_eve")
    if not os.access(gen, os.X_OK):
        print("Bail out! %s not built" % gen)
        return lwtest.HARD_ERROR
    with open(path) as f:
        validator = jsonschema.Draft202012Validator(open_schema(json.load(f)))
    seeds = sorted(glob.glob(os.path.join(src, "tests", "fuzz", "seeds", "fuzz_app_http", "*")))
    tap.ok(len(seeds) >= 8, "fuzz seeds found", len(seeds))
    with lwtest.TempDir() as d:
        files = list(seeds)
        for name, recs in sorted(CASES.items()):
            p = os.path.join(d, name)
            with open(p, "wb") as f:
                f.write(b"\0" + b"".join(recs))
            files.append(p)
        r = subprocess.run([gen] + files, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    tap.ok(r.returncode == 0 and not r.stderr, "http_eve ran", r.stderr.decode("utf-8", "replace")[-500:])
    events = [json.loads(line) for line in r.stdout.decode("utf-8").splitlines()]
    kinds = {}
    for e in events:
        kinds[e["event_type"]] = kinds.get(e["event_type"], 0) + 1
    tap.ok(kinds.get("http", 0) >= 20 and kinds.get("fileinfo", 0) >= 10,
           "http and fileinfo events written", kinds)
    errors = []
    for e in events:
        for err in validator.iter_errors(e):
            errors.append("%s: %s at %s" % (e["event_type"], err.message, list(err.absolute_path)))
    tap.ok(not errors, "%d events, 0 schema errors" % len(events), "\n".join(errors[:10]))
    for block, field in WANT:
        seen = any(field in e.get(block, {}) for e in events if e["event_type"] in ("http", block))
        tap.ok(seen, "%s.%s written at least once" % (block, field))
    states = {e["fileinfo"]["state"] for e in events if e["event_type"] == "fileinfo"}
    tap.ok(states == {"CLOSED", "TRUNCATED"}, "fileinfo states CLOSED and TRUNCATED", states)
    tap.ok(any(e["fileinfo"]["gaps"] for e in events if e["event_type"] == "fileinfo"),
           "a file with gaps")
    tap.done()


if __name__ == "__main__":
    main()
