#!/usr/bin/env python3
"""Deterministic capture generator with ground truth, for egressaudit tests.

    capgen.py OUTDIR

writes a set of pcap/pcapng files into OUTDIR and OUTDIR/truth.json, which
lists, per file, the sessions egressaudit must find (the keys of
`sessions --format jsonl`) and, for damaged files, the error it must report.
The expected values come from this file's own model of what it put on the
wire (reply codes, texts, names), never from running egressaudit.
"""
import ipaddress
import json
import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pcapw import (PcapWriter, PcapngWriter, ipv4, ipv6, link_frame,  # noqa
                   tcp_segment)

T0 = 1795687200 * 1000000  # 2026-11-26T10:00:00Z
FIN, SYN, RST, PSH, ACK = 1, 2, 4, 8, 16


def rfc3339(us):
    s, f = divmod(us, 1000000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + ".%06dZ" % f


class Cap:
    """Frames of one capture file, in time order of creation."""

    def __init__(self, linktype="EN10MB"):
        self.linktype = linktype
        self.frames = []  # (ts_us, frame, orig_len)
        self.t = T0

    def tick(self, us=1000):
        self.t += us
        return self.t


class Conn:
    def __init__(self, cap, client, cport, server, sport=25, vlans=(),
                 isn_c=1000, isn_s=5000, ext=(), pad_to=0, ipopts=b""):
        self.cap, self.client, self.cport = cap, client, cport
        self.server, self.sport = server, sport
        self.vlans, self.ext, self.pad_to, self.ipopts = vlans, ext, pad_to, ipopts
        self.ver = ipaddress.ip_address(client).version
        self.cseq, self.sseq = isn_c, isn_s
        self.first = None
        self.last = None
        self.held = []

    def frame(self, from_client, flags, payload=b"", seq=None, ack=None,
              bad_csum=False, hold=False, emit=True):
        src, dst = (self.client, self.server) if from_client else \
            (self.server, self.client)
        sp, dp = (self.cport, self.sport) if from_client else \
            (self.sport, self.cport)
        if seq is None:
            seq = self.cseq if from_client else self.sseq
        if ack is None:
            ack = self.sseq if from_client else self.cseq
        seg = tcp_segment(src, dst, sp, dp, seq, ack, flags, payload,
                          bad_csum=bad_csum,
                          options=b"\x02\x04\x05\xb4" if flags & SYN else b"")
        if self.ver == 4:
            ip = ipv4(src, dst, seg, options=self.ipopts)
        else:
            ip = ipv6(src, dst, seg, ext=self.ext)
        fr = link_frame(self.cap.linktype, ip, self.ver, self.vlans, self.pad_to)
        if hold:
            return fr
        if emit:
            self.put(fr)
        return fr

    def put(self, fr):
        ts = self.cap.tick()
        if self.first is None:
            self.first = ts
        self.last = ts
        self.cap.frames.append((ts, fr, None))

    def handshake(self):
        self.frame(True, SYN)
        self.cseq += 1
        self.frame(False, SYN | ACK)
        self.sseq += 1
        self.frame(True, ACK)

    def send(self, from_client, data, segs=None, ack=True, bad_csum=False):
        """Send data in segments of the sizes in segs (default: one)."""
        if isinstance(data, str):
            data = data.encode("latin-1")
        sizes = segs or [len(data)]
        off = 0
        for n in sizes:
            if off >= len(data):
                break
            chunk = data[off:off + n]
            self.frame(from_client, PSH | ACK, chunk, bad_csum=bad_csum)
            if from_client:
                self.cseq += len(chunk)
            else:
                self.sseq += len(chunk)
            off += len(chunk)
        if off < len(data):
            self.send(from_client, data[off:], None, False, bad_csum)
        if ack:
            self.frame(not from_client, ACK)

    def c(self, data, **kw):
        self.send(True, data, **kw)

    def s(self, data, **kw):
        self.send(False, data, **kw)

    def close(self):
        self.frame(True, FIN | ACK)
        self.cseq += 1
        self.frame(False, FIN | ACK)
        self.sseq += 1
        self.frame(True, ACK)


def crlf(lines):
    return "".join(l + "\r\n" for l in lines)


# --- reference model of the SMTP facts, from the script -------------------

def enhanced_of(text):
    w = text.split(" ", 1)[0]
    p = w.split(".")
    if len(p) == 3 and p[0] in "245" and len(p[0]) == 1 and all(
            x.isdigit() and 1 <= len(x) <= 3 for x in p[1:]):
        return w
    return None


def reply_model(lines):
    code = int(lines[0][:3])
    texts = []
    enh = None
    for i, l in enumerate(lines):
        t = l[4:]
        e = enhanced_of(t)
        if i == 0:
            enh = e
            if e:
                t = t[len(e) + 1:] if len(t) > len(e) else ""
        elif e and e == enh:
            t = t[len(e) + 1:] if len(t) > len(e) else ""
        texts.append(t)
    first = texts[0]
    return {"code": code, "enhanced": enh, "text": " ".join(texts),
            "first": first}


def find_echo(text, server):
    i = 0
    while True:
        i = text.find("[", i)
        if i < 0:
            return None
        j = i + 1
        if text[j:j + 5].lower() == "ipv6:":
            j += 5
        k = j
        while k < len(text) and (text[k] in "0123456789abcdefABCDEF:."):
            k += 1
        try:
            a = ipaddress.ip_address(text[j:k])
            if str(a) != server:
                return str(a)
        except ValueError:
            pass
        i += 1


def truncate(r):
    """What egressaudit keeps of a reply text: 2xx/3xx up to 200 bytes."""
    if r["code"] < 400:
        r = dict(r, text=r["text"][:200])
    return r


def expect(conn, bnr, steps, state=None, end="fin", starttls=False,
           client_by="syn", **over):
    """Expected session from the script: banner lines, [(cmd, reply_lines)]."""
    banner = bnr
    replies, helos, ehlo_reply, echoed, echoed_from = [], [], None, None, None
    mail = None
    st = "banner" if banner else "connected"
    order = ["syn-only", "refused", "connected", "banner", "helo", "mail",
             "tls", "closed"]

    def up(s):
        nonlocal st
        if order.index(s) > order.index(st):
            st = s
    cmds = [("CONNECT", banner)] if banner else []
    cmds += steps
    for cmd, lines in cmds:
        verb = cmd.split(" ")[0].upper()
        if verb in ("EHLO", "HELO"):
            helos.append(cmd.split(" ")[1] if " " in cmd else "")
            up("helo")
        if verb == "MAIL":
            up("mail")
            if mail is None:
                a = cmd[cmd.find("<") + 1:cmd.find(">")]
                mail = a.rsplit("@", 1)[1] if "@" in a else ""
        if not lines:
            continue
        r = reply_model(lines)
        if verb in ("EHLO", "HELO") and ehlo_reply is None:
            ehlo_reply = r["first"]
            e = find_echo(r["first"], conn.server)
            if e and echoed is None:
                echoed, echoed_from = e, verb
        if r["code"] >= 400 and echoed is None:
            e = find_echo(r["text"], conn.server)
            if e:
                echoed, echoed_from = e, "reject"
        replies.append(truncate(r))
        if verb == "STARTTLS" and r["code"] == 220:
            up("tls")
        if verb == "QUIT" and r["code"] == 221:
            up("closed")
    last = None
    if replies:
        r = replies[-1]
        last = " ".join(x for x in (str(r["code"]), r["enhanced"] or "",
                                    r["text"]) if x).rstrip(" ")
    d = {
        "first_seen": rfc3339(conn.first), "last_seen": rfc3339(conn.last),
        "src_ip": conn.client, "src_port": conn.cport,
        "dst_ip": conn.server, "dst_port": conn.sport,
        "state": state or st, "end": end, "client_by": client_by,
        "banner": reply_model(banner)["first"] if banner else None,
        "helo": helos[0] if helos else None, "helos": helos,
        "ehlo_reply": ehlo_reply, "echoed_ip": echoed,
        "echoed_from": echoed_from, "mail_from_domain": mail,
        "starttls": starttls, "last_reply": last,
        "replies": [{"code": r["code"], "enhanced": r["enhanced"],
                     "text": r["text"]} for r in replies],
        "vlan": None, "direction": "unknown",
    }
    d.update(over)
    return d


def dialogue(conn, banner, steps, **kw):
    """Play the script: banner, then each command and its reply."""
    if banner:
        conn.s(crlf(banner), **kw)
    for cmd, lines in steps:
        conn.c(cmd + "\r\n", **kw)
        if lines:
            conn.s(crlf(lines), **kw)


BANNER = ["220 mx.example.net ESMTP testbed"]
EHLO_PF = ["250-mx.example.net", "250-PIPELINING", "250-SIZE 10240000",
           "250-STARTTLS", "250-ENHANCEDSTATUSCODES", "250 8BITMIME"]


def full_steps(helo="mail01.example.com", ehlo=EHLO_PF):
    return [("EHLO " + helo, ehlo),
            ("MAIL FROM:<alice@example.com>", ["250 2.1.0 Ok"]),
            ("RCPT TO:<bob@example.net>", ["250 2.1.5 Ok"]),
            ("DATA", ["354 End data with <CR><LF>.<CR><LF>"])]


def play_full(conn, helo="mail01.example.com", ehlo=EHLO_PF, **kw):
    steps = full_steps(helo, ehlo)
    dialogue(conn, BANNER, steps, **kw)
    conn.c("Subject: test\r\n\r\nHELO this is body text, not a command\r\n"
           "QUIT\r\n.\r\n")
    done = ["250 2.0.0 Ok: queued as 4ABC"]
    conn.s(crlf(done))
    conn.c("QUIT\r\n")
    conn.s(crlf(["221 2.0.0 Bye"]))
    conn.close()
    return steps + [("DATA-END", done), ("QUIT", ["221 2.0.0 Bye"])]


def scen_main(cap):
    """The main capture: one session per behaviour. Returns expectations."""
    out = []
    sv = "198.51.100.25"

    # 1. Coherent sender, full dialogue with body and QUIT.
    c = Conn(cap, "203.0.113.10", 40001, sv)
    c.handshake()
    steps = play_full(c)
    out.append(expect(c, BANNER, steps, mail_from_domain="example.com"))

    # 2. NAT: Exim echoes the public address, the packet has the private one.
    cap.tick(10**6)
    c = Conn(cap, "10.0.0.10", 40002, "198.51.100.27")
    c.handshake()
    exim = ["250-mx-exim.example.net Hello mail01.example.com [203.0.113.10]",
            "250-SIZE 52428800", "250-PIPELINING", "250 HELP"]
    steps = [("EHLO mail01.example.com", exim),
             ("QUIT", ["221 mx-exim.example.net closing connection"])]
    dialogue(c, ["220 mx-exim.example.net ESMTP Exim 4.96"], steps)
    c.close()
    out.append(expect(c, ["220 mx-exim.example.net ESMTP Exim 4.96"], steps))

    # 3. No PTR: Postfix rejects at RCPT and quotes our address.
    cap.tick(10**6)
    c = Conn(cap, "203.0.113.11", 40003, sv)
    c.handshake()
    rej = ["550 5.7.1 <bob@example.net>: Client host rejected: cannot find "
           "your reverse hostname, [203.0.113.11]"]
    steps = [("EHLO mail01.example.com", EHLO_PF),
             ("MAIL FROM:<>", ["250 2.1.0 Ok"]),
             ("RCPT TO:<bob@example.net>", rej),
             ("QUIT", ["221 2.0.0 Bye"])]
    dialogue(c, BANNER, steps)
    c.close()
    out.append(expect(c, BANNER, steps))

    # 4. Gmail-style multi-line 550 with the enhanced code on every line.
    cap.tick(10**6)
    c = Conn(cap, "203.0.113.12", 40004, "198.51.100.30")
    c.handshake()
    gm = ["550-5.7.25 [203.0.113.12] The IP address sending this message does",
          "550-5.7.25 not have a PTR record setup, or the corresponding forward",
          "550 5.7.25 DNS entry does not point to the sending IP. - gsmtp"]
    gb = ["220 mx.google.example ESMTP x1-20020a05 - gsmtp"]
    steps = [("EHLO mail01.example.com",
              ["250-mx.google.example at your service, [203.0.113.12]",
               "250-SIZE 157286400", "250 SMTPUTF8"]),
             ("MAIL FROM:<alice@example.com>", ["250 2.1.0 OK"]),
             ("RCPT TO:<bob@example.net>", ["250 2.1.5 OK"]),
             ("DATA", ["354 Go ahead"])]
    dialogue(c, gb, steps)
    c.c("Subject: x\r\n\r\nhi\r\n.\r\n")
    c.s(crlf(gm))
    c.frame(False, RST | ACK)
    out.append(expect(c, gb, steps + [("DATA-END", gm)], end="rst"))

    # 5. STARTTLS accepted: what follows is ciphertext and is not parsed.
    cap.tick(10**6)
    c = Conn(cap, "203.0.113.10", 40005, sv)
    c.handshake()
    steps = [("EHLO mail01.example.com", EHLO_PF),
             ("STARTTLS", ["220 2.0.0 Ready to start TLS"])]
    dialogue(c, BANNER, steps)
    c.c(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfcEHLO fake.example\r\n")
    c.s(b"\x16\x03\x03\x00\x7a\x02\x00\x00\x76\x03\x03550 5.0.0 no\r\n")
    c.close()
    out.append(expect(c, BANNER, steps, starttls=True))

    # 6. SYN only, retransmitted: outbound port 25 blocked.
    cap.tick(10**6)
    c = Conn(cap, "203.0.113.10", 40006, "198.51.100.99")
    c.frame(True, SYN)
    cap.tick(10**6)
    c.frame(True, SYN)
    cap.tick(2 * 10**6)
    c.frame(True, SYN)
    out.append(expect(c, None, [], state="syn-only", end="timeout",
                      ehlo_reply=None))

    # 7. Refused: RST answers the SYN.
    cap.tick(10**6)
    c = Conn(cap, "203.0.113.10", 40007, "198.51.100.98")
    c.frame(True, SYN)
    c.cseq += 1
    c.frame(False, RST | ACK, seq=0)
    out.append(expect(c, None, [], state="refused", end="rst"))

    # 8. Rejected at the banner.
    cap.tick(10**6)
    c = Conn(cap, "203.0.113.13", 40008, "198.51.100.31")
    c.handshake()
    b554 = ["554 5.7.1 mx.blocked.example Service unavailable; Client host "
            "[203.0.113.13] blocked using zen.example"]
    steps = [("QUIT", ["221 2.0.0 Bye"])]
    dialogue(c, b554, steps)
    c.close()
    out.append(expect(c, b554, steps))

    # 9. Pipelining (RFC 2920): MAIL, RCPT, RCPT, DATA in one segment.
    cap.tick(10**6)
    c = Conn(cap, "203.0.113.10", 40009, sv)
    c.handshake()
    c.s(crlf(BANNER))
    c.c("EHLO mail01.example.com\r\n")
    c.s(crlf(EHLO_PF))
    c.c("MAIL FROM:<alice@example.com> SIZE=300\r\nRCPT TO:<a@example.net>\r\n"
        "RCPT TO:<b@example.net>\r\nDATA\r\n")
    pr = [["250 2.1.0 Ok"], ["250 2.1.5 Ok"],
          ["450 4.2.0 <b@example.net>: Recipient address rejected: Greylisted"],
          ["354 End data with <CR><LF>.<CR><LF>"]]
    c.s("".join(crlf(x) for x in pr))
    c.c("Subject: p\r\n\r\nbody\r\n.\r\nQUIT\r\n")
    c.s(crlf(["250 2.0.0 Ok: queued as 1"]) + crlf(["221 2.0.0 Bye"]))
    c.close()
    steps = [("EHLO mail01.example.com", EHLO_PF),
             ("MAIL FROM:<alice@example.com> SIZE=300", pr[0]),
             ("RCPT TO:<a@example.net>", pr[1]),
             ("RCPT TO:<b@example.net>", pr[2]), ("DATA", pr[3]),
             ("DATA-END", ["250 2.0.0 Ok: queued as 1"]),
             ("QUIT", ["221 2.0.0 Bye"])]
    out.append(expect(c, BANNER, steps, mail_from_domain="example.com"))

    # 10. Every byte its own segment ("EH" + "LO x\r\n" and worse).
    cap.tick(10**6)
    c = Conn(cap, "203.0.113.10", 40010, sv)
    c.handshake()
    steps = [("EHLO split.example.com",
              ["250-mx.example.net Hello split.example.com [203.0.113.10]",
               "250 8BITMIME"]),
             ("QUIT", ["221 2.0.0 Bye"])]
    c.s(crlf(BANNER), segs=[1] * 200)
    for cmd, lines in steps:
        c.c(cmd + "\r\n", segs=[1] * 200)
        c.s(crlf(lines), segs=[1] * 200)
    c.close()
    out.append(expect(c, BANNER, steps))

    # 11. Out of order, retransmitted and overlapping segments.
    cap.tick(10**6)
    c = Conn(cap, "203.0.113.10", 40011, sv)
    c.handshake()
    c.s(crlf(BANNER))
    data = b"EHLO reorder.example.com\r\n"
    a = c.frame(True, PSH | ACK, data[:10], hold=True)
    c.cseq += 10
    b = c.frame(True, PSH | ACK, data[10:], hold=True)
    c.put(b)          # second half first
    c.put(a)          # then the first
    c.put(a)          # a retransmission of it
    c.cseq += len(data) - 10
    rep = crlf(["250-mx.example.net", "250 STARTTLS"]).encode()
    x = c.frame(False, PSH | ACK, rep[:15], hold=True)
    y = c.frame(False, PSH | ACK, rep[5:], seq=c.sseq + 5, hold=True)  # overlap
    c.put(x)
    c.put(y)
    c.sseq += len(rep)
    c.frame(True, ACK)
    c.c("QUIT\r\n")
    c.s(crlf(["221 2.0.0 Bye"]))
    c.close()
    steps = [("EHLO reorder.example.com", ["250-mx.example.net",
                                            "250 STARTTLS"]),
             ("QUIT", ["221 2.0.0 Bye"])]
    out.append(expect(c, BANNER, steps))

    # 12. A segment the capture lost (the server acknowledged it): the
    # partial line is dropped and parsing resumes at the next line.
    cap.tick(10**6)
    c = Conn(cap, "203.0.113.10", 40012, sv)
    c.handshake()
    c.s(crlf(BANNER))
    c.c("EHLO gap.example.com\r\n")
    c.s(crlf(EHLO_PF))
    lost = b"MAIL FROM:<lost@example.com>\r\n"
    c.cseq += len(lost)  # never captured
    c.s(crlf(["250 2.1.0 Ok"]))
    c.c("RCPT TO:<bob@example.net>\r\n")
    c.s(crlf(["250 2.1.5 Ok"]))
    c.c("QUIT\r\n")
    c.s(crlf(["221 2.0.0 Bye"]))
    c.close()
    # The reply to the lost MAIL arrives while no command is pending: it is
    # kept, answering nothing; RCPT and QUIT still get their own replies.
    out.append(expect(c, BANNER, [
        ("EHLO gap.example.com", EHLO_PF), ("?", ["250 2.1.0 Ok"]),
        ("RCPT TO:<bob@example.net>", ["250 2.1.5 Ok"]),
        ("QUIT", ["221 2.0.0 Bye"])]))

    # 13. Capture started mid-stream: no SYN, first bytes are EHLO.
    cap.tick(10**6)
    c = Conn(cap, "203.0.113.14", 40013, sv)
    steps = [("EHLO midstream.example.com", EHLO_PF),
             ("QUIT", ["221 2.0.0 Bye"])]
    dialogue(c, None, steps)
    c.close()
    out.append(expect(c, None, steps, client_by="port"))

    # 14. One-sided mirror: only the client's packets were captured.
    cap.tick(10**6)
    c = Conn(cap, "203.0.113.15", 40014, sv)
    c.frame(True, SYN)
    c.cseq += 1
    c.sseq += 1 + len(crlf(BANNER))
    c.frame(True, ACK)
    c.frame(True, PSH | ACK, b"EHLO onesided.example.com\r\n")
    c.cseq += 27
    c.frame(True, PSH | ACK, b"QUIT\r\n")
    c.cseq += 6
    c.frame(True, FIN | ACK)
    out.append(expect(c, None, [("EHLO onesided.example.com", None),
                                ("QUIT", None)], end="timeout"))

    # 15. 802.1Q VLAN 100, bad TCP checksums (offload), Ethernet padding.
    cap.tick(10**6)
    c = Conn(cap, "203.0.113.16", 40015, sv, vlans=((0x8100, 100),),
             pad_to=60)
    c.handshake()
    steps = [("HELO vlan.example.com", ["250 mx.example.net"]),
             ("QUIT", ["221 2.0.0 Bye"])]
    dialogue(c, BANNER, steps, bad_csum=True)
    c.close()
    out.append(expect(c, BANNER, steps, vlan=100))

    # 16. QinQ: outer 802.1ad 200, inner 802.1Q 300; outermost id kept.
    cap.tick(10**6)
    c = Conn(cap, "203.0.113.17", 40016, sv,
             vlans=((0x88A8, 200), (0x8100, 300)))
    c.handshake()
    steps = [("EHLO qinq.example.com", ["250 mx.example.net"]),
             ("QUIT", ["221 2.0.0 Bye"])]
    dialogue(c, BANNER, steps)
    c.close()
    out.append(expect(c, BANNER, steps, vlan=200))

    # 17. VLAN id 0 (priority tag).
    cap.tick(10**6)
    c = Conn(cap, "203.0.113.18", 40017, sv, vlans=((0x8100, 0),))
    c.handshake()
    dialogue(c, BANNER, steps)
    c.close()
    out.append(expect(c, BANNER, steps, vlan=0))

    # 18. IPv6 with hop-by-hop and destination options; Sendmail's echo.
    cap.tick(10**6)
    c = Conn(cap, "2001:db8:10::25", 40018, "2001:db8:20::25",
             ext=((0, b"\x01\x04\0\0\0\0"), (60, b"\x01\x04\0\0\0\0")))
    c.handshake()
    sm = ["250-mx6.example.net Hello mail01.example.com [IPv6:2001:db8:10::25],"
          " pleased to meet you", "250 ENHANCEDSTATUSCODES"]
    steps = [("EHLO mail01.example.com", sm), ("QUIT", ["221 2.0.0 Bye"])]
    dialogue(c, ["220 mx6.example.net ESMTP Sendmail 8.17"], steps)
    c.close()
    out.append(expect(c, ["220 mx6.example.net ESMTP Sendmail 8.17"], steps))

    # 19. IPv6 without PTR, rejected with the address in the text.
    cap.tick(10**6)
    c = Conn(cap, "2001:db8:10::26", 40019, "2001:db8:20::25")
    c.handshake()
    r6 = ["550-5.7.1 [2001:db8:10::26] Our system has detected that this",
          "550 5.7.1 message does not meet IPv6 sending guidelines regarding"
          " PTR records"]
    steps = [("EHLO mail02.example.com", ["250-mx.example.net", "250 SIZE"]),
             ("MAIL FROM:<a@example.com>", ["250 2.1.0 OK"]),
             ("RCPT TO:<b@example.net>", ["250 2.1.5 OK"]),
             ("DATA", ["354 Go ahead"])]
    dialogue(c, BANNER, steps)
    c.c("x\r\n.\r\n")
    c.s(crlf(r6))
    c.close()
    out.append(expect(c, BANNER, steps + [("DATA-END", r6)]))

    # 20. A hostile banner: terminal escapes, NUL, invalid UTF-8.
    cap.tick(10**6)
    c = Conn(cap, "203.0.113.10", 40020, "198.51.100.66")
    c.handshake()
    c.s(b"220 evil.example \x1b]0;owned\x07\x1b[2J\x00\xff\xfe end\r\n")
    c.c("EHLO mail01.example.com\r\n")
    c.s("250 evil.example\r\n")
    c.close()
    out.append(expect(c, ["220 x"], [("EHLO mail01.example.com",
                                      ["250 evil.example"])],
                      banner="evil.example \\x1b]0;owned\\x07\\x1b[2J\\x00"
                             "\\xff\\xfe end"))
    out[-1]["replies"][0]["text"] = out[-1]["banner"]

    # 21. A 100 kB reply line without CRLF, then the reply's last line.
    cap.tick(10**6)
    c = Conn(cap, "203.0.113.10", 40021, "198.51.100.67")
    c.handshake()
    c.s(crlf(BANNER))
    c.c("EHLO mail01.example.com\r\n")
    c.s("250-" + "A" * 100000, segs=[1400] * 80)
    c.s("\r\n250 ok\r\n")
    c.c("QUIT\r\n")
    c.s(crlf(["221 2.0.0 Bye"]))
    c.close()
    # The over-long reply line keeps its first bytes (a 2xx text: 200),
    # marked truncated, and the reply still pairs with the EHLO.
    out.append(expect(c, BANNER, [("EHLO mail01.example.com", ["250 ok"]),
                                  ("QUIT", ["221 2.0.0 Bye"])],
                      ehlo_reply="A" * 200))
    out[-1]["replies"][1]["text"] = "A" * 200

    # 22. AUTH LOGIN: the 334 exchange does not shift replies off commands.
    cap.tick(10**6)
    c = Conn(cap, "203.0.113.10", 40022, "198.51.100.26", sport=25)
    c.handshake()
    c.s(crlf(BANNER))
    c.c("EHLO mail01.example.com\r\n")
    c.s(crlf(["250-mx.example.net", "250 AUTH LOGIN PLAIN"]))
    c.c("AUTH LOGIN\r\n")
    c.s("334 VXNlcm5hbWU6\r\n")
    c.c("c2VjcmV0dXNlcg==\r\n")
    c.s("334 UGFzc3dvcmQ6\r\n")
    c.c("c2VjcmV0cGFzcw==\r\n")
    c.s("535 5.7.8 Error: authentication failed\r\n")
    c.c("QUIT\r\n")
    c.s(crlf(["221 2.0.0 Bye"]))
    c.close()
    out.append(expect(c, BANNER, [
        ("EHLO mail01.example.com", ["250-mx.example.net",
                                     "250 AUTH LOGIN PLAIN"]),
        ("AUTH LOGIN", ["334 VXNlcm5hbWU6"]), ("x", ["334 UGFzc3dvcmQ6"]),
        ("y", ["535 5.7.8 Error: authentication failed"]),
        ("QUIT", ["221 2.0.0 Bye"])]))

    # 23. BDAT (RFC 3030): chunk bytes that look like commands are skipped.
    cap.tick(10**6)
    c = Conn(cap, "203.0.113.10", 40023, "198.51.100.25")
    c.handshake()
    c.s(crlf(BANNER))
    c.c("EHLO mail01.example.com\r\n")
    c.s(crlf(["250-mx.example.net", "250 CHUNKING"]))
    c.c("MAIL FROM:<a@example.com>\r\n")
    c.s("250 2.1.0 Ok\r\n")
    c.c("RCPT TO:<b@example.net>\r\n")
    c.s("250 2.1.5 Ok\r\n")
    chunk = b"EHLO inside.chunk\r\nQUIT\r\n"
    c.c(b"BDAT %d LAST\r\n" % len(chunk) + chunk)
    c.s("250 2.0.0 Ok: queued\r\n")
    c.c("QUIT\r\n")
    c.s(crlf(["221 2.0.0 Bye"]))
    c.close()
    out.append(expect(c, BANNER, [
        ("EHLO mail01.example.com", ["250-mx.example.net", "250 CHUNKING"]),
        ("MAIL FROM:<a@example.com>", ["250 2.1.0 Ok"]),
        ("RCPT TO:<b@example.net>", ["250 2.1.5 Ok"]),
        ("BDAT", ["250 2.0.0 Ok: queued"]), ("QUIT", ["221 2.0.0 Bye"])]))

    # 24. Microsoft-style echo, and an IPv4 header with options.
    cap.tick(10**6)
    c = Conn(cap, "203.0.113.19", 40024, "198.51.100.40",
             ipopts=b"\x01\x01\x01\x00")
    c.handshake()
    ms = ["250-mx.protection.example Hello [203.0.113.19]",
          "250-SIZE 49283072", "250 STARTTLS"]
    mb = ["220 mx.protection.example Microsoft ESMTP MAIL Service ready"]
    steps = [("EHLO mail03.example.com", ms),
             ("STARTTLS", ["454 4.7.0 TLS not available due to local problem"]),
             ("QUIT", ["221 2.0.0 Service closing transmission channel"])]
    dialogue(c, mb, steps)
    c.close()
    out.append(expect(c, mb, steps))

    # Noise the flow logic must ignore: HTTPS, an IP fragment, ARP.
    cap.tick(10**6)
    n = Conn(cap, "203.0.113.10", 50000, "198.51.100.80", sport=443)
    n.handshake()
    n.c("\x16\x03\x01 hello tls")
    frag = ipv4("203.0.113.10", "198.51.100.25", b"\0" * 40, frag=0x2000)
    cap.frames.append((cap.tick(), link_frame(cap.linktype, frag, 4), None))
    if cap.linktype == "EN10MB":
        arp = b"\xff" * 6 + b"\x02" * 6 + b"\x08\x06" + b"\0" * 28
        cap.frames.append((cap.tick(), arp, None))
    # A later SMTP packet, so that the SYN-only flow of scenario 6 expires
    # by packet time; itself still open when the capture ends.
    cap.tick(400 * 10**6)
    c = Conn(cap, "203.0.113.10", 40025, "198.51.100.97")
    c.frame(True, SYN)
    out.append(expect(c, None, [], state="syn-only", end="eof"))
    return out


def scen_small(cap, client="203.0.113.20", server="198.51.100.25",
               helo="small.example.com"):
    """One ordinary session, for the link-type and file-format variants."""
    c = Conn(cap, client, 41000, server)
    c.handshake()
    steps = [("EHLO " + helo,
              ["250-mx.example.net Hello %s [%s]" % (helo, client),
               "250 PIPELINING"]),
             ("QUIT", ["221 2.0.0 Bye"])]
    dialogue(c, BANNER, steps)
    c.close()
    return [expect(c, BANNER, steps)]


def write(path, cap, fmt="pcap", **kw):
    w = (PcapngWriter if fmt == "pcapng" else PcapWriter)(path, cap.linktype,
                                                          **kw)
    for ts, fr, orig in cap.frames:
        w.write(ts, fr, orig)
    w.close()


def main():
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    truth = {}

    cap = Cap("EN10MB")
    truth["main.pcap"] = {"sessions": scen_main(cap)}
    write(os.path.join(outdir, "main.pcap"), cap)
    # The same packets as pcapng with nanosecond timestamps.
    write(os.path.join(outdir, "main.pcapng"), cap, fmt="pcapng")
    truth["main.pcapng"] = truth["main.pcap"]
    # Without the BPF filter the flow logic must find exactly the same.
    truth["main-nofilter"] = dict(truth["main.pcap"], file="main.pcap",
                                  args=["--no-filter"])

    variants = [
        ("sll.pcap", "LINUX_SLL", "pcap", {}, "203.0.113.20"),
        ("sll2.pcap", "LINUX_SLL2", "pcap", {}, "203.0.113.21"),
        ("raw.pcap", "RAW", "pcap", {}, "2001:db8:10::30"),
        ("ipv4.pcap", "IPV4", "pcap", {}, "203.0.113.22"),
        ("ipv6.pcap", "IPV6", "pcap", {}, "2001:db8:10::31"),
        ("null.pcap", "NULL", "pcap", {}, "2001:db8:10::32"),
        ("loop.pcap", "LOOP", "pcap", {}, "203.0.113.23"),
        ("be-nanos.pcap", "EN10MB", "pcap", {"nanos": True,
                                             "big_endian": True},
         "203.0.113.24"),
        ("be.pcapng", "EN10MB", "pcapng", {"big_endian": True,
                                           "nanos": False}, "203.0.113.25"),
    ]
    for name, lt, fmt, kw, client in variants:
        cap = Cap(lt)
        server = "2001:db8:20::25" if ":" in client else "198.51.100.25"
        truth[name] = {"sessions": scen_small(cap, client, server)}
        write(os.path.join(outdir, name), cap, fmt=fmt, **kw)

    # Port 587 is followed only when asked for.
    cap = Cap("EN10MB")
    c = Conn(cap, "203.0.113.26", 41001, "198.51.100.25", sport=587)
    c.handshake()
    steps = [("EHLO submit.example.com", ["250 mx.example.net"]),
             ("QUIT", ["221 2.0.0 Bye"])]
    dialogue(c, BANNER, steps)
    c.close()
    e = expect(c, BANNER, steps)
    s25 = scen_small(cap, "203.0.113.27")
    write(os.path.join(outdir, "ports.pcap"), cap)
    truth["ports.pcap"] = {"sessions": s25, "args": []}
    truth["ports-587.pcap"] = {"sessions": sorted(
        [e] + s25, key=lambda s: s["first_seen"]), "args": ["--ports",
                                                            "25,587"],
        "file": "ports.pcap"}

    # Both directions on one wire: our host 203.0.113.10 sends, and also
    # receives from 198.51.100.77; a third session is between strangers.
    cap = Cap("EN10MB")
    mixed = []
    mixed += scen_small(cap, "203.0.113.10", "198.51.100.25", "out.example.com")
    c = Conn(cap, "198.51.100.77", 51000, "203.0.113.10")
    c.handshake()
    ib = ["220 mail01.example.com ESMTP Postfix"]
    steps = [("EHLO stranger.example.org", ["250-mail01.example.com",
                                             "250 PIPELINING"]),
             ("QUIT", ["221 2.0.0 Bye"])]
    dialogue(c, ib, steps)
    c.close()
    mixed.append(expect(c, ib, steps))
    mixed += scen_small(cap, "198.51.100.80", "198.51.100.25",
                        "other.example.net")
    # Two more servers of ours as clients see them: one greets with a name
    # whose PTR/A do not match it, one with a name that does not resolve.
    for srv, name, port in (("203.0.113.15", "mail01.example.com", 51001),
                            ("203.0.113.12", "ghost.example.com", 51002)):
        c = Conn(cap, "198.51.100.77", port, srv)
        c.handshake()
        b = ["220 %s ESMTP" % name]
        st = [("EHLO stranger.example.org", ["250 %s" % name]),
              ("QUIT", ["221 2.0.0 Bye"])]
        dialogue(c, b, st)
        c.close()
        mixed.append(expect(c, b, st))
    write(os.path.join(outdir, "both.pcap"), cap)
    write(os.path.join(outdir, "ifaddr.pcapng"), cap, fmt="pcapng",
          if_addrs=[("203.0.113.10", 24), ("2001:db8:10::25", 64)])
    truth["both.pcap"] = {"sessions": mixed}
    dirs = [dict(s) for s in mixed]
    for s, d in zip(dirs, ["egress", "inbound", "unknown", "inbound",
                           "inbound"]):
        s["direction"] = d
    truth["both-local"] = {"sessions": dirs, "file": "both.pcap",
                           "args": ["--local", "203.0.113.0/24",
                                    "--local", "2001:db8::/32"]}
    # The interface declares its own address (a host, not its subnet): the
    # other servers of the /24 are not ours as far as this file knows.
    ifdirs = [dict(s) for s in dirs]
    for s in ifdirs[3:]:
        s["direction"] = "unknown"
    truth["ifaddr.pcapng"] = {"sessions": ifdirs}

    # Damaged and hostile files: one clear line, the right exit code, and
    # what came before the damage is kept.
    main_bytes = open(os.path.join(outdir, "main.pcap"), "rb").read()
    cut = len(main_bytes) * 2 // 3
    with open(os.path.join(outdir, "truncated.pcap"), "wb") as f:
        f.write(main_bytes[:cut])
    truth["truncated.pcap"] = {"exit": 65, "error": "truncated.pcap: damaged",
                               "min_sessions": 5}
    with open(os.path.join(outdir, "garbage.pcap"), "wb") as f:
        f.write(bytes((i * 37 + 11) & 0xFF for i in range(5000)))
    truth["garbage.pcap"] = {"exit": 65, "error": "not a pcap or pcapng file",
                             "min_sessions": 0}
    with open(os.path.join(outdir, "header-only.pcap"), "wb") as f:
        f.write(main_bytes[:10])
    truth["header-only.pcap"] = {"exit": 65, "error": "header-only.pcap",
                                 "min_sessions": 0}
    with open(os.path.join(outdir, "empty.pcap"), "wb") as f:
        pass
    truth["empty.pcap"] = {"exit": 65, "error": "empty.pcap",
                           "min_sessions": 0}
    # Unknown link type (DLT_IEEE802_11 = 105).
    with open(os.path.join(outdir, "wifi.pcap"), "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 105))
    truth["wifi.pcap"] = {"exit": 65, "error": "link type 105",
                          "min_sessions": 0}

    # Snaplen 68: headers survive, SMTP text is cut; no crash, warned.
    cap = Cap("EN10MB")
    scen_small(cap, "203.0.113.28")
    write(os.path.join(outdir, "snap68.pcap"), cap, snaplen=68)
    truth["snap68.pcap"] = {"exit": 0, "warning": "snaplen (68)",
                            "min_sessions": 1}

    # Frames shorter than their headers, TCP data offset past the end.
    cap = Cap("EN10MB")
    good = scen_small(cap, "203.0.113.29")
    seg = tcp_segment("203.0.113.29", "198.51.100.25", 41002, 25, 1, 1, ACK)
    bad_off = seg[:12] + bytes([0xF0]) + seg[13:]
    cap.frames.append((cap.tick(), link_frame("EN10MB", ipv4(
        "203.0.113.29", "198.51.100.25", bad_off), 4), None))
    cap.frames.append((cap.tick(), b"\x02\x00\x00\x00\x00\x02\x02", None))
    cap.frames.append((cap.tick(), link_frame("EN10MB", ipv4(
        "203.0.113.29", "198.51.100.25", seg)[:30], 4), None))
    cap.frames.append((cap.tick(), link_frame("EN10MB", ipv4(
        "203.0.113.29", "198.51.100.25", seg, total_len=8), 4), None))
    cap.frames.append((cap.tick(), link_frame("EN10MB", b"\x45" + b"\0" * 10,
                                              4), None))
    write(os.path.join(outdir, "malformed.pcap"), cap)
    truth["malformed.pcap"] = {"sessions": good, "decode_errors": [
        "tcp_bad_offset=1", "link_short=1", "ip_bad_header=1", "ip_short=1",
        "tcp_short=1"]}

    # A record whose timestamp is past year 9999 (pcapng's 64-bit time; in
    # microseconds since 1970 it overflowed 64 bits): counted and skipped,
    # the session around it intact.
    cap = Cap("EN10MB")
    good = scen_small(cap, "203.0.113.30")
    cap.frames.insert(2, (2**64 - 1, cap.frames[2][1], None))
    write(os.path.join(outdir, "badtime.pcapng"), cap, fmt="pcapng",
          nanos=False)
    truth["badtime.pcapng"] = {"sessions": good,
                               "decode_errors": ["bad_time=1"]}

    with open(os.path.join(outdir, "truth.json"), "w") as f:
        json.dump(truth, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
