#!/bin/sh
# bench/analyze.sh: `analyze` over N distinct egress addresses (PTR, SOA,
# A/AAAA of each PTR name and EHLO name) against a local NSD. Not a test.
#   bench/analyze.sh [N]   (default 10000)
set -eu
N=${1:-10000}
BIN=${EA_BIN:-build/egressaudit}
DIR=${BENCH_DIR:-/var/tmp/egressaudit-bench}/analyze-$N
mkdir -p "$DIR"
python3 - "$DIR" "$N" <<'PY'
import os, sys
sys.path.insert(0, "tests/gen")
import capgen
d, n = sys.argv[1], int(sys.argv[2])
os.makedirs(d + "/zones", exist_ok=True)
soa = "@ IN SOA ns1.bench.example. hostmaster.bench.example. 1 3600 600 86400 60\n@ IN NS ns1.bench.example.\n"
rev = {}
fwd = ["$ORIGIN bench.example.\n$TTL 3600\n" + soa, "ns1 IN A 127.0.0.1\n"]
cap = capgen.Cap()
for i in range(n):
    a, b = 18 + (i >> 16), (i >> 8) & 255
    ip = "198.%d.%d.%d" % (a, b, i & 255 or 1)
    host = "mail%d" % i
    rev.setdefault((a, b), []).append("%d IN PTR %s.bench.example.\n" % (i & 255 or 1, host))
    fwd.append("%s IN A %s\n" % (host, ip))
    c = capgen.Conn(cap, ip, 20000 + i % 40000, "192.0.2.25" if False else "203.0.113.200")
    c.handshake()
    capgen.dialogue(c, capgen.BANNER, [("EHLO %s.bench.example" % host, ["250 mx"]), ("QUIT", ["221 bye"])])
    c.close()
open(d + "/zones/bench.example.zone", "w").write("".join(fwd))
for (a, b), recs in rev.items():
    z = "%d.%d.198.in-addr.arpa" % (b, a)
    open(d + "/zones/%s.zone" % z, "w").write("$ORIGIN %s.\n$TTL 3600\n" % z + soa + "".join(recs))
capgen.write(d + "/sessions.pcap", cap)
PY
# NSD with these zones, on a free loopback port.
PORT=$(python3 -c "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])")
rm -rf "$DIR/zones-link"; ln -s "$DIR/zones" "$DIR/zones-link"
NSD_ZONES="$DIR/zones" sh -c '
  cp tests/dns/nsd.sh "$0/nsd.sh" && sed -i "s|^zones=.*|zones=$NSD_ZONES|" "$0/nsd.sh"' "$DIR"
sh "$DIR/nsd.sh" start "$DIR/nsd" "$PORT"
trap 'sh "$DIR/nsd.sh" stop "$DIR/nsd" "$PORT"' EXIT
rm -f "$DIR/b.db" "$DIR/b.db-wal" "$DIR/b.db-shm"
"$BIN" read -q --db "$DIR/b.db" --local 198.18.0.0/15 "$DIR/sessions.pcap"
for run in cold warm; do
  /usr/bin/time -f "%e s, %M KiB peak RSS" -o "$DIR/time" \
    "$BIN" analyze --db "$DIR/b.db" --resolver "127.0.0.1:$PORT" >"$DIR/out"
  echo "analyze $N identities ($run cache): $(cat "$DIR/time"); $(cat "$DIR/out")"
done
