"""lwredis.py - a redis-server of the test's own, and a small client.

RedisServer starts `redis-server` on a free loopback port (127.0.0.1 only)
in a scratch folder, with an append-only file fsynced on every write so that
a server killed with SIGKILL and started again has every write it
acknowledged. Every wait is bounded. The client speaks RESP2 over one
socket: enough for the tests, no package needed.

Ground truth: tallies_from_eve() computes, from a sensor's own EVE events,
what each tally key family of docs/redis.md must hold.
"""

import calendar
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

import lwtest


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class RedisError(Exception):
    pass


class Client:
    """One connection; call(*args) sends a command and returns its reply
    (bytes, int, list, None; an error reply raises RedisError)."""

    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def close(self):
        self.sock.close()

    def _line(self):
        while b"\r\n" not in self.buf:
            d = self.sock.recv(65536)
            if not d:
                raise ConnectionError("redis closed the connection")
            self.buf += d
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            d = self.sock.recv(65536)
            if not d:
                raise ConnectionError("redis closed the connection")
            self.buf += d
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def _reply(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest
        if t == b"-":
            raise RedisError(rest.decode("utf-8", "replace"))
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise RedisError("bad reply %r" % line)

    def call(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            if not isinstance(a, bytes):
                a = str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))
        return self._reply()

    def keys(self, pattern="*"):
        found, cursor = [], b"0"
        while True:
            cursor, batch = self.call("SCAN", cursor, "MATCH", pattern, "COUNT", 1000)
            found.extend(k.decode() for k in batch)
            if cursor == b"0":
                return sorted(set(found))

    def hgetall(self, key):
        r = self.call("HGETALL", key)
        return {r[i].decode(): int(r[i + 1]) for i in range(0, len(r), 2)}

    def zall(self, key):
        r = self.call("ZRANGE", key, 0, -1, "WITHSCORES")
        return {r[i].decode("utf-8", "replace"): int(float(r[i + 1])) for i in range(0, len(r), 2)}

    def stream(self, key):
        """Every entry of a stream: [(id, {field: value})], oldest first."""
        out, start = [], "-"
        while True:
            batch = self.call("XRANGE", key, start, "+", "COUNT", 1000)
            for eid, fields in batch:
                out.append((eid.decode(), {fields[i].decode(): fields[i + 1].decode()
                                           for i in range(0, len(fields), 2)}))
            if len(batch) < 1000:
                return out
            start = "(" + batch[-1][0].decode()


class RedisServer:
    """redis-server on 127.0.0.1:<free port> in its own folder. stop() or
    kill() it; start() again keeps the data (append-only file)."""

    def __init__(self, workdir, name="redis", password=None, unixsocket=False, socketperm="700"):
        self.dir = os.path.join(workdir, name)
        self.socketperm = socketperm
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.password = password
        self.socket = os.path.join(self.dir, "redis.sock") if unixsocket else None
        self.proc = None
        self.binary = shutil.which("redis-server") or "/usr/bin/redis-server"

    def start(self, timeout=10):
        argv = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", self.dir, "--save", "", "--appendonly", "yes",
                "--appendfsync", "always", "--protected-mode", "yes",
                "--logfile", os.path.join(self.dir, "redis.log")]
        if self.password:
            argv += ["--requirepass", self.password]
        if self.socket:
            argv += ["--unixsocket", self.socket, "--unixsocketperm", self.socketperm]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        until = time.time() + timeout
        while time.time() < until:
            try:
                c = self.client(timeout=2)
                c.call("PING")
                c.close()
                return self
            except (OSError, RedisError):
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start on port %d (see %s/redis.log)"
                           % (self.port, self.dir))

    def client(self, timeout=10):
        c = Client(self.port, timeout=timeout)
        if self.password:
            c.call("AUTH", self.password)
        return c

    def kill(self):
        """SIGKILL, as a crash: only what was fsynced survives."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    def stop(self):
        lwtest.stop_process(self.proc)
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


def available():
    return shutil.which("redis-server") or os.path.exists("/usr/bin/redis-server")


def wait_for(cond, timeout, step=0.05):
    """Polls cond() until true or timeout seconds; returns its last value."""
    until = time.time() + timeout
    v = cond()
    while not v and time.time() < until:
        time.sleep(step)
        v = cond()
    return v


# ---------------------------------------------------------------- ground truth

def eve_epoch(ts):
    """EVE "2016-08-02T02:19:00.123456+0000" -> Unix seconds (int)."""
    return calendar.timegm(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S"))


def l4_member(ev):
    proto = str(ev.get("proto", "")).lower()
    if proto in ("tcp", "udp", "sctp"):
        return "%s/%d" % (proto, ev.get("dest_port", 0))
    return proto


def redis_args(port, spool, sensor="lwtest", extra=()):
    """--set arguments that point a sensor at the test's Redis."""
    args = ["--set", "redis.enabled=yes", "--set", "redis.port=%d" % port,
            "--set", "redis.spool-dir=%s" % spool, "--set", "sensor-id=%s" % sensor,
            "--set", "redis.timeouts.connect=1", "--set", "redis.reconnect-max=1"]
    return args + list(extra)


def add(d, key, member, v):
    if v:
        fam = d.setdefault(key, {})
        fam[member] = fam.get(member, 0) + v


def tallies_from_eve(events):
    """What the sensor's tallies must hold, from its EVE events:
    {"totals": {(fam, metric): {member: n}}, "flows_by_minute": {(fam, minute): {member: n}},
     "alerts_by_minute": {(metric, minute): {member: n}}, "health": {...}}.
    Totals are over every bucket; flows and alerts are exact per minute (a
    flow counts in the minute of its last packet, the flow event's
    timestamp)."""
    totals, flows_min, alerts_min, health_min = {}, {}, {}, {}
    for ev in events:
        t = ev.get("event_type")
        if t == "flow":
            f = ev["flow"]
            pk = f["pkts_toserver"] + f["pkts_toclient"]
            by = f["bytes_toserver"] + f["bytes_toclient"]
            minute = eve_epoch(ev["timestamp"]) // 60 * 60
            members = {
                "app": ev.get("ndpi", {}).get("protocol", "Unknown"),
                "l4": l4_member(ev),
                "src": lwtest.norm_ip(ev["src_ip"]),
                "dst": lwtest.norm_ip(ev["dest_ip"]),
            }
            geo = ev.get("geo")
            if geo:
                members["cc"] = "%s>%s" % (geo.get("src", {}).get("country") or "--",
                                           geo.get("dest", {}).get("country") or "--")
                members["dir"] = geo.get("scope")
            for fam, m in members.items():
                add(totals, (fam, "bytes"), m, by)
                add(totals, (fam, "pkts"), m, pk)
                add(totals, (fam, "flows"), m, 1)
                add(flows_min, (fam, minute), m, 1)
            add(health_min, minute, "flows", 1)
        elif t == "alert":
            a = ev["alert"]
            minute = eve_epoch(ev["timestamp"]) // 60 * 60
            add(totals, ("alerts", "sid"), str(a["signature_id"]), 1)
            add(totals, ("alerts", "severity"), str(a["severity"]), 1)
            add(alerts_min, ("sid", minute), str(a["signature_id"]), 1)
            add(alerts_min, ("severity", minute), str(a["severity"]), 1)
            add(health_min, minute, "alerts", 1)
    return {"totals": totals, "flows_by_minute": flows_min, "alerts_by_minute": alerts_min,
            "health_by_minute": health_min}


def read_tallies(c, prefix, scope):
    """Every tally key of one scope (a sensor id or "all"), read back:
    {(res, start, fam, metric): {member: n}}; health as (res, start,
    "health", None)."""
    return tallies_of(((key, c) for key in c.keys("%s:{%s:*" % (prefix, scope))), prefix)


def tallies_of(keys, prefix):
    """read_tallies() over (key, client holding it) pairs (a cluster's keys
    live on several nodes)."""
    out = {}
    for key, c in keys:
        tag, rest = key[len(prefix) + 2:].split("}:", 1)
        _, res, start = tag.rsplit(":", 2)
        parts = rest.split(":")
        if parts[0] == "applied":
            continue
        fam, metric = parts[0], (parts[1] if len(parts) > 1 else None)
        typ = c.call("TYPE", key)
        out[(res, int(start), fam, metric)] = c.zall(key) if typ == b"zset" else c.hgetall(key)
    return out


def sum_buckets(tallies, res, fam, metric):
    s = {}
    for (r, _start, f, m), members in tallies.items():
        if r == res and f == fam and m == metric:
            for k, v in members.items():
                s[k] = s.get(k, 0) + v
    return s


class CutProxy:
    """A TCP proxy on 127.0.0.1 between the sensor and Redis that can lose
    a reply: arm(marker) makes it wait for a client chunk containing marker
    (b":applied" for a tally pipeline, b"{alerts}" for alerts), then drop
    the first reply bytes Redis sends back and close both sides. Redis has
    applied (and, with appendfsync always, stored) those commands; the
    sensor never hears it: the in-doubt case."""

    def __init__(self, upstream_port):
        import threading
        self.up = upstream_port
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(8)
        self.lsock.settimeout(0.2)
        self.port = self.lsock.getsockname()[1]
        self.lock = threading.Lock()
        self.marker = None
        self.seen = False
        self.cuts = 0
        self.stop_flag = False
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def arm(self, marker):
        with self.lock:
            self.marker, self.seen = marker, False

    def armed(self):
        with self.lock:
            return self.marker is not None

    def _accept(self):
        import threading
        while not self.stop_flag:
            try:
                cs, _ = self.lsock.accept()
            except OSError:
                continue
            try:
                us = socket.create_connection(("127.0.0.1", self.up), timeout=5)
            except OSError:
                cs.close()
                continue
            for a, b, down in ((cs, us, False), (us, cs, True)):
                t = threading.Thread(target=self._pump, args=(a, b, down, cs, us), daemon=True)
                t.start()

    def _pump(self, src, dst, down, cs, us):
        src.settimeout(0.2)
        while not self.stop_flag:
            try:
                d = src.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                break
            if not d:
                break
            with self.lock:
                if not down and self.marker is not None and self.marker in d:
                    self.seen = True
                cut = down and self.marker is not None and self.seen
                if cut:
                    self.marker, self.seen = None, False
                    self.cuts += 1
            if cut:
                break
            try:
                dst.sendall(d)
            except OSError:
                break
        for s in (cs, us):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self):
        self.stop_flag = True
        self.lsock.close()


# ------------------------------------------------------------------ running sensors on captures

def gen(tmp, name, minutes, base):
    """tests/gen/gen_redis.py's capture of that many minutes, hosts 10.<base>.x.y."""
    path = os.path.join(tmp, name)
    subprocess.run([sys.executable, os.path.join(lwtest.srcdir(), "tests", "gen", "gen_redis.py"),
                    path, str(minutes), str(base)], check=True, stdout=subprocess.DEVNULL)
    return path


def pcap_split(path):
    """The file header and the records (ts, bytes) of a classic pcap."""
    with open(path, "rb") as f:
        data = f.read()
    hdr, recs, off = data[:24], [], 24
    while off + 16 <= len(data):
        sec, usec, incl, _ = struct.unpack("<IIII", data[off:off + 16])
        recs.append((sec + usec / 1e6, data[off:off + 16 + incl]))
        off += 16 + incl
    return hdr, recs


def finish(p, argv, logdir, timeout=120):
    """Waits for a sensor started with pipes; its lwtest.Run."""
    try:
        out, err = p.communicate(timeout=timeout)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate(timeout=10)
        rc = -9
    return lwtest.Run(argv, rc, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), logdir)


def check_run(tap, r, what):
    """A sensor run exited 0 without a sanitizer report."""
    tap.ok(r.rc == 0, "%s: linkwatch exits 0" % what, (r.stdout + r.stderr)[-3000:])
    rep = r.sanitizer_report()
    tap.ok(rep is None, "%s: no sanitizer report" % what, rep)


def diff(a, b):
    """The first keys where two dicts differ, for a failed check."""
    bad = ["%s: %s != %s" % (k, a.get(k), b.get(k)) for k in sorted(set(a) | set(b), key=str)
           if a.get(k) != b.get(k)]
    return "\n".join(bad[:8])


class FifoWriter:
    """Writes a pcap into a FIFO the sensor reads, part by part."""

    def __init__(self, path, timeout=20):
        until = time.time() + timeout
        while True:
            try:
                self.fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
                break
            except OSError:
                if time.time() > until:
                    raise
                time.sleep(0.05)
        os.set_blocking(self.fd, True)

    def write(self, data):
        view = memoryview(data)
        while view:
            n = os.write(self.fd, view)
            view = view[n:]

    def records(self, recs, pace=0.0, chunk=50):
        for i in range(0, len(recs), chunk):
            self.write(b"".join(r for _, r in recs[i:i + chunk]))
            if pace:
                time.sleep(pace)

    def close(self):
        os.close(self.fd)
