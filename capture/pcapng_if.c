/* egressaudit - capture/pcapng_if.c: if_IPv4addr / if_IPv6addr options of
 * pcapng Interface Description Blocks (draft-ietf-opsawg-pcapng, 4.1-4.2).
 * SPDX-License-Identifier: MIT
 */
#include "capture/pcapng_if.h"

#include <string.h>

#define BT_SHB 0x0A0D0D0Au
#define BT_IDB 0x00000001u
#define BT_PB 0x00000002u
#define BT_SPB 0x00000003u
#define BT_EPB 0x00000006u
#define OPT_END 0
#define OPT_IF_IPV4ADDR 4 /* 4 bytes address + 4 bytes netmask */
#define OPT_IF_IPV6ADDR 5 /* 16 bytes address + 1 byte prefix length */
#define BLOCKS_MAX 256

static uint32_t get32(const uint8_t *p, int big) {
  return big ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
                   (uint32_t)p[2] << 8 | p[3]
             : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 |
                   (uint32_t)p[1] << 8 | p[0];
}

static uint16_t get16(const uint8_t *p, int big) {
  return big ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

/* Options of one IDB: body points after linktype, reserved and snaplen. */
static void idb_options(const uint8_t *p, size_t len, int big,
                       struct netset *set) {
  size_t off = 0, vlen;
  uint16_t code;

  while (off + 4 <= len) {
    code = get16(p + off, big);
    vlen = get16(p + off + 2, big);
    off += 4;
    if (code == OPT_END || vlen > len - off) break;
    if (code == OPT_IF_IPV4ADDR && vlen >= 8)
      netset_add(set, 4, p + off, 32);
    else if (code == OPT_IF_IPV6ADDR && vlen >= 17)
      netset_add(set, 6, p + off, 128);
    off += (vlen + 3) & ~(size_t)3;
  }
}

int pcapng_if_addrs(const uint8_t *buf, size_t len, struct netset *set) {
  size_t off = 0;
  uint32_t type, blen;
  int big = 0, blocks = 0;
  unsigned before = set->n;

  if (len < 12 || get32(buf, 0) != BT_SHB) return 0;
  while (off + 12 <= len && blocks++ < BLOCKS_MAX) {
    if (get32(buf + off, 0) == BT_SHB) {
      /* Each section sets its own byte order. */
      if (get32(buf + off + 8, 0) == 0x1A2B3C4Du) big = 0;
      else if (get32(buf + off + 8, 1) == 0x1A2B3C4Du) big = 1;
      else break;
    }
    type = get32(buf + off, big);
    blen = get32(buf + off + 4, big);
    if (blen < 12 || blen % 4 != 0 || blen > len - off) break;
    if (type == BT_EPB || type == BT_SPB || type == BT_PB) break;
    if (type == BT_IDB && blen >= 20)
      idb_options(buf + off + 16, blen - 20, big, set);
    off += blen;
  }
  /* Count what the set gained: an address listed twice counts once. */
  return (int)(set->n - before);
}
