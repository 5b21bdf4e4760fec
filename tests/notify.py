#!/usr/bin/env python3
"""A systemd notify socket owned by a test: bind SOCKET (a datagram socket,
as systemd's), append every message received to OUT (one per line, its
fields joined by '|'), until SIGTERM or --seconds have passed. Start it,
wait until SOCKET exists, then give NOTIFY_SOCKET=SOCKET to the daemon."""
import os
import signal
import socket
import sys
import time


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: notify.py SOCKET OUT [SECONDS]")
    path, out = sys.argv[1], sys.argv[2]
    limit = float(sys.argv[3]) if len(sys.argv) > 3 else 600
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    tmp = path + ".tmp"
    if os.path.exists(tmp):
        os.unlink(tmp)
    s.bind(tmp)
    os.chmod(tmp, 0o777)  # the daemon may have dropped privileges
    os.rename(tmp, path)  # exists only once it is listening
    end = time.monotonic() + limit
    with open(out, "a", buffering=1) as f:
        while time.monotonic() < end:
            s.settimeout(max(0.1, end - time.monotonic()))
            try:
                msg = s.recv(4096)
            except socket.timeout:
                continue
            f.write(msg.decode("utf-8", "replace").replace("\n", "|") + "\n")


main()
