#!/usr/bin/python3
"""tests/seccomp_run.py UNIT -- CMD [ARGS...]: run CMD under the system
call filter of a systemd unit, as systemd would apply it, but in kill mode
(any call outside the list kills the process with SIGSYS, where the unit
says EPERM): a call the filter misses is seen in a test, never first in
production. No systemd runs on the test machines; this is its stand-in.

The unit's SystemCallFilter= lines are read as systemd reads them (the
first an allow-list, each later "~" line takes calls away), every @group
is expanded with `systemd-analyze syscall-filter`, and the filter is
loaded with libseccomp (Debian python3-seccomp) for the native
architecture only (SystemCallArchitectures=native), then CMD is executed.
Run it with Debian's /usr/bin/python3: the binding lives there.
"""
import os
import subprocess
import sys

import seccomp


def group(name, seen):
    """The system calls of @name, nested groups expanded."""
    if name in seen:
        return set()
    seen.add(name)
    out = subprocess.run(["systemd-analyze", "syscall-filter", name],
                         check=True, capture_output=True, text=True).stdout
    calls = set()
    for line in out.splitlines()[1:]:
        word = line.strip()
        if not word or word.startswith("#"):
            continue
        calls |= group(word, seen) if word.startswith("@") else {word}
    return calls


def words(names):
    calls = set()
    for n in names:
        calls |= group(n, set()) if n.startswith("@") else {n}
    return calls


def allowed(unit):
    allow = None
    for line in open(unit):
        line = line.strip()
        if not line.startswith("SystemCallFilter="):
            continue
        value = line.split("=", 1)[1].split()
        if not value:
            continue
        if value[0].startswith("~"):
            value[0] = value[0][1:]
            if allow is not None:
                allow -= words(value)
        else:
            allow = (allow or set()) | words(value)
    if allow is None:
        sys.exit("seccomp_run: %s has no SystemCallFilter= allow-list" % unit)
    return allow


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.exit("usage: seccomp_run.py UNIT -- CMD [ARGS...]")
    calls = allowed(sys.argv[1])
    f = seccomp.SyscallFilter(defaction=seccomp.KILL_PROCESS)
    for c in sorted(calls):
        try:
            f.add_rule(seccomp.ALLOW, c)
        except (RuntimeError, ValueError, OSError):
            pass  # not a call of this architecture
    f.load()
    os.execvp(sys.argv[3], sys.argv[3:])


main()
