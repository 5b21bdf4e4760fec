#!/bin/sh
# make demo: the whole story on bundled data. A real capture (Postfix and
# Exim receivers, a NAT, a rotating sender, IPv6, a blocked port 25; see
# tests/data/README.md) is read into a fresh database, the identities are
# resolved against NSD serving the bundled test zones on a loopback port
# (never this machine's resolvers), and the report is printed, then written
# as a self-contained HTML page (build/demo-report.html).
set -eu
BIN=${EA_BIN:-build/egressaudit}
# The demo asks only its own NSD: never this machine's configuration.
export EGRESSAUDIT_CONF=""
DIR=$(mktemp -d /tmp/egressaudit-demo.XXXXXX)
DB=${DEMO_DB:-build/demo.db}
PORT=$(python3 -c "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
trap 'tests/dns/nsd.sh stop "$DIR/nsd" "$PORT"; rm -rf "$DIR"' EXIT
tests/dns/nsd.sh start "$DIR/nsd" "$PORT"
rm -f "$DB" "$DB-wal" "$DB-shm"
echo "\$ egressaudit read --local 203.0.113.0/24 --local 10.0.0.0/24 --local 2001:db8:10::/48 tests/data/demo.pcapng"
"$BIN" read --db "$DB" --local 203.0.113.0/24 --local 10.0.0.0/24 \
  --local 2001:db8:10::/48 tests/data/demo.pcapng
echo
echo "\$ egressaudit sessions"
"$BIN" sessions --db "$DB"
echo
echo "\$ egressaudit analyze --resolver 127.0.0.1:$PORT   # NSD with the demo zones"
"$BIN" analyze --db "$DB" --resolver "127.0.0.1:$PORT"
echo
echo "\$ egressaudit report"
rc=0
"$BIN" report --db "$DB" || rc=$?
echo
echo "(report exit code $rc: 2 = critical findings, as a monitoring check reads it)"
HTML=${DEMO_HTML:-build/demo-report.html}
"$BIN" report --db "$DB" --format html >"$HTML" || true
echo
echo "The same report as a page to look at (the egress timeline, the identity"
echo "cards, the NAT map; opens from disk, fetches nothing): $HTML"
