#!/bin/sh
# app.sh BUILDDIR SRCDIR: the application-layer parsers' speed (part of
# `make bench`). Inputs: the committed seeds of the fuzz targets
# (tests/fuzz/seeds/fuzz_app_*: generated sessions) and, with the corpus and
# scapy, its flows on ports 53, 443 and 22 (tests/fuzz/seeds.py app). Prints
# MB/s of application data and sessions/s per parser (app_bench), for the
# seeds and for the corpus flows.
set -eu
b=${1:?builddir}; s=${2:?srcdir}
corpus=${LW_CORPUS:-$s/../shared/corpus}
secs=${LW_APP_BENCH_SECONDS:-3}
work=${LW_BENCH_DIR:-$b/bench-data}/app
bench=$b/tests/bench/app_bench
echo "== application-layer parsers, generated sessions (tests/fuzz/seeds), $secs s each"
"$bench" "$secs" dns "$s/tests/fuzz/seeds/fuzz_app_dns" -- tls "$s/tests/fuzz/seeds/fuzz_app_tls" \
    -- ssh "$s/tests/fuzz/seeds/fuzz_app_ssh"
if [ -d "$corpus/pcaps" ] && /usr/bin/python3 -c 'import scapy' 2>/dev/null; then
    for p in dns:53 tls:443 ssh:22; do
        if [ ! -d "$work/${p%%:*}" ]; then
            mkdir -p "$work/${p%%:*}"
            /usr/bin/python3 "$s/tests/fuzz/seeds.py" app "${p##*:}" "$work/${p%%:*}" 1000 \
                "$corpus"/pcaps/*.pcap "$corpus"/pcaps/*.pcapng >/dev/null 2>&1
        fi
    done
    echo "== application-layer parsers, corpus flows, $secs s each"
    "$bench" "$secs" dns "$work/dns" -- tls "$work/tls" -- ssh "$work/ssh"
fi
