"""appfp.py - the fingerprints of TLS and SSH sessions, computed here from
a capture's bytes (not by the sensor), for the tests to hold the sensor's
values against.

  streams(pcap, port)     {flow key: [client bytes, server bytes]} of the
                          TCP flows with port as either port (reassembled
                          by tests/lib/appstreams.py, gaps left out)
  handshakes(stream)      [(type, body)]: the TLS handshake messages at the
                          start of one direction, until its first record
                          that is not a handshake
  ja3(ch) / ja3s(sh)      (string, md5) of a ClientHello / ServerHello body
                          by the JA3 definition (GREASE values left out)
  certificates(body)      [DER] of a Certificate message (TLS 1.2)
  ssh_banner(stream)      the first line of an SSH direction, without CRLF
  ssh_kexinit(stream)     the 10 name-lists of the direction's KEXINIT
  hassh(lists, server)    (string, md5): kex;enc;mac;compression of the
                          direction's own side
"""

import hashlib
import struct

GREASE = {0x0A0A + 0x1010 * i for i in range(16)}


def streams(pcap, port):
    import appstreams
    out = {}
    for key, (udp, frames) in appstreams.flows(pcap, port).items():
        if udp:
            continue
        dirs = [b"", b""]
        for ctl, data in frames:
            if not ctl & 2:
                dirs[ctl & 1] += data
        out[key] = dirs
    return out


def handshakes(stream):
    """Handshake messages of the leading handshake records (they may span
    records, and a record may hold several)."""
    buf, p = b"", 0
    while p + 5 <= len(stream) and stream[p] == 22:
        n = struct.unpack(">H", stream[p + 3:p + 5])[0]
        buf += stream[p + 5:p + 5 + n]
        p += 5 + n
    out, q = [], 0
    while q + 4 <= len(buf):
        t, n = buf[q], int.from_bytes(buf[q + 1:q + 4], "big")
        if q + 4 + n > len(buf):
            break
        out.append((t, buf[q + 4:q + 4 + n]))
        q += 4 + n
    return out


def _u16s(b):
    return [struct.unpack(">H", b[i:i + 2])[0] for i in range(0, len(b) - 1, 2)]


def _hello(body, server):
    """(version, [ciphers], [(ext type, data)])."""
    ver = struct.unpack(">H", body[:2])[0]
    p = 34
    p += 1 + body[p]                                    # session id
    if server:
        ciphers = [struct.unpack(">H", body[p:p + 2])[0]]
        p += 3                                          # cipher, compression
    else:
        n = struct.unpack(">H", body[p:p + 2])[0]
        ciphers = _u16s(body[p + 2:p + 2 + n])
        p += 2 + n
        p += 1 + body[p]                                # compression methods
    exts = []
    if p + 2 <= len(body):
        end = p + 2 + struct.unpack(">H", body[p:p + 2])[0]
        p += 2
        while p + 4 <= end:
            t, n = struct.unpack(">HH", body[p:p + 4])
            exts.append((t, body[p + 4:p + 4 + n]))
            p += 4 + n
    return ver, ciphers, exts


def _join(vals):
    return "-".join(str(v) for v in vals if v not in GREASE)


def ja3(ch):
    ver, ciphers, exts = _hello(ch, False)
    groups, formats = [], []
    for t, d in exts:
        if t == 10:
            groups = _u16s(d[2:])
        elif t == 11:
            formats = list(d[1:])
    s = "%d,%s,%s,%s,%s" % (ver, _join(ciphers), _join(t for t, _ in exts), _join(groups), _join(formats))
    return s, hashlib.md5(s.encode()).hexdigest()


def ja3s(sh):
    ver, ciphers, exts = _hello(sh, True)
    s = "%d,%s,%s" % (ver, _join(ciphers), _join(t for t, _ in exts))
    return s, hashlib.md5(s.encode()).hexdigest()


def sni(ch):
    for t, d in _hello(ch, False)[2]:
        if t == 0 and len(d) > 5:
            n = struct.unpack(">H", d[3:5])[0]
            return d[5:5 + n].decode()
    return None


def certificates(body):
    total = int.from_bytes(body[:3], "big")
    out, p = [], 3
    while p + 3 <= 3 + total:
        n = int.from_bytes(body[p:p + 3], "big")
        out.append(body[p + 3:p + 3 + n])
        p += 3 + n
    return out


def ssh_banner(stream):
    end = stream.find(b"\n")
    return stream[:end].rstrip(b"\r").decode("utf-8", "replace") if end >= 0 else None


def ssh_kexinit(stream):
    """The name-lists of the first binary packet after the banner, when it
    is a KEXINIT (message 20); None otherwise."""
    p = stream.find(b"\n") + 1
    if p <= 0 or p + 6 > len(stream):
        return None
    n, pad = struct.unpack(">IB", stream[p:p + 5])
    payload = stream[p + 5:p + 4 + n - pad]
    if not payload or payload[0] != 20:
        return None
    q, lists = 17, []
    for _ in range(10):
        ln = struct.unpack(">I", payload[q:q + 4])[0]
        lists.append(payload[q + 4:q + 4 + ln].decode())
        q += 4 + ln
    return lists


def hassh(lists, server):
    """hassh: kex;enc;mac;compression of the client (client to server
    lists) or hasshServer (server to client lists)."""
    k = 1 if server else 0
    s = ";".join([lists[0], lists[2 + k], lists[4 + k], lists[6 + k]])
    return s, hashlib.md5(s.encode()).hexdigest()
