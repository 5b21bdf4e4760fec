#!/bin/sh
# Install the Debian 12 packages egressaudit needs to build and test, only
# those missing (dpkg -s first), never upgrading what is there. Also keeps
# the Exim packages the end-to-end tests run (downloaded, never installed:
# exim4-daemon-light conflicts with postfix) in $EA_DEBS.
set -eu
PKGS="build-essential pkg-config clang libclang-rt-14-dev libpcap-dev libuv1-dev
libc-ares-dev libsqlite3-dev zlib1g-dev libcmocka-dev libpsl-dev libsystemd-dev libjansson-dev libspf2-dev libopendmarc-dev libssl-dev python3 tcpdump tshark nsd
wireshark-common publicsuffix man-db groff-base tcpreplay iproute2 systemd
debhelper lintian devscripts fakeroot adduser git
postfix swaks libnet-ssleay-perl libio-socket-inet6-perl nftables openssl
valgrind prometheus unbound python3-seccomp pflogsumm systemd-journal-remote chromium poppler-utils rsyslog rbldnsd libevent-2.1-7 libdb5.3"
EXIM_PKGS="exim4-daemon-light libidn12 opensmtpd"
DEBS=${EA_DEBS:-/var/cache/egressaudit-test/debs}
missing=""
for p in $PKGS; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
debs_missing=""
for p in $EXIM_PKGS; do
  ls "$DEBS/${p}_"*.deb >/dev/null 2>&1 || debs_missing="$debs_missing $p"
done
[ -z "$missing$debs_missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
  [ -n "$missing" ] && echo "deps.sh: missing packages:$missing (run as root, or: sudo apt-get install$missing)" >&2
  [ -n "$debs_missing" ] && echo "deps.sh: the end-to-end tests need$debs_missing downloaded into $DEBS (run as root)" >&2
  [ -n "$missing" ] && exit 1
  exit 0 # the e2e tests are skipped without root anyway
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
if [ -n "$missing" ]; then
  echo "deps.sh: installing$missing"
  # tshark asks whether non-root users may capture: no. Postfix is only a
  # test receiver run from its own config directory: no system config.
  printf '%s\n' "wireshark-common wireshark-common/install-setuid boolean false" \
    "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  # shellcheck disable=SC2086
  apt-get install -y -q --no-install-recommends --no-upgrade $missing
fi
if [ -n "$debs_missing" ]; then
  echo "deps.sh: downloading$debs_missing into $DEBS"
  mkdir -p "$DEBS"
  chown _apt "$DEBS" 2>/dev/null || true # apt downloads as _apt when it can
  # shellcheck disable=SC2086
  (cd "$DEBS" && apt-get download -q $debs_missing)
fi
