#!/bin/sh
# The HTML report in a real browser (make html-check; part of make check).
# The demo capture plus tests/gen/hostile.py's sessions (a banner, an EHLO
# reply and a reject that are markup; a PTR in the test zones that is
# markup: 203.0.113.66), analysed against NSD on a loopback port, then
# `report --format html` loaded from disk by headless Chromium: its DOM
# (--dump-dom) must hold our lanes, reject marks and cards and no element,
# attribute or URL of the hostile text; its network log must show no
# request at all; a screenshot is kept (build/tests/html/report.png).
# Prints "html: N passed, N failed".
set -u
BIN=${EA_BIN:-build/egressaudit}
PY=${PYTHON:-python3}
OUT=${EA_HTML_OUT:-build/tests/html}
T=$(mktemp -d /tmp/ea-html.XXXXXX)
PORT=$("$PY" -c "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
trap 'tests/dns/nsd.sh stop "$T/nsd" "$PORT" >/dev/null 2>&1; rm -rf "$T"' EXIT
. tests/lib.sh
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
mkdir -p "$OUT"
CHROME=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROME" ] || { ko "chromium missing (scripts/deps.sh installs it)"; finish html; exit 1; }

tests/dns/nsd.sh start "$T/nsd" "$PORT" >/dev/null || { ko "nsd start"; finish html; exit 1; }
"$PY" tests/gen/hostile.py "$T/hostile.pcap"
db="$T/h.db"
"$BIN" read -q --db "$db" --local 203.0.113.0/24 --local 10.0.0.0/24 --local 2001:db8:10::/48 \
  tests/data/demo.pcapng "$T/hostile.pcap"
"$BIN" analyze -q --db "$db" --resolver "127.0.0.1:$PORT"
"$BIN" report --db "$db" --format html >"$T/r.html"
rc=$?
"$BIN" report --db "$db" --format json >"$T/r.json"
[ "$rc" = 2 ] && [ -s "$T/r.html" ] && ok "report --format html: written, exit 2 as the text report (critical findings)" ||
  ko "report --format html: exit $rc"

# A fresh profile, no first-run, the page from disk; as root in a network
# namespace of its own (nothing but a loopback that is down): Chromium's
# own background requests (update checks, accounts) cannot leave the
# machine either.
NS=""
[ "$(id -u)" = 0 ] && command -v unshare >/dev/null && NS="unshare --net"
chrome() {
  timeout 120 $NS "$CHROME" --headless --no-sandbox --disable-gpu --no-first-run \
    --no-default-browser-check --disable-background-networking --disable-sync \
    --disable-component-update --user-data-dir="$T/profile" --hide-scrollbars "$@" \
    "file://$T/r.html" 2>>"$T/chrome.err"
}
chrome --dump-dom >"$T/dom.html"
chrome --log-net-log="$T/net.json" --net-log-capture-mode=Everything \
  --window-size=1200,1600 --screenshot="$OUT/report.png" >/dev/null
"$PY" - "$T/dom.html" "$T/r.json" >"$T/dom.check" 2>&1 <<'PY' && ok "Chromium's DOM: a lane per source address, the reject marks, a card per identity worst first; the hostile banner, EHLO reply, reject and PTR are text, no element or attribute of theirs" || ko "DOM: $(cat "$T/dom.check")"
import html.parser, json, sys
dom = open(sys.argv[1], encoding="utf-8").read()
rep = json.load(open(sys.argv[2]))
ALLOWED = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "span", "div",
           "b", "table", "tbody", "tr", "td", "svg", "g", "text", "line", "rect", "path"}
class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.lanes, self.marks, self.cards, self.bad = [], [], [], [], []
        self.stack, self.texts = [], []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        self.stack.append(tag)
        if tag not in ALLOWED:
            self.bad.append(("tag", tag, attrs))
        for k, v in attrs:
            if k.startswith("on") or k in ("src", "href", "srcdoc", "action") or (v and "javascript:" in v):
                self.bad.append(("attr", tag, k, v))
        if tag == "g" and a.get("class") == "lane":
            self.lanes.append(a.get("data-src"))
        if tag == "path" and a.get("class") == "reject":
            self.marks.append(1)
        if tag == "div" and a.get("class") == "card" and "data-ip" in a:
            self.cards.append(a["data-ip"])
    def handle_endtag(self, tag):
        if self.stack:
            self.stack.pop()
    def handle_data(self, d):
        self.texts.append(d)
p = P()
p.feed(dom)
assert not p.bad, p.bad[:5]
text = "".join(p.texts)
# the hostile strings arrive as text, whole
for s in ("</svg><script>alert(1)</script><img (198.51.100.25) answered 550",
          "<iframe src=//example.net/x></iframe> Client host rejected",
          "<img src=x onerror=alert\\(5\\)>.example.com"):
    assert s in text, s
srcs = {"10.0.0.10", "2001:db8:10::25", "2001:db8:10::26", "203.0.113.10", "203.0.113.11",
        "203.0.113.12", "203.0.113.14", "203.0.113.15", "203.0.113.66"}
assert set(p.lanes) == srcs and len(p.lanes) == len(srcs), p.lanes
assert len(p.marks) >= 3, p.marks       # .11 (550), .14 (450), .66 (two 550s in one bin or two)
assert p.cards == [i["ip"] for i in rep["identities"]], (p.cards, [i["ip"] for i in rep["identities"]])
assert p.tags.count("svg") == 1 and "script" not in p.tags and "img" not in p.tags
PY
"$PY" tests/html/netlog.py "$T/net.json" >"$T/net.check" 2>&1 && ok "Chromium's network log: nothing requested but the file itself" || ko "network: $(cat "$T/net.check")"
# The same check on a page that does load something (no CSP): it must see it.
printf '<!DOCTYPE html><title>x</title><img src="http://192.0.2.1/x.png">\n' >"$T/r.html"
chrome --log-net-log="$T/net2.json" --dump-dom >/dev/null
! "$PY" tests/html/netlog.py "$T/net2.json" >"$T/net2.check" 2>&1 && grep -q "192.0.2.1" "$T/net2.check" &&
  ok "the network-log check sees a page's request when there is one (control)" || ko "network control: $(cat "$T/net2.check")"
[ -s "$OUT/report.png" ] && ok "screenshot kept: $OUT/report.png" || ko "no screenshot: $(tail -3 "$T/chrome.err")"

# history ADDRESS --format html: the page of one egress address (its lanes,
# as source or as the address receivers echoed, and its card).
"$BIN" history --db "$db" --format html 203.0.113.10 >"$T/h10.html"; rc=$?
"$PY" - "$T/h10.html" <<'PY' && [ "$rc" = 0 ] && ok "history 203.0.113.10 --format html: its two lanes (10.0.0.10 behind the NAT, and itself) and its card only" || ko "history html: exit $rc"
import re, sys
t = open(sys.argv[1], encoding="utf-8").read()
assert re.findall(r'class="lane" data-src="([^"]*)"', t) == ["10.0.0.10", "203.0.113.10"], re.findall(r'data-src="([^"]*)"', t)
assert re.findall(r'data-ip="([^"]*)"', t) == ["203.0.113.10"]
assert "<h1>egressaudit history of 203.0.113.10</h1>" in t
PY

# A host without a capture: the MTA log's rejects still make a lane.
"$BIN" read -q --maillog --log-tz UTC --db "$T/lo.db" tests/data/maillog-postfix-sender.log
"$BIN" report --db "$T/lo.db" --format html >"$T/lo.html"
[ "$(grep -o 'class="lane" data-src="[^"]*"' "$T/lo.html")" = 'class="lane" data-src="(MTA log)"' ] &&
  [ "$(grep -o 'class="reject"' "$T/lo.html" | wc -l)" = 2 ] && grep -q "(from the MTA log)</title>" "$T/lo.html" &&
  ok "the MTA log alone (no capture): a lane with its 2 rejects" || ko "log-only page: $(grep -o 'data-src="[^"]*"' "$T/lo.html")"

# The page stays small on a big history: 200,000 sessions of 2,000 source
# addresses, written straight into the schema (the quieter lanes are
# counted, not drawn; every lane is binned).
"$BIN" read -q --db "$T/big.db" "$T/hostile.pcap"
"$PY" - "$T/big.db" <<'PY'
import random, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
rnd = random.Random(7)
t0 = 1795687200 * 1000000
c.execute("BEGIN")
c.executemany("INSERT INTO sessions(point_id, first_seen, last_seen, ipver, src_ip, src_port, dst_ip,"
              " dst_port, state, end_reason, client_by, starttls_offered, starttls_requested,"
              " starttls, pkts_c2s, pkts_s2c, bytes_c2s, bytes_s2c, n_overlong, n_bare_lf,"
              " n_bare_cr, n_gaps, n_pipelined, n_retrans, n_ooo, n_bad_reply,"
              " n_replies_dropped, n_truncated, direction)"
              " VALUES(1,?,?,4,?,?,'198.51.100.25',25,'closed','fin','syn',1,1,1,1,1,1,1,0,0,0,0,0,0,0,0,0,0,'egress')",
              ((t0 + i * 600000, t0 + i * 600000 + 1000, "198.18.%d.%d" % divmod(rnd.randrange(2000), 250),
                20000 + i % 40000) for i in range(200000)))
c.execute("INSERT INTO replies(session_id, seq, cmd, code, enhanced, text) SELECT id, 0, 'RCPT', 550,"
          " '5.7.1', 'cannot find your reverse hostname' FROM sessions WHERE id % 97 = 0")
c.execute("COMMIT")
PY
/usr/bin/time -f "%e" -o "$T/big.time" "$BIN" report --db "$T/big.db" --format html >"$T/big.html"
sz=$(wc -c <"$T/big.html")
lanes=$(grep -o 'class="lane"' "$T/big.html" | wc -l)
[ "$sz" -lt 3000000 ] && [ "$lanes" = 60 ] && grep -q "1941 quieter source addresses are not drawn" "$T/big.html" &&
  ok "200,000 sessions of 2,001 addresses: a $sz-byte page, 60 lanes drawn ($(tail -1 "$T/big.time") s)" ||
  ko "big history: $sz bytes, $lanes lanes"
# Printed on A4: the 60-lane timeline of the big history on one page,
# every lane there (the SVG shrinks to the page instead of being cut).
cp "$T/big.html" "$T/r.html"
chrome --print-to-pdf="$T/big.pdf" --no-pdf-header-footer >/dev/null
if command -v pdfinfo >/dev/null && [ -s "$T/big.pdf" ]; then
  "$PY" - "$T/big.pdf" "$T/big.html" <<'PY' && ok "printed: A4 pages, the 60 lanes of the timeline all on one page" || ko "print: $(pdfinfo "$T/big.pdf" 2>&1 | grep -E 'Pages|size')"
import re, subprocess, sys
info = subprocess.run(["pdfinfo", sys.argv[1]], capture_output=True, text=True).stdout
assert "(A4)" in info, info
pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
lanes = re.findall(r'class="lane" data-src="([^"]*)"', open(sys.argv[2]).read())
assert len(lanes) == 60, len(lanes)
for p in range(1, pages + 1):
    t = subprocess.run(["pdftotext", "-f", str(p), "-l", str(p), sys.argv[1], "-"],
                       capture_output=True, text=True).stdout
    on = [l for l in lanes if l in t]
    if on:
        assert len(on) == 60, (p, len(on))
        break
else:
    raise AssertionError("no lane label in the PDF")
PY
else
  ko "print: no PDF, or pdfinfo missing (scripts/deps.sh installs poppler-utils)"
fi
finish html
