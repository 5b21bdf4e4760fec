#!/bin/sh
# bench/natflood.sh [N...]: `analyze` on a gateway's database holding a SYN
# flood from one host behind the NAT (N inside sessions, N translated
# twins outside, all to one receiver at 10,000 a second;
# tests/gen/natflood.py). The pairing is a sweep: time should grow
# linearly with N. No resolver answers (a closed port), so the figure is
# the reads and the pairing, not DNS.
set -eu
BIN=${EA_BIN:-build/egressaudit}
DIR=${BENCH_DIR:-/var/tmp/egressaudit-bench}/natflood
mkdir -p "$DIR"
for n in ${*:-10000 100000 1000000}; do
  db="$DIR/f$n.db"
  if [ ! -s "$db" ]; then
    rm -f "$db"*
    "$BIN" read -q --db "$db" tests/data/real-nat.pcap
    python3 tests/gen/natflood.py "$db" "$n"
  fi
  /usr/bin/time -f "$n inside + $n outside sessions: analyze %e s, peak RSS %M KiB" \
    "$BIN" analyze -q --db "$db" --resolver 127.0.0.1:9 --dns-timeout 100
done
