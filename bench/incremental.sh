#!/bin/sh
# bench/incremental.sh: analysis after new sessions on a large multi-point
# history, from the fold (incremental) against reading it all (--full),
# and whether both give the same findings. Not a test.
#   bench/incremental.sh [N [NEW]]   (default 1,000,000 sessions, 1,000 new)
# The history: a NAT gateway's two capture points (gw:in, gw:out), 10,001
# public sources and 1,000 inside hosts (every 20th connection one seen at
# both points: a twin pair), 2% rejected, 5% echoed, 0.5% unanswered; it
# ends two hours ago, generated straight into the schema once. NSD serves
# the sources' PTR and A records on a free loopback port.
set -eu
N=${1:-1000000}
NEW=${2:-1000}
BIN=${EA_BIN:-build/egressaudit}
DIR=${BENCH_DIR:-/var/tmp/egressaudit-bench}/incremental-$N
export EGRESSAUDIT_CONF=""
mkdir -p "$DIR"
BASE="$DIR/base.db"
if [ ! -s "$BASE" ]; then
  rm -f "$BASE"*
  python3 tests/gen/capgen.py "$DIR/gen" >/dev/null
  "$BIN" read -q --db "$BASE" --point gw:out "$DIR/gen/sll.pcap"
  "$BIN" read -q --db "$BASE" --point gw:in "$DIR/gen/sll.pcap"
  python3 tests/gen/histgen.py "$BASE" "$N" 0 "$DIR/zones"
fi
PORT=$(python3 -c "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])")
export EA_ZONES="$DIR/zones"
sh tests/dns/nsd.sh start "$DIR/nsd" "$PORT"
trap 'sh tests/dns/nsd.sh stop "$DIR/nsd" "$PORT"' EXIT
R="--resolver 127.0.0.1:$PORT"
for f in a.db b.db; do rm -f "$DIR/$f" "$DIR/$f-wal" "$DIR/$f-shm"; done
cp "$BASE" "$DIR/a.db"
# times: "read_s total_s KiB"
run() {
  /usr/bin/time -f "%e %M" -o "$DIR/t" "$BIN" analyze "$@" $R >"$DIR/out" 2>&1 || { cat "$DIR/out" >&2; exit 1; }
  rd=$(sed -n 's/^read[^0-9]*[0-9]* [^0-9]*\([0-9.]*\) s.*/\1/p' "$DIR/out")
  echo "$rd $(tail -1 "$DIR/t")"
}
first=$(run --db "$DIR/a.db")          # no fold yet: reads all, keeps the sums
# NEW sessions arrive (now, at both points), as a watch would store them.
python3 tests/gen/histgen.py "$DIR/a.db" "$NEW" 1
cp "$DIR/a.db" "$DIR/b.db"
incr=$(run --db "$DIR/a.db")
incr_line=$(grep '^read' "$DIR/out")
full=$(run --db "$DIR/b.db" --full)
full_line=$(grep '^read' "$DIR/out")
same() {
  for db in a b; do
    sqlite3 "$DIR/$db.db" "$1" | md5sum
  done | uniq | wc -l
}
F="SELECT rule, severity, subject, ident, detail, fix, count, first_seen, last_seen, status FROM findings ORDER BY rule, subject, ident"
I="SELECT ip, iprev, ptr, helos, sources, echoed, sessions, rejected, starttls, tls_logged, first_seen, last_seen, points FROM identities ORDER BY ip"
M="SELECT inside_ip, outside_ip, point_in, point_out, first_seen, last_seen, sessions FROM nat_map ORDER BY 1, 2"
ident=yes
for q in "$F" "$I" "$M"; do [ "$(same "$q")" = 1 ] || ident=no; done
echo "sessions: $(sqlite3 "$DIR/a.db" 'SELECT count(*) FROM sessions') at $(sqlite3 "$DIR/a.db" 'SELECT count(*) FROM points') points; findings: $(sqlite3 "$DIR/a.db" "SELECT count(*) FROM findings WHERE status = 'open'") open"
echo "first (no fold): read ${first%% *} s; total/KiB ${first#* }"
echo "incremental: read ${incr%% *} s; total/KiB ${incr#* } ($incr_line)"
echo "full: read ${full%% *} s; total/KiB ${full#* } ($full_line)"
echo "identical findings, identities and NAT map: $ident"
[ "$ident" = yes ]
