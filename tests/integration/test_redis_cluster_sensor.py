#!/usr/bin/env python3
"""test_redis_cluster_sensor.py - two sensors writing into a Redis Cluster
(3 masters, 3 replicas, Debian's redis-server on loopback ports of the
test's own), through a failover and a live slot migration, against a run of
the same captures into one Redis server.

The reference: sensors "s1" and "s2" read tests/gen/gen_redis.py captures
(different hosts) into one redis-server, default layout (the shared
{alerts} stream).

1. Failover. The two sensors read the same captures from FIFOs the test
   writes at its own pace, into the cluster (redis.cluster seeds,
   alerts-layout auto = per-sensor). Keys spread over all three masters.
   After the first third, the master that owns s1's alert stream is killed
   (SIGKILL: a crash) while packets keep coming; its replica takes over.
   Then: each sensor's stream {alerts:<sensor>} holds its EVE alerts
   exactly once, in order (0 lost, 0 duplicated); every tally key (per
   sensor and the merged "all" view) equals the single-server run's; the
   sensors count the failover and the redirects (status hash, summary).
   The console (redis.cluster too, running through it all) answers the
   alert list and the summary within 10 s of the failover, and lists every
   alert of both sensors exactly once at the end.
2. Resharding. A fresh cluster; during the replay the slot of s2's alert
   stream (the stream, its sequence, its indexes) is migrated to another
   master (CLUSTER SETSLOT IMPORTING/MIGRATING, MIGRATE key by key, SETSLOT
   NODE). Same checks.

Every server and sensor the test starts is stopped by its PID, also on
failure; every wait is bounded.
"""

import json
import os
import subprocess
import sys
import threading
import time

import lwcluster
import lwredis
import lwtest

PREFIX = "lw"
SENSORS = ("s1", "s2")
AUTH = ["--set", "redis.username=%s" % lwcluster.USER]


def env():
    e = dict(os.environ)
    e["LINKWATCH_REDIS_PASSWORD"] = lwcluster.PASSWORD
    return e


def sensor_argv(read, logdir, spool, sensor, rules, target):
    """target: a port (one server) or a list of cluster seeds."""
    argv = [lwtest.find_binary(), "-c", os.path.join(lwtest.srcdir(), "linkwatch.yaml"),
            "-S", rules, "-l", logdir, "-r", read]
    port = target if isinstance(target, int) else 1
    argv += lwredis.redis_args(port, spool, sensor, ["--set", "redis.top-hosts=100000"])
    if not isinstance(target, int):
        argv += ["--set", "redis.cluster=[%s]" % ", ".join(target)] + AUTH
    return argv


finish = lwredis.finish
check_run = lwredis.check_run
diff = lwredis.diff


def strip_gauge(t):
    for (res, start, fam, metric), m in t.items():
        if fam == "health":
            m.pop("flows_active", None)      # a gauge: depends on when it was sampled
    return t


# ------------------------------------------------------------------ reading a cluster

class ClusterReader:
    """Reads keys where they live: KEYS on every live master, each key read
    from the master that holds it."""

    def __init__(self, cl):
        self.cl = cl
        self.clients = {}

    def masters(self):
        return self.cl.masters()

    def client(self, node):
        c = self.clients.get(node.port)
        if c is None:
            c = self.clients[node.port] = node.client()
        return c

    def keys(self, pattern):
        """{key: node} over the live masters."""
        out = {}
        for m in self.masters():
            for k in self.client(m).keys(pattern):
                out[k] = m
        return out

    def node_of(self, key):
        node, _ = self.cl.owner(lwcluster.key_slot(key))
        return node

    def stream(self, key):
        return self.client(self.node_of(key)).stream(key)

    def tallies(self, scope):
        keys = self.keys("%s:{%s:*" % (PREFIX, scope))
        return strip_gauge(lwredis.tallies_of(((k, self.client(n)) for k, n in keys.items()), PREFIX))

    def close(self):
        for c in self.clients.values():
            c.close()
        self.clients = {}


def shard_alerts(rd, sensor):
    try:
        return [json.loads(f["event"]) for _, f in rd.stream("%s:{alerts:%s}" % (PREFIX, sensor))]
    except (OSError, lwredis.RedisError):
        return None


# ------------------------------------------------------------------ the reference

def reference(tap, tmp, rules, caps):
    spool = os.path.join(tmp, "spool-ref")
    srv = lwredis.RedisServer(tmp, "redis-ref").start()
    try:
        ref = {}
        for s in SENSORS:
            log = os.path.join(tmp, "log-ref-" + s)
            os.makedirs(log)
            argv = sensor_argv(caps[s], log, spool, s, rules, srv.port)
            r = finish(subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE), argv, log)
            check_run(tap, r, "single server, sensor %s" % s)
            ref[s] = r.of_type("alert")
        c = srv.client()
        t = {scope: strip_gauge(lwredis.read_tallies(c, PREFIX, scope)) for scope in SENSORS + ("all",)}
        st = [json.loads(f["event"]) for _, f in c.stream(PREFIX + ":{alerts}")]
        c.close()
        tap.ok(all(len(ref[s]) > 100 for s in SENSORS) and len(st) == sum(len(ref[s]) for s in SENSORS),
               "single server: the shared stream holds both sensors' alerts (%s)"
               % ", ".join("%s %d" % (s, len(ref[s])) for s in SENSORS))
        return ref, t
    finally:
        srv.stop()


# ------------------------------------------------------------------ the replay

class Replay:
    """Both sensors reading FIFOs into the cluster; the test feeds them."""

    def __init__(self, tmp, name, rules, cl, hdrs, metrics_port=None):
        self.procs = {}
        self.writers = {}
        self.logs = {}
        self.argv = {}
        spool = os.path.join(tmp, "spool-" + name)
        for s in SENSORS:
            fifo = os.path.join(tmp, "%s-%s.pcap" % (name, s))
            os.mkfifo(fifo)
            log = os.path.join(tmp, "log-%s-%s" % (name, s))
            os.makedirs(log)
            self.argv[s] = sensor_argv(fifo, log, spool, s, rules, cl.seeds())
            if s == SENSORS[0] and metrics_port:
                self.argv[s] += ["--set", "metrics.enabled=yes", "--set", "stats.interval=1",
                                 "--set", "metrics.listen=127.0.0.1:%d" % metrics_port]
            self.logs[s] = log
            self.procs[s] = subprocess.Popen(self.argv[s], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                             env=env())
        for s in SENSORS:
            self.writers[s] = lwredis.FifoWriter(os.path.join(tmp, "%s-%s.pcap" % (name, s)))
            self.writers[s].write(hdrs[s])

    def feed(self, parts, pace=0.04):
        """parts: {sensor: records}, written side by side."""
        th = [threading.Thread(target=self.writers[s].records, args=(parts[s], pace)) for s in SENSORS]
        for t in th:
            t.start()
        for t in th:
            t.join(120)

    def finish(self):
        runs = {}
        for s in SENSORS:
            self.writers[s].close()
        for s in SENSORS:
            runs[s] = finish(self.procs[s], self.argv[s], self.logs[s], timeout=180)
        return runs

    def kill(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.kill()
                p.wait(10)


def thirds(recs):
    t0 = recs[0][0]
    return [[r for r in recs if t0 + 120 * k <= r[0] < t0 + 120 * (k + 1)] for k in range(3)]


def check_result(tap, what, runs, rd, ref, ref_t):
    for s in SENSORS:
        check_run(tap, runs[s], "%s, sensor %s" % (what, s))
        eve = runs[s].of_type("alert")
        tap.ok(eve == ref[s], "%s: %s's EVE alerts equal the single-server run's (%d)" % (what, s, len(eve)))
        st = shard_alerts(rd, s)
        seqs = [json.dumps(a, sort_keys=True) for a in (st or [])]
        tap.ok(st == eve, "%s: {alerts:%s} = its EVE alerts, in order: %d in the stream, %d lost, %d repeated"
               % (what, s, len(st or []), len([a for a in eve if a not in (st or [])]),
                  len(seqs) - len(set(seqs))))
        line = next((l for l in runs[s].stdout.splitlines() if "redis:" in l), "no redis summary")
        tap.note("%s %s: %s" % (what, s, line))
    for scope in SENSORS + ("all",):
        t = rd.tallies(scope)
        tap.ok(t == ref_t[scope], "%s: tallies of %s (%d keys) equal the single-server run's"
               % (what, scope, len(t)), diff(ref_t[scope], t))


def spread(tap, rd, what, wait=0):
    def keys_now():
        return {m.port: rd.client(m).keys(PREFIX + ":*") for m in rd.masters()}
    lwredis.wait_for(lambda: all(keys_now().values()), wait, step=0.2)
    keys = keys_now()
    per = {port: len(k) for port, k in keys.items()}
    tap.ok(len(per) == 3 and all(n > 0 for n in per.values()),
           "%s: keys on all three masters (%s)" % (what, ", ".join("%d: %d" % kv for kv in sorted(per.items()))),
           {port: sorted({k.split("}")[0] for k in ks})[:20] for port, ks in keys.items()})


def status_hash(rd, sensor):
    key = "%s:{%s}:sensor" % (PREFIX, sensor)
    r = rd.client(rd.node_of(key)).call("HGETALL", key) or []
    return {r[i].decode(): r[i + 1].decode() for i in range(0, len(r), 2)}


def prom(port, name):
    """One unlabelled sample of the sensor's /metrics, -1 when absent."""
    import urllib.request
    try:
        text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5).read().decode()
    except OSError:
        return -1
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return -1


class ClusterConsole:
    """linkwatch-console on the cluster (redis.cluster seeds), with a user."""

    def __init__(self, tmp, name, cl):
        import lwconsole
        d = os.path.join(tmp, "console-" + name)
        os.makedirs(d, exist_ok=True)
        # The console drops to nobody, who must reach its users file below tmp.
        os.chmod(tmp, os.stat(tmp).st_mode | 0o011)
        self.c = lwconsole.Console(d, cl.nodes[0].port)
        self.c.args += ["--set", "redis.cluster=[%s]" % ", ".join(cl.seeds()),
                        "--set", "redis.username=%s" % lwcluster.USER,
                        "--set", "redis.password=%s" % lwcluster.PASSWORD]
        r = self.c.add_user()
        if r.returncode != 0:
            raise RuntimeError("linkwatch-console --add-user: %s" % r.stderr.decode(errors="replace"))
        self.c.start()

    def get(self, path, timeout=10):
        """(status, JSON) of one GET with basic auth, or (None, why)."""
        import base64
        import urllib.error
        import urllib.request
        import lwconsole
        req = urllib.request.Request(self.c.url(path), headers={"Authorization": "Basic " + base64.b64encode(
            ("%s:%s" % (lwconsole.USER, lwconsole.PASSWORD)).encode()).decode()})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, e.read()[:300]
        except (OSError, ValueError) as e:
            return None, str(e)

    def answers_within(self, limit):
        """Seconds until the alert list and the summary both answer 200, or None."""
        t0 = time.time()
        while time.time() - t0 < limit:
            a, _ = self.get("/api/alerts?limit=5", timeout=max(0.5, limit - (time.time() - t0)))
            s, _ = self.get("/api/summary", timeout=max(0.5, limit - (time.time() - t0)))
            if a == 200 and s == 200:
                return time.time() - t0
            time.sleep(0.1)
        return None

    def stop(self):
        self.c.stop()


def check_console(tap, what, con, ref):
    s, b = con.get("/api/alerts?limit=1000", timeout=60)
    want = sorted((sn, a["timestamp"], a["alert"]["signature_id"]) for sn in SENSORS for a in ref[sn])
    got = sorted((a["sensor"], a["event"]["timestamp"], a["event"]["alert"]["signature_id"])
                 for a in (b.get("alerts", []) if s == 200 else []))
    tap.ok(s == 200 and got == want, "%s: the console lists every alert of both sensors once (%d)"
           % (what, len(got)), b if s != 200 else "%d listed, %d expected" % (len(got), len(want)))


def split(caps):
    """Each sensor's pcap header, and its records in three 2-minute parts."""
    hdrs, parts = {}, {}
    for s in SENSORS:
        hdrs[s], recs = lwredis.pcap_split(caps[s])
        parts[s] = thirds(recs)
    return hdrs, parts


def failover(tap, tmp, rules, caps, ref, ref_t):
    hdrs, parts = split(caps)
    with lwcluster.RedisCluster(os.path.join(tmp, "cl1"), masters=3, replicas=1) as cl:
        rd = ClusterReader(cl)
        victim, _ = cl.owner(lwcluster.key_slot("{alerts:s1}"))
        replica_ports = [e["port"] for e in cl.cluster_nodes() if not e["master"]]
        mport = lwredis.free_port()
        con = ClusterConsole(tmp, "failover", cl)
        rp = Replay(tmp, "failover", rules, cl, hdrs, metrics_port=mport)
        try:
            rp.feed({s: parts[s][0] for s in SENSORS})
            n1 = {s: len([a for a in ref[s] if lwredis.eve_epoch(a["timestamp"]) <
                          parts[s][1][0][0]]) for s in SENSORS}
            got = lwredis.wait_for(lambda: all(len(shard_alerts(rd, s) or []) >= n1[s] for s in SENSORS), 30)
            tap.ok(got, "failover: first third in ({alerts:s1} %s, {alerts:s2} %s)"
                   % tuple(len(shard_alerts(rd, s) or []) for s in SENSORS))
            spread(tap, rd, "failover, before the kill", wait=20)
            half = {s: len(parts[s][1]) // 2 for s in SENSORS}
            rp.feed({s: parts[s][1][:half[s]] for s in SENSORS})
            rd.close()
            synced = cl.kill_in_step(victim)
            t_kill = time.time()
            rp.feed({s: parts[s][1][half[s]:] for s in SENSORS}, pace=0.06)
            took = cl.replica_took_over(replica_ports)
            t_over = time.time()
            tap.ok(took, "failover: a replica took over the killed master's slots (%.1f s after the kill)"
                   % (t_over - t_kill),
                   None if took else "replica in step before the kill: %s\n%s" % (synced, "\n".join(
                       "node %d:\n%s" % (p, cl.log_tail(p)) for p in replica_ports)))
            secs = con.answers_within(10 - (time.time() - t_over))
            tap.ok(secs is not None, "failover: the console's alert list and summary answer %.1f s after the "
                   "failover (within 10 s)" % ((time.time() - t_over) if secs is None else secs + 0.0))
            metrics = lwredis.wait_for(lambda: prom(mport, "linkwatch_redis_cluster_failovers_total") >= 1, 20,
                                       step=0.5)
            tap.ok(metrics, "failover: s1's /metrics counts it while it runs (%s)"
                   % ", ".join("%s %s" % (m, prom(mport, "linkwatch_redis_cluster_" + m))
                               for m in ("nodes", "masters", "failovers_total", "node_failures_total",
                                         "slot_map_refreshes_total", "redirects_total")))
            rp.feed({s: parts[s][2] for s in SENSORS})
            runs = rp.finish()
            check_console(tap, "failover", con, ref)
        finally:
            rp.kill()
            con.stop()
        check_result(tap, "failover", runs, rd, ref, ref_t)
        for s in SENSORS:
            h = status_hash(rd, s)
            tap.ok(int(h.get("cluster_masters", 0)) == 3 and int(h.get("cluster_nodes", 0)) >= 5
                   and int(h.get("cluster_slot_map_refreshes", 0)) >= 1,
                   "failover: %s's status hash shows the cluster (%s)"
                   % (s, ", ".join("%s=%s" % kv for kv in sorted(h.items()) if kv[0].startswith("cluster_"))))
        h1 = status_hash(rd, "s1")
        tap.ok(int(h1.get("cluster_failovers", 0)) >= 1 and int(h1.get("cluster_node_failures", 0)) >= 1,
               "failover: s1 counted the failover (%s failovers, %s node failures)"
               % (h1.get("cluster_failovers"), h1.get("cluster_node_failures")))
        spread(tap, rd, "failover, after")
        rd.close()


def resharding(tap, tmp, rules, caps, ref, ref_t):
    hdrs, parts = split(caps)
    with lwcluster.RedisCluster(os.path.join(tmp, "cl2"), masters=3, replicas=1) as cl:
        rd = ClusterReader(cl)
        slot = lwcluster.key_slot("{alerts:s2}")
        src, src_id = cl.owner(slot)
        dst = [m for m in cl.masters() if m is not src][0]
        dst_id = [e["id"] for e in cl.cluster_nodes() if e["port"] == dst.port][0]
        con = ClusterConsole(tmp, "reshard", cl)
        rp = Replay(tmp, "reshard", rules, cl, hdrs)
        moved = 0
        try:
            rp.feed({s: parts[s][0] for s in SENSORS})
            s_, t_ = src.client(), dst.client()
            t_.call("CLUSTER", "SETSLOT", slot, "IMPORTING", src_id)
            s_.call("CLUSTER", "SETSLOT", slot, "MIGRATING", dst_id)
            feeder = threading.Thread(target=rp.feed, args=({s: parts[s][1] for s in SENSORS}, 0.06))
            feeder.start()
            until = time.time() + 60
            for _ in range(5000):
                keys = s_.call("CLUSTER", "GETKEYSINSLOT", slot, 5)
                if not keys or time.time() > until:
                    break
                s_.call("MIGRATE", "127.0.0.1", dst.port, "", 0, 5000, "AUTH2", lwcluster.USER,
                        lwcluster.PASSWORD, "KEYS", *keys)
                moved += len(keys)
                time.sleep(0.1)                  # alerts keep coming between moves
            left = s_.call("CLUSTER", "GETKEYSINSLOT", slot, 10)
            for node in (t_, s_):
                node.call("CLUSTER", "SETSLOT", slot, "NODE", dst_id)
            s_.close()
            t_.close()
            feeder.join(120)
            rp.feed({s: parts[s][2] for s in SENSORS})
            runs = rp.finish()
            check_console(tap, "resharding", con, ref)
        finally:
            rp.kill()
            con.stop()
        tap.ok(moved > 10 and left == [], "resharding: %d keys of slot %d ({alerts:s2}) migrated live, "
               "none left behind" % (moved, slot), left)
        owner, _ = cl.owner(slot)
        tap.ok(owner is dst, "resharding: the slot is the target's")
        check_result(tap, "resharding", runs, rd, ref, ref_t)
        h = status_hash(rd, "s2")
        tap.ok(int(h.get("cluster_redirects", 0)) >= 1,
               "resharding: s2 followed redirects (%s ASK, %s MOVED; %s TRYAGAIN while its keys were split)"
               % (h.get("cluster_ask"), h.get("cluster_moved"), h.get("cluster_tryagain", "?")))
        spread(tap, rd, "resharding")
        rd.close()


def main():
    if not lwcluster.available():
        lwtest.skip("redis-server or redis-cli not installed (apt-get install redis-server)")
    tap = lwtest.Tap()
    lwtest.find_binary()
    sys.path.insert(0, os.path.join(lwtest.srcdir(), "tests", "gen"))
    import gen_redis
    with lwtest.TempDir("lwtest-cluster-sensor-") as tmp:
        rules = os.path.join(tmp, "lwtest.rules")
        with open(rules, "w") as f:
            f.write(gen_redis.RULES)
        caps = {"s1": lwredis.gen(tmp, "s1.pcap", 6, 1), "s2": lwredis.gen(tmp, "s2.pcap", 6, 2)}
        ref, ref_t = reference(tap, tmp, rules, caps)
        failover(tap, tmp, rules, caps, ref, ref_t)
        resharding(tap, tmp, rules, caps, ref, ref_t)
    tap.done()


if __name__ == "__main__":
    main()
