"""appstreams.py - the application-layer bytes of a capture's flows, as the
stage will hand them to a parser: per TCP flow both directions reassembled
in order (retransmitted bytes once, a hole as a gap), interleaved as the
packets arrived; per UDP flow one datagram per frame. Frames are
(ctl, data) as tests/lib/appgen.py encodes them.

  flows(path, port)  {flow key: (is_udp, [frames])} for flows with port as
                     either port; the direction of a flow's first packet is
                     to the server unless its source port is `port'
"""

from appgen import TO_SERVER, TO_CLIENT, GAP


class _Dir:
    def __init__(self):
        self.next = None
        self.held = {}

    def take(self, seq, data, syn):
        """In-order bytes this segment makes available."""
        if self.next is None:
            self.next = (seq + (1 if syn else 0)) & 0xffffffff
        if syn:
            return b""
        off = (seq - self.next) & 0xffffffff
        if off >= 1 << 31:                      # starts before next: keep only what is new
            cut = (self.next - seq) & 0xffffffff
            if cut >= len(data):
                return b""
            data, off = data[cut:], 0
        if off > 0:
            if data:
                self.held.setdefault(off, data)
            return b""
        out = bytearray(data)
        self.next = (self.next + len(data)) & 0xffffffff
        out += self._drain()
        return bytes(out)

    def _drain(self):
        out = bytearray()
        moved = True
        while moved and self.held:
            moved = False
            for off in sorted(self.held):
                if off <= len(out):
                    d = self.held.pop(off)[len(out) - off:]
                    out += d
                    moved = True
                    break
        if out:
            self.held = {k - len(out): v for k, v in self.held.items() if k - len(out) >= 0}
            self.next = (self.next + len(out)) & 0xffffffff
        return bytes(out)

    def rest(self):
        """What is held past a hole: a gap and the data, hole by hole."""
        frames = []
        while self.held:
            off = min(self.held)
            frames.append((GAP, off))
            d = self.held.pop(off)
            self.held = {k - off - len(d): v for k, v in self.held.items() if k - off - len(d) >= 0}
            frames.append((0, d))
        return frames


def _payload(ip, l4):
    """The L4 payload without link-layer padding (the IP length says)."""
    hl = l4.dataofs * 4 if l4.name == "TCP" else 8
    raw = bytes(l4)
    total = ip.len - ip.ihl * 4 if ip.version == 4 else ip.plen
    if total is None:
        return raw[hl:]
    return raw[hl:max(hl, total)]


def flows(path, port):
    import logging
    logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
    from scapy.utils import PcapReader
    from scapy.layers.inet import IP, TCP, UDP
    from scapy.layers.inet6 import IPv6
    out = {}
    state = {}
    try:
        reader = PcapReader(path)
    except Exception:
        return out
    with reader:
        for pkt in reader:
            ip = pkt.getlayer(IP) or pkt.getlayer(IPv6)
            if ip is None:
                continue
            l4 = pkt.getlayer(TCP) or pkt.getlayer(UDP)
            if l4 is None or port not in (l4.sport, l4.dport):
                continue
            a, b = (ip.src, l4.sport), (ip.dst, l4.dport)
            key = (min(a, b), max(a, b), l4.name)
            if key not in out:
                out[key] = (l4.name == "UDP", [])
                state[key] = (b if l4.sport == port else a, [_Dir(), _Dir()])
            client, dirs = state[key]
            d = TO_SERVER if a == client else TO_CLIENT
            payload = _payload(ip, l4)
            if l4.name == "UDP":
                if payload:
                    out[key][1].append((d, payload))
                continue
            data = dirs[d].take(l4.seq, payload, bool(l4.flags & 0x02))
            if data:
                out[key][1].append((d, data))
    for key, (udp, frames) in out.items():
        if not udp:
            for d, dr in enumerate(state[key][1]):
                frames += [(ctl | d, x) for ctl, x in dr.rest()]
    return {k: v for k, v in out.items() if v[1]}
