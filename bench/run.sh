#!/bin/sh
# make bench: egressaudit against tcpdump and tshark on the same inputs, in
# one run, alternating runs so that machine drift cancels out. Prints a
# Markdown table and writes it to build/bench.md. Not a test: the only
# assertion is that egressaudit found every ground-truth session.
#   make bench            5,000,000-packet capture (generated once, cached)
#   make bench QUICK=1    200,000 packets
#   make bench FULL=1     also tshark on the large capture (minutes)
set -eu
BIN=${EA_BIN:-build/egressaudit}
export EGRESSAUDIT_CONF=""  # never this machine's configuration
DIR=${BENCH_DIR:-/var/tmp/egressaudit-bench}
RUNS=${RUNS:-5}
SMALL=200000
N=$([ "${QUICK:-0}" = 1 ] && echo $SMALL || echo 5000000)
OUT=build/bench.md
mkdir -p "$DIR" build
gen() { [ -s "$DIR/$1" ] || python3 tests/gen/benchgen.py "$DIR/$1" "$2" ${3:-}; }
gen "bench-$N.pcap" "$N"
gen "bench-$N.pcapng" "$N" --pcapng
gen "bench-$SMALL.pcap" "$SMALL"
[ -s "$DIR/synflood-1000000.pcap" ] || python3 tests/gen/benchgen.py --synflood "$DIR/synflood-1000000.pcap" 1000000
FILTER='tcp port 25 or (vlan and tcp port 25)'

# time_rss CMD...: "seconds KiB" of one run.
time_rss() {
  /usr/bin/time -f '%e %M' -o "$DIR/time" "$@" >/dev/null 2>&1 || true
  tail -1 "$DIR/time"
}
fresh() { rm -f "$DIR/b.db" "$DIR/b.db-wal" "$DIR/b.db-shm"; }
stats() { # "t t t" "rss rss" -> "min|median|max|peak MiB"
  python3 -c "import statistics, sys
t = [float(x) for x in sys.argv[1].split()]; r = [int(x) for x in sys.argv[2].split()]
print('%.2f | %.2f | %.2f | %.1f' % (min(t), statistics.median(t), max(t), max(r) / 1024))" "$1" "$2"
}
median() { python3 -c "import statistics, sys; print(statistics.median(float(x) for x in sys.argv[1].split()))" "$1"; }

run_pair() { # capture -> sets TD_T TD_R EA_T EA_R
  cap=$1
  TD_T="" TD_R="" EA_T="" EA_R=""
  cat "$cap" >/dev/null
  i=0
  while [ "$i" -le "$RUNS" ]; do
    a=$(time_rss tcpdump -n -r "$cap" -w /dev/null "$FILTER")
    fresh
    b=$(time_rss "$BIN" read -q --db "$DIR/b.db" "$cap")
    if [ "$i" -gt 0 ]; then
      TD_T="$TD_T ${a% *}" TD_R="$TD_R ${a#* }"
      EA_T="$EA_T ${b% *}" EA_R="$EA_R ${b#* }"
    fi
    i=$((i + 1))
  done
}
check_found() { # capture -> "found/want"
  want=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['sessions'])" "$1.truth.json")
  got=$("$BIN" sessions --db "$DIR/b.db" --state closed --format jsonl | wc -l)
  echo "$got/$want"
}

{
echo "## egressaudit benchmarks"
echo
echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $RUNS runs after a warm-up, alternating"
echo
echo "| run | min s | median s | max s | peak RSS MiB |"
echo "|---|---|---|---|---|"
} >"$OUT"

run_pair "$DIR/bench-$N.pcap"
found=$(check_found "$DIR/bench-$N.pcap")
echo "| tcpdump -nr -w /dev/null '$FILTER' ($N packets, floor) | $(stats "$TD_T" "$TD_R") |" >>"$OUT"
echo "| egressaudit read ($N packets, pcap) | $(stats "$EA_T" "$EA_R") |" >>"$OUT"
ratio=$(python3 -c "print('%.2f' % ($(median "$EA_T") / $(median "$TD_T")))")

run_pair "$DIR/bench-$N.pcapng"
found_ng=$(check_found "$DIR/bench-$N.pcapng")
echo "| tcpdump, same packets as pcapng | $(stats "$TD_T" "$TD_R") |" >>"$OUT"
echo "| egressaudit read, pcapng | $(stats "$EA_T" "$EA_R") |" >>"$OUT"
ratio_ng=$(python3 -c "print('%.2f' % ($(median "$EA_T") / $(median "$TD_T")))")

# tshark, the peer, on the small capture (and the large one with FULL=1).
for cap in "$DIR/bench-$SMALL.pcap" $([ "${FULL:-0}" = 1 ] && [ "$N" != $SMALL ] && echo "$DIR/bench-$N.pcap"); do
  T1="" R1="" T2="" R2=""
  i=0
  while [ "$i" -le "$RUNS" ]; do
    a=$(time_rss tshark -n -r "$cap" -Y 'smtp.req.command == "EHLO" || smtp.req.command == "HELO"' -T fields -e ip.src -e ipv6.src -e smtp.req.parameter)
    fresh
    b=$(time_rss "$BIN" read -q --db "$DIR/b.db" "$cap")
    [ "$i" -gt 0 ] && T1="$T1 ${a% *}" R1="$R1 ${a#* }" T2="$T2 ${b% *}" R2="$R2 ${b#* }"
    i=$((i + 1))
  done
  n=$(basename "$cap" .pcap | sed 's/bench-//')
  echo "| tshark -Y EHLO/HELO fields ($n packets) | $(stats "$T1" "$R1") |" >>"$OUT"
  echo "| egressaudit read ($n packets) | $(stats "$T2" "$R2") |" >>"$OUT"
  tratio=$(python3 -c "print('%.1f' % ($(median "$T1") / $(median "$T2")))")
done

# SYN flood: a million distinct flows that never end.
fresh
s=$(time_rss "$BIN" read -q --db "$DIR/b.db" "$DIR/synflood-1000000.pcap")
syn=$("$BIN" sessions --db "$DIR/b.db" --state syn-only --format jsonl | wc -l)
echo "| egressaudit read, SYN flood of 1,000,000 distinct flows (--max-flows 65536) | ${s% *} | ${s% *} | ${s% *} | $(python3 -c "print('%.1f' % (${s#* } / 1024))") |" >>"$OUT"

# The MTA's log: read --maillog against pflogsumm (the summary Postfix
# operators already run) on the same generated log, alternating.
ML=$([ "${QUICK:-0}" = 1 ] && echo 100000 || echo 1000000)
[ -s "$DIR/mail-$ML.log" ] || python3 tests/gen/mloggen.py "$DIR/mail-$ML.log" "$ML"
mlratio=""
if command -v pflogsumm >/dev/null; then
  T1="" R1="" T2="" R2=""
  i=0
  while [ "$i" -le "$RUNS" ]; do
    a=$(time_rss pflogsumm "$DIR/mail-$ML.log")
    fresh
    b=$(time_rss "$BIN" read -q --maillog --log-tz UTC --db "$DIR/b.db" "$DIR/mail-$ML.log")
    [ "$i" -gt 0 ] && T1="$T1 ${a% *}" R1="$R1 ${a#* }" T2="$T2 ${b% *}" R2="$R2 ${b#* }"
    i=$((i + 1))
  done
  echo "| pflogsumm ($ML log lines) | $(stats "$T1" "$R1") |" >>"$OUT"
  echo "| egressaudit read --maillog, same log, new database | $(stats "$T2" "$R2") |" >>"$OUT"
  mlratio=$(python3 -c "print('%.1f' % ($(median "$T1") / $(median "$T2")))")
fi

# analyze against a local NSD, report/history on a million sessions.
BENCH_DIR=$DIR EA_BIN=$BIN bench/analyze.sh 10000 >"$DIR/analyze.out" 2>&1 || true
BENCH_DIR=$DIR EA_BIN=$BIN bench/report.sh 1000000 >"$DIR/report.out" 2>&1 || true
cold=$(sed -n 's/.*(cold cache): \([0-9.]*\) s, \([0-9]*\) KiB.*/\1 \2/p' "$DIR/analyze.out")
warm=$(sed -n 's/.*(warm cache): \([0-9.]*\) s, \([0-9]*\) KiB.*/\1 \2/p' "$DIR/analyze.out")
[ -n "$cold" ] && echo "| egressaudit analyze, 10,000 identities, local NSD, cold cache | ${cold% *} | ${cold% *} | ${cold% *} | $(python3 -c "print('%.1f' % (${cold#* } / 1024))") |" >>"$OUT"
[ -n "$warm" ] && echo "| egressaudit analyze, same, warm cache | ${warm% *} | ${warm% *} | ${warm% *} | $(python3 -c "print('%.1f' % (${warm#* } / 1024))") |" >>"$OUT"
for what in "report" "history of one HELO name" "history of one address" "history --dst one receiver"; do
  v=$(grep "^$what:" "$DIR/report.out" | sed 's/.*: \([0-9.]*\) s, \([0-9]*\) KiB/\1 \2/')
  [ -n "$v" ] && echo "| egressaudit $what, 1,000,000 sessions | ${v% *} | ${v% *} | ${v% *} | $(python3 -c "print('%.1f' % (${v#* } / 1024))") |" >>"$OUT"
done
v=$(sed -n 's/^report --format html: \([0-9.]*\) s, \([0-9]*\) KiB, \([0-9]*\) bytes/\1 \2 \3/p' "$DIR/report.out")
[ -n "$v" ] && set -- $v && echo "| egressaudit report --format html, 1,000,000 sessions ($(python3 -c "print('%.1f' % ($3 / 1e6))") MB page) | $1 | $1 | $1 | $(python3 -c "print('%.1f' % ($2 / 1024))") |" >>"$OUT"

# Incremental analysis: 1,000 new sessions on a gateway's history (two
# points, twins), from the fold against --full (single runs).
HN=$([ "${QUICK:-0}" = 1 ] && echo 100000 || echo 1000000)
BENCH_DIR=$DIR EA_BIN=$BIN bench/incremental.sh "$HN" 1000 >"$DIR/incremental.out" 2>&1 || true
for what in incremental full; do
  v=$(sed -n "s/^$what: read \([0-9.]*\) s; total\/KiB \([0-9.]*\) \([0-9]*\) .*/\1 \2 \3/p" "$DIR/incremental.out")
  [ -n "$v" ] || continue
  set -- $v
  echo "| egressaudit analyze --resolver NSD after 1,000 new sessions, $HN-session gateway history, $([ $what = full ] && echo "--full" || echo "from the fold") (store reads $1 s) | $2 | $2 | $2 | $(python3 -c "print('%.1f' % ($3 / 1024))") |" >>"$OUT"
  eval "${what}_read=$1"
done
incr_same=$(sed -n 's/^identical findings, identities and NAT map: //p' "$DIR/incremental.out")

# A fleet's central database: read --jsonl of session events against
# sqlite3's .import of the same lines (single runs).
IMP=$([ "${QUICK:-0}" = 1 ] && echo 100000 || echo 1000000)
BENCH_DIR=$DIR EA_BIN=$BIN bench/import.sh "$IMP" >"$DIR/import.out" 2>&1 || true
imp=$(sed -n 's/^import: \([0-9.]*\) s, \([0-9]*\) KiB, \([0-9]*\) events.*/\1 \2 \3/p' "$DIR/import.out")
flo=$(sed -n 's/^floor: \([0-9.]*\) s, \([0-9]*\) KiB, \([0-9]*\) rows.*/\1 \2 \3/p' "$DIR/import.out")
if [ -n "$imp" ] && [ -n "$flo" ]; then
  set -- $flo
  echo "| sqlite3 .import of $IMP event lines, one column (floor; $3 rows/s) | $1 | $1 | $1 | $(python3 -c "print('%.1f' % ($2 / 1024))") |" >>"$OUT"
  set -- $imp
  echo "| egressaudit read --jsonl, the same $IMP session events ($3 events/s) | $1 | $1 | $1 | $(python3 -c "print('%.1f' % ($2 / 1024))") |" >>"$OUT"
  impratio=$(python3 -c "print('%.1f' % ($(echo "$imp" | cut -d' ' -f1) / $(echo "$flo" | cut -d' ' -f1)))")
fi

{
echo
echo "- read / tcpdump floor, ratio of medians: **$ratio** (pcap), **$ratio_ng** (pcapng); target <= 0.5 (issue 18)"
echo "- tshark / egressaudit on the same small capture: $tratio x slower"
[ -n "$mlratio" ] && echo "- pflogsumm / egressaudit read --maillog on the same $ML-line log: $mlratio x slower"
[ -n "${impratio:-}" ] && echo "- read --jsonl / sqlite3 .import of the same $IMP lines: $impratio x the floor (parsed with jansson, stored as sessions with their HELO and reply rows and every index)"
[ -n "${incremental_read:-}" ] && echo "- analysis after 1,000 new sessions on the $HN-session history: store reads $incremental_read s from the fold, $full_read s with --full; identical findings, identities and NAT map: $incr_same"
echo "- sessions found: $found (pcap), $found_ng (pcapng); SYN flood: $syn syn-only sessions stored of 1,000,000"
echo "- targets: read RSS <= 64 MiB, SYN flood RSS <= 64 MiB, analyze of 10,000 identities <= 5 s, report on 1M sessions <= 1 s"
echo
echo "Reproduce: \`make bench\` (\`QUICK=1\` for 200k packets, \`FULL=1\` adds tshark on the large capture)."
echo "analyze, report/history and import rows come from \`bench/analyze.sh\`, \`bench/report.sh\` and \`bench/import.sh\` (single runs)."
} >>"$OUT"
cat "$OUT"
[ "${found%/*}" = "${found#*/}" ] && [ "${found_ng%/*}" = "${found_ng#*/}" ]
