/* egressaudit - tests/test_jsonl.c: another host's event lines made
 * sessions again: the keys of sessions --format jsonl, the store's escapes
 * undone, stats lines, finding lines skipped, and every bad line refused
 * with the key that made it bad.
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "logs/jsonl.h"

static struct jsonl_event ev;
static char err[600];

#define SESSION(extra)                                                        \
  "{\"type\":\"session\",\"host\":\"mail01\",\"first_seen\":"                \
  "\"2026-11-26T12:04:01.466494Z\",\"last_seen\":\"2026-11-26T12:04:01.503573Z\"," \
  "\"point\":\"mail01:eth0\",\"src_ip\":\"203.0.113.11\",\"src_port\":49809,"  \
  "\"dst_ip\":\"198.51.100.25\",\"dst_port\":25,\"ipver\":4,\"vlan\":null,"   \
  "\"direction\":\"egress\",\"outcome\":\"rejected\",\"state\":\"closed\","  \
  "\"end\":\"fin\",\"client_by\":\"syn\",\"banner\":\"mx.example.net ESMTP\","\
  "\"banner_host\":\"mx.example.net\",\"helo\":\"localhost\","               \
  "\"helos\":[\"localhost\",\"mail01.example.com\"],\"helo_verbs\":[\"HELO\",\"EHLO\"]," \
  "\"ehlo_reply\":\"mx.example.net\",\"echoed_ip\":\"203.0.113.11\","       \
  "\"echoed_from\":\"reject\",\"mail_from_domain\":\"example.com\","         \
  "\"starttls\":false,\"starttls_offered\":true,\"starttls_requested\":false," \
  "\"last_reply\":\"221 2.0.0 Bye\",\"reject\":\"550 5.7.1 no\","            \
  "\"replies\":[{\"code\":220,\"enhanced\":null,\"text\":\"mx ESMTP\",\"cmd\":\"CONNECT\"}," \
  "{\"code\":550,\"enhanced\":\"5.7.1\",\"text\":\"Client host rejected: [203.0.113.11]\",\"cmd\":\"RCPT\"}]," \
  "\"packets\":[8,9],\"bytes\":[89,297],\"anomalies\":{\"overlong\":0,"       \
  "\"bare_lf\":2,\"fragments\":1}" extra "}"

static int parse(const char *line) {
  return jsonl_parse(line, strlen(line), &ev, err, sizeof(err));
}

static int eq(struct slice s, const char *want) {
  return s.len == strlen(want) && memcmp(s.p, want, s.len) == 0;
}

static void test_session(void **state) {
  struct session *s = &ev.s;
  char a[ADDR_STRLEN];
  (void)state;

  assert_int_equal(parse(SESSION("")), JSONL_SESSION);
  assert_string_equal(ev.host, "mail01");
  assert_string_equal(ev.point, "mail01:eth0");
  assert_int_equal(s->first_us, 1795694641466494LL);
  assert_string_equal(addr_str(&s->src, a), "203.0.113.11");
  assert_int_equal(s->sport, 49809);
  assert_int_equal(s->dport, 25);
  assert_int_equal(s->vlan, -1);
  assert_int_equal(s->direction, DIR_EGRESS);
  assert_int_equal(s->state, SESS_CLOSED);
  assert_int_equal(s->end, END_FIN);
  assert_int_equal(s->n_helo, 2);
  assert_int_equal(s->helo_cmd[0], CMD_HELO);
  assert_int_equal(s->helo_cmd[1], CMD_EHLO);
  assert_true(eq(s->helo[1], "mail01.example.com"));
  assert_int_equal(s->echoed_from, CMD_NONE);
  assert_true(s->has_mail);
  assert_true(s->starttls_offered && !s->starttls_accepted);
  assert_int_equal(s->n_replies, 2);
  assert_int_equal(s->replies[1].code, 550);
  assert_int_equal(s->replies[1].cmd, CMD_RCPT);
  assert_true(eq(s->replies[1].enhanced, "5.7.1"));
  assert_null(s->replies[0].enhanced.p);
  assert_non_null(s->last_reply);
  assert_int_equal(s->last_reply->code, 221);
  assert_true(eq(s->last_reply->enhanced, "2.0.0"));
  assert_true(eq(s->last_reply->text, "Bye"));
  assert_int_equal(s->pkts_s2c, 9);
  assert_int_equal(s->bytes_s2c, 297);
  assert_int_equal(s->anom.bare_lf, 2);
  assert_int_equal(s->anom.fragments, 1);
}

/* The store's escapes become bytes again; raw control bytes stay bytes
 * (the store escapes them when it keeps them). */
static void test_escapes(void **state) {
  (void)state;
  assert_int_equal(parse(SESSION(",\"banner\":\"a\\\\x1b[31mb \\\\\\\\ c\\u0007\"")),
                   -EINVAL); /* a duplicate key */
  assert_int_equal(parse("{\"type\":\"session\",\"point\":\"p\",\"first_seen\":\"2026-11-26T12:04:01Z\","
                         "\"last_seen\":\"2026-11-26T12:04:02Z\",\"src_ip\":\"2001:db8::1\","
                         "\"src_port\":1,\"dst_ip\":\"2001:db8::2\",\"dst_port\":25,"
                         "\"state\":\"banner\",\"end\":\"eof\",\"client_by\":\"port\","
                         "\"direction\":\"unknown\",\"banner\":\"a\\\\x1b[31mb \\\\\\\\ c\\u0007\"}"),
                   JSONL_SESSION);
  assert_true(eq(ev.s.banner, "a\x1b[31mb \\ c\x07"));
  assert_int_equal(ev.host[0], '\0');
  assert_int_equal(ev.s.n_replies, 0);
  assert_null(ev.s.last_reply);
  assert_null(ev.s.mail_domain.p);
  assert_false(ev.s.has_mail);
}

static void test_other_types(void **state) {
  (void)state;
  assert_int_equal(parse("{\"type\":\"stats\",\"host\":\"gw1\",\"point\":\"gw1:eth1\","
                         "\"at\":\"2026-12-02T19:00:00Z\",\"name\":\"recv\",\"value\":42}"),
                   JSONL_STATS);
  assert_string_equal(ev.point, "gw1:eth1");
  assert_string_equal(ev.stat.name, "recv");
  assert_int_equal(ev.stat.value, 42);
  assert_int_equal(ev.stat.at, 1796238000000000LL);
  assert_int_equal(parse("{\"type\":\"finding-opened\",\"host\":\"gw1\",\"rule\":\"ptr-missing\"}"),
                   JSONL_FINDING);
  assert_int_equal(parse("{\"type\":\"heartbeat-v9\"}"), JSONL_OTHER);
}

static void bad(const char *line, const char *why) {
  assert_int_equal(parse(line), -EINVAL);
  if (strstr(err, why) == NULL) fail_msg("'%s': got '%s', want '%s'", line, err, why);
}

static void test_bad(void **state) {
  (void)state;
  bad("", "not JSON");
  bad("garbage", "not JSON");
  bad("[1,2]", "not a JSON object");
  bad("{\"type\":3}", "\"type\"");
  bad("{\"type\":\"session\"}", "\"point\": missing");
  bad(SESSION(",\"x\":1") "trailing", "not JSON");
  bad("{\"type\":\"stats\",\"point\":\"p\",\"at\":\"90m\",\"name\":\"r\",\"value\":1}",
      "\"at\": not an RFC 3339 time");
  bad("{\"type\":\"stats\",\"point\":\"p\",\"at\":\"2026-12-02T19:00:00Z\",\"name\":\"R;\",\"value\":1}",
      "\"name\"");
  bad("{\"type\":\"stats\",\"point\":\"a\\u0001b\",\"at\":\"2026-12-02T19:00:00Z\",\"name\":\"r\",\"value\":1}",
      "\"point\": holds a control character");
  bad("{\"type\":\"stats\",\"host\":\"a\\nb\",\"point\":\"p\",\"at\":\"2026-12-02T19:00:00Z\",\"name\":\"r\",\"value\":1}",
      "\"host\"");
  {
    char line[4096];
    snprintf(line, sizeof(line), "%s", SESSION(""));
    memcpy(strstr(line, "49809"), "99999", 5);
    bad(line, "\"src_port\": out of range");
    snprintf(line, sizeof(line), "%s", SESSION(""));
    memcpy(strstr(line, "\"closed\""), "\"closex\"", 8);
    bad(line, "\"state\": not a known value");
    snprintf(line, sizeof(line), "%s", SESSION(""));
    memcpy(strstr(line, "198.51.100.25"), "198.51.100.x5", 13);
    bad(line, "\"dst_ip\": not an IP address");
  }
}

/* A text longer than JSONL_TEXT_MAX is cut and counted. */
static void test_caps(void **state) {
  static char line[32768], big[8000];
  (void)state;
  memset(big, 'x', sizeof(big) - 1);
  snprintf(line, sizeof(line),
           "{\"point\":\"p\",\"first_seen\":\"2026-11-26T12:04:01Z\","
           "\"last_seen\":\"2026-11-26T12:04:02Z\",\"src_ip\":\"192.0.2.1\","
           "\"src_port\":1,\"dst_ip\":\"192.0.2.2\",\"dst_port\":25,"
           "\"state\":\"banner\",\"end\":\"eof\",\"client_by\":\"port\","
           "\"direction\":\"unknown\",\"banner\":\"%s\"}", big);
  assert_int_equal(parse(line), JSONL_SESSION);
  assert_int_equal(ev.s.banner.len, JSONL_TEXT_MAX);
  assert_int_equal(ev.s.anom.truncated, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_session),    cmocka_unit_test(test_escapes),
      cmocka_unit_test(test_other_types), cmocka_unit_test(test_bad),
      cmocka_unit_test(test_caps),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
