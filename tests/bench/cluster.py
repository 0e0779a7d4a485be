#!/usr/bin/env python3
"""cluster.py - make bench: flushes through the Redis routing layer
(sensor/redis/redis-cluster.c, tests/bench/bench_cluster) against one
redis-server and a 3-master Redis Cluster, same settings, same run, on
loopback ports of its own. Prints flushes/s (and round trips/s, one per node
written to) and commands/s for a one-sensor flush (80 tally script calls in
4 hash tags) and a ten-sensor one (800 in 40). Runs alternate, 3 each; the
best of each is printed (other work shares the machine).

Then the sensor itself (linkwatch -r, eve.json on as users run it) on a busy
link (the benchmark capture, LW_BENCH_CLUSTER_COPIES copies overlapping in
time, default 200) writing to one redis-server and to a 3-master, 3-replica
cluster (redis.cluster, redis.wait-replicas 1): packets/s and the Redis round
trips per second of its flushes, alternating, LW_BENCH_CLUSTER_RUNS each; best
and median. Every server is stopped by its PID at the end.

usage: cluster.py BUILDDIR SRCDIR
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.join(sys.argv[2] if len(sys.argv) > 2 else ".", "tests", "lib"))
import lwcluster  # noqa: E402
import lwredis  # noqa: E402
import lwtest  # noqa: E402

RUNS = int(os.environ.get("LW_BENCH_CLUSTER_RUNS", "3"))
SECONDS = os.environ.get("LW_BENCH_CLUSTER_SECONDS", "2")


def run(exe, target, sensors):
    r = subprocess.run([exe] + target + ["--user", lwcluster.USER, "--pass", lwcluster.PASSWORD,
                                         "--sensors", str(sensors), "--seconds", SECONDS],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError("bench_cluster failed: %s%s" % (r.stdout, r.stderr))
    return r.stdout.strip()


def flushes(line):
    return float(line.split("flushes/s")[0].split(":")[-1])


def bench_source(srcdir):
    src = os.environ.get("LW_BENCH_PCAP")
    if src:
        return src
    corpus = os.environ.get("LW_CORPUS", os.path.join(srcdir, "..", "shared", "corpus"))
    pcaps = [os.path.join(corpus, "pcaps", f) for f in os.listdir(os.path.join(corpus, "pcaps"))
             if f.endswith(".pcap")] if os.path.isdir(os.path.join(corpus, "pcaps")) else []
    return max(pcaps, key=os.path.getsize) if pcaps else None


def sensor_run(build, srcdir, cap, tmp, target):
    """One linkwatch -r with Redis on: (packets/s, round trips/s, summary line)."""
    import re
    import time
    log = os.path.join(tmp, "log")
    subprocess.run(["rm", "-rf", log, os.path.join(tmp, "spool")], check=True)
    os.makedirs(log)
    argv = [os.path.join(build, "linkwatch"), "-c", os.path.join(srcdir, "linkwatch.yaml"), "-r", cap,
            "-l", log, "--set", "logging.level=error", "--set", "redis.enabled=yes",
            "--set", "redis.spool-dir=%s" % os.path.join(tmp, "spool"), "--set", "sensor-id=bench",
            "--set", "redis.username=%s" % lwcluster.USER] + target
    env = dict(os.environ, LINKWATCH_REDIS_PASSWORD=lwcluster.PASSWORD)
    t0 = time.time()
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=900, env=env)
    wall = time.time() - t0
    if r.returncode != 0:
        raise RuntimeError("linkwatch failed: %s" % r.stderr[-2000:])
    m = re.search(r"(\d+) packets, \d+ bytes in ([0-9.]+) s", r.stdout)
    rt = re.search(r"redis: (\d+) round trips, (\d+) commands", r.stdout)
    node = re.search(r"redis cluster: .* (\d+) node round trips", r.stdout)
    if not m or not rt:
        raise RuntimeError("no summary: %s" % r.stdout[-2000:])
    secs = float(m.group(2)) or wall
    # On a cluster a flush costs one round trip per node it writes to.
    trips = int(node.group(1)) if node else int(rt.group(1))
    return int(m.group(1)) / secs, trips / secs, int(rt.group(2)) / secs


def sensor_bench(build, srcdir, tmp, single, cl):
    src = bench_source(srcdir)
    if src is None:
        print("redis cluster, sensor: no corpus and no LW_BENCH_PCAP - skipped")
        return
    copies = os.environ.get("LW_BENCH_CLUSTER_COPIES", "200")
    cap = os.path.join(tmp, "cluster-bench.pcap")
    subprocess.run([os.path.join(build, "tests", "bench", "bench"), "replicate", src, cap, copies, "overlap"],
                   check=True, stdout=subprocess.DEVNULL)
    targets = {"one node": ["--set", "redis.port=%d" % single.port],
               "cluster": ["--set", "redis.cluster=[%s]" % ", ".join(cl.seeds())]}
    got = {name: [] for name in targets}
    for _ in range(RUNS):
        for name, t in targets.items():
            got[name].append(sensor_run(build, srcdir, cap, tmp, t))
    for name in targets:
        runs = sorted(got[name])
        best, med = runs[-1], runs[len(runs) // 2]
        print("redis cluster, sensor (%s x%s overlap), %-8s: median %.0f packets/s, %.1f round trips/s, "
              "%.0f commands/s; best %.0f packets/s (%d runs)"
              % (os.path.basename(src), copies, name, med[0], med[1], med[2], best[0], RUNS))
    one, clu = sorted(got["one node"])[RUNS // 2], sorted(got["cluster"])[RUNS // 2]
    print("redis cluster vs one node, sensor: packets/s %+.1f%%, round trips/s %+.1f%% (medians)"
          % (100 * (clu[0] / one[0] - 1), 100 * (clu[1] / one[1] - 1)))


def main():
    build = sys.argv[1]
    exe = os.path.join(build, "tests", "bench", "bench_cluster")
    if not lwcluster.available():
        print("redis cluster: redis-server or redis-cli not installed - cluster benchmark skipped")
        return 0
    with lwtest.TempDir("lwbench-cluster-") as tmp:
        single = lwcluster.Node(tmp, 99)
        try:
            single.start(cluster=False)
            if not lwredis.wait_for(lambda: lwcluster.RedisCluster._pings(None, single), 10):
                raise RuntimeError("redis-server did not start")
            with lwcluster.RedisCluster(tmp, masters=3, replicas=1) as cl:
                targets = {"one node": ["--server", "127.0.0.1", "--port", str(single.port)],
                           "cluster": ["--seed", cl.seeds()[0]]}
                for sensors in (1, 10):
                    best = {}
                    for _ in range(RUNS):
                        for name, t in targets.items():
                            line = run(exe, t, sensors)
                            if name not in best or flushes(line) > flushes(best[name]):
                                best[name] = line
                    for name in targets:
                        print(best[name] + " (best of %d)" % RUNS)
                    print("cluster vs one node, %d sensor(s): flushes/s %+.1f%%"
                          % (sensors, 100 * (flushes(best["cluster"]) / flushes(best["one node"]) - 1)))
                sensor_bench(build, sys.argv[2], tmp, single, cl)
        finally:
            single.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
