/* egressaudit - analyzer/idents.c: the egress identities of one analysis.
 * SPDX-License-Identifier: MIT
 */
#define _DEFAULT_SOURCE
#include "analyzer/idents.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/limits.h"
#include "common/netset.h"
#include "common/util.h"

static void idrec_free(void *v) {
  struct idrec *d = v;
  unsigned i;

  if (d == NULL) return;
  for (i = 0; i < d->n_helo; i++) free(d->helo[i]);
  free(d);
}

struct idrec *idset_get(struct idset *s, const struct ea_addr *ip, int echoed) {
  char text[ADDR_STRLEN];
  struct idrec *d;
  void **slot;

  addr_str(ip, text);
  slot = strmap_slot(&s->by_ip, text, 1);
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
  if (vec_room(&s->ids, &s->capids, s->nids, sizeof(*s->ids), 256) < 0)
    return d;
  s->ids[s->nids++] = d;
  return d;
}

const struct idrec *idset_find(const struct idset *s, const char *ip_text) {
  return strmap_get(&s->by_ip, ip_text);
}

void idrec_add(struct idrec *d, const struct ea_addr *src, const char *helo,
               int64_t sessions, int64_t first, int64_t last, int unknown_dir) {
  unsigned i;

  for (i = 0; i < d->n_src; i++)
    if (memcmp(&d->src[i], src, sizeof(*src)) == 0) break;
  if (i == d->n_src && d->n_src < IDENT_SRC_MAX) {
    d->src[d->n_src++] = *src;
    d->src_use[i].first_us = INT64_MAX;
    d->src_use[i].last_us = INT64_MIN;
  }
  if (i < d->n_src && sessions > 0) {
    struct ident_src_use *u = &d->src_use[i];
    u->sessions += sessions;
    if (first < u->first_us) u->first_us = first;
    if (last > u->last_us) u->last_us = last;
  }
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

/* Believe a receiver's echo? The source's own address, a private source
 * (the echo is how its public address is learned), an address we expect
 * to leave from, or one that ECHO_CONFIRM_MIN receivers agree on; else it
 * is kept as a doubt and the sessions stay with their source. */
static int echo_believed(struct idset *s, const struct egress_group *g,
                         const struct ea_addr *src, const struct ea_addr *echo) {
  struct echo_doubt *d;
  char key[2 * ADDR_STRLEN + 2];
  void **slot;

  if (memcmp(src, echo, sizeof(*src)) == 0 || addr_is_private(src) ||
      g->echo_receivers >= ECHO_CONFIRM_MIN ||
      (s->expect && netset_contains(s->expect, echo->family, echo->a)))
    return 1;
  /* One per source and echo. */
  snprintf(key, sizeof(key), "%s %s", g->src_ip, g->echoed_ip);
  slot = strmap_slot(&s->doubt_at, key, 1);
  if (slot == NULL) return 0;
  if (*slot != NULL) {
    d = &s->doubt[(uintptr_t)*slot - 1];
    d->sessions += g->sessions;
    if (g->first_us < d->first_us) d->first_us = g->first_us;
    if (g->last_us > d->last_us) d->last_us = g->last_us;
    return 0;
  }
  if (vec_room(&s->doubt, &s->capdoubt, s->ndoubt, sizeof(*s->doubt), 8) == 0) {
    *slot = (void *)(uintptr_t)(s->ndoubt + 1);
    d = &s->doubt[s->ndoubt++];
    memset(d, 0, sizeof(*d));
    snprintf(d->src, sizeof(d->src), "%s", g->src_ip);
    snprintf(d->echoed, sizeof(d->echoed), "%s", g->echoed_ip);
    snprintf(d->receiver, sizeof(d->receiver), "%s",
             g->receiver_ip ? g->receiver_ip : "?");
    snprintf(d->host, sizeof(d->host), "%s",
             g->receiver_host ? g->receiver_host : "");
    d->sessions = g->sessions;
    d->first_us = g->first_us;
    d->last_us = g->last_us;
  }
  return 0;
}

int idset_on_group(const struct egress_group *g, void *ctx) {
  struct idset *s = ctx;
  struct ea_addr src, echo, *ip;
  struct idrec *d;

  if (g->src_ip == NULL || addr_parse(&src, g->src_ip, strlen(g->src_ip)) < 0)
    return 0;
  ip = &src;
  if (g->echoed_ip != NULL &&
      addr_parse(&echo, g->echoed_ip, strlen(g->echoed_ip)) == 0)
    ip = echo_believed(s, g, &src, &echo) ? &echo : &src;
  d = idset_get(s, ip, ip == &echo);
  if (d == NULL) return 0;
  idrec_add(d, &src, g->helo, g->sessions, g->first_us, g->last_us,
            g->direction && strcmp(g->direction, "unknown") == 0);
  d->rejected += g->rejected;
  d->starttls += g->starttls;
  d->tls_logged += g->tls_logged;
  if (g->points && !strstr(d->points, g->points)) {
    size_t n = strlen(d->points);
    snprintf(d->points + n, sizeof(d->points) - n, "%s%s", n ? "," : "",
             g->points);
  }
  return 0;
}

int idset_on_server(const struct server_row *r, void *ctx) {
  struct idset *s = ctx;
  struct srv *v;

  if (r->ip == NULL || r->banner_host == NULL) return 0;
  if (vec_room(&s->srv, &s->capsrv, s->nsrv, sizeof(*s->srv), 16) < 0) return 1;
  v = &s->srv[s->nsrv];
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
  s->nsrv++;
  return 0;
}

int idset_on_nat(const struct nat_row *r, void *ctx) {
  struct idset *s = ctx;
  struct natpair *p;

  if (vec_room(&s->nat, &s->capnat, s->nnat, sizeof(*s->nat), 16) < 0) return 1;
  p = &s->nat[s->nnat];
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
  s->nnat++;
  return 0;
}

/* The one public identity p's sessions belong to, or NULL (none, or
 * several: a gateway's NAT map first, then receivers' echoes). */
static struct idrec *merge_target(struct idset *s, const struct idrec *p) {
  struct idrec *to = NULL, *e;
  size_t j;
  unsigned k;

  for (j = 0; j < s->nnat; j++) {
    if (memcmp(&s->nat[j].in, &p->ip, sizeof(p->ip)) != 0) continue;
    e = idset_get(s, &s->nat[j].out, 0);
    if (to != NULL && to != e) return NULL;
    to = e;
  }
  for (j = 0; j < s->nids; j++) {
    e = s->ids[j];
    if (!e->echoed || e == p) continue;
    for (k = 0; k < e->n_src; k++)
      if (memcmp(&e->src[k], &p->ip, sizeof(p->ip)) == 0) {
        if (to != NULL && to != e) return NULL;
        to = e;
      }
  }
  return to;
}

void idset_merge_private(struct idset *s) {
  size_t i, j;
  unsigned h;

  /* A gateway's inside sessions are not counted (their outside twins are):
   * the inside host still shows as a source of each public identity. */
  for (j = 0; j < s->nnat; j++) {
    struct idrec *e = idset_get(s, &s->nat[j].out, 0);
    unsigned had;
    if (e == NULL) continue;
    had = e->n_src;
    idrec_add(e, &s->nat[j].in, NULL, 0, s->nat[j].first_us,
              s->nat[j].last_us, 0);
    /* A translation seen on both sides of the gateway is the NAT map's,
     * not a surprise: listed as a source, kept from the nat rules. */
    if (e->n_src > had) e->src_paired[e->n_src - 1] = 1;
  }
  /* A private source that some receiver echoed back (Exim, Microsoft) has
   * a known public address: its sessions without an echo (to Postfix, say)
   * belong to that identity too, when there is exactly one such address. */
  for (i = 0; i < s->nids; i++) {
    struct idrec *p = s->ids[i], *to;
    if (!addr_is_private(&p->ip) || p->echoed) continue;
    if ((to = merge_target(s, p)) == NULL) continue;
    for (h = 0; h < p->n_helo; h++)
      idrec_add(to, &p->ip, p->helo[h], p->helo_sessions[h], p->first_us,
                p->last_us, p->unknown_dir);
    if (p->n_helo == 0)
      idrec_add(to, &p->ip, NULL, p->sessions, p->first_us, p->last_us,
                p->unknown_dir);
    to->rejected += p->rejected;
    to->starttls += p->starttls;
    to->tls_logged += p->tls_logged;
    p->merged = 1;
  }
}

size_t idset_count(const struct idset *s) {
  size_t i, n = 0;

  for (i = 0; i < s->nids; i++)
    if (!s->ids[i]->merged) n++;
  return n;
}

/* A HELO argument worth asking DNS about. */
static int helo_is_name(const char *h) {
  return h[0] != '[' && rules_helo_invalid(h) == NULL;
}

/* The addresses a name has, as far as known, when one of them is ip (a
 * name of ours: its other addresses are ours to judge; a name pointing
 * elsewhere is helo-elsewhere's or fcrdns-fail's business): calls fn for
 * each. */
static void each_address(const struct facts *fx, const char *name,
                         const char *ip, struct dns_result scratch[2],
                         void (*fn)(const char *addr, void *ctx), void *ctx) {
  unsigned t, k, ours = 0;

  for (t = 0; t < 2; t++)
    if (!facts_load1(fx, t ? DNS_T_AAAA : DNS_T_A, name, &scratch[t]))
      scratch[t].status = DNS_ERROR;
  for (t = 0; t < 2; t++)
    for (k = 0; scratch[t].status == DNS_OK && k < scratch[t].n; k++)
      ours |= strcmp(scratch[t].answer[k], ip) == 0;
  for (t = 0; t < 2 && ours; t++)
    for (k = 0; scratch[t].status == DNS_OK && k < scratch[t].n; k++)
      fn(scratch[t].answer[k], ctx);
}

struct other_plan {
  struct facts *fx;
  const struct idrec *d;
  struct dns_result *scratch;   /* for the other address's PTR           */
  char seen[IDENT_OTHER_MAX][ADDR_STRLEN];
  unsigned n;
};

/* Another address of an EHLO or PTR name: its PTR, and its names' A and
 * AAAA, so that its own FCrDNS can be judged. */
static void plan_other(const char *addr, void *ctx) {
  struct other_plan *p = ctx;
  struct ea_addr a;
  char rev[80];
  unsigned i;

  if (addr_parse(&a, addr, strlen(addr)) < 0 || addr_is_private(&a) ||
      strcmp(addr, p->d->ip_text) == 0)
    return;
  for (i = 0; i < p->n; i++)
    if (strcmp(p->seen[i], addr) == 0) return;
  if (p->n == IDENT_OTHER_MAX) return;
  snprintf(p->seen[p->n++], ADDR_STRLEN, "%s", addr);
  dns_reverse_name(a.family, a.a, rev, sizeof(rev));
  facts_want(p->fx, DNS_T_PTR, rev);
  if (facts_load1(p->fx, DNS_T_PTR, rev, p->scratch) &&
      p->scratch->status == DNS_OK)
    for (i = 0; i < p->scratch->n && i < OTHER_NAMES_MAX; i++) {
      facts_want(p->fx, DNS_T_A, p->scratch->answer[i]);
      facts_want(p->fx, DNS_T_AAAA, p->scratch->answer[i]);
    }
}

static void plan_ident(const struct idrec *d, struct facts *fx,
                       struct dns_result scratch[4]) {
  struct other_plan op;
  unsigned h, k;

  memset(&op, 0, sizeof(op));
  op.fx = fx;
  op.d = d;
  op.scratch = &scratch[3];
  if (!addr_is_private(&d->ip)) {
    facts_want(fx, DNS_T_PTR, d->rev);
    facts_want(fx, DNS_T_SOA, d->rev);
    if (facts_load1(fx, DNS_T_PTR, d->rev, &scratch[0]) &&
        scratch[0].status == DNS_OK)
      for (k = 0; k < scratch[0].n; k++) {
        facts_want(fx, DNS_T_A, scratch[0].answer[k]);
        facts_want(fx, DNS_T_AAAA, scratch[0].answer[k]);
        each_address(fx, scratch[0].answer[k], d->ip_text, &scratch[1],
                     plan_other, &op); /* [1], [2]: its A and AAAA */
      }
  }
  for (h = 0; h < d->n_helo; h++) {
    if (!helo_is_name(d->helo[h])) continue;
    facts_want(fx, DNS_T_A, d->helo[h]);
    facts_want(fx, DNS_T_AAAA, d->helo[h]);
    if (facts_no_address(fx, d->helo[h])) facts_want(fx, DNS_T_MX, d->helo[h]);
    each_address(fx, d->helo[h], d->ip_text, &scratch[1], plan_other, &op);
  }
}

void idset_plan(const struct idset *s, struct facts *fx,
                struct dns_result scratch[4]) {
  size_t i;

  for (i = 0; i < s->nids; i++)
    if (!s->ids[i]->merged) plan_ident(s->ids[i], fx, scratch);
  for (i = 0; i < s->nsrv; i++) {
    if (addr_is_private(&s->srv[i].ip)) continue;
    facts_want(fx, DNS_T_PTR, s->srv[i].rev);
    if (helo_is_name(s->srv[i].host)) {
      facts_want(fx, DNS_T_A, s->srv[i].host);
      facts_want(fx, DNS_T_AAAA, s->srv[i].host);
    }
  }
}

/* One other address of a name of id's (the EHLO name or a PTR name):
 * kept with its PTR and its names' A/AAAA, unless it is the identity's
 * own, private, already kept, or an identity of this run itself. */
static void keep_other(const struct idset *s, const struct facts *fx,
                       struct facts_ws *ws, struct ident *id, const char *addr,
                       const char *of, int from_helo) {
  struct ea_addr a;
  char rev[80];
  unsigned i, n;

  if (id->n_other == IDENT_OTHER_MAX || strcmp(addr, id->ip_text) == 0 ||
      addr_parse(&a, addr, strlen(addr)) < 0 || addr_is_private(&a) ||
      (s != NULL && idset_find(s, addr) != NULL))
    return;
  for (i = 0; i < id->n_other; i++)
    if (strcmp(id->other[i].addr, addr) == 0) return;
  n = id->n_other++;
  snprintf(id->other[n].addr, sizeof(id->other[n].addr), "%s", addr);
  snprintf(id->other[n].of, sizeof(id->other[n].of), "%s", of);
  id->other[n].from_helo = from_helo;
  dns_reverse_name(a.family, a.a, rev, sizeof(rev));
  id->other[n].ptr = facts_load(fx, ws, DNS_T_PTR, rev);
  if (id->other[n].ptr == NULL || id->other[n].ptr->status != DNS_OK) return;
  for (i = 0; i < id->other[n].ptr->n && i < OTHER_NAMES_MAX; i++) {
    id->other[n].a[i] = facts_load(fx, ws, DNS_T_A, id->other[n].ptr->answer[i]);
    id->other[n].aaaa[i] =
        facts_load(fx, ws, DNS_T_AAAA, id->other[n].ptr->answer[i]);
  }
}

static void keep_others_of(const struct idset *s, const struct facts *fx,
                           struct facts_ws *ws, struct ident *id,
                           const struct dns_result *a,
                           const struct dns_result *q, const char *of,
                           int from_helo) {
  const struct dns_result *r[2] = {a, q};
  unsigned t, k, ours = 0;

  /* Only a name of ours (one of its addresses is the identity's). */
  for (t = 0; t < 2; t++)
    for (k = 0; r[t] && r[t]->status == DNS_OK && k < r[t]->n; k++)
      ours |= strcmp(r[t]->answer[k], id->ip_text) == 0;
  for (t = 0; t < 2 && ours; t++)
    for (k = 0; r[t] && r[t]->status == DNS_OK && k < r[t]->n; k++)
      keep_other(s, fx, ws, id, r[t]->answer[k], of, from_helo);
}

void idset_build(const struct idset *s, const struct idrec *d,
                 const struct facts *fx, struct facts_ws *ws,
                 struct ident *id) {
  unsigned k;

  ws->used = 0;
  ws->oldest = 0;
  memset(id, 0, sizeof(*id));
  id->ip = d->ip;
  memcpy(id->ip_text, d->ip_text, sizeof(id->ip_text));
  id->echoed = d->echoed;
  id->sessions = d->sessions;
  id->first_us = d->first_us;
  id->last_us = d->last_us;
  id->unknown_direction = d->unknown_dir;
  for (k = 0; k < d->n_src; k++)
    if (!d->src_paired[k]) {
      id->src_use[id->n_src] = d->src_use[k];
      id->src[id->n_src++] = d->src[k];
    }
  if (!addr_is_private(&d->ip)) {
    id->ptr = facts_load(fx, ws, DNS_T_PTR, d->rev);
    id->soa = facts_load(fx, ws, DNS_T_SOA, d->rev);
  }
  if (id->ptr != NULL && id->ptr->status == DNS_OK) {
    id->n_names = MIN(id->ptr->n, IDENT_NAMES_MAX);
    for (k = 0; k < id->n_names; k++) {
      id->fwd[k].a = facts_load(fx, ws, DNS_T_A, id->ptr->answer[k]);
      id->fwd[k].aaaa = facts_load(fx, ws, DNS_T_AAAA, id->ptr->answer[k]);
    }
  }
  id->n_helo = d->n_helo;
  for (k = 0; k < d->n_helo; k++) {
    snprintf(id->helo[k].name, sizeof(id->helo[k].name), "%s", d->helo[k]);
    id->helo[k].sessions = d->helo_sessions[k];
    if (!helo_is_name(d->helo[k])) continue;
    id->helo[k].a = facts_load(fx, ws, DNS_T_A, d->helo[k]);
    id->helo[k].aaaa = facts_load(fx, ws, DNS_T_AAAA, d->helo[k]);
    id->helo[k].mx = facts_load(fx, ws, DNS_T_MX, d->helo[k]);
  }
  for (k = 0; k < id->n_helo; k++)
    keep_others_of(s, fx, ws, id, id->helo[k].a, id->helo[k].aaaa,
                   id->helo[k].name, 1);
  for (k = 0; k < id->n_names; k++)
    keep_others_of(s, fx, ws, id, id->fwd[k].a, id->fwd[k].aaaa,
                   id->ptr->answer[k], 0);
}

int idset_build_server(const struct srv *v, const struct facts *fx,
                       struct facts_ws *ws, struct server_ident *sv) {
  ws->used = 0;
  memset(sv, 0, sizeof(*sv));
  if (addr_is_private(&v->ip)) return -1;
  sv->ip = v->ip;
  memcpy(sv->ip_text, v->ip_text, sizeof(sv->ip_text));
  sv->banner_host = v->host;
  sv->sessions = v->sessions;
  sv->first_us = v->first_us;
  sv->last_us = v->last_us;
  sv->ptr = facts_load(fx, ws, DNS_T_PTR, v->rev);
  sv->a = facts_load(fx, ws, DNS_T_A, v->host);
  sv->aaaa = facts_load(fx, ws, DNS_T_AAAA, v->host);
  return 0;
}

void idset_row(const struct idrec *d, const struct ident *id,
               struct identity_text *t, struct identity_row *row) {
  char a[ADDR_STRLEN];
  const char *p, *comma;
  struct jlist j;
  unsigned k;

  jlist_init(&j, t->ptr, sizeof(t->ptr));
  for (k = 0; id->ptr && id->ptr->status == DNS_OK && k < id->ptr->n; k++)
    jlist_add(&j, id->ptr->answer[k]);
  jlist_init(&j, t->helos, sizeof(t->helos));
  for (k = 0; k < d->n_helo; k++) jlist_add(&j, d->helo[k]);
  jlist_init(&j, t->srcs, sizeof(t->srcs));
  for (k = 0; k < d->n_src; k++) jlist_add(&j, addr_str(&d->src[k], a));
  jlist_init(&j, t->echoed, sizeof(t->echoed));
  if (d->echoed) jlist_add(&j, d->ip_text);
  /* d->points: the capture points' names as the query joined them. */
  jlist_init(&j, t->points, sizeof(t->points));
  for (p = d->points; *p; p = comma ? comma + 1 : p + strlen(p)) {
    char one[sizeof(d->points)];
    comma = strchr(p, ',');
    snprintf(one, sizeof(one), "%.*s", (int)(comma ? (size_t)(comma - p) : strlen(p)), p);
    if (one[0]) jlist_add(&j, one);
  }
  memset(row, 0, sizeof(*row));
  row->ip = d->ip_text;
  row->iprev = iprev_name((unsigned)d->iprev);
  row->ptr = t->ptr;
  row->helos = t->helos;
  row->sources = t->srcs;
  row->echoed = t->echoed;
  row->sessions = d->sessions;
  row->rejected = d->rejected;
  row->starttls = d->starttls;
  row->tls_logged = d->tls_logged;
  row->first_us = d->first_us;
  row->last_us = d->last_us;
  row->unknown_direction = d->unknown_dir;
  row->points = t->points;
}

void idset_free(struct idset *s) {
  strmap_free(&s->by_ip, idrec_free);
  free(s->ids);
  free(s->srv);
  free(s->nat);
  free(s->doubt);
  strmap_free(&s->doubt_at, NULL);
  memset(s, 0, sizeof(*s));
}
