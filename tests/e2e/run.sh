#!/bin/sh
# End to end against a real MTA (`make e2e`, root; not part of make check
# yet): two network namespaces joined by a veth pair and no route anywhere
# else; Postfix in "mx" rejecting clients without a PTR
# (reject_unknown_reverse_client_hostname, code 550) and NSD there serving
# tests/dns/zones on the namespace's own loopback; `egressaudit watch` in
# "sender" while swaks sends from addresses with and without PTR, with
# STARTTLS, over IPv6. Then analyze (against a second NSD on the host's
# loopback) and report. Prints "N passed, N failed".
set -u
BIN=$(cd "$(dirname "${EA_BIN:-build/egressaudit}")" && pwd)/$(basename "${EA_BIN:-build/egressaudit}")
PY=${PYTHON:-python3}
if [ "$(id -u)" != 0 ]; then echo "e2e: skipped (needs root)"; echo "e2e: 0 passed, 0 failed, 1 skipped"; exit 0; fi
for t in postfix swaks nsd openssl ip; do
  command -v "$t" >/dev/null || { echo "e2e: $t missing (apt-get install postfix swaks libnet-ssleay-perl libio-socket-inet6-perl nsd openssl)"; exit 1; }
done
S=ea-s-$$ M=ea-m-$$
T=$(mktemp -d /tmp/ea-e2e.XXXXXX)
chmod 755 "$T"
PORT=$("$PY" -c "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])")
WPID=""
cleanup() {
  [ -n "$WPID" ] && kill -KILL "$WPID" 2>/dev/null
  [ -s "$T/pf/spool/pid/master.pid" ] && kill -TERM "$(tr -d ' ' <"$T/pf/spool/pid/master.pid")" 2>/dev/null
  [ -s "$T/nsdm/nsd.pid" ] && kill -TERM "$(cat "$T/nsdm/nsd.pid")" 2>/dev/null
  tests/dns/nsd.sh stop "$T/nsdh" "$PORT"
  sleep 0.5
  for ns in "$S" "$M"; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  rm -rf "/etc/netns/$M" "$T"
}
trap cleanup EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   - $1"; }
ko() { fail=$((fail + 1)); echo "FAIL - $1"; }

# Network: sender 203.0.113.10/.11 + 2001:db8:10::25, mx 198.51.100.25 +
# 2001:db8:20::25, on-link routes only.
ip netns add "$S"; ip netns add "$M"
ip -n "$S" link set lo up; ip -n "$M" link set lo up
ip link add ea-s0 netns "$S" type veth peer name ea-m0 netns "$M"
ip netns exec "$S" sysctl -qw net.ipv6.conf.ea-s0.accept_dad=0
ip netns exec "$M" sysctl -qw net.ipv6.conf.ea-m0.accept_dad=0
ip -n "$S" link set ea-s0 up; ip -n "$M" link set ea-m0 up
for a in 10 11; do ip -n "$S" addr add "203.0.113.$a/24" dev ea-s0; done
ip -n "$S" -6 addr add 2001:db8:10::25/64 dev ea-s0 nodad
ip -n "$M" addr add 198.51.100.25/24 dev ea-m0
ip -n "$M" -6 addr add 2001:db8:20::25/64 dev ea-m0 nodad
ip -n "$S" route add 198.51.100.0/24 dev ea-s0
ip -n "$S" -6 route add 2001:db8:20::/64 dev ea-s0
ip -n "$M" route add 203.0.113.0/24 dev ea-m0
ip -n "$M" -6 route add 2001:db8:10::/64 dev ea-m0

# DNS inside mx (for Postfix) and on the host loopback (for analyze).
mkdir -p "/etc/netns/$M" "$T/nsdm"
echo "nameserver 127.0.0.1" >"/etc/netns/$M/resolv.conf"
zones=$(cd tests/dns/zones && pwd)
{ printf 'server:\n  ip-address: 127.0.0.1@53\n  username: ""\n  chroot: ""\n  zonesdir: "%s"\n  database: ""\n' "$zones"
  printf '  zonelistfile: "%s/zl"\n  xfrdfile: "%s/xfrd"\n  pidfile: "%s/nsd.pid"\n  logfile: "%s/nsd.log"\n' "$T/nsdm" "$T/nsdm" "$T/nsdm" "$T/nsdm"
  printf '  server-count: 1\n  rrl-ratelimit: 0\nremote-control:\n  control-enable: no\n'
  for z in "$zones"/*.zone; do z=$(basename "$z" .zone); printf 'zone:\n  name: "%s"\n  zonefile: "%s/%s.zone"\n' "$z" "$zones" "$z"; done
} >"$T/nsdm/nsd.conf"
ip netns exec "$M" nsd -c "$T/nsdm/nsd.conf"
tests/dns/nsd.sh start "$T/nsdh" "$PORT"

# Postfix in mx, its own config directory, nothing chrooted, mail discarded.
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
ip netns exec "$M" postfix -c "$P/etc" start >"$T/pf.log" 2>&1 || { ko "postfix start: $(cat "$T/pf.log")"; exit 1; }
i=0; while ! ip netns exec "$M" ss -Hltn src 198.51.100.25:25 | grep -q . && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done

# watch in sender, swaks sends.
ip netns exec "$S" "$BIN" watch -i ea-s0 --db "$T/e.db" --flush-every 1s --local 203.0.113.0/24 2>"$T/watch.log" &
WPID=$!
i=0; while ! grep -q "listening on" "$T/watch.log" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
SW="ip netns exec $S swaks --silent 2 --timeout 10 --from alice@example.com --to bob@example.net"
$SW --server 198.51.100.25 --local-interface 203.0.113.10 --helo mail01.example.com --quit-after RCPT; r1=$?
$SW --server 198.51.100.25 --local-interface 203.0.113.11 --helo mail01.example.com --quit-after RCPT; r2=$?
$SW --server 198.51.100.25 --local-interface 203.0.113.10 --helo mail01.example.com --tls --quit-after RCPT; r3=$?
$SW -6 --server 2001:db8:20::25 --local-interface 2001:db8:10::25 --helo mail01.example.com --quit-after RCPT; r4=$?
[ "$r1$r2$r3$r4" = 02400 ] && ok "swaks: .10 accepted, .11 refused (24), STARTTLS, IPv6" || ko "swaks exit codes $r1 $r2 $r3 $r4"
sleep 1.5
kill -TERM "$WPID"; wait "$WPID"; rc=$?; WPID=""
"$BIN" sessions --db "$T/e.db" --format jsonl >"$T/s.jsonl"
"$PY" - "$T/s.jsonl" <<'PY' && ok "watch recorded the 4 sessions: sources, HELO, banner, 550 text, STARTTLS, IPv6" || ko "sessions: $(cat "$T/s.jsonl")"
import json, sys
s = [json.loads(l) for l in open(sys.argv[1])]
assert len(s) == 4, len(s)
assert all(x["banner"] == "mx.example.net ESMTP e2e" and x["helo"] == "mail01.example.com" for x in s)
by = lambda ip: [x for x in s if x["src_ip"] == ip]
assert by("203.0.113.11")[0]["reject"].startswith("550 5.7.1 Client host rejected: cannot find your reverse hostname, [203.0.113.11]")
assert [x["starttls"] for x in by("203.0.113.10")] in ([False, True], [True, False])
assert by("2001:db8:10::25")[0]["state"] == "closed"
assert all(x["direction"] == "egress" for x in s)  # v6: the interface address
PY
[ "$rc" = 0 ] && ok "watch exits 0 on SIGTERM" || ko "watch exit $rc: $(tail -3 "$T/watch.log")"
"$BIN" analyze -q --db "$T/e.db" --resolver "127.0.0.1:$PORT"
"$BIN" report --db "$T/e.db" --format json >"$T/r.json"; rc=$?
"$PY" - "$T/r.json" <<'PY' && [ "$rc" = 2 ] && ok "report: .11 no-ptr and rdns-reject, .10 passes, exit 2" || ko "report (exit $rc): $(cat "$T/r.json")"
import json, sys
d = json.load(open(sys.argv[1]))
ids = {i["ip"]: i for i in d["identities"]}
r11 = {f["rule"] for f in ids["203.0.113.11"]["findings"]}
assert {"no-ptr", "rdns-reject"} <= r11, r11
assert ids["203.0.113.10"]["iprev"] == "pass"
assert ids["2001:db8:10::25"]["iprev"] == "pass"
PY
echo "e2e: $pass passed, $fail failed"
[ "$fail" = 0 ]
