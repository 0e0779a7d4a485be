#!/usr/bin/env bash
# run.sh BUILDDIR SRCDIR: `make bench`. Replicates the largest corpus capture
# (or $LW_BENCH_PCAP) into a file of ~$LW_BENCH_COPIES copies with distinct
# flows, then measures on that same file:
#   pcapread count / hash   the bare libpcap read loop (../shared/bench/pcapread.c)
#   bench pipeline          linkwatch decode + flow (+ nDPI, + stream
#                           reassembly, + ET Open rules with it on and off),
#                           file held in memory (on huge pages where the
#                           kernel allows, so frames do not cost TLB misses)
#   bench geolookup         geolocation lookups/s without and with the cache, and
#                           the pipeline with the geo stage (with and without a
#                           database), on data/geoip's database (tools/fetch-geoip.sh)
#                           or else the corpus MaxMind test databases
#   linkwatch -r            the whole sensor, reading the file and writing eve.json
# and prints packets/s and ns/packet for each.
set -euo pipefail
b=${1:?builddir}; s=${2:?srcdir}
corpus=${LW_CORPUS:-$s/../shared/corpus}
shared_bench=${LW_SHARED_BENCH:-$s/../shared/bench}
work=${LW_BENCH_DIR:-$b/bench-data}
copies=${LW_BENCH_COPIES:-200}
mkdir -p "$work"

rate() {  # label seconds packets peak-rss-kB [note]
    python3 -c 'import sys
label, s, n, rss = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
note = sys.argv[5] if len(sys.argv) > 5 else ""
print(f"{label:<24} {n} packets, {s:.3f} s, {n/s:.0f} packets/s, {s*1e9/n:.1f} ns/packet, peak RSS {rss//1024} MB {note}")' "$@"
}

count_packets() {  # FILE: packets in a pcap (microsecond, little-endian)
    python3 -c 'import sys,struct
f=open(sys.argv[1],"rb"); f.read(24); n=0
while True:
    h=f.read(16)
    if len(h)<16: break
    n+=1; f.seek(struct.unpack("<IIII",h)[2],1)
print(n)' "$1"
}

src=${LW_BENCH_PCAP:-}
if [ -z "$src" ]; then
    [ -d "$corpus/pcaps" ] || { echo "bench: no corpus at $corpus and no LW_BENCH_PCAP" >&2; exit 1; }
    src=$(ls -S "$corpus"/pcaps/*.pcap | head -n 1)
fi
file="$work/bench-$(basename "$src" .pcap)-x$copies.pcap"
[ -f "$file" ] || "$b/tests/bench/bench" replicate "$src" "$file" "$copies"
npk=$(count_packets "$file")
echo "capture: $file ($(du -h "$file" | cut -f1), $npk packets; source $(basename "$src") x$copies)"
cat "$file" > /dev/null   # page cache

if [ -f "$shared_bench/pcapread.c" ]; then
    cc -O2 -o "$work/pcapread" "$shared_bench/pcapread.c" -lpcap
    for mode in count hash flows; do
        printf '%-24s ' "pcapread $mode"; "$work/pcapread" "$mode" "$file"
    done
else
    echo "pcapread: $shared_bench/pcapread.c not found; no baseline"
fi
# Each stage adds one layer: the first three run with the application-layer
# parsers off (dpi.enabled=no leaves them on, and the DNS parser reads UDP
# without nDPI), so each measures what its name says and compares with
# versions before the parsers existed; "+app-layer parsers" adds them (the
# sensor's default, and every stage after it).
noapp="app-layer.protocols.http.enabled=no app-layer.protocols.dns.enabled=no"
noapp="$noapp app-layer.protocols.tls.enabled=no app-layer.protocols.ssh.enabled=no"
printf '%-24s ' "decode+flow (no DPI)"; "$b/tests/bench/bench" pipeline "$file" 1 dpi.enabled=no stream.enabled=no $noapp
printf '%-24s ' "decode+flow+nDPI"; "$b/tests/bench/bench" pipeline "$file" 1 stream.enabled=no $noapp
printf '%-24s ' "+stream reassembly"; "$b/tests/bench/bench" pipeline "$file" 1 $noapp
printf '%-24s ' "+app-layer parsers"; "$b/tests/bench/bench" pipeline "$file" 1
geodb=${LW_BENCH_GEODB:-}
if [ -z "$geodb" ] && [ -s "$s/data/geoip/geo-whois-asn-country.mmdb" ]; then
    geodb=$s/data/geoip/geo-whois-asn-country.mmdb
elif [ -z "$geodb" ] && [ -s "$corpus/mmdb/GeoIP2-City-Test.mmdb" ]; then
    geodb=$corpus/mmdb/GeoIP2-City-Test.mmdb,$corpus/mmdb/GeoLite2-ASN-Test.mmdb
fi
# Geolocation on vs off: the runs alternate, 3 each, best kept (other work
# shares the machine; the best run is the least disturbed).
best=$work/geo-best
for i in 1 2 3; do
    for cfg in off nodb ${geodb:+db}; do
        case $cfg in
        off)  "$b/tests/bench/bench" pipeline "$file" 1 ;;
        nodb) "$b/tests/bench/bench" pipeline "$file" 1 "geo=" 2>/dev/null ;;
        db)   "$b/tests/bench/bench" pipeline "$file" 1 "geo=$geodb" ;;
        esac > "$best.$cfg.$i"
    done
done
for cfg in off nodb ${geodb:+db}; do
    case $cfg in
    off)  label="nDPI, geo off (best/3)" ;;
    nodb) label="+geo, no database" ;;
    db)   label="+geo, database" ;;
    esac
    printf '%-24s ' "$label"
    for i in 1 2 3; do cat "$best.$cfg.$i"; done |
        awk '{ for (k = 1; k <= NF; k++) if ($k ~ /^packets\/s,?$/) r = $(k - 1); if (r + 0 > best + 0) { best = r; line = $0 } }
             END { print line }'
done
rm -f "$best".*
# The same in instructions (callgrind counts them, so other work on the
# machine does not matter): the worker pipeline on 20 copies.
if command -v valgrind >/dev/null 2>&1; then
    small="$work/bench-$(basename "$src" .pcap)-x20.pcap"
    [ -f "$small" ] || "$b/tests/bench/bench" replicate "$src" "$small" 20
    for cfg in off nodb ${geodb:+db}; do
        case $cfg in off) arg= ;; nodb) arg="geo=" ;; db) arg="geo=$geodb" ;; esac
        n=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null --toggle-collect=dispatch_packet \
                "$b/tests/bench/bench" pipeline "$small" 1 $arg 2>&1 |
            sed -n 's/.*Collected : \([0-9]*\).*/\1/p')
        pk=$(count_packets "$small")
        printf '%-24s %s instructions in dispatch_packet, %s per packet (callgrind, x20 copy)\n' \
            "instructions, geo $cfg" "$n" "$((n / pk))"
    done
fi
if [ -n "$geodb" ]; then
    echo "geo databases: $geodb"
    "$b/tests/bench/bench" geolookup "$file" "$geodb" 2000000 | sed '1s/^/                         /'
else
    echo "geo: no database (tools/fetch-geoip.sh, or the corpus) - lookup benchmark skipped"
fi
# The rule engine on top of decode+flow+nDPI+stream ("+stream reassembly"
# above is 0 rules): the shipped rules, then ET Open; the last line is all
# of ET with reassembly off (packet matching). The ratio line compares all
# loadable ET Open rules with the shipped rules, same run (issue 18 wants
# >= 0.5).
pps() { awk '{ for (k = 1; k <= NF; k++) if ($k ~ /^packets\/s,?$/) print $(k - 1) }' "$1"; }
printf '%-24s ' "+shipped rules"
"$b/tests/bench/bench" pipeline "$file" 1 "rules=$s/rules" "classification=$s/rules/classification.config" \
    logging.level=error 2> "$work/rules.log" | tee "$work/shipped.out"
sed 's/^/                         /' "$work/rules.log"
# Personal-data counting (pii.count-always, issue 24: <= 5% more with it on):
# the pipeline with the shipped rules, counting off and on, alternating, 3
# runs each, best kept; the ratio of the two in the same run.
for i in 1 2 3; do
    for cfg in no yes; do
        "$b/tests/bench/bench" pipeline "$file" 1 "rules=$s/rules" "classification=$s/rules/classification.config" \
            logging.level=error "pii.count-always=$cfg" 2>/dev/null > "$work/pii-$cfg.$i"
    done
done
for cfg in no yes; do
    printf '%-24s ' "shipped, pii count $cfg"
    for i in 1 2 3; do cat "$work/pii-$cfg.$i"; done |
        awk '{ for (k = 1; k <= NF; k++) if ($k ~ /^packets\/s,?$/) r = $(k - 1); if (r + 0 > best + 0) { best = r; line = $0 } }
             END { print line }' | tee "$work/pii-$cfg.best"
done
python3 -c 'import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print(f"{\"pii counting cost\":<24} {(a / b - 1) * 100:+.1f}% time per packet with pii.count-always on (best of 3: off {a:.0f}, on {b:.0f} packets/s)")' \
    "$(pps "$work/pii-no.best")" "$(pps "$work/pii-yes.best")"
rm -f "$work"/pii-*
et=$corpus/rules-et-open
if [ -d "$et" ]; then
    for n in 100 0 off; do
        label="+ET Open ${n} rules"; set=
        [ "$n" = 0 ] && label="+ET Open all loadable"
        [ "$n" = off ] && { label="+ET all, stream off"; n=0; set=stream.enabled=no; }
        printf '%-24s ' "$label"
        "$b/tests/bench/bench" pipeline "$file" 1 "rules=$et" "classification=$et/classification.config" \
            "maxrules=$n" logging.level=error $set 2> "$work/rules.log" | tee "$work/et$n$set.out"
        sed 's/^/                         /' "$work/rules.log"
    done
    python3 -c 'import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print(f"{\"ET all / shipped\":<24} {a/b:.2f} x the packets/s (ET all loadable {a:.0f}, shipped {b:.0f})")' \
        "$(pps "$work/et0.out")" "$(pps "$work/shipped.out")"
else
    echo "ET Open: no $et - rule engine benchmark skipped"
fi
# EVE output: the JSON encoder alone, then through the exporter queue to eve.json.
rm -rf "$work/events"; mkdir -p "$work/events"
"$b/tests/bench/bench" events 1000000 "$work/events"
rm -rf "$work/events"

# Reload latency: a sensor idle on a FIFO, reloaded 5 times over its control
# socket; request -> new set live, as the reload reply reports it.
reload_bench() {   # label rules-path [linkwatch args...]
    local label=$1 rules=$2; shift 2
    local fifo=$work/reload.fifo sock=$work/reload.sock i
    rm -f "$fifo"; mkfifo "$fifo"
    exec 3<>"$fifo"
    printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\0\0\0\0\0\0\0\0\0\0\x04\0\x01\0\0\0' >&3
    "$b/linkwatch" -c "$s/linkwatch.yaml" -S "$rules" -r "$fifo" -l "$work/reload-out" \
        --set control.socket="$sock" --set logging.level=error "$@" > /dev/null 2>&1 3>&- &
    local pid=$!
    for i in $(seq 1 600); do "$b/linkwatchctl" -s "$sock" ruleset > /dev/null 2>&1 && break; sleep 0.1; done
    for i in 1 2 3 4 5; do
        "$b/linkwatchctl" -s "$sock" --json reload 2> /dev/null || true   # a failed one is left out
    done | jq -rs --arg l "$label" 'map(select(has("latency_ms"))) | "\($l|.[0:23] + (" " * (24 - (.[0:23]|length)))) \(.[0].rules_loaded) rules; latency ms " +
        ([.[].latency_ms | . * 10 | round / 10 | tostring] | join(" ")) +
        "; compile ms \(map(.compile_ms) | add / length | round); new set +\(map(.memory_bytes) | add / length / 1048576 | round) MB" +
        "; RSS after \(map(.rss_after_bytes) | max / 1048576 | round) MB; old freed: \(map(.old_freed) | all)"'
    "$b/linkwatchctl" -s "$sock" shutdown > /dev/null 2>&1
    exec 3>&-
    wait "$pid" 2> /dev/null || true
    rm -f "$fifo"
}
reload_bench "reload shipped rules" "$s/rules"
if [ -d "$et" ]; then
    "$b/tests/bench/bench" pick-rules "$work/et100.rules" 100 "$et" 2> /dev/null
    reload_bench "reload ET Open 100" "$work/et100.rules" --set rules.classification-file="$et/classification.config"
    reload_bench "reload ET Open all" "$et" --set rules.classification-file="$et/classification.config"
fi
if [ -f "$shared_bench/mkrules.sh" ]; then
    bash "$shared_bench/mkrules.sh" "$work/synthetic.rules" 2> /dev/null
    printf '%-24s ' "+synthetic rules"
    "$b/tests/bench/bench" pipeline "$file" 1 "rules=$work/synthetic.rules" \
        "classification=$s/rules/classification.config" logging.level=error 2> "$work/rules.log"
    sed 's/^/                         /' "$work/rules.log"
fi
if command -v ndpiReader >/dev/null; then
    # Debian's libndpi-bin, same nDPI 4.2, one thread, quiet; peak RSS from /usr/bin/time.
    /usr/bin/time -f '%e %M' -o "$work/ndpi.time" ndpiReader -q -i "$file" -n 1 > /dev/null 2>&1 || true
    read -r secs rss < "$work/ndpi.time"
    rate "ndpiReader -q (1 thread)" "$secs" "$npk" "$rss"
else
    echo "ndpiReader: not installed (apt-get install libndpi-bin) - no nDPI reader comparison"
fi
out=$(mktemp -d)
/usr/bin/time -f '%e %M' -o "$work/lw.time" "$b/linkwatch" -c "$s/linkwatch.yaml" -r "$file" -l "$out" > "$out/summary"
read -r secs rss < "$work/lw.time"
rate "linkwatch -r (whole)" "$secs" "$npk" "$rss" "(process start, nDPI, shipped rules and eve.json writing included)"
grep -E "flows:|rules:" "$out/summary"
rm -rf "$out"

# ---- Redis on vs off (docs/redis.md). A busier link: the same copies
# overlapping in time (N times the traffic in the same minutes), so every
# flush carries the tallies of many hosts. Runs alternate off/on
# $LW_BENCH_REDIS_RUNS times (default 7); medians and bests are printed, as wall-clock
# packets/s (what the target is about, but at the mercy of other work on the
# machine) and as CPU time per packet (user+sys of the sensor: what Redis
# costs the sensor itself), with redis-server's own CPU, the commands the
# sensor sent and the commands Redis ran (inside the scripts) per second.
if ! command -v redis-server > /dev/null; then
    echo "redis: redis-server not installed (apt-get install redis-server) - Redis benchmark skipped"
    exit 0
fi
ofile="$work/bench-$(basename "$src" .pcap)-x$copies-overlap.pcap"
[ -f "$ofile" ] || "$b/tests/bench/bench" replicate "$src" "$ofile" "$copies" overlap
cat "$ofile" > /dev/null
. "$s/tests/bench/redis-server.sh"
start_redis
runs=${LW_BENCH_REDIS_RUNS:-7}
# LW_BENCH_BASELINE=<another build folder>: its linkwatch runs with Redis on
# too, in the same alternation ("base"), for this build against that one.
modes="off on"
[ -n "${LW_BENCH_BASELINE:-}" ] && modes="off on base"
: > "$work/redis-runs.txt"
for i in $(seq "$runs"); do
    for mode in $modes; do
        bin=$b/linkwatch
        [ "$mode" = base ] && bin=$LW_BENCH_BASELINE/linkwatch
        set -- -c "$s/linkwatch.yaml" -r "$ofile" -l "$rdir/log" --set logging.level=error
        [ "$mode" != off ] && set -- "$@" --set redis.enabled=yes --set redis.port="$rport" \
            --set redis.spool-dir="$rdir/spool" --set sensor-id=bench
        rm -rf "$rdir/log"
        redis-cli -p "$rport" flushall > /dev/null
        redis-cli -p "$rport" config resetstat > /dev/null
        c0=$(redis-cli -p "$rport" info cpu | tr -d '\r' | awk -F: '/^used_cpu_(user|sys):/ {s += $2} END {print s}')
        /usr/bin/time -f '%U %S' -o "$work/lw.time" "$bin" "$@" > "$rdir/summary"
        c1=$(redis-cli -p "$rport" info cpu | tr -d '\r' | awk -F: '/^used_cpu_(user|sys):/ {s += $2} END {print s}')
        inner=$(redis-cli -p "$rport" info commandstats | tr -d '\r' | \
            awk -F'[:=,]' '/^cmdstat_/ && $1 !~ /evalsha|eval|info|config|script|flushall|ping|hello|client/ {s += $3} END {print s+0}')
        echo "$mode $(head -n 1 "$rdir/summary" | sed -E 's/.* in ([0-9.]+) s .*/\1/') $npk $(cat "$work/lw.time") $c0 $c1 $inner $(grep -Eo '[0-9]+ round trips, [0-9]+ commands' "$rdir/summary" | grep -Eo '[0-9]+' | tr '\n' ' ') $(grep -Eo 'alerts [0-9]+ sent' "$rdir/summary" | grep -Eo '[0-9]+')" >> "$work/redis-runs.txt"
    done
done
python3 - "$work/redis-runs.txt" <<'PY'
import statistics, sys
rows = {"off": [], "on": [], "base": []}
for line in open(sys.argv[1]):
    f = line.split()
    mode, wall, n, usr, syst, c0, c1, inner = f[0], float(f[1]), int(f[2]), float(f[3]), float(f[4]), float(f[5]), float(f[6]), int(f[7])
    rt, cmds = (int(f[8]), int(f[9])) if len(f) > 9 else (0, 0)
    alerts = int(f[10]) if len(f) > 10 else 0
    rows[mode].append(dict(pps=n / wall, cpu=(usr + syst) * 1e9 / n, rcpu=c1 - c0, wall=wall,
                           rt=rt / wall, cmds=cmds / wall, inner=inner / wall, alerts=alerts))
med = {m: {k: statistics.median(r[k] for r in v) for k in v[0]} for m, v in rows.items() if v}
best = {m: {"pps": max(r["pps"] for r in v), "cpu": min(r["cpu"] for r in v)} for m, v in rows.items() if v}
off, on = med["off"], med["on"]
print(f"redis off (linkwatch -r)   median {off['pps']:.0f} packets/s, sensor CPU {off['cpu']:.0f} ns/packet; "
      f"best {best['off']['pps']:.0f} packets/s, {best['off']['cpu']:.0f} ns/packet ({len(rows['off'])} runs)")
print(f"redis on  (linkwatch -r)   median {on['pps']:.0f} packets/s, sensor CPU {on['cpu']:.0f} ns/packet; "
      f"best {best['on']['pps']:.0f} packets/s, {best['on']['cpu']:.0f} ns/packet; redis-server CPU {on['rcpu']:.2f} s per run")
print(f"redis on vs off            median: packets/s {100 * (on['pps'] / off['pps'] - 1):+.1f}%, "
      f"CPU per packet {100 * (on['cpu'] / off['cpu'] - 1):+.1f}%; best: packets/s "
      f"{100 * (best['on']['pps'] / best['off']['pps'] - 1):+.1f}%, CPU per packet "
      f"{100 * (best['on']['cpu'] / best['off']['cpu'] - 1):+.1f}% (sensor CPU includes the Redis thread)")
print(f"redis traffic              {on['rt']:.1f} round trips/s, {on['cmds']:.0f} commands/s sent, {on['inner']:.0f} commands/s run by Redis inside the scripts; {on['alerts']:.0f} alerts sent per run")
if "base" in med:
    base = med["base"]
    print(f"redis on, baseline build   median {base['pps']:.0f} packets/s, sensor CPU {base['cpu']:.0f} ns/packet; "
          f"redis-server CPU {base['rcpu']:.2f} s per run")
    print(f"redis on, this vs baseline median: packets/s {100 * (on['pps'] / base['pps'] - 1):+.1f}%, "
          f"CPU per packet {100 * (on['cpu'] / base['cpu'] - 1):+.1f}%, redis-server CPU "
          f"{100 * (on['rcpu'] / base['rcpu'] - 1):+.1f}%; best: packets/s "
          f"{100 * (best['on']['pps'] / best['base']['pps'] - 1):+.1f}%")
PY
# The worker's share in instructions (callgrind: other work on the machine
# does not matter), on 20 interleaved copies, with the writer pointed at
# the benchmark's Redis; the writer's own work is on its thread.
if command -v valgrind > /dev/null 2>&1; then
    osmall="$work/bench-$(basename "$src" .pcap)-x20-overlap.pcap"
    [ -f "$osmall" ] || "$b/tests/bench/bench" replicate "$src" "$osmall" 20 overlap
    pk=$(count_packets "$osmall")
    for mode in no yes; do
        set -- pipeline "$osmall" 1
        [ "$mode" = yes ] && set -- "$@" redis.enabled=yes redis.port="$rport" redis.spool-dir="$rdir/spool" sensor-id=bench
        n=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null --toggle-collect=dispatch_packet \
                --toggle-collect=dispatch_finish "$b/tests/bench/bench" "$@" 2>&1 |
            sed -n 's/.*Collected : \([0-9]*\).*/\1/p')
        printf '%-24s %s instructions in dispatch_packet and dispatch_finish, %s per packet (callgrind, x20 interleaved)\n' \
            "instructions, redis=$mode" "$n" "$((n / pk))"
    done
fi
for mode in no yes; do
    printf '%-24s ' "pipeline redis=$mode"
    set -- "$ofile" 3
    [ "$mode" = yes ] && set -- "$@" redis.enabled=yes redis.port="$rport" redis.spool-dir="$rdir/spool" sensor-id=bench
    "$b/tests/bench/bench" pipeline "$@" | sed 's/^[^:]*: //'
done
