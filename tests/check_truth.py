#!/usr/bin/env python3
"""Compare `egressaudit sessions --format jsonl` with the generator's truth.

    check_truth.py TRUTH.json NAME SESSIONS.jsonl

Prints one line per mismatch and exits 1 if there is any.
"""
import json
import sys

KEYS = ["first_seen", "last_seen", "src_ip", "src_port", "dst_ip", "dst_port",
        "state", "end", "client_by", "banner", "helo", "helos", "ehlo_reply",
        "echoed_ip", "echoed_from", "mail_from_domain", "starttls",
        "last_reply", "replies", "vlan", "direction"]
REQUIRED = ["first_seen", "last_seen", "point", "src_ip", "src_port", "dst_ip",
            "dst_port", "state", "banner", "helo", "ehlo_reply", "echoed_ip",
            "starttls", "last_reply", "replies"]


def main():
    truth = json.load(open(sys.argv[1]))[sys.argv[2]]
    got = [json.loads(l) for l in open(sys.argv[3]) if l.strip()]
    bad = 0
    want = truth["sessions"]
    if len(got) != len(want):
        print("%s: %d sessions, expected %d" % (sys.argv[2], len(got),
                                                len(want)))
        bad += 1
    key = lambda s: (s["first_seen"], s["src_port"])
    gm = {key(s): s for s in got}
    for w in want:
        g = gm.get(key(w))
        if g is None:
            print("%s: missing session %s %s:%s" % (sys.argv[2], w["first_seen"],
                                                   w["src_ip"], w["src_port"]))
            bad += 1
            continue
        for k in REQUIRED:
            if k not in g:
                print("%s: key %s missing from jsonl" % (sys.argv[2], k))
                bad += 1
        for k in KEYS:
            if k == "replies":
                gv = [{"code": r["code"], "enhanced": r["enhanced"],
                       "text": r["text"]} for r in g.get(k, [])]
            else:
                gv = g.get(k)
            if gv != w[k]:
                print("%s: session %s:%s %s: got %r, expected %r" % (
                    sys.argv[2], w["src_ip"], w["src_port"], k, gv, w[k]))
                bad += 1
    print("%s: %d sessions checked, %d mismatches" % (sys.argv[2], len(want),
                                                       bad))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
