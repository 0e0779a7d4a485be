#!/usr/bin/env python3
"""test_app_layer.py - the application-layer stage end to end (issue 17):
the sensor reads each capture of tests/gen/gen_app_cases.py with a rule
file of its own, and must write exactly what Suricata would.

For every case:
  - the sensor exits 0 with no sanitizer report;
  - its http, dns, tls, ssh and fileinfo events: how many, and their values
    (URIs, hosts, user agents, methods, status codes, body sizes and the
    sha256 of each decompressed body; DNS queries and answers, with the
    compressed names spelled out; SNI, JA3 and JA3S as computed here from
    the ClientHello and ServerHello bytes, the certificate's subject,
    issuer, serial, fingerprint and validity; SSH software by direction and
    hassh computed here from the KEXINITs);
  - the flow event names the protocol, and its own block does not
    contradict the transactions (SSH banners by direction);
  - stats.app_layer: flows and transactions per protocol, no parser
    errors on clean input, the gap case counted as one gap;
  - the rules, written as ET writes them (flow:established,to_server for
    request buffers, to_client for response buffers, none for dns.query
    over UDP): each alerts exactly as often as Suricata does, one alert per
    transaction per rule, and each near miss not at all; alerts name the
    transaction (tx_id) and carry its block as it stood at the match;
  - every event conforms to Suricata's EVE schema (additionalProperties
    ignored; SKIP when ../shared/suricata/eve-schema.json or jsonschema is
    missing).
"""

import json
import os
import sys

import lwtest

sys.path.insert(0, os.path.join(lwtest.srcdir(), "tests", "lib"))
import appfp      # noqa: E402
import eveschema  # noqa: E402

APP_EVENTS = ("http", "dns", "tls", "ssh", "fileinfo")


class Rule:
    """One rule of a case: the alerts it must give (count) and the
    transactions they name (tx_ids, when it alerts)."""

    def __init__(self, sid, body, count, tx_ids=None, proto="http", head=None):
        self.sid, self.count, self.tx_ids = sid, count, tx_ids
        head = head or "%s $HOME_NET any -> $EXTERNAL_NET any" % proto
        self.on_tx = head.split()[0] in ("http", "tls", "dns", "ssh")
        self.text = 'alert %s (msg:"LW TEST %d"; %s classtype:misc-activity; sid:%d; rev:1;)' % (
            head, sid, body, sid)
        self.to_client = "to_client" in body


def packet_rule(sid, body, count, head):
    """A rule on packets of an application protocol (no transaction)."""
    r = Rule(sid, body, count, head=head)
    r.on_tx = False
    return r


def http_to_client(body, sid, count, tx_ids=None):
    return Rule(sid, body, count, tx_ids, head="http $EXTERNAL_NET any -> $HOME_NET any")


TS = "flow:established,to_server;"
TC = "flow:established,to_client;"


def rules_for(name, fp, m):
    """The rules of case name; fp: the fingerprints computed here."""
    if name == "http_keepalive":
        return [
            Rule(2100001, TS + ' http.uri; content:"UNION"; nocase; content:"SELECT"; nocase; distance:0;', 1, [1]),
            Rule(2100002, TS + ' http.uri; content:"union";', 0),                   # case differs
            Rule(2100003, TS + ' http.uri; content:"UNION%20SELECT";', 0),          # http.uri is decoded
            Rule(2100004, TS + ' http.uri.raw; content:"UNION%20SELECT";', 1, [1]),
            Rule(2100005, TS + ' http.user_agent; content:"sqlmap"; nocase; depth:6;', 1, [1]),
            Rule(2100006, TS + ' http.user_agent; content:"sqlmap/1.8";', 0),
            Rule(2100007, TS + ' http.method; content:"POST";', 1, [2]),
            # POST and item.php are in different transactions of the flow
            Rule(2100008, TS + ' http.method; content:"POST"; http.uri; content:"item.php";', 0),
            Rule(2100009, TS + ' http.method; content:"GET";', 2, [0, 1]),
            Rule(2100010, TS + ' http.request_body; content:"password=hunter2";', 1, [2]),
            Rule(2100011, TS + ' http.request_body; content:"Welcome back";', 0),   # the response's body
            Rule(2100012, TS + ' content:"POST"; http_method; content:"hunter2"; http_client_body;', 1, [2]),
            http_to_client(TC + ' http.stat_code; content:"200";', 2100013, 2, [0, 2]),
            http_to_client(TC + ' http.stat_code; content:"500";', 2100014, 1, [1]),
            http_to_client(TC + ' http.stat_code; content:"404";', 2100015, 0),
            http_to_client(TC + ' file_data; content:"Welcome back, admin";', 2100016, 1, [2]),
            http_to_client(TC + ' file_data; content:"|1f 8b 08|";', 2100017, 0),   # decompressed: no gzip
        ]
    if name == "http_pipelined":
        return [
            Rule(2100101, TS + ' http.method; content:"GET";', 3, [0, 1, 2]),
            Rule(2100102, TS + ' http.uri; content:"/js/app.js";', 1, [1]),
            Rule(2100103, TS + ' http.uri; content:"/js/app.jsx";', 0),
            http_to_client(TC + ' http.stat_code; content:"200";', 2100104, 3, [0, 1, 2]),
        ]
    if name == "http_split":
        return [
            Rule(2100201, TS + ' http.uri; content:"file=report.pdf";', 1, [0]),
            Rule(2100202, TS + ' http.user_agent; content:"Wget/";', 1, [0]),
            Rule(2100203, TS + ' http.host; content:"files.example.com";', 1, [0]),
            Rule(2100204, TS + ' http.uri; content:"report.pdf.exe";', 0),
            http_to_client(TC + ' file_data; content:"%PDF-1.4";', 2100205, 1, [0]),
        ]
    if name == "http_gap":
        return [
            Rule(2100301, TS + ' http.uri; content:"/pub/after.txt";', 1, [1]),
            http_to_client(TC + ' file_data; content:"after the gap";', 2100302, 1, [1]),
            http_to_client(TC + ' file_data; content:"|%s|";' % m["before_gap_hex"], 2100303, 1, [0]),
            http_to_client(TC + ' file_data; content:"|%s|";' % m["lost_hex"], 2100304, 0),   # never seen
        ]
    if name == "http_8081":
        return [
            Rule(2100401, TS + ' http.uri; content:"/admin/config.php";', 1, [0]),
            Rule(2100402, TS + ' http.host; content:"intranet.example.com";', 1, [0]),
            Rule(2100403, TS + ' http.host; content:"intranet.example.com:8081";', 0),   # http.host has no port
        ]
    if name == "http_12345":
        return [
            Rule(2100501, TS + ' http.uri; content:"/admin/config.php";', 1, [0]),
            Rule(2100502, TS + ' http.uri; content:"/admin/config.php";', 0,
                 head="http $HOME_NET any -> $EXTERNAL_NET 80"),                    # the flow is on 12345
        ]
    tls = "tls $HOME_NET any -> $EXTERNAL_NET any"
    tls_tc = "tls $EXTERNAL_NET any -> $HOME_NET any"
    if name == "tls_nocert":
        return [
            Rule(2100601, TS + ' tls.sni; content:"short.example.net"; fast_pattern;', 1, [0], head=tls),
            Rule(2100602, TS + ' ja3.hash; content:"%s";' % fp["ja3"][1], 1, [0], head=tls),
            Rule(2100603, TC + ' tls.cert_subject; content:"short";', 0, head=tls_tc),   # no certificate
            Rule(2100604, TS + ' tls.sni; content:"SHORT.example.net";', 0, head=tls),
        ]
    if name == "tls12_chain":
        return [
            Rule(2100701, TS + ' tls.sni; content:"www.example.org";', 1, [0], head=tls),
            Rule(2100702, TC + ' tls.cert_subject; content:"CN=www.example.org";', 1, [0], head=tls_tc),
            Rule(2100703, TC + ' tls.cert_issuer; content:"CN=Example Issuing CA 2";', 1, [0],
                 head=tls_tc),
            Rule(2100704, TC + ' tls.cert_subject; content:"Example Issuing CA 2";', 0, head=tls_tc),
            Rule(2100705, TS + ' ja3.hash; content:"%s";' % fp["ja3"][1], 1, [0], head=tls),
            Rule(2100706, TS + ' ja3.hash; content:"%s";' % fp["other_ja3"], 0, head=tls),
        ]
    if name == "tls13":
        return [
            Rule(2100801, TS + ' tls.sni; content:"api.example.com";', 1, [0], head=tls),
            Rule(2100802, TS + ' ja3.hash; content:"%s";' % fp["ja3"][1], 1, [0], head=tls),
            Rule(2100803, TC + ' tls.cert_subject; content:"example"; nocase;', 0, head=tls_tc),  # encrypted
        ]
    if name == "ssh_server_first":
        ssh, ssh_tc = "ssh $HOME_NET any -> $EXTERNAL_NET 22", "ssh $EXTERNAL_NET 22 -> $HOME_NET any"
        return [
            Rule(2100901, TS + ' ssh.software; content:"PuTTY";', 1, [0], head=ssh),
            Rule(2100902, TC + ' ssh.software; content:"OpenSSH";', 1, [0], head=ssh_tc),
            Rule(2100903, TS + ' ssh.software; content:"OpenSSH";', 0, head=ssh),     # the server's, not the client's
            Rule(2100904, TC + ' ssh.software; content:"PuTTY";', 0, head=ssh_tc),
        ]
    if name == "http_junk_request":
        return [
            http_to_client(TC + ' http.response_line; content:"HTTP/1.1 400";', 2101301, 1, [0]),
            http_to_client(TC + ' file_data; content:"HTTP/1.1 400";', 2101302, 0),   # the status line is no body
            http_to_client(TC + ' file_data; content:"bad request";', 2101303, 1, [0]),
        ]
    if name == "redis_8081":
        return [
            Rule(2101201, TS + ' http.uri; content:"/index.html";', 0),          # not HTTP, though on 8081
            Rule(2101202, TS + ' content:"PING";', 1, head="tcp $HOME_NET any -> $EXTERNAL_NET 8081"),
        ]
    dns = "dns $HOME_NET any -> any any"
    if name == "dns_tcp":
        return [
            Rule(2101001, TS + ' dns.query; content:"example.com"; nocase;', 2, [0, 1], head=dns),
            Rule(2101002, TS + ' dns.query; content:"mail.example.com"; nocase;', 0, head=dns),  # an answer
        ]
    if name == "dns_udp":
        return [
            Rule(2101101, ' dns.query; content:"www.example.org"; nocase;', 1, [0], head=dns),
            Rule(2101102, ' dns.query; content:"edge.cdn.example.net"; nocase;', 0, head=dns),   # an answer
            # a packet rule on the flow's protocol: the parser names it from the
            # first packet, before nDPI has decided (as Suricata's flow alproto)
            packet_rule(2101103, ' content:"|03|www|07|example|03|org";', 1, head="dns $HOME_NET any -> any 53"),
            packet_rule(2101104, ' content:"|03|www|07|example|03|org";', 0,
                        head="http $HOME_NET any -> any 53"),                      # not the flow's protocol
        ]
    raise KeyError(name)


# ---------------------------------------------------------------- fingerprints computed here

def fingerprints(cases, m):
    """JA3, JA3S, SNI and the certificates of a TLS case, hassh and banners
    of an SSH case, from the capture's bytes."""
    pcap = os.path.join(cases, m["pcap"])
    fp = {}
    flows = list(appfp.streams(pcap, m["server_port"]).values())
    if len(flows) != 1:
        return fp
    cli, srv = flows[0]
    if m["proto"] == "tls":
        ch = [b for t, b in appfp.handshakes(cli) if t == 1]
        hs = appfp.handshakes(srv)
        sh = [b for t, b in hs if t == 2]
        certs = [b for t, b in hs if t == 11]
        if ch and sh:
            fp["ja3"], fp["ja3s"], fp["sni"] = appfp.ja3(ch[0]), appfp.ja3s(sh[0]), appfp.sni(ch[0])
        fp["chain"] = [d.hex() for d in appfp.certificates(certs[0])] if certs else []
    elif m["proto"] == "ssh":
        fp["banners"] = (appfp.ssh_banner(cli), appfp.ssh_banner(srv))
        kc, ks = appfp.ssh_kexinit(cli), appfp.ssh_kexinit(srv)
        if kc and ks:
            fp["hassh"], fp["hassh_server"] = appfp.hassh(kc, False), appfp.hassh(ks, True)
    return fp


# ---------------------------------------------------------------- checks

def check_http(tap, name, run, m):
    evs = sorted(run.of_type("http"), key=lambda e: e.get("tx_id", -1))
    want = m["txs"]
    tap.ok(len(evs) == len(want), "%s: %d http events, one per transaction" % (name, len(want)),
           "got %d: %s" % (len(evs), [e.get("http", {}).get("url") for e in evs]))
    for i, (e, w) in enumerate(zip(evs, want)):
        h = e.get("http", {})
        got = {"tx_id": e.get("tx_id"), "url": h.get("url"), "hostname": h.get("hostname"),
               "http_port": h.get("http_port"), "http_user_agent": h.get("http_user_agent"),
               "http_method": h.get("http_method"), "status": h.get("status"), "protocol": h.get("protocol"),
               "length": h.get("length")}
        exp = {"tx_id": i, "url": w["uri"], "hostname": w["host"], "http_port": w["port"],
               "http_user_agent": w["ua"], "http_method": w["method"], "status": w["status"],
               "protocol": w["protocol"], "length": w["length"]}
        tap.ok(got == exp, "%s: http tx %d: %s %s, status %d, %d body bytes on the wire" %
               (name, i, w["method"], w["uri"][:40], w["status"], w["length"]),
               "got  %s\nwant %s" % (json.dumps(got), json.dumps(exp)))
    files = sorted((f.get("fileinfo", {}).get("tx_id", -1), f.get("fileinfo", {}).get("filename"),
                    f.get("fileinfo", {}).get("size"), f.get("fileinfo", {}).get("sha256"),
                    f.get("fileinfo", {}).get("gaps"), f.get("fileinfo", {}).get("state"))
                   for f in run.of_type("fileinfo"))
    want_files = []
    gap_tx = m.get("gap_tx")
    for i, w in enumerate(want):
        for body in (w["req_body"], w["resp_body"]):
            if body:
                if i == gap_tx and body is w["resp_body"]:
                    # a body with a hole: no sha256, as Suricata (its size
                    # counts the lost bytes too)
                    want_files.append((i, body["name"], body["size"], None, True, "CLOSED"))
                else:
                    want_files.append((i, body["name"], body["size"], body["sha256"], False, "CLOSED"))
    tap.ok(files == sorted(want_files), "%s: fileinfo events: %d files (request and response bodies, "
           "sha256 after dechunking and decompression)" % (name, len(want_files)),
           "got  %s\nwant %s" % (files, sorted(want_files)))
    # Suricata's fileinfo carries the transaction's http block
    tap.ok(all(f.get("http", {}).get("url") == want[f["fileinfo"]["tx_id"]]["uri"]
               for f in run.of_type("fileinfo") if 0 <= f.get("fileinfo", {}).get("tx_id", -1) < len(want)),
           "%s: each fileinfo event carries its transaction's http block" % name)


def dns_msg(e):
    d = e.get("dns", {})
    return {"type": d.get("type"), "id": d.get("id"), "rcode": d.get("rcode"),
            "queries": [[q.get("rrname"), q.get("rrtype")] for q in d.get("queries", [])],
            "answers": [[a.get("rrname"), a.get("rrtype"), a.get("rdata")] for a in d.get("answers", [])]}


def check_dns(tap, name, run, m):
    evs = run.of_type("dns")
    got = [dns_msg(e) for e in evs]
    tap.ok(got == m["messages"], "%s: one dns event per request and per response, queries and answers "
           "(compressed names spelled out)" % name,
           "got  %s\nwant %s" % (json.dumps(got), json.dumps(m["messages"])))
    tap.ok(evs and all(e.get("dns", {}).get("version") == 3 for e in evs), "%s: every dns event is version 3" % name)
    pairs = [(e.get("tx_id"), e.get("dns", {}).get("tx_id"), e.get("dns", {}).get("type")) for e in evs]
    want, tx = [], -1
    for msg in m["messages"]:
        tx += msg["type"] == "request"
        want.append((tx, tx, msg["type"]))
    tap.ok(pairs == want, "%s: a request and its response share a tx_id (an unanswered request logs "
           "alone)" % name, pairs)


def check_tls(tap, name, run, m, fp):
    evs = run.of_type("tls")
    t = evs[0].get("tls", {}) if len(evs) == 1 else {}
    tap.ok(len(evs) == 1, "%s: one tls event" % name, len(evs))
    tap.ok(fp.get("sni") == m["sni"] and fp.get("chain") == m["chain"],
           "%s: the capture holds the SNI and certificates the generator wrote" % name,
           "sni %r, %d certificates" % (fp.get("sni"), len(fp.get("chain", []))))
    tap.ok(t.get("sni") == m["sni"] and t.get("version") == m["version"],
           "%s: sni %s, version %s" % (name, m["sni"], m["version"]), json.dumps(t)[:400])
    ja3, ja3s = fp.get("ja3", ("", "")), fp.get("ja3s", ("", ""))
    tap.ok(t.get("ja3") == {"string": ja3[0], "hash": ja3[1]},
           "%s: JA3 as computed here from the ClientHello (%s)" % (name, ja3[1]),
           "got  %s\nwant %s" % (t.get("ja3"), ja3))
    tap.ok(t.get("ja3s") == {"string": ja3s[0], "hash": ja3s[1]},
           "%s: JA3S as computed here from the ServerHello (%s)" % (name, ja3s[1]),
           "got  %s\nwant %s" % (t.get("ja3s"), ja3s))
    keys = ("subject", "issuerdn", "serial", "fingerprint", "notbefore", "notafter")
    got = {k: t.get(k) for k in keys}
    want = m["cert"] or {k: None for k in keys}
    tap.ok(got == want, "%s: certificate fields %s" % (name, "of the leaf" if m["cert"] else "absent"),
           "got  %s\nwant %s" % (json.dumps(got), json.dumps(want)))
    tap.ok("session_resumed" not in t, "%s: a full handshake is not logged as resumed" % name)


def check_ssh(tap, name, run, m, fp):
    evs = run.of_type("ssh")
    s = evs[0].get("ssh", {}) if len(evs) == 1 else {}
    tap.ok(len(evs) == 1, "%s: one ssh event" % name, len(evs))
    tap.ok(fp.get("banners") == (m["client"], m["server"]),
           "%s: the capture's banners are the generator's" % name, fp.get("banners"))
    want = {}
    for side, banner, hk in (("client", m["client"], "hassh"), ("server", m["server"], "hassh_server")):
        proto, soft = banner.split("-", 2)[1:]
        want[side] = {"proto_version": proto, "software_version": soft.split(" ")[0],
                      "hassh": {"string": fp.get(hk, ("", ""))[0], "hash": fp.get(hk, ("", ""))[1]}}
    tap.ok(s == want, "%s: client %s and server %s by direction (the server spoke first), hassh of each "
           "as computed here" % (name, want["client"]["software_version"], want["server"]["software_version"]),
           "got  %s\nwant %s" % (json.dumps(s), json.dumps(want)))
    # The flow event's own ssh block (nDPI's) must not swap them either.
    fl = run.flows[0].get("ssh") if len(run.flows) == 1 else None
    if fl is not None:
        got = {k: (fl.get(k) or {}).get("software_version") for k in ("client", "server")}
        tap.ok(got == {k: want[k]["software_version"] for k in want},
               "%s: the flow event's ssh block has client and server the right way round" % name, got)


def check_none(tap, name, run, m):
    """A flow no parser may take: no application-layer event at all."""
    got = {t: len(run.of_type(t)) for t in APP_EVENTS if run.of_type(t)}
    tap.ok(not got, "%s: no http, dns, tls, ssh or fileinfo events" % name, got)


def app_stats(run):
    return lwtest.dig(run.final_stats(), "app_layer", {}) or {}


def check_stats(tap, name, run, m):
    st = app_stats(run)
    proto = m["proto"]
    key = {"dns": "dns_%s" % m.get("transport"), None: "failed_tcp"}.get(proto, proto)
    ntx = {"http": len(m.get("txs", [])),
           "dns": len([x for x in m.get("messages", []) if x["type"] == "request"]), None: 0}.get(proto, 1)
    flows = {k: v for k, v in st.get("flow", {}).items() if v}
    tap.ok(flows == {key: 1}, "%s: stats.app_layer.flow: %s 1, nothing else" % (name, key), st.get("flow"))
    txs = {k: v for k, v in st.get("tx", {}).items() if v}
    tap.ok(txs == ({proto: ntx} if proto else {}),
           "%s: stats.app_layer.tx: %s" % (name, "%s %d" % (proto, ntx) if proto else "none"), st.get("tx"))
    gaps = 1 if m.get("gap_bytes") else 0
    errs = {"%s.%s" % (p, k): v for p, e in st.get("error", {}).items() for k, v in e.items() if v}
    want = {"%s.gap" % proto: 1} if gaps else {}
    tap.ok(errs == want, "%s: stats.app_layer.error: %s" % (name, "one gap" if gaps else "none"), errs)
    events = {"%s.%s" % (p, k): v for p in ("http", "dns", "tls", "ssh") for k, v in st.get(p, {}).items() if v}
    want_ev = dict(m.get("events", {}))
    if gaps:
        want_ev["http.gap"] = 1
    tap.ok(events == want_ev, "%s: stats.app_layer anomaly events: %s" % (
        name, ", ".join(sorted(want_ev)) if want_ev else "none on clean input"), events)


def check_flow(tap, name, run, m):
    flows = run.flows
    if m["proto"] is None:
        ok = all(f.get("app_proto") not in ("http", "dns", "tls", "ssh") for f in flows)
    else:
        ok = all(f.get("app_proto") == m.get("flow_app_proto", m["proto"]) for f in flows)
    tap.ok(len(flows) == m["flows"] and ok, "%s: %d flow event(s), app_proto %s" % (
        name, m["flows"], m.get("flow_app_proto", m["proto"]) or "none of the parsers'"),
        [(f.get("app_proto"), f.get("dest_port")) for f in flows])


def check_rules(tap, name, run, m, rules, fp):
    reload_ev = [e for e in run.of_type("reload") if e.get("reload", {}).get("origin") == "startup"]
    loaded = reload_ev[0]["reload"] if reload_ev else {}
    tap.ok(loaded.get("rules_loaded") == len(rules) and loaded.get("rules_failed") == 0,
           "%s: all %d rules load" % (name, len(rules)),
           "loaded %s, failed %s: %s" % (loaded.get("rules_loaded"), loaded.get("rules_failed"),
                                         [x for x in loaded.get("errors", []) if "classification" not in x]))
    alerts = run.of_type("alert")
    client = lwtest.norm_ip(run.flows[0]["src_ip"]) if run.flows else None
    for r in rules:
        mine = [a for a in alerts if a.get("alert", {}).get("signature_id") == r.sid]
        tap.ok(len(mine) == r.count, "%s: sid %d alerts %d time(s)%s" % (
            name, r.sid, r.count, " (near miss)" if r.count == 0 else ""),
               "got %d: %s\n%s" % (len(mine), [a.get("tx_id") for a in mine], r.text))
        if not r.count:
            continue
        src = [lwtest.norm_ip(a.get("src_ip")) == client for a in mine]
        tap.ok(mine and all(s != r.to_client for s in src),
               "%s: sid %d: alerts from the %s" % (name, r.sid, "server" if r.to_client else "client"),
               [(a.get("src_ip"), a.get("dest_ip")) for a in mine])
        if not r.on_tx:
            continue
        tap.ok(sorted(a.get("tx_id", -1) for a in mine) == r.tx_ids,
               "%s: sid %d: one alert per transaction, tx_id %s" % (name, r.sid, r.tx_ids),
               [a.get("tx_id") for a in mine])
        tap.ok(mine and all(block_of(a, m) for a in mine),
               "%s: sid %d: the alert carries its transaction's %s block" % (name, r.sid, m["proto"]),
               json.dumps([a.get(m["proto"]) for a in mine])[:600])


def block_of(alert, m):
    """Whether alert's block is that of the transaction it names, as it
    stood when the rule matched (an SSH rule on the server's banner, sent
    first, sees no client yet)."""
    b, tx = alert.get(m["proto"]), alert.get("tx_id")
    if not isinstance(b, dict) or not isinstance(tx, int):
        return False
    p = m["proto"]
    if p == "http":
        return tx < len(m["txs"]) and b.get("url") == m["txs"][tx]["uri"]
    if p == "tls":
        return b.get("sni") == m["sni"]
    if p == "ssh":
        sides = [(side, m[side].split("-", 2)[2].split(" ")[0]) for side in ("client", "server") if side in b]
        return bool(sides) and all(b[side].get("software_version") == soft for side, soft in sides)
    reqs = [x for x in m["messages"] if x["type"] == "request"]
    return tx < len(reqs) and reqs[tx]["queries"][0][0] in json.dumps(b)


def check_schema(tap, name, run, schema, why):
    evs = [e for e in run.events if e.get("event_type") != "reload"]
    what = "%s: %d events conform to Suricata's EVE schema" % (name, len(evs))
    if schema is None:
        tap.ok(True, what + " # SKIP " + why)
        return
    bad = ["%s %s: %s" % (e.get("event_type"), p, msg) for e in evs for p, msg in schema.conflicts(e)]
    tap.ok(not bad, what, "\n".join(bad[:20]))


def main():
    tap = lwtest.Tap()
    lwtest.find_binary()
    src = lwtest.srcdir()
    schema, why = eveschema.load()
    with lwtest.TempDir("lwapplayer-") as tmp:
        cases = os.path.join(tmp, "cases")
        manifest = lwtest.generate_cases("gen_app_cases.py", cases)
        fps = {n: fingerprints(cases, m) for n, m in manifest.items() if m["proto"]}
        cls = os.path.join(src, "rules", "classification.config")
        for name in sorted(manifest):
            m = manifest[name]
            fp = dict(fps[name]) if m["proto"] else {}
            if name == "tls12_chain":
                fp["other_ja3"] = fps["tls13"]["ja3"][1]
            rules = rules_for(name, fp, m)
            rpath = os.path.join(tmp, name + ".rules")
            with open(rpath, "w") as f:
                f.write("\n".join(r.text for r in rules) + "\n")
            tap.note("%s: %s" % (name, m["what"]))
            run = lwtest.run_sensor(os.path.join(cases, m["pcap"]), os.path.join(tmp, "out-" + name),
                                    extra=["-S", rpath, "--set", "rules.classification-file=" + cls])
            san = run.sanitizer_report()
            if not tap.ok(run.rc == 0 and san is None, "%s: sensor exits 0, no sanitizer report" % name,
                          "rc=%d %s\n%s" % (run.rc, san or "", run.stderr[-2000:])):
                continue
            if m["proto"] == "http":
                check_http(tap, name, run, m)
            elif m["proto"] == "dns":
                check_dns(tap, name, run, m)
            elif m["proto"] == "tls":
                check_tls(tap, name, run, m, fp)
            elif m["proto"] == "ssh":
                check_ssh(tap, name, run, m, fp)
            else:
                check_none(tap, name, run, m)
            if m["proto"]:
                other = {t: len(run.of_type(t)) for t in APP_EVENTS
                         if t not in (m["proto"], "fileinfo" if m["proto"] == "http" else "") and run.of_type(t)}
                tap.ok(not other, "%s: no events of other protocols" % name, other)
            check_flow(tap, name, run, m)
            check_stats(tap, name, run, m)
            check_rules(tap, name, run, m, rules, fp)
            check_schema(tap, name, run, schema, why)
    tap.done()


if __name__ == "__main__":
    main()
