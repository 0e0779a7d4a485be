#!/usr/bin/env bash
# demo.sh: the README's first command. Installs the Debian packages, builds
# linkwatch, installs a free country database (tools/fetch-geoip.sh, into
# data/geoip), generates the bundled demo capture (tests/gen/gen_demo.py, a
# deterministic synthetic data-centre link), runs the sensor on it with the
# shipped config and rules, writing tallies and alerts to a redis-server it
# starts on a free loopback port, and prints what it found, cross-border
# traffic and the personal data sent abroad by country included. Without the
# database (no npm, no registry) the demo still runs: geolocation is then off,
# traffic is internal or external, and no personal data counts as abroad.
set -euo pipefail
# first N: the first N lines of stdin. Unlike head it reads its input to the
# end, so under pipefail the producer is never cut off by SIGPIPE (status 141).
first() { awk -v n="$1" 'NR <= n'; }
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
sh tools/install-deps.sh
tools/build.sh build
out=${LW_DEMO_OUT:-$top/demo-out}
mkdir -p "$out"
rm -f "$out/eve.json"
# Debian's python3 carries python3-scapy; prefer it over any other python3 on PATH.
py=/usr/bin/python3; [ -x "$py" ] || py=python3
"$py" tests/gen/gen_demo.py "$out/demo.pcap"
geo=()
if db=$(tools/fetch-geoip.sh "${LW_GEOIP_DIR:-$top/data/geoip}"); then
    geo=(--set "geoip.databases=[$db]")
    echo "geolocation: $db (ip-location-db country data by the NRO, CC BY 4.0: $(dirname "$db")/ATTRIBUTION)"
else
    echo "geolocation: no country database could be installed; running without (scopes internal/external)"
fi
# A local redis-server on a free loopback port, for the tallies and the alert stream.
rport=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
rdir=$(mktemp -d)
redis-server --bind 127.0.0.1 --port "$rport" --dir "$rdir" --save "" --appendonly no \
    --daemonize yes --pidfile "$rdir/redis.pid" --logfile "$rdir/redis.log"
trap 'redis-cli -p "$rport" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$rdir"' EXIT
for _ in $(seq 1 50); do redis-cli -p "$rport" ping >/dev/null 2>&1 && break; sleep 0.1; done
red=(--set redis.enabled=yes --set redis.server=127.0.0.1 --set "redis.port=$rport"
     --set "redis.spool-dir=$out/redis-spool" --set control.socket= --set metrics.enabled=no)
echo "== linkwatch -r $out/demo.pcap -l $out ${geo[*]} (redis-server on 127.0.0.1:$rport)"
build/linkwatch -c linkwatch.yaml -r "$out/demo.pcap" -l "$out" "${geo[@]}" "${red[@]}"
echo
echo "== from Redis (docs/redis.md): alerts in the shared stream, and applications by bytes"
echo "alerts in lw:{alerts}: $(redis-cli -p "$rport" xlen 'lw:{alerts}')"
redis-cli -p "$rport" --scan --pattern 'lw:{dc1-link1:h:*}:app:bytes' |
    while read -r k; do redis-cli -p "$rport" hgetall "$k"; done | paste - - |
    awk -F'\t' '{ b[$1] += $2 } END { for (a in b) printf "%12d  %s\n", b[a], a }' | sort -rn | first 8
echo
echo "== flows by application, as nDPI identified them (from $out/eve.json)"
jq -r 'select(.event_type=="flow") | "\(.proto)\t\(.ndpi.protocol // "Unknown")"' "$out/eve.json" |
    sort | uniq -c | sort -rn | awk '{ printf "%6d  %-5s %s\n", $1, $2, $3 }'
echo
echo "== application metadata seen"
jq -r 'select(.event_type=="flow")
       | (if .tls.sni then "tls sni      \(.tls.sni)  ja3 \(.tls.ja3.hash // "-")" else empty end),
         (if .http.hostname then "http         \(.http.http_method // "") \(.http.hostname)\(.http.url // "")" else empty end),
         (if .dns.rrname then "dns query    \(.dns.rrname)" else empty end),
         (if .ssh.client.software_version then "ssh          \(.ssh.client.software_version) -> \(.ssh.server.software_version // "-")" else empty end)' \
    "$out/eve.json" | sort | uniq -c | sort -rn | first 15
echo
echo "== alerts by rule (severity 1 is the most urgent)"
jq -rs '[.[] | select(.event_type=="alert")] | group_by(.alert.signature_id)
        | map({n: length, a: .[0]}) | sort_by(.a.alert.severity, -.n)[]
        | [.n, .a.alert.severity, .a.alert.signature_id, .a.alert.signature,
           "\(.a.src_ip):\(.a.src_port // "-") -> \(.a.dest_ip):\(.a.dest_port // "-")"] | @tsv' "$out/eve.json" |
    awk -F'\t' 'BEGIN { printf "%6s  %3s  %-8s %-58s %s\n", "alerts", "sev", "sid", "signature", "first seen" }
                { printf "%6d  %3s  %-8s %-58s %s\n", $1, $2, $3, substr($4, 1, 58), $5 }'
echo
echo "== top 10 flows by bytes"
jq -r 'select(.event_type=="flow")
       | [(.flow.bytes_toserver + .flow.bytes_toclient), .proto, "\(.src_ip):\(.src_port // "-")",
          "\(.dest_ip):\(.dest_port // "-")", (.flow.pkts_toserver + .flow.pkts_toclient),
          (.ndpi.protocol // ""),
          (if .tunnel then "\(.tunnel.type):\(.tunnel.id // 0)" else "" end),
          (if .vlan then "vlan \(.vlan|map(tostring)|join("/"))" else "" end)] | @tsv' "$out/eve.json" |
    sort -rn | first 10 |
    awk -F'\t' 'BEGIN { printf "%10s  %-5s %-28s %-28s %6s  %-14s %s\n", "bytes", "proto", "source", "destination", "pkts", "application", "encap" }
                { printf "%10s  %-5s %-28s %-28s %6s  %-14s %s %s\n", $1, $2, $3, $4, $5, $6, $7, $8 }'
echo
echo "== traffic by scope and country (geo_summary events; home country $(sed -n 's/^home-country: *//p' linkwatch.yaml))"
jq -rs '[.[] | select(.event_type=="geo_summary") | .geo_summary]
        | group_by([.scope, (.country // "-")])
        | map({scope: .[0].scope, country: (.[0].country // "-"), bytes: (map(.bytes) | add),
               packets: (map(.packets) | add), flows: (map(.flows) | add), alerts: (map(.alerts) | add),
               hosts: (map(.internal_hosts) | max),
               endpoint: ([.[].top_endpoints[]] | max_by(.bytes) // {} | .ip // "-"),
               app: ([.[].top_apps[]] | max_by(.bytes) // {} | .app // "-")})
        | sort_by(.scope != "cross-border-outbound", .scope != "cross-border-inbound", -.bytes)[]
        | [.scope, .country, .bytes, .packets, .flows, .alerts, .hosts, .endpoint, .app] | @tsv' "$out/eve.json" |
    awk -F'\t' 'BEGIN { printf "%-22s %-7s %10s %7s %5s %6s %5s  %-26s %s\n", "scope", "country", "bytes", "packets", "flows", "alerts", "hosts", "top remote endpoint", "top application" }
                { printf "%-22s %-7s %10s %7s %5s %6s %5s  %-26s %s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9 }'
echo
# Counted by the sensor in every HTTP body (issue 24): what left the home country is the
# request bodies of cross-border-outbound rows (to their destination country) plus the
# response bodies of cross-border-inbound rows (to the foreign client that asked).
echo "== personal data sent abroad, by country (from eve.json geo_summary)"
jq -rs '[.[] | select(.event_type=="geo_summary") | .geo_summary
         | if .scope == "cross-border-outbound" then {country: .dest_country, n: .pii.to_server}
           elif .scope == "cross-border-inbound" then {country: .src_country, n: .pii.to_client}
           else empty end
         | select(.n != null) | .country //= "--"]
        | group_by(.country)
        | map({country: .[0].country,
               n: (reduce (.[].n | to_entries[]) as $e ({}; .[$e.key] += $e.value))})
        | sort_by(-(.n["cn-id"] // 0), .country)[]
        | [.country] + ([.n["cn-id"], .n["bank-card"], .n["cn-mobile"], .n.email, .n["passport-cn"], .n.bodies]
                        | map(. // 0)) | @tsv' "$out/eve.json" |
    awk -F'\t' 'NR == 1 { printf "%-7s %8s %9s %9s %8s %11s %6s\n", "country", "cn-id", "bank-card", "cn-mobile", "email", "passport-cn", "bodies" }
                { printf "%-7s %8s %9s %9s %8s %11s %6s\n", $1, $2, $3, $4, $5, $6, $7 }
                END { if (NR == 0) print "none" }'
