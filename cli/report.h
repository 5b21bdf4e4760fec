/* egressaudit - cli/report.h: what `report` loaded and joined, shared by
 * its renderers (report.c: text, json, csv, nagios; report_html.c: html).
 * SPDX-License-Identifier: MIT
 */
#ifndef EA_CLI_REPORT_H
#define EA_CLI_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "cli/render.h"
#include "store/store.h"

struct fnd {
  char *rule, *subject, *ident, *detail, *fix;
  int64_t first_us, last_us, count;
  int sev;                       /* enum severity                        */
  int attached; /* belongs to one of the identities listed */
  int server;   /* about one of our servers (subject: its address)      */
  int64_t id, opened_us;
  size_t seq;   /* position in severity order, for a stable sort         */
};
struct idn {
  char *ip, *iprev, *ptr, *helos, *sources, *echoed;
  int64_t sessions, rejected, starttls, tls_logged, first_us, last_us, dns_fetched;
  int unknown_direction, worst;
};
struct srvr {
  char *ip, *host;
  int64_t sessions;
};
struct hst {                     /* a host of the fleet (store_hosts)    */
  char *host, *points, *sources, *helos; /* lists: JSON arrays          */
  int64_t sessions, egress, rejected, last_session, last_heartbeat;
  int silent;                    /* no event for longer than --max-stale */
};
struct natp {
  char *in, *out, *pin, *pout;
  int64_t first_us, last_us, sessions;
};

struct report_opts {
  const char *db, *fmt, *point, *since_arg, *until_arg;
  const char *host;             /* --host: one host of a fleet           */
  const char *focus;            /* html for one egress address (history) */
  int64_t since, until, now;
  int64_t max_stale;            /* --max-stale; 0: off, -1: not given     */
  int fail_on, analyze, min_sev;
  int fail_on_given;
};

struct rep {
  struct srvr *s;
  size_t ns, caps;
  struct natp *n;
  size_t nn, capn;
  struct hst *h;                 /* with several hosts, or --host: by name */
  size_t nh, caph;
  struct fnd *f;                 /* most severe first, then rule, subject */
  size_t nf, capf;
  struct idn *i;                 /* by address (after report_join)      */
  size_t ni, capi;
  struct idn **shown;            /* the same, worst first               */
  struct fnd **by_ident;         /* the findings by identity address     */
  int64_t by_sev[4];
  struct report_meta m;
  int64_t now;
  int min_sev;                   /* --min-severity: findings shown        */
  struct tstyle ts;              /* text: width and colour                */
  char stale[256];               /* why the data is stale, or ""          */
  int oom;
};

/* "window: all sessions" or "window: A .. B UTC" into out. */
const char *rep_window(const struct report_opts *o, char *out, size_t cap);
/* The findings of identity ip, in severity order: [*first, *end). */
void rep_findings_of(const struct rep *R, const char *ip, size_t *first,
                     size_t *end);
/* Shown at --min-severity (counted and judged either way). */
int rep_shown(const struct rep *R, const struct fnd *f);
/* The iprev result of an identity listed, or "-". */
const char *rep_iprev_of(const struct rep *R, const char *ip);

/* report --format html: one self-contained page (no script, nothing
 * fetched) to stdout. Returns 0 or an exit code. */
int render_html(const struct rep *R, const struct report_opts *o);

/* history IP --format html: the same page for one egress address (its
 * lanes, its card, its NAT pairs). Returns 0 or an exit code. */
int report_html_focus(const char *db, const char *ip, int64_t since,
                      int64_t until);

#endif
