/* egressaudit - tests/test_smtp.c: the SMTP dialogue parser.
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/smtp.h"
#include "common/util.h"

static struct ea_addr server4(void) {
  struct ea_addr a;
  addr_parse(&a, "198.51.100.25", 13);
  return a;
}

static struct smtp *new_smtp(bool from_start) {
  struct smtp *s = malloc(sizeof(*s));
  struct ea_addr sv = server4();
  memset(s, 0xA5, sizeof(*s)); /* smtp_init must not rely on zeroed memory */
  smtp_init(s, &sv, from_start);
  return s;
}

static void c(struct smtp *s, const char *t) {
  smtp_feed(s, SMTP_C2S, (const uint8_t *)t, strlen(t));
}
static void sv(struct smtp *s, const char *t) {
  smtp_feed(s, SMTP_S2C, (const uint8_t *)t, strlen(t));
}

static void assert_slice(struct slice sl, const char *want) {
  char buf[2048];
  if (want == NULL) {
    assert_null(sl.p);
    return;
  }
  assert_non_null(sl.p);
  snprintf(buf, sizeof(buf), "%.*s", (int)sl.len, sl.p);
  assert_string_equal(buf, want);
}

static const char *const DIALOGUE[][2] = {
    {NULL, "220 mx.example.net ESMTP testbed\r\n"},
    {"EHLO mail01.example.com\r\n",
     "250-mx.example.net Hello mail01.example.com [203.0.113.10]\r\n"
     "250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n"},
    {"MAIL FROM:<alice@Example.COM> SIZE=100\r\n", "250 2.1.0 Ok\r\n"},
    {"RCPT TO:<bob@example.net>\r\n",
     "550-5.7.1 Client host rejected: cannot find your\r\n"
     "550 5.7.1 reverse hostname, [203.0.113.10]\r\n"},
    {"QUIT\r\n", "221 2.0.0 Bye\r\n"},
};

static void check_dialogue(const struct smtp *s) {
  struct session v;

  memset(&v, 0, sizeof(v));
  smtp_view(s, &v);
  assert_int_equal(v.state, SESS_CLOSED);
  assert_slice(v.banner, "mx.example.net ESMTP testbed");
  assert_slice(v.banner_host, "mx.example.net");
  assert_int_equal(v.n_helo, 1);
  assert_slice(v.helo[0], "mail01.example.com");
  assert_int_equal(v.helo_cmd[0], CMD_EHLO);
  assert_slice(v.ehlo_reply, "mx.example.net Hello mail01.example.com [203.0.113.10]");
  assert_int_equal(v.echoed.family, 4);
  assert_int_equal(v.echoed_from, CMD_EHLO);
  assert_true(v.starttls_offered);
  assert_false(v.starttls_requested);
  assert_true(v.has_mail);
  assert_slice(v.mail_domain, "Example.COM");
  assert_int_equal(v.n_replies, 5);
  assert_int_equal(v.replies[0].code, 220);
  assert_int_equal(v.replies[0].cmd, CMD_CONNECT);
  assert_int_equal(v.replies[1].cmd, CMD_EHLO);
  assert_slice(v.replies[1].text,
               "mx.example.net Hello mail01.example.com [203.0.113.10] "
               "PIPELINING STARTTLS 8BITMIME");
  assert_int_equal(v.replies[2].cmd, CMD_MAIL);
  assert_slice(v.replies[2].enhanced, "2.1.0");
  assert_slice(v.replies[2].text, "Ok");
  assert_int_equal(v.replies[3].code, 550);
  assert_int_equal(v.replies[3].cmd, CMD_RCPT);
  assert_slice(v.replies[3].enhanced, "5.7.1");
  assert_slice(v.replies[3].text, "Client host rejected: cannot find your "
                                  "reverse hostname, [203.0.113.10]");
  assert_int_equal(v.replies[4].cmd, CMD_QUIT);
  assert_non_null(v.last_reply);
  assert_int_equal(v.last_reply->code, 221);
  assert_int_equal(v.anom.bare_lf + v.anom.bare_cr + v.anom.overlong +
                       v.anom.bad_reply + v.anom.gaps,
                   0);
}

static void test_dialogue_whole(void **state) {
  struct smtp *s = new_smtp(true);
  size_t i;

  (void)state;
  for (i = 0; i < ARRAY_SIZE(DIALOGUE); i++) {
    if (DIALOGUE[i][0]) c(s, DIALOGUE[i][0]);
    sv(s, DIALOGUE[i][1]);
  }
  check_dialogue(s);
  assert_true(smtp_done(s));
  free(s);
}

/* Every message split in two at every byte position gives the same facts. */
static void test_dialogue_split_everywhere(void **state) {
  size_t i, k, n, maxlen = 0;

  (void)state;
  for (i = 0; i < ARRAY_SIZE(DIALOGUE); i++)
    for (n = 0; n < 2; n++)
      if (DIALOGUE[i][n] && strlen(DIALOGUE[i][n]) > maxlen)
        maxlen = strlen(DIALOGUE[i][n]);
  for (k = 0; k <= maxlen; k++) {
    struct smtp *s = new_smtp(true);
    for (i = 0; i < ARRAY_SIZE(DIALOGUE); i++) {
      for (n = 0; n < 2; n++) {
        const char *m = DIALOGUE[i][n];
        size_t len, cut;
        if (m == NULL) continue;
        len = strlen(m);
        cut = k < len ? k : len;
        smtp_feed(s, n == 0 ? SMTP_C2S : SMTP_S2C, (const uint8_t *)m, cut);
        smtp_feed(s, n == 0 ? SMTP_C2S : SMTP_S2C, (const uint8_t *)m + cut,
                  len - cut);
      }
    }
    check_dialogue(s);
    free(s);
  }
  /* And byte by byte. */
  {
    struct smtp *s = new_smtp(true);
    for (i = 0; i < ARRAY_SIZE(DIALOGUE); i++)
      for (n = 0; n < 2; n++) {
        const char *m = DIALOGUE[i][n];
        size_t j;
        for (j = 0; m && m[j]; j++)
          smtp_feed(s, n == 0 ? SMTP_C2S : SMTP_S2C, (const uint8_t *)m + j, 1);
      }
    check_dialogue(s);
    free(s);
  }
}

static void test_pipelining(void **state) {
  struct smtp *s = new_smtp(true);
  struct session v;

  (void)state;
  sv(s, "220 mx ESMTP\r\n");
  c(s, "EHLO a.example\r\n");
  sv(s, "250-mx\r\n250 PIPELINING\r\n");
  c(s, "MAIL FROM:<>\r\nRCPT TO:<x@y>\r\nRCPT TO:<z@y>\r\nDATA\r\n");
  sv(s, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n450 4.2.0 Greylisted\r\n354 go\r\n");
  c(s, "Subject: x\r\n\r\nMAIL FROM:<not@a.command>\r\n..dot-stuffed\r\n.\r\n");
  sv(s, "250 2.0.0 queued\r\n");
  memset(&v, 0, sizeof(v));
  smtp_view(s, &v);
  assert_int_equal(v.anom.pipelined, 3);
  assert_int_equal(v.n_replies, 7);
  assert_int_equal(v.replies[2].cmd, CMD_MAIL);
  assert_int_equal(v.replies[3].cmd, CMD_RCPT);
  assert_int_equal(v.replies[4].cmd, CMD_RCPT);
  assert_int_equal(v.replies[4].code, 450);
  assert_int_equal(v.replies[5].cmd, CMD_DATA);
  assert_int_equal(v.replies[6].cmd, CMD_DATA);
  assert_slice(v.mail_domain, ""); /* null sender; the body's MAIL ignored */
  assert_int_equal(v.state, SESS_MAIL);
  free(s);
}

static void test_echo_formats(void **state) {
  static const struct {
    const char *text;
    const char *want;
  } v[] = {
      {"mx-exim.example.net Hello mail01.example.com [203.0.113.10]", "203.0.113.10"},
      {"mx Hello [IPv6:2001:db8:10::25], pleased to meet you", "2001:db8:10::25"},
      {"mx Hello x [IPv6:2001:0db8:0010:0000:0000:0000:0000:0025]", "2001:db8:10::25"},
      {"mx.google.com at your service, [203.0.113.12]", "203.0.113.12"},
      {"node.mail.protection.outlook.com Hello [2001:db8::7]", "2001:db8::7"},
      {"vpop Hello [203.0.113.5] (203.0.113.5), pleased", "203.0.113.5"},
      {"mx Hello name [203.0.113.6 port 4000]", "203.0.113.6"},
      {"mx Hello [198.51.100.25] [203.0.113.7]", "203.0.113.7"}, /* skip server */
      /* Sendmail to an address-literal EHLO: the client's own literal
       * first, the address the receiver saw last. */
      {"mx.example.net Hello [10.3.111.193] [192.0.2.37], pleased to meet you", "192.0.2.37"},
      {"mx Hello [IPv6:fd00::25] [IPv6:2001:db8:10::26], pleased", "2001:db8:10::26"},
      {"mx Hello [203.0.113.8] [300.1.2.3]", "203.0.113.8"}, /* last valid one */
      {"mx Hello [300.1.2.3] [mx.example]", NULL},
      {"mx Hello there", NULL},
      {"[", NULL},
      {"mx [IPv6:", NULL},
  };
  struct ea_addr a, sv_ = server4();
  char buf[ADDR_STRLEN];
  size_t i;

  (void)state;
  for (i = 0; i < ARRAY_SIZE(v); i++) {
    int rc = smtp_find_echo(v[i].text, strlen(v[i].text), &sv_, &a);
    if (v[i].want == NULL) {
      assert_int_equal(rc, -1);
    } else {
      assert_int_equal(rc, 0);
      assert_string_equal(addr_str(&a, buf), v[i].want);
    }
  }
}

/* A client that speaks before the banner (an early talker): the banner
 * still answers the connection, the next reply the command sent early
 * (Exim answers it with 554 SMTP synchronization error). */
static void test_client_first(void **state) {
  struct smtp *s = new_smtp(true);
  struct session v;
  (void)state;

  c(s, "EHLO early.example.com\r\n");
  sv(s, "220 mx.example.net ESMTP\r\n");
  sv(s, "554 SMTP synchronization error\r\n");
  c(s, "QUIT\r\n");
  sv(s, "221 mx.example.net closing connection\r\n");
  memset(&v, 0, sizeof(v));
  smtp_view(s, &v);
  assert_slice(v.banner, "mx.example.net ESMTP");
  assert_int_equal(v.n_helo, 1);
  assert_slice(v.helo[0], "early.example.com");
  assert_int_equal(v.n_replies, 3);
  assert_int_equal(v.replies[0].cmd, CMD_CONNECT);
  assert_int_equal(v.replies[0].code, 220);
  assert_int_equal(v.replies[1].cmd, CMD_EHLO);
  assert_int_equal(v.replies[1].code, 554);
  assert_int_equal(v.replies[2].cmd, CMD_QUIT);
  assert_int_equal(v.replies[2].code, 221);
  free(s);
}

static void test_starttls_stops(void **state) {
  struct smtp *s = new_smtp(true);
  struct session v;

  (void)state;
  sv(s, "220 mx ESMTP\r\n");
  c(s, "EHLO a.example\r\n");
  sv(s, "250-mx\r\n250 STARTTLS\r\n");
  c(s, "STARTTLS\r\n");
  sv(s, "220 2.0.0 Ready\r\n");
  assert_true(smtp_done(s));
  c(s, "\x16\x03\x01garbage\r\nEHLO hidden\r\n");
  sv(s, "550 fake\r\n");
  memset(&v, 0, sizeof(v));
  smtp_view(s, &v);
  assert_int_equal(v.state, SESS_TLS);
  assert_true(v.starttls_offered && v.starttls_requested && v.starttls_accepted);
  assert_int_equal(v.n_helo, 1);
  assert_int_equal(v.n_replies, 3);
  free(s);

  s = new_smtp(true);
  sv(s, "220 mx ESMTP\r\n");
  c(s, "EHLO a.example\r\nSTARTTLS\r\n");
  sv(s, "250 mx\r\n454 4.7.0 TLS not available\r\n");
  c(s, "QUIT\r\n");
  memset(&v, 0, sizeof(v));
  smtp_view(s, &v);
  assert_false(v.starttls_accepted);
  assert_false(v.starttls_offered);
  assert_true(v.starttls_requested);
  assert_false(smtp_done(s));
  free(s);
}

static void test_auth_and_bdat(void **state) {
  struct smtp *s = new_smtp(true);
  struct session v;
  const char *chunk = "QUIT\r\nEHLO evil\r\n";
  char bdat[64];

  (void)state;
  sv(s, "220 mx\r\n");
  c(s, "EHLO a.example\r\nAUTH LOGIN\r\n");
  sv(s, "250 mx\r\n334 VXNlcm5hbWU6\r\n");
  c(s, "dXNlcg==\r\n");
  sv(s, "334 UGFzc3dvcmQ6\r\n");
  c(s, "cGFzcw==\r\n");
  sv(s, "235 2.7.0 ok\r\n");
  snprintf(bdat, sizeof(bdat), "BDAT %zu LAST\r\n", strlen(chunk));
  c(s, "MAIL FROM:<a@b.example>\r\n");
  sv(s, "250 ok\r\n");
  c(s, bdat);
  c(s, chunk);
  sv(s, "250 2.0.0 queued\r\n");
  memset(&v, 0, sizeof(v));
  smtp_view(s, &v);
  assert_int_equal(v.n_helo, 1);
  assert_int_equal(v.n_replies, 7);
  assert_int_equal(v.replies[2].cmd, CMD_AUTH);
  assert_int_equal(v.replies[3].cmd, CMD_AUTH);
  assert_int_equal(v.replies[4].cmd, CMD_AUTH);
  assert_int_equal(v.replies[4].code, 235);
  assert_int_equal(v.replies[5].cmd, CMD_MAIL);
  assert_int_equal(v.replies[6].cmd, CMD_BDAT);
  assert_int_equal(v.state, SESS_MAIL);
  /* The credentials never reach the session text. */
  assert_null(memmem(s->arena, s->arena_used, "dXNlcg", 6));
  free(s);
}

static void test_overlong_and_line_endings(void **state) {
  struct smtp *s = new_smtp(true);
  struct session v;
  char *big = malloc(100001);

  (void)state;
  memset(big, 'A', 100000);
  big[100000] = '\0';
  sv(s, "220 mx\r\n");
  c(s, "EHLO a.example\n"); /* bare LF */
  sv(s, "250-");
  sv(s, big);
  sv(s, "\r\n250 ok\r\n");
  c(s, "NOOP\rX\r\n"); /* bare CR inside */
  sv(s, "250 ok\r\n");
  c(s, big);
  c(s, "\r\nQUIT\r\n");
  sv(s, "221 bye\r\n");
  memset(&v, 0, sizeof(v));
  smtp_view(s, &v);
  assert_int_equal(v.anom.overlong, 2);
  assert_int_equal(v.anom.bare_lf, 1);
  assert_int_equal(v.anom.bare_cr, 1);
  assert_slice(v.helo[0], "a.example");
  /* The over-long reply line keeps its first bytes (2xx text: 200). */
  assert_int_equal(v.ehlo_reply.len, REPLY_TEXT_OK_MAX);
  assert_int_equal(v.ehlo_reply.p[0], 'A');
  assert_true(v.anom.truncated >= 1);
  assert_int_equal(v.state, SESS_CLOSED);
  free(big);
  free(s);
}

/* A 550 of 1100 bytes (long URLs, as Microsoft and Gmail send): kept,
 * truncated to its first bytes, still a reject blaming reverse DNS, and
 * every later reply pairs with its own command. */
static void test_long_reject_kept(void **state) {
  struct smtp *s = new_smtp(true);
  struct session v;
  char line[1200];
  size_t n;

  (void)state;
  n = (size_t)snprintf(line, sizeof(line),
                       "550 5.7.1 Service unavailable, Client host "
                       "[203.0.113.11] blocked: cannot find your reverse "
                       "hostname. See https://example.net/");
  memset(line + n, 'x', 1100 - n);
  memcpy(line + 1098, "\r\n", 3);
  sv(s, "220 mx\r\n");
  c(s, "EHLO a.example\r\n");
  sv(s, "250 mx\r\n");
  c(s, "MAIL FROM:<a@a.example>\r\n");
  sv(s, "250 ok\r\n");
  c(s, "RCPT TO:<b@example.net>\r\n");
  sv(s, line);
  c(s, "RSET\r\n");
  sv(s, "250 2.0.0 reset\r\n");
  c(s, "QUIT\r\n");
  sv(s, "221 bye\r\n");
  memset(&v, 0, sizeof(v));
  smtp_view(s, &v);
  assert_int_equal(v.n_replies, 6);
  assert_int_equal(v.replies[3].code, 550);
  assert_int_equal(v.replies[3].cmd, CMD_RCPT);
  assert_slice(v.replies[3].enhanced, "5.7.1");
  assert_non_null(memmem(v.replies[3].text.p, v.replies[3].text.len,
                         "cannot find your reverse hostname", 33));
  assert_true(v.replies[3].text.len > 900);
  assert_int_equal(v.replies[4].code, 250);
  assert_int_equal(v.replies[4].cmd, CMD_RSET);
  assert_int_equal(v.replies[5].code, 221);
  assert_int_equal(v.replies[5].cmd, CMD_QUIT);
  assert_int_equal(v.anom.overlong, 1);
  assert_true(v.anom.truncated >= 1);
  assert_int_equal(v.state, SESS_CLOSED);
  free(s);
}

/* The 354 lost to the capture: the body that follows is not commands
 * (a body line "EHLO x" became an EHLO name), and the reply to the end of
 * the body still pairs with DATA, the later ones with their commands. */
static void test_lost_354(void **state) {
  struct smtp *s = new_smtp(true);
  struct session v;

  (void)state;
  sv(s, "220 mx\r\n");
  c(s, "EHLO mail01.example.com\r\n");
  sv(s, "250 mx\r\n");
  c(s, "MAIL FROM:<a@example.com>\r\n");
  sv(s, "250 ok\r\n");
  c(s, "RCPT TO:<b@example.net>\r\n");
  sv(s, "250 ok\r\n");
  c(s, "DATA\r\n");
  smtp_gap(s, SMTP_S2C); /* the segment holding "354 go ahead" */
  c(s, "EHLO evil.example\r\nHELO evil2.example\r\nSubject: hi\r\n\r\nbody\r\n.\r\n");
  sv(s, "250 2.0.0 queued\r\n");
  c(s, "QUIT\r\n");
  sv(s, "221 bye\r\n");
  memset(&v, 0, sizeof(v));
  smtp_view(s, &v);
  assert_int_equal(v.n_helo, 1);
  assert_slice(v.helo[0], "mail01.example.com");
  assert_int_equal(v.n_replies, 6);
  assert_int_equal(v.replies[4].code, 250);
  assert_int_equal(v.replies[4].cmd, CMD_DATA);
  assert_int_equal(v.replies[5].cmd, CMD_QUIT);
  assert_int_equal(v.state, SESS_CLOSED);
  free(s);
}

static void test_gap_resyncs(void **state) {
  struct smtp *s = new_smtp(true);
  struct session v;

  (void)state;
  sv(s, "220 mx\r\n");
  c(s, "EHLO par");
  smtp_gap(s, SMTP_C2S);
  c(s, "tial.example\r\nHELO next.example\r\n");
  sv(s, "250 mx\r\n");
  memset(&v, 0, sizeof(v));
  smtp_view(s, &v);
  assert_int_equal(v.anom.gaps, 1);
  assert_int_equal(v.n_helo, 1);
  assert_slice(v.helo[0], "next.example");
  assert_int_equal(v.helo_cmd[0], CMD_HELO);
  free(s);
}

static void test_reply_caps(void **state) {
  struct smtp *s = new_smtp(true);
  struct session v;
  int i;
  char big[1400];

  (void)state;
  sv(s, "220 mx\r\n");
  for (i = 0; i < 40; i++) {
    c(s, "NOOP\r\n");
    sv(s, "250 2.0.0 fine\r\n");
  }
  /* A multi-line reject whose joined text exceeds REPLY_TEXT_ERR_MAX. */
  big[0] = '\0';
  for (i = 0; i < 4; i++) {
    size_t o = strlen(big);
    memcpy(big + o, "550-5.7.1 ", 10);
    memset(big + o + 10, 'r', 300);
    memcpy(big + o + 310, "\r\n", 3);
  }
  memcpy(big + strlen(big), "550 5.7.1 end\r\n", 16);
  for (i = 0; i < 20; i++) {
    c(s, "RCPT TO:<x@y>\r\n");
    sv(s, big);
  }
  memset(&v, 0, sizeof(v));
  smtp_view(s, &v);
  assert_int_equal(v.n_replies, SMTP_REPLIES_HARD);
  assert_int_equal(v.replies[SMTP_REPLIES_MAX].code, 550);
  assert_true(v.anom.replies_dropped > 0);
  assert_int_equal(v.last_reply->code, 550);
  assert_int_equal(v.last_reply->text.len, REPLY_TEXT_ERR_MAX);
  assert_true(v.anom.truncated > 0);
  for (i = 0; i < (int)v.n_replies; i++)
    assert_true(v.replies[i].text.p + v.replies[i].text.len <=
                s->arena + sizeof(s->arena));
  free(s);
}

static void test_midstream_and_junk(void **state) {
  struct smtp *s = new_smtp(false);
  struct session v;

  (void)state;
  sv(s, "250-STARTTLS\r\n250 SIZE\r\n"); /* tail of a reply we missed */
  c(s, "EHLO late.example\r\n");
  sv(s, "250 mx\r\nnot a reply\r\n999 nope\r\n");
  memset(&v, 0, sizeof(v));
  smtp_view(s, &v);
  assert_null(v.banner.p);
  assert_int_equal(v.n_replies, 2);
  assert_int_equal(v.replies[0].cmd, CMD_NONE);
  assert_int_equal(v.replies[1].cmd, CMD_EHLO);
  assert_int_equal(v.anom.bad_reply, 2);
  assert_int_equal(v.state, SESS_HELO);
  free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dialogue_whole),
      cmocka_unit_test(test_dialogue_split_everywhere),
      cmocka_unit_test(test_pipelining),
      cmocka_unit_test(test_echo_formats),
      cmocka_unit_test(test_client_first),
      cmocka_unit_test(test_starttls_stops),
      cmocka_unit_test(test_auth_and_bdat),
      cmocka_unit_test(test_overlong_and_line_endings),
      cmocka_unit_test(test_long_reject_kept),
      cmocka_unit_test(test_lost_354),
      cmocka_unit_test(test_gap_resyncs),
      cmocka_unit_test(test_reply_caps),
      cmocka_unit_test(test_midstream_and_junk),
  };
  return cmocka_run_group_tests_name("smtp", tests, NULL, NULL);
}
