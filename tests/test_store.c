/* egressaudit - tests/test_store.c: schema, batching, idempotency, queries.
 * SPDX-License-Identifier: MIT
 */
#define _DEFAULT_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "store/schema.h"
#include "analyzer/twins.h"
#include "store/store.h"

static char dir[64], path[128];

static int setup(void **state) {
  (void)state;
  snprintf(dir, sizeof(dir), "/tmp/ea-store-XXXXXX");
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof(path), "%s/sub/dir/t.db", dir);
  return 0;
}

static int teardown(void **state) {
  char cmd[128];
  (void)state;
  snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
  return system(cmd);
}

static struct slice sl(const char *s) {
  struct slice x = {s, strlen(s)};
  return x;
}

static void make_session(struct session *s, int i) {
  static struct sess_reply r[2];

  memset(s, 0, sizeof(*s));
  s->first_us = 1795687200LL * 1000000 + i * 1000000LL;
  s->last_us = s->first_us + 500;
  s->point = 1;
  addr_parse(&s->src, "203.0.113.10", 12);
  addr_parse(&s->dst, "198.51.100.25", 13);
  s->sport = (uint16_t)(40000 + i);
  s->dport = 25;
  s->vlan = -1;
  s->state = SESS_CLOSED;
  s->end = END_FIN;
  s->banner = sl("mx.example.net \x1b]0;owned\x07 \xff");
  s->banner_host = sl("mx.example.net");
  s->n_helo = 1;
  s->helo[0] = sl("Mail01.Example.com");
  s->helo_cmd[0] = CMD_EHLO;
  s->ehlo_reply = sl("mx Hello [203.0.113.10]");
  addr_parse(&s->echoed, "203.0.113.10", 12);
  s->echoed_from = CMD_EHLO;
  r[0].code = 220;
  r[0].cmd = CMD_CONNECT;
  r[0].text = s->banner;
  r[1].code = 550;
  r[1].cmd = CMD_RCPT;
  r[1].enhanced = sl("5.7.1");
  r[1].text = sl("rejected \"quoted\", [203.0.113.10]");
  s->replies = r;
  s->n_replies = 2;
  s->last_reply = &r[1];
}

static int count_row(const struct sess_row *r, void *ctx) {
  (void)r;
  (*(int *)ctx)++;
  return 0;
}

static int grab_json(const struct sess_row *r, void *ctx) {
  snprintf(ctx, 4096, "%s", r->json);
  return 1;
}

static void test_roundtrip_idempotent(void **state) {
  struct store *st;
  struct session s;
  struct sess_filter f;
  char err[256], json[4096];
  int64_t pt, n;
  int i, rows = 0;

  (void)state;
  assert_int_equal(store_open(&st, path, STORE_RW, err, sizeof(err)), 0);
  assert_int_equal(store_point(st, "cap.pcap", NULL, NULL, "/x/cap.pcap",
                               "EN10MB", &pt), 0);
  assert_int_equal(pt, 1);
  for (i = 0; i < 3000; i++) { /* crosses a batch boundary */
    make_session(&s, i);
    assert_int_equal(store_session_put(st, &s), 1);
  }
  make_session(&s, 7);
  assert_int_equal(store_session_put(st, &s), 0); /* already there */
  assert_int_equal(store_close(st), 0);

  assert_int_equal(store_open(&st, path, STORE_RW, err, sizeof(err)), 0);
  assert_int_equal(store_point(st, "cap.pcap", NULL, NULL, NULL, NULL, &pt), 0);
  assert_int_equal(pt, 1); /* same point, found again */
  make_session(&s, 2999);
  assert_int_equal(store_session_put(st, &s), 0);
  assert_int_equal(store_close(st), 0);

  assert_int_equal(store_open(&st, path, STORE_RO, err, sizeof(err)), 0);
  memset(&f, 0, sizeof(f));
  f.since = INT64_MIN;
  f.until = INT64_MAX;
  n = store_sessions(st, &f, false, count_row, &rows);
  assert_int_equal(n, 3000);
  f.helo = "mail01.example.COM";
  f.limit = 1;
  rows = 0;
  assert_int_equal(store_sessions(st, &f, true, grab_json, json), 1);
  /* Wire bytes are escaped; JSON quoting is SQLite's. */
  assert_non_null(strstr(json, "\"banner\":\"mx.example.net \\\\x1b]0;owned\\\\x07 \\\\xff\""));
  assert_non_null(strstr(json, "\"last_reply\":\"550 5.7.1 rejected \\\"quoted\\\", [203.0.113.10]\""));
  assert_non_null(strstr(json, "\"starttls\":false"));
  assert_non_null(strstr(json, "\"first_seen\":\"2026-11-26T10:00:00.000000Z\""));
  assert_non_null(strstr(json, "\"replies\":[{\"code\":220,\"enhanced\":null"));
  assert_non_null(strstr(json, "\"helos\":[\"Mail01.Example.com\"]"));
  f.helo = NULL;
  f.limit = 0;
  f.since = 1795687200LL * 1000000 + 10 * 1000000LL;
  f.until = 1795687200LL * 1000000 + 19 * 1000000LL;
  rows = 0;
  assert_int_equal(store_sessions(st, &f, false, count_row, &rows), 10);
  {
    /* Every filter combination, with and without JSON: 512 statement
     * texts, past the cache (STMT_CACHE_MAX): the ones that do not fit
     * are made for one use and finalized (ASan, valgrind: no leak); the
     * same answers either way. */
    unsigned combo;
    for (combo = 0; combo < 512; combo++) {
      int64_t want;
      memset(&f, 0, sizeof(f));
      f.since = INT64_MIN;
      f.until = INT64_MAX;
      if (combo & 1) f.ip = "192.0.2.1";
      if (combo & 2) f.helo = "mail01.example.com";
      if (combo & 4) f.dst = "198.51.100.25";
      if (combo & 8) f.state = "closed";
      if (combo & 16) f.direction = "egress";
      if (combo & 32) f.outcome = "rejected";
      if (combo & 64) f.point = "cap.pcap";
      if (combo & 128) f.limit = 5;
      rows = 0;
      want = store_sessions(st, &f, false, count_row, &rows);
      assert_true(want >= 0);
      rows = 0;
      assert_int_equal(store_sessions(st, &f, (combo & 256) != 0, count_row, &rows), want);
    }
  }
  store_close(st);
}

static void test_open_errors(void **state) {
  struct store *st;
  char err[512], p2[160];
  sqlite3 *db;

  (void)state;
  snprintf(p2, sizeof(p2), "%s/missing.db", dir);
  assert_int_equal(store_open(&st, p2, STORE_RO, err, sizeof(err)), -ENOENT);
  assert_non_null(strstr(err, "missing.db"));
  assert_null(st);
  /* Not a database. */
  snprintf(p2, sizeof(p2), "%s/junk.db", dir);
  {
    FILE *f = fopen(p2, "w");
    fputs("this is not sqlite, just text that is long enough to matter......"
          "................................................................",
          f);
    fclose(f);
  }
  assert_true(store_open(&st, p2, STORE_RW, err, sizeof(err)) < 0);
  assert_non_null(strstr(err, "junk.db"));
  /* A schema newer than this build is refused, and left alone. */
  snprintf(p2, sizeof(p2), "%s/new.db", dir);
  assert_int_equal(sqlite3_open(p2, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=99", 0, 0, 0), SQLITE_OK);
  sqlite3_close(db);
  assert_true(store_open(&st, p2, STORE_RW, err, sizeof(err)) < 0);
  assert_non_null(strstr(err, "newer"));
  assert_int_equal(sqlite3_open(p2, &db), SQLITE_OK);
  {
    sqlite3_stmt *q;
    sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL);
    sqlite3_step(q);
    assert_int_equal(sqlite3_column_int(q, 0), 99);
    sqlite3_finalize(q);
  }
  sqlite3_close(db);
  /* A directory we cannot create. */
  assert_true(store_open(&st, "/proc/nope/x.db", STORE_RW, err, sizeof(err)) < 0);
  assert_non_null(strstr(err, "/proc/nope/x.db"));
}

static void test_schema_pragmas(void **state) {
  sqlite3 *db;
  sqlite3_stmt *q;
  struct store *st;
  char err[256];

  (void)state;
  assert_int_equal(store_open(&st, path, STORE_RW, err, sizeof(err)), 0);
  store_close(st);
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL);
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  assert_string_equal((const char *)sqlite3_column_text(q, 0), "wal");
  sqlite3_finalize(q);
  sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL);
  sqlite3_step(q);
  assert_int_equal(sqlite3_column_int(q, 0), STORE_SCHEMA_VERSION);
  sqlite3_finalize(q);
  /* The indexes the queries rely on exist. */
  sqlite3_prepare_v2(db,
                     "SELECT count(*) FROM sqlite_master WHERE type='index' AND"
                     " name IN ('sessions_time','sessions_src','sessions_dst',"
                     "'sessions_helo','helos_name')",
                     -1, &q, NULL);
  sqlite3_step(q);
  assert_int_equal(sqlite3_column_int(q, 0), 5);
  sqlite3_finalize(q);
  sqlite3_close(db);
}

/* A version 1 database (before `direction`) is migrated on open, rows kept. */
static void test_migrate_v1(void **state) {
  struct store *st;
  struct session s;
  struct sess_filter f;
  char err[256], p1[160];
  sqlite3 *db;
  int64_t pt;
  int rows = 0;

  (void)state;
  snprintf(p1, sizeof(p1), "%s/v1.db", dir);
  assert_int_equal(store_open(&st, p1, STORE_RW, err, sizeof(err)), 0);
  assert_int_equal(store_point(st, "p", NULL, NULL, NULL, NULL, &pt), 0);
  make_session(&s, 1);
  assert_int_equal(store_session_put(st, &s), 1);
  store_close(st);
  /* Turn it back into version 1. */
  assert_int_equal(sqlite3_open(p1, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, "DROP TRIGGER fold_delivery_new; DROP TRIGGER fold_delivery_tied; DROP TRIGGER fold_delivery_gone; DROP TABLE fold_state; DROP TABLE fold_rejects; DROP TABLE fold_log25; DROP TABLE fold_log25_dst; DROP TABLE fold_excluded; DROP TABLE fold_port25; DROP TABLE fold_blocked; DROP TABLE fold_groups; DROP TABLE fold_servers;"
                                    "DROP TABLE fold_nat; DROP TRIGGER fold_session_gone; DROP INDEX replies_reject;"
                                    "DROP INDEX sessions_blocked;"
                                    "DROP TABLE event_cursors; DROP INDEX capture_stats_key;"
                                    "DROP TABLE log_cursors; DROP TABLE deliveries; DROP TABLE messages;"
                                    "DROP TABLE identity_log;"
                                    "DROP TABLE nat_map; DROP TABLE identities;"
                                    "DROP TABLE dns; DROP TABLE findings;"
                                    "DROP TABLE analyses;"
                                    "DROP INDEX sessions_direction;"
                                    "DROP INDEX sessions_srcport;"
                                    "ALTER TABLE sessions DROP COLUMN direction;"
                                    "ALTER TABLE sessions DROP COLUMN n_fragments;"
                                    "PRAGMA user_version=1", 0, 0, 0),
                   SQLITE_OK);
  sqlite3_close(db);
  assert_int_equal(store_open(&st, p1, STORE_RO, err, sizeof(err)), -EINVAL);
  assert_non_null(strstr(err, "version 1"));
  assert_int_equal(store_open(&st, p1, STORE_RW, err, sizeof(err)), 0);
  store_close(st);
  assert_int_equal(store_open(&st, p1, STORE_RO, err, sizeof(err)), 0);
  memset(&f, 0, sizeof(f));
  f.since = INT64_MIN;
  f.until = INT64_MAX;
  f.direction = "unknown";
  assert_int_equal(store_sessions(st, &f, false, count_row, &rows), 1);
  store_close(st);
}

/* A gateway capturing inside (point 1) and outside (point 2). */
static void put_at(struct store *st, int64_t point, const char *src,
                   uint16_t sport, const char *dst, int64_t t_ms) {
  struct session s;

  make_session(&s, 0);
  s.point = point;
  s.first_us = 1795687200LL * 1000000 + t_ms * 1000;
  s.last_us = s.first_us + 300000;
  addr_parse(&s.src, src, strlen(src));
  addr_parse(&s.dst, dst, strlen(dst));
  s.sport = sport;
  s.echoed.family = 0; /* no echo: the pairing must do it */
  assert_int_equal(store_session_put(st, &s), 1);
}

struct tally {
  char src[8][48];
  int64_t n[8];
  int k;
};

static int on_group_tally(const struct egress_group *g, void *ctx) {
  struct tally *t = ctx;
  int i;

  for (i = 0; i < t->k && strcmp(t->src[i], g->src_ip) != 0; i++)
    ;
  if (i == t->k) snprintf(t->src[t->k++], 48, "%s", g->src_ip);
  t->n[i] += g->sessions;
  return 0;
}

static int64_t tally_of(const struct tally *t, const char *src) {
  int i;
  for (i = 0; i < t->k; i++)
    if (strcmp(t->src[i], src) == 0) return t->n[i];
  return 0;
}

static int on_pair(const struct nat_row *r, void *ctx) {
  char *out = ctx;
  size_t n = strlen(out);
  snprintf(out + n, 256 - n, "%s>%s ", r->inside_ip, r->outside_ip);
  return 0;
}

static int on_twin(const struct twin_row *r, void *ctx) {
  return twins_add(ctx, r) < 0;
}

static void test_gateway_twins(void **state) {
  struct store *st;
  struct twins *tw;
  const int64_t *ids;
  size_t n_ids;
  struct tally t;
  char err[256], pairs[256] = "", gw[160];
  int64_t p_in, p_out;

  (void)state;
  snprintf(gw, sizeof(gw), "%s/gw.db", dir);
  assert_int_equal(store_open(&st, gw, STORE_RW, err, sizeof(err)), 0);
  assert_int_equal(store_point(st, "gw:in", NULL, "in", NULL, NULL, &p_in), 0);
  assert_int_equal(store_point(st, "gw:out", NULL, "out", NULL, NULL, &p_out), 0);
  /* Routed: one connection, seen on both interfaces. */
  put_at(st, p_in, "203.0.113.11", 40001, "198.51.100.25", 0);
  put_at(st, p_out, "203.0.113.11", 40001, "198.51.100.25", 1);
  /* Translated: the inside half and its SNAT twin outside, in the same
   * second as the routed one to the same receiver with the same EHLO:
   * that one must not be taken for the inside host's public address. */
  put_at(st, p_in, "10.0.0.10", 40002, "198.51.100.25", 200);
  put_at(st, p_out, "203.0.113.10", 51234, "198.51.100.25", 201);
  /* Inside only (the outside capture missed it): still counted. */
  put_at(st, p_in, "10.0.0.10", 40003, "198.51.100.99", 5000);
  assert_int_equal(store_flush(st), 0);

  /* The store answers (the rows with their probes), the twin sweep
   * judges, the store leaves out what it named. */
  assert_true(store_multi_point(st));
  assert_int_equal(twins_new(&tw), 0);
  {
    int64_t rows = store_twin_rows(st, INT64_MIN, INT64_MAX, on_twin, tw);
    if (rows != 5) fprintf(stderr, "twin rows %lld: %s\n", (long long)rows, store_errmsg(st));
    assert_true(rows == 5);
  }
  assert_int_equal(twins_finish(tw), 0);
  ids = twins_excluded(tw, &n_ids);
  assert_int_equal(n_ids, 2); /* the routed one stored second, the inside half */
  assert_int_equal(store_exclude_sessions(st, ids, n_ids), 0);
  memset(&t, 0, sizeof(t));
  assert_true(store_egress_groups(st, INT64_MIN, INT64_MAX, on_group_tally, &t) >= 0);
  assert_int_equal(tally_of(&t, "203.0.113.11"), 1);
  assert_int_equal(tally_of(&t, "203.0.113.10"), 1);
  assert_int_equal(tally_of(&t, "10.0.0.10"), 1);
  assert_int_equal(twins_each_pair(tw, on_pair, pairs), 1);
  assert_string_equal(pairs, "10.0.0.10>203.0.113.10 ");
  twins_free(tw);
  store_close(st);
}

/* prune removes exactly what is older than the cut-off, replies too. */
/* Version 9 kept lists as newline (points: comma) separated text; the
 * migration to 10 makes each a JSON array of strings, and reads them
 * back item by item. */
static void test_migrate_lists(void **state) {
  struct store *st;
  struct dns_result r;
  char err[256], p1[160], item[64];
  const char *pos;
  int64_t fetched, expires;
  sqlite3 *db;
  sqlite3_stmt *q;

  (void)state;
  snprintf(p1, sizeof(p1), "%s/v9.db", dir);
  assert_int_equal(store_open(&st, p1, STORE_RW, err, sizeof(err)), 0);
  store_close(st);
  assert_int_equal(sqlite3_open(p1, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db,
      "INSERT INTO identities(ip, iprev, ptr, helos, sources, echoed, sessions,"
      " rejected, starttls, first_seen, last_seen, unknown_direction, analyzed,"
      " points) VALUES('192.0.2.1', 'pass', 'a.example' || char(10) || 'b\"q.example',"
      " 'mail.example', '10.0.0.1' || char(10) || '192.0.2.1', '', 1, 0, 0, 1, 2, 0, 3,"
      " 'gw:in,gw:out');"
      "INSERT INTO identity_log(ip, at, iprev, ptr) VALUES('192.0.2.1', 3, 'pass', '');"
      "INSERT INTO dns(name, type, status, answers, ttl, fetched, expires)"
      " VALUES('1.2.0.192.in-addr.arpa', 12, 'NOERROR', 'a.example' || char(10) ||"
      " 'b.example', 300, 1, 9000000000000000);"
      "DROP TRIGGER fold_delivery_new; DROP TRIGGER fold_delivery_tied; DROP TRIGGER fold_delivery_gone; DROP TABLE fold_state; DROP TABLE fold_rejects; DROP TABLE fold_log25; DROP TABLE fold_log25_dst; DROP TABLE fold_excluded; DROP TABLE fold_port25; DROP TABLE fold_blocked; DROP TABLE fold_groups; DROP TABLE fold_servers;"
      "DROP TABLE fold_nat; DROP TRIGGER fold_session_gone;"
      "DROP INDEX replies_reject; DROP INDEX sessions_blocked;"
      "ALTER TABLE findings DROP COLUMN scope; DROP TABLE deliveries;"
      "DROP TABLE messages; DROP TABLE log_cursors;"
      "DROP TABLE event_cursors; DROP INDEX capture_stats_key;"
      "ALTER TABLE identities DROP COLUMN tls_logged;"
      "PRAGMA user_version=9", 0, 0, 0), SQLITE_OK);
  sqlite3_close(db);
  assert_int_equal(store_open(&st, p1, STORE_RW, err, sizeof(err)), 0);
  assert_int_equal(store_dns_get(st, "1.2.0.192.in-addr.arpa", 12, &r, &fetched, &expires), 1);
  assert_int_equal(r.n, 2);
  assert_string_equal(r.answer[1], "b.example");
  store_close(st);
  assert_int_equal(sqlite3_open(p1, &db), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT ptr, sources, echoed, points,"
                   " (SELECT ptr FROM identity_log), json_valid(ptr) FROM identities",
                   -1, &q, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  assert_string_equal(sqlite3_column_text(q, 0), "[\"a.example\",\"b\\\"q.example\"]");
  assert_string_equal(sqlite3_column_text(q, 1), "[\"10.0.0.1\",\"192.0.2.1\"]");
  assert_string_equal(sqlite3_column_text(q, 2), "[]");
  assert_string_equal(sqlite3_column_text(q, 3), "[\"gw:in\",\"gw:out\"]");
  assert_string_equal(sqlite3_column_text(q, 4), "[]");
  assert_int_equal(sqlite3_column_int(q, 5), 1);
  pos = (const char *)sqlite3_column_text(q, 0);
  assert_true(jlist_next(&pos, item, sizeof(item)));
  assert_true(jlist_next(&pos, item, sizeof(item)));
  assert_string_equal(item, "b\"q.example");
  assert_false(jlist_next(&pos, item, sizeof(item)));
  sqlite3_finalize(q);
  sqlite3_close(db);
}

static void test_prune(void **state) {
  struct store *st;
  struct session s;
  struct prune_counts pc;
  char err[256], p1[160];
  sqlite3 *db;
  sqlite3_stmt *q;
  int64_t pt, t0 = 1795687200LL * 1000000;
  int i;

  (void)state;
  snprintf(p1, sizeof(p1), "%s/prune.db", dir);
  assert_int_equal(store_open(&st, p1, STORE_RW, err, sizeof(err)), 0);
  assert_int_equal(store_point(st, "p", NULL, NULL, NULL, NULL, &pt), 0);
  for (i = 0; i < 10; i++) {
    make_session(&s, i); /* first_seen t0 + i s, last_seen + 500 us */
    assert_int_equal(store_session_put(st, &s), 1);
  }
  /* The reverse-DNS log: X changed after the cut-off, Y never did. */
  assert_int_equal(store_identity_log(st, "203.0.113.1", t0, "permerror", ""), 0);
  assert_int_equal(store_identity_log(st, "203.0.113.1", t0 + 1, "permerror", ""), 0);
  assert_int_equal(store_identity_log(st, "203.0.113.1", t0 + 10 * 1000000LL, "pass",
                                      "mail1.example.com"), 0);
  assert_int_equal(store_identity_log(st, "203.0.113.2", t0, "pass", "mail2.example.com"), 0);
  /* What read --maillog kept goes with its age too. */
  for (i = 0; i < 2; i++) {
    struct delivery_row d;
    memset(&d, 0, sizeof(d));
    d.at_us = t0 + i * 10 * 1000000LL;
    d.line_hash = i;
    d.host = "mail";
    d.queue_id = i ? "B1" : "A1";
    d.rcpt_domain = "example.net";
    d.status = "sent";
    assert_int_equal(store_delivery_put(st, &d), 1);
    assert_int_equal(store_message_put(st, "mail", d.queue_id, d.at_us, "m@x", NULL), 0);
  }
  assert_int_equal(store_prune(st, t0 + 5 * 1000000LL, 1, &pc), 0);
  assert_int_equal(pc.deliveries, 1);
  assert_int_equal(pc.messages, 1);
  assert_int_equal(pc.sessions, 5);
  assert_int_equal(pc.idlog, 1); /* X's old entry; Y's only one stays */
  store_close(st);
  assert_int_equal(sqlite3_open(p1, &db), SQLITE_OK);
  sqlite3_prepare_v2(db, "SELECT count(*), min(first_seen) FROM sessions", -1, &q, NULL);
  sqlite3_step(q);
  assert_int_equal(sqlite3_column_int(q, 0), 5);
  assert_true(sqlite3_column_int64(q, 1) == t0 + 5 * 1000000LL);
  sqlite3_finalize(q);
  sqlite3_prepare_v2(db, "SELECT group_concat(ip || ' ' || iprev, ',') FROM"
                     " (SELECT * FROM identity_log ORDER BY ip)", -1, &q, NULL);
  sqlite3_step(q);
  assert_string_equal((const char *)sqlite3_column_text(q, 0),
                      "203.0.113.1 pass,203.0.113.2 pass");
  sqlite3_finalize(q);
  sqlite3_prepare_v2(db, "SELECT count(*) FROM replies", -1, &q, NULL);
  sqlite3_step(q);
  assert_int_equal(sqlite3_column_int(q, 0), 10); /* 2 per remaining session */
  sqlite3_finalize(q);
  sqlite3_close(db);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_roundtrip_idempotent),
      cmocka_unit_test(test_open_errors),
      cmocka_unit_test(test_schema_pragmas),
      cmocka_unit_test(test_migrate_v1),
      cmocka_unit_test(test_migrate_lists),
      cmocka_unit_test(test_prune),
      cmocka_unit_test(test_gateway_twins),
  };
  return cmocka_run_group_tests_name("store", tests, setup, teardown);
}
