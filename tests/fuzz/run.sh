#!/usr/bin/env bash
# tests/fuzz/run.sh [SECONDS]: builds the libFuzzer targets with clang in
# build-fuzz/ (CC=clang --enable-fuzzing: ASan + UBSan + coverage), seeds
# each from tests/fuzz/seeds/ (committed) and, when the corpus and scapy are
# there, from ../shared/corpus (capture frames and runs, ET Open rules),
# then fuzzes each target SECONDS (default $LW_FUZZ_SECONDS, else 30).
#
# Reports like a test: build-fuzz/tests/fuzz/TARGET.log (TAP) and .trs, so
# tests/summarize.py counts one test per target; prints the same lines.
# A target with a tests/fuzz/TARGET.dict gets it as its libFuzzer dictionary.
# A crash leaves its input in build-fuzz/fuzz-artifacts/TARGET/: copy it to
# tests/fuzz/regress/TARGET/, fix the bug; make check replays it from then on.
# LW_FUZZ_TARGETS="fuzz_rule fuzz_json" runs only those.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-${LW_FUZZ_SECONDS:-30}}
dir=$top/build-fuzz
targets=${LW_FUZZ_TARGETS:-"fuzz_decode fuzz_defrag fuzz_dpi fuzz_rule fuzz_config fuzz_json fuzz_pii fuzz_app_http fuzz_app_dns fuzz_app_tls fuzz_app_ssh fuzz_app_smb fuzz_app_ftp fuzz_alert_index"}
corpus=${LW_CORPUS:-$top/../shared/corpus}
py=/usr/bin/python3
cd "$top"

report() {   # target, PASS|FAIL|SKIP, line
    mkdir -p "$dir/tests/fuzz"
    case $2 in
        PASS) echo "ok 1 - $1: $3" ;;
        SKIP) echo "ok 1 - $1: $3 # SKIP" ;;
        *) echo "not ok 1 - $1: $3" ;;
    esac > "$dir/tests/fuzz/$1.log"
    echo "1..1" >> "$dir/tests/fuzz/$1.log"
    printf ':test-result: %s\n' "$2" > "$dir/tests/fuzz/$1.trs"
    head -n 1 "$dir/tests/fuzz/$1.log"
}

rm -rf "$dir/tests/fuzz"
mkdir -p "$dir"
if ! command -v clang >/dev/null 2>&1; then
    for t in $targets; do report "$t" SKIP "clang not installed (apt-get install clang libclang-rt-14-dev)"; done
    exit 0
fi
if ! tools/build.sh "$dir" CC=clang --enable-werror --enable-fuzzing >"$dir/fuzz-build.log" 2>&1 ||
   ! make -s -C "$dir" -j2 fuzz-targets >>"$dir/fuzz-build.log" 2>&1; then
    tail -n 30 "$dir/fuzz-build.log"
    for t in $targets; do report "$t" FAIL "build failed (see build-fuzz/fuzz-build.log)"; done
    exit 1
fi

# Seeds from the corpus: a working copy per target, rebuilt each run.
seed_corpus() {   # target, folder
    local pcaps=("$corpus"/pcaps/*.pcap "$corpus"/pcaps/*.pcapng)
    [ -d "$corpus/pcaps" ] && "$py" -c 'import scapy' 2>/dev/null || return 0
    case $1 in
        fuzz_decode) "$py" tests/fuzz/seeds.py frames "$2" 20 "${pcaps[@]}" ;;
        fuzz_defrag|fuzz_dpi) "$py" tests/fuzz/seeds.py streams "$2" 4 "${pcaps[@]}" ;;
        fuzz_app_dns) "$py" tests/fuzz/seeds.py app 53 "$2" 8 "${pcaps[@]}" ;;
        fuzz_app_tls) "$py" tests/fuzz/seeds.py app 443 "$2" 8 "${pcaps[@]}" ;;
        fuzz_app_ssh) "$py" tests/fuzz/seeds.py app 22 "$2" 8 "${pcaps[@]}" ;;
        fuzz_app_smb) "$py" tests/fuzz/seeds.py app 445 "$2" 8 "${pcaps[@]}" ;;
        fuzz_app_ftp) "$py" tests/fuzz/seeds.py app 21 "$2" 8 "${pcaps[@]}" ;;
        fuzz_rule) [ -d "$corpus/rules-et-open" ] &&
            "$py" tests/fuzz/seeds.py rules "$2" 150 "$corpus"/rules-et-open/*.rules ;;
    esac >/dev/null 2>&1
}

status=0
for t in $targets; do
    work=$dir/fuzz-corpus/$t
    art=$dir/fuzz-artifacts/$t
    rm -rf "$work" "$art"
    mkdir -p "$work" "$art"
    seed_corpus "$t" "$work"
    log=$dir/fuzz-$t.log
    # -timeout: one input may take 10 s at most (a hang is a bug too)
    dict=
    [ -f "$top/tests/fuzz/$t.dict" ] && dict="-dict=$top/tests/fuzz/$t.dict"
    # shellcheck disable=SC2086
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
        "$dir/tests/fuzz/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2560 $dict \
        -print_final_stats=1 -artifact_prefix="$art/" "$work" "$top/tests/fuzz/seeds/$t" \
        >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
    crashes=$(find "$art" -type f | wc -l)
    if [ "$rc" = 0 ] && [ "$crashes" = 0 ]; then
        report "$t" PASS "${secs} s, ${runs:-?} inputs run, ${cov:-cov: ?} edges, no crash"
    else
        report "$t" FAIL "exit $rc, $crashes crashing input(s) in $art"
        grep -E 'ERROR|SUMMARY|runtime error|==[0-9]+==' "$log" | head -n 20
        status=1
    fi
done
exit $status
