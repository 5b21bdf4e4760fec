#!/bin/sh
# Live capture tests: `watch` on a veth pair inside a network namespace of
# its own (no route anywhere: nothing can leave the machine), fed by
# tcpreplay with the recorded real captures. Needs root; without it every
# test is reported as skipped, never as passed. Prints "N passed, N failed".
set -u
BIN=$(cd "$(dirname "${EA_BIN:-build/egressaudit}")" && pwd)/$(basename "${EA_BIN:-build/egressaudit}")
PY=${PYTHON:-python3}
if [ "$(id -u)" != 0 ] || ! command -v tcpreplay >/dev/null || ! command -v ip >/dev/null; then
  echo "live: skipped (needs root, ip and tcpreplay)"
  echo "live: 0 passed, 0 failed, 27 skipped"
  exit 0
fi
NS=ea-live-$$
T=$(mktemp -d /tmp/ea-live.XXXXXX)
chmod 755 "$T"
WPID=""
cleanup() {
  [ -n "$WPID" ] && kill -KILL "$WPID" 2>/dev/null
  [ -n "${NOTIFY_PID:-}" ] && kill "$NOTIFY_PID" 2>/dev/null
  for p in $(ip netns pids "$NS" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
  ip netns del "$NS" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
. tests/lib.sh

ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" link add ea0 type veth peer name ea1
ip -n "$NS" link set ea0 up
ip -n "$NS" link set ea1 up
# Every watch below reports to a notify socket the test owns (READY=1,
# STATUS= with the frames it took): what systemd would see.
notify_start "$T"

# start_watch DB [args]: watch on $IFACE (ea0) in the namespace; waits
# until it is ready (its pidfile holds its pid: every handle open).
start_watch() {
  db=$1
  shift
  : >"$NOTIFY_LOG" # STATUS= lines of this watch only
  ip netns exec "$NS" "$BIN" watch -i "${IFACE:-ea0}" --db "$db" --flush-every 1s \
    --pidfile "$T/watch.pid" "$@" 2>>"$T/watch.log" &
  WPID=$!
  wait_ready "$T/watch.pid" "$WPID" || echo "# watch $WPID not ready: $(tail -2 "$T/watch.log")"
}
stop_watch() {
  kill -TERM "$WPID" 2>/dev/null
  wait "$WPID"
  rc=$?
  WPID=""
  return $rc
}
# Exact comparisons replay at a fixed rate (a sanitizer build is slow, and
# at top speed the kernel would drop: that is what capture-drops is for);
# the stress tests use --topspeed.
replay() { ip netns exec "$NS" tcpreplay -q --pps=3000 -i ea1 "$@" >/dev/null 2>&1; }
blast() { ip netns exec "$NS" tcpreplay -q --topspeed -i ea1 "$@" >/dev/null 2>&1; }

# 1. The sessions of a real capture, live: same facts as `read` gives.
: >"$T/watch.log"
start_watch "$T/a.db"
replay tests/data/real-direct.pcap
wait_until 30 has_sessions 8 "$T/a.db"
n_live=$(nsessions "$T/a.db")
stop_watch; rc=$?
"$BIN" sessions --db "$T/a.db" --format jsonl >"$T/a.jsonl"
if [ "$rc" = 0 ] && [ "$n_live" -ge 8 ] && "$PY" - tests/data/real-direct.expected.jsonl "$T/a.jsonl" <<'PY'
import json, sys
drop = ("point", "first_seen", "last_seen")
load = lambda p: [{k: v for k, v in json.loads(l).items() if k not in drop} for l in open(p) if l.strip()]
a, b = load(sys.argv[1]), load(sys.argv[2])
key = lambda s: (s["src_ip"], s["src_port"])
if sorted(a, key=key) != sorted(b, key=key):
    for x, y in zip(sorted(a, key=key), sorted(b, key=key)):
        for k in x:
            if x[k] != y.get(k): print(k, x[k], y.get(k))
    sys.exit(1)
PY
then ok "watch: real capture replayed live, same sessions as read; $n_live visible while it runs; SIGTERM exits 0"
else ko "watch live capture: exit $rc, $n_live sessions while running; $(tail -3 "$T/watch.log")"; fi

# 1b. -i any: libpcap's "any" device, switched to LINUX_SLL2, which says
# which interface each packet crossed: each interface is a capture point of
# its own (as with -i ea0 -i ea1), so the replayed packets, seen leaving
# ea1 and entering ea0, give the same sessions once per point.
: >"$T/watch.log"
IFACE=any start_watch "$T/any.db"
replay tests/data/real-direct.pcap
want=$(($(grep -c . tests/data/real-direct.expected.jsonl) * 2))
wait_until 30 has_sessions "$want" "$T/any.db"
stop_watch; rc=$?
"$BIN" sessions --db "$T/any.db" --format jsonl >"$T/any.jsonl"
if [ "$rc" = 0 ] && grep -q "any: link type LINUX_SLL2" "$T/watch.log" && "$PY" - tests/data/real-direct.expected.jsonl "$T/any.jsonl" <<'PY'
import json, sys
keep = ("src_ip", "src_port", "dst_ip", "helo", "banner", "echoed_ip", "reject", "starttls", "state")
want = sorted(tuple(json.loads(l)[k] for k in keep) for l in open(sys.argv[1]) if l.strip())
got = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
points = sorted({s["point"].rsplit(":", 1)[1] for s in got})
assert points == ["ea0", "ea1"], points
for p in points:
    mine = sorted(tuple(s[k] for k in keep) for s in got if s["point"].endswith(":" + p))
    assert mine == want, (p, mine, want)
PY
then ok "watch -i any: LINUX_SLL2, a capture point per interface (ea0, ea1), each with the sessions read gives"
else ko "watch -i any: exit $rc; $(tail -3 "$T/watch.log")"; fi

# 2. A reader in a loop while watch writes: never SQLITE_BUSY on either side.
: >"$T/watch.log"
start_watch "$T/b.db"
( for _ in 1 2 3 4 5; do blast --loop=3 tests/data/demo.pcapng; done ) &
RP=$!
bad=0
for _ in $(seq 40); do
  "$BIN" sessions --db "$T/b.db" --format jsonl >/dev/null 2>>"$T/reader.err" || bad=$((bad + 1))
  "$BIN" report --db "$T/b.db" >/dev/null 2>>"$T/reader.err"; [ $? -ge 64 ] && bad=$((bad + 1))
done
wait "$RP"
wait_until 30 has_sessions 16 "$T/b.db"
stop_watch; rc=$?
n=$(nsessions "$T/b.db")
[ "$bad" = 0 ] && [ "$rc" = 0 ] && [ "$n" -ge 16 ] && ! grep -qi "busy\|locked" "$T/watch.log" "$T/reader.err" &&
  ok "80 reads while watch wrote $n sessions: no failure, no busy" || ko "reader loop: $bad failures, exit $rc, $n sessions; $(cat "$T/reader.err" | head -3)"

# 3. SIGKILL in the middle: the database is intact, keeps what was
# committed, and watch resumes on it.
: >"$T/watch.log"
start_watch "$T/c.db"
( for _ in 1 2 3 4 5 6; do blast --loop=5 tests/data/demo.pcapng; done ) &
RP=$!
wait_until 60 has_sessions 1 "$T/c.db"
before=$(nsessions "$T/c.db")
kill -KILL "$WPID"; wait "$WPID" 2>/dev/null; WPID=""
wait "$RP"
integ=$("$PY" -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA integrity_check').fetchone()[0])" "$T/c.db")
after=$("$BIN" sessions --db "$T/c.db" --format jsonl | wc -l)
start_watch "$T/c.db"
replay tests/data/real-direct.pcap
wait_until 30 has_sessions $((after + 8)) "$T/c.db"
stop_watch; rc=$?
resumed=$("$BIN" sessions --db "$T/c.db" --format jsonl | wc -l)
dups=$("$PY" -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) - count(DISTINCT point_id || first_seen || src_ip || src_port) FROM sessions').fetchone()[0])" "$T/c.db")
[ "$integ" = ok ] && [ "$before" -gt 0 ] && [ "$after" -ge "$before" ] && [ "$rc" = 0 ] &&
  [ "$resumed" -ge $((after + 8)) ] && [ "$dups" = 0 ] &&
  ok "SIGKILL: integrity ok, $after sessions kept (>= $before seen before the kill), resumed to $resumed, no duplicates" ||
  ko "SIGKILL: integrity $integ, before $before, after $after, resumed $resumed (exit $rc), dups $dups"

# 4. Privileges dropped after the capture is open, and the change checked.
: >"$T/watch.log"
start_watch "$T/d.db" --user nobody
uid=$(awk '/^Uid:/ {print $2 $3 $4 $5}' "/proc/$WPID/status" 2>/dev/null)
replay tests/data/real-rot.pcap
wait_until 30 frames_seen "$(pcap_frames tests/data/real-rot.pcap)"
stop_watch; rc=$?
n=$("$BIN" sessions --db "$T/d.db" --format jsonl | wc -l)
[ "$uid" = 65534655346553465534 ] && [ "$rc" = 0 ] && [ "$n" = 4 ] &&
  ok "--user nobody: runs as uid 65534 after opening the capture, still records ($n sessions)" ||
  ko "--user: uid '$uid', exit $rc, $n sessions; $(tail -2 "$T/watch.log")"

# 5. Refusals: unknown interface, database that cannot be written.
ip netns exec "$NS" "$BIN" watch -i nosuch0 --db "$T/e.db" 2>"$T/err"; rc=$?
[ "$rc" = 66 ] && grep -q "nosuch0: no such interface" "$T/err" && ok "unknown interface: exit 66, clear message" || ko "unknown interface: $rc $(cat "$T/err")"
ip netns exec "$NS" "$BIN" watch -i ea0 --db /proc/egressaudit/x.db 2>"$T/err"; rc=$?
[ "$rc" = 73 ] && ok "database that cannot be created: exit 73" || ko "unwritable database: $rc $(cat "$T/err")"

# 6. SIGUSR1 logs the counters; SIGHUP reopens the database. The
# interface's own address makes its sessions egress without --local.
ip -n "$NS" addr add 10.0.0.10/32 dev ea0
: >"$T/watch.log"
start_watch "$T/f.db"
replay tests/data/real-nat.pcap
# Signals reach the loop in the order sent (one pipe): no pause needed.
kill -USR1 "$WPID"
kill -HUP "$WPID"
replay tests/data/real-rot.pcap
wait_until 30 frames_seen $(($(pcap_frames tests/data/real-nat.pcap) + $(pcap_frames tests/data/real-rot.pcap)))
stop_watch; rc=$?
n=$("$BIN" sessions --db "$T/f.db" --format jsonl | wc -l)
grep -q "SMTP segments" "$T/watch.log" && grep -q "reopening" "$T/watch.log" && [ "$n" = 7 ] && [ "$rc" = 0 ] &&
  ok "SIGUSR1 counters, SIGHUP reopen, sessions before and after ($n)" || ko "signals: $n sessions, exit $rc; $(cat "$T/watch.log")"
e=$("$BIN" sessions --db "$T/f.db" --direction egress --format jsonl | wc -l)
u=$("$BIN" sessions --db "$T/f.db" --direction unknown --format jsonl | wc -l)
[ "$e" = 3 ] && [ "$u" = 4 ] && ok "interface address found by watch itself: its 3 sessions egress, 4 others unknown" ||
  ko "interface addresses: $e egress, $u unknown"

# 6b. An analysis waiting on DNS (a resolver that never answers) while
# SIGHUP and SIGTERM come: the reopen waits for it, SIGTERM cancels it and
# exits 0 at once, sanitizers quiet (no leak of the cancelled run).
ip netns exec "$NS" "$PY" -c "import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1', 5399)); time.sleep(60)" &
HOLE=$!
hole_bound() { ip netns exec "$NS" ss -Hlun src 127.0.0.1:5399 | grep -q .; }
wait_until 30 hole_bound
# The STATUS= lines on the test's notify socket say when an analysis runs
# (systemd's view of the daemon, not its log).
: >"$T/watch.log"
start_watch "$T/h.db" --analyze-every 1s --resolver 127.0.0.1:5399 --expect-egress 203.0.113.0/24 --dns-timeout 500
replay tests/data/real-direct.pcap
wait_until 30 has_sessions 8 "$T/h.db"
analysing() { tail -1 "$T/notify.log" | grep -q "; analysing"; }
wait_until 60 analysing
kill -HUP "$WPID"
t0=$(date +%s%N)
stop_watch; rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
kill "$HOLE" 2>/dev/null
grep -q "READY=1" "$T/notify.log" && grep -q "STOPPING=1" "$T/notify.log" &&
  ok "notify socket: READY=1 once ready, STATUS= while analysing, STOPPING=1 at SIGTERM" ||
  ko "notify socket: $(cat "$T/notify.log")"
grep -q "reopening the database after the analysis" "$T/watch.log" &&
  [ "$rc" = 0 ] && [ "$ms" -lt 3000 ] && ! grep -q "AddressSanitizer\|LeakSanitizer" "$T/watch.log" &&
  ok "analysis waiting on DNS: SIGHUP reopen deferred, SIGTERM cancels it, exit 0 in $ms ms" ||
  ko "cancel: exit $rc after $ms ms; $(tail -4 "$T/watch.log")"

# 6c. Analyses go on across the counters' writes: watch writes its
# capture statistics on its own connection while each analysis reads on a
# connection of its own; a close() of a descriptor of the database used to
# drop the readers' POSIX locks ("disk I/O error" from the first analysis
# after the first statistics write, 60 s in). --stats-every 1s brings that
# moment forward; waits on rows in the database, not on the log.
ip netns exec "$NS" "$PY" -c "import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1', 5399)); time.sleep(90)" &
HOLE=$!
wait_until 30 hole_bound
: >"$T/watch.log"
start_watch "$T/s.db" --stats-every 1s --analyze-every 1s --resolver 127.0.0.1:5399 --dns-timeout 100
replay tests/data/real-direct.pcap
wait_until 30 has_sessions 8 "$T/s.db"
# Sessions keep coming meanwhile (the same capture again: the rows are
# duplicates, each batch still a write transaction beside the reads).
( for _ in $(seq 60); do replay tests/data/real-direct.pcap; sleep 0.2; done ) &
RP=$!
after_stats() { # analyses that finished after the third statistics write
  "$PY" - "$T/s.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=5)
t = [r[0] for r in c.execute("SELECT DISTINCT at FROM capture_stats ORDER BY at")]
n = c.execute("SELECT count(*) FROM analyses WHERE at > ?", (t[2] if len(t) > 2 else 1 << 62,)).fetchone()[0]
sys.exit(0 if n >= 3 else 1)
PY
}
wait_until 90 after_stats; waited=$?
kill "$RP" 2>/dev/null; wait "$RP" 2>/dev/null
stop_watch; rc=$?
kill "$HOLE" 2>/dev/null
fails=$(grep -c "\(warn\|error\) watch: analysis: " "$T/watch.log")
# Each finding an analysis opens is one log line with the journald
# priority first (<5> for unknown: the resolver never answers).
grep -q '^<5>[0-9T:-]* event watch: finding opened: #[0-9]* unknown ptr-temperror 203.0.113.10 of 203.0.113.10: ' "$T/watch.log" &&
  ok "findings opened are log events with a journald priority (<5> unknown)" ||
  ko "finding events: $(grep 'finding' "$T/watch.log" | head -2)"
# The fold is kept beside the writes: later analyses read only what came.
kept=$(grep -c "reading [0-9]* sessions after the kept sums" "$T/watch.log")
[ "$waited" = 0 ] && [ "$rc" = 0 ] && [ "$fails" = 0 ] && [ "$kept" -ge 2 ] &&
  ok "analyses every second across statistics writes every second: 3 after the third write, none failed, $kept read only what came after the kept sums, exit 0" ||
  ko "analyses across statistics writes: waited $waited, exit $rc, $fails failed, $kept incremental: $(grep "\(warn\|error\) watch: analysis: \|analysis: .*reading" "$T/watch.log" | tail -2)"

# 7. Disk full under a running watch: a clear error, a non-zero exit,
# nothing stored before is lost or corrupted.
mkdir -p "$T/small"
if mount -t tmpfs -o size=600k tmpfs "$T/small" 2>/dev/null; then
  : >"$T/watch.log"
  start_watch "$T/small/g.db"
  replay tests/data/real-direct.pcap
  wait_until 30 has_sessions 8 "$T/small/g.db"
  kept=$(nsessions "$T/small/g.db")
  ( for _ in $(seq 30); do blast --loop=20 tests/data/demo.pcapng; kill -0 "$WPID" 2>/dev/null || break; done ) &
  RP=$!
  i=0
  while kill -0 "$WPID" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
  kill "$RP" 2>/dev/null; wait "$RP" 2>/dev/null
  wait "$WPID"; rc=$?; WPID=""
  integ=$("$PY" -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA integrity_check').fetchone()[0])" "$T/small/g.db" 2>&1)
  n=$("$BIN" sessions --db "$T/small/g.db" --format jsonl 2>/dev/null | wc -l)
  if [ "$rc" -ne 0 ] && grep -q "cannot write the database" "$T/watch.log" && [ "$integ" = ok ] && [ "$n" -ge "$kept" ]; then
    ok "disk full: watch exits $rc with a clear error; integrity ok; $n sessions kept (>= $kept before)"
  else
    ko "disk full: exit $rc, integrity '$integ', $n sessions (kept $kept); $(tail -3 "$T/watch.log")"
  fi
  umount "$T/small"
else
  ko "cannot mount a small tmpfs for the disk-full test"
fi

# 8. What the service account can plant where root writes (issue: a path
# from the egressaudit user to root). Its state directory is its own; root
# runs watch --user with the database there.
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
mkdir -p "$T/state" "$T/etc"
chown nobody "$T/state"
chmod 750 "$T/state"
as_nobody ln -s "$T/etc/cron.x" "$T/state/egress.db"
timeout 20 ip netns exec "$NS" "$BIN" watch -i ea0 --db "$T/state/egress.db" --user nobody 2>"$T/err"; rc=$?
[ "$rc" = 77 ] && [ ! -e "$T/etc/cron.x" ] && grep -q "symbolic link" "$T/err" &&
  ok "dangling link planted at the database: refused (77), nothing created at its target, nothing handed over" ||
  ko "planted database link: exit $rc, target $(ls -l "$T/etc" | tail -n +2); $(cat "$T/err")"
rm -f "$T/state/egress.db"
"$PY" -c "import sqlite3,sys; sqlite3.connect(sys.argv[1]).execute('create table secret(x)')" "$T/etc/root.db"
as_nobody ln -s "$T/etc/root.db" "$T/state/egress.db"
timeout 20 ip netns exec "$NS" "$BIN" watch -i ea0 --db "$T/state/egress.db" --user nobody 2>"$T/err"; rc=$?
owner=$(stat -c %U "$T/etc/root.db")
tables=$("$PY" -c "import sqlite3,sys; print(len(sqlite3.connect(sys.argv[1]).execute('select name from sqlite_master').fetchall()))" "$T/etc/root.db")
[ "$rc" = 77 ] && [ "$owner" = root ] && [ "$tables" = 1 ] &&
  ok "link to a root-owned SQLite file: refused (77); the file keeps its owner and its one table" ||
  ko "link to root's database: exit $rc, owner $owner, $tables tables; $(cat "$T/err")"
rm -f "$T/state/egress.db"
as_nobody ln -s "$T/etc/cron.y" "$T/state/egress.db-wal"
timeout 20 ip netns exec "$NS" "$BIN" watch -i ea0 --db "$T/state/egress.db" --user nobody 2>"$T/err"; rc=$?
[ "$rc" = 77 ] && [ ! -e "$T/etc/cron.y" ] && [ ! -e "$T/state/egress.db" ] &&
  ok "link planted at the -wal: refused (77) before anything is created" ||
  ko "planted -wal link: exit $rc; $(cat "$T/err")"
rm -f "$T/state/egress.db-wal"
# Hard link to a root file (possible where fs.protected_hardlinks is off).
: >"$T/etc/shadow.x"
ln "$T/etc/shadow.x" "$T/state/egress.db"
timeout 20 ip netns exec "$NS" "$BIN" watch -i ea0 --db "$T/state/egress.db" --user nobody 2>"$T/err"; rc=$?
[ "$rc" = 77 ] && [ "$(stat -c %U "$T/etc/shadow.x")" = root ] && [ ! -s "$T/etc/shadow.x" ] &&
  ok "hard link to a root file at the database: refused (77), untouched" ||
  ko "hard link: exit $rc, owner $(stat -c %U "$T/etc/shadow.x"); $(cat "$T/err")"
rm -f "$T/state/egress.db"
# The honest case: a new database in the account's directory is created
# 0640 and handed over (with its -wal and -shm) by descriptor.
: >"$T/watch.log"
start_watch "$T/state/egress.db" --user nobody
modes=$(stat -c '%U:%a' "$T/state/egress.db" "$T/state/egress.db-wal" "$T/state/egress.db-shm" 2>&1 | tr '\n' ' ')
replay tests/data/real-direct.pcap
wait_until 30 has_sessions 8 "$T/state/egress.db"
stop_watch; rc=$?
[ "$rc" = 0 ] && [ "$modes" = "nobody:640 nobody:640 nobody:640 " ] &&
  ok "--user nobody, new database in its directory: $modes, records, exit 0" ||
  ko "hand-over: exit $rc, modes '$modes'; $(tail -2 "$T/watch.log")"

# 9. The pidfile: never through a planted link; one instance at a time,
# and the second never removes the first one's file.
as_nobody ln -s "$T/etc/cron.z" "$T/state/w.pid"
timeout 20 ip netns exec "$NS" "$BIN" watch -i ea0 --db "$T/p.db" --pidfile "$T/state/w.pid" 2>"$T/err"; rc=$?
[ "$rc" = 77 ] && [ ! -e "$T/etc/cron.z" ] && ok "link planted at the pidfile: refused (77), nothing written at its target" ||
  ko "pidfile link: exit $rc; $(cat "$T/err")"
: >"$T/watch.log"
start_watch "$T/p.db"
first=$(cat "$T/watch.pid")
timeout 20 ip netns exec "$NS" "$BIN" watch -i ea0 --db "$T/p2.db" --pidfile "$T/watch.pid" 2>"$T/err"; rc2=$?
still=$(cat "$T/watch.pid")
stop_watch; rc1=$?
[ "$rc2" = 75 ] && [ "$still" = "$first" ] && grep -q "held by another running egressaudit (pid $first)" "$T/err" &&
  [ ! -e "$T/p2.db" ] && [ "$rc1" = 0 ] && [ ! -e "$T/watch.pid" ] &&
  ok "second watch on the same pidfile: exit 75 naming pid $first, touches nothing; the first removes its file at exit" ||
  ko "pidfile lock: second exit $rc2, pid $first -> $still, first exit $rc1; $(cat "$T/err")"

# open_findings DB RULE: open findings of RULE, as the database holds them.
open_findings() {
  "$PY" -c "import sqlite3,sys; print(sqlite3.connect('file:%s?mode=ro' % sys.argv[1], uri=True, timeout=5).execute(\"SELECT count(*) FROM findings WHERE status = 'open' AND rule = ?\", (sys.argv[2],)).fetchone()[0])" "$1" "$2" 2>/dev/null || echo 0
}

# 10. Prometheus: a real one (Debian's) in the namespace scrapes watch's
# --metrics endpoint; what its query API answers is what the database
# holds. The analyses use a resolver that never answers, so their
# findings are ptr-temperror (unknown) and the DNS answers TIMEOUT.
if command -v prometheus >/dev/null; then
  ip netns exec "$NS" "$PY" -c "import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1', 5399)); time.sleep(120)" &
  HOLE=$!
  wait_until 30 hole_bound
  : >"$T/watch.log"
  start_watch "$T/m.db" --metrics 127.0.0.1:9187 --metrics-file "$T/m.prom" \
    --analyze-every 1s --resolver 127.0.0.1:5399 --dns-timeout 100
  replay tests/data/real-direct.pcap
  wait_until 30 has_sessions 8 "$T/m.db"
  analysed() { [ "$(open_findings "$T/m.db" ptr-temperror)" -gt 0 ]; }
  wait_until 60 analysed
  mkdir -p "$T/prom"
  cat >"$T/prom/prometheus.yml" <<'YML'
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: egressaudit
    static_configs:
      - targets: ['127.0.0.1:9187']
YML
  ip netns exec "$NS" prometheus --config.file="$T/prom/prometheus.yml" \
    --storage.tsdb.path="$T/prom/data" --web.listen-address=127.0.0.1:9090 \
    >"$T/prom/log" 2>&1 &
  PROM=$!
  # promq QUERY: the query API's first value (or nothing), inside the
  # namespace.
  promq() {
    ip netns exec "$NS" "$PY" - "$1" <<'PY'
import json, sys, urllib.parse, urllib.request
u = "http://127.0.0.1:9090/api/v1/query?query=" + urllib.parse.quote(sys.argv[1])
try:
    r = json.load(urllib.request.urlopen(u, timeout=5))["data"]["result"]
    print(r[0]["value"][1] if r else "")
except Exception:
    print("")
PY
  }
  prom_ready() { ip netns exec "$NS" "$PY" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9090/-/ready', timeout=2)" 2>/dev/null; }
  db_sessions=$(nsessions "$T/m.db")
  prom_sessions() { [ "$(promq 'sum(egressaudit_sessions_total)')" = "$db_sessions" ]; }
  wait_until 90 prom_ready && wait_until 60 prom_sessions; got=$?
  up=$(promq 'up{job="egressaudit"}')
  [ "$got" = 0 ] && [ "$up" = 1 ] &&
    ok "a real Prometheus scrapes --metrics: up 1, sum(egressaudit_sessions_total) = $db_sessions, the sessions in the database" ||
    ko "Prometheus: ready/query $got, up '$up', sessions '$(promq 'sum(egressaudit_sessions_total)')' vs $db_sessions; $(tail -3 "$T/prom/log")"
  db_temp=$(open_findings "$T/m.db" ptr-temperror)
  prom_findings() { [ "$(promq 'egressaudit_findings_open{rule="ptr-temperror",severity="unknown"}')" = "$db_temp" ]; }
  prom_dns() { [ "$(promq 'egressaudit_dns_answers_total{rcode="TIMEOUT"} > 0')" != "" ]; }
  wait_until 30 prom_findings; gf=$?
  wait_until 30 prom_dns; gd=$?
  [ "$gf" = 0 ] && [ "$gd" = 0 ] && [ "$db_temp" -gt 0 ] &&
    ok "Prometheus's query API: $db_temp open ptr-temperror (unknown) as in the database; TIMEOUT answers counted" ||
    ko "Prometheus findings: '$(promq 'egressaudit_findings_open')' vs $db_temp ptr-temperror ($gf), dns $gd"
  kill "$PROM" 2>/dev/null; wait "$PROM" 2>/dev/null
  # Whoever reaches the port: a head past 8 KiB is refused (431), fifty
  # connections that say nothing do not lock out a scrape, and the
  # textfile is whole (HELP, TYPE and samples only).
  hostile=$(ip netns exec "$NS" "$PY" - "$T/m.prom" <<'PY'
import re, socket, sys
def ask(data):
    s = socket.create_connection(("127.0.0.1", 9187), timeout=5)
    s.sendall(data)
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
    return out.split(b"\r\n")[0].decode()
big = ask(b"GET /metrics HTTP/1.1\r\n" + b"X-Pad: aaaaaaaaaaaaaaaa\r\n" * 1000)
idle = [socket.create_connection(("127.0.0.1", 9187)) for _ in range(50)]
after = ask(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
lines = open(sys.argv[1]).read().splitlines()
sample = re.compile(r'^[a-z_]+(\{([a-z_]+="[^"\\\n]*",?)*\})? -?[0-9.]+$')
bad = [l for l in lines if not l.startswith("# ") and not sample.match(l)]
print(big, "|", after, "|", len(lines), "lines", len(bad), "bad")
PY
)
  case $hostile in
  "HTTP/1.1 431 "*"| HTTP/1.1 200 OK | "*" lines 0 bad") ok "hostile scrapers: 431 for an 8 KiB head, a scrape past 50 idle connections, a whole textfile ($hostile)" ;;
  *) ko "hostile scrapers: $hostile" ;;
  esac
  stop_watch; rc=$?
  kill "$HOLE" 2>/dev/null
  [ "$rc" = 0 ] && ! grep -q "AddressSanitizer\|LeakSanitizer" "$T/watch.log" &&
    ok "watch with --metrics stops cleanly (exit 0, sanitizers quiet)" ||
    ko "watch with --metrics: exit $rc; $(tail -3 "$T/watch.log")"
else
  ko "prometheus is not installed (scripts/deps.sh installs it)"
fi

# 11. The unit's system call filter (SystemCallFilter= of
# egressaudit.service, applied by tests/seccomp_run.py with libseccomp in
# kill mode) and its one capability: watch as an unprivileged user with
# CAP_NET_RAW alone (no CAP_NET_ADMIN), an analysis, a SIGHUP and a
# SIGTERM, then read and analyze once each under the same lists: they
# must behave as without them. The production binary (sanitizers make
# calls of their own).
PLAIN=$(dirname "$BIN")/egressaudit
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import seccomp" 2>/dev/null && command -v setpriv >/dev/null && [ -x "$PLAIN" ]; then
  mkdir -p "$T/sc" && chown nobody "$T/sc"
  ip netns exec "$NS" "$PY" -c "import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1', 5399)); time.sleep(120)" &
  HOLE=$!
  wait_until 30 hole_bound
  confined() { # UNIT CMD...: as nobody, CAP_NET_RAW only, under UNIT's filter
    _unit=$1
    shift
    setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all,+net_raw \
      --ambient-caps=-all,+net_raw --bounding-set=-all,+net_raw -- \
      /usr/bin/python3 tests/seccomp_run.py "$_unit" -- "$@"
  }
  ip netns exec "$NS" env EGRESSAUDIT_CONF= setpriv --reuid=nobody --regid=nogroup \
    --clear-groups --inh-caps=-all,+net_raw --ambient-caps=-all,+net_raw \
    --bounding-set=-all,+net_raw -- /usr/bin/python3 tests/seccomp_run.py \
    packaging/egressaudit.service -- "$PLAIN" watch -i ea0 --db "$T/sc/w.db" \
    --flush-every 1s --pidfile "$T/sc/w.pid" --analyze-every 1s \
    --resolver 127.0.0.1:5399 --dns-timeout 100 2>>"$T/sc/watch.log" &
  WPID=$!
  wait_ready "$T/sc/w.pid" "$WPID"; up=$?
  replay tests/data/real-direct.pcap
  wait_until 30 has_sessions 8 "$T/sc/w.db"
  sc_analysed() { [ "$(open_findings "$T/sc/w.db" ptr-temperror 2>/dev/null || echo 0)" -gt 0 ]; }
  wait_until 60 sc_analysed; an=$?
  kill -HUP "$WPID"
  wait_until 30 grep -q "SIGHUP: reopening" "$T/sc/watch.log"
  n_sc=$(nsessions "$T/sc/w.db")
  stop_watch; rc=$?
  [ "$up" = 0 ] && [ "$an" = 0 ] && [ "$rc" = 0 ] && [ "$n_sc" -ge 8 ] &&
    ! grep -q " error watch: \|Bad system call" "$T/sc/watch.log" &&
    ok "watch under the unit's syscall filter (kill mode), as nobody with CAP_NET_RAW only: ready, $n_sc sessions, an analysis, SIGHUP, exit 0 on SIGTERM" ||
    ko "confined watch: ready $up, analysed $an, exit $rc, $n_sc sessions; $(grep " error watch: \|Bad system call" "$T/sc/watch.log"; tail -3 "$T/sc/watch.log")"
  kill "$HOLE" 2>/dev/null
  confined packaging/egressaudit.service env EGRESSAUDIT_CONF= "$PLAIN" read -q --db "$T/sc/r.db" tests/data/real-direct.pcap; r1=$?
  confined packaging/egressaudit-report.service env EGRESSAUDIT_CONF= "$PLAIN" analyze -q --db "$T/sc/r.db" --resolver 127.0.0.1:9 --dns-timeout 100; r2=$?
  EGRESSAUDIT_CONF= "$PLAIN" read -q --db "$T/sc/free.db" tests/data/real-direct.pcap
  EGRESSAUDIT_CONF= "$PLAIN" analyze -q --db "$T/sc/free.db" --resolver 127.0.0.1:9 --dns-timeout 100
  same=$("$PY" - "$T/sc/r.db" "$T/sc/free.db" <<'PY'
import sqlite3, sys
q = "SELECT rule, severity, subject FROM findings WHERE status = 'open' ORDER BY 1, 3"
a, b = (sqlite3.connect(p).execute(q).fetchall() for p in sys.argv[1:3])
print("same" if a == b and a else "differ: %s / %s" % (a, b))
PY
)
  [ "$r1" = 0 ] && [ "$r2" = 0 ] && [ "$same" = same ] &&
    ok "read and analyze under the units' syscall filters: exit 0, the same findings as unconfined" ||
    ko "confined read/analyze: exit $r1/$r2, $same"
else
  ko "the syscall-filter test needs /usr/bin/python3 with python3-seccomp and setpriv (scripts/deps.sh)"
fi

finish live
