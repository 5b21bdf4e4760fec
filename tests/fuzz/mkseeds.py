#!/usr/bin/env python3
"""Write the seed corpus of the fuzz targets into tests/fuzz/corpus/."""
import os
import struct
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "gen"))
from pcapw import ipv4, ipv6, link_frame, tcp_segment  # noqa: E402

out = os.path.join(here, "corpus")
seg = tcp_segment("203.0.113.10", "198.51.100.25", 40001, 25, 1, 1, 0x18,
                  b"EHLO mail01.example.com\r\n")
seg6 = tcp_segment("2001:db8::1", "2001:db8::2", 40001, 25, 1, 1, 0x18,
                   b"250 ok\r\n")
frames = {
    "eth4": (0, link_frame("EN10MB", ipv4("203.0.113.10", "198.51.100.25",
                                           seg), 4)),
    "vlan": (0, link_frame("EN10MB", ipv4("203.0.113.10", "198.51.100.25",
                                           seg), 4, ((0x8100, 5),))),
    "qinq6": (0, link_frame("EN10MB", ipv6("2001:db8::1", "2001:db8::2", seg6,
                                            ext=((0, b"\1\4\0\0\0\0"),)), 6,
                            ((0x88a8, 1), (0x8100, 2)))),
    "sll": (1, link_frame("LINUX_SLL", ipv4("203.0.113.10", "198.51.100.25",
                                             seg), 4)),
    "sll2": (2, link_frame("LINUX_SLL2", ipv6("2001:db8::1", "2001:db8::2",
                                               seg6), 6)),
    "raw": (3, ipv4("203.0.113.10", "198.51.100.25", seg, options=b"\1\1\1\0")),
    "null": (6, link_frame("NULL", ipv6("2001:db8::1", "2001:db8::2", seg6),
                           6)),
}
os.makedirs(os.path.join(out, "fuzz_decode"), exist_ok=True)
for name, (dlt, fr) in frames.items():
    open(os.path.join(out, "fuzz_decode", name), "wb").write(bytes([dlt]) + fr)


def chunks(msgs):
    b = b""
    for server, gap, data in msgs:
        while data:
            part, data = data[:63], data[63:]
            b += bytes([(0x80 if server else 0) | (0x40 if gap else 0) |
                        len(part)]) + part
            gap = False
    return b


dlg = [(1, 0, b"220 mx.example.net ESMTP\r\n"),
       (0, 0, b"EHLO mail01.example.com\r\n"),
       (1, 0, b"250-mx Hello x [203.0.113.10]\r\n250-PIPELINING\r\n"
              b"250 STARTTLS\r\n"),
       (0, 0, b"MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d>\r\nDATA\r\n"),
       (1, 0, b"250 2.1.0 ok\r\n550-5.7.1 [203.0.113.10] no\r\n"
              b"550 5.7.1 PTR\r\n354 go\r\n"),
       (0, 0, b"body\r\n.\r\nBDAT 5 LAST\r\nQUIT\r\nAUTH LOGIN\r\n"),
       (1, 1, b"334 VXNlcg==\r\n"), (0, 0, b"eA==\r\nSTARTTLS\r\n"),
       (1, 0, b"220 go\r\n")]
os.makedirs(os.path.join(out, "fuzz_smtp"), exist_ok=True)
open(os.path.join(out, "fuzz_smtp", "dialogue"), "wb").write(
    b"\x01" + chunks(dlg))
open(os.path.join(out, "fuzz_smtp", "midstream"), "wb").write(
    b"\x00" + chunks(dlg[2:]))

# fuzz_flow: [flags][who][dseq][dack][dt][len][payload]
os.makedirs(os.path.join(out, "fuzz_flow"), exist_ok=True)
C2S = 0 | (2 << 2) | (1 << 4) | (0 << 6)  # 203.0.113.10:40000 -> .25:25
S2C = 2 | (0 << 2) | (0 << 4) | (1 << 6)
seq = [(0x02, C2S, 0, 0, 1, b""), (0x12, S2C, 0, 1, 1, b""),
       (0x18, S2C, 1, 0, 1, b"220 mx\r\n"),
       (0x18, C2S, 1, 0, 1, b"EHLO a.example\r\n"),
       (0x18, S2C, 0, 1, 1, b"250 ok\r\n"), (0x11, C2S, 1, 0, 1, b""),
       (0x11, S2C, 1, 1, 1, b""), (0x10, C2S, 0, 0, 1, b"")]
open(os.path.join(out, "fuzz_flow", "session"), "wb").write(b"".join(
    struct.pack("BBbbBB", f, w, ds, da, dt, len(p)) + p
    for f, w, ds, da, dt, p in seq))
