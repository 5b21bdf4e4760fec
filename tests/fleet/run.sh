#!/bin/sh
# A fleet in one view (make fleet-check; part of make check; needs root,
# reported as skipped otherwise). Five network namespaces, no route
# anywhere else:
#
#   mail01 ea-fa0 10.0.1.10 -- ea-fga              ea-fgo -- ea-fm0  mx
#                                 gw1  SNAT 10/8 -> 203.0.113.10     198.51.100.25 Postfix
#   mail02 ea-fb0 10.0.2.10 -- ea-fgb              ea-fgc -- ea-fc0  central 192.0.2.2
#
# Each of mail01, mail02 and gw1 runs its own `egressaudit watch` (the
# senders on their one interface, the gateway on its outside one) with
# --events, and its own rsyslogd forwarding the events over TCP to the
# central rsyslogd (imtcp -> omfile), three ways: mail01 to rsyslog's
# socket as syslog(3) writes (imuxsock), mail02 to a file rsyslog follows
# (imfile), gw1 as RFC 5424 (imuxsock without its special parser). The
# central `egressaudit watch --jsonl` follows the file rsyslog writes.
# swaks sends from both senders (mail02 greets as localhost; Postfix
# rejects that at RCPT). Checked: the central database holds every
# session of every host, once (through a restart of a host's watch and a
# stop of a host's rsyslogd); analyze + report there show the three hosts,
# the NAT map of both inside hosts through gw1 (inside captures paired with
# the gateway's outside one, across hosts), and mail02 silent once its
# watch is stopped. Prints "fleet: N passed, N failed".
set -u
BIN=$(cd "$(dirname "${EA_BIN:-build/egressaudit}")" && pwd)/$(basename "${EA_BIN:-build/egressaudit}")
PY=${PYTHON:-python3}
NTESTS=10
if [ "$(id -u)" != 0 ]; then
  echo "fleet: skipped (needs root)"
  echo "fleet: 0 passed, 0 failed, $NTESTS skipped"
  exit 0
fi
for t in postfix swaks nsd rsyslogd ip nft tcpdump; do
  command -v "$t" >/dev/null || { echo "fleet: $t missing (run scripts/deps.sh as root)"; exit 1; }
done
A=ea-fa-$$ B=ea-fb-$$ G=ea-fg-$$ M=ea-fm-$$ C=ea-fc-$$
T=$(mktemp -d /tmp/ea-fleet.XXXXXX)
chmod 755 "$T"
HC=""
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}

alive() { [ -r "/proc/$1/stat" ] && ! awk '$3 == "Z" {exit 0} {exit 1}' "/proc/$1/stat" 2>/dev/null; }
stop_pid() {
  kill -TERM "$1" 2>/dev/null || return 0
  i=0
  while alive "$1" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  kill -KILL "$1" 2>/dev/null
  return 0
}
cleanup() {
  [ -n "$HC" ] && kill -KILL "$HC" 2>/dev/null
  [ -s "$T/pf/spool/pid/master.pid" ] && stop_pid "$(tr -d ' ' <"$T/pf/spool/pid/master.pid")"
  for ns in "$A" "$B" "$G" "$M" "$C"; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  if [ -n "${EA_FLEET_KEEP:-}" ]; then echo "fleet: kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
. tests/lib.sh

LEAK='net 198.51.100.0/24 or net 203.0.113.0/24 or net 192.0.2.0/24 or net 10.0.0.0/8 or port 53 or port 10514'
tcpdump -n -i any -U -Z root -w "$T/host.pcap" "$LEAK" 2>"$T/hostcap.log" &
HC=$!
wait_until 30 pcap_started "$T/host.pcap" || ko "host capture did not start: $(cat "$T/hostcap.log")"

# --- network ------------------------------------------------------------
for ns in "$A" "$B" "$G" "$M" "$C"; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip link add ea-fa0 netns "$A" type veth peer name ea-fga netns "$G"
ip link add ea-fb0 netns "$B" type veth peer name ea-fgb netns "$G"
ip link add ea-fgo netns "$G" type veth peer name ea-fm0 netns "$M"
ip link add ea-fgc netns "$G" type veth peer name ea-fc0 netns "$C"
for x in "$A ea-fa0" "$B ea-fb0" "$G ea-fga" "$G ea-fgb" "$G ea-fgo" "$G ea-fgc" \
  "$M ea-fm0" "$C ea-fc0"; do
  set -- $x
  ip -n "$1" link set "$2" up
done
ip -n "$A" addr add 10.0.1.10/24 dev ea-fa0
ip -n "$B" addr add 10.0.2.10/24 dev ea-fb0
ip -n "$G" addr add 10.0.1.1/24 dev ea-fga
ip -n "$G" addr add 10.0.2.1/24 dev ea-fgb
ip -n "$G" addr add 198.51.100.1/24 dev ea-fgo
ip -n "$G" addr add 192.0.2.1/24 dev ea-fgc
ip -n "$M" addr add 198.51.100.25/24 dev ea-fm0
ip -n "$C" addr add 192.0.2.2/24 dev ea-fc0
ip -n "$A" route add default via 10.0.1.1
ip -n "$B" route add default via 10.0.2.1
ip -n "$M" route add 203.0.113.0/24 via 198.51.100.1
ip -n "$C" route add 10.0.0.0/8 via 192.0.2.1
ip netns exec "$G" sysctl -qw net.ipv4.ip_forward=1
printf 'flush ruleset\ntable ip ea_nat {\n chain post {\n  type nat hook postrouting priority srcnat; policy accept;\n  oifname "ea-fgo" ip saddr 10.0.0.0/8 snat to 203.0.113.10\n }\n}\n' |
  ip netns exec "$G" nft -f - || ko "nft snat"

# --- DNS for the central analysis: NSD in central, on its loopback --------
ip netns exec "$C" tests/dns/nsd.sh start "$T/nsd" 5353 >/dev/null || { ko "nsd start"; exit 1; }

# --- Postfix in mx: a HELO that is not a FQDN is rejected at RCPT --------
P=$T/pf
mkdir -p "$P/etc" "$P/spool" "$P/data"
chown postfix:postfix "$P/data"
cat >"$P/etc/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $P/spool
data_directory = $P/data
mail_owner = postfix
setgid_group = postdrop
maillog_file_prefixes = $T
maillog_file = $P/maillog
myhostname = mx.example.net
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
relay_domains = example.net
relay_recipient_maps =
relay_transport = discard:fleet
mynetworks = 127.0.0.0/8
inet_interfaces = all
inet_protocols = ipv4
smtputf8_enable = no
smtpd_banner = \$myhostname ESMTP fleet
smtpd_helo_required = yes
smtpd_helo_restrictions = reject_non_fqdn_helo_hostname
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
CF
cat >"$P/etc/master.cf" <<'CF'
198.51.100.25:smtp inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
proxymap  unix  - - n - - proxymap
showq     unix  n - n - - showq
error     unix  - - n - - error
discard   unix  - - n - - discard
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
CF
ip netns exec "$M" postfix -c "$P/etc" start >"$T/pf.log" 2>&1 || { ko "postfix start: $(cat "$T/pf.log")"; exit 1; }

# --- rsyslog: the central collector, and one forwarder per host ----------
# rs_start NS DIR: rsyslogd -n with DIR/rsyslog.conf, its pid in DIR/rs.pid
# (written once its inputs are up: our readiness signal).
rs_start() {
  rm -f "$2/rs.pid"
  ip netns exec "$1" rsyslogd -n -f "$2/rsyslog.conf" -i "$2/rs.pid" >>"$2/rs.log" 2>&1 &
  wait_until 30 test -s "$2/rs.pid" || ko "rsyslogd in $2 did not start: $(tail -3 "$2/rs.log")"
}
rs_stop() { stop_pidfile "$1/rs.pid" "$1/rsyslog.conf"; }
mkdir -p "$T/c/rs" "$T/a/rs" "$T/b/rs" "$T/g/rs"
cat >"$T/c/rsyslog.conf" <<CF
global(workDirectory="$T/c/rs" maxMessageSize="64k")
module(load="imtcp")
input(type="imtcp" address="192.0.2.2" port="10514")
template(name="msgonly" type="string" string="%msg%\n")
if \$programname == "egressaudit" then action(type="omfile" file="$T/c/events.jsonl" template="msgonly")
CF
# fwd: forward over TCP as RFC 5424, queued on disk while central is away.
fwd='action(type="omfwd" target="192.0.2.2" port="10514" protocol="tcp" template="RSYSLOG_SyslogProtocol23Format" queue.type="LinkedList" queue.filename="fwd" queue.saveOnShutdown="on" action.resumeRetryCount="-1" action.resumeInterval="1")'
cat >"$T/a/rsyslog.conf" <<CF
global(workDirectory="$T/a/rs" maxMessageSize="64k")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="$T/a/log.sock" RateLimit.Interval="0")
if \$programname == "egressaudit" then $fwd
CF
cat >"$T/b/rsyslog.conf" <<CF
global(workDirectory="$T/b/rs" maxMessageSize="64k")
module(load="imfile")
input(type="imfile" File="$T/b/events.jsonl" Tag="egressaudit" freshStartTail="off")
if \$programname == "egressaudit" then $fwd
CF
cat >"$T/g/rsyslog.conf" <<CF
global(workDirectory="$T/g/rs" maxMessageSize="64k")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="$T/g/log.sock" RateLimit.Interval="0" UseSpecialParser="off" ParseHostname="on")
if \$programname == "egressaudit" then $fwd
CF
rs_start "$C" "$T/c"
rs_start "$A" "$T/a"
rs_start "$B" "$T/b"
rs_start "$G" "$T/g"

# --- the watches ------------------------------------------------------------
# wstart NS DIR ARGS...: egressaudit watch in NS, database DIR/w.db, ready
# when DIR/w.pid holds its pid.
wstart() {
  _ns=$1 _d=$2
  shift 2
  rm -f "$_d/w.pid"
  ip netns exec "$_ns" "$BIN" watch --db "$_d/w.db" --flush-every 1s --stats-every 1s \
    --pidfile "$_d/w.pid" "$@" 2>>"$_d/w.log" &
  wait_ready "$_d/w.pid" $! || ko "watch in $_d not ready: $(tail -2 "$_d/w.log")"
}
wstop() { stop_pidfile "$1/w.pid" "$1/w.db"; }
wstart "$A" "$T/a" -i ea-fa0 --host mail01 --events-syslog="$T/a/log.sock"
wstart "$B" "$T/b" -i ea-fb0 --host mail02 --events "$T/b/events.jsonl"
wstart "$G" "$T/g" -i ea-fgo --host gw1 --local 203.0.113.10/32 \
  --events-syslog="$T/g/log.sock" --events-syslog-format rfc5424
wstart "$C" "$T/c" --jsonl "$T/c/events.jsonl" --host central

sw_bad=""
# sw NS RC ARGS...: one swaks dialogue up to RCPT from NS; exit code RC.
sw() {
  _ns=$1 want=$2
  shift 2
  ip netns exec "$_ns" swaks --silent 2 --timeout 10 --from alice@example.com \
    --to bob@example.net --server 198.51.100.25 --quit-after RCPT "$@" >>"$T/swaks.log" 2>&1
  got=$?
  [ "$got" = "$want" ] || sw_bad="$sw_bad [$_ns $* -> $got, not $want]"
}

# npoint DB POINT: sessions stored at that capture point.
npoint() { "$BIN" sessions --db "$1" --point "$2" --format jsonl 2>/dev/null | wc -l; }
# synced: the central database holds, per host, what the host holds.
synced() {
  [ "$(npoint "$T/c/w.db" mail01:ea-fa0)" = "$(npoint "$T/a/w.db" mail01:ea-fa0)" ] &&
    [ "$(npoint "$T/c/w.db" mail02:ea-fb0)" = "$(npoint "$T/b/w.db" mail02:ea-fb0)" ] &&
    [ "$(npoint "$T/c/w.db" gw1:ea-fgo)" = "$(npoint "$T/g/w.db" gw1:ea-fgo)" ]
}
atleast() { [ "$(npoint "$1" "$2")" -ge "$3" ]; }

# Phase 1: three sessions from mail01, two from mail02.
sw "$A" 0 --helo mail01.example.com
sw "$A" 0 --helo mail01.example.com
sw "$B" 24 --helo localhost
sw "$A" 0 --helo mail01.example.com
sw "$B" 24 --helo localhost
wait_until 60 atleast "$T/a/w.db" mail01:ea-fa0 3 && wait_until 60 atleast "$T/b/w.db" mail02:ea-fb0 2 &&
  wait_until 60 atleast "$T/g/w.db" gw1:ea-fgo 5 && wait_until 60 synced &&
  [ -z "$sw_bad" ] &&
  ok "five sessions of three hosts reached the central database through rsyslog (syslog socket, file, RFC 5424)" ||
  ko "phase 1: central has mail01 $(npoint "$T/c/w.db" mail01:ea-fa0)/$(npoint "$T/a/w.db" mail01:ea-fa0), mail02 $(npoint "$T/c/w.db" mail02:ea-fb0)/$(npoint "$T/b/w.db" mail02:ea-fb0), gw1 $(npoint "$T/c/w.db" gw1:ea-fgo)/$(npoint "$T/g/w.db" gw1:ea-fgo)$sw_bad"

# Phase 2: mail01's watch restarts; mail01's rsyslogd is down for a while
# (the events wait in mail01's database, then go).
wstop "$T/a"
wstart "$A" "$T/a" -i ea-fa0 --host mail01 --events-syslog="$T/a/log.sock"
rs_stop "$T/a"
sw "$A" 0 --helo mail01.example.com
sw "$A" 0 --helo mail01.example.com
wait_until 60 atleast "$T/a/w.db" mail01:ea-fa0 5 || ko "mail01 did not store its sessions"
down_c=$(npoint "$T/c/w.db" mail01:ea-fa0)
rs_start "$A" "$T/a"
wait_until 60 synced && [ "$down_c" = 3 ] &&
  ok "a restart of mail01's watch and a stop of its rsyslogd lost nothing (central had 3 while the forwarder was down, 5 after)" ||
  ko "phase 2: central had $down_c of mail01 while its rsyslogd was down; now $(npoint "$T/c/w.db" mail01:ea-fa0) of $(npoint "$T/a/w.db" mail01:ea-fa0)"

# Nothing twice: each host's session events reached the central file once.
dups=$("$PY" - "$T/c/events.jsonl" <<'PY'
import json, sys, collections
seen = collections.Counter()
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("type") == "session":
        seen[(e["host"], e["point"], e["first_seen"], e["src_ip"], e["src_port"])] += 1
print(sum(1 for v in seen.values() if v > 1), len(seen))
PY
)
[ "${dups%% *}" = 0 ] && [ "${dups#* }" = "$(($(npoint "$T/a/w.db" mail01:ea-fa0) + $(npoint "$T/b/w.db" mail02:ea-fb0) + $(npoint "$T/g/w.db" gw1:ea-fgo)))" ] &&
  ok "every session event reached the central file exactly once ($dups)" ||
  ko "duplicate or missing session events in the central file: $dups"

# The events carry the keys of sessions --format jsonl, plus type and host.
keys_ok=$("$PY" - "$T/c/events.jsonl" "$T/a/w.db" "$BIN" <<'PY'
import json, subprocess, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
mine = [e for e in ev if e.get("type") == "session" and e["host"] == "mail01"]
out = subprocess.run([sys.argv[3], "sessions", "--db", sys.argv[2], "--format", "jsonl"],
                     capture_output=True, text=True).stdout.splitlines()
local = [json.loads(l) for l in out]
want = set(local[0]) | {"type", "host"}
print("ok" if mine and all(set(e) == want for e in mine) and
      any(e.get("type") == "stats" for e in ev) else "bad %s" % (set(mine[0]) ^ want if mine else "none"))
PY
)
[ "$keys_ok" = ok ] && ok "session events hold the sessions --format jsonl keys plus type and host; stats events arrive" ||
  ko "event keys: $keys_ok"

# --- the central view -----------------------------------------------------
ip netns exec "$C" "$BIN" analyze --db "$T/c/w.db" --resolver 127.0.0.1:5353 --quiet >"$T/c/analyze.log" 2>&1
"$BIN" report --db "$T/c/w.db" --format json >"$T/c/report.json" 2>"$T/c/report.err"
rep() { "$PY" -c "import json,sys; d=json.load(open('$T/c/report.json')); $1"; }
[ "$(rep "print(' '.join(h['host'] for h in d['hosts']))")" = "gw1 mail01 mail02" ] &&
  [ "$(rep "print([h['egress'] for h in d['hosts'] if h['host']=='mail02'][0], [h['rejected'] for h in d['hosts'] if h['host']=='mail02'][0])")" = "2 2" ] &&
  ok "the central report lists the hosts, mail02's two sessions rejected" ||
  ko "hosts: $(rep "print(d['hosts'])" 2>&1 | head -c 600)"

nat=$(rep "print(' '.join(sorted('%s>%s@%s/%s' % (n['inside_ip'], n['outside_ip'], n['point_in'], n['point_out']) for n in d['nat'])))" 2>&1)
[ "$nat" = "10.0.1.10>203.0.113.10@mail01:ea-fa0/gw1:ea-fgo 10.0.2.10>203.0.113.10@mail02:ea-fb0/gw1:ea-fgo" ] &&
  ok "NAT map across hosts: each inside host's own capture paired with the gateway's outside one" ||
  ko "nat map: $nat"

helo=$(rep "print(sorted(set(f['rule'] for i in d['identities'] if i['ip']=='203.0.113.10' for f in i['findings'])))" 2>&1)
case "$helo" in
*helo*) ok "the gateway's address carries mail02's HELO finding ($helo)" ;;
*) ko "findings of 203.0.113.10: $helo" ;;
esac

"$BIN" report --db "$T/c/w.db" --host mail02 --format json >"$T/c/r2.json" 2>&1
[ "$("$PY" -c "import json; d=json.load(open('$T/c/r2.json')); print(len(d['hosts']), d['hosts'][0]['host'], len(d['nat']), d['nat'][0]['inside_ip'])" 2>&1)" = "1 mail02 1 10.0.2.10" ] &&
  ok "report --host mail02: its host line and its NAT pair only" ||
  ko "report --host: $(head -c 400 "$T/c/r2.json")"

# --- a silent host ----------------------------------------------------------
# mail02's watch stops; once mail01's newest heartbeat at central is 6 s
# newer than mail02's last event, a --max-stale between the two ages names
# mail02 silent and mail01 not (3 s either side of the boundary).
wstop "$T/b"
lastev() {
  "$PY" - "$T/c/w.db" "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
q = """SELECT max(coalesce((SELECT max(at) FROM capture_stats c WHERE c.point_id = p.id), 0),
                coalesce((SELECT max(first_seen) FROM sessions s WHERE s.point_id = p.id), 0))
       FROM points p WHERE p.host = ?"""
print(db.execute(q, (sys.argv[2],)).fetchone()[0] or 0)
PY
}
apart() { [ $(($(lastev mail01) - $(lastev mail02))) -ge 6000000 ]; }
wait_until 60 apart || ko "mail01's heartbeats did not reach central"
now=$("$PY" -c 'import time; print(int(time.time() * 1e6))')
a1=$(lastev mail01) b1=$(lastev mail02)
stale=$(((now - a1 + now - b1) / 2000000))
"$BIN" report --db "$T/c/w.db" --max-stale "${stale}s" --format json >"$T/c/r3.json" 2>&1
rc=$?
# (exit 2, not 3: mail02's HELO finding is critical, which outranks unknown)
[ "$rc" = 2 ] && [ "$("$PY" -c "import json; d=json.load(open('$T/c/r3.json')); print(' '.join(h['host'] for h in d['hosts'] if h['silent']), 'mail02' in (d['stale'] or ''))")" = "mail02 True" ] &&
  ok "mail02 silent after its watch stopped (--max-stale ${stale}s), named in stale" ||
  ko "silent host: rc $rc, $(head -c 600 "$T/c/r3.json")"

wstop "$T/a"
wstop "$T/g"
wstop "$T/c"
for d in a b c g; do rs_stop "$T/$d"; done
ip netns exec "$M" postfix -c "$P/etc" stop >>"$T/pf.log" 2>&1
tests/dns/nsd.sh stop "$T/nsd" 5353 >/dev/null 2>&1
kill -INT "$HC" 2>/dev/null
wait "$HC" 2>/dev/null
HC=""
leaked=$(tcpdump -n -r "$T/host.pcap" 2>/dev/null | wc -l)
[ "$leaked" = 0 ] && ok "nothing of the testbed on the host's interfaces" ||
  ko "$leaked packets of the testbed on the host's interfaces"
finish fleet
