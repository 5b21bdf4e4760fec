#!/usr/bin/env python3
"""journal_export.py LOG YEAR > OUT: a syslog-form mail log (RFC 3164 times,
read as UTC in YEAR) in journald's export format, for systemd-journal-remote
to turn into a journal file that journalctl then prints (-o json,
-o short-iso) as it would on a mail host. Lines that are not syslog's are
left out. A non-text byte in a message goes out in the binary form of the
export format, as journald keeps such a field."""
import datetime
import re
import struct
import sys

SYSLOG = re.compile(rb"(\w{3} [ \d]\d \d\d:\d\d:\d\d) (\S+) ([^\[:]+)\[(\d+)\]: (.*)")


def field(out, name, value):
    if b"\n" in value or any(b < 32 and b != 9 for b in value):
        out.write(name + b"\n" + struct.pack("<Q", len(value)) + value + b"\n")
    else:
        out.write(name + b"=" + value + b"\n")


def main():
    log, year = sys.argv[1], sys.argv[2]
    out = sys.stdout.buffer
    mono = 1000000
    for line in open(log, "rb"):
        m = SYSLOG.match(line.rstrip(b"\n"))
        if not m:
            continue
        stamp = m.group(1).decode().replace("  ", " ")
        t = datetime.datetime.strptime(year + " " + stamp, "%Y %b %d %H:%M:%S")
        us = int(t.replace(tzinfo=datetime.timezone.utc).timestamp()) * 1000000
        mono += 1000
        field(out, b"__REALTIME_TIMESTAMP", b"%d" % us)
        field(out, b"__MONOTONIC_TIMESTAMP", b"%d" % mono)
        field(out, b"_BOOT_ID", b"0123456789abcdef0123456789abcdef")
        field(out, b"_HOSTNAME", m.group(2))
        field(out, b"SYSLOG_IDENTIFIER", m.group(3))
        field(out, b"_PID", m.group(4))
        field(out, b"PRIORITY", b"6")
        field(out, b"MESSAGE", m.group(5))
        out.write(b"\n")


if __name__ == "__main__":
    main()
