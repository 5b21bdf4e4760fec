#!/bin/sh
# bench/watch.sh: live capture rate. tcpreplay pushes the 200k-packet bench
# capture onto a veth pair in a namespace of its own at fixed rates, while
# `watch` and tcpdump capture the same interface in the same run; reports
# sessions found, kernel drops of each, and watch's peak RSS after a SYN
# flood of 1,000,000 distinct flows; then the same replay while watch
# analyses a 1,000,000-session history (bench/report.sh's database) on its
# loop, its store reads on the thread pool. Root only. Not a test.
set -eu
. tests/lib.sh # wait_ready, wait_until, notify_start, frames_seen, pcap_started
PY=python3
BIN=$(cd "$(dirname "${EA_BIN:-build/egressaudit}")" && pwd)/$(basename "${EA_BIN:-build/egressaudit}")
DIR=${BENCH_DIR:-/var/tmp/egressaudit-bench}
RATES=${RATES:-"20000 50000 100000 200000"}
CAP=$DIR/bench-200000.pcap
mkdir -p "$DIR"
[ -s "$CAP" ] || python3 tests/gen/benchgen.py "$CAP" 200000
[ -s "$DIR/synflood-1000000.pcap" ] || python3 tests/gen/benchgen.py --synflood "$DIR/synflood-1000000.pcap" 1000000
want=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['sessions'])" "$CAP.truth.json")
NS=ea-bench-$$
ip netns add "$NS"
trap 'for p in $(ip netns pids "$NS" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done; ip netns del "$NS"; kill "$NOTIFY_PID" 2>/dev/null' EXIT
ip -n "$NS" link set lo up
ip -n "$NS" link add ea0 type veth peer name ea1
ip -n "$NS" link set ea0 up
ip -n "$NS" link set ea1 up
# watch reports STATUS= (frames taken, analyses) to a notify socket of
# ours; each run below waits on readiness and on those counters, not on
# pauses.
notify_start "$DIR"
nframes=$(pcap_frames "$CAP")
start_watch() { # start_watch [watch options]: sets W, waits until ready
  : >"$NOTIFY_LOG"
  rm -f "$DIR/w.pid"
  ip netns exec "$NS" "$BIN" watch -i ea0 --db "$DIR/w.db" --flush-every 1s \
    --pidfile "$DIR/w.pid" "$@" 2>"$DIR/w.log" &
  W=$!
  wait_ready "$DIR/w.pid" "$W"
}
echo "| rate (packets/s) | watch sessions found | watch kernel drops | tcpdump kernel drops |"
echo "|---|---|---|---|"
for rate in $RATES; do
  rm -f "$DIR/w.db"*
  start_watch
  rm -f "$DIR/t.pcap"
  ip netns exec "$NS" tcpdump -n -i ea0 --immediate-mode -U -w "$DIR/t.pcap" 'tcp port 25 or (vlan and tcp port 25)' 2>"$DIR/t.log" &
  D=$!
  wait_until 30 pcap_started "$DIR/t.pcap"
  ip netns exec "$NS" tcpreplay -q --pps="$rate" -i ea1 "$CAP" >/dev/null 2>&1
  # What the kernel did not drop reaches watch: wait for it (bounded).
  wait_until 10 frames_seen "$nframes" || true
  kill -TERM "$W" "$D"; wait "$W" "$D" 2>/dev/null || true
  rm -f "$DIR/t.pcap"
  found=$("$BIN" sessions --db "$DIR/w.db" --state closed --format jsonl | wc -l)
  wdrop=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT coalesce(sum(value),0) FROM capture_stats WHERE name IN ('ps_drop','ps_ifdrop')\").fetchone()[0])" "$DIR/w.db")
  tdrop=$(sed -n 's/^\([0-9]*\) packets dropped by kernel.*/\1/p' "$DIR/t.log")
  echo "| $rate | $found/$want | $wdrop | ${tdrop:-?} |"
done
# SYN flood: peak RSS of watch after a million distinct flows.
rm -f "$DIR/w.db"*
start_watch
ip netns exec "$NS" tcpreplay -q --topspeed -i ea1 "$DIR/synflood-1000000.pcap" >/dev/null 2>&1
wait_until 10 frames_seen 1000000 || true # most are dropped at top speed
hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$W/status")
kill -TERM "$W"; wait "$W" || true
n=$("$BIN" sessions --db "$DIR/w.db" --state syn-only --format jsonl | wc -l)
echo
echo "watch after a SYN flood of 1,000,000 distinct flows (topspeed): peak RSS $((hwm / 1024)) MiB, $n syn-only sessions stored (the rest lost to kernel drops at top speed)"

# Capture while analysing a large history: the analysis's reads run beside
# the capture; DNS from an NSD in the namespace (REFUSED for the bench
# names: fast, so the reads dominate).
BIG=$DIR/report-1000000/r.db
[ -s "$BIG" ] || BENCH_DIR=$DIR bench/report.sh 1000000 >/dev/null 2>&1 || true
if [ -s "$BIG" ]; then
  rm -f "$DIR/w.db"*
  cp "$BIG" "$DIR/w.db"
  ip netns exec "$NS" tests/dns/nsd.sh start "$DIR/nsd-w" 5300 >/dev/null
  maxid=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT max(id) FROM sessions').fetchone()[0])" "$DIR/w.db")
  start_watch --analyze-every 1s --resolver 127.0.0.1:5300
  ip netns exec "$NS" tcpreplay -q --pps=50000 -i ea1 "$CAP" >/dev/null 2>&1
  analysed() { grep -q "last analysis:" "$NOTIFY_LOG"; }
  wait_until 600 frames_seen "$nframes" || true
  wait_until 600 analysed || true
  kill -TERM "$W"; wait "$W" || true
  ip netns exec "$NS" tests/dns/nsd.sh stop "$DIR/nsd-w" 5300
  found=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT count(*) FROM sessions WHERE id > ? AND state = 'closed'\", (int(sys.argv[2]),)).fetchone()[0])" "$DIR/w.db" "$maxid")
  wdrop=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT coalesce(sum(value),0) FROM capture_stats WHERE name IN ('ps_drop','ps_ifdrop') AND at > (strftime('%s','now') - 3600) * 1000000\").fetchone()[0])" "$DIR/w.db")
  echo
  echo "replay at 50000 packets/s while analysing 1,000,000 sessions: $found/$want sessions found, $wdrop kernel drops;"
  sed -n 's/.*analysis: .*failures; \(.*\)$/  first analysis: \1/p' "$DIR/w.log" | head -1
  rm -f "$DIR/w.db"*
fi
