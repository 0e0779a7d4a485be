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
printf '%-24s ' "linkwatch decode+flow"; "$b/tests/bench/bench" pipeline "$file" 1
out=$(mktemp -d)
t0=$(date +%s.%N)
"$b/linkwatch" -r "$file" -l "$out" --set stats.interval=0 > "$out/summary"
t1=$(date +%s.%N)
python3 - "$t0" "$t1" "$npk" <<'PY'
import sys
t0, t1, n = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
s = t1 - t0
print(f"{'linkwatch -r (whole)':<24} {n} packets, {s:.3f} s, {n/s:.0f} packets/s, {s*1e9/n:.1f} ns/packet (process start and eve.json writing included)")
PY
rm -rf "$out"
