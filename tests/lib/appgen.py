"""appgen.py - application-layer sessions for the DNS, TLS and SSH parsers'
tests and fuzz seeds, in the input format of tests/fuzz/fuzz-app.h, with
the values a correct parser must find in them.

  encode(mode, frames)     the input bytes: a mode byte (DGRAM, SMALL,
                           TIGHT), then frames of [u16 length LE][ctl][data];
                           ctl bit 0 the direction (1: to the client), bit 1
                           a gap, bit 2 the direction's end
  dns_udp_session()        scapy-built queries and responses (compressed
                           names, several answers, SOA, OPT, MX, TXT, SRV)
  dns_tcp_session()        length-prefixed: two queries in one segment, one
                           split over three segments, the responses
  tls_session(version)     a real handshake between Python's ssl client and
                           server (MemoryBIO), TLS 1.2 or 1.3, with a two-
                           certificate chain made by `cryptography`
  ssh_session()            banners (the server's first), KEXINITs both ways,
                           key exchange, NEWKEYS, encrypted bytes
Each session function returns (frames, expect): expect holds what the
parser must report (names, JA3 string, hassh strings, certificate fields in
Suricata's forms).
"""

import datetime
import hashlib
import os
import ssl
import struct
import tempfile

DGRAM, SMALL, TIGHT = 1, 2, 4
TO_SERVER, TO_CLIENT, GAP, EOF = 0, 1, 2, 4
MAX_FRAME = 60000


def encode(mode, frames):
    """frames: [(ctl, bytes)]; long data is cut into several frames."""
    out = bytearray([mode])
    for ctl, data in frames:
        if ctl & GAP:
            n = len(data) if isinstance(data, (bytes, bytearray)) else int(data)
            while n > 0:
                k = min(n, MAX_FRAME)
                out += struct.pack("<H", k + 1) + bytes([ctl]) + bytes(k)
                n -= k
            continue
        chunks = [data[i:i + MAX_FRAME] for i in range(0, len(data), MAX_FRAME)] or [b""]
        for i, c in enumerate(chunks):
            last = i == len(chunks) - 1
            out += struct.pack("<H", len(c) + 1) + bytes([ctl if last else ctl & ~EOF]) + c
    return bytes(out)


# ---------------------------------------------------------------- DNS

def dns_udp_session():
    from scapy.layers.dns import DNS, DNSQR, DNSRR, DNSRRSOA, DNSRROPT, DNSRRMX, DNSRRSRV
    q1 = DNS(id=0x1111, rd=1, qd=DNSQR(qname="www.example.com", qtype="A"))
    r1 = DNS(id=0x1111, qr=1, rd=1, ra=1, qd=DNSQR(qname="www.example.com", qtype="A"),
             an=DNSRR(rrname="www.example.com", type="CNAME", ttl=300, rdata="cdn.example.net")
             / DNSRR(rrname="cdn.example.net", type="A", ttl=60, rdata="192.0.2.10")
             / DNSRR(rrname="cdn.example.net", type="A", ttl=60, rdata="192.0.2.11")
             / DNSRR(rrname="cdn.example.net", type="AAAA", ttl=60, rdata="2001:db8::1"),
             ns=DNSRRSOA(rrname="example.net", ttl=900, mname="ns1.example.net", rname="admin.example.net",
                         serial=7, refresh=3600, retry=600, expire=86400, minimum=60),
             ar=DNSRROPT(rclass=1232))
    q2 = DNS(id=0x2222, rd=1, qd=DNSQR(qname="example.org", qtype="MX"))
    r2 = DNS(id=0x2222, qr=1, rd=1, ra=1, qd=DNSQR(qname="example.org", qtype="MX"),
             an=DNSRRMX(rrname="example.org", type="MX", ttl=3600, preference=10, exchange="mail.example.org")
             / DNSRR(rrname="example.org", type="TXT", ttl=3600, rdata=[b"v=spf1 mx -all", b"second"])
             / DNSRRSRV(rrname="_sip._tcp.example.org", ttl=60, priority=1, weight=5, port=5060,
                        target="sip.example.org"))
    q3 = DNS(id=0x3333, rd=1, qd=DNSQR(qname="nx.example.com", qtype="AAAA"))
    r3 = DNS(id=0x3333, qr=1, rd=1, ra=1, rcode=3, qd=DNSQR(qname="nx.example.com", qtype="AAAA"))
    msgs = [(TO_SERVER, q1), (TO_CLIENT, r1), (TO_SERVER, q2), (TO_CLIENT, r2), (TO_SERVER, q3), (TO_CLIENT, r3)]
    frames = [(d, compress(m)) for d, m in msgs]
    expect = {
        "queries": ["www.example.com", "example.org", "nx.example.com"],
        "answers": {
            0x1111: [("www.example.com", "CNAME", "cdn.example.net"), ("cdn.example.net", "A", "192.0.2.10"),
                     ("cdn.example.net", "A", "192.0.2.11"),
                     ("cdn.example.net", "AAAA", "2001:0db8:0000:0000:0000:0000:0000:0001")],
            0x2222: [("example.org", "MX", "mail.example.org"), ("example.org", "TXT", "v=spf1 mx -all"),
                     ("example.org", "TXT", "second"), ("_sip._tcp.example.org", "SRV", None)],
            0x3333: [],
        },
        "rcodes": {0x1111: "NOERROR", 0x2222: "NOERROR", 0x3333: "NXDOMAIN"},
    }
    return frames, expect


def compress(m):
    """The message's wire form with names compressed."""
    from scapy.layers.dns import dns_compress
    return bytes(dns_compress(m))


def dns_tcp_session():
    from scapy.layers.dns import DNS, DNSQR, DNSRR
    names = ["one.example", "two.example", "three.example"]
    qs = [DNS(id=0x100 + i, rd=1, qd=DNSQR(qname=n)) for i, n in enumerate(names)]
    rs = [DNS(id=0x100 + i, qr=1, rd=1, ra=1, qd=DNSQR(qname=n),
              an=DNSRR(rrname=n, type="A", ttl=5, rdata="198.51.100.%d" % (i + 1))) for i, n in enumerate(names)]
    wire = [struct.pack(">H", len(compress(m))) + compress(m) for m in qs]
    third = wire[2]
    frames = [(TO_SERVER, wire[0] + wire[1]),
              (TO_SERVER, third[:1]), (TO_SERVER, third[1:9]), (TO_SERVER, third[9:])]
    for m in rs:
        w = compress(m)
        frames.append((TO_CLIENT, struct.pack(">H", len(w)) + w))
    return frames, {"queries": names}


# ---------------------------------------------------------------- TLS

ABBREV = {"commonName": "CN", "countryName": "C", "localityName": "L", "stateOrProvinceName": "ST",
          "organizationName": "O", "organizationalUnitName": "OU", "domainComponent": "DC",
          "emailAddress": "Email"}


def suricata_name(name):
    """A cryptography Name as Suricata writes it."""
    rdns = []
    for rdn in name.rdns:
        rdns.append(" + ".join("%s=%s" % (ABBREV.get(a.oid._name, a.oid._name), a.value) for a in rdn))
    return ", ".join(rdns)


def suricata_serial(cert_der_serial):
    return ":".join("%02X" % b for b in cert_der_serial)


def _der_integer(n):
    """The content bytes of n as a DER INTEGER (a leading 00 when the high bit is set)."""
    b = n.to_bytes(max(1, (n.bit_length() + 7) // 8), "big")
    return b"\x00" + b if b[0] & 0x80 else b


def make_chain(dirname):
    """A CA and a server certificate it signs (files in dirname): paths and
    the expected Suricata fields of the server certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def name(*attrs):
        return x509.Name([x509.RelativeDistinguishedName([x509.NameAttribute(o, v)]) for o, v in attrs])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([
        x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COUNTRY_NAME, "DE")]),
        x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test CA")]),
        x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "PKI"),
                                        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Roots")]),
        x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COMMON_NAME, "Test Root")]),
    ])
    srv_name = name((NameOID.COUNTRY_NAME, "DE"), (NameOID.STATE_OR_PROVINCE_NAME, "Berlin"),
                    (NameOID.ORGANIZATION_NAME, "Test, Inc."), (NameOID.COMMON_NAME, "tls.test.example"))
    nb = datetime.datetime(2023, 5, 6, 7, 8, 9)
    na = datetime.datetime(2033, 5, 6, 7, 8, 9)
    serial = 0xC0FFEE0123456789

    def build(subject, issuer, pub, signer, sn):
        return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(pub)
                .serial_number(sn).not_valid_before(nb).not_valid_after(na).sign(signer, hashes.SHA256()))
    ca = build(ca_name, ca_name, ca_key.public_key(), ca_key, 1)
    srv = build(srv_name, ca_name, key.public_key(), ca_key, serial)
    chain = os.path.join(dirname, "chain.pem")
    keyf = os.path.join(dirname, "key.pem")
    with open(chain, "wb") as f:
        f.write(srv.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM))
    with open(keyf, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    der = srv.public_bytes(serialization.Encoding.DER)
    fp = hashlib.sha1(der).hexdigest()
    expect = {
        "subject": suricata_name(srv_name), "issuerdn": suricata_name(ca_name),
        "serial": suricata_serial(_der_integer(serial)),
        "fingerprint": ":".join(fp[i:i + 2] for i in range(0, 40, 2)),
        "notbefore": nb.strftime("%Y-%m-%dT%H:%M:%S"), "notafter": na.strftime("%Y-%m-%dT%H:%M:%S"),
        "chain_len": 2,
    }
    return chain, keyf, expect


def _pump(bio_out, frames, direction, bio_in):
    data = bio_out.read()
    if data:
        frames.append((direction, data))
        bio_in.write(data)


def tls_session(version="1.2", sni="tls.test.example", alpn=("h2", "http/1.1")):
    """A whole TLS session between Python's client and server over memory
    BIOs: handshake, a request and a response, the client's close_notify."""
    tv = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}[version]
    with tempfile.TemporaryDirectory() as d:
        chain, keyf, expect = make_chain(d)
        sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        sctx.load_cert_chain(chain, keyf)
        cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        cctx.check_hostname = False
        cctx.verify_mode = ssl.CERT_NONE
        for c in (sctx, cctx):
            c.minimum_version = c.maximum_version = tv
            c.set_alpn_protocols(list(alpn))
        cin, cout, sin, sout = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
        cli = cctx.wrap_bio(cin, cout, server_hostname=sni)
        srv = sctx.wrap_bio(sin, sout, server_side=True)
        frames = []
        done = [False, False]
        for _ in range(20):
            for i, (s, out, peer_in, dirn) in enumerate(((cli, cout, sin, TO_SERVER), (srv, sout, cin, TO_CLIENT))):
                if not done[i]:
                    try:
                        s.do_handshake()
                        done[i] = True
                    except ssl.SSLWantReadError:
                        pass
                _pump(out, frames, dirn, peer_in)
            if all(done) and not cout.pending and not sout.pending:
                break
        cli.write(b"GET / HTTP/1.1\r\nHost: tls.test.example\r\n\r\n")
        _pump(cout, frames, TO_SERVER, sin)
        srv.read(1024)
        srv.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        _pump(sout, frames, TO_CLIENT, cin)
        try:
            cli.unwrap()
        except (ssl.SSLWantReadError, ssl.SSLError):
            pass
        _pump(cout, frames, TO_SERVER, sin)
    expect.update({"sni": sni, "version": "TLS 1.3" if version == "1.3" else "TLS 1.2",
                   "client_alpns": list(alpn), "ja3": ja3_of(frames[0][1])})
    if version == "1.3":
        for k in ("subject", "issuerdn", "serial", "fingerprint", "notbefore", "notafter"):
            expect.pop(k)
        expect["chain_len"] = 0
    return frames, expect


GREASE = {0x0a0a + 0x1010 * i for i in range(16)}


def ja3_of(record):
    """JA3 of the ClientHello in the first handshake record, by the ja3
    definition: version, ciphers, extension types, groups, point formats."""
    body = record[5 + 4:]
    ver = struct.unpack(">H", body[:2])[0]
    p = 34
    p += 1 + body[p]
    n = struct.unpack(">H", body[p:p + 2])[0]
    ciphers = [struct.unpack(">H", body[i:i + 2])[0] for i in range(p + 2, p + 2 + n, 2)]
    p += 2 + n
    p += 1 + body[p]
    end = p + 2 + struct.unpack(">H", body[p:p + 2])[0]
    p += 2
    exts, groups, formats = [], [], []
    while p < end:
        t, ln = struct.unpack(">HH", body[p:p + 4])
        d = body[p + 4:p + 4 + ln]
        if t not in GREASE:
            exts.append(t)
        if t == 10:
            groups = [struct.unpack(">H", d[i:i + 2])[0] for i in range(2, len(d), 2)]
        if t == 11:
            formats = list(d[1:])
        p += 4 + ln

    def j(vals):
        return "-".join(str(v) for v in vals if v not in GREASE)
    return "%d,%s,%s,%s,%s" % (ver, j(ciphers), j(exts), j(groups), j(formats))


# ---------------------------------------------------------------- SSH

def _ssh_packet(payload):
    pad = 8 - (5 + len(payload)) % 8
    if pad < 4:
        pad += 8
    return struct.pack(">IB", 1 + len(payload) + pad, pad) + payload + bytes(pad)


def _kexinit(lists):
    p = bytes([20]) + os.urandom(16)
    for s in lists:
        p += struct.pack(">I", len(s)) + s.encode()
    return _ssh_packet(p + b"\x00" + bytes(4))


def ssh_session():
    client = ["curve25519-sha256,diffie-hellman-group14-sha256,ext-info-c", "ssh-ed25519,rsa-sha2-256",
              "chacha20-poly1305@openssh.com,aes256-ctr", "aes128-ctr", "hmac-sha2-256-etm@openssh.com",
              "hmac-sha1", "none,zlib@openssh.com", "none", "", ""]
    server = ["curve25519-sha256,kex-strict-s-v00@openssh.com", "rsa-sha2-512", "aes128-ctr",
              "aes256-gcm@openssh.com,aes128-ctr", "hmac-sha1", "umac-128-etm@openssh.com", "none",
              "none,zlib@openssh.com", "", ""]
    sb, cb = b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u2\r\n", b"SSH-2.0-Go\r\n"
    frames = [(TO_CLIENT, sb), (TO_SERVER, cb + _kexinit(client)), (TO_CLIENT, _kexinit(server)),
              (TO_SERVER, _ssh_packet(bytes([30]) + os.urandom(36))),
              (TO_CLIENT, _ssh_packet(bytes([31]) + os.urandom(200)) + _ssh_packet(bytes([21]))),
              (TO_SERVER, _ssh_packet(bytes([21])) + os.urandom(96)), (TO_CLIENT, os.urandom(300))]
    hc = ";".join([client[0], client[2], client[4], client[6]])
    hs = ";".join([server[0], server[3], server[5], server[7]])
    expect = {
        "client": {"proto_version": "2.0", "software_version": "Go",
                   "hassh": {"hash": hashlib.md5(hc.encode()).hexdigest(), "string": hc}},
        "server": {"proto_version": "2.0", "software_version": "OpenSSH_9.2p1",
                   "hassh": {"hash": hashlib.md5(hs.encode()).hexdigest(), "string": hs}},
    }
    return frames, expect
