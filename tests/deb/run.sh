#!/bin/sh
# The Debian package: builds (`make deb`), is lintian-clean, has the
# hardening flags, installs with apt, works from PATH as the egressaudit
# user without capabilities, its units verify, and removes cleanly (the
# database survives a remove, not a purge). Root only (installs the package
# on this machine, and removes it at the end).
set -u
if [ "$(id -u)" != 0 ]; then
  echo "deb: skipped (needs root)"
  echo "deb: 0 passed, 0 failed, 7 skipped"
  exit 0
fi
. tests/lib.sh # ok, ko, pass/fail counts, nsessions, wait_until
T=$(mktemp -d /tmp/ea-deb.XXXXXX)
chmod 755 "$T"
cleanup() {
  dpkg -P egressaudit >/dev/null 2>&1
  rm -rf "$T"
}
trap cleanup EXIT
if dpkg -s egressaudit >/dev/null 2>&1; then
  echo "deb: egressaudit is installed on this machine already; not touching it"
  echo "deb: 0 passed, 1 failed"
  exit 1
fi

deb=$(make --no-print-directory deb DEB_BUILD_OPTIONS=nocheck 2>&1 | tail -1)
[ -f "$deb" ] && ok "make deb: $deb" || { ko "make deb: $deb"; echo "deb: $pass passed, $fail failed"; exit 1; }
lintian --fail-on error,warning "$deb" >"$T/lintian" 2>&1 && ok "lintian: no error, no unexplained warning" || ko "lintian: $(cat "$T/lintian")"
dpkg-deb -x "$deb" "$T/x"
if command -v hardening-check >/dev/null; then
  # --nocfprotection: the binary is built with -fcf-protection (endbr64
  # throughout), but Debian 12's start files lack the IBT property note, so
  # the linker leaves it off and hardening-check reports "not found".
  hardening-check --nocfprotection "$T/x/usr/bin/egressaudit" >"$T/hc" 2>&1 &&
    ok "hardening-check: PIE, stack protector, fortify, relro, bindnow" || ko "hardening-check: $(cat "$T/hc")"
else
  ko "hardening-check missing (devscripts; run scripts/deps.sh)"
fi
DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$(pwd)/$deb" >"$T/apt" 2>&1 || ko "apt-get install: $(tail -5 "$T/apt")"
v=$(egressaudit --version 2>&1)
m=$(man -w egressaudit 2>&1)
u=$(getent passwd egressaudit | cut -d: -f1,6)
[ "$v" = "egressaudit 0.1.0" ] && [ "$m" = /usr/share/man/man8/egressaudit.8.gz ] && [ "$u" = egressaudit:/var/lib/egressaudit ] &&
  ok "installed: '$v' from PATH, man page found, user egressaudit" || ko "installed: version '$v', man '$m', user '$u'"
SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no /lib/systemd/system/egressaudit.service \
  /lib/systemd/system/egressaudit-report.service /lib/systemd/system/egressaudit-report.timer >"$T/sa" 2>&1 &&
  [ ! -s "$T/sa" ] && [ "$(systemctl is-enabled egressaudit.service 2>/dev/null || true)" != enabled ] &&
  ok "installed units verify, not enabled" || ko "units: $(cat "$T/sa")"
scores=""
for u in egressaudit.service egressaudit-report.service; do
  scores="$scores $(systemd-analyze security --offline=true "/lib/systemd/system/$u" 2>&1 | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p')"
done
echo "$scores" | awk '{ exit !(NF == 2 && $1 <= 2.0 && $2 <= 2.0) }' &&
  ok "installed units' exposure (systemd-analyze security):$scores, at most 2.0" || ko "installed units' exposure:$scores"
cp tests/data/real-rot.pcap "$T/cap.pcap"
chmod 644 "$T/cap.pcap"
mkdir -p "$T/db" && chown egressaudit "$T/db"
runuser -u egressaudit -- egressaudit read -q --db "$T/db/e.db" "$T/cap.pcap" &&
  n=$(runuser -u egressaudit -- egressaudit sessions --db "$T/db/e.db" --format jsonl | wc -l) &&
  [ "$n" = 4 ] && ok "reads a capture as the egressaudit user, no capabilities ($n sessions)" || ko "read as egressaudit user"
runuser -u egressaudit -- egressaudit read -q --db /var/lib/egressaudit/egress.db "$T/cap.pcap"
dpkg -r egressaudit >/dev/null 2>&1
kept=$([ -f /var/lib/egressaudit/egress.db ] && echo yes || echo no)
gone=$(command -v egressaudit || echo gone)
dpkg -P egressaudit >/dev/null 2>&1
purged=$([ -e /var/lib/egressaudit ] && echo no || echo yes)
conf=$([ -e /etc/default/egressaudit ] && echo left || echo removed)
[ "$kept" = yes ] && [ "$gone" = gone ] && [ "$purged" = yes ] && [ "$conf" = removed ] &&
  ok "remove keeps /var/lib/egressaudit, purge removes it and /etc/default/egressaudit" ||
  ko "remove/purge: db kept after remove: $kept, binary: $gone, purged: $purged, conffile $conf"
echo "deb: $pass passed, $fail failed"
[ "$fail" = 0 ]
