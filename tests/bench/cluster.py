#!/usr/bin/env python3
"""cluster.py - make bench: flushes through the Redis routing layer
(sensor/redis/redis-cluster.c, tests/bench/bench_cluster) against one
redis-server and a 3-master Redis Cluster, same settings, same run, on
loopback ports of its own. Prints flushes/s (and round trips/s, one per node
written to) and commands/s for a one-sensor flush (80 tally script calls in
4 hash tags) and a ten-sensor one (800 in 40). Runs alternate, 3 each; the
best of each is printed (other work shares the machine). Every server is
stopped by its PID at the end.

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
            with lwcluster.RedisCluster(tmp, masters=3, replicas=0) as cl:
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
        finally:
            single.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
