/* egressaudit - store/deliveries.c: delivery attempts read from the MTA's
 * log, and their tie to the captured sessions.
 * SPDX-License-Identifier: MIT
 */
#include "store/store.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>

#include "store/store_int.h"

static void bind_opt_text(sqlite3_stmt *st, int i, const char *v) {
  if (v != NULL && v[0]) sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
  else sqlite3_bind_null(st, i);
}

/* A write statement, in the open batch. 0, or a negative errno (nothing
 * to give back then). */
static int write_stmt(struct store *s, const char *sql, sqlite3_stmt **st) {
  int rc;

  *st = NULL;
  if ((rc = st_stmt(s, sql, st)) < 0) return rc;
  if ((rc = st_tx_begin(s)) < 0) {
    st_done(s, *st);
    *st = NULL;
  }
  return rc;
}

int store_delivery_put(struct store *s, const struct delivery_row *r) {
  sqlite3_stmt *st = NULL;
  int rc;

  if ((rc = write_stmt(s,
                       "INSERT OR IGNORE INTO deliveries(at, host, line_hash,"
                       " queue_id, rcpt_domain, relay_name, relay_ip,"
                       " relay_port, conn_use, delay, d_conn, d_xmit, dsn,"
                       " status, code, reply, stage, src_ip, src_port, tls)"
                       " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,"
                       "?14,?15,?16,?17,?18,?19,?20)",
                       &st)) < 0)
    return rc;
  sqlite3_bind_int64(st, 1, r->at_us);
  sqlite3_bind_text(st, 2, r->host ? r->host : "", -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, r->line_hash);
  sqlite3_bind_text(st, 4, r->queue_id ? r->queue_id : "", -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 5, r->rcpt_domain ? r->rcpt_domain : "", -1, SQLITE_STATIC);
  bind_opt_text(st, 6, r->relay_name);
  bind_opt_text(st, 7, r->relay_ip);
  if (r->relay_port > 0) sqlite3_bind_int(st, 8, r->relay_port);
  else sqlite3_bind_null(st, 8);
  sqlite3_bind_int(st, 9, r->conn_use);
  sqlite3_bind_double(st, 10, r->delay);
  sqlite3_bind_double(st, 11, r->d_conn);
  sqlite3_bind_double(st, 12, r->d_xmit);
  bind_opt_text(st, 13, r->dsn);
  sqlite3_bind_text(st, 14, r->status, -1, SQLITE_STATIC);
  if (r->code > 0) sqlite3_bind_int(st, 15, r->code);
  else sqlite3_bind_null(st, 15);
  bind_opt_text(st, 16, r->reply);
  bind_opt_text(st, 17, r->stage);
  bind_opt_text(st, 18, r->src_ip);
  if (r->src_port > 0) sqlite3_bind_int(st, 19, r->src_port);
  else sqlite3_bind_null(st, 19);
  bind_opt_text(st, 20, r->tls);
  rc = sqlite3_step(st);
  rc = rc == SQLITE_DONE ? sqlite3_changes(s->db) > 0 : st_fail(s, "deliveries");
  st_done(s, st);
  return rc;
}

/* The session a delivery rode on: the same receiver address and port,
 * open at the line's time; its connection began (c + d) seconds before
 * the line, or earlier for a reused one (conn_use > 1). Two seconds of
 * slack for the clocks of log and capture (and syslog's whole seconds).
 * Of several, the one whose wire shows the same reply, then one that
 * went TLS (the log is what shows its outcome), then the latest. */
#define FIND_SESSION                                                         \
  "SELECT x.id FROM sessions x LEFT JOIN replies r ON r.session_id = x.id"   \
  " AND r.code = ?5 AND r.text = ?7 WHERE x.dst_ip = ?1 AND x.dst_port = ?2 AND"             \
  " x.direction != 'inbound' AND x.first_seen <= ?3 + 2000000 AND"           \
  " x.last_seen >= ?4 - 2000000 AND (?6 > 1 OR x.first_seen >= ?4 - 2000000)" \
  " AND (?8 IS NULL OR (x.src_ip = ?8 AND x.src_port = ?9))"                 \
  " ORDER BY r.session_id IS NOT NULL DESC, x.starttls DESC,"                \
  " x.first_seen DESC LIMIT 1"

int64_t store_deliveries_join(struct store *s, int64_t from_id, int64_t since,
                              int64_t until) {
  sqlite3_stmt *todo = NULL, *find = NULL, *set = NULL;
  int64_t tied = 0;
  int rc;

  if ((rc = st_stmt(s, "SELECT id, relay_ip, coalesce(relay_port, 25), at,"
                       " at - CAST((coalesce(d_conn, 0) + coalesce(d_xmit, 0))"
                       " * 1000000 AS INTEGER), coalesce(code, 0), conn_use,"
                       " coalesce(reply, ''), src_ip, coalesce(src_port, 0)"
                       /* a scan by rowid (+: not the index on the column the
                        * loop sets), so the rows set never move under it */
                       " FROM deliveries WHERE id >= ?1 AND at >= ?2 AND at <= ?3"
                       " AND +session_id IS NULL"
                       " AND relay_ip IS NOT NULL", &todo)) < 0 ||
      (rc = st_stmt(s, FIND_SESSION, &find)) < 0 ||
      (rc = st_stmt(s, "UPDATE deliveries SET session_id = ?2 WHERE id = ?1",
                    &set)) < 0 ||
      (rc = st_tx_begin(s)) < 0)
    goto done;
  sqlite3_bind_int64(todo, 1, from_id);
  sqlite3_bind_int64(todo, 2, since);
  sqlite3_bind_int64(todo, 3, until);
  while ((rc = sqlite3_step(todo)) == SQLITE_ROW) {
    int i;
    sqlite3_bind_value(find, 1, sqlite3_column_value(todo, 1));
    for (i = 2; i <= 6; i++) /* port, at, connect, code, conn_use */
      sqlite3_bind_int64(find, i, sqlite3_column_int64(todo, i));
    sqlite3_bind_value(find, 7, sqlite3_column_value(todo, 7));
    /* Exim's I= names our end: then that very connection, nothing else */
    sqlite3_bind_value(find, 8, sqlite3_column_value(todo, 8));
    sqlite3_bind_value(find, 9, sqlite3_column_value(todo, 9));
    rc = sqlite3_step(find);
    if (rc == SQLITE_ROW) {
      sqlite3_bind_int64(set, 1, sqlite3_column_int64(todo, 0));
      sqlite3_bind_int64(set, 2, sqlite3_column_int64(find, 0));
      if (sqlite3_step(set) != SQLITE_DONE) rc = SQLITE_ERROR;
      sqlite3_reset(set);
      tied++;
    }
    sqlite3_reset(find);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) break;
  }
  rc = rc == SQLITE_DONE ? 0 : st_fail(s, "deliveries");
done:
  if (todo) st_done(s, todo);
  if (find) st_done(s, find);
  if (set) st_done(s, set);
  return rc < 0 ? rc : tied;
}

int store_message_put(struct store *s, const char *host, const char *queue_id,
                      int64_t at, const char *message_id,
                      const char *sender_domain) {
  sqlite3_stmt *st = NULL;
  int rc;

  if ((rc = write_stmt(s, "INSERT INTO messages(host, queue_id, at, message_id,"
                          " sender_domain) VALUES(?1,?2,?3,?4,?5)"
                          " ON CONFLICT(host, queue_id) DO UPDATE SET"
                          " message_id = coalesce(excluded.message_id,"
                          " message_id), sender_domain ="
                          " coalesce(excluded.sender_domain, sender_domain)",
                       &st)) < 0)
    return rc;
  sqlite3_bind_text(st, 1, host ? host : "", -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, queue_id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, at);
  bind_opt_text(st, 4, message_id);
  bind_opt_text(st, 5, sender_domain);
  rc = sqlite3_step(st) == SQLITE_DONE ? 0 : st_fail(s, "messages");
  st_done(s, st);
  return rc;
}

int64_t store_deliveries_of(struct store *s, const char *queue_id,
                            const char *domain, const char *message_id,
                            int64_t since, int64_t until, delivery_fn fn,
                            void *ctx) {
  sqlite3_stmt *st = NULL;
  int64_t n = 0;
  int rc;

  if ((rc = st_stmt(s, "SELECT d.at, d.queue_id, d.rcpt_domain, d.relay_name,"
                       " d.relay_ip, d.status, d.dsn, d.reply, d.stage,"
                       " coalesce(d.code, 0), x.src_ip, x.echoed_ip, x.helo,"
                       " m.message_id, m.sender_domain, d.tls"
                       " FROM deliveries d LEFT JOIN sessions x ON"
                       " x.id = d.session_id LEFT JOIN messages m ON"
                       " m.host = d.host AND m.queue_id = d.queue_id"
                       " WHERE d.at >= ?1 AND d.at <= ?2"
                       " AND (?3 IS NULL OR d.queue_id = ?3) AND (?4 IS NULL"
                       " OR d.rcpt_domain = ?4 COLLATE NOCASE) AND (?5 IS NULL"
                       " OR m.message_id = ?5) ORDER BY d.at, d.id",
                    &st)) < 0)
    return rc;
  sqlite3_bind_int64(st, 1, since);
  sqlite3_bind_int64(st, 2, until);
  if (queue_id) sqlite3_bind_text(st, 3, queue_id, -1, SQLITE_STATIC);
  if (domain) sqlite3_bind_text(st, 4, domain, -1, SQLITE_STATIC);
  if (message_id) sqlite3_bind_text(st, 5, message_id, -1, SQLITE_STATIC);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    struct delivery_use d;
    d.at_us = sqlite3_column_int64(st, 0);
    d.queue_id = st_col_text(st, 1);
    d.rcpt_domain = st_col_text(st, 2);
    d.relay_name = st_col_text(st, 3);
    d.relay_ip = st_col_text(st, 4);
    d.status = st_col_text(st, 5);
    d.dsn = st_col_text(st, 6);
    d.reply = st_col_text(st, 7);
    d.stage = st_col_text(st, 8);
    d.code = sqlite3_column_int(st, 9);
    d.src_ip = st_col_text(st, 10);
    d.echoed_ip = st_col_text(st, 11);
    d.helo = st_col_text(st, 12);
    d.message_id = st_col_text(st, 13);
    d.sender_domain = st_col_text(st, 14);
    d.tls = st_col_text(st, 15);
    n++;
    if (fn(&d, ctx) != 0) break;
  }
  rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : st_fail(s, "deliveries");
  st_done(s, st);
  return rc < 0 ? rc : n;
}

int64_t store_deliveries_last_id(struct store *s) {
  sqlite3_stmt *st = NULL;
  int64_t id = 0;
  int rc;

  if ((rc = st_stmt(s, "SELECT coalesce(max(id), 0) FROM deliveries", &st)) < 0)
    return rc;
  if ((rc = sqlite3_step(st)) == SQLITE_ROW) id = sqlite3_column_int64(st, 0);
  else id = st_fail(s, "deliveries");
  st_done(s, st);
  return id;
}

int store_log_cursor_get(struct store *s, const char *path, struct log_cursor *c) {
  sqlite3_stmt *st = NULL;
  int rc;

  if ((rc = st_stmt(s, "SELECT dev, ino, off, head, head_len FROM log_cursors"
                       " WHERE path = ?1", &st)) < 0)
    return rc;
  sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    c->dev = sqlite3_column_int64(st, 0);
    c->ino = sqlite3_column_int64(st, 1);
    c->off = sqlite3_column_int64(st, 2);
    c->head = sqlite3_column_int64(st, 3);
    c->head_len = sqlite3_column_int(st, 4);
    rc = 1;
  } else {
    rc = rc == SQLITE_DONE ? 0 : st_fail(s, "log_cursors");
  }
  st_done(s, st);
  return rc;
}

int store_log_cursor_put(struct store *s, const char *path,
                         const struct log_cursor *c, int64_t at) {
  sqlite3_stmt *st = NULL;
  int rc;

  if ((rc = write_stmt(s, "INSERT OR REPLACE INTO log_cursors(path, dev, ino,"
                          " off, head, head_len, at) VALUES(?1,?2,?3,?4,?5,?6,?7)",
                       &st)) < 0)
    return rc;
  sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, c->dev);
  sqlite3_bind_int64(st, 3, c->ino);
  sqlite3_bind_int64(st, 4, c->off);
  sqlite3_bind_int64(st, 5, c->head);
  sqlite3_bind_int(st, 6, c->head_len);
  sqlite3_bind_int64(st, 7, at);
  rc = sqlite3_step(st) == SQLITE_DONE ? 0 : st_fail(s, "log_cursors");
  st_done(s, st);
  return rc;
}

int store_event_cursor_get(struct store *s, const char *sink,
                           struct event_cursor *c) {
  sqlite3_stmt *st = NULL;
  int rc;

  if ((rc = st_stmt(s, "SELECT session_id, finding_at, stats_id FROM event_cursors"
                       " WHERE sink = ?1", &st)) < 0)
    return rc;
  sqlite3_bind_text(st, 1, sink, -1, SQLITE_STATIC);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    c->session_id = sqlite3_column_int64(st, 0);
    c->finding_at = sqlite3_column_int64(st, 1);
    c->stats_id = sqlite3_column_int64(st, 2);
    rc = 1;
  } else {
    rc = rc == SQLITE_DONE ? 0 : st_fail(s, "event_cursors");
  }
  st_done(s, st);
  return rc;
}

int store_event_cursor_put(struct store *s, const char *sink,
                           const struct event_cursor *c, int64_t at) {
  sqlite3_stmt *st = NULL;
  int rc;

  if ((rc = write_stmt(s, "INSERT OR REPLACE INTO event_cursors(sink,"
                          " session_id, finding_at, stats_id, at)"
                          " VALUES(?1,?2,?3,?4,?5)",
                       &st)) < 0)
    return rc;
  sqlite3_bind_text(st, 1, sink, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, c->session_id);
  sqlite3_bind_int64(st, 3, c->finding_at);
  sqlite3_bind_int64(st, 4, c->stats_id);
  sqlite3_bind_int64(st, 5, at);
  rc = sqlite3_step(st) == SQLITE_DONE ? 0 : st_fail(s, "event_cursors");
  st_done(s, st);
  return rc;
}

static int take_stats(sqlite3_stmt *st, void *arg) {
  struct sink *k = arg;
  struct stats_row r;

  r.id = sqlite3_column_int64(st, 0);
  r.at = sqlite3_column_int64(st, 1);
  r.point = st_col_text(st, 2);
  r.name = st_col_text(st, 3);
  r.value = sqlite3_column_int64(st, 4);
  r.host = st_col_text(st, 5);
  return ((stats_fn)k->fn)(&r, k->ctx);
}

int64_t store_stats_after(struct store *s, int64_t after_id, int64_t limit,
                          stats_fn fn, void *ctx) {
  struct sink k = {(void (*)(void))fn, ctx};

  return st_each_row(s, "capture_stats",
                     "SELECT c.rowid, c.at, p.name, c.name, c.value, p.host"
                     " FROM capture_stats c JOIN points p ON p.id = c.point_id"
                     " WHERE c.rowid > ?1 ORDER BY c.rowid LIMIT ?2",
                     after_id, limit, NULL, take_stats, &k);
}

int64_t store_max_stats_id(struct store *s) {
  int err = 0;
  int64_t id = st_scalar(s, "SELECT coalesce(max(rowid), 0) FROM capture_stats",
                         0, 0, &err);
  return err ? err : id;
}
