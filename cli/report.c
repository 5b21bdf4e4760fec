/* egressaudit - cli/report.c: `report`, the audit of the egress identities
 * for people (80 columns, colour on a terminal) and for scripts (json, csv),
 * with monitoring-plugin exit codes.
 * SPDX-License-Identifier: MIT
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "common/util.h"
#include "store/store.h"

struct fnd {
  char *rule, *severity, *subject, *ident, *detail, *fix;
  int64_t first_us, last_us, count;
  int sev;
  int attached; /* belongs to one of the identities listed */
};
struct idn {
  char *ip, *iprev, *ptr, *helos, *sources, *echoed;
  int64_t sessions, rejected, starttls, first_us, last_us;
  int unknown_direction, worst;
};
struct srvr {
  char *ip, *host;
  int64_t sessions;
};
struct natp {
  char *in, *out, *pin, *pout;
  int64_t first_us, last_us, sessions;
};
struct rep {
  struct srvr *s;
  size_t ns, caps;
  struct natp *n;
  size_t nn, capn;
  struct fnd *f;
  size_t nf, capf;
  struct idn *i;
  size_t ni, capi;
  int oom;
};

static char *sdup(const char *s) { return strdup(s ? s : ""); }

static int sev_rank(int sev) { /* crit, unknown, warn, info */
  static const int r[4] = {3, 1, 0, 2};
  return sev >= 0 && sev < 4 ? r[sev] : 3;
}

static int on_find(const struct finding_row *r, void *ctx) {
  struct rep *R = ctx;
  struct fnd *f;

  if (vec_room(&R->f, &R->capf, R->nf, sizeof(*R->f), 64) < 0)
    return R->oom = 1;
  f = &R->f[R->nf++];
  f->rule = sdup(r->rule);
  f->severity = sdup(r->severity);
  f->subject = sdup(r->subject);
  f->ident = sdup(r->ident);
  f->detail = sdup(r->detail);
  f->fix = sdup(r->fix);
  f->first_us = r->first_us;
  f->last_us = r->last_us;
  f->count = r->count;
  f->sev = severity_parse(r->severity);
  return 0;
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
  d->first_us = r->first_us;
  d->last_us = r->last_us;
  d->unknown_direction = r->unknown_direction;
  d->worst = -1;
  return 0;
}

static int on_server(const struct server_row *r, void *ctx) {
  struct rep *R = ctx;
  if (vec_room(&R->s, &R->caps, R->ns, sizeof(*R->s), 16) < 0)
    return R->oom = 1;
  R->s[R->ns].ip = sdup(r->ip);
  R->s[R->ns].host = sdup(r->banner_host);
  R->s[R->ns].sessions = r->sessions;
  R->ns++;
  return 0;
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
  return 0;
}

/* The iprev result of an identity listed, or "-" (linear: few pairs). */
static const char *iprev_of(const struct rep *R, const char *ip) {
  size_t k;
  for (k = 0; k < R->ni; k++)
    if (strcmp(R->i[k].ip, ip) == 0) return R->i[k].iprev;
  return "-";
}

static int is_server_rule(const char *rule) {
  return strncmp(rule, "banner-", 7) == 0;
}

static int cmp_ip(const void *a, const void *b) {
  return strcmp(((const struct idn *)a)->ip, ((const struct idn *)b)->ip);
}

static const struct fnd *g_f; /* for the comparator below */
static int cmp_fidx(const void *a, const void *b) {
  size_t x = *(const size_t *)a, y = *(const size_t *)b;
  int c = strcmp(g_f[x].ident, g_f[y].ident);
  return c ? c : (x < y ? -1 : x > y);
}

/* First index in order[] (sorted by ident) whose finding has ident ip. */
static size_t first_of(const struct rep *R, const size_t *order, const char *ip) {
  size_t lo = 0, hi = R->nf;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (strcmp(R->f[order[mid]].ident, ip) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

static int cmp_ident(const void *a, const void *b) {
  const struct idn *x = a, *y = b;
  int rx = x->worst < 0 ? -1 : sev_rank(x->worst),
      ry = y->worst < 0 ? -1 : sev_rank(y->worst);
  if (rx != ry) return ry - rx;
  if (x->sessions != y->sessions) return x->sessions < y->sessions ? 1 : -1;
  return strcmp(x->ip, y->ip);
}

/* --- text ------------------------------------------------------------ */

static int colour;

static const char *sev_colour(int sev) {
  if (!colour) return "";
  switch (sev) {
  case SEV_CRIT: return "\033[1;31m";
  case SEV_WARN: return "\033[33m";
  case SEV_UNKNOWN: return "\033[35m";
  default: return "\033[36m";
  }
}

/* Print text (escaped) wrapped at 79 columns; the first line continues at
 * column col, the next ones start at column indent. */
static void wrap(const char *text, int col, int indent) {
  char buf[4096];
  const char *p, *w;
  size_t n;

  esc_text(buf, sizeof(buf), text, strlen(text));
  for (p = buf; *p;) {
    while (*p == ' ') p++;
    for (w = p; *w && *w != ' '; w++)
      ;
    n = (size_t)(w - p);
    if (n == 0) break;
    if (col + (int)n > 79 && col > indent) {
      printf("\n%*s", indent, "");
      col = indent;
    } else if (col > indent) {
      putchar(' ');
      col++;
    }
    fwrite(p, 1, n, stdout);
    col += (int)n;
    p = w;
  }
  putchar('\n');
}

static void list_line(const char *label, const char *nl_list) {
  char buf[2048];
  size_t i;

  snprintf(buf, sizeof(buf), "%s", *nl_list ? nl_list : "-");
  for (i = 0; buf[i]; i++)
    if (buf[i] == '\n') buf[i] = ' ';
  printf("  %-8s", label);
  wrap(buf, 9, 10);
}

static void text_finding(const struct fnd *f) {
  int col;
  printf("  %s%-7s%s %s:", sev_colour(f->sev), f->severity, colour ? "\033[0m" : "",
         f->rule);
  col = 2 + 8 + (int)strlen(f->rule) + 1;
  wrap(f->detail, col, 10);
  printf("          fix: ");
  wrap(f->fix, 15, 15);
}

static void text_time(int64_t us, char *out) {
  time_str(us, out);
  out[16] = '\0';
  out[10] = ' ';
}

/* --- json ------------------------------------------------------------ */

static void json_nl_list(const char *s) {
  char item[1024];
  const char *nl;
  int first = 1;

  putchar('[');
  while (s && *s) {
    nl = strchr(s, '\n');
    snprintf(item, sizeof(item), "%.*s", (int)(nl ? (size_t)(nl - s) : strlen(s)), s);
    if (!first) putchar(',');
    json_str(stdout, item);
    first = 0;
    s = nl ? nl + 1 : NULL;
  }
  putchar(']');
}

static void json_time(int64_t us) {
  char t[TIME_STRLEN];
  if (us == INT64_MIN || us == INT64_MAX) printf("null");
  else printf("\"%s\"", time_str(us, t));
}

static void json_finding(const struct fnd *f) {
  printf("{\"rule\":");
  json_str(stdout, f->rule);
  printf(",\"severity\":");
  json_str(stdout, f->severity);
  printf(",\"subject\":");
  json_str(stdout, f->subject);
  printf(",\"detail\":");
  json_str(stdout, f->detail);
  printf(",\"fix\":");
  json_str(stdout, f->fix);
  printf(",\"first_seen\":");
  json_time(f->first_us);
  printf(",\"last_seen\":");
  json_time(f->last_us);
  printf(",\"count\":%lld}", (long long)f->count);
}

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
          "  --format FMT         text (default), json, csv (one row per finding)\n"
          "  --point NAME         only identities seen at this capture point\n"
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

int cmd_report(int argc, char **argv) {
  static const struct option opts[] = {
      {"db", required_argument, NULL, 'd'},
      {"since", required_argument, NULL, 'S'},
      {"until", required_argument, NULL, 'U'},
      {"format", required_argument, NULL, 'f'},
      {"fail-on", required_argument, NULL, 'F'},
      {"analyze", no_argument, NULL, 'a'},
      {"point", required_argument, NULL, 'P'},
      ANALYSIS_LONGOPTS, /* checked here, handed to analyze (--analyze) */
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  const char *db = NULL, *fmt = "text", *point = NULL;
  const char *since_arg = NULL, *until_arg = NULL;
  static struct analysis_opts ao;
  int64_t since = INT64_MIN, until = INT64_MAX, now = now_us();
  int c, rc, fail_on = SEV_CRIT, analyze = 0, worst = -1, ex;
  struct store *st = NULL;
  struct report_meta m;
  struct rep R;
  char err[1024], t1[TIME_STRLEN], t2[TIME_STRLEN];
  size_t i, k, j, *order = NULL;
  int64_t by_sev[4] = {0};

  analysis_opts_init(&ao);
  optind = 1;
  while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
    if ((rc = analysis_opt(&ao, c, optarg, "report")) != 0) {
      if (rc < 0) return EXIT_USAGE;
      continue;
    }
    switch (c) {
    case 'd': db = optarg; break;
    case 'S':
    case 'U':
      if (cli_time_opt("report", c == 'S', optarg, now,
                       c == 'S' ? &since : &until) < 0)
        return EXIT_USAGE;
      if (c == 'S') since_arg = optarg;
      else until_arg = optarg;
      break;
    case 'f':
      if (strcmp(optarg, "text") && strcmp(optarg, "json") && strcmp(optarg, "csv")) {
        cli_err("report: --format: '%s' is not text, json or csv", optarg);
        return EXIT_USAGE;
      }
      fmt = optarg;
      break;
    case 'F':
      if (strcmp(optarg, "warn") == 0) fail_on = SEV_WARN;
      else if (strcmp(optarg, "crit") == 0) fail_on = SEV_CRIT;
      else {
        cli_err("report: --fail-on: '%s' is not warn or crit", optarg);
        return EXIT_USAGE;
      }
      break;
    case 'a': analyze = 1; break;
    case 'P': point = optarg; break;
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return EXIT_USAGE;
    }
  }
  if (analyze) {
    /* report --analyze [analyze options] [-- analyze options]: the same
     * database and the same window as the report. */
    char *av[160];
    int ac = 0, a;
    av[ac++] = "analyze";
    if (db) av[ac++] = "--db", av[ac++] = (char *)db;
    if (since_arg) av[ac++] = "--since", av[ac++] = (char *)since_arg;
    if (until_arg) av[ac++] = "--until", av[ac++] = (char *)until_arg;
    av[ac++] = "--quiet";
    for (a = 0; a < ao.argc; a++) av[ac++] = (char *)ao.argv[a];
    for (a = optind; a < argc && ac < 158; a++) av[ac++] = argv[a];
    av[ac] = NULL;
    rc = cmd_analyze(ac, av);
    if (rc != 0) return rc;
  } else if (ao.argc > 0) {
    cli_err("report: %s is an option of --analyze", ao.argv[0]);
    return EXIT_USAGE;
  } else if (optind < argc) {
    cli_err("report: unexpected argument '%s'", argv[optind]);
    return EXIT_USAGE;
  }
  rc = store_open(&st, cli_db_path(db), STORE_RO, err, sizeof(err));
  if (rc < 0) {
    cli_err("%s", err);
    return cli_exit_for(rc);
  }
  memset(&R, 0, sizeof(R));
  if (store_report_meta(st, since, until, &m) < 0 ||
      store_identities(st, since, until, point, on_ident, &R) < 0 ||
      store_findings(st, since, until, on_find, &R) < 0 ||
      store_inbound_servers(st, since, until, on_server, &R) < 0 ||
      store_nat_map(st, since, until, on_nat, &R) < 0 || R.oom) {
    cli_err("report: %s", R.oom ? "out of memory" : store_errmsg(st));
    store_close(st);
    return EXIT_IOERR;
  }
  store_close(st);
  /* Identities by address, findings by identity: lookups stay O(log n)
   * on a million-session database. */
  if (R.ni > 1) qsort(R.i, R.ni, sizeof(*R.i), cmp_ip);
  if (point != NULL) {
    /* Keep the findings of the identities seen at that point. */
    size_t w = 0;
    for (i = 0; i < R.nf; i++) {
      struct idn key;
      int keep;
      memset(&key, 0, sizeof(key));
      key.ip = R.f[i].ident;
      keep = R.ni > 0 && bsearch(&key, R.i, R.ni, sizeof(*R.i), cmp_ip) != NULL;
      if (keep) R.f[w++] = R.f[i];
      else {
        free(R.f[i].rule); free(R.f[i].severity); free(R.f[i].subject);
        free(R.f[i].ident); free(R.f[i].detail); free(R.f[i].fix);
      }
    }
    R.nf = w;
    for (i = 0, w = 0; i < R.nn; i++) {
      if (strcmp(R.n[i].pin, point) == 0 || strcmp(R.n[i].pout, point) == 0) {
        R.n[w++] = R.n[i];
        continue;
      }
      free(R.n[i].in); free(R.n[i].out); free(R.n[i].pin); free(R.n[i].pout);
    }
    R.nn = w;
  }
  for (i = 0; i < R.nf; i++) {
    struct idn key, *d;
    if (R.f[i].sev >= 0 && R.f[i].sev < 4) by_sev[R.f[i].sev]++;
    if (worst < 0 || sev_rank(R.f[i].sev) > sev_rank(worst)) worst = R.f[i].sev;
    memset(&key, 0, sizeof(key));
    key.ip = R.f[i].ident;
    d = R.ni ? bsearch(&key, R.i, R.ni, sizeof(*R.i), cmp_ip) : NULL;
    R.f[i].attached = d != NULL;
    if (d != NULL && (d->worst < 0 || sev_rank(R.f[i].sev) > sev_rank(d->worst)))
      d->worst = R.f[i].sev;
  }
  if (R.ni > 1) qsort(R.i, R.ni, sizeof(*R.i), cmp_ident);
  order = malloc((R.nf ? R.nf : 1) * sizeof(*order));
  if (order == NULL) {
    cli_err("report: out of memory");
    return EXIT_SOFTWARE;
  }
  for (i = 0; i < R.nf; i++) order[i] = i;
  g_f = R.f;
  if (R.nf > 1) qsort(order, R.nf, sizeof(*order), cmp_fidx);

  if (strcmp(fmt, "json") == 0) {
    printf("{\"generated\":");
    json_time(now);
    printf(",\"since\":");
    json_time(since);
    printf(",\"until\":");
    json_time(until);
    printf(",\"analyzed\":");
    if (m.last_analysis) json_time(m.last_analysis);
    else printf("null");
    printf(",\"sessions_since_analysis\":%lld,\"identities\":[",
           (long long)m.new_sessions);
    for (k = 0; k < R.ni; k++) {
      struct idn *d = &R.i[k];
      int first = 1;
      printf("%s{\"ip\":", k ? "," : "");
      json_str(stdout, d->ip);
      printf(",\"ptr\":");
      json_nl_list(d->ptr);
      printf(",\"iprev\":");
      json_str(stdout, d->iprev);
      printf(",\"helo\":");
      json_nl_list(d->helos);
      printf(",\"echoed_ip\":");
      json_nl_list(d->echoed);
      printf(",\"sources\":");
      json_nl_list(d->sources);
      printf(",\"sessions\":%lld,\"rejected\":%lld,\"starttls\":%lld,"
             "\"direction_unknown\":%s,\"first_seen\":",
             (long long)d->sessions, (long long)d->rejected,
             (long long)d->starttls, d->unknown_direction ? "true" : "false");
      json_time(d->first_us);
      printf(",\"last_seen\":");
      json_time(d->last_us);
      printf(",\"findings\":[");
      for (j = first_of(&R, order, d->ip);
           j < R.nf && strcmp(R.f[order[j]].ident, d->ip) == 0; j++) {
        if (!first) putchar(',');
        json_finding(&R.f[order[j]]);
        first = 0;
      }
      printf("]}");
    }
    printf("],\"servers\":[");
    for (k = 0; k < R.ns; k++) {
      int first = 1;
      printf("%s{\"ip\":", k ? "," : "");
      json_str(stdout, R.s[k].ip);
      printf(",\"banner_host\":");
      json_str(stdout, R.s[k].host);
      printf(",\"sessions\":%lld,\"findings\":[", (long long)R.s[k].sessions);
      for (i = 0; i < R.nf; i++)
        if (is_server_rule(R.f[i].rule) && strcmp(R.f[i].subject, R.s[k].ip) == 0) {
          if (!first) putchar(',');
          json_finding(&R.f[i]);
          first = 0;
        }
      printf("]}");
    }
    printf("],\"nat\":[");
    for (k = 0; k < R.nn; k++) {
      printf("%s{\"inside_ip\":", k ? "," : "");
      json_str(stdout, R.n[k].in);
      printf(",\"outside_ip\":");
      json_str(stdout, R.n[k].out);
      printf(",\"point_in\":");
      json_str(stdout, R.n[k].pin);
      printf(",\"point_out\":");
      json_str(stdout, R.n[k].pout);
      printf(",\"outside_iprev\":");
      json_str(stdout, iprev_of(&R, R.n[k].out));
      printf(",\"sessions\":%lld,\"first_seen\":", (long long)R.n[k].sessions);
      json_time(R.n[k].first_us);
      printf(",\"last_seen\":");
      json_time(R.n[k].last_us);
      putchar('}');
    }
    printf("],\"findings\":[");
    for (i = 0, k = 0; i < R.nf; i++)
      if (!R.f[i].attached && !is_server_rule(R.f[i].rule)) {
        if (k++) putchar(',');
        json_finding(&R.f[i]);
      }
    printf("]}\n");
  } else if (strcmp(fmt, "csv") == 0) {
    fputs("severity,rule,identity,subject,first_seen,last_seen,count,detail,fix\r\n",
          stdout);
    for (i = 0; i < R.nf; i++) {
      char n[32];
      csv_field(stdout, R.f[i].severity, 0);
      csv_field(stdout, R.f[i].rule, 0);
      csv_field(stdout, R.f[i].ident, 0);
      csv_field(stdout, R.f[i].subject, 0);
      csv_field(stdout, time_str(R.f[i].first_us, t1), 0);
      csv_field(stdout, time_str(R.f[i].last_us, t2), 0);
      snprintf(n, sizeof(n), "%lld", (long long)R.f[i].count);
      csv_field(stdout, n, 0);
      csv_field(stdout, R.f[i].detail, 0);
      csv_field(stdout, R.f[i].fix, 1);
    }
  } else {
    colour = isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL;
    printf("egressaudit report: %zu identities, %lld crit, %lld warn, "
           "%lld unknown, %lld info\n",
           R.ni, (long long)by_sev[SEV_CRIT], (long long)by_sev[SEV_WARN],
           (long long)by_sev[SEV_UNKNOWN], (long long)by_sev[SEV_INFO]);
    if (since == INT64_MIN && until == INT64_MAX) printf("window: all sessions");
    else {
      text_time(since == INT64_MIN ? 0 : since, t1);
      text_time(until == INT64_MAX ? now : until, t2);
      printf("window: %s .. %s UTC", since == INT64_MIN ? "start" : t1, t2);
    }
    printf("; %lld sessions, %lld capture points, %lld packets dropped\n",
           (long long)m.sessions, (long long)m.points, (long long)m.drops);
    if (m.last_analysis == 0)
      printf("not analysed yet: run 'egressaudit analyze' (or report --analyze)\n");
    else if (m.new_sessions > 0)
      printf("note: %lld sessions arrived after the last analysis; run"
             " 'analyze' (or report --analyze) to judge them\n",
             (long long)m.new_sessions);
    {
      size_t unk = 0;
      for (k = 0; k < R.ni; k++) unk += R.i[k].unknown_direction != 0;
      if (unk >= 20)
        printf("warning: %zu identities of unknown direction: the capture "
               "probably holds inbound mail from strangers; read it again "
               "with --local (your addresses)\n", unk);
      else if (m.unknown_dir > 0)
        printf("note: %lld sessions have no known direction (read without"
               " --local); if this host also receives mail, strangers'"
               " addresses are listed as identities\n",
               (long long)m.unknown_dir);
    }
    for (k = 0; k < R.ni; k++) {
      struct idn *d = &R.i[k];
      printf("\n%s%s%s  iprev %s%s\n", colour ? "\033[1m" : "", d->ip,
             colour ? "\033[0m" : "", d->iprev,
             d->unknown_direction ? "  (direction unknown)" : "");
      list_line("PTR", d->ptr);
      list_line("HELO", d->helos);
      if (strcmp(d->sources, d->ip) != 0) list_line("from", d->sources);
      text_time(d->first_us, t1);
      text_time(d->last_us, t2);
      printf("  %-9s%lld (%lld rejected, %lld TLS), %s .. %s\n", "sessions",
             (long long)d->sessions, (long long)d->rejected,
             (long long)d->starttls, t1, t2 + 11);
      for (j = first_of(&R, order, d->ip);
           j < R.nf && strcmp(R.f[order[j]].ident, d->ip) == 0; j++)
        text_finding(&R.f[order[j]]);
    }
    for (i = 0, k = 0; i < R.nf; i++) {
      int mine = is_server_rule(R.f[i].rule) || R.f[i].attached;
      if (mine) continue;
      if (k++ == 0) printf("\nacross identities\n");
      text_finding(&R.f[i]);
    }
    if (R.nn > 0)
      printf("\nNAT map (inside host -> address receivers saw, learned from\n"
             "both sides of the gateway)\n");
    for (k = 0; k < R.nn; k++) {
      text_time(R.n[k].first_us, t1);
      text_time(R.n[k].last_us, t2);
      printf("  %-15s -> %-15s iprev %-9s %lld sessions, %s .. %s\n",
             R.n[k].in, R.n[k].out, iprev_of(&R, R.n[k].out),
             (long long)R.n[k].sessions, t1, t2 + 11);
      printf("      ");
      esc_fputs(stdout, R.n[k].pin);
      printf(" -> ");
      esc_fputs(stdout, R.n[k].pout);
      putchar('\n');
    }
    if (R.ns > 0) printf("\nour servers as seen by clients (inbound sessions)\n");
    for (k = 0; k < R.ns; k++) {
      printf("  %s greets as ", R.s[k].ip);
      esc_fputs(stdout, R.s[k].host);
      printf(" (%lld sessions)\n", (long long)R.s[k].sessions);
      for (i = 0; i < R.nf; i++)
        if (is_server_rule(R.f[i].rule) && strcmp(R.f[i].subject, R.s[k].ip) == 0)
          text_finding(&R.f[i]);
    }
    if (R.nf == 0 && m.last_analysis != 0) printf("\nno findings\n");
  }
  fflush(stdout);
  for (i = 0; i < R.nf; i++) {
    free(R.f[i].rule); free(R.f[i].severity); free(R.f[i].subject);
    free(R.f[i].ident); free(R.f[i].detail); free(R.f[i].fix);
  }
  for (k = 0; k < R.ni; k++) {
    free(R.i[k].ip); free(R.i[k].iprev); free(R.i[k].ptr); free(R.i[k].helos);
    free(R.i[k].sources); free(R.i[k].echoed);
  }
  for (k = 0; k < R.ns; k++) {
    free(R.s[k].ip);
    free(R.s[k].host);
  }
  for (k = 0; k < R.nn; k++) {
    free(R.n[k].in); free(R.n[k].out); free(R.n[k].pin); free(R.n[k].pout);
  }
  free(R.n);
  free(R.s);
  free(order);
  free(R.f);
  free(R.i);
  if (ferror(stdout)) return EXIT_IOERR;
  /* crit > unknown > warn > ok, as monitoring plugins read them. */
  if (m.last_analysis == 0) return 3;
  ex = 0;
  if (by_sev[SEV_CRIT] > 0) ex = 2;
  else if (by_sev[SEV_UNKNOWN] > 0) ex = 3;
  else if (by_sev[SEV_WARN] > 0 && fail_on == SEV_WARN) ex = 1;
  (void)worst;
  return ex;
}
