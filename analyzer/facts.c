/* egressaudit - analyzer/facts.c: the DNS answers of one analysis.
 * SPDX-License-Identifier: MIT
 */
#define _DEFAULT_SOURCE
#include "analyzer/facts.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "common/util.h"

/* Queries sent per facts_pump call: a resolver's socket buffer holds a
 * few hundred; a thousand at once would be dropped and retried. */
#define SEND_BURST 32

enum { F_WANTED = 0, F_QUEUED, F_FLIGHT, F_DONE };

struct fact {
  uint16_t type;
  uint8_t status, state;
  uint32_t ttl;
  uint16_t total; /* answers the message held (dns_result.total)       */
  int64_t fetched; /* when the answer came (a cached one: its fetch time) */
  char *text; /* name \0 answers (a JSON list) \0 zone \0 mname \0 rname \0 */
};

struct pending {
  struct facts *fx;
  struct fact *f;
};

static void fact_free(void *v) {
  struct fact *f = v;
  if (f) free(f->text);
  free(f);
}

/* Keep a result compactly: its answers in the list encoding of the
 * database (a JSON array: common/util.h jlist), the rest as text. */
static void fact_set(struct fact *f, const struct dns_result *r) {
  const char *parts[3] = {r->soa_zone, r->soa_mname, r->soa_rname};
  size_t len = strlen(r->name) + 1 + 3, o;
  struct jlist j;
  unsigned i;
  char *t;

  for (i = 0; i < r->n; i++) len += strlen(r->answer[i]) * 6 + 3;
  for (i = 0; i < 3; i++) len += strlen(parts[i]) + 1;
  t = malloc(len + 1);
  if (t == NULL) return;
  o = (size_t)snprintf(t, len + 1, "%s", r->name) + 1;
  jlist_init(&j, t + o, len + 1 - o);
  for (i = 0; i < r->n; i++) jlist_add(&j, r->answer[i]);
  o += j.len + 1;
  for (i = 0; i < 3; i++)
    o += (size_t)snprintf(t + o, len + 1 - o, "%s", parts[i]) + 1;
  /* Sized for escapes that names seldom need: give the rest back (a run
   * keeps tens of thousands of these). */
  {
    char *fit = realloc(t, o);
    if (fit != NULL) t = fit;
  }
  free(f->text);
  f->text = t;
  f->status = r->status;
  f->ttl = r->ttl;
  f->type = r->type;
  f->total = r->total;
  f->state = F_DONE;
}

/* Expand a fact into a full result. */
static void fact_load(const struct fact *f, struct dns_result *r) {
  const char *p = f->text, *list;
  char *soa[3] = {r->soa_zone, r->soa_mname, r->soa_rname};
  unsigned i;

  memset(r, 0, offsetof(struct dns_result, answer));
  r->type = f->type;
  r->status = f->status;
  r->ttl = f->ttl;
  r->total = f->total;
  r->soa_zone[0] = r->soa_mname[0] = r->soa_rname[0] = '\0';
  if (p == NULL) {
    r->status = DNS_ERROR;
    return;
  }
  snprintf(r->name, sizeof(r->name), "%s", p);
  p += strlen(p) + 1;
  list = p;
  while (r->n < DNS_ANSWERS_MAX && jlist_next(&list, r->answer[r->n], DNS_NAME_MAX))
    r->n++;
  p += strlen(p) + 1;
  for (i = 0; i < 3; i++) {
    snprintf(soa[i], DNS_NAME_MAX, "%s", p);
    p += strlen(p) + 1;
  }
}

static struct fact *fact_get(const struct facts *fx, int type,
                             const char *name) {
  char key[DNS_NAME_MAX + 8];

  snprintf(key, sizeof(key), "%d %s", type, name);
  return strmap_get(&fx->map, key);
}

void facts_init(struct facts *fx, struct resolver *res, struct store *cache,
                int64_t now, int64_t max_age_us, unsigned max_inflight) {
  memset(fx, 0, sizeof(*fx));
  fx->res = res;
  fx->cache = cache;
  fx->now = now;
  fx->max_age_us = max_age_us;
  fx->max_inflight = max_inflight ? max_inflight : 256;
  fx->next_progress = mono_us() + 1000000;
}

/* A cached answer good enough to reuse (never a temporary failure). */
static int from_cache(struct facts *fx, struct fact *f, const char *name,
                      int type) {
  struct dns_result r;
  int64_t fetched, expires;

  if (fx->cache == NULL ||
      store_dns_get(fx->cache, name, type, &r, &fetched, &expires) != 1 ||
      dns_status_temporary(r.status))
    return 0;
  if (fx->max_age_us < 0 ? expires <= fx->now
                         : fetched < fx->now - fx->max_age_us)
    return 0;
  fact_set(f, &r);
  f->fetched = fetched;
  if (fx->oldest_cached == 0 || fetched < fx->oldest_cached)
    fx->oldest_cached = fetched;
  return f->state == F_DONE;
}

void facts_want(struct facts *fx, int type, const char *name) {
  char key[DNS_NAME_MAX + 8];
  struct dns_result q;
  struct fact *f;
  void **slot;

  if (name[0] == '\0' || strlen(name) >= DNS_NAME_MAX) return;
  snprintf(key, sizeof(key), "%d %s", type, name);
  slot = strmap_slot(&fx->map, key, 1);
  if (slot == NULL || *slot != NULL) return;
  f = calloc(1, sizeof(*f));
  if (f == NULL) return;
  *slot = f;
  f->type = (uint16_t)type;
  if (type == DNS_T_PTR || type == DNS_T_A || type == DNS_T_AAAA) {
    unsigned k;
    for (k = 0; k < fx->n_peers; k++) facts_want(fx->peers[k], type, name);
  }
  if (from_cache(fx, f, name, type)) {
    fx->cached++;
    return;
  }
  memset(&q, 0, offsetof(struct dns_result, answer));
  snprintf(q.name, sizeof(q.name), "%s", name);
  q.type = (uint16_t)type;
  q.status = DNS_ERROR;
  q.soa_zone[0] = q.soa_mname[0] = q.soa_rname[0] = '\0';
  fact_set(f, &q); /* the name to ask, and an error until the answer */
  if (f->text == NULL) return;
  f->state = F_QUEUED;
  if (vec_room(&fx->queue, &fx->capq, fx->nq, sizeof(*fx->queue), 256) < 0)
    return;
  fx->queue[fx->nq++] = f;
  fx->total++;
}

static void on_answer(void *ctx, const struct dns_result *r) {
  struct pending *p = ctx;
  struct facts *fx = p->fx;
  struct fact *f = p->f;

  free(p);
  fx->inflight--;
  if (fx->stopped) return; /* closing: nothing to keep */
  fact_set(f, r);
  f->fetched = fx->now;
  fx->done++;
  fx->queries++;
  if (dns_status_temporary(r->status)) fx->temp_failures++;
  if (r->status < DNS_STATUS_COUNT_) fx->by_status[r->status]++;
  if (fx->cache != NULL && fx->store_rc == 0) {
    int rc = store_dns_put(fx->cache, r, fx->now, resolver_servers(fx->res));
    if (rc < 0) fx->store_rc = rc;
  }
  if (fx->progress && mono_us() >= fx->next_progress) {
    fx->progress(fx->progress_ctx, fx->done, fx->total);
    fx->next_progress = mono_us() + PROGRESS_EVERY_US;
  }
}

unsigned facts_pump(struct facts *fx) {
  unsigned burst = 0, k, peers = 0;

  for (k = 0; k < fx->n_peers; k++) peers += facts_pump(fx->peers[k]);
  if (fx->sending || fx->stopped) return fx->inflight + peers; /* in place */
  fx->sending = 1;
  while (fx->qhead < fx->nq && fx->inflight < fx->max_inflight &&
         burst++ < SEND_BURST) {
    struct fact *f = fx->queue[fx->qhead++];
    struct pending *p = malloc(sizeof(*p));
    if (p == NULL) {
      f->state = F_DONE;
      continue;
    }
    p->fx = fx;
    p->f = f;
    f->state = F_FLIGHT;
    fx->inflight++;
    resolver_query(fx->res, f->text, f->type, on_answer, p);
  }
  fx->sending = 0;
  return fx->inflight + peers;
}

int facts_busy(const struct facts *fx) {
  unsigned k;

  for (k = 0; k < fx->n_peers; k++)
    if (facts_busy(fx->peers[k])) return 1;
  return fx->qhead < fx->nq || fx->inflight > 0;
}

void facts_stop(struct facts *fx) {
  unsigned k;

  fx->stopped = 1;
  for (k = 0; k < fx->n_peers; k++) facts_stop(fx->peers[k]);
}

const struct dns_result *facts_load(const struct facts *fx,
                                    struct facts_ws *ws, int type,
                                    const char *name) {
  struct fact *f = fact_get(fx, type, name);

  if (f == NULL || f->state != F_DONE || ws->used >= FACTS_WS_MAX) return NULL;
  fact_load(f, &ws->r[ws->used]);
  if (f->fetched > 0 && (ws->oldest == 0 || f->fetched < ws->oldest))
    ws->oldest = f->fetched;
  return &ws->r[ws->used++];
}

int facts_load1(const struct facts *fx, int type, const char *name,
                struct dns_result *out) {
  struct fact *f = fact_get(fx, type, name);

  if (f == NULL || f->state != F_DONE) return 0;
  fact_load(f, out);
  return 1;
}

int facts_no_address(const struct facts *fx, const char *name) {
  const struct fact *a = fact_get(fx, DNS_T_A, name),
                    *q = fact_get(fx, DNS_T_AAAA, name);

  return a && q && a->state == F_DONE && q->state == F_DONE &&
         (a->status == DNS_NXDOMAIN || a->status == DNS_NODATA) &&
         (q->status == DNS_NXDOMAIN || q->status == DNS_NODATA);
}

struct views_walk {
  const struct facts *fx;
  struct dns_result *views;
  facts_views_fn fn;
  void *ctx;
};

static void view_one(const char *key, void *val, void *arg) {
  struct views_walk *w = arg;
  const struct fact *f = val;
  const char *name = strchr(key, ' ');
  unsigned k;

  if (f->state != F_DONE || name == NULL ||
      (f->type != DNS_T_PTR && f->type != DNS_T_A && f->type != DNS_T_AAAA))
    return;
  name++;
  fact_load(f, &w->views[0]);
  for (k = 0; k < w->fx->n_peers; k++) {
    struct dns_result *v = &w->views[k + 1];
    if (!facts_load1(w->fx->peers[k], f->type, name, v)) {
      memset(v, 0, offsetof(struct dns_result, answer));
      snprintf(v->name, sizeof(v->name), "%s", name);
      v->type = f->type;
      v->status = DNS_ERROR;
    }
  }
  w->fn(w->ctx, w->views, w->fx->n_peers + 1);
}

void facts_views(const struct facts *fx, struct dns_result *views,
                 facts_views_fn fn, void *ctx) {
  struct views_walk w = {fx, views, fn, ctx};

  strmap_each(&fx->map, view_one, &w);
}

void facts_free(struct facts *fx) {
  strmap_free(&fx->map, fact_free);
  free(fx->queue);
  fx->queue = NULL;
  fx->nq = fx->capq = fx->qhead = 0;
}
