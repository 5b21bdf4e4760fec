/* egressaudit - cli/history.c: `history` (forensics: the timeline of one
 * identity) and `prune` (retention).
 * SPDX-License-Identifier: MIT
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/netset.h"
#include "cli/cli.h"
#include "cli/maillog.h"
#include "cli/report.h"
#include "cli/render.h"
#include "common/util.h"
#include "store/store.h"

#define HIST_MAX 4096

struct use {            /* one (source, echoed address, HELO) combination */
  char src[ADDR_STRLEN], echoed[ADDR_STRLEN], helo[256];
  int64_t first, last, n;
};
struct rcv {            /* one receiver                                   */
  char host[256], ip[ADDR_STRLEN];
  int64_t first, last, n, rejected;
};
struct hist {
  struct use use[HIST_MAX];
  struct rcv rcv[HIST_MAX];
  unsigned nuse, nrcv, nrej;
  int json, html, first_event;
  int from_log;                 /* the event's reject is the MTA log's   */
  int64_t sessions;
};

static void copy(char *dst, size_t cap, const char *s) {
  snprintf(dst, cap, "%s", s ? s : "");
}

static void event(struct hist *h, int64_t at, const char *what,
                  const struct sess_row *r) {
  char t[TIME_STRLEN];

  if (h->json) {
    printf("%s{\"at\":\"%s\",\"event\":", h->first_event ? "" : ",",
           time_str(at, t));
    json_str(stdout, what);
    printf(",\"src_ip\":");
    json_str(stdout, r->src_ip ? r->src_ip : "");
    printf(",\"echoed_ip\":");
    json_str(stdout, r->echoed_ip ? r->echoed_ip : "");
    printf(",\"helo\":");
    json_str(stdout, r->helo ? r->helo : "");
    printf(",\"receiver\":");
    json_str(stdout, r->banner_host ? r->banner_host : r->dst_ip);
    printf(",\"reply\":");
    json_str(stdout, strcmp(what, "reject") == 0 && r->reject ? r->reject
                                                              : (r->last_reply ? r->last_reply : ""));
    if (strcmp(what, "reject") == 0) printf(",\"from_log\":%s", h->from_log ? "true" : "false");
    putchar('}');
  } else {
    render_text_secs(at, t);
    printf("  %s  %-7s %s", t, what, r->src_ip);
    if (r->echoed_ip && strcmp(r->echoed_ip, r->src_ip)) printf(" (seen as %s)", r->echoed_ip);
    printf(" HELO ");
    esc_fputs(stdout, r->helo ? r->helo : "-");
    printf(" -> ");
    esc_fputs(stdout, r->banner_host ? r->banner_host : "?");
    printf(" [%s]", r->dst_ip);
    if (r->reject && strcmp(what, "reject") == 0) {
      printf("\n        ");
      esc_fputs(stdout, r->reject);
      if (h->from_log) printf(" (from the MTA log: not visible on the wire)");
    }
    putchar('\n');
  }
  h->first_event = 0;
}

static int on_session(const struct sess_row *r, void *ctx) {
  struct hist *h = ctx;
  const char *echoed = r->echoed_ip ? r->echoed_ip : "";
  const char *helo = r->helo ? r->helo : "";
  const char *host = r->banner_host ? r->banner_host : "";
  unsigned i;

  h->sessions++;
  for (i = 0; i < h->nuse; i++)
    if (!strcmp(h->use[i].src, r->src_ip) && !strcmp(h->use[i].echoed, echoed) &&
        !strcasecmp(h->use[i].helo, helo))
      break;
  if (i == h->nuse && i < HIST_MAX) {
    struct use *u = &h->use[h->nuse++];
    copy(u->src, sizeof(u->src), r->src_ip);
    copy(u->echoed, sizeof(u->echoed), echoed);
    copy(u->helo, sizeof(u->helo), helo);
    u->first = r->first_us;
    u->n = 0;
    /* The identity changed: a new source, echoed address or HELO name. */
    event(h, r->first_us, h->nuse == 1 ? "first" : "change", r);
  }
  if (i < HIST_MAX) {
    h->use[i].last = r->last_us;
    h->use[i].n++;
  }
  for (i = 0; i < h->nrcv; i++)
    if (!strcmp(h->rcv[i].ip, r->dst_ip) && !strcmp(h->rcv[i].host, host)) break;
  if (i == h->nrcv && i < HIST_MAX) {
    struct rcv *v = &h->rcv[h->nrcv++];
    copy(v->host, sizeof(v->host), host);
    copy(v->ip, sizeof(v->ip), r->dst_ip);
    v->first = r->first_us;
  }
  if (i < HIST_MAX) {
    h->rcv[i].last = r->last_us;
    h->rcv[i].n++;
  }
  /* After STARTTLS the wire shows no reject; the MTA log may have one. */
  if (!r->reject && r->logged && (r->logged[0] == '4' || r->logged[0] == '5') &&
      r->logged[1] >= '0' && r->logged[1] <= '9' && r->logged[2] >= '0' &&
      r->logged[2] <= '9') {
    struct sess_row lr = *r;
    lr.reject = r->logged;
    h->from_log = 1;
    if (i < HIST_MAX) h->rcv[i].rejected++;
    h->nrej++;
    event(h, r->first_us, "reject", &lr);
    h->from_log = 0;
  } else if (r->reject) {
    if (i < HIST_MAX) h->rcv[i].rejected++;
    h->nrej++;
    event(h, r->first_us, "reject", r);
  }
  return 0;
}

/* --- what the analyses found for the addresses used ----------------------- */

struct rdns_out {
  int json, first;
  int64_t analyzed, fetched; /* the latest verdict's, from the rows */
};

static int on_idlog(const struct idlog_row *r, void *ctx) {
  struct rdns_out *o = ctx;
  char t[TIME_STRLEN], name[256];
  const char *p;
  unsigned k;

  o->analyzed = r->analyzed;
  o->fetched = r->fetched;
  if (o->json) {
    printf("%s{\"at\":\"%s\",\"iprev\":", o->first ? "" : ",",
           time_str(r->at, t));
    json_str(stdout, r->iprev ? r->iprev : "");
    printf(",\"ptr\":[");
    for (p = r->ptr, k = 0; jlist_next(&p, name, sizeof(name)); k++) {
      if (k) putchar(',');
      json_str(stdout, name);
    }
    printf("]}");
  } else {
    render_text_secs(r->at, t);
    printf("      %s  %-9s ", t, r->iprev ? r->iprev : "?");
    for (p = r->ptr, k = 0; jlist_next(&p, name, sizeof(name)); k++) {
      if (k) putchar(' ');
      esc_fputs(stdout, name);
    }
    if (k == 0) printf("(no PTR)");
    putchar('\n');
  }
  o->first = 0;
  return 0;
}

/* The public addresses receivers saw in the uses, each once. */
static void print_rdns(const struct hist *h, struct store *st) {
  struct rdns_out o = {h->json, 1, 0, 0};
  unsigned i, j, shown = 0;

  if (h->json) printf(",\"rdns\":[");
  else printf("\nreverse DNS of the addresses receivers saw, as analysed (changes):\n");
  for (i = 0; i < h->nuse; i++) {
    const char *ip = h->use[i].echoed[0] ? h->use[i].echoed : h->use[i].src;
    struct ea_addr a;
    int64_t n;
    for (j = 0; j < i; j++) {
      const char *prev = h->use[j].echoed[0] ? h->use[j].echoed : h->use[j].src;
      if (strcmp(prev, ip) == 0) break;
    }
    if (j < i || addr_parse(&a, ip, strlen(ip)) < 0 || addr_is_private(&a)) continue;
    if (h->json) {
      printf("%s{\"ip\":", shown ? "," : "");
      json_str(stdout, ip);
      printf(",\"log\":[");
    } else {
      printf("  %s\n", ip);
    }
    o.first = 1;
    o.analyzed = o.fetched = 0;
    n = store_identity_log_of(st, ip, on_idlog, &o);
    if (h->json) {
      char t[TIME_STRLEN];
      printf("],\"analyzed\":");
      if (o.analyzed > 0) printf("\"%s\"", time_str(o.analyzed, t));
      else printf("null");
      printf(",\"dns_fetched\":");
      if (o.fetched > 0) printf("\"%s\"", time_str(o.fetched, t));
      else printf("null");
      printf("}");
    } else if (n == 0) {
      printf("      (not analysed yet: run 'analyze')\n");
    } else if (o.analyzed > 0 && o.fetched > 0) {
      /* The verdict may rest on cached answers: say how old they are. */
      char t1[TIME_STRLEN], age[32];
      render_text_secs(o.analyzed, t1);
      dur_str(now_us() - o.fetched, age, sizeof(age));
      printf("      last analysed %s, on DNS answers as of %s ago\n", t1, age);
    }
    shown++;
  }
  if (h->json) printf("]");
}

/* --- NAT pairs of the address asked about (gateway captures) ------------ */

struct nat_out {
  const char *ip;
  int json, n;
};

static int on_nat_row(const struct nat_row *r, void *ctx) {
  struct nat_out *o = ctx;
  char t1[TIME_STRLEN], t2[TIME_STRLEN];

  if (strcmp(r->inside_ip, o->ip) != 0 && strcmp(r->outside_ip, o->ip) != 0)
    return 0;
  if (o->json) {
    printf("%s{\"inside_ip\":", o->n ? "," : "");
    json_str(stdout, r->inside_ip);
    printf(",\"outside_ip\":");
    json_str(stdout, r->outside_ip);
    printf(",\"first_seen\":\"%s\",\"last_seen\":\"%s\",\"sessions\":%lld}",
           time_str(r->first_us, t1), time_str(r->last_us, t2),
           (long long)r->sessions);
  } else {
    if (o->n == 0) printf("\nNAT map (inside host -> address receivers saw):\n");
    render_text_secs(r->first_us, t1);
    render_text_secs(r->last_us, t2);
    printf("  %-15s -> %-15s %s .. %s, %lld sessions\n", r->inside_ip,
           r->outside_ip, t1, t2, (long long)r->sessions);
  }
  o->n++;
  return 0;
}

static void print_nat(const char *ip, int json, struct store *st, int64_t since,
                      int64_t until) {
  struct nat_out o = {ip, json, 0};

  if (json) printf(",\"nat\":[");
  if (ip != NULL) store_nat_map(st, since, until, on_nat_row, &o);
  if (json) printf("]");
}

static void usage(FILE *f) {
  fprintf(f,
          "Usage: %s history [OPTIONS] IP|NAME\n"
          "       %s history [OPTIONS] --dst IP|NAME\n"
          "\n"
          "The timeline of one identity: when each source address, echoed\n"
          "address and HELO name was first and last used, which receivers got\n"
          "mail from it, every reject with its text, and the moments the\n"
          "identity changed. IP matches our source or the address a receiver\n"
          "echoed; NAME matches the EHLO/HELO name. With --dst alone: which of\n"
          "our addresses and names talked to that receiver.\n"
          "\n"
          "Options:\n"
          "  --db PATH            database (see '%s --help')\n"
          "  --dst IP|NAME        only sessions to this receiver (address or\n"
          "                       banner host name)\n"
          "  --since T, --until T window (RFC 3339 or 90m, 24h, 7d)\n"
          "  --format FMT         text (default), json, or html (for an address:\n"
          "                       the report's page, its lanes and card only)\n"
          "  --queue-id QID       the MTA's delivery attempts of this message\n"
          "                       (read --maillog), with the egress address and\n"
          "                       EHLO name of the session each rode on\n"
          "  --to DOMAIN          the same, for every attempt to this domain\n"
          "  --message-id ID      the same, for the message with this Message-ID\n"
          "  -h, --help           this help\n"
          "\n"
          "Example: which IP did mail01.example.com use towards mx.example.net\n"
          "yesterday?\n"
          "  %s history mail01.example.com --dst mx.example.net --since 48h "
          "--until 24h\n",
          progname, progname, progname, progname);
}

/* The uses and receivers, then the PTR log and the NAT map. */
static void print_json(const struct hist *h, struct store *st,
                       const struct sess_filter *flt) {
  char t1[TIME_STRLEN], t2[TIME_STRLEN];
  unsigned i;

  printf("],\"sessions\":%lld,\"uses\":[", (long long)h->sessions);
  for (i = 0; i < h->nuse; i++) {
    printf("%s{\"src_ip\":", i ? "," : "");
    json_str(stdout, h->use[i].src);
    printf(",\"echoed_ip\":");
    json_str(stdout, h->use[i].echoed);
    printf(",\"helo\":");
    json_str(stdout, h->use[i].helo);
    printf(",\"first_seen\":\"%s\",\"last_seen\":\"%s\",\"sessions\":%lld}",
           time_str(h->use[i].first, t1), time_str(h->use[i].last, t2),
           (long long)h->use[i].n);
  }
  printf("],\"receivers\":[");
  for (i = 0; i < h->nrcv; i++) {
    printf("%s{\"host\":", i ? "," : "");
    json_str(stdout, h->rcv[i].host);
    printf(",\"ip\":");
    json_str(stdout, h->rcv[i].ip);
    printf(",\"first_seen\":\"%s\",\"last_seen\":\"%s\",\"sessions\":%lld,"
           "\"rejected\":%lld}",
           time_str(h->rcv[i].first, t1), time_str(h->rcv[i].last, t2),
           (long long)h->rcv[i].n, (long long)h->rcv[i].rejected);
  }
  printf("]");
  print_rdns(h, st);
  print_nat(flt->ip, 1, st, flt->since, flt->until);
  printf("}\n");
}

static void print_text(const struct hist *h, struct store *st,
                       const struct sess_filter *flt) {
  char t1[TIME_STRLEN], t2[TIME_STRLEN];
  unsigned i;

  if (h->sessions == 0) printf("  (no session in the window)\n");
  printf("\nused as (source, address receivers saw, HELO):\n");
  for (i = 0; i < h->nuse; i++) {
    render_text_secs(h->use[i].first, t1);
    render_text_secs(h->use[i].last, t2);
    printf("  %-15s %-15s ", h->use[i].src, h->use[i].echoed[0] ? h->use[i].echoed : "-");
    esc_fputs(stdout, h->use[i].helo[0] ? h->use[i].helo : "-");
    printf("\n      %s .. %s, %lld sessions\n", t1, t2, (long long)h->use[i].n);
  }
  printf("\nreceivers:\n");
  for (i = 0; i < h->nrcv; i++) {
    render_text_secs(h->rcv[i].first, t1);
    render_text_secs(h->rcv[i].last, t2);
    printf("  ");
    esc_fputs(stdout, h->rcv[i].host[0] ? h->rcv[i].host : "?");
    printf(" [%s]: %lld sessions, %lld rejected, %s .. %s\n", h->rcv[i].ip,
           (long long)h->rcv[i].n, (long long)h->rcv[i].rejected, t1, t2);
  }
  print_rdns(h, st);
  print_nat(flt->ip, 0, st, flt->since, flt->until);
}

static int stop_at_one(const struct sess_row *r, void *ctx) {
  (void)r;
  (void)ctx;
  return 1;
}

/* Whether any session matches f (one row is enough). */
static int any_session(struct store *st, const struct sess_filter *f) {
  struct sess_filter one = *f;

  one.limit = 1;
  return store_sessions(st, &one, false, stop_at_one, NULL) > 0;
}

/* --queue-id / --to: the MTA log's attempts, not the sessions. */
static int history_log(const char *db, const char *qid, const char *to,
                       const char *mid, const struct sess_filter *flt, int json,
                       int extra) {
  struct store *st;
  char err[1024];
  int rc;

  if (extra) {
    cli_err("history: --queue-id, --message-id and --to take no IP or NAME");
    return EXIT_USAGE;
  }
  rc = store_open(&st, cli_db_path(db), STORE_RO, err, sizeof(err));
  if (rc < 0) {
    cli_err("%s", err);
    return cli_exit_for(rc);
  }
  rc = maillog_history(st, qid, to, mid, flt->since, flt->until, json);
  store_close(st);
  return rc;
}

int cmd_history(int argc, char **argv) {
  static const struct option opts[] = {
      {"db", required_argument, NULL, 'd'},
      {"dst", required_argument, NULL, 'D'},
      {"since", required_argument, NULL, 'S'},
      {"until", required_argument, NULL, 'U'},
      {"format", required_argument, NULL, 'f'},
      {"queue-id", required_argument, NULL, 'Q'},
      {"to", required_argument, NULL, 'T'},
      {"message-id", required_argument, NULL, 'G'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  static struct hist h;
  struct sess_filter flt;
  struct store *st = NULL;
  struct ea_addr a;
  char err[1024], ipbuf[ADDR_STRLEN], dstbuf[ADDR_STRLEN];
  const char *db = NULL, *what, *qid = NULL, *to = NULL, *mid = NULL;
  int64_t n, now = now_us();
  int c, receiver = 0;

  memset(&h, 0, sizeof(h));
  h.first_event = 1;
  memset(&flt, 0, sizeof(flt));
  flt.since = INT64_MIN;
  flt.until = INT64_MAX;
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case 'd': db = optarg; break;
    case 'D':
      flt.dst = addr_parse(&a, optarg, strlen(optarg)) == 0 ? addr_str(&a, dstbuf)
                                                            : optarg;
      break;
    case 'S':
    case 'U':
      if (cli_time_opt("history", c == 'S', optarg, now,
                       c == 'S' ? &flt.since : &flt.until) < 0)
        return EXIT_USAGE;
      break;
    case 'f':
      if (strcmp(optarg, "json") == 0) h.json = 1;
      else if (strcmp(optarg, "html") == 0) h.html = 1;
      else if (strcmp(optarg, "text") != 0) {
        cli_err("history: --format: '%s' is not text, json or html", optarg);
        return EXIT_USAGE;
      }
      break;
    case 'Q': qid = optarg; break;
    case 'T': to = optarg; break;
    case 'G': /* as written in the header, with or without <> */
      mid = optarg[0] == '<' ? optarg + 1 : optarg;
      if (mid[0] && mid[strlen(mid) - 1] == '>') {
        static char buf[512];
        snprintf(buf, sizeof(buf), "%.*s", (int)strlen(mid) - 1, mid);
        mid = buf;
      }
      break;
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return EXIT_USAGE;
    }
  }
  if (qid != NULL || to != NULL || mid != NULL)
    return history_log(db, qid, to, mid, &flt, h.json, optind < argc);
  if (optind + 1 < argc || (optind == argc && flt.dst == NULL)) {
    cli_err("history: give one IP or NAME, or --dst (try 'history --help')");
    return EXIT_USAGE;
  }
  what = optind < argc ? argv[optind] : flt.dst;
  if (h.html) { /* the report's page, for one egress address */
    if (optind == argc || addr_parse(&a, argv[optind], strlen(argv[optind])) != 0) {
      cli_err("history: --format html takes an egress address (IP)");
      return EXIT_USAGE;
    }
    return report_html_focus(db, addr_str(&a, ipbuf), flt.since, flt.until);
  }
  if (optind < argc) {
    if (addr_parse(&a, argv[optind], strlen(argv[optind])) == 0)
      flt.ip = addr_str(&a, ipbuf);
    else
      flt.helo = argv[optind];
  }
  n = store_open(&st, cli_db_path(db), STORE_RO, err, sizeof(err));
  if (n < 0) {
    cli_err("%s", err);
    return cli_exit_for((int)n);
  }
  /* Not one of ours (no session from that address or with that EHLO
   * name): a receiver, by address or banner name ("history
   * mx.example.net", "history 198.51.100.25"). */
  if (optind < argc && flt.dst == NULL && !any_session(st, &flt)) {
    flt.dst = flt.ip ? flt.ip : flt.helo;
    flt.ip = flt.helo = NULL;
    receiver = 1;
  }
  if (h.json) {
    printf("{\"subject\":");
    json_str(stdout, what);
    printf(",\"events\":[");
  } else {
    printf("history of ");
    esc_fputs(stdout, what);
    printf("%s\n\nevents (first use, identity changes, rejects):\n",
           receiver ? " (a receiver: our sessions towards it)"
           : flt.dst && optind < argc ? " towards the receiver given" : "");
  }
  n = store_sessions(st, &flt, false, on_session, &h);
  if (n < 0) {
    cli_err("history: %s", store_errmsg(st));
    store_close(st);
    return EXIT_IOERR;
  }
  if (h.json) print_json(&h, st, &flt);
  else print_text(&h, st, &flt);
  store_close(st);
  return ferror(stdout) ? EXIT_IOERR : 0;
}

int cmd_prune(int argc, char **argv) {
  static const struct option opts[] = {
      {"db", required_argument, NULL, 'd'},
      {"older-than", required_argument, NULL, 'o'},
      {"vacuum", no_argument, NULL, 'v'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  const char *db = NULL;
  int64_t age = -1;
  struct store *st = NULL;
  struct prune_counts pc;
  char err[1024], t[TIME_STRLEN];
  int c, rc, vacuum = 0;

  optind = 1;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case 'd': db = optarg; break;
    case 'o':
      if (dur_parse(optarg, &age) < 0) {
        cli_err("prune: --older-than: '%s' is not a duration like 90d", optarg);
        return EXIT_USAGE;
      }
      break;
    case 'v': vacuum = 1; break;
    case 'h':
      printf("Usage: %s prune --older-than DUR [--vacuum] [--db PATH]\n\n"
             "Delete sessions last seen more than DUR ago (with their replies),\n"
             "expired DNS answers, findings closed before then and old counters,\n"
             "in short transactions (a running 'watch' is not held up);\n"
             "--vacuum then gives the space back to the file system.\n",
             progname);
      return 0;
    default: return EXIT_USAGE;
    }
  }
  if (age < 0 || optind < argc) {
    cli_err("prune: --older-than DUR is required (e.g. 90d)");
    return EXIT_USAGE;
  }
  rc = store_open(&st, cli_db_path(db), STORE_RW_EXISTING, err, sizeof(err));
  if (rc < 0) {
    cli_err("%s", err);
    return cli_exit_for(rc);
  }
  rc = store_prune(st, now_us() - age, vacuum, &pc);
  if (rc < 0) {
    cli_err("prune: %s", store_errmsg(st));
    store_close(st);
    return cli_exit_for(rc);
  }
  store_close(st);
  printf("pruned before %s: %lld sessions, %lld DNS answers, %lld closed "
         "findings, %lld analyses, %lld counters, %lld identities, %lld "
         "older reverse-DNS log entries, %lld logged delivery attempts, %lld "
         "logged messages%s\n",
         time_str(now_us() - age, t), (long long)pc.sessions, (long long)pc.dns,
         (long long)pc.findings, (long long)pc.analyses, (long long)pc.stats,
         (long long)pc.identities, (long long)pc.idlog,
         (long long)pc.deliveries, (long long)pc.messages, vacuum ? "; vacuumed" : "");
  return 0;
}
