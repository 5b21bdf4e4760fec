/* egressaudit - cli/metrics.h: what `watch` tells Prometheus. The daemon
 * keeps the counters (struct metrics, plain numbers it updates as it
 * goes); metrics_render writes them in the text exposition format; the
 * listener serves that on watch's loop (`--metrics ADDR:PORT`, GET
 * /metrics), and metrics_write_file leaves it for node_exporter's
 * textfile collector (`--metrics-file`).
 * SPDX-License-Identifier: MIT
 */
#ifndef EA_METRICS_H
#define EA_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "capture/capture.h"
#include "common/dns.h"
#include "common/prom.h"

#define METRICS_POINTS_MAX 64  /* sessions of more points: point="other"   */
#define METRICS_OPEN_MAX 128   /* (rule, severity) pairs kept              */
#define METRICS_CONNS_MAX 8    /* scrapes served at once; more wait in the
                                  kernel's backlog                          */
#define METRICS_HEAD_MAX 8192  /* request head; longer: 431                */
#define METRICS_IDLE_MS 10000  /* a connection that says nothing is closed */

struct metrics {
  int64_t start_us;
  unsigned n_points;
  struct {
    int64_t id;
    char name[96];
  } point[METRICS_POINTS_MAX];
  /* stored sessions by point (the last row: any other), state, direction */
  uint64_t sessions[METRICS_POINTS_MAX + 1][8][3];
  uint64_t known;               /* sessions the database had already       */
  unsigned n_if;
  struct {
    const char *name;
    int ok;                     /* the kernel's counters could be read     */
    uint64_t recv, drop, ifdrop;
  } iface[CAPTURE_LIVE_MAX];
  struct capture_counters cap;
  int64_t heartbeat_us;         /* the kernel's counters last recorded     */
  int have_open;                /* open findings read at least once        */
  unsigned n_open;
  int open_truncated;
  struct {
    char rule[48];
    int severity;
    int64_t n;
  } open[METRICS_OPEN_MAX];
  uint64_t dns[DNS_STATUS_COUNT_], dns_cached;
  uint64_t analyses_ok, analyses_failed;
  int64_t last_analysis_us;
  double last_read_s, last_dns_s, last_judge_s;
  /* watch --maillog: per log followed */
  unsigned n_logs;
  struct {
    const char *path;
    uint64_t lines, cut, rotations, truncations;
  } log[8];
  uint64_t log_stored;          /* attempts and failed connections stored */
  uint64_t log_tied;            /* attempts tied to captured sessions      */
  /* watch --events, --events-syslog; --jsonl */
  int events_on, import_on;
  uint64_t events_written, events_failures;
  uint64_t import_lines, import_stored, import_bad;
};

/* Name a capture point (its sessions are labelled with it). */
void metrics_point(struct metrics *m, int64_t id, const char *name);
/* One session stored. */
void metrics_session(struct metrics *m, int64_t point, unsigned state,
                     unsigned direction);
/* Forget the open findings (an analysis is about to list them again). */
void metrics_open_reset(struct metrics *m);
/* One (rule, severity) pair of open findings: store_findings_open's fn. */
int metrics_open_add(const char *rule, int severity, int64_t n, void *m);
/* Everything, in the exposition format. */
void metrics_render(const struct metrics *m, struct pbuf *b);

/* The endpoint. fill writes the body of each scrape. addr is numeric:
 * "127.0.0.1:9187", "[::1]:9187", "0.0.0.0:9187". 0, or a negative
 * errno with a reason in err. */
struct metrics_srv;
typedef void (*metrics_fill_fn)(struct pbuf *b, void *ctx);
int metrics_listen(struct metrics_srv **out, uv_loop_t *loop,
                   const char *addr, metrics_fill_fn fill, void *ctx,
                   char *err, size_t errlen);
/* Close the listener and every connection; the memory goes when the loop
 * has run their close callbacks. NULL-safe. */
void metrics_close(struct metrics_srv *s);

#endif
