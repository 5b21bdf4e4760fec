#!/bin/sh
# tests/dns/unbound.sh start|stop DIR PORT NSD_PORT: Unbound on
# 127.0.0.1:PORT, a second view of the test zones: it forwards every
# question to the test NSD on 127.0.0.1:NSD_PORT, except the names given
# local data below (a split horizon: an internal resolver that overrides a
# PTR). As the current user, no chroot; its queries leave from 127.0.0.1
# only, so nothing can reach another server. EA_RBL_ZONES (names) and
# EA_RBL_PORT: those zones are forwarded to rbldnsd on that port instead.
set -eu
cmd=$1 dir=$2 port=$3 nsd_port=${4:-}
case "$cmd" in
start)
  mkdir -p "$dir"
  cat >"$dir/unbound.conf" <<CONF
server:
  interface: 127.0.0.1
  port: $port
  do-ip6: no
  username: ""
  chroot: ""
  directory: "$dir"
  pidfile: "$dir/unbound.pid"
  logfile: "$dir/unbound.log"
  use-syslog: no
  verbosity: 1
  module-config: "iterator"
  do-not-query-localhost: no
  outgoing-interface: 127.0.0.1
  access-control: 127.0.0.0/8 allow
  # Unbound answers NXDOMAIN itself for the documentation networks (RFC
  # 6303 defaults): let the test zones through to NSD.
  local-zone: "113.0.203.in-addr.arpa." transparent
  local-zone: "100.51.198.in-addr.arpa." transparent
  local-zone: "8.b.d.0.1.0.0.2.ip6.arpa." transparent
  # The internal view: 203.0.113.10 has another PTR here than in NSD's
  # (public) zone.
  local-data: "10.113.0.203.in-addr.arpa. 300 IN PTR mail-internal.example.com."
remote-control:
  control-enable: no
forward-zone:
  name: "."
  forward-addr: 127.0.0.1@$nsd_port
$(for z in ${EA_RBL_ZONES:-}; do printf 'forward-zone:\n  name: "%s."\n  forward-addr: 127.0.0.1@%s\n' "$z" "$EA_RBL_PORT"; done)
CONF
  unbound -c "$dir/unbound.conf"
  # Ready when it answers (its pidfile comes before its sockets serve).
  i=0
  while [ $i -lt 100 ]; do
    python3 - "$port" <<'PY' && exit 0
import socket, struct, sys
q = struct.pack(">HHHHHH", 0x4541, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(l)]) + l.encode() for l in "10.113.0.203.in-addr.arpa".split(".")) + b"\0"
q += struct.pack(">HH", 12, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.2)
s.sendto(q, ("127.0.0.1", int(sys.argv[1])))
try:
    sys.exit(0 if s.recv(512)[:2] == b"\x45\x41" else 1)
except OSError:
    sys.exit(1)
PY
    i=$((i + 1))
  done
  echo "unbound did not answer: $(tail -3 "$dir/unbound.log" 2>/dev/null)" >&2
  exit 1
  ;;
stop)
  . "$(dirname "$0")/../lib.sh"
  stop_pidfile "$dir/unbound.pid" "$dir/unbound.conf"
  ;;
*) echo "usage: unbound.sh start|stop DIR PORT NSD_PORT" >&2; exit 64 ;;
esac
