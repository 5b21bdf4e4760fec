#!/bin/sh
# End to end against real MTAs (make e2e; part of make check; needs root,
# reported as skipped otherwise). Three network namespaces joined by veth
# pairs, no route anywhere else:
#
#   sender  ea-s0 ---- ea-gi  gateway  ea-go ---- ea-m0  mx
#   10.0.0.10            10.0.0.1     198.51.100.1      .25 Postfix (550 no PTR)
#   203.0.113.11, .12    SNAT 10/24 -> 203.0.113.10     .26 Postfix (450 FCrDNS)
#   2001:db8:10::25,26   (later .13)  v6 routed         .27 Exim (echoes [ip])
#                                                       .28 OpenSMTPD (at the end)
#                                                       .53 NSD, tests/dns/zones
#
# `egressaudit watch` runs in sender (one interface) and on the gateway (both
# interfaces, analysing on its loop every second against the NSD; and a
# second one there on "any", which must see the same) while
# swaks sends with several HELO names and source addresses, plain and with
# STARTTLS, over IPv4 and IPv6. The sender's watch is SIGKILLed half-way and
# restarted; readers loop over both databases meanwhile; the gateway's SNAT
# address changes half-way. Then the databases are checked session by
# session, and analyze + report must flag the address without PTR, the NAT
# surprise and the rotation. Exim is extracted from its .deb, never installed
# (it conflicts with postfix); scripts/deps.sh downloads it into $EA_DEBS.
# Every process is stopped by PID, the namespaces and /etc/netns files
# removed; a tcpdump on the host's own interfaces must see nothing of the
# testbed. Prints "e2e: N passed, N failed".
set -u
BIN=$(cd "$(dirname "${EA_BIN:-build/egressaudit}")" && pwd)/$(basename "${EA_BIN:-build/egressaudit}")
PY=${PYTHON:-python3}
DEBS=${EA_DEBS:-/var/cache/egressaudit-test/debs}
XUID=${EA_EXIM_UID:-64990} # "Debian-exim" inside mx only; unused on the host
NTESTS=19
if [ "$(id -u)" != 0 ]; then
  echo "e2e: skipped (needs root)"
  echo "e2e: 0 passed, 0 failed, $NTESTS skipped"
  exit 0
fi
for t in postfix swaks nsd openssl ip nft dpkg-deb tcpdump; do
  command -v "$t" >/dev/null || { echo "e2e: $t missing (run scripts/deps.sh as root)"; exit 1; }
done
for p in exim4-daemon-light libidn12 opensmtpd; do
  ls "$DEBS/${p}_"*.deb >/dev/null 2>&1 || { echo "e2e: no $p .deb in $DEBS (run scripts/deps.sh as root)"; exit 1; }
done
if getent passwd "$XUID" >/dev/null || getent group "$XUID" >/dev/null ||
  getent passwd "$((XUID + 1))" >/dev/null || getent passwd "$((XUID + 2))" >/dev/null; then
  echo "e2e: uid/gid $XUID is taken here; set EA_EXIM_UID to a free one"
  exit 1
fi
S=ea-s-$$ G=ea-g-$$ M=ea-m-$$
T=$(mktemp -d /tmp/ea-e2e.XXXXXX)
chmod 755 "$T"
WS="" WG="" WA="" WM="" RL="" HC=""
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}

# alive PID: running, not a zombie waiting for a late reaper.
alive() { [ -r "/proc/$1/stat" ] && ! awk '$3 == "Z" {exit 0} {exit 1}' "/proc/$1/stat" 2>/dev/null; }
# stop_pid PID: SIGTERM, wait up to 5 s, then SIGKILL.
stop_pid() {
  kill -TERM "$1" 2>/dev/null || return 0
  i=0
  while alive "$1" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  kill -KILL "$1" 2>/dev/null
  return 0
}
cleanup() {
  [ -n "$RL" ] && kill -KILL "$RL" 2>/dev/null
  [ -n "$HC" ] && kill -KILL "$HC" 2>/dev/null
  for p in $WS $WG $WA $WM; do kill -KILL "$p" 2>/dev/null; done
  for d in pf spf; do
    [ -s "$T/$d/spool/pid/master.pid" ] && stop_pid "$(tr -d ' ' <"$T/$d/spool/pid/master.pid")"
  done
  if [ -s "$T/exim/run/exim.pid" ]; then
    p=$(cat "$T/exim/run/exim.pid")
    tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -- "-C $T/exim/exim.conf" && stop_pid "$p"
  fi
  [ -s "$T/nsd/nsd.pid" ] && stop_pid "$(cat "$T/nsd/nsd.pid")"
  for ns in "$S" "$G" "$M"; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
    rm -rf "/etc/netns/$ns"
  done
  if [ -n "${EA_E2E_KEEP:-}" ]; then echo "e2e: kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
. tests/lib.sh

# Watch the host's own interfaces all along: nothing of the testbed may
# appear there (addresses, or DNS questions about the test zones).
LEAK='net 198.51.100.0/24 or net 203.0.113.0/24 or net 2001:db8::/32 or port 53'
tcpdump -n -i any -U -Z root -w "$T/host.pcap" "$LEAK" 2>"$T/hostcap.log" &
HC=$!
wait_until 30 pcap_started "$T/host.pcap" || ko "host capture did not start: $(cat "$T/hostcap.log")"

# --- network ------------------------------------------------------------
for ns in "$S" "$G" "$M"; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip link add ea-s0 netns "$S" type veth peer name ea-gi netns "$G"
ip link add ea-go netns "$G" type veth peer name ea-m0 netns "$M"
for x in "$S ea-s0" "$G ea-gi" "$G ea-go" "$M ea-m0"; do
  set -- $x
  # IPv6 addresses usable at once (no duplicate address detection)
  ip netns exec "$1" sysctl -qw "net.ipv6.conf.$2.accept_dad=0"
  ip -n "$1" link set "$2" up
done
ip -n "$S" addr add 10.0.0.10/24 dev ea-s0
ip -n "$S" addr add 203.0.113.11/32 dev ea-s0
ip -n "$S" addr add 203.0.113.12/32 dev ea-s0
ip -n "$S" -6 addr add 2001:db8:10::25/64 dev ea-s0 nodad
ip -n "$S" -6 addr add 2001:db8:10::26/64 dev ea-s0 nodad
ip -n "$S" route add 198.51.100.0/24 via 10.0.0.1
ip -n "$S" -6 route add 2001:db8:20::/64 via 2001:db8:10::1
ip -n "$G" addr add 10.0.0.1/24 dev ea-gi
ip -n "$G" -6 addr add 2001:db8:10::1/64 dev ea-gi nodad
ip -n "$G" addr add 198.51.100.1/24 dev ea-go
ip -n "$G" -6 addr add 2001:db8:20::1/64 dev ea-go nodad
ip -n "$G" route add 203.0.113.0/24 via 10.0.0.10
ip netns exec "$G" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
for a in 25 26 27 53; do ip -n "$M" addr add "198.51.100.$a/24" dev ea-m0; done
for a in 25 27 53; do ip -n "$M" -6 addr add "2001:db8:20::$a/64" dev ea-m0 nodad; done
ip -n "$M" route add 203.0.113.0/24 via 198.51.100.1
ip -n "$M" -6 route add 2001:db8:10::/64 via 2001:db8:20::1
snat() {
  printf 'flush ruleset\ntable ip ea_nat {\n chain post {\n  type nat hook postrouting priority srcnat; policy accept;\n  oifname "ea-go" ip saddr 10.0.0.0/24 snat to %s\n }\n}\n' "$1" |
    ip netns exec "$G" nft -f -
}
snat 203.0.113.10

# --- DNS: NSD in mx; every namespace asks it -------------------------------
for ns in "$S" "$G" "$M"; do mkdir -p "/etc/netns/$ns"; done
echo "nameserver 127.0.0.1" >"/etc/netns/$M/resolv.conf"
echo "nameserver 198.51.100.53" >"/etc/netns/$S/resolv.conf"
echo "nameserver 198.51.100.53" >"/etc/netns/$G/resolv.conf"
ip netns exec "$M" env EA_NSD_LISTEN="198.51.100.53 2001:db8:20::53" tests/dns/nsd.sh start "$T/nsd" 53 ||
  { ko "nsd start"; exit 1; }

# The services every Postfix instance here runs (master.cf after its own
# smtpd and smtp lines).
pf_services() {
  cat <<'CF'
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
smtp      unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
discard   unix  - - n - - discard
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
CF
}

# --- Postfix in mx: own config directory, nothing chrooted, mail discarded --
P=$T/pf
mkdir -p "$P/etc" "$P/spool" "$P/data" "$T/tls"
chown postfix:postfix "$P/data"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=mx.example.net -keyout "$T/tls/mx.key" -out "$T/tls/mx.crt" >/dev/null 2>&1
cat >"$P/etc/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $P/spool
data_directory = $P/data
mail_owner = postfix
setgid_group = postdrop
maillog_file_prefixes = $T
maillog_file = $P/maillog
myhostname = mx.example.net
mydomain = example.net
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
relay_domains = example.net
relay_recipient_maps =
relay_transport = discard:e2e
mynetworks = 127.0.0.0/8
inet_interfaces = all
inet_protocols = all
smtputf8_enable = no
smtpd_banner = \$myhostname ESMTP e2e
smtpd_client_restrictions = reject_unknown_reverse_client_hostname
unknown_client_reject_code = 550
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_tls_security_level = may
smtpd_tls_cert_file = $T/tls/mx.crt
smtpd_tls_key_file = $T/tls/mx.key
CF
cat >"$P/etc/master.cf" <<CF
198.51.100.25:smtp inet n - n - - smtpd
[2001:db8:20::25]:smtp inet n - n - - smtpd
198.51.100.26:smtp inet n - n - - smtpd
  -o smtpd_client_restrictions=reject_unknown_client_hostname
  -o unknown_client_reject_code=450
CF
pf_services >>"$P/etc/master.cf"
ip netns exec "$M" postfix -c "$P/etc" start >"$T/pf.log" 2>&1 || { ko "postfix start: $(cat "$T/pf.log")"; exit 1; }

# --- Exim in mx: extracted, run as "Debian-exim" (uid $XUID) --------------
# The binary looks its user up before reading any config, so it gets a
# passwd/group with that user, bind-mounted in the private mount namespace
# `ip netns exec` gives its process tree (never visible on the host). The
# copy loses its setuid bit so that its re-execs honour LD_LIBRARY_PATH.
E=$T/exim
mkdir -p "$E/root" "$E/etc" "$E/spool" "$E/log" "$E/run"
for d in "$DEBS"/exim4-daemon-light_*.deb "$DEBS"/libidn12_*.deb; do dpkg-deb -x "$d" "$E/root"; done
chmod u-s "$E/root/usr/sbin/exim4"
{ cat /etc/passwd; echo "Debian-exim:x:$XUID:$XUID:e2e exim:/nonexistent:/usr/sbin/nologin"; } >"$E/etc/passwd"
{ cat /etc/group; echo "Debian-exim:x:$XUID:"; } >"$E/etc/group"
chown "$XUID:$XUID" "$E/spool" "$E/log" "$E/run"
cat >"$E/exim.conf" <<CF
primary_hostname = mx-exim.example.net
local_interfaces = <; 198.51.100.27 ; 2001:db8:20::27
daemon_smtp_ports = 25
spool_directory = $E/spool
log_file_path = $E/log/%slog
exim_path = $E/root/usr/sbin/exim4
keep_environment = LD_LIBRARY_PATH
smtp_banner = \$smtp_active_hostname ESMTP Exim e2e
host_lookup = *
rfc1413_hosts =
rfc1413_query_timeout = 0s
tls_advertise_hosts =
queue_only = true
domainlist accept_domains = example.net
acl_smtp_rcpt = acl_rcpt

begin acl
acl_rcpt:
  deny    message = relay not permitted
          !domains = +accept_domains
  discard log_message = discarded by e2e
CF
chmod 644 "$E/exim.conf"
ip netns exec "$M" sh -c "mount --bind $E/etc/passwd /etc/passwd && mount --bind $E/etc/group /etc/group &&
  exec env LD_LIBRARY_PATH=$E/root/usr/lib/x86_64-linux-gnu $E/root/usr/sbin/exim4 -C $E/exim.conf -bd -oP $E/run/exim.pid" \
  >"$T/exim.out" 2>&1 || { ko "exim start: $(cat "$T/exim.out")"; exit 1; }
listening() { ip netns exec "$M" ss -Hltn "src $1" | grep -q .; }
for a in 198.51.100.25:25 198.51.100.26:25 198.51.100.27:25 '[2001:db8:20::27]:25'; do
  wait_until 30 listening "$a" || { ko "nothing listens on $a"; exit 1; }
done

# --- the watches ----------------------------------------------------------
# Each is ready when its pidfile holds its pid (written once every capture
# handle and the database are open): never its log, which a restarted
# watch shares with the one before it.
start_ws() {
  ip netns exec "$S" "$BIN" watch -i ea-s0 --point sender --db "$T/sender.db" --flush-every 1s \
    --pidfile "$T/ws.pid" 2>>"$T/ws.log" &
  WS=$!
  wait_ready "$T/ws.pid" "$WS" || ko "sender's watch not ready: $(tail -2 "$T/ws.log")"
}
: >"$T/ws.log"
start_ws
ip netns exec "$G" "$BIN" watch -i ea-gi -i ea-go --point gw --db "$T/gw.db" --flush-every 1s \
  --local 10.0.0.0/24 --local 203.0.113.0/24 --local 2001:db8:10::/64 \
  --analyze-every 1s --analyze-window 1h --resolver 198.51.100.53 --pidfile "$T/wg.pid" 2>"$T/wg.log" &
WG=$!
wait_ready "$T/wg.pid" "$WG" || ko "gateway's watch not ready: $(tail -2 "$T/wg.log")"
# And the same gateway through libpcap's "any" (LINUX_SLL2: a point per
# interface), into a database of its own, analysed at the end.
ip netns exec "$G" "$BIN" watch -i any --point gw --db "$T/gwany.db" --flush-every 1s \
  --local 10.0.0.0/24 --local 203.0.113.0/24 --local 2001:db8:10::/64 --pidfile "$T/wa.pid" 2>"$T/wa.log" &
WA=$!
wait_ready "$T/wa.pid" "$WA" || ko "any watch not ready: $(tail -2 "$T/wa.log")"

# sw RC ARGS...: one swaks dialogue up to RCPT; its exit code must be RC.
sw_bad=""
sw() {
  want=$1
  shift
  ip netns exec "$S" swaks --silent 2 --timeout 10 --from alice@example.com --to bob@example.net \
    --quit-after RCPT "$@" >>"$T/swaks.log" 2>&1
  got=$?
  [ "$got" = "$want" ] || sw_bad="$sw_bad [$* -> $got, not $want]"
}

# Phase 1: SNAT to 203.0.113.10.
sw 0 --server 198.51.100.27 --local-interface 10.0.0.10 --helo mail01.example.com
sw 0 --server 198.51.100.25 --local-interface 10.0.0.10 --helo mail01.example.com --tls
sw 24 --server 198.51.100.25 --local-interface 203.0.113.11 --helo mail01.example.com
sw 24 --server 198.51.100.26 --local-interface 203.0.113.11 --helo other.example.org
sw 0 --server 198.51.100.27 --local-interface 203.0.113.11 --helo other.example.org
sw 0 -6 --server 2001:db8:20::25 --local-interface 2001:db8:10::25 --helo mail01.example.com
sw 0 -6 --server 2001:db8:20::27 --local-interface 2001:db8:10::26 --helo mail01.example.com
sw 0 --server 198.51.100.25 --local-interface 203.0.113.12 --helo localhost

# SIGKILL the sender's watch once its batch is committed, then restart it.
nsess() { "$BIN" sessions --db "$1" --format jsonl 2>/dev/null | wc -l; }
has8() { [ "$(nsess "$T/sender.db")" -ge 8 ]; }
wait_until 60 has8
before=$(nsess "$T/sender.db")
kill -KILL "$WS"
wait "$WS" 2>/dev/null
integ=$("$PY" -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA integrity_check').fetchone()[0])" "$T/sender.db")
start_ws
[ "$before" = 8 ] && [ "$integ" = ok ] && kill -0 "$WS" 2>/dev/null &&
  ok "SIGKILL of the sender's watch after 8 sessions: integrity $integ, all 8 kept, restarted" ||
  ko "SIGKILL: $before sessions before, integrity '$integ', restart: $(tail -2 "$T/ws.log")"

# Readers loop over both databases while both watches write.
"$PY" - "$BIN" "$T" >"$T/readers.out" 2>&1 <<'PY' &
import os, subprocess, sys, time
b, t = sys.argv[1], sys.argv[2]
runs = bad = 0
while not os.path.exists(t + "/stop-readers"):
    for db in ("sender.db", "gw.db"):
        for cmd in (["sessions", "--format", "jsonl"], ["report", "--format", "json"], ["history", "10.0.0.10"]):
            p = subprocess.run([b] + cmd[:1] + ["--db", t + "/" + db] + cmd[1:], capture_output=True, text=True)
            runs += 1
            # report exits 1..3 by severity and 3 before any analysis; only
            # 64 and above (usage, I/O, busy) are failures here
            if p.returncode >= 64 or "busy" in p.stderr or "locked" in p.stderr:
                bad += 1
                print("failed:", cmd, db, p.returncode, p.stderr.strip()[:200])
print("runs", runs, "bad", bad)
PY
RL=$!

# Phase 2: the gateway's SNAT address changes to 203.0.113.13 (PTR
# nohost.example.com, a name that does not exist).
snat 203.0.113.13
sw 0 --server 198.51.100.27 --local-interface 10.0.0.10 --helo mail01.example.com
sw 24 --server 198.51.100.26 --local-interface 10.0.0.10 --helo mail01.example.com
sw 0 --server 198.51.100.25 --local-interface 10.0.0.10 --helo mail01.example.com
[ -z "$sw_bad" ] && ok "swaks: 11 dialogues with the expected outcome (accepted, 550, 450, STARTTLS, IPv6)" ||
  ko "swaks:$sw_bad"

# The gateway learns both mappings live, from its own analyses.
natmap() {
  "$PY" - "$T/gw.db" <<'PY'
import sqlite3, sys
try:
    rows = set(sqlite3.connect(sys.argv[1], timeout=5).execute("SELECT inside_ip, outside_ip FROM nat_map"))
except sqlite3.Error:
    sys.exit(1)
sys.exit(0 if {("10.0.0.10", "203.0.113.10"), ("10.0.0.10", "203.0.113.13")} <= rows else 1)
PY
}
rotation_open() {
  "$PY" - "$T/gw.db" <<'PY'
import sqlite3, sys
try:
    r = sqlite3.connect(sys.argv[1], timeout=5).execute(
        "SELECT severity FROM findings WHERE rule = 'ip-rotation' AND subject = '10.0.0.10' AND status = 'open'").fetchall()
except sqlite3.Error:
    sys.exit(1)
sys.exit(0 if r == [("crit",)] else 1)
PY
}
if wait_until 90 natmap && wait_until 60 rotation_open; then
  ok "gateway (watch -i inside -i outside --analyze-every 1s): nat_map 10.0.0.10 -> 203.0.113.10, .13 learned live; ip-rotation crit"
else
  ko "gateway: nat_map/rotation not learned live; log: $(grep -v "analysis:" "$T/wg.log" | tail -3)"
fi
grep -q "info watch: analysis: " "$T/wg.log" && ! grep -q "analysis: .*cannot\|cannot start the analysis" "$T/wg.log" &&
  ok "gateway: analyses ran on the watch loop and logged their summary" || ko "gateway analyses: $(tail -3 "$T/wg.log")"

# Before the watches stop: both gateway databases hold all 22 sessions (11
# per interface, ended), and one of the gateway's own analyses has judged
# the newest of them: the report below reads what the live analysis found.
# (A fixed pause here failed 1 run in 20 with both cores busy.)
gw_settled() {
  "$PY" - "$T/gw.db" "$T/gwany.db" <<'PY'
import sqlite3, sys
try:
    c = sqlite3.connect(sys.argv[1], timeout=5)
    n, newest = c.execute("SELECT count(*), max(id) FROM sessions").fetchone()
    judged = c.execute("SELECT max(max_session_id) FROM analyses").fetchone()[0]
    n_any = sqlite3.connect(sys.argv[2], timeout=5).execute("SELECT count(*) FROM sessions").fetchone()[0]
except sqlite3.Error:
    sys.exit(1)
sys.exit(0 if n >= 22 and n_any >= 22 and judged is not None and judged >= newest else 1)
PY
}
wait_until 120 gw_settled || ko "gateway: no live analysis covered all 22 sessions in 120 s"
touch "$T/stop-readers"
wait "$RL"
RL=""
grep -q "bad 0$" "$T/readers.out" && ok "readers during writes: $(tail -1 "$T/readers.out"), no busy" ||
  ko "readers: $(tail -3 "$T/readers.out")"

kill -TERM "$WS"
wait "$WS"
r1=$?
kill -TERM "$WG"
wait "$WG"
r2=$?
kill -TERM "$WA"
wait "$WA"
r3=$?
WS="" WG="" WA=""
[ "$r1$r2$r3" = 000 ] && ! grep -q "ERROR: AddressSanitizer\|runtime error" "$T/ws.log" "$T/wg.log" "$T/wa.log" &&
  ok "the three watches exit 0 on SIGTERM, sanitizers quiet" || ko "watch exits $r1 $r2 $r3: $(tail -2 "$T/ws.log" "$T/wg.log" "$T/wa.log")"

# --- the sender's database, session by session ----------------------------
"$BIN" sessions --db "$T/sender.db" --format jsonl >"$T/s.jsonl"
"$PY" - "$T/s.jsonl" "$T/sender.db" >"$T/s.check" 2>&1 <<'PY' && ok "sender: 11 sessions, no duplicate after the restart: sources, HELO, banners, Exim's echo, 550/450 texts, STARTTLS, IPv6" || ko "sender sessions: $(cat "$T/s.check")"
import json, sqlite3, sys
s = [json.loads(l) for l in open(sys.argv[1])]
assert len(s) == 11, "%d sessions" % len(s)
assert len({(x["src_ip"], x["src_port"]) for x in s}) == 11, "duplicates"
assert sqlite3.connect(sys.argv[2]).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
PF, EX = "mx.example.net ESMTP e2e", "mx-exim.example.net ESMTP Exim e2e"
assert all(x["direction"] == "egress" and x["point"] == "sender" for x in s), [x["direction"] for x in s]
def one(src, dst, helo, n=1):
    m = [x for x in s if x["src_ip"] == src and x["dst_ip"] == dst and x["helo"] == helo]
    assert len(m) == n, (src, dst, helo, len(m))
    return m
# NAT: the sender sees itself as 10.0.0.10; Exim says what the world saw
e = sorted(one("10.0.0.10", "198.51.100.27", "mail01.example.com", 2), key=lambda x: x["first_seen"])
assert [x["echoed_ip"] for x in e] == ["203.0.113.10", "203.0.113.13"], [x["echoed_ip"] for x in e]
assert all(x["banner"] == EX and x["reject"] is None for x in e)
t = sorted(one("10.0.0.10", "198.51.100.25", "mail01.example.com", 2), key=lambda x: x["first_seen"])
assert [x["starttls"] for x in t] == [True, False], [x["starttls"] for x in t]
assert all(x["banner"] == PF and x["echoed_ip"] is None for x in t)
r = one("10.0.0.10", "198.51.100.26", "mail01.example.com")[0]
assert r["reject"].startswith("450 4.7.25 Client host rejected: cannot find your hostname, [203.0.113.13]"), r["reject"]
r = one("203.0.113.11", "198.51.100.25", "mail01.example.com")[0]
assert r["reject"].startswith("550 5.7.1 Client host rejected: cannot find your reverse hostname, [203.0.113.11]"), r["reject"]
r = one("203.0.113.11", "198.51.100.26", "other.example.org")[0]
assert r["reject"].startswith("450 4.7.25 Client host rejected: cannot find your hostname, [203.0.113.11]"), r["reject"]
r = one("203.0.113.11", "198.51.100.27", "other.example.org")[0]
assert r["echoed_ip"] == "203.0.113.11" and r["banner"] == EX and r["reject"] is None
r = one("2001:db8:10::25", "2001:db8:20::25", "mail01.example.com")[0]
assert r["banner"] == PF and r["state"] == "closed" and r["reject"] is None
r = one("2001:db8:10::26", "2001:db8:20::27", "mail01.example.com")[0]
assert r["echoed_ip"] == "2001:db8:10::26" and r["banner"] == EX
r = one("203.0.113.12", "198.51.100.25", "localhost")[0]
assert r["reject"] is None and r["banner"] == PF
PY

# --- the gateway's database: each session once per interface -------------
"$BIN" sessions --db "$T/gw.db" --format jsonl >"$T/g.jsonl"
"$PY" - "$T/g.jsonl" >"$T/g.check" 2>&1 <<'PY' && ok "gateway: inside sessions from 10.0.0.10, outside from 203.0.113.10/.13, routed ones at both points" || ko "gateway sessions: $(cat "$T/g.check")"
import json, sys
s = [json.loads(l) for l in open(sys.argv[1])]
by = lambda p: sorted(x["src_ip"] for x in s if x["point"] == p)
i, o = by("gw:ea-gi"), by("gw:ea-go")
routed = ["2001:db8:10::25", "2001:db8:10::26", "203.0.113.11", "203.0.113.11", "203.0.113.11", "203.0.113.12"]
assert i == ["10.0.0.10"] * 5 + routed, i
assert o == sorted(["203.0.113.10"] * 2 + ["203.0.113.13"] * 3 + routed), o
assert all(x["direction"] == "egress" for x in s)
PY

# --- analyze + report on the sender (DNS from the sender's namespace) ----
ip netns exec "$S" "$BIN" analyze -q --db "$T/sender.db" --resolver 198.51.100.53
"$BIN" report --db "$T/sender.db" --format json >"$T/r.json"
rc=$?
"$PY" - "$T/r.json" >"$T/r.check" 2>&1 <<'PY' && [ "$rc" = 2 ] && ok "sender report (exit 2): .11 no-ptr + rdns-reject, nat-surprise, rotation, IPv6 without PTR, HELO localhost" || ko "sender report (exit $rc): $(cat "$T/r.check")"
import json, sys
d = json.load(open(sys.argv[1]))
ids = {i["ip"]: i for i in d["identities"]}
rules = lambda ip: {f["rule"] for f in ids[ip]["findings"]}
assert {"no-ptr", "rdns-reject"} <= rules("203.0.113.11"), rules("203.0.113.11")
assert ids["203.0.113.10"]["iprev"] == "pass", ids["203.0.113.10"]
assert "nat-surprise" in rules("203.0.113.10"), rules("203.0.113.10")
assert "fcrdns-fail" in rules("203.0.113.13"), rules("203.0.113.13")
assert "ipv6-no-ptr" in rules("2001:db8:10::26") and ids["2001:db8:10::25"]["iprev"] == "pass"
assert "helo-invalid" in rules("203.0.113.12"), rules("203.0.113.12")
allf = [f for i in d["identities"] for f in i["findings"]] + d.get("findings", [])
rot = [f for f in allf if f["rule"] == "ip-rotation" and f["subject"] == "mail01.example.com"]
assert len(rot) == 1 and rot[0]["severity"] == "crit", allf
PY

# --- report on the gateway ---------------------------------------------------
"$BIN" report --db "$T/gw.db" --format json >"$T/gr.json"
rc=$?
"$PY" - "$T/gr.json" >"$T/gr.check" 2>&1 <<'PY' && [ "$rc" = 2 ] && ok "gateway report (exit 2): 10.0.0.10 folded into its public identities, NAT map, ip-rotation crit, .13 fcrdns-fail" || ko "gateway report (exit $rc): $(cat "$T/gr.check")"
import json, sys
d = json.load(open(sys.argv[1]))
ids = {i["ip"]: i for i in d["identities"]}
assert sorted(ids) == ["2001:db8:10::25", "2001:db8:10::26", "203.0.113.10", "203.0.113.11", "203.0.113.12", "203.0.113.13"], sorted(ids)
# each connection once, though seen on both interfaces
n = {ip: ids[ip]["sessions"] for ip in ids}
assert n == {"203.0.113.10": 2, "203.0.113.13": 3, "203.0.113.11": 3, "203.0.113.12": 1, "2001:db8:10::25": 1, "2001:db8:10::26": 1}, n
for ip in ("203.0.113.10", "203.0.113.13"):
    assert sorted(ids[ip]["sources"]) == ["10.0.0.10", ip], ids[ip]
    # seen on both sides, the translation is the NAT map's, no surprise
    assert "nat-surprise" not in {f["rule"] for f in ids[ip]["findings"]}, ids[ip]
for ip in ("203.0.113.11", "203.0.113.12"):
    assert ids[ip]["sources"] == [ip], ids[ip]
allf = [f for i in d["identities"] for f in i["findings"]] + d.get("findings", [])
rot = [f for f in allf if f["rule"] == "ip-rotation" and f["subject"] == "10.0.0.10"]
assert rot and rot[0]["severity"] == "crit", allf
assert "fcrdns-fail" in {f["rule"] for f in ids["203.0.113.13"]["findings"]}
nat = [(n["inside_ip"], n["outside_ip"], n["outside_iprev"], n["point_in"], n["point_out"]) for n in d["nat"]]
assert nat == [("10.0.0.10", "203.0.113.10", "pass", "gw:ea-gi", "gw:ea-go"),
               ("10.0.0.10", "203.0.113.13", "fail", "gw:ea-gi", "gw:ea-go")], nat
PY

# --- the gateway through "any": the same sessions per interface, the same
# NAT map once analysed.
ip netns exec "$G" "$BIN" analyze -q --db "$T/gwany.db" --resolver 198.51.100.53
"$BIN" sessions --db "$T/gwany.db" --format jsonl >"$T/a.jsonl"
"$PY" - "$T/g.jsonl" "$T/a.jsonl" "$T/gw.db" "$T/gwany.db" >"$T/a.check" 2>&1 <<'PY' && ok "gateway via -i any (LINUX_SLL2): a point per interface, same sessions and NAT map as -i ea-gi -i ea-go" || ko "gateway via any: $(cat "$T/a.check")"
import json, sqlite3, sys
keep = ("point", "src_ip", "src_port", "dst_ip", "dst_port", "helo", "banner", "echoed_ip", "reject", "starttls", "state")
load = lambda p: sorted(tuple(json.loads(l)[k] for k in keep) for l in open(p) if l.strip())
a, b = load(sys.argv[1]), load(sys.argv[2])
assert a == b, (len(a), len(b), [x for x in a if x not in b][:3], [x for x in b if x not in a][:3])
q = "SELECT inside_ip, outside_ip, point_in, point_out, sessions FROM nat_map ORDER BY 1, 2"
m1 = sqlite3.connect(sys.argv[3]).execute(q).fetchall()
m2 = sqlite3.connect(sys.argv[4]).execute(q).fetchall()
assert m1 == m2 and len(m1) == 2, (m1, m2)
PY

# --- the MTA's own log: what STARTTLS hides on the wire --------------------
# A real sending Postfix in the sender namespace (swaks submits to it on
# loopback; it relays to mx's Postfix with STARTTLS, from 203.0.113.11,
# which has no PTR: 550 at RCPT, inside TLS; a second sender from .12 is
# accepted) and a sending Exim with log_selector +outgoing_interface
# +outgoing_port (and +incoming_interface, without which Exim logs no I=
# on outgoing lines), from .12: accepted, and I= names our end. A new
# watch follows
# both logs beside the capture; it is restarted once both are read (it
# must read nothing again) and Postfix's log is rotated (postfix
# logrotate: renamed, then gzip'd) before the last mail.
SP=$T/spf
mkdir -p "$SP/etc" "$SP/spool" "$SP/data"
chown postfix:postfix "$SP/data"
cat >"$SP/etc/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $SP/spool
data_directory = $SP/data
mail_owner = postfix
setgid_group = postdrop
maillog_file_prefixes = $T
maillog_file = $SP/maillog
myhostname = mail01.example.com
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtputf8_enable = no
smtp_tls_security_level = may
smtp_tls_loglevel = 1
smtp_host_lookup = native
disable_dns_lookups = yes
sender_dependent_default_transport_maps = inline:{alice@example.com=smtp11:[198.51.100.25], dave@example.org=smtp12:[198.51.100.25], carol@example.org=smtp13:[198.51.100.99]}
transport_maps = inline:{example.com=discard:bounces}
CF
cat >"$SP/etc/master.cf" <<CF
127.0.0.1:smtp inet n - n - - smtpd
smtp11    unix  - - n - - smtp -o smtp_bind_address=203.0.113.11
smtp12    unix  - - n - - smtp -o smtp_bind_address=203.0.113.12
smtp13    unix  - - n - - smtp -o smtp_bind_address=203.0.113.11 -o smtp_connect_timeout=2s
CF
pf_services >>"$SP/etc/master.cf"
ip netns exec "$S" postfix -c "$SP/etc" start >"$T/spf.log" 2>&1 || ko "sending postfix start: $(cat "$T/spf.log")"
X=$T/sx
mkdir -p "$X/spool" "$X/log"
chown "$XUID:$XUID" "$X/spool" "$X/log"
cat >"$X/exim.conf" <<CF
primary_hostname = mail02.example.com
spool_directory = $X/spool
log_file_path = $X/log/%slog
exim_path = $E/root/usr/sbin/exim4
keep_environment = LD_LIBRARY_PATH
log_selector = +incoming_interface +outgoing_interface +outgoing_port
host_lookup =
rfc1413_hosts =
begin routers
bounces:
  driver = redirect
  domains = example.com
  data = :blackhole:
out:
  driver = manualroute
  domains = example.net
  route_list = * 198.51.100.25
  transport = out_smtp
begin transports
out_smtp:
  driver = smtp
  interface = 203.0.113.12
  helo_data = mail02.example.com
CF
chmod 644 "$X/exim.conf"
mta_n() { "$PY" -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1], timeout=5).execute(\"SELECT count(*) FROM deliveries WHERE relay_ip = '198.51.100.25'\").fetchone()[0])" "$T/mta.db" 2>/dev/null; }
has_deliveries() { [ "$(mta_n)" -ge "$1" ] 2>/dev/null; }
# caught_up: the stored position of every followed log is its size.
caught_up() {
  "$PY" - "$T/mta.db" "$SP/maillog" "$X/log/mainlog" <<'PY'
import os, sqlite3, sys
try:
    c = dict(sqlite3.connect(sys.argv[1], timeout=5).execute("SELECT path, off FROM log_cursors"))
except sqlite3.Error:
    sys.exit(1)
sys.exit(0 if all(c.get(p) == os.path.getsize(p) for p in sys.argv[2:]) else 1)
PY
}
start_wm() {
  ip netns exec "$S" "$BIN" watch -i ea-s0 --point sender --db "$T/mta.db" --flush-every 1s \
    --maillog "$SP/maillog" --maillog "$X/log/mainlog" --pidfile "$T/wm.pid" 2>>"$T/wm.log" &
  WM=$!
  wait_ready "$T/wm.pid" "$WM" || ko "mail-log watch not ready: $(tail -2 "$T/wm.log")"
}
: >"$T/wm.log"
start_wm
mail_bad=""
submit() { # FROM TO: through the sending Postfix
  ip netns exec "$S" swaks --silent 2 --timeout 10 --server 127.0.0.1 --from "$1" --to "$2" \
    --h-Message-Id "<$3@example.com>" >>"$T/swaks.log" 2>&1 || mail_bad="$mail_bad [$1 -> $2 not queued]"
}
submit alice@example.com bob@example.net e2e-1
wait_until 60 has_deliveries 1 || mail_bad="$mail_bad [1st attempt not in the log]"
printf 'Subject: e2e\n\nhello\n' | ip netns exec "$S" sh -c "mount --bind $E/etc/passwd /etc/passwd && mount --bind $E/etc/group /etc/group &&
  exec env LD_LIBRARY_PATH=$E/root/usr/lib/x86_64-linux-gnu $E/root/usr/sbin/exim4 -C $X/exim.conf -odi -f alice@example.com bob@example.net" \
  >"$T/sx.out" 2>&1
wait_until 60 has_deliveries 2 || mail_bad="$mail_bad [Exim's attempt not stored: $(tail -2 "$X/log/mainlog" 2>/dev/null)]"
# Both logs read and the position stored: a restart must read nothing again.
wait_until 60 caught_up || mail_bad="$mail_bad [positions never caught up]"
lines_before=$(cat "$SP/maillog" "$X/log/mainlog" | wc -l)
kill -TERM "$WM"
wait "$WM"
start_wm
submit dave@example.org bob@example.net e2e-2
wait_until 60 has_deliveries 3 || mail_bad="$mail_bad [3rd attempt not stored]"
ip netns exec "$S" postfix -c "$SP/etc" logrotate >>"$T/spf.log" 2>&1 || mail_bad="$mail_bad [postfix logrotate failed]"
submit alice@example.com bob@example.net e2e-3
wait_until 60 has_deliveries 4 || mail_bad="$mail_bad [the attempt after the rotation not stored]"
# A receiver whose port 25 the gateway drops: Postfix gives up after 2 s
# ("connect to ...: Connection timed out"), and the mail stays deferred.
printf 'table ip ea_drop {\n chain drop25 {\n  type filter hook forward priority 0; policy accept;\n  ip daddr 198.51.100.99 tcp dport 25 drop\n }\n}\n' |
  ip netns exec "$G" nft -f -
has_timeout() { [ "$("$PY" -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1], timeout=5).execute(\"SELECT count(*) FROM deliveries WHERE status = 'connect' AND relay_ip = '198.51.100.99'\").fetchone()[0])" "$T/mta.db" 2>/dev/null)" -ge 1 ] 2>/dev/null; }
submit carol@example.org bob@example.net e2e-4
wait_until 60 has_timeout || mail_bad="$mail_bad [no logged connect timeout]"
wait_until 60 caught_up || mail_bad="$mail_bad [positions never caught up after the rotation]"
kill -TERM "$WM"
wait "$WM"
wrc=$?
WM=""
lines_all=$( (for f in "$SP"/maillog.*; do case $f in *.gz) zcat "$f" ;; *) cat "$f" ;; esac; done; cat "$SP/maillog" "$X/log/mainlog") | wc -l)
read2=$(grep "stopped:" "$T/wm.log" | tail -1 | sed -n 's/.*; \([0-9]*\) log lines read.*/\1/p')
[ -z "$mail_bad" ] && [ "$wrc" = 0 ] && [ "$read2" = $((lines_all - lines_before)) ] && ls "$SP"/maillog.*.gz >/dev/null 2>&1 &&
  ok "sending Postfix and Exim logged 4 attempts and a connect timeout; watch --maillog stored them, its restart read only the $read2 new lines, and followed postfix logrotate" ||
  ko "mail logs:$mail_bad watch exit $wrc, read after restart '$read2' of $lines_all - $lines_before lines; $(tail -3 "$T/wm.log")"
ip netns exec "$S" postfix -c "$SP/etc" stop >>"$T/spf.log" 2>&1

"$BIN" sessions --db "$T/mta.db" --format jsonl >"$T/m.jsonl"
"$BIN" sessions --db "$T/mta.db" >"$T/m.txt"
[ "$(grep -c "tls .*(the MTA log: 550 5.7.1 Client host rejected: cannot find your reverse hostname" "$T/m.txt")" = 2 ] &&
"$PY" - "$T/m.jsonl" "$T/mta.db" >"$T/m.check" 2>&1 <<'PY' && ok "the 550 inside STARTTLS: the TLS session from 203.0.113.11 takes the logged reject (outcome rejected), Exim's I= ties its attempt to its very port" || ko "TLS-hidden reject: $(cat "$T/m.check") $(cat "$T/m.txt")"
import json, sqlite3, sys
s = [json.loads(l) for l in open(sys.argv[1])]
db = sqlite3.connect(sys.argv[2])
tls = [x for x in s if x["src_ip"] == "203.0.113.11" and x["dst_ip"] == "198.51.100.25" and x["helo"] == "mail01.example.com"]
assert len(tls) == 2, [(x["src_ip"], x["helo"]) for x in s]
for x in tls:
    assert x["starttls"] is True and x["reject"] is None, x   # the wire shows no reject
    assert x["logged"] and x["logged"]["code"] == 550 and "reverse hostname" in x["logged"]["reply"], x
    assert x["outcome"] == "rejected", x
ok12 = [x for x in s if x["src_ip"] == "203.0.113.12" and x["helo"] == "mail01.example.com"]
assert len(ok12) == 1 and ok12[0]["logged"]["status"] == "sent" and ok12[0]["outcome"] != "rejected", ok12
ex = db.execute("SELECT d.src_ip, d.src_port, x.src_port, x.helo, d.code, d.stage FROM deliveries d"
                " JOIN sessions x ON x.id = d.session_id WHERE d.src_ip IS NOT NULL").fetchall()
assert len(ex) == 1 and ex[0][0] == "203.0.113.12" and ex[0][1] == ex[0][2] and ex[0][3] == "mail02.example.com" \
    and ex[0][4] == 250, ex
n = db.execute("SELECT count(*), count(session_id) FROM deliveries WHERE relay_ip = '198.51.100.25'").fetchone()
assert n == (4, 4), n
PY
ip netns exec "$S" "$BIN" analyze -q --db "$T/mta.db" --resolver 198.51.100.53
"$BIN" report --db "$T/mta.db" --format json >"$T/mr.json"
"$BIN" report --db "$T/mta.db" >"$T/mr.txt"
grep -q "sessions 3 (2 rejected, 2 TLS: outcome from the MTA log)" "$T/mr.txt" &&
"$PY" - "$T/mr.json" >"$T/mr.check" 2>&1 <<'PY' && ok "report: rdns-reject on 203.0.113.11 from the MTA log (2 rejects the wire could not read)" || ko "report from the log: $(cat "$T/mr.check") $(grep sessions "$T/mr.txt")"
import json, sys
d = json.load(open(sys.argv[1]))
ids = {i["ip"]: i for i in d["identities"]}
f = [f for f in ids["203.0.113.11"]["findings"] if f["rule"] == "rdns-reject"]
assert f and "from the MTA log" in f[0]["detail"], ids["203.0.113.11"]["findings"]
assert "rdns-reject" not in {f["rule"] for f in ids["203.0.113.12"]["findings"]}
# both TLS sessions of .11 were rejected, the log says: counted so, nothing "not visible"
i = ids["203.0.113.11"]
assert i["rejected"] == 2 and i["starttls"] == 2 and i["starttls_logged"] == 2, i
# the timed-out connect was captured too (a SYN to .99): the log does not count it again
allf = [f for i in d["identities"] for f in i["findings"]] + d.get("findings", [])
assert not [f for f in allf if f["rule"] == "port25-blocked" and f["subject"] == "mail01"], allf
PY
"$BIN" history --db "$T/mta.db" --to example.net >"$T/mh.txt" 2>&1
"$BIN" history --db "$T/mta.db" 203.0.113.11 >"$T/mh11.txt" 2>&1
"$BIN" history --db "$T/mta.db" --message-id e2e-3@example.com --format json >"$T/mh.json" 2>&1
[ "$(grep -c "550 5.7.1 Client host rejected: cannot find your reverse hostname, \[203.0.113.11\] (from the MTA log: not visible on the wire)" "$T/mh11.txt")" = 2 ] &&
"$PY" - "$T/mh.txt" "$T/mh.json" >"$T/mh.check" 2>&1 <<'PY' && ok "history --to example.net / --message-id: each attempt with its egress address, EHLO name and reply; history 203.0.113.11 lists the 2 rejects only the log saw" || ko "history from the log: $(cat "$T/mh.check") $(cat "$T/mh11.txt")"
import json, sys
t = open(sys.argv[1]).read()
assert t.count("left from 203.0.113.11 as mail01.example.com") == 2, t
assert "left from 203.0.113.12 as mail02.example.com" in t and "left from 203.0.113.12 as mail01.example.com" in t, t
assert t.count(" 550 ") == 2 and "no captured session" not in t, t
# the deferred one (relay=none): its receiver read from "connect to ...", tied to the captured SYN
assert t.count("TLS: Untrusted TLSv1.3 with cipher") == 3 and t.count("TLS: TLS1.3:") == 1, t
assert "deferred  " in t and "4.4.1 connect to 198.51.100.99[198.51.100.99]:25: Connection timed out" in t, t
d = json.load(open(sys.argv[2]))["deliveries"]
assert len(d) == 1 and d[0]["src_ip"] == "203.0.113.11" and d[0]["code"] == 550 and d[0]["helo"] == "mail01.example.com", d
PY
# The logs alone, no capture: rejects per relay with the egress address
# the reply text quotes; the timeouts of a host whose every attempt timed
# out (its timeout lines only) are port-25 evidence.
(for f in "$SP"/maillog.*.gz; do zcat "$f"; done; cat "$SP/maillog") >"$T/all.log"
grep "connect to 198.51.100.99" "$T/all.log" >"$T/timeouts.log"
"$BIN" read -q --maillog --db "$T/logonly.db" "$T/all.log" "$X/log/mainlog" &&
  "$BIN" read -q --maillog --db "$T/timeouts.db" "$T/timeouts.log" &&
  ip netns exec "$S" "$BIN" analyze -q --db "$T/logonly.db" --resolver 198.51.100.53 &&
  ip netns exec "$S" "$BIN" analyze -q --db "$T/timeouts.db" --resolver 198.51.100.53
"$BIN" report --db "$T/logonly.db" --format json >"$T/lo.json"
"$BIN" report --db "$T/timeouts.db" --format json >"$T/to.json"
"$PY" - "$T/lo.json" "$T/to.json" >"$T/lo.check" 2>&1 <<'PY' && ok "the logs without a capture: rdns-reject on 203.0.113.11 (from the reply text), port25-blocked for a host whose attempts all timed out" || ko "log only: $(cat "$T/lo.check")"
import json, sys
d = json.load(open(sys.argv[1]))
allf = [f for i in d["identities"] for f in i["findings"]] + d.get("findings", [])
rj = [f for f in allf if f["rule"] == "rdns-reject"]
assert len(rj) == 1 and rj[0]["subject"] == "203.0.113.11" and "from the MTA log" in rj[0]["detail"], allf
assert not [f for f in allf if f["rule"] == "port25-blocked"], allf   # its other attempts were answered
t = json.load(open(sys.argv[2]))
allt = [f for i in t["identities"] for f in i["findings"]] + t.get("findings", [])
p = [f for f in allt if f["rule"] == "port25-blocked"]
assert len(p) == 1 and p[0]["subject"] == "mail01" and p[0]["severity"] == "crit" and "timed out" in p[0]["detail"], allt
PY
cp "$SP"/maillog "$X"/log/mainlog "$T/" 2>/dev/null

# --- OpenSMTPD in mx (198.51.100.28): a third real MTA, extracted from its
# .deb like Exim (it conflicts with postfix), its users in a bind-mounted
# passwd, its compiled-in paths (/var/spool/smtpd, /var/lib/opensmtpd/empty,
# /run) on tmpfs in its own mount namespace.
O=$T/osd
mkdir -p "$O/root" "$O/etc"
dpkg-deb -x "$DEBS"/opensmtpd_*.deb "$O/root"
{ cat /etc/passwd; echo "opensmtpd:x:$((XUID + 1)):$((XUID + 1)):e2e:/nonexistent:/usr/sbin/nologin"
  echo "opensmtpq:x:$((XUID + 2)):$((XUID + 2)):e2e:/nonexistent:/usr/sbin/nologin"; } >"$O/etc/passwd"
{ cat /etc/group; echo "opensmtpd:x:$((XUID + 1)):"; echo "opensmtpq:x:$((XUID + 2)):"; } >"$O/etc/group"
printf 'listen on 198.51.100.28 hostname mx-osd.example.net\nmatch from any for any reject\n' >"$O/smtpd.conf"
ip -n "$M" addr add 198.51.100.28/24 dev ea-m0
ip netns exec "$M" sh -c "mount --bind $O/etc/passwd /etc/passwd && mount --bind $O/etc/group /etc/group &&
  mount -t tmpfs tmpfs /var/spool && mount -t tmpfs tmpfs /var/lib && mount -t tmpfs tmpfs /run &&
  mkdir -p /var/lib/opensmtpd/empty /var/spool/smtpd && chmod 711 /var/spool/smtpd &&
  exec $O/root/usr/sbin/smtpd -d -f $O/smtpd.conf" >"$T/osd.log" 2>&1 &
OSD=$!
wait_until 30 listening 198.51.100.28:25 || ko "OpenSMTPD did not listen: $(tail -3 "$T/osd.log")"

# --- probe: an SMTP session from the sender through the gateway's SNAT ------
# Exim echoes the client address it saw: the SNAT address (203.0.113.13 by
# now), not the inside one the probe left from; the session is stored like
# a captured one. The receiver whose port 25 the gateway drops: a timeout,
# exit 2.
ip netns exec "$S" "$BIN" probe --source 10.0.0.10 --helo mail01.example.com --format json \
  --resolver 198.51.100.53 --db "$T/probe.db" mx-exim.example.net:25 >"$T/probe.json" 2>"$T/probe.err"; prc=$?
ip netns exec "$S" "$BIN" probe --source 10.0.0.10 --timeout 2s --format json \
  198.51.100.99 >"$T/probe2.json" 2>>"$T/probe.err"; prc2=$?
ip netns exec "$S" "$BIN" probe --source 203.0.113.12 --starttls --format json \
  --resolver 198.51.100.53 198.51.100.25 >"$T/probe3.json" 2>>"$T/probe.err"; prc3=$?
ip netns exec "$S" "$BIN" probe --source 10.0.0.10 --format json 198.51.100.28 \
  >"$T/probe5.json" 2>>"$T/probe.err"; prc5=$?
kill "$OSD" 2>/dev/null
# .26: the same certificate and banner (mx.example.net), another PTR
# (mx-fcrdns.example.net): the names do not match
ip netns exec "$S" "$BIN" probe --source 203.0.113.12 --starttls --format json \
  --resolver 198.51.100.53 198.51.100.26 >"$T/probe4.json" 2>>"$T/probe.err"; prc4=$?
"$PY" - "$T/probe.json" "$T/probe2.json" "$T/probe3.json" "$T/probe4.json" "$T/probe5.json" <<'PY' && [ "$prc$prc2$prc5" = 020 ] &&
import json, sys
a = json.load(open(sys.argv[1]))
assert a["connected"] and a["source"] == "10.0.0.10" and a["echoed_ip"] == "203.0.113.13", a
assert a["server"] == "198.51.100.27" and a["ptr"] == "mx-exim.example.net", a
assert [r["cmd"] for r in a["replies"]] == ["CONNECT", "EHLO", "QUIT"], a
b = json.load(open(sys.argv[2]))
assert not b["connected"] and b["failure"] == "timeout", b
c = json.load(open(sys.argv[3]))
assert c["tls"] and c["tls"]["cert_cn"] == "mx.example.net" and c["tls"]["version"].startswith("TLS"), c
assert c["tls"]["cert_covers_banner"] is True, c
assert c["ptr"] == "mx.example.net" and c["banner_is_ptr"] is True and c["cert_covers_ptr"] is True, c
f = json.load(open(sys.argv[5]))
assert f["echoed_ip"] == "203.0.113.13" and "OpenSMTPD" in f["replies"][0]["text"], f
e = json.load(open(sys.argv[4]))
assert e["ptr"] == "mx-fcrdns.example.net" and e["banner_is_ptr"] is False and e["cert_covers_ptr"] is False, e
assert [r["cmd"] for r in c["replies"]] == ["CONNECT", "EHLO", "STARTTLS"], c
PY
  [ "$prc3" = 0 ] && [ "$("$BIN" sessions --db "$T/probe.db" --format jsonl | "$PY" -c "import json,sys; d=[json.loads(l) for l in sys.stdin]; print(len(d), d[0]['point'].startswith('probe:'), d[0]['echoed_ip'], d[0]['helo'])")" = "1 True 203.0.113.13 mail01.example.com" ] &&
  ok "probe from 10.0.0.10 through the gateway (Exim by name, mx-exim.example.net:25): Exim and OpenSMTPD echoed the SNAT address 203.0.113.13, stored as a session at probe:HOST; the dropped receiver timed out (exit 2); --starttls to Postfix read its certificate (CN mx.example.net, its PTR's name); on .26 banner and certificate do not match the PTR (mx-fcrdns)" ||
  ko "probe: exits $prc $prc2 ${prc3:-} ${prc4:-}; $(cat "$T/probe.json" "$T/probe2.json" "$T/probe3.json" "$T/probe4.json" "$T/probe5.json" "$T/probe.err" "$T/osd.log" | head -c 1500)"

# --- preflight --exim: the sending Exim's configuration (exim -C -bP, its
# smtp transport's helo_data mail02.example.com and interface 203.0.113.12)
# against the sessions the sender's watch captured (Postfix's from .11 too).
ip netns exec "$S" sh -c "mount --bind $E/etc/passwd /etc/passwd && mount --bind $E/etc/group /etc/group &&
  PATH=$E/root/usr/sbin:\$PATH LD_LIBRARY_PATH=$E/root/usr/lib/x86_64-linux-gnu \
  $BIN preflight --exim=$X/exim.conf --db $T/mta.db --format json" >"$T/pfx.json" 2>"$T/pfx.err"; rc=$?
"$PY" - "$T/pfx.json" <<'PY' && [ "$rc" = 1 ] &&
import json, sys
d = json.load(open(sys.argv[1]))
c = {x["check"]: x for x in d[0]["checks"]}
assert d[0]["mta"] == "exim", d
assert "mail02.example.com" in c["mta-helo"]["title"] and c["mta-helo"]["status"] == "fail", c
assert c["mta-bind"]["status"] == "fail" and "bound to 203.0.113.12" in c["mta-bind"]["detail"], c
assert "203.0.113.11 (" in c["mta-bind"]["detail"] and "203.0.113.12 (" not in c["mta-bind"]["detail"], c
PY
  ok "preflight --exim (the real exim -C CONFIG -bP): helo_data mail02.example.com and interface 203.0.113.12 read from its smtp transport; the sessions from Postfix (.11) named as another sender" ||
  ko "preflight --exim: exit $rc; $(head -c 800 "$T/pfx.json"; cat "$T/pfx.err")"

# --- nothing reached the host's own network ---------------------------------
kill -INT "$HC"
wait "$HC"
HC=""
leaked=$(tcpdump -n -r "$T/host.pcap" 'net 198.51.100.0/24 or net 203.0.113.0/24 or net 2001:db8::/32' 2>/dev/null | wc -l)
asked=$(tcpdump -n -r "$T/host.pcap" port 53 2>/dev/null |
  grep -ciE 'example\.(com|net|org)|provider\.example|113\.0\.203\.in-addr|100\.51\.198\.in-addr|8\.b\.d\.0\.1\.0\.0\.2\.ip6')
[ "$leaked" = 0 ] && [ "$asked" = 0 ] && pcap_started "$T/host.pcap" &&
  ok "host namespace: no testbed address and no question about the test zones on its interfaces" ||
  ko "leak: $leaked testbed packets, $asked DNS questions about test names on the host"

finish e2e
