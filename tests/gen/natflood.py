#!/usr/bin/env python3
"""natflood.py DB N: a gateway's worst case, straight into the schema of
an existing database: N SYNs from one host behind the NAT (10.0.0.66,
point gw:in) to one receiver, 10,000 a second, each with its translated
twin outside (203.0.113.10, point gw:out) 300 us later. Every inside
session is the twin of every outside one within a second: the self-join
that paired them was cubic (2,500 took 17 minutes)."""
import sqlite3
import sys

db, n = sys.argv[1], int(sys.argv[2])
c = sqlite3.connect(db)
t0 = 1795687200 * 1000000
for name, iface in (("gw:in", "in"), ("gw:out", "out")):
    c.execute("INSERT OR IGNORE INTO points(name, host, iface, file, linktype, created)"
              " VALUES(?, 'gw', ?, NULL, 'EN10MB', 0)", (name, iface))
pin = c.execute("SELECT id FROM points WHERE name = 'gw:in'").fetchone()[0]
pout = c.execute("SELECT id FROM points WHERE name = 'gw:out'").fetchone()[0]
cols = ("point_id, first_seen, last_seen, ipver, src_ip, src_port, dst_ip, dst_port, state,"
        " end_reason, client_by, direction, starttls_offered, starttls_requested, starttls,"
        " pkts_c2s, pkts_s2c, bytes_c2s, bytes_s2c, n_overlong, n_bare_lf, n_bare_cr, n_gaps,"
        " n_pipelined, n_retrans, n_ooo, n_bad_reply, n_replies_dropped, n_truncated")


def rows():
    for i in range(n):
        t = t0 + i * 100
        for point, src, dt in ((pin, "10.0.0.66", 0), (pout, "203.0.113.10", 300)):
            yield (point, t + dt, t + dt + 75000000, 4, src, 1024 + i % 60000, "198.51.100.25", 25,
                   "syn-only", "timeout", "syn", "egress") + (0,) * 17


c.executemany("INSERT INTO sessions(%s) VALUES(%s)" % (cols, ",".join("?" * 29)), rows())
c.commit()
