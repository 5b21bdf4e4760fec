#!/usr/bin/env python3
"""histgen.py DB N MODE [ZONES]: N sessions of a NAT gateway's history
straight into an egressaudit database (bench/incremental.sh).

MODE 0: the history, 100 sessions a minute ending two hours ago, and
        ZONES (NSD zone files for every source: PTR and A agree).
MODE 1: N new sessions in the last minute (what a watch stored since).

Points 1 and 2 must exist (gw:out, gw:in). Sources: 198.18.0.1 ..
198.18.39.16 (k = 0..10000, mailK.bench.example); k = 10000 is the
gateway's outside address, behind which 1,000 inside hosts 10.1.x.y send
as mail10000.bench.example: every 20th connection is one of theirs, seen
at both points (a twin pair). 2% rejected (550 on the wire), 5% echoed by
the receiver, 0.5% unanswered.
"""
import os
import random
import sqlite3
import sys
import time

COLS = ("point_id, first_seen, last_seen, ipver, src_ip, src_port, dst_ip, dst_port, vlan, state,"
        " end_reason, client_by, banner, banner_host, helo, ehlo_reply, echoed_ip, echoed_from,"
        " mail_from_domain, starttls_offered, starttls_requested, starttls, last_code, last_reply,"
        " pkts_c2s, pkts_s2c, bytes_c2s, bytes_s2c, n_overlong, n_bare_lf, n_bare_cr, n_gaps,"
        " n_pipelined, n_retrans, n_ooo, n_bad_reply, n_replies_dropped, n_truncated, direction")
NAT_K = 10000


def addr(k):
    return "198.%d.%d.%d" % (18 + (k >> 16), (k >> 8) & 255, (k & 255) or 1)


def zones(d):
    os.makedirs(d, exist_ok=True)
    soa = ("@ IN SOA ns1.bench.example. hostmaster.bench.example. 1 3600 600 86400 60\n"
           "@ IN NS ns1.bench.example.\n")
    rev, fwd = {}, ["$ORIGIN bench.example.\n$TTL 86400\n" + soa, "ns1 IN A 127.0.0.1\n"]
    for k in range(NAT_K + 1):
        a, b, c = 18 + (k >> 16), (k >> 8) & 255, (k & 255) or 1
        rev.setdefault((a, b), []).append("%d IN PTR mail%d.bench.example.\n" % (c, k))
        fwd.append("mail%d IN A %s\n" % (k, addr(k)))
    with open(d + "/bench.example.zone", "w") as f:
        f.write("".join(fwd))
    for (a, b), recs in rev.items():
        z = "%d.%d.198.in-addr.arpa" % (b, a)
        with open("%s/%s.zone" % (d, z), "w") as f:
            f.write("$ORIGIN %s.\n$TTL 86400\n" % z + soa + "".join(recs))


def main():
    db, n, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if mode == 0:
        zones(sys.argv[4])
    c = sqlite3.connect(db)
    rnd = random.Random(1 + mode)
    now = int(time.time()) * 1000000
    t0 = now - 2 * 3600 * 1000000 - n * 600000 if mode == 0 else now - 60 * 1000000
    step = 600000 if mode == 0 else 60 * 1000000 // max(n, 1)
    base = (c.execute("SELECT coalesce(max(id), 0) FROM sessions").fetchone()[0]) * 2

    def row(point, t, src, port, mx, k, i):
        state, code, reply = "closed", 221, "221 2.0.0 Bye"
        if i % 200 == 7:
            state, code, reply = "syn-only", None, None
        echoed = src if i % 20 == 3 and point == 1 else None
        if point == 2:
            echoed = None
        banner = None if state == "syn-only" else "mx%d.example.net ESMTP" % mx
        return (point, t, t + 2000000, 4, src, port, "203.0.113.%d" % (mx % 250 + 1), 25, None,
                state, "fin" if state == "closed" else "timeout", "syn",
                banner, None if banner is None else "mx%d.example.net" % mx,
                None if banner is None else "mail%d.bench.example" % k,
                None, echoed, "[ip]" if echoed else None, "example.com",
                1, 1, 1 if banner else 0, code, reply, 8, 9, 100, 300,
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, "egress")

    def rows():
        i = 0
        made = 0
        while made < n:
            t = t0 + i * step
            mx = rnd.randrange(500)
            port = 20000 + (base + i) % 40000
            if i % 20 == 0 and made + 2 <= n:
                h = rnd.randrange(1000)
                inside = "10.1.%d.%d" % (h >> 8, (h & 255) or 1)
                yield row(2, t, inside, port, mx, NAT_K, i)
                yield row(1, t + 300, addr(NAT_K), 30000 + (base + i) % 30000, mx, NAT_K, i)
                made += 2
            else:
                k = rnd.randrange(NAT_K)
                yield row(1, t, addr(k), port, mx, k, i)
                made += 1
            i += 1

    c.execute("BEGIN")
    first = c.execute("SELECT coalesce(max(id), 0) FROM sessions").fetchone()[0]
    c.executemany("INSERT INTO sessions(%s) VALUES(%s)" % (COLS, ",".join("?" * 39)), rows())
    c.execute("INSERT INTO helos(session_id, seq, verb, name) SELECT id, 0, 'EHLO', helo"
              " FROM sessions WHERE id > ? AND helo IS NOT NULL", (first,))
    c.execute("INSERT INTO replies(session_id, seq, cmd, code, enhanced, text) SELECT id, 0,"
              " 'QUIT', 221, '2.0.0', 'Bye' FROM sessions WHERE id > ? AND helo IS NOT NULL",
              (first,))
    # 2% rejected at RCPT: 550 for a reverse-DNS reason
    c.execute("INSERT INTO replies(session_id, seq, cmd, code, enhanced, text) SELECT id, 1,"
              " 'RCPT', 550, '5.7.1', 'Client host rejected: cannot find your reverse"
              " hostname' FROM sessions WHERE id > ? AND helo IS NOT NULL AND id % 50 = 11",
              (first,))
    c.execute("COMMIT")
    if mode == 0:
        c.execute("ANALYZE")
    c.close()


if __name__ == "__main__":
    main()
