#!/usr/bin/env python3
"""seeds.py - turns captures and rule files into fuzz inputs.

  seeds.py frames  OUTDIR MAX PCAP...   each distinct frame its own input (fuzz_decode)
  seeds.py streams OUTDIR MAX PCAP...   runs of up to 64 consecutive frames (fuzz_defrag, fuzz_dpi)
  seeds.py rules   OUTDIR MAX FILE...   each rule line its own input (fuzz_rule)
  seeds.py app PORT OUTDIR MAX PCAP...  each flow on PORT its own input, both directions
                                        reassembled (fuzz_app_dns 53, _tls 443, _ssh 22, _smb 445;
                                        the format of tests/fuzz/fuzz-app.h)

MAX bounds the inputs written per source file. Packet inputs use the format
of tests/fuzz/fuzz-common.h: a link-type selector byte, then frames as
[u16 length, little-endian][bytes]. Deterministic: same sources, same files.
Reads pcap and pcapng (scapy); a file it cannot read is skipped.
"""

import hashlib
import os
import struct
import sys

# Selector byte per link type: the index in fuzz-common.h's fuzz_dlts[].
DLT_SEL = {1: 0, 101: 1, 12: 2, 0: 3, 108: 4, 113: 5, 276: 6, 9: 7, 104: 8, 228: 9, 229: 10}
STREAM_FRAMES = 64
STREAM_BYTES = 48 << 10


def frames_of(path):
    from scapy.utils import RawPcapReader
    try:
        r = RawPcapReader(path)
        lt = getattr(r, "linktype", 1)
        out = [bytes(data) for data, _ in r]
        r.close()
        return lt, out
    except Exception:            # not a capture scapy reads: nothing to seed
        return None, []


def put(outdir, data):
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(outdir, name), "wb") as f:
        f.write(data)


def frame_inputs(lt, frames, most):
    seen, n = set(), 0
    for fr in frames:
        if n >= most:
            break
        h = hashlib.sha1(fr[:96]).digest()      # headers alike: one is enough
        if h in seen:
            continue
        seen.add(h)
        n += 1
        yield bytes([DLT_SEL[lt]]) + fr


def stream_inputs(lt, frames, most):
    i = n = 0
    while i < len(frames) and n < most:
        buf = bytearray([DLT_SEL[lt]])
        k = 0
        while i < len(frames) and k < STREAM_FRAMES:
            fr = frames[i][:4096]
            if len(buf) + 2 + len(fr) > STREAM_BYTES:
                break
            buf += struct.pack("<H", len(fr)) + fr
            i += 1
            k += 1
        if k == 0:
            i += 1
            continue
        n += 1
        yield bytes(buf)


def rule_inputs(path, most):
    n = 0
    with open(path, "rb") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith(b"#"):
                continue
            if n >= most:
                break
            n += 1
            yield line


def app_inputs(path, port, most):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
    import appgen
    import appstreams
    for n, (udp, frames) in enumerate(appstreams.flows(path, port).values()):
        if n >= most:
            break
        data = appgen.encode(appgen.DGRAM if udp else 0, frames)
        yield data[:STREAM_BYTES]


def main(argv):
    port = None
    if len(argv) > 2 and argv[1] == "app":
        port = int(argv[2])
        argv = argv[:1] + argv[2:]
        argv[1] = "app"
    if len(argv) < 5 or argv[1] not in ("frames", "streams", "rules", "app"):
        print(__doc__, file=sys.stderr)
        return 2
    mode, outdir, most = argv[1], argv[2], int(argv[3])
    os.makedirs(outdir, exist_ok=True)
    total = 0
    for src in argv[4:]:
        if mode == "rules":
            gen = rule_inputs(src, most)
        elif mode == "app":
            gen = app_inputs(src, port, most)
        else:
            lt, frames = frames_of(src)
            if lt not in DLT_SEL:
                continue
            gen = (frame_inputs if mode == "frames" else stream_inputs)(lt, frames, most)
        for data in gen:
            put(outdir, data)
            total += 1
    print(total)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
