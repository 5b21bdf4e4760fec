/* egressaudit - cli/read.c: `egressaudit read FILE...`.
 * Capture files in, sessions into the store. Sessions that span consecutive
 * files of one run (a rotated capture) are followed across them.
 * SPDX-License-Identifier: MIT
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/capture.h"
#include "cli/cli.h"
#include "cli/import.h"
#include "cli/maillog.h"
#include "common/util.h"
#include "store/store.h"

struct read_ctx {
  struct store *st;
  uint64_t stored, dups;
  uint64_t by_dir[3];  /* new sessions by enum sess_direction             */
  int store_rc; /* first store error, then nothing more is written */
  bool tty;
  int64_t prog_t;       /* progress: time and frames of the last update */
  int64_t first_us, last_us; /* the span of the sessions stored          */
  uint64_t prog_frames;
};

static void on_session(const struct session *s, void *ctx) {
  struct read_ctx *r = ctx;
  int rc;

  if (r->store_rc < 0) return;
  rc = store_session_put(r->st, s);
  if (rc < 0) r->store_rc = rc;
  else if (rc == 1) {
    if (r->stored == 0 || s->first_us < r->first_us) r->first_us = s->first_us;
    if (r->stored == 0 || s->last_us > r->last_us) r->last_us = s->last_us;
    r->stored++;
    r->by_dir[s->direction < 3 ? s->direction : 0]++;
  }
  else r->dups++;
}

static void human(double v, char *out, size_t cap) {
  const char *u[] = {"", "k", "M", "G", "T"};
  int i = 0;

  while (v >= 1000 && i < 4) v /= 1000, i++;
  snprintf(out, cap, i ? "%.1f %s" : "%.0f%s", v, u[i]);
}

/* The rate is over the time since the previous update, the first one's
 * since the file was opened (it was frames over 1 us: "8.2 G frames/s"). */
static void on_progress(const struct capture_progress *p, void *ctx) {
  struct read_ctx *r = ctx;
  char a[32], b[32], rate[32];
  int64_t t = mono_us();

  human((double)(p->frames - r->prog_frames) * 1e6 /
            (double)MAX(t - r->prog_t, 1000),
        rate, sizeof(rate));
  r->prog_frames = p->frames;
  r->prog_t = t;
  human((double)p->bytes_done, a, sizeof(a));
  if (p->bytes_total > 0) {
    human((double)p->bytes_total, b, sizeof(b));
    fprintf(stderr, "\r\033[K%s: %3.0f%% %sB of %sB, %s frames/s, %llu sessions",
            p->path, 100.0 * (double)p->bytes_done / (double)p->bytes_total, a,
            b, rate, (unsigned long long)p->sessions);
  } else {
    fprintf(stderr, "\r\033[K%s: %sB, %s frames/s, %llu sessions", p->path, a,
            rate, (unsigned long long)p->sessions);
  }
}

static void usage(FILE *f) {
  fprintf(f,
          "Usage: %s read [OPTIONS] FILE...\n"
          "\n"
          "Read pcap or pcapng captures ('-' reads standard input), follow\n"
          "every TCP connection to the SMTP ports and store one session per\n"
          "connection: addresses, banner, EHLO/HELO, replies, the address\n"
          "the receiver echoed, STARTTLS. Reading a file again adds nothing.\n"
          "\n"
          "Options:\n"
          "  --db PATH          database (see '%s --help')\n"
          "  --ports LIST       SMTP ports to follow (default 25), e.g. 25,587\n"
          "  --point NAME       capture point name (default: the file's base\n"
          "                     name, 'stdin' for -)\n"
          "  --local CIDR       our addresses or networks (repeatable, IPv4 or\n"
          "                     IPv6): a session whose client is ours is\n"
          "                     egress, one whose server is ours is inbound;\n"
          "                     pcapng interface addresses count too\n"
          "  --max-flows N      connections tracked at once (default %u); the\n"
          "                     oldest is ended and counted when full\n"
          "  --no-filter        decode every frame instead of using BPF\n"
          "  -q, --quiet        no progress, no summary\n"
          "  --maillog          the files are the MTA's log, not captures:\n"
          "                     Postfix delivery lines (syslog, journalctl -o\n"
          "                     short-iso, maillog_file) and Exim's mainlog;\n"
          "                     .gz read as it is)\n"
          "                     become delivery attempts, tied to the captured\n"
          "                     sessions they rode on; a reject inside TLS\n"
          "                     then counts as one seen on the wire\n"
          "  --log-tz ZONE      the zone of syslog times that carry none: UTC,\n"
          "                     local (the default) or an offset like +01:00\n"
          "  --jsonl            the files are other hosts' events (watch --events,\n"
          "                     or sessions --format jsonl; .gz read as it is):\n"
          "                     their sessions are stored at capture points\n"
          "                     HOST:POINT, so analyze, report and history see\n"
          "                     the fleet; reading a file again adds nothing\n"
          "  --host NAME        with --jsonl: the host of lines that name none\n"
          "  -h, --help         this help\n"
          "\n"
          "Capture with: tcpdump -n -s 0 -w out.pcap 'tcp port 25 or (vlan and "
          "tcp port 25)'\n",
          progname, progname, (unsigned)FLOW_MAX_DEFAULT);
}

static void summary(const char *path, const struct capture_counters *n,
                    const struct read_ctx *r, int snaplen, bool filtered,
                    unsigned nlocal) {
  unsigned i;
  uint64_t errs = 0;

  fprintf(stderr,
          "%s: %llu frames%s, %llu SMTP segments, %llu sessions stored"
          " (%llu already known), %llu flows evicted\n",
          path, (unsigned long long)n->frames,
          filtered ? " passed the BPF filter" : "",
          (unsigned long long)n->flow.smtp_packets,
          (unsigned long long)r->stored, (unsigned long long)r->dups,
          (unsigned long long)(n->flow.evicted + n->flow.dialog_evicted));
  if (r->stored > 0)
    fprintf(stderr, "  direction: %llu egress, %llu inbound, %llu unknown%s\n",
            (unsigned long long)r->by_dir[DIR_EGRESS],
            (unsigned long long)r->by_dir[DIR_INBOUND],
            (unsigned long long)r->by_dir[DIR_UNKNOWN],
            r->by_dir[DIR_UNKNOWN] > 0 && nlocal == 0
                ? " (pass --local CIDR with our addresses to tell our mail"
                  " from mail sent to us)"
                : "");
  for (i = 1; i < DEC_ERRORS_; i++) errs += n->decode[i];
  if (errs > 0) {
    fprintf(stderr, "  decode errors:");
    for (i = 1; i < DEC_ERRORS_; i++)
      if (n->decode[i])
        fprintf(stderr, " %s=%llu", dec_result_name(i),
                (unsigned long long)n->decode[i]);
    fputc('\n', stderr);
  }
  if (n->frag_first || n->decode[DEC_FRAGMENT])
    fprintf(stderr, "  IP fragments (never reassembled): %llu first ones, "
            "taken for their TCP header and counted in their session's "
            "anomalies.fragments; %llu others skipped\n",
            (unsigned long long)n->frag_first,
            (unsigned long long)n->decode[DEC_FRAGMENT]);
  if (n->flow.rst_ignored)
    fprintf(stderr, "  RSTs outside the connection's window ignored (spoofed"
            " or stale): %llu\n", (unsigned long long)n->flow.rst_ignored);
  if (n->snap_cut > 0)
    fprintf(stderr,
            "  warning: %llu frames were cut by the capture's snaplen (%d):"
            " SMTP text is incomplete; capture with -s 0\n",
            (unsigned long long)n->snap_cut, snaplen);
}

/* Counters of one file: the difference of two snapshots. */
static void counters_sub(struct capture_counters *a,
                         const struct capture_counters *b) {
  unsigned i;

  a->frames -= b->frames;
  a->snap_cut -= b->snap_cut;
  for (i = 0; i < DEC_COUNT_; i++) a->decode[i] -= b->decode[i];
  a->flow.smtp_packets -= b->flow.smtp_packets;
  a->flow.other_ports -= b->flow.other_ports;
  a->flow.orphans -= b->flow.orphans;
  a->flow.flows -= b->flow.flows;
  a->flow.evicted -= b->flow.evicted;
  a->flow.dialog_evicted -= b->flow.dialog_evicted;
  a->flow.rst_ignored -= b->flow.rst_ignored;
  a->flow.sessions -= b->flow.sessions;
}

static int put_stats(struct store *st, int64_t point,
                     const struct capture_counters *n) {
  int64_t at = now_us();
  unsigned i;
  int rc = 0;

  rc |= store_stat_put(st, point, at, "frames", (int64_t)n->frames);
  rc |= store_stat_put(st, point, at, "smtp_segments",
                       (int64_t)n->flow.smtp_packets);
  rc |= store_stat_put(st, point, at, "snaplen_cut", (int64_t)n->snap_cut);
  rc |= store_stat_put(st, point, at, "flows", (int64_t)n->flow.flows);
  rc |= store_stat_put(st, point, at, "flows_evicted",
                       (int64_t)(n->flow.evicted + n->flow.dialog_evicted));
  if (n->flow.rst_ignored)
    rc |= store_stat_put(st, point, at, "rst_ignored", (int64_t)n->flow.rst_ignored);
  for (i = 1; i < DEC_COUNT_; i++)
    if (n->decode[i]) {
      char name[48];
      snprintf(name, sizeof(name), "decode_%s", dec_result_name(i));
      rc |= store_stat_put(st, point, at, name, (int64_t)n->decode[i]);
    }
  return rc;
}

struct read_opts {
  const char *db, *point, *log_tz, *host;
  int quiet, maillog, jsonl;
  struct capture_cfg cfg;
  uint8_t ports[8192];
  struct netset local;
};

/* Parse the command line: 0, -1 after --help, or an exit code. */
static int read_parse(struct read_opts *o, int argc, char **argv) {
  static const struct option opts[] = {
      {"db", required_argument, NULL, 'd'},
      {"ports", required_argument, NULL, 'p'},
      {"point", required_argument, NULL, 'P'},
      {"max-flows", required_argument, NULL, 'm'},
      {"local", required_argument, NULL, 'L'},
      {"no-filter", no_argument, NULL, 'F'},
      {"quiet", no_argument, NULL, 'q'},
      {"maillog", no_argument, NULL, 'M'},
      {"log-tz", required_argument, NULL, 'Z'},
      {"jsonl", no_argument, NULL, 'J'},
      {"host", required_argument, NULL, 'H'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  long long mf;
  char *end;
  int c, rc;

  ports_parse("25", o->ports);
  optind = 1;
  while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
    switch (c) {
    case 'd': o->db = optarg; break;
    case 'p':
      if (ports_parse(optarg, o->ports) < 0) {
        cli_err("read: --ports: '%s' is not a list of ports (e.g. 25,587)",
                optarg);
        return EXIT_USAGE;
      }
      break;
    case 'P': o->point = optarg; break;
    case 'L':
      rc = netset_add_text(&o->local, optarg);
      if (rc < 0) {
        if (rc == -2)
          cli_err("read: --local: more than %d networks", NETSET_MAX);
        else
          cli_err("read: --local: '%s' is not an address or CIDR network"
                  " (e.g. 203.0.113.0/24, 2001:db8::/32)", optarg);
        return EXIT_USAGE;
      }
      break;
    case 'm':
      mf = strtoll(optarg, &end, 10);
      if (*end != '\0' || mf < 16 || mf > (1 << 26)) {
        cli_err("read: --max-flows: '%s' is not a number from 16 to %d",
                optarg, 1 << 26);
        return EXIT_USAGE;
      }
      o->cfg.max_flows = (uint32_t)mf;
      break;
    case 'F': o->cfg.no_filter = true; break;
    case 'q': o->quiet = 1; break;
    case 'M': o->maillog = 1; break;
    case 'Z': o->log_tz = optarg; break;
    case 'J': o->jsonl = 1; break;
    case 'H': o->host = optarg; break;
    case 'h': usage(stdout); return -1;
    default: usage(stderr); return EXIT_USAGE;
    }
  }
  if (optind >= argc) {
    cli_err("read: no %s given (try 'read --help')",
            o->maillog ? "mail log file" : o->jsonl ? "event file" : "capture file");
    return EXIT_USAGE;
  }
  if (o->log_tz != NULL && !o->maillog) {
    cli_err("read: --log-tz is an option of --maillog");
    return EXIT_USAGE;
  }
  if (o->jsonl && o->maillog) {
    cli_err("read: --jsonl and --maillog: one kind of file at a time");
    return EXIT_USAGE;
  }
  if (o->host != NULL && !o->jsonl) {
    cli_err("read: --host is an option of --jsonl");
    return EXIT_USAGE;
  }
  o->cfg.ports = o->ports;
  o->cfg.local = &o->local;
  return 0;
}

/* Read one capture file as its own capture point (its name, --point or
 * "stdin"); the last file ends the capture (open flows are written).
 * Returns 0 or an exit code; a store error is left in r->store_rc. */
static int read_file(struct capture *cap, struct read_ctx *r,
                     const struct read_opts *o, const char *path, int last) {
  char namebuf[4096], err[1024], *base;
  uint64_t stored0 = r->stored, dups0 = r->dups, dir0[3];
  struct capture_counters before, after;
  struct read_ctx per;
  int64_t point = 0;
  int k, rc, ex = 0;

  rc = capture_open_file(cap, path, err, sizeof(err));
  if (rc < 0) {
    cli_err("%s", err);
    return cli_exit_for(rc);
  }
  if (o->point != NULL) {
    snprintf(namebuf, sizeof(namebuf), "%s", o->point);
    base = namebuf;
  } else if (strcmp(path, "-") == 0) {
    base = "stdin";
  } else {
    snprintf(namebuf, sizeof(namebuf), "%s", path);
    base = basename(namebuf);
  }
  rc = store_point(r->st, base, NULL, NULL, path, capture_linktype(cap), &point);
  if (rc < 0) {
    cli_err("%s", store_errmsg(r->st));
    r->store_rc = rc;
    capture_close_file(cap);
    return 0;
  }
  capture_get_counters(cap, &before);
  memcpy(dir0, r->by_dir, sizeof(dir0));
  r->prog_t = mono_us();
  r->prog_frames = before.frames; /* the counters run across files */
  rc = capture_run(cap, point, r->tty ? on_progress : NULL, r, err, sizeof(err));
  if (r->tty) fputs("\r\033[K", stderr);
  if (rc < 0) {
    cli_err("%s", err);
    ex = EXIT_DATAERR;
  }
  if (last) capture_finish(cap);
  capture_get_counters(cap, &after);
  counters_sub(&after, &before);
  if (r->store_rc == 0 && put_stats(r->st, point, &after) != 0)
    r->store_rc = -EIO;
  per = *r;
  per.stored = r->stored - stored0;
  per.dups = r->dups - dups0;
  for (k = 0; k < 3; k++) per.by_dir[k] = r->by_dir[k] - dir0[k];
  if (!o->quiet)
    summary(path, &after, &per, capture_snaplen(cap),
            capture_filter(cap)[0] != '\0',
            o->local.n + (unsigned)capture_file_addrs(cap));
  capture_close_file(cap);
  return ex;
}

int cmd_read(int argc, char **argv) {
  static struct read_opts o;
  struct capture *cap = NULL;
  struct read_ctx r;
  char err[1024];
  int i, rc, ex = 0;

  memset(&o, 0, sizeof(o));
  memset(&r, 0, sizeof(r));
  if ((rc = read_parse(&o, argc, argv)) != 0) return rc < 0 ? 0 : rc;
  if (o.maillog)
    return read_maillog(o.db, o.quiet, o.log_tz, argc - optind, argv + optind);
  if (o.jsonl)
    return read_jsonl(o.db, o.quiet, o.host, argc - optind, argv + optind);
  r.tty = !o.quiet && isatty(STDERR_FILENO);
  rc = store_open(&r.st, cli_db_path(o.db), STORE_RW, err, sizeof(err));
  if (rc < 0) {
    cli_err("%s", err);
    return cli_exit_for(rc);
  }
  rc = capture_new(&cap, &o.cfg, on_session, &r);
  if (rc < 0) {
    cli_err("read: %s", strerror(-rc));
    store_close(r.st);
    return EXIT_SOFTWARE;
  }
  for (i = optind; i < argc && r.store_rc == 0; i++) {
    rc = read_file(cap, &r, &o, argv[i], i == argc - 1);
    if (rc != 0 && ex == 0) ex = rc;
  }
  if (r.store_rc == 0 && i >= argc) {
    /* The loop ended early only on a store error; make sure open flows of a
     * last file that failed to open are still written. */
    capture_finish(cap);
  }
  if (r.store_rc == 0) r.store_rc = store_flush(r.st);
  if (r.store_rc == 0 && r.stored > 0) {
    /* A mail log read before these captures: tie its attempts of their
     * time (with a margin for the clocks) to the new sessions. */
    int64_t tied = store_deliveries_join(r.st, 0, r.first_us - 600000000LL,
                                         r.last_us + 600000000LL);
    if (tied < 0 || (r.store_rc = store_flush(r.st)) < 0)
      r.store_rc = tied < 0 ? (int)tied : r.store_rc;
    else if (tied > 0 && !o.quiet)
      fprintf(stderr, "  %lld delivery attempts of the MTA log newly tied to "
              "these sessions\n", (long long)tied);
  }
  if (r.store_rc < 0) {
    cli_err("cannot write the database: %s; %llu new sessions of this run "
            "are stored, the ones after them are not",
            store_errmsg(r.st), (unsigned long long)store_committed(r.st));
    ex = cli_exit_for(r.store_rc);
  }
  capture_free(cap);
  rc = store_close(r.st);
  if (rc < 0 && ex == 0) ex = cli_exit_for(rc);
  return ex;
}
