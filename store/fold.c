/* egressaudit - store/fold.c: the fold, what an analysis of the whole
 * history keeps for the next one. The settled sessions (id <= max_id and
 * first_seen < cut) are held summed per egress group and capture point,
 * per server and per NAT pair; an analysis reads those sums plus the
 * sessions after them (the tail: newer ids, or the last minutes, which
 * the MTA's log may still change), and folds what has settled since.
 * Full, incremental and windowed runs share one path: the tail's sums go
 * into temporary tables, merged with the fold (none for a window) by
 * store_fold_groups, _servers and _nat. Answers questions; decides
 * nothing: the judgements are the analyzer's.
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include "store/store.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "common/util.h"
#include "store/store_int.h"

#define STR_(x) #x
#define STR(x) STR_(x)

/* Runs a statement without rows; 0 or st_fail's. */
static int exec_sql(struct store *s, const char *what, const char *sql) {
  if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
    return st_fail(s, what);
  return 0;
}

int store_snapshot(struct store *s, int on) {
  if (!on) return exec_sql(s, "snapshot", "COMMIT");
  /* A read transaction: every query of the run sees one state. */
  if (exec_sql(s, "snapshot", "BEGIN") < 0) return -EIO;
  return st_scalar(s, "SELECT count(*) FROM points", 0, 0, &(int){0}) < 0
             ? -EIO : 0;
}

int store_fold_plan(struct store *s, int full, int64_t since, int64_t until,
                    int64_t now, struct fold_plan *p) {
  sqlite3_stmt *st = NULL;
  int64_t max_fs = 0, points = 0, gen = 0, folded_gen = -1;
  int err = 0;

  memset(p, 0, sizeof(*p));
  p->since = since;
  p->until = until;
  if (since != INT64_MIN || until != INT64_MAX) {
    p->mode = FOLD_WINDOW; /* the fold is of all history: not for a window */
    return 0;
  }
  if (st_stmt(s, "SELECT max_id, cut, points, gen, folded_gen, max_delivery"
                 " FROM fold_state WHERE one = 1", &st) < 0)
    return st_fail(s, "fold");
  if (sqlite3_step(st) == SQLITE_ROW) {
    p->max_id = sqlite3_column_int64(st, 0);
    p->cut = sqlite3_column_int64(st, 1);
    points = sqlite3_column_int64(st, 2);
    gen = sqlite3_column_int64(st, 3);
    folded_gen = sqlite3_column_int64(st, 4);
    p->max_delivery = sqlite3_column_int64(st, 5);
  }
  st_done(s, st);
  p->gen = gen;
  p->new_max_id = st_scalar(s, "SELECT coalesce(max(id), 0) FROM sessions",
                            0, 0, &err);
  max_fs = st_scalar(s, "SELECT coalesce(max(first_seen), 0) FROM sessions",
                     0, 0, &err);
  p->points = st_scalar(s, "SELECT count(*) FROM points", 0, 0, &err);
  p->new_max_delivery = st_scalar(s, "SELECT coalesce(max(id), 0) FROM"
                                     " deliveries", 0, 0, &err);
  if (err < 0) return err;
  /* Settled: older than FOLD_SETTLE_US before now, or before the newest
   * session for a history read from files. The cut never goes back. */
  p->new_cut = (max_fs < now ? max_fs : now) - FOLD_SETTLE_US;
  if (full) p->why = "asked for";
  else if (folded_gen < 0) p->why = "no fold yet";
  else if (folded_gen != gen)
    p->why = "settled sessions changed (deleted, or the MTA's log tied to them)";
  else if (points != p->points) p->why = "the capture points changed";
  else if (p->new_max_id < p->max_id || p->new_max_delivery < p->max_delivery)
    p->why = "sessions or the MTA log's lines went away";
  /* A session among the settled ones may be a twin of one (a gateway),
   * or the capture of a logged failed connection. */
  else if ((p->points > 1 || p->max_delivery > 0) &&
           st_scalar(s, "SELECT EXISTS (SELECT 1 FROM sessions WHERE"
                        " id > ?1 AND +first_seen < ?2)" /* by id, not by time */,
                     p->max_id, p->cut + LOG_SYN_AFTER_US, &err) != 0)
    p->why = "new sessions among the settled ones (twins or logged attempts "
             "of theirs may be folded)";
  if (err < 0) return err;
  if (p->why != NULL) {
    p->mode = FOLD_FULL;
    p->max_id = p->max_delivery = 0;
    p->cut = INT64_MIN;
  } else {
    p->mode = FOLD_INCR;
    if (p->new_cut < p->cut) p->new_cut = p->cut;
  }
  return 0;
}

/* The tail: the sessions the fold does not hold, up to this run's newest
 * (?1 the fold's max_id, ?2 its cut, ?3 this run's newest id): the new
 * ids and the unsettled old ones, each found by index (an OR of the two
 * made SQLite scan every session). A full run takes them all. */
#define TAIL_INCR                                                          \
  " AND s.id IN (SELECT id FROM sessions WHERE id > ?1 AND id <= ?3"        \
  " UNION SELECT id FROM sessions WHERE first_seen >= ?2 AND id <= ?3)"
#define TAIL_FULL " AND s.id <= ?3"
#define TAIL_WINDOW " AND s.first_seen >= ?1 AND s.first_seen <= ?2"
#define TAIL(mac, ...)                                                     \
  (p->mode == FOLD_WINDOW ? mac(TAIL_WINDOW, __VA_ARGS__)                   \
   : p->mode == FOLD_FULL ? mac(TAIL_FULL, __VA_ARGS__)                     \
                          : mac(TAIL_INCR, __VA_ARGS__))

/* The MTA log's rows the fold does not hold (?5 the fold's newest row,
 * ?6 this run's, ?2 the cut), likewise. */
#define DTAIL_INCR                                                         \
  " AND d.id IN (SELECT id FROM deliveries WHERE id > ?5 AND id <= ?6"      \
  " UNION SELECT id FROM deliveries WHERE at >= ?2 AND id <= ?6)"
#define DTAIL_FULL " AND d.id <= ?6"
#define DTAIL_WINDOW " AND d.at >= ?1 AND d.at <= ?2"
#define DTAIL(mac)                                                         \
  (p->mode == FOLD_WINDOW ? mac(DTAIL_WINDOW)                               \
   : p->mode == FOLD_FULL ? mac(DTAIL_FULL) : mac(DTAIL_INCR))

static int bind_tail(sqlite3_stmt *st, const struct fold_plan *p) {
  if (p->mode == FOLD_WINDOW) {
    sqlite3_bind_int64(st, 1, p->since);
    sqlite3_bind_int64(st, 2, p->until);
  } else {
    sqlite3_bind_int64(st, 1, p->max_id);
    sqlite3_bind_int64(st, 2, p->cut);
    sqlite3_bind_int64(st, 3, p->new_max_id);
  }
  /* what settles in this run: folded at its end (none for a window) */
  sqlite3_bind_int64(st, 4, p->mode == FOLD_WINDOW ? INT64_MIN : p->new_cut);
  sqlite3_bind_int64(st, 5, p->max_delivery);
  sqlite3_bind_int64(st, 6, p->new_max_delivery);
  return 0;
}

static int run_bound(struct store *s, const char *what, const char *sql,
                     const struct fold_plan *p, int64_t *changes) {
  sqlite3_stmt *st = NULL;
  int rc;

  if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
    return st_fail(s, what);
  bind_tail(st, p);
  rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return st_fail(s, what);
  if (changes) *changes = sqlite3_changes64(s->db);
  return 0;
}

#define GROUPS_COLS                                                        \
  "src_ip, echoed_ip, helo, direction, point_id, sessions, first_seen,"     \
  " last_seen, rejected, starttls, tls_logged, dst_min, banner_min,"        \
  " echo_lo, echo_hi"

/* One row per group, capture point and settledness. The per-session
 * flags (a reject on the wire or in the log, TLS with a logged outcome)
 * are read here, once: folded, they are not read again. */
#define TAIL_GROUPS(tail, twins)                                           \
  "INSERT INTO temp.ea_tail(settled, " GROUPS_COLS ")"                      \
  " SELECT s.first_seen < ?4, s.src_ip, coalesce(s.echoed_ip, ''),"          \
  " coalesce(s.helo, ''), s.direction, s.point_id, count(*),"               \
  " min(s.first_seen), max(s.last_seen),"                                   \
  " sum(EXISTS(SELECT 1 FROM replies r WHERE"                               \
  "  r.session_id = s.id AND r.code >= 400) OR EXISTS(SELECT 1 FROM"        \
  "  deliveries d WHERE d.session_id = s.id AND d.code >= 400)),"           \
  " sum(s.starttls), sum(s.starttls AND EXISTS(SELECT 1 FROM deliveries d"  \
  "  WHERE d.session_id = s.id)),"                                          \
  " min(s.dst_ip), min(s.banner_host),"                                     \
  " min(CASE WHEN s.echoed_ip IS NOT NULL THEN s.dst_ip END),"              \
  " max(CASE WHEN s.echoed_ip IS NOT NULL THEN s.dst_ip END)"               \
  " FROM sessions s WHERE s.direction != 'inbound'" tail twins              \
  " GROUP BY 1, 2, 3, 4, 5, 6"

#define TAIL_SERVERS(tail, unused)                                                 \
  "INSERT INTO temp.ea_tail_srv(settled, ip, banner_host, sessions,"        \
  " first_seen, last_seen)"                                                 \
  " SELECT s.first_seen < ?4, s.dst_ip, s.banner_host, count(*),"            \
  " min(s.first_seen), max(s.last_seen) FROM sessions s"                    \
  " WHERE s.direction = 'inbound' AND s.banner_host IS NOT NULL" tail       \
  " GROUP BY 1, 2, 3"

/* Port 25 per source, and the receivers its blocked attempts went to. */
#define TAIL_PORT25(tail, unused)                                                  \
  "INSERT INTO temp.ea_tail_p25(settled, src_ip, blocked, answered,"        \
  " first_seen, last_seen) SELECT s.first_seen < ?4, s.src_ip,"              \
  " sum(s.state IN ('syn-only','refused')),"                                \
  " sum(s.state NOT IN ('syn-only','refused','connected')),"                \
  " min(s.first_seen), max(s.last_seen) FROM sessions s"                    \
  " WHERE s.direction != 'inbound'" tail " GROUP BY 1, 2"
#define TAIL_BLOCKED(tail, unused)                                                 \
  "INSERT INTO temp.ea_tail_blk(settled, src_ip, dst_ip)"                   \
  " SELECT DISTINCT s.first_seen < ?4, s.src_ip, s.dst_ip FROM sessions s"  \
  " WHERE s.direction != 'inbound' AND s.state IN ('syn-only','refused')"   \
  tail

/* The MTA's log, per logging host: its failed connections that no
 * captured attempt (a SYN to the same receiver in the three minutes
 * before) already counts, against its attempts that got an answer and
 * rode on no captured session. Without a capture, the only evidence. */
#define LOG_UNCAPTURED                                                     \
  " d.session_id IS NULL AND (d.status != 'connect' OR NOT EXISTS (SELECT"  \
  " 1 FROM sessions x WHERE x.dst_ip = d.relay_ip AND x.first_seen >="      \
  " d.at - 180000000 AND x.first_seen <= d.at + " STR(LOG_SYN_AFTER_US) "))"
#define TAIL_LOG25(dtail)                                                  \
  "INSERT INTO temp.ea_tail_l25(settled, host, connects, answered,"         \
  " first_seen, last_seen) SELECT d.at < ?4, d.host,"                        \
  " sum(d.status = 'connect'),"                                             \
  " sum(d.status != 'connect' AND d.code IS NOT NULL), min(d.at), max(d.at)"\
  " FROM deliveries d WHERE" LOG_UNCAPTURED dtail " GROUP BY 1, 2"
#define TAIL_LOG25_DST(dtail)                                              \
  "INSERT INTO temp.ea_tail_l25dst(settled, host, relay_ip) SELECT"         \
  " DISTINCT d.at < ?4, d.host, d.relay_ip FROM deliveries d WHERE"         \
  " d.status = 'connect' AND d.relay_ip IS NOT NULL AND" LOG_UNCAPTURED dtail

int64_t store_fold_tail(struct store *s, const struct fold_plan *p,
                        unsigned what) {
  int64_t n = 0;
  int rc;

  rc = exec_sql(s, "fold",
                "CREATE TEMP TABLE IF NOT EXISTS ea_tail(settled INTEGER,"
                " " GROUPS_COLS ");"
                "CREATE TEMP TABLE IF NOT EXISTS ea_tail_srv(settled INTEGER,"
                " ip, banner_host, sessions, first_seen, last_seen);"
                "CREATE TEMP TABLE IF NOT EXISTS ea_tail_nat(settled INTEGER,"
                " inside_ip, outside_ip, point_in, point_out, first_seen,"
                " last_seen, sessions);"
                "CREATE TEMP TABLE IF NOT EXISTS ea_tail_p25(settled INTEGER,"
                " src_ip, blocked, answered, first_seen, last_seen);"
                "CREATE TEMP TABLE IF NOT EXISTS ea_tail_blk(settled INTEGER,"
                " src_ip, dst_ip);"
                "CREATE TEMP TABLE IF NOT EXISTS ea_tail_l25(settled INTEGER,"
                " host, connects, answered, first_seen, last_seen);"
                "CREATE TEMP TABLE IF NOT EXISTS ea_tail_l25dst(settled INTEGER,"
                " host, relay_ip);"
                "DELETE FROM temp.ea_tail_l25; DELETE FROM temp.ea_tail_l25dst;"
                "CREATE TEMP TABLE IF NOT EXISTS ea_tail_rej(ip, first_seen,"
                " last_seen, count, detail, fix);"
                "DELETE FROM temp.ea_tail_rej;"
                "DELETE FROM temp.ea_tail; DELETE FROM temp.ea_tail_srv;"
                "DELETE FROM temp.ea_tail_p25; DELETE FROM temp.ea_tail_blk;");
  if (rc < 0) return rc;
  if (s->excluding)
    rc = run_bound(s, "egress query", TAIL(TAIL_GROUPS, NOT_EXCLUDED), p, NULL);
  else
    rc = run_bound(s, "egress query", TAIL(TAIL_GROUPS, ""), p, NULL);
  if (rc == 0 && (what & FOLD_T_SERVERS))
    rc = run_bound(s, "servers", TAIL(TAIL_SERVERS, ""), p, NULL);
  if (rc == 0 && (what & FOLD_T_PORT25))
    rc = run_bound(s, "port 25 query", TAIL(TAIL_PORT25, ""), p, NULL);
  if (rc == 0 && (what & FOLD_T_PORT25))
    rc = run_bound(s, "port 25 query", TAIL(TAIL_BLOCKED, ""), p, NULL);
  if (rc == 0 && (what & FOLD_T_PORT25))
    rc = run_bound(s, "port 25 query", DTAIL(TAIL_LOG25), p, NULL);
  if (rc == 0 && (what & FOLD_T_PORT25))
    rc = run_bound(s, "port 25 query", DTAIL(TAIL_LOG25_DST), p, NULL);
  if (rc == 0)
    n = st_scalar(s, "SELECT coalesce(sum(sessions), 0) FROM temp.ea_tail",
                  0, 0, &rc);
  return rc < 0 ? rc : n;
}

/* The tail's rejects: the tail sessions' 4xx/5xx replies, and the
 * logged rejects among the log's new rows or its unsettled ones, that no
 * reply already shows. In time order, as store_rejects. */
#define TAIL_REJECTS(twins)                                                \
  "SELECT s.src_ip, s.echoed_ip, s.dst_ip, s.banner_host, s.first_seen,"    \
  " r.code, r.enhanced, r.text, 0 FROM sessions s JOIN replies r"           \
  " ON r.session_id = s.id WHERE r.code >= 400 AND"                         \
  " s.direction != 'inbound'" TAIL_INCR twins REJECTS_LOGGED(DTAIL_INCR)

static int take_reject_sum(sqlite3_stmt *st, void *arg) {
  struct sink *k = arg;
  struct reject_sum r;

  r.ip = st_col_text(st, 0);
  r.first_us = sqlite3_column_int64(st, 1);
  r.last_us = sqlite3_column_int64(st, 2);
  r.count = sqlite3_column_int64(st, 3);
  r.detail = st_col_text(st, 4);
  r.fix = st_col_text(st, 5);
  if (r.ip == NULL || r.detail == NULL || r.fix == NULL) return 0;
  return ((reject_sum_fn)k->fn)(&r, k->ctx);
}

int64_t store_fold_rejects(struct store *s, const struct fold_plan *p,
                           reject_fn row_fn, reject_sum_fn sum_fn, void *ctx) {
  struct sink sums = {(void (*)(void))sum_fn, ctx};
  struct sink rows = {(void (*)(void))row_fn, ctx};
  sqlite3_stmt *st = NULL;
  int64_t n = 0, m;
  int rc;

  if (p->mode != FOLD_INCR)
    return store_rejects(s, p->since, p->until, row_fn, ctx);
  m = st_each_row(s, "reject query", "SELECT ip, first_seen, last_seen,"
                  " count, detail, fix FROM fold_rejects", 0, 0, NULL,
                  take_reject_sum, &sums);
  if (m < 0) return m;
  if (sqlite3_prepare_v2(s->db, s->excluding ? TAIL_REJECTS(NOT_EXCLUDED)
                                              : TAIL_REJECTS(""),
                         -1, &st, NULL) != SQLITE_OK)
    return st_fail(s, "reject query");
  bind_tail(st, p);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    n++;
    if (st_take_reject(st, &rows) != 0) break;
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return st_fail(s, "reject query");
  return m + n;
}

int store_fold_reject_add(struct store *s, const struct reject_sum *r) {
  sqlite3_stmt *st = NULL;
  int rc;

  if (st_stmt(s, "INSERT INTO temp.ea_tail_rej(ip, first_seen, last_seen,"
                 " count, detail, fix) VALUES(?1,?2,?3,?4,?5,?6)", &st) < 0)
    return st_fail(s, "fold");
  sqlite3_bind_text(st, 1, r->ip, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, r->first_us);
  sqlite3_bind_int64(st, 3, r->last_us);
  sqlite3_bind_int64(st, 4, r->count);
  sqlite3_bind_text(st, 5, r->detail, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 6, r->fix, -1, SQLITE_STATIC);
  rc = sqlite3_step(st);
  st_done(s, st);
  return rc == SQLITE_DONE ? 0 : st_fail(s, "fold");
}

int store_fold_excluded_load(struct store *s, const struct fold_plan *p) {
  if (p->mode != FOLD_INCR || !s->excluding) return 0;
  return exec_sql(s, "fold", "INSERT OR IGNORE INTO temp.ea_excluded(id)"
                             " SELECT id FROM main.fold_excluded");
}

int store_fold_nat_clear(struct store *s) {
  return exec_sql(s, "fold",
                  "CREATE TEMP TABLE IF NOT EXISTS ea_tail_nat(settled INTEGER,"
                  " inside_ip, outside_ip, point_in, point_out, first_seen,"
                  " last_seen, sessions); DELETE FROM temp.ea_tail_nat;");
}

int store_fold_nat_add(struct store *s, const struct nat_row *r) {
  sqlite3_stmt *st = NULL;
  int rc;

  if (st_stmt(s, "INSERT INTO temp.ea_tail_nat(inside_ip, outside_ip,"
                 " point_in, point_out, first_seen, last_seen, sessions,"
                 " settled) VALUES(?1,?2,?3,?4,?5,?6,?7,?8)", &st) < 0)
    return st_fail(s, "fold");
  sqlite3_bind_int(st, 8, r->settled);
  st_bind_nat(st, r);
  rc = sqlite3_step(st);
  st_done(s, st);
  return rc == SQLITE_DONE ? 0 : st_fail(s, "fold");
}

/* The fold's rows (?1: 1 to take them) and the tail's, one list. */
#define UNION(cols, fold, tail)                                            \
  "SELECT " cols " FROM main." fold " WHERE ?1 UNION ALL SELECT " cols      \
  " FROM temp." tail

/* Groups merged across fold and tail, one row per group and capture
 * point in key order; echo_n: the distinct receivers (0, 1, or 2 for
 * "two or more") that echoed the group's address for its source. */
#define MERGED_GROUPS                                                      \
  "WITH u AS MATERIALIZED (" UNION(GROUPS_COLS, "fold_groups", "ea_tail") "),"\
  " e AS MATERIALIZED (SELECT src_ip, echoed_ip, min(echo_lo) lo,"          \
  "  max(echo_hi) hi FROM u WHERE echoed_ip != '' GROUP BY 1, 2)"           \
  " SELECT u.src_ip, nullif(u.echoed_ip, ''), nullif(u.helo, ''),"          \
  " u.direction, p.name, sum(u.sessions), min(u.first_seen),"               \
  " max(u.last_seen), sum(u.rejected), sum(u.starttls), sum(u.tls_logged),"\
  " min(u.dst_min), min(u.banner_min),"                                     \
  " CASE WHEN e.lo IS NULL THEN 0 WHEN e.lo = e.hi THEN 1 ELSE 2 END"       \
  " FROM u JOIN points p ON p.id = u.point_id LEFT JOIN e ON"               \
  " e.src_ip = u.src_ip AND e.echoed_ip = u.echoed_ip"                      \
  " GROUP BY u.src_ip, u.echoed_ip, u.helo, u.direction, p.name"            \
  " ORDER BY u.src_ip, u.echoed_ip, u.helo, u.direction, p.name"

/* ECHO_CONFIRM_MIN receivers are told from two values per group: the
 * lowest and highest receiver address that echoed. */
_Static_assert(ECHO_CONFIRM_MIN <= 2, "echo_n counts up to two receivers");

static int same(const char *a, const char *b) {
  return (a == NULL) == (b == NULL) && (a == NULL || strcmp(a, b) == 0);
}

/* *dst = the lower of *dst and v (NULL: none); -ENOMEM */
static int keep_min(char **dst, const char *v) {
  char *c;

  if (v == NULL || (*dst != NULL && strcmp(v, *dst) >= 0)) return 0;
  if ((c = strdup(v)) == NULL) return -ENOMEM;
  free(*dst);
  *dst = c;
  return 0;
}

/* One group being put together from its capture points' rows. */
struct grp_acc {
  struct egress_group g;
  char *src, *echoed, *helo, *dir, *dst, *banner;
  char points[POINTS_TEXT_MAX];
  int open;
};

static void grp_clear(struct grp_acc *a) {
  free(a->src);
  free(a->echoed);
  free(a->helo);
  free(a->dir);
  free(a->dst);
  free(a->banner);
  memset(a, 0, sizeof(*a));
}

static int grp_flush(struct grp_acc *a, egress_group_fn fn, void *ctx) {
  int rc = 0;

  if (a->open) {
    a->g.src_ip = a->src;
    a->g.echoed_ip = a->echoed;
    a->g.helo = a->helo;
    a->g.direction = a->dir;
    a->g.points = a->points;
    a->g.receiver_ip = a->dst;
    a->g.receiver_host = a->banner;
    rc = fn(&a->g, ctx);
  }
  grp_clear(a);
  return rc;
}

static char *dup_or_null(const char *v, int *oom) {
  char *c = v ? strdup(v) : NULL;
  if (v != NULL && c == NULL) *oom = 1;
  return c;
}

int64_t store_fold_groups(struct store *s, const struct fold_plan *p,
                          egress_group_fn fn, void *ctx) {
  sqlite3_stmt *st = NULL;
  struct grp_acc *a = calloc(1, sizeof(*a));
  int64_t n = 0;
  int rc = 0, oom = 0;

  if (a == NULL) return -ENOMEM;
  if (sqlite3_prepare_v2(s->db, MERGED_GROUPS, -1, &st, NULL) != SQLITE_OK) {
    free(a);
    return st_fail(s, "egress query");
  }
  sqlite3_bind_int(st, 1, p->mode == FOLD_INCR);
  while (!oom && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *src = st_col_text(st, 0), *echoed = st_col_text(st, 1);
    const char *helo = st_col_text(st, 2), *dir = st_col_text(st, 3);
    const char *point = st_col_text(st, 4);
    size_t k;

    if (src == NULL || dir == NULL) continue;
    if (!a->open || strcmp(a->src, src) != 0 || !same(a->echoed, echoed) ||
        !same(a->helo, helo) || strcmp(a->dir, dir) != 0) {
      if (grp_flush(a, fn, ctx) != 0) break;
      a->open = 1;
      a->src = dup_or_null(src, &oom);
      a->echoed = dup_or_null(echoed, &oom);
      a->helo = dup_or_null(helo, &oom);
      a->dir = dup_or_null(dir, &oom);
      a->g.first_us = INT64_MAX;
      a->g.last_us = INT64_MIN;
      n++;
    }
    a->g.sessions += sqlite3_column_int64(st, 5);
    if (sqlite3_column_int64(st, 6) < a->g.first_us)
      a->g.first_us = sqlite3_column_int64(st, 6);
    if (sqlite3_column_int64(st, 7) > a->g.last_us)
      a->g.last_us = sqlite3_column_int64(st, 7);
    a->g.rejected += sqlite3_column_int64(st, 8);
    a->g.starttls += sqlite3_column_int64(st, 9);
    a->g.tls_logged += sqlite3_column_int64(st, 10);
    if (keep_min(&a->dst, st_col_text(st, 11)) < 0 ||
        keep_min(&a->banner, st_col_text(st, 12)) < 0)
      oom = 1;
    a->g.echo_receivers = sqlite3_column_int64(st, 13);
    /* the points in name order, as the query gives them */
    k = strlen(a->points);
    if (point != NULL && k + strlen(point) + 2 < sizeof(a->points))
      snprintf(a->points + k, sizeof(a->points) - k, "%s%s", k ? "," : "",
               point);
  }
  if (oom) rc = -ENOMEM;
  else if (rc == SQLITE_ROW || rc == SQLITE_DONE) rc = grp_flush(a, fn, ctx) < 0 ? -ENOMEM : 0;
  else rc = st_fail(s, "egress query");
  grp_clear(a);
  sqlite3_finalize(st);
  free(a);
  return rc < 0 ? rc : n;
}

int64_t store_fold_servers(struct store *s, const struct fold_plan *p,
                           server_fn fn, void *ctx) {
  struct sink k = {(void (*)(void))fn, ctx};

  return st_each_row(s, "servers",
                     "SELECT ip, banner_host, sum(sessions), min(first_seen),"
                     " max(last_seen) FROM (" UNION("ip, banner_host, sessions,"
                     " first_seen, last_seen", "fold_servers", "ea_tail_srv")
                     ") GROUP BY ip, banner_host ORDER BY ip, banner_host",
                     p->mode == FOLD_INCR, 0, NULL, st_take_server, &k);
}

int64_t store_fold_nat(struct store *s, const struct fold_plan *p, nat_fn fn,
                       void *ctx) {
  struct sink k = {(void (*)(void))fn, ctx};

  return st_each_row(s, "NAT pairs",
                     "SELECT inside_ip, outside_ip, min(point_in),"
                     " min(point_out), min(first_seen), max(last_seen),"
                     " sum(sessions) FROM (" UNION("inside_ip, outside_ip,"
                     " point_in, point_out, first_seen, last_seen, sessions",
                     "fold_nat", "ea_tail_nat") ") GROUP BY inside_ip,"
                     " outside_ip ORDER BY inside_ip, min(first_seen),"
                     " outside_ip",
                     p->mode == FOLD_INCR, 0, NULL, st_take_nat, &k);
}

static int take_port25(sqlite3_stmt *st, void *arg) {
  struct sink *k = arg;
  struct port25_row r;

  r.src_ip = st_col_text(st, 0);
  r.blocked_dsts = sqlite3_column_int64(st, 1);
  r.blocked = sqlite3_column_int64(st, 2);
  r.answered = sqlite3_column_int64(st, 3);
  r.first_us = sqlite3_column_int64(st, 4);
  r.last_us = sqlite3_column_int64(st, 5);
  r.from_log = sqlite3_column_int(st, 6);
  return ((port25_fn)k->fn)(&r, k->ctx);
}

int64_t store_fold_port25(struct store *s, const struct fold_plan *p,
                          port25_fn fn, void *ctx) {
  struct sink k = {(void (*)(void))fn, ctx};
  int64_t n, m;

  n = st_each_row(s, "port 25 query",
      "WITH u AS MATERIALIZED (" UNION("src_ip, blocked, answered, first_seen,"
      " last_seen", "fold_port25", "ea_tail_p25") "),"
      " b AS MATERIALIZED (SELECT src_ip, count(DISTINCT dst_ip) n FROM ("
      UNION("src_ip, dst_ip", "fold_blocked", "ea_tail_blk") ") GROUP BY 1)"
      " SELECT u.src_ip, b.n, sum(u.blocked), sum(u.answered),"
      " min(u.first_seen), max(u.last_seen), 0 FROM u JOIN b ON b.src_ip ="
      " u.src_ip GROUP BY u.src_ip HAVING sum(u.blocked) > 0"
      " ORDER BY u.src_ip",
      p->mode == FOLD_INCR, 0, NULL, take_port25, &k);
  if (n < 0) return n;
  m = st_each_row(s, "port 25 query",
      "WITH u AS MATERIALIZED (" UNION("host, connects, answered, first_seen,"
      " last_seen", "fold_log25", "ea_tail_l25") "),"
      " b AS MATERIALIZED (SELECT host, count(DISTINCT relay_ip) n FROM ("
      UNION("host, relay_ip", "fold_log25_dst", "ea_tail_l25dst") ") GROUP BY 1)"
      " SELECT u.host, coalesce(b.n, 0), sum(u.connects), sum(u.answered),"
      " min(u.first_seen), max(u.last_seen), 1 FROM u LEFT JOIN b ON b.host ="
      " u.host GROUP BY u.host HAVING sum(u.connects) > 0 ORDER BY u.host",
      p->mode == FOLD_INCR, 0, NULL, take_port25, &k);
  return m < 0 ? m : n + m;
}

/* SQL's min and max of two values where NULL is "none" (not "unknown"). */
#define LEAST(c) c " = CASE WHEN " c " IS NULL OR excluded." c " < " c        \
  " THEN excluded." c " ELSE " c " END"
#define GREATEST(c) c " = CASE WHEN " c " IS NULL OR excluded." c " > " c     \
  " THEN excluded." c " ELSE " c " END"

int store_fold_commit(struct store *s, const struct fold_plan *p, int64_t at,
                      int *kept) {
  sqlite3_stmt *st = NULL;
  int64_t gen;
  int rc, err = 0;

  *kept = 0;
  if (p->mode == FOLD_WINDOW) return 0;
  if ((rc = exec_sql(s, "fold", "BEGIN IMMEDIATE")) < 0) return rc;
  /* Settled sessions changed since this run read them: its sums would
   * miss that, so the next run starts again. */
  gen = st_scalar(s, "SELECT gen FROM fold_state WHERE one = 1", 0, 0, &err);
  if (err == 0 && gen != p->gen) {
    rc = exec_sql(s, "fold", "UPDATE fold_state SET folded_gen = -1; COMMIT");
    return rc;
  }
  if (err < 0) rc = err;
  if (rc == 0 && p->mode == FOLD_FULL)
    rc = exec_sql(s, "fold", "DELETE FROM fold_groups; DELETE FROM fold_servers;"
                             " DELETE FROM fold_nat; DELETE FROM fold_excluded;"
                             " DELETE FROM fold_port25; DELETE FROM fold_blocked;"
                             " DELETE FROM fold_log25; DELETE FROM fold_log25_dst;");
  if (rc == 0 && s->excluding &&
      (rc = st_stmt(s, "INSERT OR IGNORE INTO fold_excluded(id) SELECT e.id"
                       " FROM temp.ea_excluded e JOIN sessions s ON s.id = e.id"
                       " WHERE s.first_seen < ?1 AND (EXISTS (SELECT 1 FROM"
                       " replies r WHERE r.session_id = s.id AND r.code >= 400)"
                       " OR EXISTS (SELECT 1 FROM deliveries d WHERE"
                       " d.session_id = s.id AND d.code >= 400))", &st)) == 0) {
    sqlite3_bind_int64(st, 1, p->new_cut);
    if (sqlite3_step(st) != SQLITE_DONE) rc = st_fail(s, "fold");
    st_done(s, st);
    st = NULL;
  }
  if (rc == 0)
    rc = exec_sql(s, "fold",
        "INSERT INTO fold_groups(" GROUPS_COLS ") SELECT " GROUPS_COLS
        " FROM temp.ea_tail WHERE settled ON CONFLICT DO UPDATE SET"
        " sessions = sessions + excluded.sessions,"
        " first_seen = min(first_seen, excluded.first_seen),"
        " last_seen = max(last_seen, excluded.last_seen),"
        " rejected = rejected + excluded.rejected,"
        " starttls = starttls + excluded.starttls,"
        " tls_logged = tls_logged + excluded.tls_logged,"
        " " LEAST("dst_min") ", " LEAST("banner_min") ", " LEAST("echo_lo")
        ", " GREATEST("echo_hi") ";"
        "INSERT INTO fold_servers(ip, banner_host, sessions, first_seen,"
        " last_seen) SELECT ip, banner_host, sessions, first_seen, last_seen"
        " FROM temp.ea_tail_srv WHERE settled ON CONFLICT DO UPDATE SET"
        " sessions = sessions + excluded.sessions,"
        " first_seen = min(first_seen, excluded.first_seen),"
        " last_seen = max(last_seen, excluded.last_seen);"
        "INSERT INTO fold_nat(inside_ip, outside_ip, point_in, point_out,"
        " first_seen, last_seen, sessions) SELECT inside_ip, outside_ip,"
        " point_in, point_out, first_seen, last_seen, sessions"
        " FROM temp.ea_tail_nat WHERE settled ON CONFLICT DO UPDATE SET"
        " sessions = sessions + excluded.sessions,"
        " first_seen = min(first_seen, excluded.first_seen),"
        " last_seen = max(last_seen, excluded.last_seen),"
        " point_in = min(point_in, excluded.point_in),"
        " point_out = min(point_out, excluded.point_out);"
        "INSERT INTO fold_port25(src_ip, blocked, answered, first_seen,"
        " last_seen) SELECT src_ip, blocked, answered, first_seen, last_seen"
        " FROM temp.ea_tail_p25 WHERE settled ON CONFLICT DO UPDATE SET"
        " blocked = blocked + excluded.blocked,"
        " answered = answered + excluded.answered,"
        " first_seen = min(first_seen, excluded.first_seen),"
        " last_seen = max(last_seen, excluded.last_seen);"
        "INSERT OR IGNORE INTO fold_blocked(src_ip, dst_ip) SELECT src_ip,"
        " dst_ip FROM temp.ea_tail_blk WHERE settled;"
        "INSERT INTO fold_log25(host, connects, answered, first_seen,"
        " last_seen) SELECT host, connects, answered, first_seen, last_seen"
        " FROM temp.ea_tail_l25 WHERE settled ON CONFLICT DO UPDATE SET"
        " connects = connects + excluded.connects,"
        " answered = answered + excluded.answered,"
        " first_seen = min(first_seen, excluded.first_seen),"
        " last_seen = max(last_seen, excluded.last_seen);"
        "INSERT OR IGNORE INTO fold_log25_dst(host, relay_ip) SELECT host,"
        " relay_ip FROM temp.ea_tail_l25dst WHERE settled;"
        /* rdns-reject's sums: all of them, as the run had them */
        "DELETE FROM fold_rejects; INSERT INTO fold_rejects(ip, first_seen,"
        " last_seen, count, detail, fix) SELECT ip, first_seen, last_seen,"
        " count, detail, fix FROM temp.ea_tail_rej;");
  if (rc == 0 &&
      st_stmt(s, "UPDATE fold_state SET max_id = ?1, cut = ?2, points = ?3,"
                 " folded_gen = gen, at = ?4, max_delivery = ?5", &st) == 0) {
    sqlite3_bind_int64(st, 5, p->new_max_delivery);
    sqlite3_bind_int64(st, 1, p->new_max_id);
    sqlite3_bind_int64(st, 2, p->new_cut);
    sqlite3_bind_int64(st, 3, p->points);
    sqlite3_bind_int64(st, 4, at);
    if (sqlite3_step(st) != SQLITE_DONE) rc = st_fail(s, "fold");
    st_done(s, st);
  } else if (rc == 0) {
    rc = st_fail(s, "fold");
  }
  if (rc == 0 && (rc = exec_sql(s, "fold", "COMMIT")) == 0) *kept = 1;
  if (rc < 0) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
  return rc;
}
#undef LEAST
#undef GREATEST
