# redis-server.sh: sourced by the benchmarks (run.sh, redis_alerts.sh).
# start_redis: a redis-server of their own on a free loopback port, no
# persistence, in a scratch folder; sets rdir and rport; stopped and
# removed when the script exits.
start_redis() {
    rdir=$(mktemp -d)
    rport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    redis-server --port "$rport" --bind 127.0.0.1 --dir "$rdir" --save '' --appendonly no \
        --logfile "$rdir/redis.log" --daemonize yes --pidfile "$rdir/redis.pid"
    for _ in $(seq 100); do redis-cli -p "$rport" ping > /dev/null 2>&1 && break; sleep 0.05; done
    trap 'kill "$(cat "$rdir/redis.pid")" 2> /dev/null; rm -rf "$rdir"' EXIT
}
