/* egressaudit - tests/test_decode.c: link, IP and TCP decoding vectors.
 * SPDX-License-Identifier: MIT
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pcap/dlt.h>
#include <stdlib.h>
#include <string.h>

#include "capture/decode.h"

struct fb {
  uint8_t b[512];
  size_t n;
};

static void put(struct fb *f, const void *p, size_t n) {
  memcpy(f->b + f->n, p, n);
  f->n += n;
}
static void put16(struct fb *f, uint16_t v) {
  uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
  put(f, x, 2);
}

static const uint8_t SRC4[4] = {203, 0, 113, 10}, DST4[4] = {198, 51, 100, 25};
static const uint8_t SRC6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0x10, [15] = 0x25};
static const uint8_t DST6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0x20, [15] = 0x25};

/* TCP header (doff words) + payload. */
static void tcp(struct fb *f, int doff, const char *payload) {
  uint8_t h[60] = {0};
  h[0] = 0x9c, h[1] = 0x41; /* 40001 */
  h[2] = 0, h[3] = 25;
  h[4] = 0, h[5] = 0, h[6] = 0x03, h[7] = 0xe8; /* seq 1000 */
  h[12] = (uint8_t)(doff << 4);
  h[13] = 0x18; /* PSH ACK */
  put(f, h, (size_t)(doff < 5 ? 20 : doff * 4));
  put(f, payload, strlen(payload));
}

static size_t ipv4(struct fb *f, int ihl, uint16_t frag, uint8_t proto,
                   size_t payload_len, int total_adj) {
  uint8_t h[60] = {0};
  size_t hl = (size_t)ihl * 4;
  h[0] = (uint8_t)(0x40 | ihl);
  uint16_t tl = (uint16_t)((ihl < 5 ? 20 : hl) + payload_len + (size_t)total_adj);
  h[2] = (uint8_t)(tl >> 8), h[3] = (uint8_t)tl;
  h[6] = (uint8_t)(frag >> 8), h[7] = (uint8_t)frag;
  h[8] = 64, h[9] = proto;
  memcpy(h + 12, SRC4, 4);
  memcpy(h + 16, DST4, 4);
  put(f, h, ihl < 5 ? 20 : hl);
  return f->n;
}

static void ipv6(struct fb *f, uint8_t nh, uint16_t plen) {
  uint8_t h[40] = {0x60};
  h[4] = (uint8_t)(plen >> 8), h[5] = (uint8_t)plen;
  h[6] = nh, h[7] = 64;
  memcpy(h + 8, SRC6, 16);
  memcpy(h + 24, DST6, 16);
  put(f, h, 40);
}

static void eth(struct fb *f, const uint16_t *tags, int ntags, uint16_t type) {
  static const uint8_t macs[12] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1};
  int i;
  put(f, macs, 12);
  for (i = 0; i < ntags; i++) {
    put16(f, tags[2 * i]);
    put16(f, tags[2 * i + 1]);
  }
  put16(f, type);
}

/* Decode from an exact-size heap copy, so ASan catches any over-read. The
 * copy lives until the next call: pk points into it. */
static uint8_t *copy;
static enum dec_result dec(int dlt, const struct fb *f, size_t len,
                           struct pkt *pk) {
  free(copy);
  copy = malloc(len ? len : 1);
  memcpy(copy, f->b, len);
  return decode_frame(dlt, copy, (uint32_t)len, pk);
}

static void v4_frame(struct fb *f, const uint16_t *tags, int ntags) {
  memset(f, 0, sizeof(*f));
  eth(f, tags, ntags, 0x0800);
  ipv4(f, 5, 0, 6, 20 + 6, 0);
  tcp(f, 5, "EHLO x");
}

static void test_ethernet_vlan_qinq(void **state) {
  static const uint16_t one[] = {0x8100, 100}, zero[] = {0x8100, 0},
                        qinq[] = {0x88a8, 200, 0x8100, 300},
                        old[] = {0x9100, 7, 0x8100, 8},
                        five[] = {0x8100, 1, 0x8100, 2, 0x8100, 3, 0x8100, 4,
                                  0x8100, 5};
  struct fb f;
  struct pkt pk;

  (void)state;
  v4_frame(&f, NULL, 0);
  assert_int_equal(dec(DLT_EN10MB, &f, f.n, &pk), DEC_OK);
  assert_int_equal(pk.vlan, -1);
  assert_int_equal(pk.family, 4);
  assert_memory_equal(pk.src, SRC4, 4);
  assert_memory_equal(pk.dst, DST4, 4);
  assert_int_equal(pk.sport, 40001);
  assert_int_equal(pk.dport, 25);
  assert_int_equal(pk.seq, 1000);
  assert_int_equal(pk.flags, 0x18);
  assert_int_equal(pk.caplen, 6);
  assert_int_equal(pk.wirelen, 6);
  assert_memory_equal(pk.payload, "EHLO x", 6);
  v4_frame(&f, one, 1);
  assert_int_equal(dec(DLT_EN10MB, &f, f.n, &pk), DEC_OK);
  assert_int_equal(pk.vlan, 100);
  v4_frame(&f, zero, 1);
  assert_int_equal(dec(DLT_EN10MB, &f, f.n, &pk), DEC_OK);
  assert_int_equal(pk.vlan, 0);
  v4_frame(&f, qinq, 2);
  assert_int_equal(dec(DLT_EN10MB, &f, f.n, &pk), DEC_OK);
  assert_int_equal(pk.vlan, 200);
  v4_frame(&f, old, 2);
  assert_int_equal(dec(DLT_EN10MB, &f, f.n, &pk), DEC_OK);
  assert_int_equal(pk.vlan, 7);
  v4_frame(&f, five, 5);
  assert_int_equal(dec(DLT_EN10MB, &f, f.n, &pk), DEC_NOT_IP);
  /* Tag cut in the middle. */
  v4_frame(&f, one, 1);
  assert_int_equal(dec(DLT_EN10MB, &f, 15, &pk), DEC_VLAN_SHORT);
  /* ARP */
  memset(&f, 0, sizeof(f));
  eth(&f, NULL, 0, 0x0806);
  put(&f, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 28);
  assert_int_equal(dec(DLT_EN10MB, &f, f.n, &pk), DEC_NOT_IP);
  assert_int_equal(dec(DLT_EN10MB, &f, 13, &pk), DEC_LINK_SHORT);
}

static void test_every_truncation(void **state) {
  static const uint16_t qinq[] = {0x88a8, 200, 0x8100, 300};
  struct fb f;
  struct pkt pk;
  size_t len;
  enum dec_result r;

  (void)state;
  v4_frame(&f, qinq, 2);
  for (len = 0; len < f.n; len++) {
    r = dec(DLT_EN10MB, &f, len, &pk);
    /* A cut frame is either an error, or a TCP segment whose captured
     * payload is shorter than on the wire. */
    if (r == DEC_OK) assert_true(pk.caplen < pk.wirelen);
    else assert_true(r < DEC_ERRORS_);
  }
  assert_int_equal(dec(DLT_EN10MB, &f, f.n, &pk), DEC_OK);
}

static void test_ipv4_headers(void **state) {
  struct fb f;
  struct pkt pk;

  (void)state;
  /* Options (IHL 6). */
  memset(&f, 0, sizeof(f));
  ipv4(&f, 6, 0, 6, 26, 0);
  tcp(&f, 5, "EHLO x");
  assert_int_equal(dec(DLT_RAW, &f, f.n, &pk), DEC_OK);
  assert_int_equal(pk.caplen, 6);
  /* Ethernet padding: trust the IP total length, not the frame. */
  memset(&f, 0, sizeof(f));
  ipv4(&f, 5, 0, 6, 20, 0);
  tcp(&f, 5, "");
  put(&f, "\0\0\0\0\0\0", 6);
  assert_int_equal(dec(DLT_IPV4, &f, f.n, &pk), DEC_OK);
  assert_int_equal(pk.caplen, 0);
  assert_int_equal(pk.wirelen, 0);
  /* Captured less than the total length says (snaplen). */
  memset(&f, 0, sizeof(f));
  ipv4(&f, 5, 0, 6, 26, 0);
  tcp(&f, 5, "EHLO x");
  assert_int_equal(dec(DLT_IPV4, &f, f.n - 4, &pk), DEC_OK);
  assert_int_equal(pk.caplen, 2);
  assert_int_equal(pk.wirelen, 6);
  /* IHL below 5; total length below the header. */
  memset(&f, 0, sizeof(f));
  ipv4(&f, 4, 0, 6, 20, 0);
  tcp(&f, 5, "");
  assert_int_equal(dec(DLT_IPV4, &f, f.n, &pk), DEC_IP_BADHDR);
  memset(&f, 0, sizeof(f));
  ipv4(&f, 5, 0, 6, 20, -30);
  tcp(&f, 5, "");
  assert_int_equal(dec(DLT_IPV4, &f, f.n, &pk), DEC_IP_BADHDR);
  /* The first fragment (MF, offset 0): its TCP header is taken (ports,
   * sequence, flags), its payload is not; no session hides behind it. */
  memset(&f, 0, sizeof(f));
  ipv4(&f, 5, 0x2000, 6, 26, 0);
  tcp(&f, 5, "EHLO x");
  assert_int_equal(dec(DLT_IPV4, &f, f.n, &pk), DEC_OK);
  assert_int_equal(pk.fragment, 1);
  assert_int_equal(pk.sport, 40001);
  assert_int_equal(pk.dport, 25);
  assert_int_equal(pk.seq, 1000);
  assert_int_equal(pk.flags, 0x18);
  assert_int_equal(pk.caplen, 0);
  assert_int_equal(pk.wirelen, 0);
  /* ... even when it holds only the first 16 octets of the header */
  memset(&f, 0, sizeof(f));
  ipv4(&f, 5, 0x2000, 6, 16, 0);
  tcp(&f, 5, "");
  assert_int_equal(dec(DLT_IPV4, &f, 20 + 16, &pk), DEC_OK);
  assert_int_equal(pk.fragment, 1);
  /* but not with less than ports, sequence, acknowledgement and flags */
  assert_int_equal(dec(DLT_IPV4, &f, 20 + 13, &pk), DEC_FRAGMENT);
  /* The others (an offset): skipped. */
  memset(&f, 0, sizeof(f));
  ipv4(&f, 5, 0x0010, 6, 20, 0);
  tcp(&f, 5, "");
  assert_int_equal(dec(DLT_IPV4, &f, f.n, &pk), DEC_FRAGMENT);
  memset(&f, 0, sizeof(f));
  ipv4(&f, 5, 0x2010, 6, 20, 0);
  tcp(&f, 5, "");
  assert_int_equal(dec(DLT_IPV4, &f, f.n, &pk), DEC_FRAGMENT);
  /* A whole datagram is no fragment. */
  memset(&f, 0, sizeof(f));
  ipv4(&f, 5, 0, 6, 20, 0);
  tcp(&f, 5, "");
  assert_int_equal(dec(DLT_IPV4, &f, f.n, &pk), DEC_OK);
  assert_int_equal(pk.fragment, 0);
  /* DF alone is not a fragment. */
  memset(&f, 0, sizeof(f));
  ipv4(&f, 5, 0x4000, 6, 20, 0);
  tcp(&f, 5, "");
  assert_int_equal(dec(DLT_IPV4, &f, f.n, &pk), DEC_OK);
  /* UDP. */
  memset(&f, 0, sizeof(f));
  ipv4(&f, 5, 0, 17, 8, 0);
  put(&f, "\0\0\0\0\0\0\0\0", 8);
  assert_int_equal(dec(DLT_IPV4, &f, f.n, &pk), DEC_NOT_TCP);
  /* Wrong version for the link type; RAW with version 5. */
  memset(&f, 0, sizeof(f));
  ipv6(&f, 6, 20);
  tcp(&f, 5, "");
  assert_int_equal(dec(DLT_IPV4, &f, f.n, &pk), DEC_IP_BADVER);
  f.b[0] = 0x50;
  assert_int_equal(dec(DLT_RAW, &f, f.n, &pk), DEC_IP_BADVER);
  assert_int_equal(dec(DLT_RAW, &f, 0, &pk), DEC_IP_SHORT);
}

static void test_tcp_offsets(void **state) {
  struct fb f;
  struct pkt pk;

  (void)state;
  /* Data offset 4 (< 5). */
  memset(&f, 0, sizeof(f));
  ipv4(&f, 5, 0, 6, 20, 0);
  tcp(&f, 4, "");
  assert_int_equal(dec(DLT_IPV4, &f, f.n, &pk), DEC_TCP_BADOFF);
  /* Data offset 15 (60 bytes) but only 20 on the wire. */
  memset(&f, 0, sizeof(f));
  ipv4(&f, 5, 0, 6, 20, 0);
  tcp(&f, 5, "");
  f.b[20 + 12] = 0xF0;
  assert_int_equal(dec(DLT_IPV4, &f, f.n, &pk), DEC_TCP_BADOFF);
  /* Options present on the wire but cut by the snaplen. */
  memset(&f, 0, sizeof(f));
  ipv4(&f, 5, 0, 6, 40, 0);
  tcp(&f, 10, "");
  assert_int_equal(dec(DLT_IPV4, &f, 30 + 20, &pk), DEC_TCP_SHORT);
  assert_int_equal(dec(DLT_IPV4, &f, f.n, &pk), DEC_OK);
  assert_int_equal(dec(DLT_IPV4, &f, 30, &pk), DEC_TCP_SHORT);
}

static void test_ipv6_ext(void **state) {
  struct fb f;
  struct pkt pk;
  static const uint8_t hop[8] = {60, 0, 1, 4, 0, 0, 0, 0}; /* next: dstopts */
  static const uint8_t dst[8] = {43, 0, 1, 4, 0, 0, 0, 0}; /* next: routing */
  static const uint8_t rt[8] = {44, 0, 0, 0, 0, 0, 0, 0};  /* next: fragment */
  static const uint8_t frag_atomic[8] = {51, 0, 0, 0, 0, 0, 0, 1};
  static const uint8_t ah[12] = {6, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  static const uint8_t frag_more[8] = {6, 0, 0, 1, 0, 0, 0, 1};
  uint8_t loop[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int i;

  (void)state;
  memset(&f, 0, sizeof(f));
  ipv6(&f, 0, 8 + 8 + 8 + 8 + 12 + 26);
  put(&f, hop, 8);
  put(&f, dst, 8);
  put(&f, rt, 8);
  put(&f, frag_atomic, 8);
  put(&f, ah, 12);
  tcp(&f, 5, "EHLO x");
  assert_int_equal(dec(DLT_IPV6, &f, f.n, &pk), DEC_OK);
  assert_int_equal(pk.family, 6);
  assert_memory_equal(pk.src, SRC6, 16);
  assert_int_equal(pk.caplen, 6);
  assert_int_equal(pk.wirelen, 6);
  /* The chain cut anywhere is never read past. */
  for (i = 0; i < 40 + 44; i++) {
    enum dec_result r = dec(DLT_IPV6, &f, (size_t)i, &pk);
    assert_true(r < DEC_ERRORS_);
  }
  /* A first fragment (offset 0, M): its TCP header is taken. */
  memset(&f, 0, sizeof(f));
  ipv6(&f, 44, 8 + 20);
  put(&f, frag_more, 8);
  tcp(&f, 5, "");
  assert_int_equal(dec(DLT_IPV6, &f, f.n, &pk), DEC_OK);
  assert_int_equal(pk.fragment, 1);
  assert_int_equal(pk.dport, 25);
  /* its chain cut by the fragment's end: a fragment, not damage */
  assert_int_equal(dec(DLT_IPV6, &f, 40 + 8 + 10, &pk), DEC_FRAGMENT);
  /* a later one (an offset): skipped */
  {
    static const uint8_t frag_later[8] = {6, 0, 0, 0x11, 0, 0, 0, 1};
    memset(&f, 0, sizeof(f));
    ipv6(&f, 44, 8 + 20);
    put(&f, frag_later, 8);
    tcp(&f, 5, "");
    assert_int_equal(dec(DLT_IPV6, &f, f.n, &pk), DEC_FRAGMENT);
  }
  /* ESP: cannot look inside. */
  memset(&f, 0, sizeof(f));
  ipv6(&f, 50, 20);
  tcp(&f, 5, "");
  assert_int_equal(dec(DLT_IPV6, &f, f.n, &pk), DEC_NOT_TCP);
  /* Twenty destination-options headers, then TCP: a long chain hides no
   * session (a cap of 8 did: a sender could hide behind a ninth). */
  memset(&f, 0, sizeof(f));
  ipv6(&f, 60, 20 * 8 + 20 + 6);
  loop[0] = 60;
  for (i = 0; i < 19; i++) put(&f, loop, 8);
  loop[0] = 6;
  put(&f, loop, 8);
  tcp(&f, 5, "EHLO x");
  assert_int_equal(dec(DLT_IPV6, &f, f.n, &pk), DEC_OK);
  assert_int_equal(pk.caplen, 6);
  /* A chain that never ends before the packet does: cut, not read past. */
  memset(&f, 0, sizeof(f));
  ipv6(&f, 60, 9 * 8);
  loop[0] = 60;
  for (i = 0; i < 9; i++) put(&f, loop, 8);
  assert_int_equal(dec(DLT_IPV6, &f, f.n, &pk), DEC_IP6_EXT_SHORT);
  loop[0] = 0;
  /* A header claiming more than the payload length. */
  memset(&f, 0, sizeof(f));
  ipv6(&f, 0, 8);
  loop[1] = 5;
  put(&f, loop, 8);
  put(&f, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 40);
  assert_int_equal(dec(DLT_IPV6, &f, f.n, &pk), DEC_IP6_EXT_SHORT);
}

static void test_cooked_and_loopback(void **state) {
  struct fb f, ip;
  struct pkt pk;
  static const uint8_t sll_hdr[14] = {0, 4, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0};
  static const uint8_t sll2_tail[18] = {0, 0, 0, 0, 0, 2, 0, 1, 4, 6,
                                        2, 0, 0, 0, 0, 1, 0, 0};
  uint8_t af[4];
  static const uint32_t afs6[] = {10, 24, 28, 30};
  size_t i;

  (void)state;
  memset(&ip, 0, sizeof(ip));
  ipv4(&ip, 5, 0, 6, 26, 0);
  tcp(&ip, 5, "EHLO x");

  memset(&f, 0, sizeof(f));
  put(&f, sll_hdr, 14);
  put16(&f, 0x0800);
  put(&f, ip.b, ip.n);
  assert_int_equal(dec(DLT_LINUX_SLL, &f, f.n, &pk), DEC_OK);
  assert_int_equal(pk.ifindex, -1); /* SLL v1 does not say */
  assert_int_equal(dec(DLT_LINUX_SLL, &f, 15, &pk), DEC_LINK_SHORT);

  memset(&f, 0, sizeof(f));
  put16(&f, 0x0800);
  put(&f, sll2_tail, 18);
  put(&f, ip.b, ip.n);
  assert_int_equal(dec(DLT_LINUX_SLL2, &f, f.n, &pk), DEC_OK);
  assert_int_equal(pk.ifindex, 2); /* the interface the packet crossed */
  assert_int_equal(dec(DLT_LINUX_SLL2, &f, 19, &pk), DEC_LINK_SHORT);

  /* DLT_NULL in both byte orders; DLT_LOOP in network order. */
  memset(&f, 0, sizeof(f));
  af[0] = 2, af[1] = af[2] = af[3] = 0;
  put(&f, af, 4);
  put(&f, ip.b, ip.n);
  assert_int_equal(dec(DLT_NULL, &f, f.n, &pk), DEC_OK);
  f.b[0] = 0, f.b[3] = 2;
  assert_int_equal(dec(DLT_NULL, &f, f.n, &pk), DEC_OK);
  assert_int_equal(dec(DLT_LOOP, &f, f.n, &pk), DEC_OK);
  assert_int_equal(dec(DLT_NULL, &f, 3, &pk), DEC_LINK_SHORT);
  f.b[3] = 7; /* AF 7: not IP */
  assert_int_equal(dec(DLT_LOOP, &f, f.n, &pk), DEC_NOT_IP);

  memset(&ip, 0, sizeof(ip));
  ipv6(&ip, 6, 26);
  tcp(&ip, 5, "EHLO x");
  for (i = 0; i < ARRAY_SIZE(afs6); i++) {
    memset(&f, 0, sizeof(f));
    af[0] = (uint8_t)afs6[i], af[1] = af[2] = af[3] = 0;
    put(&f, af, 4);
    put(&f, ip.b, ip.n);
    assert_int_equal(dec(DLT_NULL, &f, f.n, &pk), DEC_OK);
    assert_int_equal(pk.family, 6);
  }
  assert_int_equal(dec(DLT_IEEE802_11, &f, f.n, &pk), DEC_NOT_IP);
  assert_false(decode_linktype_ok(DLT_IEEE802_11));
  assert_true(decode_linktype_ok(DLT_LINUX_SLL2));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ethernet_vlan_qinq),
      cmocka_unit_test(test_every_truncation),
      cmocka_unit_test(test_ipv4_headers),
      cmocka_unit_test(test_tcp_offsets),
      cmocka_unit_test(test_ipv6_ext),
      cmocka_unit_test(test_cooked_and_loopback),
  };
  int rc = cmocka_run_group_tests_name("decode", tests, NULL, NULL);
  free(copy);
  return rc;
}
