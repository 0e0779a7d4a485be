#!/usr/bin/env python3
"""test_app_tshark.py - the TLS, HTTP, DNS and SSH values of the sensor's
application-layer events on every corpus capture, held against what
Wireshark's dissectors extract from the same capture (tshark -T fields).

Per capture: one sensor run (default configuration, no rules) and one
tshark run over the packets that carry a ClientHello or ServerHello, an
HTTP request or response, a DNS message or an SSH banner. tshark's rows are
matched to our flows by 5-tuple (either orientation, tunnels by their
innermost addresses) and time (the packet inside the flow's start..end),
and then compared flow by flow:

  TLS   SNI; JA3 string and hash (tshark's ja3_full, ja3); JA3S (ja3s_full,
        ja3s), from the first ClientHello and ServerHello of the flow
  HTTP  per request, in order: method, URI, host (as libhtp normalises it:
        lower case, no port, no trailing dot; from an absolute URI first),
        user agent; per response, in order: status code
  DNS   per message id: the questions (name, type) of the request; the
        response's records of types A, AAAA, CNAME, PTR, NS and MX (type,
        data) over all sections
  SSH   protocol and software version of the client and of the server
        (by the direction each banner travelled)

A value tshark has and we do not (or differ on) is a disagreement; a flow
tshark dissects and we do not parse at all is one too. Every disagreement
must be listed in EXPLAINED with its cause, else the test fails; the
agreement figures are printed per protocol and field. A value only we have
(tshark did not dissect the flow: a protocol on a port it does not try) is
counted, not compared. SKIP when the corpus or tshark is missing.
"""

import collections
import glob
import ipaddress
import json
import os
import shutil
import subprocess

import lwtest

SEP = "\x1e"          # tshark's aggregator between occurrences of one field

FIELDS = ["frame.number", "frame.time_epoch", "frame.protocols", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "tcp.srcport",
          "tcp.dstport", "udp.srcport", "udp.dstport",
          "tls.handshake.type", "tls.handshake.extensions_server_name", "tls.handshake.ja3_full",
          "tls.handshake.ja3", "tls.handshake.ja3s_full", "tls.handshake.ja3s",
          "http.request.method", "http.request.uri", "http.host", "http.user_agent", "http.response.code",
          "dns.id", "dns.flags.response", "dns.qry.name", "dns.qry.type", "dns.a", "dns.aaaa", "dns.cname",
          "dns.ptr.domain_name", "dns.ns", "dns.mx.mail_exchange",
          "ssh.protocol"]

FILTER = ("tls.handshake.type == 1 || tls.handshake.type == 2 || http.request || http.response || dns || "
          "ssh.protocol")

# IANA's names of the DNS types (tshark gives numbers)
DNS_TYPES = dict(enumerate("- A NS MD MF CNAME SOA MB MG MR NULL WKS PTR HINFO MINFO MX TXT RP AFSDB X25 ISDN "
                           "RT NSAP NSAPPTR SIG KEY PX GPOS AAAA LOC NXT - - SRV ATMA NAPTR KX CERT A6 DNAME - "
                           "OPT APL DS SSHFP IPSECKEY RRSIG NSEC DNSKEY DHCID NSEC3 NSEC3PARAM TLSA".split()))
DNS_TYPES.update({55: "HIP", 59: "CDS", 60: "CDNSKEY", 65: "HTTPS", 99: "SPF", 249: "TKEY", 250: "TSIG",
                  254: "MAILA", 255: "ANY", 256: "URI"})
ANSWER_FIELDS = [("A", "dns.a"), ("AAAA", "dns.aaaa"), ("CNAME", "dns.cname"), ("PTR", "dns.ptr.domain_name"),
                 ("NS", "dns.ns"), ("MX", "dns.mx.mail_exchange")]

# ---------------------------------------------------------------- explained
#
# (capture, protocol, field) -> (why we differ from tshark there, a check
# that the disagreement is of that kind: (where, ours, theirs) -> bool). A
# disagreement is explained when its entry's check holds; the test fails on
# one that is not, and on an entry that explains nothing (so the table stays
# true).
def where_has(text):
    return lambda where, ours, theirs: text in where


def ours_none(where, ours, theirs):
    return ours is None


def same_ascii(where, ours, theirs):
    """The same text once the non-ASCII characters are dropped: tshark
    writes a run of bytes that is not UTF-8 as fewer U+FFFD than there are
    bytes (one per maximal invalid sequence), our JSON writer one \\u00XX per byte."""
    def strip(v):
        return json.dumps(v).replace("?", "")
    return strip(ours) == strip(theirs)


NOT_TCP_TLS = "the ClientHello is not at the start of a TCP stream, where the TLS parser looks for it: "
EXPLAINED = {
    ("1kxun.pcap", "http", "flow parsed"): (
        "SSDP (M-SEARCH and NOTIFY over UDP 1900 to 239.255.255.250): HTTP over UDP, which tshark "
        "dissects; Suricata's HTTP parser, like ours, is TCP only.", where_has(":1900")),
    ("1kxun.pcap", "http", "status"): (
        "the flow was picked up mid-stream inside a response body: libhtp takes the leading body bytes "
        "as the first response and finds no later status line, where tshark resynchronises on each "
        "'HTTP/1.1 200'. Suricata with its default stream.midstream: false logs nothing of such a flow.",
        ours_none),
    ("dns-tunnel-iodine.pcap", "dns", "queries"): (
        "iodine's names are raw binary labels: the ASCII text is the same, but tshark shows an invalid "
        "UTF-8 run as one U+FFFD and we write each byte (\\u00XX), so the lengths differ.", same_ascii),
    ("dns-tunnel-iodine.pcap", "dns", "response queries"): (
        "as for the queries: binary labels rendered differently.", same_ascii),
    ("dns.pcap", "dns", "flow parsed"): (
        "the flow's first packet is a response from port 53 (the capture starts mid-conversation): the "
        "stage probes the first packet as the client's and finds no request; Suricata's DNS probe "
        "reverses the flow's direction there. Not done: reported to the lead.", where_has(":53-")),
    ("dlt_ppp.pcap", "tls", "flow parsed"): (
        "the capture holds one packet of the flow (a ClientHello) without its handshake or an "
        "acknowledgement: reassembly releases nothing to the parser (Suricata, with midstream off by "
        "default, would not parse it either).", where_has(":443")),
    ("ftp-start-tls.pcap", "tls", "flow parsed"): (
        NOT_TCP_TLS + "FTP AUTH TLS switches to TLS after FTP commands; there is no FTP parser to hand "
        "over (not in issue 17).", where_has(":21")),
    ("smtp-starttls.pcap", "tls", "flow parsed"): (
        NOT_TCP_TLS + "SMTP STARTTLS switches to TLS after SMTP commands; there is no SMTP parser to hand "
        "over (not in issue 17).", where_has(":25")),
    ("http_connect.pcap", "tls", "flow parsed"): (
        NOT_TCP_TLS + "TLS inside an HTTP CONNECT tunnel. Suricata re-detects the protocol after a 2xx "
        "CONNECT (a protocol change) and logs the tunnel's TLS; our stage keeps the flow HTTP. Not done: "
        "reported to the lead.", where_has(":8080")),
    ("openvpn.pcap", "tls", "flow parsed"): (
        NOT_TCP_TLS + "TLS inside OpenVPN's control channel, which tshark dissects through OpenVPN's "
        "framing.", where_has(":1194")),
    ("quic-29.pcap", "tls", "flow parsed"): (
        "QUIC: the ClientHello travels in QUIC Initial packets that tshark decrypts; no QUIC parser here "
        "(Suricata's is separate, not in issue 17).", where_has(":443")),
    ("quic-v2.pcapng", "tls", "flow parsed"): ("QUIC, as quic-29.pcap.", where_has(":4443")),
    ("quic_0RTT.pcap", "tls", "flow parsed"): ("QUIC, as quic-29.pcap.", where_has("443")),
}


# ---------------------------------------------------------------- tshark

def tshark_rows(pcap):
    r = subprocess.run(["tshark", "-n", "-r", pcap, "-Y", FILTER, "-T", "fields", "-E", "separator=/t",
                        "-E", "aggregator=" + SEP, "-E", "occurrence=a"] + sum([["-e", f] for f in FIELDS], []),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    rows = []
    for line in r.stdout.decode("utf-8", "replace").splitlines():
        vals = line.split("\t")
        if len(vals) != len(FIELDS):
            continue
        rows.append({f: [x for x in v.split(SEP)] if v else [] for f, v in zip(FIELDS, vals)})
    return r.returncode, rows


def norm_ip(a):
    try:
        return str(ipaddress.ip_address(a))
    except ValueError:
        return a


def row_key(row):
    """(l4, frozenset of the two endpoints), (src, sport): the innermost
    addresses when the packet is tunnelled."""
    layers = (row["frame.protocols"] or [""])[0].split(":")
    inner6 = "ipv6" in layers and ("ip" not in layers or layers[::-1].index("ipv6") < layers[::-1].index("ip"))
    src = row["ipv6.src"] if inner6 else row["ip.src"]
    dst = row["ipv6.dst"] if inner6 else row["ip.dst"]
    if row["tcp.srcport"]:
        l4, sp, dp = "TCP", row["tcp.srcport"], row["tcp.dstport"]
    elif row["udp.srcport"]:
        l4, sp, dp = "UDP", row["udp.srcport"], row["udp.dstport"]
    else:
        return None, None
    if not src or not dst or not sp or not dp:
        return None, None
    a, b = (norm_ip(src[-1]), int(sp[-1])), (norm_ip(dst[-1]), int(dp[-1]))
    return (l4, frozenset((a, b))), a


# ---------------------------------------------------------------- our events

def parse_time(s):
    import datetime
    return datetime.datetime.strptime(s[:26], "%Y-%m-%dT%H:%M:%S.%f").replace(
        tzinfo=datetime.timezone.utc).timestamp() - tz_offset(s)


def tz_offset(s):
    sign = 1 if s[26] == "+" else -1
    return sign * (int(s[27:29]) * 3600 + int(s[29:31]) * 60)


class Flows:
    """Our flows by 5-tuple, with their app events (by flow_id)."""

    def __init__(self, events):
        self.by_key = collections.defaultdict(list)
        self.app = collections.defaultdict(lambda: collections.defaultdict(list))
        for e in events:
            t = e.get("event_type")
            if t == "flow" and e.get("proto") in ("TCP", "UDP"):
                a = (norm_ip(e["src_ip"]), e["src_port"])
                b = (norm_ip(e["dest_ip"]), e["dest_port"])
                f = e["flow"]
                self.by_key[(e["proto"], frozenset((a, b)))].append(
                    (parse_time(f["start"]), parse_time(f["end"]), e["flow_id"], a, b))
            elif t in ("http", "dns", "tls", "ssh") and "flow_id" in e:
                self.app[e["flow_id"]][t].append(e)

    def find(self, key, ts):
        """(flow_id, client, server) of the flow with key alive at ts."""
        for start, end, fid, cli, srv in self.by_key.get(key, []):
            if start - 1e-6 <= ts <= end + 1e-6:
                return fid, cli, srv
        return None


# ---------------------------------------------------------------- comparison

class Tally:
    def __init__(self):
        self.agree = collections.Counter()
        self.differ = []            # (capture, proto, field, where, ours, theirs)
        self.ours_only = collections.Counter()
        self.flows = collections.Counter()

    def cmp(self, cap, proto, field, where, ours, theirs):
        ours, theirs = fold(ours), fold(theirs)
        if theirs is None or theirs == "" or theirs == []:
            if ours not in (None, "", []):
                self.ours_only[(proto, field)] += 1
            return
        if ours == theirs:
            self.agree[(proto, field)] += 1
        else:
            self.differ.append((cap, proto, field, where, ours, theirs))


def fold(v):
    """v with every non-ASCII character as '?' (in strings, nested in
    lists): tshark shows a byte that is not UTF-8 as U+FFFD, our EVE (and
    Suricata's) otherwise, so only the ASCII text and its length compare."""
    if isinstance(v, str):
        return "".join(c if ord(c) < 128 else "?" for c in v)
    if isinstance(v, (list, tuple)):
        return [fold(x) for x in v]
    return v


def first(row, f):
    v = row[f]
    return v[0] if v else None


def software(banner):
    """(proto_version, software_version) as Suricata splits a banner."""
    if not banner or not banner.startswith("SSH-"):
        return None, None
    rest = banner[4:].rstrip("\r\n")
    proto, _, sw = rest.partition("-")
    return proto, sw.split(" ")[0]


def compare_tls(t, cap, where, rows, ours):
    ch = next((r for r in rows if "1" in r["tls.handshake.type"]), None)
    sh = next((r for r in rows if "2" in r["tls.handshake.type"]), None)
    tls = ours[0]["tls"] if ours else {}
    if ch:
        t.cmp(cap, "tls", "sni", where, tls.get("sni"), first(ch, "tls.handshake.extensions_server_name"))
        t.cmp(cap, "tls", "ja3", where, (tls.get("ja3") or {}).get("string"), first(ch, "tls.handshake.ja3_full"))
        t.cmp(cap, "tls", "ja3 hash", where, (tls.get("ja3") or {}).get("hash"), first(ch, "tls.handshake.ja3"))
    if sh:
        t.cmp(cap, "tls", "ja3s", where, (tls.get("ja3s") or {}).get("string"),
              first(sh, "tls.handshake.ja3s_full"))
        t.cmp(cap, "tls", "ja3s hash", where, (tls.get("ja3s") or {}).get("hash"), first(sh, "tls.handshake.ja3s"))


def libhtp_host(uri, host):
    if uri and uri.lower().startswith(("http://", "https://")):
        host = uri.split("//", 1)[1].split("/", 1)[0].split("@")[-1]
    if host is None:
        return None
    h = host.strip().lower()
    if h.startswith("["):
        h = h[1:h.find("]")] if "]" in h else h
    elif h.count(":") == 1:
        h = h.split(":")[0]
    return h.rstrip(".")


def compare_http(t, cap, where, rows, ours):
    reqs = [r for r in rows if r["http.request.method"]]
    # libhtp (and so Suricata) passes over interim 1xx responses: a
    # transaction's status is its final one
    resps = [r for r in rows if r["http.response.code"] and not r["http.response.code"][0].startswith("1")]
    txs = sorted((e for e in ours), key=lambda e: e.get("tx_id", 0))
    if len(reqs) != len([e for e in txs if e["http"].get("http_method")]):
        t.differ.append((cap, "http", "requests", where, len(txs), len(reqs)))
    for i, r in enumerate(reqs):
        h = txs[i]["http"] if i < len(txs) else {}
        w = "%s tx %d" % (where, i)
        uri = first(r, "http.request.uri")
        t.cmp(cap, "http", "method", w, h.get("http_method"), first(r, "http.request.method"))
        t.cmp(cap, "http", "uri", w, h.get("url"), uri)
        t.cmp(cap, "http", "host", w, h.get("hostname"), libhtp_host(uri, first(r, "http.host")))
        t.cmp(cap, "http", "user agent", w, h.get("http_user_agent"), first(r, "http.user_agent"))
    for i, r in enumerate(resps):
        h = txs[i]["http"] if i < len(txs) else {}
        code = first(r, "http.response.code")
        t.cmp(cap, "http", "status", "%s tx %d" % (where, i), h.get("status"), int(code) if code else None)


def dns_type(v):
    try:
        n = int(v)
    except (TypeError, ValueError):
        return v
    return DNS_TYPES.get(n, str(n))


def norm_rdata(rtype, v):
    if rtype in ("A", "AAAA"):
        return norm_ip(v)
    return v.rstrip(".") if v else v


def compare_dns(t, cap, where, rows, ours):
    ours_q = {e["dns"].get("id"): e["dns"] for e in ours if e["dns"].get("type") == "request"}
    ours_r = {e["dns"].get("id"): e["dns"] for e in ours if e["dns"].get("type") == "response"}
    for r in rows:
        if len(r["dns.id"]) != 1:
            continue                                # several messages in one segment: not split here
        qid = int(r["dns.id"][0], 16) if r["dns.id"][0].startswith("0x") else int(r["dns.id"][0])
        resp = r["dns.flags.response"] and r["dns.flags.response"][0] in ("1", "True")
        w = "%s id %d" % (where, qid)
        theirs_q = [[n, dns_type(ty)] for n, ty in zip(r["dns.qry.name"], r["dns.qry.type"])]
        mine = (ours_r if resp else ours_q).get(qid, {})
        t.cmp(cap, "dns", "response queries" if resp else "queries", w,
              [[q.get("rrname"), q.get("rrtype")] for q in mine.get("queries", [])], theirs_q)
        if not resp:
            continue
        theirs_a = sorted((ty, norm_rdata(ty, v)) for ty, f in ANSWER_FIELDS for v in r[f])
        recs = mine.get("answers", []) + mine.get("authorities", []) + mine.get("additionals", [])
        mine_a = sorted((a.get("rrtype"), norm_rdata(a.get("rrtype"), a.get("rdata")))
                        for a in recs if a.get("rrtype") in dict(ANSWER_FIELDS))
        t.cmp(cap, "dns", "answers", w, mine_a, theirs_a)


def compare_ssh(t, cap, where, rows, ours, cli):
    s = ours[0]["ssh"] if ours else {}
    for side in ("client", "server"):
        banner = next((first(r, "ssh.protocol") for r in rows
                       if (row_key(r)[1] == cli) == (side == "client") and r["ssh.protocol"]), None)
        proto, sw = software(banner)
        mine = s.get(side) or {}
        t.cmp(cap, "ssh", side + " proto", where, mine.get("proto_version"), proto)
        t.cmp(cap, "ssh", side + " software", where, mine.get("software_version"), sw)


def proto_of(row):
    if row["tls.handshake.type"]:
        return "tls"
    if row["http.request.method"] or row["http.response.code"]:
        return "http"
    if row["dns.id"]:
        return "dns"
    if row["ssh.protocol"]:
        return "ssh"
    return None


def compare_capture(t, cap, rows, flows):
    groups = collections.defaultdict(list)
    unmatched = 0
    for r in rows:
        key, _ = row_key(r)
        p = proto_of(r)
        if key is None or p is None:
            continue
        hit = flows.find(key, float(r["frame.time_epoch"][0]))
        if hit is None:
            unmatched += 1
            continue
        groups[(hit, p)].append(r)
    seen = {(fid, p) for ((fid, _, _), p) in groups}
    for fid, kinds in flows.app.items():
        for p, evs in kinds.items():
            if evs and (fid, p) not in seen:
                t.flows[(p, "ours only")] += 1
    for ((fid, cli, srv), p), rows_ in sorted(groups.items(), key=lambda x: (str(x[0][0][0]), x[0][1])):
        ours = flows.app[fid][p]
        where = "%s:%d-%s:%d" % (cli[0], cli[1], srv[0], srv[1])
        t.flows[(p, "both" if ours else "tshark only")] += 1
        if not ours:
            t.differ.append((cap, p, "flow parsed", where, None, "%d packet(s)" % len(rows_)))
            continue
        if p == "tls":
            compare_tls(t, cap, where, rows_, ours)
        elif p == "http":
            compare_http(t, cap, where, rows_, ours)
        elif p == "dns":
            compare_dns(t, cap, where, rows_, ours)
        else:
            compare_ssh(t, cap, where, rows_, ours, cli)
    return unmatched


def main():
    tap = lwtest.Tap()
    lwtest.find_binary()
    corpus = lwtest.find_corpus()
    if shutil.which("tshark") is None:
        lwtest.skip("tshark not installed (Debian package tshark)")
    only = os.environ.get("LW_CORPUS_ONLY")
    pcaps = sorted(glob.glob(os.path.join(corpus, "pcaps", "*.pcap")) +
                   glob.glob(os.path.join(corpus, "pcaps", "*.pcapng")))
    if only:
        pcaps = [p for p in pcaps if os.path.basename(p) in only.split(",")]
    t = Tally()
    with lwtest.TempDir("lwtshark-") as tmp:
        for pcap in pcaps:
            cap = os.path.basename(pcap)
            run = lwtest.run_sensor(pcap, os.path.join(tmp, "out-" + cap))
            if run.sanitizer_report():
                tap.ok(False, "%s: no sanitizer report" % cap, run.sanitizer_report())
            rc, rows = tshark_rows(pcap)
            unmatched = compare_capture(t, cap, rows, Flows(run.events))
            if unmatched:
                tap.note("%s: %d tshark row(s) match no flow of ours" % (cap, unmatched))
    report(tap, t)
    tap.done()


def report(tap, t):
    fields = sorted(set(t.agree) | {(d[1], d[2]) for d in t.differ} | set(t.ours_only))
    total_a = sum(t.agree.values())
    tap.note("flows compared: %s" % ", ".join("%s %s %d" % (p, k, n) for (p, k), n in sorted(t.flows.items())))
    for pf in fields:
        d = sum(1 for x in t.differ if (x[1], x[2]) == pf)
        a = t.agree[pf]
        tap.note("%-5s %-17s agree %5d, differ %4d (%5.1f%%), ours only %d" %
                 (pf[0], pf[1], a, d, 100.0 * a / (a + d) if a + d else 100.0, t.ours_only[pf]))
    tap.note("all values: %d agree, %d differ (%.2f%% agreement)" %
             (total_a, len(t.differ), 100.0 * total_a / (total_a + len(t.differ)) if t.differ else 100.0))
    unexplained, used = [], collections.Counter()
    for d in t.differ:
        k = (d[0], d[1], d[2])
        if k in EXPLAINED and EXPLAINED[k][1](d[3], d[4], d[5]):
            used[k] += 1
        else:
            unexplained.append(d)
    for k in sorted(used):
        tap.note("explained: %s %s %s (%d): %s" % (k[0], k[1], k[2], used[k], EXPLAINED[k][0]))
    tap.ok(total_a > 100, "tshark and the sensor share values to compare", total_a)
    tap.ok(not unexplained, "every disagreement with tshark is explained (%d of %d)" %
           (len(t.differ) - len(unexplained), len(t.differ)),
           "\n".join("%s %s %s at %s: ours %s, tshark %s" % (c, p, f, w, json.dumps(o)[:200], json.dumps(th)[:200])
                     for c, p, f, w, o, th in unexplained[:int(os.environ.get("LW_TSHARK_LIST", "60"))]))
    stale = sorted(set(EXPLAINED) - set(used))
    tap.ok(not stale, "every EXPLAINED entry still explains a disagreement", stale)


if __name__ == "__main__":
    main()
