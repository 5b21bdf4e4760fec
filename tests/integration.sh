#!/bin/sh
# Integration tests: generated captures with ground truth, through the real
# binary (read, then sessions --format jsonl), plus damaged inputs, re-reads,
# filters and the recorded real-MTA capture. Prints "N passed, N failed".
set -u
BIN=${EA_BIN:-build/egressaudit}
PY=${PYTHON:-python3}
T=$(mktemp -d /tmp/ea-int.XXXXXX)
trap 'rm -rf "$T"' EXIT
. tests/lib.sh # ok, ko, pass/fail counts, nsessions, wait_until

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export EGRESSAUDIT_DB=/nonexistent/never-used.db # every call names --db

"$PY" tests/gen/capgen.py "$T/gen" || { echo "generator failed"; exit 1; }
truth="$T/gen/truth.json"

# 1. Every capture with sessions: read, export, compare every field.
for name in $("$PY" -c "import json,sys; t=json.load(open(sys.argv[1]))
print(' '.join(k for k in sorted(t) if 'sessions' in t[k]))" "$truth"); do
  file=$("$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]].get('file', sys.argv[2]))" "$truth" "$name")
  args=$("$PY" -c "import json,sys; print(' '.join(json.load(open(sys.argv[1]))[sys.argv[2]].get('args', [])))" "$truth" "$name")
  db="$T/$name.db"
  # shellcheck disable=SC2086
  if ! "$BIN" read -q --db "$db" $args "$T/gen/$file" 2>"$T/err"; then
    ko "$name: read failed: $(cat "$T/err")"; continue
  fi
  "$BIN" sessions --db "$db" --format jsonl >"$T/$name.jsonl" || { ko "$name: sessions failed"; continue; }
  if "$PY" tests/check_truth.py "$truth" "$name" "$T/$name.jsonl" >"$T/cmp"; then
    ok "$name: $(tail -1 "$T/cmp")"
  else
    ko "$name: $(cat "$T/cmp")"
  fi
done

# 2. The JSON is valid, one object per line, and text output has no raw
# control bytes from the hostile banner.
if "$PY" -c "import json,sys
[json.loads(l) for l in open(sys.argv[1])]" "$T/main.pcap.jsonl"; then ok "jsonl parses"; else ko "jsonl parses"; fi
"$BIN" sessions --db "$T/main.pcap.db" >"$T/text"
if "$PY" -c "import sys
b=open(sys.argv[1],'rb').read()
bad=[c for c in b if (c<32 and c!=10) or c==127]
sys.exit(1 if bad else 0)" "$T/text" && grep -q 'x1b' "$T/text" 2>/dev/null || \
   "$BIN" sessions --db "$T/main.pcap.db" --dst 198.51.100.66 --format csv | grep -q 'x1b]0;owned'; then
  ok "text output escapes wire bytes"
else ko "text output escapes wire bytes"; fi
if "$BIN" sessions --db "$T/main.pcap.db" --format csv | "$PY" -c "import csv,sys
rows=list(csv.reader(sys.stdin)); assert rows[0][0]=='first_seen' and len(rows)==26, len(rows)
assert all(len(r)==len(rows[0]) for r in rows)"; then ok "csv parses back (25 rows)"; else ko "csv parses back"; fi

# 3. Re-reading adds nothing; a second file adds only its own sessions.
db="$T/main.pcap.db"
before=$("$BIN" sessions --db "$db" --format jsonl | wc -l)
"$BIN" read -q --db "$db" "$T/gen/main.pcap"
after=$("$BIN" sessions --db "$db" --format jsonl | wc -l)
[ "$before" = "$after" ] && ok "re-read adds no duplicates ($after)" || ko "re-read: $before -> $after"
"$BIN" read --db "$db" "$T/gen/main.pcap" 2>"$T/err" >/dev/null
grep -q "0 sessions stored (25 already known)" "$T/err" && ok "re-read summary says already known" || ko "re-read summary: $(cat "$T/err")"

# What became of the mail: the demo has one of each outcome; the session
# that went to TLS says its outcome is not visible, never accepted.
"$BIN" read -q --db "$T/demo.db" --local 203.0.113.0/24 --local 10.0.0.0/24 --local 2001:db8:10::/48 tests/data/demo.pcapng
if "$BIN" sessions --db "$T/demo.db" --format jsonl | "$PY" -c "
import collections, json, sys
rows = [json.loads(l) for l in sys.stdin]
c = collections.Counter(r['outcome'] for r in rows)
assert c == {'incomplete': 10, 'rejected': 1, 'tls': 1, 'accepted': 1, 'deferred': 1, 'refused': 1, 'no-answer': 1}, c
t = [r for r in rows if r['outcome'] == 'tls'][0]
assert t['starttls'] and t['replies'][-1]['cmd'] == 'STARTTLS', t
a = [r for r in rows if r['outcome'] == 'accepted'][0]
assert ('DATA', 250) in [(x['cmd'], x['code']) for x in a['replies']], a
" && [ "$("$BIN" sessions --db "$T/demo.db" --outcome tls --format jsonl | wc -l)" = 1 ] &&
  "$BIN" sessions --db "$T/demo.db" --outcome tls | grep -q "outcome not visible" &&
  "$BIN" sessions --db "$T/demo.db" --format csv | head -1 | grep -q ',reject,outcome' &&
  ! "$BIN" sessions --db "$T/demo.db" --outcome delivered 2>/dev/null; then
  ok "outcome: accepted, rejected, deferred, tls (not visible), refused, no-answer, incomplete; --outcome filters"
else
  ko "outcome: $("$BIN" sessions --db "$T/demo.db" --format jsonl | "$PY" -c "import json,sys; print([json.loads(l).get('outcome') for l in sys.stdin])")"
fi
# A receiver as the subject: by banner name and by address.
"$BIN" history --db "$T/demo.db" mx.example.net >"$T/hr1"
"$BIN" history --db "$T/demo.db" 198.51.100.27 --format json >"$T/hr2"
"$BIN" history --db "$T/demo.db" nowhere.example.org >"$T/hr3"
if grep -q "^history of mx.example.net (a receiver" "$T/hr1" && grep -q "reject  203.0.113.11 HELO" "$T/hr1" &&
   "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['sessions'] == 4 and all(e['receiver'] == 'mx-exim.example.net' for e in d['events']), d" "$T/hr2" &&
   grep -q "(no session in the window)" "$T/hr3"; then
  ok "history of a receiver (banner name or address): our sessions towards it"
else
  ko "history of a receiver: $(head -3 "$T/hr1")"
fi

# A capture rotated mid-session (tcpdump -G/-C): the first file read alone
# stores the sessions it cuts as ended by eof; read again with the next
# file, the complete versions replace them (more packets win).
"$PY" - tests/data/real-direct.pcap "$T/part1.pcap" "$T/part2.pcap" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
hdr, off, recs = data[:24], 24, []
end = "<" if data[:4] == b"\xd4\xc3\xb2\xa1" else ">"
while off < len(data):
    incl = struct.unpack(end + "I", data[off + 8:off + 12])[0]
    recs.append(data[off:off + 16 + incl])
    off += 16 + incl
cut = len(recs) // 2
open(sys.argv[2], "wb").write(hdr + b"".join(recs[:cut]))
open(sys.argv[3], "wb").write(hdr + b"".join(recs[cut:]))
PY
"$BIN" read -q --db "$T/whole.db" --point p tests/data/real-direct.pcap
"$BIN" read -q --db "$T/parts.db" --point p "$T/part1.pcap"
cut=$("$BIN" sessions --db "$T/parts.db" --format jsonl | grep -c '"end":"eof"')
"$BIN" read -q --db "$T/parts.db" --point p "$T/part1.pcap" "$T/part2.pcap"
"$BIN" sessions --db "$T/whole.db" --format jsonl >"$T/whole.jsonl"
"$BIN" sessions --db "$T/parts.db" --format jsonl >"$T/parts.jsonl"
if [ "$cut" -ge 1 ] && "$PY" tests/compare_jsonl.py "$T/whole.jsonl" "$T/parts.jsonl" >"$T/cmp" 2>&1; then
  ok "rotated capture: $cut cut sessions from the first file alone replaced by the complete ones"
else ko "rotated capture ($cut cut): $(tail -3 "$T/cmp")"; fi

# 4. Filters.
n=$("$BIN" sessions --db "$db" --ip 203.0.113.10 --format jsonl | wc -l)
[ "$n" = 14 ] && ok "--ip source or echoed (14)" || ko "--ip gave $n"
n=$("$BIN" sessions --db "$db" --helo MAIL01.example.com --format jsonl | wc -l)
[ "$n" = 11 ] && ok "--helo, case-insensitive (11)" || ko "--helo gave $n"
n=$("$BIN" sessions --db "$db" --dst mx-exim.example.net --format jsonl | wc -l)
[ "$n" = 1 ] && ok "--dst by banner host" || ko "--dst gave $n"
n=$("$BIN" sessions --db "$db" --state syn-only --format jsonl | wc -l)
[ "$n" = 2 ] && ok "--state syn-only (2)" || ko "--state gave $n"
n=$("$BIN" sessions --db "$db" --since 2026-11-26T10:00:20Z --until 2026-11-26T10:00:22Z --format jsonl | wc -l)
[ "$n" = 2 ] && ok "--since/--until window (2)" || ko "--since/--until gave $n"
n=$("$BIN" sessions --db "$db" --ip 2001:DB8:10:0::26 --format jsonl | wc -l)
[ "$n" = 1 ] && ok "--ip canonicalises IPv6" || ko "--ip v6 gave $n"
n=$("$BIN" sessions --db "$db" --limit 4 --format jsonl | wc -l)
[ "$n" = 4 ] && ok "--limit" || ko "--limit gave $n"

n=$("$BIN" sessions --db "$T/both-local.db" --direction inbound --format jsonl | wc -l)
m=$("$BIN" sessions --db "$T/both-local.db" --direction egress --format jsonl | wc -l)
[ "$n" = 3 ] && [ "$m" = 1 ] && ok "--direction inbound/egress (3/1)" || ko "--direction gave $n inbound, $m egress"
"$BIN" read --db "$T/hint.db" "$T/gen/both.pcap" 2>"$T/err" >/dev/null
grep -q "pass --local CIDR" "$T/err" && ok "read hints at --local when direction is unknown" || ko "no --local hint: $(cat "$T/err")"
"$BIN" read --db "$T/hint2.db" "$T/gen/ifaddr.pcapng" 2>"$T/err" >/dev/null
grep -q "pass --local" "$T/err" && ko "hint despite pcapng interface addresses" || ok "pcapng interface addresses: no hint"
"$BIN" read -q --db "$T/badlocal.db" --local 203.0.113.0/40 "$T/gen/both.pcap" 2>/dev/null; rc=$?
[ "$rc" = 64 ] && ok "bad --local: exit 64" || ko "bad --local: exit $rc"

# 5. Damaged inputs: one clear line naming the file, the right exit code,
# and what was read before the damage is stored.
for name in $("$PY" -c "import json,sys; t=json.load(open(sys.argv[1]))
print(' '.join(k for k in sorted(t) if 'min_sessions' in t[k]))" "$truth"); do
  exp_exit=$("$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]]['exit'])" "$truth" "$name")
  exp_msg=$("$PY" -c "import json,sys; t=json.load(open(sys.argv[1]))[sys.argv[2]]; print(t.get('error') or t.get('warning'))" "$truth" "$name")
  min=$("$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]]['min_sessions'])" "$truth" "$name")
  db="$T/bad-$name.db"
  "$BIN" read --db "$db" "$T/gen/$name" >/dev/null 2>"$T/err"
  rc=$?
  n=$("$BIN" sessions --db "$db" --format jsonl 2>/dev/null | wc -l)
  if [ "$rc" = "$exp_exit" ] && grep -qF "$exp_msg" "$T/err" && [ "$n" -ge "$min" ]; then
    ok "$name: exit $rc, '$(grep -F "$exp_msg" "$T/err" | head -1)', $n sessions kept"
  else
    ko "$name: exit $rc (want $exp_exit), $n sessions (want >= $min), stderr: $(cat "$T/err")"
  fi
done
for f in malformed.pcap badtime.pcapng; do
  "$BIN" read --no-filter --db "$T/mal-$f.db" "$T/gen/$f" 2>"$T/err" >/dev/null
  missing=""
  for e in $("$PY" -c "import json,sys; print(' '.join(json.load(open(sys.argv[1]))[sys.argv[2]]['decode_errors']))" "$truth" "$f"); do
    grep -q "$e" "$T/err" || missing="$missing $e"
  done
  [ -z "$missing" ] && ok "$f: bad frames counted by reason" || ko "$f: decode errors missing:$missing in $(cat "$T/err")"
done

# A damaged file among good ones: the good ones are still read, exit 65.
"$BIN" read -q --db "$T/mix.db" "$T/gen/sll.pcap" "$T/gen/garbage.pcap" "$T/gen/loop.pcap" 2>"$T/err"
rc=$?
n=$("$BIN" sessions --db "$T/mix.db" --format jsonl | wc -l)
[ "$rc" = 65 ] && [ "$n" = 2 ] && ok "bad file among good ones: exit 65, 2 sessions" || ko "mixed: exit $rc, $n sessions"

# Missing input, stdin, usage errors.
"$BIN" read -q --db "$T/x.db" "$T/nope.pcap" 2>"$T/err"; rc=$?
[ "$rc" = 66 ] && grep -q "nope.pcap: No such file" "$T/err" && ok "missing file: exit 66" || ko "missing file: $rc $(cat "$T/err")"
"$BIN" read -q --db "$T/stdin.db" - <"$T/gen/sll2.pcap"; rc=$?
n=$("$BIN" sessions --db "$T/stdin.db" --point stdin --format jsonl | wc -l)
[ "$rc" = 0 ] && [ "$n" = 1 ] && ok "stdin read, point 'stdin'" || ko "stdin: exit $rc, $n"
"$BIN" sessions --db "$T/stdin.db" --since yesterday 2>/dev/null; rc=$?
[ "$rc" = 64 ] && ok "bad --since: exit 64" || ko "bad --since: exit $rc"
"$BIN" sessions --db "$T/none.db" 2>"$T/err"; rc=$?
[ "$rc" = 66 ] && ok "no database: exit 66" || ko "no database: exit $rc $(cat "$T/err")"
# One parser for the analysis options, whichever command takes them.
for c in analyze watch "report --analyze"; do
  # shellcheck disable=SC2086
  "$BIN" $c --db "$T/stdin.db" $(for i in 1 2 3 4 5 6 7 8 9; do echo --resolver 127.0.0.1:9; done) 2>"$T/err"; rc=$?
  [ "$rc" = 64 ] && grep -q "at most 8 --resolver" "$T/err" || ko "$c with 9 --resolver: exit $rc (a 9th was dropped silently): $(cat "$T/err")"
  # shellcheck disable=SC2086
  "$BIN" $c --db "$T/stdin.db" --expect-egress nonsense 2>"$T/err"; rc=$?
  [ "$rc" = 64 ] && grep -q "expect-egress: 'nonsense'" "$T/err" && ok "$c: 9 resolvers and a bad --expect-egress refused alike (64)" ||
    ko "$c --expect-egress nonsense: exit $rc: $(cat "$T/err")"
done
"$BIN" frobnicate 2>/dev/null; rc=$?
[ "$rc" = 64 ] && ok "unknown command: exit 64" || ko "unknown command: exit $rc"
for c in read sessions; do
  "$BIN" "$c" --help | grep -q "Usage: egressaudit $c" && ok "$c --help" || ko "$c --help"
done

# 6. A capture recorded from a real exchange (Postfix, Exim, swaks in network
# namespaces; see tests/data/README.md), against its reviewed expected output.
for f in tests/data/*.pcap tests/data/*.pcapng; do
  [ -f "$f" ] || continue
  exp="${f%.*}.expected.jsonl"
  [ -f "$exp" ] || continue
  db="$T/real-$(basename "$f").db"
  "$BIN" read -q --db "$db" "$f" && "$BIN" sessions --db "$db" --format jsonl >"$T/real.jsonl"
  if "$PY" tests/compare_jsonl.py "$exp" "$T/real.jsonl"; then ok "$(basename "$f"): matches expected"; else ko "$(basename "$f") differs from $exp"; fi
  if command -v tshark >/dev/null; then
    if "$PY" tests/tshark_oracle.py "$f" "$T/real.jsonl" >"$T/oracle" 2>&1; then
      ok "$(basename "$f"): $(tail -1 "$T/oracle")"
    else ko "$(basename "$f"): $(cat "$T/oracle")"; fi
  else
    ko "tshark missing: cannot cross-check $(basename "$f") (run scripts/deps.sh)"
  fi
done

# 6a. Fragments never hide a session: the real capture with every segment
# that carries data split into 16-octet IP fragments (tcprewrite's
# fragroute, IPv4 and IPv6). Nothing is reassembled; each first fragment
# is taken for its TCP header, so every session is found (with the same
# ends as unfragmented) and says how many fragmented datagrams it had.
if command -v tcprewrite >/dev/null; then
  echo "ip_frag 16" >"$T/frag.conf"
  tcprewrite --fragroute="$T/frag.conf" -i tests/data/real-direct.pcap -o "$T/frag.pcap" >/dev/null 2>&1
  "$BIN" read --db "$T/frag.db" "$T/frag.pcap" 2>"$T/frag.err"
  "$BIN" sessions --db "$T/frag.db" --format jsonl >"$T/frag.jsonl"
  "$PY" - tests/data/real-direct.expected.jsonl "$T/frag.jsonl" <<'PY' && grep -q "IP fragments (never reassembled): [1-9][0-9]* first ones" "$T/frag.err" &&
import json, sys
key = lambda d: (d["src_ip"], d["src_port"], d["dst_ip"], d["dst_port"])
want = {key(d): d for d in map(json.loads, open(sys.argv[1]))}
got = {key(d): d for d in map(json.loads, open(sys.argv[2]))}
assert set(got) == set(want), sorted(set(want) ^ set(got))
for k, d in got.items():
    # every session that carried data had fragmented datagrams, and says so
    carried = want[k]["bytes"][0] + want[k]["bytes"][1] > 0
    assert (d["anomalies"]["fragments"] > 0) == carried, (k, d["anomalies"], want[k]["bytes"])
PY
    ok "fragmented capture: all 9 sessions found (7 before), each with its fragments counted" ||
    ko "fragments: $(cat "$T/frag.err"; cat "$T/frag.jsonl" | head -3)"
else
  ko "tcprewrite missing (run scripts/deps.sh)"
fi

# 7. The files we keep: a new database is 0640 in a 0750 directory; an
# empty --db is a usage error, not a silent no-op.
"$BIN" read -q --db "$T/fresh/sub/h.db" tests/data/real-nat.pcap
m="$(stat -c %a "$T/fresh/sub/h.db") $(stat -c %a "$T/fresh/sub")"
[ "$m" = "640 750" ] && ok "new database 0640 in a new 0750 directory (who mailed whom is not for every local user)" ||
  ko "modes: database and directory $m"
"$BIN" analyze -q --db "$T/typo.db" --resolver 127.0.0.1:9 2>"$T/err"; rc=$?
[ "$rc" = 66 ] && [ ! -e "$T/typo.db" ] && grep -q "no database here" "$T/err" &&
  ok "analyze --db on a missing database: 66, none created" || ko "analyze on a missing database: exit $rc, $(ls "$T/typo.db" 2>&1); $(cat "$T/err")"
"$BIN" prune --db "$T/typo.db" --older-than 1d 2>/dev/null; rc=$?
[ "$rc" = 66 ] && [ ! -e "$T/typo.db" ] && ok "prune --db on a missing database: 66, none created" || ko "prune on a missing database: exit $rc"
"$BIN" read -q --db "" tests/data/real-nat.pcap 2>"$T/err"; rc=$?
[ "$rc" = 64 ] && grep -q "empty path" "$T/err" && ok "--db '': usage error 64" || ko "--db '': exit $rc $(cat "$T/err")"

# 7a. The progress line on a terminal (script(1) gives read a pty): its
# rate is frames over real time from the first update on (the first one
# divided by 1 us and said "8.2 G frames/s"). No machine reads 100 M
# frames a second through libpcap: a bound on sense, not on speed.
if command -v script >/dev/null; then
  "$PY" tests/gen/benchgen.py --synflood "$T/fl.pcap" 100000 >/dev/null
  script -qc "$BIN read --db $T/fl.db $T/fl.pcap" /dev/null </dev/null | tr '\r' '\n' >"$T/prog"
  if "$PY" - "$T/prog" <<'PY'
import re, sys
mult = {"": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}
rates = [float(n) * mult[u] for n, u in re.findall(r"([0-9.]+) ?([kMGT]?) frames/s", open(sys.argv[1]).read())]
sys.exit(0 if rates and max(rates) < 100e6 else 1)
PY
  then ok "read's progress on a terminal: $(grep -c "frames/s" "$T/prog") updates, every rate sane"
  else ko "progress rates: $(grep -o "[0-9.]* *[kMGT]* frames/s" "$T/prog" | head -3 | tr '\n' ' ')"; fi
fi

# 7b. A SYN flood from one host behind a NAT, seen on both sides of the
# gateway: the twin pairing is a sweep (it was a self-join, cubic: 2,500
# such pairs took 17 minutes). 20,000 pairs: every inside session paired
# with the NAT address once, counted once. `timeout` only turns a
# regression into a failure instead of a hang; bench/natflood.sh measures.
"$BIN" read -q --db "$T/flood.db" tests/data/real-nat.pcap
"$PY" tests/gen/natflood.py "$T/flood.db" 20000
timeout 300 "$BIN" analyze -q --db "$T/flood.db" --resolver 127.0.0.1:9 --dns-timeout 100 2>"$T/err"; rc=$?
if [ "$rc" != 124 ] && "$BIN" report --db "$T/flood.db" --format json | "$PY" -c "
import json, sys
d = json.load(sys.stdin)
nat = [(x['inside_ip'], x['outside_ip'], x['sessions']) for x in d['nat']]
ids = {i['ip']: i['sessions'] for i in d['identities']}
assert ('10.0.0.66', '203.0.113.10', 20000) in nat, nat
assert ids.get('203.0.113.10') == 20003 and '10.0.0.66' not in ids, ids
"; then ok "NAT flood (20,000 SYNs seen inside and outside): analysed, each paired once, counted once"
else ko "NAT flood: analyze exit $rc; $(cat "$T/err")"; fi

# 7b. The MTA's log: lines recorded from the e2e testbed's real Postfix
# and Exim (tests/data/README.md), read as they are; then `watch --maillog`
# alone (no capture, no root) following a log through rename rotation,
# copytruncate, SIGHUP and a restart, reading nothing twice.
ml() { "$BIN" read --maillog --log-tz UTC --db "$T/ml.db" "$@" 2>&1; }
r1=$(ml tests/data/maillog-postfix-sender.log)
r2=$(ml tests/data/maillog-exim-sender.log)
r3=$(ml tests/data/maillog-postfix-mx.log)
r4=$(ml tests/data/maillog-postfix-sender.log)
if echo "$r1" | grep -q "45 lines: 4 delivery attempts and 1 failed connections (5 of them new), 3 TLS lines, 12 message ids" &&
  echo "$r2" | grep -q "4 lines: 1 delivery attempts and 0 failed connections (1 of them new)" &&
  echo "$r3" | grep -q "45 lines: 0 delivery attempts" && echo "$r4" | grep -q "(0 of them new)" &&
  "$PY" - "$T/ml.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute("SELECT status, code, src_ip, relay_ip, stage FROM deliveries ORDER BY id").fetchall()
assert [r[:2] for r in rows] == [("bounced", 550), ("sent", 250), ("bounced", 550), ("connect", None),
                                 ("deferred", None), ("sent", 250)], rows
assert rows[5][2] == "203.0.113.12" and rows[0][4] == "RCPT TO" and rows[3][3] == rows[4][3] == "198.51.100.99", rows
assert db.execute("SELECT count(*) FROM messages WHERE host = 'mail01' AND message_id LIKE 'e2e-_@example.com'").fetchone()[0] == 4
tls = [r[0] for r in db.execute("SELECT tls FROM deliveries ORDER BY id")]
assert tls[:3] == ["Untrusted TLSv1.3 with cipher TLS_AES_256_GCM_SHA384"] * 3 and tls[3:5] == [None, None], tls
assert tls[5].startswith("TLS1.3:"), tls
PY
then ok "recorded Postfix and Exim logs: 5 attempts (2 rejects at RCPT TO, a connect timeout, Exim's I=), 3 TLS lines, message ids; a re-read adds nothing"
else ko "recorded logs: $r1 / $r2 / $r3 / $r4"; fi

# The same log through journald: a journal file written by
# systemd-journal-remote from it (one line with an ESC byte, which journald
# keeps as bytes and journalctl -o json prints as an array of numbers), then
# journalctl -o json and -o short-iso: the same attempts as the file.
if [ -x /lib/systemd/systemd-journal-remote ] && command -v journalctl >/dev/null; then
  { cat tests/data/maillog-postfix-sender.log
    grep "status=bounced" tests/data/maillog-postfix-sender.log | head -1 |
      sed 's/ [0-9A-F]*: to=/ ESC1: to=/; s/Client host rejected/Client \x1b[31mhost rejected/'; } >"$T/j.log"
  "$PY" tests/gen/journal_export.py "$T/j.log" 2026 >"$T/j.export"
  /lib/systemd/systemd-journal-remote -o "$T/j.journal" - <"$T/j.export" 2>"$T/jr.err"
  journalctl --file "$T/j.journal" -o json >"$T/j.json" 2>>"$T/jr.err"
  journalctl --file "$T/j.journal" -o short-iso >"$T/j.iso" 2>>"$T/jr.err"
  for f in j.log j.json j.iso; do "$BIN" read -q --maillog --log-tz UTC --db "$T/$f.db" "$T/$f"; done
  if grep -q '"MESSAGE":\[' "$T/j.json" && "$PY" - "$T/j.log.db" "$T/j.json.db" "$T/j.iso.db" <<'PY'
import sqlite3, sys
q = "SELECT at, queue_id, rcpt_domain, relay_ip, status, code, reply, stage FROM deliveries ORDER BY at, queue_id"
a, b, c = (sqlite3.connect(p).execute(q).fetchall() for p in sys.argv[1:])
assert len(a) == 6 and a == b, (len(a), len(b), [x for x in b if x not in a][:2])
# short-iso is for people: journalctl drops the ANSI sequence from the text
plain = [r[:6] + ((r[6] or "").replace("\x1b[31m", "") or None,) + r[7:] for r in a]
assert c == plain, [x for x in c if x not in plain][:2]
assert any("\x1b[31mhost" in (r[6] or "") for r in b), b
m = "SELECT host, queue_id, message_id, sender_domain FROM messages ORDER BY 2"
assert sqlite3.connect(sys.argv[1]).execute(m).fetchall() == sqlite3.connect(sys.argv[2]).execute(m).fetchall()
PY
  then ok "journalctl -o json (a binary MESSAGE among them) and -o short-iso of a real journal file: the same 6 attempts and messages as the syslog file"
  else ko "journal forms: $(cat "$T/jr.err" | tail -3)"; fi
else
  ko "journal forms: systemd-journal-remote or journalctl missing (scripts/deps.sh installs them)"
fi

mkdir -p "$T/mlw"
L=$(grep "status=bounced" tests/data/maillog-postfix-sender.log | head -1)
line_n() { echo "$L" | sed "s/^\([^:]*:[^:]*:[^ ]* [^ ]* [^ ]*\) [0-9A-F]*:/\1 Q$1:/"; }
mlcount() { "$PY" -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1], timeout=5).execute('SELECT count(*) FROM deliveries').fetchone()[0])" "$T/mlw/w.db" 2>/dev/null; }
has_n() { [ "$(mlcount)" = "$1" ]; }
start_mw() {
  "$BIN" watch --maillog "$T/mlw/mail.log" --log-tz UTC --db "$T/mlw/w.db" --flush-every 1s \
    --stats-every 1s --metrics-file "$T/mlw/m.prom" --pidfile "$T/mlw/w.pid" 2>>"$T/mlw/w.log" &
  MW=$!
  wait_ready "$T/mlw/w.pid" "$MW"
}
echo "old line before the watch" >"$T/mlw/mail.log"
: >"$T/mlw/w.log"
mw_bad=""
start_mw || mw_bad="$mw_bad [not ready]"
line_n 1 >>"$T/mlw/mail.log"
wait_until 30 has_n 1 || mw_bad="$mw_bad [appended line]"
mv "$T/mlw/mail.log" "$T/mlw/mail.log.1"
line_n 2 >>"$T/mlw/mail.log.1" # the writer has not reopened yet
line_n 3 >"$T/mlw/mail.log"
wait_until 30 has_n 3 || mw_bad="$mw_bad [rename rotation: $(mlcount)]"
cp "$T/mlw/mail.log" "$T/mlw/mail.log.2"
: >"$T/mlw/mail.log"
line_n 4 >>"$T/mlw/mail.log"
wait_until 30 has_n 4 || mw_bad="$mw_bad [copytruncate: $(mlcount)]"
kill -HUP "$MW"
line_n 5 >>"$T/mlw/mail.log"
wait_until 30 has_n 5 || mw_bad="$mw_bad [after SIGHUP: $(mlcount)]"
kill -TERM "$MW"
wait "$MW"
rc1=$?
line_n 6 >>"$T/mlw/mail.log"
start_mw || mw_bad="$mw_bad [restart not ready]"
wait_until 30 has_n 6 || mw_bad="$mw_bad [after the restart: $(mlcount)]"
# The metrics say what the follower did: one line read since the restart.
prom_lines() { grep -qx "egressaudit_log_lines_total{path=\"$T/mlw/mail.log\"} 1" "$T/mlw/m.prom" 2>/dev/null; }
wait_until 30 prom_lines || mw_bad="$mw_bad [metrics: $(grep log_ "$T/mlw/m.prom" | tr '\n' ' ')]"
kill -TERM "$MW"
wait "$MW"
rc2=$?
n2=$(grep "stopped:" "$T/mlw/w.log" | tail -1 | sed -n 's/.*; \([0-9]*\) log lines read.*/\1/p')
[ -z "$mw_bad" ] && [ "$rc1$rc2" = 00 ] && [ "$n2" = 1 ] && [ "$(mlcount)" = 6 ] &&
  ok "watch --maillog (no capture): appended, renamed (late lines of the old file too), copytruncated, SIGHUP; the restart read the 1 new line only (its metrics say so too)" ||
  ko "watch --maillog:$mw_bad exits $rc1 $rc2, restart read '$n2' lines; $(tail -3 "$T/mlw/w.log")"
"$BIN" watch --maillog "$T/mlw" --db "$T/mlw/w.db" 2>"$T/err"; rc=$?
[ "$rc" = 66 ] && grep -q "not a regular file" "$T/err" && ok "watch --maillog on a directory: 66, said" ||
  ko "watch --maillog DIR: exit $rc; $(cat "$T/err")"

# 7c. A fleet's events (no root: the capture side is the fleet suite's).
# read --jsonl of another host's sessions gives back every field (the
# hostile banner's bytes too), at HOST:POINT; again adds nothing; a bad
# line is named (file, line, key), the run fails 65 and the good lines stay.
mkdir -p "$T/fl"
"$BIN" sessions --db "$T/main.pcap.db" --format jsonl >"$T/fl/a.jsonl"
"$BIN" read --db "$T/fl/c.db" --jsonl --host mail01 "$T/fl/a.jsonl" 2>"$T/fl/r1.err"; rc1=$?
"$BIN" read --db "$T/fl/c.db" --jsonl --host mail01 "$T/fl/a.jsonl" 2>"$T/fl/r2.err"; rc2=$?
"$BIN" sessions --db "$T/fl/c.db" --format jsonl >"$T/fl/c.jsonl"
if [ "$rc1$rc2" = 00 ] && grep -q "0 new" "$T/fl/r2.err" && "$PY" - "$T/fl/a.jsonl" "$T/fl/c.jsonl" <<'PY'
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
c = [json.loads(l) for l in open(sys.argv[2])]
assert len(a) == len(c) > 10, (len(a), len(c))
for x, y in zip(a, c):
    assert y["point"] == "mail01:" + x["point"], (x["point"], y["point"])
    y["point"] = x["point"]
    assert x == y, [k for k in x if x[k] != y.get(k)]
assert any("\\x1b" in (x["banner"] or "") for x in c)
PY
then ok "read --jsonl: $(wc -l <"$T/fl/a.jsonl") sessions of another host back field for field (the hostile banner too) at mail01:POINT; again: 0 new"
else ko "read --jsonl round trip: exits $rc1 $rc2; $(cat "$T/fl/r1.err" "$T/fl/r2.err" | tail -3)"; fi
{ head -2 "$T/fl/a.jsonl"; echo "garbage"; sed -n 3p "$T/fl/a.jsonl" | sed 's/"src_port":[0-9]*/"src_port":70000/'; sed -n 4p "$T/fl/a.jsonl"; } >"$T/fl/bad.jsonl"
"$BIN" read --db "$T/fl/bad.db" --jsonl --host mail02 "$T/fl/bad.jsonl" 2>"$T/fl/bad.err"; rc=$?
[ "$rc" = 65 ] && grep -q "bad.jsonl: line 3: not JSON" "$T/fl/bad.err" &&
  grep -q 'bad.jsonl: line 4: "src_port": out of range' "$T/fl/bad.err" &&
  [ "$(nsessions "$T/fl/bad.db")" = 3 ] &&
  ok "read --jsonl of bad lines: each named (file, line, key), exit 65, the 3 good sessions stored" ||
  ko "read --jsonl bad lines: exit $rc, $(nsessions "$T/fl/bad.db") stored; $(cat "$T/fl/bad.err")"

# watch --jsonl follows another host's events and --events writes its own:
# a restart goes on from the last event written, SIGHUP reopens a rotated
# events file, a link planted at the events path is refused.
fl_start() {
  "$BIN" watch --jsonl "$T/fl/in.jsonl" --events "$T/fl/out.jsonl" --host central \
    --db "$T/fl/w.db" --pidfile "$T/fl/w.pid" 2>>"$T/fl/w.log" &
  FW=$!
  wait_ready "$T/fl/w.pid" "$FW"
}
out_n() { cat "$T/fl/out.jsonl" "$T/fl/out.jsonl.1" 2>/dev/null | grep -c '"type":"session"'; }
has_out() { [ "$(out_n)" -ge "$1" ]; }
fl_bad=""
sed -n 1,3p "$T/fl/a.jsonl" >"$T/fl/in.jsonl"
fl_start || fl_bad="$fl_bad [not ready]"
wait_until 30 has_out 3 || fl_bad="$fl_bad [first 3: $(out_n)]"
sed -n 4,5p "$T/fl/a.jsonl" >>"$T/fl/in.jsonl"
wait_until 30 has_out 5 || fl_bad="$fl_bad [appended: $(out_n)]"
kill -TERM "$FW"; wait "$FW"; rc1=$?
sed -n 6,7p "$T/fl/a.jsonl" >>"$T/fl/in.jsonl"
fl_start || fl_bad="$fl_bad [restart not ready]"
wait_until 30 has_out 7 || fl_bad="$fl_bad [after the restart: $(out_n)]"
mv "$T/fl/out.jsonl" "$T/fl/out.jsonl.1"
kill -HUP "$FW"
sed -n 8p "$T/fl/a.jsonl" | sed 's/^{/{"host":"mail09",/' >>"$T/fl/in.jsonl"
wait_until 30 test -s "$T/fl/out.jsonl" || fl_bad="$fl_bad [no new file after SIGHUP]"
wait_until 30 has_out 8 || fl_bad="$fl_bad [after SIGHUP: $(out_n)]"
kill -TERM "$FW"; wait "$FW"; rc2=$?
uniq_n=$(cat "$T/fl/out.jsonl" "$T/fl/out.jsonl.1" | grep '"type":"session"' | "$PY" -c "
import json, sys
print(len({(e['point'], e['first_seen'], e['src_port']) for e in map(json.loads, sys.stdin)}))")
[ -z "$fl_bad" ] && [ "$rc1$rc2" = 00 ] && [ "$(out_n)" = 8 ] && [ "$uniq_n" = 8 ] &&
  [ "$(grep -c '"type":"session"' "$T/fl/out.jsonl")" = 1 ] &&
  grep -q '"host":"central"' "$T/fl/out.jsonl.1" &&
  grep -q '"host":"mail09",.*"point":"mail09:' "$T/fl/out.jsonl" &&
  ok "watch --jsonl --events: 8 sessions followed and written once each, through a restart and a SIGHUP rotation; an imported one keeps its sender's host" ||
  ko "watch --jsonl --events:$fl_bad exits $rc1 $rc2, $(out_n) written ($uniq_n distinct); $(tail -3 "$T/fl/w.log")"
ln -s "$T/fl/elsewhere" "$T/fl/link.jsonl"
"$BIN" watch --jsonl "$T/fl/in.jsonl" --events "$T/fl/link.jsonl" --db "$T/fl/w.db" 2>"$T/err"; rc=$?
[ "$rc" = 77 ] && [ ! -e "$T/fl/elsewhere" ] && grep -q "link.jsonl" "$T/err" &&
  ok "watch --events at a planted link: refused (77), nothing written through it" ||
  ko "watch --events link: exit $rc; $(cat "$T/err")"

# --events-syslog to a socket that is not there yet: the events wait in
# the database and go once a reader binds it (a Python datagram socket
# standing in for rsyslog's; the fleet suite runs rsyslog itself).
rm -f "$T/fl/log.sock"
sed -n 1,2p "$T/fl/a.jsonl" >"$T/fl/in2.jsonl"
"$BIN" watch --jsonl "$T/fl/in2.jsonl" --events-syslog="$T/fl/log.sock" --host central \
  --db "$T/fl/w2.db" --pidfile "$T/fl/w2.pid" 2>"$T/fl/w2.log" &
FW=$!
wait_ready "$T/fl/w2.pid" "$FW" || ko "syslog watch not ready"
imported2() { [ "$(nsessions "$T/fl/w2.db")" -ge 2 ]; }
wait_until 30 imported2
"$PY" - "$T/fl/log.sock" "$T/fl/sys.out" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(60)
with open(sys.argv[2], "w") as out:
    for _ in range(2):
        out.write(s.recv(262144).decode() + "\n")
        out.flush()
PY
SY=$!
wait "$SY"
kill -TERM "$FW"; wait "$FW"
"$PY" - "$T/fl/sys.out" <<'PY' && ok "--events-syslog: the two events waited for the socket, then came as '<22>Mmm dd hh:mm:ss egressaudit[PID]: {JSON}'" || ko "--events-syslog: $(head -c 300 "$T/fl/sys.out"); $(tail -2 "$T/fl/w2.log")"
import json, re, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 2, lines
for l in lines:
    m = re.match(r"<22>[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d egressaudit\[\d+\]: (\{.*\})$", l)
    assert m, l
    e = json.loads(m.group(1))
    assert e["type"] == "session" and e["host"] == "central", e
PY

# 7d. A database whose write lock another process holds (a busy watch
# between two commits): opening it to write needs no lock when its schema
# is current, so a run with nothing to write goes through at once.
"$PY" - "$T/fl/c.db" "$T/fl/locked" <<'PY' &
import os, sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN IMMEDIATE")
open(sys.argv[2], "w").close()
while os.path.exists(sys.argv[2]):
    time.sleep(0.05)
c.execute("ROLLBACK")
PY
LK=$!
wait_until 30 test -e "$T/fl/locked"
"$BIN" read -q --jsonl --db "$T/fl/c.db" /dev/null 2>"$T/err"; rc=$?
rm -f "$T/fl/locked"
wait "$LK"
[ "$rc" = 0 ] && ok "a database another process holds the write lock of: opened to write (schema current), nothing to write, exit 0" ||
  ko "open beside a held write lock: exit $rc; $(cat "$T/err")"

# 7e. preflight --postconf: the real postconf reads a Postfix configuration
# directory; its smtp_helo_name and smtp_bind_address are compared with the
# egress sessions of the demo capture (HELO names and sources it holds).
if command -v postconf >/dev/null || [ -x /usr/sbin/postconf ]; then
  mkdir -p "$T/pc"
  "$BIN" read -q --db "$T/pc/d.db" --local 203.0.113.0/24 tests/data/demo.pcapng
  printf 'myhostname = mail01.example.com\nsmtp_bind_address = 203.0.113.10\n' >"$T/pc/main.cf"
  "$BIN" preflight --postconf="$T/pc" --db "$T/pc/d.db" --format json >"$T/pc/1.json"; rc1=$?
  printf 'myhostname = mail01.example.com\n' >"$T/pc/main.cf"
  "$BIN" preflight --postconf="$T/pc" --db "$T/pc/d.db" --format json >"$T/pc/2.json"; rc2=$?
  "$BIN" preflight --postconf="$T/pc/nope" --db "$T/pc/d.db" 2>"$T/pc/3.err"; rc3=$?
  "$PY" - "$T/pc/1.json" "$T/pc/2.json" <<'PY' && [ "$rc1$rc2$rc3" = "1166" ] && grep -q "postconf failed (exit [0-9]*), with -c $T/pc/nope" "$T/pc/3.err" &&
import json, sys
a = {c["check"]: c for c in json.load(open(sys.argv[1]))[0]["checks"]}
b = {c["check"]: c for c in json.load(open(sys.argv[2]))[0]["checks"]}
assert a["mta-helo"]["status"] == "fail" and "other.example.org (1)" in a["mta-helo"]["detail"], a
assert a["mta-bind"]["status"] == "fail" and "203.0.113.11 (2)" in a["mta-bind"]["detail"], a
assert "203.0.113.10 (" not in a["mta-bind"]["detail"].split("left from")[1], a
assert b["mta-bind"]["status"] == "pass" and "no bind address" in b["mta-bind"]["detail"], b
PY
    ok "preflight --postconf (the real postconf -c DIR): HELO and bind address against the sessions; unset bind passes; a missing directory 66" ||
    ko "preflight --postconf: exits $rc1 $rc2 $rc3; $(cat "$T/pc/1.json" "$T/pc/3.err" | head -c 600)"
else
  ko "postconf missing (scripts/deps.sh installs postfix)"
fi

# 7e. Incremental analysis: the fold (the settled sessions' sums kept by
# the last analysis of all history) plus what came after gives the same
# findings, identities and NAT map as reading everything (--full), on a
# gateway's two capture points (the real captures and 20,000 generated
# sessions, twins among them); a change to settled sessions (prune, a
# deleted session) makes the next run full.
IA="$T/incr"; mkdir -p "$IA"
"$BIN" read -q --db "$IA/a.db" --point gw:out tests/data/real-nat.pcap
"$BIN" read -q --db "$IA/a.db" --point gw:in tests/data/real-both.pcap
"$PY" tests/gen/histgen.py "$IA/a.db" 20000 0 "$IA/zones"
ia() { ia_db=$1; shift; "$BIN" analyze --db "$IA/$ia_db.db" --resolver 127.0.0.1:9 --dns-timeout 100 "$@" 2>&1 | grep '^read'; }
ia_same() { # the two databases' verdicts, row for row
  for q in "SELECT rule, severity, subject, ident, detail, fix, count, first_seen, last_seen, status FROM findings ORDER BY 1, 3, 4" \
           "SELECT ip, iprev, ptr, helos, sources, echoed, sessions, rejected, starttls, tls_logged, first_seen, last_seen, points FROM identities ORDER BY ip" \
           "SELECT inside_ip, outside_ip, point_in, point_out, first_seen, last_seen, sessions FROM nat_map ORDER BY 1, 2"; do
    [ "$(sqlite3 "$IA/a.db" "$q" | md5sum)" = "$(sqlite3 "$IA/b.db" "$q" | md5sum)" ] || { echo "differs: $q"; return 1; }
  done
}
ia_step() { # what happens, then: a incremental (or full: $1), b --full
  cp "$IA/a.db" "$IA/b.db"; rm -f "$IA/b.db-wal" "$IA/b.db-shm"
  la=$(ia a); lb=$(ia b --full)
  echo "$la" | grep -q "$1" && echo "$lb" | grep -q "full: asked for" && ia_same || { echo "$la / $lb"; return 1; }
}
l0=$(ia a)
"$PY" tests/gen/histgen.py "$IA/a.db" 700 1
s1=$(ia_step "sums of the last analysis and" 2>&1) && s1=ok
# the real MTA logs (their rejects and failed connections) come in
for f in tests/data/maillog-*.log; do
  "$BIN" read -q --maillog --log-tz UTC --db "$IA/a.db" "$f" >/dev/null 2>&1
done
sm=$(ia_step "^read" 2>&1) && sm=ok
"$PY" tests/gen/histgen.py "$IA/a.db" 200 1
sm2=$(ia_step "sums of the last analysis and" 2>&1) && sm2=ok
sqlite3 "$IA/a.db" "DELETE FROM sessions WHERE id = (SELECT min(id) FROM sessions WHERE helo IS NOT NULL)"
s2=$(ia_step "full: settled sessions changed" 2>&1) && s2=ok
"$PY" tests/gen/histgen.py "$IA/a.db" 300 1
s3=$(ia_step "sums of the last analysis and" 2>&1) && s3=ok
"$BIN" prune --db "$IA/a.db" --older-than 4h >/dev/null
s4=$(ia_step "full: settled sessions changed" 2>&1) && s4=ok
w=$(ia a --since 1h)
nf=$(sqlite3 "$IA/a.db" "SELECT count(*) FROM findings WHERE status = 'open'")
if echo "$l0" | grep -q "full: no fold yet" && [ "$s1$sm$sm2$s2$s3$s4" = okokokokokok ] &&
   echo "$w" | grep -q "the window's" && [ "$nf" -gt 100 ] &&
   [ "$(sqlite3 "$IA/a.db" "SELECT count(*) FROM fold_groups")" -gt 0 ]; then
  ok "incremental analysis: new sessions, the MTA logs, new again, a deleted one, new again, prune: each run's $nf findings, identities and NAT map equal --full's (two points, twins)"
else ko "incremental analysis: first '$l0'; steps '$s1' '$sm' '$sm2' '$s2' '$s3' '$s4'; window '$w'; $nf findings"; fi

# 8. Root on a directory the service account writes in (its state
# directory): what that account plants there is refused, by every command
# that writes, and nothing is created or changed at the link's target.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
  as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
  mkdir -p "$T/svc" "$T/etc"
  chown nobody "$T/svc"
  chmod 750 "$T/svc"
  chmod 755 "$T"
  "$PY" -c "import sqlite3,sys; sqlite3.connect(sys.argv[1]).execute('create table secret(x)')" "$T/etc/root.db"
  for cmd in "read -q X tests/data/real-nat.pcap" "analyze -q X --resolver 127.0.0.1:9" "prune X --older-than 1d"; do
    for target in "$T/etc/cron.x" "$T/etc/root.db"; do
      for at in "" -wal -shm; do
        rm -f "$T/svc/"*
        as_nobody ln -s "$target$at" "$T/svc/egress.db$at"
        # shellcheck disable=SC2086
        set -- $cmd
        c=$1
        shift
        args=$(echo "$*" | sed "s|X|--db $T/svc/egress.db|")
        # shellcheck disable=SC2086
        "$BIN" "$c" $args 2>"$T/err"; rc=$?
        tables=$("$PY" -c "import sqlite3,sys; print(len(sqlite3.connect(sys.argv[1]).execute('select name from sqlite_master').fetchall()))" "$T/etc/root.db")
        if [ "$rc" = 77 ] && [ ! -e "$T/etc/cron.x" ] && [ ! -e "$T/etc/cron.x-wal" ] && [ "$tables" = 1 ] &&
          [ "$(stat -c %U "$T/etc/root.db")" = root ] && grep -q "symbolic link" "$T/err"; then
          ok "$c as root, link egress.db$at -> $(basename "$target$at") planted by the service account: 77, target untouched"
        else
          ko "$c, planted egress.db$at -> $target$at: exit $rc, $tables tables; $(cat "$T/err")"
        fi
      done
    done
  done
  rm -f "$T/svc/"*
  # Root reading the account's own database (the normal case) still works,
  # and a database that is read-only for its user says so (77).
  as_nobody "$BIN" read -q --db "$T/svc/egress.db" tests/data/real-nat.pcap
  n=$(nsessions "$T/svc/egress.db")
  [ "$n" -ge 1 ] && "$BIN" report --db "$T/svc/egress.db" >/dev/null; rc=$?
  [ "$n" -ge 1 ] && [ "$rc" -lt 64 ] && ok "root reads the service account's database ($n sessions, report exit $rc)" ||
    ko "root on the account's database: $n sessions, report exit $rc"
  "$BIN" read -q --db "$T/etc/root.db" tests/data/real-nat.pcap 2>/dev/null
  chmod 644 "$T/etc/root.db"
  as_nobody "$BIN" read -q --db "$T/etc/root.db" tests/data/real-rot.pcap 2>"$T/err"; rc=$?
  [ "$rc" = 77 ] && grep -q "read-only for this user" "$T/err" && ok "database read-only for its user: 77, says read-only" ||
    ko "read-only database: exit $rc; $(cat "$T/err")"
  # Disk full during read: the error names the full file system and counts
  # what was really committed (it said "cannot rollback - no transaction
  # is active" and counted the sessions of the lost batch as stored).
  "$PY" tests/gen/benchgen.py --synflood "$T/flood.pcap" 30000 >/dev/null
  mkdir -p "$T/tiny"
  if mount -t tmpfs -o size=1m tmpfs "$T/tiny"; then
    "$BIN" read -q --db "$T/tiny/f.db" "$T/flood.pcap" 2>"$T/err"; rc=$?
    said=$(sed -n 's/.*; \([0-9]*\) new sessions of this run are stored.*/\1/p' "$T/err")
    n=$(nsessions "$T/tiny/f.db")
    integ=$("$PY" -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA integrity_check').fetchone()[0])" "$T/tiny/f.db")
    umount "$T/tiny"
    if [ "$rc" = 73 ] && grep -q "disk is full (the file system holding $T/tiny has" "$T/err" &&
      ! grep -q "no transaction" "$T/err" && [ -n "$said" ] && [ "$said" = "$n" ] && [ "$integ" = ok ]; then
      ok "disk full during read: exit 73, names the file system, says $said stored and $n are; integrity ok"
    else
      ko "disk full during read: exit $rc, said '$said', $n stored, integrity $integ; $(cat "$T/err")"
    fi
  else
    ko "cannot mount a small tmpfs for the disk-full test"
  fi
else
  echo "integration: planted-link checks skipped (need root and setpriv)"
fi

echo "integration: $pass passed, $fail failed"
[ "$fail" = 0 ]
