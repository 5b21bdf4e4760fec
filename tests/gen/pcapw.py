"""Minimal pcap / pcapng writers and packet builders for egressaudit tests.

Standard library only. Everything is deterministic: same arguments, same
bytes. Frames are built from scratch (Ethernet, 802.1Q, Linux cooked v1/v2,
raw IP, BSD loopback; IPv4 with options, IPv6 with extension headers; TCP
with options) with correct checksums unless asked otherwise.
"""
import ipaddress
import struct

LINKTYPES = {"EN10MB": 1, "NULL": 0, "LOOP": 108, "RAW": 101,
             "LINUX_SLL": 113, "LINUX_SLL2": 276, "IPV4": 228, "IPV6": 229}


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def tcp_segment(src, dst, sport, dport, seq, ack, flags, payload=b"",
                window=64240, options=b"", bad_csum=False):
    opts = options + b"\0" * ((4 - len(options) % 4) % 4)
    off = (20 + len(opts)) // 4
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF,
                      ack & 0xFFFFFFFF, off << 4, flags, window, 0, 0) + opts
    sa, da = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    seg = hdr + payload
    if sa.version == 4:
        pseudo = sa.packed + da.packed + struct.pack("!BBH", 0, 6, len(seg))
    else:
        pseudo = sa.packed + da.packed + struct.pack("!IxxxB", len(seg), 6)
    c = csum(pseudo + seg)
    if bad_csum:
        c ^= 0x5A5A
    return seg[:16] + struct.pack("!H", c) + seg[18:]


def ipv4(src, dst, payload, proto=6, options=b"", frag=0, ident=1,
         total_len=None):
    opts = options + b"\0" * ((4 - len(options) % 4) % 4)
    ihl = 5 + len(opts) // 4
    tl = total_len if total_len is not None else ihl * 4 + len(payload)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, tl, ident, frag, 64,
                      proto, 0, ipaddress.ip_address(src).packed,
                      ipaddress.ip_address(dst).packed) + opts
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + payload


def ipv6(src, dst, payload, nh=6, ext=()):
    """ext: list of (type, body) extension headers placed before payload."""
    chain = b""
    types = [t for t, _ in ext] + [nh]
    for i, (t, body) in enumerate(ext):
        nxt = types[i + 1]
        if t == 44:  # fragment header: fixed 8 bytes
            chain += struct.pack("!BBHI", nxt, 0, body, 0x1234)
            continue
        raw = bytes([nxt, 0]) + body
        raw += b"\0" * ((8 - len(raw) % 8) % 8)
        chain += bytes([nxt, len(raw) // 8 - 1]) + raw[2:]
    first = types[0]
    hdr = struct.pack("!IHBB16s16s", 6 << 28, len(chain) + len(payload), first,
                      64, ipaddress.ip_address(src).packed,
                      ipaddress.ip_address(dst).packed)
    return hdr + chain + payload


def ether(ip_pkt, version, vlans=(), pad_to=0):
    et = 0x0800 if version == 4 else 0x86DD
    f = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01"
    for i, (tpid, vid) in enumerate(vlans):
        f += struct.pack("!HH", tpid, vid)
    f += struct.pack("!H", et) + ip_pkt
    if len(f) < pad_to:
        f += b"\0" * (pad_to - len(f))
    return f


def link_frame(linktype, ip_pkt, version, vlans=(), pad_to=0):
    et = 0x0800 if version == 4 else 0x86DD
    if linktype == "EN10MB":
        return ether(ip_pkt, version, vlans, pad_to)
    if linktype == "LINUX_SLL":
        return struct.pack("!HHH8sH", 4, 1, 6, b"\x02\0\0\0\0\x01\0\0",
                           et) + ip_pkt
    if linktype == "LINUX_SLL2":
        return struct.pack("!HHIHBB8s", et, 0, 2, 1, 4, 6,
                           b"\x02\0\0\0\0\x01\0\0") + ip_pkt
    if linktype in ("RAW", "IPV4", "IPV6"):
        return ip_pkt
    if linktype == "NULL":  # host byte order: write little-endian
        return struct.pack("<I", 2 if version == 4 else 30) + ip_pkt
    if linktype == "LOOP":
        return struct.pack("!I", 2 if version == 4 else 24) + ip_pkt
    raise ValueError(linktype)


class PcapWriter:
    def __init__(self, path, linktype, nanos=False, big_endian=False,
                 snaplen=262144):
        self.f = open(path, "wb")
        self.e = ">" if big_endian else "<"
        self.nanos = nanos
        self.snaplen = snaplen
        magic = 0xA1B23C4D if nanos else 0xA1B2C3D4
        self.f.write(struct.pack(self.e + "IHHiIII", magic, 2, 4, 0, 0,
                                 snaplen, LINKTYPES[linktype]))

    def write(self, ts_us, frame, orig_len=None):
        sec, us = divmod(ts_us, 1000000)
        frac = us * 1000 + 123 if self.nanos else us
        data = frame[:self.snaplen]
        self.f.write(struct.pack(self.e + "IIII", sec, frac, len(data),
                                 orig_len or len(frame)) + data)

    def raw(self, b):
        self.f.write(b)

    def close(self):
        self.f.close()


class PcapngWriter:
    def __init__(self, path, linktype, nanos=True, big_endian=False,
                 snaplen=262144, if_addrs=()):
        """if_addrs: (address, prefix) pairs written as if_IPv4addr /
        if_IPv6addr options of the interface description block."""
        self.f = open(path, "wb")
        self.e = ">" if big_endian else "<"
        self.nanos = nanos
        self.snaplen = snaplen
        shb_body = struct.pack(self.e + "IHHq", 0x1A2B3C4D, 1, 0, -1)
        self._block(0x0A0D0D0A, shb_body)
        opts = b""
        if nanos:  # if_tsresol = 9 (10^-9)
            opts += struct.pack(self.e + "HH", 9, 1) + b"\x09\0\0\0"
        name = b"eth0"
        opts += struct.pack(self.e + "HH", 2, len(name)) + name + b"\0" * (
            (4 - len(name) % 4) % 4)
        for addr, prefix in if_addrs:
            a = ipaddress.ip_address(addr)
            if a.version == 4:
                mask = (0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF
                opts += struct.pack(self.e + "HH", 4, 8) + a.packed + \
                    struct.pack("!I", mask)
            else:
                opts += struct.pack(self.e + "HH", 5, 17) + a.packed + \
                    bytes([prefix]) + b"\0\0\0"
        opts += struct.pack(self.e + "HH", 0, 0)
        self._block(1, struct.pack(self.e + "HHI", LINKTYPES[linktype], 0,
                                   snaplen) + opts)

    def _block(self, btype, body):
        body += b"\0" * ((4 - len(body) % 4) % 4)
        n = 12 + len(body)
        self.f.write(struct.pack(self.e + "II", btype, n) + body +
                     struct.pack(self.e + "I", n))

    def write(self, ts_us, frame, orig_len=None):
        t = ts_us * 1000 + 123 if self.nanos else ts_us
        data = frame[:self.snaplen]
        body = struct.pack(self.e + "IIIII", 0, t >> 32, t & 0xFFFFFFFF,
                           len(data), orig_len or len(frame)) + data
        self._block(6, body)

    def close(self):
        self.f.close()
