#!/bin/sh
# The threaded parts under ThreadSanitizer (`make tsan-check`): `analyze`
# (its store reads on libuv's thread pool, DNS on the loop) against NSD on a
# loopback port, cold and warm; as root also `watch --analyze-every` in a
# namespace of its own while tcpreplay feeds it, cancelled mid-analysis by
# SIGTERM. Any ThreadSanitizer report fails. Prints "tsan: N passed, N failed".
set -u
BIN=$(cd "$(dirname "${EA_BIN:-build/egressaudit-tsan}")" && pwd)/$(basename "${EA_BIN:-build/egressaudit-tsan}")
PY=${PYTHON:-python3}
T=$(mktemp -d /tmp/ea-tsan.XXXXXX)
chmod 755 "$T"
PORT=$("$PY" -c "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
NS=ea-tsan-$$
cleanup() {
  tests/dns/nsd.sh stop "$T/nsd" "$PORT"
  if ip netns list 2>/dev/null | grep -q "^$NS"; then
    for p in $(ip netns pids "$NS"); do kill -KILL "$p" 2>/dev/null; done
    ip netns del "$NS"
  fi
  rm -rf "$T"
}
trap cleanup EXIT
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 ${TSAN_OPTIONS:-}"
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   - $1"; }
ko() { fail=$((fail + 1)); echo "FAIL - $1"; }

tests/dns/nsd.sh start "$T/nsd" "$PORT" || { echo "tsan: 0 passed, 1 failed"; exit 1; }
"$BIN" read -q --db "$T/a.db" --point sender tests/data/real-direct.pcap tests/data/real-rot.pcap
"$BIN" read -q --db "$T/a.db" --point gw tests/data/real-nat.pcap
rc=0
for run in cold warm; do
  "$BIN" analyze -q --db "$T/a.db" --resolver "127.0.0.1:$PORT" 2>>"$T/an.log" || rc=$?
done
[ "$rc" = 0 ] && ! grep -q "ThreadSanitizer" "$T/an.log" &&
  ok "analyze (two capture points), cold and warm cache: no data race" ||
  ko "analyze under TSan: exit $rc; $(grep -m3 -A3 ThreadSanitizer "$T/an.log")"

if [ "$(id -u)" != 0 ] || ! command -v tcpreplay >/dev/null; then
  echo "tsan: watch skipped (needs root and tcpreplay)"
  echo "tsan: $pass passed, $fail failed, 1 skipped"
  [ "$fail" = 0 ]
  exit
fi
# watch, analysing every second against an NSD in its namespace; SIGTERM
# lands while an analysis may be reading, resolving or judging.
ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" link add ea0 type veth peer name ea1
ip -n "$NS" link set ea0 up
ip -n "$NS" link set ea1 up
ip netns exec "$NS" tests/dns/nsd.sh start "$T/nsd-ns" 5300
ip netns exec "$NS" "$BIN" watch -i ea0 --db "$T/w.db" --flush-every 1s --analyze-every 1s \
  --resolver 127.0.0.1:5300 2>"$T/w.log" &
W=$!
i=0
while ! grep -q "listening on" "$T/w.log" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
ip netns exec "$NS" tcpreplay -q --pps=2000 -i ea1 tests/data/real-direct.pcap tests/data/real-nat.pcap >/dev/null 2>&1
sleep 2.5
kill -TERM "$W"
wait "$W"
rc=$?
n=$(grep -c "info watch: analysis: " "$T/w.log")
[ "$rc" = 0 ] && [ "$n" -ge 1 ] && ! grep -q "ThreadSanitizer" "$T/w.log" &&
  ok "watch --analyze-every: $n analyses on the loop, SIGTERM, no data race" ||
  ko "watch under TSan: exit $rc, $n analyses; $(grep -m3 -A3 ThreadSanitizer "$T/w.log")"
echo "tsan: $pass passed, $fail failed"
[ "$fail" = 0 ]
