#!/bin/sh
# bench/report.sh: `report` and `history` on a database of N sessions
# (default 1,000,000) from 10,000 egress addresses, generated straight into
# the schema (reading 17 million packets would measure `read` instead).
set -eu
N=${1:-1000000}
BIN=${EA_BIN:-build/egressaudit}
DIR=${BENCH_DIR:-/var/tmp/egressaudit-bench}/report-$N
mkdir -p "$DIR"
DB="$DIR/r.db"
if [ ! -s "$DB" ]; then
  rm -f "$DB"*
  python3 tests/gen/capgen.py "$DIR/gen" >/dev/null
  "$BIN" read -q --db "$DB" "$DIR/gen/sll.pcap"   # creates the schema and a point
  python3 - "$DB" "$N" <<'PY'
import random, sqlite3, sys
db, n = sys.argv[1], int(sys.argv[2])
c = sqlite3.connect(db)
rnd = random.Random(1)
t0 = 1795687200 * 1000000
cols = ("point_id, first_seen, last_seen, ipver, src_ip, src_port, dst_ip, dst_port, vlan, state,"
        " end_reason, client_by, banner, banner_host, helo, ehlo_reply, echoed_ip, echoed_from,"
        " mail_from_domain, starttls_offered, starttls_requested, starttls, last_code, last_reply,"
        " pkts_c2s, pkts_s2c, bytes_c2s, bytes_s2c, n_overlong, n_bare_lf, n_bare_cr, n_gaps,"
        " n_pipelined, n_retrans, n_ooo, n_bad_reply, n_replies_dropped, n_truncated, direction")
def rows():
    for i in range(n):
        k = rnd.randrange(10000)
        src = "198.%d.%d.%d" % (18 + (k >> 16), (k >> 8) & 255, (k & 255) or 1)
        mx = rnd.randrange(500)
        t = t0 + i * 60000000 // 100  # 100 sessions a minute
        yield (1, t, t + 2000000, 4, src, 20000 + i % 40000, "203.0.113.%d" % (mx % 250 + 1), 25, None,
               "closed", "fin", "syn", "mx%d.example.net ESMTP" % mx, "mx%d.example.net" % mx,
               "mail%d.bench.example" % k, "mx%d.example.net" % mx, None, None, "example.com",
               1, 1, 1, 221, "221 2.0.0 Bye", 8, 9, 100, 300, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, "egress")
c.execute("BEGIN")
c.executemany("INSERT INTO sessions(%s) VALUES(%s)" % (cols, ",".join("?" * 39)), rows())
c.execute("INSERT INTO helos(session_id, seq, verb, name) SELECT id, 0, 'EHLO', helo FROM sessions WHERE helo IS NOT NULL AND id NOT IN (SELECT session_id FROM helos)")
c.execute("INSERT INTO replies(session_id, seq, cmd, code, enhanced, text) SELECT id, 0, 'QUIT', 221, '2.0.0', 'Bye' FROM sessions WHERE id NOT IN (SELECT session_id FROM replies)")
c.execute("COMMIT")
c.execute("ANALYZE")
c.close()
PY
fi
time_it() { /usr/bin/time -f "%e s, %M KiB" -o "$DIR/t" "$@" >/dev/null || true; tail -1 "$DIR/t"; }
echo "sessions: $(sqlite3 "$DB" 'select count(*) from sessions' 2>/dev/null || echo "$N")"
echo "analyze (no DNS server: every answer a temporary failure, 1 s timeout): $(time_it "$BIN" analyze -q --db "$DB" --resolver 127.0.0.1:9 --dns-timeout 200)"
echo "report: $(time_it "$BIN" report --db "$DB")"
echo "report --since 24h window: $(time_it "$BIN" report --db "$DB" --since 2026-11-26T12:00:00Z)"
/usr/bin/time -f "%e s, %M KiB" -o "$DIR/t" "$BIN" report --db "$DB" --format html >"$DIR/r.html" || true
echo "report --format html: $(tail -1 "$DIR/t"), $(wc -c <"$DIR/r.html") bytes"
echo "history of one HELO name: $(time_it "$BIN" history --db "$DB" mail4242.bench.example)"
echo "history of one address: $(time_it "$BIN" history --db "$DB" 198.18.16.146)"
echo "history --dst one receiver: $(time_it "$BIN" history --db "$DB" --dst 203.0.113.7)"
