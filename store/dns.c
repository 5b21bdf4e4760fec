/* egressaudit - store/dns.c: the DNS answer cache (by TTL, clamped; a temporary
 * failure is never cached as a fact).
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

int store_dns_get(struct store *s, const char *name, int type,
                  struct dns_result *out, int64_t *fetched, int64_t *expires) {
  sqlite3_stmt *st;
  const char *a;
  int rc;

  rc = st_prep(s, &s->q_dns_get,
            "SELECT status, answers, ttl, soa_zone, soa_mname, soa_rname,"
            " fetched, expires, total FROM dns WHERE name = ?1 AND type = ?2");
  if (rc < 0) return rc;
  st = s->q_dns_get;
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 2, type);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    memset(out, 0, offsetof(struct dns_result, answer));
    out->type = (uint16_t)type;
    snprintf(out->name, sizeof(out->name), "%s", name);
    rc = dns_status_parse((const char *)sqlite3_column_text(st, 0));
    out->status = (uint8_t)(rc < 0 ? DNS_ERROR : rc);
    a = (const char *)sqlite3_column_text(st, 1);
    while (out->n < DNS_ANSWERS_MAX &&
           jlist_next(&a, out->answer[out->n], DNS_NAME_MAX))
      out->n++;
    out->ttl = (uint32_t)sqlite3_column_int64(st, 2);
#define COPY_COL(dst, i)                                                     \
  snprintf(dst, sizeof(dst), "%s",                                           \
           sqlite3_column_text(st, i) ? (const char *)sqlite3_column_text(st, i) : "")
    COPY_COL(out->soa_zone, 3);
    COPY_COL(out->soa_mname, 4);
    COPY_COL(out->soa_rname, 5);
#undef COPY_COL
    *fetched = sqlite3_column_int64(st, 6);
    *expires = sqlite3_column_int64(st, 7);
    out->total = (uint16_t)MAX(sqlite3_column_int64(st, 8), (int64_t)out->n);
    rc = 1;
  } else {
    rc = rc == SQLITE_DONE ? 0 : st_fail(s, "dns cache");
  }
  sqlite3_reset(st);
  return rc;
}

int store_dns_put(struct store *s, const struct dns_result *r, int64_t now,
                  const char *resolver) {
  sqlite3_stmt *st;
  char answers[DNS_ANSWERS_MAX * (DNS_NAME_MAX + 3) + 3];
  struct jlist j;
  unsigned i;
  int64_t ttl = r->ttl;
  int rc;

  rc = st_prep(s, &s->q_dns_put,
            "INSERT OR REPLACE INTO dns(name, type, status, answers, ttl,"
            " soa_zone, soa_mname, soa_rname, fetched, expires, resolver, total)"
            " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)");
  if (rc < 0 || (rc = st_tx_begin(s)) < 0) return rc;
  st = s->q_dns_put;
  jlist_init(&j, answers, sizeof(answers));
  for (i = 0; i < r->n; i++) jlist_add(&j, r->answer[i]);
  /* Keep an answer at least a minute and at most a day; a temporary
   * failure is never cached as a fact. */
  if (dns_status_temporary(r->status)) ttl = 0;
  else if (ttl < DNS_CACHE_TTL_MIN) ttl = DNS_CACHE_TTL_MIN;
  else if (ttl > DNS_CACHE_TTL_MAX) ttl = DNS_CACHE_TTL_MAX;
  sqlite3_bind_text(st, 1, r->name, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 2, r->type);
  sqlite3_bind_text(st, 3, dns_status_name(r->status), -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 4, answers, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 5, r->ttl);
  st_bind_str(st, 6, r->soa_zone[0] ? r->soa_zone : NULL);
  st_bind_str(st, 7, r->soa_mname[0] ? r->soa_mname : NULL);
  st_bind_str(st, 8, r->soa_rname[0] ? r->soa_rname : NULL);
  sqlite3_bind_int64(st, 9, now);
  sqlite3_bind_int64(st, 10, now + ttl * 1000000);
  st_bind_str(st, 11, resolver);
  sqlite3_bind_int(st, 12, r->total);
  rc = sqlite3_step(st);
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) return st_fail(s, "dns cache");
  if (++s->pending >= STORE_BATCH_ROWS) return store_flush(s);
  return 0;
}
