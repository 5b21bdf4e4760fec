#!/usr/bin/env python3
"""tests/gen/mloggen.py OUT N: a Postfix mail log of N lines in syslog
(RFC 3164) form, as a busy relay writes it: for each message smtpd's
connect, cleanup's message-id, qmgr's from=, one to three delivery
attempts by smtp (sent, deferred with a timeout or a 4xx, bounced with a
5xx at RCPT, some with conn_use, TLS lines), qmgr's removed, smtpd's
disconnect. Deterministic (seeded); documentation addresses only. Input for
`make bench` (egressaudit read --maillog against pflogsumm)."""
import random
import sys

out, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(15)
mon = "Dec"
t = 0
lines = 0
hexd = "0123456789ABCDEF"
with open(out, "w") as f:
    def w(prog, pid, msg):
        global lines, t
        t += rnd.randrange(0, 3)
        d, s = divmod(t, 86400)
        f.write("%s %2d %02d:%02d:%02d mail01 postfix/%s[%d]: %s\n" % (
            mon, 1 + d % 28, s // 3600, s // 60 % 60, s % 60, prog, pid, msg))
        lines += 1
    while lines < n:
        qid = "".join(rnd.choice(hexd) for _ in range(11))
        cip = "192.0.2.%d" % rnd.randrange(1, 255)
        spid, qpid = rnd.randrange(1000, 9000), 77
        w("smtpd", spid, "connect from client%d.example.com[%s]" % (rnd.randrange(999), cip))
        w("smtpd", spid, "%s: client=client.example.com[%s]" % (qid, cip))
        w("cleanup", spid + 1, "%s: message-id=<%d.%s@example.com>" % (qid, rnd.randrange(10**9), qid))
        w("qmgr", qpid, "%s: from=<user%d@example.com>, size=%d, nrcpt=1 (queue active)" % (
            qid, rnd.randrange(500), rnd.randrange(800, 90000)))
        dom = "example%d.net" % rnd.randrange(300)
        mx = "198.51.100.%d" % rnd.randrange(1, 255)
        pid = rnd.randrange(10000, 30000)
        for attempt in range(rnd.choice((1, 1, 1, 2, 3))):
            r = rnd.random()
            if rnd.random() < 0.7:
                w("smtp", pid, "Untrusted TLS connection established to mx.%s[%s]:25: TLSv1.3 "
                  "with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)" % (dom, mx))
            use = ", conn_use=%d" % rnd.randrange(2, 9) if rnd.random() < 0.2 else ""
            head = "%s: to=<rcpt%d@%s>, relay=mx.%s[%s]:25%s, delay=%.1f, delays=0.01/0/0.%d/0.%d, " % (
                qid, rnd.randrange(9999), dom, dom, mx, use, rnd.random() * 9, rnd.randrange(9), rnd.randrange(9))
            if r < 0.8:
                w("smtp", pid, head + "dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as %s)" % qid[::-1])
                break
            if r < 0.9:
                w("smtp", pid, "connect to mx.%s[%s]:25: Connection timed out" % (dom, mx))
                w("smtp", pid, "%s: to=<rcpt@%s>, relay=none, delay=30, delays=0/0/30/0, dsn=4.4.1, "
                  "status=deferred (connect to mx.%s[%s]:25: Connection timed out)" % (qid, dom, dom, mx))
                continue
            w("smtp", pid, head + "dsn=5.7.1, status=bounced (host mx.%s[%s] said: 550 5.7.1 Client "
              "host rejected: cannot find your reverse hostname, [203.0.113.%d] (in reply to RCPT TO "
              "command))" % (dom, mx, rnd.randrange(1, 255)))
            break
        w("qmgr", qpid, "%s: removed" % qid)
        w("smtpd", spid, "disconnect from client.example.com[%s] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5" % cip)
