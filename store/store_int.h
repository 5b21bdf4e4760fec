/* egressaudit - store/store_int.h: what the files of store/ share, and
 * nothing outside store/ may include: the connection, its statements, the
 * helpers that prepare, bind, step and report errors.
 * SPDX-License-Identifier: MIT
 */
#ifndef EA_STORE_INT_H
#define EA_STORE_INT_H

#include <sqlite3.h>

#include "common/limits.h"
#include "common/util.h"
#include "store/store.h"

/* Statements kept per connection: the fixed ones, the analysis's and the
 * report's (about 40), and the filter variants of 'sessions'; past it a
 * statement is prepared for one use and finalized by st_done. */
#define STMT_CACHE_MAX 96

enum {
  ST_BEGIN, ST_COMMIT, ST_ROLLBACK, ST_SESSION, ST_HELO, ST_REPLY, ST_STAT,
  ST_POINT, ST_COUNT_
};

struct store {
  sqlite3 *db;
  /* Every statement this connection ran, prepared once (persistent) on
   * first use and found again by its SQL text: st_stmt. st[] and q_*
   * point into it (no statement of their own). */
  struct {
    char *sql;
    sqlite3_stmt *st;
  } cache[STMT_CACHE_MAX];
  unsigned ncache;
  sqlite3_stmt *st[ST_COUNT_];
  sqlite3_stmt *q_dns_get, *q_dns_put, *q_finding, *q_ident, *q_idlog,
      *q_partial, *q_delsess;
  int in_tx;
  unsigned pending;
  unsigned batch_rows, batch_ms; /* commit after this many, or this long  */
  uint64_t new_pending;   /* new sessions in the open batch               */
  uint64_t new_committed; /* new sessions this connection committed       */
  int excluding;          /* temp.ea_excluded exists (a gateway's twins)  */
  int64_t tx_start;   /* monotonic time the open batch began             */
  char err[512];
  char esc[ESC_CAP(REPLY_TEXT_ERR_MAX) + 64];
};

#define WINDOW " AND s.first_seen >= ?1 AND s.first_seen <= ?2"

/* The sessions store_exclude_sessions named: a gateway's twins. */
#define NOT_EXCLUDED " AND s.id NOT IN (SELECT id FROM temp.ea_excluded)"

/* A row callback and its context, for the take_*() functions. */
struct sink {
  void (*fn)(void); /* the caller's typed callback, cast back to call it */
  void *ctx;
};


/* Set s->err to "what: SQLite's message" and map the error to a negative
 * errno (-ENOSPC, -EROFS, -EACCES, -EBUSY, -EINVAL, -EIO). */
int st_fail(struct store *s, const char *what);
/* Step and reset one of the fixed statements (ST_*): 0 or st_fail's. */
int st_run(struct store *s, int which);
/* Open the batch transaction unless one is open. */
int st_tx_begin(struct store *s);
/* The one way a statement is made: *out is sql prepared on this
 * connection, from the cache when it ran before (reset, bindings
 * cleared). 0, or st_fail's negative errno. Give it back with st_done. */
int st_stmt(struct store *s, const char *sql, sqlite3_stmt **out);
/* Done with a statement from st_stmt: reset (kept), or finalized when it
 * did not fit the cache. */
void st_done(struct store *s, sqlite3_stmt *st);
/* *st = st_stmt(sql) unless set already (the q_* and st[] shortcuts). */
int st_prep(struct store *s, sqlite3_stmt **st, const char *sql);
/* Bind wire bytes as escaped text (NULL when absent), or a C string. */
void st_bind_wire(struct store *s, sqlite3_stmt *st, int i,
                  const struct slice *v);
void st_bind_str(sqlite3_stmt *st, int i, const char *v);
const char *st_col_text(sqlite3_stmt *st, int i);
/* Run a window query (?1 since, ?2 until, ?3 p3 when not NULL); take()
 * turns each row into its struct and hands it on, non-zero stops. Returns
 * the rows seen, or a negative errno. */
int64_t st_each_row(struct store *s, const char *what, const char *sql,
                    int64_t since, int64_t until, const char *p3,
                    int (*take)(sqlite3_stmt *st, void *arg), void *arg);
/* A NAT pair as ?1..?7 (inside, outside, points, first, last, sessions),
 * and back from those columns to a struct sink's nat_fn. */
void st_bind_nat(sqlite3_stmt *st, const struct nat_row *r);
int st_take_nat(sqlite3_stmt *st, void *arg);
/* The rejects only the MTA's log saw (after STARTTLS, or with no capture
 * at all) among the deliveries d that dcond keeps, as a UNION ALL arm of
 * the reject queries: one that a captured reply already shows counts
 * once. */
#define REJECTS_LOGGED(dcond)                                               \
  " UNION ALL SELECT coalesce(x.src_ip, d.src_ip), x.echoed_ip, d.relay_ip,"\
  " d.relay_name, d.at, d.code, d.dsn, d.reply, 1 FROM deliveries d"        \
  " LEFT JOIN sessions x ON x.id = d.session_id WHERE d.code >= 400" dcond  \
  " AND NOT EXISTS (SELECT 1 FROM replies r2 WHERE r2.session_id ="         \
  " d.session_id AND r2.code = d.code) ORDER BY 5"
/* A reject_row from (source, echo, receiver, banner, time, code,
 * enhanced, text, from_log). */
int st_take_reject(sqlite3_stmt *st, void *arg);
/* A server_row from (address, banner name, sessions, first, last). */
int st_take_server(sqlite3_stmt *st, void *arg);
/* One integer from sql with ?1 = a, ?2 = b; *err set on failure. */
int64_t st_scalar(struct store *s, const char *sql, int64_t a, int64_t b,
                  int *err);

#endif
