/* egressaudit - analyzer/analyzer.c: identities, DNS plan, rules, findings.
 * SPDX-License-Identifier: MIT
 */
#define _DEFAULT_SOURCE
#include "analyzer/analyzer.h"

#include <errno.h>
#include <libpsl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "analyzer/twins.h"
#include "common/util.h"

#define IDENT_MAX_FINDINGS 64
#define SEND_BURST 32

/* --- a small string-keyed hash map ------------------------------------ */

struct mapent {
  struct mapent *next;
  char *key;
  void *val;
};
struct map {
  struct mapent **b;
  size_t nb, n;
};

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ULL; /* FNV-1a: keys are ours, not wire */
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ULL;
  return h;
}

static void **map_slot(struct map *m, const char *key, int create) {
  struct mapent *e;
  size_t i;

  if (m->nb == 0 || (create && m->n >= m->nb)) {
    size_t nb = m->nb ? m->nb * 2 : 1024;
    struct mapent **b = calloc(nb, sizeof(*b));
    if (b == NULL) return NULL;
    for (i = 0; i < m->nb; i++)
      while ((e = m->b[i]) != NULL) {
        m->b[i] = e->next;
        e->next = b[hash_str(e->key) & (nb - 1)];
        b[hash_str(e->key) & (nb - 1)] = e;
      }
    free(m->b);
    m->b = b;
    m->nb = nb;
  }
  for (e = m->b[hash_str(key) & (m->nb - 1)]; e; e = e->next)
    if (strcmp(e->key, key) == 0) return &e->val;
  if (!create) return NULL;
  e = calloc(1, sizeof(*e));
  if (e == NULL || (e->key = strdup(key)) == NULL) {
    free(e);
    return NULL;
  }
  i = hash_str(key) & (m->nb - 1);
  e->next = m->b[i];
  m->b[i] = e;
  m->n++;
  return &e->val;
}

static void map_free(struct map *m, void (*free_val)(void *)) {
  struct mapent *e;
  size_t i;

  for (i = 0; i < m->nb; i++)
    while ((e = m->b[i]) != NULL) {
      m->b[i] = e->next;
      if (free_val) free_val(e->val);
      free(e->key);
      free(e);
    }
  free(m->b);
  memset(m, 0, sizeof(*m));
}

/* --- DNS facts: compact, one per (type, name) ------------------------- */

enum { F_WANTED = 0, F_QUEUED, F_FLIGHT, F_DONE };

struct fact {
  uint16_t type;
  uint8_t status, state;
  uint32_t ttl;
  uint16_t total; /* answers the message held (dns_result.total)       */
  char *text; /* name \0 answers joined by \n \0 zone \0 mname \0 rname \0 */
};

struct srv {
  struct ea_addr ip;
  char ip_text[ADDR_STRLEN], rev[80], host[256];
  int64_t sessions, first_us, last_us;
};

struct natpair {
  struct ea_addr in, out;
  char in_text[ADDR_STRLEN], out_text[ADDR_STRLEN];
  char point_in[128], point_out[128];
  int64_t first_us, last_us, sessions;
};

enum { A_PHASE1, A_PHASE2, A_FINISHED };

struct run {
  struct analyzer_cfg cfgv;  /* a copy: the caller's may go first        */
  const struct analyzer_cfg *cfg;
  uv_timer_t step;           /* the next phase, outside c-ares callbacks  */
  uv_check_t sender;         /* a burst of queries each loop iteration    */
  uv_work_t work;            /* the store reads, on libuv's thread pool   */
  int working, mutex_ok, open_handles;
  uv_mutex_t ro_lock;        /* guards ro and stop: cancel interrupts     */
  struct store *ro;
  int stop;
  char *db_path;
  struct finding *pre;       /* findings the reads gave (rejects, port 25, */
  size_t npre, cappre;       /* drops), emitted with the rest            */
  int phase, sending, closing, cancelled, ret;
  int64_t next_progress, t_phase;
  analyzer_done_fn done_fn;
  void *done_ctx;
  /* check mode */
  struct idrec *check_id;
  check_fn check_fn;
  void *check_ctx;
  char err[512];
  struct store *st;          /* NULL for check                              */
  struct resolver *res;
  struct map facts, idents;
  struct fact **queue;
  size_t nq, capq, qhead;
  unsigned inflight, done, total;
  int64_t now;
  psl_ctx_t *psl;
  struct analysis_stats stats;
  int store_rc;
  /* identities in insertion order */
  struct idrec **ids;
  size_t nids, capids;
  struct srv *srv;
  size_t nsrv, capsrv;
  struct natpair *nat;
  size_t nnat, capnat;
  /* check mode: findings collected */
  struct finding *found;
  unsigned nfound;
};

static void fact_free(void *v) {
  struct fact *f = v;
  if (f) free(f->text);
  free(f);
}

/* Keep a result compactly: the map may hold tens of thousands. */
static void fact_set(struct fact *f, const struct dns_result *r) {
  const char *parts[3] = {r->soa_zone, r->soa_mname, r->soa_rname};
  size_t len = strlen(r->name) + 1, o;
  unsigned i;
  char *t;

  for (i = 0; i < r->n; i++) len += strlen(r->answer[i]) + 1;
  for (i = 0; i < 3; i++) len += strlen(parts[i]) + 1;
  t = malloc(len + 1);
  if (t == NULL) return;
  o = (size_t)snprintf(t, len + 1, "%s", r->name) + 1;
  for (i = 0; i < r->n; i++)
    o += (size_t)snprintf(t + o, len + 1 - o, "%s%s", i ? "\n" : "",
                          r->answer[i]);
  t[o++] = '\0'; /* also when there is no answer at all */
  for (i = 0; i < 3; i++)
    o += (size_t)snprintf(t + o, len + 1 - o, "%s", parts[i]) + 1;
  free(f->text);
  f->text = t;
  f->status = r->status;
  f->ttl = r->ttl;
  f->type = r->type;
  f->total = r->total;
  f->state = F_DONE;
}

/* Expand a fact into a full result (for the rules). */
static void fact_load(const struct fact *f, struct dns_result *r) {
  const char *p = f->text, *nl;
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
  while (*p && r->n < DNS_ANSWERS_MAX) {
    nl = strchr(p, '\n');
    snprintf(r->answer[r->n++], DNS_NAME_MAX, "%.*s",
             (int)(nl ? (size_t)(nl - p) : strlen(p)), p);
    if (nl == NULL) break;
    p = nl + 1;
  }
  p += strlen(p) + 1;
  for (i = 0; i < 3; i++) {
    snprintf(soa[i], DNS_NAME_MAX, "%s", p);
    p += strlen(p) + 1;
  }
}

static struct fact *fact_get(struct run *R, int type, const char *name) {
  char key[DNS_NAME_MAX + 8];
  void **slot;

  snprintf(key, sizeof(key), "%d %s", type, name);
  slot = map_slot(&R->facts, key, 0);
  return slot ? *slot : NULL;
}

/* Ask for (type, name) unless known: from the cache when fresh enough. */
static void want(struct run *R, int type, const char *name) {
  char key[DNS_NAME_MAX + 8];
  static struct dns_result cached;
  int64_t fetched, expires;
  struct fact *f;
  void **slot;

  if (name[0] == '\0' || strlen(name) >= DNS_NAME_MAX) return;
  snprintf(key, sizeof(key), "%d %s", type, name);
  slot = map_slot(&R->facts, key, 1);
  if (slot == NULL || *slot != NULL) return;
  f = calloc(1, sizeof(*f));
  if (f == NULL) return;
  *slot = f;
  f->type = (uint16_t)type;
  if (R->st != NULL &&
      store_dns_get(R->st, name, type, &cached, &fetched, &expires) == 1 &&
      !dns_status_temporary(cached.status) &&
      (R->cfg->max_age_us < 0 ? expires > R->now
                              : fetched >= R->now - R->cfg->max_age_us)) {
    fact_set(f, &cached);
    R->stats.cached++;
    return;
  }
  {
    struct dns_result q;
    memset(&q, 0, offsetof(struct dns_result, answer));
    snprintf(q.name, sizeof(q.name), "%s", name);
    q.type = (uint16_t)type;
    q.status = DNS_ERROR;
    q.soa_zone[0] = q.soa_mname[0] = q.soa_rname[0] = '\0';
    fact_set(f, &q); /* placeholder name until the answer comes */
  }
  f->state = F_QUEUED;
  if (vec_room(&R->queue, &R->capq, R->nq, sizeof(*R->queue), 256) < 0) return;
  R->queue[R->nq++] = f;
  R->total++;
}

struct pending {
  struct run *R;
  struct fact *f;
};

static void pump(struct run *R);

static void on_answer(void *ctx, const struct dns_result *r) {
  struct pending *p = ctx;
  struct run *R = p->R;

  struct fact *f = p->f;

  free(p);
  R->inflight--;
  if (R->closing) return; /* cancelled: nothing to keep */
  fact_set(f, r);
  R->done++;
  R->stats.queries++;
  if (dns_status_temporary(r->status)) R->stats.temp_failures++;
  if (R->st != NULL && R->store_rc == 0) {
    int rc = store_dns_put(R->st, r, R->now, resolver_servers(R->res));
    if (rc < 0) R->store_rc = rc;
  }
  if (R->cfg->progress && mono_us() >= R->next_progress) {
    R->cfg->progress(R->cfg->progress_ctx, R->done, R->total);
    R->next_progress = mono_us() + 250000;
  }
}

static void on_step(uv_timer_t *t);

/* Send what is queued, at most max_inflight at once and one small burst
 * per loop iteration (a resolver's socket buffer holds a few hundred
 * queries; a thousand at once would be dropped and retried; sending from
 * each answer's callback instead took twice as long). When nothing is in
 * flight the step timer moves the run on. */
static void pump(struct run *R) {
  unsigned max = R->cfg->max_inflight ? R->cfg->max_inflight : 256;
  unsigned burst = 0;

  if (R->sending || R->closing) return; /* an answer given synchronously */
  R->sending = 1;
  while (R->qhead < R->nq && R->inflight < max && burst++ < SEND_BURST) {
    struct fact *f = R->queue[R->qhead++];
    struct pending *p = malloc(sizeof(*p));
    if (p == NULL) {
      f->state = F_DONE;
      continue;
    }
    p->R = R;
    p->f = f;
    f->state = F_FLIGHT;
    R->inflight++;
    resolver_query(R->res, f->text, f->type, on_answer, p);
  }
  R->sending = 0;
  /* Nothing in flight: the phase is over, or every answer came at once. */
  if (R->inflight == 0) uv_timer_start(&R->step, on_step, 0, 0);
}

/* --- identities -------------------------------------------------------- */

struct idrec {
  struct ea_addr ip;
  char ip_text[ADDR_STRLEN];
  char rev[80];
  int echoed, unknown_dir;
  unsigned n_src, n_helo;
  struct ea_addr src[IDENT_SRC_MAX];
  uint8_t src_paired[IDENT_SRC_MAX]; /* known only from a gateway's pair  */
  char *helo[IDENT_HELO_MAX];
  int64_t helo_sessions[IDENT_HELO_MAX];
  int64_t sessions, first_us, last_us, rejected, starttls;
  char points[256];
  int iprev;
  int merged; /* folded into the identity a receiver revealed for it  */
};

static void idrec_free(void *v) {
  struct idrec *d = v;
  unsigned i;
  if (d == NULL) return;
  for (i = 0; i < d->n_helo; i++) free(d->helo[i]);
  free(d);
}

static struct idrec *ident_get(struct run *R, const struct ea_addr *ip,
                               int echoed) {
  char text[ADDR_STRLEN];
  void **slot;
  struct idrec *d;

  addr_str(ip, text);
  slot = map_slot(&R->idents, text, 1);
  if (slot == NULL) return NULL;
  if (*slot != NULL) {
    d = *slot;
    if (echoed) d->echoed = 1;
    return d;
  }
  d = calloc(1, sizeof(*d));
  if (d == NULL) return NULL;
  *slot = d;
  d->ip = *ip;
  memcpy(d->ip_text, text, sizeof(text));
  dns_reverse_name(ip->family, ip->a, d->rev, sizeof(d->rev));
  d->echoed = echoed;
  d->first_us = INT64_MAX;
  d->last_us = INT64_MIN;
  if (vec_room(&R->ids, &R->capids, R->nids, sizeof(*R->ids), 256) < 0) return d;
  R->ids[R->nids++] = d;
  return d;
}

static void ident_add(struct idrec *d, const struct ea_addr *src,
                      const char *helo, int64_t sessions, int64_t first,
                      int64_t last, int unknown_dir) {
  unsigned i;

  for (i = 0; i < d->n_src; i++)
    if (memcmp(&d->src[i], src, sizeof(*src)) == 0) break;
  if (i == d->n_src && d->n_src < IDENT_SRC_MAX) d->src[d->n_src++] = *src;
  if (helo != NULL && helo[0] != '\0') {
    for (i = 0; i < d->n_helo; i++)
      if (strcasecmp(d->helo[i], helo) == 0) break;
    if (i == d->n_helo && d->n_helo < IDENT_HELO_MAX &&
        (d->helo[i] = strdup(helo)) != NULL)
      d->n_helo++;
    if (i < d->n_helo) d->helo_sessions[i] += sessions;
  }
  d->sessions += sessions;
  if (first < d->first_us) d->first_us = first;
  if (last > d->last_us) d->last_us = last;
  if (unknown_dir) d->unknown_dir = 1;
}

static int on_group(const struct egress_group *g, void *ctx) {
  struct run *R = ctx;
  struct ea_addr src, echo, *ip;
  struct idrec *d;

  if (g->src_ip == NULL || addr_parse(&src, g->src_ip, strlen(g->src_ip)) < 0)
    return 0;
  ip = &src;
  if (g->echoed_ip != NULL &&
      addr_parse(&echo, g->echoed_ip, strlen(g->echoed_ip)) == 0)
    ip = &echo;
  d = ident_get(R, ip, ip == &echo);
  if (d != NULL) {
    ident_add(d, &src, g->helo, g->sessions, g->first_us, g->last_us,
              g->direction && strcmp(g->direction, "unknown") == 0);
    d->rejected += g->rejected;
    d->starttls += g->starttls;
    if (g->points && !strstr(d->points, g->points)) {
      size_t n = strlen(d->points);
      snprintf(d->points + n, sizeof(d->points) - n, "%s%s", n ? "," : "",
               g->points);
    }
  }
  return 0;
}

static int on_server(const struct server_row *r, void *ctx) {
  struct run *R = ctx;
  struct srv *v;

  if (r->ip == NULL || r->banner_host == NULL) return 0;
  if (vec_room(&R->srv, &R->capsrv, R->nsrv, sizeof(*R->srv), 16) < 0) return 1;
  v = &R->srv[R->nsrv];
  memset(v, 0, sizeof(*v));
  if (addr_parse(&v->ip, r->ip, strlen(r->ip)) < 0) return 0;
  snprintf(v->ip_text, sizeof(v->ip_text), "%s", r->ip);
  snprintf(v->host, sizeof(v->host), "%s", r->banner_host);
  for (char *c = v->host; *c; c++)
    if (*c >= 'A' && *c <= 'Z') *c = (char)(*c + 32);
  dns_reverse_name(v->ip.family, v->ip.a, v->rev, sizeof(v->rev));
  v->sessions = r->sessions;
  v->first_us = r->first_us;
  v->last_us = r->last_us;
  R->nsrv++;
  return 0;
}

static int on_nat(const struct nat_row *r, void *ctx) {
  struct run *R = ctx;
  struct natpair *p;

  if (vec_room(&R->nat, &R->capnat, R->nnat, sizeof(*R->nat), 16) < 0) return 1;
  p = &R->nat[R->nnat];
  memset(p, 0, sizeof(*p));
  if (addr_parse(&p->in, r->inside_ip, strlen(r->inside_ip)) < 0 ||
      addr_parse(&p->out, r->outside_ip, strlen(r->outside_ip)) < 0)
    return 0;
  snprintf(p->in_text, sizeof(p->in_text), "%s", r->inside_ip);
  snprintf(p->out_text, sizeof(p->out_text), "%s", r->outside_ip);
  snprintf(p->point_in, sizeof(p->point_in), "%s", r->point_in ? r->point_in : "");
  snprintf(p->point_out, sizeof(p->point_out), "%s", r->point_out ? r->point_out : "");
  p->first_us = r->first_us;
  p->last_us = r->last_us;
  p->sessions = r->sessions;
  R->nnat++;
  return 0;
}

/* A HELO argument worth asking DNS about. */
static int helo_is_name(const char *h) {
  return h[0] != '[' && rules_helo_invalid(h) == NULL;
}

/* A private source that some receiver echoed back (Exim, Microsoft) has a
 * known public address: its sessions without an echo (to Postfix, say)
 * belong to that identity too, when there is exactly one such address. */
static void merge_private(struct run *R) {
  size_t i, j;
  unsigned k, h;

  /* A gateway's inside sessions are not counted (their outside twins are):
   * the inside host still shows as a source of each public identity. */
  for (j = 0; j < R->nnat; j++) {
    struct idrec *e = ident_get(R, &R->nat[j].out, 0);
    unsigned had;
    if (e == NULL) continue;
    had = e->n_src;
    ident_add(e, &R->nat[j].in, NULL, 0, R->nat[j].first_us,
              R->nat[j].last_us, 0);
    /* A translation seen on both sides of the gateway is the NAT map's,
     * not a surprise: listed as a source, kept from the nat rules. */
    if (e->n_src > had) e->src_paired[e->n_src - 1] = 1;
  }

  for (i = 0; i < R->nids; i++) {
    struct idrec *p = R->ids[i], *to = NULL;
    int several = 0;
    if (!addr_is_private(&p->ip) || p->echoed) continue;
    /* A NAT gateway capture paired it with its outside address. */
    for (j = 0; j < R->nnat && !several; j++) {
      struct idrec *e;
      if (memcmp(&R->nat[j].in, &p->ip, sizeof(p->ip)) != 0) continue;
      e = ident_get(R, &R->nat[j].out, 0);
      if (to != NULL && to != e) several = 1;
      to = e;
    }
    for (j = 0; j < R->nids && !several; j++) {
      struct idrec *e = R->ids[j];
      if (!e->echoed || e == p) continue;
      for (k = 0; k < e->n_src; k++)
        if (memcmp(&e->src[k], &p->ip, sizeof(p->ip)) == 0) {
          if (to != NULL && to != e) several = 1;
          to = e;
        }
    }
    if (to == NULL || several) continue;
    for (h = 0; h < p->n_helo; h++)
      ident_add(to, &p->ip, p->helo[h], p->helo_sessions[h], p->first_us,
                p->last_us, p->unknown_dir);
    if (p->n_helo == 0)
      ident_add(to, &p->ip, NULL, p->sessions, p->first_us, p->last_us,
                p->unknown_dir);
    to->rejected += p->rejected;
    to->starttls += p->starttls;
    p->merged = 1;
  }
}

static void plan_phase1(struct run *R) {
  size_t i;
  unsigned h;

  for (i = 0; i < R->nids; i++) {
    struct idrec *d = R->ids[i];
    if (d->merged) continue;
    if (!addr_is_private(&d->ip)) {
      want(R, DNS_T_PTR, d->rev);
      want(R, DNS_T_SOA, d->rev);
    }
    for (h = 0; h < d->n_helo; h++)
      if (helo_is_name(d->helo[h])) {
        want(R, DNS_T_A, d->helo[h]);
        want(R, DNS_T_AAAA, d->helo[h]);
      }
  }
}

static const struct dns_result *ws_load(struct run *R, unsigned *used, int type,
                                        const char *name);

static void plan_servers(struct run *R) {
  size_t i;

  for (i = 0; i < R->nsrv; i++) {
    if (addr_is_private(&R->srv[i].ip)) continue;
    want(R, DNS_T_PTR, R->srv[i].rev);
    if (helo_is_name(R->srv[i].host)) {
      want(R, DNS_T_A, R->srv[i].host);
      want(R, DNS_T_AAAA, R->srv[i].host);
    }
  }
}

static void judge_servers(struct run *R, const struct rules_cfg *rc) {
  struct server_ident sv;
  unsigned used;
  size_t i;

  for (i = 0; i < R->nsrv; i++) {
    used = 0;
    memset(&sv, 0, sizeof(sv));
    sv.ip = R->srv[i].ip;
    memcpy(sv.ip_text, R->srv[i].ip_text, sizeof(sv.ip_text));
    sv.banner_host = R->srv[i].host;
    sv.sessions = R->srv[i].sessions;
    sv.first_us = R->srv[i].first_us;
    sv.last_us = R->srv[i].last_us;
    if (addr_is_private(&sv.ip)) continue;
    sv.ptr = ws_load(R, &used, DNS_T_PTR, R->srv[i].rev);
    sv.a = ws_load(R, &used, DNS_T_A, R->srv[i].host);
    sv.aaaa = ws_load(R, &used, DNS_T_AAAA, R->srv[i].host);
    rules_server(rc, &sv);
  }
}

static int no_address(struct run *R, const char *name) {
  struct fact *a = fact_get(R, DNS_T_A, name), *q = fact_get(R, DNS_T_AAAA, name);
  return a && q && a->state == F_DONE && q->state == F_DONE &&
         (a->status == DNS_NXDOMAIN || a->status == DNS_NODATA) &&
         (q->status == DNS_NXDOMAIN || q->status == DNS_NODATA);
}

static void plan_phase2(struct run *R) {
  static struct dns_result ptr;
  size_t i;
  unsigned h, k;

  for (i = 0; i < R->nids; i++) {
    struct idrec *d = R->ids[i];
    struct fact *f;
    if (d->merged) continue;
    f = fact_get(R, DNS_T_PTR, d->rev);
    if (f != NULL && f->state == F_DONE && f->status == DNS_OK) {
      fact_load(f, &ptr);
      for (k = 0; k < ptr.n; k++) {
        want(R, DNS_T_A, ptr.answer[k]);
        want(R, DNS_T_AAAA, ptr.answer[k]);
      }
    }
    for (h = 0; h < d->n_helo; h++)
      if (helo_is_name(d->helo[h]) && no_address(R, d->helo[h]))
        want(R, DNS_T_MX, d->helo[h]);
  }
}

/* Workspace for one identity's facts (the rules borrow them). */
#define WS_MAX (2 + IDENT_NAMES_MAX * 2 + IDENT_HELO_MAX * 3)
static struct dns_result ws[WS_MAX];

static const struct dns_result *ws_load(struct run *R, unsigned *used, int type,
                                        const char *name) {
  struct fact *f = fact_get(R, type, name);
  if (f == NULL || f->state != F_DONE || *used >= WS_MAX) return NULL;
  fact_load(f, &ws[*used]);
  return &ws[(*used)++];
}

static void build_ident(struct run *R, const struct idrec *d, struct ident *id) {
  unsigned used = 0, k;

  memset(id, 0, sizeof(*id));
  id->ip = d->ip;
  memcpy(id->ip_text, d->ip_text, sizeof(id->ip_text));
  id->echoed = d->echoed;
  id->sessions = d->sessions;
  id->first_us = d->first_us;
  id->last_us = d->last_us;
  id->unknown_direction = d->unknown_dir;
  for (k = 0; k < d->n_src; k++)
    if (!d->src_paired[k]) id->src[id->n_src++] = d->src[k];
  if (!addr_is_private(&d->ip)) {
    id->ptr = ws_load(R, &used, DNS_T_PTR, d->rev);
    id->soa = ws_load(R, &used, DNS_T_SOA, d->rev);
  }
  if (id->ptr != NULL && id->ptr->status == DNS_OK) {
    id->n_names = MIN(id->ptr->n, IDENT_NAMES_MAX);
    for (k = 0; k < id->n_names; k++) {
      id->fwd[k].a = ws_load(R, &used, DNS_T_A, id->ptr->answer[k]);
      id->fwd[k].aaaa = ws_load(R, &used, DNS_T_AAAA, id->ptr->answer[k]);
    }
  }
  id->n_helo = d->n_helo;
  for (k = 0; k < d->n_helo; k++) {
    snprintf(id->helo[k].name, sizeof(id->helo[k].name), "%s", d->helo[k]);
    id->helo[k].sessions = d->helo_sessions[k];
    if (!helo_is_name(d->helo[k])) continue;
    id->helo[k].a = ws_load(R, &used, DNS_T_A, d->helo[k]);
    id->helo[k].aaaa = ws_load(R, &used, DNS_T_AAAA, d->helo[k]);
    id->helo[k].mx = ws_load(R, &used, DNS_T_MX, d->helo[k]);
  }
}

static void on_finding(void *ctx, const struct finding *f) {
  struct run *R = ctx;

  if (f->severity <= SEV_UNKNOWN) R->stats.by_sev[f->severity]++;
  if (R->found != NULL) {
    if (R->nfound < IDENT_MAX_FINDINGS) R->found[R->nfound++] = *f;
    return;
  }
  if (R->st != NULL && R->store_rc == 0) {
    int rc = store_finding_put(R->st, f, R->now);
    if (rc < 0) R->store_rc = rc;
  }
}

/* --- rules across identities ------------------------------------------ */

/* ip-rotation: one HELO name leaving from several public addresses. */
static void rule_rotation(struct run *R, const struct rules_cfg *rc) {
  struct map by_helo = {0};
  size_t i;
  unsigned h;
  struct mapent *e;

  for (i = 0; i < R->nids; i++) {
    struct idrec *d = R->ids[i];
    if (addr_is_private(&d->ip) || d->merged) continue;
    for (h = 0; h < d->n_helo; h++) {
      char key[300];
      void **slot;
      struct idrec ***list;
      snprintf(key, sizeof(key), "%s", d->helo[h]);
      for (char *c = key; *c; c++) *c = (char)((*c >= 'A' && *c <= 'Z') ? *c + 32 : *c);
      slot = map_slot(&by_helo, key, 1);
      if (slot == NULL) continue;
      if (*slot == NULL) *slot = calloc(IDENT_SRC_MAX * 4 + 1, sizeof(struct idrec *));
      list = (struct idrec ***)slot;
      if (*list == NULL) continue;
      for (unsigned k = 0; k < IDENT_SRC_MAX * 4; k++)
        if ((*list)[k] == NULL) {
          (*list)[k] = d;
          break;
        }
    }
  }
  for (i = 0; i < by_helo.nb; i++)
    for (e = by_helo.b[i]; e; e = e->next) {
      struct idrec **l = e->val;
      struct finding f;
      unsigned n = 0, coherent = 1;
      size_t o = 0;

      while (l && l[n]) n++;
      if (n < 2) continue;
      memset(&f, 0, sizeof(f));
      f.rule = "ip-rotation";
      snprintf(f.subject, sizeof(f.subject), "%s", e->key);
      f.first_us = INT64_MAX;
      f.last_us = INT64_MIN;
      o = (size_t)snprintf(f.detail, sizeof(f.detail),
                           "EHLO name %s left from %u public addresses:", e->key, n);
      for (unsigned k = 0; k < n; k++) {
        if (l[k]->iprev != IPREV_PASS) coherent = 0;
        if (o < sizeof(f.detail))
          o += (size_t)snprintf(f.detail + o, sizeof(f.detail) - o, " %s (iprev %s)",
                                l[k]->ip_text, iprev_name((unsigned)l[k]->iprev));
        f.count += l[k]->sessions;
        if (l[k]->first_us < f.first_us) f.first_us = l[k]->first_us;
        if (l[k]->last_us > f.last_us) f.last_us = l[k]->last_us;
      }
      f.severity = coherent ? SEV_WARN : SEV_CRIT;
      snprintf(f.fix, sizeof(f.fix), "%s",
               coherent ? "Every address of the pool forward-confirms; make sure"
                          " each PTR name also matches the EHLO name, or pin the"
                          " sender to one address."
                        : "Give every address of the egress pool a PTR that "
                          "resolves back (ideally to the EHLO name), or send "
                          "from the coherent ones only (Postfix: "
                          "smtp_bind_address; NAT: one SNAT address).");
      rc->emit(rc->ctx, &f);
    }
  map_free(&by_helo, free);
}

struct reject_agg {
  struct run *R;
  const struct rules_cfg *rc;
  struct map by_ip;
};
struct rej {
  struct finding f;
  unsigned n_rcv;
};

static int on_reject(const struct reject_row *r, void *ctx) {
  struct reject_agg *A = ctx;
  const char *phrase = r->text ? rules_rdns_phrase(r->text) : NULL;
  const char *ip = r->echoed_ip ? r->echoed_ip : r->src_ip;
  struct ea_addr quoted;
  char qbuf[ADDR_STRLEN];
  struct rej *x;
  void **slot;
  char when[TIME_STRLEN];

  if (phrase == NULL || ip == NULL) return 0;
  /* The reject text often quotes the address the receiver saw. */
  if (r->text && addr_find_bracketed(r->text, strlen(r->text), NULL, &quoted) == 0)
    ip = addr_str(&quoted, qbuf);
  slot = map_slot(&A->by_ip, ip, 1);
  if (slot == NULL) return 0;
  if (*slot == NULL) {
    x = calloc(1, sizeof(*x));
    if (x == NULL) return 0;
    *slot = x;
    x->f.rule = "rdns-reject";
    x->f.severity = SEV_CRIT;
    snprintf(x->f.subject, sizeof(x->f.subject), "%s", ip);
    snprintf(x->f.ident, sizeof(x->f.ident), "%s", ip);
    x->f.first_us = r->first_us;
    snprintf(x->f.detail, sizeof(x->f.detail),
             "%s (%s) answered %lld %s%s%s at %s, blaming reverse DNS ('%s')",
             r->banner_host ? r->banner_host : r->dst_ip, r->dst_ip,
             (long long)r->code, r->enhanced ? r->enhanced : "",
             r->enhanced ? " " : "", r->text, time_str(r->first_us, when),
             phrase);
    snprintf(x->f.fix, sizeof(x->f.fix),
             "The receiver refused mail because of the PTR of %s: fix what "
             "no-ptr / fcrdns-fail say for this address, then retry the "
             "deferred mail (postqueue -f).", ip);
  }
  x = *slot;
  x->f.count++;
  x->f.last_us = r->first_us;
  return 0;
}

static int64_t rule_rejects(struct run *R, struct store *st,
                            const struct rules_cfg *rc) {
  struct reject_agg A = {R, rc, {0}};
  size_t i;
  struct mapent *e;
  int64_t rows;

  rows = store_rejects(st, R->cfg->since, R->cfg->until, on_reject, &A);
  for (i = 0; i < A.by_ip.nb; i++)
    for (e = A.by_ip.b[i]; e; e = e->next) {
      struct rej *x = e->val;
      if (x->f.count > 1) {
        size_t n = strlen(x->f.detail);
        snprintf(x->f.detail + n, sizeof(x->f.detail) - n,
                 "; %lld such rejects in all", (long long)x->f.count);
      }
      rc->emit(rc->ctx, &x->f);
    }
  map_free(&A.by_ip, free);
  return rows;
}

static int on_drops(const struct drops_row *r, void *ctx) {
  const struct rules_cfg *rc = ctx;
  struct finding f;

  memset(&f, 0, sizeof(f));
  f.rule = "capture-drops";
  f.severity = SEV_WARN;
  snprintf(f.subject, sizeof(f.subject), "%s", r->point);
  snprintf(f.detail, sizeof(f.detail),
           "capture point %s lost %lld packets (kernel or interface drops): "
           "the history has holes, sessions may be missing or incomplete",
           r->point, (long long)r->dropped);
  snprintf(f.fix, sizeof(f.fix), "%s",
           "Capture only SMTP (the default filter), give the capture a "
           "larger buffer, or run it on a less loaded host.");
  f.first_us = r->first_us;
  f.last_us = r->last_us;
  f.count = r->dropped;
  rc->emit(rc->ctx, &f);
  return 0;
}

static int on_port25(const struct port25_row *r, void *ctx) {
  const struct rules_cfg *rc = ctx;
  struct finding f;

  if (r->src_ip == NULL || r->blocked_dsts == 0) return 0;
  if (!(r->answered == 0 || r->blocked_dsts >= 3)) return 0;
  memset(&f, 0, sizeof(f));
  f.rule = "port25-blocked";
  f.severity = r->answered == 0 ? SEV_CRIT : SEV_WARN;
  snprintf(f.subject, sizeof(f.subject), "%s", r->src_ip);
  snprintf(f.ident, sizeof(f.ident), "%s", r->src_ip);
  snprintf(f.detail, sizeof(f.detail),
           "%lld connection attempts from %s to %lld receivers got no answer"
           " or a reset; %lld sessions from it reached a banner",
           (long long)r->blocked, r->src_ip, (long long)r->blocked_dsts,
           (long long)r->answered);
  snprintf(f.fix, sizeof(f.fix), "%s",
           r->answered == 0
               ? "Outbound port 25 looks blocked: ask the provider to open it "
                 "(many clouds block it by default), or relay through a "
                 "smarthost on port 587."
               : "Some receivers never answer: check a firewall rule or a "
                 "blocklisting of this address by those networks.");
  f.first_us = r->first_us;
  f.last_us = r->last_us;
  f.count = r->blocked;
  rc->emit(rc->ctx, &f);
  return 0;
}

/* Record the identity for the report: what DNS and the wire said. */
static void put_identity(struct run *R, const struct idrec *d,
                         const struct ident *id) {
  char ptr[DNS_ANSWERS_MAX * DNS_NAME_MAX], helos[IDENT_HELO_MAX * 256],
      srcs[IDENT_SRC_MAX * ADDR_STRLEN], a[ADDR_STRLEN];
  struct identity_row row;
  size_t n = 0;
  unsigned k;
  int rc;

  ptr[0] = helos[0] = srcs[0] = '\0';
  for (k = 0; id->ptr && id->ptr->status == DNS_OK && k < id->ptr->n; k++)
    n += (size_t)snprintf(ptr + n, sizeof(ptr) - n, "%s%s", k ? "\n" : "",
                          id->ptr->answer[k]);
  for (n = 0, k = 0; k < d->n_helo; k++)
    n += (size_t)snprintf(helos + n, sizeof(helos) - n, "%s%s", k ? "\n" : "",
                          d->helo[k]);
  for (n = 0, k = 0; k < d->n_src; k++)
    n += (size_t)snprintf(srcs + n, sizeof(srcs) - n, "%s%s", k ? "\n" : "",
                          addr_str(&d->src[k], a));
  memset(&row, 0, sizeof(row));
  row.ip = d->ip_text;
  row.iprev = iprev_name((unsigned)d->iprev);
  row.ptr = ptr;
  row.helos = helos;
  row.sources = srcs;
  row.echoed = d->echoed ? d->ip_text : "";
  row.sessions = d->sessions;
  row.rejected = d->rejected;
  row.starttls = d->starttls;
  row.first_us = d->first_us;
  row.last_us = d->last_us;
  row.unknown_direction = d->unknown_dir;
  row.points = d->points;
  rc = store_identity_put(R->st, &row, R->now);
  if (rc == 0) rc = store_identity_log(R->st, row.ip, R->now, row.iprev, ptr);
  if (rc < 0 && R->store_rc == 0) R->store_rc = rc;
}

/* ip-rotation of an inside host: one private address that a NAT gateway
 * translated to several public ones. */
static void rule_nat_rotation(struct run *R, const struct rules_cfg *rc) {
  size_t i, j;

  for (i = 0; i < R->nnat; i++) {
    struct finding f;
    size_t o;
    unsigned n = 0, coherent = 1;
    if (i > 0 && memcmp(&R->nat[i].in, &R->nat[i - 1].in, sizeof(R->nat[i].in)) == 0)
      continue; /* one finding per inside host */
    memset(&f, 0, sizeof(f));
    f.rule = "ip-rotation";
    snprintf(f.subject, sizeof(f.subject), "%s", R->nat[i].in_text);
    o = (size_t)snprintf(f.detail, sizeof(f.detail),
                         "inside host %s left as:", R->nat[i].in_text);
    f.first_us = R->nat[i].first_us;
    f.last_us = R->nat[i].last_us;
    for (j = i; j < R->nnat && memcmp(&R->nat[j].in, &R->nat[i].in, sizeof(R->nat[i].in)) == 0; j++) {
      void **slot = map_slot(&R->idents, R->nat[j].out_text, 0);
      const struct idrec *d = slot ? *slot : NULL;
      int ipr = d ? d->iprev : IPREV_NONE;
      if (ipr != IPREV_PASS) coherent = 0;
      if (o < sizeof(f.detail))
        o += (size_t)snprintf(f.detail + o, sizeof(f.detail) - o, " %s (iprev %s)",
                              R->nat[j].out_text, iprev_name((unsigned)ipr));
      f.count += R->nat[j].sessions;
      if (R->nat[j].first_us < f.first_us) f.first_us = R->nat[j].first_us;
      if (R->nat[j].last_us > f.last_us) f.last_us = R->nat[j].last_us;
      n++;
    }
    if (n < 2) continue;
    f.severity = coherent ? SEV_WARN : SEV_CRIT;
    snprintf(f.fix, sizeof(f.fix), "%s",
             "Pin this host to one SNAT address with a coherent PTR, or give "
             "every address of the pool one (PTR -> name -> same address).");
    rc->emit(rc->ctx, &f);
  }
}

static void judge_all(struct run *R, const struct rules_cfg *rc) {
  static struct ident id;
  size_t i;

  for (i = 0; i < R->nids; i++) {
    if (R->ids[i]->merged) continue;
    build_ident(R, R->ids[i], &id);
    R->ids[i]->iprev = rules_iprev(&id);
    rules_ident(rc, &id);
    if (R->st != NULL) put_identity(R, R->ids[i], &id);
  }
}

/* --- runs ---------------------------------------------------------------
 * A run is a small state machine on the caller's loop: gather (the store
 * reads, on libuv's thread pool with a connection of their own), phase 1
 * DNS (PTR and HELO names, our servers), phase 2 DNS (the names the PTRs
 * gave, MX of HELO names without an address), judge (on the loop, one
 * transaction), close. DNS answers drive it; the step timer moves it on
 * outside c-ares callbacks. */

static void rules_setup(struct run *R, struct rules_cfg *rc) {
  memset(rc, 0, sizeof(*rc));
  rc->psl = R->psl;
  rc->expect = R->cfg->expect;
  rc->emit = on_finding;
  rc->ctx = R;
}

static void judge_store(struct run *R) {
  struct rules_cfg rc;
  const struct analyzer_cfg *cfg = R->cfg;
  size_t i;
  int ret;

  rules_setup(R, &rc);
  ret = store_analysis_begin(R->st, R->now);
  if (ret == 0) {
    judge_all(R, &rc);
    judge_servers(R, &rc);
    rule_rotation(R, &rc);
    rule_nat_rotation(R, &rc);
    for (i = 0; i < R->npre; i++) on_finding(R, &R->pre[i]);
    for (i = 0; i < R->nnat && R->store_rc == 0; i++) {
      struct nat_row nr = {R->nat[i].in_text,  R->nat[i].out_text,
                           R->nat[i].point_in, R->nat[i].point_out,
                           R->nat[i].first_us, R->nat[i].last_us,
                           R->nat[i].sessions};
      R->store_rc = store_nat_map_put(R->st, &nr);
    }
    ret = R->store_rc;
  }
  if (ret == 0)
    ret = store_analysis_end(R->st, R->now, cfg->since, cfg->until, &R->stats,
                             resolver_servers(R->res));
  if (ret < 0) {
    snprintf(R->err, sizeof(R->err), "%s", store_errmsg(R->st));
    R->stats.write_failed = 1;
  }
  R->ret = ret;
}

static void judge_check(struct run *R) {
  static struct finding found[IDENT_MAX_FINDINGS];
  static struct ident id;
  struct rules_cfg rc;

  rules_setup(R, &rc);
  R->found = found;
  build_ident(R, R->check_id, &id);
  rules_ident(&rc, &id);
  R->check_fn(R->check_ctx, &id, found, R->nfound);
}

/* Both handles of the run are closed: report and free. (libuv finishes
 * closes in no promised order: counting, not "the last one closed".) */
static void on_closed(uv_handle_t *h) {
  struct run *R = h->data;
  size_t i;

  if (--R->open_handles > 0) return;
  if (R->psl != NULL && R->psl != psl_builtin()) psl_free(R->psl);
  map_free(&R->facts, fact_free);
  for (i = 0; i < R->nids; i++) R->ids[i] = NULL;
  map_free(&R->idents, idrec_free);
  free(R->ids);
  free(R->queue);
  free(R->srv);
  free(R->nat);
  free(R->pre);
  free(R->db_path);
  if (R->mutex_ok) uv_mutex_destroy(&R->ro_lock);
  if (R->done_fn) R->done_fn(R->done_ctx, R->ret, &R->stats, R->err);
  free(R);
}

/* Close the resolver (pending queries are answered DNS_ERROR and dropped)
 * and the step timer; the last close callback reports and frees. */
static void run_close(struct run *R) {
  if (R->closing || R->working) return; /* gather_done closes it */
  R->closing = 1;
  R->phase = A_FINISHED;
  uv_timer_stop(&R->step);
  if (R->res) resolver_close(R->res);
  R->open_handles = 2;
  uv_close((uv_handle_t *)&R->sender, on_closed);
  uv_close((uv_handle_t *)&R->step, on_closed);
}

static void advance(struct run *R) {
  if (R->closing) return;
  if (R->qhead < R->nq || R->inflight > 0) {
    pump(R); /* more to send */
    return;
  }
  if (R->phase == A_PHASE1) {
    R->phase = A_PHASE2;
    plan_phase2(R);
    pump(R);
    return;
  }
  R->stats.dns_us = mono_us() - R->t_phase;
  R->t_phase = mono_us();
  if (R->check_fn) judge_check(R);
  else judge_store(R);
  R->stats.judge_us = mono_us() - R->t_phase;
  run_close(R);
}

static void on_step(uv_timer_t *t) { advance(t->data); }
static void on_sender(uv_check_t *c) { advance(c->data); }

static int run_new(struct run **out, uv_loop_t *loop,
                   const struct analyzer_cfg *cfg, char *err, size_t errlen) {
  struct run *R = calloc(1, sizeof(*R));
  int rc;

  if (R == NULL) {
    snprintf(err, errlen, "out of memory");
    return -ENOMEM;
  }
  R->cfgv = *cfg;
  R->cfg = &R->cfgv;
  R->now = now_us();
  R->next_progress = mono_us() + 1000000;
  rc = resolver_new(&R->res, loop, &cfg->dns, err, errlen);
  if (rc < 0) {
    free(R);
    return rc;
  }
  uv_timer_init(loop, &R->step);
  R->step.data = R;
  uv_check_init(loop, &R->sender);
  R->sender.data = R;
  R->psl = psl_latest(NULL);
  if (R->psl == NULL) R->psl = (psl_ctx_t *)psl_builtin();
  *out = R;
  return 0;
}

/* Phase 1 starts: its answers (or the step timer, when nothing needs
 * asking) carry the run on. */
static void run_go(struct run *R) {
  R->phase = A_PHASE1;
  plan_phase1(R);
  plan_servers(R);
  uv_check_start(&R->sender, on_sender);
  pump(R);
}

/* Findings that need no DNS (rejects, port 25, drops), found while
 * reading: kept until the judge phase emits them with the rest. */
static void collect(void *ctx, const struct finding *f) {
  struct run *R = ctx;

  if (vec_room(&R->pre, &R->cappre, R->npre, sizeof(*R->pre), 16) < 0) return;
  R->pre[R->npre++] = *f;
}

/* On a pool thread, with a read-only connection of its own: every query
 * over the window, which on a large history takes seconds; the loop (and
 * watch's capture on it) goes on meanwhile. Only R is touched. */
/* Whether cancel asked the reads to stop (from the loop thread). */
static int gather_stopped(struct run *R) {
  int stop;

  uv_mutex_lock(&R->ro_lock);
  stop = R->stop;
  uv_mutex_unlock(&R->ro_lock);
  return stop;
}

static int on_twin_row(const struct twin_row *r, void *ctx) {
  return twins_add(ctx, r) < 0;
}

/* With several capture points: which sessions are one connection seen
 * twice (left out of the counts), and the NAT pairs (on_nat). */
static int64_t gather_twins(struct run *R, struct store *ro) {
  struct twins *tw = NULL;
  const int64_t *ids;
  size_t n_ids;
  int64_t n;

  if (!store_multi_point(ro)) return 0;
  if (twins_new(&tw) < 0) return -ENOMEM;
  n = store_twin_rows(ro, R->cfg->since, R->cfg->until, on_twin_row, tw);
  if (n >= 0 && twins_finish(tw) < 0) n = -ENOMEM;
  if (n >= 0) {
    ids = twins_excluded(tw, &n_ids);
    if (store_exclude_sessions(ro, ids, n_ids) < 0) n = -EIO;
  }
  if (n >= 0 && twins_each_pair(tw, on_nat, R) < 0) n = -ENOMEM;
  R->stats.twin_overflow = twins_overflow(tw);
  twins_free(tw);
  return n;
}

static void gather_work(uv_work_t *w) {
  struct run *R = w->data;
  const struct analyzer_cfg *cfg = R->cfg;
  struct rules_cfg rc;
  struct store *ro;
  int64_t id = 0, n = 0;
  size_t i;
  int step;

  /* Background work: on a busy two-core gateway the capture must win the
   * CPU. Only this pool thread is reniced (Linux: per-thread nice); it
   * stays so, which suits: the analysis is its only user. */
  setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
  if (store_open(&ro, R->db_path, STORE_RO, R->err, sizeof(R->err)) < 0) {
    R->ret = -EIO;
    return;
  }
  uv_mutex_lock(&R->ro_lock);
  R->ro = ro;
  uv_mutex_unlock(&R->ro_lock);
  memset(&rc, 0, sizeof(rc));
  rc.emit = collect;
  rc.ctx = R;
  for (step = 0; step < 7 && n >= 0 && !gather_stopped(R); step++) {
    switch (step) {
    /* The newest session first: the report says what came after. */
    case 0: n = id = store_max_session_id(ro); break;
    /* A gateway's twins first: the counts below leave them out. */
    case 1: n = gather_twins(R, ro); break;
    case 2: n = store_egress_groups(ro, cfg->since, cfg->until, on_group, R); break;
    case 3: n = store_inbound_servers(ro, cfg->since, cfg->until, on_server, R); break;
    case 4: n = rule_rejects(R, ro, &rc); break;
    case 5: n = store_port25(ro, cfg->since, cfg->until, on_port25, &rc); break;
    case 6: n = store_capture_drops(ro, cfg->since, cfg->until, on_drops, &rc); break;
    }
  }
  if (n < 0) {
    snprintf(R->err, sizeof(R->err), "%s", store_errmsg(ro));
    R->ret = -EIO;
  }
  R->stats.max_session_id = id > 0 ? id : 0;
  uv_mutex_lock(&R->ro_lock);
  R->ro = NULL;
  uv_mutex_unlock(&R->ro_lock);
  store_close(ro);
  if (R->ret < 0 || gather_stopped(R)) return;
  merge_private(R);
  for (i = 0; i < R->nids; i++)
    if (!R->ids[i]->merged) R->stats.identities++;
}

static void gather_done(uv_work_t *w, int status) {
  struct run *R = w->data;

  R->working = 0;
  R->stats.read_us = mono_us() - R->t_phase;
  R->t_phase = mono_us();
  if (status == UV_ECANCELED || R->cancelled) {
    R->ret = -ECANCELED;
    snprintf(R->err, sizeof(R->err), "cancelled");
  }
  if (R->ret < 0) {
    run_close(R);
    return;
  }
  run_go(R);
}

int analyzer_start(struct analysis **out, struct store *st, uv_loop_t *loop,
                   const struct analyzer_cfg *cfg, analyzer_done_fn done,
                   void *ctx, char *err, size_t errlen) {
  struct run *R;
  int ret;

  ret = run_new(&R, loop, cfg, err, errlen);
  if (ret < 0) return ret;
  R->st = st;
  R->db_path = strdup(store_path(st));
  R->work.data = R;
  if (uv_mutex_init(&R->ro_lock) < 0) {
    snprintf(err, errlen, "cannot start the analysis: no mutex");
    run_close(R);
    return -EIO;
  }
  R->mutex_ok = 1;
  if (R->db_path == NULL || R->db_path[0] == '\0' ||
      (ret = uv_queue_work(loop, &R->work, gather_work, gather_done)) < 0) {
    snprintf(err, errlen, "cannot start the analysis: %s",
             R->db_path == NULL ? "out of memory"
             : R->db_path[0] == '\0' ? "the database has no file"
                                      : uv_strerror(ret));
    run_close(R); /* done stays unset: the error is returned here */
    return -EIO;
  }
  R->working = 1;
  R->t_phase = mono_us();
  R->done_fn = done;
  R->done_ctx = ctx;
  *out = (struct analysis *)R;
  return 0;
}

void analyzer_cancel(struct analysis *a) {
  struct run *R = (struct run *)a;

  if (R == NULL || R->closing || R->cancelled) return;
  R->cancelled = 1;
  if (R->working) {
    /* Not started yet: it will not; running: its query is interrupted,
     * then gather_done closes the run. */
    if (uv_cancel((uv_req_t *)&R->work) != 0) {
      uv_mutex_lock(&R->ro_lock);
      R->stop = 1;
      if (R->ro) store_interrupt(R->ro);
      uv_mutex_unlock(&R->ro_lock);
    }
    return;
  }
  R->ret = -ECANCELED;
  snprintf(R->err, sizeof(R->err), "cancelled");
  run_close(R);
}

struct sync_done {
  int finished, rc;
  struct analysis_stats stats;
  char *err;
  size_t errlen;
};

static void on_sync_done(void *ctx, int rc, const struct analysis_stats *s,
                         const char *err) {
  struct sync_done *d = ctx;

  d->finished = 1;
  d->rc = rc;
  d->stats = *s;
  if (rc < 0) snprintf(d->err, d->errlen, "%s", err);
}

int analyzer_run(struct store *st, uv_loop_t *loop,
                 const struct analyzer_cfg *cfg, struct analysis_stats *out,
                 char *err, size_t errlen) {
  struct sync_done d;
  struct analysis *a;
  int ret;

  memset(&d, 0, sizeof(d));
  d.err = err;
  d.errlen = errlen;
  ret = analyzer_start(&a, st, loop, cfg, on_sync_done, &d, err, errlen);
  uv_run(loop, UV_RUN_DEFAULT); /* the run, or the closing of a failed one */
  if (ret < 0) return ret;
  *out = d.stats;
  return d.finished ? d.rc : -EIO;
}

int analyzer_check(uv_loop_t *loop, const struct analyzer_cfg *cfg,
                   const struct ea_addr *ip, const char *const *helos,
                   unsigned n_helo, check_fn fn, void *ctx, char *err,
                   size_t errlen) {
  struct sync_done d;
  struct run *R;
  struct idrec *id;
  unsigned i;
  int ret;

  ret = run_new(&R, loop, cfg, err, errlen);
  if (ret < 0) return ret;
  memset(&d, 0, sizeof(d));
  d.err = err;
  d.errlen = errlen;
  R->done_fn = on_sync_done;
  R->done_ctx = &d;
  id = ident_get(R, ip, 0);
  if (id == NULL) {
    R->ret = -ENOMEM;
    snprintf(R->err, sizeof(R->err), "out of memory");
    run_close(R);
  } else {
    id->first_us = id->last_us = 0;
    ident_add(id, ip, NULL, 0, 0, 0, 0);
    for (i = 0; i < n_helo; i++) ident_add(id, ip, helos[i], 0, 0, 0, 0);
    R->check_id = id;
    R->check_fn = fn;
    R->check_ctx = ctx;
    run_go(R);
  }
  uv_run(loop, UV_RUN_DEFAULT);
  return d.finished ? d.rc : -EIO;
}
