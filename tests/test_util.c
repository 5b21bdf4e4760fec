/* egressaudit - tests/test_util.c: escaping, times, ports, addresses, the
 * metrics endpoint's HTTP and exposition text.
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common/conf.h"
#include "common/dns.h"
#include "common/http.h"
#include "common/prom.h"
#include "common/strmap.h"
#include "common/util.h"

static void test_esc_table(void **state) {
  static const struct {
    const char *in;
    size_t len;
    const char *out;
  } v[] = {
      {"plain text", 10, "plain text"},
      {"a\\b", 3, "a\\\\b"},
      {"\x1b]0;owned\x07", 10, "\\x1b]0;owned\\x07"},
      {"nul\0x", 5, "nul\\x00x"},
      {"\x7f", 1, "\\x7f"},
      {"caf\xc3\xa9", 5, "caf\xc3\xa9"},                 /* U+00E9 */
      {"\xe2\x82\xac", 3, "\xe2\x82\xac"},               /* U+20AC */
      {"\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80"},       /* U+1F600 */
      {"\xc0\x80", 2, "\\xc0\\x80"},                     /* overlong NUL */
      {"\xe0\x80\xaf", 3, "\\xe0\\x80\\xaf"},            /* overlong / */
      {"\xed\xa0\x80", 3, "\\xed\\xa0\\x80"},            /* surrogate */
      {"\xc2\x9b", 2, "\\xc2\\x9b"},                     /* C1 CSI */
      {"\xf4\x90\x80\x80", 4, "\\xf4\\x90\\x80\\x80"},   /* > U+10FFFF */
      {"\xe2\x82", 2, "\\xe2\\x82"},                     /* cut sequence */
      {"\xff\xfe", 2, "\\xff\\xfe"},
      {"tab\there\r\n", 10, "tab\\x09here\\x0d\\x0a"},
  };
  char out[128];
  size_t i, n;

  (void)state;
  for (i = 0; i < ARRAY_SIZE(v); i++) {
    n = esc_bytes(out, sizeof(out), v[i].in, v[i].len);
    assert_string_equal(out, v[i].out);
    assert_int_equal(n, strlen(v[i].out));
  }
}

static void test_esc_cap_never_splits(void **state) {
  char out[64];
  size_t cap, n;
  const char *in = "ab\x01\xc3\xa9\\z";

  (void)state;
  for (cap = 1; cap < 20; cap++) {
    memset(out, 'Q', sizeof(out));
    n = esc_bytes(out, cap, in, strlen(in));
    assert_true(n < cap);
    assert_int_equal(out[n], '\0');
    assert_int_equal(out[cap], 'Q'); /* nothing written past cap */
    /* The output is a prefix of the full escape. */
    assert_memory_equal(out, "ab\\x01\xc3\xa9\\\\z", n);
    if (n > 0 && out[n - 1] == '\\') assert_int_equal(n >= 2 && out[n - 2] == '\\', 1);
  }
}

static void test_time(void **state) {
  char buf[TIME_STRLEN];
  int64_t us, now = 1795687200LL * 1000000;

  (void)state;
  assert_string_equal(time_str(now + 123456, buf), "2026-11-26T10:00:00.123456Z");
  assert_string_equal(time_str(0, buf), "1970-01-01T00:00:00.000000Z");
  assert_int_equal(time_parse("2026-11-26T10:00:00Z", 0, &us), 0);
  assert_true(us == now);
  assert_int_equal(time_parse("2026-11-26T10:00:00.5Z", 0, &us), 0);
  assert_true(us == now + 500000);
  assert_int_equal(time_parse("2026-11-26T12:00:00+02:00", 0, &us), 0);
  assert_true(us == now);
  assert_int_equal(time_parse("2026-11-26", 0, &us), 0);
  assert_true(us == now - 36000LL * 1000000);
  assert_int_equal(time_parse("90m", now, &us), 0);
  assert_true(us == now - 5400LL * 1000000);
  assert_int_equal(time_parse("7d", now, &us), 0);
  assert_true(us == now - 7 * 86400LL * 1000000);
  assert_int_equal(time_parse("yesterday", now, &us), -1);
  assert_int_equal(time_parse("2026-13-01", now, &us), -1);
  assert_int_equal(time_parse("2026-11-26T10:00:00Zjunk", now, &us), -1);
  assert_int_equal(time_parse("10x", now, &us), -1);
  assert_int_equal(dur_parse("24h", &us), 0);
  assert_true(us == 86400LL * 1000000);
  assert_int_equal(dur_parse("-1h", &us), -1);
  assert_int_equal(dur_parse("99999999999999999999d", &us), -1);
}

static void test_ports(void **state) {
  uint8_t bm[8192];

  (void)state;
  assert_int_equal(ports_parse("25,587,465", bm), 0);
  assert_true(bm[25 >> 3] & (1 << (25 & 7)));
  assert_true(bm[587 >> 3] & (1 << (587 & 7)));
  assert_false(bm[26 >> 3] & (1 << (26 & 7)));
  assert_int_equal(ports_parse("", bm), -1);
  assert_int_equal(ports_parse("0", bm), -1);
  assert_int_equal(ports_parse("65536", bm), -1);
  assert_int_equal(ports_parse("25;587", bm), -1);
  assert_int_equal(ports_parse("smtp", bm), -1);
}

static void test_addr(void **state) {
  struct ea_addr a;
  char buf[ADDR_STRLEN];

  (void)state;
  assert_int_equal(addr_parse(&a, "203.0.113.10", 12), 0);
  assert_int_equal(a.family, 4);
  assert_string_equal(addr_str(&a, buf), "203.0.113.10");
  assert_int_equal(addr_parse(&a, "2001:DB8:0::1", 13), 0);
  assert_string_equal(addr_str(&a, buf), "2001:db8::1");
  assert_int_equal(addr_parse(&a, "300.1.1.1", 9), -1);
  assert_int_equal(addr_parse(&a, "", 0), -1);
  assert_int_equal(addr_parse(&a, "1.2.3.4 ", 8), -1);
}

static void cell(const char *in, const char *want) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  assert_non_null(f);
  csv_field(f, in, 1);
  fclose(f);
  assert_string_equal(buf, want);
  free(buf);
}

/* OWASP CSV injection: a cell a spreadsheet would run as a formula shows
 * as text; RFC 4180 quoting as before. */
static void test_csv(void **state) {
  (void)state;
  cell("mx.example.net ESMTP", "mx.example.net ESMTP\r\n");
  cell(NULL, "\r\n");
  cell("a,b", "\"a,b\"\r\n");
  cell("say \"hi\"", "\"say \"\"hi\"\"\"\r\n");
  cell("=cmd|' /C calc'!A0", "\"'=cmd|' /C calc'!A0\"\r\n");
  cell("=HYPERLINK(\"http://x\",\"y\")", "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"\r\n");
  cell("+1", "\"'+1\"\r\n");
  cell("-2+3", "\"'-2+3\"\r\n");
  cell("@SUM(A1)", "\"'@SUM(A1)\"\r\n");
  cell("\t=1", "\"'\t=1\"\r\n");
  cell("\r=1", "\"'\r=1\"\r\n");
  cell("a=b", "a=b\r\n");
}

static void test_conf(void **state) {
  static const struct {
    const char *text, *want; /* NULL: not found */
  } v[] = {
      {"EGRESSAUDIT_ANALYSIS_OPTS=\"--resolver 127.0.0.1\"\n", "--resolver 127.0.0.1"},
      {"X=1\n  EGRESSAUDIT_ANALYSIS_OPTS='--max-age 1h'\r\n", "--max-age 1h"},
      {"EGRESSAUDIT_ANALYSIS_OPTS=a\nEGRESSAUDIT_ANALYSIS_OPTS=b", "b"}, /* last wins */
      {"#EGRESSAUDIT_ANALYSIS_OPTS=a\n", NULL},
      {"EGRESSAUDIT_ANALYSIS_OPTSX=a\n", NULL},
      {"EGRESSAUDIT_ANALYSIS_OPTS=\"$(rm -rf /)\"", "$(rm -rf /)"}, /* never run */
      {"EGRESSAUDIT_ANALYSIS_OPTS=\"\n", "\""},                       /* one quote: kept */
      {"EGRESSAUDIT_ANALYSIS_OPTS=", ""},
  };
  char out[64], buf[64], *w[3];
  unsigned i;
  (void)state;

  for (i = 0; i < ARRAY_SIZE(v); i++) {
    int found = conf_find(v[i].text, strlen(v[i].text), "EGRESSAUDIT_ANALYSIS_OPTS",
                          out, sizeof(out));
    if (v[i].want == NULL) {
      assert_int_equal(found, 0);
      continue;
    }
    assert_int_equal(found, 1);
    assert_string_equal(out, v[i].want);
  }
  /* Truncated, still terminated. */
  assert_int_equal(conf_find("N=abcdef", 8, "N", out, 4), 1);
  assert_string_equal(out, "abc");
  snprintf(buf, sizeof(buf), " --a 1\t--b  ");
  assert_int_equal(conf_split(buf, w, 3), 3);
  assert_string_equal(w[0], "--a");
  assert_string_equal(w[2], "--b");
  snprintf(buf, sizeof(buf), "a b c d");
  assert_int_equal(conf_split(buf, w, 3), -1);
}

/* The map keeps what it is given through its growth, and two maps hash
 * the same keys differently (a seed each). */
static void test_strmap(void **state) {
  struct strmap a = {0}, b = {0};
  char key[32];
  int i;
  (void)state;

  for (i = 0; i < 5000; i++) {
    void **slot;
    snprintf(key, sizeof(key), "203.0.%d.%d", i / 256, i % 256);
    slot = strmap_slot(&a, key, 1);
    assert_non_null(slot);
    assert_null(*slot);
    *slot = (void *)(uintptr_t)(i + 1);
    assert_non_null(strmap_slot(&b, key, 1));
  }
  assert_int_equal(a.n, 5000);
  for (i = 0; i < 5000; i++) {
    snprintf(key, sizeof(key), "203.0.%d.%d", i / 256, i % 256);
    assert_int_equal((uintptr_t)strmap_get(&a, key), (uintptr_t)(i + 1));
  }
  assert_null(strmap_get(&a, "198.51.100.1"));
  assert_true(a.seed != b.seed);
  strmap_free(&a, NULL);
  strmap_free(&b, NULL);
  assert_null(strmap_get(&a, "203.0.0.1"));
}


static void test_http(void **state) {
  static const struct {
    const char *in;
    int code;
    const char *method, *path;
  } c[] = {
      {"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 0, "GET", "/metrics"},
      {"HEAD /metrics?a=b HTTP/1.0\n\n", 0, "HEAD", "/metrics"},
      {"GET /metrics HTTP/2.0\r\n\r\n", 505, "GET", "/metrics"},
      {"GET /metrics HTTP/1.2\r\n\r\n", 505, "GET", "/metrics"},
      {"get /metrics HTTP/1.1\r\n\r\n", 400, "", ""},
      {"GET  /metrics HTTP/1.1\r\n\r\n", 400, "GET", ""},
      {"GET /met\x01rics HTTP/1.1\r\n\r\n", 400, "GET", ""},
      {"GET /metrics\r\n\r\n", 400, "GET", ""},
      {"PROPPATCHX / HTTP/1.1\r\n\r\n", 400, "", ""},
      {"\r\n\r\n", 400, "", ""},
  };
  char big[600];
  struct http_request r;
  size_t k, scanned, end;
  (void)state;

  for (k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
    size_t len = strlen(c[k].in);
    scanned = 0;
    end = http_head_end(c[k].in, len, &scanned);
    assert_int_equal(end, len);
    assert_int_equal(http_request_line(c[k].in, end, &r), c[k].code);
    assert_string_equal(r.method, c[k].method);
    if (c[k].code == 0) assert_string_equal(r.path, c[k].path);
  }
  /* A head in pieces: found when its blank line is complete, not before;
   * the terminator split across reads. */
  {
    const char *h = "GET / HTTP/1.1\r\nA: b\r\n\r\nbody";
    scanned = 0;
    assert_int_equal(http_head_end(h, 23, &scanned), 0);
    assert_int_equal(http_head_end(h, 24, &scanned), 24);
  }
  memset(big, 'a', sizeof(big));
  memcpy(big, "GET /", 5);
  memcpy(big + 500, " HTTP/1.1\r\n\r\n", 13);
  assert_int_equal(http_request_line(big, 513, &r), 414);
}

static void test_prom(void **state) {
  struct pbuf b = {0};
  const char *l[4] = {"point", "gw:\"eth0\"\\\n\x80", "state", "tls"};
  (void)state;

  prom_family(&b, "ea_x_total", "counter", "Things.");
  prom_int(&b, "ea_x_total", l, 2, 42);
  prom_double(&b, "ea_t", NULL, 0, 1.5);
  assert_string_equal(b.p,
                      "# HELP ea_x_total Things.\n# TYPE ea_x_total counter\n"
                      "ea_x_total{point=\"gw:\\\"eth0\\\"\\\\\\n?\",state=\"tls\"} 42\n"
                      "ea_t 1.500000\n");
  pbuf_free(&b);
  /* Past the ceiling: whole lines only, and said. */
  b.max = 60;
  prom_int(&b, "ea_a", NULL, 0, 1);
  prom_int(&b, "ea_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", NULL, 0, 2);
  prom_int(&b, "ea_c", NULL, 0, 3);
  assert_true(b.truncated);
  assert_string_equal(b.p, "ea_a 1\n");
  pbuf_free(&b);
}

static void test_reverse_addr(void **state) {
  static const struct {
    const char *name;
    int ok;
    const char *ip;
  } c[] = {
      {"10.113.0.203.in-addr.arpa", 1, "203.0.113.10"},
      {"0.0.0.0.in-addr.arpa", 1, "0.0.0.0"},
      {"255.255.255.255.in-addr.arpa", 1, "255.255.255.255"},
      {"256.0.0.1.in-addr.arpa", 0, NULL},
      {"010.0.0.1.in-addr.arpa", 0, NULL},
      {"113.0.203.in-addr.arpa", 0, NULL},
      {"1.10.113.0.203.in-addr.arpa", 0, NULL},
      {"10.113.0.203.in-addr.arpa.example", 0, NULL},
      {"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", 1, "2001:db8::1"},
      {"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.ip6.arpa", 0, NULL},
      {"g.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", 0, NULL},
      {"", 0, NULL},
  };
  struct ea_addr a;
  char text[64], back[80];
  size_t i;
  (void)state;

  for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
    int rc = dns_reverse_addr(c[i].name, &a.family, a.a);
    assert_int_equal(rc == 0, c[i].ok);
    if (!c[i].ok) continue;
    assert_string_equal(addr_str(&a, text), c[i].ip);
    assert_int_equal(dns_reverse_name(a.family, a.a, back, sizeof(back)), 0);
    assert_string_equal(back, c[i].name);
  }
}

static void test_jlist(void **state) {
  static const char *const items[] = {"mail.example.com", "line\nend", "q\"uo\\te",
                                      "\x01\x7f\xc3\xa9", ""};
  char buf[256], small[24], out[64];
  struct jlist j;
  const char *p;
  unsigned i;
  (void)state;

  jlist_init(&j, buf, sizeof(buf));
  assert_string_equal(buf, "[]");
  for (i = 0; i < 5; i++) jlist_add(&j, items[i]);
  assert_false(j.cut);
  assert_string_equal(buf, "[\"mail.example.com\",\"line\\u000aend\",\"q\\\"uo\\\\te\","
                           "\"\\u0001\\u007f\\u00c3\\u00a9\",\"\"]");
  for (p = buf, i = 0; jlist_next(&p, out, sizeof(out)); i++)
    assert_string_equal(out, items[i]);
  assert_int_equal(i, 5);
  /* Too long for the buffer: whole items dropped, the array stays valid. */
  jlist_init(&j, small, sizeof(small));
  jlist_add(&j, "a.example");
  jlist_add(&j, "bbbbbbbbbbbbbbbb.example");
  assert_true(j.cut);
  assert_string_equal(small, "[\"a.example\"]");
  /* Whatever else is in the column: no item, or the items up to it. */
  {
    static const char *const bad[] = {"", "x", "[", "[\"a", "[1]", "{\"a\":1}",
                                      "[\"a\\u12\"]", "[\"a\\q\"]", "a\nb"};
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
      p = bad[i];
      assert_false(jlist_next(&p, out, sizeof(out)));
    }
  }
  p = "[\"a\",7]";
  assert_true(jlist_next(&p, out, sizeof(out)));
  assert_false(jlist_next(&p, out, sizeof(out)));
  /* An item longer than out is cut, never overrun. */
  p = "[\"abcdefgh\"]";
  assert_true(jlist_next(&p, out, 4));
  assert_string_equal(out, "abc");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_csv),
      cmocka_unit_test(test_esc_table), cmocka_unit_test(test_esc_cap_never_splits),
      cmocka_unit_test(test_time),      cmocka_unit_test(test_ports),
      cmocka_unit_test(test_addr),
      cmocka_unit_test(test_conf),
      cmocka_unit_test(test_strmap),
      cmocka_unit_test(test_http),
      cmocka_unit_test(test_prom),
      cmocka_unit_test(test_reverse_addr),
      cmocka_unit_test(test_jlist),
  };
  return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
