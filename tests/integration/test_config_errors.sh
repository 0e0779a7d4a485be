#!/bin/sh
# test_config_errors.sh: a bad configuration (from -c FILE or --set) stops
# linkwatch with a non-zero exit and exactly one line on stderr,
# "linkwatch: error: <file>:<line>: <key.path>: <reason>" or
# "linkwatch: error: --set <key.path>: <reason>"; good ones pass -T.
set -eu
LW=${LINKWATCH:?LINKWATCH not set}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# -T also checks the rule files, which the config names relative to its own
# folder (or, with the built-in defaults, to the current one): give both the
# shipped rules.
ln -s "${LW_SRCDIR:?LW_SRCDIR not set}/rules" "$tmp/rules"
cd "$tmp"
n=0; bad=0
ok()    { n=$((n+1)); echo "ok $n - $1"; }
notok() { n=$((n+1)); bad=$((bad+1)); echo "not ok $n - $1"; }

# yaml NAME TEXT: writes $tmp/NAME (TEXT goes through printf, so \n works).
yaml() { printf "$2" >"$tmp/$1"; }

# expect_error DESC MESSAGE ARGS...: linkwatch -T ARGS... must exit non-zero
# and print exactly "linkwatch: error: MESSAGE" on stderr.
expect_error() {
    desc=$1; want="linkwatch: error: $2"; shift 2
    rc=0
    "$LW" -T "$@" >"$tmp/stdout" 2>"$tmp/stderr" || rc=$?
    if [ "$rc" -ne 0 ] && [ "$(wc -l <"$tmp/stderr")" -eq 1 ] &&
       [ "$(cat "$tmp/stderr")" = "$want" ]; then
        ok "$desc"
    else
        notok "$desc"
        echo "#   want (non-zero exit): $want"
        echo "#   got  (exit $rc): $(head -c 600 "$tmp/stderr" | tr '\n' '|')"
    fi
}

# expect_valid DESC ARGS...: linkwatch -T ARGS... exits 0 and says nothing on stderr
# (its stdout reports the configuration valid and every shipped rule loaded).
expect_valid() {
    desc=$1; shift
    rc=0
    "$LW" -T "$@" >"$tmp/stdout" 2>"$tmp/stderr" || rc=$?
    if [ "$rc" -eq 0 ] && [ ! -s "$tmp/stderr" ] && grep -q "is valid" "$tmp/stdout" &&
       grep -q "rules: [1-9][0-9]* loaded, 0 failed" "$tmp/stdout"; then
        ok "$desc"
    else
        notok "$desc"
        echo "#   got (exit $rc): $(head -c 600 "$tmp/stderr" | tr '\n' '|')"
        echo "#   stdout: $(head -c 600 "$tmp/stdout" | tr '\n' '|')"
    fi
}

# ---------------------------------------------------------------- valid
expect_valid "built-in defaults are valid"
yaml good.yaml 'sensor-id: dc9-link2\nhome-net: [10.0.0.0/8, "2001:db8::/32"]\nflow:\n  timeouts: {udp: 2m}\ncapture:\n  buffer-size: 128mb\n'
expect_valid "a site file that changes a few keys is valid" -c "$tmp/good.yaml"
expect_valid "--set of a scalar, a list and a nested key is valid" -c "$tmp/good.yaml" \
    --set outputs.eve-file.enabled=no --set 'home-net=[192.168.0.0/16]' --set flow.timeouts.tcp-established=2h
yaml empty.yaml '# nothing\n'
expect_valid "an empty file means the defaults" -c "$tmp/empty.yaml"

# ---------------------------------------------------------------- -c FILE
yaml x.yaml 'flow:\n  max-flows: 10\n  timeoutz:\n    udp: 3\n'
expect_error "unknown key names file, line and key path" \
    "$tmp/x.yaml:3: flow.timeoutz: unknown key" -c "$tmp/x.yaml"

yaml linkwatch.yaml '# site config\n\nsensor-id: dc1-link1\nhome-country: CN\n\ncapture:\n  interface: eth1\n  snaplen: 1500\n\n# flows\nflow:\n  max-flows: lots\n'
expect_error "a word where an integer goes" \
    "$tmp/linkwatch.yaml:12: flow.max-flows: expected an integer from 1 to 100000000, got 'lots'" -c "$tmp/linkwatch.yaml"

yaml range.yaml 'capture:\n  snaplen: 9\n'
expect_error "an integer out of range" \
    "$tmp/range.yaml:2: capture.snaplen: expected an integer from 64 to 262144, got '9'" -c "$tmp/range.yaml"

yaml bool.yaml 'dpi:\n  enabled: maybe\n'
expect_error "a bad boolean" \
    "$tmp/bool.yaml:2: dpi.enabled: expected yes or no, got 'maybe'" -c "$tmp/bool.yaml"

yaml size.yaml 'defrag:\n  memcap: 32xb\n'
expect_error "a bad size" \
    "$tmp/size.yaml:2: defrag.memcap: expected a size such as 64mb, from 64kb to 64gb, got '32xb'" -c "$tmp/size.yaml"

yaml dur.yaml 'redis:\n  retention:\n    minute: 2w\n'
expect_error "a bad duration" \
    "$tmp/dur.yaml:3: redis.retention.minute: expected a duration such as 90s, 15m, 12h or 2d, from 1s to 3650d, got '2w'" -c "$tmp/dur.yaml"

yaml cidr.yaml 'home-net:\n  - 10.0.0.0/8\n  - 10.0.0.0/33\n'
expect_error "a bad CIDR in home-net points at its own line" \
    "$tmp/cidr.yaml:3: home-net: expected an address or CIDR such as 10.0.0.0/8, got '10.0.0.0/33'" -c "$tmp/cidr.yaml"

yaml cc.yaml 'home-country: China\n'
expect_error "a bad country code" \
    "$tmp/cc.yaml:1: home-country: expected a two-letter upper-case country code such as CN, got 'China'" -c "$tmp/cc.yaml"

yaml kind.yaml 'flow: 3\n'
expect_error "a value where a mapping goes" \
    "$tmp/kind.yaml:1: flow: expected a mapping, got '3'" -c "$tmp/kind.yaml"

yaml dup.yaml 'flow:\n  max-flows: 1\n  max-flows: 2\n'
expect_error "a duplicate key" \
    "$tmp/dup.yaml:3: flow.max-flows: duplicate key" -c "$tmp/dup.yaml"

yaml syntax.yaml 'flow:\n  max-flows: [1, 2\nfoo: bar\n'
expect_error "a YAML syntax error gives its line" \
    "$tmp/syntax.yaml:3: YAML syntax error: did not find expected ',' or ']'" -c "$tmp/syntax.yaml"

yaml utf8.yaml 'sensor-id: a\nhome-country: \377\n'
expect_error "bytes that are not UTF-8" \
    "$tmp/utf8.yaml:2: YAML syntax error: invalid leading UTF-8 octet" -c "$tmp/utf8.yaml"

expect_error "a file that does not exist" \
    "$tmp/nope.yaml: cannot open: No such file or directory" -c "$tmp/nope.yaml"

expect_error "a folder given as the file" \
    "$tmp: cannot read: Is a directory" -c "$tmp"

# ---------------------------------------------------------------- --set
expect_error "--set of an unknown key" \
    "--set flow.timeoutz: unknown key" --set flow.timeoutz=3

expect_error "--set without '='" \
    "--set flow.max-flows: expected key.path=value" --set flow.max-flows

expect_error "--set of a bad value" \
    "--set flow.max-flows: expected an integer from 1 to 100000000, got 'lots'" --set flow.max-flows=lots

expect_error "--set of a bad CIDR list" \
    "--set home-net: expected an address or CIDR such as 10.0.0.0/8, got '300.1.1.1'" --set 'home-net=[10.0.0.0/8, 300.1.1.1]'

expect_error "--set value that is not YAML" \
    "--set home-net: YAML syntax error: did not find expected ',' or ']'" --set 'home-net=[10.0.0.0/8'

expect_error "--set that makes a good file bad" \
    "--set outputs.eve-file.enabled: expected yes or no, got 'perhaps'" -c "$tmp/good.yaml" --set outputs.eve-file.enabled=perhaps

expect_error "the file's error is reported before a later --set's" \
    "$tmp/bool.yaml:2: dpi.enabled: expected yes or no, got 'maybe'" -c "$tmp/bool.yaml" --set bogus=1

# ---------------------------------------------------------------- every type, wrong
# One wrong value per value type of sensor/common/config.c not covered above, and
# each type given a list or a mapping where a scalar goes (and back).
expect_error "an enum value out of its set" \
    "--set logging.level: expected one of error, warning, info, debug, got 'loud'" --set logging.level=loud
expect_error "an enum (syslog facility) out of its set" \
    "--set outputs.syslog.facility: expected one of local0, local1, local2, local3, local4, local5, local6, local7, user, daemon, auth, authpriv, got 'local9'" \
    --set outputs.syslog.facility=local9
expect_error "an enum list with an unknown member" \
    "--set outputs.eve-file.types: expected one of alert, flow, stats, geo_summary, reload, http, dns, tls, ssh, smb, ftp, ftp_data, fileinfo, got 'nope'" \
    --set 'outputs.eve-file.types=[alert, nope]'
yaml enummap.yaml 'outputs:\n  eve-file:\n    types: {alert: yes}\n'
expect_error "a mapping where an enum list goes" \
    "$tmp/enummap.yaml:3: outputs.eve-file.types: expected a list of alert, flow, stats, geo_summary, reload, http, dns, tls, ssh, smb, ftp, ftp_data, fileinfo, got a mapping" \
    -c "$tmp/enummap.yaml"
expect_error "a host:port without a port" \
    "--set metrics.listen: expected host:port such as 127.0.0.1:9917, got 'localhost'" --set metrics.listen=localhost
expect_error "an identifier with a space and a '!'" \
    "--set sensor-id: expected 1 to 64 letters, digits, '.', '-' or '_', other than 'all', got 'bad id!'" --set 'sensor-id=bad id!'
expect_error "an identifier given a list" \
    "--set sensor-id: expected 1 to 64 letters, digits, '.', '-' or '_', other than 'all', got a list" --set 'sensor-id=[x]'
expect_error "an empty value where one is required" \
    "--set default-log-dir: expected a non-empty text value, got ''" --set 'default-log-dir=""'
expect_error "a list where text goes" \
    "--set control.socket: expected a text value, got a list" --set 'control.socket=[a, b]'
expect_error "a list where a variable mapping goes" \
    "--set vars.address-groups: expected a mapping of NAME: value, got a list" --set 'vars.address-groups=[1, 2]'
expect_error "a mapping where an integer goes" \
    "--set workers: expected an integer from 0 to 256, got a mapping" --set 'workers={a: 1}'
expect_error "a list where a boolean goes" \
    "--set dpi.enabled: expected yes or no, got a list" --set 'dpi.enabled=[yes]'
expect_error "a mapping where a size goes" \
    "--set defrag.memcap: expected a size such as 64mb, from 64kb to 64gb, got a mapping" --set 'defrag.memcap={a: 1}'
expect_error "a list where a duration goes" \
    "--set flow.timeouts.udp: expected a duration such as 90s, 15m, 12h or 2d, from 1s to 7d, got a list" \
    --set 'flow.timeouts.udp=[1]'
expect_error "a list where a country code goes" \
    "--set home-country: expected a two-letter upper-case country code such as CN, got a list" --set 'home-country=[CN]'
expect_error "a mapping where a CIDR list goes" \
    "--set home-net: expected a list of addresses or CIDRs, got a mapping" --set 'home-net={a: 1}'
expect_error "privileges.group without privileges.user" \
    "privileges.group and privileges.chroot need privileges.user" --set privileges.group=nogroup

echo "1..$n"
[ "$bad" -eq 0 ] || exit 1
exit 0
