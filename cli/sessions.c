/* egressaudit - cli/sessions.c: `egressaudit sessions`, the raw history.
 * SPDX-License-Identifier: MIT
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/util.h"
#include "store/store.h"

enum fmt { FMT_TEXT, FMT_JSONL, FMT_CSV };

struct out_ctx {
  enum fmt fmt;
  FILE *f;
};

static void csv_int(FILE *f, int64_t v, int null) {
  if (!null) fprintf(f, "%lld", (long long)v);
  fputc(',', f);
}

static void text_col(FILE *f, const char *s, int width) {
  char buf[256];
  size_t n;

  if (s == NULL) s = "-";
  n = strlen(s);
  if (width > 0 && n > (size_t)width) {
    snprintf(buf, sizeof(buf), "%.*s~", width - 1, s);
    s = buf;
  }
  esc_fputs(f, s);
  if (width > 0) {
    for (; n < (size_t)width; n++) fputc(' ', f);
    fputc(' ', f);
  }
}

static int on_row(const struct sess_row *r, void *ctx) {
  struct out_ctx *o = ctx;
  char t1[TIME_STRLEN], t2[TIME_STRLEN], src[80], dst[80];

  switch (o->fmt) {
  case FMT_JSONL:
    fputs(r->json, o->f);
    fputc('\n', o->f);
    break;
  case FMT_CSV:
    csv_field(o->f, time_str(r->first_us, t1), 0);
    csv_field(o->f, time_str(r->last_us, t2), 0);
    csv_field(o->f, r->point, 0);
    csv_field(o->f, r->src_ip, 0);
    csv_int(o->f, r->src_port, 0);
    csv_field(o->f, r->dst_ip, 0);
    csv_int(o->f, r->dst_port, 0);
    csv_field(o->f, r->direction, 0);
    csv_field(o->f, r->state, 0);
    csv_field(o->f, r->end, 0);
    csv_field(o->f, r->banner, 0);
    csv_field(o->f, r->helo, 0);
    csv_field(o->f, r->ehlo_reply, 0);
    csv_field(o->f, r->echoed_ip, 0);
    csv_field(o->f, r->starttls ? "true" : "false", 0);
    csv_int(o->f, r->last_code, r->last_reply == NULL);
    csv_field(o->f, r->last_reply, 0);
    csv_field(o->f, r->reject, 0);
    csv_field(o->f, r->outcome, 1);
    break;
  case FMT_TEXT:
    time_str(r->first_us, t1);
    t1[19] = '\0'; /* to the second */
    snprintf(src, sizeof(src), "%s", r->src_ip);
    snprintf(dst, sizeof(dst), "%s:%lld", r->dst_ip, (long long)r->dst_port);
    fprintf(o->f, "%s %s ", t1,
            r->direction == NULL ? "?  "
            : strcmp(r->direction, "egress") == 0 ? "out"
            : strcmp(r->direction, "inbound") == 0 ? "in "
                                                    : "?  ");
    text_col(o->f, src, 15);
    text_col(o->f, dst, 21);
    text_col(o->f, r->state, 9);
    text_col(o->f, r->helo, 24);
    text_col(o->f, r->echoed_ip, 15);
    fputs(r->starttls ? "tls " : "    ", o->f);
    /* The reply that matters: the first reject, else the last reply;
     * after STARTTLS what became of the mail is not visible. */
    text_col(o->f, r->reject ? r->reject : r->last_reply, 0);
    if (r->logged && !r->reject) {
      fputs(" (the MTA log: ", o->f);
      text_col(o->f, r->logged, 0);
      fputc(')', o->f);
    } else if (r->outcome && strcmp(r->outcome, "tls") == 0) {
      fputs(" (then TLS: outcome not visible)", o->f);
    }
    fputc('\n', o->f);
    break;
  }
  return ferror(o->f) ? 1 : 0;
}

static void usage(FILE *f) {
  fprintf(f,
          "Usage: %s sessions [OPTIONS]\n"
          "\n"
          "Print the recorded SMTP sessions, oldest first.\n"
          "\n"
          "Options:\n"
          "  --db PATH            database (see '%s --help')\n"
          "  --ip IP              our source address, or the address a\n"
          "                       receiver echoed back\n"
          "  --helo NAME          sessions that used this EHLO/HELO name\n"
          "  --dst IP|NAME        receiver address or banner host name\n"
          "  --state STATE        syn-only refused connected banner helo mail\n"
          "                       tls closed\n"
          "  --outcome O          accepted rejected deferred refused no-answer\n"
          "                       incomplete, or tls (went to TLS: what became\n"
          "                       of the mail is not visible on the wire)\n"
          "  --direction D        egress (our mail), inbound (mail to us) or\n"
          "                       unknown (read without --local)\n"
          "  --point NAME         capture point\n"
          "  --since T, --until T RFC 3339 time or a span back from now\n"
          "                       (90m, 24h, 7d)\n"
          "  --limit N            at most N sessions\n"
          "  --format FMT         text (default), jsonl, csv\n"
          "  -h, --help           this help\n"
          "\n"
          "Text output escapes every byte that came from the wire; jsonl\n"
          "prints one JSON object per session (keys in egressaudit(8)).\n",
          progname, progname);
}

/* Buffers the filter's addresses point into. */
struct sess_bufs {
  char ip[ADDR_STRLEN], dst[ADDR_STRLEN];
};

/* Parse the command line into f and o: 0, -1 after --help, or an exit
 * code. */
static int sessions_parse(struct sess_filter *f, struct out_ctx *o,
                          struct sess_bufs *b, const char **db, int argc,
                          char **argv) {
  static const struct option opts[] = {
      {"db", required_argument, NULL, 'd'},
      {"ip", required_argument, NULL, 'i'},
      {"helo", required_argument, NULL, 'H'},
      {"dst", required_argument, NULL, 'D'},
      {"state", required_argument, NULL, 's'},
      {"outcome", required_argument, NULL, 'O'},
      {"direction", required_argument, NULL, 'r'},
      {"point", required_argument, NULL, 'P'},
      {"since", required_argument, NULL, 'S'},
      {"until", required_argument, NULL, 'U'},
      {"limit", required_argument, NULL, 'l'},
      {"format", required_argument, NULL, 'f'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  static const char *const states[] = {"syn-only", "refused", "connected",
                                       "banner",   "helo",    "mail",
                                       "tls",      "closed"};
  static const char *const outcomes[] = {"accepted", "rejected", "deferred",
                                         "tls",      "refused",  "no-answer",
                                         "incomplete"};
  struct ea_addr a;
  int64_t now = now_us();
  char *end;
  size_t k;
  int c;

  memset(f, 0, sizeof(*f));
  f->since = INT64_MIN;
  f->until = INT64_MAX;
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case 'd': *db = optarg; break;
    case 'i':
      if (addr_parse(&a, optarg, strlen(optarg)) < 0) {
        cli_err("sessions: --ip: '%s' is not an IPv4 or IPv6 address", optarg);
        return EXIT_USAGE;
      }
      f->ip = addr_str(&a, b->ip);
      break;
    case 'H': f->helo = optarg; break;
    case 'D':
      f->dst = addr_parse(&a, optarg, strlen(optarg)) == 0
                    ? addr_str(&a, b->dst)
                    : optarg;
      break;
    case 's':
      for (k = 0; k < ARRAY_SIZE(states); k++)
        if (strcmp(optarg, states[k]) == 0) break;
      if (k == ARRAY_SIZE(states)) {
        cli_err("sessions: --state: '%s' is not one of syn-only, refused,"
                " connected, banner, helo, mail, tls, closed", optarg);
        return EXIT_USAGE;
      }
      f->state = optarg;
      break;
    case 'P': f->point = optarg; break;
    case 'r':
      if (strcmp(optarg, "egress") != 0 && strcmp(optarg, "inbound") != 0 &&
          strcmp(optarg, "unknown") != 0) {
        cli_err("sessions: --direction: '%s' is not egress, inbound or"
                " unknown", optarg);
        return EXIT_USAGE;
      }
      f->direction = optarg;
      break;
    case 'S':
    case 'U':
      if (cli_time_opt("sessions", c == 'S', optarg, now,
                       c == 'S' ? &f->since : &f->until) < 0)
        return EXIT_USAGE;
      break;
    case 'l':
      f->limit = strtoll(optarg, &end, 10);
      if (*end != '\0' || f->limit <= 0) {
        cli_err("sessions: --limit: '%s' is not a positive number", optarg);
        return EXIT_USAGE;
      }
      break;
    case 'f':
      if (strcmp(optarg, "text") == 0) o->fmt = FMT_TEXT;
      else if (strcmp(optarg, "jsonl") == 0 || strcmp(optarg, "json") == 0)
        o->fmt = FMT_JSONL;
      else if (strcmp(optarg, "csv") == 0) o->fmt = FMT_CSV;
      else {
        cli_err("sessions: --format: '%s' is not text, jsonl or csv", optarg);
        return EXIT_USAGE;
      }
      break;
    case 'O':
      for (k = 0; k < ARRAY_SIZE(outcomes); k++)
        if (strcmp(optarg, outcomes[k]) == 0) break;
      if (k == ARRAY_SIZE(outcomes)) {
        cli_err("sessions: --outcome: '%s' is not one of accepted, rejected,"
                " deferred, tls, refused, no-answer, incomplete", optarg);
        return EXIT_USAGE;
      }
      f->outcome = optarg;
      break;
    case 'h': usage(stdout); return -1;
    default: usage(stderr); return EXIT_USAGE;
    }
  }
  if (optind < argc) {
    cli_err("sessions: unexpected argument '%s'", argv[optind]);
    return EXIT_USAGE;
  }
  return 0;
}

int cmd_sessions(int argc, char **argv) {
  struct sess_filter flt;
  struct out_ctx o = {FMT_TEXT, stdout};
  struct sess_bufs bufs;
  struct store *st = NULL;
  char err[1024];
  const char *db = NULL;
  int64_t n;
  int rc;

  rc = sessions_parse(&flt, &o, &bufs, &db, argc, argv);
  if (rc != 0) return rc < 0 ? 0 : rc;
  n = store_open(&st, cli_db_path(db), STORE_RO, err, sizeof(err));
  if (n < 0) {
    cli_err("%s", err);
    return cli_exit_for((int)n);
  }
  if (o.fmt == FMT_CSV)
    fputs("first_seen,last_seen,point,src_ip,src_port,dst_ip,dst_port,direction,state,"
          "end,banner,helo,ehlo_reply,echoed_ip,starttls,last_code,"
          "last_reply,reject,outcome\r\n", o.f);
  else if (o.fmt == FMT_TEXT)
    fputs("FIRST SEEN (UTC)    DIR SOURCE          DESTINATION           STATE     "
          "HELO                     ECHOED          TLS REJECT, ELSE LAST REPLY\n", o.f);
  n = store_sessions(st, &flt, o.fmt == FMT_JSONL, on_row, &o);
  if (n < 0) cli_err("%s", store_errmsg(st));
  store_close(st);
  if (fflush(stdout) != 0 || ferror(stdout)) {
    cli_err("sessions: writing output: %s", strerror(errno));
    return EXIT_IOERR;
  }
  return n < 0 ? cli_exit_for((int)n) : 0;
}
