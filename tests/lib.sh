# tests/lib.sh: what the shell suites share. Source it after setting BIN;
# it sets pass/fail and defines the helpers below. POSIX sh.
pass=0
fail=0
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
  _wu_n=$(($1 * 10))
  shift
  _wu_i=0
  while ! "$@"; do
    _wu_i=$((_wu_i + 1))
    [ "$_wu_i" -ge "$_wu_n" ] && return 1
    sleep 0.1
  done
  return 0
}

# ready PIDFILE PID: watch writes its pid into --pidfile only once every
# capture handle and the database are open (its readiness signal).
ready() { [ -s "$1" ] && [ "$(cat "$1" 2>/dev/null)" = "$2" ]; }
# wait_ready PIDFILE PID [SECONDS]: until ready, or PID exited (status 1).
wait_ready() {
  _wr_i=0
  _wr_n=$((${3:-60} * 10))
  while ! ready "$1" "$2"; do
    kill -0 "$2" 2>/dev/null || return 1
    _wr_i=$((_wr_i + 1))
    [ "$_wr_i" -ge "$_wr_n" ] && return 1
    sleep 0.1
  done
  return 0
}

# nsessions DB [sessions options]: how many sessions the database holds.
nsessions() {
  _ns_db=$1
  shift
  "$BIN" sessions --db "$_ns_db" --format jsonl "$@" 2>/dev/null | wc -l
}
# has_sessions N DB: at least N sessions committed.
has_sessions() { [ "$(nsessions "$2")" -ge "$1" ]; }
