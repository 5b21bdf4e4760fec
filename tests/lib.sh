# tests/lib.sh: what the shell suites share. Source it after setting BIN;
# it sets pass/fail and defines the helpers below. POSIX sh.
pass=0
fail=0
# Never this machine's /etc/default/egressaudit: a test says what it wants.
export EGRESSAUDIT_CONF=""
ok() { pass=$((pass + 1)); echo "ok   - $1"; }
ko() { fail=$((fail + 1)); echo "FAIL - $1"; }

# finish NAME: the closing line "NAME: N passed, N failed"; exit status 1
# when anything failed.
finish() {
  echo "$1: $pass passed, $fail failed"
  [ "$fail" = 0 ]
}

# wait_until SECONDS CMD...: run CMD every 0.1 s until it succeeds; the
# status of its last run. A condition, never a guess at how long a thing
# takes: on a busy machine it simply takes longer.
wait_until() {
  _wu_end=$(($(date +%s) + $1))
  shift
  while ! "$@"; do
    [ "$(date +%s)" -ge "$_wu_end" ] && return 1
    sleep 0.1
  done
  return 0
}

# ready PIDFILE PID: watch writes its pid into --pidfile only once every
# capture handle and the database are open (its readiness signal).
ready() { [ -s "$1" ] && [ "$(cat "$1" 2>/dev/null)" = "$2" ]; }
# wait_ready PIDFILE PID [SECONDS]: until ready, or PID exited (status 1).
wait_ready() {
  _wr_end=$(($(date +%s) + ${3:-60}))
  while ! ready "$1" "$2"; do
    kill -0 "$2" 2>/dev/null || return 1
    [ "$(date +%s)" -ge "$_wr_end" ] && return 1
    sleep 0.1
  done
  return 0
}

# notify_start DIR: a notify socket the test owns (tests/notify.py, as
# systemd's), its messages appended to DIR/notify.log; exports
# NOTIFY_SOCKET for the watches started after it. Sets NOTIFY_PID.
notify_start() {
  ${PY:-python3} tests/notify.py "$1/notify.sock" "$1/notify.log" 900 &
  NOTIFY_PID=$!
  wait_until 30 test -S "$1/notify.sock"
  NOTIFY_SOCKET=$1/notify.sock
  NOTIFY_LOG=$1/notify.log
  export NOTIFY_SOCKET
}
# frames_seen N: the newest STATUS= of a watch says it has taken at least
# N frames from the kernel (so a SIGTERM now loses none of them).
frames_seen() {
  _fs=$(grep "STATUS=capturing" "$NOTIFY_LOG" 2>/dev/null | tail -1 |
    sed -n 's/.*: \([0-9]*\) frames.*/\1/p')
  [ -n "$_fs" ] && [ "$_fs" -ge "$1" ]
}
# pcap_started FILE: tcpdump -U -w FILE has activated its capture: it
# writes the file's header only then (tcpdump has no readiness signal of
# its own; its "listening on" line is log text).
pcap_started() { [ "$(stat -c %s "$1" 2>/dev/null || echo 0)" -ge 24 ]; }
# pcap_frames FILE: its packets (all of them are port 25 in tests/data).
pcap_frames() { tcpdump -n -r "$1" 2>/dev/null | wc -l; }

# nsessions DB [sessions options]: how many sessions the database holds.
nsessions() {
  _ns_db=$1
  shift
  "$BIN" sessions --db "$_ns_db" --format jsonl "$@" 2>/dev/null | wc -l
}
# has_sessions N DB: at least N sessions committed.
has_sessions() { [ "$(nsessions "$2")" -ge "$1" ]; }

# stop_pidfile PIDFILE MARK: SIGTERM the process PIDFILE names, only when
# its command line holds MARK (its config file: never a pid reused by
# another process), and wait up to 5 s for it to go.
stop_pidfile() {
  _sp_pid=$(cat "$1" 2>/dev/null) || return 0
  tr '\0' ' ' <"/proc/$_sp_pid/cmdline" 2>/dev/null | grep -qF "$2" || return 0
  kill -TERM "$_sp_pid"
  _sp_i=0
  while kill -0 "$_sp_pid" 2>/dev/null && [ $_sp_i -lt 50 ]; do sleep 0.1; _sp_i=$((_sp_i + 1)); done
}
