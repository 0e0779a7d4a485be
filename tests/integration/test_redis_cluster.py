#!/usr/bin/env python3
"""test_redis_cluster.py - the Redis routing layer (sensor/redis/redis-cluster.c)
against a real Redis Cluster: 3 masters and 3 replicas from Debian's
redis-server on loopback ports of the test's own, with an ACL user, driven
through tests/gen/lwcluster.

1. Start-up: SELECT refused on a cluster, a wrong password refused, a
   non-cluster node refused as a seed, all with the reason.
2. Keys spread over all three masters; a batch costs one round trip per
   master (the layer's count, and the write system calls of the process
   during the batch from /proc/self/io).
3. Multi-key commands and EVALSHA with keys in two slots are refused,
   naming the keys; EVALSHA after SCRIPT FLUSH is answered after SCRIPT LOAD.
4. A live migration of one slot (CLUSTER SETSLOT IMPORTING/MIGRATING,
   MIGRATE key by key, SETSLOT NODE) during a write loop: ASK and MOVED
   followed, every write acknowledged, each value in its list exactly once.
5. One master killed (SIGKILL) during a write loop: its replica takes
   over, writes go on, the failover is counted; every value acknowledged
   is there exactly once, no value reported not sent is there, and every
   value missing was reported to the caller (none silently lost).

Every loop is bounded in count and time; every server the test starts is
stopped by its PID, also on failure.
"""

import os
import sys
import threading
import time

import lwcluster
import lwredis
import lwtest

PW = lwcluster.PASSWORD
AUTH = ["--user", lwcluster.USER, "--pass", PW]


def driver(cl, extra=()):
    return lwcluster.Driver(["--seed", cl.seeds()[0], "--seed", cl.seeds()[1]] + AUTH + list(extra))


SANITIZER_REPORTS = []


def closed(d):
    """Closes a driver; a sanitizer report on its stderr is kept for the end."""
    err = d.close()
    if any(m in err for m in lwtest.SANITIZER_MARKS):
        SANITIZER_REPORTS.append(err[-3000:])
    return err


def once(args):
    rc, err = lwcluster.run_once(args)
    if any(m in err for m in lwtest.SANITIZER_MARKS):
        SANITIZER_REPORTS.append(err[-3000:])
    return rc, err


def lrange(cl, key):
    node, _ = cl.owner(lwcluster.key_slot(key))
    c = node.client()
    try:
        return [int(v) for v in c.call("LRANGE", key, 0, -1)]
    finally:
        c.close()


def check_startup(tap, cl, tmp):
    rc, err = once(["--seed", cl.seeds()[0], "--db", "1"] + AUTH)
    tap.ok(rc == 2 and "SELECT is not allowed on a Redis Cluster" in err,
           "start-up: SELECT on a cluster is refused with the reason", err)
    rc, err = once(["--seed", cl.seeds()[0], "--user", lwcluster.USER, "--pass", "wrong"])
    tap.ok(rc == 2 and "AUTH" in err and "WRONGPASS" in err, "start-up: a wrong password is refused", err)
    with lwredis.RedisServer(tmp, "single") as single:
        rc, err = once(["--seed", "127.0.0.1:%d" % single.port])
        tap.ok(rc == 2 and "not a cluster node" in err, "start-up: a non-cluster seed is refused", err)
        # The same layer on a single node: routed, pipelined, no slot map.
        d = lwcluster.Driver(["--server", "127.0.0.1", "--port", str(single.port)])
        res = d.batch(["SET {a}k%d %d" % (i, i) for i in range(50)] + ["MSET {a}x 1 {b}y 2"])
        st = d.stats()
        closed(d)
        tap.ok(all(r[0] == "OK" for r in res[:50]) and res[50][0] == "REFUSED",
               "single node: 50 commands answered, the cross-slot one refused", res[-3:])
        tap.ok(st["round_trips"] == 1 and st["map_refreshes"] == 0 and st["nodes"] == 1,
               "single node: one round trip, no slot map", st)


def check_spread(tap, cl):
    d = driver(cl)
    try:
        d.batch(["PING"] + ["SET warm%d 1" % i for i in range(30)])     # connect to every master
        before = d.stats()
        res = d.batch(["SET spread:%d %d" % (i, i) for i in range(300)])
        after = d.stats()
        syscw = d.last_syscw
    finally:
        closed(d)
    tap.ok(all(r[0] == "OK" and r[1] == "+OK" for r in res), "spread: 300 SETs acknowledged",
           [r for r in res if r[0] != "OK"][:5])
    masters = cl.masters()
    counts = []
    for m in masters:
        c = m.client()
        counts.append(len(c.keys("spread:*")))
        c.close()
    tap.ok(len(masters) == 3 and all(n > 0 for n in counts) and sum(counts) == 300,
           "spread: keys on all three masters (%s)" % counts, counts)
    rt = after["round_trips"] - before["round_trips"]
    tap.ok(rt == 3, "pipeline: one round trip per master for 300 commands (%d)" % rt, after)
    tap.ok(syscw in (3, -1), "pipeline: one write per master (%s write system calls)" % syscw)
    tap.ok(after["commands"] - before["commands"] == 300 and after["redirects"] == 0,
           "pipeline: 300 commands written once each, no redirect", after)


def check_scripts(tap, cl):
    body = "return redis.call('INCR', KEYS[1])"
    push = "return redis.call('RPUSH', KEYS[1], ARGV[1])"
    d = lwcluster.Driver(["--seed", cl.seeds()[0]] + AUTH + ["--script", body, "--script", push])
    try:
        sha = d.scripts[0]
        r1 = d.batch(["EVALSHA %s 1 {s}:n" % sha])
        for m in cl.masters():
            c = m.client()
            c.call("SCRIPT", "FLUSH")
            c.close()
        r2 = d.batch(["EVALSHA %s 1 {s}:n" % sha])
        st = d.stats()
        # A script call that meets NOSCRIPT and a command behind it on the
        # same key: the second waits for the first, so the list keeps the order.
        for m in cl.masters():
            c = m.client()
            c.call("SCRIPT", "FLUSH")
            c.close()
        r4 = d.batch(["EVALSHA %s 1 {s}:order first" % d.scripts[1], "RPUSH {s}:order second"])
        c = cl.owner(lwcluster.key_slot("{s}"))[0].client()
        order = [v.decode() for v in c.call("LRANGE", "{s}:order", 0, -1)]
        c.close()
        r3 = d.batch(["EVALSHA %s 2 {a}:x {b}:y" % sha, "MSET {a}:x 1 {b}:y 2", "MSET {a}:x 1 {a}:y 2",
                      "DEL {a}:x {a}:y", "MULTI"])
    finally:
        closed(d)
    tap.ok(r1 == [("OK", ":1", False)] and r2 == [("OK", ":2", False)] and st["script_loads"] == 1,
           "EVALSHA after SCRIPT FLUSH: loaded again on that node and answered", (r1, r2, st))
    tap.ok([r[0] for r in r4] == ["OK", "OK"] and order == ["first", "second"],
           "a command behind a script call that met NOSCRIPT, on the same key, keeps its place", (r4, order))
    tap.ok(r3[0][0] == "REFUSED" and "'{a}:x'" in r3[0][1] and "'{b}:y'" in r3[0][1],
           "EVALSHA with keys in two slots refused, naming them", r3[0])
    tap.ok(r3[1][0] == "REFUSED" and "CROSSSLOT" in r3[1][1], "MSET across slots refused", r3[1])
    tap.ok(r3[2] == ("OK", "+OK", False) and r3[3] == ("OK", ":2", False),
           "MSET and DEL within one slot answered", r3[2:4])
    tap.ok(r3[4][0] == "REFUSED", "MULTI refused (use a script)", r3[4])


class Writer(threading.Thread):
    """Batches of RPUSH <key> <unique value> until stopped or max_batches;
    remembers each value's status and whether it was acknowledged after a
    moment of interest."""

    def __init__(self, d, keys_of, max_batches, max_secs):
        super().__init__(daemon=True)
        self.d, self.keys_of = d, keys_of
        self.max_batches, self.max_secs = max_batches, max_secs
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.sent = {}          # value -> (key, status, unreplicated)
        self.batches = 0
        self.error = None
        self.next_value = 1

    def run(self):
        until = time.time() + self.max_secs
        try:
            while not self.stop.is_set() and self.batches < self.max_batches and time.time() < until:
                cmds, meta = [], []
                for key, extra in self.keys_of(self.batches):
                    v = self.next_value
                    self.next_value += 1
                    cmds.append("RPUSH %s %d" % (key, v))
                    meta.append((key, v))
                    for e in extra:
                        cmds.append(e % v)
                        meta.append((None, None))
                res = self.d.batch(cmds)
                with self.lock:
                    for (key, v), (status, reply, unrep) in zip(meta, res):
                        if key is not None:
                            self.sent[v] = (key, status, unrep)
                    self.batches += 1
        except Exception as e:      # reported by the test
            self.error = repr(e)

    def wait_batches(self, n, timeout):
        return lwredis.wait_for(lambda: self.batches >= n or not self.is_alive(), timeout)


def verify_lists(tap, cl, w, what, keys):
    present, unordered = {}, []
    for k in keys:
        vals = lrange(cl, k)
        if vals != sorted(vals):
            unordered.append(k)
        for v in vals:
            present.setdefault(v, []).append(k)
    dup = [v for v, ks in present.items() if len(ks) > 1]
    acked = {v for v, (k, st, _) in w.sent.items() if st == "OK"}
    not_sent = {v for v, (k, st, _) in w.sent.items() if st == "NOT_SENT"}
    told = {v for v, (k, st, _) in w.sent.items() if st != "OK"}
    missing_acked = sorted(acked - set(present))
    silently_lost = sorted(set(w.sent) - set(present) - told)
    wrong_key = [v for v, ks in present.items() if v in w.sent and w.sent[v][0] != ks[0]]
    tap.ok(not dup, "%s: no value twice" % what, dup[:10])
    tap.ok(not unordered, "%s: each list in the order its values were written" % what, unordered)
    tap.ok(not missing_acked, "%s: every acknowledged value is there (%d)" % (what, len(acked)), missing_acked[:10])
    tap.ok(not (not_sent & set(present)), "%s: no value reported not sent is there" % what,
           sorted(not_sent & set(present))[:10])
    tap.ok(not silently_lost and not wrong_key, "%s: none silently lost (%d reported to the caller)"
           % (what, len(told)), (silently_lost[:10], wrong_key[:10]))
    return acked, told


def check_migration(tap, cl):
    slot = lwcluster.key_slot("{mig}")
    src, src_id = cl.owner(slot)
    dst = [m for m in cl.masters() if m is not src][0]
    dst_id = [e["id"] for e in cl.cluster_nodes() if e["port"] == dst.port][0]
    lists = ["{mig}:l%d" % j for j in range(4)] + ["{o%d}:l" % j for j in range(6)]

    def keys_of(b):
        # Four values per {mig} list and batch (commands on one key are
        # sent one after the other), new {mig} keys every batch (ASK while
        # they are created on the target), and lists in other slots.
        out = []
        for i in range(4):
            for j in range(4):
                out.append(("{mig}:l%d" % j, ["SET {mig}:k%d x"] if i == 0 else []))
        for j in range(6):
            out.append(("{o%d}:l" % j, []))
        return out

    d = driver(cl)
    w = Writer(d, keys_of, max_batches=20000, max_secs=60)
    w.start()
    moved_keys = 0
    try:
        w.wait_batches(5, 20)
        s, t = src.client(), dst.client()
        t.call("CLUSTER", "SETSLOT", slot, "IMPORTING", src_id)
        s.call("CLUSTER", "SETSLOT", slot, "MIGRATING", dst_id)
        until = time.time() + 40
        for _ in range(2000):
            keys = s.call("CLUSTER", "GETKEYSINSLOT", slot, 20)
            if not keys or time.time() > until:
                break
            s.call("MIGRATE", "127.0.0.1", dst.port, "", 0, 5000, "AUTH2", lwcluster.USER, PW, "KEYS", *keys)
            moved_keys += len(keys)
            n = w.batches
            w.wait_batches(n + 1, 5)     # writes go on between moves
        left = s.call("CLUSTER", "GETKEYSINSLOT", slot, 10)
        for node in (t, s):
            node.call("CLUSTER", "SETSLOT", slot, "NODE", dst_id)
        s.close()
        t.close()
        n = w.batches
        w.wait_batches(n + 20, 20)
    finally:
        w.stop.set()
        w.join(30)
        st = d.stats()
        err = closed(d)
    tap.ok(w.error is None and not w.is_alive(), "migration: the write loop ran (%d batches)" % w.batches,
           (w.error, err))
    tap.ok(moved_keys > 20 and left == [], "migration: %d keys migrated, none left behind" % moved_keys, left)
    tap.ok(st["ask"] > 0 and st["moved"] > 0 and st["redirects"] == st["ask"] + st["moved"],
           "migration: ASK (%d) and MOVED (%d) followed" % (st["ask"], st["moved"]), st)
    owner, _ = cl.owner(slot)
    tap.ok(owner is dst, "migration: the slot is the target's")
    acked, told = verify_lists(tap, cl, w, "migration", lists)
    tap.ok(not told and len(acked) == len(w.sent), "migration: every write acknowledged (%d)" % len(acked),
           sorted(told)[:10])


def check_failover(tap, cl):
    lists = ["{f%d}:l" % j for j in range(30)]

    def keys_of(b):
        return [(k, []) for k in lists]

    victim, victim_id = cl.owner(lwcluster.key_slot("{f0}"))
    replica_ports = [e["port"] for e in cl.cluster_nodes() if not e["master"]]
    d = driver(cl, ["--wait", "1"])
    w = Writer(d, keys_of, max_batches=5000, max_secs=180)
    w.start()
    try:
        w.wait_batches(10, 20)
        cl.kill_in_step(victim)
        killed_at_batch = w.batches
        # Go on until the failover is counted and 20 more batches went through.
        seen = cl.replica_took_over(replica_ports)
        n = w.batches
        w.wait_batches(n + 20, 40)
    finally:
        w.stop.set()
        w.join(30)
        st = d.stats()
        err = closed(d)
    tap.ok(w.error is None, "failover: the write loop ran (%d batches, %d before the kill)"
           % (w.batches, killed_at_batch), (w.error, err))
    tap.ok(seen, "failover: a replica took over the killed master's slots")
    tap.ok(st["failovers"] >= 1 and st["node_failures"] >= 1,
           "failover: counted (%d failover, %d node failures, %d slot maps read)"
           % (st["failovers"], st["node_failures"], st["map_refreshes"]), st)
    acked, told = verify_lists(tap, cl, w, "failover", lists)
    last = sorted(w.sent)[-30:]
    tap.ok(len(last) == 30 and all(w.sent[v][1] == "OK" for v in last),
           "failover: writes go on (the last batch all acknowledged, the killed master's lists too)",
           [w.sent[v] for v in last if w.sent[v][1] != "OK"])
    tap.note("failover: %d values written, %d acknowledged, %d reported not sent or in doubt"
             % (len(w.sent), len(acked), len(told)))


def main():
    if not lwcluster.available():
        lwtest.skip("redis-server or redis-cli not installed (apt-get install redis-server)")
    tap = lwtest.Tap()
    with lwtest.TempDir("lwcluster-") as tmp:
        with lwcluster.RedisCluster(tmp, masters=3, replicas=1) as cl:
            tap.ok(len(cl.masters()) == 3, "a 3-master, 3-replica cluster is up on ports %s" % cl.seeds())
            check_startup(tap, cl, tmp)
            check_spread(tap, cl)
            check_scripts(tap, cl)
            check_migration(tap, cl)
            check_failover(tap, cl)
    tap.ok(not SANITIZER_REPORTS, "lwcluster: no sanitizer report", "\n".join(SANITIZER_REPORTS))
    tap.done()


if __name__ == "__main__":
    sys.exit(main())
