/* egressaudit - tests/test_netset.c: CIDR sets and pcapng interface
 * addresses.
 * SPDX-License-Identifier: MIT
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "capture/pcapng_if.h"
#include "common/netset.h"
#include "common/util.h"

static int has(const struct netset *s, const char *ip) {
  struct ea_addr a;
  assert_int_equal(addr_parse(&a, ip, strlen(ip)), 0);
  return netset_contains(s, a.family, a.a);
}

static void test_cidr(void **state) {
  struct netset s;
  int i;

  (void)state;
  memset(&s, 0, sizeof(s));
  assert_int_equal(netset_add_text(&s, "203.0.113.0/24"), 0);
  assert_int_equal(netset_add_text(&s, "10.0.0.10"), 0);
  assert_int_equal(netset_add_text(&s, "2001:db8:10::/48"), 0);
  assert_int_equal(netset_add_text(&s, "100.64.0.0/10"), 0);
  assert_int_equal(netset_add_text(&s, "203.0.113.99/24"), 0); /* same net */
  assert_int_equal(netset_add_text(&s, "10.0.0.10/32"), 0);    /* same host */
  assert_int_equal(s.n, 4);
  assert_true(has(&s, "203.0.113.10"));
  assert_true(has(&s, "203.0.113.255"));
  assert_false(has(&s, "203.0.114.1"));
  assert_true(has(&s, "10.0.0.10"));
  assert_false(has(&s, "10.0.0.11"));
  assert_true(has(&s, "2001:db8:10:ffff::1"));
  assert_false(has(&s, "2001:db8:11::1"));
  assert_true(has(&s, "100.127.255.255"));
  assert_false(has(&s, "100.128.0.0"));
  assert_false(has(&s, "::ffff:203.0.113.10")); /* families stay apart */
  assert_int_equal(netset_add_text(&s, "203.0.113.0/33"), -1);
  assert_int_equal(netset_add_text(&s, "203.0.113.0/"), -1);
  assert_int_equal(netset_add_text(&s, "203.0.113.0/-1"), -1);
  assert_int_equal(netset_add_text(&s, "mail.example.com"), -1);
  assert_int_equal(netset_add_text(&s, "0.0.0.0/0"), 0);
  assert_true(has(&s, "198.51.100.1"));
  memset(&s, 0, sizeof(s));
  for (i = 0; i < NETSET_MAX; i++) {
    uint8_t a[4] = {10, 1, (uint8_t)i, 0};
    assert_int_equal(netset_add(&s, 4, a, 24), 0);
  }
  assert_int_equal(netset_add_text(&s, "192.0.2.1"), -2);
  assert_false(netset_contains(NULL, 4, (const uint8_t *)"\x0a\x01\x00\x01"));
}

/* A little-endian pcapng head: SHB, IDB with name, v4 and v6 addresses. */
static size_t pcapng_head(uint8_t *b, int with_epb) {
  static const uint8_t shb[28] = {0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0,
                                  0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0,
                                  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                  28, 0, 0, 0};
  static const uint8_t idb[] = {
      1, 0, 0, 0, 68, 0, 0, 0, 1, 0, 0, 0, 0, 0, 4, 0,
      2, 0, 4, 0, 'e', 't', 'h', '0',                 /* if_name */
      4, 0, 8, 0, 203, 0, 113, 10, 255, 255, 255, 0,  /* if_IPv4addr */
      5, 0, 17, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 0x10, 0, 0,
      0, 0, 0, 0, 0, 0, 0, 0x25, 64, 0, 0, 0,         /* if_IPv6addr */
      0, 0, 0, 0,                                     /* opt_endofopt */
      68, 0, 0, 0};
  static const uint8_t epb[12] = {6, 0, 0, 0, 12, 0, 0, 0, 12, 0, 0, 0};
  size_t n = 0;
  memcpy(b + n, shb, sizeof(shb)), n += sizeof(shb);
  if (with_epb) memcpy(b + n, epb, sizeof(epb)), n += sizeof(epb);
  memcpy(b + n, idb, sizeof(idb)), n += sizeof(idb);
  return n;
}

static void test_pcapng_ifaddrs(void **state) {
  uint8_t b[256];
  struct netset s;
  size_t n, cut;

  (void)state;
  memset(&s, 0, sizeof(s));
  n = pcapng_head(b, 0);
  assert_int_equal(pcapng_if_addrs(b, n, &s), 2);
  assert_true(has(&s, "203.0.113.10"));
  assert_false(has(&s, "203.0.113.11")); /* the host, not its subnet */
  assert_true(has(&s, "2001:db8:10::25"));
  /* After the first packet block nothing more is read. */
  memset(&s, 0, sizeof(s));
  n = pcapng_head(b, 1);
  assert_int_equal(pcapng_if_addrs(b, n, &s), 0);
  /* Cut anywhere: never more than what is there, never a crash. */
  n = pcapng_head(b, 0);
  for (cut = 0; cut < n; cut++) {
    memset(&s, 0, sizeof(s));
    assert_true(pcapng_if_addrs(b, cut, &s) <= 2);
  }
  /* A classic pcap file is not pcapng. */
  memcpy(b, "\xd4\xc3\xb2\xa1", 4);
  assert_int_equal(pcapng_if_addrs(b, n, &s), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cidr),
      cmocka_unit_test(test_pcapng_ifaddrs),
  };
  return cmocka_run_group_tests_name("netset", tests, NULL, NULL);
}
