#!/bin/sh
# Install the Debian 12 packages egressaudit needs to build and test, only
# those missing (dpkg -s first), never upgrading what is there.
set -eu
PKGS="build-essential pkg-config clang libclang-rt-14-dev libpcap-dev libuv1-dev
libc-ares-dev libsqlite3-dev libcmocka-dev libpsl-dev python3 tcpdump tshark nsd
wireshark-common publicsuffix man-db groff-base tcpreplay iproute2 systemd
debhelper lintian devscripts fakeroot adduser git"
missing=""
for p in $PKGS; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "deps.sh: missing packages:$missing (run as root, or: sudo apt-get install$missing)" >&2
  exit 1
fi
echo "deps.sh: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture: no.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends --no-upgrade $missing
