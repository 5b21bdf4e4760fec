#!/usr/bin/env python3
"""Deterministic benchmark capture: mostly background traffic, some SMTP.

    benchgen.py OUT.pcap PACKETS [--pcapng]
    benchgen.py --synflood OUT.pcap FLOWS

About 2% of the packets are SMTP sessions (one per ~1000 packets, from ~500
client addresses), 5% of frames are VLAN-tagged, 10% IPv6; the rest is
HTTPS, HTTP and DNS with payloads of 60-1500 bytes. Writes OUT.pcap and
OUT.truth.json (the number of SMTP sessions and their EHLO names).
Checksums of background packets are left zero: nobody here checks them.
"""
import json
import random
import struct
import sys

sys.path.insert(0, __import__("os").path.dirname(__import__("os").path.abspath(__file__)))
from pcapw import ipv4, ipv6, link_frame, tcp_segment  # noqa: E402

T0 = 1795687200 * 1000000


def synflood(out, total):
    """total SYNs to port 25, each from a distinct (address, port): the flow
    table's worst case (nothing ever answers, nothing ends)."""
    f = open(out, "wb")
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
    tmpl = bytearray(link_frame("EN10MB", ipv4("198.18.0.1", "203.0.113.25",
        tcp_segment("198.18.0.1", "203.0.113.25", 1024, 25, 1, 0, 2)), 4))
    t = T0
    for i in range(total):
        t += 3
        struct.pack_into("!BBB", tmpl, 14 + 13, (i >> 16) & 255, (i >> 8) & 255, i & 255)
        struct.pack_into("!H", tmpl, 14 + 20, 1024 + (i % 60000))
        f.write(struct.pack("<IIII", t // 1000000, t % 1000000, len(tmpl), len(tmpl)) + tmpl)
    f.close()
    json.dump({"packets": total, "flows": total}, open(out + ".truth.json", "w"))


def main():
    if sys.argv[1] == "--synflood":
        synflood(sys.argv[2], int(sys.argv[3]))
        return
    out, total = sys.argv[1], int(sys.argv[2])
    pcapng = "--pcapng" in sys.argv
    rnd = random.Random(20261126)
    f = open(out, "wb")
    if pcapng:
        f.write(struct.pack("<IIIHHqI", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1, 28))
        f.write(struct.pack("<IIHHII", 1, 20, 1, 0, 262144, 20))
    else:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
    payload = bytes(rnd.getrandbits(8) for _ in range(1500))
    # Background frame templates (Ethernet + IP + TCP/UDP), patched per use.
    bg = []
    for i in range(64):
        v6 = i % 10 == 0
        size = rnd.choice([60, 120, 400, 900, 1460, 1500]) - 54
        size = max(size, 6)
        sport = 1024 + i
        dport = rnd.choice([443, 443, 443, 80, 53])
        src = "2001:db8:99::%x" % (i + 1) if v6 else "192.0.2.%d" % (i + 1)
        dst = "2001:db8:aa::%x" % (i + 7) if v6 else "198.51.100.%d" % (100 + i)
        if dport == 53:
            body = struct.pack("!HHHH", sport, 53, 8 + 40, 0) + payload[:40]
            ip = ipv6(src, dst, body, nh=17) if v6 else ipv4(src, dst, body, proto=17)
        else:
            seg = tcp_segment(src, dst, sport, dport, 1, 1, 0x18, payload[:size])
            ip = ipv6(src, dst, seg) if v6 else ipv4(src, dst, seg)
        vl = ((0x8100, 10),) if i % 20 == 5 else ()
        bg.append(link_frame("EN10MB", ip, 6 if v6 else 4, vl))
    helos = []
    t = T0
    n = 0
    smtp_every = 1000
    sess = 0

    def put(fr):
        nonlocal t, n
        t += 7
        n += 1
        if pcapng:
            body = struct.pack("<IIIII", 0, t >> 32, t & 0xFFFFFFFF, len(fr), len(fr)) + fr
            body += b"\0" * ((4 - len(body) % 4) % 4)
            f.write(struct.pack("<II", 6, len(body) + 12) + body + struct.pack("<I", len(body) + 12))
        else:
            f.write(struct.pack("<IIII", t // 1000000, t % 1000000, len(fr), len(fr)) + fr)

    while n < total:
        if n % smtp_every == 0 and n + 20 < total:
            sess += 1
            v6 = sess % 10 == 0
            ci = sess % 500
            cl = "2001:db8:10::%x" % (ci + 1) if v6 else "203.0.113.%d" % (ci % 250 + 1)
            sv = "2001:db8:20::25" if v6 else "198.51.100.%d" % (sess % 50 + 1)
            vl = ((0x8100, 20),) if sess % 20 == 3 else ()
            helo = "mail%d.example.com" % ci
            helos.append(helo)
            cp = 20000 + sess % 40000
            cs, ss = 1000, 9000

            def seg(fc, flags, data=b""):
                nonlocal cs, ss
                a, b = (cl, sv) if fc else (sv, cl)
                pa, pb = (cp, 25) if fc else (25, cp)
                s = tcp_segment(a, b, pa, pb, cs if fc else ss, ss if fc else cs, flags, data)
                ip = ipv6(a, b, s) if v6 else ipv4(a, b, s)
                put(link_frame("EN10MB", ip, 6 if v6 else 4, vl))
                if fc:
                    cs += len(data) + (1 if flags & 3 else 0)
                else:
                    ss += len(data) + (1 if flags & 3 else 0)
            seg(1, 2)
            seg(0, 0x12)
            seg(1, 0x10)
            for fc, line in ((0, b"220 mx.example.net ESMTP\r\n"),
                             (1, b"EHLO " + helo.encode() + b"\r\n"),
                             (0, b"250-mx.example.net Hello [" + cl.encode() + b"]\r\n250 STARTTLS\r\n"),
                             (1, b"MAIL FROM:<a@example.com>\r\n"), (0, b"250 2.1.0 Ok\r\n"),
                             (1, b"RCPT TO:<b@example.net>\r\n"), (0, b"250 2.1.5 Ok\r\n"),
                             (1, b"QUIT\r\n"), (0, b"221 2.0.0 Bye\r\n")):
                seg(fc, 0x18, line)
            seg(1, 0x11)
            seg(0, 0x11)
            seg(1, 0x10)
            continue
        put(bg[n % 64])
    f.close()
    json.dump({"packets": n, "sessions": sess, "helos": helos},
              open(out + ".truth.json", "w"))


if __name__ == "__main__":
    main()
