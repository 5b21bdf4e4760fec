/* egressaudit - store/store.h: the egress history in SQLite.
 * The only module that includes sqlite3.h; all SQL text lives in store/.
 * Writes are batched in transactions; reads go through iterators.
 * SPDX-License-Identifier: MIT
 */
#ifndef EA_STORE_H
#define EA_STORE_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/session.h"

struct store;

/* STORE_RW creates the database when missing; STORE_RW_EXISTING writes
 * (and migrates) only one that exists: analyze, prune, a typo in --db must
 * not leave an empty database behind and report on it. */
enum store_mode { STORE_RW = 0, STORE_RO = 1, STORE_RW_EXISTING = 2 };

/* Open (creating and migrating when writable) the database at path. On
 * failure returns a negative errno and a one-line reason in err.
 * The database and its -wal/-shm/-journal must not be symbolic links or
 * hard links (-ELOOP, -EMLINK); a new database is created 0640 in a 0750
 * directory. Where another account can write in the directory (root
 * opening the service account's state directory) SQLite is told to follow
 * no link anywhere in the path. */
int store_open(struct store **out, const char *path, enum store_mode mode,
               char *err, size_t errlen);

/* As store_open (STORE_RW), then hand the database and its companions to
 * uid:gid (when running as root: watch --user) through the descriptors
 * that were checked, never by name. A file that existed before, owned by
 * someone else, in a directory another account can write, is refused
 * (-EPERM) rather than handed over. */
int store_open_for(struct store **out, const char *path, uid_t uid, gid_t gid,
                   char *err, size_t errlen);

/* Commit what is pending and close; NULL-safe. */
int store_close(struct store *s);

/* Last error text of the store. */
const char *store_errmsg(const struct store *s);
/* Abort the statement s is running, from another thread (sqlite3_interrupt):
 * it fails with an error; s stays usable. */
void store_interrupt(struct store *s);

/* The database file's full path (for a second connection). */
const char *store_path(const struct store *s);

/* Find or create the capture point called name; file and linktype describe
 * it (may be NULL). */
int store_point(struct store *s, const char *name, const char *host,
                const char *iface, const char *file, const char *linktype,
                int64_t *id);

/* Queue one session (borrowed) for writing. Returns 1 when it is new, 0
 * when the database already holds it (same point, first packet time and
 * 5-tuple), negative on error. */
int store_session_put(struct store *s, const struct session *ss);

/* Record a capture counter for a point at time at. */
int store_stat_put(struct store *s, int64_t point, int64_t at,
                   const char *name, int64_t value);

/* Commit the open batch. On failure the batch is gone (rolled back) and
 * the error says why, naming the full file system on -ENOSPC. */
int store_flush(struct store *s);

/* New sessions this connection has committed (store_session_put said 1
 * and the batch's COMMIT went through): what is really stored. */
uint64_t store_committed(const struct store *s);

/* A bulk reader (read --jsonl): commit every STORE_BULK_ROWS sessions or
 * STORE_BULK_MS instead. A big history's indexes take new keys all over
 * (10,000 sources, receivers, HELO names): each commit writes every leaf
 * page it touched, so ten times the rows per commit writes about half the
 * pages per row. Readers see the rows later; nobody waits on a read. */
void store_bulk(struct store *s);

/* Filters for session queries; NULL / 0 means "any". */
struct sess_filter {
  const char *ip;     /* source address, or the address a receiver echoed */
  const char *helo;   /* any EHLO/HELO name of the session                */
  const char *dst;    /* destination address or banner host name          */
  const char *state;
  const char *direction; /* egress, inbound, unknown                     */
  const char *outcome;   /* accepted, rejected, deferred, tls, refused,
                            no-answer, incomplete                         */
  const char *point;
  int64_t since, until; /* microseconds; INT64_MIN / INT64_MAX for open */
  int64_t limit;        /* 0: no limit                                   */
  int id_order;         /* set: only rows stored after after_id, in the
                           order they were stored (watch --events)        */
  int64_t after_id;
};

/* One row of a session query. Strings are escaped text (store escapes every
 * byte that came from the wire); NULL when absent. Valid during the call. */
struct sess_row {
  int64_t first_us, last_us;
  const char *point, *src_ip, *dst_ip, *state, *end, *banner, *helo,
      *ehlo_reply, *echoed_ip, *last_reply;
  const char *reject; /* first 4xx/5xx reply, "550 5.7.1 text", or NULL  */
  const char *direction;
  const char *banner_host;
  const char *outcome; /* what became of the mail (sess_filter.outcome)   */
  const char *logged;  /* the MTA log's last attempt on it: "550 5.7.1
                          text", or NULL (read --maillog)                */
  int64_t id;         /* the row's id: the order sessions were stored */
  const char *host;   /* its capture point's host (an imported one's
                         sender), or NULL                              */
  int64_t src_port, dst_port, vlan, starttls, last_code, n_replies;
  const char *json; /* the row as one JSON object (DESIGN.md keys)      */
};

typedef int (*sess_row_fn)(const struct sess_row *r, void *ctx);

/* Call fn for each session matching f, oldest first; stops early when fn
 * returns non-zero. Returns the number of rows, or a negative errno. */
int64_t store_sessions(struct store *s, const struct sess_filter *f,
                       bool want_json, sess_row_fn fn, void *ctx);

/* --- analysis ------------------------------------------------------- */

#include "common/dns.h"
#include "common/finding.h"

/* A cached DNS answer for (name, type): returns 1 and fills out (and
 * *fetched, *expires), 0 when there is none, negative on error. */
int store_dns_get(struct store *s, const char *name, int type,
                  struct dns_result *out, int64_t *fetched, int64_t *expires);

/* Cache an answer; expires is computed from its TTL (temporary failures
 * expire at once). */
int store_dns_put(struct store *s, const struct dns_result *r, int64_t now,
                  const char *resolver);

/* Egress and unknown-direction sessions in [since, until], grouped by
 * (source, echoed address, first HELO, direction), twins left out (those
 * store_exclude_sessions named, and the fold's). Strings NULL when absent;
 * an empty HELO or echo reads as absent. All history is read from the
 * fold and the sessions after it when there is one (store/fold.c). */
struct egress_group {
  const char *src_ip, *echoed_ip, *helo, *direction;
  const char *points; /* capture points, comma-separated                 */
  int64_t sessions, first_us, last_us;
  int64_t rejected;  /* sessions with a 4xx/5xx reply                    */
  int64_t starttls;  /* sessions that went to TLS                       */
  int64_t tls_logged; /* of those, the ones the MTA's log gave an outcome */
  /* Receivers (distinct addresses) that echoed echoed_ip for src_ip in
   * the window, counted up to 2 (ECHO_CONFIRM_MIN), and the lowest of
   * this group's address and banner name. */
  int64_t echo_receivers;
  const char *receiver_ip, *receiver_host;
};
typedef int (*egress_group_fn)(const struct egress_group *g, void *ctx);
int64_t store_egress_groups(struct store *s, int64_t since, int64_t until,
                            egress_group_fn fn, void *ctx);

/* 4xx/5xx replies of egress and unknown-direction sessions. */
struct reject_row {
  const char *src_ip, *echoed_ip, *dst_ip, *banner_host, *enhanced, *text;
  int64_t first_us, code;
  int from_log;   /* seen in the MTA's log (not on the wire: TLS, or no
                     capture); src_ip is then the session's it was tied
                     to, or NULL                                          */
};
typedef int (*reject_fn)(const struct reject_row *r, void *ctx);
/* The rdns-reject rule's sums for one address (the fold keeps them). */
struct reject_sum {
  const char *ip, *detail, *fix;
  int64_t first_us, last_us, count;
};
typedef int (*reject_sum_fn)(const struct reject_sum *s, void *ctx);
int64_t store_rejects(struct store *s, int64_t since, int64_t until,
                      reject_fn fn, void *ctx);

/* Per source address with at least one attempt that got no answer or a
 * reset: such sessions, to how many receivers, and sessions that reached
 * the banner. */
struct port25_row {
  const char *src_ip;     /* from_log: the host whose MTA logged them    */
  int64_t blocked_dsts, blocked, answered, first_us, last_us;
  int from_log;           /* "connect to ...: Connection timed out" lines
                             of the MTA log, not captured SYNs           */
};
typedef int (*port25_fn)(const struct port25_row *r, void *ctx);

/* The identity as this analysis saw it (each list a JSON array of
 * strings: common/util.h jlist). */
struct identity_row {
  const char *ip, *iprev, *ptr, *helos, *sources, *echoed, *points;
  int64_t sessions, rejected, starttls, tls_logged, first_us, last_us;
  int64_t dns_fetched; /* when the oldest DNS answer judged was fetched  */
  int unknown_direction;
};
int store_identity_put(struct store *s, const struct identity_row *r,
                       int64_t at);

/* Our servers as clients saw them: inbound sessions grouped by server
 * address and the host name of its banner. */
struct server_row {
  const char *ip, *banner_host;
  int64_t sessions, first_us, last_us;
};
typedef int (*server_fn)(const struct server_row *r, void *ctx);
int64_t store_inbound_servers(struct store *s, int64_t since, int64_t until,
                              server_fn fn, void *ctx);

/* --- report ------------------------------------------------------------- */

/* The hosts the capture points belong to (a fleet's central database:
 * each imported host's points are HOST:POINT; "" for points read here
 * from files), with what they sent in [since, until]. */
struct host_row {
  const char *host;           /* "" for points without one               */
  const char *points;         /* JSON array of point names               */
  const char *sources, *helos; /* JSON arrays (at most 16 each): egress  */
  int64_t sessions, egress, rejected;
  int64_t last_session;       /* newest session's start, 0 when none     */
  int64_t last_heartbeat;     /* newest capture counter, 0 when none     */
};
typedef int (*host_fn)(const struct host_row *r, void *ctx);
int64_t store_hosts(struct store *s, int64_t since, int64_t until,
                    const char *only, host_fn fn, void *ctx);
/* How many hosts the points name (0 or 1: one host's own database). */
int64_t store_host_count(struct store *s);

/* Identities seen in [since, until] by the last analyses, worst first is
 * the caller's business; points: a JSON array of capture point names, or
 * NULL for all (only identities seen at one of them). Rows are borrowed
 * for the call. */
typedef int (*identity_fn)(const struct identity_row *r, void *ctx);
int64_t store_identities(struct store *s, int64_t since, int64_t until,
                         const char *point, identity_fn fn, void *ctx);

struct finding_row {
  const char *rule, *subject, *ident, *detail, *fix, *status;
  int severity;                 /* enum severity; -1 when not one        */
  int64_t id;                   /* stable while the row lives (reopened
                                   findings keep theirs)                  */
  int64_t opened_us;            /* when it was last opened               */
  int server;                   /* about one of our servers (its subject:
                                   the server's address), not our egress */
  int64_t first_us, last_us, count, closed_us;
};
typedef int (*finding_fn_row)(const struct finding_row *r, void *ctx);
/* The findings analyses in (after, upto] opened or closed (an analysis's
 * own: after = at - 1, upto = at), oldest event first. */
int64_t store_finding_events(struct store *s, int64_t after, int64_t upto,
                             finding_fn_row fn, void *ctx);
/* When the newest analysis ran, 0 when none did (or a negative errno). */
int64_t store_last_analysis(struct store *s);

/* Open findings touching [since, until], by rule and subject. */
int64_t store_findings(struct store *s, int64_t since, int64_t until,
                       finding_fn_row fn, void *ctx);

/* The capture counters recorded after row after_id, in that order (at
 * most limit): watch --events sends them as a host's heartbeat. */
struct stats_row {
  int64_t id, at, value;
  const char *point, *name, *host; /* host: the point's, or NULL */
};
typedef int (*stats_fn)(const struct stats_row *r, void *ctx);
int64_t store_stats_after(struct store *s, int64_t after_id, int64_t limit,
                          stats_fn fn, void *ctx);
int64_t store_max_stats_id(struct store *s);

/* How many findings are open now, by rule and severity (the metrics):
 * fn(rule, severity, count, ctx) per pair, by rule. Rows seen or a
 * negative errno. */
typedef int (*open_count_fn)(const char *rule, int severity, int64_t n,
                             void *ctx);
int64_t store_findings_open(struct store *s, open_count_fn fn, void *ctx);

/* A delivery attempt as the MTA logged it (logs/maillog.h, flattened
 * here so that the store needs no parser): status "sent", "deferred",
 * "bounced", "expired", "other", or "connect" for a connection that
 * failed. */
struct delivery_row {
  int64_t at_us, line_hash;
  const char *host, *queue_id, *rcpt_domain, *relay_name, *relay_ip;
  int relay_port, conn_use, code;
  double delay, d_conn, d_xmit;   /* delays c and d: connect, transmit   */
  const char *dsn, *status, *reply, *stage;
  const char *tls;                /* the TLS of the connection (Exim's X=,
                                     Postfix's TLS line); NULL: none seen */
  const char *src_ip;             /* our end, when logged (Exim's I=)    */
  int src_port;
};
/* 1 stored, 0 already there (the same line read again), or a negative
 * errno. In the write batch, as sessions are. */
int store_delivery_put(struct store *s, const struct delivery_row *r);
/* Tie every delivery (of id from_id on, logged in [since, until]) not yet
 * tied to the captured session it rode on: the
 * same receiver address and port, whose packets span the attempt (its
 * connection began delays c+d before the log line; a reused connection,
 * conn_use > 1, began earlier still). The nearest start wins. Returns
 * how many were tied, or a negative errno. */
int64_t store_deliveries_join(struct store *s, int64_t from_id, int64_t since,
                              int64_t until);
/* The newest delivery's id (0: none): watch joins only the recent ones. */
int64_t store_deliveries_last_id(struct store *s);
/* Where `watch --maillog` stopped in a log (logs/tail.h's position). */
struct log_cursor {
  int64_t dev, ino, off, head;
  int head_len;
};
/* 1 and c filled, 0 when the path has none, or a negative errno. */
/* How far an event sink (watch --events) has written: the newest session
 * id and finding-event time. 1 with *c filled, 0 when the sink is new. */
struct event_cursor {
  int64_t session_id, finding_at, stats_id;
};
int store_event_cursor_get(struct store *s, const char *sink,
                           struct event_cursor *c);
int store_event_cursor_put(struct store *s, const char *sink,
                           const struct event_cursor *c, int64_t at);

int store_log_cursor_get(struct store *s, const char *path, struct log_cursor *c);
/* In the write batch, with the deliveries read up to there: a crash
 * keeps both or neither. 0 or a negative errno. */
int store_log_cursor_put(struct store *s, const char *path,
                         const struct log_cursor *c, int64_t at);
/* What the log says of a queued message: its Message-ID and/or the
 * domain of its envelope sender (NULL: not in this line). */
int store_message_put(struct store *s, const char *host, const char *queue_id,
                      int64_t at, const char *message_id,
                      const char *sender_domain);
/* The delivery attempts in [since, until] of one queue id and/or to one
 * recipient domain (NULL: any), oldest first, each with the captured
 * session it was tied to (its src_ip, echoed_ip, helo; NULL when none). */
struct delivery_use {
  int64_t at_us;
  const char *queue_id, *rcpt_domain, *relay_name, *relay_ip, *status,
      *dsn, *reply, *stage, *src_ip, *echoed_ip, *helo, *message_id,
      *sender_domain, *tls;
  int code;
};
typedef int (*delivery_fn)(const struct delivery_use *d, void *ctx);
int64_t store_deliveries_of(struct store *s, const char *queue_id,
                            const char *domain, const char *message_id,
                            int64_t since, int64_t until, delivery_fn fn,
                            void *ctx);

/* The egress history drawn (report --format html): the sessions of the
 * window in nbins equal bins of [t0, t0 + nbins * width), per source
 * address and bin: first all of them (TL_ALL: sessions, the unanswered,
 * the TLS ones, times, an echoed address, a point), then how many of
 * them were rejected (a 5xx on the wire or in the MTA log), deferred
 * (4xx), and went TLS with an outcome the log gave (in sessions). */
enum tl_what { TL_ALL, TL_REJECTED, TL_DEFERRED, TL_TLS_LOGGED };
struct tl_bin {
  enum tl_what what;
  const char *src_ip;
  const char *echoed_ip;     /* an address a receiver echoed, or NULL    */
  const char *point;         /* a capture point of these sessions        */
  int64_t bin, sessions, unanswered, starttls;
  int64_t first_us, last_us;
};
typedef int (*tl_fn)(const struct tl_bin *b, void *ctx);
/* The limit source addresses with the most sessions in [since, until],
 * busiest first; *all: how many sources there are. 0 or a negative errno. */
typedef int (*src_fn)(const char *src_ip, int64_t sessions, void *ctx);
int store_busiest_sources(struct store *s, int64_t since, int64_t until,
                          int limit, int64_t *all, src_fn fn, void *ctx);
/* The first and last session time in [since, until], or logged attempt
 * time (0, 0: none). */
int store_span(struct store *s, int64_t since, int64_t until, int64_t *first,
               int64_t *last);
/* By source address, then bin; only the sessions of srcs[0..nsrcs) when
 * srcs is not NULL. Returns the rows, or a negative errno. */
int64_t store_timeline(struct store *s, int64_t since, int64_t until,
                       int64_t t0, int64_t width, int64_t nbins,
                       const char *const *srcs, size_t nsrcs, tl_fn fn,
                       void *ctx);

struct report_meta {
  int64_t last_analysis;   /* time of the last analysis, 0 when none     */
  int64_t new_sessions;    /* sessions stored after it                   */
  int64_t sessions;        /* sessions in the window                     */
  int64_t points;          /* capture points                             */
  int64_t drops;           /* packets the kernel or interface dropped   */
  int64_t unknown_dir;     /* sessions whose direction is unknown        */
  int64_t last_heartbeat;  /* newest capture counters (watch writes them
                              every --stats-every, mail or not); 0: none */
  char resolver[256];      /* who answered the last analysis's questions */
};
int store_report_meta(struct store *s, int64_t since, int64_t until,
                      struct report_meta *m);

/* Retention: delete sessions (with their replies) last seen before cutoff,
 * DNS answers expired before it, closed findings closed before it, and old
 * analyses and counters; in transactions of a few thousand rows so that a
 * running writer waits only briefly. vacuum reclaims the space after. */
struct prune_counts {
  int64_t sessions, dns, findings, analyses, stats, identities, idlog;
  int64_t deliveries, messages; /* what read --maillog kept             */
};
int store_prune(struct store *s, int64_t cutoff, int vacuum,
                struct prune_counts *c);

/* Packets the capture lost (pcap_stats ps_drop + ps_ifdrop) per point. */
struct drops_row {
  const char *point;
  int64_t dropped, first_us, last_us;
};
typedef int (*drops_fn)(const struct drops_row *r, void *ctx);
int64_t store_capture_drops(struct store *s, int64_t since, int64_t until,
                            drops_fn fn, void *ctx);

/* NAT gateway: pair sessions with a private source seen at one capture
 * point with sessions seen at another point to the same receiver (address
 * and port), starting within a second, with the same EHLO name (and not a
 * routed connection seen at both); the pairs inside -> outside address go
 * to fn, ordered by inside address and first use. Read only. */
struct nat_row {
  const char *inside_ip, *outside_ip, *point_in, *point_out;
  int64_t first_us, last_us, sessions;
  int settled; /* of sessions the fold takes in this run (store_fold_nat_add) */
};
typedef int (*nat_fn)(const struct nat_row *r, void *ctx);

/* More than one capture point in the database: twins are possible. */
int store_multi_point(struct store *s);

/* The sessions that could be twins of one another (a gateway's two
 * points), from since - TWIN_WINDOW_US to until + TWIN_WINDOW_US, by
 * receiver address and first packet. Each carries the facts the pairing
 * needs: seen_at, the capture points (bit point_id % 64) where its source
 * address and port appear within TWIN_WINDOW_US in another session, and
 * routed, whether the same 5-tuple was stored first at another point in
 * that time (at most TWIN_PROBE_MAX rows looked at for each). Strings are
 * valid during the callback only. */
struct twin_row {
  int64_t id, point, first_us, last_us;
  const char *src_ip, *dst_ip, *helo, *point_name; /* helo may be NULL */
  int src_port, dst_port;
  uint64_t seen_at;
  int routed;
  /* set by the caller: judge this row (else it is only a neighbour of
   * the judged ones), and the run's fold takes it in (its pairs apart) */
  int judge, settled;
};
typedef int (*twin_fn)(const struct twin_row *r, void *ctx);
int64_t store_twin_rows(struct store *s, int64_t since, int64_t until,
                        twin_fn fn, void *ctx);

/* Leave these sessions (borrowed ids) out of store_egress_groups and
 * store_rejects on this connection from now on (a temporary table: the
 * connection may be read-only); n = 0 leaves none out. */
int store_exclude_sessions(struct store *s, const int64_t *ids, size_t n);
/* The pairs nat_map holds that were in use in the window, by inside
 * address and first use. */
int64_t store_nat_map(struct store *s, int64_t since, int64_t until,
                      nat_fn fn, void *ctx);
/* Record a pair in nat_map (first/last seen widen, sessions replaced). */
int store_nat_map_put(struct store *s, const struct nat_row *r);

/* --- the fold (store/fold.c) -------------------------------------------
 * What an analysis of all history keeps for the next: the sums of the
 * settled sessions per egress group, server and NAT pair. A run plans
 * (full, incremental, or a window, which neither reads nor writes the
 * fold), sums its tail into temporary tables (the twins it excluded left
 * out), adds its NAT pairs, reads the merged groups, servers and pairs,
 * and commits what settled. All on one connection, read in one snapshot
 * (store_snapshot) and committed after it. */
enum fold_mode { FOLD_FULL, FOLD_INCR, FOLD_WINDOW };
struct fold_plan {
  enum fold_mode mode;
  const char *why;           /* FOLD_FULL: the reason, for the log         */
  int64_t since, until;      /* FOLD_WINDOW                                */
  int64_t max_id, cut;       /* the fold: id <= max_id, first_seen < cut   */
  int64_t new_max_id, new_cut; /* and after this run                       */
  int64_t max_delivery, new_max_delivery; /* the MTA log's rows, likewise  */
  int64_t gen, points;
};
int store_snapshot(struct store *s, int on); /* 1: BEGIN, 0: COMMIT */
int store_fold_plan(struct store *s, int full, int64_t since, int64_t until,
                    int64_t now, struct fold_plan *p);
/* The tail's sums (what: FOLD_T_* bits; the groups always); returns its
 * egress sessions, or a negative errno. */
enum { FOLD_T_GROUPS = 1, FOLD_T_SERVERS = 2, FOLD_T_PORT25 = 4, FOLD_T_ALL = 7 };
int64_t store_fold_tail(struct store *s, const struct fold_plan *p,
                        unsigned what);
/* After store_exclude_sessions: the settled twins that carry a reject
 * are left out of store_rejects too. */
int store_fold_excluded_load(struct store *s, const struct fold_plan *p);
/* Per source with a blocked attempt (sessions), then per logging host
 * with a failed connection no capture saw (the MTA's log). */
int64_t store_fold_port25(struct store *s, const struct fold_plan *p,
                          port25_fn fn, void *ctx);
/* The 4xx/5xx replies and logged rejects the fold does not hold, by
 * time (row_fn), after the fold's sums per address (sum_fn); a window's
 * are store_rejects'. store_fold_reject_add: one address's sums over the
 * settled rows (all of them: the fold's are replaced). */
int64_t store_fold_rejects(struct store *s, const struct fold_plan *p,
                           reject_fn row_fn, reject_sum_fn sum_fn, void *ctx);
int store_fold_reject_add(struct store *s, const struct reject_sum *r);
int store_fold_nat_clear(struct store *s);
int store_fold_nat_add(struct store *s, const struct nat_row *r);
int64_t store_fold_groups(struct store *s, const struct fold_plan *p,
                          egress_group_fn fn, void *ctx);
int64_t store_fold_servers(struct store *s, const struct fold_plan *p,
                           server_fn fn, void *ctx);
int64_t store_fold_nat(struct store *s, const struct fold_plan *p, nat_fn fn,
                       void *ctx);
/* Fold what settled (nothing for a window): *kept 0 when settled sessions
 * changed since the plan (the next run is then full). */
int store_fold_commit(struct store *s, const struct fold_plan *p, int64_t at,
                      int *kept);

/* The newest session's id (0 when none), or a negative errno. */
int64_t store_max_session_id(struct store *s);

/* Log what an analysis at time at found for ip (iprev, PTR names as a
 * JSON list), unless it is what the last entry for ip says. */
int store_identity_log(struct store *s, const char *ip, int64_t at,
                       const char *iprev, const char *ptr);
struct idlog_row {
  const char *ip, *iprev, *ptr;
  int64_t at;
  /* The address's latest verdict (the same on every row): when it was
   * last analysed and when the oldest answer behind it was fetched; 0
   * when unknown. */
  int64_t analyzed, fetched;
};
typedef int (*idlog_fn)(const struct idlog_row *r, void *ctx);
/* The log of ip, oldest first. */
int64_t store_identity_log_of(struct store *s, const char *ip, idlog_fn fn,
                              void *ctx);

/* Start an analysis run at time at; findings put until store_analysis_end
 * belong to it. */
int store_analysis_begin(struct store *s, int64_t at);
/* Upsert a finding (rule, subject): first/last seen widen, the rest is
 * replaced, it is (re)opened. */
int store_finding_put(struct store *s, const struct finding *f, int64_t at);
/* End the run: open findings of the analysed subjects that this run did
 * not confirm are closed; the run is recorded. */
struct analysis_stats {
  int64_t identities, queries, cached, temp_failures;
  int64_t by_sev[4];
  int64_t max_session_id; /* the newest session judged; 0: the newest now */
  int64_t read_us, dns_us, judge_us; /* time in each phase                 */
  int write_failed;  /* the failure was in writing the results           */
  uint64_t twin_overflow; /* outside addresses past TWIN_CANDIDATES_MAX  */
  int64_t oldest_cached;  /* fetch time of the oldest cached answer used  */
  int64_t at;             /* the analysis's time (its findings' events)   */
  int64_t by_status[DNS_STATUS_COUNT_]; /* answers fetched (not cached), by
                                           outcome: the metrics' rcodes */
  int fold_mode;          /* enum fold_mode: how the sessions were read    */
  const char *fold_why;   /* FOLD_FULL: why (a static string), else NULL   */
  int64_t fold_tail;      /* egress sessions read beside the fold          */
  int fold_kept;          /* the fold was brought up to date               */
  int64_t fold_us;        /* time spent writing it (not in read_us)        */
};
int store_analysis_end(struct store *s, int64_t at, int64_t since,
                       int64_t until, const struct analysis_stats *st,
                       const char *resolver);

#endif
