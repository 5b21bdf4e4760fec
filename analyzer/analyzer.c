/* egressaudit - analyzer/analyzer.c: one analysis run, a small state
 * machine on the caller's loop. gather (the store reads, on libuv's thread
 * pool with a connection of their own), DNS in rounds (PTR and HELO names,
 * our servers; then the names the PTRs gave, MX of HELO names
 * without an address), judge (on the loop, one transaction), close. DNS
 * answers drive it; the step timer moves it on outside c-ares callbacks.
 * What it judges with: idents.c (identities, DNS plan), facts.c (answers),
 * rules.c and rules_cross.c (every judgement).
 * SPDX-License-Identifier: MIT
 */
#define _DEFAULT_SOURCE
#include "analyzer/analyzer.h"

#include <errno.h>
#include <libpsl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "analyzer/facts.h"
#include "analyzer/idents.h"
#include "analyzer/twins.h"
#include "common/netset.h"
#include "common/util.h"

/* Findings a check (one address, no database) keeps. */
#define CHECK_FINDINGS_MAX 64

enum { A_READ, A_DNS, A_FINISHED };

struct run {
  struct analyzer_cfg cfgv;  /* a copy: the caller's may go first        */
  const struct analyzer_cfg *cfg;
  uv_timer_t step;           /* the next phase, outside c-ares callbacks  */
  uv_check_t sender;         /* a burst of queries each loop iteration    */
  uv_work_t work;            /* the store reads, on libuv's thread pool   */
  int working, mutex_ok, open_handles;
  uv_mutex_t ro_lock;        /* guards ro and stop: cancel interrupts     */
  struct store *ro;          /* the reads' connection, on the pool thread */
  struct store *fold_db;     /* that connection after the reads: the fold
                                is committed through it on the loop       */
  struct fold_plan plan;     /* what the reads took from the fold          */
  int stop;
  char *db_path;
  struct finding *pre;       /* findings the reads gave (rejects, port 25, */
  size_t npre, cappre;       /* drops), emitted with the rest            */
  int phase, closing, cancelled, ret;
  unsigned rounds;           /* DNS rounds planned                          */
  int64_t t_phase;
  analyzer_done_fn done_fn;
  void *done_ctx;
  char err[512];
  struct store *st;          /* NULL for check                              */
  struct resolver *res;
  struct facts facts;        /* DNS answers                                 */
  /* --compare: the other resolvers, each asked every PTR, A and AAAA
   * question the first one is (facts.peers points here) */
  unsigned n_peers;
  struct resolver *peer_res[ANALYZER_COMPARE_MAX - 1];
  struct facts peer_fx[ANALYZER_COMPARE_MAX - 1];
  struct facts *peer_ptr[ANALYZER_COMPARE_MAX - 1];
  const struct rules_cfg *views_rc; /* judge_views's, for on_views        */
  struct idset ids;          /* identities, our servers, NAT pairs          */
  struct facts_ws *ws;       /* one identity's answers, expanded            */
  struct ident *view;        /* the rules' view of one identity             */
  int64_t now;
  psl_ctx_t *psl;
  struct analysis_stats stats;
  int store_rc;
  /* check mode: one identity, its findings kept for check_fn */
  struct idrec *check_id;
  check_fn check_fn;
  void *check_ctx;
  struct finding *found;
  unsigned nfound;
};

static void on_step(uv_timer_t *t);

/* Send the next burst; when nothing is in flight the step timer moves the
 * run on (the phase is over, or every answer came at once). */
static void pump(struct run *R) {
  if (R->closing) return;
  if (facts_pump(&R->facts) == 0 && !R->facts.sending)
    uv_timer_start(&R->step, on_step, 0, 0);
}

static void on_finding(void *ctx, const struct finding *f) {
  struct run *R = ctx;

  if (f->severity <= SEV_UNKNOWN) R->stats.by_sev[f->severity]++;
  if (R->found != NULL) {
    if (R->nfound < CHECK_FINDINGS_MAX) R->found[R->nfound++] = *f;
    return;
  }
  if (R->st != NULL && R->store_rc == 0) {
    int rc = store_finding_put(R->st, f, R->now);
    if (rc < 0) R->store_rc = rc;
  }
}

static void rules_setup(struct run *R, struct rules_cfg *rc) {
  memset(rc, 0, sizeof(*rc));
  rc->psl = R->psl;
  rc->expect = R->cfg->expect;
  rc->emit = on_finding;
  rc->ctx = R;
  rc->resolver = resolver_servers(R->res);
  rc->zones_apart = R->st != NULL; /* a check shows its one zone itself */
}

/* Who runs the reverse zone of each identity, kept for
 * rules_reverse_zones (the answers are reused per identity). */
struct zones {
  struct zone_use *use;
  size_t n, cap;
};

static void zone_keep(struct zones *z, const struct ident *id) {
  char *copy;
  size_t lz, lm, lr, li;

  if (id->soa == NULL || id->soa->soa_zone[0] == '\0') return;
  if (vec_room(&z->use, &z->cap, z->n, sizeof(*z->use), 64) < 0) return;
  /* All four copied: id and its answers are reused for the next one. */
  lz = strlen(id->soa->soa_zone) + 1;
  lm = strlen(id->soa->soa_mname) + 1;
  lr = strlen(id->soa->soa_rname) + 1;
  li = strlen(id->ip_text) + 1;
  if ((copy = malloc(lz + lm + lr + li)) == NULL) return;
  memcpy(copy, id->soa->soa_zone, lz);
  memcpy(copy + lz, id->soa->soa_mname, lm);
  memcpy(copy + lz + lm, id->soa->soa_rname, lr);
  memcpy(copy + lz + lm + lr, id->ip_text, li);
  z->use[z->n++] = (struct zone_use){copy, copy + lz, copy + lz + lm,
                                     copy + lz + lm + lr, id->sessions,
                                     id->first_us, id->last_us};
}

static void zones_free(struct zones *z) {
  size_t i;

  for (i = 0; i < z->n; i++) free((char *)z->use[i].zone);
  free(z->use);
}

/* Every identity through the rules, recorded for the report. */
static void judge_idents(struct run *R, const struct rules_cfg *rc) {
  struct identity_text t;
  struct identity_row row;
  struct zones z = {NULL, 0, 0};
  size_t i;
  int ret;

  for (i = 0; i < R->ids.nids; i++) {
    struct idrec *d = R->ids.ids[i];
    if (d->merged) continue;
    idset_build(&R->ids, d, &R->facts, R->ws, R->view);
    d->iprev = rules_iprev(R->view);
    rules_ident(rc, R->view);
    zone_keep(&z, R->view);
    if (R->store_rc != 0) continue;
    idset_row(d, R->view, &t, &row);
    row.dns_fetched = R->ws->oldest;
    ret = store_identity_put(R->st, &row, R->now);
    if (ret == 0)
      ret = store_identity_log(R->st, row.ip, R->now, row.iprev, t.ptr);
    if (ret < 0) R->store_rc = ret;
  }
  rules_reverse_zones(rc, z.use, z.n);
  zones_free(&z);
}

static void judge_servers(struct run *R, const struct rules_cfg *rc) {
  struct server_ident sv;
  size_t i;

  for (i = 0; i < R->ids.nsrv; i++)
    if (idset_build_server(&R->ids.srv[i], &R->facts, R->ws, &sv) == 0)
      rules_server(rc, &sv);
}

/* ip-rotation, by HELO name over the public identities and by inside host
 * over a gateway's NAT pairs (after judge_idents: it needs their iprev). */
static int judge_rotation(struct run *R, const struct rules_cfg *rc) {
  struct rot_ident *ri = calloc(R->ids.nids + 1, sizeof(*ri));
  struct rot_use *ru = NULL;
  struct nat_use *nu = calloc(R->ids.nnat + 1, sizeof(*nu));
  size_t i, nuse = 0, cap = 0;
  unsigned h;

  if (ri == NULL || nu == NULL) goto oom;
  for (i = 0; i < R->ids.nids; i++) {
    const struct idrec *d = R->ids.ids[i];
    ri[i] = (struct rot_ident){d->ip_text, d->ip.family, d->iprev,
                               d->sessions, d->first_us, d->last_us};
    if (addr_is_private(&d->ip) || d->merged) continue;
    for (h = 0; h < d->n_helo; h++) {
      if (vec_room(&ru, &cap, nuse, sizeof(*ru), 64) < 0) goto oom;
      ru[nuse++] = (struct rot_use){d->helo[h], i};
    }
  }
  rules_rotation(rc, ri, ru, nuse);
  for (i = 0; i < R->ids.nnat; i++) {
    const struct natpair *p = &R->ids.nat[i];
    const struct idrec *d = idset_find(&R->ids, p->out_text);
    nu[i] = (struct nat_use){p->in_text, p->out_text, d ? d->iprev : IPREV_NONE,
                             p->sessions, p->first_us, p->last_us};
  }
  rules_nat_rotation(rc, nu, R->ids.nnat);
  free(ri);
  free(ru);
  free(nu);
  return 0;
oom:
  free(ri);
  free(ru);
  free(nu);
  return -ENOMEM;
}

static void on_views(void *ctx, const struct dns_result *v, unsigned n) {
  struct run *R = ctx;
  const char *servers[ANALYZER_COMPARE_MAX];
  struct dns_views dv = {v, servers, n, R->now};
  unsigned k;

  servers[0] = resolver_servers(R->res);
  for (k = 1; k < n && k <= R->n_peers; k++)
    servers[k] = resolver_servers(R->peer_res[k - 1]);
  rules_split_view(R->views_rc, &dv);
}

/* --compare: each question's answers side by side (dns-split-view). */
static void judge_views(struct run *R, const struct rules_cfg *rc) {
  struct dns_result *views;

  if (R->n_peers == 0) return;
  views = calloc(R->n_peers + 1, sizeof(*views));
  if (views == NULL) {
    if (R->store_rc == 0) R->store_rc = -ENOMEM;
    return;
  }
  R->views_rc = rc;
  facts_views(&R->facts, views, on_views, R);
  free(views);
}

static void judge_store(struct run *R) {
  struct rules_cfg rc;
  const struct analyzer_cfg *cfg = R->cfg;
  size_t i;
  int ret;

  rules_setup(R, &rc);
  ret = store_analysis_begin(R->st, R->now);
  if (ret == 0) {
    judge_idents(R, &rc);
    judge_servers(R, &rc);
    judge_views(R, &rc);
    if (R->store_rc == 0) R->store_rc = judge_rotation(R, &rc);
    for (i = 0; i < R->ids.ndoubt; i++) {
      const struct echo_doubt *d = &R->ids.doubt[i];
      struct echo_use e = {d->src,      d->echoed,   d->receiver, d->host,
                           d->sessions, d->first_us, d->last_us};
      rules_echo_unconfirmed(&rc, &e);
    }
    for (i = 0; i < R->npre; i++) on_finding(R, &R->pre[i]);
    for (i = 0; i < R->ids.nnat && R->store_rc == 0; i++) {
      const struct natpair *p = &R->ids.nat[i];
      struct nat_row nr = {p->in_text,  p->out_text, p->point_in, p->point_out,
                           p->first_us, p->last_us,  p->sessions, 0};
      R->store_rc = store_nat_map_put(R->st, &nr);
    }
    ret = R->store_rc;
  }
  if (ret == 0) {
    char who[512];
    size_t o = (size_t)snprintf(who, sizeof(who), "%s", resolver_servers(R->res));
    for (i = 0; i < R->n_peers && o < sizeof(who); i++)
      o += (size_t)snprintf(who + o, sizeof(who) - o, "%s%s",
                            i ? ", " : " (compared with ",
                            resolver_servers(R->peer_res[i]));
    if (R->n_peers > 0 && o < sizeof(who)) snprintf(who + o, sizeof(who) - o, ")");
    ret = store_analysis_end(R->st, R->now, cfg->since, cfg->until, &R->stats,
                             who);
  }
  if (ret < 0) {
    snprintf(R->err, sizeof(R->err), "%s",
             ret == -ENOMEM ? "out of memory" : store_errmsg(R->st));
    R->stats.write_failed = 1;
  }
  R->ret = ret;
}

static void judge_check(struct run *R) {
  struct rules_cfg rc;

  rules_setup(R, &rc);
  R->found = calloc(CHECK_FINDINGS_MAX, sizeof(*R->found));
  if (R->found == NULL) {
    R->ret = -ENOMEM;
    snprintf(R->err, sizeof(R->err), "out of memory");
    return;
  }
  idset_build(&R->ids, R->check_id, &R->facts, R->ws, R->view);
  rules_ident(&rc, R->view);
  judge_views(R, &rc);
  R->view->resolver = resolver_servers(R->res);
  R->check_fn(R->check_ctx, R->view, R->found, R->nfound);
}

/* Both handles of the run are closed: report and free. (libuv finishes
 * closes in no promised order: counting, not "the last one closed".) */
static void on_closed(uv_handle_t *h) {
  struct run *R = h->data;
  unsigned k;

  if (--R->open_handles > 0) return;
  if (R->psl != NULL && R->psl != psl_builtin()) psl_free(R->psl);
  facts_free(&R->facts);
  for (k = 0; k < R->n_peers; k++) facts_free(&R->peer_fx[k]);
  idset_free(&R->ids);
  free(R->ws);
  free(R->view);
  free(R->found);
  free(R->pre);
  free(R->db_path);
  if (R->mutex_ok) uv_mutex_destroy(&R->ro_lock);
  if (R->done_fn) R->done_fn(R->done_ctx, R->ret, &R->stats, R->err);
  free(R);
}

/* Close the resolver (pending queries are answered DNS_ERROR and dropped)
 * and the step timer; the last close callback reports and frees. */
static void run_close(struct run *R) {
  unsigned k;

  if (R->closing || R->working) return; /* gather_done closes it */
  R->closing = 1;
  R->phase = A_FINISHED;
  uv_timer_stop(&R->step);
  facts_stop(&R->facts); /* and the peers */
  if (R->res) resolver_close(R->res);
  for (k = 0; k < R->n_peers; k++) resolver_close(R->peer_res[k]);
  R->open_handles = 2;
  uv_close((uv_handle_t *)&R->sender, on_closed);
  uv_close((uv_handle_t *)&R->step, on_closed);
}

/* Plan again with the answers in: 1 when that queued queries. Answers
 * from the cache come at once and may name more: plan until nothing new
 * is wanted (every round adds facts, so this ends; DNS_ROUNDS_MAX bounds
 * it all the same). */
static int replan(struct run *R) {
  size_t known;

  do {
    if (R->rounds++ >= DNS_ROUNDS_MAX) return 0;
    known = R->facts.map.n;
    idset_plan(&R->ids, &R->facts, &R->ws->r[0]);
    if (facts_busy(&R->facts)) return 1;
  } while (R->facts.map.n > known);
  return 0;
}

static void advance(struct run *R) {
  if (R->closing) return;
  if (facts_busy(&R->facts)) {
    pump(R); /* more to send */
    return;
  }
  if (replan(R)) {
    pump(R); /* another round: what the answers named */
    return;
  }
  R->stats.queries = R->facts.queries;
  R->stats.cached = R->facts.cached;
  R->stats.temp_failures = R->facts.temp_failures;
  memcpy(R->stats.by_status, R->facts.by_status, sizeof(R->stats.by_status));
  R->stats.oldest_cached = R->facts.oldest_cached;
  R->stats.at = R->now;
  if (R->store_rc == 0) R->store_rc = R->facts.store_rc;
  R->stats.dns_us = mono_us() - R->t_phase;
  R->t_phase = mono_us();
  if (R->check_fn) judge_check(R);
  else judge_store(R);
  R->stats.judge_us = mono_us() - R->t_phase;
  run_close(R);
}

static void on_step(uv_timer_t *t) { advance(t->data); }
static void on_sender(uv_check_t *c) { advance(c->data); }

/* The resolver (with --compare: one per server, the first for the
 * verdicts). 0, or a negative errno with err; nothing left open then. */
static int run_resolvers(struct run *R, uv_loop_t *loop,
                         const struct analyzer_cfg *cfg, char *err,
                         size_t errlen) {
  struct resolver_cfg one = cfg->dns;
  unsigned k;
  int rc;

  if (!cfg->compare) return resolver_new(&R->res, loop, &cfg->dns, err, errlen);
  if (cfg->dns.n_servers < 2 || cfg->dns.n_servers > ANALYZER_COMPARE_MAX) {
    snprintf(err, errlen, "--compare needs from 2 to %d resolvers",
             ANALYZER_COMPARE_MAX);
    return -EINVAL;
  }
  one.n_servers = 1;
  one.servers = &cfg->dns.servers[0];
  if ((rc = resolver_new(&R->res, loop, &one, err, errlen)) < 0) return rc;
  for (k = 1; k < cfg->dns.n_servers; k++) {
    one.servers = &cfg->dns.servers[k];
    if ((rc = resolver_new(&R->peer_res[k - 1], loop, &one, err, errlen)) < 0) {
      while (k-- > 1) resolver_close(R->peer_res[k - 1]);
      resolver_close(R->res);
      R->res = NULL;
      return rc;
    }
  }
  R->n_peers = cfg->dns.n_servers - 1;
  return 0;
}

static int run_new(struct run **out, uv_loop_t *loop,
                   const struct analyzer_cfg *cfg, char *err, size_t errlen) {
  struct run *R = calloc(1, sizeof(*R));
  unsigned k;
  int rc;

  if (R == NULL) {
    snprintf(err, errlen, "out of memory");
    return -ENOMEM;
  }
  R->cfgv = *cfg;
  R->cfg = &R->cfgv;
  R->now = now_us();
  R->ws = malloc(sizeof(*R->ws));
  R->view = malloc(sizeof(*R->view));
  if (R->ws == NULL || R->view == NULL) {
    snprintf(err, errlen, "out of memory");
    rc = -ENOMEM;
  } else {
    rc = run_resolvers(R, loop, cfg, err, errlen);
  }
  if (rc < 0) {
    free(R->ws);
    free(R->view);
    free(R);
    return rc;
  }
  /* --compare asks everything again: a cached answer beside fresh ones
   * would show a change of the records as a split view. */
  facts_init(&R->facts, R->res, NULL, R->now,
             R->n_peers ? 0 : cfg->max_age_us, cfg->max_inflight);
  for (k = 0; k < R->n_peers; k++) {
    facts_init(&R->peer_fx[k], R->peer_res[k], NULL, R->now, 0,
               cfg->max_inflight);
    R->peer_ptr[k] = &R->peer_fx[k];
  }
  R->facts.peers = R->peer_ptr;
  R->facts.n_peers = R->n_peers;
  R->facts.progress = cfg->progress;
  R->facts.progress_ctx = cfg->progress_ctx;
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
  R->phase = A_DNS;
  replan(R);
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

/* Whether cancel asked the reads to stop (from the loop thread). */
static int gather_stopped(struct run *R) {
  int stop;

  uv_mutex_lock(&R->ro_lock);
  stop = R->stop;
  uv_mutex_unlock(&R->ro_lock);
  return stop;
}

/* The store's rows into the rules that need no DNS. Rejects come in time
 * order after the fold's sums: when the first unsettled one comes, the
 * sums so far are what the fold keeps (written then, in full). */
struct rej_ctx {
  struct rejects all;
  struct store *ro;
  const struct fold_plan *plan;
  int kept, rc;
};

static void keep_reject_sum(void *ctx, const struct reject_sum *r) {
  struct rej_ctx *c = ctx;
  if (c->rc == 0) c->rc = store_fold_reject_add(c->ro, r);
}

static void keep_rejects(struct rej_ctx *c) {
  if (c->kept || c->plan->mode == FOLD_WINDOW) return;
  c->kept = 1;
  rules_rejects_each(&c->all, keep_reject_sum, c);
}

static int on_reject(const struct reject_row *r, void *ctx) {
  struct rej_ctx *c = ctx;

  if (r->first_us >= c->plan->new_cut) keep_rejects(c);
  rules_reject_add(&c->all, r);
  return 0;
}

static int on_reject_sum(const struct reject_sum *r, void *ctx) {
  rules_reject_sum(&((struct rej_ctx *)ctx)->all, r);
  return 0;
}

static int on_port25(const struct port25_row *r, void *ctx) {
  rules_port25(ctx, r);
  return 0;
}

static int on_drops(const struct drops_row *r, void *ctx) {
  rules_drops(ctx, r);
  return 0;
}

static int64_t gather_rejects(struct run *R, struct store *ro,
                              const struct rules_cfg *rc) {
  struct rej_ctx c;
  int64_t rows;

  memset(&c, 0, sizeof(c));
  c.ro = ro;
  c.plan = &R->plan;
  rows = store_fold_rejects(ro, &R->plan, on_reject, on_reject_sum, &c);
  if (rows >= 0) {
    keep_rejects(&c); /* every row was settled */
    if (c.rc < 0) rows = c.rc;
    rules_rejects_emit(rc, &c.all);
  }
  rules_rejects_free(&c.all);
  return rows;
}

/* A twin row: judged when it is the tail's (the fold's rows were judged
 * when folded), its pairs kept apart when this run folds it. */
struct twin_ctx {
  struct twins *tw;
  const struct fold_plan *plan;
};

static int on_twin_row(const struct twin_row *r, void *ctx) {
  const struct twin_ctx *c = ctx;
  struct twin_row t = *r;

  t.judge = r->first_us >= (c->plan->mode == FOLD_INCR ? c->plan->cut
                                                        : c->plan->since) &&
            r->first_us <= c->plan->until;
  t.settled = c->plan->mode != FOLD_WINDOW && r->first_us < c->plan->new_cut;
  return twins_add(c->tw, &t) < 0;
}

static int on_tail_pair(const struct nat_row *r, void *ctx) {
  return store_fold_nat_add(ctx, r) < 0;
}

/* With several capture points: which of the tail's sessions are one
 * connection seen twice (left out of the sums), and its NAT pairs (into
 * the tail's, merged with the fold's by store_fold_nat). */
static int64_t gather_twins(struct run *R, struct store *ro,
                            const struct fold_plan *p) {
  struct twin_ctx c = {NULL, p};
  const int64_t *ids;
  size_t n_ids;
  int64_t n;

  if (store_fold_nat_clear(ro) < 0) return -EIO;
  if (!store_multi_point(ro)) return 0;
  if (twins_new(&c.tw) < 0) return -ENOMEM;
  n = store_twin_rows(ro, p->mode == FOLD_INCR ? p->cut : p->since, p->until,
                      on_twin_row, &c);
  if (n >= 0 && twins_finish(c.tw) < 0) n = -ENOMEM;
  if (n >= 0) {
    ids = twins_excluded(c.tw, &n_ids);
    if (store_exclude_sessions(ro, ids, n_ids) < 0 ||
        store_fold_excluded_load(ro, p) < 0)
      n = -EIO;
  }
  if (n >= 0 && twins_each_pair(c.tw, on_tail_pair, ro) < 0) n = -EIO;
  R->stats.twin_overflow = twins_overflow(c.tw);
  twins_free(c.tw);
  return n;
}

/* On a pool thread, with a connection of its own (read-write when the
 * run keeps the fold, read-only for a window), in one snapshot: the fold
 * plus the sessions after it, which on a large history without a fold
 * takes seconds; the loop (and watch's capture on it) goes on meanwhile.
 * Then what settled is folded. Only R is touched. */
static void gather_work(uv_work_t *w) {
  struct run *R = w->data;
  const struct analyzer_cfg *cfg = R->cfg;
  struct rules_cfg rc;
  struct fold_plan *plan = &R->plan;
  struct store *ro;
  int64_t n = 0;
  int step, window = cfg->since != INT64_MIN || cfg->until != INT64_MAX;

  /* Background work: on a busy two-core gateway the capture must win the
   * CPU. Only this pool thread is reniced (Linux: per-thread nice); it
   * stays so, which suits: the analysis is its only user. */
  setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
  memset(plan, 0, sizeof(*plan));
  plan->mode = FOLD_WINDOW; /* nothing to commit until a plan is made */
  if (store_open(&ro, R->db_path, window ? STORE_RO : STORE_RW_EXISTING,
                 R->err, sizeof(R->err)) < 0) {
    R->ret = -EIO;
    return;
  }
  uv_mutex_lock(&R->ro_lock);
  R->ro = ro;
  uv_mutex_unlock(&R->ro_lock);
  memset(&rc, 0, sizeof(rc));
  rc.emit = collect;
  rc.ctx = R;
  for (step = 0; step < 10 && n >= 0 && !gather_stopped(R); step++) {
    switch (step) {
    case 0:
      n = store_snapshot(ro, 1);
      if (n == 0)
        n = store_fold_plan(ro, cfg->full, cfg->since, cfg->until, R->now, plan);
      break;
    /* The newest session first: the report says what came after. */
    case 1: n = store_max_session_id(ro); R->stats.max_session_id = n; break;
    /* A gateway's twins first: the sums below leave them out. */
    case 2: n = gather_twins(R, ro, plan); break;
    case 3: n = R->stats.fold_tail = store_fold_tail(ro, plan, FOLD_T_ALL); break;
    case 4: n = store_fold_groups(ro, plan, idset_on_group, &R->ids); break;
    case 5: n = store_fold_servers(ro, plan, idset_on_server, &R->ids); break;
    case 6: n = store_fold_nat(ro, plan, idset_on_nat, &R->ids); break;
    case 7: n = gather_rejects(R, ro, &rc); break;
    case 8: n = store_fold_port25(ro, plan, on_port25, &rc); break;
    case 9: n = store_capture_drops(ro, cfg->since, cfg->until, on_drops, &rc); break;
    }
  }
  if (step > 0) store_snapshot(ro, 0);
  if (n < 0) {
    snprintf(R->err, sizeof(R->err), "%s",
             n == -ENOMEM ? "out of memory" : store_errmsg(ro));
    R->ret = n == -ENOMEM ? -ENOMEM : -EIO;
  }
  R->stats.fold_mode = (int)plan->mode;
  R->stats.fold_why = plan->why;
  uv_mutex_lock(&R->ro_lock);
  R->ro = NULL;
  uv_mutex_unlock(&R->ro_lock);
  /* The fold is written from the loop (gather_done): there the caller's
   * own connection, which holds watch's open batch, can commit first. */
  if (n >= 0 && plan->mode != FOLD_WINDOW && !gather_stopped(R))
    R->fold_db = ro;
  else
    store_close(ro);
  if (R->ret < 0 || gather_stopped(R)) return;
  idset_merge_private(&R->ids);
  R->stats.identities = (int64_t)idset_count(&R->ids);
}

/* Fold what settled, through the reads' connection, once the caller's
 * connection has committed its batch: the write lock is then free at
 * once (a pool thread waiting for it beside a busy watch, which holds it
 * open between flushes, did not get it in 5 s). Keeping the sums is a
 * saving, not the result: when it fails, the old fold stands. */
static void fold_keep(struct run *R) {
  int64_t t0 = mono_us();

  if (store_flush(R->st) < 0 ||
      store_fold_commit(R->fold_db, &R->plan, R->now, &R->stats.fold_kept) < 0)
    R->stats.fold_kept = 0;
  R->stats.fold_us = mono_us() - t0;
}

static void gather_done(uv_work_t *w, int status) {
  struct run *R = w->data;

  R->working = 0;
  R->stats.read_us = mono_us() - R->t_phase;
  if (status == UV_ECANCELED || R->cancelled) {
    R->ret = -ECANCELED;
    snprintf(R->err, sizeof(R->err), "cancelled");
  }
  if (R->fold_db != NULL) {
    if (R->ret == 0) fold_keep(R);
    store_close(R->fold_db);
    R->fold_db = NULL;
  }
  R->t_phase = mono_us();
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
  R->ids.expect = cfg->expect;
  R->facts.cache = st; /* answers are cached in, and taken from, the store */
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
  id = idset_get(&R->ids, ip, 0);
  if (id == NULL) {
    R->ret = -ENOMEM;
    snprintf(R->err, sizeof(R->err), "out of memory");
    run_close(R);
  } else {
    id->first_us = id->last_us = 0;
    idrec_add(id, ip, NULL, 0, 0, 0, 0);
    for (i = 0; i < n_helo; i++) idrec_add(id, ip, helos[i], 0, 0, 0, 0);
    R->check_id = id;
    R->check_fn = fn;
    R->check_ctx = ctx;
    run_go(R);
  }
  uv_run(loop, UV_RUN_DEFAULT);
  return d.finished ? d.rc : -EIO;
}
