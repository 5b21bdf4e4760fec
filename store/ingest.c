/* egressaudit - store/ingest.c: what the capture records: capture points, sessions with
 * their HELOs and replies (a replayed partial session replaced by the
 * fuller one), capture statistics; batched transactions.
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

int store_point(struct store *s, const char *name, const char *host,
                const char *iface, const char *file, const char *linktype,
                int64_t *id) {
  sqlite3_stmt *st = s->st[ST_POINT];
  int rc;

  st_bind_str(st, 1, name);
  st_bind_str(st, 2, host);
  st_bind_str(st, 3, iface);
  st_bind_str(st, 4, file);
  st_bind_str(st, 5, linktype);
  sqlite3_bind_int64(st, 6, now_us());
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) *id = sqlite3_column_int64(st, 0);
  rc = rc == SQLITE_ROW ? 0 : st_fail(s, "points");
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return rc;
}

/* The stored session with ss's key has fewer packets than ss: delete it
 * (its HELO and reply rows go with it) and return 1; else 0. */
static int replace_partial(struct store *s, const struct session *ss,
                           const char *src, const char *dst) {
  sqlite3_stmt *q;
  int64_t id = -1, pkts = 0;
  int rc;

  rc = st_prep(s, &s->q_partial,
            "SELECT id, pkts_c2s + pkts_s2c FROM sessions WHERE point_id = ?1"
            " AND first_seen = ?2 AND src_ip = ?3 AND src_port = ?4 AND"
            " dst_ip = ?5 AND dst_port = ?6");
  if (rc < 0) return rc;
  q = s->q_partial;
  sqlite3_bind_int64(q, 1, ss->point);
  sqlite3_bind_int64(q, 2, ss->first_us);
  sqlite3_bind_text(q, 3, src, -1, SQLITE_STATIC);
  sqlite3_bind_int(q, 4, ss->sport);
  sqlite3_bind_text(q, 5, dst, -1, SQLITE_STATIC);
  sqlite3_bind_int(q, 6, ss->dport);
  if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    id = sqlite3_column_int64(q, 0);
    pkts = sqlite3_column_int64(q, 1);
  }
  sqlite3_reset(q);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return st_fail(s, "sessions");
  if (id < 0 || (int64_t)ss->pkts_c2s + (int64_t)ss->pkts_s2c <= pkts) return 0;
  rc = st_prep(s, &s->q_delsess, "DELETE FROM sessions WHERE id = ?1");
  if (rc < 0) return rc;
  sqlite3_bind_int64(s->q_delsess, 1, id);
  rc = sqlite3_step(s->q_delsess);
  sqlite3_reset(s->q_delsess);
  return rc == SQLITE_DONE ? 1 : st_fail(s, "sessions");
}

/* The last reply as "550 5.7.1 text" (columns 23, 24), in buf. */
static void bind_last_reply(sqlite3_stmt *st, const struct sess_reply *r,
                            char *buf, size_t cap) {
  size_t n;

  if (r == NULL) {
    sqlite3_bind_null(st, 23);
    sqlite3_bind_null(st, 24);
    return;
  }
  n = (size_t)snprintf(buf, cap, "%u ", r->code);
  if (r->enhanced.len > 0) {
    n += esc_bytes(buf + n, cap - n, r->enhanced.p, r->enhanced.len);
    if (n + 1 < cap) buf[n++] = ' ';
  }
  n += esc_bytes(buf + n, cap - n, r->text.p, r->text.len);
  while (n > 0 && buf[n - 1] == ' ') n--;
  sqlite3_bind_int(st, 23, r->code);
  sqlite3_bind_text(st, 24, buf, (int)n, SQLITE_STATIC);
}

/* The session's HELO arguments and replies, in order. */
static int put_children(struct store *s, const struct session *ss,
                        int64_t sid) {
  sqlite3_stmt *st;
  unsigned i;
  int rc;

  st = s->st[ST_HELO];
  for (i = 0; i < ss->n_helo; i++) {
    sqlite3_bind_int64(st, 1, sid);
    sqlite3_bind_int(st, 2, (int)i);
    sqlite3_bind_text(st, 3, smtp_cmd_name(ss->helo_cmd[i]), -1, SQLITE_STATIC);
    st_bind_wire(s, st, 4, &ss->helo[i]);
    if ((rc = st_run(s, ST_HELO)) < 0) return rc;
  }
  st = s->st[ST_REPLY];
  for (i = 0; i < ss->n_replies; i++) {
    const struct sess_reply *r = &ss->replies[i];
    const char *cmd = smtp_cmd_name(r->cmd);
    sqlite3_bind_int64(st, 1, sid);
    sqlite3_bind_int(st, 2, (int)i);
    st_bind_str(st, 3, cmd);
    sqlite3_bind_int(st, 4, r->code);
    if (r->enhanced.len > 0) st_bind_wire(s, st, 5, &r->enhanced);
    else sqlite3_bind_null(st, 5);
    {
      struct slice t = r->text;
      if (t.p == NULL) t.p = "";
      st_bind_wire(s, st, 6, &t);
    }
    if ((rc = st_run(s, ST_REPLY)) < 0) return rc;
  }
  return 0;
}

int store_session_put(struct store *s, const struct session *ss) {
  sqlite3_stmt *st = s->st[ST_SESSION];
  char src[ADDR_STRLEN], dst[ADDR_STRLEN], echoed[ADDR_STRLEN];
  char last[ESC_CAP(REPLY_TEXT_ERR_MAX) + 32];
  int64_t sid;
  int rc;

  rc = st_tx_begin(s);
  if (rc < 0) return rc;
  sqlite3_bind_int64(st, 1, ss->point);
  sqlite3_bind_int64(st, 2, ss->first_us);
  sqlite3_bind_int64(st, 3, ss->last_us);
  sqlite3_bind_int(st, 4, ss->src.family);
  sqlite3_bind_text(st, 5, addr_str(&ss->src, src), -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 6, ss->sport);
  sqlite3_bind_text(st, 7, addr_str(&ss->dst, dst), -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 8, ss->dport);
  if (ss->vlan >= 0) sqlite3_bind_int(st, 9, ss->vlan);
  else sqlite3_bind_null(st, 9);
  sqlite3_bind_text(st, 10, sess_state_name(ss->state), -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 11, sess_end_name(ss->end), -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 12, sess_dirby_name(ss->dirby), -1, SQLITE_STATIC);
  st_bind_wire(s, st, 13, &ss->banner);
  st_bind_wire(s, st, 14, &ss->banner_host);
  if (ss->n_helo > 0) st_bind_wire(s, st, 15, &ss->helo[0]);
  else sqlite3_bind_null(st, 15);
  st_bind_wire(s, st, 16, &ss->ehlo_reply);
  if (ss->echoed.family != 0) {
    sqlite3_bind_text(st, 17, addr_str(&ss->echoed, echoed), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 18,
                      ss->echoed_from == CMD_NONE ? "reject"
                                                  : smtp_cmd_name(ss->echoed_from),
                      -1, SQLITE_STATIC);
  } else {
    sqlite3_bind_null(st, 17);
    sqlite3_bind_null(st, 18);
  }
  if (ss->has_mail) st_bind_wire(s, st, 19, &ss->mail_domain);
  else sqlite3_bind_null(st, 19);
  sqlite3_bind_int(st, 20, ss->starttls_offered);
  sqlite3_bind_int(st, 21, ss->starttls_requested);
  sqlite3_bind_int(st, 22, ss->starttls_accepted);
  bind_last_reply(st, ss->last_reply, last, sizeof(last));
  sqlite3_bind_int64(st, 25, ss->pkts_c2s);
  sqlite3_bind_int64(st, 26, ss->pkts_s2c);
  sqlite3_bind_int64(st, 27, (sqlite3_int64)ss->bytes_c2s);
  sqlite3_bind_int64(st, 28, (sqlite3_int64)ss->bytes_s2c);
  sqlite3_bind_int64(st, 29, ss->anom.overlong);
  sqlite3_bind_int64(st, 30, ss->anom.bare_lf);
  sqlite3_bind_int64(st, 31, ss->anom.bare_cr);
  sqlite3_bind_int64(st, 32, ss->anom.gaps);
  sqlite3_bind_int64(st, 33, ss->anom.pipelined);
  sqlite3_bind_int64(st, 34, ss->anom.retrans);
  sqlite3_bind_int64(st, 35, ss->anom.ooo);
  sqlite3_bind_int64(st, 36, ss->anom.bad_reply);
  sqlite3_bind_int64(st, 37, ss->anom.replies_dropped);
  sqlite3_bind_int64(st, 38, ss->anom.truncated);
  sqlite3_bind_text(st, 39, sess_direction_name(ss->direction), -1,
                    SQLITE_STATIC);
  sqlite3_bind_int64(st, 40, ss->anom.fragments);
  rc = st_run(s, ST_SESSION);
  sqlite3_clear_bindings(st);
  if (rc < 0) return rc;
  if (sqlite3_changes(s->db) == 0) {
    /* Already stored: the same version (a re-read), or a part of it (a
     * capture file read alone that ends mid-session, now read with the
     * next one): the one with more packets wins. */
    rc = replace_partial(s, ss, src, dst);
    if (rc <= 0) return rc;
    return store_session_put(s, ss);
  }
  sid = sqlite3_last_insert_rowid(s->db);

  if ((rc = put_children(s, ss, sid)) < 0) return rc;
  s->new_pending++;
  /* Commit every batch_rows rows or batch_ms, whichever first (by default
   * STORE_BATCH_ROWS, STORE_BATCH_MS): few transactions, and a reader
   * never waits long for new rows. */
  if ((++s->pending >= s->batch_rows ||
       mono_us() - s->tx_start >= (int64_t)s->batch_ms * 1000LL) &&
      (rc = store_flush(s)) < 0)
    return rc;
  return 1;
}

int store_stat_put(struct store *s, int64_t point, int64_t at,
                   const char *name, int64_t value) {
  sqlite3_stmt *st = s->st[ST_STAT];
  int rc = st_tx_begin(s);

  if (rc < 0) return rc;
  sqlite3_bind_int64(st, 1, point);
  sqlite3_bind_int64(st, 2, at);
  sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 4, value);
  return st_run(s, ST_STAT);
}
