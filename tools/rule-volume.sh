#!/bin/sh
# rule-volume.sh [-b BUILD] [--before REV]: alerts per shipped rule on the
# demo capture and on the corpus, as the Markdown table of rules/README.md.
#
# Each capture is run on its own with the shipped config and rules
# (`linkwatch -c linkwatch.yaml -r X -l DIR`), and the alert events of each
# sid are counted. The demo (tests/gen/gen_demo.py) is geolocated with the
# country database of its own spec, built by the build's tests/gen/mkmmdb
# (`make -C BUILD tests/gen/mkmmdb`), so the run needs no download; the
# corpus captures run without geolocation. The corpus is ../shared/corpus
# from the project root (LW_CORPUS overrides it); without it the corpus
# column says "skipped". With --before REV the rules/ folder of git
# revision REV is run too and a sid whose counts differ shows "before -> now".
# The rows are followed by the corpus captures that raised alerts.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build
before=
while [ $# -gt 0 ]; do
    case $1 in
    -b) build=$(cd "$2" && pwd); shift 2 ;;
    --before) before=$2; shift 2 ;;
    *) echo "usage: rule-volume.sh [-b BUILD] [--before REV]" >&2; exit 2 ;;
    esac
done
cd "$top"
lw=$build/linkwatch
[ -x "$lw" ] || { echo "rule-volume: no $lw (tools/build.sh first)" >&2; exit 1; }
corpus=${LW_CORPUS:-$top/../shared/corpus}
[ -d "$corpus/pcaps" ] || corpus=
# Debian's python3 carries python3-scapy; prefer it over any other python3 on PATH.
py=/usr/bin/python3; [ -x "$py" ] || py=python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

make -s -C "$build" tests/gen/mkmmdb >/dev/null
"$py" tests/gen/gen_demo.py "$tmp/demo.pcap" "$tmp/demo.spec" 2>/dev/null
"$build/tests/gen/mkmmdb" "$tmp/demo.mmdb" GeoIP2-Country <"$tmp/demo.spec"

# count SET NAME PCAP [linkwatch options]: appends "sid<TAB>n" per alerting
# sid of the run to $tmp/SET.counts, and NAME to $tmp/SET.names when any.
count() {
    cset=$1 name=$2 pcap=$3
    shift 3
    out=$tmp/out
    rm -rf "$out"
    # A damaged capture (the corpus has truncated ones) exits 1 after
    # writing what it read: counted, and named below the table.
    if ! "$lw" -c linkwatch.yaml -r "$pcap" -l "$out" --set control.socket= --set metrics.enabled=no \
            "$@" >"$tmp/run.log" 2>&1; then
        if ! grep -q 'could not be read completely' "$tmp/run.log" || [ ! -f "$out/eve.json" ]; then
            echo "rule-volume: linkwatch failed on $pcap:" >&2
            tail -n 5 "$tmp/run.log" >&2
            exit 1
        fi
        echo "$name" >>"$tmp/damaged"
    fi
    jq -r 'select(.event_type == "alert") | .alert.signature_id' "$out/eve.json" |
        sort | uniq -c | awk '{ print $2 "\t" $1 }' >"$tmp/one"
    cat "$tmp/one" >>"$tmp/$cset.counts"
    [ -s "$tmp/one" ] && echo "$name" >>"$tmp/$cset.names"
    return 0
}

# measure SET [-S rule files]: the demo and every corpus capture with those rules.
measure() {
    mset=$1
    shift
    : >"$tmp/$mset-demo.counts"
    : >"$tmp/$mset-corpus.counts"
    : >"$tmp/$mset-corpus.names"
    count "$mset-demo" demo "$tmp/demo.pcap" --set "geoip.databases=[$tmp/demo.mmdb]" "$@"
    [ -n "$corpus" ] || return 0
    for p in "$corpus"/pcaps/*; do
        count "$mset-corpus" "$(basename "$p")" "$p" "$@"
    done
}

# The corpus's scans come from inside (synscan.pcap: 172.16.0.8 probes an
# outside host) or stay inside, so the scan rules never see them with the
# shipped home-net. Seen from the probed side (home-net = the target) they
# show what the scan rules make of real scans.
VIEWS="synscan.pcap:64.13.134.52/32 icmp-tunnel.pcap:192.168.154.132/32"

# views SET [-S rule files]: the corpus captures of VIEWS with home-net their target.
views() {
    vset=$1
    shift
    : >"$tmp/$vset-views.counts"
    [ -n "$corpus" ] || return 0
    for v in $VIEWS; do
        : >"$tmp/$vset-view.counts"
        count "$vset-view" "${v%%:*}" "$corpus/pcaps/${v%%:*}" --set "home-net=[${v#*:}]" "$@"
        awk -F'\t' -v v="$v" '{ print v "\t" $1 "\t" $2 }' "$tmp/$vset-view.counts" >>"$tmp/$vset-views.counts"
    done
}

measure now
views now
if [ -n "$before" ]; then
    mkdir "$tmp/before"
    git archive "$before" rules | tar -x -C "$tmp/before"
    set --
    for f in "$tmp"/before/rules/*.rules; do set -- "$@" -S "$f"; done
    measure before "$@"
    views before "$@"
fi

# sid and msg of every shipped rule, by sid.
sed -n 's/^alert.*msg:"\([^"]*\)".*[(; ]sid:\([0-9]*\);.*/\2\t\1/p' rules/*.rules | sort -n >"$tmp/sids"
ncorpus=0
[ -n "$corpus" ] && ncorpus=$(ls "$corpus"/pcaps | wc -l)
awk -F'\t' -v corpus="${corpus:+yes}" -v before="${before:+yes}" -v tmp="$tmp" -v ncorpus="$ncorpus" '
    function load(file, arr,   line, f) {
        while ((getline line < file) > 0) { split(line, f, "\t"); arr[f[1]] += f[2] }
        close(file)
    }
    function cell(now, was, sid) {
        if (before && (now[sid] + 0) != (was[sid] + 0))
            return (was[sid] + 0) " -> " (now[sid] + 0)
        return now[sid] + 0
    }
    BEGIN {
        load(tmp "/now-demo.counts", nd); load(tmp "/now-corpus.counts", nc)
        if (before) { load(tmp "/before-demo.counts", bd); load(tmp "/before-corpus.counts", bc) }
        print "| sid | msg | demo alerts | corpus alerts (" (corpus ? ncorpus " captures" : "skipped") ") |"
        print "|---|---|---|---|"
    }
    {
        print "| " $1 " | " $2 " | " cell(nd, bd, $1) " | " (corpus ? cell(nc, bc, $1) : "skipped") " |"
        td += nd[$1]; tc += nc[$1]; tbd += bd[$1]; tbc += bc[$1]
    }
    END {
        t = (before && tbd != td) ? tbd " -> " td : td
        u = (before && tbc != tc) ? tbc " -> " tc : tc
        print "| | all shipped rules | " t " | " (corpus ? u : "skipped") " |"
    }' "$tmp/sids"
if [ -n "$corpus" ]; then
    echo
    printf 'Corpus captures with alerts: %s.\n' "$(sort -u "$tmp"/*-corpus.names | paste -sd' ' | sed 's/ /, /g')"
    if [ -s "$tmp/damaged" ]; then
        printf 'Read in part (damaged): %s.\n' "$(sort -u "$tmp/damaged" | paste -sd' ' | sed 's/ /, /g')"
    fi
    echo
    echo "Scans of the corpus seen from the probed side (home-net = the target), alerts of the scan rules:"
    for v in $VIEWS; do
        awk -F'\t' -v v="$v" -v before="${before:+yes}" -v tmp="$tmp" '
            function load(file, arr,   line, f) {
                while ((getline line < file) > 0) { split(line, f, "\t"); if (f[1] == v) arr[f[2]] += f[3] }
                close(file)
            }
            BEGIN {
                load(tmp "/now-views.counts", now)
                if (before) load(tmp "/before-views.counts", was)
                line = ""
                for (i = 1; i <= 2; i++) {
                    s = 9000700 + i
                    line = line (line == "" ? " " : ", ") s " " (before && (now[s] + 0) != (was[s] + 0) ? (was[s] + 0) " -> " : "") (now[s] + 0)
                }
                split(v, p, ":")
                printf "- %s (home-net %s):%s\n", p[1], p[2], line == "" ? " none" : line
            }'
    done
fi
