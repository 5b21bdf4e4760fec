/* egressaudit - cli/analyze.c: `analyze` (stored sessions -> findings) and
 * `check` (one address, no database).
 * SPDX-License-Identifier: MIT
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyzer/analyzer.h"
#include "cli/cli.h"
#include "cli/opts.h"
#include "cli/render.h"
#include "common/util.h"

static void progress(void *ctx, unsigned done, unsigned total) {
  (void)ctx;
  fprintf(stderr, "\r\033[Kanalyze: %u of %u DNS questions answered", done,
          total);
}

/* How the sessions were read, one line for the summary. */
static const char *analyze_read_line(const struct analysis_stats *a) {
  static char line[320];
  char kept[64];
  int n;

  if (a->fold_mode == FOLD_INCR)
    n = snprintf(line, sizeof(line), "read the sums of the last analysis and "
                 "%lld egress sessions after them in %.2f s",
                 (long long)a->fold_tail, (double)a->read_us / 1e6);
  else if (a->fold_mode == FOLD_FULL)
    n = snprintf(line, sizeof(line), "read all %lld egress sessions in %.2f s "
                 "(full: %s)", (long long)a->fold_tail,
                 (double)a->read_us / 1e6, a->fold_why ? a->fold_why : "");
  else
    return snprintf(line, sizeof(line), "read the window's %lld egress "
                    "sessions in %.2f s\n", (long long)a->fold_tail,
                    (double)a->read_us / 1e6), line;
  if (a->fold_kept)
    snprintf(kept, sizeof(kept), "; sums kept in %.2f s\n",
             (double)a->fold_us / 1e6);
  else
    snprintf(kept, sizeof(kept), "; their sums were not kept\n");
  if (n > 0 && (size_t)n < sizeof(line))
    snprintf(line + n, sizeof(line) - (size_t)n, "%s", kept);
  return line;
}

static void analyze_usage(FILE *f) {
  fprintf(f,
          "Usage: %s analyze [OPTIONS]\n"
          "\n"
          "Resolve every egress identity of the stored sessions (PTR of the\n"
          "address receivers saw, A/AAAA of each PTR name and EHLO name, the\n"
          "reverse zone's SOA), apply the checks and store the findings.\n"
          "Answers are cached by TTL; a temporary DNS failure is never taken\n"
          "for a missing record.\n"
          "\n"
          "Options:\n"
          "  --db PATH            database (see '%s --help')\n"
          "  --since T, --until T sessions to judge (RFC 3339 or 90m, 24h, 7d;\n"
          "                       default: all)\n"
          "  --full               read every session again (default: the sums\n"
          "                       kept by the last analysis of all history,\n"
          "                       plus the sessions stored or changed since)\n"
          ANALYSIS_HELP
          "  -q, --quiet          no progress, no summary\n"
          "  -h, --help           this help\n",
          progname, progname);
}

int cmd_analyze(int argc, char **argv) {
  static const struct option opts[] = {
      {"db", required_argument, NULL, 'd'},
      {"since", required_argument, NULL, 'S'},
      {"full", no_argument, NULL, 'F'},
      {"until", required_argument, NULL, 'U'},
      ANALYSIS_LONGOPTS,
      {"quiet", no_argument, NULL, 'q'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  static struct analysis_opts d;
  const char *db = NULL;
  struct store *st = NULL;
  struct analysis_stats stats;
  uv_loop_t loop;
  char err[1024];
  int64_t now = now_us();
  int c, rc, quiet = 0;

  analysis_opts_init(&d);
  if ((rc = analysis_opts_conf(&d, "analyze")) != 0) return rc;
  optind = 1;
  while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
    if ((rc = analysis_opt(&d, c, optarg, "analyze")) != 0) {
      if (rc < 0) return EXIT_USAGE;
      continue;
    }
    switch (c) {
    case 'd': db = optarg; break;
    case 'S':
    case 'U':
      if (cli_time_opt("analyze", c == 'S', optarg, now,
                       c == 'S' ? &d.cfg.since : &d.cfg.until) < 0)
        return EXIT_USAGE;
      break;
    case 'q': quiet = 1; break;
    case 'F': d.cfg.full = 1; break;
    case 'h': analyze_usage(stdout); return 0;
    default: analyze_usage(stderr); return EXIT_USAGE;
    }
  }
  if (optind < argc) {
    cli_err("analyze: unexpected argument '%s'", argv[optind]);
    return EXIT_USAGE;
  }
  if ((rc = analysis_opts_check(&d, "analyze")) != 0) return rc;
  if (!quiet && isatty(STDERR_FILENO)) d.cfg.progress = progress;
  rc = store_open(&st, cli_db_path(db), STORE_RW_EXISTING, err, sizeof(err));
  if (rc < 0) {
    cli_err("%s", err);
    return cli_exit_for(rc);
  }
  uv_loop_init(&loop);
  memset(&stats, 0, sizeof(stats));
  rc = analyzer_run(st, &loop, &d.cfg, &stats, err, sizeof(err));
  if (d.cfg.progress) fputs("\r\033[K", stderr);
  if (uv_loop_close(&loop) != 0) cli_err("analyze: loop not closed cleanly");
  if (rc < 0) {
    cli_err("analyze: %s", err);
    store_close(st);
    return cli_exit_for(rc);
  }
  rc = store_close(st);
  if (!quiet) {
    printf("analyzed %lld identities: %lld crit, %lld warn, %lld info, %lld "
           "unknown; %lld DNS queries sent, %lld answered from cache, %lld "
           "temporary failures\n",
           (long long)stats.identities, (long long)stats.by_sev[SEV_CRIT],
           (long long)stats.by_sev[SEV_WARN], (long long)stats.by_sev[SEV_INFO],
           (long long)stats.by_sev[SEV_UNKNOWN], (long long)stats.queries,
           (long long)stats.cached, (long long)stats.temp_failures);
    printf("%s", analyze_read_line(&stats));
    /* A fixed PTR shows only once the cached answer is let go. */
    if (stats.cached > 0 && stats.oldest_cached > 0) {
      char age[32];
      dur_str(now_us() - stats.oldest_cached, age, sizeof(age));
      printf("the oldest cached answer was fetched %s ago: after a DNS "
             "change, 'analyze --max-age 0' (or 'check IP') asks afresh\n",
             age);
    }
  }
  return rc < 0 ? cli_exit_for(rc) : 0;
}

/* --- check ------------------------------------------------------------- */

struct check_out {
  int json, nagios;
  int first;
  int64_t by_sev[4]; /* findings so far, for the exit code */
  /* nagios: the status line's list and the long text, printed at the end */
  char sum[700];
  size_t nsum, nlong;
  unsigned listed;
  char long_text[32768];
};

/* Keep a finding for the plugin output ('|' would start perfdata). */
static void nagios_keep(struct check_out *o, const struct finding *f) {
  char esc[ESC_CAP(FINDING_TEXT_MAX + 600)];

  render_nagios_list(o->sum, sizeof(o->sum), &o->nsum, &o->listed, f->severity,
                     f->rule, f->subject);
  render_nagios_finding(esc, sizeof(esc), f->severity, f->rule, f->subject,
                        f->detail);
  if (o->nlong < sizeof(o->long_text))
    o->nlong += (size_t)snprintf(o->long_text + o->nlong,
                                 sizeof(o->long_text) - o->nlong, "%s\n", esc);
}

static void json_list(FILE *f, const struct dns_result *r) {
  unsigned i;
  fputc('[', f);
  for (i = 0; r != NULL && r->status == DNS_OK && i < r->n; i++) {
    if (i) fputc(',', f);
    json_str(f, r->answer[i]);
  }
  fputc(']', f);
}

static void text_fwd(const struct dns_result *a, const struct dns_result *q) {
  const struct dns_result *r[2] = {a, q};
  unsigned k, i, any = 0;

  for (k = 0; k < 2; k++)
    for (i = 0; r[k] && r[k]->status == DNS_OK && i < r[k]->n; i++, any++) {
      fputs(any ? ", " : "", stdout);
      esc_fputs(stdout, r[k]->answer[i]);
    }
  if (!any)
    printf("%s", a ? dns_status_name(a->status) : "not asked");
}

/* A check has no sessions: no times, no count. */
static struct fview finding_view(const struct finding *f) {
  struct fview v = {f->rule, f->subject, f->detail, f->fix, f->severity,
                    INT64_MIN, INT64_MIN, 0, 0, 0};
  return v;
}

static void on_checked(void *ctx, const struct ident *id,
                       const struct finding *f, unsigned nf) {
  struct check_out *o = ctx;
  enum iprev ipr = rules_iprev(id);
  struct tstyle ts = render_style();
  unsigned i;

  for (i = 0; i < nf; i++)
    if (f[i].severity <= SEV_UNKNOWN) o->by_sev[f[i].severity]++;
  if (o->nagios) {
    for (i = 0; i < nf; i++) nagios_keep(o, &f[i]);
    return;
  }
  if (o->json) {
    printf("%s{\"ip\":", o->first ? "" : ",");
    json_str(stdout, id->ip_text);
    printf(",\"ptr\":");
    json_list(stdout, id->ptr);
    printf(",\"ptr_status\":");
    json_str(stdout, id->ptr ? dns_status_name(id->ptr->status) : "none");
    printf(",\"iprev\":\"%s\",\"forward\":{", iprev_name(ipr));
    for (i = 0; i < id->n_names; i++) {
      if (i) putchar(',');
      json_str(stdout, id->ptr->answer[i]);
      printf(":{\"a\":");
      json_list(stdout, id->fwd[i].a);
      printf(",\"aaaa\":");
      json_list(stdout, id->fwd[i].aaaa);
      putchar('}');
    }
    printf("},\"reverse_zone\":");
    if (id->soa && id->soa->soa_zone[0]) {
      printf("{\"zone\":");
      json_str(stdout, id->soa->soa_zone);
      printf(",\"primary\":");
      json_str(stdout, id->soa->soa_mname);
      printf(",\"contact\":");
      json_str(stdout, id->soa->soa_rname);
      putchar('}');
    } else {
      printf("null");
    }
    printf(",\"helo\":[");
    for (i = 0; i < id->n_helo; i++) {
      if (i) putchar(',');
      json_str(stdout, id->helo[i].name);
    }
    printf("],\"resolver\":");
    json_str(stdout, id->resolver ? id->resolver : "");
    printf(",\"echoed_ip\":[],\"sessions\":0,\"first_seen\":null,"
           "\"last_seen\":null,\"findings\":[");
    for (i = 0; i < nf; i++) {
      struct fview v = finding_view(&f[i]);
      if (i) putchar(',');
      render_finding_json(&v);
    }
    printf("]}");
  } else {
    printf("%s%s  iprev %s\n", o->first ? "" : "\n", id->ip_text, iprev_name(ipr));
    if (id->ptr == NULL) {
      printf("  PTR   not looked up (private address)\n");
    } else if (id->ptr->status != DNS_OK) {
      printf("  PTR   %s (%s)\n", dns_status_name(id->ptr->status), id->ptr->name);
    } else {
      for (i = 0; i < id->n_names; i++) {
        printf("  PTR   ");
        esc_fputs(stdout, id->ptr->answer[i]);
        printf(" -> ");
        text_fwd(id->fwd[i].a, id->fwd[i].aaaa);
        putchar('\n');
      }
    }
    if (id->soa && id->soa->soa_zone[0]) {
      printf("  zone  ");
      esc_fputs(stdout, id->soa->soa_zone);
      printf(" (primary ");
      esc_fputs(stdout, id->soa->soa_mname);
      printf(", contact ");
      esc_fputs(stdout, id->soa->soa_rname);
      printf(")\n");
    }
    for (i = 0; i < id->n_helo; i++) {
      printf("  HELO  ");
      esc_fputs(stdout, id->helo[i].name);
      printf(" -> ");
      if (id->helo[i].a || id->helo[i].aaaa) text_fwd(id->helo[i].a, id->helo[i].aaaa);
      else printf("not a name");
      putchar('\n');
    }
    if (id->resolver && id->resolver[0]) {
      printf("  DNS   answers from ");
      esc_fputs(stdout, id->resolver);
      putchar('\n');
    }
    if (nf == 0) printf("  no findings\n");
    for (i = 0; i < nf; i++) {
      struct fview v = finding_view(&f[i]);
      render_finding_text(&v, &ts);
    }
  }
  o->first = 0;
}

static void check_usage(FILE *f) {
  fprintf(f,
          "Usage: %s check [OPTIONS] IP...\n"
          "\n"
          "Check the identity of sending addresses now, without a database:\n"
          "PTR names and their forward addresses, the iprev result (pass,\n"
          "fail, temperror, permerror), who controls the reverse zone, and\n"
          "the findings with what to do.\n"
          "\n"
          "Options:\n"
          "  --helo NAME          also judge this EHLO name (repeatable)\n"
          "  --format FMT         text (default), json, or nagios (a monitoring-\n"
          "                       plugin status line, perfdata, one line a finding)\n"
          DNS_HELP
          "  -h, --help           this help\n"
          "\n"
          "Exit codes (monitoring plugins): 0 ok, 1 warning, 2 critical,\n"
          "3 unknown (DNS failed temporarily); 64 usage.\n",
          progname);
}

int cmd_check(int argc, char **argv) {
  static const struct option opts[] = {
      {"helo", required_argument, NULL, 'H'},
      {"format", required_argument, NULL, 'f'},
      DNS_LONGOPTS,
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  static struct analysis_opts d;
  const char *helos[IDENT_HELO_MAX];
  unsigned n_helo = 0;
  static struct check_out o;
  struct ea_addr a;
  uv_loop_t loop;
  char err[512];
  int c, rc, i;

  memset(&o, 0, sizeof(o));
  o.first = 1;
  analysis_opts_init(&d);
  if ((rc = analysis_opts_conf(&d, "check")) != 0) return rc;
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    if ((rc = analysis_opt(&d, c, optarg, "check")) != 0) {
      if (rc < 0) return EXIT_USAGE;
      continue;
    }
    switch (c) {
    case 'H':
      if (n_helo == IDENT_HELO_MAX) {
        cli_err("check: at most %d --helo", IDENT_HELO_MAX);
        return EXIT_USAGE;
      }
      helos[n_helo++] = optarg;
      break;
    case 'f':
      if (strcmp(optarg, "json") == 0) o.json = 1;
      else if (strcmp(optarg, "nagios") == 0) o.nagios = 1;
      else if (strcmp(optarg, "text") != 0) {
        cli_err("check: --format: '%s' is not text, json or nagios", optarg);
        return EXIT_USAGE;
      }
      break;
    case 'h': check_usage(stdout); return 0;
    default: check_usage(stderr); return EXIT_USAGE;
    }
  }
  if (optind >= argc) {
    cli_err("check: no address given (try 'check --help')");
    return EXIT_USAGE;
  }
  if ((rc = analysis_opts_check(&d, "check")) != 0) return rc;
  for (i = optind; i < argc; i++)
    if (addr_parse(&a, argv[i], strlen(argv[i])) < 0) {
      cli_err("check: '%s' is not an IPv4 or IPv6 address", argv[i]);
      return EXIT_USAGE;
    }
  uv_loop_init(&loop);
  if (o.json) putchar('[');
  for (i = optind; i < argc; i++) {
    addr_parse(&a, argv[i], strlen(argv[i]));
    rc = analyzer_check(&loop, &d.cfg, &a, helos, n_helo, on_checked, &o, err,
                        sizeof(err));
    if (rc < 0) {
      cli_err("check: %s", err);
      uv_loop_close(&loop);
      return rc == -EINVAL ? EXIT_USAGE : EXIT_SOFTWARE;
    }
  }
  if (o.json) printf("]\n");
  if (o.nagios) {
    char sum[800];
    snprintf(sum, sizeof(sum), "%lld crit, %lld warn, %lld unknown%s",
             (long long)o.by_sev[SEV_CRIT], (long long)o.by_sev[SEV_WARN],
             (long long)o.by_sev[SEV_UNKNOWN], o.sum);
    render_nagios_status(render_exit_code(o.by_sev, SEV_WARN), sum, o.by_sev,
                         NULL);
    fputs(o.long_text, stdout);
  }
  uv_loop_close(&loop);
  fflush(stdout);
  return render_exit_code(o.by_sev, SEV_WARN);
}
