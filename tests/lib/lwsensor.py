"""lwsensor.py - running linkwatch in the background for integration tests:
a sensor with a control socket (linkwatchctl), fed through a FIFO that
stays open so it idles until shut down, small pcap helpers, and the pieces
of a live test: a network namespace with a veth pair (lwv0 -> lwv1),
captures rewritten to loopback addresses, tcpreplay at a fixed rate.
"""

import json
import os
import shutil
import struct
import subprocess
import time


def read_pcap(path):
    """(linktype, [(ts_us, orig_len, data)]) of a little-endian usec pcap."""
    with open(path, "rb") as f:
        hdr = f.read(24)
        magic, _, _, _, _, snap, linktype = struct.unpack("<IHHiIII", hdr)
        if magic != 0xa1b2c3d4:
            raise ValueError("%s: not a little-endian microsecond pcap" % path)
        recs = []
        while True:
            h = f.read(16)
            if len(h) < 16:
                break
            sec, usec, incl, orig = struct.unpack("<IIII", h)
            recs.append((sec * 1000000 + usec, orig, f.read(incl)))
    return linktype, recs


def pcap_header(linktype):
    return struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 262144, linktype)


def records_bytes(recs, shift_us):
    out = []
    for ts, orig, data in recs:
        ts += shift_us
        out.append(struct.pack("<IIII", ts // 1000000, ts % 1000000, len(data), orig))
        out.append(data)
    return b"".join(out)


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


class Sensor:
    """linkwatch running in the background with a control socket."""

    def __init__(self, argv, sock, netns=None):
        # Output to files, not pipes: a sensor logging many rule errors must
        # never block on a full pipe nobody reads yet.
        self.sock = sock
        self.outf = open(sock + ".stdout", "w+b")
        self.errf = open(sock + ".stderr", "w+b")
        self.binary = argv[0]
        self.ctl = os.path.join(os.path.dirname(argv[0]), "linkwatchctl")
        if netns:
            argv = ["ip", "netns", "exec", netns] + argv
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        self.p = subprocess.Popen(argv, stdout=self.outf, stderr=self.errf, env=env)
        self.out = self.err = ""

    def _wait(self, ready, timeout):
        """Until ready() holds (True), the sensor exits or timeout s pass (False)."""
        end = time.time() + timeout
        while time.time() < end:
            if ready():
                return True
            if self.p.poll() is not None:
                return False
            time.sleep(0.05)
        return False

    def wait_socket(self, timeout=20):
        return self._wait(lambda: os.path.exists(self.sock) and self.ctl_run("ruleset")[0] == 0, timeout)

    def wait_capturing(self, timeout=20):
        """Until `linkwatchctl stats` says the capture source is open (the
        control socket answers before the interface is opened)."""
        return self._wait(lambda: self.ctl_json("stats")[1].get("capturing") is True, timeout)

    def wait_packets(self, n, timeout=60):
        """Until `linkwatchctl stats` counts n packets read from the capture:
        a replay has ended when tcpreplay exits, but a sensor on a busy
        machine (a sanitizer build, a loaded CI host) may still be reading
        the kernel's ring, and `shutdown` ends the capture where it is."""
        return self._wait(lambda: self.ctl_json("stats")[1].get("packets", -1) >= n, timeout)

    def ctl_run(self, *args, timeout=120):
        r = subprocess.run([self.ctl, "-s", self.sock] + list(args), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout)
        return r.returncode, r.stdout.decode("utf-8", "replace") + r.stderr.decode("utf-8", "replace")

    def ctl_json(self, *args):
        rc, out = self.ctl_run(*(list(args) + ["--json"]))
        try:
            return rc, json.loads(out.strip().splitlines()[0])
        except (ValueError, IndexError):
            return rc, {"unparsable": out}

    def finish(self, timeout=300):
        try:
            self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        for f, attr in ((self.outf, "out"), (self.errf, "err")):
            f.seek(0)
            setattr(self, attr, f.read().decode("utf-8", "replace"))
            f.close()
        return self.p.returncode


def idle_sensor(binary, src, tmp, name, rules_path, extra=()):
    """A sensor reading a FIFO that stays open: it runs until shut down, and
    feed() streams packets to it. rules_path None: the shipped rules. Its log
    folder is s.logdir; metrics are off unless extra turns them on."""
    fifo = os.path.join(tmp, name + ".fifo")
    os.mkfifo(fifo)
    hold = os.open(fifo, os.O_RDWR)             # keeps the FIFO open without a reader blocking
    os.write(hold, pcap_header(1))
    sock = os.path.join(tmp, name + ".sock")
    logdir = os.path.join(tmp, "out-" + name)
    argv = [binary, "-c", os.path.join(src, "linkwatch.yaml")]
    if rules_path:
        argv += ["-S", rules_path]
    s = Sensor(argv + ["-r", fifo, "-l", logdir, "--set", "control.socket=" + sock,
                       "--set", "metrics.enabled=no"] + list(extra), sock)
    s.hold = hold
    s.logdir = logdir
    return s


def feed(s, pcap_path, wait=30):
    """Streams the records of a pcap file into an idle sensor and waits
    (bounded) until it has read them all. Returns the packets it reports."""
    _, recs = read_pcap(pcap_path)
    _, before = s.ctl_json("stats")
    want = before.get("packets", 0) + len(recs)
    os.write(s.hold, records_bytes(recs, 0))
    end = time.time() + wait
    got = before.get("packets", 0)
    while time.time() < end:
        _, j = s.ctl_json("stats")
        got = j.get("packets", got)
        if got >= want:
            break
        time.sleep(0.05)
    return got


def start_idle(tap, binary, src, tmp, name, rules_path, extra=(), timeout=20):
    """idle_sensor() once its control socket answers, else None (a failed check)."""
    s = idle_sensor(binary, src, tmp, name, rules_path, extra)
    if tap.ok(s.wait_socket(timeout=timeout), "%s: sensor up" % name):
        return s
    stop_idle(s)
    return None


def stop_idle(s):
    s.ctl_run("shutdown")
    os.close(s.hold)
    return s.finish(timeout=60)


# ---------------------------------------------------------------- live tests

def rewrite_loopback(py, src_pcap, dst_pcap, spacing_us=None):
    """Every IPv4 packet of src_pcap (a path, or a list of paths read one
    after the other) with its addresses mapped into 127/8: 10/8 hosts to
    127.10.0.0/16, all others to 127.200.0.0/16. IPv6, tunnelled, ICMP
    error (they quote addresses), non-IP, snapped (shorter than on the
    wire) and larger than Ethernet MTU frames are dropped (the live test may only use loopback; a veth sends
    no more than its MTU). With spacing_us, timestamps become evenly spaced
    from the first, as a fixed-rate replay delivers them, so an offline run
    of the result sees the same timing as a live one. Returns the packets
    written."""
    code = r'''
import sys
from scapy.all import rdpcap, wrpcap, Ether, IP, TCP, UDP, ICMP
srcs, dst, spacing = sys.argv[1:-2], sys.argv[-2], int(sys.argv[-1])
inside, outside, out = {}, {}, []
def m(a):
    t = inside if a.startswith("10.") else outside
    if a not in t:
        n = len(t) + 1
        t[a] = ("127.10.%d.%d" if t is inside else "127.200.%d.%d") % (n // 250, n % 250 + 1)
    return t[a]
for src in srcs:
    for p in rdpcap(src):
        if IP not in p or not p.haslayer(Ether) or len(p) > 1514:
            continue
        if (getattr(p, "wirelen", None) or 0) > len(p):
            continue          # cut short by the capture's snaplen: a replay cannot send the rest
        if p.getlayer(IP, 2) is not None or p.haslayer("IPv6") or p.haslayer("IPerror"):
            continue          # a tunnel or an ICMP error: inner addresses would stay
        p[IP].src = m(p[IP].src); p[IP].dst = m(p[IP].dst)
        del p[IP].chksum
        for L in (TCP, UDP, ICMP):
            if L in p:
                del p[L].chksum
        out.append(p)
if spacing and out:
    t0 = float(out[0].time)
    for i, p in enumerate(out):
        p.time = t0 + i * spacing / 1e6
wrpcap(dst, out)
print(len(out))
'''
    srcs = [src_pcap] if isinstance(src_pcap, str) else list(src_pcap)
    r = subprocess.run([py, "-c", code] + srcs + [dst_pcap, str(spacing_us or 0)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.decode("utf-8", "replace"))
    return int(r.stdout.split()[-1])


def make_demo(py, path):
    """Writes the demo capture (tests/gen/gen_demo.py) to path."""
    gen = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "gen", "gen_demo.py")
    subprocess.run([py, gen, path], check=True, stdout=subprocess.DEVNULL)
    return path


def sh(*argv):
    return subprocess.run(list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE).returncode


def veth_namespace(tap, name, ends=("lwv0", "lwv1")):
    """A network namespace `name` holding a veth pair ends[0] <-> ends[1]
    (lwv0 <-> lwv1), both up, IPv6 off (no router solicitations in the
    capture). Returns its name, or None after reporting on tap a skip (not
    root, no ip or tcpreplay, no namespaces) or a failed set-up."""
    why = None
    if os.geteuid() != 0 or not shutil.which("tcpreplay") or not shutil.which("ip"):
        why = "skipped (needs root, ip and tcpreplay)"
    elif sh("ip", "netns", "add", name) != 0:
        why = "skipped (cannot create a network namespace)"
    if why:
        tap.ok(True, "live: %s # SKIP" % why)
        return None
    for cmd in (["ip", "-n", name, "link", "add", ends[0], "type", "veth", "peer", "name", ends[1]],
                ["ip", "netns", "exec", name, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"],
                ["ip", "netns", "exec", name, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"],
                ["ip", "-n", name, "link", "set", "lo", "up"],
                ["ip", "-n", name, "link", "set", ends[0], "up"],
                ["ip", "-n", name, "link", "set", ends[1], "up"]):
        if sh(*cmd) != 0:
            veth_namespace_del(name)
            tap.ok(False, "live: namespace set-up: " + " ".join(cmd))
            return None
    return name


def veth_namespace_del(name):
    sh("ip", "netns", "del", name)


def replay_start(ns, pcap, pps, iface="lwv0"):
    """tcpreplay of pcap into iface of namespace ns at pps packets/s, in the
    background: the Popen, for replay_wait()."""
    return subprocess.Popen(["ip", "netns", "exec", ns, "tcpreplay", "-q", "-i", iface,
                             "--pps=%d" % pps, pcap], stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def replay_wait(rp, npk, pps):
    """Waits for replay_start()'s tcpreplay of npk packets, bounded by the
    replay time plus a minute (then killed). Returns its status."""
    try:
        rp.communicate(timeout=npk / pps + 60)
    except subprocess.TimeoutExpired:
        rp.kill()
        rp.communicate()
    return rp.returncode


def replay(ns, pcap, npk, pps, iface="lwv0"):
    """replay_start() and replay_wait(): returns tcpreplay's status."""
    return replay_wait(replay_start(ns, pcap, pps, iface), npk, pps)


def flow_keys(events):
    """Sorted (proto, src, sport, dst, dport, pkts to server, pkts to client)
    of the flow events: what a live run must reproduce of an offline one."""
    out = []
    for e in events:
        if e.get("event_type") == "flow":
            f = e.get("flow", {})
            out.append((e.get("proto"), e.get("src_ip"), e.get("src_port", 0), e.get("dest_ip"),
                        e.get("dest_port", 0), f.get("pkts_toserver"), f.get("pkts_toclient")))
    return sorted(out, key=repr)


def alert_keys(events):
    """Sorted (sid, src, sport, dst, dport) of the alert events."""
    return sorted(((e["alert"]["signature_id"], e.get("src_ip"), e.get("src_port", 0),
                    e.get("dest_ip"), e.get("dest_port", 0))
                   for e in events if e.get("event_type") == "alert"), key=repr)
