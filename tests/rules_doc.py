#!/usr/bin/env python3
"""The man page's CHECKS table lists exactly the rule ids the code can emit.

Rule ids are the first string argument of the finding makers in analyzer/
(emit, emit_server, start, v6_rule and the literal v6_rule returns).
Prints what is missing on either side; exit 1 when they differ."""
import re
import sys

code = ""
for f in ("analyzer/rules.c", "analyzer/rules_cross.c"):
    code += open(f).read()
made = set(re.findall(r'\b(?:emit|emit_server|start|v6_rule)\([^"]*?"([a-z0-9-]+)"', code))
made |= set(re.findall(r'family == 6 \? "([a-z0-9-]+)"', code))
page = open("packaging/egressaudit.8").read()
table = page[page.index(".SH CHECKS"):page.index(".TE", page.index(".SH CHECKS"))]
doc = {m.replace("\\-", "-") for m in re.findall(r"^([a-z0-9\\-]+)\t", table, re.M)}
bad = False
for r in sorted(made - doc):
    print("rules-check: %s is emitted but not in the man page's CHECKS" % r)
    bad = True
for r in sorted(doc - made):
    print("rules-check: %s is in the man page's CHECKS but never emitted" % r)
    bad = True
if not bad:
    print("rules-check: ok (%d rules)" % len(made))
sys.exit(1 if bad else 0)
