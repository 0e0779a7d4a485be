#!/usr/bin/env bash
# run.sh BUILDDIR SRCDIR: `make bench`. Replicates the largest corpus capture
# (or $LW_BENCH_PCAP) into a file of ~$LW_BENCH_COPIES copies with distinct
# flows, then measures on that same file:
#   pcapread count / hash   the bare libpcap read loop (../shared/bench/pcapread.c)
#   bench pipeline          linkwatch decode + flow (+ nDPI, + stream
#                           reassembly, + ET Open rules with it on and off),
#                           file held in memory
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
printf '%-24s ' "decode+flow (no DPI)"; "$b/tests/bench/bench" pipeline "$file" 1 dpi.enabled=no stream.enabled=no
printf '%-24s ' "decode+flow+nDPI"; "$b/tests/bench/bench" pipeline "$file" 1 stream.enabled=no
printf '%-24s ' "+stream reassembly"; "$b/tests/bench/bench" pipeline "$file" 1
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
