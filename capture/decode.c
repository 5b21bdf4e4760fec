/* egressaudit - capture/decode.c: link layer -> IPv4/IPv6 -> TCP.
 * Length checks follow p0f's order: trust the smaller of the IP total length
 * and what was captured (Ethernet pads short frames), reject impossible
 * header lengths, skip fragments. Bad TCP checksums are not checked at all:
 * captures taken on hosts with checksum offload carry them on every packet.
 * SPDX-License-Identifier: MIT
 */
#include "capture/decode.h"

#include <pcap/dlt.h>
#include <string.h>

#include "capture/rd.h"

#define ETH_IPV4 0x0800
#define ETH_IPV6 0x86DD
#define ETH_VLAN 0x8100 /* IEEE 802.1Q                                  */
#define ETH_QINQ 0x88A8 /* IEEE 802.1ad service tag                     */
#define ETH_QINQ_OLD 0x9100
#define VLAN_DEPTH_MAX 4

const char *dec_result_name(unsigned r) {
  static const char *const names[] = {
      "ok",          "link_short", "vlan_short",    "ip_short",
      "ip_bad_version", "ip_bad_header", "ip6_ext_short", "tcp_short",
      "tcp_bad_offset", "bad_time", "not_ip", "fragment", "not_tcp"};
  return r < ARRAY_SIZE(names) ? names[r] : "?";
}

int decode_linktype_ok(int dlt) {
  switch (dlt) {
  case DLT_EN10MB:
  case DLT_LINUX_SLL:
  case DLT_LINUX_SLL2:
  case DLT_RAW:
  case DLT_IPV4:
  case DLT_IPV6:
  case DLT_NULL:
  case DLT_LOOP:
    return 1;
  default:
    return 0;
  }
}

static enum dec_result decode_tcp(struct rd *r, uint32_t wire, struct pkt *pk) {
  uint8_t off;
  uint32_t hlen;

  /* r covers the captured part of the IP payload; wire is its length on the
   * wire (from the IP header). */
  if (pk->fragment) {
    /* The first 14 octets say who, where in the stream and which flags;
     * the rest of the header and the payload may be in later fragments,
     * never reassembled here: the session's dialogue has a gap there. */
    if (r->left < 14) return DEC_FRAGMENT;
    pk->sport = be16_at(r->p);
    pk->dport = be16_at(r->p + 2);
    pk->seq = be32_at(r->p + 4);
    pk->ack = be32_at(r->p + 8);
    pk->flags = r->p[13];
    pk->payload = r->p;
    pk->caplen = pk->wirelen = 0;
    (void)wire;
    return DEC_OK;
  }
  if (r->left < 20) return DEC_TCP_SHORT;
  pk->sport = be16_at(r->p);
  pk->dport = be16_at(r->p + 2);
  pk->seq = be32_at(r->p + 4);
  pk->ack = be32_at(r->p + 8);
  off = r->p[12] >> 4;
  pk->flags = r->p[13];
  hlen = (uint32_t)off * 4;
  if (off < 5 || hlen > wire) return DEC_TCP_BADOFF;
  if (hlen > r->left) return DEC_TCP_SHORT; /* options cut by the snaplen */
  pk->payload = r->p + hlen;
  pk->caplen = (uint32_t)r->left - hlen;
  pk->wirelen = wire - hlen;
  if (pk->caplen > pk->wirelen) pk->caplen = pk->wirelen;
  return DEC_OK;
}

static enum dec_result decode_ipv4(struct rd *r, struct pkt *pk) {
  uint8_t ihl;
  uint16_t total, frag;
  size_t cap;

  if (r->left < 20) return DEC_IP_SHORT;
  if (r->p[0] >> 4 != 4) return DEC_IP_BADVER;
  ihl = r->p[0] & 0x0F;
  total = be16_at(r->p + 2);
  if (ihl < 5 || total < (unsigned)ihl * 4) return DEC_IP_BADHDR;
  if (r->left < (size_t)ihl * 4) return DEC_IP_SHORT;
  frag = be16_at(r->p + 6);
  if ((frag & 0x1FFF) != 0) return DEC_FRAGMENT; /* offset != 0 */
  if (r->p[9] != 6) return frag & 0x2000 ? DEC_FRAGMENT : DEC_NOT_TCP;
  pk->fragment = (frag & 0x2000) != 0; /* MF at offset 0: the first */
  pk->family = 4;
  pk->src = r->p + 12;
  pk->dst = r->p + 16;
  cap = MIN(r->left, (size_t)total); /* drop Ethernet padding */
  r->left = cap;
  rd_skip(r, (size_t)ihl * 4);
  return decode_tcp(r, total - (uint32_t)ihl * 4, pk);
}

/* A chain cut short: damage, unless the datagram was fragmented (the rest
 * of its headers is in the next fragment). */
static enum dec_result ext_short(const struct pkt *pk) {
  return pk->fragment ? DEC_FRAGMENT : DEC_IP6_EXT_SHORT;
}

static enum dec_result decode_ipv6(struct rd *r, struct pkt *pk) {
  uint8_t nh;
  uint32_t plen;
  size_t len;

  if (r->left < 40) return DEC_IP_SHORT;
  if (r->p[0] >> 4 != 6) return DEC_IP_BADVER;
  plen = be16_at(r->p + 4); /* 0 means a jumbogram: not for SMTP */
  nh = r->p[6];
  pk->family = 6;
  pk->src = r->p + 8;
  pk->dst = r->p + 24;
  rd_skip(r, 40);
  if (r->left > plen) r->left = plen;
  /* Walk the extension headers (RFC 8200 4), however many: each is at
   * least 8 octets, so the walk is linear in the packet, and a cap would
   * let a sender hide its session behind a ninth header. */
  for (;;) {
    switch (nh) {
    case 6:
      return decode_tcp(r, plen, pk);
    case 0:  /* hop-by-hop */
    case 43: /* routing */
    case 60: /* destination options */
      if (r->left < 8) return ext_short(pk);
      len = ((size_t)r->p[1] + 1) * 8;
      break;
    case 44: /* fragment */
      if (r->left < 8) return ext_short(pk);
      if ((be16_at(r->p + 2) & 0xFFF8) != 0) return DEC_FRAGMENT; /* offset */
      /* Offset 0: an atomic fragment (M clear) is a whole datagram; with
       * M set it is the first, which holds the headers that follow. */
      if (be16_at(r->p + 2) & 1) pk->fragment = 1;
      len = 8;
      break;
    case 51: /* AH, RFC 4302 2.2: length in 4-octet units minus 2 */
      if (r->left < 8) return ext_short(pk);
      len = ((size_t)r->p[1] + 2) * 4;
      break;
    default:
      return pk->fragment ? DEC_FRAGMENT : DEC_NOT_TCP;
    }
    if (len > r->left || len > plen)
      return ext_short(pk);
    nh = r->p[0];
    rd_skip(r, len);
    plen -= (uint32_t)len;
  }
}

static enum dec_result decode_ethertype(struct rd *r, uint16_t type,
                                        struct pkt *pk) {
  int depth = 0;

  while (type == ETH_VLAN || type == ETH_QINQ || type == ETH_QINQ_OLD) {
    uint16_t tci;
    if (++depth > VLAN_DEPTH_MAX) return DEC_NOT_IP;
    if (rd_be16(r, &tci) < 0 || rd_be16(r, &type) < 0) return DEC_VLAN_SHORT;
    if (pk->vlan < 0) pk->vlan = tci & 0x0FFF;
  }
  if (type == ETH_IPV4) return decode_ipv4(r, pk);
  if (type == ETH_IPV6) return decode_ipv6(r, pk);
  return DEC_NOT_IP;
}

/* Address families seen in DLT_NULL/DLT_LOOP headers: Linux, the BSDs and
 * macOS number AF_INET6 differently. */
static enum dec_result decode_af(struct rd *r, uint32_t af, struct pkt *pk) {
  if (af == 2) return decode_ipv4(r, pk);
  if (af == 10 || af == 24 || af == 28 || af == 30) return decode_ipv6(r, pk);
  return DEC_NOT_IP;
}

enum dec_result decode_frame(int dlt, const uint8_t *frame, uint32_t caplen,
                             struct pkt *pk) {
  struct rd r = {frame, caplen};
  uint16_t type;
  uint32_t af;

  memset(pk, 0, sizeof(*pk));
  pk->vlan = -1;
  pk->ifindex = -1;
  switch (dlt) {
  case DLT_EN10MB:
    if (rd_skip(&r, 12) < 0 || rd_be16(&r, &type) < 0) return DEC_LINK_SHORT;
    return decode_ethertype(&r, type, pk);
  case DLT_LINUX_SLL: /* 16 bytes, protocol last */
    if (rd_skip(&r, 14) < 0 || rd_be16(&r, &type) < 0) return DEC_LINK_SHORT;
    return decode_ethertype(&r, type, pk);
  case DLT_LINUX_SLL2: { /* 20 bytes: protocol, reserved, ifindex, ... */
    uint32_t ifindex;
    if (rd_be16(&r, &type) < 0 || rd_skip(&r, 2) < 0 || rd_be32(&r, &ifindex) < 0 ||
        rd_skip(&r, 12) < 0)
      return DEC_LINK_SHORT;
    pk->ifindex = ifindex <= INT32_MAX ? (int32_t)ifindex : -1;
    return decode_ethertype(&r, type, pk);
  }
  case DLT_RAW:
    if (r.left < 1) return DEC_IP_SHORT;
    if (r.p[0] >> 4 == 4) return decode_ipv4(&r, pk);
    if (r.p[0] >> 4 == 6) return decode_ipv6(&r, pk);
    return DEC_IP_BADVER;
  case DLT_IPV4:
    return decode_ipv4(&r, pk);
  case DLT_IPV6:
    return decode_ipv6(&r, pk);
  case DLT_NULL: /* 4 bytes in the byte order of the capturing host */
    if (r.left < 4) return DEC_LINK_SHORT;
    af = (uint32_t)r.p[0] | (uint32_t)r.p[1] << 8 | (uint32_t)r.p[2] << 16 |
         (uint32_t)r.p[3] << 24;
    if (af > 0xFFFF) af = be32_at(r.p);
    rd_skip(&r, 4);
    return decode_af(&r, af, pk);
  case DLT_LOOP: /* 4 bytes, network byte order */
    if (rd_be32(&r, &af) < 0) return DEC_LINK_SHORT;
    return decode_af(&r, af, pk);
  default:
    return DEC_NOT_IP;
  }
}
