/* egressaudit - store/analysis.c: what an analysis reads (egress groups, rejects,
 * port 25 attempts, servers, drops, twin candidates) and writes (identities,
 * findings, the NAT map, the run record). Answers questions; decides
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

/* --- analysis ------------------------------------------------------- */

int store_multi_point(struct store *s) {
  sqlite3_stmt *st = NULL;
  int n = 2;

  if (st_stmt(s, "SELECT count(*) FROM points", &st) == 0 &&
      sqlite3_step(st) == SQLITE_ROW)
    n = sqlite3_column_int(st, 0);
  if (st) st_done(s, st);
  return n > 1;
}

int store_exclude_sessions(struct store *s, const int64_t *ids, size_t n) {
  sqlite3_stmt *st = NULL;
  size_t i;
  int rc = 0;

  if (sqlite3_exec(s->db,
                   "CREATE TEMP TABLE IF NOT EXISTS ea_excluded("
                   "id INTEGER PRIMARY KEY); DELETE FROM temp.ea_excluded;",
                   NULL, NULL, NULL) != SQLITE_OK)
    return st_fail(s, "excluded sessions");
  s->excluding = 1;
  if (n == 0) return 0;
  if (sqlite3_exec(s->db, "SAVEPOINT ea_ex", NULL, NULL, NULL) != SQLITE_OK)
    return st_fail(s, "excluded sessions");
  if (st_stmt(s, "INSERT OR IGNORE INTO temp.ea_excluded(id) VALUES(?1)",
              &st) < 0)
    rc = st_fail(s, "excluded sessions");
  for (i = 0; rc == 0 && i < n; i++) {
    sqlite3_bind_int64(st, 1, ids[i]);
    if (sqlite3_step(st) != SQLITE_DONE) rc = st_fail(s, "excluded sessions");
    sqlite3_reset(st);
  }
  if (st) st_done(s, st);
  sqlite3_exec(s->db, rc == 0 ? "RELEASE ea_ex" : "ROLLBACK TO ea_ex; RELEASE ea_ex",
               NULL, NULL, NULL);
  return rc;
}

/* The egress groups of a window (preflight's comparison with the MTA's
 * configuration; tests): the fold's sums when they cover it, else the
 * window's sessions, through the analysis's own path. */
int64_t store_egress_groups(struct store *s, int64_t since, int64_t until,
                            egress_group_fn fn, void *ctx) {
  struct fold_plan p;
  int64_t n;

  if ((n = store_fold_plan(s, 0, since, until, now_us(), &p)) < 0 ||
      (n = store_fold_tail(s, &p, FOLD_T_GROUPS)) < 0)
    return n;
  return store_fold_groups(s, &p, fn, ctx);
}

int st_take_reject(sqlite3_stmt *st, void *arg) {
  struct sink *k = arg;
  struct reject_row r;

  r.src_ip = st_col_text(st, 0);
  r.echoed_ip = st_col_text(st, 1);
  r.dst_ip = st_col_text(st, 2);
  r.banner_host = st_col_text(st, 3);
  r.first_us = sqlite3_column_int64(st, 4);
  r.code = sqlite3_column_int64(st, 5);
  r.enhanced = st_col_text(st, 6);
  r.text = st_col_text(st, 7);
  r.from_log = sqlite3_column_int(st, 8);
  return ((reject_fn)k->fn)(&r, k->ctx);
}

int64_t store_rejects(struct store *s, int64_t since, int64_t until,
                      reject_fn fn, void *ctx) {
  struct sink k = {(void (*)(void))fn, ctx};

/* The rejects of the wire, and those only the MTA's log saw (after
 * STARTTLS, or with no capture at all): the same reject seen both ways
 * counts once. The rejecting replies lead (replies_reject holds only
 * them): a scan of the window's sessions would read the whole history. */
#define REJECTS_Q(twins)                                                     \
  "SELECT s.src_ip, s.echoed_ip, s.dst_ip, s.banner_host, s.first_seen,"      \
  " r.code, r.enhanced, r.text, 0 FROM replies r CROSS JOIN sessions s"       \
  " ON s.id = r.session_id WHERE r.code >= 400 AND"                           \
  " s.direction != 'inbound'" WINDOW twins                                    \
  REJECTS_LOGGED(" AND d.at >= ?1 AND d.at <= ?2")
  return st_each_row(s, "reject query",
                  s->excluding ? REJECTS_Q(NOT_EXCLUDED) : REJECTS_Q(""),
                  since, until, NULL, st_take_reject, &k);
#undef REJECTS_Q
}

int store_identity_put(struct store *s, const struct identity_row *r,
                       int64_t at) {
  sqlite3_stmt *st;
  int rc;

  rc = st_prep(s, &s->q_ident,
            "INSERT OR REPLACE INTO identities(ip, iprev, ptr, helos, sources,"
            " echoed, sessions, rejected, starttls, first_seen, last_seen,"
            " unknown_direction, analyzed, points, dns_fetched, tls_logged)"
            " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16)");
  if (rc < 0 || (rc = st_tx_begin(s)) < 0) return rc;
  st = s->q_ident;
  sqlite3_bind_text(st, 1, r->ip, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, r->iprev, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, r->ptr, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 4, r->helos, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 5, r->sources, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 6, r->echoed, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 7, r->sessions);
  sqlite3_bind_int64(st, 8, r->rejected);
  sqlite3_bind_int64(st, 9, r->starttls);
  sqlite3_bind_int64(st, 16, r->tls_logged);
  sqlite3_bind_int64(st, 10, r->first_us);
  sqlite3_bind_int64(st, 11, r->last_us);
  sqlite3_bind_int(st, 12, r->unknown_direction);
  sqlite3_bind_int64(st, 13, at);
  sqlite3_bind_text(st, 14, r->points ? r->points : "[]", -1, SQLITE_STATIC);
  if (r->dns_fetched > 0) sqlite3_bind_int64(st, 15, r->dns_fetched);
  else sqlite3_bind_null(st, 15);
  rc = sqlite3_step(st);
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? 0 : st_fail(s, "identities");
}

int store_identity_log(struct store *s, const char *ip, int64_t at,
                       const char *iprev, const char *ptr) {
  sqlite3_stmt *st;
  int rc;

  rc = st_prep(s, &s->q_idlog,
            "INSERT OR IGNORE INTO identity_log(ip, at, iprev, ptr)"
            " SELECT ?1, ?2, ?3, ?4 WHERE NOT EXISTS (SELECT 1 FROM"
            " (SELECT iprev, ptr FROM identity_log WHERE ip = ?1"
            "  ORDER BY at DESC LIMIT 1) l WHERE l.iprev = ?3 AND l.ptr = ?4)");
  if (rc < 0 || (rc = st_tx_begin(s)) < 0) return rc;
  st = s->q_idlog;
  sqlite3_bind_text(st, 1, ip, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, at);
  sqlite3_bind_text(st, 3, iprev, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 4, ptr ? ptr : "", -1, SQLITE_STATIC);
  rc = sqlite3_step(st);
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? 0 : st_fail(s, "identity_log");
}

int store_analysis_begin(struct store *s, int64_t at) {
  (void)at;
  return st_tx_begin(s);
}

int store_finding_put(struct store *s, const struct finding *f, int64_t at) {
  sqlite3_stmt *st;
  int rc;

  rc = st_prep(s, &s->q_finding,
            "INSERT INTO findings(rule, severity, subject, detail, fix,"
            " first_seen, last_seen, count, status, analyzed, ident, opened,"
            " scope)"
            " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,'open',?9,?10,?9,?11)"
            " ON CONFLICT(rule, subject, ident) DO UPDATE SET"
            "  opened = CASE WHEN status = 'open' THEN opened"
            "  ELSE excluded.analyzed END,"
            "  severity = excluded.severity, detail = excluded.detail,"
            "  fix = excluded.fix,"
            "  first_seen = min(first_seen, excluded.first_seen),"
            "  last_seen = max(last_seen, excluded.last_seen),"
            "  count = excluded.count, status = 'open', closed_at = NULL,"
            "  analyzed = excluded.analyzed");
  if (rc < 0 || (rc = st_tx_begin(s)) < 0) return rc;
  st = s->q_finding;
  sqlite3_bind_text(st, 1, f->rule, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, severity_name(f->severity), -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, f->subject, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 4, f->detail, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 5, f->fix, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 6, f->first_us);
  sqlite3_bind_int64(st, 7, f->last_us);
  sqlite3_bind_int64(st, 8, f->count);
  sqlite3_bind_int64(st, 9, at);
  sqlite3_bind_text(st, 10, f->ident, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 11, f->scope == SCOPE_SERVER ? "server" : "egress", -1,
                    SQLITE_STATIC);
  rc = sqlite3_step(st);
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? 0 : st_fail(s, "findings");
}

int store_analysis_end(struct store *s, int64_t at, int64_t since,
                       int64_t until, const struct analysis_stats *a,
                       const char *resolver) {
  sqlite3_stmt *st = NULL;
  int rc = st_tx_begin(s);

  if (rc < 0) return rc;
  /* A finding about sessions inside the analysed window that this run did
   * not raise again is fixed: close it. */
  if (st_stmt(s, "UPDATE findings SET status = 'closed', closed_at = ?1"
                         " WHERE status = 'open' AND analyzed < ?1 AND"
                         " last_seen >= ?2 AND first_seen <= ?3", &st) < 0)
    return st_fail(s, "findings");
  sqlite3_bind_int64(st, 1, at);
  sqlite3_bind_int64(st, 2, since);
  sqlite3_bind_int64(st, 3, until);
  rc = sqlite3_step(st);
  st_done(s, st);
  if (rc != SQLITE_DONE) return st_fail(s, "findings");
  st = NULL;
  if (st_stmt(s, "INSERT INTO analyses(at, since, until, max_session_id,"
                         " identities, queries, cached, temp_failures, resolver)"
                         " VALUES(?1, ?2, ?3, CASE WHEN ?9 > 0 THEN ?9 ELSE"
                         " (SELECT coalesce(max(id), 0) FROM sessions) END,"
                         " ?4, ?5, ?6, ?7, ?8)", &st) < 0)
    return st_fail(s, "analyses");
  sqlite3_bind_int64(st, 1, at);
  sqlite3_bind_int64(st, 2, since);
  sqlite3_bind_int64(st, 3, until);
  sqlite3_bind_int64(st, 4, a->identities);
  sqlite3_bind_int64(st, 5, a->queries);
  sqlite3_bind_int64(st, 6, a->cached);
  sqlite3_bind_int64(st, 7, a->temp_failures);
  st_bind_str(st, 8, resolver);
  sqlite3_bind_int64(st, 9, a->max_session_id);
  rc = sqlite3_step(st);
  st_done(s, st);
  if (rc != SQLITE_DONE) return st_fail(s, "analyses");
  return store_flush(s);
}

int st_take_server(sqlite3_stmt *st, void *arg) {
  struct sink *k = arg;
  struct server_row r;

  r.ip = st_col_text(st, 0);
  r.banner_host = st_col_text(st, 1);
  r.sessions = sqlite3_column_int64(st, 2);
  r.first_us = sqlite3_column_int64(st, 3);
  r.last_us = sqlite3_column_int64(st, 4);
  return ((server_fn)k->fn)(&r, k->ctx);
}

int64_t store_inbound_servers(struct store *s, int64_t since, int64_t until,
                              server_fn fn, void *ctx) {
  struct sink k = {(void (*)(void))fn, ctx};

  return st_each_row(s, "servers",
                  "SELECT s.dst_ip, s.banner_host, count(*),"
                  " min(s.first_seen), max(s.last_seen) FROM sessions s"
                  " INDEXED BY sessions_direction" /* not a dst scan */
                  " WHERE s.direction = 'inbound' AND s.banner_host IS"
                  " NOT NULL" WINDOW " GROUP BY s.dst_ip, s.banner_host"
                  " ORDER BY s.dst_ip",
                  since, until, NULL, st_take_server, &k);
}

static int take_capture_drops(sqlite3_stmt *st, void *arg) {
  struct sink *k = arg;
  struct drops_row r;

  r.point = st_col_text(st, 0);
  r.dropped = sqlite3_column_int64(st, 1);
  r.first_us = sqlite3_column_int64(st, 2);
  r.last_us = sqlite3_column_int64(st, 3);
  return ((drops_fn)k->fn)(&r, k->ctx);
}

int64_t store_capture_drops(struct store *s, int64_t since, int64_t until,
                            drops_fn fn, void *ctx) {
  struct sink k = {(void (*)(void))fn, ctx};

  return st_each_row(s, "capture drops",
                  "SELECT p.name, sum(c.value), min(c.at), max(c.at)"
                  " FROM capture_stats c JOIN points p ON p.id ="
                  " c.point_id WHERE c.name IN ('ps_drop', 'ps_ifdrop')"
                  " AND c.at >= ?1 AND c.at <= ?2 GROUP BY p.name"
                  " HAVING sum(c.value) > 0",
                  since, until, NULL, take_capture_drops, &k);
}

static int take_twin(sqlite3_stmt *st, void *arg) {
  struct sink *k = arg;
  struct twin_row r;

  r.id = sqlite3_column_int64(st, 0);
  r.point = sqlite3_column_int64(st, 1);
  r.first_us = sqlite3_column_int64(st, 2);
  r.last_us = sqlite3_column_int64(st, 3);
  r.src_ip = st_col_text(st, 4);
  r.src_port = sqlite3_column_int(st, 5);
  r.dst_ip = st_col_text(st, 6);
  r.dst_port = sqlite3_column_int(st, 7);
  r.helo = st_col_text(st, 8);
  r.point_name = st_col_text(st, 9);
  r.seen_at = (uint64_t)sqlite3_column_int64(st, 10);
  r.routed = sqlite3_column_int(st, 11);
  return ((twin_fn)k->fn)(&r, k->ctx);
}

#define STR_(x) #x
#define STR(x) STR_(x)
int64_t store_twin_rows(struct store *s, int64_t since, int64_t until,
                        twin_fn fn, void *ctx) {
  struct sink k = {(void (*)(void))fn, ctx};

  /* The probes read the sessions with the same source address and port
   * around each one through sessions_srcport, at most TWIN_PROBE_MAX
   * rows: an index seek each, however many sessions a host sends. */
  return st_each_row(
      s, "twin query",
      "SELECT s.id, s.point_id, s.first_seen, s.last_seen, s.src_ip,"
      " s.src_port, s.dst_ip, s.dst_port, s.helo, p.name,"
      " (SELECT coalesce(sum(DISTINCT 1 << (q.point_id % 64)), 0) FROM"
      "  (SELECT r.point_id FROM sessions r INDEXED BY sessions_srcport"
      "   WHERE r.src_ip = s.src_ip AND r.src_port = s.src_port AND"
      "   r.first_seen BETWEEN s.first_seen - " STR(TWIN_WINDOW_US)
      "   AND s.first_seen + " STR(TWIN_WINDOW_US) " AND r.id != s.id"
      "   LIMIT " STR(TWIN_PROBE_MAX) ") q),"
      " EXISTS (SELECT 1 FROM"
      "  (SELECT t.id, t.point_id, t.dst_ip, t.dst_port FROM sessions t"
      "   INDEXED BY sessions_srcport WHERE t.src_ip = s.src_ip AND"
      "   t.src_port = s.src_port AND t.first_seen BETWEEN s.first_seen - "
      STR(TWIN_WINDOW_US) " AND s.first_seen + " STR(TWIN_WINDOW_US)
      "   LIMIT " STR(TWIN_PROBE_MAX) ") t"
      "  WHERE t.dst_ip = s.dst_ip AND t.dst_port = s.dst_port AND"
      "  t.point_id != s.point_id AND t.id < s.id)"
      " FROM sessions s JOIN points p ON p.id = s.point_id"
      " WHERE s.first_seen >= ?1 - " STR(TWIN_WINDOW_US)
      " AND s.first_seen <= ?2 + " STR(TWIN_WINDOW_US)
      " AND s.direction != 'inbound'"
      " ORDER BY s.dst_ip, s.first_seen",
      since == INT64_MIN ? INT64_MIN + TWIN_WINDOW_US : since,
      until == INT64_MAX ? INT64_MAX - TWIN_WINDOW_US : until, NULL,
      take_twin, &k);
}
#undef STR
#undef STR_

int store_nat_map_put(struct store *s, const struct nat_row *r) {
  sqlite3_stmt *st = NULL;
  int rc;

  if ((rc = st_tx_begin(s)) < 0) return rc;
  if (st_stmt(s, "INSERT INTO nat_map(inside_ip, outside_ip, point_in, point_out,"
          " first_seen, last_seen, sessions) VALUES(?1,?2,?3,?4,?5,?6,?7)"
          " ON CONFLICT(inside_ip, outside_ip) DO UPDATE SET"
          " first_seen = min(first_seen, excluded.first_seen),"
          " last_seen = max(last_seen, excluded.last_seen),"
          " sessions = excluded.sessions", &st) < 0)
    return st_fail(s, "nat_map");
  st_bind_nat(st, r);
  rc = sqlite3_step(st);
  st_done(s, st);
  return rc == SQLITE_DONE ? 0 : st_fail(s, "nat_map");
}

void st_bind_nat(sqlite3_stmt *st, const struct nat_row *r) {
  sqlite3_bind_text(st, 1, r->inside_ip, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, r->outside_ip, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, r->point_in ? r->point_in : "", -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 4, r->point_out ? r->point_out : "", -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 5, r->first_us);
  sqlite3_bind_int64(st, 6, r->last_us);
  sqlite3_bind_int64(st, 7, r->sessions);
}

int64_t store_max_session_id(struct store *s) {
  sqlite3_stmt *st = NULL;
  int64_t id = -1;

  if (st_stmt(s, "SELECT coalesce(max(id), 0) FROM sessions", &st) < 0)
    return st_fail(s, "sessions");
  if (sqlite3_step(st) == SQLITE_ROW) id = sqlite3_column_int64(st, 0);
  st_done(s, st);
  return id < 0 ? st_fail(s, "sessions") : id;
}
