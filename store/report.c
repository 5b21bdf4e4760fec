/* egressaudit - store/report.c: what people and scripts read: sessions, identities,
 * findings, the report's counts, an identity's log, the NAT map.
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

/* The session query: one SELECT, with the JSON built by SQLite's JSON
 * functions so every string is quoted by the same code. */
#define REJECT_SQL                                                           \
  "(SELECT code || ' ' || coalesce(enhanced || ' ', '') || text FROM"        \
  " replies r WHERE r.session_id = s.id AND code >= 400 ORDER BY seq"        \
  " LIMIT 1)"
/* What became of the mail, from the replies seen: a 5xx is rejected, a
 * 4xx deferred, a 2xx to the end of DATA/BDAT accepted; after STARTTLS
 * the rest is ciphertext (tls: not visible, never taken for accepted);
 * syn-only and refused connections; anything else ended incomplete. */
#define OUTCOME_SQL                                                          \
  "CASE WHEN EXISTS (SELECT 1 FROM replies r WHERE r.session_id = s.id"     \
  " AND r.code >= 500) THEN 'rejected'"                                      \
  " WHEN EXISTS (SELECT 1 FROM replies r WHERE r.session_id = s.id"         \
  " AND r.code >= 400) THEN 'deferred'"                                      \
  " WHEN EXISTS (SELECT 1 FROM replies r WHERE r.session_id = s.id"         \
  " AND r.cmd IN ('DATA', 'BDAT') AND r.code BETWEEN 200 AND 299)"          \
  " THEN 'accepted'"                                                         \
  /* after STARTTLS, what the MTA's log said of the attempt (read --maillog) */ \
  " WHEN EXISTS (SELECT 1 FROM deliveries d WHERE d.session_id = s.id"       \
  " AND d.code >= 500) THEN 'rejected'"                                      \
  " WHEN EXISTS (SELECT 1 FROM deliveries d WHERE d.session_id = s.id"       \
  " AND d.code >= 400) THEN 'deferred'"                                      \
  " WHEN EXISTS (SELECT 1 FROM deliveries d WHERE d.session_id = s.id"       \
  " AND d.status = 'sent') THEN 'accepted'"                                  \
  " WHEN s.starttls THEN 'tls'"                                              \
  " WHEN s.state = 'syn-only' THEN 'no-answer'"                              \
  " WHEN s.state = 'refused' THEN 'refused'"                                 \
  " ELSE 'incomplete' END"
#define SESS_COLS                                                            \
  "s.first_seen, s.last_seen, p.name, s.src_ip, s.src_port, s.dst_ip,"       \
  " s.dst_port, s.state, s.end_reason, s.banner, s.helo, s.ehlo_reply,"      \
  " s.echoed_ip, s.starttls, s.last_code, s.last_reply, s.vlan, s.direction,"\
  " s.banner_host,"                                                          \
  " (SELECT count(*) FROM replies r WHERE r.session_id = s.id),"             \
  " " REJECT_SQL ", " OUTCOME_SQL ","                                       \
  " (SELECT coalesce(d.code || ' ', '') || coalesce(d.dsn || ' ', '') ||"    \
  " coalesce(d.reply, d.status) FROM deliveries d WHERE"                     \
  " d.session_id = s.id ORDER BY d.at DESC LIMIT 1)"
#define SESS_JSON                                                            \
  ", json_object('first_seen', rfc3339(s.first_seen),"                       \
  " 'last_seen', rfc3339(s.last_seen), 'point', p.name,"                     \
  " 'src_ip', s.src_ip, 'src_port', s.src_port, 'dst_ip', s.dst_ip,"         \
  " 'dst_port', s.dst_port, 'ipver', s.ipver, 'vlan', s.vlan,"               \
  " 'direction', s.direction, 'outcome', " OUTCOME_SQL ","                   \
  " 'logged', json((SELECT json_object('status', d.status, 'code', d.code,"  \
  " 'dsn', d.dsn, 'reply', d.reply, 'stage', d.stage, 'queue_id',"           \
  " d.queue_id, 'recipient_domain', d.rcpt_domain, 'tls', d.tls)"            \
  " FROM deliveries d"                                                       \
  " WHERE d.session_id = s.id ORDER BY d.at DESC LIMIT 1)),"                 \
  " 'state', s.state, 'end', s.end_reason, 'client_by', s.client_by,"        \
  " 'banner', s.banner, 'banner_host', s.banner_host, 'helo', s.helo,"       \
  " 'helos', json((SELECT json_group_array(name) FROM (SELECT name FROM"     \
  " helos h WHERE h.session_id = s.id ORDER BY seq))),"                      \
  " 'helo_verbs', json((SELECT json_group_array(verb) FROM (SELECT verb"     \
  " FROM helos h WHERE h.session_id = s.id ORDER BY seq))),"                 \
  " 'ehlo_reply', s.ehlo_reply, 'echoed_ip', s.echoed_ip,"                   \
  " 'echoed_from', s.echoed_from, 'mail_from_domain', s.mail_from_domain,"   \
  " 'starttls', json(CASE WHEN s.starttls THEN 'true' ELSE 'false' END),"    \
  " 'starttls_offered', json(CASE WHEN s.starttls_offered THEN 'true'"       \
  " ELSE 'false' END),"                                                      \
  " 'starttls_requested', json(CASE WHEN s.starttls_requested THEN 'true'"   \
  " ELSE 'false' END),"                                                      \
  " 'last_reply', s.last_reply, 'reject', " REJECT_SQL ","                           \
  " 'replies', json((SELECT json_group_array(json_object('code', code,"      \
  " 'enhanced', enhanced, 'text', text, 'cmd', cmd)) FROM (SELECT * FROM"    \
  " replies r WHERE r.session_id = s.id ORDER BY seq))),"                    \
  " 'packets', json_array(s.pkts_c2s, s.pkts_s2c),"                          \
  " 'bytes', json_array(s.bytes_c2s, s.bytes_s2c),"                          \
  " 'anomalies', json_object('overlong', s.n_overlong, 'bare_lf',"           \
  " s.n_bare_lf, 'bare_cr', s.n_bare_cr, 'gaps', s.n_gaps, 'pipelined',"     \
  " s.n_pipelined, 'retransmissions', s.n_retrans, 'out_of_order', s.n_ooo," \
  " 'bad_replies', s.n_bad_reply, 'replies_dropped', s.n_replies_dropped,"   \
  " 'truncated', s.n_truncated, 'fragments', s.n_fragments))"

int64_t store_sessions(struct store *s, const struct sess_filter *f,
                       bool want_json, sess_row_fn fn, void *ctx) {
  char sql[16384]; /* the JSON form with every filter: about 5 KB */
  size_t n;
  sqlite3_stmt *st = NULL;
  struct sess_row row;
  int64_t count = 0;
  int rc, i = 1;

  n = (size_t)snprintf(sql, sizeof(sql),
                       "SELECT s.id, p.host, " SESS_COLS "%s FROM sessions s JOIN points p"
                       " ON p.id = s.point_id WHERE 1",
                       want_json ? SESS_JSON : "");
#define ADD(cond) n += (size_t)snprintf(sql + n, sizeof(sql) - n, " AND %s", cond)
  if (f->ip) ADD("(s.src_ip = ?1 OR s.echoed_ip = ?1)");
  if (f->helo)
    ADD("s.id IN (SELECT session_id FROM helos WHERE name = ?2"
        " COLLATE NOCASE)"); /* uses helos_name, not a scan */
  if (f->dst) ADD("(s.dst_ip = ?3 OR s.banner_host = ?3 COLLATE NOCASE)");
  if (f->state) ADD("s.state = ?4");
  if (f->direction) ADD("s.direction = ?9");
  if (f->outcome) ADD("(" OUTCOME_SQL ") = ?10");
  if (f->point) ADD("p.name = ?5");
  if (f->since != INT64_MIN) ADD("s.first_seen >= ?6");
  if (f->until != INT64_MAX) ADD("s.first_seen <= ?7");
  if (f->id_order) ADD("s.id > ?11");
#undef ADD
  n += (size_t)snprintf(sql + n, sizeof(sql) - n, " ORDER BY %s%s",
                        f->id_order ? "s.id" : "s.first_seen, s.id",
                        f->limit > 0 ? " LIMIT ?8" : "");
  if (n >= sizeof(sql)) {
    snprintf(s->err, sizeof(s->err), "sessions: the query is too long");
    return -E2BIG;
  }
  if (st_stmt(s, sql, &st) < 0)
    return st_fail(s, "sessions query");
  if (f->ip) sqlite3_bind_text(st, 1, f->ip, -1, SQLITE_STATIC);
  if (f->helo) sqlite3_bind_text(st, 2, f->helo, -1, SQLITE_STATIC);
  if (f->dst) sqlite3_bind_text(st, 3, f->dst, -1, SQLITE_STATIC);
  if (f->state) sqlite3_bind_text(st, 4, f->state, -1, SQLITE_STATIC);
  if (f->point) sqlite3_bind_text(st, 5, f->point, -1, SQLITE_STATIC);
  if (f->since != INT64_MIN) sqlite3_bind_int64(st, 6, f->since);
  if (f->until != INT64_MAX) sqlite3_bind_int64(st, 7, f->until);
  if (f->limit > 0) sqlite3_bind_int64(st, 8, f->limit);
  if (f->direction) sqlite3_bind_text(st, 9, f->direction, -1, SQLITE_STATIC);
  if (f->outcome) sqlite3_bind_text(st, 10, f->outcome, -1, SQLITE_STATIC);
  if (f->id_order) sqlite3_bind_int64(st, 11, f->after_id);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    memset(&row, 0, sizeof(row));
    i = 0;
    row.id = sqlite3_column_int64(st, i++);
    row.host = st_col_text(st, i++);
    row.first_us = sqlite3_column_int64(st, i++);
    row.last_us = sqlite3_column_int64(st, i++);
    row.point = st_col_text(st, i++);
    row.src_ip = st_col_text(st, i++);
    row.src_port = sqlite3_column_int64(st, i++);
    row.dst_ip = st_col_text(st, i++);
    row.dst_port = sqlite3_column_int64(st, i++);
    row.state = st_col_text(st, i++);
    row.end = st_col_text(st, i++);
    row.banner = st_col_text(st, i++);
    row.helo = st_col_text(st, i++);
    row.ehlo_reply = st_col_text(st, i++);
    row.echoed_ip = st_col_text(st, i++);
    row.starttls = sqlite3_column_int64(st, i++);
    row.last_code = sqlite3_column_int64(st, i++);
    row.last_reply = st_col_text(st, i++);
    row.vlan = sqlite3_column_type(st, i) == SQLITE_NULL
                   ? -1
                   : sqlite3_column_int64(st, i);
    i++;
    row.direction = st_col_text(st, i++);
    row.banner_host = st_col_text(st, i++);
    row.n_replies = sqlite3_column_int64(st, i++);
    row.reject = st_col_text(st, i++);
    row.outcome = st_col_text(st, i++);
    row.logged = st_col_text(st, i++);
    if (want_json) row.json = st_col_text(st, i++);
    count++;
    if (fn(&row, ctx) != 0) break;
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    int e = st_fail(s, "sessions query");
    st_done(s, st);
    return e;
  }
  st_done(s, st);
  return count;
}

static int take_idlog(sqlite3_stmt *st, void *arg) {
  struct sink *k = arg;
  struct idlog_row r;

  r.ip = st_col_text(st, 0);
  r.at = sqlite3_column_int64(st, 1);
  r.iprev = st_col_text(st, 2);
  r.ptr = st_col_text(st, 3);
  r.analyzed = sqlite3_column_int64(st, 4);
  r.fetched = sqlite3_column_int64(st, 5);
  return ((idlog_fn)k->fn)(&r, k->ctx);
}

int64_t store_identity_log_of(struct store *s, const char *ip, idlog_fn fn,
                              void *ctx) {
  struct sink k = {(void (*)(void))fn, ctx};

  return st_each_row(s, "identity log",
                  "SELECT l.ip, l.at, l.iprev, l.ptr, coalesce(i.analyzed, 0),"
                  " coalesce(i.dns_fetched, 0) FROM identity_log l"
                  " LEFT JOIN identities i ON i.ip = l.ip WHERE l.ip = ?3"
                  " AND l.at BETWEEN ?1 AND ?2 ORDER BY l.at",
                  INT64_MIN, INT64_MAX, ip, take_idlog, &k);
}

/* --- report ------------------------------------------------------------- */

static int take_identities(sqlite3_stmt *st, void *arg) {
  struct sink *k = arg;
  struct identity_row r;

  r.ip = st_col_text(st, 0);
  r.iprev = st_col_text(st, 1);
  r.ptr = st_col_text(st, 2);
  r.helos = st_col_text(st, 3);
  r.sources = st_col_text(st, 4);
  r.echoed = st_col_text(st, 5);
  r.sessions = sqlite3_column_int64(st, 6);
  r.rejected = sqlite3_column_int64(st, 7);
  r.starttls = sqlite3_column_int64(st, 8);
  r.first_us = sqlite3_column_int64(st, 9);
  r.last_us = sqlite3_column_int64(st, 10);
  r.unknown_direction = sqlite3_column_int(st, 11);
  r.points = st_col_text(st, 12);
  r.dns_fetched = sqlite3_column_int64(st, 13); /* NULL: 0 */
  r.tls_logged = sqlite3_column_int64(st, 14);
  return ((identity_fn)k->fn)(&r, k->ctx);
}

int64_t store_identities(struct store *s, int64_t since, int64_t until,
                         const char *point, identity_fn fn, void *ctx) {
  struct sink k = {(void (*)(void))fn, ctx};

  return st_each_row(s, "identities",
                  "SELECT ip, iprev, ptr, helos, sources, echoed, sessions,"
                  " rejected, starttls, first_seen, last_seen,"
                  " unknown_direction, points, dns_fetched, tls_logged"
                  " FROM identities"
                  " WHERE last_seen >= ?1 AND first_seen <= ?2"
                  " AND (?3 IS NULL OR EXISTS (SELECT 1 FROM json_each("
                  "  CASE WHEN json_valid(points) THEN points ELSE '[]' END)"
                  "  WHERE value IN (SELECT value FROM json_each(?3))))"
                  " ORDER BY ip",
                  since, until, point, take_identities, &k);
}

static int take_findings(sqlite3_stmt *st, void *arg) {
  struct sink *k = arg;
  struct finding_row r;

  r.rule = st_col_text(st, 0);
  r.severity = severity_parse(st_col_text(st, 1) ? st_col_text(st, 1) : "");
  r.subject = st_col_text(st, 2);
  r.ident = st_col_text(st, 3);
  r.detail = st_col_text(st, 4);
  r.fix = st_col_text(st, 5);
  r.status = st_col_text(st, 6);
  r.first_us = sqlite3_column_int64(st, 7);
  r.last_us = sqlite3_column_int64(st, 8);
  r.count = sqlite3_column_int64(st, 9);
  r.closed_us = sqlite3_column_int64(st, 10);
  r.id = sqlite3_column_int64(st, 11);
  r.opened_us = sqlite3_column_int64(st, 12);
  r.server = st_col_text(st, 13) && strcmp(st_col_text(st, 13), "server") == 0;
  return ((finding_fn_row)k->fn)(&r, k->ctx);
}

int64_t store_finding_events(struct store *s, int64_t after, int64_t upto,
                             finding_fn_row fn, void *ctx) {
  struct sink k = {(void (*)(void))fn, ctx};

  return st_each_row(s, "findings",
                     "SELECT rule, severity, subject, ident, detail, fix, status,"
                     " first_seen, last_seen, count, closed_at, id, opened, scope"
                     " FROM findings WHERE (status = 'open' AND opened > ?1"
                     " AND opened <= ?2) OR (status = 'closed' AND closed_at > ?1"
                     " AND closed_at <= ?2)"
                     " ORDER BY CASE status WHEN 'open' THEN opened"
                     " ELSE closed_at END, id",
                     after, upto, NULL, take_findings, &k);
}

int64_t store_last_analysis(struct store *s) {
  int err = 0;
  int64_t at = st_scalar(s, "SELECT coalesce(max(at), 0) FROM analyses", 0, 0,
                         &err);
  return err ? err : at;
}

int64_t store_findings(struct store *s, int64_t since, int64_t until,
                       finding_fn_row fn, void *ctx) {
  struct sink k = {(void (*)(void))fn, ctx};

  return st_each_row(s, "findings",
                  "SELECT rule, severity, subject, ident, detail, fix, status,"
                  " first_seen, last_seen, count, closed_at, id, opened, scope"
                  " FROM findings"
                  " WHERE status = 'open' AND last_seen >= ?1 AND first_seen <= ?2"
                  " ORDER BY rule, subject",
                  since, until, NULL, take_findings, &k);
}

static int take_open(sqlite3_stmt *st, void *arg) {
  struct sink *k = arg;

  return ((open_count_fn)k->fn)(st_col_text(st, 0),
                                severity_parse(st_col_text(st, 1)),
                                sqlite3_column_int64(st, 2), k->ctx);
}

int64_t store_findings_open(struct store *s, open_count_fn fn, void *ctx) {
  struct sink k = {(void (*)(void))fn, ctx};

  return st_each_row(s, "findings",
                     "SELECT rule, severity, count(*) FROM findings"
                     " WHERE status = 'open' GROUP BY rule, severity"
                     " ORDER BY rule, severity",
                     0, 0, NULL, take_open, &k);
}

int store_report_meta(struct store *s, int64_t since, int64_t until,
                      struct report_meta *m) {
  int err = 0;

  memset(m, 0, sizeof(*m));
  m->last_analysis = st_scalar(s, "SELECT coalesce(max(at), 0) FROM analyses", 0, 0, &err);
  m->new_sessions = st_scalar(s,
                           "SELECT count(*) FROM sessions WHERE id > (SELECT"
                           " coalesce(max(max_session_id), 0) FROM analyses)",
                           0, 0, &err);
  m->sessions = st_scalar(s,
                       "SELECT count(*) FROM sessions WHERE first_seen >= ?1"
                       " AND first_seen <= ?2",
                       since, until, &err);
  m->unknown_dir = st_scalar(s,
                          "SELECT count(*) FROM sessions WHERE first_seen >= ?1"
                          " AND first_seen <= ?2 AND direction = 'unknown'",
                          since, until, &err);
  m->points = st_scalar(s, "SELECT count(*) FROM points", 0, 0, &err);
  m->last_heartbeat = st_scalar(s, "SELECT coalesce(max(at), 0) FROM capture_stats",
                                0, 0, &err);
  {
    sqlite3_stmt *st = NULL;
    if (st_stmt(s, "SELECT coalesce(resolver, '') FROM analyses ORDER BY at"
                   " DESC, id DESC LIMIT 1", &st) < 0) {
      err = st_fail(s, "report");
    } else {
      if (sqlite3_step(st) == SQLITE_ROW && st_col_text(st, 0))
        snprintf(m->resolver, sizeof(m->resolver), "%s", st_col_text(st, 0));
      st_done(s, st);
    }
  }
  m->drops = st_scalar(s,
                    "SELECT coalesce(sum(value), 0) FROM capture_stats WHERE"
                    " name IN ('ps_drop', 'ps_ifdrop') AND at >= ?1 AND at <= ?2",
                    since, until, &err);
  return err;
}

int st_take_nat(sqlite3_stmt *st, void *arg) {
  struct sink *k = arg;
  struct nat_row r;

  memset(&r, 0, sizeof(r));
  r.inside_ip = st_col_text(st, 0);
  r.outside_ip = st_col_text(st, 1);
  r.point_in = st_col_text(st, 2);
  r.point_out = st_col_text(st, 3);
  r.first_us = sqlite3_column_int64(st, 4);
  r.last_us = sqlite3_column_int64(st, 5);
  r.sessions = sqlite3_column_int64(st, 6);
  return ((nat_fn)k->fn)(&r, k->ctx);
}

int64_t store_nat_map(struct store *s, int64_t since, int64_t until,
                      nat_fn fn, void *ctx) {
  struct sink k = {(void (*)(void))fn, ctx};

  return st_each_row(s, "nat map",
                  "SELECT inside_ip, outside_ip, point_in, point_out,"
                  " first_seen, last_seen, sessions FROM nat_map"
                  " WHERE last_seen >= ?1 AND first_seen <= ?2"
                  " ORDER BY inside_ip, first_seen",
                  since, until, NULL, st_take_nat, &k);
}

int store_span(struct store *s, int64_t since, int64_t until, int64_t *first,
               int64_t *last) {
  sqlite3_stmt *st = NULL;
  int rc;

  *first = *last = 0;
  /* the MTA log's attempts count too: a host without a capture */
  if ((rc = st_stmt(s, "SELECT min(a), max(b) FROM (SELECT min(s.first_seen) a,"
                       " max(s.last_seen) b FROM sessions s WHERE"
                       " s.direction != 'inbound'" WINDOW " UNION ALL SELECT"
                       " min(at), max(at) FROM deliveries WHERE at >= ?1 AND"
                       " at <= ?2)",
                    &st)) < 0)
    return rc;
  sqlite3_bind_int64(st, 1, since);
  sqlite3_bind_int64(st, 2, until);
  if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    *first = sqlite3_column_int64(st, 0);
    *last = sqlite3_column_int64(st, 1);
    rc = 0;
  } else {
    rc = st_fail(s, "sessions");
  }
  st_done(s, st);
  return rc;
}

/* The sessions of the window per (source, bin): all of them (with the
 * unanswered and the TLS ones), then those with a 5xx reply, a 4xx reply,
 * and the TLS ones whose outcome the MTA log gave. The last three start
 * from the replies or attempts that qualify (few, next to the sessions),
 * never from a lookup per session. */
/* [1]: only the sources in temp.ea_lanes (the lanes drawn: each read
 * through the index on the source, not the whole window). */
#define TL_QUERIES(only)                                                     \
  {"SELECT s.src_ip, min(?5 - 1, max(0, (s.first_seen - ?3) / ?4)) AS bin,"  \
   " count(*), sum(s.state IN ('syn-only', 'refused')), sum(s.starttls),"    \
   " min(s.first_seen), max(s.last_seen), max(s.echoed_ip), min(p.name)"     \
   " FROM sessions s JOIN points p ON p.id = s.point_id"                     \
   " WHERE s.direction != 'inbound'" WINDOW only " GROUP BY s.src_ip, bin",  \
   TL_BY("SELECT session_id FROM replies WHERE code >= 500 UNION"            \
         " SELECT session_id FROM deliveries WHERE code >= 500", only),       \
   TL_BY("SELECT session_id FROM replies WHERE code BETWEEN 400 AND 499"     \
         " UNION SELECT session_id FROM deliveries WHERE code BETWEEN 400"   \
         " AND 499", only),                                                  \
   TL_BY("SELECT DISTINCT d.session_id FROM deliveries d JOIN sessions t"    \
         " ON t.id = d.session_id WHERE t.starttls", only)}
#define TL_BY(ids, only)                                                     \
  "SELECT s.src_ip, min(?5 - 1, max(0, (s.first_seen - ?3) / ?4)) AS bin,"   \
  " count(*) FROM (" ids ") x JOIN sessions s ON s.id = x.session_id"        \
  " WHERE s.direction != 'inbound'" WINDOW only " GROUP BY s.src_ip, bin"
static const char *const TL_SQL[2][4] = {
    TL_QUERIES(""),
    TL_QUERIES(" AND s.src_ip IN (SELECT src FROM temp.ea_lanes)"),
};
#undef TL_BY
#undef TL_QUERIES

/* temp.ea_lanes holds srcs (or is emptied: n 0). 0 or a negative errno. */
static int tl_lanes(struct store *s, const char *const *srcs, size_t n) {
  sqlite3_stmt *st = NULL;
  size_t i;
  int rc = 0;

  if (sqlite3_exec(s->db, "CREATE TEMP TABLE IF NOT EXISTS ea_lanes(src TEXT"
                          " PRIMARY KEY); DELETE FROM temp.ea_lanes;",
                   NULL, NULL, NULL) != SQLITE_OK)
    return st_fail(s, "lanes");
  if (n == 0) return 0;
  if ((rc = st_stmt(s, "INSERT OR IGNORE INTO temp.ea_lanes(src) VALUES(?1)", &st)) < 0)
    return rc;
  for (i = 0; i < n && rc == 0; i++) {
    sqlite3_bind_text(st, 1, srcs[i], -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) rc = st_fail(s, "lanes");
    sqlite3_reset(st);
  }
  st_done(s, st);
  return rc;
}

int64_t store_timeline(struct store *s, int64_t since, int64_t until,
                       int64_t t0, int64_t width, int64_t nbins,
                       const char *const *srcs, size_t nsrcs, tl_fn fn,
                       void *ctx) {
  int64_t n = 0;
  int q, rc;

  if ((rc = tl_lanes(s, srcs, srcs ? nsrcs : 0)) < 0) return rc;
  for (q = 0; q < 4 && rc == 0; q++) {
    sqlite3_stmt *st = NULL;
    if ((rc = st_stmt(s, TL_SQL[srcs != NULL][q], &st)) < 0) return rc;
    sqlite3_bind_int64(st, 1, since);
    sqlite3_bind_int64(st, 2, until);
    sqlite3_bind_int64(st, 3, t0);
    sqlite3_bind_int64(st, 4, width > 0 ? width : 1);
    sqlite3_bind_int64(st, 5, nbins);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      struct tl_bin b;
      memset(&b, 0, sizeof(b));
      b.what = (enum tl_what)q;
      b.src_ip = st_col_text(st, 0);
      b.bin = sqlite3_column_int64(st, 1);
      b.sessions = sqlite3_column_int64(st, 2);
      if (q == 0) {
        b.unanswered = sqlite3_column_int64(st, 3);
        b.starttls = sqlite3_column_int64(st, 4);
        b.first_us = sqlite3_column_int64(st, 5);
        b.last_us = sqlite3_column_int64(st, 6);
        b.echoed_ip = st_col_text(st, 7);
        b.point = st_col_text(st, 8);
      }
      n++;
      if (fn(&b, ctx) != 0) break;
    }
    rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : st_fail(s, "timeline");
    st_done(s, st);
  }
  return rc < 0 ? rc : n;
}

int store_busiest_sources(struct store *s, int64_t since, int64_t until,
                          int limit, int64_t *all, src_fn fn, void *ctx) {
  sqlite3_stmt *st = NULL;
  int rc;

  *all = 0;
  if ((rc = st_stmt(s, "SELECT s.src_ip, count(*) AS n, count(*) OVER () FROM"
                       " sessions s WHERE s.direction != 'inbound'" WINDOW
                       " GROUP BY s.src_ip ORDER BY n DESC, s.src_ip LIMIT ?3",
                    &st)) < 0)
    return rc;
  sqlite3_bind_int64(st, 1, since);
  sqlite3_bind_int64(st, 2, until);
  sqlite3_bind_int(st, 3, limit);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    *all = sqlite3_column_int64(st, 2);
    if (fn(st_col_text(st, 0), sqlite3_column_int64(st, 1), ctx) != 0) break;
  }
  rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : st_fail(s, "sources");
  st_done(s, st);
  return rc;
}

static int take_host(sqlite3_stmt *st, void *arg) {
  struct sink *k = arg;
  struct host_row r;

  r.host = st_col_text(st, 0);
  r.points = st_col_text(st, 1);
  r.sessions = sqlite3_column_int64(st, 2);
  r.egress = sqlite3_column_int64(st, 3);
  r.rejected = sqlite3_column_int64(st, 4);
  r.sources = st_col_text(st, 5);
  r.helos = st_col_text(st, 6);
  r.last_session = sqlite3_column_int64(st, 7);
  r.last_heartbeat = sqlite3_column_int64(st, 8);
  return ((host_fn)k->fn)(&r, k->ctx);
}

/* Per host: every count seeks the sessions of its points by the index
 * that starts with point_id (and first_seen); the newest session and
 * counter are one index seek per point. */
#define HOST_PTS "(SELECT id FROM points WHERE coalesce(host, '') = h.host)"
#define HOST_WIN "s.point_id IN " HOST_PTS " AND s.first_seen >= ?1 AND s.first_seen <= ?2"

int64_t store_hosts(struct store *s, int64_t since, int64_t until,
                    const char *only, host_fn fn, void *ctx) {
  struct sink k = {(void (*)(void))fn, ctx};

  return st_each_row(s, "hosts",
      "SELECT h.host,"
      " (SELECT json_group_array(name) FROM (SELECT name FROM points"
      "  WHERE coalesce(host, '') = h.host ORDER BY name)),"
      " (SELECT count(*) FROM sessions s WHERE " HOST_WIN "),"
      " (SELECT count(*) FROM sessions s WHERE " HOST_WIN
      "  AND s.direction = 'egress'),"
      " (SELECT count(*) FROM sessions s WHERE " HOST_WIN
      "  AND s.direction = 'egress' AND EXISTS (SELECT 1 FROM replies r"
      "  WHERE r.session_id = s.id AND r.code >= 500)),"
      " (SELECT json_group_array(src_ip) FROM (SELECT DISTINCT s.src_ip"
      "  FROM sessions s WHERE " HOST_WIN " AND s.direction = 'egress'"
      "  ORDER BY 1 LIMIT 16)),"
      " (SELECT json_group_array(helo) FROM (SELECT DISTINCT s.helo"
      "  FROM sessions s WHERE " HOST_WIN " AND s.direction = 'egress'"
      "  AND s.helo IS NOT NULL ORDER BY 1 LIMIT 16)),"
      " (SELECT coalesce(max(m), 0) FROM (SELECT (SELECT max(first_seen)"
      "  FROM sessions WHERE point_id = p.id) AS m FROM points p"
      "  WHERE coalesce(p.host, '') = h.host)),"
      " (SELECT coalesce(max(m), 0) FROM (SELECT (SELECT max(at)"
      "  FROM capture_stats WHERE point_id = p.id) AS m FROM points p"
      "  WHERE coalesce(p.host, '') = h.host))"
      " FROM (SELECT DISTINCT coalesce(host, '') AS host FROM points) h"
      " WHERE ?3 IS NULL OR h.host = ?3 ORDER BY h.host",
      since, until, only, take_host, &k);
}

int64_t store_host_count(struct store *s) {
  int err = 0;
  int64_t n = st_scalar(s, "SELECT count(DISTINCT coalesce(host, '')) FROM points",
                        0, 0, &err);
  return err ? err : n;
}
