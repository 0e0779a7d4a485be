"""lwsensor.py - running linkwatch in the background for integration tests:
a sensor with a control socket (linkwatchctl), fed through a FIFO that
stays open so it idles until shut down, and small pcap helpers.
"""

import json
import os
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

    def wait_socket(self, timeout=20):
        end = time.time() + timeout
        while time.time() < end:
            if os.path.exists(self.sock) and self.ctl_run("ruleset")[0] == 0:
                return True
            if self.p.poll() is not None:
                return False
            time.sleep(0.05)
        return False

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
