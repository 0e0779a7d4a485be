#!/usr/bin/env bash
# run.sh BUILDDIR SRCDIR: `make bench`. Replicates the largest corpus capture
# (or $LW_BENCH_PCAP) into a file of ~$LW_BENCH_COPIES copies with distinct
# flows, then measures on that same file:
#   pcapread count / hash   the bare libpcap read loop (../shared/bench/pcapread.c)
#   bench pipeline          linkwatch decode + flow, file held in memory
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

src=${LW_BENCH_PCAP:-}
if [ -z "$src" ]; then
    [ -d "$corpus/pcaps" ] || { echo "bench: no corpus at $corpus and no LW_BENCH_PCAP" >&2; exit 1; }
    src=$(ls -S "$corpus"/pcaps/*.pcap | head -n 1)
fi
file="$work/bench-$(basename "$src" .pcap)-x$copies.pcap"
[ -f "$file" ] || "$b/tests/bench/bench" replicate "$src" "$file" "$copies"
npk=$(python3 -c 'import sys,struct
f=open(sys.argv[1],"rb"); f.read(24); n=0
while True:
    h=f.read(16)
    if len(h)<16: break
    n+=1; f.seek(struct.unpack("<IIII",h)[2],1)
print(n)' "$file")
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
printf '%-24s ' "decode+flow (no DPI)"; "$b/tests/bench/bench" pipeline "$file" 1 dpi.enabled=no
printf '%-24s ' "decode+flow+nDPI"; "$b/tests/bench/bench" pipeline "$file" 1
et=$corpus/rules-et-open
if [ -d "$et" ]; then
    # The rule engine on top of decode+flow+nDPI: 0 rules is the line above.
    for n in 100 0; do
        label="+ET Open ${n} rules"; [ "$n" = 0 ] && label="+ET Open all loadable"
        printf '%-24s ' "$label"
        "$b/tests/bench/bench" pipeline "$file" 1 "rules=$et" "classification=$et/classification.config" \
            "maxrules=$n" logging.level=error 2> "$work/rules.log"
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
