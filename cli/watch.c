/* egressaudit - cli/watch.c: `watch`, the live daemon on one libuv loop.
 * One uv_poll per pcap handle (immediate, non-blocking, dispatched in
 * batches), a timer that expires idle flows and commits the batch, a timer
 * that records pcap_stats, an optional timer that starts an analysis on the
 * same loop (its c-ares sockets beside the pcap handles; the capture goes on
 * while DNS answers come), and uv_signal for SIGINT/SIGTERM (flush, exit 0),
 * SIGHUP (reopen the database) and SIGUSR1 (counters to the log).
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <net/if.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>
#include <uv.h>

#include "analyzer/analyzer.h"
#include "capture/capture.h"
#include "cli/cli.h"
#include "cli/events.h"
#include "cli/import.h"
#include "cli/maillog.h"
#include "cli/metrics.h"
#include "cli/opts.h"
#include "common/safefile.h"
#include "common/util.h"
#include "logs/maillog.h"
#include "logs/tail.h"
#include "store/store.h"

#define WATCH_LOGS_MAX 8
#define LOG_POLL_MS 1000
#define LOG_POLL_BYTES (4u << 20) /* then the capture's turn, and again */
#define JOIN_MINUTES 16 /* a logged attempt waits this long for its session */
#define EVENTS_BUDGET 20000 /* sessions per sink per flush tick */


struct watch {
  uv_loop_t *loop;
  struct capture *cap;
  struct store *st;
  const char *db;
  uv_poll_t poll[CAPTURE_LIVE_MAX];
  int64_t point[CAPTURE_LIVE_MAX];
  const char *iface[CAPTURE_LIVE_MAX];
  uint64_t last_recv[CAPTURE_LIVE_MAX], last_drop[CAPTURE_LIVE_MAX],
      last_ifdrop[CAPTURE_LIVE_MAX];
  int n;
  uv_timer_t flush, stats, analyze, watchdog;
  uv_signal_t sig[4];
  struct analyzer_cfg acfg;
  struct analysis *analysis; /* the one in progress, or NULL          */
  int64_t window_us;         /* --analyze-window, 0: all history      */
  const char *point_prefix;  /* "any": points are PREFIX:IFNAME        */
  const char *host;
  char hostbuf[256];
  int reopen;                /* SIGHUP came during an analysis        */
  unsigned skipped;          /* analysis ticks that found one running */
  uint64_t stored, dups;
  uint64_t status_stored, status_frames; /* what the last STATUS= said */
  char status_analysis[160]; /* its analysis part                     */
  int exit_code;
  int stopping;
  struct metrics m;          /* what --metrics and --metrics-file tell   */
  struct metrics_srv *msrv;  /* --metrics's listener, or NULL           */
  const char *metrics_file;  /* --metrics-file, or NULL                 */
  /* --maillog: the MTA's logs, followed; their attempts tied to the
   * sessions as both arrive. */
  struct tail *tail[WATCH_LOGS_MAX];
  struct tail_pos saved[WATCH_LOGS_MAX]; /* the position last stored   */
  char logpath[WATCH_LOGS_MAX][4096];    /* a relative one made absolute */
  int n_logs;
  uv_timer_t logpoll;
  struct ml_clock clk;
  struct ml_counts logn;
  int64_t join_mark[JOIN_MINUTES]; /* the newest attempt, minute by minute */
  unsigned join_polls;
  int log_failed;            /* the store refused a line              */
  uint64_t joined_at_stored, joined_at_log; /* what the last join had seen */
  struct events *ev;         /* --events, --events-syslog; or NULL      */
  /* --jsonl: other hosts' events, followed like the logs (the fleet's
   * central database). */
  int jsonl[WATCH_LOGS_MAX]; /* this tail is events, not a mail log      */
  int polling;               /* the tail being read                    */
  struct importer imp;
  uint64_t imp_bad_said;
};

static void logf_(const char *level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void logf_(const char *level, const char *fmt, ...) {
  char msg[1024], t[TIME_STRLEN];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  time_str(now_us(), t);
  t[19] = '\0';
  fprintf(stderr, "%s %s watch: ", t, level);
  esc_fputs(stderr, msg);
  fputc('\n', stderr);
}

/* STATUS= for systemd (systemctl status) and for whoever owns the notify
 * socket: frames seen, sessions stored, the analysis. */
static void notify_status(struct watch *w) {
  struct capture_counters n;

  capture_get_counters(w->cap, &n);
  w->status_stored = w->stored;
  w->status_frames = n.frames;
  sd_notifyf(0, "STATUS=capturing on %d interface%s: %llu frames, %llu "
             "sessions stored%s%s", w->n, w->n > 1 ? "s" : "",
             (unsigned long long)n.frames, (unsigned long long)w->stored,
             w->status_analysis[0] ? "; " : "", w->status_analysis);
}

/* "any" with LINUX_SLL2: each interface its own capture point, named as if
 * it had been given with -i, so that a gateway's inside and outside pair. */
static int64_t point_of_if(void *ctx, int ifindex) {
  struct watch *w = ctx;
  char ifn[IF_NAMESIZE + 1], name[512];
  int64_t pt;

  if (w->st == NULL) return -1;
  if (if_indextoname((unsigned)ifindex, ifn) == NULL)
    snprintf(ifn, sizeof(ifn), "if%d", ifindex);
  snprintf(name, sizeof(name), "%s:%s", w->point_prefix, ifn);
  if (store_point(w->st, name, w->host, ifn, NULL, "LINUX_SLL2", &pt) < 0) {
    logf_("warn", "cannot record capture point %s: %s", name, store_errmsg(w->st));
    return -1;
  }
  logf_("info", "any: packets on %s go to capture point %s", ifn, name);
  metrics_point(&w->m, pt, name);
  return pt;
}

static void on_session(const struct session *s, void *ctx) {
  struct watch *w = ctx;
  int rc;

  if (w->st == NULL || w->exit_code) return;
  rc = store_session_put(w->st, s);
  if (rc == 1) {
    w->stored++;
    metrics_session(&w->m, s->point, s->state, s->direction);
  } else if (rc == 0) {
    w->dups++;
    w->m.known++;
  }
  else {
    /* Disk full, read-only, corrupt: stop rather than drop data silently. */
    logf_("error", "cannot write the database: %s", store_errmsg(w->st));
    w->exit_code = cli_exit_for(rc);
    uv_stop(w->loop);
  }
}

static void record_stats(struct watch *w) {
  uint64_t r, d, i;
  int64_t at = now_us();
  int k;

  for (k = 0; k < w->n && w->st; k++) {
    if (capture_live_stats(w->cap, k, &r, &d, &i) < 0) continue;
    /* Deltas, so that a sum over a window is what was lost in it. */
    store_stat_put(w->st, w->point[k], at, "ps_recv", (int64_t)(r - w->last_recv[k]));
    store_stat_put(w->st, w->point[k], at, "ps_drop", (int64_t)(d - w->last_drop[k]));
    store_stat_put(w->st, w->point[k], at, "ps_ifdrop", (int64_t)(i - w->last_ifdrop[k]));
    if (d > w->last_drop[k] || i > w->last_ifdrop[k])
      logf_("warn", "capture %d lost %llu packets (kernel) and %llu (interface)",
            k, (unsigned long long)(d - w->last_drop[k]),
            (unsigned long long)(i - w->last_ifdrop[k]));
    w->last_recv[k] = r;
    w->last_drop[k] = d;
    w->last_ifdrop[k] = i;
    w->m.heartbeat_us = at;
  }
}

/* The numbers of now: the capture's counters and the kernel's, read at
 * the moment of the scrape; the rest is kept as it happens. */
static void metrics_fill(struct pbuf *b, void *ctx) {
  struct watch *w = ctx;
  int k;

  capture_get_counters(w->cap, &w->m.cap);
  w->m.n_if = (unsigned)w->n;
  for (k = 0; k < w->n; k++) {
    w->m.iface[k].name = w->iface[k];
    w->m.iface[k].ok = capture_live_stats(w->cap, k, &w->m.iface[k].recv,
                                          &w->m.iface[k].drop,
                                          &w->m.iface[k].ifdrop) == 0;
  }
  w->m.n_logs = (unsigned)w->n_logs;
  for (k = 0; k < w->n_logs && k < 8; k++) {
    const struct tail_counts *t = tail_counts(w->tail[k]);
    w->m.log[k].path = tail_path(w->tail[k]);
    w->m.log[k].lines = t->lines;
    w->m.log[k].cut = t->cut;
    w->m.log[k].rotations = t->rotations;
    w->m.log[k].truncations = t->truncations;
  }
  w->m.log_stored = w->logn.stored;
  if (w->ev) {
    struct events_counts ec;
    events_counts(w->ev, &ec);
    w->m.events_on = 1;
    w->m.events_written = ec.written;
    w->m.events_failures = ec.failures;
  }
  for (k = 0; k < w->n_logs; k++) w->m.import_on |= w->jsonl[k];
  w->m.import_lines = w->imp.n.lines;
  w->m.import_stored = w->imp.n.stored;
  w->m.import_bad = w->imp.n.bad;
  metrics_render(&w->m, b);
}

/* --metrics-file: the same text for node_exporter's textfile collector,
 * replaced atomically after each stats tick and analysis. */
static void metrics_file_write(struct watch *w) {
  struct pbuf b = {0};
  char err[512];

  if (w->metrics_file == NULL) return;
  metrics_fill(&b, w);
  if (!b.truncated &&
      safefile_replace(w->metrics_file, b.p, b.len, err, sizeof(err)) < 0)
    logf_("warn", "--metrics-file %s", err);
  pbuf_free(&b);
}

static void on_readable(uv_poll_t *p, int status, int events) {
  struct watch *w = p->data;
  char err[512];
  int k = (int)(p - w->poll);
  (void)events;

  if (status < 0 || capture_live_dispatch(w->cap, k, err, sizeof(err)) < 0) {
    logf_("error", "%s", status < 0 ? uv_strerror(status) : err);
    w->exit_code = EXIT_IOERR;
    uv_stop(w->loop);
  }
}

/* The events stored since the last time, to --events and --events-syslog
 * (committed first: what is sent is what is kept). */
static void events_out(struct watch *w) {
  char warn[1024], err[512];
  int64_t n;

  if (w->st == NULL) return;
  n = events_pump(w->ev, w->st, EVENTS_BUDGET, warn, sizeof(warn), err,
                  sizeof(err));
  if (warn[0]) logf_("warn", "%s", warn);
  if (n < 0) {
    logf_("error", "cannot write the database: %s", err);
    w->exit_code = EXIT_IOERR;
    uv_stop(w->loop);
  }
}

static void on_flush(uv_timer_t *t) {
  struct watch *w = t->data;
  int rc;

  capture_tick(w->cap, now_us());
  if (w->st && (rc = store_flush(w->st)) < 0) {
    logf_("error", "cannot write the database: %s", store_errmsg(w->st));
    w->exit_code = cli_exit_for(rc);
    uv_stop(w->loop);
    return;
  }
  if (w->ev) events_out(w);
  {
    struct capture_counters n;
    capture_get_counters(w->cap, &n);
    if (w->stored != w->status_stored || n.frames != w->status_frames)
      notify_status(w);
  }
}

static void on_watchdog(uv_timer_t *t) {
  (void)t;
  sd_notify(0, "WATCHDOG=1"); /* the loop turns: capture and timers run */
}

static void on_stats(uv_timer_t *t) {
  struct watch *w = t->data;
  int k, n;

  record_stats(w);
  metrics_file_write(w);
  /* Addresses come and go (DHCP, SLAAC, failover): learn the new ones. An
   * address that went away stays "ours" until restart. */
  for (k = 0; k < w->n; k++)
    if ((n = capture_local_add_iface(w->cap, w->iface[k])) > 0)
      logf_("info", "%s: %d new local address%s", w->iface[k], n,
            n > 1 ? "es" : "");
}

static void reopen_db(struct watch *w) {
  char err[512];

  w->reopen = 0;
  if (w->st) store_close(w->st);
  w->st = NULL;
  if (store_open(&w->st, w->db, STORE_RW, err, sizeof(err)) < 0) {
    logf_("error", "%s", err);
    w->exit_code = EXIT_CANTCREAT;
    uv_stop(w->loop);
  }
  w->imp.st = w->st;
  /* logrotate moved the events file: a new one (the socket: again). */
  if (w->ev && events_reopen(w->ev, err, sizeof(err)) < 0)
    logf_("warn", "--events: %s (tried again)", err);
}

/* One log line per finding an analysis opened or closed, with the
 * journald priority in front (<3> crit, <4> warn, <5> unknown, <6> info;
 * closed: <5>): alerting can be built on the log alone. */
static int on_event(const struct finding_row *r, void *ctx) {
  static const int prio[4] = {6, 4, 3, 5}; /* info, warn, crit, unknown */
  int closed = r->status && strcmp(r->status, "closed") == 0;
  int p = closed ? 5 : r->severity >= 0 && r->severity <= 3 ? prio[r->severity] : 5;
  char msg[1400], t[TIME_STRLEN];

  (void)ctx;
  snprintf(msg, sizeof(msg), "finding %s: #%lld %s %s %s%s%s: %s",
           closed ? "closed" : "opened", (long long)r->id,
           severity_name((unsigned)r->severity), r->rule, r->subject,
           r->ident && r->ident[0] ? " of " : "", r->ident ? r->ident : "",
           closed ? "no longer seen" : r->detail);
  time_str(now_us(), t);
  t[19] = '\0';
  fprintf(stderr, "<%d>%s %s watch: ", p, t, closed ? "info" : "event");
  esc_fputs(stderr, msg);
  fputc('\n', stderr);
  return 0;
}

/* An analysis succeeded: its counts, and the open findings it left. */
static void watch_metrics_analysis(struct watch *w,
                                   const struct analysis_stats *a) {
  int k;

  w->m.analyses_ok++;
  for (k = 0; k < DNS_STATUS_COUNT_; k++) w->m.dns[k] += (uint64_t)a->by_status[k];
  w->m.dns_cached += (uint64_t)a->cached;
  w->m.last_analysis_us = now_us();
  w->m.last_read_s = (double)a->read_us / 1e6;
  w->m.last_dns_s = (double)a->dns_us / 1e6;
  w->m.last_judge_s = (double)a->judge_us / 1e6;
  metrics_open_reset(&w->m);
  if (w->st && store_findings_open(w->st, metrics_open_add, &w->m) < 0)
    logf_("warn", "metrics: open findings: %s", store_errmsg(w->st));
  metrics_file_write(w);
}

static void on_analysis_done(void *ctx, int rc, const struct analysis_stats *a,
                             const char *err) {
  struct watch *w = ctx;

  w->analysis = NULL;
  if (rc == -ECANCELED) return;
  snprintf(w->status_analysis, sizeof(w->status_analysis),
           "last analysis failed");
  if (rc < 0) w->m.analyses_failed++;
  if (w->skipped > 0)
    logf_("warn", "the analysis took longer than --analyze-every: %u run%s "
          "skipped", w->skipped, w->skipped > 1 ? "s" : "");
  w->skipped = 0;
  if (rc < 0 && !a->write_failed) {
    /* Reading for it failed (its own connection): try again next time. */
    logf_("warn", "analysis: %s", err);
    return;
  }
  if (rc < 0) {
    /* Writing its results failed: the database fails us, as for a
     * session (disk full, read-only): stop rather than go on blind. */
    logf_("error", "analysis: %s", err);
    if (w->exit_code == 0) w->exit_code = cli_exit_for(rc);
    uv_stop(w->loop);
    return;
  }
  snprintf(w->status_analysis, sizeof(w->status_analysis),
           "last analysis: %lld identities, %lld crit, %lld warn",
           (long long)a->identities, (long long)a->by_sev[SEV_CRIT],
           (long long)a->by_sev[SEV_WARN]);
  notify_status(w);
  watch_metrics_analysis(w, a);
  if (w->st && store_finding_events(w->st, a->at - 1, a->at, on_event, w) < 0)
    logf_("warn", "findings opened or closed: %s", store_errmsg(w->st));
  if (w->ev) events_out(w);
  logf_("info",
        "analysis: %lld identities, findings %lld crit, %lld warn, %lld info, "
        "%lld unknown; %lld DNS queries, %lld from cache, %lld temporary "
        "failures; %.1f s reading %lld sessions %s%s%s (beside the capture), "
        "%.1f s DNS, %.2f s judging",
        (long long)a->identities, (long long)a->by_sev[SEV_CRIT],
        (long long)a->by_sev[SEV_WARN], (long long)a->by_sev[SEV_INFO],
        (long long)a->by_sev[SEV_UNKNOWN], (long long)a->queries,
        (long long)a->cached, (long long)a->temp_failures, a->read_us / 1e6,
        (long long)a->fold_tail,
        a->fold_mode == FOLD_INCR   ? "after the kept sums"
        : a->fold_mode == FOLD_FULL ? "(all: "
                                    : "of the window",
        a->fold_mode == FOLD_FULL && a->fold_why ? a->fold_why : "",
        a->fold_mode == FOLD_FULL ? ")" : "", a->dns_us / 1e6,
        a->judge_us / 1e6);
  if (w->reopen && !w->stopping) reopen_db(w);
}

static void on_analyze(uv_timer_t *t) {
  struct watch *w = t->data;
  char err[512];
  int rc;

  if (w->analysis != NULL || w->st == NULL || w->stopping) {
    if (w->analysis) w->skipped++; /* said once, when it ends */
    return;
  }
  /* Commit first so the analysis sees everything captured so far. */
  capture_tick(w->cap, now_us());
  if (store_flush(w->st) < 0) return; /* the flush timer reports it */
  if (w->window_us > 0) w->acfg.since = now_us() - w->window_us;
  rc = analyzer_start(&w->analysis, w->st, w->loop, &w->acfg,
                      on_analysis_done, w, err, sizeof(err));
  if (rc < 0) {
    w->analysis = NULL;
    logf_("warn", "cannot start the analysis: %s", err);
    return;
  }
  snprintf(w->status_analysis, sizeof(w->status_analysis), "analysing");
  notify_status(w);
}

static int on_log_line(const char *line, size_t len, int cut, void *ctx) {
  struct watch *w = ctx;
  if (w->jsonl[w->polling]) {
    int rc;
    if (cut) { /* longer than the follower keeps: not one of our events */
      w->imp.n.cut++;
      w->imp.n.bad++;
      return 0;
    }
    rc = import_line(&w->imp, line, len);
    w->log_failed = rc < 0;
    if (rc > 0 && w->imp.n.bad > w->imp_bad_said && w->imp.n.bad <= 5) {
      w->imp_bad_said = w->imp.n.bad;
      logf_("warn", "--jsonl %s: a bad line: %s%s", tail_path(w->tail[w->polling]),
            w->imp.last_err, w->imp.n.bad == 5 ? " (further ones only counted)" : "");
    }
    return w->log_failed;
  }
  if (cut) w->logn.cut++;
  /* A store that fails: stop here, the line is read again next time. */
  w->log_failed = maillog_ingest(w->st, line, len, &w->clk, &w->logn) < 0;
  return w->log_failed;
}

/* Tie the attempts of the last JOIN_MINUTES to their sessions, when a
 * session or an attempt came since the last time: a delivery is logged
 * while its connection may stay open for reuse, and the session is
 * stored only when it ends. An attempt no session claims in that time was
 * made where we do not capture. */
static int log_join(struct watch *w) {
  int64_t from, tied;

  if (++w->join_polls % (60000 / LOG_POLL_MS) == 1) {
    memmove(w->join_mark, w->join_mark + 1,
            sizeof(w->join_mark) - sizeof(w->join_mark[0]));
    w->join_mark[JOIN_MINUTES - 1] = store_deliveries_last_id(w->st);
  }
  if (w->stored == w->joined_at_stored && w->logn.stored == w->joined_at_log)
    return 0;
  w->joined_at_stored = w->stored;
  w->joined_at_log = w->logn.stored;
  from = w->join_mark[0] > 0 ? w->join_mark[0] : 0;
  if ((tied = store_deliveries_join(w->st, from, INT64_MIN, INT64_MAX)) < 0)
    return (int)tied;
  w->m.log_tied += (uint64_t)tied;
  if (tied > 0)
    logf_("info", "%lld logged delivery attempt%s tied to captured sessions",
          (long long)tied, tied > 1 ? "s" : "");
  return 0;
}

/* Read what the logs gained, remember where we are (in the same batch as
 * what was read), tie what can be tied. */
static void on_logpoll(uv_timer_t *t) {
  struct watch *w = t->data;
  char err[512];
  int k, rc, more = 0;

  if (w->st == NULL) return;
  w->clk.now_us = now_us();
  for (k = 0; k < w->n_logs; k++) {
    struct tail_pos p;
    w->polling = k;
    rc = tail_poll(w->tail[k], LOG_POLL_BYTES, on_log_line, w, err, sizeof(err));
    if (rc < 0) {
      logf_("warn", "%s %s", w->jsonl[k] ? "--jsonl" : "--maillog", err); /* tried again */
      continue;
    }
    more |= rc;
    if (w->log_failed) goto fail;
    tail_position(w->tail[k], &p);
    if (p.ino != 0 && (p.dev != w->saved[k].dev || p.ino != w->saved[k].ino ||
                       p.off != w->saved[k].off || p.head != w->saved[k].head ||
                       p.head_len != w->saved[k].head_len)) {
      struct log_cursor c = {(int64_t)p.dev, (int64_t)p.ino, p.off,
                             (int64_t)p.head, p.head_len};
      if (store_log_cursor_put(w->st, tail_path(w->tail[k]), &c, w->clk.now_us) < 0)
        goto fail;
      w->saved[k] = p;
    }
  }
  if (log_join(w) < 0) goto fail;
  /* Commit what this poll wrote now, not at the next flush tick: lines
   * come every second, and a batch held open until the flush would keep
   * the write lock nearly always (an 'analyze' beside us waits its busy
   * timeout out and fails). */
  if (store_flush(w->st) < 0) goto fail;
  if (more && !w->stopping) uv_timer_start(&w->logpoll, on_logpoll, 0, LOG_POLL_MS);
  return;
fail:
  logf_("error", "cannot write the database: %s", store_errmsg(w->st));
  w->exit_code = EXIT_IOERR;
  uv_stop(w->loop);
}

static void shutdown_all(struct watch *w) {
  int k;

  if (w->stopping) return;
  w->stopping = 1;
  if (w->analysis) analyzer_cancel(w->analysis); /* judged next time */
  for (k = 0; k < w->n; k++) {
    char err[512];
    int rounds;
    uv_poll_stop(&w->poll[k]);
    /* What the kernel holds for us already arrived: take it (bounded, so
     * a flood cannot keep us from exiting). */
    for (rounds = 0; rounds < 64; rounds++)
      if (capture_live_dispatch(w->cap, k, err, sizeof(err)) <= 0) break;
  }
  capture_finish(w->cap); /* sessions in flight are stored as ended by eof */
  if (w->n_logs > 0) on_logpoll(&w->logpoll); /* the logs' last lines */
  record_stats(w);
  if (w->st && store_flush(w->st) < 0 && w->exit_code == 0)
    w->exit_code = EXIT_IOERR;
  if (w->ev) events_out(w); /* the last sessions' events */
  uv_stop(w->loop);
}

static void on_signal(uv_signal_t *s, int signum) {
  struct watch *w = s->data;
  int k;

  switch (signum) {
  case SIGINT:
  case SIGTERM:
    logf_("info", "signal %d: flushing and exiting", signum);
    shutdown_all(w);
    break;
  case SIGHUP:
    if (w->analysis) {
      /* It holds the connection: reopen when it is done. */
      logf_("info", "SIGHUP: reopening the database after the analysis");
      w->reopen = 1;
      break;
    }
    logf_("info", "SIGHUP: reopening the database%s",
          w->n_logs ? " and looking at the logs again" : "");
    reopen_db(w);
    for (k = 0; k < w->n_logs; k++) tail_reopen(w->tail[k]);
    if (w->n_logs > 0) uv_timer_start(&w->logpoll, on_logpoll, 0, LOG_POLL_MS);
    break;
  case SIGUSR1: {
    struct capture_counters n;
    capture_get_counters(w->cap, &n);
    logf_("info",
          "frames %llu, SMTP segments %llu, flows open %u (peak %u), "
          "evicted %llu, sessions stored %llu (already known %llu)",
          (unsigned long long)n.frames, (unsigned long long)n.flow.smtp_packets,
          n.flow.active, n.flow.peak,
          (unsigned long long)(n.flow.evicted + n.flow.dialog_evicted),
          (unsigned long long)w->stored, (unsigned long long)w->dups);
    break;
  }
  }
}

/* Become pw's user for good; verify it took (p0f drop_privs). The
 * database was handed over when it was opened (store_open_for). */
static int drop_privileges(const struct passwd *pw) {
  if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 ||
      setuid(pw->pw_uid) < 0) {
    cli_err("watch: cannot become %s: %s", pw->pw_name, strerror(errno));
    return EXIT_NOPERM;
  }
  if (getuid() != pw->pw_uid || geteuid() != pw->pw_uid ||
      getgid() != pw->pw_gid || getegid() != pw->pw_gid ||
      (pw->pw_uid != 0 && setuid(0) == 0)) {
    cli_err("watch: privileges did not drop to %s", pw->pw_name);
    return EXIT_NOPERM;
  }
  return 0;
}

static void close_any(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h)) uv_close(h, NULL);
}

static void usage(FILE *f) {
  fprintf(f,
          "Usage: %s watch -i IFACE [-i IFACE...] [--maillog FILE...] [OPTIONS]\n"
          "\n"
          "Capture SMTP on the interfaces and record every session as it\n"
          "ends, until SIGINT or SIGTERM (which flush and exit 0). The\n"
          "interfaces' own addresses count as our side, with --local.\n"
          "\n"
          "Options:\n"
          "  -i, --interface IFACE  capture here (repeatable; 'any' captures all,\n"
          "                         each interface still its own point)\n"
          "  --db PATH              database (see '%s --help')\n"
          "  --ports LIST           SMTP ports (default 25)\n"
          "  --point NAME           capture point name (default host:iface;\n"
          "                         NAME:iface with several or 'any')\n"
          "  --local CIDR           more addresses of ours (repeatable)\n"
          "  --flush-every DUR      commit at least this often (default 2s)\n"
          "  --stats-every DUR      record the kernel's packet and drop counters\n"
          "                         this often (default 60s)\n"
          "  --buffer-size MIB      kernel capture ring per interface (default\n"
          "                         32; more rides out longer pauses)\n"
          "  --analyze-every DUR    analyse the database this often, on the same\n"
          "                         loop (default 0: never; 'analyze' by hand)\n"
          "  --analyze-window DUR   only sessions of the last DUR (default 0:\n"
          "                         all; a busy relay may want 7d)\n"
          "  --user NAME            drop to this user once capturing\n"
          "  --pidfile PATH         write the process id here\n"
          "  --metrics ADDR:PORT    serve Prometheus metrics at\n"
          "                         http://ADDR:PORT/metrics (numeric address:\n"
          "                         127.0.0.1:9187, [::1]:9187)\n"
          "  --metrics-file PATH    write the same metrics to PATH (atomically,\n"
          "                         after each stats tick and analysis), for\n"
          "                         node_exporter's textfile collector\n"
          "  --maillog FILE         follow the MTA's log (repeatable, at most 8;\n"
          "                         syslog, Postfix's maillog_file, Exim's mainlog)\n"
          "                         as tail -F does, through rotation by rename or\n"
          "                         copytruncate; a restart reads on where the\n"
          "                         last run stopped (the first: from the end;\n"
          "                         'read --maillog' takes what is there); each\n"
          "                         attempt is tied to its captured session. With\n"
          "                         no -i, the logs alone are followed\n"
          "  --jsonl FILE           follow other hosts' events (their --events, as\n"
          "                         a central rsyslog writes them; repeatable, with\n"
          "                         --maillog at most 8) into this database, as\n"
          "                         'read --jsonl' does: the fleet's central view\n"
          "  --log-tz ZONE          the zone of log times that carry none (UTC,\n"
          "                         local, +01:00; default: this machine's)\n"
          "  --events FILE          append one JSON object a line per stored\n"
          "                         session and per finding opened or closed\n"
          "                         (for a fleet's log pipeline: rsyslog's\n"
          "                         imfile, Vector, Fluent Bit); SIGHUP reopens\n"
          "                         it (logrotate); a restart goes on from the\n"
          "                         last event written\n"
          "  --events-syslog[=SOCKET]  the same events to syslog (default\n"
          "                         /dev/log: journald or rsyslog), facility mail\n"
          "  --events-syslog-format local|rfc5424\n"
          "                         local (default): as syslog(3) writes, which\n"
          "                         journald and rsyslog read; rfc5424 for a\n"
          "                         daemon that parses it (rsyslog's imuxsock with\n"
          "                         useSpecialParser=\"off\", syslog-ng)\n"
          "  --host NAME            this host's name in capture points and events\n"
          "                         (default: the system's host name)\n"
          "  --foreground           stay in the foreground (the default)\n"
          "  -h, --help             this help\n"
          "\n"
          "Analysis options (with --analyze-every; as for 'analyze'):\n"
          ANALYSIS_HELP
          "\n"
          "Signals: SIGHUP reopens the database and looks at the logs' paths\n"
          "again, SIGUSR1 logs the counters.\n",
          progname, progname);
}

/* What the command line asked for. */
struct watch_opts {
  const char *ifaces[CAPTURE_LIVE_MAX];
  int n_if;
  const char *logs[WATCH_LOGS_MAX], *log_tz;
  int n_logs, jsonl[WATCH_LOGS_MAX];
  const char *point, *user, *pidfile, *metrics, *metrics_file, *host;
  struct events_cfg ev;         /* --events, --events-syslog           */
  int64_t flush_us, analyze_us, window_us, stats_us;
  struct passwd pw;             /* --user's uid and gid                 */
  struct analysis_opts ao;      /* --resolver and the other analysis flags */
  struct capture_cfg cfg;
  uint8_t ports[8192];
  struct netset local;
};

/* A duration option: --flush-every and --stats-every (more than 0),
 * --analyze-every and --analyze-window (0: off). */
static int watch_dur(struct watch_opts *o, int c, const char *arg) {
  const char *name = c == 'f'   ? "flush-every"
                     : c == 'T' ? "stats-every"
                     : c == 'a' ? "analyze-every"
                                : "analyze-window";
  int64_t *v = c == 'f'   ? &o->flush_us
               : c == 'T' ? &o->stats_us
               : c == 'a' ? &o->analyze_us
                          : &o->window_us;

  if (strcmp(arg, "0") == 0 && c != 'f' && c != 'T') {
    *v = 0;
    return 0;
  }
  if (dur_parse(arg, v) < 0 || *v <= 0) {
    if (strcmp(arg, "0") == 0) cli_err("watch: --%s must be more than 0", name);
    else cli_err("watch: --%s: '%s' is not a duration like %s", name, arg,
                 c == 'W' ? "7d" : "2s or 1h");
    return -1;
  }
  return 0;
}

static int watch_opt(struct watch_opts *o, struct watch *w, int c,
                     const char *arg) {
  char *end;
  unsigned long v;

  switch (c) {
  case 'i':
    if (o->n_if == CAPTURE_LIVE_MAX) {
      cli_err("watch: at most %d interfaces", CAPTURE_LIVE_MAX);
      return EXIT_USAGE;
    }
    o->ifaces[o->n_if++] = arg;
    return 0;
  case 'd': w->db = arg; return 0;
  case 'p':
    if (ports_parse(arg, o->ports) < 0) {
      cli_err("watch: --ports: '%s' is not a list of ports", arg);
      return EXIT_USAGE;
    }
    return 0;
  case 'P': o->point = arg; return 0;
  case 'B':
    v = strtoul(arg, &end, 10);
    if (*end != '\0' || v < 1 || v > 1024 || arg[0] == '-') {
      cli_err("watch: --buffer-size: '%s' is not a size in MiB from 1 to 1024",
              arg);
      return EXIT_USAGE;
    }
    o->cfg.buffer_mib = (uint32_t)v;
    return 0;
  case 'L':
    if (netset_add_text(&o->local, arg) < 0) {
      cli_err("watch: --local: '%s' is not an address or CIDR network", arg);
      return EXIT_USAGE;
    }
    return 0;
  case 'f':
  case 'T':
  case 'a':
  case 'W': return watch_dur(o, c, arg) < 0 ? EXIT_USAGE : 0;
  case 'u': o->user = arg; return 0;
  case 'I': o->pidfile = arg; return 0;
  case 'M': o->metrics = arg; return 0;
  case 'm':
  case 'j':
    if (o->n_logs == WATCH_LOGS_MAX) {
      cli_err("watch: at most %d --maillog and --jsonl files", WATCH_LOGS_MAX);
      return EXIT_USAGE;
    }
    o->jsonl[o->n_logs] = c == 'j';
    o->logs[o->n_logs++] = arg;
    return 0;
  case 'Z':
    if (maillog_tz_parse(arg, &w->clk.tz_offset_s) < 0) {
      cli_err("watch: --log-tz: '%s' is not UTC, local, or an offset like +01:00",
              arg);
      return EXIT_USAGE;
    }
    o->log_tz = arg;
    return 0;
  case 'O': o->metrics_file = arg; return 0;
  case 'E': o->ev.file = arg; return 0;
  case 'Y': o->ev.syslog = arg ? arg : "/dev/log"; return 0;
  case 'y':
    if (strcmp(arg, "local") == 0) o->ev.syslog_fmt = EV_SYSLOG_LOCAL;
    else if (strcmp(arg, "rfc5424") == 0) o->ev.syslog_fmt = EV_SYSLOG_5424;
    else {
      cli_err("watch: --events-syslog-format: '%s' is not local or rfc5424", arg);
      return EXIT_USAGE;
    }
    return 0;
  case 'H':
    if (arg[0] == '\0' || strlen(arg) > 253 || strpbrk(arg, " \t\n\r\"") != NULL) {
      cli_err("watch: --host: '%s' is not a host name", arg);
      return EXIT_USAGE;
    }
    o->host = arg;
    return 0;
  case 'F': return 0;
  case 'h': usage(stdout); return -1;
  default: usage(stderr); return EXIT_USAGE;
  }
}

/* Parse and check the command line: 0, -1 after --help, or an exit code.
 * A bad --resolver (analysis_opt) or --user is refused now, not at the
 * first analysis. */
static int watch_parse(struct watch_opts *o, struct watch *w, int argc,
                       char **argv) {
  static const struct option opts[] = {
      {"interface", required_argument, NULL, 'i'},
      {"db", required_argument, NULL, 'd'},
      {"ports", required_argument, NULL, 'p'},
      {"point", required_argument, NULL, 'P'},
      {"local", required_argument, NULL, 'L'},
      {"flush-every", required_argument, NULL, 'f'},
      {"stats-every", required_argument, NULL, 'T'},
      {"buffer-size", required_argument, NULL, 'B'},
      {"analyze-every", required_argument, NULL, 'a'},
      {"analyze-window", required_argument, NULL, 'W'},
      ANALYSIS_LONGOPTS,
      {"user", required_argument, NULL, 'u'},
      {"pidfile", required_argument, NULL, 'I'},
      {"metrics", required_argument, NULL, 'M'},
      {"metrics-file", required_argument, NULL, 'O'},
      {"maillog", required_argument, NULL, 'm'},
      {"log-tz", required_argument, NULL, 'Z'},
      {"events", required_argument, NULL, 'E'},
      {"jsonl", required_argument, NULL, 'j'},
      {"events-syslog", optional_argument, NULL, 'Y'},
      {"events-syslog-format", required_argument, NULL, 'y'},
      {"host", required_argument, NULL, 'H'},
      {"foreground", no_argument, NULL, 'F'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  int c, rc;

  o->flush_us = 2000000;
  o->stats_us = 60000000;
  ports_parse("25", o->ports);
  analysis_opts_init(&o->ao);
  if ((rc = analysis_opts_conf(&o->ao, "watch")) != 0) return rc;
  optind = 1;
  while ((c = getopt_long(argc, argv, "i:h", opts, NULL)) != -1) {
    if ((rc = analysis_opt(&o->ao, c, optarg, "watch")) != 0) {
      if (rc < 0) return EXIT_USAGE;
      continue;
    }
    if ((rc = watch_opt(o, w, c, optarg)) != 0) return rc;
  }
  if ((o->n_if == 0 && o->n_logs == 0) || optind < argc) {
    cli_err("watch: give at least one -i IFACE, --maillog FILE or --jsonl FILE"
            " (try 'watch --help')");
    return EXIT_USAGE;
  }
  if (o->log_tz == NULL) maillog_tz_parse(NULL, &w->clk.tz_offset_s);
  if ((rc = analysis_opts_check(&o->ao, "watch")) != 0) return rc;
  w->db = cli_db_path(w->db);
  if (o->user != NULL) {
    struct passwd *p = getpwnam(o->user);
    if (p == NULL) {
      cli_err("watch: --user: no user '%s'", o->user);
      return EXIT_USAGE;
    }
    o->pw = *p; /* uid, gid; the strings stay getpwnam's until the next call */
    o->pw.pw_name = (char *)o->user;
  }
  return 0;
}

/* The logs to follow, each from where the last run stopped (or from its
 * end, the first time: what is there already is read --maillog's). */
static int watch_open_logs(struct watch *w, const struct watch_opts *o) {
  char err[1024];
  int k, rc;

  for (k = 0; k < o->n_logs; k++) {
    struct log_cursor c;
    struct tail_pos p, *resume = NULL;
    const char *path = o->logs[k];
    /* The position is stored under the absolute path (a relative one
     * would be another log when started elsewhere); links are kept as
     * they are: a link to a dated file follows the link. */
    if (path[0] != '/') {
      if (path_absolute(path, w->logpath[k], sizeof(w->logpath[k])) < 0) {
        cli_err("watch: --maillog %s: path too long", path);
        return EXIT_USAGE;
      }
      path = w->logpath[k];
    }
    rc = store_log_cursor_get(w->st, path, &c);
    if (rc < 0) {
      cli_err("watch: %s", store_errmsg(w->st));
      return EXIT_IOERR;
    }
    if (rc == 0 && o->jsonl[k]) {
      /* Events are written for us: the first start reads them all. */
      memset(&p, 0, sizeof(p));
      resume = &p;
    }
    if (rc == 1) {
      p.dev = (uint64_t)c.dev;
      p.ino = (uint64_t)c.ino;
      p.off = c.off;
      p.head = (uint64_t)c.head;
      p.head_len = c.head_len;
      resume = &p;
    }
    if ((rc = tail_open(&w->tail[k], path, resume, err, sizeof(err))) < 0) {
      cli_err("watch: %s %s", o->jsonl[k] ? "--jsonl" : "--maillog", err);
      return rc == -EACCES || rc == -EPERM ? EXIT_NOPERM : EXIT_NOINPUT;
    }
    if (resume) w->saved[k] = p;
    w->jsonl[k] = o->jsonl[k];
    w->n_logs++;
  }
  return 0;
}

/* The database, the capture and every interface, opened before anything
 * else (never a half-started daemon); then privileges dropped. 0 or an
 * exit code. */
static int watch_open(struct watch *w, struct watch_opts *o) {
  char *host = w->hostbuf, err[1024], name[512];
  int k, rc;

  o->cfg.ports = o->ports;
  o->cfg.local = &o->local;
  o->cfg.if_point = point_of_if;
  o->cfg.if_point_ctx = w;
  /* Run as root with --user: the database is handed to that user
   * through the descriptor that was checked, never by name. */
  if (o->user != NULL && geteuid() == 0)
    rc = store_open_for(&w->st, w->db, o->pw.pw_uid, o->pw.pw_gid, err,
                        sizeof(err));
  else
    rc = store_open(&w->st, w->db, STORE_RW, err, sizeof(err));
  if (rc < 0) {
    cli_err("watch: %s", err);
    return rc == -ELOOP || rc == -EMLINK || rc == -EPERM || rc == -EACCES
               ? EXIT_NOPERM : EXIT_CANTCREAT;
  }
  if (capture_new(&w->cap, &o->cfg, on_session, w) < 0) return EXIT_SOFTWARE;
  if (o->host) snprintf(host, sizeof(w->hostbuf), "%s", o->host);
  else gethostname(host, sizeof(w->hostbuf));
  host[sizeof(w->hostbuf) - 1] = '\0';
  w->host = host;
  w->point_prefix = o->point ? o->point : host;
  for (k = 0; k < o->n_if; k++) {
    const char *ifc = o->ifaces[k];
    int64_t pt;
    if (o->point && o->n_if == 1) snprintf(name, sizeof(name), "%s", o->point);
    else snprintf(name, sizeof(name), "%s:%s", w->point_prefix, ifc);
    if (store_point(w->st, name, host, ifc, NULL, NULL, &pt) < 0) {
      cli_err("watch: %s", store_errmsg(w->st));
      return EXIT_CANTCREAT;
    }
    metrics_point(&w->m, pt, name);
    rc = capture_open_live(w->cap, ifc, pt, err, sizeof(err));
    if (rc < 0) {
      cli_err("watch: %s", err);
      return rc == -ENODEV ? EXIT_NOINPUT : rc == -EPERM ? EXIT_NOPERM : EXIT_IOERR;
    }
    w->point[k] = pt;
    w->iface[k] = ifc;
    capture_local_add_iface(w->cap, ifc);
  }
  w->n = o->n_if;
  import_init(&w->imp, w->st, NULL);
  if ((rc = watch_open_logs(w, o)) != 0) return rc;
  if (o->ev.file || o->ev.syslog) {
    o->ev.host = host;
    if ((rc = events_open(&w->ev, w->st, &o->ev, err, sizeof(err))) < 0) {
      cli_err("watch: %s", err);
      return rc == -ELOOP || rc == -EMLINK || rc == -EPERM || rc == -EACCES
                 ? EXIT_NOPERM : EXIT_CANTCREAT;
    }
  }
  store_flush(w->st);
  /* The findings the last analysis left open, before the first of ours. */
  w->m.start_us = now_us();
  w->metrics_file = o->metrics_file;
  metrics_open_reset(&w->m);
  if (store_findings_open(w->st, metrics_open_add, &w->m) < 0) {
    cli_err("watch: %s", store_errmsg(w->st));
    return EXIT_IOERR;
  }
  return o->user != NULL ? drop_privileges(&o->pw) : 0;
}

/* Every handle on the loop: a poll per interface, the timers, signals,
 * systemd's watchdog, the metrics listener. 0 or an exit code. */
static int watch_handles(struct watch *w, const struct watch_opts *o,
                         uv_loop_t *loop) {
  static const int sigs[4] = {SIGINT, SIGTERM, SIGHUP, SIGUSR1};
  uint64_t wd_us = 0;
  int k;

  w->loop = loop;
  for (k = 0; k < w->n; k++) {
    uv_poll_init(loop, &w->poll[k], capture_live_fd(w->cap, k));
    w->poll[k].data = w;
    uv_poll_start(&w->poll[k], UV_READABLE, on_readable);
  }
  uv_timer_init(loop, &w->flush);
  w->flush.data = w;
  uv_timer_start(&w->flush, on_flush, (uint64_t)(o->flush_us / 1000),
                 (uint64_t)(o->flush_us / 1000));
  uv_timer_init(loop, &w->stats);
  w->stats.data = w;
  uv_timer_start(&w->stats, on_stats, (uint64_t)(o->stats_us / 1000),
                 (uint64_t)(o->stats_us / 1000));
  uv_timer_init(loop, &w->analyze);
  w->analyze.data = w;
  if (o->analyze_us > 0) {
    /* What 'analyze' does with the same options: every stored session
     * (or the window), the cache trusted for the answers' TTL unless
     * --max-age, --expect-egress and the resolvers as given. */
    w->acfg = o->ao.cfg;
    w->window_us = o->window_us;
    uv_timer_start(&w->analyze, on_analyze, (uint64_t)(o->analyze_us / 1000),
                   (uint64_t)(o->analyze_us / 1000));
  }
  for (k = 0; k < 4; k++) {
    uv_signal_init(loop, &w->sig[k]);
    w->sig[k].data = w;
    uv_signal_start(&w->sig[k], on_signal, sigs[k]);
  }
  uv_timer_init(loop, &w->logpoll);
  w->logpoll.data = w;
  if (w->n_logs > 0) uv_timer_start(&w->logpoll, on_logpoll, 0, LOG_POLL_MS);
  uv_timer_init(loop, &w->watchdog);
  w->watchdog.data = w;
  if (sd_watchdog_enabled(0, &wd_us) > 0 && wd_us >= 2000)
    uv_timer_start(&w->watchdog, on_watchdog, 0, wd_us / 2000);
  if (o->metrics != NULL) {
    char err[512];
    int rc = metrics_listen(&w->msrv, loop, o->metrics, metrics_fill, w, err,
                            sizeof(err));
    if (rc < 0) { /* a bad address; or the port is taken: try again later */
      cli_err("watch: --metrics: %s", err);
      return rc == -EINVAL ? EXIT_USAGE : EXIT_TEMPFAIL;
    }
    logf_("info", "metrics at http://%s/metrics", o->metrics);
  }
  return 0;
}

/* Ready: say so, run until a signal or an error, stop cleanly. Returns
 * the exit code. */
static int watch_run(struct watch *w, const struct watch_opts *o, int pid_fd) {
  int k;

  for (k = 0; k < w->n; k++)
    logf_("info", "%s: link type %s", w->iface[k], capture_live_linktype(w->cap, k));
  logf_("info", "listening on %d interface%s, database %s", w->n,
        w->n > 1 ? "s" : "", w->db);
  /* Every capture handle open, the database open and migrated, privileges
   * dropped: tell whoever waits, the pidfile (written only now) and
   * systemd (Type=notify). */
  if (pid_fd >= 0 && pidfile_write(pid_fd) < 0) {
    cli_err("watch: --pidfile %s: %s", o->pidfile, strerror(errno));
    return EXIT_CANTCREAT;
  }
  sd_notifyf(0, "READY=1\nMAINPID=%ld\nSTATUS=capturing on %d interface%s",
             (long)getpid(), w->n, w->n > 1 ? "s" : "");
  metrics_file_write(w);
  uv_run(w->loop, UV_RUN_DEFAULT);
  sd_notify(0, "STOPPING=1");
  if (!w->stopping && w->exit_code == 0) {
    shutdown_all(w);
  } else if (!w->stopping) {
    /* An error stopped us: keep what we have. */
    w->stopping = 1;
    if (w->st) store_flush(w->st);
  }
  /* A cancelled analysis closes its own handles (after its store reads
   * stop, when it was reading): let it finish before closing the rest. */
  while (w->analysis != NULL) uv_run(w->loop, UV_RUN_ONCE);
  if (w->n_logs > 0)
    logf_("info", "stopped: %llu sessions stored; %llu log lines read, %llu "
          "delivery attempts and failed connections stored",
          (unsigned long long)w->stored, (unsigned long long)w->logn.lines,
          (unsigned long long)w->logn.stored);
  else
    logf_("info", "stopped: %llu sessions stored", (unsigned long long)w->stored);
  if (w->imp.n.lines > 0)
    logf_("info", "events read: %llu lines, %llu sessions (%llu new), %llu "
          "capture counters, %llu finding events, %llu bad",
          (unsigned long long)w->imp.n.lines, (unsigned long long)w->imp.n.sessions,
          (unsigned long long)w->imp.n.stored, (unsigned long long)w->imp.n.stats,
          (unsigned long long)w->imp.n.findings, (unsigned long long)w->imp.n.bad);
  if (w->ev) {
    struct events_counts ec;
    events_counts(w->ev, &ec);
    logf_("info", "events written: %llu", (unsigned long long)ec.written);
  }
  return w->exit_code;
}

int cmd_watch(int argc, char **argv) {
  static struct watch_opts o;
  static struct watch w;
  uv_loop_t loop;
  char err[1024];
  int rc, k, pid_fd = -1;

  memset(&w, 0, sizeof(w));
  memset(&o, 0, sizeof(o));
  rc = watch_parse(&o, &w, argc, argv);
  if (rc != 0) return rc < 0 ? 0 : rc;
  /* The pidfile first: a second instance stops here, before it touches
   * the database or the first one's file. */
  if (o.pidfile != NULL) {
    pid_t holder;
    pid_fd = pidfile_take(o.pidfile, &holder, err, sizeof(err));
    if (pid_fd < 0) {
      cli_err("watch: --pidfile %s", err);
      return pid_fd == -EWOULDBLOCK ? EXIT_TEMPFAIL : cli_exit_for(pid_fd);
    }
  }
  rc = watch_open(&w, &o);
  if (rc == 0) {
    uv_loop_init(&loop);
    rc = watch_handles(&w, &o, &loop);
    if (rc == 0) rc = watch_run(&w, &o, pid_fd);
    metrics_close(w.msrv);
    uv_walk(&loop, close_any, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
  }
  capture_free(w.cap);
  events_free(w.ev);
  import_free(&w.imp);
  for (k = 0; k < w.n_logs; k++) tail_free(w.tail[k]);
  if (w.st && store_close(w.st) < 0 && rc == 0) rc = EXIT_IOERR;
  /* The lock says the file is ours: remove it (where we still may) and
   * never a file another instance holds. */
  if (pid_fd >= 0) {
    unlink(o.pidfile);
    close(pid_fd);
  }
  return rc;
}
