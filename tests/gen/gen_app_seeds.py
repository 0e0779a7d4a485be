#!/usr/bin/env python3
"""gen_app_seeds.py OUTDIR - writes the committed seeds of the application-
layer fuzz targets: OUTDIR/fuzz_app_dns, fuzz_app_tls, fuzz_app_ssh, one
file per session of tests/lib/appgen.py, in each of the modes that matter
(plain, small limits, tight memory; DNS also as datagrams), plus a few
broken inputs (a compression loop, a truncated message, records split
byte by byte). Sessions are random (keys, randoms), so each run writes new
files; tests/fuzz/seeds/ holds one run's.
"""

import hashlib
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import appgen  # noqa: E402
from appgen import DGRAM, SMALL, TIGHT, TO_CLIENT, TO_SERVER, GAP, EOF  # noqa: E402


def write(outdir, target, data):
    d = os.path.join(outdir, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)


def bytewise(frames, limit=400):
    """The frames cut into 1-byte frames (up to limit bytes each)."""
    out = []
    for ctl, data in frames:
        if ctl & GAP or len(data) > limit:
            out.append((ctl, data))
        else:
            out += [(ctl, data[i:i + 1]) for i in range(len(data))]
    return out


def main():
    outdir = sys.argv[1]
    udp, _ = appgen.dns_udp_session()
    tcp, _ = appgen.dns_tcp_session()
    for mode in (DGRAM, DGRAM | SMALL, DGRAM | TIGHT):
        write(outdir, "fuzz_app_dns", appgen.encode(mode, udp))
    for mode in (0, SMALL):
        write(outdir, "fuzz_app_dns", appgen.encode(mode, tcp))
    write(outdir, "fuzz_app_dns", appgen.encode(0, bytewise(tcp)))
    loop = struct.pack(">HHHHHH", 1, 0x0100, 1, 0, 0, 0) + b"\xc0\x0c" + b"\x00\x01\x00\x01"
    write(outdir, "fuzz_app_dns", appgen.encode(DGRAM, [(TO_SERVER, loop), (TO_CLIENT, udp[1][1][:40])]))
    gap = [(TO_SERVER, tcp[0][1][:20]), (TO_SERVER | GAP, 30), (TO_SERVER, tcp[0][1][50:])] + tcp[1:]
    write(outdir, "fuzz_app_dns", appgen.encode(0, gap))

    for version in ("1.2", "1.3"):
        frames, _ = appgen.tls_session(version)
        for mode in (0, SMALL, TIGHT):
            write(outdir, "fuzz_app_tls", appgen.encode(mode, frames))
        write(outdir, "fuzz_app_tls", appgen.encode(0, bytewise(frames[:2], 2000)))
        cut = frames[:1] + [(frames[1][0], frames[1][1][:300]), (TO_CLIENT | GAP, 100),
                            (TO_CLIENT | EOF, frames[1][1][400:])]
        write(outdir, "fuzz_app_tls", appgen.encode(0, cut))
    sslv2 = bytes.fromhex("802e0103010015000000100000040000050000" "0a0100800700c003008000002f") + os.urandom(16)
    write(outdir, "fuzz_app_tls", appgen.encode(0, [(TO_SERVER, sslv2)]))

    ssh, _ = appgen.ssh_session()
    for mode in (0, SMALL, TIGHT):
        write(outdir, "fuzz_app_ssh", appgen.encode(mode, ssh))
    write(outdir, "fuzz_app_ssh", appgen.encode(0, bytewise(ssh)))
    junk = [(TO_CLIENT, b"Welcome\r\nSSH-2.0-x\r\nHTTP/1.1 400 Bad\r\n\r\n"), (TO_SERVER, b"SSH-1.5-y\n")]
    write(outdir, "fuzz_app_ssh", appgen.encode(0, junk))


if __name__ == "__main__":
    main()
