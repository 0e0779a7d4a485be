#!/usr/bin/env python3
"""test_app_eve.py - the DNS, TLS and SSH parsers' EVE blocks, checked
against Suricata's EVE schema and against values known independently.

1. The blocks the parsers' unit tests render ($LW_APP_EVE_OUT of
   tests/unit/test_app_{dns,tls,ssh}) conform to ../shared/suricata/
   eve-schema.json (additionalProperties errors ignored: our extra fields
   are allowed). SKIP of this part when the schema or python3-jsonschema is
   missing.
2. Sessions made here (tests/lib/appgen.py: scapy DNS messages over UDP and
   TCP, real TLS 1.2 and 1.3 handshakes between Python's ssl client and
   server with a certificate chain made by `cryptography', an SSH key
   exchange) go through tests/gen/app_eve: every value must be what the
   generator put in (names, answers, rcodes; SNI, version, certificate
   subject, issuer, serial, SHA-1, validity, the chain, JA3 computed here
   from the ClientHello bytes; banners and hassh), and every event must
   conform to the schema.
3. With the corpus (../shared/corpus, else SKIP): every flow on port 53,
   443 and 22 of every capture, reassembled (tests/lib/appstreams.py), goes
   through app_eve; the events must conform to the schema and app_eve must
   exit cleanly; and where nDPI's reference (reference/*.ndpi.txt) names a
   flow's JA3C, JA3S, SNI, certificate SHA-1, issuer, subject or hassh, ours
   must be the same. SSH banners are compared by direction: nDPI 4.2 files
   the first banner as the client's, which the test corrects for.
"""

import base64
import glob
import hashlib
import json
import os
import re
import subprocess
import sys

import lwtest

sys.path.insert(0, os.path.join(lwtest.srcdir(), "tests", "lib"))
import appgen  # noqa: E402


def app_eve(tap, tmp, proto, name, data, opts=()):
    """Runs app_eve over one input; returns (events, counters)."""
    path = os.path.join(tmp, name + ".bin")
    with open(path, "wb") as f:
        f.write(data)
    exe = os.path.join(lwtest.builddir(), "tests", "gen", "app_eve")
    r = subprocess.run([exe, proto] + list(opts) + [path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=120)
    out = r.stdout.decode("utf-8", "replace")
    clean = r.returncode == 0 and not any(m in r.stderr.decode("utf-8", "replace") for m in lwtest.SANITIZER_MARKS)
    if not clean:
        tap.ok(False, "%s: app_eve %s exits cleanly" % (name, proto), r.stderr.decode("utf-8", "replace")[-2000:])
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    counters = {}
    for line in out.splitlines():
        if line.startswith("# "):
            for kv in line.split()[2:]:
                k, v = kv.split("=")
                counters[k] = counters.get(k, 0) + int(v)
    return events, counters


class Schema:
    def __init__(self, tap):
        self.validator = None
        path = os.environ.get("LW_EVE_SCHEMA") or os.path.join(lwtest.srcdir(), "..", "shared", "suricata",
                                                                "eve-schema.json")
        try:
            import jsonschema
        except ImportError:
            tap.note("SKIP schema checks: python3-jsonschema not installed")
            return
        if not os.path.exists(path):
            tap.note("SKIP schema checks: %s not found" % path)
            return
        with open(path) as f:
            schema = json.load(f)
        self.validator = jsonschema.validators.validator_for(schema)(schema)

    def problems(self, events):
        """Schema errors other than additionalProperties, as text."""
        out = []
        for e in events:
            for err in self.validator.iter_errors(e):
                if err.validator == "additionalProperties":
                    continue
                out.append("%s: %s (in %s)" % ("/".join(map(str, err.absolute_path)), err.message,
                                               json.dumps(e)[:300]))
        return out

    def check(self, tap, what, events):
        if self.validator is None:
            return
        bad = self.problems(events)
        tap.ok(not bad, "%s: %d event(s) conform to Suricata's EVE schema" % (what, len(events)),
               "\n".join(bad[:10]))


def check_unit_blocks(tap, tmp, schema):
    out = os.path.join(tmp, "unit-eve.json")
    for t in ("dns", "tls", "ssh"):
        exe = os.path.join(lwtest.builddir(), "tests", "unit", "test_app_" + t)
        env = dict(os.environ, LW_APP_EVE_OUT=out)
        r = subprocess.run([exe], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, timeout=300)
        tap.ok(r.returncode == 0, "unit test test_app_%s passes and writes its EVE blocks" % t,
               r.stdout.decode("utf-8", "replace")[-1500:])
    events = []
    if os.path.exists(out):
        with open(out) as f:
            events = [json.loads(line) for line in f]
    kinds = {e["event_type"] for e in events}
    tap.ok(kinds == {"dns", "tls", "ssh"} and len(events) >= 10,
           "the unit tests rendered dns, tls and ssh blocks", "%d events, types %s" % (len(events), kinds))
    schema.check(tap, "unit-test blocks", events)


def check_dns(tap, tmp, schema):
    frames, want = appgen.dns_udp_session()
    data = appgen.encode(appgen.DGRAM, frames)
    msgs, counters = app_eve(tap, tmp, "dns", "dns-udp", data, ["--messages"])
    txs, _ = app_eve(tap, tmp, "dns", "dns-udp-tx", data)
    schema.check(tap, "dns over UDP, per message", msgs)
    schema.check(tap, "dns over UDP, per transaction", txs)
    reqs = [m["dns"] for m in msgs if m["dns"]["type"] == "request"]
    resps = {m["dns"]["id"]: m["dns"] for m in msgs if m["dns"]["type"] == "response"}
    tap.ok([q["queries"][0]["rrname"] for q in reqs] == want["queries"], "dns: the request names",
           json.dumps(reqs)[:500])
    tap.ok(all(m["dns"]["version"] == 3 for m in msgs), "dns: every event says version 3")
    for qid, answers in want["answers"].items():
        r = resps.get(qid, {})
        got = [(a["rrname"], a["rrtype"], a.get("rdata")) for a in r.get("answers", [])]
        tap.ok(got == answers, "dns: the answers of id %d" % qid, "got %r" % (got,))
        tap.ok(r.get("rcode") == want["rcodes"][qid], "dns: rcode of id %d is %s" % (qid, want["rcodes"][qid]),
               r.get("rcode"))
    srv = [a for a in resps[0x2222]["answers"] if a["rrtype"] == "SRV"]
    tap.ok(srv and srv[0].get("srv") == {"priority": 1, "weight": 5, "port": 5060, "name": "sip.example.org"},
           "dns: the SRV record's fields", json.dumps(srv))
    soa = resps[0x1111].get("authorities", [{}])[0].get("soa", {})
    tap.ok(soa.get("mname") == "ns1.example.net" and soa.get("serial") == 7 and soa.get("minimum") == 60,
           "dns: the SOA authority's fields", json.dumps(soa))
    tap.ok(len(txs) == 3 and all(t["dns"]["type"] == "response" for t in txs) and
           [t["dns"]["tx_id"] for t in txs] == [0, 1, 2], "dns: one transaction per query and its response",
           json.dumps(txs)[:600])
    tap.ok(not counters or set(counters) == {"tx"}, "dns: no anomalies in well-formed messages", counters)

    frames, want = appgen.dns_tcp_session()
    txs, counters = app_eve(tap, tmp, "dns", "dns-tcp", appgen.encode(0, frames))
    schema.check(tap, "dns over TCP", txs)
    tap.ok([t["dns"]["queries"][0]["rrname"] for t in txs] == want["queries"] and
           all(len(t["dns"].get("answers", [])) == 1 for t in txs),
           "dns over TCP: two queries in one segment, one over three, each answered", json.dumps(txs)[:600])


def check_tls(tap, tmp, schema):
    for version in ("1.2", "1.3"):
        frames, want = appgen.tls_session(version)
        data = appgen.encode(0, frames)
        evs, counters = app_eve(tap, tmp, "tls", "tls" + version, data)
        chained, _ = app_eve(tap, tmp, "tls", "tls-chain" + version, data, ["--chain"])
        schema.check(tap, "tls %s" % version, evs + chained)
        tls = evs[0]["tls"] if len(evs) == 1 else {}
        tap.ok(len(evs) == 1, "tls %s: one transaction" % version, len(evs))
        for k in ("subject", "issuerdn", "serial", "fingerprint", "notbefore", "notafter", "sni", "version",
                  "client_alpns"):
            tap.ok(tls.get(k) == want.get(k), "tls %s: %s is %r" % (version, k, want.get(k)), "got %r" % tls.get(k))
        ja3 = tls.get("ja3", {})
        tap.ok(ja3.get("string") == want["ja3"] and ja3.get("hash") == hashlib.md5(want["ja3"].encode()).hexdigest(),
               "tls %s: JA3 as computed here from the ClientHello" % version, "got %r\nwant %r" % (ja3, want["ja3"]))
        tap.ok(re.fullmatch(r"771,\d+,[\d-]*", tls.get("ja3s", {}).get("string", "")) is not None,
               "tls %s: a JA3S string" % version, tls.get("ja3s"))
        chain = chained[0]["tls"].get("chain", []) if chained else []
        tap.ok(len(chain) == want["chain_len"], "tls %s: a chain of %d" % (version, want["chain_len"]), len(chain))
        if chain:
            fp = hashlib.sha1(base64.b64decode(chain[0])).hexdigest()
            tap.ok(":".join(fp[i:i + 2] for i in range(0, 40, 2)) == want["fingerprint"],
                   "tls %s: the chain's first certificate is the fingerprinted one" % version)
        tap.ok(set(counters) <= {"tx"}, "tls %s: no anomalies in a real session" % version, counters)


def check_ssh(tap, tmp, schema):
    frames, want = appgen.ssh_session()
    evs, counters = app_eve(tap, tmp, "ssh", "ssh", appgen.encode(0, frames))
    schema.check(tap, "ssh", evs)
    tap.ok(len(evs) == 1 and evs[0]["ssh"] == want, "ssh: banners by direction and both hassh",
           "got %s\nwant %s" % (json.dumps(evs)[:800], json.dumps(want)))
    tap.ok(set(counters) <= {"tx"}, "ssh: no anomalies", counters)


# ---------------------------------------------------------------- corpus

REF_LINE = re.compile(r"^\s*\d+\s+(TCP|UDP) (\S+) <?-> (\S+) (.*)$")


def endpoint(s):
    host, port = s.rsplit(":", 1)
    return host.strip("[]"), int(port)


def reference(path):
    """nDPI's reference: {frozenset(endpoints): {field: value}}."""
    out = {}
    if not os.path.exists(path):
        return out
    with open(path, errors="replace") as f:
        for line in f:
            m = REF_LINE.match(line)
            if not m:
                continue
            # values may carry a note: "573a...5bb (WEAK)"
            fields = {k: re.sub(r" \([A-Za-z ]+\)$", "", v)
                      for k, v in re.findall(r"\[([A-Za-z0-9 /-]+): ([^\]]*)\]", m.group(4))}
            out[(m.group(1), frozenset((endpoint(m.group(2)), endpoint(m.group(3)))))] = fields
    return out


def key_of(flowkey):
    a, b, l4 = flowkey
    return l4, frozenset(((a[0], a[1]), (b[0], b[1])))


def compare_tls(ev, ref, agree, differ, where):
    pairs = [("JA3C", (ev.get("ja3") or {}).get("hash")), ("JA3S", (ev.get("ja3s") or {}).get("hash")),
             ("Certificate SHA-1", (ev.get("fingerprint") or "").upper() or None),
             ("Issuer", ev.get("issuerdn")), ("Subject", ev.get("subject"))]
    if "ServerNames" in ref or "Hostname/SNI" in ref:
        pairs.append(("Hostname/SNI", ev.get("sni")))
    for field, ours in pairs:
        theirs = ref.get(field)
        if theirs is None:
            continue
        if field in ("JA3C", "JA3S"):
            theirs = theirs.lower()
        (agree if ours == theirs else differ).append((where, field, ours, theirs))


def compare_ssh(ev, ref, agree, differ, where):
    client, server = ev.get("client", {}), ev.get("server", {})
    for field, ours in (("HASSH-C", (client.get("hassh") or {}).get("hash")),
                        ("HASSH-S", (server.get("hassh") or {}).get("hash"))):
        theirs = ref.get(field)
        if theirs is not None:
            (agree if ours == theirs.lower() else differ).append((where, field, ours, theirs.lower()))
    # nDPI 4.2 keeps the first banner seen as the client's (the server
    # usually speaks first): the pair must match, by direction here
    banners = {ref.get("Hostname/SNI"), ref.get("Server")} - {None}
    if banners:
        mine = {"SSH-%s-%s" % (s["proto_version"], s["software_version"]) for s in (client, server)
                if "proto_version" in s}
        theirs = {b.split(" ")[0] for b in banners}
        (agree if mine == theirs else differ).append((where, "banners", sorted(mine), sorted(theirs)))


def compare_dns(evs, ref, agree, differ, where):
    """nDPI names one query of the flow: it must be one of ours."""
    theirs = ref.get("Hostname/SNI")
    if theirs is None:
        return
    ours = {q.get("rrname") for e in evs for q in e["dns"].get("queries", [])}
    (agree if theirs in ours else differ).append((where, "DNS query", sorted(ours)[:5], theirs))


def check_corpus(tap, tmp, schema):
    corpus = os.environ.get("LW_CORPUS") or os.path.join(lwtest.srcdir(), "..", "shared", "corpus")
    if not os.path.isdir(os.path.join(corpus, "pcaps")):
        tap.note("SKIP corpus checks: corpus not found")
        return
    import appstreams
    pcaps = sorted(glob.glob(os.path.join(corpus, "pcaps", "*.pcap")) +
                   glob.glob(os.path.join(corpus, "pcaps", "*.pcapng")))
    agree, differ, events, flows = [], [], {"dns": 0, "tls": 0, "ssh": 0}, 0
    for pcap in pcaps:
        name = os.path.basename(pcap)
        ref = reference(os.path.join(corpus, "reference", name + ".ndpi.txt"))
        for proto, port in (("dns", 53), ("tls", 443), ("ssh", 22)):
            for i, (fk, (udp, frames)) in enumerate(appstreams.flows(pcap, port).items()):
                if udp and proto != "dns":
                    continue                    # QUIC on 443
                flows += 1
                evs, _ = app_eve(tap, tmp, proto, "%s-%s-%d" % (name, proto, i),
                                 appgen.encode(appgen.DGRAM if udp else 0, frames))
                events[proto] += len(evs)
                if schema.validator is not None:
                    bad = schema.problems(evs)
                    if bad:
                        tap.ok(False, "corpus %s %s flow %d: events conform to the schema" % (name, proto, i),
                               "\n".join(bad[:5]))
                r = ref.get(key_of(fk))
                if r is None or not evs:
                    continue
                where = "%s %s:%d" % (name, fk[0][0], fk[0][1])
                if proto == "dns":
                    compare_dns(evs, r, agree, differ, where)
                elif proto == "tls":
                    compare_tls(evs[0]["tls"], r, agree, differ, where)
                elif proto == "ssh":
                    compare_ssh(evs[0]["ssh"], r, agree, differ, where)
    tap.note("corpus: %d flows, events %s; %d values agree with nDPI's reference, %d differ" %
             (flows, events, len(agree), len(differ)))
    tap.ok(events["tls"] > 10 and events["dns"] > 10 and events["ssh"] >= 1,
           "corpus: TLS, DNS and SSH sessions were parsed", events)
    tap.ok(len(agree) > 50 and not differ,
           "corpus: DNS names, JA3C, JA3S, SNI, certificate and hassh values agree with nDPI",
           "\n".join("%s %s: ours %r, nDPI %r" % d for d in differ[:20]))


def main():
    tap = lwtest.Tap()
    for exe in ("tests/gen/app_eve", "tests/unit/test_app_dns"):
        if not os.path.exists(os.path.join(lwtest.builddir(), exe)):
            lwtest.skip("%s not built" % exe)
    try:
        import scapy.layers.dns  # noqa: F401
        import cryptography  # noqa: F401
    except ImportError:
        lwtest.skip("python3-scapy and python3-cryptography are needed")
    schema = Schema(tap)
    with lwtest.TempDir("lwappeve-") as tmp:
        check_unit_blocks(tap, tmp, schema)
        check_dns(tap, tmp, schema)
        check_tls(tap, tmp, schema)
        check_ssh(tap, tmp, schema)
        check_corpus(tap, tmp, schema)
    tap.done()


if __name__ == "__main__":
    main()
