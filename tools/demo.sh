#!/usr/bin/env bash
# demo.sh: the README's first command. Installs the Debian packages, builds
# linkwatch, generates the bundled demo capture (tests/gen/gen_demo.py, a
# deterministic synthetic data-centre link), runs the sensor on it with the
# shipped config and rules, and prints what it found.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
sh tools/install-deps.sh
tools/build.sh build
out=${LW_DEMO_OUT:-$top/demo-out}
mkdir -p "$out"
rm -f "$out/eve.json"
python3 tests/gen/gen_demo.py "$out/demo.pcap"
echo "== linkwatch -r $out/demo.pcap -l $out"
build/linkwatch -c linkwatch.yaml -r "$out/demo.pcap" -l "$out"
echo
echo "== flows by protocol (from $out/eve.json)"
jq -r 'select(.event_type=="flow") | .proto' "$out/eve.json" | sort | uniq -c | sort -rn
echo
echo "== top 10 flows by bytes"
jq -r 'select(.event_type=="flow")
       | [(.flow.bytes_toserver + .flow.bytes_toclient), .proto, "\(.src_ip):\(.src_port // "-")",
          "\(.dest_ip):\(.dest_port // "-")", (.flow.pkts_toserver + .flow.pkts_toclient),
          (if .tunnel then "\(.tunnel.type):\(.tunnel.id // 0)" else "" end),
          (if .vlan then "vlan \(.vlan|map(tostring)|join("/"))" else "" end)] | @tsv' "$out/eve.json" |
    sort -rn | head -n 10 |
    awk -F'\t' 'BEGIN { printf "%10s  %-5s %-28s %-28s %6s  %s\n", "bytes", "proto", "source", "destination", "pkts", "encap" }
                { printf "%10s  %-5s %-28s %-28s %6s  %s %s\n", $1, $2, $3, $4, $5, $6, $7 }'
