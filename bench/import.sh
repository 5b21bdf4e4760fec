#!/bin/sh
# bench/import.sh N: a fleet's central database reading N session events
# (read --jsonl), against sqlite3's own .import of the same lines into a
# one-column table (the floor: the bytes stored as rows, nothing parsed,
# nothing indexed). The events are the sessions of bench/report.sh's
# database, as watch --events writes them. Prints two lines:
#   import: S s, K KiB, E events/s
#   floor: S s, K KiB, E rows/s
set -eu
N=${1:-1000000}
BIN=${EA_BIN:-build/egressaudit}
DIR=${BENCH_DIR:-/var/tmp/egressaudit-bench}
SRC=$DIR/report-1000000/r.db
EV=$DIR/events-$N.jsonl
if [ ! -s "$EV" ]; then
  [ -s "$SRC" ] || BENCH_DIR=$DIR EA_BIN=$BIN bench/report.sh 1000000 >/dev/null
  "$BIN" read -q --jsonl --db "$SRC" /dev/null # brings an older schema up to date
  "$BIN" sessions --db "$SRC" --format jsonl --limit "$N" |
    sed 's/^{/{"type":"session","host":"mail01",/' >"$EV.tmp"
  mv "$EV.tmp" "$EV"
fi
cat "$EV" >/dev/null # the page cache, for both
rm -f "$DIR/imp.db" "$DIR/imp.db-wal" "$DIR/imp.db-shm" "$DIR/floor.db"
/usr/bin/time -f "%e %M" -o "$DIR/t" "$BIN" read -q --jsonl --db "$DIR/imp.db" "$EV"
set -- $(tail -1 "$DIR/t")
n=$("$BIN" sessions --db "$DIR/imp.db" --format jsonl | wc -l)
echo "import: $1 s, $2 KiB, $(python3 -c "print('%.0f' % ($n / $1))") events/s ($n sessions stored)"
/usr/bin/time -f "%e %M" -o "$DIR/t" sqlite3 "$DIR/floor.db" "CREATE TABLE ev(line TEXT)" \
  ".mode ascii" '.separator "\037" "\n"' ".import $EV ev"
set -- $(tail -1 "$DIR/t")
n=$(sqlite3 "$DIR/floor.db" "SELECT count(*) FROM ev")
echo "floor: $1 s, $2 KiB, $(python3 -c "print('%.0f' % ($n / $1))") rows/s ($n rows)"
rm -f "$DIR/imp.db" "$DIR/imp.db-wal" "$DIR/imp.db-shm" "$DIR/floor.db"
