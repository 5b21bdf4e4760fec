/* egressaudit - cli/maillog.c: `read --maillog FILE...`: the MTA's log
 * (syslog, journalctl -o short-iso, Postfix's maillog_file; gzip'd
 * rotations read as they are; '-' for standard input) into the delivery
 * attempts of the database, tied to the captured sessions they rode on.
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include "cli/maillog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/lines.h"
#include "cli/render.h"
#include "common/types.h"
#include "common/util.h"
#include "logs/maillog.h"
#include "store/store.h"

#define LINE_MAX_BYTES 65536 /* longer lines are cut (counted) */

int maillog_tz_parse(const char *s, int32_t *off) {
  int h, m = 0, sign;
  char *end;

  if (s == NULL || strcmp(s, "local") == 0) {
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    *off = (int32_t)tm.tm_gmtoff;
    return 0;
  }
  if (strcmp(s, "UTC") == 0 || strcmp(s, "Z") == 0) {
    *off = 0;
    return 0;
  }
  if (s[0] != '+' && s[0] != '-') return -1;
  sign = s[0] == '-' ? -1 : 1;
  h = (int)strtol(s + 1, &end, 10);
  if (end == s + 1 || h > 14) return -1;
  if (end - (s + 1) == 4) { /* +0100 */
    m = h % 100;
    h /= 100;
  } else if (*end == ':') {
    char *e2;
    m = (int)strtol(end + 1, &e2, 10);
    if (e2 != end + 3) return -1;
    end = e2;
  }
  if (*end != '\0' || h > 14 || m > 59) return -1;
  *off = sign * (h * 3600 + m * 60);
  return 0;
}

static int put(struct store *st, const struct ml_event *ev, const char *tls,
               const char *line, size_t len) {
  struct delivery_row r;

  memset(&r, 0, sizeof(r));
  r.at_us = ev->at_us;
  r.line_hash = hash63(line, len); /* a line read again is the same row */
  r.host = ev->host;
  r.queue_id = ev->queue_id;
  r.rcpt_domain = ev->rcpt_domain;
  r.relay_name = ev->relay_name;
  r.relay_ip = ev->relay_ip;
  r.relay_port = ev->relay_port;
  r.conn_use = ev->conn_use;
  r.code = ev->code;
  r.delay = ev->delay;
  r.d_conn = ev->delays[2];
  r.d_xmit = ev->delays[3];
  r.dsn = ev->dsn;
  r.status = ev->kind == ML_CONNECT ? "connect" : ml_status_name(ev->status);
  r.reply = ev->reply;
  r.stage = ev->stage;
  r.src_ip = ev->src_ip;
  r.src_port = ev->src_port;
  r.tls = tls;
  return store_delivery_put(st, &r);
}

/* "Untrusted TLS connection established to NAME[IP]:PORT: TLSv1.3 with
 * cipher X (256/256 bits) ...": "Untrusted TLSv1.3 with cipher X",
 * remembered for the process's next delivery to that relay. */
static void tls_remember(struct ml_counts *n, const struct ml_event *ev) {
  unsigned i = ev->pid % ML_TLS_SEEN;
  const char *cut = strstr(ev->reply, " (");
  int len = cut ? (int)(cut - ev->reply) : (int)strlen(ev->reply);

  n->tls_seen[i].pid = ev->pid;
  snprintf(n->tls_seen[i].host, sizeof(n->tls_seen[i].host), "%s", ev->host);
  snprintf(n->tls_seen[i].relay_ip, sizeof(n->tls_seen[i].relay_ip), "%s",
           ev->relay_ip);
  n->tls_seen[i].relay_port = ev->relay_port;
  snprintf(n->tls_seen[i].tls, sizeof(n->tls_seen[i].tls), "%s %.*s", ev->tls,
           len, ev->reply);
}

/* The TLS the same process of the same host logged for this relay, once. */
static const char *tls_recall(struct ml_counts *n, const struct ml_event *ev) {
  unsigned i = ev->pid % ML_TLS_SEEN;

  if (ev->pid == 0 || n->tls_seen[i].pid != ev->pid ||
      strcmp(n->tls_seen[i].host, ev->host) != 0 ||
      strcmp(n->tls_seen[i].relay_ip, ev->relay_ip) != 0 ||
      n->tls_seen[i].relay_port != ev->relay_port)
    return NULL;
  n->tls_seen[i].pid = 0;
  return n->tls_seen[i].tls;
}

int maillog_ingest(struct store *st, const char *line, size_t len,
                   const struct ml_clock *clk, struct ml_counts *n) {
  struct ml_event ev;
  enum ml_kind k;
  int rc;

  n->lines++;
  k = maillog_line(line, len, clk, &ev);
  if (k == ML_DELIVERY) n->deliveries++;
  else if (k == ML_CONNECT) n->connects++;
  else if (k == ML_TLS) n->tls++;
  else if (k == ML_MESSAGE) n->messages++;
  else n->other++;
  if (k == ML_MESSAGE)
    return store_message_put(st, ev.host, ev.queue_id, ev.at_us,
                             ev.message_id[0] ? ev.message_id : NULL,
                             ev.sender_domain[0] ? ev.sender_domain : NULL);
  if (k == ML_TLS) {
    tls_remember(n, &ev);
    return 0;
  }
  if (k != ML_DELIVERY && k != ML_CONNECT) return 0;
  while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
  if ((rc = put(st, &ev, ev.tls[0] ? ev.tls : tls_recall(n, &ev), line, len)) < 0)
    return rc;
  n->stored += (uint64_t)rc;
  return 0;
}

struct one_log {
  struct store *st;
  const char *path;
  const struct ml_clock *clk;
  struct ml_counts *n;
};

static int on_line(const char *line, size_t len, int cut, uint64_t lineno,
                   void *ctx) {
  struct one_log *o = ctx;
  int rc;

  (void)lineno;
  if (cut) o->n->cut++;
  if ((rc = maillog_ingest(o->st, line, len, o->clk, o->n)) < 0) {
    cli_err("read: %s: %s", o->path, store_errmsg(o->st));
    return cli_exit_for(rc);
  }
  return 0;
}

/* One file. 0, or an exit code after a message naming it. */
static int read_one(struct store *st, const char *path,
                    const struct ml_clock *clk, struct ml_counts *n) {
  static char line[LINE_MAX_BYTES];
  struct one_log o = {st, path, clk, n};

  return lines_read(path, line, sizeof(line), on_line, &o);
}

int read_maillog(const char *db, int quiet, const char *tz, int nfiles,
                 char **files) {
  struct ml_clock clk;
  struct store *st;
  char err[1024];
  int i, rc, ex = 0;
  int64_t tied;

  clk.now_us = now_us();
  if (maillog_tz_parse(tz, &clk.tz_offset_s) < 0) {
    cli_err("read: --log-tz: '%s' is not UTC, local, or an offset like +01:00",
            tz);
    return EXIT_USAGE;
  }
  rc = store_open(&st, cli_db_path(db), STORE_RW, err, sizeof(err));
  if (rc < 0) {
    cli_err("read: %s", err);
    return cli_exit_for(rc);
  }
  for (i = 0; i < nfiles && ex == 0; i++) {
    struct ml_counts n;
    memset(&n, 0, sizeof(n));
    ex = read_one(st, files[i], &clk, &n);
    if (!quiet)
      fprintf(stderr, "%s: %llu lines: %llu delivery attempts and %llu failed "
              "connections (%llu of them new), %llu TLS lines, %llu message ids and "
              "senders, %llu others%s\n",
              files[i], (unsigned long long)n.lines,
              (unsigned long long)n.deliveries, (unsigned long long)n.connects,
              (unsigned long long)n.stored, (unsigned long long)n.tls,
              (unsigned long long)n.messages, (unsigned long long)n.other,
              n.cut ? " (some cut at 64 KiB)" : "");
  }
  if ((rc = store_flush(st)) < 0 && ex == 0) {
    cli_err("read: %s", store_errmsg(st));
    ex = cli_exit_for(rc);
  }
  if (ex == 0) {
    tied = store_deliveries_join(st, 0, INT64_MIN, INT64_MAX);
    if (tied < 0 || (rc = store_flush(st)) < 0) {
      cli_err("read: %s", store_errmsg(st));
      ex = EXIT_IOERR;
    } else if (!quiet) {
      fprintf(stderr, "  %lld delivery attempts newly tied to captured sessions "
              "(same receiver, within the session's time)\n", (long long)tied);
    }
  }
  if (store_close(st) < 0 && ex == 0) ex = EXIT_IOERR;
  return ex;
}

struct dl_out {
  int json, n;
};

static const char *or_dash(const char *s) { return s && s[0] ? s : "-"; }

static int on_delivery(const struct delivery_use *d, void *ctx) {
  struct dl_out *o = ctx;
  char t[TIME_STRLEN];

  if (o->json) {
    printf("%s{\"at\":\"%s\"", o->n ? "," : "", time_str(d->at_us, t));
    render_json_field("queue_id", d->queue_id);
    render_json_field("recipient_domain", d->rcpt_domain);
    render_json_field("relay", d->relay_name);
    render_json_field("relay_ip", d->relay_ip);
    render_json_field("status", d->status);
    printf(",\"code\":%d", d->code);
    render_json_field("dsn", d->dsn);
    render_json_field("reply", d->reply);
    render_json_field("stage", d->stage);
    render_json_field("src_ip", d->src_ip);
    render_json_field("echoed_ip", d->echoed_ip);
    render_json_field("helo", d->helo);
    render_json_field("message_id", d->message_id);
    render_json_field("sender_domain", d->sender_domain);
    render_json_field("tls", d->tls);
    putchar('}');
  } else {
    render_text_secs(d->at_us, t);
    printf("  %s  %-9s %-10s %-22s ", t, or_dash(d->status), or_dash(d->queue_id),
           or_dash(d->rcpt_domain));
    esc_fputs(stdout, or_dash(d->relay_name));
    printf(" [%s]\n", or_dash(d->relay_ip));
    if (d->message_id || d->sender_domain) {
      printf("      Message-ID ");
      esc_fputs(stdout, or_dash(d->message_id));
      printf(", from ");
      esc_fputs(stdout, or_dash(d->sender_domain));
      putchar('\n');
    }
    if (d->src_ip) {
      printf("      left from %s", d->src_ip);
      if (d->echoed_ip && strcmp(d->echoed_ip, d->src_ip) != 0)
        printf(" (seen as %s)", d->echoed_ip);
      if (d->helo) {
        printf(" as ");
        esc_fputs(stdout, d->helo);
      } else {
        printf(" (no SMTP dialogue: no EHLO sent)");
      }
      putchar('\n');
    } else {
      printf("      (no captured session: the egress address is not known)\n");
    }
    if (d->tls) {
      printf("      TLS: ");
      esc_fputs(stdout, d->tls);
      putchar('\n');
    }
    if (d->code || (d->reply && d->reply[0])) {
      printf("     ");
      if (d->code) printf(" %d", d->code);
      if (d->dsn) printf(" %s", d->dsn);
      if (d->reply) {
        putchar(' ');
        esc_fputs(stdout, d->reply);
      }
      if (d->stage && d->stage[0]) printf(" (at %s)", d->stage);
      putchar('\n');
    }
  }
  o->n++;
  return 0;
}

int maillog_history(struct store *st, const char *queue_id, const char *domain,
                    const char *message_id, int64_t since, int64_t until,
                    int json) {
  struct dl_out o = {json, 0};
  int64_t n;

  if (json) printf("{\"deliveries\":[");
  else {
    printf("delivery attempts from the MTA log");
    if (queue_id) printf(", queue id %s", queue_id);
    if (domain) {
      printf(", to ");
      esc_fputs(stdout, domain);
    }
    if (message_id) {
      printf(", Message-ID ");
      esc_fputs(stdout, message_id);
    }
    printf(":\n");
  }
  n = store_deliveries_of(st, queue_id, domain, message_id, since, until,
                          on_delivery, &o);
  if (n < 0) {
    cli_err("history: %s", store_errmsg(st));
    return EXIT_IOERR;
  }
  if (json) printf("]}\n");
  else if (n == 0)
    printf("  (none: 'read --maillog' the MTA's log first)\n");
  return ferror(stdout) ? EXIT_IOERR : 0;
}
