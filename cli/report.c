/* egressaudit - cli/report.c: `report`, the audit of the egress identities
 * for people (the terminal's width, 80 off one; colour on a terminal), for
 * scripts (json, csv) and for monitoring (nagios; plugin exit codes).
 * Load (the store's rows, copied), join (findings to identities by
 * address, worst first), render, exit code.
 * SPDX-License-Identifier: MIT
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyzer/rules.h"
#include "cli/cli.h"
#include "cli/opts.h"
#include "cli/render.h"
#include "cli/report.h"
#include "common/util.h"
#include "store/store.h"

static char *sdup(const char *s) { return strdup(s ? s : ""); }

static int on_find(const struct finding_row *r, void *ctx) {
  struct rep *R = ctx;
  struct fnd *f;

  if (vec_room(&R->f, &R->capf, R->nf, sizeof(*R->f), 64) < 0)
    return R->oom = 1;
  f = &R->f[R->nf++];
  memset(f, 0, sizeof(*f));
  f->rule = sdup(r->rule);
  f->subject = sdup(r->subject);
  f->ident = sdup(r->ident);
  f->detail = sdup(r->detail);
  f->fix = sdup(r->fix);
  f->first_us = r->first_us;
  f->last_us = r->last_us;
  f->count = r->count;
  f->sev = r->severity;
  f->id = r->id;
  f->opened_us = r->opened_us;
  f->server = r->server;
  if (!f->rule || !f->subject || !f->ident || !f->detail || !f->fix) R->oom = 1;
  return R->oom;
}

static int on_host(const struct host_row *r, void *ctx) {
  struct rep *R = ctx;
  struct hst *h;

  if (vec_room(&R->h, &R->caph, R->nh, sizeof(*R->h), 8) < 0) return R->oom = 1;
  h = &R->h[R->nh++];
  memset(h, 0, sizeof(*h));
  h->host = sdup(r->host);
  h->points = sdup(r->points);
  h->sources = sdup(r->sources);
  h->helos = sdup(r->helos);
  h->sessions = r->sessions;
  h->egress = r->egress;
  h->rejected = r->rejected;
  h->last_session = r->last_session;
  h->last_heartbeat = r->last_heartbeat;
  if (!h->host || !h->points || !h->sources || !h->helos) R->oom = 1;
  return R->oom;
}

static int on_ident(const struct identity_row *r, void *ctx) {
  struct rep *R = ctx;
  struct idn *d;

  if (vec_room(&R->i, &R->capi, R->ni, sizeof(*R->i), 64) < 0)
    return R->oom = 1;
  d = &R->i[R->ni++];
  d->ip = sdup(r->ip);
  d->iprev = sdup(r->iprev);
  d->ptr = sdup(r->ptr);
  d->helos = sdup(r->helos);
  d->sources = sdup(r->sources);
  d->echoed = sdup(r->echoed);
  d->sessions = r->sessions;
  d->rejected = r->rejected;
  d->starttls = r->starttls;
  d->tls_logged = r->tls_logged;
  d->first_us = r->first_us;
  d->last_us = r->last_us;
  d->unknown_direction = r->unknown_direction;
  d->dns_fetched = r->dns_fetched;
  d->worst = -1;
  if (!d->ip || !d->iprev || !d->ptr || !d->helos || !d->sources || !d->echoed)
    R->oom = 1;
  return R->oom;
}

static int on_server(const struct server_row *r, void *ctx) {
  struct rep *R = ctx;

  if (vec_room(&R->s, &R->caps, R->ns, sizeof(*R->s), 16) < 0)
    return R->oom = 1;
  R->s[R->ns].ip = sdup(r->ip);
  R->s[R->ns].host = sdup(r->banner_host);
  R->s[R->ns].sessions = r->sessions;
  if (!R->s[R->ns].ip || !R->s[R->ns].host) R->oom = 1;
  R->ns++;
  return R->oom;
}

static int on_nat(const struct nat_row *r, void *ctx) {
  struct rep *R = ctx;
  struct natp *p;

  if (vec_room(&R->n, &R->capn, R->nn, sizeof(*R->n), 16) < 0)
    return R->oom = 1;
  p = &R->n[R->nn++];
  p->in = sdup(r->inside_ip);
  p->out = sdup(r->outside_ip);
  p->pin = sdup(r->point_in);
  p->pout = sdup(r->point_out);
  p->first_us = r->first_us;
  p->last_us = r->last_us;
  p->sessions = r->sessions;
  if (!p->in || !p->out || !p->pin || !p->pout) R->oom = 1;
  return R->oom;
}

static void fnd_free(struct fnd *f) {
  free(f->rule);
  free(f->subject);
  free(f->ident);
  free(f->detail);
  free(f->fix);
}

static void natp_free(struct natp *p) {
  free(p->in);
  free(p->out);
  free(p->pin);
  free(p->pout);
}

/* The one cleanup path. */
static void report_free(struct rep *R) {
  size_t k;

  for (k = 0; k < R->nf; k++) fnd_free(&R->f[k]);
  for (k = 0; k < R->ni; k++) {
    free(R->i[k].ip);
    free(R->i[k].iprev);
    free(R->i[k].ptr);
    free(R->i[k].helos);
    free(R->i[k].sources);
    free(R->i[k].echoed);
  }
  for (k = 0; k < R->ns; k++) {
    free(R->s[k].ip);
    free(R->s[k].host);
  }
  for (k = 0; k < R->nn; k++) natp_free(&R->n[k]);
  free(R->f);
  free(R->i);
  free(R->s);
  free(R->n);
  free(R->by_ident);
  free(R->shown);
  for (k = 0; k < R->nh; k++) {
    free(R->h[k].host);
    free(R->h[k].points);
    free(R->h[k].sources);
    free(R->h[k].helos);
  }
  free(R->h);
  memset(R, 0, sizeof(*R));
}

/* --- load and join ---------------------------------------------------- */

/* The hosts, when the points name several (a fleet's central database)
 * or --host asks for one; and the points whose identities are shown (a
 * JSON array into points, "" for all): --point's, or --host's. 0 or an
 * exit code. */
static int report_hosts(struct store *st, const struct report_opts *o,
                        struct rep *R, char *points, size_t cap) {
  int64_t n = o->host ? 2 : store_host_count(st);

  points[0] = '\0';
  if (o->point) {
    struct jlist j;
    jlist_init(&j, points, cap);
    jlist_add(&j, o->point);
  }
  if (n < 0 || (n >= 2 && store_hosts(st, o->since, o->until, o->host, on_host,
                                      R) < 0)) {
    cli_err("report: %s", store_errmsg(st));
    return EXIT_IOERR;
  }
  if (R->oom) return EXIT_SOFTWARE;
  if (o->host && R->nh == 0) {
    cli_err("report: --host %s: no capture point of that host in the database"
            " (imported hosts: read --jsonl, watch --jsonl)", o->host);
    return EXIT_USAGE;
  }
  if (o->host && snprintf(points, cap, "%s", R->h[0].points) >= (int)cap) {
    cli_err("report: --host %s: too many capture points", o->host);
    return EXIT_SOFTWARE;
  }
  return 0;
}

static int report_load(const struct report_opts *o, struct rep *R) {
  struct store *st = NULL;
  static char points[65536];
  char err[1024];
  int rc;

  rc = store_open(&st, cli_db_path(o->db), STORE_RO, err, sizeof(err));
  if (rc < 0) {
    cli_err("%s", err);
    return cli_exit_for(rc);
  }
  if ((rc = report_hosts(st, o, R, points, sizeof(points))) != 0) {
    store_close(st);
    return rc;
  }
  if (store_report_meta(st, o->since, o->until, &R->m) < 0 ||
      store_identities(st, o->since, o->until, points[0] ? points : NULL,
                       on_ident, R) < 0 ||
      store_findings(st, o->since, o->until, on_find, R) < 0 ||
      store_inbound_servers(st, o->since, o->until, on_server, R) < 0 ||
      store_nat_map(st, o->since, o->until, on_nat, R) < 0 || R->oom) {
    cli_err("report: %s", R->oom ? "out of memory" : store_errmsg(st));
    store_close(st);
    return R->oom ? EXIT_SOFTWARE : EXIT_IOERR;
  }
  store_close(st);
  return 0;
}

static int cmp_ip(const void *a, const void *b) {
  return strcmp(((const struct idn *)a)->ip, ((const struct idn *)b)->ip);
}

static struct idn *ident_of(const struct rep *R, const char *ip) {
  struct idn key;

  if (R->ni == 0) return NULL;
  memset(&key, 0, sizeof(key));
  key.ip = (char *)ip;
  return bsearch(&key, R->i, R->ni, sizeof(*R->i), cmp_ip);
}

/* Most severe first, then by rule and subject (the store's order). */
static int cmp_sev(const void *a, const void *b) {
  const struct fnd *x = a, *y = b;
  int c = severity_rank(y->sev) - severity_rank(x->sev);
  if (c == 0) c = strcmp(x->rule, y->rule);
  if (c == 0) c = strcmp(x->subject, y->subject);
  return c;
}

static int cmp_by_ident(const void *a, const void *b) {
  const struct fnd *x = *(struct fnd *const *)a, *y = *(struct fnd *const *)b;
  int c = strcmp(x->ident, y->ident);
  return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

/* Worst first, then the busiest, then by address. */
static int cmp_worst(const void *a, const void *b) {
  const struct idn *x = *(struct idn *const *)a, *y = *(struct idn *const *)b;
  int rx = severity_rank(x->worst), ry = severity_rank(y->worst);

  if (rx != ry) return ry - rx;
  if (x->sessions != y->sessions) return x->sessions < y->sessions ? 1 : -1;
  return strcmp(x->ip, y->ip);
}

/* Is point one of the list (a JSON array)? */
static int in_points(const char *list, const char *point) {
  char item[1024];
  while (jlist_next(&list, item, sizeof(item)))
    if (strcmp(item, point) == 0) return 1;
  return 0;
}

/* With --point or --host: only the findings and NAT pairs of what was
 * seen there (points: a JSON array). */
static void report_filter_point(struct rep *R, const char *points) {
  size_t i, w;

  for (i = 0, w = 0; i < R->nf; i++) {
    if (ident_of(R, R->f[i].ident) != NULL) R->f[w++] = R->f[i];
    else fnd_free(&R->f[i]);
  }
  R->nf = w;
  for (i = 0, w = 0; i < R->nn; i++) {
    if (in_points(points, R->n[i].pin) || in_points(points, R->n[i].pout))
      R->n[w++] = R->n[i];
    else natp_free(&R->n[i]);
  }
  R->nn = w;
}

/* Findings in severity order, each attached to its identity (by address:
 * lookups stay O(log n) on a million-session database); identities worst
 * first; the counts by severity. */
static int report_join(struct rep *R, const struct report_opts *o) {
  char one[1200];
  size_t i;

  if (R->ni > 1) qsort(R->i, R->ni, sizeof(*R->i), cmp_ip);
  if (o != NULL && o->host != NULL && R->nh > 0) {
    report_filter_point(R, R->h[0].points);
  } else if (o != NULL && o->point != NULL) {
    struct jlist j;
    jlist_init(&j, one, sizeof(one));
    jlist_add(&j, o->point);
    report_filter_point(R, one);
  }
  if (R->nf > 1) qsort(R->f, R->nf, sizeof(*R->f), cmp_sev);
  R->by_ident = malloc((R->nf ? R->nf : 1) * sizeof(*R->by_ident));
  R->shown = malloc((R->ni ? R->ni : 1) * sizeof(*R->shown));
  if (R->by_ident == NULL || R->shown == NULL) return -ENOMEM;
  for (i = 0; i < R->nf; i++) {
    struct fnd *f = &R->f[i];
    struct idn *d = ident_of(R, f->ident);
    if (f->sev >= 0 && f->sev <= SEV_UNKNOWN) R->by_sev[f->sev]++;
    f->attached = d != NULL;
    f->seq = i;
    if (d != NULL && severity_rank(f->sev) > severity_rank(d->worst))
      d->worst = f->sev;
    R->by_ident[i] = f;
  }
  for (i = 0; i < R->ni; i++) R->shown[i] = &R->i[i];
  if (R->ni > 1) qsort(R->shown, R->ni, sizeof(*R->shown), cmp_worst);
  if (R->nf > 1) qsort(R->by_ident, R->nf, sizeof(*R->by_ident), cmp_by_ident);
  return 0;
}

const char *rep_window(const struct report_opts *o, char *out, size_t cap) {
  char t1[TIME_STRLEN], t2[TIME_STRLEN];

  if (o->since == INT64_MIN && o->until == INT64_MAX) {
    snprintf(out, cap, "window: all sessions");
  } else {
    render_text_time(o->since == INT64_MIN ? 0 : o->since, t1);
    render_text_time(o->until == INT64_MAX ? o->now : o->until, t2);
    snprintf(out, cap, "window: %s .. %s UTC", o->since == INT64_MIN ? "start" : t1, t2);
  }
  return out;
}

void rep_findings_of(const struct rep *R, const char *ip, size_t *first,
                     size_t *end) {
  size_t lo = 0, hi = R->nf;

  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (strcmp(R->by_ident[mid]->ident, ip) < 0) lo = mid + 1;
    else hi = mid;
  }
  for (*first = *end = lo; *end < R->nf && strcmp(R->by_ident[*end]->ident, ip) == 0;)
    (*end)++;
}

const char *rep_iprev_of(const struct rep *R, const char *ip) {
  const struct idn *d = ident_of(R, ip);
  return d ? d->iprev : "-";
}

int rep_shown(const struct rep *R, const struct fnd *f) {
  return severity_rank(f->sev) >= severity_rank(R->min_sev);
}

static struct fview view(const struct rep *R, const struct fnd *f) {
  struct fview v = {f->rule,  f->subject, f->detail, f->fix,
                    f->sev,   f->first_us, f->last_us, f->count,
                    f->id,    R->m.last_analysis != 0 &&
                                  f->opened_us == R->m.last_analysis};
  return v;
}

/* --- json ------------------------------------------------------------ */

/* A list column (a JSON array of strings), written again item by item:
 * whatever the database holds, the output stays valid JSON. */
static void json_list(const char *s) {
  char item[1024];
  int first = 1;

  putchar('[');
  while (jlist_next(&s, item, sizeof(item))) {
    if (!first) putchar(',');
    json_str(stdout, item);
    first = 0;
  }
  putchar(']');
}

static void json_identity(const struct rep *R, const struct idn *d) {
  struct fview v;
  size_t j, k, first, end;

  printf("{\"ip\":");
  json_str(stdout, d->ip);
  printf(",\"ptr\":");
  json_list(d->ptr);
  printf(",\"iprev\":");
  json_str(stdout, d->iprev);
  printf(",\"helo\":");
  json_list(d->helos);
  printf(",\"echoed_ip\":");
  json_list(d->echoed);
  printf(",\"sources\":");
  json_list(d->sources);
  printf(",\"sessions\":%lld,\"rejected\":%lld,\"starttls\":%lld,"
         "\"starttls_logged\":%lld,\"direction_unknown\":%s,\"first_seen\":",
         (long long)d->sessions, (long long)d->rejected,
         (long long)d->starttls, (long long)d->tls_logged,
         d->unknown_direction ? "true" : "false");
  render_json_time(d->first_us);
  printf(",\"last_seen\":");
  render_json_time(d->last_us);
  printf(",\"dns_fetched\":");
  render_json_time(d->dns_fetched > 0 ? d->dns_fetched : INT64_MIN);
  printf(",\"findings\":[");
  rep_findings_of(R, d->ip, &first, &end);
  for (j = first, k = 0; j < end; j++) {
    if (!rep_shown(R, R->by_ident[j])) continue;
    if (k++) putchar(',');
    v = view(R, R->by_ident[j]);
    render_finding_json(&v);
  }
  printf("]}");
}

static void json_nat(const struct rep *R, const struct natp *p) {
  printf("{\"inside_ip\":");
  json_str(stdout, p->in);
  printf(",\"outside_ip\":");
  json_str(stdout, p->out);
  printf(",\"point_in\":");
  json_str(stdout, p->pin);
  printf(",\"point_out\":");
  json_str(stdout, p->pout);
  printf(",\"outside_iprev\":");
  json_str(stdout, rep_iprev_of(R, p->out));
  printf(",\"sessions\":%lld,\"first_seen\":", (long long)p->sessions);
  render_json_time(p->first_us);
  printf(",\"last_seen\":");
  render_json_time(p->last_us);
  putchar('}');
}

static void render_json(const struct rep *R, const struct report_opts *o) {
  struct fview v;
  size_t i, k;

  printf("{\"generated\":");
  render_json_time(o->now);
  printf(",\"since\":");
  render_json_time(o->since);
  printf(",\"until\":");
  render_json_time(o->until);
  printf(",\"analyzed\":");
  if (R->m.last_analysis) render_json_time(R->m.last_analysis);
  else printf("null");
  printf(",\"resolver\":");
  if (R->m.last_analysis) json_str(stdout, R->m.resolver);
  else printf("null");
  printf(",\"sessions_since_analysis\":%lld,\"stale\":",
         (long long)R->m.new_sessions);
  if (R->stale[0]) json_str(stdout, R->stale);
  else printf("null");
  printf(",\"identities\":[");
  for (k = 0; k < R->ni; k++) {
    if (k) putchar(',');
    json_identity(R, R->shown[k]);
  }
  printf("],\"servers\":[");
  for (k = 0; k < R->ns; k++) {
    int first = 1;
    printf("%s{\"ip\":", k ? "," : "");
    json_str(stdout, R->s[k].ip);
    printf(",\"banner_host\":");
    json_str(stdout, R->s[k].host);
    printf(",\"sessions\":%lld,\"findings\":[", (long long)R->s[k].sessions);
    for (i = 0; i < R->nf; i++)
      if (R->f[i].server && strcmp(R->f[i].subject, R->s[k].ip) == 0 &&
          rep_shown(R, &R->f[i])) {
        if (!first) putchar(',');
        v = view(R, &R->f[i]);
        render_finding_json(&v);
        first = 0;
      }
    printf("]}");
  }
  printf("],\"nat\":[");
  for (k = 0; k < R->nn; k++) {
    if (k) putchar(',');
    json_nat(R, &R->n[k]);
  }
  printf("],\"hosts\":[");
  for (k = 0; k < R->nh; k++) {
    const struct hst *h = &R->h[k];
    printf("%s{\"host\":", k ? "," : "");
    json_str(stdout, h->host);
    printf(",\"points\":%s,\"sessions\":%lld,\"egress\":%lld,\"rejected\":%lld,"
           "\"sources\":%s,\"helos\":%s,\"last_session\":", h->points,
           (long long)h->sessions, (long long)h->egress, (long long)h->rejected,
           h->sources, h->helos);
    if (h->last_session) render_json_time(h->last_session);
    else printf("null");
    printf(",\"last_heartbeat\":");
    if (h->last_heartbeat) render_json_time(h->last_heartbeat);
    else printf("null");
    printf(",\"silent\":%s}", h->silent ? "true" : "false");
  }
  printf("],\"findings\":[");
  for (i = 0, k = 0; i < R->nf; i++)
    if (!R->f[i].attached && !R->f[i].server && rep_shown(R, &R->f[i])) {
      if (k++) putchar(',');
      v = view(R, &R->f[i]);
      render_finding_json(&v);
    }
  printf("]}\n");
}

/* --- csv -------------------------------------------------------------- */

static void render_csv(const struct rep *R) {
  char t1[TIME_STRLEN], t2[TIME_STRLEN], n[32];
  size_t i;

  fputs("severity,rule,identity,subject,first_seen,last_seen,count,detail,fix\r\n",
        stdout);
  for (i = 0; i < R->nf; i++) {
    const struct fnd *f = &R->f[i];
    if (!rep_shown(R, f)) continue;
    csv_field(stdout, severity_name((unsigned)f->sev), 0);
    csv_field(stdout, f->rule, 0);
    csv_field(stdout, f->ident, 0);
    csv_field(stdout, f->subject, 0);
    csv_field(stdout, time_str(f->first_us, t1), 0);
    csv_field(stdout, time_str(f->last_us, t2), 0);
    snprintf(n, sizeof(n), "%lld", (long long)f->count);
    csv_field(stdout, n, 0);
    csv_field(stdout, f->detail, 0);
    csv_field(stdout, f->fix, 1);
  }
}

/* --- text ------------------------------------------------------------- */

/* "  LABEL   a b c" (indent blanks first), wrapped under the items. */
static void list_line_at(const struct tstyle *ts, int indent, const char *label,
                         const char *list) {
  char buf[2048], item[1024];
  size_t n = 0;

  buf[0] = '\0';
  while (jlist_next(&list, item, sizeof(item)) && n < sizeof(buf))
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", n ? " " : "", item);
  if (n == 0) snprintf(buf, sizeof(buf), "-");
  printf("%*s%-8s", indent, "", label);
  render_wrap(buf, indent + 7, indent + 8, ts->width);
}

static void list_line(const struct tstyle *ts, const char *label,
                      const char *list) {
  list_line_at(ts, 2, label, list);
}

static void text_header(const struct rep *R, const struct report_opts *o) {
  const struct report_meta *m = &R->m;
  char win[96];
  size_t k, unk = 0;

  printf("egressaudit report: %zu identities, %lld crit, %lld warn, "
         "%lld unknown, %lld info\n",
         R->ni, (long long)R->by_sev[SEV_CRIT], (long long)R->by_sev[SEV_WARN],
         (long long)R->by_sev[SEV_UNKNOWN], (long long)R->by_sev[SEV_INFO]);
  fputs(rep_window(o, win, sizeof(win)), stdout);
  printf("; %lld sessions, %lld capture points, %lld packets dropped\n",
         (long long)m->sessions, (long long)m->points, (long long)m->drops);
  if (R->stale[0]) {
    printf("stale: ");
    esc_fputs(stdout, R->stale);
    putchar('\n');
  }
  if (m->last_analysis != 0 && m->resolver[0]) {
    printf("DNS: answers from ");
    esc_fputs(stdout, m->resolver);
    putchar('\n');
  }
  if (m->last_analysis == 0)
    printf("not analysed yet: run 'egressaudit analyze' (or report --analyze)\n");
  else if (m->new_sessions > 0)
    printf("note: %lld sessions arrived after the last analysis; run"
           " 'analyze' (or report --analyze) to judge them\n",
           (long long)m->new_sessions);
  for (k = 0; k < R->ni; k++) unk += R->i[k].unknown_direction != 0;
  if (unk >= 20)
    printf("warning: %zu identities of unknown direction: the capture "
           "probably holds inbound mail from strangers; read it again "
           "with --local (your addresses)\n", unk);
  else if (m->unknown_dir > 0)
    printf("note: %lld sessions have no known direction (read without"
           " --local); if this host also receives mail, strangers'"
           " addresses are listed as identities\n",
           (long long)m->unknown_dir);
}

static void text_identity(const struct rep *R, const struct idn *d) {
  char t1[TIME_STRLEN], t2[TIME_STRLEN];
  struct fview v;
  size_t j, first, end;

  printf("\n%s%s%s  iprev %s%s", R->ts.colour ? "\033[1m" : "", d->ip,
         R->ts.colour ? "\033[0m" : "", d->iprev,
         d->unknown_direction ? "  (direction unknown)" : "");
  /* How old the answers behind the verdict are (a cached one may be). */
  if (d->dns_fetched > 0) {
    char age[32];
    dur_str(R->now - d->dns_fetched, age, sizeof(age));
    printf("  (DNS as of %s ago)", age);
  }
  putchar('\n');
  list_line(&R->ts, "PTR", d->ptr);
  list_line(&R->ts, "HELO", d->helos);
  {
    /* "from" only when the packets came from elsewhere than ip (NAT). */
    const char *p = d->sources;
    char one[64];
    int n = 0, other = 0;
    while (jlist_next(&p, one, sizeof(one))) {
      n++;
      other |= strcmp(one, d->ip) != 0;
    }
    if (n > 0 && other) list_line(&R->ts, "from", d->sources);
  }
  render_text_time(d->first_us, t1);
  render_text_time(d->last_us, t2);
  /* After STARTTLS the rest is ciphertext: never counted as accepted. */
  /* The MTA's log may have said what it was (read --maillog, watch
   * --maillog). */
  printf("  %-9s%lld (%lld rejected, %lld TLS", "sessions",
         (long long)d->sessions, (long long)d->rejected, (long long)d->starttls);
  if (d->starttls > 0 && d->tls_logged >= d->starttls)
    printf(": outcome from the MTA log");
  else if (d->tls_logged > 0)
    printf(": %lld outcome%s from the MTA log, %lld not visible",
           (long long)d->tls_logged, d->tls_logged > 1 ? "s" : "",
           (long long)(d->starttls - d->tls_logged));
  else if (d->starttls > 0)
    printf(": outcome not visible");
  printf("), %s .. %s\n", t1, t2 + 11);
  rep_findings_of(R, d->ip, &first, &end);
  for (j = first; j < end; j++) {
    if (!rep_shown(R, R->by_ident[j])) continue;
    v = view(R, R->by_ident[j]);
    render_finding_text(&v, &R->ts);
  }
}

static void text_nat(const struct rep *R) {
  char t1[TIME_STRLEN], t2[TIME_STRLEN];
  size_t k;

  if (R->nn > 0)
    printf("\nNAT map (inside host -> address receivers saw, learned from\n"
           "both sides of the gateway)\n");
  for (k = 0; k < R->nn; k++) {
    const struct natp *p = &R->n[k];
    render_text_time(p->first_us, t1);
    render_text_time(p->last_us, t2);
    printf("  %-15s -> %-15s iprev %-9s %lld sessions, %s .. %s\n", p->in,
           p->out, rep_iprev_of(R, p->out), (long long)p->sessions, t1, t2 + 11);
    printf("      ");
    esc_fputs(stdout, p->pin);
    printf(" -> ");
    esc_fputs(stdout, p->pout);
    putchar('\n');
  }
}

/* The fleet: one paragraph a host (several hosts, or --host). */
static void text_hosts(const struct rep *R) {
  char t1[TIME_STRLEN], t2[TIME_STRLEN];
  size_t k;

  if (R->nh == 0) return;
  printf("\nhosts (%zu)\n", R->nh);
  for (k = 0; k < R->nh; k++) {
    const struct hst *h = &R->h[k];
    const char *p = h->points;
    char one[512];
    size_t np = 0;
    while (jlist_next(&p, one, sizeof(one))) np++;
    printf("  ");
    esc_fputs(stdout, h->host[0] ? h->host : "(read here)");
    printf("%s: %lld sessions (%lld egress, %lld rejected) at %zu capture "
           "point%s\n", h->silent ? " SILENT" : "", (long long)h->sessions,
           (long long)h->egress, (long long)h->rejected, np, np == 1 ? "" : "s");
    if (h->last_session) render_text_secs(h->last_session, t1);
    if (h->last_heartbeat) render_text_secs(h->last_heartbeat, t2);
    printf("    last session %s, last heartbeat %s\n",
           h->last_session ? t1 : "never", h->last_heartbeat ? t2 : "never");
    list_line_at(&R->ts, 4, "from", h->sources);
    list_line_at(&R->ts, 4, "HELO", h->helos);
    list_line_at(&R->ts, 4, "points", h->points);
  }
}

static void render_text(struct rep *R, const struct report_opts *o) {
  struct fview v;
  size_t i, k;

  R->now = o->now;
  R->ts = render_style();
  text_header(R, o);
  text_hosts(R);
  for (k = 0; k < R->ni; k++) text_identity(R, R->shown[k]);
  for (i = 0, k = 0; i < R->nf; i++) {
    if (R->f[i].server || R->f[i].attached || !rep_shown(R, &R->f[i]))
      continue;
    if (k++ == 0) printf("\nacross identities\n");
    v = view(R, &R->f[i]);
    render_finding_text(&v, &R->ts);
  }
  text_nat(R);
  if (R->ns > 0) printf("\nour servers as seen by clients (inbound sessions)\n");
  for (k = 0; k < R->ns; k++) {
    printf("  %s greets as ", R->s[k].ip);
    esc_fputs(stdout, R->s[k].host);
    printf(" (%lld sessions)\n", (long long)R->s[k].sessions);
    for (i = 0; i < R->nf; i++)
      if (R->f[i].server && strcmp(R->f[i].subject, R->s[k].ip) == 0 &&
          rep_shown(R, &R->f[i])) {
        v = view(R, &R->f[i]);
        render_finding_text(&v, &R->ts);
      }
  }
  if (R->nf == 0 && R->m.last_analysis != 0) printf("\nno findings\n");
}

/* --- monitoring ------------------------------------------------------ */

/* Why what the report says may be out of date, into R->stale, and which
 * of a fleet's hosts are silent: analyzer/rules_stale judges. */
static void report_stale(struct rep *R, const struct report_opts *o) {
  const char **host = calloc(R->nh + 1, sizeof(*host));
  int64_t *last = calloc(R->nh + 1, sizeof(*last));
  int *silent = calloc(R->nh + 1, sizeof(*silent));
  struct stale_facts f;
  size_t k;

  R->stale[0] = '\0';
  if (host == NULL || last == NULL || silent == NULL) {
    snprintf(R->stale, sizeof(R->stale), "out of memory");
    goto out;
  }
  for (k = 0; k < R->nh; k++) {
    host[k] = R->h[k].host;
    last[k] = MAX(R->h[k].last_session, R->h[k].last_heartbeat);
  }
  f = (struct stale_facts){o->now, o->max_stale, R->m.last_heartbeat,
                           R->m.last_analysis, R->m.sessions, R->nh, host, last};
  rules_stale(&f, silent, R->stale, sizeof(R->stale));
  for (k = 0; k < R->nh; k++) R->h[k].silent = silent[k];
out:
  free(host);
  free(last);
  free(silent);
}

/* crit > unknown > warn > ok, as monitoring plugins read them; stale data
 * is unknown unless something is critical. */
static int report_exit(const struct rep *R, const struct report_opts *o) {
  int ex = render_exit_code(R->by_sev, o->fail_on);

  if (R->m.last_analysis == 0) return 3;
  if (R->stale[0] != '\0' && ex != 2) return 3;
  return ex;
}

/* The plugin output: status line with the worst findings, perfdata, and
 * one line per finding after (no '|': it would start perfdata). */
static void render_nagios(const struct rep *R, const struct report_opts *o) {
  char sum[900], perf[160], line[ESC_CAP(FINDING_TEXT_MAX + 600)];
  unsigned listed = 0;
  size_t n, i;

  n = (size_t)snprintf(sum, sizeof(sum), "%lld crit, %lld warn, %lld unknown",
                       (long long)R->by_sev[SEV_CRIT],
                       (long long)R->by_sev[SEV_WARN],
                       (long long)R->by_sev[SEV_UNKNOWN]);
  if (R->stale[0]) n += (size_t)snprintf(sum + n, sizeof(sum) - n, "; stale: %s", R->stale);
  else if (R->m.last_analysis == 0)
    n += (size_t)snprintf(sum + n, sizeof(sum) - n, "; not analysed yet");
  for (i = 0; i < R->nf; i++)
    render_nagios_list(sum, sizeof(sum), &n, &listed, R->f[i].sev, R->f[i].rule,
                       R->f[i].subject);
  snprintf(perf, sizeof(perf), "sessions=%lld;;; identities=%zu;;;",
           (long long)R->m.sessions, R->ni);
  render_nagios_status(report_exit(R, o), sum, R->by_sev, perf);
  for (i = 0; i < R->nf; i++) {
    const struct fnd *f = &R->f[i];
    if (severity_rank(f->sev) < severity_rank(R->min_sev)) continue;
    render_nagios_finding(line, sizeof(line), f->sev, f->rule, f->subject,
                          f->detail);
    puts(line);
  }
}

/* --- the command ------------------------------------------------------ */

static void usage(FILE *f) {
  fprintf(f,
          "Usage: %s report [OPTIONS]\n"
          "\n"
          "The audit: for each egress identity (the address receivers saw),\n"
          "its PTR, iprev result, EHLO names, sessions and findings with what\n"
          "to do; then the findings across identities (rotation, blocked port\n"
          "25). Run 'analyze' first, or pass --analyze.\n"
          "\n"
          "Options:\n"
          "  --db PATH            database (see '%s --help')\n"
          "  --since T, --until T window (RFC 3339 or 90m, 24h, 7d; default: all)\n"
          "  --format FMT         text (default), json, csv (one row per finding),\n"
          "                       nagios (a monitoring-plugin status line with\n"
          "                       perfdata, one line a finding; --fail-on warn\n"
          "                       and --max-stale 25h unless given), html (one\n"
          "                       self-contained page: the egress timeline, the\n"
          "                       identity cards, the NAT map; no script, nothing\n"
          "                       fetched)\n"
          "  --min-severity LEVEL show findings at or above info (default),\n"
          "                       warn or crit (the exit code counts all)\n"
          "  --max-stale DUR      no capture heartbeat (watch records one every\n"
          "                       --stats-every), no analysis within DUR, or no\n"
          "                       session in the window: UNKNOWN (exit 3) with\n"
          "                       the reason, unless something is critical\n"
          "  --point NAME         only identities seen at this capture point\n"
          "  --host NAME          only what this host of a fleet saw (its points,\n"
          "                       HOST:..., from read --jsonl or watch --jsonl);\n"
          "                       with several hosts the report lists each one,\n"
          "                       and a host without an event (session or\n"
          "                       capture heartbeat) within --max-stale is\n"
          "                       silent: UNKNOWN\n"
          "  --fail-on LEVEL      warn or crit (default): the exit code reports\n"
          "                       findings at or above it\n"
          "  --analyze            run 'analyze' first, on the same window; takes\n"
          "                       --resolver, --dns-timeout, --expect-egress,\n"
          "                       --max-age, --max-inflight (or any analyze\n"
          "                       option after --)\n"
          "  -h, --help           this help\n"
          "\n"
          "Exit codes (monitoring plugins): 0 nothing at or above --fail-on,\n"
          "1 warning, 2 critical, 3 unknown (DNS failed temporarily, or nothing\n"
          "analysed yet).\n",
          progname, progname);
}

static int report_opts_parse(struct report_opts *o, struct analysis_opts *ao,
                             int argc, char **argv) {
  static const struct option opts[] = {
      {"db", required_argument, NULL, 'd'},
      {"since", required_argument, NULL, 'S'},
      {"until", required_argument, NULL, 'U'},
      {"format", required_argument, NULL, 'f'},
      {"fail-on", required_argument, NULL, 'F'},
      {"analyze", no_argument, NULL, 'a'},
      {"point", required_argument, NULL, 'P'},
      {"min-severity", required_argument, NULL, 'm'},
      {"max-stale", required_argument, NULL, 'X'},
      {"host", required_argument, NULL, 'H'},
      ANALYSIS_LONGOPTS, /* checked here, handed to analyze (--analyze) */
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  int c, rc;

  memset(o, 0, sizeof(*o));
  o->fmt = "text";
  o->since = INT64_MIN;
  o->until = INT64_MAX;
  o->now = now_us();
  o->fail_on = SEV_CRIT;
  o->max_stale = -1;
  analysis_opts_init(ao);
  optind = 1;
  while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
    if ((rc = analysis_opt(ao, c, optarg, "report")) != 0) {
      if (rc < 0) return EXIT_USAGE;
      continue;
    }
    switch (c) {
    case 'd': o->db = optarg; break;
    case 'S':
    case 'U':
      if (cli_time_opt("report", c == 'S', optarg, o->now,
                       c == 'S' ? &o->since : &o->until) < 0)
        return EXIT_USAGE;
      if (c == 'S') o->since_arg = optarg;
      else o->until_arg = optarg;
      break;
    case 'f':
      if (strcmp(optarg, "text") && strcmp(optarg, "json") &&
          strcmp(optarg, "csv") && strcmp(optarg, "nagios") &&
          strcmp(optarg, "html")) {
        cli_err("report: --format: '%s' is not text, json, csv, nagios or html",
                optarg);
        return EXIT_USAGE;
      }
      o->fmt = optarg;
      break;
    case 'F':
      o->fail_on_given = 1;
      if (strcmp(optarg, "warn") == 0) o->fail_on = SEV_WARN;
      else if (strcmp(optarg, "crit") == 0) o->fail_on = SEV_CRIT;
      else {
        cli_err("report: --fail-on: '%s' is not warn or crit", optarg);
        return EXIT_USAGE;
      }
      break;
    case 'a': o->analyze = 1; break;
    case 'm':
      if ((o->min_sev = severity_parse(optarg)) < 0 || o->min_sev == SEV_UNKNOWN) {
        cli_err("report: --min-severity: '%s' is not info, warn or crit", optarg);
        return EXIT_USAGE;
      }
      break;
    case 'X':
      if (strcmp(optarg, "0") == 0) o->max_stale = 0;
      else if (dur_parse(optarg, &o->max_stale) < 0 || o->max_stale <= 0) {
        cli_err("report: --max-stale: '%s' is not a duration like 2h", optarg);
        return EXIT_USAGE;
      }
      break;
    case 'P': o->point = optarg; break;
    case 'H': o->host = optarg; break;
    case 'h': usage(stdout); return -1;
    default: usage(stderr); return EXIT_USAGE;
    }
  }
  /* A monitoring plugin: warnings are WARNING, and a silent capture or
   * analysis is UNKNOWN after a day (a nightly read still passes). */
  if (strcmp(o->fmt, "nagios") == 0) {
    if (!o->fail_on_given) o->fail_on = SEV_WARN;
    if (o->max_stale < 0) o->max_stale = 25LL * 3600 * 1000000;
  }
  if (!o->analyze && ao->argc > 0) {
    cli_err("report: %s is an option of --analyze", ao->argv[0]);
    return EXIT_USAGE;
  }
  if (!o->analyze && optind < argc) {
    cli_err("report: unexpected argument '%s'", argv[optind]);
    return EXIT_USAGE;
  }
  return 0;
}

/* report --analyze [analyze options] [-- analyze options]: analyze on the
 * same database and the same window as the report. */
static int report_analyze(const struct report_opts *o,
                          const struct analysis_opts *ao, int argc,
                          char **argv) {
  char *av[160];
  int ac = 0, a;

  av[ac++] = "analyze";
  if (o->db) av[ac++] = "--db", av[ac++] = (char *)o->db;
  if (o->since_arg) av[ac++] = "--since", av[ac++] = (char *)o->since_arg;
  if (o->until_arg) av[ac++] = "--until", av[ac++] = (char *)o->until_arg;
  av[ac++] = "--quiet";
  for (a = 0; a < ao->argc && ac < 158; a++) av[ac++] = (char *)ao->argv[a];
  for (a = optind; a < argc && ac < 158; a++) av[ac++] = argv[a];
  av[ac] = NULL;
  return cmd_analyze(ac, av);
}

int report_html_focus(const char *db, const char *ip, int64_t since,
                      int64_t until) {
  struct report_opts o;
  struct rep R;
  int rc;

  memset(&o, 0, sizeof(o));
  memset(&R, 0, sizeof(R));
  o.db = db;
  o.fmt = "html";
  o.focus = ip;
  o.since = since;
  o.until = until;
  o.now = now_us();
  o.max_stale = -1;
  if ((rc = report_load(&o, &R)) == 0 && report_join(&R, NULL) < 0) {
    cli_err("history: out of memory");
    rc = EXIT_SOFTWARE;
  }
  if (rc == 0) {
    report_stale(&R, &o);
    rc = render_html(&R, &o);
    fflush(stdout);
    if (rc == 0 && ferror(stdout)) rc = EXIT_IOERR;
  }
  report_free(&R);
  return rc;
}

int cmd_report(int argc, char **argv) {
  static struct analysis_opts ao;
  struct report_opts o;
  struct rep R;
  int rc;

  rc = report_opts_parse(&o, &ao, argc, argv);
  if (rc != 0) return rc < 0 ? 0 : rc;
  if (o.analyze && (rc = report_analyze(&o, &ao, argc, argv)) != 0) return rc;
  memset(&R, 0, sizeof(R));
  if ((rc = report_load(&o, &R)) == 0 && report_join(&R, &o) < 0) {
    cli_err("report: out of memory");
    rc = EXIT_SOFTWARE;
  }
  if (rc == 0) {
    R.min_sev = o.min_sev;
    report_stale(&R, &o);
    if (strcmp(o.fmt, "json") == 0) render_json(&R, &o);
    else if (strcmp(o.fmt, "csv") == 0) render_csv(&R);
    else if (strcmp(o.fmt, "nagios") == 0) render_nagios(&R, &o);
    else if (strcmp(o.fmt, "html") == 0) rc = render_html(&R, &o);
    else render_text(&R, &o);
    fflush(stdout);
    if (rc == 0) rc = ferror(stdout) ? EXIT_IOERR : report_exit(&R, &o);
  }
  report_free(&R);
  return rc;
}
