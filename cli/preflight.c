/* egressaudit - cli/preflight.c: `preflight ADDR|CIDR...`, the checklist
 * before an address goes into service (issue 16, first part): PTR, one
 * PTR, its name, not generic, FCrDNS, every address of the name, the EHLO
 * name, the resolvers agreeing, whom to ask for the reverse zone, and each
 * DNSBL given. The DNS questions and every judgement are the analysis's
 * (analyzer_check, analyzer/checklist.c); this file asks and prints.
 * Not yet: SPF, DKIM, DMARC, the SMTP probe, the MTA's configuration.
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/analyzer.h"
#include "analyzer/checklist.h"
#include "analyzer/mailauth.h"
#include "analyzer/resolver.h"
#include "analyzer/rules.h"
#include "analyzer/spf.h"
#include "cli/cli.h"
#include "cli/opts.h"
#include "cli/render.h"
#include "common/netset.h"
#include "common/util.h"
#include "store/store.h"

#define PF_ZONES_MAX 16
#define PF_ADDRS_MAX 1024 /* addresses of all the CIDRs together */

struct pf {
  int json, first;
  int64_t by_sev[4];
  unsigned n_helo;
  int compare;
  const char *zones[PF_ZONES_MAX];
  unsigned nz;
  const char *domain;           /* --domain: SPF of this envelope domain */
  const char *helo0;            /* the first --helo, for SPF's %{h}       */
  const char *selectors[PF_ZONES_MAX]; /* --dkim-selector                 */
  unsigned nsel;
  struct tstyle ts;
};

static void line_text(const struct pf *o, const char *status, const char *title,
                      const char *detail, const char *fix) {
  printf("  %-8s", status);
  render_wrap(title, 10, 10, o->ts.width);
  if (detail && detail[0]) {
    printf("          ");
    render_wrap(detail, 10, 12, o->ts.width);
  }
  if (fix && fix[0]) {
    printf("          fix: ");
    render_wrap(fix, 15, 15, o->ts.width);
  }
}

static void line_json(int *n, const char *id, const char *status,
                      const char *title, const char *rule, const char *detail,
                      const char *fix) {
  printf("%s{\"check\":", (*n)++ ? "," : "");
  json_str(stdout, id);
  printf(",\"status\":");
  json_str(stdout, status);
  printf(",\"title\":");
  json_str(stdout, title);
  render_json_field("rule", rule);
  render_json_field("detail", detail);
  render_json_field("fix", fix);
  putchar('}');
}

/* The checklist of one address, from what the analysis found. */
static void on_checked(void *ctx, const struct ident *id,
                       const struct finding *f, unsigned nf) {
  struct pf *o = ctx;
  const struct checklist_line *lines;
  size_t nl, k;
  int have_ptr = id->ptr && id->ptr->status == DNS_OK && id->ptr->n > 0;
  int nj = 0;
  unsigned i;

  for (i = 0; i < nf; i++)
    if (f[i].severity <= SEV_UNKNOWN) o->by_sev[f[i].severity]++;
  lines = checklist_lines(&nl);
  if (o->json) {
    printf("%s{\"ip\":", o->first ? "" : ",");
    json_str(stdout, id->ip_text);
    printf(",\"resolver\":");
    json_str(stdout, id->resolver ? id->resolver : "");
    printf(",\"checks\":[");
  } else {
    printf("%s", o->first ? "" : "\n");
    esc_fputs(stdout, id->ip_text);
    printf("  preflight");
    if (id->resolver && id->resolver[0]) {
      printf(" (DNS answers from ");
      esc_fputs(stdout, id->resolver);
      putchar(')');
    }
    putchar('\n');
  }
  for (k = 0; k < nl; k++) {
    const struct finding *why;
    enum check_status s = checklist_status(&lines[k], f, nf, have_ptr, o->n_helo,
                                           o->compare, &why);
    if (o->json)
      line_json(&nj, lines[k].id, check_status_name(s), lines[k].title,
                why ? why->rule : NULL, why ? why->detail : NULL,
                why ? why->fix : NULL);
    else
      line_text(o, check_status_name(s), lines[k].title, why ? why->detail : NULL,
                why ? why->fix : NULL);
  }
  /* Whom to ask for the PTR: the reverse zone's SOA. */
  if (id->soa && id->soa->soa_zone[0]) {
    char who[3 * DNS_NAME_MAX + 64];
    snprintf(who, sizeof(who), "reverse zone %s: primary %s, contact %s",
             id->soa->soa_zone, id->soa->soa_mname, id->soa->soa_rname);
    if (o->json) line_json(&nj, "reverse-zone", "info", who, NULL, NULL, NULL);
    else line_text(o, "info", who, NULL, NULL);
  }
  /* Findings no line answers (none today; a new rule shows here). */
  for (i = 0; i < nf; i++) {
    const struct checklist_line *l = NULL;
    size_t r;
    for (k = 0; k < nl && l == NULL; k++)
      for (r = 0; lines[k].rules[r] != NULL; r++)
        if (strcmp(lines[k].rules[r], f[i].rule) == 0) l = &lines[k];
    if (l != NULL || strcmp(f[i].rule, "reverse-zone") == 0) continue;
    if (o->json)
      line_json(&nj, f[i].rule, f[i].severity == SEV_UNKNOWN ? "unknown" : "fail",
                f[i].rule, f[i].rule, f[i].detail, f[i].fix);
    else
      line_text(o, f[i].severity == SEV_UNKNOWN ? "unknown" : "fail", f[i].rule,
                f[i].detail, f[i].fix);
  }
  o->first = 0;
}

static char txt_kept[RESOLVER_TXT_N][RESOLVER_TXT_MAX];

struct bl_ctx {
  struct dns_result r[PF_ZONES_MAX];
  unsigned done;
};

static void on_bl(void *ctx, const struct dns_result *r) {
  struct bl_ctx *b = ctx;
  unsigned i;

  for (i = 0; i < PF_ZONES_MAX; i++)
    if (b->r[i].status == 0xFF && strcmp(b->r[i].name, r->name) == 0) {
      b->r[i] = *r;
      break;
    }
  b->done++;
}

/* Each --dnsbl zone asked for ip, on loop; the lines printed. */
static int dnsbl_lines(struct pf *o, uv_loop_t *loop, const struct resolver_cfg *dns,
                       const struct ea_addr *ip, char *err, size_t errlen) {
  static struct bl_ctx b;
  struct resolver *res;
  char rev[80], *cut;
  unsigned z;
  int nj = 1, rc;

  if (o->nz == 0) return 0;
  memset(&b, 0, sizeof(b));
  if (dns_reverse_name(ip->family, ip->a, rev, sizeof(rev)) < 0) return -EINVAL;
  cut = strstr(rev, ip->family == 4 ? ".in-addr.arpa" : ".ip6.arpa");
  if (cut) *cut = '\0';
  if ((rc = resolver_new(&res, loop, dns, err, errlen)) < 0) return rc;
  for (z = 0; z < o->nz; z++) {
    b.r[z].status = 0xFF; /* not answered yet */
    snprintf(b.r[z].name, sizeof(b.r[z].name), "%s.%s", rev, o->zones[z]);
  }
  for (z = 0; z < o->nz; z++) resolver_query(res, b.r[z].name, DNS_T_A, on_bl, &b);
  while (b.done < o->nz) uv_run(loop, UV_RUN_ONCE);
  for (z = 0; z < o->nz; z++) {
    char meaning[1800], title[DNS_NAME_MAX + 32], id[DNS_NAME_MAX + 8];
    enum check_status s = checklist_dnsbl(&b.r[z], meaning, 600);
    if (s == CK_FAIL) { /* the list's own words: its TXT record there */
      unsigned nt = 0;
      size_t ml = strlen(meaning);
      if (resolver_ask_txt(res, b.r[z].name, txt_kept, &nt) == DNS_OK && nt > 0) {
        char e[ESC_CAP(300)];
        esc_text(e, sizeof(e), txt_kept[0], strnlen(txt_kept[0], 300));
        snprintf(meaning + ml, sizeof(meaning) - ml, " (%s)", e);
      }
    }
    if (s == CK_FAIL) o->by_sev[SEV_CRIT]++;
    else if (s == CK_UNKNOWN) o->by_sev[SEV_UNKNOWN]++;
    snprintf(title, sizeof(title), "not listed by %s", o->zones[z]);
    snprintf(id, sizeof(id), "dnsbl:%s", o->zones[z]);
    if (o->json)
      line_json(&nj, id, check_status_name(s), title, NULL, meaning,
                s == CK_FAIL ? "find the listing's reason on the list's "
                "lookup page; fix the cause (a compromised account, a "
                "relay, a generic PTR), then ask for delisting" : NULL);
    else
      line_text(o, check_status_name(s), title, meaning,
                s == CK_FAIL ? "find the listing's reason on the list's lookup "
                "page; fix the cause (a compromised account, a relay, a "
                "generic PTR), then ask for delisting" : NULL);
  }
  resolver_close(res);
  uv_run(loop, UV_RUN_DEFAULT);
  return 0;
}

/* --domain: does the domain's SPF authorise ip (libspf2, through our
 * resolver)? The line printed. */
static int spf_line(struct pf *o, uv_loop_t *loop, const struct resolver_cfg *dns,
                    const struct ea_addr *ip, char *err, size_t errlen) {
  struct resolver *res;
  struct spf_verdict v;
  char title[400], detail[1200];
  enum check_status s;
  int rc, sev, nj = 1;

  if (o->domain == NULL) return 0;
  if ((rc = resolver_new(&res, loop, dns, err, errlen)) < 0) return rc;
  rc = spf_check(res, ip, o->domain, o->helo0, &v, err, errlen);
  resolver_close(res);
  uv_run(loop, UV_RUN_DEFAULT);
  if (rc < 0) return -EIO;
  s = checklist_spf(v.result, &sev);
  if (s != CK_PASS) o->by_sev[sev]++;
  snprintf(title, sizeof(title), "SPF of %s authorises the address", o->domain);
  snprintf(detail, sizeof(detail), "%s (decided by: %s; %u DNS questions)", v.header,
           v.reason[0] ? v.reason : "-", v.queries);
  if (o->json) {
    char rule[32];
    snprintf(rule, sizeof(rule), "spf:%s", spf_result_name(v.result));
    line_json(&nj, "spf", check_status_name(s), title, rule, detail,
              s == CK_FAIL ? "add the address (ip4:/ip6:, or the host's a:) to the "
              "domain's SPF record, within its 10 DNS-querying mechanisms" : NULL);
  } else {
    line_text(o, check_status_name(s), title, detail,
              s == CK_FAIL ? "add the address (ip4:/ip6:, or the host's a:) to the "
              "domain's SPF record, within its 10 DNS-querying mechanisms" : NULL);
  }
  return 0;
}

struct txt_wait {
  int status;
  unsigned n;
  const char *list[RESOLVER_TXT_N];
};

/* The TXT records of name, asked through res (its loop run until the
 * answer). */
static void txt_ask(struct resolver *res, const char *name, struct txt_wait *w) {
  unsigned i;
  w->status = resolver_ask_txt(res, name, txt_kept, &w->n);
  for (i = 0; i < w->n; i++) w->list[i] = txt_kept[i];
}

/* --domain's DMARC record and --dkim-selector's keys: the lines. */
static int auth_lines(struct pf *o, uv_loop_t *loop, const struct resolver_cfg *dns,
                      char *err, size_t errlen) {
  static const char *const fix_dkim =
      "publish the selector's public key (v=DKIM1; k=rsa; p=...) with a "
      "2048-bit RSA key, or sign with a selector that has one";
  static const char *const fix_dmarc =
      "publish one record at _dmarc.DOMAIN, e.g. v=DMARC1; p=none; "
      "rua=mailto:dmarc@DOMAIN, and tighten p once reports show aligned mail";
  struct resolver *res;
  struct txt_wait w;
  char name[600], org[300], detail[1200], title[700];
  enum check_status s;
  unsigned k;
  int rc, sev, nj = 1, from_org, found = 0;

  if (o->domain == NULL) return 0;
  if ((rc = resolver_new(&res, loop, dns, err, errlen)) < 0) return rc;
  for (k = 0; k < o->nsel; k++) {
    snprintf(name, sizeof(name), "%s._domainkey.%s", o->selectors[k], o->domain);
    txt_ask(res, name, &w);
    s = mailauth_dkim(w.status, w.list, w.n, detail, sizeof(detail), &sev);
    if (s != CK_PASS) o->by_sev[sev]++;
    snprintf(title, sizeof(title), "DKIM key %s", name);
    if (o->json) line_json(&nj, "dkim", check_status_name(s), title, NULL, detail,
                           s == CK_FAIL ? fix_dkim : NULL);
    else line_text(o, check_status_name(s), title, detail, s == CK_FAIL ? fix_dkim : NULL);
  }
  mailauth_org_domain(o->domain, org, sizeof(org));
  snprintf(name, sizeof(name), "_dmarc.%s", o->domain);
  txt_ask(res, name, &w);
  from_org = 0;
  for (k = 0; k < w.n; k++) found |= strncmp(w.list[k], "v=DMARC1", 8) == 0;
  if (!found && (w.status == DNS_OK || w.status == DNS_NXDOMAIN ||
                 w.status == DNS_NODATA) && strcmp(org, o->domain) != 0) {
    snprintf(name, sizeof(name), "_dmarc.%s", org);
    txt_ask(res, name, &w);
    from_org = 1;
  }
  s = mailauth_dmarc(w.status, w.list, w.n, o->domain, org, from_org, detail,
                     sizeof(detail), &sev);
  if (s != CK_PASS) o->by_sev[sev]++;
  snprintf(title, sizeof(title), "DMARC record of %s", o->domain);
  if (o->json) line_json(&nj, "dmarc", check_status_name(s), title, NULL, detail,
                         s == CK_FAIL ? fix_dmarc : NULL);
  else line_text(o, check_status_name(s), title, detail, s == CK_FAIL ? fix_dmarc : NULL);
  resolver_close(res);
  uv_run(loop, UV_RUN_DEFAULT);
  return 0;
}

/* --- --postconf: Postfix's configuration against the wire ------------- */

#define SEEN_MAX 64

struct mta_seen {
  struct seen helo[SEEN_MAX], src[SEEN_MAX];
  char *keep[2 * SEEN_MAX];
  size_t nh, ns, nk;
};

static void seen_add(struct mta_seen *m, struct seen *arr, size_t *n,
                     const char *v, int64_t count) {
  size_t i;
  if (v == NULL) return;
  for (i = 0; i < *n; i++)
    if (strcmp(arr[i].value, v) == 0) {
      arr[i].sessions += count;
      return;
    }
  if (*n == SEEN_MAX || m->nk == 2 * SEEN_MAX) return;
  if ((m->keep[m->nk] = strdup(v)) == NULL) return;
  arr[(*n)++] = (struct seen){m->keep[m->nk++], count};
}

static int on_group(const struct egress_group *g, void *ctx) {
  struct mta_seen *m = ctx;
  if (g->direction == NULL || strcmp(g->direction, "egress") != 0) return 0;
  seen_add(m, m->helo, &m->nh, g->helo, g->sessions);
  seen_add(m, m->src, &m->ns, g->src_ip, g->sessions);
  return 0;
}

/* Run the first of paths that exists (then argv[0] on PATH) with argv,
 * its standard output into out (NUL-ended, cut at cap). 0, or -1 with err
 * (it cannot be run, or it exited non-zero). */
static int run_read(const char *const *paths, char *const *argv, char *out,
                    size_t cap, char *err, size_t errlen) {
  posix_spawn_file_actions_t fa;
  size_t got = 0, k;
  int pfd[2], status = ENOENT;
  ssize_t r;
  pid_t pid;

  if (pipe2(pfd, O_CLOEXEC) < 0) {
    snprintf(err, errlen, "pipe: %s", strerror(errno));
    return -1;
  }
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pfd[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  /* The MTAs' tools live in /usr/sbin, often not in a user's PATH. */
  for (k = 0; paths[k] != NULL && status == ENOENT; k++)
    status = posix_spawn(&pid, paths[k], &fa, NULL, argv, environ);
  if (status == ENOENT) status = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(pfd[1]);
  if (status != 0) {
    close(pfd[0]);
    snprintf(err, errlen, "cannot run %s: %s (is it installed?)", argv[0], strerror(status));
    return -1;
  }
  while (got + 1 < cap && (r = read(pfd[0], out + got, cap - 1 - got)) > 0)
    got += (size_t)r;
  out[got] = '\0';
  close(pfd[0]);
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    snprintf(err, errlen, "%s failed (exit %d)", argv[0],
             WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return -1;
  }
  return 0;
}

/* "name = value" lines (postconf -x, exim -bP) into vals, by names. */
static void name_values(char *out, const char *const *names, size_t n,
                        char vals[][256]) {
  char *line, *save;
  size_t k;

  for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char *eq = strstr(line, " =");
    size_t nl;
    if (eq == NULL || (eq[2] != ' ' && eq[2] != '\0')) continue;
    nl = (size_t)(eq - line);
    for (k = 0; k < n; k++)
      if (strlen(names[k]) == nl && strncmp(line, names[k], nl) == 0)
        snprintf(vals[k], 256, "%s", eq[2] ? eq + 3 : "");
  }
}

/* postconf [-c DIR] -x NAMES into vals (in the order of names). */
static int postconf_read(const char *dir, const char *const *names, size_t n,
                         char vals[][256], char *err, size_t errlen) {
  static const char *const paths[] = {"/usr/sbin/postconf", NULL};
  char *argv[16], out[8192];
  size_t k, a = 0;

  argv[a++] = "postconf";
  if (dir) argv[a++] = "-c", argv[a++] = (char *)dir;
  argv[a++] = "-x";
  for (k = 0; k < n && a < 15; k++) argv[a++] = (char *)names[k];
  argv[a] = NULL;
  for (k = 0; k < n; k++) vals[k][0] = '\0';
  if (run_read(paths, argv, out, sizeof(out), err, errlen) < 0) return -1;
  name_values(out, names, n, vals);
  return 0;
}

/* exim [-C CONF] -bP WHAT (Debian's exim4 first): its output into out. */
static int exim_bp(const char *conf, const char *what, const char *arg, char *out,
                   size_t cap, char *err, size_t errlen) {
  static const char *const paths[] = {"/usr/sbin/exim4", "/usr/sbin/exim", NULL};
  char *argv[8];
  size_t a = 0;

  argv[a++] = "exim4";
  if (conf) argv[a++] = "-C", argv[a++] = (char *)conf;
  argv[a++] = "-bP";
  argv[a++] = (char *)what;
  if (arg) argv[a++] = (char *)arg;
  argv[a] = NULL;
  return run_read(paths, argv, out, cap, err, errlen);
}

/* Exim's HELO names and bind addresses, from each smtp transport
 * (helo_data, default $primary_hostname; interface), space-separated into
 * helo and bind; an expansion other than $primary_hostname is not
 * compared (said in *expanded). */
static int exim_read(const char *conf, char *helo, char *bind, size_t cap,
                     int *expanded, char *err, size_t errlen) {
  static const char *const pn[] = {"primary_hostname"};
  static const char *const tn[] = {"driver", "helo_data", "interface"};
  char out[8192], list[4096], primary[1][256], tv[3][256], *line, *save;
  size_t hl = 0, bl = 0;

  helo[0] = bind[0] = '\0';
  *expanded = 0;
  primary[0][0] = '\0';
  if (exim_bp(conf, "primary_hostname", NULL, out, sizeof(out), err, errlen) < 0) return -1;
  name_values(out, pn, 1, primary);
  if (exim_bp(conf, "transport_list", NULL, list, sizeof(list), err, errlen) < 0) return -1;
  for (line = strtok_r(list, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    const char *h;
    if (!line[0] || exim_bp(conf, "transport", line, out, sizeof(out), err, errlen) < 0)
      continue;
    tv[0][0] = tv[1][0] = tv[2][0] = '\0';
    name_values(out, tn, 3, tv);
    if (strcmp(tv[0], "smtp") != 0) continue;
    h = tv[1][0] == '\0' || strcmp(tv[1], "$primary_hostname") == 0 ||
                strcmp(tv[1], "${primary_hostname}") == 0
            ? primary[0]
            : tv[1];
    if (strchr(h, '$')) *expanded = 1;
    else if (hl < cap) hl += (size_t)snprintf(helo + hl, cap - hl, "%s%s", hl ? " " : "", h);
    if (tv[2][0] && strchr(tv[2], '$')) *expanded = 1;
    else if (tv[2][0] && bl < cap)
      bl += (size_t)snprintf(bind + bl, cap - bl, "%s%s", bl ? " " : "", tv[2]);
  }
  return 0;
}

/* The lines: the MTA's HELO and bind addresses (Postfix: postconf;
 * Exim: -bP of each smtp transport) against the egress sessions of the
 * database. 0, or an exit code. */
static int mta_lines(struct pf *o, int exim, const char *conf, const char *db) {
  static const char *const names[] = {"smtp_helo_name", "smtp_bind_address",
                                      "smtp_bind_address6", "inet_protocols"};
  char vals[4][256], err[1024], detail[1400], title[400];
  char helo[1024], bind[1024], b4[1024], b6[1024];
  int expanded = 0, nj = 0, rc;
  struct mta_seen m;
  struct store *st;
  enum check_status s;
  size_t k;

  memset(&m, 0, sizeof(m));
  if (exim) {
    char *tok, *save;
    size_t l4 = 0, l6 = 0;
    if (exim_read(conf, helo, bind, sizeof(helo), &expanded, err, sizeof(err)) < 0) {
      cli_err("preflight: --exim: %s", err);
      return EXIT_NOINPUT;
    }
    b4[0] = b6[0] = '\0';
    for (tok = strtok_r(bind, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
      if (strchr(tok, ':')) l6 += (size_t)snprintf(b6 + l6, sizeof(b6) - l6, "%s%s", l6 ? " " : "", tok);
      else l4 += (size_t)snprintf(b4 + l4, sizeof(b4) - l4, "%s%s", l4 ? " " : "", tok);
    }
  } else {
    if (postconf_read(conf, names, 4, vals, err, sizeof(err)) < 0) {
      cli_err("preflight: --postconf: %s%s%s", err, conf ? ", with -c " : "", conf ? conf : "");
      return EXIT_NOINPUT;
    }
    snprintf(helo, sizeof(helo), "%s", vals[0]);
    snprintf(b4, sizeof(b4), "%s", vals[1]);
    snprintf(b6, sizeof(b6), "%s", vals[2]);
  }
  rc = store_open(&st, cli_db_path(db), STORE_RO, err, sizeof(err));
  if (rc < 0) {
    cli_err("preflight: %s", err);
    return cli_exit_for(rc);
  }
  if (store_egress_groups(st, INT64_MIN, INT64_MAX, on_group, &m) < 0) {
    cli_err("preflight: %s", store_errmsg(st));
    store_close(st);
    for (k = 0; k < m.nk; k++) free(m.keep[k]);
    return EXIT_IOERR;
  }
  store_close(st);
  if (o->json) {
    printf("%s{\"mta\":\"%s\",\"config\":", o->first ? "" : ",", exim ? "exim" : "postfix");
    json_str(stdout, conf ? conf : "");
    printf(",\"checks\":[");
  } else {
    printf("%sthis host's %s (%s%s%s) against the database's egress sessions\n",
           o->first ? "" : "\n", exim ? "Exim" : "Postfix",
           exim ? "exim -bP" : "postconf", conf ? (exim ? " -C " : " -c ") : "",
           conf ? conf : "");
  }
  o->first = 0;
  s = checklist_mta_helo(helo, m.helo, m.nh, detail, sizeof(detail));
  if (s == CK_FAIL) o->by_sev[SEV_WARN]++;
  snprintf(title, sizeof(title), "%s %.200s %s the HELO on the wire",
           exim ? "helo_data" : "smtp_helo_name", helo, strchr(helo, ' ') ? "are" : "is");
  if (o->json) line_json(&nj, "mta-helo", check_status_name(s), title, NULL, detail, NULL);
  else line_text(o, check_status_name(s), title, detail, NULL);
  s = checklist_mta_bind(b4, b6, m.src, m.ns, detail, sizeof(detail));
  if (s == CK_FAIL) o->by_sev[SEV_WARN]++;
  snprintf(title, sizeof(title), "mail leaves from %s%s", exim ? "the transports' interface" : "smtp_bind_address",
           b4[0] || b6[0] ? "" : " (none set)");
  if (o->json) line_json(&nj, "mta-bind", check_status_name(s), title, NULL, detail, NULL);
  else line_text(o, check_status_name(s), title, detail, NULL);
  if (!exim) {
    snprintf(title, sizeof(title), "inet_protocols = %.100s", vals[3]);
    if (o->json) line_json(&nj, "mta-protocols", "info", title, NULL, NULL, NULL);
    else line_text(o, "info", title, NULL, NULL);
  } else if (expanded) {
    snprintf(title, sizeof(title), "a transport's helo_data or interface is an expansion: not compared");
    if (o->json) line_json(&nj, "mta-expansion", "info", title, NULL, NULL, NULL);
    else line_text(o, "info", title, NULL, NULL);
  }
  if (o->json) printf("]}");
  for (k = 0; k < m.nk; k++) free(m.keep[k]);
  return 0;
}

/* ADDR or ADDR/LEN into out (at most cap addresses); the count, or -1. */
static int expand(const char *arg, struct ea_addr *out, int cap) {
  char buf[80], *slash;
  struct ea_addr a;
  long len;
  int bits, n, k;

  if (snprintf(buf, sizeof(buf), "%s", arg) >= (int)sizeof(buf)) return -1;
  slash = strchr(buf, '/');
  if (slash) *slash = '\0';
  if (addr_parse(&a, buf, strlen(buf)) < 0) return -1;
  bits = a.family == 4 ? 32 : 128;
  len = bits;
  if (slash) {
    char *end;
    len = strtol(slash + 1, &end, 10);
    if (*end != '\0' || end == slash + 1 || len < bits - 10 || len > bits) return -1;
  }
  n = 1 << (bits - len);
  if (n > cap) return -2;
  for (k = 0; k < n; k++) {
    int byte = (a.family == 4 ? 4 : 16) - 1, v = k, host = bits - (int)len;
    struct ea_addr x = a;
    /* clear the host bits, then add k */
    int b;
    for (b = 0; b < host; b++) x.a[byte - b / 8] &= (uint8_t)~(1u << (b % 8));
    for (b = byte; b >= 0 && v > 0; b--) {
      unsigned s = x.a[b] + (unsigned)(v & 0xFF);
      x.a[b] = (uint8_t)s;
      v = (v >> 8) + (int)(s >> 8);
    }
    out[k] = x;
  }
  return n;
}

struct db_addrs {
  struct ea_addr *out;
  int n, cap, skipped;
};

/* An identity of the database: a public address receivers saw. */
static int on_ident(const struct identity_row *r, void *ctx) {
  struct db_addrs *d = ctx;
  struct ea_addr a;

  if (addr_parse(&a, r->ip, strlen(r->ip)) < 0 || addr_is_private(&a)) return 0;
  if (d->n == d->cap) {
    d->skipped++;
    return 0;
  }
  d->out[d->n++] = a;
  return 0;
}

/* --egress: every public egress address the last analysis recorded. The
 * count added, or an exit code (negative). */
static int from_db(const char *db, struct ea_addr *out, int cap) {
  struct db_addrs d = {out, 0, cap, 0};
  struct store *st;
  char err[1024];
  int rc;

  rc = store_open(&st, cli_db_path(db), STORE_RO, err, sizeof(err));
  if (rc < 0) {
    cli_err("preflight: %s", err);
    return -cli_exit_for(rc);
  }
  if (store_identities(st, INT64_MIN, INT64_MAX, NULL, on_ident, &d) < 0) {
    cli_err("preflight: %s", store_errmsg(st));
    store_close(st);
    return -EXIT_IOERR;
  }
  store_close(st);
  if (d.skipped)
    cli_err("preflight: --egress: %d more addresses than the %d checked", d.skipped, cap);
  if (d.n == 0)
    cli_err("preflight: --egress: no public egress address in the database"
            " (run 'analyze' first)");
  return d.n;
}

static void usage(FILE *f) {
  fprintf(f,
          "Usage: %s preflight [OPTIONS] ADDR|CIDR...\n"
          "       %s preflight [OPTIONS] --egress [--db PATH]\n"
          "\n"
          "Before an address sends mail: the checklist a receiver's checks\n"
          "make, each line pass, fail, unknown (DNS failed temporarily) or\n"
          "skip (does not apply), with what to do: a PTR, exactly one, a\n"
          "host name, not generic, forward-confirmed, every address of that\n"
          "name with its PTR (IPv6 as IPv4), the EHLO name (--helo), the\n"
          "resolvers agreeing (--compare), whom to ask for the reverse zone,\n"
          "each DNSBL given, and the domain's SPF, DMARC and DKIM keys. A\n"
          "CIDR (at most 1024 addresses: /22, /118) checks a pool. An SMTP\n"
          "probe is not made yet.\n"
          "\n"
          "Options:\n"
          "  --helo NAME          the EHLO name the address will use (repeatable)\n"
          "  --domain DOMAIN      the envelope (MAIL FROM) domain: its SPF must\n"
          "                       authorise the address (evaluated by libspf2,\n"
          "                       through --resolver)\n"
          "  --dkim-selector SEL  check the DKIM key SEL._domainkey.DOMAIN\n"
          "                       (repeatable; with --domain, whose DMARC record\n"
          "                       is checked too)\n"
          "  --dnsbl ZONE         ask this DNS blocklist (repeatable; none by\n"
          "                       default: public lists have terms of use, and\n"
          "                       refuse queries through public resolvers)\n"
          "  --postconf[=DIR]     compare this host's Postfix (postconf, or\n"
          "                       postconf -c DIR) with the egress sessions of\n"
          "                       --db: smtp_helo_name against the HELO names\n"
          "                       sent, smtp_bind_address against the sources\n"
          "  --exim[=CONFIG]      the same for Exim (exim -bP, or exim -C CONFIG\n"
          "                       -bP): each smtp transport's helo_data and\n"
          "                       interface\n"
          "  --egress             every public egress address the database's last\n"
          "                       analysis recorded, instead of ADDR|CIDR\n"
          "  --db PATH            with --egress (see '%s --help')\n"
          "  --format FMT         text (default) or json\n"
          DNS_HELP
          "  -h, --help           this help\n"
          "\n"
          "Exit codes (monitoring plugins): 0 all pass, 1 a warning, 2 a\n"
          "critical failure (no PTR, FCrDNS, a listing), 3 unknown; 64 usage.\n",
          progname, progname, progname);
}

int cmd_preflight(int argc, char **argv) {
  static const struct option opts[] = {
      {"helo", required_argument, NULL, 'H'},
      {"dnsbl", required_argument, NULL, 'B'},
      {"domain", required_argument, NULL, 'D'},
      {"dkim-selector", required_argument, NULL, 'K'},
      {"postconf", optional_argument, NULL, 'C'},
      {"exim", optional_argument, NULL, 'X'},
      {"format", required_argument, NULL, 'f'},
      {"egress", no_argument, NULL, 'E'},
      {"db", required_argument, NULL, 'd'},
      DNS_LONGOPTS,
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  static struct analysis_opts d;
  static struct pf o;
  static struct ea_addr addrs[PF_ADDRS_MAX];
  const char *helos[IDENT_HELO_MAX];
  int c, rc, i, n = 0, egress = 0, postconf = 0, exim = 0;
  const char *pc_dir = NULL, *exim_conf = NULL;
  const char *db = NULL;
  uv_loop_t loop;
  char err[512];

  memset(&o, 0, sizeof(o));
  o.first = 1;
  o.ts = render_style();
  analysis_opts_init(&d);
  if ((rc = analysis_opts_conf(&d, "preflight")) != 0) return rc;
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    if ((rc = analysis_opt(&d, c, optarg, "preflight")) != 0) {
      if (rc < 0) return EXIT_USAGE;
      continue;
    }
    switch (c) {
    case 'H':
      if (o.n_helo == IDENT_HELO_MAX) {
        cli_err("preflight: at most %d --helo", IDENT_HELO_MAX);
        return EXIT_USAGE;
      }
      if (o.n_helo == 0) o.helo0 = optarg;
      helos[o.n_helo++] = optarg;
      break;
    case 'B':
      if (o.nz == PF_ZONES_MAX || optarg[0] == '\0' || optarg[0] == '.' ||
          strlen(optarg) > 200) {
        cli_err("preflight: --dnsbl '%s': at most %d zones, each a DNS name",
                optarg, PF_ZONES_MAX);
        return EXIT_USAGE;
      }
      o.zones[o.nz++] = optarg;
      break;
    case 'f':
      if (strcmp(optarg, "json") == 0) o.json = 1;
      else if (strcmp(optarg, "text") != 0) {
        cli_err("preflight: --format: '%s' is not text or json", optarg);
        return EXIT_USAGE;
      }
      break;
    case 'E': egress = 1; break;
    case 'C':
      postconf = 1;
      pc_dir = optarg;
      break;
    case 'X':
      exim = 1;
      exim_conf = optarg;
      break;
    case 'D':
      if (optarg[0] == '\0' || strlen(optarg) > 253 || strpbrk(optarg, " @/\\") != NULL) {
        cli_err("preflight: --domain '%s' is not a domain name", optarg);
        return EXIT_USAGE;
      }
      o.domain = optarg;
      break;
    case 'K':
      if (o.nsel == PF_ZONES_MAX || optarg[0] == '\0' || strlen(optarg) > 63 ||
          strpbrk(optarg, " ./@\\") != NULL) {
        cli_err("preflight: --dkim-selector '%s': at most %d, each one DNS label",
                optarg, PF_ZONES_MAX);
        return EXIT_USAGE;
      }
      o.selectors[o.nsel++] = optarg;
      break;
    case 'd': db = optarg; break;
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return EXIT_USAGE;
    }
  }
  if (egress && optind < argc) {
    cli_err("preflight: --egress or addresses, not both");
    return EXIT_USAGE;
  }
  if (!egress && !postconf && !exim && optind >= argc) {
    cli_err("preflight: no address given (try 'preflight --help')");
    return EXIT_USAGE;
  }
  if (o.nsel > 0 && o.domain == NULL) {
    cli_err("preflight: --dkim-selector needs --domain");
    return EXIT_USAGE;
  }
  if (db != NULL && !egress && !postconf && !exim) {
    cli_err("preflight: --db is an option of --egress, --postconf and --exim");
    return EXIT_USAGE;
  }
  if ((rc = analysis_opts_check(&d, "preflight")) != 0) return rc;
  o.compare = d.cfg.compare;
  for (i = optind; i < argc; i++) {
    int k = expand(argv[i], addrs + n, PF_ADDRS_MAX - n);
    if (k < 0) {
      cli_err(k == -2 ? "preflight: '%s' and the rest: more than %d addresses"
                      : "preflight: '%s' is not an address or a CIDR (at most "
                        "1024 addresses)", argv[i], PF_ADDRS_MAX);
      return EXIT_USAGE;
    }
    n += k;
  }
  if (egress && (n = from_db(db, addrs, PF_ADDRS_MAX)) <= 0)
    return n < 0 ? -n : EXIT_NOINPUT;
  uv_loop_init(&loop);
  if (o.json) putchar('[');
  for (i = 0; i < n; i++) {
    rc = analyzer_check(&loop, &d.cfg, &addrs[i], helos, o.n_helo, on_checked, &o,
                        err, sizeof(err));
    if (rc == 0) rc = dnsbl_lines(&o, &loop, &d.cfg.dns, &addrs[i], err, sizeof(err));
    if (rc == 0) rc = spf_line(&o, &loop, &d.cfg.dns, &addrs[i], err, sizeof(err));
    if (rc == 0) rc = auth_lines(&o, &loop, &d.cfg.dns, err, sizeof(err));
    if (rc < 0) {
      cli_err("preflight: %s", err);
      uv_loop_close(&loop);
      return rc == -EINVAL ? EXIT_USAGE : EXIT_SOFTWARE;
    }
    if (o.json) printf("]}");
    else printf("  not checked yet: %san SMTP probe\n",
                o.domain ? "" : "SPF, DKIM, DMARC (--domain), ");
  }
  if ((postconf && (rc = mta_lines(&o, 0, pc_dir, db)) != 0) ||
      (exim && (rc = mta_lines(&o, 1, exim_conf, db)) != 0)) {
    uv_loop_close(&loop);
    return rc;
  }
  if (o.json) printf("]\n");
  uv_loop_close(&loop);
  fflush(stdout);
  return render_exit_code(o.by_sev, SEV_WARN);
}
