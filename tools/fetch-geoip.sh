#!/bin/sh
# fetch-geoip.sh [DIR]: installs a free IP-to-country database into DIR
# (default: data/geoip in the source tree) and prints the .mmdb path.
#
# The database is ip-location-db's geo-whois-asn-country (GeoFeed + RIR
# whois + ASN data, IPv4 and IPv6, country codes only), taken with npm from
# the package @ip-location-db/geo-whois-asn-country-mmdb (packaged CC0; the
# data is from the NRO under CC BY 4.0: keep the attribution in
# DIR/ATTRIBUTION). The version is pinned so the demo is repeatable
# (LW_GEOIP_VERSION=latest for the newest); the upstream project says its
# npm data has known errors and moves to GitHub releases, so for production
# use a maintained database (MaxMind GeoLite2/GeoIP2 or DB-IP lite: any
# MMDB file with MaxMind's field names) in geoip.databases.
#
# Re-runs keep an existing database. Exits 1 with the reason on stderr
# when npm is missing or cannot fetch the package.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$top/data/geoip}
pkg=@ip-location-db/geo-whois-asn-country-mmdb
ver=${LW_GEOIP_VERSION:-2.3.2026061719}
db=$dir/geo-whois-asn-country.mmdb

if [ -s "$db" ]; then
    echo "$db"
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    echo "fetch-geoip: npm not found: no country database" >&2
    exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
spec=$pkg@$ver
[ "$ver" = latest ] && spec=$pkg
if ! (cd "$tmp" && timeout 300 npm pack --silent "$spec" >"$tmp/pack.out" 2>"$tmp/pack.err"); then
    echo "fetch-geoip: npm pack $spec failed: $(tail -n 3 "$tmp/pack.err" | tr '\n' ' ')" >&2
    exit 1
fi
tar -xzf "$tmp"/*.tgz -C "$tmp"
if [ ! -s "$tmp/package/geo-whois-asn-country.mmdb" ]; then
    echo "fetch-geoip: $spec has no geo-whois-asn-country.mmdb" >&2
    exit 1
fi
mkdir -p "$dir"
cp "$tmp/package/geo-whois-asn-country.mmdb" "$db.tmp"
mv "$db.tmp" "$db"
{
    echo "geo-whois-asn-country.mmdb: ip-location-db (https://github.com/sapics/ip-location-db),"
    echo "npm package $pkg $(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$tmp/package/package.json")."
    echo "Data: GeoFeed, RIR whois and ASN data; the RIR statistics are licensed under"
    echo "CC BY 4.0 by the Number Resource Organization (NRO), https://www.nro.net/."
    echo
    cat "$tmp/package/NRO_LICENSE" 2>/dev/null || true
} > "$dir/ATTRIBUTION"
echo "$db"
