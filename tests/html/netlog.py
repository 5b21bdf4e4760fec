#!/usr/bin/env python3
"""netlog.py NET.json: exit 1 (naming them) when the page Chromium loaded
asked for anything but file: URLs. Chromium's own requests (initiator "not
an origin": update checks and the like, which the test's network namespace
stops anyway) are not the page's; a file: page's are "null"."""
import json
import re
import sys

raw = open(sys.argv[1], encoding="utf-8", errors="replace").read()
try:
    log = json.loads(raw)
except ValueError:  # cut short at exit: still searchable text
    log = None
page = []
if log:
    types = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    for e in log["events"]:
        p = e.get("params", {})
        if types.get(e["type"]) == "URL_REQUEST_START_JOB" and "url" in p \
                and p.get("initiator") != "not an origin":
            page.append(p["url"])
else:
    page = re.findall(r'"initiator":"(?!not an origin)[^"]*"[^}]*?"url":"([^"]*)"', raw)
bad = [u for u in page if not u.startswith("file://")]
if bad or "example.net/x" in raw:
    print("requested:", bad or ["example.net/x"])
    sys.exit(1)
