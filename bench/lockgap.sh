#!/bin/sh
# bench/lockgap.sh [RUNS]: can an 'analyze' (the daily report timer's)
# write beside a busy watch? A Python writer stands in for watch on a
# busy relay: a session every 1-5 ms, the batch committed every 2 s, the
# next transaction begun at the next session. Prints how many of RUNS
# analyze runs got the write lock. A measurement, not a test: it depends
# on the machine's scheduling.
set -eu
RUNS=${1:-5}
BIN=${EA_BIN:-build/egressaudit}
T=$(mktemp -d /tmp/ea-lock.XXXXXX)
trap 'kill $W 2>/dev/null; rm -rf "$T"' EXIT
"$BIN" read -q --db "$T/l.db" tests/data/real-nat.pcap
python3 - "$T/l.db" $((RUNS * 8)) <<'PY' &
import random, sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
end = time.time() + float(sys.argv[2])
i = 0
while time.time() < end:
    time.sleep(random.uniform(0.001, 0.005))
    c.execute("BEGIN IMMEDIATE")
    t0 = time.time()
    while time.time() - t0 < 2.0:
        i += 1
        c.execute("INSERT INTO capture_stats(point_id, at, name, value) VALUES(1, ?, 'x', 1)",
                  (int(time.time() * 1e6) + i,))
        time.sleep(random.uniform(0.001, 0.005))
    c.execute("COMMIT")
PY
W=$!
sleep 1
ok=0
i=0
while [ $i -lt "$RUNS" ]; do
  "$BIN" analyze -q --db "$T/l.db" --resolver 127.0.0.1:9 --dns-timeout 100 >/dev/null 2>&1 && ok=$((ok + 1))
  i=$((i + 1))
done
echo "analyze beside a busy writer: $ok of $RUNS got the write lock"
