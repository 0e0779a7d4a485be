#!/usr/bin/env bash
# run.sh BUILDDIR SRCDIR: `make bench`. Replicates the largest corpus capture
# (or $LW_BENCH_PCAP) into a file of ~$LW_BENCH_COPIES copies with distinct
# flows, then measures on that same file:
#   pcapread count / hash   the bare libpcap read loop (../shared/bench/pcapread.c)
#   bench pipeline          linkwatch decode + flow (+ nDPI, + stream
#                           reassembly, + ET Open rules with it on and off),
#                           file held in memory
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
printf '%-24s ' "decode+flow (no DPI)"; "$b/tests/bench/bench" pipeline "$file" 1 dpi.enabled=no stream.enabled=no
printf '%-24s ' "decode+flow+nDPI"; "$b/tests/bench/bench" pipeline "$file" 1 stream.enabled=no
printf '%-24s ' "+stream reassembly"; "$b/tests/bench/bench" pipeline "$file" 1
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
        n=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null --toggle-collect=worker_packet \
                "$b/tests/bench/bench" pipeline "$small" 1 $arg 2>&1 |
            sed -n 's/.*Collected : \([0-9]*\).*/\1/p')
        pk=$(count_packets "$small")
        printf '%-24s %s instructions in worker_packet, %s per packet (callgrind, x20 copy)\n' \
            "instructions, geo $cfg" "$n" "$((n / pk))"
    done
fi
if [ -n "$geodb" ]; then
    echo "geo databases: $geodb"
    "$b/tests/bench/bench" geolookup "$file" "$geodb" 2000000 | sed '1s/^/                         /'
else
    echo "geo: no database (tools/fetch-geoip.sh, or the corpus) - lookup benchmark skipped"
fi
et=$corpus/rules-et-open
if [ -d "$et" ]; then
    # The rule engine on top of decode+flow+nDPI+stream: 0 rules is the line
    # above; the last line is all rules with reassembly off (packet matching).
    for n in 100 0 off; do
        label="+ET Open ${n} rules"; set=
        [ "$n" = 0 ] && label="+ET Open all loadable"
        [ "$n" = off ] && { label="+ET all, stream off"; n=0; set=stream.enabled=no; }
        printf '%-24s ' "$label"
        "$b/tests/bench/bench" pipeline "$file" 1 "rules=$et" "classification=$et/classification.config" \
            "maxrules=$n" logging.level=error $set 2> "$work/rules.log"
        sed 's/^/                         /' "$work/rules.log"
    done
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
        "$b/linkwatchctl" -s "$sock" --json reload 2> /dev/null
    done | jq -rs --arg l "$label" '"\($l|.[0:23] + (" " * (24 - (.[0:23]|length)))) \(.[0].rules_loaded) rules; latency ms " +
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
