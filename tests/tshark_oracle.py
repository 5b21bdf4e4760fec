#!/usr/bin/env python3
"""Cross-check egressaudit against tshark, an independent SMTP dissector.

    tshark_oracle.py CAPTURE SESSIONS.jsonl

For every TCP connection tshark sees, compare the EHLO/HELO arguments and
the sequence of reply codes (repeats folded) with the session egressaudit
stored. Exits 1 on
any difference; prints "tshark oracle: N sessions agree".
"""
import collections
import json
import subprocess
import sys

cap, jl = sys.argv[1], sys.argv[2]
out = subprocess.run(
    ["tshark", "-n", "-r", cap, "-o", "tcp.desegment_tcp_streams:TRUE",
     "-Y", "smtp", "-T", "fields", "-E", "separator=\t",
     "-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.srcport", "-e", "tcp.dstport",
     "-e", "ip.dst", "-e", "ipv6.dst",
     "-e", "smtp.req.command", "-e", "smtp.req.parameter",
     "-e", "smtp.response.code"],
    check=True, capture_output=True, text=True).stdout
helos = collections.defaultdict(list)
codes = collections.defaultdict(list)
for line in out.splitlines():
    f = line.split("\t")
    src = f[0] or f[1]
    dst = f[4] or f[5]
    sport, dport = int(f[2]), int(f[3])
    if dport == 25:
        key = (src, sport)
        for cmd, par in zip(f[6].split(","), f[7].split(",")):
            if cmd.upper() in ("EHLO", "HELO"):
                helos[key].append(par)
    else:
        key = (dst, dport)
        for c in f[8].split(","):
            if c:
                codes[key].append(int(c))
got = {}
for line in open(jl):
    s = json.loads(line)
    got[(s["src_ip"], s["src_port"])] = s
bad = 0
keys = set(helos) | set(codes)
for k in sorted(keys):
    s = got.get(k)
    if s is None:
        print("tshark sees %s:%d, egressaudit has no session" % k)
        bad += 1
        continue
    if s["helos"] != helos[k]:
        print("%s:%d helos: tshark %r, egressaudit %r" % (k + (helos[k], s["helos"])))
        bad += 1
    # tshark gives one code per line, and a multi-line reply may span
    # packets: compare the sequences with repeated codes folded, on both
    # sides (250 250 354 250 221 -> 250 354 250 221).
    fold = lambda v: [c for i, c in enumerate(v) if i == 0 or v[i - 1] != c]
    mine = fold([r["code"] for r in s["replies"]])
    theirs = fold(codes[k])
    if mine != theirs:
        print("%s:%d reply codes: tshark %r, egressaudit %r" % (k + (theirs, mine)))
        bad += 1
print("tshark oracle: %d sessions compared, %d differences" % (len(keys), bad))
sys.exit(1 if bad else 0)
