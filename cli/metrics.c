/* egressaudit - cli/metrics.c: see metrics.h. The listener is a small
 * HTTP/1.1 server on the loop: a fixed set of connection slots (no
 * allocation per request but the body), a head read up to
 * METRICS_HEAD_MAX and scanned once, an idle timer per connection, one
 * answer and close (Connection: close).
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include "cli/metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/finding.h"
#include "common/http.h"
#include "common/session.h"
#include "common/util.h"


/* --- the numbers ------------------------------------------------------- */

void metrics_point(struct metrics *m, int64_t id, const char *name) {
  unsigned k;

  for (k = 0; k < m->n_points; k++)
    if (m->point[k].id == id) return;
  if (m->n_points == METRICS_POINTS_MAX) return; /* counted as "other" */
  m->point[k].id = id;
  snprintf(m->point[k].name, sizeof(m->point[k].name), "%s", name);
  m->n_points++;
}

void metrics_session(struct metrics *m, int64_t point, unsigned state,
                     unsigned direction) {
  unsigned k;

  for (k = 0; k < m->n_points && m->point[k].id != point; k++)
    ;
  if (state > 7 || direction > 2) return;
  m->sessions[k][state][direction]++; /* k == n_points: "other" */
}

void metrics_open_reset(struct metrics *m) {
  m->n_open = 0;
  m->open_truncated = 0;
  m->have_open = 1;
}

int metrics_open_add(const char *rule, int severity, int64_t n, void *ctx) {
  struct metrics *m = ctx;

  if (m->n_open == METRICS_OPEN_MAX) {
    m->open_truncated = 1;
    return 1; /* stop the walk */
  }
  snprintf(m->open[m->n_open].rule, sizeof(m->open[0].rule), "%s",
           rule ? rule : "");
  m->open[m->n_open].severity = severity;
  m->open[m->n_open].n = n;
  m->n_open++;
  return 0;
}

static void render_sessions(const struct metrics *m, struct pbuf *b) {
  unsigned k, st, d;

  prom_family(b, "egressaudit_sessions_total", "counter",
              "SMTP sessions stored since start, by capture point, furthest "
              "state and direction.");
  for (k = 0; k <= m->n_points; k++)
    for (st = 0; st < 8; st++)
      for (d = 0; d < 3; d++) {
        const char *l[6] = {"point", k < m->n_points ? m->point[k].name : "other",
                            "state", sess_state_name(st),
                            "direction", sess_direction_name(d)};
        if (m->sessions[k][st][d] == 0) continue;
        prom_int(b, "egressaudit_sessions_total", l, 3,
                 (int64_t)m->sessions[k][st][d]);
      }
  prom_family(b, "egressaudit_sessions_known_total", "counter",
              "Sessions seen again that the database already held.");
  prom_int(b, "egressaudit_sessions_known_total", NULL, 0, (int64_t)m->known);
}

static void render_capture(const struct metrics *m, struct pbuf *b) {
  unsigned k;

  prom_family(b, "egressaudit_frames_total", "counter",
              "Frames the capture filter passed to us.");
  prom_int(b, "egressaudit_frames_total", NULL, 0, (int64_t)m->cap.frames);
  prom_family(b, "egressaudit_smtp_segments_total", "counter",
              "TCP segments to or from an SMTP port.");
  prom_int(b, "egressaudit_smtp_segments_total", NULL, 0,
           (int64_t)m->cap.flow.smtp_packets);
  prom_family(b, "egressaudit_flows_open", "gauge", "TCP flows tracked now.");
  prom_int(b, "egressaudit_flows_open", NULL, 0, m->cap.flow.active);
  prom_family(b, "egressaudit_flows_evicted_total", "counter",
              "Flows ended early because the flow or dialogue table was full.");
  prom_int(b, "egressaudit_flows_evicted_total", NULL, 0,
           (int64_t)(m->cap.flow.evicted + m->cap.flow.dialog_evicted));
  prom_family(b, "egressaudit_packets_received_total", "counter",
              "Packets the kernel's capture saw, by interface (pcap_stats).");
  for (k = 0; k < m->n_if; k++) {
    const char *l[2] = {"interface", m->iface[k].name};
    if (m->iface[k].ok)
      prom_int(b, "egressaudit_packets_received_total", l, 1,
               (int64_t)m->iface[k].recv);
  }
  prom_family(b, "egressaudit_packets_dropped_total", "counter",
              "Packets lost before we read them, by interface and by whom "
              "(kernel: our buffer was full; interface: the driver).");
  for (k = 0; k < m->n_if; k++) {
    const char *lk[4] = {"interface", m->iface[k].name, "by", "kernel"};
    const char *li[4] = {"interface", m->iface[k].name, "by", "interface"};
    if (!m->iface[k].ok) continue;
    prom_int(b, "egressaudit_packets_dropped_total", lk, 2,
             (int64_t)m->iface[k].drop);
    prom_int(b, "egressaudit_packets_dropped_total", li, 2,
             (int64_t)m->iface[k].ifdrop);
  }
  if (m->heartbeat_us > 0) {
    prom_family(b, "egressaudit_heartbeat_timestamp_seconds", "gauge",
                "When the capture counters were last written to the database.");
    prom_double(b, "egressaudit_heartbeat_timestamp_seconds", NULL, 0,
                (double)m->heartbeat_us / 1e6);
  }
}

static void render_analysis(const struct metrics *m, struct pbuf *b) {
  unsigned k;

  if (m->have_open) {
    prom_family(b, "egressaudit_findings_open", "gauge",
                "Open findings by rule and severity, as the last analysis "
                "left them.");
    for (k = 0; k < m->n_open; k++) {
      const char *l[4] = {"rule", m->open[k].rule, "severity",
                          m->open[k].severity >= 0
                              ? severity_name((unsigned)m->open[k].severity)
                              : "other"};
      prom_int(b, "egressaudit_findings_open", l, 2, m->open[k].n);
    }
  }
  prom_family(b, "egressaudit_dns_answers_total", "counter",
              "DNS answers fetched by the analyses since start, by outcome "
              "(NOERROR, NODATA: no such record, NXDOMAIN; temporary: SERVFAIL, "
              "REFUSED, TIMEOUT, ERROR).");
  for (k = 0; k < DNS_STATUS_COUNT_; k++) {
    const char *l[2] = {"rcode", dns_status_name(k)};
    prom_int(b, "egressaudit_dns_answers_total", l, 1, (int64_t)m->dns[k]);
  }
  prom_family(b, "egressaudit_dns_cache_hits_total", "counter",
              "DNS answers the analyses took from the database's cache.");
  prom_int(b, "egressaudit_dns_cache_hits_total", NULL, 0,
           (int64_t)m->dns_cached);
  prom_family(b, "egressaudit_analyses_total", "counter",
              "Analyses run since start, by result.");
  {
    const char *ok[2] = {"result", "ok"}, *ko[2] = {"result", "failed"};
    prom_int(b, "egressaudit_analyses_total", ok, 1, (int64_t)m->analyses_ok);
    prom_int(b, "egressaudit_analyses_total", ko, 1,
             (int64_t)m->analyses_failed);
  }
  if (m->last_analysis_us > 0) {
    const char *lr[2] = {"phase", "read"}, *ld[2] = {"phase", "dns"},
               *lj[2] = {"phase", "judge"};
    prom_family(b, "egressaudit_analysis_last_timestamp_seconds", "gauge",
                "When the last analysis that succeeded ended.");
    prom_double(b, "egressaudit_analysis_last_timestamp_seconds", NULL, 0,
                (double)m->last_analysis_us / 1e6);
    prom_family(b, "egressaudit_analysis_duration_seconds", "gauge",
                "How long the last analysis took, by phase.");
    prom_double(b, "egressaudit_analysis_duration_seconds", lr, 1, m->last_read_s);
    prom_double(b, "egressaudit_analysis_duration_seconds", ld, 1, m->last_dns_s);
    prom_double(b, "egressaudit_analysis_duration_seconds", lj, 1, m->last_judge_s);
  }
}

/* watch --maillog: is the log still being read, and does it rotate? */
static void render_logs(const struct metrics *m, struct pbuf *b) {
  static const char *const fam[4][2] = {
      {"egressaudit_log_lines_total", "Lines read from the MTA's log."},
      {"egressaudit_log_lines_cut_total", "Lines longer than 64 KiB, cut."},
      {"egressaudit_log_rotations_total", "Rotations by rename followed."},
      {"egressaudit_log_truncations_total", "Copy-and-truncate rotations followed."}};
  unsigned f, k;

  if (m->n_logs == 0) return;
  for (f = 0; f < 4; f++) {
    prom_family(b, fam[f][0], "counter", fam[f][1]);
    for (k = 0; k < m->n_logs && k < 8; k++) {
      const char *l[2] = {"path", m->log[k].path};
      uint64_t v = f == 0 ? m->log[k].lines : f == 1 ? m->log[k].cut
                   : f == 2 ? m->log[k].rotations : m->log[k].truncations;
      prom_int(b, fam[f][0], l, 1, (int64_t)v);
    }
  }
  prom_family(b, "egressaudit_log_attempts_stored_total", "counter",
              "Delivery attempts and failed connections the log gave.");
  prom_int(b, "egressaudit_log_attempts_stored_total", NULL, 0, (int64_t)m->log_stored);
  prom_family(b, "egressaudit_log_attempts_tied_total", "counter",
              "Logged attempts tied to a captured session.");
  prom_int(b, "egressaudit_log_attempts_tied_total", NULL, 0, (int64_t)m->log_tied);
}

/* The fleet: events written out (--events), events read in (--jsonl). */
static void render_events(const struct metrics *m, struct pbuf *b) {
  const struct {
    int on;
    const char *name, *help;
    uint64_t v;
  } c[] = {
      {m->events_on, "egressaudit_events_written_total",
       "Events written to --events and --events-syslog.", m->events_written},
      {m->events_on, "egressaudit_events_failures_total",
       "Times a sink refused events (they wait in the database).", m->events_failures},
      {m->import_on, "egressaudit_import_lines_total", "Event lines read from --jsonl.",
       m->import_lines},
      {m->import_on, "egressaudit_import_sessions_stored_total",
       "Sessions of other hosts stored (new ones).", m->import_stored},
      {m->import_on, "egressaudit_import_lines_bad_total",
       "Event lines refused (not JSON, a key missing or bad).", m->import_bad},
  };
  size_t k;

  for (k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
    if (!c[k].on) continue;
    prom_family(b, c[k].name, "counter", c[k].help);
    prom_int(b, c[k].name, NULL, 0, (int64_t)c[k].v);
  }
}

void metrics_render(const struct metrics *m, struct pbuf *b) {
  const char *v[2] = {"version", EA_VERSION};

  prom_family(b, "egressaudit_build_info", "gauge",
              "Always 1; the version in a label.");
  prom_int(b, "egressaudit_build_info", v, 1, 1);
  prom_family(b, "egressaudit_start_time_seconds", "gauge",
              "When this watch started.");
  prom_double(b, "egressaudit_start_time_seconds", NULL, 0,
              (double)m->start_us / 1e6);
  render_sessions(m, b);
  render_capture(m, b);
  render_analysis(m, b);
  render_logs(m, b);
  render_events(m, b);
}

/* --- the endpoint ------------------------------------------------------ */

struct conn {
  struct metrics_srv *srv;
  uv_tcp_t tcp;
  uv_timer_t idle;
  uv_write_t wr;
  uv_shutdown_t sd;
  int draining;       /* answered: reading to the end, discarding        */
  int used, closing;  /* closing: handles still to close (0..2)          */
  int answering;      /* the head is in: no longer evictable             */
  uint64_t seq;       /* accept order                                    */
  size_t len, scanned;
  char head[METRICS_HEAD_MAX];
  char status[256];   /* status line and headers                         */
  struct pbuf body;
};

struct metrics_srv {
  uv_loop_t *loop;
  uv_tcp_t listener;
  metrics_fill_fn fill;
  void *ctx;
  int pending;        /* a connection waits in the backlog for a slot    */
  int closing;        /* metrics_close: handles still to close           */
  uint64_t accepted;
  struct conn conn[METRICS_CONNS_MAX];
};

static void srv_maybe_free(struct metrics_srv *s) {
  if (s->closing == 0) free(s);
}

static void on_srv_closed(uv_handle_t *h) {
  struct metrics_srv *s = h->data;
  s->closing--;
  srv_maybe_free(s);
}

static void accept_one(struct metrics_srv *s);

static void on_conn_closed(uv_handle_t *h) {
  struct conn *c = h->data;
  struct metrics_srv *s = c->srv;

  if (--c->closing > 0) return;
  pbuf_free(&c->body);
  c->used = 0;
  if (s->closing > 0) { /* metrics_close: the slot went with the server */
    s->closing--;
    srv_maybe_free(s);
    return;
  }
  if (s->pending) accept_one(s);
}

static void conn_close(struct conn *c) {
  if (c->closing) return;
  c->closing = 2;
  uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
  uv_close((uv_handle_t *)&c->idle, on_conn_closed);
}

static void on_alloc(uv_handle_t *h, size_t want, uv_buf_t *b);
static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b);

static void on_shut(uv_shutdown_t *sd, int status) {
  (void)sd;
  (void)status; /* the close comes from the read side or the idle timer */
}

/* Answered: send our FIN, then read what the client still sends until
 * its end (or the idle timer), so that unread bytes (a refused head of
 * 26 KB) do not turn our close into a reset that destroys the answer. */
static void on_written(uv_write_t *w, int status) {
  struct conn *c = w->data;

  if (status < 0) {
    conn_close(c);
    return;
  }
  c->draining = 1;
  c->sd.data = c;
  if (uv_shutdown(&c->sd, (uv_stream_t *)&c->tcp, on_shut) < 0 ||
      uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0)
    conn_close(c);
}

static void answer(struct conn *c, int code, const char *reason, int head_only,
                   int allow) {
  uv_buf_t b[2];
  size_t n;

  uv_read_stop((uv_stream_t *)&c->tcp);
  c->answering = 1;
  if (code != 200) {
    static const char *const why = "egressaudit: try GET /metrics\n";
    pbuf_free(&c->body);
    c->body.p = strdup(why);
    c->body.len = c->body.p ? strlen(why) : 0;
  }
  n = (size_t)snprintf(c->status, sizeof(c->status),
                       "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
                       "Content-Length: %zu\r\n%sConnection: close\r\n\r\n",
                       code, reason,
                       code == 200 ? PROM_CONTENT_TYPE : "text/plain; charset=utf-8",
                       c->body.len, allow ? "Allow: GET, HEAD\r\n" : "");
  b[0] = uv_buf_init(c->status, (unsigned)n);
  b[1] = uv_buf_init(c->body.p ? c->body.p : c->status, (unsigned)c->body.len);
  c->wr.data = c;
  if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, b,
               head_only || c->body.len == 0 ? 1 : 2, on_written) < 0)
    conn_close(c);
}

static void on_request(struct conn *c) {
  struct http_request r;
  int code = http_request_line(c->head, c->len, &r);
  int head_only = strcmp(r.method, "HEAD") == 0;

  if (code == 414) answer(c, 414, "URI Too Long", 0, 0);
  else if (code == 505) answer(c, 505, "HTTP Version Not Supported", 0, 0);
  else if (code != 0) answer(c, 400, "Bad Request", 0, 0);
  else if (strcmp(r.method, "GET") != 0 && !head_only)
    answer(c, 405, "Method Not Allowed", 0, 1);
  else if (strcmp(r.path, "/metrics") != 0) answer(c, 404, "Not Found", 0, 0);
  else {
    c->srv->fill(&c->body, c->srv->ctx);
    answer(c, 200, "OK", head_only, 0);
  }
}

static void on_alloc(uv_handle_t *h, size_t want, uv_buf_t *b) {
  struct conn *c = h->data;
  (void)want;
  if (c->draining) *b = uv_buf_init(c->head, sizeof(c->head));
  else *b = uv_buf_init(c->head + c->len, (unsigned)(sizeof(c->head) - c->len));
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b) {
  struct conn *c = st->data;
  (void)b;

  if (n < 0) {
    conn_close(c);
    return;
  }
  if (c->draining) return;
  c->len += (size_t)n;
  if (http_head_end(c->head, c->len, &c->scanned) > 0) on_request(c);
  else if (c->len == sizeof(c->head))
    answer(c, 431, "Request Header Fields Too Large", 0, 0);
}

static void on_idle(uv_timer_t *t) { conn_close(t->data); }

static void accept_one(struct metrics_srv *s) {
  struct conn *c = NULL;
  unsigned k;

  for (k = 0; k < METRICS_CONNS_MAX && c == NULL; k++)
    if (!s->conn[k].used) c = &s->conn[k];
  if (c == NULL) {
    /* Every slot taken: libuv holds the new one until uv_accept, which
     * on_conn_closed calls when a slot frees. Free one now: the oldest
     * that has not sent its whole head (a scraper sends it at once; idle
     * connections must not lock Prometheus out for METRICS_IDLE_MS). */
    struct conn *old = NULL;
    s->pending = 1;
    for (k = 0; k < METRICS_CONNS_MAX; k++) {
      struct conn *o = &s->conn[k];
      if (o->closing || o->answering) continue;
      if (old == NULL || o->seq < old->seq) old = o;
    }
    if (old != NULL) conn_close(old);
    return;
  }
  s->pending = 0;
  memset(c, 0, sizeof(*c));
  c->srv = s;
  c->used = 1;
  c->seq = ++s->accepted;
  uv_tcp_init(s->loop, &c->tcp);
  uv_timer_init(s->loop, &c->idle);
  c->tcp.data = c->idle.data = c;
  if (uv_accept((uv_stream_t *)&s->listener, (uv_stream_t *)&c->tcp) < 0 ||
      uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0) {
    conn_close(c);
    return;
  }
  uv_timer_start(&c->idle, on_idle, METRICS_IDLE_MS, 0);
}

static void on_connection(uv_stream_t *l, int status) {
  if (status < 0) return;
  accept_one(l->data);
}

/* "1.2.3.4:80" or "[::1]:80" into sa. 0 or -1. */
static int parse_addr(const char *s, struct sockaddr_storage *sa) {
  char host[64];
  const char *colon = strrchr(s, ':'), *h = s;
  size_t hl;
  char *end;
  unsigned long port;

  if (colon == NULL) return -1;
  port = strtoul(colon + 1, &end, 10);
  if (colon[1] == '\0' || *end != '\0' || port == 0 || port > 65535) return -1;
  hl = (size_t)(colon - s);
  if (hl > 1 && s[0] == '[' && s[hl - 1] == ']') {
    h = s + 1;
    hl -= 2;
  }
  if (hl == 0 || hl >= sizeof(host)) return -1;
  memcpy(host, h, hl);
  host[hl] = '\0';
  if (h != s)
    return uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)sa) == 0 ? 0 : -1;
  return uv_ip4_addr(host, (int)port, (struct sockaddr_in *)sa) == 0 ? 0 : -1;
}

int metrics_listen(struct metrics_srv **out, uv_loop_t *loop,
                   const char *addr, metrics_fill_fn fill, void *ctx,
                   char *err, size_t errlen) {
  struct sockaddr_storage sa;
  struct metrics_srv *s;
  int rc;

  *out = NULL;
  memset(&sa, 0, sizeof(sa));
  if (parse_addr(addr, &sa) < 0) {
    snprintf(err, errlen, "'%s' is not ADDRESS:PORT (numeric: 127.0.0.1:9187, "
             "[::1]:9187)", addr);
    return -EINVAL;
  }
  if ((s = calloc(1, sizeof(*s))) == NULL) {
    snprintf(err, errlen, "out of memory");
    return -ENOMEM;
  }
  s->loop = loop;
  s->fill = fill;
  s->ctx = ctx;
  uv_tcp_init(loop, &s->listener);
  s->listener.data = s;
  if ((rc = uv_tcp_bind(&s->listener, (const struct sockaddr *)&sa, 0)) < 0 ||
      (rc = uv_listen((uv_stream_t *)&s->listener, 16, on_connection)) < 0) {
    snprintf(err, errlen, "cannot listen on %s: %s", addr, uv_strerror(rc));
    s->closing = 1;
    uv_close((uv_handle_t *)&s->listener, on_srv_closed);
    return rc;
  }
  *out = s;
  return 0;
}

void metrics_close(struct metrics_srv *s) {
  unsigned k;

  if (s == NULL) return;
  s->closing = 1;
  s->pending = 0;
  uv_close((uv_handle_t *)&s->listener, on_srv_closed);
  for (k = 0; k < METRICS_CONNS_MAX; k++) {
    struct conn *c = &s->conn[k];
    if (!c->used) continue;
    s->closing++; /* given back by on_conn_closed */
    if (!c->closing) conn_close(c);
  }
}
