/* egressaudit - analyzer/twins.c: see twins.h.
 * The rows of one receiver arrive in time order. A window holds those
 * within TWIN_WINDOW_US of the row being judged; what the window holds is
 * also kept aggregated per (port, EHLO name): the distinct (source,
 * point, seen_at) it contains, with counts. Judging an inside row looks at
 * its group's aggregate, never at the rows, so ten thousand SYNs of one
 * bot to one receiver in one second are one candidate, not ten thousand.
 * SPDX-License-Identifier: MIT
 */
#define _POSIX_C_SOURCE 200809L
#include "analyzer/twins.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/netset.h"
#include "common/limits.h"
#include "common/util.h"

#define POINTS_MAX 64

struct wrow {
  int64_t id, point, first, last;
  uint64_t seen_at;
  int group;  /* index into groups                            */
  int priv;   /* a private source: maybe a translated inside   */
  int in_agg; /* counted in its group's aggregate              */
  int judge;  /* judged (else only a neighbour of judged rows) */
  int settled;/* its pairs are kept apart: the fold takes them */
  char src[ADDR_STRLEN];
};

struct cand {
  int64_t point;
  uint64_t seen_at;
  uint32_t count;
  char src[ADDR_STRLEN];
};

struct group {
  uint64_t hash;
  int dport, next;
  char *helo; /* NULL: no EHLO (matches only NULL, as SQL's IS) */
  struct cand *c;
  size_t n, cap;
};

struct pair {
  uint64_t hash;
  int next;
  int64_t first, last, sessions, last_id;
  int64_t point_in, point_out; /* the lowest names seen: any split agrees */
  int settled;
  char in[ADDR_STRLEN], out[ADDR_STRLEN];
};

struct twins {
  char dst[ADDR_STRLEN];
  int have_dst;
  struct wrow *w;
  size_t wn, wcap, lo, hi, cur;
  struct group *g;
  size_t gn, gcap;
  int *gb;
  size_t gbn; /* buckets: a power of two */
  struct pair *p;
  size_t pn, pcap;
  int *pb;
  size_t pbn;
  int64_t *ex;
  size_t exn, excap;
  struct {
    int64_t id;
    char name[128];
  } pts[POINTS_MAX];
  int npts;
  uint64_t seed, overflow;
};

/* FNV-1a, seeded per run: whoever sends EHLO names cannot aim them at one
 * bucket ahead of time. */
static uint64_t mix(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  size_t i;
  for (i = 0; i < n; i++) {
    h ^= b[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

int twins_new(struct twins **out) {
  struct twins *t = calloc(1, sizeof(*t));
  struct timespec ts;

  *out = NULL;
  if (t == NULL) return -ENOMEM;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  t->seed = 0xcbf29ce484222325ULL ^ (uint64_t)ts.tv_nsec ^
            ((uint64_t)(uintptr_t)t << 16);
  *out = t;
  return 0;
}

static void groups_clear(struct twins *t) {
  size_t i;
  for (i = 0; i < t->gn; i++) {
    free(t->g[i].helo);
    free(t->g[i].c);
  }
  t->gn = 0;
  for (i = 0; i < t->gbn; i++) t->gb[i] = -1;
}

void twins_free(struct twins *t) {
  if (t == NULL) return;
  groups_clear(t);
  free(t->g);
  free(t->gb);
  free(t->w);
  free(t->p);
  free(t->pb);
  free(t->ex);
  free(t);
}

/* Re-bucket a chained table of n entries (next links at stride) into a
 * power of two of at least 2n buckets. */
static int rebucket(int **b, size_t *nb, size_t n, void *items, size_t size,
                    size_t hash_off, size_t next_off) {
  size_t want = *nb ? *nb : 64, i;
  int *nbk;

  while (want < 2 * n) want *= 2;
  if (want == *nb) return 0;
  nbk = malloc(want * sizeof(*nbk));
  if (nbk == NULL) return -ENOMEM;
  for (i = 0; i < want; i++) nbk[i] = -1;
  for (i = 0; i < n; i++) {
    char *it = (char *)items + i * size;
    uint64_t h;
    int *next = (int *)(it + next_off);
    memcpy(&h, it + hash_off, sizeof(h));
    *next = nbk[h & (want - 1)];
    nbk[h & (want - 1)] = (int)i;
  }
  free(*b);
  *b = nbk;
  *nb = want;
  return 0;
}

static int group_of(struct twins *t, int dport, const char *helo) {
  uint64_t h = mix(t->seed, &dport, sizeof(dport));
  struct group *g;
  int i;

  h = helo ? mix(mix(h, "h", 1), helo, strlen(helo)) : mix(h, "-", 1);
  if (t->gbn > 0)
    for (i = t->gb[h & (t->gbn - 1)]; i >= 0; i = t->g[i].next) {
      g = &t->g[i];
      if (g->hash == h && g->dport == dport && (g->helo == NULL) == (helo == NULL) &&
          (helo == NULL || strcmp(g->helo, helo) == 0))
        return i;
    }
  if (vec_room(&t->g, &t->gcap, t->gn, sizeof(*t->g), 16) < 0) return -ENOMEM;
  g = &t->g[t->gn];
  memset(g, 0, sizeof(*g));
  g->hash = h;
  g->dport = dport;
  if (helo != NULL && (g->helo = strdup(helo)) == NULL) return -ENOMEM;
  t->gn++;
  if (t->gn * 2 > t->gbn) {
    if (rebucket(&t->gb, &t->gbn, t->gn, t->g, sizeof(*t->g),
                 offsetof(struct group, hash), offsetof(struct group, next)) < 0)
      return -ENOMEM;
  } else {
    g->next = t->gb[h & (t->gbn - 1)];
    t->gb[h & (t->gbn - 1)] = (int)(t->gn - 1);
  }
  return (int)(t->gn - 1);
}

static struct cand *cand_find(struct group *g, const struct wrow *r) {
  size_t i;
  for (i = 0; i < g->n; i++)
    if (g->c[i].point == r->point && g->c[i].seen_at == r->seen_at &&
        strcmp(g->c[i].src, r->src) == 0)
      return &g->c[i];
  return NULL;
}

static void agg_add(struct twins *t, struct wrow *r) {
  struct group *g = &t->g[r->group];
  struct cand *c = cand_find(g, r);

  if (c == NULL) {
    if (g->n >= TWIN_CANDIDATES_MAX ||
        vec_room(&g->c, &g->cap, g->n, sizeof(*g->c), 4) < 0) {
      t->overflow++;
      return;
    }
    c = &g->c[g->n++];
    memset(c, 0, sizeof(*c));
    c->point = r->point;
    c->seen_at = r->seen_at;
    memcpy(c->src, r->src, sizeof(c->src));
  }
  c->count++;
  r->in_agg = 1;
}

static void agg_del(struct twins *t, struct wrow *r) {
  struct group *g = &t->g[r->group];
  struct cand *c;

  if (!r->in_agg) return;
  r->in_agg = 0;
  if ((c = cand_find(g, r)) == NULL) return;
  if (--c->count == 0) *c = g->c[--g->n];
}

static const char *point_name(const struct twins *t, int64_t id) {
  int i;
  for (i = 0; i < t->npts; i++)
    if (t->pts[i].id == id) return t->pts[i].name;
  return "";
}

static int exclude(struct twins *t, int64_t id) {
  if (vec_room(&t->ex, &t->excap, t->exn, sizeof(*t->ex), 256) < 0) return -ENOMEM;
  t->ex[t->exn++] = id;
  return 0;
}

static int pair_add(struct twins *t, const struct wrow *in, const struct cand *out) {
  uint64_t h = mix(mix(mix(t->seed, in->src, strlen(in->src)), ">", 1), out->src,
                   strlen(out->src));
  struct pair *p;
  int i;

  h = mix(h, &in->settled, sizeof(in->settled));
  if (t->pbn > 0)
    for (i = t->pb[h & (t->pbn - 1)]; i >= 0; i = t->p[i].next) {
      p = &t->p[i];
      if (p->hash == h && p->settled == in->settled &&
          strcmp(p->in, in->src) == 0 && strcmp(p->out, out->src) == 0) {
        if (p->last_id != in->id) p->sessions++;
        p->last_id = in->id;
        if (in->first < p->first) p->first = in->first;
        if (in->last > p->last) p->last = in->last;
        if (strcmp(point_name(t, in->point), point_name(t, p->point_in)) < 0)
          p->point_in = in->point;
        if (strcmp(point_name(t, out->point), point_name(t, p->point_out)) < 0)
          p->point_out = out->point;
        return 0;
      }
    }
  if (vec_room(&t->p, &t->pcap, t->pn, sizeof(*t->p), 16) < 0) return -ENOMEM;
  p = &t->p[t->pn++];
  memset(p, 0, sizeof(*p));
  p->hash = h;
  memcpy(p->in, in->src, sizeof(p->in));
  memcpy(p->out, out->src, sizeof(p->out));
  p->first = in->first;
  p->last = in->last;
  p->sessions = 1;
  p->last_id = in->id;
  p->point_in = in->point;
  p->point_out = out->point;
  p->settled = in->settled;
  if (t->pn * 2 > t->pbn)
    return rebucket(&t->pb, &t->pbn, t->pn, t->p, sizeof(*t->p),
                    offsetof(struct pair, hash), offsetof(struct pair, next));
  p->next = t->pb[h & (t->pbn - 1)];
  t->pb[h & (t->pbn - 1)] = (int)(t->pn - 1);
  return 0;
}

/* Row i has every row within the window around it in the aggregate. */
static int judge(struct twins *t, const struct wrow *i) {
  const struct group *g = &t->g[i->group];
  uint64_t bit = 1ULL << ((uint64_t)i->point % 64);
  size_t k;
  int found = 0;

  if (!i->priv || !i->judge) return 0;
  for (k = 0; k < g->n; k++) {
    const struct cand *o = &g->c[k];
    /* Another point, another source, and that source not seen at i's
     * point around then (else it is routed, not the translation). */
    if (o->point == i->point || (o->seen_at & bit) || strcmp(o->src, i->src) == 0)
      continue;
    if (pair_add(t, i, o) < 0) return -ENOMEM;
    found = 1;
  }
  return found ? exclude(t, i->id) : 0;
}

/* Judge the rows whose window is complete (all of them when final). */
static int advance(struct twins *t, int final) {
  int rc;

  while (t->cur < t->wn) {
    const struct wrow *c = &t->w[t->cur];
    if (!final && t->w[t->wn - 1].first <= c->first + TWIN_WINDOW_US) break;
    while (t->hi < t->wn && t->w[t->hi].first <= c->first + TWIN_WINDOW_US)
      agg_add(t, &t->w[t->hi++]);
    while (t->lo < t->cur && t->w[t->lo].first < c->first - TWIN_WINDOW_US)
      agg_del(t, &t->w[t->lo++]);
    if ((rc = judge(t, c)) < 0) return rc;
    t->cur++;
  }
  /* Rows before lo are done with: keep the array the window's size. */
  if (t->lo > 1024 && t->lo * 2 > t->wn) {
    memmove(t->w, t->w + t->lo, (t->wn - t->lo) * sizeof(*t->w));
    t->wn -= t->lo;
    t->hi -= t->lo;
    t->cur -= t->lo;
    t->lo = 0;
  }
  return 0;
}

static int next_receiver(struct twins *t) {
  int rc = advance(t, 1);
  t->wn = t->lo = t->hi = t->cur = 0;
  groups_clear(t);
  return rc;
}

int twins_add(struct twins *t, const struct twin_row *r) {
  struct ea_addr a;
  struct wrow *w;
  int rc, g, i;

  if (r->src_ip == NULL || r->dst_ip == NULL) return 0;
  if (!t->have_dst || strcmp(t->dst, r->dst_ip) != 0) {
    if ((rc = next_receiver(t)) < 0) return rc;
    snprintf(t->dst, sizeof(t->dst), "%s", r->dst_ip);
    t->have_dst = 1;
  }
  if (r->routed && r->judge && (rc = exclude(t, r->id)) < 0) return rc;
  for (i = 0; i < t->npts && t->pts[i].id != r->point; i++) {}
  if (i == t->npts && t->npts < POINTS_MAX) {
    t->pts[i].id = r->point;
    snprintf(t->pts[i].name, sizeof(t->pts[i].name), "%s",
             r->point_name ? r->point_name : "");
    t->npts++;
  }
  if ((g = group_of(t, r->dst_port, r->helo)) < 0) return g;
  if (vec_room(&t->w, &t->wcap, t->wn, sizeof(*t->w), 256) < 0) return -ENOMEM;
  w = &t->w[t->wn++];
  memset(w, 0, sizeof(*w));
  w->id = r->id;
  w->point = r->point;
  w->first = r->first_us;
  w->last = r->last_us;
  w->seen_at = r->seen_at;
  w->judge = r->judge;
  w->settled = r->settled;
  w->group = g;
  snprintf(w->src, sizeof(w->src), "%s", r->src_ip);
  w->priv = addr_parse(&a, r->src_ip, strlen(r->src_ip)) == 0 && addr_is_private(&a);
  return advance(t, 0);
}

int twins_finish(struct twins *t) { return next_receiver(t); }

const int64_t *twins_excluded(const struct twins *t, size_t *n) {
  *n = t->exn;
  return t->ex;
}

uint64_t twins_overflow(const struct twins *t) { return t->overflow; }

static int by_inside(const void *a, const void *b) {
  const struct pair *x = a, *y = b;
  int c = strcmp(x->in, y->in);
  if (c != 0) return c;
  return (x->first > y->first) - (x->first < y->first);
}

int64_t twins_each_pair(const struct twins *t, nat_fn fn, void *ctx) {
  struct pair *s;
  struct nat_row r;
  size_t i;

  if (t->pn == 0) return 0;
  if ((s = malloc(t->pn * sizeof(*s))) == NULL) return -ENOMEM;
  memcpy(s, t->p, t->pn * sizeof(*s));
  qsort(s, t->pn, sizeof(*s), by_inside);
  for (i = 0; i < t->pn; i++) {
    r.inside_ip = s[i].in;
    r.outside_ip = s[i].out;
    r.point_in = point_name(t, s[i].point_in);
    r.point_out = point_name(t, s[i].point_out);
    r.first_us = s[i].first;
    r.last_us = s[i].last;
    r.sessions = s[i].sessions;
    r.settled = s[i].settled;
    if (fn(&r, ctx) != 0) break;
  }
  free(s);
  return (int64_t)t->pn;
}
