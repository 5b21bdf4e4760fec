#!/bin/sh
# tests/dns/nsd.sh start|stop DIR PORT: NSD on 127.0.0.1:PORT serving the
# test zones beside this script, as the current user, no chroot. The zone
# 16.113.0.203.in-addr.arpa is broken on purpose: NSD answers SERVFAIL.
# Only loopback is ever used; nothing here queries another resolver.
# EA_ZONES: serve the zones of that directory instead. EA_NSD_LISTEN: more
# addresses to listen on, same port (a testbed namespace's own).
set -eu
cmd=$1 dir=$2 port=$3
zones=${EA_ZONES:-$(cd "$(dirname "$0")/zones" && pwd)}
case "$cmd" in
start)
  mkdir -p "$dir"
  {
    cat <<CONF
server:
  ip-address: 127.0.0.1@$port
  ip-address: ::1@$port
$(for a in ${EA_NSD_LISTEN:-}; do echo "  ip-address: $a@$port"; done)
  username: ""
  chroot: ""
  zonesdir: "$zones"
  database: ""
  zonelistfile: "$dir/zone.list"
  xfrdfile: "$dir/xfrd.state"
  pidfile: "$dir/nsd.pid"
  logfile: "$dir/nsd.log"
  server-count: 1
  verbosity: 1
  hide-version: yes
  refuse-any: no
  # One client asking thousands of questions is the point here: no response
  # rate limiting (RRL would drop the answers and look like timeouts).
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
remote-control:
  control-enable: no
CONF
    for z in "$zones"/*.zone; do
      z=$(basename "$z" .zone)
      printf 'zone:\n  name: "%s"\n  zonefile: "%s/%s.zone"\n' "$z" "$zones" "$z"
    done
  } >"$dir/nsd.conf"
  nsd -c "$dir/nsd.conf"
  i=0
  while [ ! -s "$dir/nsd.pid" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  [ -s "$dir/nsd.pid" ] || { echo "nsd did not start: $(cat "$dir/nsd.log" 2>/dev/null)" >&2; exit 1; }
  # Serving? (the broken zone is expected to be reported in the log)
  i=0
  while ! grep -q "nsd started" "$dir/nsd.log" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  ;;
stop)
  . "$(dirname "$0")/../lib.sh"
  stop_pidfile "$dir/nsd.pid" "$dir/nsd.conf"
  ;;
*) echo "usage: nsd.sh start|stop DIR PORT" >&2; exit 64 ;;
esac
