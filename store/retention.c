/* egressaudit - store/retention.c: prune: old sessions and what hangs off them, in
 * bounded batches.
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

/* --- retention ---------------------------------------------------------- */

#define PRUNE_BATCH 5000

/* Run a DELETE in bounded batches, each its own transaction. */
static int prune_loop(struct store *s, const char *sql, int64_t cutoff,
                      int64_t *count) {
  sqlite3_stmt *st = NULL;
  int rc, n;

  if (st_stmt(s, sql, &st) < 0)
    return st_fail(s, "prune");
  do {
    if ((rc = st_tx_begin(s)) < 0) break;
    sqlite3_bind_int64(st, 1, cutoff);
    sqlite3_bind_int(st, 2, PRUNE_BATCH);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
      rc = st_fail(s, "prune");
      st_run(s, ST_ROLLBACK);
      s->in_tx = 0;
      break;
    }
    n = sqlite3_changes(s->db);
    *count += n;
    if ((rc = store_flush(s)) < 0) break;
  } while (n == PRUNE_BATCH);
  st_done(s, st);
  return rc < 0 ? rc : 0;
}

int store_prune(struct store *s, int64_t cutoff, int vacuum,
                struct prune_counts *c) {
  int rc;

  memset(c, 0, sizeof(*c));
  if ((rc = store_flush(s)) < 0) return rc;
  {
    /* Each table in batches; what each delete leaves, its comment says. */
    const struct {
      const char *sql;
      int64_t *n;
    } del[] = {
        {"DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE"
         " last_seen < ?1 LIMIT ?2)", &c->sessions},
        {"DELETE FROM dns WHERE (name, type) IN (SELECT name, type FROM dns"
         " WHERE expires < ?1 LIMIT ?2)", &c->dns},
        {"DELETE FROM findings WHERE id IN (SELECT id FROM findings WHERE"
         " status = 'closed' AND closed_at < ?1 LIMIT ?2)", &c->findings},
        {"DELETE FROM analyses WHERE id IN (SELECT id FROM analyses WHERE"
         " at < ?1 AND id < (SELECT max(id) FROM analyses) LIMIT ?2)",
         &c->analyses},
        {"DELETE FROM capture_stats WHERE rowid IN (SELECT rowid FROM"
         " capture_stats WHERE at < ?1 LIMIT ?2)", &c->stats},
        {"DELETE FROM identities WHERE ip IN (SELECT ip FROM identities"
         " WHERE last_seen < ?1 LIMIT ?2)", &c->identities},
        /* an address's last entry stays: it says what holds since */
        {"DELETE FROM identity_log WHERE (ip, at) IN (SELECT l.ip, l.at FROM"
         " identity_log l WHERE l.at < ?1 AND l.at < (SELECT max(m.at) FROM"
         " identity_log m WHERE m.ip = l.ip) LIMIT ?2)", &c->idlog},
        {"DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries"
         " WHERE at < ?1 LIMIT ?2)", &c->deliveries},
        {"DELETE FROM messages WHERE (host, queue_id) IN (SELECT host,"
         " queue_id FROM messages WHERE at < ?1 LIMIT ?2)", &c->messages},
    };
    size_t i;
    for (i = 0; i < sizeof(del) / sizeof(del[0]); i++)
      if ((rc = prune_loop(s, del[i].sql, cutoff, del[i].n)) < 0) return rc;
  }
  if (vacuum && sqlite3_exec(s->db, "VACUUM", NULL, NULL, NULL) != SQLITE_OK)
    return st_fail(s, "vacuum");
  return 0;
}
