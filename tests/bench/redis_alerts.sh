#!/usr/bin/env bash
# redis_alerts.sh BUILDDIR SRCDIR: the sensor with Redis on while it raises
# many alerts (each one filed in the alert indexes by the writer), against
# another build (LW_BENCH_BASELINE=<its build folder>, required) and with
# Redis off, runs alternating, $LW_BENCH_REDIS_RUNS times (default 5).
# make bench's own Redis runs use the shipped rules, which raise no alert
# on its capture; this one takes the capture make bench made (bench-data/
# *-overlap.pcap, or $LW_BENCH_FILE) and rules that do (bench-data/
# synthetic.rules from ../shared/bench/mkrules.sh, or $LW_BENCH_RULES), all
# of them and, for a lower rate, those of the signatures that raise fewer
# than 6,000 alerts on it. Prints medians: wall-clock packets/s (to the end
# of the run, which waits for Redis to take every alert), the sensor's CPU
# per packet (the writer thread included), redis-server's CPU, alerts.
set -euo pipefail
b=${1:?builddir}; s=${2:?srcdir}
base=${LW_BENCH_BASELINE:?LW_BENCH_BASELINE=<build folder of the build to compare with>}
work=${LW_BENCH_DIR:-$b/bench-data}
file=${LW_BENCH_FILE:-$(ls "$work"/bench-*-overlap.pcap 2>/dev/null | grep -v -- '-x20-' | head -n 1)}
rules=${LW_BENCH_RULES:-$work/synthetic.rules}
runs=${LW_BENCH_REDIS_RUNS:-5}
[ -f "$file" ] && [ -f "$rules" ] || { echo "redis_alerts: run make bench first (no capture or rules in $work)" >&2; exit 1; }
npk=$(python3 -c 'import sys,struct
f=open(sys.argv[1],"rb"); f.read(24); n=0
while True:
    h=f.read(16)
    if len(h)<16: break
    n+=1; f.seek(struct.unpack("<IIII",h)[2],1)
print(n)' "$file")
. "$s/tests/bench/redis-server.sh"
start_redis

# the lower rate: rules of the signatures with fewer than 6,000 alerts on this capture
"$b/linkwatch" -c "$s/linkwatch.yaml" -r "$file" -l "$rdir/probe" -S "$rules" --set logging.level=error \
    --set rules.classification-file="$s/rules/classification.config" > /dev/null
grep -o '"signature_id":[0-9]*' "$rdir/probe/eve.json" | sort | uniq -c |
    awk '$1 < 6000 {sub(/.*:/, "", $2); print "sid:" $2 ";"}' > "$rdir/sids"
grep -F -f "$rdir/sids" "$rules" > "$rdir/fewer.rules"

for set in all fewer; do
    r=$rules
    [ "$set" = fewer ] && r=$rdir/fewer.rules
    : > "$rdir/runs"
    for i in $(seq "$runs"); do
        for mode in off on base; do
            bin=$b/linkwatch
            [ "$mode" = base ] && bin=$base/linkwatch
            set -- -c "$s/linkwatch.yaml" -r "$file" -l "$rdir/log" -S "$r" --set logging.level=error \
                --set rules.classification-file="$s/rules/classification.config"
            [ "$mode" != off ] && set -- "$@" --set redis.enabled=yes --set redis.port="$rport" \
                --set redis.spool-dir="$rdir/spool" --set sensor-id=bench
            rm -rf "$rdir/log"
            redis-cli -p "$rport" flushall > /dev/null
            c0=$(redis-cli -p "$rport" info cpu | tr -d '\r' | awk -F: '/^used_cpu_(user|sys):/ {s += $2} END {print s}')
            t0=$(date +%s.%N)
            /usr/bin/time -f '%U %S' -o "$rdir/time" "$bin" "$@" > "$rdir/summary"
            t1=$(date +%s.%N)
            c1=$(redis-cli -p "$rport" info cpu | tr -d '\r' | awk -F: '/^used_cpu_(user|sys):/ {s += $2} END {print s}')
            al=$(grep -c '"event_type":"alert"' "$rdir/log/eve.json" || true)
            xl=$(redis-cli -p "$rport" xlen 'lw:{alerts}')
            echo "$mode $t0 $t1 $(cat "$rdir/time") $c0 $c1 $al $xl" >> "$rdir/runs"
        done
    done
    python3 - "$rdir/runs" "$npk" "$set" <<'PY'
import statistics, sys
rows, npk, name = {}, int(sys.argv[2]), sys.argv[3]
for line in open(sys.argv[1]):
    m, t0, t1, u, sy, c0, c1, al, xl = line.split()
    rows.setdefault(m, []).append(dict(pps=npk / (float(t1) - float(t0)), cpu=(float(u) + float(sy)) * 1e9 / npk,
                                       rcpu=float(c1) - float(c0), alerts=int(al), xlen=int(xl)))
med = {m: {k: statistics.median(r[k] for r in v) for k in v[0]} for m, v in rows.items()}
for m, label in (("off", "redis off"), ("base", "redis on, baseline"), ("on", "redis on, this build")):
    x = med[m]
    print(f"{name:>5} {label:<22} median {x['pps']:.0f} packets/s, sensor CPU {x['cpu']:.0f} ns/packet, "
          f"redis-server CPU {x['rcpu']:.2f} s, {x['alerts']:.0f} alerts ({x['xlen']:.0f} in the stream) "
          f"({len(rows[m])} runs)")
on, base = med["on"], med["base"]
print(f"{name:>5} this build vs baseline, Redis on: packets/s {100 * (on['pps'] / base['pps'] - 1):+.1f}%, "
      f"sensor CPU per packet {100 * (on['cpu'] / base['cpu'] - 1):+.1f}%, redis-server CPU "
      f"{100 * (on['rcpu'] / base['rcpu'] - 1):+.1f}%")
PY
done
