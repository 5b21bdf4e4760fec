/* egressaudit - store/schema.c: DDL and migrations keyed on user_version.
 * Times are integer microseconds since the epoch (UTC); addresses are the
 * canonical text of inet_ntop; wire text is stored escaped (common/util.h).
 * SPDX-License-Identifier: MIT
 */
#include "store/schema.h"

#include <stdio.h>
#include <string.h>

#include "common/util.h"

static const char *const migrations[] = {
    /* 0 -> 1: the egress history. */
    "CREATE TABLE points("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  host TEXT, iface TEXT, file TEXT, linktype TEXT,"
    "  created INTEGER NOT NULL);"
    "CREATE TABLE sessions("
    "  id INTEGER PRIMARY KEY,"
    "  point_id INTEGER NOT NULL REFERENCES points(id),"
    "  first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,"
    "  ipver INTEGER NOT NULL,"
    "  src_ip TEXT NOT NULL, src_port INTEGER NOT NULL,"
    "  dst_ip TEXT NOT NULL, dst_port INTEGER NOT NULL,"
    "  vlan INTEGER,"
    "  state TEXT NOT NULL, end_reason TEXT NOT NULL, client_by TEXT NOT NULL,"
    "  banner TEXT, banner_host TEXT,"
    "  helo TEXT, ehlo_reply TEXT,"
    "  echoed_ip TEXT, echoed_from TEXT,"
    "  mail_from_domain TEXT,"
    "  starttls_offered INTEGER NOT NULL, starttls_requested INTEGER NOT NULL,"
    "  starttls INTEGER NOT NULL,"
    "  last_code INTEGER, last_reply TEXT,"
    "  pkts_c2s INTEGER NOT NULL, pkts_s2c INTEGER NOT NULL,"
    "  bytes_c2s INTEGER NOT NULL, bytes_s2c INTEGER NOT NULL,"
    "  n_overlong INTEGER NOT NULL, n_bare_lf INTEGER NOT NULL,"
    "  n_bare_cr INTEGER NOT NULL, n_gaps INTEGER NOT NULL,"
    "  n_pipelined INTEGER NOT NULL, n_retrans INTEGER NOT NULL,"
    "  n_ooo INTEGER NOT NULL, n_bad_reply INTEGER NOT NULL,"
    "  n_replies_dropped INTEGER NOT NULL, n_truncated INTEGER NOT NULL,"
    "  UNIQUE(point_id, first_seen, src_ip, src_port, dst_ip, dst_port));"
    "CREATE INDEX sessions_time ON sessions(first_seen);"
    "CREATE INDEX sessions_src ON sessions(src_ip, first_seen);"
    "CREATE INDEX sessions_dst ON sessions(dst_ip, first_seen);"
    "CREATE INDEX sessions_helo ON sessions(helo, first_seen);"
    "CREATE INDEX sessions_echoed ON sessions(echoed_ip)"
    "  WHERE echoed_ip IS NOT NULL;"
    "CREATE TABLE helos("
    "  session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
    "  seq INTEGER NOT NULL, verb TEXT NOT NULL, name TEXT NOT NULL,"
    "  PRIMARY KEY(session_id, seq)) WITHOUT ROWID;"
    "CREATE INDEX helos_name ON helos(name COLLATE NOCASE);"
    "CREATE TABLE replies("
    "  session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
    "  seq INTEGER NOT NULL, cmd TEXT, code INTEGER NOT NULL,"
    "  enhanced TEXT, text TEXT NOT NULL,"
    "  PRIMARY KEY(session_id, seq)) WITHOUT ROWID;"
    "CREATE TABLE capture_stats("
    "  point_id INTEGER NOT NULL REFERENCES points(id),"
    "  at INTEGER NOT NULL, name TEXT NOT NULL, value INTEGER NOT NULL);"
    "CREATE INDEX capture_stats_point ON capture_stats(point_id, at);",
    /* 1 -> 2: whose session it is (egress, inbound, unknown). */
    "ALTER TABLE sessions ADD COLUMN direction TEXT NOT NULL"
    "  DEFAULT 'unknown';"
    "CREATE INDEX sessions_direction ON sessions(direction, first_seen);",
    /* 2 -> 3: DNS facts, findings, analysis runs. */
    "CREATE TABLE dns("
    "  name TEXT NOT NULL, type INTEGER NOT NULL,"
    "  status TEXT NOT NULL,"          /* NOERROR NODATA NXDOMAIN SERVFAIL ... */
    "  answers TEXT NOT NULL,"         /* a list (JSON array since v10)     */
    "  ttl INTEGER NOT NULL,"
    "  soa_zone TEXT, soa_mname TEXT, soa_rname TEXT,"
    "  fetched INTEGER NOT NULL, expires INTEGER NOT NULL, resolver TEXT,"
    "  PRIMARY KEY(name, type)) WITHOUT ROWID;"
    "CREATE TABLE findings("
    "  id INTEGER PRIMARY KEY,"
    "  rule TEXT NOT NULL, severity TEXT NOT NULL, subject TEXT NOT NULL,"
    "  detail TEXT NOT NULL, fix TEXT NOT NULL,"
    "  first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,"
    "  count INTEGER NOT NULL,"
    "  status TEXT NOT NULL DEFAULT 'open',"   /* open, closed            */
    "  analyzed INTEGER NOT NULL, closed_at INTEGER,"
    "  ident TEXT NOT NULL DEFAULT '',"          /* egress identity, or ''  */
    "  UNIQUE(rule, subject, ident));"
    "CREATE INDEX findings_ident ON findings(ident);"
    "CREATE INDEX findings_status ON findings(status, severity);"
    "CREATE TABLE analyses("
    "  id INTEGER PRIMARY KEY, at INTEGER NOT NULL,"
    "  since INTEGER, until INTEGER, max_session_id INTEGER NOT NULL,"
    "  identities INTEGER NOT NULL, queries INTEGER NOT NULL,"
    "  cached INTEGER NOT NULL, temp_failures INTEGER NOT NULL,"
    "  resolver TEXT);",
    /* 3 -> 4: the identities as the last analysis saw them. */
    "CREATE TABLE identities("
    "  ip TEXT PRIMARY KEY, iprev TEXT NOT NULL,"
    "  ptr TEXT NOT NULL, helos TEXT NOT NULL, sources TEXT NOT NULL,"
    "  echoed TEXT NOT NULL,"           /* lists (JSON arrays, v10)      */
    "  sessions INTEGER NOT NULL, rejected INTEGER NOT NULL,"
    "  starttls INTEGER NOT NULL,"
    "  first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,"
    "  unknown_direction INTEGER NOT NULL, analyzed INTEGER NOT NULL,"
    "  points TEXT NOT NULL DEFAULT '')"
    "  WITHOUT ROWID;",
    /* 4 -> 5: inside -> outside address pairs learned on a NAT gateway. */
    "CREATE TABLE nat_map("
    "  inside_ip TEXT NOT NULL, outside_ip TEXT NOT NULL,"
    "  point_in TEXT NOT NULL, point_out TEXT NOT NULL,"
    "  first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,"
    "  sessions INTEGER NOT NULL,"
    "  PRIMARY KEY(inside_ip, outside_ip)) WITHOUT ROWID;",
    /* 5 -> 6: what each analysis found for an address, kept when it
     * changes (identities holds the latest only): the PTR at the time. */
    "CREATE TABLE identity_log("
    "  ip TEXT NOT NULL, at INTEGER NOT NULL,"
    "  iprev TEXT NOT NULL, ptr TEXT NOT NULL,"   /* list (v10: JSON) */
    "  PRIMARY KEY(ip, at)) WITHOUT ROWID;",
    /* 6 -> 7: the twin probes of a gateway by source address and port: a
     * bounded index seek per session instead of a scan of every session
     * from that address in the second around it. */
    ("CREATE INDEX sessions_srcport ON sessions(src_ip, src_port, first_seen);"
     /* and how many answers a DNS message held, beyond those kept. */
     "ALTER TABLE dns ADD COLUMN total INTEGER NOT NULL DEFAULT 0;"),
    /* 7 -> 8: when the DNS answers an identity was judged on were fetched
     * (a cached answer may be hours old: the verdict says so). */
    ("ALTER TABLE identities ADD COLUMN dns_fetched INTEGER;"
     /* and when each finding was last opened (new since the analysis
      * before: an event to alert on). */
     "ALTER TABLE findings ADD COLUMN opened INTEGER;"
     "UPDATE findings SET opened = analyzed;"),
    /* 8 -> 9: fragmented datagrams per session (their first fragments:
     * the payload was never reassembled, the dialogue has a gap). */
    "ALTER TABLE sessions ADD COLUMN n_fragments INTEGER NOT NULL DEFAULT 0;",
    /* 9 -> 10: one encoding for every list: a JSON array of strings (a
     * PTR name from a hostile zone may hold a line end; a point name, a
     * comma). ea_list_json splits the old text (store__migrate). */
    "UPDATE identities SET ptr = ea_list_json(ptr, char(10)),"
    " helos = ea_list_json(helos, char(10)),"
    " sources = ea_list_json(sources, char(10)),"
    " echoed = ea_list_json(echoed, char(10)),"
    " points = ea_list_json(points, ',');"
    "UPDATE identity_log SET ptr = ea_list_json(ptr, char(10));"
    "UPDATE dns SET answers = ea_list_json(answers, char(10));",
    /* 10 -> 11: what a finding is about (egress, or one of our servers),
     * said by the rule, not read off its name. */
    "ALTER TABLE findings ADD COLUMN scope TEXT NOT NULL DEFAULT 'egress';"
    "UPDATE findings SET scope = 'server' WHERE rule LIKE 'banner-%';",
    /* 11 -> 12: delivery attempts as the MTA logged them (what TLS hides
     * on the wire), tied to the captured session they rode on. */
    "CREATE TABLE deliveries("
    "  id INTEGER PRIMARY KEY, at INTEGER NOT NULL, host TEXT NOT NULL,"
    "  line_hash INTEGER NOT NULL,"  /* re-reading a log adds nothing     */
    "  queue_id TEXT NOT NULL, rcpt_domain TEXT NOT NULL,"
    "  relay_name TEXT, relay_ip TEXT, relay_port INTEGER,"
    "  conn_use INTEGER NOT NULL, delay REAL, d_conn REAL, d_xmit REAL,"
    "  dsn TEXT, status TEXT NOT NULL,"   /* sent deferred bounced ... connect */
    "  code INTEGER, reply TEXT, stage TEXT,"
    "  src_ip TEXT, src_port INTEGER,"    /* our end, when logged (Exim I=) */
    "  session_id INTEGER,"               /* the captured session, or NULL */
    "  UNIQUE(at, host, line_hash));"
    "CREATE INDEX deliveries_relay ON deliveries(relay_ip, at);"
    "CREATE INDEX deliveries_session ON deliveries(session_id);"
    "CREATE TABLE messages("             /* a queue id's Message-ID, sender */
    "  host TEXT NOT NULL, queue_id TEXT NOT NULL, at INTEGER NOT NULL,"
    "  message_id TEXT, sender_domain TEXT,"
    "  PRIMARY KEY(host, queue_id)) WITHOUT ROWID;"
    "CREATE INDEX messages_id ON messages(message_id);",
    /* 12 -> 13: where `watch --maillog` stopped in each log it follows
     * (device, inode, offset, a hash of the file's first bytes): a
     * restart reads on from there, nothing twice. */
    "CREATE TABLE log_cursors("
    "  path TEXT PRIMARY KEY, dev INTEGER NOT NULL, ino INTEGER NOT NULL,"
    "  off INTEGER NOT NULL, head INTEGER NOT NULL, head_len INTEGER NOT NULL,"
    "  at INTEGER NOT NULL) WITHOUT ROWID;"
    /* and the TLS of each attempt's connection, as the log says it */
    "ALTER TABLE deliveries ADD COLUMN tls TEXT;"
    /* an identity's TLS sessions whose outcome the log gave */
    "ALTER TABLE identities ADD COLUMN tls_logged INTEGER NOT NULL DEFAULT 0;",
    /* 13 -> 14: how far `watch --events` has exported, per sink (the
     * newest session id and finding-event time written): a restart goes
     * on from there, nothing lost and nothing twice. */
    "CREATE TABLE event_cursors("
    "  sink TEXT PRIMARY KEY, session_id INTEGER NOT NULL,"
    "  finding_at INTEGER NOT NULL, stats_id INTEGER NOT NULL,"
    "  at INTEGER NOT NULL) WITHOUT ROWID;"
    /* the counters are events too (a host's heartbeat, imported by a
     * central database): one row per point, time and name, so that
     * reading them again adds nothing */
    "DELETE FROM capture_stats WHERE rowid NOT IN (SELECT min(rowid) FROM"
    "  capture_stats GROUP BY point_id, at, name);"
    "CREATE UNIQUE INDEX capture_stats_key ON capture_stats(point_id, at, name);",
    /* 14 -> 15: the fold, what every analysis of the whole history would
     * read again: the egress groups, our servers and the NAT pairs of the
     * settled sessions (id <= max_id and first_seen < cut), summed per
     * group and capture point (NULL echo and HELO kept as ''). An analysis
     * reads the fold plus the sessions after it (store/fold.c). */
    "CREATE TABLE fold_state("
    "  one INTEGER PRIMARY KEY CHECK(one = 1),"
    "  max_id INTEGER NOT NULL DEFAULT 0, cut INTEGER NOT NULL DEFAULT 0,"
    "  max_delivery INTEGER NOT NULL DEFAULT 0,"
    "  points INTEGER NOT NULL DEFAULT 0,"
    "  gen INTEGER NOT NULL DEFAULT 0,"       /* bumped: a settled one changed */
    "  folded_gen INTEGER NOT NULL DEFAULT -1," /* gen when folded; -1: none */
    "  at INTEGER);"
    "INSERT INTO fold_state(one) VALUES(1);"
    "CREATE TABLE fold_groups("
    "  src_ip TEXT NOT NULL, echoed_ip TEXT NOT NULL, helo TEXT NOT NULL,"
    "  direction TEXT NOT NULL, point_id INTEGER NOT NULL,"
    "  sessions INTEGER NOT NULL, first_seen INTEGER NOT NULL,"
    "  last_seen INTEGER NOT NULL, rejected INTEGER NOT NULL,"
    "  starttls INTEGER NOT NULL, tls_logged INTEGER NOT NULL,"
    "  dst_min TEXT, banner_min TEXT,"
    "  echo_lo TEXT, echo_hi TEXT," /* receivers that echoed: lowest, highest */
    "  PRIMARY KEY(src_ip, echoed_ip, helo, direction, point_id)) WITHOUT ROWID;"
    /* rdns-reject's sums per address: the first reject's words, count */
    "CREATE TABLE fold_rejects("
    "  ip TEXT PRIMARY KEY, first_seen INTEGER NOT NULL,"
    "  last_seen INTEGER NOT NULL, count INTEGER NOT NULL,"
    "  detail TEXT NOT NULL, fix TEXT NOT NULL) WITHOUT ROWID;"
    /* settled twins left out of the sums that carry a reject: the
     * rejects are read per analysis, and must leave them out too */
    "CREATE TABLE fold_excluded(id INTEGER PRIMARY KEY);"
    /* per source: attempts unanswered or refused, sessions answered, and
     * the receivers that never answered */
    "CREATE TABLE fold_port25("
    "  src_ip TEXT PRIMARY KEY, blocked INTEGER NOT NULL,"
    "  answered INTEGER NOT NULL, first_seen INTEGER NOT NULL,"
    "  last_seen INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE fold_blocked("
    "  src_ip TEXT NOT NULL, dst_ip TEXT NOT NULL,"
    "  PRIMARY KEY(src_ip, dst_ip)) WITHOUT ROWID;"
    /* per logging host: its logged failed connections no capture saw,
     * its answered attempts that rode on no captured session, and the
     * receivers of those failures */
    "CREATE TABLE fold_log25("
    "  host TEXT PRIMARY KEY, connects INTEGER NOT NULL,"
    "  answered INTEGER NOT NULL, first_seen INTEGER NOT NULL,"
    "  last_seen INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE fold_log25_dst("
    "  host TEXT NOT NULL, relay_ip TEXT NOT NULL,"
    "  PRIMARY KEY(host, relay_ip)) WITHOUT ROWID;"
    "CREATE TABLE fold_servers("
    "  ip TEXT NOT NULL, banner_host TEXT NOT NULL, sessions INTEGER NOT NULL,"
    "  first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,"
    "  PRIMARY KEY(ip, banner_host)) WITHOUT ROWID;"
    "CREATE TABLE fold_nat("
    "  inside_ip TEXT NOT NULL, outside_ip TEXT NOT NULL,"
    "  point_in TEXT NOT NULL, point_out TEXT NOT NULL,"
    "  first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,"
    "  sessions INTEGER NOT NULL,"
    "  PRIMARY KEY(inside_ip, outside_ip)) WITHOUT ROWID;"
    /* A change to a session that may be folded (older than 19 minutes:
     * the fold leaves the last 20 out) makes the fold stale: gen moves
     * and the next analysis reads everything again. Live joins of the
     * MTA's log touch only the last 16 minutes. */
#define FOLD_OLD "CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)" \
                 " - 1140000000"
    "CREATE TRIGGER fold_session_gone AFTER DELETE ON sessions"
    "  WHEN old.first_seen < " FOLD_OLD
    "  BEGIN UPDATE fold_state SET gen = gen + 1; END;"
    "CREATE TRIGGER fold_delivery_new AFTER INSERT ON deliveries"
    "  WHEN new.session_id IS NOT NULL"
    "  BEGIN UPDATE fold_state SET gen = gen + 1 WHERE (SELECT first_seen"
    "   FROM sessions WHERE id = new.session_id) < " FOLD_OLD "; END;"
    "CREATE TRIGGER fold_delivery_tied AFTER UPDATE OF session_id, code"
    "  ON deliveries"
    "  BEGIN UPDATE fold_state SET gen = gen + 1 WHERE (SELECT min(first_seen)"
    "   FROM sessions WHERE id IN (old.session_id, new.session_id)) < "
    FOLD_OLD "; END;"
    "CREATE TRIGGER fold_delivery_gone AFTER DELETE ON deliveries"
    "  BEGIN UPDATE fold_state SET gen = gen + 1 WHERE old.at < " FOLD_OLD
    "   OR (SELECT first_seen FROM sessions WHERE id = old.session_id) < "
    FOLD_OLD "; END;"
#undef FOLD_OLD
    /* What every analysis reads besides the fold, found without a scan of
     * the history: the rejecting replies, the blocked attempts, the log's
     * failed connections and rejects. */
    "CREATE INDEX replies_reject ON replies(session_id) WHERE code >= 400;"
    "CREATE INDEX sessions_blocked ON sessions(src_ip, first_seen)"
    "  WHERE state IN ('syn-only','refused');"
    "CREATE INDEX deliveries_failed ON deliveries(host, at)"
    "  WHERE status = 'connect';"
    "CREATE INDEX deliveries_host ON deliveries(host, at);"
    "CREATE INDEX deliveries_reject ON deliveries(at) WHERE code >= 400;",
};

/* ea_list_json(text, sep): the old list text (items joined by sep) as a
 * JSON array of strings; migration 10 only. */
static void list_json(sqlite3_context *cx, int argc, sqlite3_value **argv) {
  const char *t = (const char *)sqlite3_value_text(argv[0]);
  const char *sep = (const char *)sqlite3_value_text(argv[1]);
  size_t len = t ? strlen(t) : 0, cap = len * 6 + 3 * len + 8;
  char *buf = sqlite3_malloc64(cap), *item = sqlite3_malloc64(len + 1);
  const char *p, *end;
  struct jlist j;

  (void)argc;
  if (buf == NULL || item == NULL) {
    sqlite3_free(buf);
    sqlite3_free(item);
    sqlite3_result_error_nomem(cx);
    return;
  }
  jlist_init(&j, buf, cap);
  for (p = t; p && *p; p = end ? end + 1 : p + strlen(p)) {
    end = sep && sep[0] ? strchr(p, sep[0]) : NULL;
    memcpy(item, p, end ? (size_t)(end - p) : strlen(p));
    item[end ? (size_t)(end - p) : strlen(p)] = '\0';
    if (item[0]) jlist_add(&j, item);
  }
  sqlite3_result_text(cx, buf, (int)j.len, sqlite3_free);
  sqlite3_free(item);
}

int store__migrate(sqlite3 *db, char *err, size_t errlen) {
  sqlite3_stmt *st = NULL;
  int version = 0, rc, target = (int)(sizeof(migrations) / sizeof(*migrations));
  char *msg = NULL, sql[64];

  if (sqlite3_create_function(db, "ea_list_json", 2, SQLITE_UTF8, NULL,
                              list_json, NULL, NULL) != SQLITE_OK)
    goto fail;
  /* Up to date (nearly always): nothing to write, so no write lock to
   * wait for while a busy watch holds it. */
  if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == target) {
    sqlite3_finalize(st);
    return 0;
  }
  sqlite3_finalize(st);
  st = NULL;
  if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK) {
    snprintf(err, errlen, "cannot lock the database to bring its schema to "
             "version %d: %s", target, msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    return -1;
  }
  rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
  if (rc != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) goto fail;
  version = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  st = NULL;
  if (version > target) {
    snprintf(err, errlen,
             "database schema version %d is newer than this egressaudit (%d)",
             version, target);
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
  }
  for (; version < target; version++) {
    if (sqlite3_exec(db, migrations[version], NULL, NULL, &msg) != SQLITE_OK)
      goto fail;
  }
  snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", target);
  if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) goto fail;
  if (sqlite3_exec(db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) goto fail;
  return 0;
fail:
  snprintf(err, errlen, "schema migration to version %d failed: %s",
           version + 1, msg ? msg : sqlite3_errmsg(db));
  sqlite3_free(msg);
  sqlite3_finalize(st);
  sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  return -1;
}
