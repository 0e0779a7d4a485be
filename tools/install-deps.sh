#!/bin/sh
# install-deps.sh: install the Debian packages in tools/debian-packages (as root).
# Skips apt when every package is already installed, so re-runs are quick.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
pkgs=$(grep -v '^#' "$here/debian-packages" | tr '\n' ' ')
missing=
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -z "$missing" ]; then
    command -v npm >/dev/null 2>&1 && exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "install-deps: run as root, or install:$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# tshark's package asks whether non-root users may capture: no (the tests run as root)
echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
# npm for the console's browser test: machines with a Node.js of their own
# (e.g. from NodeSource) already have it, and Debian's npm would conflict with it.
if ! command -v npm >/dev/null 2>&1; then
    apt-get install -y -qq --no-install-recommends npm >/dev/null
fi
