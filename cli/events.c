/* egressaudit - cli/events.c: see events.h.
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include "cli/events.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/finding.h"
#include "common/safefile.h"
#include "common/util.h"
#include "store/store.h"

#define EV_FACILITY_MAIL 2 /* RFC 5424 facility codes: mail system */

enum sink_kind { SINK_FILE, SINK_SYSLOG };

struct sink {
  enum sink_kind kind;
  char path[4096];    /* the file (absolute) or the socket               */
  char name[4200];    /* its cursor's key: "file:PATH", "syslog:PATH"     */
  int fd;             /* -1: not open (not connected) now                */
  struct event_cursor cur, saved;
  int warned;         /* the present failure was said                    */
};

struct events {
  struct sink sink[2];
  int n;
  enum events_syslog_fmt fmt;
  char host[256];     /* for RFC 5424's HOSTNAME: printable, no blanks   */
  const char *host_json;
  FILE *mem;          /* one event at a time, built here                 */
  char *buf;
  size_t len;
  struct events_counts counts;
};

static int sink_open(struct sink *k, char *err, size_t errlen) {
  int created;

  if (k->fd >= 0) return 0;
  if (k->kind == SINK_FILE) {
    /* Created where root may run us and the service account may write:
     * no link followed, a regular file of one name (safefile_open). */
    int fd = safefile_open(k->path, O_WRONLY | O_APPEND, 1, 0640, &created,
                           err, errlen);
    if (fd < 0) return fd;
    k->fd = fd;
    return 0;
  }
  {
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      snprintf(err, errlen, "socket: %s", strerror(errno));
      return -errno;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, k->path, strlen(k->path) + 1); /* checked at open */
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
      int e = errno;
      snprintf(err, errlen, "%s: %s", k->path, strerror(e));
      close(fd);
      return -e;
    }
    k->fd = fd;
    return 0;
  }
}

static void sink_close(struct sink *k) {
  if (k->fd >= 0) close(k->fd);
  k->fd = -1;
}

static int sink_add(struct events *e, struct store *st, enum sink_kind kind,
                    const char *path, char *err, size_t errlen) {
  struct sink *k = &e->sink[e->n];
  int rc;

  memset(k, 0, sizeof(*k));
  k->kind = kind;
  k->fd = -1;
  if (kind == SINK_SYSLOG && strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
    snprintf(err, errlen, "--events-syslog %s: path too long for a socket", path);
    return -ENAMETOOLONG;
  }
  /* A file is kept under its absolute name (the cursor's key); a socket
   * as given (its length was checked against sun_path above). */
  if (kind == SINK_FILE) {
    if (path_absolute(path, k->path, sizeof(k->path)) < 0) {
      snprintf(err, errlen, "--events %s: path too long", path);
      return -ENAMETOOLONG;
    }
  } else {
    snprintf(k->path, sizeof(k->path), "%s", path);
  }
  snprintf(k->name, sizeof(k->name), "%s:%s",
           kind == SINK_FILE ? "file" : "syslog", k->path);
  if ((rc = store_event_cursor_get(st, k->name, &k->cur)) < 0) {
    snprintf(err, errlen, "%s", store_errmsg(st));
    return rc;
  }
  if (rc == 0) {
    /* A new sink: from now on (what is stored already is history). */
    int64_t id = store_max_session_id(st), at = store_last_analysis(st);
    int64_t sid = store_max_stats_id(st);
    k->cur = (struct event_cursor){id, at, sid};
    if (id < 0 || at < 0 || sid < 0 ||
        store_event_cursor_put(st, k->name, &k->cur, now_us()) < 0 ||
        store_flush(st) < 0) {
      snprintf(err, errlen, "%s", store_errmsg(st));
      return -EIO;
    }
  }
  k->saved = k->cur;
  if (kind == SINK_FILE && (rc = sink_open(k, err, errlen)) < 0) {
    char why[600];
    snprintf(why, sizeof(why), "%s", err);
    snprintf(err, errlen, "--events %s", why);
    return rc;
  }
  if (kind == SINK_SYSLOG) sink_open(k, err, errlen); /* or at a pump */
  e->n++;
  return 0;
}

int events_open(struct events **out, struct store *st,
                const struct events_cfg *cfg, char *err, size_t errlen) {
  struct events *e = calloc(1, sizeof(*e));
  size_t i;
  int rc = 0;

  *out = NULL;
  if (e == NULL) return -ENOMEM;
  e->fmt = cfg->syslog_fmt;
  snprintf(e->host, sizeof(e->host), "%s", cfg->host ? cfg->host : "-");
  for (i = 0; e->host[i]; i++)
    if ((unsigned char)e->host[i] <= 0x20 || (unsigned char)e->host[i] >= 0x7F)
      e->host[i] = '_';
  if (e->host[0] == '\0') snprintf(e->host, sizeof(e->host), "-");
  e->host_json = cfg->host ? cfg->host : "";
  e->mem = open_memstream(&e->buf, &e->len);
  if (e->mem == NULL) rc = -ENOMEM;
  if (rc == 0 && cfg->file) rc = sink_add(e, st, SINK_FILE, cfg->file, err, errlen);
  if (rc == 0 && cfg->syslog)
    rc = sink_add(e, st, SINK_SYSLOG, cfg->syslog, err, errlen);
  if (rc < 0) {
    events_free(e);
    return rc;
  }
  *out = e;
  return 0;
}

/* RFC 5424 severities: a session is informational; a finding opened
 * carries its own (crit 2, warn 4, unknown 5, info 6); a closed one is a
 * notice. */
static int ev_severity(int sev, int closed) {
  static const int map[4] = {6, 4, 2, 5}; /* info, warn, crit, unknown */
  if (closed) return 5;
  return sev >= 0 && sev <= 3 ? map[sev] : 5;
}

/* Send the event in e->buf (one JSON object) to k: 0, or a negative
 * errno when the sink cannot take it now (nothing of it was written,
 * except a file's half line on a full disk). */
static int sink_send(struct events *e, struct sink *k, const char *msgid,
                     int severity) {
  char head[600];
  struct iovec iov[2];
  int hn = 0;
  ssize_t n;

  if (k->kind == SINK_FILE) {
    size_t off = 0;
    e->buf[e->len] = '\n'; /* open_memstream keeps a byte for its NUL */
    while (off < e->len + 1) {
      n = write(k->fd, e->buf + off, e->len + 1 - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        e->buf[e->len] = '\0';
        return n < 0 ? -errno : -EIO;
      }
      off += (size_t)n;
    }
    e->buf[e->len] = '\0';
    return 0;
  }
  {
    int pri = EV_FACILITY_MAIL * 8 + severity;
    time_t t = time(NULL);
    struct tm tm;
    char ts[64];
    if (e->fmt == EV_SYSLOG_5424) {
      time_str(now_us(), ts);
      hn = snprintf(head, sizeof(head), "<%d>1 %s %s egressaudit %ld %s - ",
                    pri, ts, e->host, (long)getpid(), msgid);
    } else {
      localtime_r(&t, &tm);
      strftime(ts, sizeof(ts), "%b %e %H:%M:%S", &tm);
      hn = snprintf(head, sizeof(head), "<%d>%s egressaudit[%ld]: ", pri, ts,
                    (long)getpid());
    }
  }
  iov[0].iov_base = head;
  iov[0].iov_len = (size_t)hn;
  iov[1].iov_base = e->buf;
  iov[1].iov_len = e->len;
  do {
    n = writev(k->fd, iov, 2);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    int rc = -errno;
    /* The daemon went (restart): connect again next time. */
    if (rc != -EAGAIN && rc != -ENOBUFS) sink_close(k);
    return rc;
  }
  return 0;
}

struct pump {
  struct events *e;
  struct sink *k;
  int64_t sent;
  int failed;          /* the sink refused: stop here                      */
  int64_t cur_at, done_at; /* findings: the time being sent, and the last
                              time whose every event was sent            */
};

/* host: the event's host; NULL for ours (a central database passing
 * imported sessions on keeps their senders' names). */
static void ev_begin(struct events *e, const char *type, const char *host) {
  rewind(e->mem);
  fputs("{\"type\":", e->mem);
  json_str(e->mem, type);
  fputs(",\"host\":", e->mem);
  json_str(e->mem, host ? host : e->host_json);
}

static int ev_end(struct pump *p, const char *msgid, int severity) {
  int rc;

  fflush(p->e->mem);
  if ((rc = sink_send(p->e, p->k, msgid, severity)) < 0) {
    p->failed = rc;
    return 1;
  }
  p->sent++;
  return 0;
}

static int on_session(const struct sess_row *r, void *ctx) {
  struct pump *p = ctx;

  if (r->json == NULL || r->json[0] != '{') return 0;
  ev_begin(p->e, "session", r->host);
  fputc(',', p->e->mem);
  fputs(r->json + 1, p->e->mem);
  if (ev_end(p, "session", 6) != 0) return 1;
  p->k->cur.session_id = r->id;
  return 0;
}

static void ev_time(FILE *f, const char *key, int64_t us);
static void ev_str(FILE *f, const char *key, const char *v);

/* A capture counter (watch records them every --stats-every): the host's
 * heartbeat, and its drops, for the central view. */
static int on_stats(const struct stats_row *r, void *ctx) {
  struct pump *p = ctx;
  FILE *f = p->e->mem;

  ev_begin(p->e, "stats", r->host);
  ev_str(f, "point", r->point);
  ev_time(f, "at", r->at);
  ev_str(f, "name", r->name);
  fprintf(f, ",\"value\":%lld}", (long long)r->value);
  if (ev_end(p, "stats", 6) != 0) return 1;
  p->k->cur.stats_id = r->id;
  return 0;
}

static void ev_time(FILE *f, const char *key, int64_t us) {
  char t[TIME_STRLEN];
  fprintf(f, ",\"%s\":", key);
  if (us > 0) json_str(f, time_str(us, t));
  else fputs("null", f);
}

static void ev_str(FILE *f, const char *key, const char *v) {
  fprintf(f, ",\"%s\":", key);
  if (v) json_str(f, v);
  else fputs("null", f);
}

static int on_finding(const struct finding_row *r, void *ctx) {
  struct pump *p = ctx;
  FILE *f = p->e->mem;
  int closed = r->status && strcmp(r->status, "closed") == 0;
  int64_t at = closed ? r->closed_us : r->opened_us;

  if (at > p->cur_at) {
    p->done_at = p->cur_at; /* every event before this time was sent */
    p->cur_at = at;
  }
  ev_begin(p->e, closed ? "finding-closed" : "finding-opened", NULL);
  ev_time(f, "at", at);
  fprintf(f, ",\"id\":%lld", (long long)r->id);
  ev_str(f, "rule", r->rule);
  ev_str(f, "severity", severity_name((unsigned)r->severity));
  ev_str(f, "subject", r->subject);
  ev_str(f, "ident", r->ident && r->ident[0] ? r->ident : NULL);
  ev_str(f, "scope", r->server ? "server" : "egress");
  ev_str(f, "detail", r->detail);
  ev_str(f, "fix", r->fix);
  ev_time(f, "first_seen", r->first_us);
  ev_time(f, "last_seen", r->last_us);
  fprintf(f, ",\"count\":%lld}", (long long)r->count);
  return ev_end(p, closed ? "finding-closed" : "finding-opened",
                ev_severity(r->severity, closed));
}

/* One sink's turn: sessions, then the findings of analyses since. 0, or
 * a negative errno from the store. */
static int pump_sink(struct events *e, struct sink *k, struct store *st,
                     int64_t budget, char *warn, size_t warnlen) {
  struct pump p = {e, k, 0, 0, 0, 0};
  struct sess_filter f;
  char why[600];
  int64_t rc, upto;

  if (k->fd < 0 && sink_open(k, why, sizeof(why)) < 0) {
    if (!k->warned)
      snprintf(warn, warnlen, "events to %s: %s (tried again)", k->name, why);
    k->warned = 1;
    e->counts.failures++;
    return 0;
  }
  /* Everything pruned, ids start again from 1: so do we. */
  if ((rc = store_max_session_id(st)) < 0) return (int)rc;
  if (rc < k->cur.session_id) k->cur.session_id = 0;
  if ((rc = store_max_stats_id(st)) < 0) return (int)rc;
  if (rc < k->cur.stats_id) k->cur.stats_id = 0;
  memset(&f, 0, sizeof(f));
  f.since = INT64_MIN;
  f.until = INT64_MAX;
  f.id_order = 1;
  f.after_id = k->cur.session_id;
  f.limit = budget;
  rc = store_sessions(st, &f, true, on_session, &p);
  if (rc < 0) return (int)rc;
  if (!p.failed &&
      (rc = store_stats_after(st, k->cur.stats_id, budget, on_stats, &p)) < 0)
    return (int)rc;
  if (!p.failed) {
    if ((upto = store_last_analysis(st)) < 0) return (int)upto;
    if (upto > k->cur.finding_at) {
      p.cur_at = p.done_at = k->cur.finding_at;
      rc = store_finding_events(st, k->cur.finding_at, upto, on_finding, &p);
      if (rc < 0) return (int)rc;
      k->cur.finding_at = p.failed ? p.done_at : upto;
    }
  }
  e->counts.written += (uint64_t)p.sent;
  if (p.failed) {
    e->counts.failures++;
    if (!k->warned)
      snprintf(warn, warnlen, "events to %s: %s; %lld written, the rest waits",
               k->name, strerror(-p.failed), (long long)p.sent);
    k->warned = 1;
  } else {
    k->warned = 0;
  }
  return 0;
}

int64_t events_pump(struct events *e, struct store *st, int64_t budget,
                    char *warn, size_t warnlen, char *err, size_t errlen) {
  int64_t before = (int64_t)e->counts.written;
  int i, rc, changed = 0;

  if (warnlen) warn[0] = '\0';
  for (i = 0; i < e->n; i++) {
    struct sink *k = &e->sink[i];
    if ((rc = pump_sink(e, k, st, budget, warn, warnlen)) < 0) goto fail;
    if (memcmp(&k->cur, &k->saved, sizeof(k->cur)) != 0) {
      if (store_event_cursor_put(st, k->name, &k->cur, now_us()) < 0) goto fail;
      k->saved = k->cur;
      changed = 1;
    }
  }
  /* The positions committed now: a crash after this writes nothing twice. */
  if (changed && store_flush(st) < 0) goto fail;
  return (int64_t)e->counts.written - before;
fail:
  snprintf(err, errlen, "%s", store_errmsg(st));
  return -EIO;
}

int events_reopen(struct events *e, char *err, size_t errlen) {
  int i, rc = 0;

  for (i = 0; i < e->n; i++) {
    sink_close(&e->sink[i]);
    e->sink[i].warned = 0;
    if (e->sink[i].kind == SINK_FILE && rc == 0)
      rc = sink_open(&e->sink[i], err, errlen);
  }
  return rc;
}

void events_counts(const struct events *e, struct events_counts *c) {
  *c = e->counts;
}

void events_free(struct events *e) {
  int i;

  if (e == NULL) return;
  for (i = 0; i < e->n; i++) sink_close(&e->sink[i]);
  if (e->mem) fclose(e->mem);
  free(e->buf);
  free(e);
}
