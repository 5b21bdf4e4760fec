#!/usr/bin/env python3
"""Compare two jsonl session dumps, ignoring the 'point' key (it names the
file). Prints each difference; exits 1 when there is one."""
import json
import sys


def load(p):
    out = []
    for line in open(p):
        if line.strip():
            d = json.loads(line)
            d.pop("point", None)
            out.append(d)
    return out


a, b = load(sys.argv[1]), load(sys.argv[2])
bad = 0
if len(a) != len(b):
    print("%d sessions expected, %d found" % (len(a), len(b)))
    bad = 1
for i, (x, y) in enumerate(zip(a, b)):
    for k in sorted(set(x) | set(y)):
        if x.get(k) != y.get(k):
            print("session %d %s: expected %r, got %r" % (i, k, x.get(k),
                                                         y.get(k)))
            bad = 1
sys.exit(bad)
