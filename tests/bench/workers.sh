#!/usr/bin/env bash
# workers.sh BUILDDIR SRCDIR: the multi-worker benchmark table for the README.
#
# On one capture (../shared/bench/mkbench.sh, ~$LW_BENCH_MB MB, default 300,
# cached in BUILDDIR/bench-data; or $LW_BENCH_FILE) it measures
#   pcapread count / hash    the bare libpcap read loop (../shared/bench/pcapread.c)
#   ndpiReader -q -n 1       Debian's nDPI reader, one thread (time, peak RSS)
#   linkwatch -r             the whole sensor, --workers 1 and --workers 2, with
#                            the stages added one by one: decode+flow, +DPI,
#                            +stream, +shipped rules, +all loadable ET Open
#                            rules, and (on shipped rules) +Redis, +geo
# and prints packets/s, Gbit/s, ns/packet, peak RSS, % of the read loop, the
# N=2 speed-up, the per-worker lines of N=2, and the target checks.
# Each linkwatch/pcapread figure is the best of $LW_BENCH_REPS runs (default 3).
#
# Environment: LW_BENCH_MB, LW_BENCH_FILE, LW_BENCH_REPS, LW_BENCH_CAPTURE_WORKER
# (auto, yes, no: the capture-worker setting for N=2), LW_CORPUS,
# LW_SHARED_BENCH.
set -euo pipefail
b=${1:?usage: workers.sh BUILDDIR SRCDIR}; s=${2:?usage: workers.sh BUILDDIR SRCDIR}
b=$(cd "$b" && pwd); s=$(cd "$s" && pwd)
corpus=${LW_CORPUS:-$s/../shared/corpus}
shared_bench=${LW_SHARED_BENCH:-$s/../shared/bench}
work=$b/bench-data
mb=${LW_BENCH_MB:-300}
reps=${LW_BENCH_REPS:-3}
lw=$b/linkwatch
mkdir -p "$work"
[ -x "$lw" ] || { echo "workers.sh: $lw not built (make -C $b linkwatch)" >&2; exit 1; }

tmp=$(mktemp -d)
redis_pid=
cleanup() {
    if [ -n "$redis_pid" ]; then kill "$redis_pid" 2> /dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
# Every run uses the same binary, even if BUILDDIR is rebuilt meanwhile.
lw_built=$(date -u -r "$lw" +%Y-%m-%dT%H:%M:%SZ)
cp "$lw" "$tmp/linkwatch"; lw=$tmp/linkwatch

# ---- the capture
if [ -n "${LW_BENCH_FILE:-}" ]; then
    file=$LW_BENCH_FILE
    [ -s "$file" ] || { echo "workers.sh: LW_BENCH_FILE=$file: no such capture" >&2; exit 1; }
    origin="LW_BENCH_FILE"
else
    file=$work/mkbench-${mb}mb.pcap
    origin="mkbench.sh, target $mb MB (cached)"
    if [ ! -s "$file" ]; then
        [ -f "$shared_bench/mkbench.sh" ] || { echo "workers.sh: no $shared_bench/mkbench.sh (set LW_SHARED_BENCH or LW_BENCH_FILE)" >&2; exit 1; }
        [ -d "$corpus/pcaps" ] || { echo "workers.sh: no corpus pcaps at $corpus/pcaps (set LW_CORPUS or LW_BENCH_FILE)" >&2; exit 1; }
        missing=
        for t in capinfos editcap mergecap; do command -v $t > /dev/null || missing="$missing $t (apt-get install wireshark-common)"; done
        command -v tcprewrite > /dev/null || missing="$missing tcprewrite (apt-get install tcpreplay)"
        if [ -n "$missing" ]; then
            echo "workers.sh: mkbench.sh needs tools that are not installed:$missing" >&2
            echo "  e.g. sudo DEBIAN_FRONTEND=noninteractive apt-get install -y wireshark-common tcpreplay" >&2
            echo "  (or give a capture with LW_BENCH_FILE=...)" >&2
            exit 1
        fi
        echo "building the capture: mkbench.sh $file $mb (source $corpus/pcaps)"
        part=$work/.mkbench-${mb}mb.part.pcap
        if ! bash "$shared_bench/mkbench.sh" "$part" "$mb" "$corpus/pcaps" > "$tmp/mkbench.log" 2>&1; then
            tail -n 20 "$tmp/mkbench.log" >&2; rm -f "$part"
            echo "workers.sh: mkbench.sh failed" >&2; exit 1
        fi
        mv "$part" "$file"
        origin="mkbench.sh, target $mb MB (built now)"
    fi
fi
case $(od -An -tx1 -N4 "$file" | tr -d ' \n') in
    d4c3b2a1|a1b2c3d4) tsfmt="pcap, microsecond timestamps" ;;
    4d3cb2a1|a1b23c4d) tsfmt="pcap, nanosecond timestamps" ;;
    0a0d0d0a)          tsfmt="pcapng" ;;
    *)                 tsfmt="unknown format" ;;
esac
warm() { cat "$file" > /dev/null; }   # keep the capture in page cache
warm

echo "== linkwatch --workers benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
cw=${LW_BENCH_CAPTURE_WORKER:-auto}
echo "   every figure is the best of $reps runs (other work may share the machine);"
echo "   capture-worker $cw (auto: the capture thread runs worker 0 when workers >= CPUs); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "binary: $b/linkwatch built $lw_built ($("$lw" -V 2>&1 | head -n 1)), copied for the duration of the benchmark"
echo "capture: $file"
echo "   $(du -h "$file" | cut -f1) ($(stat -c %s "$file") bytes), $tsfmt; $origin"

# ---- peers: pcapread and ndpiReader
kv() { tr ' ' '\n' | sed -n "s/^$1=//p"; }   # KEY < pcapread line
readloop_pps=0
if [ -f "$shared_bench/pcapread.c" ]; then
    cc -O2 -o "$tmp/pcapread" "$shared_bench/pcapread.c" -lpcap
    "$tmp/pcapread" flows "$file" > "$tmp/pr.flows"
    npk=$(kv packets < "$tmp/pr.flows"); echo "   $npk packets, $(kv bytes < "$tmp/pr.flows") bytes captured ($(kv wire_bytes < "$tmp/pr.flows") on the wire), avg $(kv avg_pkt < "$tmp/pr.flows") bytes; $(kv flows < "$tmp/pr.flows") 5-tuple flows (pcapread flows)"
    for mode in count hash; do
        best=
        for _ in $(seq "$reps"); do
            warm
            line=$("$tmp/pcapread" "$mode" "$file")
            if [ -z "$best" ] || awk -v a="$(kv Mpps <<< "$line")" -v b="$(kv Mpps <<< "$best")" 'BEGIN{exit !(a>b)}'; then best=$line; fi
        done
        pps=$(awk -v p="$(kv packets <<< "$best")" -v t="$(kv secs <<< "$best")" 'BEGIN{printf "%.0f", p/t}')
        [ "$mode" = count ] && readloop_pps=$pps
        printf '%-28s %s packets/s, %s Gbit/s, %s ns/packet  (best of %s)\n' "pcapread $mode" "$pps" \
            "$(kv Gbps <<< "$best")" "$(awk -v p="$pps" 'BEGIN{printf "%.1f", 1e9/p}')" "$reps"
    done
else
    echo "pcapread: $shared_bench/pcapread.c not found; no read-loop baseline (%% columns empty)"
    npk=
fi

ndpi_rss=0; ndpi_line="ndpiReader: not installed (apt-get install libndpi-bin)"
if command -v ndpiReader > /dev/null; then
    warm
    rc=0
    /usr/bin/time -f '%e %M' -o "$tmp/ndpi.time" timeout 1800 ndpiReader -q -i "$file" -n 1 > "$tmp/ndpi.out" 2>&1 || rc=$?
    read -r nsecs ndpi_rss < <(tail -n 1 "$tmp/ndpi.time")
    if [ "$rc" = 0 ] && [ -n "$npk" ]; then
        ndpi_line=$(printf '%-28s %s s wall, %.0f packets/s (incl. start), peak RSS %d MB  (1 run)' "ndpiReader -q -n 1" \
            "$nsecs" "$(awk -v n="$npk" -v t="$nsecs" 'BEGIN{print n/t}')" "$((ndpi_rss / 1024))")
    else
        ndpi_line="ndpiReader -q -n 1: exit $rc after $nsecs s (124 = timeout 1800 s), peak RSS $((ndpi_rss / 1024)) MB"
        [ "$rc" = 0 ] || ndpi_rss=0
    fi
fi
echo "$ndpi_line"

# ---- linkwatch runs
common=(-c "$s/linkwatch.yaml" -r "$file" -l "$tmp/log" --set logging.level=error --set outputs.eve-file.enabled=no)
: > "$tmp/empty.rules"
if "$lw" -c "$s/linkwatch.yaml" -T -S /dev/null --set logging.level=error > /dev/null 2>&1; then
    norules=/dev/null
else
    norules=$tmp/empty.rules
fi
et=$corpus/rules-et-open
geodb=
if [ -s "$s/data/geoip/geo-whois-asn-country.mmdb" ]; then
    geodb=$s/data/geoip/geo-whois-asn-country.mmdb
elif [ -s "$corpus/mmdb/GeoLite2-Country-Test.mmdb" ]; then
    geodb=$corpus/mmdb/GeoLite2-Country-Test.mmdb
else
    geodb=$(ls "$corpus"/mmdb/*Country*Test*.mmdb 2> /dev/null | head -n 1 || true)
fi
redis_port=
start_redis() {
    command -v redis-server > /dev/null || return 1
    redis_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    mkdir -p "$tmp/redis"
    redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
        --pidfile "$tmp/redis/redis.pid" --dir "$tmp/redis" --logfile "$tmp/redis/redis.log" > /dev/null
    for _ in $(seq 100); do [ -s "$tmp/redis/redis.pid" ] && break; sleep 0.05; done
    redis_pid=$(cat "$tmp/redis/redis.pid")
    for _ in $(seq 100); do
        if command -v redis-cli > /dev/null; then redis-cli -p "$redis_port" ping > /dev/null 2>&1 && return 0
        else (exec 3<> "/dev/tcp/127.0.0.1/$redis_port") 2> /dev/null && return 0; fi
        sleep 0.05
    done
    return 1
}

stages=(flow dpi stream shipped et redis geo)
declare -A label=([flow]="decode+flow" [dpi]="+DPI" [stream]="+stream" [shipped]="+shipped rules"
                  [et]="+all ET Open" [redis]="+Redis" [geo]="+geo")
stage_args() {   # stage -> linkwatch arguments in $args (1 when skipped: reason in $skip)
    skip=; args=()
    case $1 in
    flow)    args=(--set dpi.enabled=no --set stream.enabled=no -S "$norules") ;;
    dpi)     args=(--set stream.enabled=no -S "$tmp/empty.rules") ;;
    stream)  args=(-S "$tmp/empty.rules") ;;
    shipped) args=() ;;
    et)      [ -d "$et" ] || { skip="no ET Open rules at $et (LW_CORPUS)"; return 1; }
             args=(-S "$et" --set rules.classification-file="$et/classification.config") ;;
    redis)   [ -n "$redis_port" ] || { skip="redis-server not installed or did not start (apt-get install redis-server)"; return 1; }
             args=(--set redis.enabled=yes --set redis.port="$redis_port" --set redis.spool-dir="$tmp/spool" --set sensor-id=bench) ;;
    geo)     [ -n "$geodb" ] || { skip="no geo database (data/geoip or $corpus/mmdb)"; return 1; }
             args=(--set "geoip.databases=[\"$geodb\"]") ;;
    esac
}
# results: stage N pps bytes secs wall rss_kB(max over runs) flows alerts status
: > "$tmp/results"
bad=0
declare -A bestpps=() bestcores=()
for st in "${stages[@]}"; do
    [ "$st" = redis ] && { start_redis || redis_port=; }
    if ! stage_args "$st"; then
        printf '%-16s skipped: %s\n' "${label[$st]}" "$skip"
        continue
    fi
    for n in 1 2; do rm -f "$tmp/best.$st.$n" "$tmp/all.$st.$n"; done
    for r in $(seq "$reps"); do
        for n in 1 2; do   # alternate N=1 and N=2 so both see the same machine load
            warm
            rm -rf "$tmp/log" "$tmp/spool"
            [ "$st" = redis ] && command -v redis-cli > /dev/null && redis-cli -p "$redis_port" flushall > /dev/null
            rc=0
            /usr/bin/time -f '%e %M %U %S' -o "$tmp/time" timeout 1800 "$lw" "${common[@]}" "${args[@]}" --workers "$n" \
                --set capture-worker="$cw" > "$tmp/out" 2> "$tmp/err" || rc=$?
            read -r wall rss usr sys < <(tail -n 1 "$tmp/time")
            cores=$(awk -v u="$usr" -v s="$sys" -v w="$wall" 'BEGIN{printf "%.2f", (w > 0) ? (u+s)/w : 0}')
            first=$(head -n 1 "$tmp/out")
            if [ "$rc" != 0 ] || ! [[ $first =~ ^linkwatch:\ ([0-9]+)\ packets,\ ([0-9]+)\ bytes\ in\ ([0-9.]+)\ s\ \(([0-9]+)\ packets/s\) ]]; then
                echo "!! ${label[$st]} N=$n run $r: exit $rc (124 = timeout); stderr:" >&2
                tail -n 5 "$tmp/err" | sed 's/^/   /' >&2
                echo "$st $n 0 0 0 $wall $rss - - failed(rc=$rc) $cores" >> "$tmp/all.$st.$n"
                bad=1; continue
            fi
            pk=${BASH_REMATCH[1]} by=${BASH_REMATCH[2]} sec=${BASH_REMATCH[3]} pps=${BASH_REMATCH[4]}
            flows=$(sed -n 's/^ *flows: \([0-9]*\).*/\1/p' "$tmp/out")
            alerts=$(sed -n 's/.*alerts: \([0-9]*\).*/\1/p' "$tmp/out" | head -n 1)
            echo "$st $n $pps $by $sec $wall $rss ${flows:--} ${alerts:--} ok $cores" >> "$tmp/all.$st.$n"
            grep -E '^ *(flows|rules|geo|redis)' "$tmp/out" > "$tmp/sig.$st.$n.$r" || true
            if [ "$pps" -gt "${bestpps[$st.$n]:-0}" ]; then
                bestpps[$st.$n]=$pps; cp "$tmp/out" "$tmp/best.$st.$n"; bestcores[$st.$n]=$cores
            fi
            [ "$pk" = "${npk:-$pk}" ] || { echo "!! ${label[$st]} N=$n run $r: $pk packets, pcapread counted $npk" >&2; bad=1; }
        done
    done
    for n in 1 2; do
        [ -s "$tmp/all.$st.$n" ] || continue
        # best run by packets/s; peak RSS is the largest over the runs
        awk 'BEGIN{m=-1} {if ($7>rss) rss=$7; if ($3>m) {m=$3; l=$0}} END{split(l,f," "); f[7]=rss; o=f[1]; for(i=2;i<=11;i++) o=o" "f[i]; print o}' \
            "$tmp/all.$st.$n" >> "$tmp/results"
        if [ -f "$tmp/best.$st.$n" ]; then
            printf '%-16s N=%s  %s; %s cores busy (user+sys/wall)\n' "${label[$st]}" "$n" "$(head -n 1 "$tmp/best.$st.$n")" "${bestcores[$st.$n]}"
            [ "$n" = 2 ] && grep -E '^ *(workers:|worker [0-9])' "$tmp/best.$st.$n" | sed 's/^ */                        /'
            [ "$st" = redis ] && grep -iE '^ *redis' "$tmp/best.$st.$n" | sed 's/^ */                        /' | head -n 2
        fi
    done
    # same flows, rules and alerts whatever N and whichever run
    ref=$(ls "$tmp"/sig."$st".1.* 2> /dev/null | head -n 1 || true)
    if [ -n "$ref" ]; then
        for f in "$tmp"/sig."$st".*; do
            if ! diff -q <(grep -E '^ *(flows|rules)' "$ref") <(grep -E '^ *(flows|rules)' "$f") > /dev/null; then
                echo "!! ${label[$st]}: flows/rules/alerts differ between runs ($(basename "$ref") vs $(basename "$f")):" >&2
                diff <(grep -E '^ *(flows|rules)' "$ref") <(grep -E '^ *(flows|rules)' "$f") | sed 's/^/   /' >&2 || true
                bad=1
            fi
        done
    fi
    if [ "$st" = redis ] && [ -n "$redis_pid" ]; then kill "$redis_pid" 2> /dev/null || true; redis_pid=; fi
done

# memory: the shipped-rules N=1 run against the same run on a 1-packet capture
[[ $tsfmt != pcap,* ]] || python3 - "$file" "$tmp/one.pcap" <<'PY'
import struct, sys
with open(sys.argv[1], "rb") as f, open(sys.argv[2], "wb") as o:
    h = f.read(24); o.write(h)
    e = "<" if h[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    r = f.read(16); o.write(r + f.read(struct.unpack(e + "IIII", r)[2]))
PY
rss1=0
if [[ $tsfmt == pcap,* ]]; then
    rm -rf "$tmp/log"
    if /usr/bin/time -f '%e %M' -o "$tmp/time" timeout 600 "$lw" -c "$s/linkwatch.yaml" -r "$tmp/one.pcap" -l "$tmp/log" \
           --set logging.level=error --set outputs.eve-file.enabled=no --workers 1 > /dev/null 2>&1; then
        read -r _ rss1 < <(tail -n 1 "$tmp/time")
    fi
fi

echo
echo "README table (whole sensor, linkwatch -r on the capture above; best of $reps; % = of pcapread count $readloop_pps packets/s;"
echo "cores = CPU time user+sys / wall of the best run: N=2 below ~1.7 means the 2 cores were not both free; load average now $(cut -d' ' -f1-3 /proc/loadavg)):"
python3 - "$tmp/results" "$readloop_pps" "$ndpi_rss" "$rss1" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1])]
readloop, ndpi_rss, rss1 = float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
names = {"flow": "decode+flow", "dpi": "+DPI", "stream": "+stream", "shipped": "+shipped rules",
         "et": "+all ET Open", "redis": "+Redis (shipped)", "geo": "+geo (shipped)"}
res = {(r[0], int(r[1])): r for r in rows}
print("| stage | workers | packets/s | Gbit/s | ns/packet | % read loop | N=2/N=1 | peak RSS MB | wall s | cores | flows | alerts |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for (st, n), r in res.items():
    pps, by, sec, wall, rss = int(r[2]), int(r[3]), float(r[4]), r[5], int(r[6])
    if r[9] != "ok":
        print(f"| {names[st]} | {n} | {r[9]} | | | | | {rss // 1024} | {wall} | {r[10]} | | |"); continue
    gb = by * 8 / sec / 1e9 if sec > 0 else 0
    pct = f"{100 * pps / readloop:.1f}%" if readloop else ""
    up = ""
    if n == 2 and (st, 1) in res and int(res[(st, 1)][2]):
        up = f"{pps / int(res[(st, 1)][2]):.2f}x"
    print(f"| {names[st]} | {n} | {pps:,} | {gb:.2f} | {1e9 / pps:.0f} | {pct} | {up} | {rss // 1024} | {wall} | {r[10]} | {r[7]} | {r[8]} |")

def ratio(st, n):
    r = res.get((st, n))
    return int(r[2]) / readloop if r and r[9] == "ok" and readloop else None
def check(text, v, target, fmt):
    if v is None: print(f"  {text}: not measured"); return
    print(f"  {text}: {fmt(v)} (target {fmt(target)}) -> {'met' if v >= target else 'not met'}")
print("\nTargets:")
pct = lambda v: f"{100 * v:.1f}%"
for n in (1, 2):
    check(f"shipped rules, N={n}, packets/s vs read loop", ratio("shipped", n), 0.50, pct)
for n in (1, 2):
    check(f"all ET Open, N={n}, packets/s vs read loop  ", ratio("et", n), 0.25, pct)
for st in names:
    if (st, 1) in res and (st, 2) in res and int(res[(st, 1)][2]) and int(res[(st, 2)][2]):
        check(f"N=2/N=1 speed-up, {names[st]:<16}", int(res[(st, 2)][2]) / int(res[(st, 1)][2]), 1.7, lambda v: f"{v:.2f}x")
r = res.get(("shipped", 1))
if r and ndpi_rss:
    v = int(r[6]) / ndpi_rss
    print(f"  peak RSS, shipped rules N=1 vs ndpiReader: {int(r[6]) // 1024} / {ndpi_rss // 1024} MB = {100 * v:.1f}% "
          f"(target <= 25%) -> {'met' if v <= 0.25 else 'not met'}")
else:
    print("  peak RSS vs ndpiReader: not measured")
if r and r[7] != "-" and int(r[7]):
    fl = int(r[7]); rss = int(r[6]) * 1024
    extra = f"; above a 1-packet run ({rss1 // 1024} MB): {(rss - rss1 * 1024) / fl:.0f} bytes/flow" if rss1 else ""
    print(f"Memory (shipped rules, N=1): peak RSS {rss // 1048576} MB, {fl} flows over the run "
          f"(not all active at once) -> {rss / fl:.0f} bytes/flow, rough{extra}")
PY
[ "$bad" = 0 ] || echo "!! some runs failed or differed (see the !! lines above)"
exit "$bad"
