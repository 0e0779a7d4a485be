#!/bin/sh
# test_fuzz_inputs.sh - replays every committed fuzz input (tests/fuzz/seeds/
# and tests/fuzz/regress/: inputs that once crashed a target) through the
# fuzz targets built without libFuzzer (tests/fuzz/replay_*). In the
# sanitizer build a memory error or undefined behaviour fails the test.
set -u
src=${LW_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
bld=${LW_BUILDDIR:-$src/build}
n=0
fail=0
for t in decode defrag dpi rule config json pii app_http app_dns app_tls app_ssh app_ftp alert_index; do
    n=$((n + 1))
    bin=$bld/tests/fuzz/replay_$t
    dirs=
    for d in "$src/tests/fuzz/seeds/fuzz_$t" "$src/tests/fuzz/regress/fuzz_$t"; do
        [ -d "$d" ] && dirs="$dirs $d"
    done
    if [ ! -x "$bin" ]; then
        echo "not ok $n - fuzz_$t: $bin not built"
        fail=1
        continue
    fi
    # shellcheck disable=SC2086
    out=$(ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} "$bin" $dirs 2>&1)
    rc=$?
    count=$(printf '%s\n' "$out" | grep -c '^ok ')
    if [ $rc = 0 ] && ! printf '%s\n' "$out" | grep -qE 'ERROR: |runtime error:'; then
        echo "ok $n - fuzz_$t: $count committed input(s) replay clean"
    else
        echo "not ok $n - fuzz_$t: exit $rc after $count input(s)"
        printf '%s\n' "$out" | tail -n 30 | sed 's/^/#   /'
        fail=1
    fi
done
echo "1..$n"
exit $fail
