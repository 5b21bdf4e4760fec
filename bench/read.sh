#!/bin/sh
# bench/read.sh: `egressaudit read` against the tcpdump floor on one capture,
# alternating runs so that machine drift cancels out. Not a test: it prints
# figures, it asserts only that every ground-truth session was found.
#
#   bench/read.sh [PACKETS] [RUNS]      (defaults 1000000 and 5)
#
# The capture is generated once (deterministic) and cached in $BENCH_DIR
# (default /var/tmp/egressaudit-bench), outside the repository.
set -eu
N=${1:-1000000}
RUNS=${2:-5}
BIN=${EA_BIN:-build/egressaudit}
DIR=${BENCH_DIR:-/var/tmp/egressaudit-bench}
CAP=$DIR/bench-$N.pcap
mkdir -p "$DIR"
[ -s "$CAP" ] || python3 tests/gen/benchgen.py "$CAP" "$N"
want=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['sessions'])" "$CAP.truth.json")
FILTER='tcp port 25 or (vlan and tcp port 25)'

# One timed run: prints "seconds maxrss_kib".
run() {
  /usr/bin/time -f '%e %M' -o "$DIR/time" "$@" >/dev/null 2>&1
  cat "$DIR/time"
}
cat "$CAP" >/dev/null # warm the page cache
td="" ea="" rss_td="" rss_ea=""
i=0
while [ "$i" -le "$RUNS" ]; do
  a=$(run tcpdump -n -r "$CAP" -w /dev/null "$FILTER")
  rm -f "$DIR/b.db" "$DIR/b.db-wal" "$DIR/b.db-shm"
  b=$(run "$BIN" read -q --db "$DIR/b.db" "$CAP")
  if [ "$i" -gt 0 ]; then # run 0 is the warm-up
    td="$td ${a% *}"; rss_td="$rss_td ${a#* }"
    ea="$ea ${b% *}"; rss_ea="$rss_ea ${b#* }"
  fi
  i=$((i + 1))
done
got=$("$BIN" sessions --db "$DIR/b.db" --format jsonl | wc -l)
python3 - "$td" "$ea" "$rss_td" "$rss_ea" "$N" "$got" "$want" <<'PY'
import statistics, sys
td, ea, rtd, rea = ([float(x) for x in a.split()] for a in sys.argv[1:5])
n, got, want = sys.argv[5:8]
m = lambda v: statistics.median(v)
print("| %s packets | min s | median s | max s | peak RSS MiB |" % n)
print("|---|---|---|---|---|")
print("| tcpdump -w /dev/null (floor) | %.2f | %.2f | %.2f | %.1f |" % (min(td), m(td), max(td), max(rtd) / 1024))
print("| egressaudit read | %.2f | %.2f | %.2f | %.1f |" % (min(ea), m(ea), max(ea), max(rea) / 1024))
print("ratio of medians read/tcpdump: %.2f; sessions found %s of %s" % (m(ea) / m(td), got, want))
sys.exit(0 if got == want else 1)
PY
