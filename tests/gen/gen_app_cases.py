#!/usr/bin/env python3
"""gen_app_cases.py - one capture per case of the application-layer
acceptance list (issue 17), with the values a correct sensor must log for
each: real TCP handshakes and closes, correct sequence and acknowledgement
numbers, and application bytes a real client and server would send.

Usage: gen_app_cases.py OUTDIR

Writes OUTDIR/<case>.pcap for every case and OUTDIR/expected.json:
  {"<case>": {"pcap": "<case>.pcap", "what": "...", "proto": "http"|...|null,
              "flows": N, ... what the traffic holds (below)}}
  http:  "txs": [{"method", "uri", "host", "port", "ua", "status", "protocol",
                  "req_body": {"size", "sha256", "name"} | null,
                  "resp_body": {"size", "sha256", "name"} | null,
                  "length": response body bytes on the wire}],
         the gap case also "gap_tx", "gap_bytes", and 16 body bytes seen before
         the hole and 16 lost in it ("before_gap_hex", "lost_hex")
  dns:   "messages": [{"type": "request"|"response", "id", "rcode",
                       "queries": [[name, type]], "answers": [[name, type, rdata]]}]
  tls:   "sni", "version", "cert": {subject, issuerdn, serial, fingerprint,
         notbefore, notafter} | null, "chain": [DER hex, ...]
  ssh:   "client": banner, "server": banner, "server_first": true
JA3, JA3S and hassh are not written here: the test computes them itself
from the capture's bytes.

The cases: keep-alive with three transactions (a gzip + chunked response to
the third), pipelined requests in one segment, a request split over many
segments with retransmissions and segments out of order, a response body
with a segment lost (a gap), TLS ending after ClientHello and ServerHello,
TLS 1.2 with a chain (the leaf and its intermediate CA), TLS 1.3, SSH with the server's
banner first, DNS over TCP with two queries, DNS over UDP with several
answers and compressed names, HTTP on port 8081 and on port 12345, and
Redis on port 8081 (no parser may take it).

Deterministic: fixed ISNs, times, randoms and keys (RSA keys from seeded
primes, PKCS#1 v1.5 signatures), so every run writes the same bytes.
Addresses: clients and the DNS resolver (10.0.0.53) in 10.0.0.0/8
($HOME_NET), the other servers in the documentation ranges 192.0.2.0/24,
198.51.100.0/24 and 203.0.113.0/24 ($EXTERNAL_NET); geolocation plays no part.
"""

import datetime
import gzip
import hashlib
import os
import random
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_rule_cases import Capture, write_expected  # noqa: E402
from scapy.layers.inet import IP, TCP, UDP       # noqa: E402
from scapy.layers.dns import DNS, DNSQR, DNSRR, DNSRRMX, dns_compress  # noqa: E402

MSS = 1448


class Tcp:
    """One TCP connection. Stream offsets count from the byte after the
    SYN; each direction remembers how far it has sent (sent) and how far
    the other side acknowledged it."""

    def __init__(self, cap, cli, cport, srv, sport, t0, isn):
        self.cap, self.addr, self.port = cap, (cli, srv), (cport, sport)
        self.isn = isn
        self.sent = [0, 0]
        self.fin = [False, False]
        self.t = t0
        self.ipid = [0x1000 + cport % 1000, 0x5000 + sport % 1000]

    def at(self, d, off, flags="PA", data=b"", dt=0.0004):
        """A segment of direction d (0 client, 1 server) at stream offset
        off, acknowledging all the other side sent so far. The send mark
        does not move: send() moves it."""
        src, dst = self.addr if d == 0 else self.addr[::-1]
        sp, dp = self.port if d == 0 else self.port[::-1]
        seq = self.isn[d] if "S" in flags else self.isn[d] + 1 + off
        other = self.sent[1 - d] + (1 if self.fin[1 - d] else 0)
        ack = self.isn[1 - d] + 1 + other if "A" in flags else 0
        opts = [("MSS", 1460)] if "S" in flags else []
        self.ipid[d] += 1
        pkt = IP(src=src, dst=dst, ttl=64 if d == 0 else 56, id=self.ipid[d] & 0xFFFF, flags="DF") / \
            TCP(sport=sp, dport=dp, seq=seq & 0xFFFFFFFF, ack=ack & 0xFFFFFFFF, flags=flags,
                window=64240, options=opts) / data
        self.cap.add(self.t, src, dst, pkt)
        self.t += dt

    def open(self):
        self.at(0, 0, "S")
        self.at(1, 0, "SA", dt=0.012)
        self.at(0, 0, "A")
        return self

    def send(self, d, data, mss=MSS, ack=True):
        """data from direction d in segments of at most mss bytes, then the
        other side's ACK."""
        for i in range(0, len(data), mss):
            self.at(d, self.sent[d], "PA", data[i:i + mss])
            self.sent[d] += len(data[i:i + mss])
        if ack:
            self.ack(1 - d)
        return self

    def ack(self, d):
        self.at(d, self.sent[d], "A", dt=0.008)
        return self

    def close(self, first=0):
        """FIN from first, the other side's FIN with its ACK, the last ACK."""
        for d in (first, 1 - first):
            self.at(d, self.sent[d], "FA")
            self.fin[d] = True
        self.at(first, self.sent[first] + 1, "A")
        return self


# ---------------------------------------------------------------- HTTP

UA_FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"


def request(method, uri, host, ua, extra=(), body=b""):
    lines = ["%s %s HTTP/1.1" % (method, uri), "Host: " + host]
    if ua:
        lines.append("User-Agent: " + ua)
    lines += list(extra)
    if body:
        lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def response(status, reason, body, ctype="text/html; charset=utf-8", extra=()):
    lines = ["HTTP/1.1 %d %s" % (status, reason), "Server: nginx/1.24.0",
             "Date: Sat, 01 Jun 2024 00:00:01 GMT", "Content-Type: " + ctype,
             "Content-Length: %d" % len(body)] + list(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def chunked(data, sizes):
    """data in chunks of the given sizes (the last takes the rest), the
    last-chunk and the empty trailer."""
    out, i = b"", 0
    for n in list(sizes) + [len(data)]:
        part = data[i:i + n]
        if not part:
            break
        out += b"%x\r\n" % len(part) + part + b"\r\n"
        i += len(part)
    return out + b"0\r\n\r\n"


def file_of(data, name):
    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "name": name}


def tx(method, uri, host, ua, status, req_body=b"", resp_body=b"", length=None, port=None, name=None,
       decoded=None):
    """Expected values of one HTTP transaction. decoded: the response
    body after dechunking and decompression, when it differs."""
    path = name or uri.split("?")[0]
    body = resp_body if decoded is None else decoded
    return {"method": method, "uri": uri, "host": host, "port": port, "ua": ua, "status": status,
            "protocol": "HTTP/1.1",
            "req_body": file_of(req_body, path) if req_body else None,
            "resp_body": file_of(body, path) if body else None,
            "length": len(resp_body) if length is None else length}


def page(rng, title, words, marker=""):
    vocab = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet",
             "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango"]
    text = " ".join(rng.choice(vocab) + str(rng.randrange(1000)) for _ in range(words))
    return ("<!DOCTYPE html>\n<html><head><title>%s</title></head>\n<body>\n%s<p>%s</p>\n</body></html>\n"
            % (title, marker, text)).encode()


def case_http_keepalive(cap):
    rng = random.Random("http_keepalive")
    host = "www.example.com"
    c = Tcp(cap, "10.0.1.10", 49152, "203.0.113.10", 80, 0.0, (0x1A2B3C4D, 0x7F000001)).open()
    body0 = page(rng, "Example Shop", 40)
    r0 = request("GET", "/index.html", host, UA_FIREFOX, ["Accept: text/html", "Connection: keep-alive"])
    c.send(0, r0).send(1, response(200, "OK", body0))
    uri1 = "/item.php?id=1%20UNION%20SELECT%20username,password%20FROM%20users--"
    ua1 = "sqlmap/1.7#stable (https://sqlmap.org)"
    body1 = b"<html><body><h1>Database error</h1></body></html>\n"
    c.send(0, request("GET", uri1, host, ua1, ["Accept: */*", "Connection: keep-alive"]))
    c.send(1, response(500, "Internal Server Error", body1))
    form = b"username=admin&password=hunter2&remember=on"
    r2 = request("POST", "/login.php", host, UA_FIREFOX,
                 ["Content-Type: application/x-www-form-urlencoded", "Connection: keep-alive"], form)
    # headers and body in separate segments, as browsers often send them
    head = r2[:len(r2) - len(form)]
    c.send(0, head, ack=False).send(0, form)
    body2 = page(rng, "Welcome", 900, "<h1>Welcome back, admin</h1>\n<p>session token 5f3c9a</p>\n")
    gz = gzip.compress(body2, compresslevel=9, mtime=0)
    wire = chunked(gz, [256, 1000, 700])
    hdr = ("HTTP/1.1 200 OK\r\nServer: nginx/1.24.0\r\nDate: Sat, 01 Jun 2024 00:00:02 GMT\r\n"
           "Content-Type: text/html; charset=utf-8\r\nContent-Encoding: gzip\r\n"
           "Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n").encode()
    c.send(1, hdr, ack=False).send(1, wire, mss=700)
    c.close(0)
    # libhtp counts a chunked body's length on the wire without the empty
    # trailer's CRLF (it is parsed as the end of the trailer headers)
    return {
        "what": "keep-alive: GET, a sqlmap GET, a form POST answered gzip + chunked",
        "proto": "http", "flows": 1, "server_port": 80,
        "txs": [tx("GET", "/index.html", host, UA_FIREFOX, 200, resp_body=body0),
                tx("GET", uri1, host, ua1, 500, resp_body=body1),
                tx("POST", "/login.php", host, UA_FIREFOX, 200, req_body=form, resp_body=wire,
                   length=len(wire) - 2, decoded=body2)],
        "gzip_len": len(gz),
    }


def case_http_pipelined(cap):
    host = "static.example.com"
    c = Tcp(cap, "10.0.1.11", 50123, "203.0.113.11", 80, 0.0, (0x01020304, 0xA0B0C0D0)).open()
    bodies = [b"body{color:#333}\n", b"console.log('ok');\n", b"User-agent: *\nDisallow: /private/\n"]
    uris = ["/css/site.css", "/js/app.js", "/robots.txt"]
    types = ["text/css", "application/javascript", "text/plain"]
    reqs = b"".join(request("GET", u, host, UA_FIREFOX, ["Accept: */*"]) for u in uris)
    c.send(0, reqs)
    c.send(1, b"".join(response(200, "OK", b, t) for b, t in zip(bodies, types)))
    c.close(0)
    return {
        "what": "three GETs pipelined in one segment, three responses in one segment",
        "proto": "http", "flows": 1, "server_port": 80,
        "txs": [tx("GET", u, host, UA_FIREFOX, 200, resp_body=b) for u, b in zip(uris, bodies)],
    }


def case_http_split(cap):
    """A request in 9-byte segments: some out of order, some sent again
    (the same bytes, once on the same boundaries, once overlapping two
    segments), and the last one retransmitted after the response."""
    host = "files.example.com"
    uri = "/download.php?file=report.pdf"
    ua = "Wget/1.21.3"
    req = request("GET", uri, host, ua, ["Accept: */*", "Accept-Encoding: identity", "Connection: Keep-Alive"])
    c = Tcp(cap, "10.0.1.12", 51000, "198.51.100.12", 80, 0.0, (0x33333333, 0x44444444)).open()
    n = 9
    segs = [(i, req[i:i + n]) for i in range(0, len(req), n)]
    order = [0, 1, 3, 2, 4, "re3-4", 5, 6, 8, 7, "re6", 9]
    order += list(range(10, len(segs)))
    for k in order:
        if k == "re3-4":
            off = segs[3][0]
            c.at(0, off, "PA", req[off:off + 2 * n])
        elif k == "re6":
            off, d = segs[6]
            c.at(0, off, "PA", d)
        else:
            off, d = segs[k]
            c.at(0, off, "PA", d)
            c.sent[0] = max(c.sent[0], off + len(d))
            if k in (4, 9):
                c.ack(1)
    c.ack(1)
    body = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    c.send(1, response(200, "OK", body, "application/pdf"))
    last_off, last = segs[-1]
    c.at(0, last_off, "PA", last)          # a late retransmission of the end of the request
    c.close(0)
    return {
        "what": "a request over %d segments of %d bytes, out of order and retransmitted" % (len(segs), n),
        "proto": "http", "flows": 1, "server_port": 80,
        "txs": [tx("GET", uri, host, ua, 200, resp_body=body, name="/download.php")],
        "segments": len(segs),
    }


def case_http_gap(cap):
    """A response body with one segment lost in capture (the client
    acknowledges it), then a second transaction on the connection."""
    rng = random.Random("http_gap")
    host = "mirror.example.org"
    c = Tcp(cap, "10.0.1.13", 52000, "192.0.2.13", 80, 0.0, (0x55555555, 0x66666666)).open()
    c.send(0, request("GET", "/pub/data.bin", host, "curl/8.4.0", ["Accept: */*"]))
    body = bytes(rng.randrange(256) for _ in range(4000))
    resp = response(200, "OK", body, "application/octet-stream")
    hdr_len = len(resp) - len(body)
    cut = [0, hdr_len + 1000, hdr_len + 2448, len(resp)]
    for i in range(3):
        if i != 1:                              # the middle segment is never captured
            c.at(1, cut[i], "PA", resp[cut[i]:cut[i + 1]])
    c.sent[1] = len(resp)
    c.ack(0)
    c.send(0, request("GET", "/pub/after.txt", host, "curl/8.4.0", ["Accept: */*"]))
    body2 = b"after the gap\n"
    c.send(1, response(200, "OK", body2, "text/plain"))
    c.close(0)
    return {
        "what": "a 4000-byte response body with 1448 bytes lost, then a second transaction",
        "proto": "http", "flows": 1, "server_port": 80,
        "txs": [tx("GET", "/pub/data.bin", host, "curl/8.4.0", 200, resp_body=body),
                tx("GET", "/pub/after.txt", host, "curl/8.4.0", 200, resp_body=body2)],
        "gap_bytes": cut[2] - cut[1], "gap_tx": 0,
        # 16 body bytes the sensor saw before the hole, and 16 it never saw
        "before_gap_hex": body[500:516].hex(" "), "lost_hex": resp[cut[1] + 500:cut[1] + 516].hex(" "),
    }


def case_http_port(cap, port, host_header):
    host = host_header.split(":")[0]
    c = Tcp(cap, "10.0.1.14", 53000 + port % 1000, "198.51.100.14", port, 0.0, (0x12345678, 0x9ABCDEF0)).open()
    uri = "/admin/config.php?action=backup"
    c.send(0, request("GET", uri, host_header, "curl/8.4.0", ["Accept: */*"]))
    body = b'{"status":"ok"}\n'
    c.send(1, response(200, "OK", body, "application/json"))
    c.close(0)
    p = int(host_header.split(":")[1]) if ":" in host_header else None
    return {
        "what": "HTTP on port %d (Host %s)" % (port, host_header),
        "proto": "http", "flows": 1, "server_port": port,
        "txs": [tx("GET", uri, host, "curl/8.4.0", 200, resp_body=body, port=p)],
    }


def case_redis_8081(cap):
    """The near miss of probing: 8081 is one of HTTP's ports, but this flow
    speaks Redis's protocol, which no parser takes."""
    c = Tcp(cap, "10.0.1.15", 54081, "198.51.100.15", 8081, 0.0, (0x0F0F0F0F, 0x1E1E1E1E)).open()
    c.send(0, b"*2\r\n$3\r\nGET\r\n$11\r\n/index.html\r\n")
    c.send(1, b"$-1\r\n")
    c.send(0, b"*1\r\n$4\r\nPING\r\n")
    c.send(1, b"+PONG\r\n")
    c.close(0)
    return {"what": "Redis commands on port 8081 (an HTTP port): no parser may take the flow",
            "proto": None, "flows": 1, "server_port": 8081}


def case_http_junk_request(cap):
    """Bytes that are no request, answered by an HTTP response (as
    suricata-verify http-not09-file): the client's side is no protocol we
    parse, the server's is HTTP, so the flow is HTTP and only the
    response is parsed (libhtp names the missing request's URI)."""
    c = Tcp(cap, "10.0.1.16", 54090, "198.51.100.16", 80, 0.0, (0x2A2A2A2A, 0x3B3B3B3B)).open()
    c.send(0, bytes(range(0x85, 0x85 + 64)) + bytes(range(0, 64)))
    body = b"<html><head><title>400 Bad Request</title></head><body>bad request</body></html>\n"
    c.send(1, response(400, "Bad Request", body, "text/html"))
    c.close(1)
    t = tx(None, "/libhtp::request_uri_not_seen", None, None, 400, resp_body=body)
    t["protocol"] = None
    # The flow event's app_proto is nDPI's verdict, which has no protocol for
    # this flow; libhtp reports the response it could not pair.
    return {"what": "a junk request answered by HTTP/1.1 400: HTTP from the response",
            "proto": "http", "flows": 1, "server_port": 80, "txs": [t], "flow_app_proto": "failed",
            "events": {"http.unable_to_match_response_to_request": 1}}


# ---------------------------------------------------------------- TLS

SMALL_PRIMES = [p for p in range(3, 2000) if all(p % q for q in range(2, int(p ** 0.5) + 1))]


def _probable_prime(n, rng):
    if any(n % p == 0 for p in SMALL_PRIMES):
        return False
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(24):
        x = pow(rng.randrange(2, n - 2), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def rsa_key(seed, bits=2048):
    """An RSA key from seeded primes: the same key on every run."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    rng = random.Random(seed)
    e = 65537
    primes = []
    while len(primes) < 2:
        n = rng.getrandbits(bits // 2) | (3 << (bits // 2 - 2)) | 1
        if (n - 1) % e and _probable_prime(n, rng):
            primes.append(n)
    p, q = primes
    d = pow(e, -1, (p - 1) * (q - 1))
    pub = rsa.RSAPublicNumbers(e, p * q)
    return rsa.RSAPrivateNumbers(p, q, d, d % (p - 1), d % (q - 1), pow(q, -1, p), pub).private_key()


ABBREV = {"commonName": "CN", "countryName": "C", "localityName": "L", "stateOrProvinceName": "ST",
          "organizationName": "O", "organizationalUnitName": "OU"}


def suricata_name(name):
    """A certificate name as Suricata's EVE writes it: RDNs in order, ", "
    between them."""
    return ", ".join(" + ".join("%s=%s" % (ABBREV[a.oid._name], a.value) for a in rdn) for rdn in name.rdns)


def make_chain():
    """Root CA -> intermediate CA -> www.example.org, RSA 2048 with SHA-256
    (PKCS#1 v1.5 signatures, deterministic).
    Returns ([leaf DER, intermediate DER], the leaf's expected EVE fields)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    def name(*attrs):
        return x509.Name([x509.NameAttribute(o, v) for o, v in attrs])

    root_key, int_key, leaf_key = rsa_key("root"), rsa_key("intermediate"), rsa_key("leaf")
    root_n = name((NameOID.COUNTRY_NAME, "US"), (NameOID.ORGANIZATION_NAME, "Example Trust"),
                  (NameOID.COMMON_NAME, "Example Root CA R1"))
    int_n = name((NameOID.COUNTRY_NAME, "US"), (NameOID.ORGANIZATION_NAME, "Example Trust"),
                 (NameOID.COMMON_NAME, "Example Issuing CA 2"))
    leaf_n = name((NameOID.COUNTRY_NAME, "US"), (NameOID.STATE_OR_PROVINCE_NAME, "California"),
                  (NameOID.LOCALITY_NAME, "San Francisco"), (NameOID.ORGANIZATION_NAME, "Example Org"),
                  (NameOID.COMMON_NAME, "www.example.org"))
    nb, na = datetime.datetime(2024, 1, 15, 8, 30, 0), datetime.datetime(2025, 2, 14, 8, 29, 59)
    leaf_serial = 0x0A1B2C3D4E5F60718293

    def build(subj, iss, pub, signer, serial, ca, san=None):
        b = (x509.CertificateBuilder().subject_name(subj).issuer_name(iss).public_key(pub)
             .serial_number(serial).not_valid_before(nb).not_valid_after(na)
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if san:
            b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(s) for s in san]), critical=False)
        return b.sign(signer, hashes.SHA256())

    # the root itself is not sent: servers send the leaf and the intermediate
    inter = build(int_n, root_n, int_key.public_key(), root_key, 2, True)
    leaf = build(leaf_n, int_n, leaf_key.public_key(), int_key, leaf_serial, False,
                 ["www.example.org", "example.org"])
    der = [leaf.public_bytes(serialization.Encoding.DER), inter.public_bytes(serialization.Encoding.DER)]
    fp = hashlib.sha1(der[0]).hexdigest()
    sb = leaf_serial.to_bytes((leaf_serial.bit_length() + 7) // 8, "big")
    cert = {"subject": suricata_name(leaf_n), "issuerdn": suricata_name(int_n),
            "serial": ":".join("%02X" % b for b in sb),
            "fingerprint": ":".join(fp[i:i + 2] for i in range(0, 40, 2)),
            "notbefore": nb.strftime("%Y-%m-%dT%H:%M:%S"), "notafter": na.strftime("%Y-%m-%dT%H:%M:%S")}
    return der, cert, leaf_key


def u8(n):
    return struct.pack(">B", n)


def u16(n):
    return struct.pack(">H", n)


def u24(n):
    return struct.pack(">I", n)[1:]


def vec8(b):
    return u8(len(b)) + b


def vec16(b):
    return u16(len(b)) + b


def ext(t, data):
    return u16(t) + vec16(data)


def handshake(t, body):
    return u8(t) + u24(len(body)) + body


def record(ctype, body, version=0x0303):
    out = b""
    for i in range(0, len(body), 16384):
        out += u8(ctype) + u16(version) + vec16(body[i:i + 16384])
    return out


def rand(seed, n):
    out = b""
    while len(out) < n:
        out += hashlib.sha256((seed + str(len(out))).encode()).digest()
    return out[:n]


def sni_ext(name):
    return ext(0, vec16(u8(0) + vec16(name.encode())))


def alpn_ext(protos):
    return ext(16, vec16(b"".join(vec8(p.encode()) for p in protos)))


SIGALGS = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601]


def client_hello(seed, sni, ciphers, exts, legacy=0x0303, rec_version=0x0301):
    body = u16(legacy) + rand(seed + "random", 32) + vec8(rand(seed + "sid", 32)) + \
        vec16(b"".join(u16(c) for c in ciphers)) + vec8(b"\x00") + vec16(b"".join(exts))
    return record(22, handshake(1, body), rec_version)


def server_hello(seed, cipher, exts, legacy=0x0303, sid=b""):
    body = u16(legacy) + rand(seed + "srandom", 32) + vec8(sid) + u16(cipher) + u8(0) + vec16(b"".join(exts))
    return handshake(2, body)


def chrome_hello(seed, sni):
    """A ClientHello shaped like a current Chrome's: GREASE values, TLS 1.3
    and 1.2 suites, key share, supported_versions."""
    g = [0x0A0A, 0x1A1A, 0x2A2A, 0x3A3A, 0x4A4A]
    ciphers = [g[0], 0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8, 0xC013, 0xC014,
               0x009C, 0x009D, 0x002F, 0x0035]
    exts = [ext(g[1], b""), sni_ext(sni), ext(23, b""), ext(0xFF01, b"\x00"),
            ext(10, vec16(b"".join(u16(x) for x in (g[2], 29, 23, 24)))), ext(11, vec8(b"\x00")),
            ext(35, b""), alpn_ext(["h2", "http/1.1"]), ext(5, b"\x01\x00\x00\x00\x00"),
            ext(13, vec16(b"".join(u16(x) for x in SIGALGS))), ext(18, b""),
            ext(51, vec16(u16(g[2]) + vec16(b"\x00") + u16(29) + vec16(rand(seed + "ks", 32)))),
            ext(45, vec8(b"\x01")), ext(43, vec8(b"".join(u16(x) for x in (g[3], 0x0304, 0x0303)))),
            ext(27, vec8(u16(2))), ext(g[4], b"\x00")]
    return client_hello(seed, sni, ciphers, exts)


def firefox12_hello(seed, sni):
    """A ClientHello of a client that offers TLS 1.2 only."""
    ciphers = [0xC02B, 0xC02F, 0xCCA9, 0xCCA8, 0xC02C, 0xC030, 0xC00A, 0xC009, 0xC013, 0xC014, 0x009C,
               0x009D, 0x002F, 0x0035]
    exts = [sni_ext(sni), ext(23, b""), ext(0xFF01, b"\x00"),
            ext(10, vec16(b"".join(u16(x) for x in (29, 23, 24, 25, 256, 257)))), ext(11, vec8(b"\x00")),
            ext(35, b""), alpn_ext(["h2", "http/1.1"]), ext(5, b"\x01\x00\x00\x00\x00"),
            ext(13, vec16(b"".join(u16(x) for x in SIGALGS))), ext(28, u16(16385))]
    return client_hello(seed, sni, ciphers, exts)


def python_hello(seed, sni):
    """A short ClientHello as a scripted client sends it."""
    ciphers = [0xC02F, 0xC030, 0xC02B, 0xC02C, 0x009E, 0x009F, 0xC027, 0xC028, 0x00FF]
    exts = [sni_ext(sni), ext(11, vec8(b"\x00\x01\x02")), ext(10, vec16(b"".join(u16(x) for x in (29, 23, 30,
                                                                                                   25, 24)))),
            ext(35, b""), ext(22, b""), ext(23, b""), ext(13, vec16(b"".join(u16(x) for x in SIGALGS)))]
    return client_hello(seed, sni, ciphers, exts)


def case_tls_nocert(cap):
    sni = "short.example.net"
    c = Tcp(cap, "10.0.2.10", 44010, "198.51.100.20", 443, 0.0, (0x0BADCAFE, 0x0DEFACED)).open()
    ch = python_hello("nocert", sni)
    c.send(0, ch)
    sh = server_hello("nocert", 0xC02F, [ext(0xFF01, b"\x00"), ext(11, vec8(b"\x00")), ext(23, b"")])
    c.send(1, record(22, sh))
    c.close(1)
    return {"what": "ClientHello and ServerHello, then FIN: no certificate", "proto": "tls", "flows": 1,
            "server_port": 443, "sni": sni, "version": "TLS 1.2", "cert": None, "chain": []}


def case_tls12_chain(cap):
    sni = "www.example.org"
    der, cert, key = make_chain()
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    c = Tcp(cap, "10.0.2.11", 44011, "198.51.100.21", 443, 0.0, (0x11112222, 0x33334444)).open()
    ch = firefox12_hello("tls12", sni)
    c.send(0, ch)
    sh = server_hello("tls12", 0xC02F, [ext(0xFF01, b"\x00"), ext(11, vec8(b"\x00")), ext(23, b""),
                                         alpn_ext(["h2"])], sid=rand("tls12-server-session", 32))
    certs = handshake(11, vec24(b"".join(vec24(d) for d in der)))
    # ECDHE (x25519) parameters signed with the leaf key
    params = u8(3) + u16(29) + vec8(rand("tls12-ske", 32))
    crand, srand = ch[11:43], sh[6:38]
    sig = key.sign(crand + srand + params, padding.PKCS1v15(), hashes.SHA256())
    ske = handshake(12, params + u16(0x0401) + vec16(sig))
    c.send(1, record(22, sh + certs + ske + handshake(14, b"")))
    c.send(0, record(22, handshake(16, vec8(rand("tls12-cke", 32)))) + record(20, b"\x01") +
           record(22, rand("tls12-cfin", 40)), ack=False)
    c.send(1, record(20, b"\x01") + record(22, rand("tls12-sfin", 40)))
    c.send(0, record(23, rand("tls12-req", 120)))
    c.send(1, record(23, rand("tls12-resp", 3000)))
    c.send(0, record(21, rand("tls12-alert", 26)), ack=False)
    c.close(0)
    return {"what": "TLS 1.2 with a leaf and an intermediate certificate", "proto": "tls", "flows": 1,
            "server_port": 443, "sni": sni, "version": "TLS 1.2", "cert": cert,
            "chain": [d.hex() for d in der]}


def vec24(b):
    return u24(len(b)) + b


def case_tls13(cap):
    sni = "api.example.com"
    c = Tcp(cap, "10.0.2.12", 44012, "203.0.113.22", 443, 0.0, (0x21212121, 0x43434343)).open()
    ch = chrome_hello("tls13", sni)
    c.send(0, ch)
    sid = ch[5 + 4 + 2 + 32 + 1:5 + 4 + 2 + 32 + 1 + 32]
    sh = server_hello("tls13", 0x1301, [ext(51, u16(29) + vec16(rand("tls13-sks", 32))), ext(43, u16(0x0304))],
                      sid=sid)
    # ServerHello, the compatibility ChangeCipherSpec, then only encrypted
    # records: EncryptedExtensions, Certificate, CertificateVerify, Finished
    c.send(1, record(22, sh) + record(20, b"\x01") + record(23, rand("tls13-ee", 2600)))
    c.send(0, record(20, b"\x01") + record(23, rand("tls13-cfin", 53)), ack=False)
    c.send(0, record(23, rand("tls13-req", 300)))
    c.send(1, record(23, rand("tls13-resp", 1800)))
    c.close(0)
    return {"what": "TLS 1.3: the certificate is encrypted", "proto": "tls", "flows": 1, "server_port": 443,
            "sni": sni, "version": "TLS 1.3", "cert": None, "chain": []}


# ---------------------------------------------------------------- SSH

def ssh_packet(payload, block=8):
    pad = block - (5 + len(payload)) % block
    if pad < 4:
        pad += block
    return struct.pack(">IB", 1 + len(payload) + pad, pad) + payload + bytes(pad)


def kexinit(seed, lists):
    p = u8(20) + rand(seed, 16)
    for s in lists:
        p += struct.pack(">I", len(s)) + s.encode()
    return ssh_packet(p + b"\x00" + bytes(4))


def case_ssh(cap):
    server = "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6"
    client = "SSH-2.0-PuTTY_Release_0.78"
    ckex = ["curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,diffie-hellman-group14-sha256,"
            "ext-info-c", "ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256",
            "aes256-ctr,aes256-cbc,aes192-ctr,aes128-ctr,chacha20-poly1305@openssh.com",
            "aes256-ctr,aes256-cbc,aes192-ctr,aes128-ctr,chacha20-poly1305@openssh.com",
            "hmac-sha2-256,hmac-sha1,hmac-sha2-512-etm@openssh.com", "hmac-sha2-256,hmac-sha1,hmac-sha2-512-etm@openssh.com",
            "none,zlib", "none,zlib", "", ""]
    skex = ["curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,sntrup761x25519-sha512@openssh.com,"
            "kex-strict-s-v00@openssh.com", "rsa-sha2-512,rsa-sha2-256,ecdsa-sha2-nistp256,ssh-ed25519",
            "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com",
            "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes256-gcm@openssh.com",
            "umac-64-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha1",
            "umac-128-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1",
            "none,zlib@openssh.com", "none,zlib@openssh.com", "", ""]
    c = Tcp(cap, "10.0.3.10", 45022, "192.0.2.22", 22, 0.0, (0x51515151, 0x62626262)).open()
    c.send(1, (server + "\r\n").encode())
    c.send(0, (client + "\r\n").encode())
    c.send(1, kexinit("ssh-s", skex))
    c.send(0, kexinit("ssh-c", ckex))
    c.send(0, ssh_packet(u8(30) + vec32(rand("ssh-ecdh-c", 32))))
    hostkey = vec32(b"ssh-ed25519") + vec32(rand("ssh-hostkey", 32))
    sig = vec32(b"ssh-ed25519") + vec32(rand("ssh-sig", 64))
    c.send(1, ssh_packet(u8(31) + vec32(hostkey) + vec32(rand("ssh-ecdh-s", 32)) + vec32(sig)) +
           ssh_packet(u8(21)))
    c.send(0, ssh_packet(u8(21)))
    c.send(0, rand("ssh-enc-c", 64))
    c.send(1, rand("ssh-enc-s", 96))
    c.send(0, rand("ssh-enc-c2", 128))
    c.close(0)
    return {"what": "SSH: the server's banner first, KEXINIT both ways, key exchange, encrypted packets",
            "proto": "ssh", "flows": 1, "server_port": 22, "client": client, "server": server,
            "server_first": True}


def vec32(b):
    return struct.pack(">I", len(b)) + b


# ---------------------------------------------------------------- DNS

def dns_expect(kind, m, queries, answers, rcode="NOERROR"):
    return {"type": kind, "id": m.id, "rcode": rcode, "queries": queries, "answers": answers}


def case_dns_tcp(cap):
    q1 = DNS(id=0x4D01, rd=1, qd=DNSQR(qname="www.example.com", qtype="A"))
    r1 = DNS(id=0x4D01, qr=1, rd=1, ra=1, qd=DNSQR(qname="www.example.com", qtype="A"),
             an=DNSRR(rrname="www.example.com", type="A", ttl=300, rdata="192.0.2.80"))
    q2 = DNS(id=0x4D02, rd=1, qd=DNSQR(qname="example.com", qtype="MX"))
    r2 = DNS(id=0x4D02, qr=1, rd=1, ra=1, qd=DNSQR(qname="example.com", qtype="MX"),
             an=DNSRRMX(rrname="example.com", type="MX", ttl=3600, preference=10, exchange="mail.example.com"))
    c = Tcp(cap, "10.0.4.10", 46053, "10.0.0.53", 53, 0.0, (0x70707070, 0x80808080)).open()
    for q, r in ((q1, r1), (q2, r2)):
        wq, wr = dns_compress(q), dns_compress(r)
        c.send(0, u16(len(wq)) + bytes(wq))
        c.send(1, u16(len(wr)) + bytes(wr))
    c.close(0)
    return {"what": "DNS over TCP: two queries and their responses on one connection", "proto": "dns",
            "flows": 1, "server_port": 53, "transport": "tcp",
            "messages": [
                dns_expect("request", q1, [["www.example.com", "A"]], []),
                dns_expect("response", r1, [["www.example.com", "A"]], [["www.example.com", "A", "192.0.2.80"]]),
                dns_expect("request", q2, [["example.com", "MX"]], []),
                dns_expect("response", r2, [["example.com", "MX"]], [["example.com", "MX", "mail.example.com"]])]}


def case_dns_udp(cap):
    q = DNS(id=0x7A11, rd=1, qd=DNSQR(qname="www.example.org", qtype="A"))
    r = DNS(id=0x7A11, qr=1, rd=1, ra=1, qd=DNSQR(qname="www.example.org", qtype="A"),
            an=DNSRR(rrname="www.example.org", type="CNAME", ttl=300, rdata="edge.cdn.example.net")
            / DNSRR(rrname="edge.cdn.example.net", type="A", ttl=60, rdata="192.0.2.31")
            / DNSRR(rrname="edge.cdn.example.net", type="A", ttl=60, rdata="192.0.2.32")
            / DNSRR(rrname="edge.cdn.example.net", type="A", ttl=60, rdata="192.0.2.33"))
    wq, wr = bytes(dns_compress(q)), bytes(dns_compress(r))
    if wr.count(b"\xc0") < 4:
        raise SystemExit("gen_app_cases: the DNS response is not compressed")
    cli, srv = "10.0.4.11", "10.0.0.53"
    cap.add(0.0, cli, srv, IP(src=cli, dst=srv, ttl=64, id=0x2001) / UDP(sport=47011, dport=53) / wq)
    cap.add(0.0043, srv, cli, IP(src=srv, dst=cli, ttl=64, id=0x3001) / UDP(sport=53, dport=47011) / wr)
    # a second query on the same flow that is never answered
    q2 = DNS(id=0x7A12, rd=1, qd=DNSQR(qname="noanswer.example.org", qtype="AAAA"))
    cap.add(0.0100, cli, srv, IP(src=cli, dst=srv, ttl=64, id=0x2002) / UDP(sport=47011, dport=53) /
            bytes(dns_compress(q2)))
    ans = [["www.example.org", "CNAME", "edge.cdn.example.net"]] + \
        [["edge.cdn.example.net", "A", "192.0.2.%d" % i] for i in (31, 32, 33)]
    return {"what": "DNS over UDP: a CNAME and three A records, names compressed; a query never answered",
            "proto": "dns", "flows": 1, "server_port": 53, "transport": "udp",
            "compression_pointers": wr.count(b"\xc0"),
            "messages": [dns_expect("request", q, [["www.example.org", "A"]], []),
                         dns_expect("response", r, [["www.example.org", "A"]], ans),
                         dns_expect("request", q2, [["noanswer.example.org", "AAAA"]], [])]}


CASES = [
    ("http_keepalive", case_http_keepalive),
    ("http_pipelined", case_http_pipelined),
    ("http_split", case_http_split),
    ("http_gap", case_http_gap),
    ("http_8081", lambda cap: case_http_port(cap, 8081, "intranet.example.com:8081")),
    ("http_12345", lambda cap: case_http_port(cap, 12345, "odd.example.com")),
    ("redis_8081", case_redis_8081),
    ("http_junk_request", case_http_junk_request),
    ("tls_nocert", case_tls_nocert),
    ("tls12_chain", case_tls12_chain),
    ("tls13", case_tls13),
    ("ssh_server_first", case_ssh),
    ("dns_tcp", case_dns_tcp),
    ("dns_udp", case_dns_udp),
]


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: gen_app_cases.py OUTDIR\n")
        return 2
    out = argv[1]
    os.makedirs(out, exist_ok=True)
    manifest = {}
    for name, fn in CASES:
        cap = Capture("linkwatch-app-" + name)
        info = fn(cap)
        info["pcap"] = name + ".pcap"
        cap.write(os.path.join(out, info["pcap"]))
        manifest[name] = info
    write_expected(out, manifest)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
