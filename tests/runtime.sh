#!/bin/sh
# tests/runtime.sh tsan|memcheck: the commands under a runtime checker.
#   tsan      (`make tsan-check`): EA_BIN built with ThreadSanitizer; the
#             threaded parts (the analysis reads on libuv's thread pool
#             while the loop resolves, judges and can cancel them).
#   memcheck  (`make memcheck`): EA_BIN under valgrind; unlike ASan it also
#             sees what libuv, c-ares, SQLite and libpcap (not instrumented)
#             do with our memory, e.g. handles closed inside freed structs.
# read, analyze (two capture points, cold and warm cache), check, report,
# history and sessions against NSD on a loopback port; as root also
# `watch --analyze-every` in a namespace of its own fed by tcpreplay and
# stopped by SIGTERM, possibly mid-analysis. Any report of the checker
# fails. Prints "MODE: N passed, N failed".
set -u
MODE=${1:?usage: tests/runtime.sh tsan|memcheck}
case "$MODE" in
tsan)
  DEF=build/egressaudit-tsan
  export TSAN_OPTIONS="halt_on_error=1 exitcode=99 ${TSAN_OPTIONS:-}"
  RUN=""
  SAID="ThreadSanitizer"
  ;;
memcheck)
  DEF=build/egressaudit
  command -v valgrind >/dev/null || { echo "memcheck: valgrind missing (run scripts/deps.sh)"; exit 1; }
  RUN="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite"
  SAID="^==[0-9]*=="
  ;;
*) echo "tests/runtime.sh: mode '$MODE' is not tsan or memcheck"; exit 64 ;;
esac
BIN=$(cd "$(dirname "${EA_BIN:-$DEF}")" && pwd)/$(basename "${EA_BIN:-$DEF}")
PY=${PYTHON:-python3}
T=$(mktemp -d "/tmp/ea-$MODE.XXXXXX")
chmod 755 "$T"
PORT=$("$PY" -c "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
NS=ea-rt-$$
cleanup() {
  tests/dns/nsd.sh stop "$T/nsd" "$PORT"
  if ip netns list 2>/dev/null | grep -q "^$NS"; then
    for p in $(ip netns pids "$NS"); do kill -KILL "$p" 2>/dev/null; done
    ip netns del "$NS"
  fi
  [ -n "${NOTIFY_PID:-}" ] && kill "$NOTIFY_PID" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
. tests/lib.sh

tests/dns/nsd.sh start "$T/nsd" "$PORT" || { echo "$MODE: 0 passed, 1 failed"; exit 1; }
R="--resolver 127.0.0.1:$PORT --dns-timeout 500"
# run NAME CMD...: one command under the checker; exit 99 means it spoke.
run() {
  name=$1
  shift
  # shellcheck disable=SC2086
  $RUN "$BIN" "$@" >/dev/null 2>"$T/log"
  rc=$?
  if [ "$rc" != 99 ] && ! grep -q "$SAID" "$T/log"; then
    ok "$name (exit $rc)"
  else
    ko "$name: exit $rc; $(grep -m6 -A3 "$SAID" "$T/log")"
  fi
}
run "read, two points" read -q --db "$T/a.db" --point gw tests/data/real-nat.pcap tests/data/real-direct.pcap
run "read, another point" read -q --db "$T/a.db" --point sender tests/data/real-rot.pcap
run "read, damaged file" read -q --db "$T/b.db" tests/data/README.md
run "analyze, cold cache" analyze -q --db "$T/a.db" $R
run "analyze, warm cache" analyze -q --db "$T/a.db" $R
run "check" check $R --helo mail01.example.com 203.0.113.10 203.0.113.11 2001:db8:10::26
# A hostile reverse zone (PTR to the root name; 40 addresses for one name).
run "check, hostile zone" check $R 203.0.113.41 203.0.113.42
run "preflight, a pool" preflight $R --helo mail01.example.com 203.0.113.10/31 203.0.113.41
# libspf2 through our DNS layer: macros, an include chain, a 3-string record.
run "preflight DKIM and DMARC (OpenSSL, libopendmarc)" preflight $R --domain pass.spf.example \
  --dkim-selector sel2048 --dkim-selector sel512 --dkim-selector ed --dkim-selector bad 203.0.113.10
for d in macro-i macro-h chain long temp; do
  run "preflight --domain $d.spf.example (libspf2)" preflight $R --helo mail01.example.com \
    --domain "$d.spf.example" 203.0.113.10
done
run "report" report --db "$T/a.db"
run "report --format json" report --db "$T/a.db" --format json
run "history" history --db "$T/a.db" mail01.example.com
run "sessions --format jsonl" sessions --db "$T/a.db" --format jsonl
run "read --maillog (Postfix, Exim, receiving Postfix)" read -q --maillog --log-tz UTC --db "$T/a.db" \
  tests/data/maillog-postfix-sender.log tests/data/maillog-exim-sender.log tests/data/maillog-postfix-mx.log
run "report --format html" report --db "$T/a.db" --format html
run "history --format html" history --db "$T/a.db" --format html 203.0.113.10
run "history --to" history --db "$T/a.db" --to example.net

# A fleet's events: another host's sessions read back, a bad line among them.
"$BIN" sessions --db "$T/a.db" --format jsonl 2>/dev/null | sed 's/^{/{"type":"session","host":"mail01",/' >"$T/ev.jsonl"
echo '{"type":"stats","host":"mail01","point":"eth0","at":"2026-12-02T19:00:00Z","name":"recv","value":1}' >>"$T/ev.jsonl"
echo 'not json' >>"$T/ev.jsonl"
run "read --jsonl (sessions, stats, a bad line)" read -q --jsonl --db "$T/f.db" "$T/ev.jsonl"
run "report, hosts" report --db "$T/f.db" --format json --max-stale 1h
run "report --host" report --db "$T/f.db" --host mail01

# watch following another host's events and writing its own.
head -3 "$T/ev.jsonl" >"$T/in.jsonl"
# shellcheck disable=SC2086
$RUN "$BIN" watch --jsonl "$T/in.jsonl" --events "$T/out.jsonl" --host central --db "$T/j.db" \
  --flush-every 1s --pidfile "$T/j.pid" 2>"$T/j.err" &
J=$!
wait_ready "$T/j.pid" "$J" 180
written() { [ "$(grep -c '"type":"session"' "$T/out.jsonl" 2>/dev/null)" = 3 ]; }
wait_until 180 written
kill -TERM "$J"
wait "$J"
rc=$?
if [ "$rc" = 0 ] && written && ! grep -q "$SAID" "$T/j.err"; then
  ok "watch --jsonl --events: 3 sessions followed and written, SIGTERM, exit 0"
else
  ko "watch --jsonl --events: exit $rc; $(grep -m6 -A3 "$SAID" "$T/j.err")"
fi

# watch following a log alone (no capture): a line appended and stored.
: >"$T/m.log"
# shellcheck disable=SC2086
$RUN "$BIN" watch --maillog "$T/m.log" --log-tz UTC --db "$T/m.db" --flush-every 1s \
  --pidfile "$T/m.pid" 2>"$T/m.err" &
M=$!
wait_ready "$T/m.pid" "$M" 180
grep "status=bounced" tests/data/maillog-postfix-sender.log | head -1 >>"$T/m.log"
stored() { [ "$("$PY" -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1], timeout=5).execute('SELECT count(*) FROM deliveries').fetchone()[0])" "$T/m.db" 2>/dev/null)" = 1 ]; }
wait_until 180 stored
kill -TERM "$M"
wait "$M"
rc=$?
if [ "$rc" = 0 ] && stored && ! grep -q "$SAID" "$T/m.err"; then
  ok "watch --maillog: a line appended, stored, SIGTERM, exit 0"
else
  ko "watch --maillog: exit $rc; $(grep -m6 -A3 "$SAID" "$T/m.err")"
fi

if [ "$(id -u)" != 0 ] || ! command -v tcpreplay >/dev/null; then
  echo "$MODE: watch skipped (needs root and tcpreplay)"
  echo "$MODE: $pass passed, $fail failed, 1 skipped"
  [ "$fail" = 0 ]
  exit
fi
ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" link add ea0 type veth peer name ea1
ip -n "$NS" link set ea0 up
ip -n "$NS" link set ea1 up
ip netns exec "$NS" tests/dns/nsd.sh start "$T/nsd-ns" 5300
notify_start "$T"
# shellcheck disable=SC2086
ip netns exec "$NS" $RUN "$BIN" watch -i ea0 --db "$T/w.db" --flush-every 1s --analyze-every 1s \
  --resolver 127.0.0.1:5300 --pidfile "$T/w.pid" 2>"$T/w.log" &
W=$!
wait_ready "$T/w.pid" "$W" 180
ip netns exec "$NS" tcpreplay -q --pps=1000 -i ea1 tests/data/real-direct.pcap tests/data/real-nat.pcap >/dev/null 2>&1
# Stop it mid-analysis, once one analysis has seen the sessions.
analysed() { grep -q "last analysis: [1-9]" "$NOTIFY_LOG"; }
wait_until 180 analysed
kill -TERM "$W"
wait "$W"
rc=$?
n=$(grep -c "info watch: analysis: " "$T/w.log")
if [ "$rc" = 0 ] && [ "$n" -ge 1 ] && ! grep -q "$SAID" "$T/w.log"; then
  ok "watch --analyze-every: $n analyses on the loop, SIGTERM, exit 0"
else
  ko "watch: exit $rc, $n analyses; $(grep -m6 -A3 "$SAID" "$T/w.log")"
fi
finish "$MODE"
