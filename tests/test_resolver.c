/* egressaudit - tests/test_resolver.c: the DNS response walker on messages
 * built byte by byte: the cases a real server does not produce (records
 * about another name in the answer section, a PTR to the root name next
 * to a real one). NSD covers the ordinary ones (tests/dns).
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "analyzer/resolver.h"

struct msg {
  unsigned char b[1024];
  size_t n;
};

static void put(struct msg *m, const void *p, size_t n) {
  assert_true(m->n + n <= sizeof(m->b));
  memcpy(m->b + m->n, p, n);
  m->n += n;
}
static void u16(struct msg *m, unsigned v) {
  unsigned char x[2] = {(unsigned char)(v >> 8), (unsigned char)v};
  put(m, x, 2);
}
/* A name in wire form, no compression ("" is the root). */
static void name(struct msg *m, const char *s) {
  while (*s) {
    const char *dot = strchr(s, '.');
    size_t len = dot ? (size_t)(dot - s) : strlen(s);
    unsigned char l = (unsigned char)len;
    put(m, &l, 1);
    put(m, s, len);
    s += len + (dot != NULL);
  }
  put(m, "", 1);
}
static void header(struct msg *m, unsigned an) {
  m->n = 0;
  u16(m, 0x1234);
  u16(m, 0x8180); /* response, RD, RA, NOERROR */
  u16(m, 1);
  u16(m, an);
  u16(m, 0);
  u16(m, 0);
}
static void question(struct msg *m, const char *q, unsigned type) {
  name(m, q);
  u16(m, type);
  u16(m, 1);
}
/* An RR whose RDATA is one name (PTR, CNAME). */
static void rr_name(struct msg *m, const char *owner, unsigned type,
                    const char *target) {
  struct msg t = {{0}, 0};
  name(m, owner);
  u16(m, type);
  u16(m, 1);
  u16(m, 0);
  u16(m, 300);
  name(&t, target);
  u16(m, (unsigned)t.n);
  put(m, t.b, t.n);
}

static void parse(const struct msg *m, unsigned type, struct dns_result *r) {
  memset(r, 0, sizeof(*r));
  r->type = (uint16_t)type;
  assert_int_equal(resolver_parse(m->b, (int)m->n, r), 0);
}

static void test_owner(void **state) {
  static const char *q = "10.113.0.203.in-addr.arpa";
  struct msg m;
  struct dns_result r;

  (void)state;
  /* One PTR of the question and one about another name: the second is
   * not a second PTR (it was taken as one: a false multiple-ptr). */
  header(&m, 2);
  question(&m, q, DNS_T_PTR);
  rr_name(&m, q, DNS_T_PTR, "mail01.example.com");
  rr_name(&m, "11.113.0.203.in-addr.arpa", DNS_T_PTR, "evil.example.org");
  parse(&m, DNS_T_PTR, &r);
  assert_int_equal(r.status, DNS_OK);
  assert_int_equal(r.n, 1);
  assert_string_equal(r.answer[0], "mail01.example.com");

  /* Only a foreign record: the question has no PTR (NODATA). */
  header(&m, 1);
  question(&m, q, DNS_T_PTR);
  rr_name(&m, "other.example", DNS_T_PTR, "evil.example.org");
  parse(&m, DNS_T_PTR, &r);
  assert_int_equal(r.status, DNS_NODATA);
  assert_int_equal(r.n, 0);

  /* A CNAME chain (RFC 2317 classless delegation): the record about the
   * name the chain leads to answers; one about the start does too. */
  header(&m, 3);
  question(&m, q, DNS_T_PTR);
  rr_name(&m, q, DNS_T_CNAME, "10.0-25.113.0.203.in-addr.arpa");
  rr_name(&m, "10.0-25.113.0.203.in-addr.arpa", DNS_T_PTR, "mail01.example.com");
  rr_name(&m, "12.113.0.203.in-addr.arpa", DNS_T_PTR, "evil.example.org");
  parse(&m, DNS_T_PTR, &r);
  assert_int_equal(r.status, DNS_OK);
  assert_int_equal(r.n, 1);
  assert_string_equal(r.answer[0], "mail01.example.com");
}

static void test_root_name(void **state) {
  static const char *q = "41.113.0.203.in-addr.arpa";
  struct msg m;
  struct dns_result r;

  (void)state;
  /* A PTR to the root name names no host: NODATA, not an empty name. */
  header(&m, 1);
  question(&m, q, DNS_T_PTR);
  rr_name(&m, q, DNS_T_PTR, "");
  parse(&m, DNS_T_PTR, &r);
  assert_int_equal(r.status, DNS_NODATA);
  assert_int_equal(r.n, 0);
  /* Beside a real one: the real one alone. */
  header(&m, 2);
  question(&m, q, DNS_T_PTR);
  rr_name(&m, q, DNS_T_PTR, "");
  rr_name(&m, q, DNS_T_PTR, "mail41.example.com");
  parse(&m, DNS_T_PTR, &r);
  assert_int_equal(r.status, DNS_OK);
  assert_int_equal(r.n, 1);
  assert_string_equal(r.answer[0], "mail41.example.com");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_owner),
      cmocka_unit_test(test_root_name),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
