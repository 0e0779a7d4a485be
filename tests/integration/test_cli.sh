#!/bin/sh
# test_cli.sh: the command line as a user meets it: help, errors with a
# one-line reason and non-zero exit, -T, -r FILE / -r DIR, -l, --set, refused
# link types, a capture cut short, and a live capture on loopback stopped by
# SIGTERM (every open flow flushed with reason "shutdown").
set -u
LW=${LINKWATCH:?LINKWATCH not set}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0; bad=0
ok()    { n=$((n+1)); echo "ok $n - $1"; }
notok() { n=$((n+1)); bad=$((bad+1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else notok "$1"; fi; }

# A small pcap writer: link type, then frames as hex.
mkpcap() {  # out dlt hexframe...
    python3 - "$@" <<'PY'
import struct, sys
out, dlt, frames = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
with open(out, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, dlt))
    for i, h in enumerate(frames):
        b = bytes.fromhex(h)
        f.write(struct.pack("<IIII", 1700000000 + i, 0, len(b), len(b)) + b)
PY
}
# Ethernet + IPv4 + UDP 10.0.0.1:1000 -> 10.0.0.2:53, 4 payload bytes, and its reply.
req=$(python3 -c '
import struct
def ip(s,d,pl): 
    h=struct.pack("!BBHHHBBH4s4s",0x45,0,20+len(pl),1,0,64,17,0,bytes(s),bytes(d)); return h+pl
def udp(sp,dp,data): return struct.pack("!HHHH",sp,dp,8+len(data),0)+data
eth=bytes.fromhex("000000000002000000000001")+b"\x08\x00"
print((eth+ip([10,0,0,1],[10,0,0,2],udp(1000,53,b"abcd"))).hex())')
rep=$(python3 -c '
import struct
def ip(s,d,pl):
    h=struct.pack("!BBHHHBBH4s4s",0x45,0,20+len(pl),1,0,64,17,0,bytes(s),bytes(d)); return h+pl
def udp(sp,dp,data): return struct.pack("!HHHH",sp,dp,8+len(data),0)+data
eth=bytes.fromhex("000000000001000000000002")+b"\x08\x00"
print((eth+ip([10,0,0,2],[10,0,0,1],udp(53,1000,b"wxyz"))).hex())')

"$LW" --help >"$tmp/help" 2>&1
check "--help exits 0 and shows usage" '[ $? -eq 0 ] && grep -q "usage: linkwatch" "$tmp/help"'

"$LW" >"$tmp/o" 2>"$tmp/e"; rc=$?
check "no source: exit 1 with a one-line reason" '[ $rc -eq 1 ] && [ "$(wc -l <"$tmp/e")" -eq 1 ] && grep -q "nothing to read" "$tmp/e"'

"$LW" -r "$tmp/nope.pcap" -l "$tmp" >"$tmp/o" 2>"$tmp/e"; rc=$?
check "missing file: non-zero exit naming the file" '[ $rc -ne 0 ] && grep -q "nope.pcap" "$tmp/e"'

printf '%s\n' '# a comment' \
  'alert tcp any any -> any 80 (msg:"cli test"; content:"GET"; sid:1000001; rev:1;)' > "$tmp/good.rules"
"$LW" -T -S "$tmp/good.rules" --set rules.classification-file="$LW_SRCDIR/rules/classification.config" >"$tmp/o" 2>"$tmp/e"; rc=$?
check "-T -S with a good rule file is valid" '[ $rc -eq 0 ] && grep -q "valid" "$tmp/o" && grep -q "rules: 1 loaded, 0 failed" "$tmp/o"'

cp "$tmp/good.rules" "$tmp/bad.rules"
echo 'alert tcp any any -> any 80 (msg:"bad"; frobnicate; sid:1000002;)' >> "$tmp/bad.rules"
"$LW" -T -S "$tmp/bad.rules" --set rules.classification-file="$LW_SRCDIR/rules/classification.config" >"$tmp/o" 2>"$tmp/e"; rc=$?
check "-T reports file:line: reason for a bad rule, loads the rest, exits 1" \
  '[ $rc -eq 1 ] && grep -q "bad.rules:3: keyword .frobnicate. is not supported" "$tmp/o" && grep -q "rules: 1 loaded, 1 failed" "$tmp/o"'

"$LW" -T --set flow.max-flows=lots >"$tmp/o" 2>"$tmp/e"; rc=$?
check "-T with a bad --set fails naming the key" '[ $rc -ne 0 ] && grep -q "flow.max-flows" "$tmp/e"'

mkpcap "$tmp/a.pcap" 1 "$req" "$rep"

"$LW" --version >"$tmp/v" 2>"$tmp/e"; rc=$?
check "--version prints one line, linkwatch and the version" \
  '[ $rc -eq 0 ] && [ "$(wc -l <"$tmp/v")" -eq 1 ] && grep -qx "linkwatch [0-9][0-9.]*" "$tmp/v" && [ ! -s "$tmp/e" ]'
"$LW" --build-info >"$tmp/o" 2>"$tmp/e"; rc=$?
check "--build-info: the version line, compiler, CFLAGS and each library with a version" \
  '[ $rc -eq 0 ] && [ "$(sed -n 1p "$tmp/o")" = "$(cat "$tmp/v")" ] && grep -q "^compiler: " "$tmp/o" &&
   grep -q "^CFLAGS: .*-std=c11" "$tmp/o" &&
   (for l in libpcap nDPI Hyperscan PCRE2 hiredis libmaxminddb libhtp libcrypto libyaml libmicrohttpd; do
      grep -q "^  $l  .*[0-9]\.[0-9]" "$tmp/o" || exit 1; done)'
# The versions are the libraries' own: compare with what pkg-config says is installed.
for pc in libpcap:libpcap libndpi:nDPI libpcre2-8:PCRE2 libmaxminddb:libmaxminddb yaml-0.1:libyaml libmicrohttpd:libmicrohttpd; do
  mod=${pc%%:*}; name=${pc#*:}
  want=$(pkg-config --modversion "$mod" 2>/dev/null) || continue
  check "--build-info: $name $want as pkg-config says" 'grep "^  $name " "$tmp/o" | grep -qF "$want"'
done

# A rule file named with -S or in rules.files that cannot be read stops the
# sensor before the capture, naming the file; only the default rules.files
# (rules/*.rules) may match nothing, with a warning.
cls="rules.classification-file=$LW_SRCDIR/rules/classification.config"
"$LW" -S "$tmp/mispelled.rules" -r "$tmp/a.pcap" -l "$tmp/out-miss" >"$tmp/o" 2>"$tmp/e"; rc=$?
check "-S with a missing file: exit 1, the file and the reason, no output written" \
  '[ $rc -eq 1 ] && grep -qx "linkwatch: error: rule file $tmp/mispelled.rules: No such file or directory" "$tmp/e" && [ ! -e "$tmp/out-miss/eve.json" ]'
"$LW" -T -S "$tmp/good.rules" -S "$tmp/mispelled.rules" --set "$cls" >"$tmp/o" 2>"$tmp/e"; rc=$?
check "-T with a good and a missing -S file: exit 1 naming the missing one" \
  '[ $rc -eq 1 ] && grep -q "mispelled.rules: No such file" "$tmp/e"'
"$LW" -S "$tmp/good.rules/x.rules" -r "$tmp/a.pcap" -l "$tmp/out-miss" >"$tmp/o" 2>"$tmp/e"; rc=$?
check "-S with a path that cannot be opened: exit 1 with the reason" \
  '[ $rc -eq 1 ] && grep -q "good.rules/x.rules: Not a directory" "$tmp/e"'
mkdir -p "$tmp/norules"
"$LW" -S "$tmp/norules" -r "$tmp/a.pcap" -l "$tmp/out-miss" >"$tmp/o" 2>"$tmp/e"; rc=$?
check "-S with a folder holding no *.rules: exit 1" '[ $rc -eq 1 ] && grep -q "norules/\*.rules: no file matches" "$tmp/e"'
printf 'rules:\n  files: [local.rules]\n' > "$tmp/cfg-miss.yaml"
"$LW" -c "$tmp/cfg-miss.yaml" -r "$tmp/a.pcap" -l "$tmp/out-miss" >"$tmp/o" 2>"$tmp/e"; rc=$?
check "rules.files naming a missing file: exit 1 naming it (relative to the config)" \
  '[ $rc -eq 1 ] && grep -q "rule file $tmp/local.rules: No such file" "$tmp/e"'
"$LW" -T --set "rules.files=[$tmp/site-*.rules]" >"$tmp/o" 2>"$tmp/e"; rc=$?
check "rules.files with a pattern that matches nothing (not the default): exit 1" \
  '[ $rc -eq 1 ] && grep -q "site-\*.rules: no file matches" "$tmp/e"'
mkdir -p "$tmp/empty"
(cd "$tmp/empty" && "$LW" -r "$tmp/a.pcap" -l "$tmp/out-default" --set metrics.enabled=no --set control.socket= >"$tmp/o" 2>"$tmp/e"); rc=$?
check "the default rules.files matching nothing only warns and runs" \
  '[ $rc -eq 0 ] && grep -q "warning: rules: rules/\*.rules: no file matches" "$tmp/e" && [ -s "$tmp/out-default/eve.json" ]'

mkdir -p "$tmp/out1"
"$LW" -r "$tmp/a.pcap" -l "$tmp/out1" >"$tmp/o" 2>"$tmp/e"; rc=$?
check "-r FILE -l DIR: exit 0" '[ $rc -eq 0 ]'
check "eve.json has one flow with 1+1 packets" \
  '[ "$(grep -c "\"event_type\":\"flow\"" "$tmp/out1/eve.json")" -eq 1 ] && grep -q "\"pkts_toserver\":1,\"pkts_toclient\":1" "$tmp/out1/eve.json"'
check "the flow ended with reason shutdown" 'grep -q "\"reason\":\"shutdown\"" "$tmp/out1/eve.json"'
check "a final stats event is written" 'grep -q "\"event_type\":\"stats\"" "$tmp/out1/eve.json"'
check "summary printed on stdout" 'grep -q "flows: 1 " "$tmp/o"'

mkdir -p "$tmp/dir" "$tmp/out2"
mkpcap "$tmp/dir/1.pcap" 1 "$req"
mkpcap "$tmp/dir/2.pcapng.txt" 1 "$req"
cp "$tmp/a.pcap" "$tmp/dir/3.pcap"
"$LW" -r "$tmp/dir" -l "$tmp/out2" >"$tmp/o" 2>"$tmp/e"; rc=$?
check "-r DIR reads its .pcap files only, as one continuous capture" \
  '[ $rc -eq 0 ] && grep -q "linkwatch: 3 packets" "$tmp/o" && grep -q "\"pkts_toserver\":2,\"pkts_toclient\":1" "$tmp/out2/eve.json"'

mkdir -p "$tmp/out3"
"$LW" -r "$tmp/a.pcap" -l "$tmp/out3" --set outputs.eve-file.filename=x.json --set sensor-id=probe-7 >"$tmp/o" 2>"$tmp/e"
check "--set renames the eve file and tags the sensor id" 'grep -q "\"sensor_id\":\"probe-7\"" "$tmp/out3/x.json"'

mkpcap "$tmp/wifi.pcap" 105 "$req"
"$LW" -r "$tmp/wifi.pcap" -l "$tmp/out3" >"$tmp/o" 2>"$tmp/e"; rc=$?
check "unsupported link type refused with a clear message" \
  '[ $rc -ne 0 ] && grep -q "link type 105.*not supported" "$tmp/e"'

head -c 70 "$tmp/a.pcap" > "$tmp/cut.pcap"
"$LW" -r "$tmp/cut.pcap" -l "$tmp/out3" >"$tmp/o" 2>"$tmp/e"; rc=$?
check "a capture cut short: non-zero exit and the reason" '[ $rc -ne 0 ] && grep -qi "cut.pcap" "$tmp/e"'

"$LW" -r "$tmp/a.pcap" -l "$tmp/a.pcap" >"$tmp/o" 2>"$tmp/e"; rc=$?
check "log dir that is a file: refused" '[ $rc -ne 0 ] && grep -q "log folder" "$tmp/e"'

# Live capture on loopback: UDP to a closed local port, then SIGTERM.
mkdir -p "$tmp/live"
"$LW" -i lo -f "udp port 47999" -l "$tmp/live" >"$tmp/live.o" 2>"$tmp/live.e" &
pid=$!
sleep 1.5
python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(5):
    s.sendto(b"linkwatch-live-test", ("127.0.0.1", 47999)); time.sleep(0.05)'
sleep 0.5
kill -TERM $pid
# Bounded: a sensor that ignores SIGTERM fails the test instead of hanging it.
i=0
while kill -0 $pid 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
kill -0 $pid 2>/dev/null && kill -KILL $pid
wait $pid; rc=$?
check "live capture on lo stops cleanly on SIGTERM" '[ $rc -eq 0 ]'
check "live flow flushed at shutdown with its 5 packets" \
  'grep "\"dest_port\":47999" "$tmp/live/eve.json" | grep -q "\"pkts_toserver\":5.*\"reason\":\"shutdown\""'
check "live stats carry kernel counters" 'grep -q "\"kernel_packets\":" "$tmp/live/eve.json"'

echo "1..$n"
[ $bad -eq 0 ]
