/* egressaudit - tests/test_maillog.c: Postfix delivery lines in the forms
 * syslog, journald and Postfix's own maillog_file write them.
 * SPDX-License-Identifier: MIT
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "logs/maillog.h"

/* 2026-12-02T15:00:00Z */
#define NOW 1796223600000000LL

static enum ml_kind line(const char *s, int32_t tz, struct ml_event *ev) {
  struct ml_clock k = {NOW, tz};
  return maillog_line(s, strlen(s), &k, ev);
}

static void test_delivery_bounced(void **state) {
  struct ml_event ev;
  (void)state;

  assert_int_equal(line("Dec  2 14:02:11 mail postfix/smtp[4242]: 4F1A23C0123: "
                        "to=<bob@example.net>, relay=mx.example.net[198.51.100.25]:25, "
                        "delay=0.52, delays=0.02/0.01/0.3/0.19, dsn=5.7.1, status=bounced "
                        "(host mx.example.net[198.51.100.25] said: 550 5.7.1 Client host "
                        "rejected: cannot find your reverse hostname, [203.0.113.11] "
                        "(in reply to RCPT TO command))", 0, &ev),
                   ML_DELIVERY);
  assert_int_equal(ev.at_us, NOW - (57 * 60 + 49) * 1000000LL);
  assert_string_equal(ev.host, "mail");
  assert_string_equal(ev.queue_id, "4F1A23C0123");
  assert_string_equal(ev.rcpt_domain, "example.net");
  assert_string_equal(ev.relay_name, "mx.example.net");
  assert_string_equal(ev.relay_ip, "198.51.100.25");
  assert_int_equal(ev.relay_port, 25);
  assert_int_equal(ev.conn_use, 0);
  assert_true(ev.delays[2] > 0.29 && ev.delays[2] < 0.31);
  assert_string_equal(ev.dsn, "5.7.1");
  assert_int_equal(ev.status, MLS_BOUNCED);
  assert_int_equal(ev.code, 550);
  assert_string_equal(ev.reply, "Client host rejected: cannot find your reverse "
                                "hostname, [203.0.113.11]");
  assert_string_equal(ev.stage, "RCPT TO");
}

static void test_forms(void **state) {
  struct ml_event ev;
  (void)state;

  /* sent, a reused connection, ISO time with a zone (rsyslog, maillog_file) */
  assert_int_equal(line("2026-12-02T15:02:11.250000+01:00 mail postfix/smtp[9]: A1B2C3: "
                        "to=<x@example.org>, orig_to=<y@example.org>, "
                        "relay=mx1.example.org[2001:db8::25]:25, conn_use=3, delay=1.2, "
                        "delays=0.1/0/0.6/0.5, dsn=2.0.0, status=sent (250 2.0.0 Ok: "
                        "queued as 12345ABCDE)", 0, &ev),
                   ML_DELIVERY);
  assert_int_equal(ev.at_us, NOW - (57 * 60 + 49) * 1000000LL + 250000);
  assert_string_equal(ev.relay_ip, "2001:db8::25");
  assert_int_equal(ev.conn_use, 3);
  assert_int_equal(ev.status, MLS_SENT);
  assert_int_equal(ev.code, 250);
  assert_string_equal(ev.reply, "Ok: queued as 12345ABCDE");
  assert_string_equal(ev.stage, "");
  /* journalctl -o short-iso, a second instance (postfix-out) */
  assert_int_equal(line("2026-12-02T14:02:11+0000 gw postfix-out/smtp[77]: B9: "
                        "to=<a@example.com>, relay=none, delay=30, delays=0/0/30/0, "
                        "dsn=4.4.1, status=deferred (connect to mx.example.com"
                        "[192.0.2.25]:25: Connection timed out)", 0, &ev),
                   ML_DELIVERY);
  assert_int_equal(ev.status, MLS_DEFERRED);
  assert_string_equal(ev.relay_ip, "192.0.2.25"); /* relay=none: from the text */
  assert_string_equal(ev.relay_name, "mx.example.com");
  assert_int_equal(ev.code, 0);
  assert_string_equal(ev.reply, "connect to mx.example.com[192.0.2.25]:25: Connection timed out");
  /* RFC 5424 */
  assert_int_equal(line("<22>1 2026-12-02T14:02:11.003Z mail postfix/lmtp 123 - - C7: "
                        "to=<u@example.com>, relay=mail.example.com[192.0.2.2]:24, "
                        "delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (250 OK)",
                        0, &ev),
                   ML_DELIVERY);
  assert_int_equal(ev.relay_port, 24);
  /* connect failure, TLS */
  assert_int_equal(line("Dec  2 14:02:11 mail postfix/smtp[1]: connect to "
                        "mx.example.com[192.0.2.25]:25: Connection refused", 0, &ev),
                   ML_CONNECT);
  assert_string_equal(ev.relay_ip, "192.0.2.25");
  assert_string_equal(ev.reply, "Connection refused");
  assert_int_equal(line("Dec  2 14:02:11 mail postfix/smtp[1]: Untrusted TLS connection "
                        "established to mx.example.net[198.51.100.25]:25: TLSv1.3 with "
                        "cipher TLS_AES_256_GCM_SHA384 (256/256 bits)", 0, &ev),
                   ML_TLS);
  assert_string_equal(ev.tls, "Untrusted");
  assert_string_equal(ev.relay_name, "mx.example.net");
  /* a message's id and sender */
  assert_int_equal(line("Dec  2 14:02:10 mail postfix/cleanup[5]: 4F1A: "
                        "message-id=<20261202.abc@example.com>", 0, &ev), ML_MESSAGE);
  assert_string_equal(ev.queue_id, "4F1A");
  assert_string_equal(ev.message_id, "20261202.abc@example.com");
  assert_int_equal(line("Dec  2 14:02:10 mail postfix/qmgr[3]: 4F1A: from=<alice@example.com>, "
                        "size=1234, nrcpt=1 (queue active)", 0, &ev), ML_MESSAGE);
  assert_string_equal(ev.sender_domain, "example.com");
  assert_int_equal(line("Dec  2 14:02:10 mail postfix/qmgr[3]: 4F1A: from=<>, size=1, nrcpt=1 "
                        "(queue active)", 0, &ev), ML_MESSAGE);
  assert_string_equal(ev.sender_domain, "");
  /* lines of no interest */
  assert_int_equal(line("Dec  2 14:02:11 mail postfix/qmgr[3]: 4F1A: removed", 0, &ev), ML_OTHER);
  assert_int_equal(line("Dec  2 14:02:11 mail postfix/smtpd[3]: connect from x[192.0.2.9]",
                        0, &ev), ML_OTHER);
  assert_int_equal(line("Dec  2 14:02:11 mail sshd[3]: Accepted publickey", 0, &ev), ML_OTHER);
  assert_int_equal(line("", 0, &ev), ML_OTHER);
  assert_int_equal(line("Dec 32 14:02:11 mail postfix/smtp[1]: A: to=<a@b>, status=sent", 0, &ev),
                   ML_OTHER);
}

/* RFC 3164 carries no year: the reference's, unless that is in the
 * future (a December line read in January); and the log's zone. */
static void test_year_and_zone(void **state) {
  struct ml_event ev;
  struct ml_clock jan = {1798761600000000LL + 3600000000LL, 0}; /* 2027-01-01T01:00Z */
  const char *l = "Dec 31 23:59:00 mail postfix/smtp[1]: A: to=<a@b.example>, "
                  "relay=m[192.0.2.1]:25, status=sent (250 ok)";
  (void)state;

  assert_int_equal(maillog_line(l, strlen(l), &jan, &ev), ML_DELIVERY);
  assert_int_equal(ev.at_us, 1798761600000000LL - 60000000LL); /* 2026-12-31T23:59Z */
  /* the same line in a log kept at UTC+1 */
  jan.tz_offset_s = 3600;
  assert_int_equal(maillog_line(l, strlen(l), &jan, &ev), ML_DELIVERY);
  assert_int_equal(ev.at_us, 1798761600000000LL - 60000000LL - 3600000000LL);
}

/* Every prefix of a real line: never read past it, never a delivery from
 * half a line. */
static void test_every_cut(void **state) {
  const char *l = "Dec  2 14:02:11 mail postfix/smtp[4242]: 4F1A23C0123: "
                  "to=<bob@example.net>, relay=mx.example.net[198.51.100.25]:25, "
                  "delay=0.52, delays=0.02/0.01/0.3/0.19, dsn=5.7.1, status=bounced "
                  "(host mx said: 550 no (in reply to RCPT TO command))";
  struct ml_clock k = {NOW, 0};
  struct ml_event ev;
  size_t n, len = strlen(l);
  (void)state;

  for (n = 0; n < len; n++) {
    char buf[512];
    enum ml_kind r;
    memcpy(buf, l, n);
    r = maillog_line(buf, n, &k, &ev);
    /* up to the status word a cut line is no delivery */
    if (n < (size_t)(strstr(l, "status=") - l) + 7) assert_int_equal(r, ML_OTHER);
  }
}

/* Exim's mainlog, with +outgoing_interface +outgoing_port: I= says our
 * end of the connection exactly. */
static void test_exim(void **state) {
  struct ml_event ev;
  (void)state;

  assert_int_equal(line("2026-12-02 14:02:11 1rABCD-0001Xy-AB ** bob@example.net "
                        "R=dnslookup T=remote_smtp H=mx.example.net [198.51.100.25]:25 "
                        "I=[203.0.113.10]:38211 X=TLS1.3:TLS_AES_256_GCM_SHA384:256 CV=no: "
                        "SMTP error from remote mail server after RCPT TO:<bob@example.net>: "
                        "550 5.7.1 Client host rejected: cannot find your reverse hostname, "
                        "[203.0.113.10]", 0, &ev),
                   ML_DELIVERY);
  assert_int_equal(ev.at_us, NOW - (57 * 60 + 49) * 1000000LL);
  assert_string_equal(ev.queue_id, "1rABCD-0001Xy-AB");
  assert_int_equal(ev.status, MLS_BOUNCED);
  assert_string_equal(ev.rcpt_domain, "example.net");
  assert_string_equal(ev.relay_name, "mx.example.net");
  assert_string_equal(ev.relay_ip, "198.51.100.25");
  assert_int_equal(ev.relay_port, 25);
  assert_string_equal(ev.src_ip, "203.0.113.10");
  assert_int_equal(ev.src_port, 38211);
  assert_string_equal(ev.stage, "RCPT TO");
  assert_int_equal(ev.code, 550);
  assert_string_equal(ev.reply, "Client host rejected: cannot find your reverse hostname, "
                                "[203.0.113.10]");
  /* delivered, with the zone Exim appends (log_timezone) */
  assert_int_equal(line("2026-12-02 15:02:11 +0100 1rABCE-0001Xy-AB => x@example.org "
                        "R=dnslookup T=remote_smtp H=[2001:db8::25]:25 I=[2001:db8:10::25]:40000 "
                        "C=\"250 2.0.0 Ok: queued as 12345\"", 0, &ev),
                   ML_DELIVERY);
  assert_int_equal(ev.at_us, NOW - (57 * 60 + 49) * 1000000LL);
  assert_int_equal(ev.status, MLS_SENT);
  assert_string_equal(ev.relay_ip, "2001:db8::25");
  assert_string_equal(ev.src_ip, "2001:db8:10::25");
  assert_int_equal(ev.code, 250);
  assert_string_equal(ev.reply, "Ok: queued as 12345");
  /* deferred */
  assert_int_equal(line("2026-12-02 14:02:11 1rABCF-0001Xy-AB == y@example.com R=dnslookup "
                        "T=remote_smtp defer (-44) H=mx.example.com [192.0.2.25]:25: SMTP error "
                        "from remote mail server after RCPT TO:<y@example.com>: 450 4.7.1 "
                        "Client host rejected: cannot find your hostname", 0, &ev),
                   ML_DELIVERY);
  assert_int_equal(ev.status, MLS_DEFERRED);
  assert_int_equal(ev.code, 450);
  /* Exim lines of no interest */
  assert_int_equal(line("2026-12-02 14:02:11 1rABCF-0001Xy-AB <= a@example.com H=x [192.0.2.9] "
                        "P=esmtp S=100 id=x1@example.com", 0, &ev), ML_MESSAGE);
  assert_string_equal(ev.sender_domain, "example.com");
  assert_string_equal(ev.message_id, "x1@example.com");
  assert_int_equal(line("2026-12-02 14:02:11 1rABCF-0001Xy-AB Completed", 0, &ev), ML_OTHER);
}

/* A connection that failed, in the forms the two MTAs log it. */
static void test_connect_failures(void **state) {
  struct ml_event ev;
  (void)state;

  /* Postfix: relay=none, the receiver only in the status text */
  assert_int_equal(line("Dec 02 16:42:52 mail01 postfix/smtp[2]: B2E88A7A2E8: "
                        "to=<bob@example.net>, relay=none, delay=2, "
                        "delays=0.01/0/2/0, dsn=4.4.1, status=deferred (connect "
                        "to 198.51.100.99[198.51.100.99]:25: Connection timed out)",
                        0, &ev),
                   ML_DELIVERY);
  assert_int_equal(ev.status, MLS_DEFERRED);
  assert_string_equal(ev.relay_ip, "198.51.100.99");
  assert_int_equal(ev.relay_port, 25);
  assert_int_equal(ev.code, 0);
  assert_string_equal(ev.reply, "connect to 198.51.100.99[198.51.100.99]:25: "
                                "Connection timed out");
  /* Exim: defer (110) is a connect timeout, (111) refused */
  assert_int_equal(line("2026-12-02 14:02:11 1rABCD-0001Xy-AB == bob@example.net "
                        "R=dnslookup T=remote_smtp defer (110): Connection timed "
                        "out H=mx.example.net [198.51.100.99]", 0, &ev),
                   ML_CONNECT);
  assert_string_equal(ev.relay_ip, "198.51.100.99");
  assert_string_equal(ev.relay_name, "mx.example.net");
  assert_string_equal(ev.reply, "Connection timed out");
  assert_int_equal(line("2026-12-02 14:02:11 1rABCD-0001Xy-AB == bob@example.net "
                        "R=dnslookup T=remote_smtp defer (111): Connection "
                        "refused H=mx.example.net [198.51.100.99]", 0, &ev),
                   ML_CONNECT);
  /* not a connect: a negative errno, or no receiver named */
  assert_int_equal(line("2026-12-02 14:02:11 1rABCD-0001Xy-AB == bob@example.net "
                        "R=dnslookup T=remote_smtp defer (-53): retry time not "
                        "reached for any host", 0, &ev),
                   ML_DELIVERY);
  assert_string_equal(ev.reply, "retry time not reached for any host");
  assert_int_equal(line("2026-12-02 14:02:11 1rABCD-0001Xy-AB == bob@example.net "
                        "R=dnslookup T=remote_smtp defer (110): Connection timed out",
                        0, &ev),
                   ML_DELIVERY);
  /* cut short anywhere: never more than the line */
  assert_int_equal(line("2026-12-02 14:02:11 1rABCD-0001Xy-AB == b@x R=d T=r defer (110",
                        0, &ev),
                   ML_DELIVERY);
}

/* journalctl -o json: escapes, a MESSAGE as bytes, fields of other kinds,
 * Exim through syslog; and what is not a journal entry of ours. */
static void test_journal_json(void **state) {
  struct ml_event ev;
  (void)state;

  assert_int_equal(line("{\"__CURSOR\":\"s=1;i=2\",\"_HOSTNAME\":\"mail01\",\"PRIORITY\":\"6\","
                        "\"SYSLOG_IDENTIFIER\":\"postfix/smtp\",\"_PID\":\"4242\","
                        "\"__REALTIME_TIMESTAMP\":\"1796223600123456\",\"X\":[1,[2,{\"a\":null}]],"
                        "\"N\":null,\"MESSAGE\":\"4F1A: to=<bob@example.net>, relay=mx.example.net"
                        "[198.51.100.25]:25, delay=1, delays=0/0/0.5/0.5, dsn=5.7.1, status=bounced "
                        "(host mx.example.net[198.51.100.25] said: 550 5.7.1 \\\"no\\\" \\u00e9\\ud83d\\ude00"
                        "\\u0041 [203.0.113.11] (in reply to RCPT TO command))\"}", 0, &ev),
                   ML_DELIVERY);
  assert_int_equal(ev.at_us, 1796223600123456LL);
  assert_string_equal(ev.host, "mail01");
  assert_string_equal(ev.queue_id, "4F1A");
  assert_int_equal(ev.code, 550);
  assert_string_equal(ev.reply, "\"no\" \xc3\xa9\xf0\x9f\x98\x80" "A [203.0.113.11]");
  assert_string_equal(ev.stage, "RCPT TO");
  /* a MESSAGE journald keeps as bytes (an ESC in it) */
  assert_int_equal(line("{\"MESSAGE\":[65,49,58,32,109,101,115,115,97,103,101,45,105,100,61,27],"
                        "\"SYSLOG_IDENTIFIER\":\"postfix/cleanup\","
                        "\"__REALTIME_TIMESTAMP\":\"1\"}", 0, &ev),
                   ML_MESSAGE);
  assert_string_equal(ev.queue_id, "A1");
  assert_string_equal(ev.message_id, "\x1b");
  /* Exim through syslog, its own time first */
  assert_int_equal(line("{\"SYSLOG_IDENTIFIER\":\"exim\",\"__REALTIME_TIMESTAMP\":\"5\","
                        "\"MESSAGE\":\"2026-12-02 14:02:11 1rABCD-0001Xy-AB => bob@example.net "
                        "R=r T=t H=mx.example.net [198.51.100.25]:25 I=[203.0.113.12]:41000 "
                        "C=\\\"250 OK\\\"\"}", 0, &ev),
                   ML_DELIVERY);
  assert_string_equal(ev.src_ip, "203.0.113.12");
  assert_int_equal(ev.src_port, 41000);
  assert_int_equal(ev.at_us, NOW - 3600 * 1000000LL + (2 * 60 + 11) * 1000000LL);
  /* not ours, or not whole */
  assert_int_equal(line("{\"SYSLOG_IDENTIFIER\":\"sshd\",\"__REALTIME_TIMESTAMP\":\"1\","
                        "\"MESSAGE\":\"A1: message-id=<x>\"}", 0, &ev), ML_OTHER);
  assert_int_equal(line("{\"SYSLOG_IDENTIFIER\":\"postfix/cleanup\",\"MESSAGE\":\"A1: "
                        "message-id=<x>\"}", 0, &ev), ML_OTHER); /* no time */
  assert_int_equal(line("{\"SYSLOG_IDENTIFIER\":\"postfix/cleanup\",\"__REALTIME_TIMESTAMP\":"
                        "\"1\",\"MESSAGE\":\"A1: message-id=<x", 0, &ev), ML_OTHER);
  assert_int_equal(line("{\"MESSAGE\":\"\\u12", 0, &ev), ML_OTHER);
  assert_int_equal(line("{\"X\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}", 0, &ev), ML_OTHER);
  assert_int_equal(line("{", 0, &ev), ML_OTHER);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_delivery_bounced),
      cmocka_unit_test(test_forms),
      cmocka_unit_test(test_year_and_zone),
      cmocka_unit_test(test_every_cut),
      cmocka_unit_test(test_exim),
      cmocka_unit_test(test_connect_failures),
      cmocka_unit_test(test_journal_json),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
