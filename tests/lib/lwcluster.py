"""lwcluster.py - a Redis Cluster of the test's own, and the lwcluster driver.

RedisCluster starts `redis-server` nodes with cluster support on free
loopback ports (127.0.0.1 only), each in its own folder, with an ACL user
for linkwatch (and the same password on the default user), and joins them
with `redis-cli --cluster create ... --cluster-replicas R --cluster-yes`.
Every node is a child process of the test, stopped by its PID in stop()
(also after a failure: use it as a context manager). Every wait is bounded.

Driver runs tests/gen/lwcluster (the routing layer, sensor/redis/
redis-cluster.c) and speaks its stdin/stdout protocol.
"""

import os
import re
import shutil
import signal
import subprocess

import lwredis
import lwtest

USER = "lw"
PASSWORD = "lw-cluster-pw"


def crc16(data):
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def key_slot(key):
    """The Redis Cluster slot of a key (str or bytes), by its hash tag."""
    k = key.encode() if isinstance(key, str) else key
    o = k.find(b"{")
    if o >= 0:
        c = k.find(b"}", o + 1)
        if c > o + 1:
            k = k[o + 1:c]
    return crc16(k) % 16384


def cluster_port():
    """A free loopback port whose cluster bus port (+10000) is free too."""
    import random
    import socket
    for _ in range(200):
        port = random.randint(20000, 55000)
        socks = []
        try:
            for p in (port, port + 10000):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", p))
            return port
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free port pair for a cluster node")


def available():
    return lwredis.available() and shutil.which("redis-cli")


class Node:
    def __init__(self, workdir, i):
        self.dir = os.path.join(workdir, "node%d" % i)
        os.makedirs(self.dir, exist_ok=True)
        self.port = cluster_port()
        self.proc = None

    def start(self, cluster=True):
        """A cluster node, or (cluster False) a plain server with the same settings."""
        argv = [shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", self.dir, "--save", "", "--appendonly", "no"]
        if cluster:
            argv += ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                     "--cluster-node-timeout", "1000", "--repl-diskless-sync-delay", "0",
                     # A loaded test machine may starve a replica's link for a while; it
                     # must still take over when its master dies.
                     "--cluster-replica-validity-factor", "0"]
        argv += ["--requirepass", PASSWORD, "--masteruser", USER, "--masterauth", PASSWORD,
                 "--user", USER, "on", ">" + PASSWORD, "~*", "&*", "+@all",
                 "--logfile", os.path.join(self.dir, "redis.log")]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def client(self, timeout=10):
        c = lwredis.Client(self.port, timeout=timeout)
        c.call("AUTH", USER, PASSWORD)
        return c

    def kill(self):
        """SIGKILL by PID: a crash."""
        if self.alive():
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self):
        lwtest.stop_process(self.proc, timeout=5)


class RedisCluster:
    def __init__(self, workdir, masters=3, replicas=1):
        self.nodes = [Node(workdir, i) for i in range(masters * (1 + replicas))]
        self.replicas = replicas
        self.workdir = workdir

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self, timeout=60):
        for n in self.nodes:
            n.start()
        for n in self.nodes:
            if not lwredis.wait_for(lambda: self._pings(n), 10):
                raise RuntimeError("redis-server did not start on port %d (%s/redis.log)" % (n.port, n.dir))
        argv = ["redis-cli", "--user", USER, "--pass", PASSWORD, "--no-auth-warning", "--cluster", "create"]
        argv += ["127.0.0.1:%d" % n.port for n in self.nodes]
        argv += ["--cluster-replicas", str(self.replicas), "--cluster-yes"]
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError("redis-cli --cluster create failed: %s" % r.stdout.decode(errors="replace")[-2000:])
        if not lwredis.wait_for(self.ready, timeout, step=0.1):
            raise RuntimeError("the cluster did not become ready")

    def _pings(self, n):
        try:
            c = n.client(timeout=2)
            c.call("PING")
            c.close()
            return True
        except (OSError, lwredis.RedisError):
            return False

    def info(self, node):
        c = node.client()
        try:
            txt = c.call("CLUSTER", "INFO").decode()
        finally:
            c.close()
        return dict(line.split(":", 1) for line in txt.split("\r\n") if ":" in line)

    def ready(self):
        """Every live node: state ok, all slots assigned, every node known, replicas attached."""
        try:
            live = [n for n in self.nodes if n.alive()]
            for n in live:
                i = self.info(n)
                if i.get("cluster_state") != "ok" or i.get("cluster_slots_assigned") != "16384":
                    return False
                if int(i.get("cluster_known_nodes", 0)) != len(self.nodes):
                    return False
            # A replica that has not synced once cannot take over.
            for m in self.masters():
                c = m.client()
                try:
                    repl = c.call("INFO", "replication").decode()
                finally:
                    c.close()
                if repl.count("state=online") < self.replicas:
                    return False
            return True
        except (OSError, lwredis.RedisError):
            return False

    def seeds(self):
        return ["127.0.0.1:%d" % n.port for n in self.nodes if n.alive()]

    def node_by_port(self, port):
        for n in self.nodes:
            if n.port == port:
                return n
        return None

    def cluster_nodes(self):
        """From a live node: [{id, port, master, slots: [(lo, hi)], fail}]."""
        for n in self.nodes:
            if not n.alive():
                continue
            try:
                c = n.client()
                txt = c.call("CLUSTER", "NODES").decode()
                c.close()
            except (OSError, lwredis.RedisError):
                continue
            out = []
            for line in txt.strip().split("\n"):
                f = line.split()
                port = int(f[1].split("@")[0].rsplit(":", 1)[1])
                slots = []
                for s in f[8:]:
                    if s.startswith("["):
                        continue
                    lo, _, hi = s.partition("-")
                    slots.append((int(lo), int(hi or lo)))
                out.append({"id": f[0], "port": port, "master": "master" in f[2].split(","),
                            "fail": "fail" in f[2].split(","), "slots": slots})
            return out
        raise RuntimeError("no live node answers CLUSTER NODES")

    def owner(self, slot):
        """The node that owns slot, as a live node sees it."""
        for e in self.cluster_nodes():
            if e["master"] and any(lo <= slot <= hi for lo, hi in e["slots"]):
                return self.node_by_port(e["port"]), e["id"]
        return None, None

    def replica_link_up(self, master):
        """master's replicas are online with a lag of at most 1 s: ready to take over."""
        try:
            c = master.client(timeout=5)
            try:
                repl = c.call("INFO", "replication").decode()
            finally:
                c.close()
        except (OSError, lwredis.RedisError):
            return False
        slaves = [ln for ln in repl.split("\r\n") if re.match(r"slave\d+:", ln)]
        lags = [int(m.group(1)) for m in (re.search(r"lag=(\d+)", ln) for ln in slaves if "state=online" in ln) if m]
        return len(lags) >= self.replicas and max(lags) <= 1

    def kill_in_step(self, master, timeout=60):
        """SIGKILLs master once its replicas are in step (replica_link_up()),
        as a real failover would find them. Returns whether they were."""
        synced = lwredis.wait_for(lambda: self.replica_link_up(master), timeout, step=0.2)
        master.kill()
        return synced

    def replica_took_over(self, replica_ports, timeout=120):
        """Whether one of replica_ports became a master with slots within
        timeout: Redis promotes in about 2 s (node timeout 1 s), a loaded
        machine can take longer."""
        return lwredis.wait_for(lambda: any(e["master"] and e["slots"] and e["port"] in replica_ports
                                            for e in self.cluster_nodes()), timeout, step=0.2)

    def log_tail(self, port, lines=20):
        """The last lines of a node's redis.log, for a failure's diagnosis."""
        n = self.node_by_port(port)
        try:
            with open(os.path.join(n.dir, "redis.log"), errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError as e:
            return str(e)

    def masters(self):
        return [self.node_by_port(e["port"]) for e in self.cluster_nodes()
                if e["master"] and e["slots"] and not e["fail"]]

    def stop(self):
        for n in self.nodes:
            n.stop()


class Driver:
    """tests/gen/lwcluster as a child: batch(cmds) -> [(status, reply, unreplicated)],
    and the syscw count of the last batch."""

    def __init__(self, args, timeout=120):
        exe = os.path.join(lwtest.builddir(), "tests", "gen", "lwcluster")
        if not os.access(exe, os.X_OK):
            lwtest.skip("tests/gen/lwcluster not built")
        self.proc = subprocess.Popen([exe] + list(args), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.scripts = []
        self.timeout = timeout
        while True:
            line = self.proc.stdout.readline()
            if not line:
                err = self.proc.stderr.read()
                self.proc.wait(timeout=10)
                raise RuntimeError("lwcluster did not start: %s" % err.strip())
            if line.startswith("script "):
                self.scripts.append(line.split()[1])
            if line.strip() == "ready":
                break
        self.last_syscw = None

    def batch(self, cmds):
        self.proc.stdin.write("batch\n" + "".join(c + "\n" for c in cmds) + "end\n")
        self.proc.stdin.flush()
        out = []
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("lwcluster exited: %s" % self.proc.stderr.read())
            line = line.rstrip("\n")
            if line.startswith("done "):
                self.last_syscw = int(line.split("syscw=")[1])
                return out
            _, status, rest = line.split(" ", 2)
            unrep = rest.endswith(" unreplicated")
            if unrep:
                rest = rest[:-len(" unreplicated")]
            out.append((status, rest, unrep))

    def stats(self):
        self.proc.stdin.write("stats\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline().split()
        return {k: int(v) for k, v in (f.split("=") for f in line[1:])}

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                pass
        lwtest.stop_process(self.proc)
        err = self.proc.stderr.read()
        return err


def run_once(args, timeout=30):
    """lwcluster started and stopped at once: (exit code, stderr)."""
    exe = os.path.join(lwtest.builddir(), "tests", "gen", "lwcluster")
    r = subprocess.run([exe] + list(args), input="quit\n", stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=timeout)
    return r.returncode, r.stderr

