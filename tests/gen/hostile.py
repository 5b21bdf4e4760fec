#!/usr/bin/env python3
"""hostile.py OUT.pcap: sessions whose every server-chosen string is markup
(a banner with </svg><script>, an EHLO reply and a reject that carry HTML
with event handlers) from 203.0.113.66, whose PTR in the test zones is
markup too. For the HTML report's test: all of it must render as text."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from capgen import Cap, Conn, dialogue, write  # noqa: E402

BANNER = ["220 </svg><script>alert(1)</script><img src=x onerror=alert(2)> ESMTP"]


def main():
    cap = Cap("EN10MB")
    for i, server in enumerate(("198.51.100.25", "198.51.100.26")):
        c = Conn(cap, "203.0.113.66", 42000 + i, server)
        c.handshake()
        steps = [("EHLO <img src=x onerror=alert(3)>.example.com",
                  ["250-mx.example.net Hello <b onmouseover=alert(4)>x</b> [203.0.113.66]",
                   "250 PIPELINING"]),
                 ("MAIL FROM:<alice@example.com>", ["250 2.1.0 Ok"]),
                 ("RCPT TO:<bob@example.net>",
                  ["550 5.7.1 <iframe src=//example.net/x></iframe> Client host "
                   "rejected: cannot find your reverse hostname, [203.0.113.66]"]),
                 ("QUIT", ["221 2.0.0 Bye"])]
        dialogue(c, BANNER, steps)
        c.close()
        cap.tick(2000000)
    write(sys.argv[1], cap)


if __name__ == "__main__":
    main()
