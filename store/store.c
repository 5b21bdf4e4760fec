/* egressaudit - store/store.c: SQLite behind a narrow API.
 * WAL with synchronous=NORMAL (consistent after a crash; only the last
 * commits can be lost on power failure), a busy timeout on every connection,
 * statements prepared once, rows written in batched transactions.
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include "store/store.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "common/limits.h"
#include "common/safefile.h"
#include "common/util.h"
#include "store/schema.h"

enum {
  ST_BEGIN, ST_COMMIT, ST_ROLLBACK, ST_SESSION, ST_HELO, ST_REPLY, ST_STAT,
  ST_POINT, ST_COUNT_
};

static const char *const stmt_sql[ST_COUNT_] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_SESSION] =
        "INSERT INTO sessions(point_id, first_seen, last_seen, ipver, src_ip,"
        " src_port, dst_ip, dst_port, vlan, state, end_reason, client_by,"
        " banner, banner_host, helo, ehlo_reply, echoed_ip, echoed_from,"
        " mail_from_domain, starttls_offered, starttls_requested, starttls,"
        " last_code, last_reply, pkts_c2s, pkts_s2c, bytes_c2s, bytes_s2c,"
        " n_overlong, n_bare_lf, n_bare_cr, n_gaps, n_pipelined, n_retrans,"
        " n_ooo, n_bad_reply, n_replies_dropped, n_truncated, direction)"
        " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,"
        "?18,?19,?20,?21,?22,?23,?24,?25,?26,?27,?28,?29,?30,?31,?32,?33,?34,"
        "?35,?36,?37,?38,?39)"
        " ON CONFLICT DO NOTHING",
    [ST_HELO] = "INSERT INTO helos(session_id, seq, verb, name)"
                " VALUES(?1,?2,?3,?4)",
    [ST_REPLY] = "INSERT INTO replies(session_id, seq, cmd, code, enhanced, text)"
                 " VALUES(?1,?2,?3,?4,?5,?6)",
    [ST_STAT] = "INSERT INTO capture_stats(point_id, at, name, value)"
                " VALUES(?1,?2,?3,?4)",
    [ST_POINT] =
        "INSERT INTO points(name, host, iface, file, linktype, created)"
        " VALUES(?1,?2,?3,?4,?5,?6)"
        " ON CONFLICT(name) DO UPDATE SET"
        "  host=coalesce(excluded.host, host), iface=coalesce(excluded.iface,"
        "  iface), file=coalesce(excluded.file, file),"
        "  linktype=coalesce(excluded.linktype, linktype)"
        " RETURNING id",
};

struct store {
  sqlite3 *db;
  sqlite3_stmt *st[ST_COUNT_];
  sqlite3_stmt *q_dns_get, *q_dns_put, *q_finding, *q_ident, *q_idlog,
      *q_partial, *q_delsess;
                      /* the q_ statements: prepared on first use         */
  int in_tx;
  unsigned pending;
  uint64_t new_pending;   /* new sessions in the open batch               */
  uint64_t new_committed; /* new sessions this connection committed       */
  int excluding;          /* temp.ea_excluded exists (a gateway's twins)  */
  int64_t tx_start;   /* monotonic time the open batch began             */
  char err[512];
  char esc[ESC_CAP(REPLY_TEXT_ERR_MAX) + 64];
};

static int fail(struct store *s, const char *what) {
  snprintf(s->err, sizeof(s->err), "%s: %s", what, sqlite3_errmsg(s->db));
  /* SQLite may have rolled the batch back itself (disk full, I/O error):
   * then nothing of it is stored, and there is no transaction to end. */
  if (s->in_tx && sqlite3_get_autocommit(s->db)) {
    s->in_tx = 0;
    s->pending = 0;
    s->new_pending = 0;
  }
  switch (sqlite3_errcode(s->db) & 0xff) {
  case SQLITE_FULL: return -ENOSPC;
  case SQLITE_READONLY: return -EROFS;
  case SQLITE_PERM:
  case SQLITE_AUTH: return -EACCES;
  case SQLITE_BUSY:
  case SQLITE_LOCKED: return -EBUSY;
  case SQLITE_CORRUPT:
  case SQLITE_NOTADB: return -EINVAL;
  default: return -EIO;
  }
}

/* SQL function rfc3339(us): the time as "2026-11-26T11:39:38.123456Z". */
static void fn_rfc3339(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  char buf[TIME_STRLEN];

  (void)argc;
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
    sqlite3_result_null(ctx);
    return;
  }
  time_str(sqlite3_value_int64(argv[0]), buf);
  sqlite3_result_text(ctx, buf, -1, SQLITE_TRANSIENT);
}

/* mkdir -p for the database's directory. */
static int make_parent(const char *path) {
  char buf[4096];
  char *p;
  size_t len = strlen(path);

  if (len >= sizeof(buf)) return -ENAMETOOLONG;
  memcpy(buf, path, len + 1);
  for (p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(buf, 0750) < 0 && errno != EEXIST) return -errno;
    *p = '/';
  }
  return 0;
}

/* The database's own name and its companions, as suffixes of the path. */
static const char *const names[] = {"", "-wal", "-shm", "-journal", NULL};

/* Hand the companion (-wal, -shm) that exists to uid:gid by descriptor. */
static int hand_companion(const char *path, const char *suffix, int shared,
                          uid_t uid, gid_t gid, char *err, size_t errlen) {
  char name[4200];
  int fd, created, rc = 0;
  struct stat sb;

  snprintf(name, sizeof(name), "%s%s", path, suffix);
  fd = safefile_open(name, O_RDWR, 0, 0, &created, err, errlen);
  if (fd == -ENOENT) return 0;
  if (fd < 0) return fd;
  if (fstat(fd, &sb) < 0) rc = -errno;
  else if (sb.st_uid != uid && sb.st_uid != geteuid() && shared) {
    snprintf(err, errlen, "%s: belongs to uid %lu in a directory others can "
             "write: not handing it over", name, (unsigned long)sb.st_uid);
    rc = -EPERM;
  } else if (fchown(fd, uid, gid) < 0) {
    rc = -errno;
    snprintf(err, errlen, "%s: cannot hand it over: %s", name, strerror(-rc));
  }
  close(fd);
  return rc;
}

/* Before SQLite sees the path: refuse links and special files at our
 * names, create a new database ourselves (0640, O_NOFOLLOW), and hand it
 * to *uid when given, through the descriptor we checked. *shared: another
 * account can write in the directory. */
static int prepare_files(const char *path, enum store_mode mode,
                         const uid_t *uid, gid_t gid, int *shared, char *err,
                         size_t errlen) {
  uid_t downer;
  int fd, created, rc;
  struct stat sb;

  if (*path == '\0') {
    snprintf(err, errlen, "no database path given (--db \"\")");
    return -EINVAL;
  }
  if (mode == STORE_RW && (rc = make_parent(path)) < 0) {
    snprintf(err, errlen, "%s: cannot create its directory: %s", path,
             strerror(-rc));
    return rc;
  }
  /* The name and its companions first (lstat only): nothing is created
   * while one is a link. An existing database is never opened here: a
   * close() of any descriptor of the file drops every POSIX lock this
   * process's SQLite connections hold on it (watch's own, while an
   * analysis opens its read connection). */
  if ((rc = safefile_check_companions(path, names, err, errlen)) < 0) return rc;
  fd = -1;
  created = 0;
  if (lstat(path, &sb) < 0 && errno == ENOENT) {
    if (mode != STORE_RW) {
      snprintf(err, errlen,
               "%s: no database here (%s); run 'egressaudit read' first", path,
               strerror(ENOENT));
      return -ENOENT;
    }
    /* A new inode: no lock of anyone's on it yet. */
    fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
    if (fd >= 0) created = 1;
    else if (errno != EEXIST) {
      rc = -errno;
      snprintf(err, errlen, "%s: %s", path, strerror(-rc));
      return rc == -EROFS ? -EACCES : rc;
    }
  }
  if (fd < 0 && uid != NULL && geteuid() == 0) {
    /* To hand it over by descriptor: watch's start, before it has any
     * connection of its own to the file. */
    fd = safefile_open(path, O_RDWR, 0, 0, &created, err, errlen);
    if (fd < 0) return fd;
  }
  if (fd < 0 && mode != STORE_RO && faccessat(AT_FDCWD, path, R_OK | W_OK, AT_EACCESS) < 0) {
    rc = errno == EROFS ? -EACCES : -errno;
    snprintf(err, errlen, "%s: read-only for this user (uid %lu)%s", path,
             (unsigned long)geteuid(),
             errno == EROFS ? " on a read-only file system" : "");
    return rc;
  }
  rc = safefile_dir_shared(path, &downer, err, errlen);
  if (rc >= 0) *shared = rc, rc = 0;
  if (rc == 0 && uid != NULL && geteuid() == 0) {
    if (fstat(fd, &sb) < 0) {
      rc = -errno;
      snprintf(err, errlen, "%s: %s", path, strerror(-rc));
    } else if (!created && sb.st_uid != *uid && sb.st_uid != 0 && *shared) {
      snprintf(err, errlen, "%s: belongs to uid %lu in a directory others can "
               "write: not handing it over", path, (unsigned long)sb.st_uid);
      rc = -EPERM;
    } else if (!created && sb.st_uid != *uid && *shared && downer != 0) {
      snprintf(err, errlen, "%s: root's file in a directory uid %lu can write: "
               "not handing it over (chown it yourself if that is meant)",
               path, (unsigned long)downer);
      rc = -EPERM;
    } else if (fchown(fd, *uid, gid) < 0) {
      rc = -errno;
      snprintf(err, errlen, "%s: cannot hand it over: %s", path, strerror(-rc));
    }
    if (rc == 0) rc = hand_companion(path, "-wal", *shared, *uid, gid, err, errlen);
    if (rc == 0) rc = hand_companion(path, "-shm", *shared, *uid, gid, err, errlen);
  }
  if (fd >= 0) close(fd);
  return rc;
}

static int open_db(struct store **out, const char *path, enum store_mode mode,
                   const uid_t *uid, gid_t gid, char *err, size_t errlen) {
  struct store *s;
  int flags, rc = 0, i, shared = 0;

  *out = NULL;
  rc = prepare_files(path, mode, uid, gid, &shared, err, errlen);
  if (rc < 0) return rc;
  s = calloc(1, sizeof(*s));
  if (s == NULL) return -ENOMEM;
  flags = mode == STORE_RO ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
  /* Another account can swap names in this directory between our checks
   * and SQLite's own opens: then SQLite must follow no link at all. */
  if (shared) flags |= SQLITE_OPEN_NOFOLLOW;
  if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
    rc = fail(s, path);
    goto out;
  }
  /* Whoever can write the file writes its schema: trust none of it. */
  sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
  sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
  sqlite3_busy_timeout(s->db, STORE_BUSY_MS);
  sqlite3_extended_result_codes(s->db, 1);
  if (sqlite3_exec(s->db, "PRAGMA foreign_keys=ON", NULL, NULL, NULL) !=
      SQLITE_OK) {
    rc = fail(s, path);
    goto out;
  }
  if (mode != STORE_RO) {
    if (sqlite3_exec(s->db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
                     NULL, NULL, NULL) != SQLITE_OK) {
      rc = fail(s, path);
      goto out;
    }
    if (store__migrate(s->db, s->err, sizeof(s->err)) < 0) {
      rc = -EINVAL;
      goto out;
    }
    for (i = 0; i < ST_COUNT_; i++) {
      if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                             &s->st[i], NULL) != SQLITE_OK) {
        rc = fail(s, path);
        goto out;
      }
    }
  } else {
    sqlite3_stmt *v = NULL;
    int ver = -1;
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &v, NULL) ==
            SQLITE_OK &&
        sqlite3_step(v) == SQLITE_ROW)
      ver = sqlite3_column_int(v, 0);
    else
      rc = fail(s, path);
    sqlite3_finalize(v);
    if (rc == 0 && ver != STORE_SCHEMA_VERSION) {
      snprintf(s->err, sizeof(s->err),
               "%s: database schema version %d, this egressaudit reads %d%s",
               path, ver, STORE_SCHEMA_VERSION,
               ver < STORE_SCHEMA_VERSION ? " (run 'egressaudit read' on it once to upgrade)" : "");
      rc = -EINVAL;
    }
    if (rc < 0) goto out;
  }
  sqlite3_create_function(s->db, "rfc3339", 1,
                          SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, fn_rfc3339,
                          NULL, NULL);
out:
  if (rc < 0) {
    snprintf(err, errlen, "%s", s->err);
    if (strstr(err, path) == NULL) snprintf(err, errlen, "%s: %s", path, s->err);
    store_close(s);
    return rc;
  }
  *out = s;
  return 0;
}

int store_open(struct store **out, const char *path, enum store_mode mode,
               char *err, size_t errlen) {
  return open_db(out, path, mode, NULL, 0, err, errlen);
}

int store_open_for(struct store **out, const char *path, uid_t uid, gid_t gid,
                   char *err, size_t errlen) {
  return open_db(out, path, STORE_RW, &uid, gid, err, errlen);
}

static int run(struct store *s, int which) {
  int rc = sqlite3_step(s->st[which]);
  sqlite3_reset(s->st[which]);
  return rc == SQLITE_DONE ? 0 : fail(s, stmt_sql[which]);
}

/* Say which file system is full: the database's, with what it has left. */
static void full_detail(struct store *s) {
  const char *path = sqlite3_db_filename(s->db, "main");
  char dir[4096], *slash;
  struct statvfs fs;
  size_t n = strlen(s->err);

  if (path == NULL || *path == '\0') return;
  snprintf(dir, sizeof(dir), "%s", path);
  if ((slash = strrchr(dir, '/')) != NULL) *(slash == dir ? slash + 1 : slash) = '\0';
  if (statvfs(dir, &fs) == 0)
    snprintf(s->err + n, sizeof(s->err) - n,
             " (the file system holding %s has %llu KiB free for us)", dir,
             (unsigned long long)fs.f_bavail * fs.f_frsize / 1024);
}

int store_flush(struct store *s) {
  int rc;

  if (!s->in_tx) return 0;
  rc = run(s, ST_COMMIT);
  if (rc < 0) {
    /* Keep the commit's own error: SQLite may have rolled back already
     * (disk full), and a ROLLBACK then only says "no transaction". */
    if (!sqlite3_get_autocommit(s->db)) {
      sqlite3_step(s->st[ST_ROLLBACK]);
      sqlite3_reset(s->st[ST_ROLLBACK]);
    }
    if (rc == -ENOSPC) full_detail(s);
    s->in_tx = 0;
    s->pending = 0;
    s->new_pending = 0; /* not stored after all */
    return rc;
  }
  s->in_tx = 0;
  s->pending = 0;
  s->new_committed += s->new_pending;
  s->new_pending = 0;
  return 0;
}

uint64_t store_committed(const struct store *s) { return s->new_committed; }

int store_close(struct store *s) {
  int rc = 0, i;

  if (s == NULL) return 0;
  if (s->db != NULL && s->in_tx) rc = store_flush(s);
  for (i = 0; i < ST_COUNT_; i++) sqlite3_finalize(s->st[i]);
  sqlite3_finalize(s->q_dns_get);
  sqlite3_finalize(s->q_dns_put);
  sqlite3_finalize(s->q_finding);
  sqlite3_finalize(s->q_ident);
  sqlite3_finalize(s->q_idlog);
  sqlite3_finalize(s->q_partial);
  sqlite3_finalize(s->q_delsess);
  if (s->db != NULL) sqlite3_close(s->db);
  free(s);
  return rc;
}

const char *store_errmsg(const struct store *s) { return s->err; }

void store_interrupt(struct store *s) { sqlite3_interrupt(s->db); }

const char *store_path(const struct store *s) {
  const char *p = sqlite3_db_filename(s->db, "main");
  return p ? p : "";
}

static int tx_begin(struct store *s) {
  int rc;

  if (s->in_tx) return 0;
  rc = run(s, ST_BEGIN);
  if (rc == 0) {
    s->in_tx = 1;
    s->tx_start = mono_us();
  }
  return rc;
}

/* Bind wire bytes as escaped text, or NULL when absent. */
static void bind_wire(struct store *s, sqlite3_stmt *st, int i,
                      const struct slice *v) {
  size_t n;

  if (v->p == NULL) {
    sqlite3_bind_null(st, i);
    return;
  }
  n = esc_bytes(s->esc, sizeof(s->esc), v->p, v->len);
  sqlite3_bind_text(st, i, s->esc, (int)n, SQLITE_TRANSIENT);
}

static void bind_str(sqlite3_stmt *st, int i, const char *v) {
  if (v == NULL) sqlite3_bind_null(st, i);
  else sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

int store_point(struct store *s, const char *name, const char *host,
                const char *iface, const char *file, const char *linktype,
                int64_t *id) {
  sqlite3_stmt *st = s->st[ST_POINT];
  int rc;

  bind_str(st, 1, name);
  bind_str(st, 2, host);
  bind_str(st, 3, iface);
  bind_str(st, 4, file);
  bind_str(st, 5, linktype);
  sqlite3_bind_int64(st, 6, now_us());
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) *id = sqlite3_column_int64(st, 0);
  rc = rc == SQLITE_ROW ? 0 : fail(s, "points");
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return rc;
}

static int prep(struct store *s, sqlite3_stmt **st, const char *sql) {
  if (*st != NULL) return 0;
  if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) !=
      SQLITE_OK)
    return fail(s, "prepare");
  return 0;
}

/* The stored session with ss's key has fewer packets than ss: delete it
 * (its HELO and reply rows go with it) and return 1; else 0. */
static int replace_partial(struct store *s, const struct session *ss,
                           const char *src, const char *dst) {
  sqlite3_stmt *q;
  int64_t id = -1, pkts = 0;
  int rc;

  rc = prep(s, &s->q_partial,
            "SELECT id, pkts_c2s + pkts_s2c FROM sessions WHERE point_id = ?1"
            " AND first_seen = ?2 AND src_ip = ?3 AND src_port = ?4 AND"
            " dst_ip = ?5 AND dst_port = ?6");
  if (rc < 0) return rc;
  q = s->q_partial;
  sqlite3_bind_int64(q, 1, ss->point);
  sqlite3_bind_int64(q, 2, ss->first_us);
  sqlite3_bind_text(q, 3, src, -1, SQLITE_STATIC);
  sqlite3_bind_int(q, 4, ss->sport);
  sqlite3_bind_text(q, 5, dst, -1, SQLITE_STATIC);
  sqlite3_bind_int(q, 6, ss->dport);
  if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    id = sqlite3_column_int64(q, 0);
    pkts = sqlite3_column_int64(q, 1);
  }
  sqlite3_reset(q);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return fail(s, "sessions");
  if (id < 0 || (int64_t)ss->pkts_c2s + (int64_t)ss->pkts_s2c <= pkts) return 0;
  rc = prep(s, &s->q_delsess, "DELETE FROM sessions WHERE id = ?1");
  if (rc < 0) return rc;
  sqlite3_bind_int64(s->q_delsess, 1, id);
  rc = sqlite3_step(s->q_delsess);
  sqlite3_reset(s->q_delsess);
  return rc == SQLITE_DONE ? 1 : fail(s, "sessions");
}

int store_put_session(struct store *s, const struct session *ss) {
  sqlite3_stmt *st = s->st[ST_SESSION];
  char src[ADDR_STRLEN], dst[ADDR_STRLEN], echoed[ADDR_STRLEN];
  char last[ESC_CAP(REPLY_TEXT_ERR_MAX) + 32];
  int64_t sid;
  unsigned i;
  int rc;

  rc = tx_begin(s);
  if (rc < 0) return rc;
  sqlite3_bind_int64(st, 1, ss->point);
  sqlite3_bind_int64(st, 2, ss->first_us);
  sqlite3_bind_int64(st, 3, ss->last_us);
  sqlite3_bind_int(st, 4, ss->src.family);
  sqlite3_bind_text(st, 5, addr_str(&ss->src, src), -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 6, ss->sport);
  sqlite3_bind_text(st, 7, addr_str(&ss->dst, dst), -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 8, ss->dport);
  if (ss->vlan >= 0) sqlite3_bind_int(st, 9, ss->vlan);
  else sqlite3_bind_null(st, 9);
  sqlite3_bind_text(st, 10, sess_state_name(ss->state), -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 11, sess_end_name(ss->end), -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 12, sess_dirby_name(ss->dirby), -1, SQLITE_STATIC);
  bind_wire(s, st, 13, &ss->banner);
  bind_wire(s, st, 14, &ss->banner_host);
  if (ss->n_helo > 0) bind_wire(s, st, 15, &ss->helo[0]);
  else sqlite3_bind_null(st, 15);
  bind_wire(s, st, 16, &ss->ehlo_reply);
  if (ss->echoed.family != 0) {
    sqlite3_bind_text(st, 17, addr_str(&ss->echoed, echoed), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 18,
                      ss->echoed_from == CMD_NONE ? "reject"
                                                  : smtp_cmd_name(ss->echoed_from),
                      -1, SQLITE_STATIC);
  } else {
    sqlite3_bind_null(st, 17);
    sqlite3_bind_null(st, 18);
  }
  if (ss->has_mail) bind_wire(s, st, 19, &ss->mail_domain);
  else sqlite3_bind_null(st, 19);
  sqlite3_bind_int(st, 20, ss->starttls_offered);
  sqlite3_bind_int(st, 21, ss->starttls_requested);
  sqlite3_bind_int(st, 22, ss->starttls_accepted);
  if (ss->last_reply != NULL) {
    const struct sess_reply *r = ss->last_reply;
    size_t n = (size_t)snprintf(last, sizeof(last), "%u ", r->code);
    if (r->enhanced.len > 0) {
      n += esc_bytes(last + n, sizeof(last) - n, r->enhanced.p, r->enhanced.len);
      if (n + 1 < sizeof(last)) last[n++] = ' ';
    }
    n += esc_bytes(last + n, sizeof(last) - n, r->text.p, r->text.len);
    while (n > 0 && last[n - 1] == ' ') n--;
    sqlite3_bind_int(st, 23, r->code);
    sqlite3_bind_text(st, 24, last, (int)n, SQLITE_STATIC);
  } else {
    sqlite3_bind_null(st, 23);
    sqlite3_bind_null(st, 24);
  }
  sqlite3_bind_int64(st, 25, ss->pkts_c2s);
  sqlite3_bind_int64(st, 26, ss->pkts_s2c);
  sqlite3_bind_int64(st, 27, (sqlite3_int64)ss->bytes_c2s);
  sqlite3_bind_int64(st, 28, (sqlite3_int64)ss->bytes_s2c);
  sqlite3_bind_int64(st, 29, ss->anom.overlong);
  sqlite3_bind_int64(st, 30, ss->anom.bare_lf);
  sqlite3_bind_int64(st, 31, ss->anom.bare_cr);
  sqlite3_bind_int64(st, 32, ss->anom.gaps);
  sqlite3_bind_int64(st, 33, ss->anom.pipelined);
  sqlite3_bind_int64(st, 34, ss->anom.retrans);
  sqlite3_bind_int64(st, 35, ss->anom.ooo);
  sqlite3_bind_int64(st, 36, ss->anom.bad_reply);
  sqlite3_bind_int64(st, 37, ss->anom.replies_dropped);
  sqlite3_bind_int64(st, 38, ss->anom.truncated);
  sqlite3_bind_text(st, 39, sess_direction_name(ss->direction), -1,
                    SQLITE_STATIC);
  rc = run(s, ST_SESSION);
  sqlite3_clear_bindings(st);
  if (rc < 0) return rc;
  if (sqlite3_changes(s->db) == 0) {
    /* Already stored: the same version (a re-read), or a part of it (a
     * capture file read alone that ends mid-session, now read with the
     * next one): the one with more packets wins. */
    rc = replace_partial(s, ss, src, dst);
    if (rc <= 0) return rc;
    return store_put_session(s, ss);
  }
  sid = sqlite3_last_insert_rowid(s->db);

  st = s->st[ST_HELO];
  for (i = 0; i < ss->n_helo; i++) {
    sqlite3_bind_int64(st, 1, sid);
    sqlite3_bind_int(st, 2, (int)i);
    sqlite3_bind_text(st, 3, smtp_cmd_name(ss->helo_cmd[i]), -1, SQLITE_STATIC);
    bind_wire(s, st, 4, &ss->helo[i]);
    if ((rc = run(s, ST_HELO)) < 0) return rc;
  }
  st = s->st[ST_REPLY];
  for (i = 0; i < ss->n_replies; i++) {
    const struct sess_reply *r = &ss->replies[i];
    const char *cmd = smtp_cmd_name(r->cmd);
    sqlite3_bind_int64(st, 1, sid);
    sqlite3_bind_int(st, 2, (int)i);
    bind_str(st, 3, cmd);
    sqlite3_bind_int(st, 4, r->code);
    if (r->enhanced.len > 0) bind_wire(s, st, 5, &r->enhanced);
    else sqlite3_bind_null(st, 5);
    {
      struct slice t = r->text;
      if (t.p == NULL) t.p = "";
      bind_wire(s, st, 6, &t);
    }
    if ((rc = run(s, ST_REPLY)) < 0) return rc;
  }
  s->new_pending++;
  /* Commit every STORE_BATCH_ROWS rows or STORE_BATCH_MS, whichever first:
   * few transactions, and a reader never waits long for new rows. */
  if ((++s->pending >= STORE_BATCH_ROWS ||
       mono_us() - s->tx_start >= STORE_BATCH_MS * 1000LL) &&
      (rc = store_flush(s)) < 0)
    return rc;
  return 1;
}

int store_put_stat(struct store *s, int64_t point, int64_t at,
                   const char *name, int64_t value) {
  sqlite3_stmt *st = s->st[ST_STAT];
  int rc = tx_begin(s);

  if (rc < 0) return rc;
  sqlite3_bind_int64(st, 1, point);
  sqlite3_bind_int64(st, 2, at);
  sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 4, value);
  return run(s, ST_STAT);
}

/* The session query: one SELECT, with the JSON built by SQLite's JSON
 * functions so every string is quoted by the same code. */
#define REJECT_SQL                                                           \
  "(SELECT code || ' ' || coalesce(enhanced || ' ', '') || text FROM"        \
  " replies r WHERE r.session_id = s.id AND code >= 400 ORDER BY seq"        \
  " LIMIT 1)"
#define SESS_COLS                                                            \
  "s.first_seen, s.last_seen, p.name, s.src_ip, s.src_port, s.dst_ip,"       \
  " s.dst_port, s.state, s.end_reason, s.banner, s.helo, s.ehlo_reply,"      \
  " s.echoed_ip, s.starttls, s.last_code, s.last_reply, s.vlan, s.direction,"\
  " s.banner_host,"                                                          \
  " (SELECT count(*) FROM replies r WHERE r.session_id = s.id),"             \
  " " REJECT_SQL
#define SESS_JSON                                                            \
  ", json_object('first_seen', rfc3339(s.first_seen),"                       \
  " 'last_seen', rfc3339(s.last_seen), 'point', p.name,"                     \
  " 'src_ip', s.src_ip, 'src_port', s.src_port, 'dst_ip', s.dst_ip,"         \
  " 'dst_port', s.dst_port, 'ipver', s.ipver, 'vlan', s.vlan,"               \
  " 'direction', s.direction,"                                               \
  " 'state', s.state, 'end', s.end_reason, 'client_by', s.client_by,"        \
  " 'banner', s.banner, 'banner_host', s.banner_host, 'helo', s.helo,"       \
  " 'helos', json((SELECT json_group_array(name) FROM (SELECT name FROM"     \
  " helos h WHERE h.session_id = s.id ORDER BY seq))),"                      \
  " 'ehlo_reply', s.ehlo_reply, 'echoed_ip', s.echoed_ip,"                   \
  " 'echoed_from', s.echoed_from, 'mail_from_domain', s.mail_from_domain,"   \
  " 'starttls', json(CASE WHEN s.starttls THEN 'true' ELSE 'false' END),"    \
  " 'starttls_offered', json(CASE WHEN s.starttls_offered THEN 'true'"       \
  " ELSE 'false' END),"                                                      \
  " 'starttls_requested', json(CASE WHEN s.starttls_requested THEN 'true'"   \
  " ELSE 'false' END),"                                                      \
  " 'last_reply', s.last_reply, 'reject', " REJECT_SQL ","                           \
  " 'replies', json((SELECT json_group_array(json_object('code', code,"      \
  " 'enhanced', enhanced, 'text', text, 'cmd', cmd)) FROM (SELECT * FROM"    \
  " replies r WHERE r.session_id = s.id ORDER BY seq))),"                    \
  " 'packets', json_array(s.pkts_c2s, s.pkts_s2c),"                          \
  " 'bytes', json_array(s.bytes_c2s, s.bytes_s2c),"                          \
  " 'anomalies', json_object('overlong', s.n_overlong, 'bare_lf',"           \
  " s.n_bare_lf, 'bare_cr', s.n_bare_cr, 'gaps', s.n_gaps, 'pipelined',"     \
  " s.n_pipelined, 'retransmissions', s.n_retrans, 'out_of_order', s.n_ooo," \
  " 'bad_replies', s.n_bad_reply, 'replies_dropped', s.n_replies_dropped,"   \
  " 'truncated', s.n_truncated))"

static const char *col_text(sqlite3_stmt *st, int i) {
  return (const char *)sqlite3_column_text(st, i);
}

int64_t store_sessions(struct store *s, const struct sess_filter *f,
                       bool want_json, sess_row_fn fn, void *ctx) {
  char sql[4096];
  size_t n;
  sqlite3_stmt *st = NULL;
  struct sess_row row;
  int64_t count = 0;
  int rc, i = 1;

  n = (size_t)snprintf(sql, sizeof(sql),
                       "SELECT " SESS_COLS "%s FROM sessions s JOIN points p"
                       " ON p.id = s.point_id WHERE 1",
                       want_json ? SESS_JSON : "");
#define ADD(cond) n += (size_t)snprintf(sql + n, sizeof(sql) - n, " AND %s", cond)
  if (f->ip) ADD("(s.src_ip = ?1 OR s.echoed_ip = ?1)");
  if (f->helo)
    ADD("s.id IN (SELECT session_id FROM helos WHERE name = ?2"
        " COLLATE NOCASE)"); /* uses helos_name, not a scan */
  if (f->dst) ADD("(s.dst_ip = ?3 OR s.banner_host = ?3 COLLATE NOCASE)");
  if (f->state) ADD("s.state = ?4");
  if (f->direction) ADD("s.direction = ?9");
  if (f->point) ADD("p.name = ?5");
  if (f->since != INT64_MIN) ADD("s.first_seen >= ?6");
  if (f->until != INT64_MAX) ADD("s.first_seen <= ?7");
#undef ADD
  n += (size_t)snprintf(sql + n, sizeof(sql) - n,
                        " ORDER BY s.first_seen, s.id%s",
                        f->limit > 0 ? " LIMIT ?8" : "");
  if (n >= sizeof(sql)) return -E2BIG;
  if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
    return fail(s, "sessions query");
  if (f->ip) sqlite3_bind_text(st, 1, f->ip, -1, SQLITE_STATIC);
  if (f->helo) sqlite3_bind_text(st, 2, f->helo, -1, SQLITE_STATIC);
  if (f->dst) sqlite3_bind_text(st, 3, f->dst, -1, SQLITE_STATIC);
  if (f->state) sqlite3_bind_text(st, 4, f->state, -1, SQLITE_STATIC);
  if (f->point) sqlite3_bind_text(st, 5, f->point, -1, SQLITE_STATIC);
  if (f->since != INT64_MIN) sqlite3_bind_int64(st, 6, f->since);
  if (f->until != INT64_MAX) sqlite3_bind_int64(st, 7, f->until);
  if (f->limit > 0) sqlite3_bind_int64(st, 8, f->limit);
  if (f->direction) sqlite3_bind_text(st, 9, f->direction, -1, SQLITE_STATIC);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    memset(&row, 0, sizeof(row));
    i = 0;
    row.first_us = sqlite3_column_int64(st, i++);
    row.last_us = sqlite3_column_int64(st, i++);
    row.point = col_text(st, i++);
    row.src_ip = col_text(st, i++);
    row.src_port = sqlite3_column_int64(st, i++);
    row.dst_ip = col_text(st, i++);
    row.dst_port = sqlite3_column_int64(st, i++);
    row.state = col_text(st, i++);
    row.end = col_text(st, i++);
    row.banner = col_text(st, i++);
    row.helo = col_text(st, i++);
    row.ehlo_reply = col_text(st, i++);
    row.echoed_ip = col_text(st, i++);
    row.starttls = sqlite3_column_int64(st, i++);
    row.last_code = sqlite3_column_int64(st, i++);
    row.last_reply = col_text(st, i++);
    row.vlan = sqlite3_column_type(st, i) == SQLITE_NULL
                   ? -1
                   : sqlite3_column_int64(st, i);
    i++;
    row.direction = col_text(st, i++);
    row.banner_host = col_text(st, i++);
    row.n_replies = sqlite3_column_int64(st, i++);
    row.reject = col_text(st, i++);
    if (want_json) row.json = col_text(st, i++);
    count++;
    if (fn(&row, ctx) != 0) break;
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    int e = fail(s, "sessions query");
    sqlite3_finalize(st);
    return e;
  }
  sqlite3_finalize(st);
  return count;
}

/* --- analysis ------------------------------------------------------- */

int store_dns_get(struct store *s, const char *name, int type,
                  struct dns_result *out, int64_t *fetched, int64_t *expires) {
  sqlite3_stmt *st;
  const char *a, *nl;
  int rc;

  rc = prep(s, &s->q_dns_get,
            "SELECT status, answers, ttl, soa_zone, soa_mname, soa_rname,"
            " fetched, expires, total FROM dns WHERE name = ?1 AND type = ?2");
  if (rc < 0) return rc;
  st = s->q_dns_get;
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 2, type);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    memset(out, 0, offsetof(struct dns_result, answer));
    out->type = (uint16_t)type;
    snprintf(out->name, sizeof(out->name), "%s", name);
    rc = dns_status_parse((const char *)sqlite3_column_text(st, 0));
    out->status = (uint8_t)(rc < 0 ? DNS_ERROR : rc);
    a = (const char *)sqlite3_column_text(st, 1);
    while (a != NULL && *a && out->n < DNS_ANSWERS_MAX) {
      nl = strchr(a, '\n');
      snprintf(out->answer[out->n++], DNS_NAME_MAX, "%.*s",
               (int)(nl ? (size_t)(nl - a) : strlen(a)), a);
      a = nl ? nl + 1 : NULL;
    }
    out->ttl = (uint32_t)sqlite3_column_int64(st, 2);
#define COPY_COL(dst, i)                                                     \
  snprintf(dst, sizeof(dst), "%s",                                           \
           sqlite3_column_text(st, i) ? (const char *)sqlite3_column_text(st, i) : "")
    COPY_COL(out->soa_zone, 3);
    COPY_COL(out->soa_mname, 4);
    COPY_COL(out->soa_rname, 5);
#undef COPY_COL
    *fetched = sqlite3_column_int64(st, 6);
    *expires = sqlite3_column_int64(st, 7);
    out->total = (uint16_t)MAX(sqlite3_column_int64(st, 8), (int64_t)out->n);
    rc = 1;
  } else {
    rc = rc == SQLITE_DONE ? 0 : fail(s, "dns cache");
  }
  sqlite3_reset(st);
  return rc;
}

int store_dns_put(struct store *s, const struct dns_result *r, int64_t now,
                  const char *resolver) {
  sqlite3_stmt *st;
  char answers[DNS_ANSWERS_MAX * DNS_NAME_MAX];
  size_t n = 0;
  unsigned i;
  int64_t ttl = r->ttl;
  int rc;

  rc = prep(s, &s->q_dns_put,
            "INSERT OR REPLACE INTO dns(name, type, status, answers, ttl,"
            " soa_zone, soa_mname, soa_rname, fetched, expires, resolver, total)"
            " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)");
  if (rc < 0 || (rc = tx_begin(s)) < 0) return rc;
  st = s->q_dns_put;
  answers[0] = '\0';
  for (i = 0; i < r->n && n < sizeof(answers); i++)
    n += (size_t)snprintf(answers + n, sizeof(answers) - n, "%s%s",
                          i ? "\n" : "", r->answer[i]);
  /* Keep an answer at least a minute and at most a day; a temporary
   * failure is never cached as a fact. */
  if (dns_status_temporary(r->status)) ttl = 0;
  else if (ttl < DNS_CACHE_TTL_MIN) ttl = DNS_CACHE_TTL_MIN;
  else if (ttl > DNS_CACHE_TTL_MAX) ttl = DNS_CACHE_TTL_MAX;
  sqlite3_bind_text(st, 1, r->name, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 2, r->type);
  sqlite3_bind_text(st, 3, dns_status_name(r->status), -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 4, answers, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 5, r->ttl);
  bind_str(st, 6, r->soa_zone[0] ? r->soa_zone : NULL);
  bind_str(st, 7, r->soa_mname[0] ? r->soa_mname : NULL);
  bind_str(st, 8, r->soa_rname[0] ? r->soa_rname : NULL);
  sqlite3_bind_int64(st, 9, now);
  sqlite3_bind_int64(st, 10, now + ttl * 1000000);
  bind_str(st, 11, resolver);
  sqlite3_bind_int(st, 12, r->total);
  rc = sqlite3_step(st);
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) return fail(s, "dns cache");
  if (++s->pending >= STORE_BATCH_ROWS) return store_flush(s);
  return 0;
}

#define WINDOW " AND s.first_seen >= ?1 AND s.first_seen <= ?2"

/* The sessions store_exclude_sessions named: a gateway's twins. */
#define NOT_EXCLUDED " AND s.id NOT IN (SELECT id FROM temp.ea_excluded)"

/* Run a window query: sql with ?1 = since, ?2 = until (and ?3 = p3 when
 * not NULL); take() turns each row into its struct and hands it on, and
 * stops the walk by returning non-zero. Returns the rows seen, or a
 * negative errno. */
static int64_t each_row(struct store *s, const char *what, const char *sql,
                        int64_t since, int64_t until, const char *p3,
                        int (*take)(sqlite3_stmt *st, void *arg), void *arg) {
  sqlite3_stmt *st = NULL;
  int64_t n = 0;
  int rc;

  if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
    return fail(s, what);
  sqlite3_bind_int64(st, 1, since);
  sqlite3_bind_int64(st, 2, until);
  if (p3 != NULL) sqlite3_bind_text(st, 3, p3, -1, SQLITE_STATIC);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    n++;
    if (take(st, arg) != 0) break;
  }
  rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : fail(s, what);
  sqlite3_finalize(st);
  return rc < 0 ? rc : n;
}

/* A row callback and its context, for the take_*() functions. */
struct sink {
  void (*fn)(void); /* the caller's typed callback, cast back to call it */
  void *ctx;
};

static int take_egress_groups(sqlite3_stmt *st, void *arg) {
  struct sink *k = arg;
  struct egress_group g;

  g.src_ip = col_text(st, 0);
  g.echoed_ip = col_text(st, 1);
  g.helo = col_text(st, 2);
  g.direction = col_text(st, 3);
  g.sessions = sqlite3_column_int64(st, 4);
  g.first_us = sqlite3_column_int64(st, 5);
  g.last_us = sqlite3_column_int64(st, 6);
  g.rejected = sqlite3_column_int64(st, 7);
  g.starttls = sqlite3_column_int64(st, 8);
  g.points = col_text(st, 9);
  return ((egress_group_fn)k->fn)(&g, k->ctx);
}

int store_multi_point(struct store *s) {
  sqlite3_stmt *st = NULL;
  int n = 2;

  if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM points", -1, &st,
                         NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    n = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  return n > 1;
}

int store_exclude_sessions(struct store *s, const int64_t *ids, size_t n) {
  sqlite3_stmt *st = NULL;
  size_t i;
  int rc = 0;

  if (sqlite3_exec(s->db,
                   "CREATE TEMP TABLE IF NOT EXISTS ea_excluded("
                   "id INTEGER PRIMARY KEY); DELETE FROM temp.ea_excluded;",
                   NULL, NULL, NULL) != SQLITE_OK)
    return fail(s, "excluded sessions");
  s->excluding = 1;
  if (n == 0) return 0;
  if (sqlite3_exec(s->db, "SAVEPOINT ea_ex", NULL, NULL, NULL) != SQLITE_OK)
    return fail(s, "excluded sessions");
  if (sqlite3_prepare_v2(s->db, "INSERT OR IGNORE INTO temp.ea_excluded(id)"
                         " VALUES(?1)", -1, &st, NULL) != SQLITE_OK)
    rc = fail(s, "excluded sessions");
  for (i = 0; rc == 0 && i < n; i++) {
    sqlite3_bind_int64(st, 1, ids[i]);
    if (sqlite3_step(st) != SQLITE_DONE) rc = fail(s, "excluded sessions");
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  sqlite3_exec(s->db, rc == 0 ? "RELEASE ea_ex" : "ROLLBACK TO ea_ex; RELEASE ea_ex",
               NULL, NULL, NULL);
  return rc;
}

#define EGRESS_SQL(twins)                                                     \
  "SELECT s.src_ip, s.echoed_ip, s.helo, s.direction,"                        \
  " count(*), min(s.first_seen), max(s.last_seen),"                           \
  " sum(EXISTS(SELECT 1 FROM replies r WHERE"                                 \
  "  r.session_id = s.id AND r.code >= 400)),"                                \
  " sum(s.starttls), group_concat(DISTINCT p.name)"                           \
  " FROM sessions s JOIN points p ON p.id = s.point_id"                       \
  " WHERE s.direction != 'inbound'" WINDOW twins                              \
  " GROUP BY s.src_ip, s.echoed_ip, s.helo, s.direction"

int64_t store_egress_groups(struct store *s, int64_t since, int64_t until,
                            egress_group_fn fn, void *ctx) {
  struct sink k = {(void (*)(void))fn, ctx};

  return each_row(s, "egress query",
                  s->excluding ? EGRESS_SQL(NOT_EXCLUDED) : EGRESS_SQL(""),
                  since, until, NULL, take_egress_groups, &k);
}

static int take_rejects(sqlite3_stmt *st, void *arg) {
  struct sink *k = arg;
  struct reject_row r;

  r.src_ip = col_text(st, 0);
  r.echoed_ip = col_text(st, 1);
  r.dst_ip = col_text(st, 2);
  r.banner_host = col_text(st, 3);
  r.first_us = sqlite3_column_int64(st, 4);
  r.code = sqlite3_column_int64(st, 5);
  r.enhanced = col_text(st, 6);
  r.text = col_text(st, 7);
  return ((reject_fn)k->fn)(&r, k->ctx);
}

int64_t store_rejects(struct store *s, int64_t since, int64_t until,
                      reject_fn fn, void *ctx) {
  struct sink k = {(void (*)(void))fn, ctx};

#define REJECTS_Q(twins)                                                     \
  "SELECT s.src_ip, s.echoed_ip, s.dst_ip, s.banner_host, s.first_seen,"      \
  " r.code, r.enhanced, r.text FROM replies r JOIN sessions s"                \
  " ON s.id = r.session_id WHERE r.code >= 400 AND"                           \
  " s.direction != 'inbound'" WINDOW twins " ORDER BY s.first_seen"
  return each_row(s, "reject query",
                  s->excluding ? REJECTS_Q(NOT_EXCLUDED) : REJECTS_Q(""),
                  since, until, NULL, take_rejects, &k);
#undef REJECTS_Q
}

static int take_port25(sqlite3_stmt *st, void *arg) {
  struct sink *k = arg;
  struct port25_row r;

  r.src_ip = col_text(st, 0);
  r.blocked_dsts = sqlite3_column_int64(st, 1);
  r.blocked = sqlite3_column_int64(st, 2);
  r.answered = sqlite3_column_int64(st, 3);
  r.first_us = sqlite3_column_int64(st, 4);
  r.last_us = sqlite3_column_int64(st, 5);
  return ((port25_fn)k->fn)(&r, k->ctx);
}

int64_t store_port25(struct store *s, int64_t since, int64_t until,
                     port25_fn fn, void *ctx) {
  struct sink k = {(void (*)(void))fn, ctx};

  return each_row(s, "port 25 query",
                  "SELECT s.src_ip,"
                  " count(DISTINCT CASE WHEN s.state IN ('syn-only','refused')"
                  "  THEN s.dst_ip END),"
                  " sum(s.state IN ('syn-only','refused')),"
                  " sum(s.state NOT IN ('syn-only','refused','connected')),"
                  " min(s.first_seen), max(s.last_seen)"
                  " FROM sessions s WHERE s.direction != 'inbound'" WINDOW
                  /* only sources that had a blocked attempt: one scan for
                   * those, then their sessions by index */
                  " AND s.src_ip IN (SELECT b.src_ip FROM sessions b WHERE"
                  "  b.state IN ('syn-only','refused') AND"
                  "  b.direction != 'inbound' AND b.first_seen >= ?1 AND"
                  "  b.first_seen <= ?2)"
                  " GROUP BY s.src_ip",
                  since, until, NULL, take_port25, &k);
}

int store_identity_put(struct store *s, const struct identity_row *r,
                       int64_t at) {
  sqlite3_stmt *st;
  int rc;

  rc = prep(s, &s->q_ident,
            "INSERT OR REPLACE INTO identities(ip, iprev, ptr, helos, sources,"
            " echoed, sessions, rejected, starttls, first_seen, last_seen,"
            " unknown_direction, analyzed, points)"
            " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)");
  if (rc < 0 || (rc = tx_begin(s)) < 0) return rc;
  st = s->q_ident;
  sqlite3_bind_text(st, 1, r->ip, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, r->iprev, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, r->ptr, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 4, r->helos, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 5, r->sources, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 6, r->echoed, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 7, r->sessions);
  sqlite3_bind_int64(st, 8, r->rejected);
  sqlite3_bind_int64(st, 9, r->starttls);
  sqlite3_bind_int64(st, 10, r->first_us);
  sqlite3_bind_int64(st, 11, r->last_us);
  sqlite3_bind_int(st, 12, r->unknown_direction);
  sqlite3_bind_int64(st, 13, at);
  sqlite3_bind_text(st, 14, r->points ? r->points : "", -1, SQLITE_STATIC);
  rc = sqlite3_step(st);
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? 0 : fail(s, "identities");
}

int store_identity_log(struct store *s, const char *ip, int64_t at,
                       const char *iprev, const char *ptr) {
  sqlite3_stmt *st;
  int rc;

  rc = prep(s, &s->q_idlog,
            "INSERT OR IGNORE INTO identity_log(ip, at, iprev, ptr)"
            " SELECT ?1, ?2, ?3, ?4 WHERE NOT EXISTS (SELECT 1 FROM"
            " (SELECT iprev, ptr FROM identity_log WHERE ip = ?1"
            "  ORDER BY at DESC LIMIT 1) l WHERE l.iprev = ?3 AND l.ptr = ?4)");
  if (rc < 0 || (rc = tx_begin(s)) < 0) return rc;
  st = s->q_idlog;
  sqlite3_bind_text(st, 1, ip, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, at);
  sqlite3_bind_text(st, 3, iprev, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 4, ptr ? ptr : "", -1, SQLITE_STATIC);
  rc = sqlite3_step(st);
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? 0 : fail(s, "identity_log");
}

static int take_idlog(sqlite3_stmt *st, void *arg) {
  struct sink *k = arg;
  struct idlog_row r;

  r.ip = col_text(st, 0);
  r.at = sqlite3_column_int64(st, 1);
  r.iprev = col_text(st, 2);
  r.ptr = col_text(st, 3);
  return ((idlog_fn)k->fn)(&r, k->ctx);
}

int64_t store_identity_log_of(struct store *s, const char *ip, idlog_fn fn,
                              void *ctx) {
  struct sink k = {(void (*)(void))fn, ctx};

  return each_row(s, "identity log",
                  "SELECT ip, at, iprev, ptr FROM identity_log WHERE ip = ?3"
                  " AND at BETWEEN ?1 AND ?2 ORDER BY at",
                  INT64_MIN, INT64_MAX, ip, take_idlog, &k);
}

int store_analysis_begin(struct store *s, int64_t at) {
  (void)at;
  return tx_begin(s);
}

int store_finding_put(struct store *s, const struct finding *f, int64_t at) {
  sqlite3_stmt *st;
  int rc;

  rc = prep(s, &s->q_finding,
            "INSERT INTO findings(rule, severity, subject, detail, fix,"
            " first_seen, last_seen, count, status, analyzed, ident)"
            " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,'open',?9,?10)"
            " ON CONFLICT(rule, subject, ident) DO UPDATE SET"
            "  severity = excluded.severity, detail = excluded.detail,"
            "  fix = excluded.fix,"
            "  first_seen = min(first_seen, excluded.first_seen),"
            "  last_seen = max(last_seen, excluded.last_seen),"
            "  count = excluded.count, status = 'open', closed_at = NULL,"
            "  analyzed = excluded.analyzed");
  if (rc < 0 || (rc = tx_begin(s)) < 0) return rc;
  st = s->q_finding;
  sqlite3_bind_text(st, 1, f->rule, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, severity_name(f->severity), -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, f->subject, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 4, f->detail, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 5, f->fix, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 6, f->first_us);
  sqlite3_bind_int64(st, 7, f->last_us);
  sqlite3_bind_int64(st, 8, f->count);
  sqlite3_bind_int64(st, 9, at);
  sqlite3_bind_text(st, 10, f->ident, -1, SQLITE_STATIC);
  rc = sqlite3_step(st);
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? 0 : fail(s, "findings");
}

int store_analysis_end(struct store *s, int64_t at, int64_t since,
                       int64_t until, const struct analysis_stats *a,
                       const char *resolver) {
  sqlite3_stmt *st = NULL;
  int rc = tx_begin(s);

  if (rc < 0) return rc;
  /* A finding about sessions inside the analysed window that this run did
   * not raise again is fixed: close it. */
  if (sqlite3_prepare_v2(s->db,
                         "UPDATE findings SET status = 'closed', closed_at = ?1"
                         " WHERE status = 'open' AND analyzed < ?1 AND"
                         " last_seen >= ?2 AND first_seen <= ?3",
                         -1, &st, NULL) != SQLITE_OK)
    return fail(s, "findings");
  sqlite3_bind_int64(st, 1, at);
  sqlite3_bind_int64(st, 2, since);
  sqlite3_bind_int64(st, 3, until);
  rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return fail(s, "findings");
  st = NULL;
  if (sqlite3_prepare_v2(s->db,
                         "INSERT INTO analyses(at, since, until, max_session_id,"
                         " identities, queries, cached, temp_failures, resolver)"
                         " VALUES(?1, ?2, ?3, CASE WHEN ?9 > 0 THEN ?9 ELSE"
                         " (SELECT coalesce(max(id), 0) FROM sessions) END,"
                         " ?4, ?5, ?6, ?7, ?8)",
                         -1, &st, NULL) != SQLITE_OK)
    return fail(s, "analyses");
  sqlite3_bind_int64(st, 1, at);
  sqlite3_bind_int64(st, 2, since);
  sqlite3_bind_int64(st, 3, until);
  sqlite3_bind_int64(st, 4, a->identities);
  sqlite3_bind_int64(st, 5, a->queries);
  sqlite3_bind_int64(st, 6, a->cached);
  sqlite3_bind_int64(st, 7, a->temp_failures);
  bind_str(st, 8, resolver);
  sqlite3_bind_int64(st, 9, a->max_session_id);
  rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return fail(s, "analyses");
  return store_flush(s);
}

/* --- report ------------------------------------------------------------- */

static int take_identities(sqlite3_stmt *st, void *arg) {
  struct sink *k = arg;
  struct identity_row r;

  r.ip = col_text(st, 0);
  r.iprev = col_text(st, 1);
  r.ptr = col_text(st, 2);
  r.helos = col_text(st, 3);
  r.sources = col_text(st, 4);
  r.echoed = col_text(st, 5);
  r.sessions = sqlite3_column_int64(st, 6);
  r.rejected = sqlite3_column_int64(st, 7);
  r.starttls = sqlite3_column_int64(st, 8);
  r.first_us = sqlite3_column_int64(st, 9);
  r.last_us = sqlite3_column_int64(st, 10);
  r.unknown_direction = sqlite3_column_int(st, 11);
  r.points = col_text(st, 12);
  return ((identity_fn)k->fn)(&r, k->ctx);
}

int64_t store_identities(struct store *s, int64_t since, int64_t until,
                         const char *point, identity_fn fn, void *ctx) {
  struct sink k = {(void (*)(void))fn, ctx};

  return each_row(s, "identities",
                  "SELECT ip, iprev, ptr, helos, sources, echoed, sessions,"
                  " rejected, starttls, first_seen, last_seen,"
                  " unknown_direction, points FROM identities"
                  " WHERE last_seen >= ?1 AND first_seen <= ?2"
                  " AND (?3 IS NULL OR instr(',' || points || ',',"
                  "  ',' || ?3 || ',') > 0) ORDER BY ip",
                  since, until, point, take_identities, &k);
}

static int take_findings(sqlite3_stmt *st, void *arg) {
  struct sink *k = arg;
  struct finding_row r;

  r.rule = col_text(st, 0);
  r.severity = severity_parse(col_text(st, 1) ? col_text(st, 1) : "");
  r.subject = col_text(st, 2);
  r.ident = col_text(st, 3);
  r.detail = col_text(st, 4);
  r.fix = col_text(st, 5);
  r.status = col_text(st, 6);
  r.first_us = sqlite3_column_int64(st, 7);
  r.last_us = sqlite3_column_int64(st, 8);
  r.count = sqlite3_column_int64(st, 9);
  r.closed_us = sqlite3_column_int64(st, 10);
  return ((finding_fn_row)k->fn)(&r, k->ctx);
}

int64_t store_findings(struct store *s, int64_t since, int64_t until,
                       finding_fn_row fn, void *ctx) {
  struct sink k = {(void (*)(void))fn, ctx};

  return each_row(s, "findings",
                  "SELECT rule, severity, subject, ident, detail, fix, status,"
                  " first_seen, last_seen, count, closed_at FROM findings"
                  " WHERE status = 'open' AND last_seen >= ?1 AND first_seen <= ?2"
                  " ORDER BY rule, subject",
                  since, until, NULL, take_findings, &k);
}

static int64_t scalar(struct store *s, const char *sql, int64_t a, int64_t b,
                      int *err) {
  sqlite3_stmt *st = NULL;
  int64_t v = 0;

  if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
    *err = fail(s, "report");
    return 0;
  }
  if (sqlite3_bind_parameter_count(st) >= 1) sqlite3_bind_int64(st, 1, a);
  if (sqlite3_bind_parameter_count(st) >= 2) sqlite3_bind_int64(st, 2, b);
  if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
  else *err = fail(s, "report");
  sqlite3_finalize(st);
  return v;
}

int store_report_meta(struct store *s, int64_t since, int64_t until,
                      struct report_meta *m) {
  int err = 0;

  memset(m, 0, sizeof(*m));
  m->last_analysis = scalar(s, "SELECT coalesce(max(at), 0) FROM analyses", 0, 0, &err);
  m->new_sessions = scalar(s,
                           "SELECT count(*) FROM sessions WHERE id > (SELECT"
                           " coalesce(max(max_session_id), 0) FROM analyses)",
                           0, 0, &err);
  m->sessions = scalar(s,
                       "SELECT count(*) FROM sessions WHERE first_seen >= ?1"
                       " AND first_seen <= ?2",
                       since, until, &err);
  m->unknown_dir = scalar(s,
                          "SELECT count(*) FROM sessions WHERE first_seen >= ?1"
                          " AND first_seen <= ?2 AND direction = 'unknown'",
                          since, until, &err);
  m->points = scalar(s, "SELECT count(*) FROM points", 0, 0, &err);
  m->drops = scalar(s,
                    "SELECT coalesce(sum(value), 0) FROM capture_stats WHERE"
                    " name IN ('ps_drop', 'ps_ifdrop') AND at >= ?1 AND at <= ?2",
                    since, until, &err);
  return err;
}

/* --- retention ---------------------------------------------------------- */

#define PRUNE_BATCH 5000

/* Run a DELETE in bounded batches, each its own transaction. */
static int prune_loop(struct store *s, const char *sql, int64_t cutoff,
                      int64_t *count) {
  sqlite3_stmt *st = NULL;
  int rc, n;

  if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
    return fail(s, "prune");
  do {
    if ((rc = tx_begin(s)) < 0) break;
    sqlite3_bind_int64(st, 1, cutoff);
    sqlite3_bind_int(st, 2, PRUNE_BATCH);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
      rc = fail(s, "prune");
      run(s, ST_ROLLBACK);
      s->in_tx = 0;
      break;
    }
    n = sqlite3_changes(s->db);
    *count += n;
    if ((rc = store_flush(s)) < 0) break;
  } while (n == PRUNE_BATCH);
  sqlite3_finalize(st);
  return rc < 0 ? rc : 0;
}

int store_prune(struct store *s, int64_t cutoff, int vacuum,
                struct prune_counts *c) {
  int rc;

  memset(c, 0, sizeof(*c));
  if ((rc = store_flush(s)) < 0) return rc;
  if ((rc = prune_loop(s,
                       "DELETE FROM sessions WHERE id IN (SELECT id FROM"
                       " sessions WHERE last_seen < ?1 LIMIT ?2)",
                       cutoff, &c->sessions)) < 0 ||
      (rc = prune_loop(s,
                       "DELETE FROM dns WHERE (name, type) IN (SELECT name,"
                       " type FROM dns WHERE expires < ?1 LIMIT ?2)",
                       cutoff, &c->dns)) < 0 ||
      (rc = prune_loop(s,
                       "DELETE FROM findings WHERE id IN (SELECT id FROM"
                       " findings WHERE status = 'closed' AND closed_at < ?1"
                       " LIMIT ?2)",
                       cutoff, &c->findings)) < 0 ||
      (rc = prune_loop(s,
                       "DELETE FROM analyses WHERE id IN (SELECT id FROM"
                       " analyses WHERE at < ?1 AND id < (SELECT max(id) FROM"
                       " analyses) LIMIT ?2)",
                       cutoff, &c->analyses)) < 0 ||
      (rc = prune_loop(s,
                       "DELETE FROM capture_stats WHERE rowid IN (SELECT rowid"
                       " FROM capture_stats WHERE at < ?1 LIMIT ?2)",
                       cutoff, &c->stats)) < 0 ||
      (rc = prune_loop(s,
                       "DELETE FROM identities WHERE ip IN (SELECT ip FROM"
                       " identities WHERE last_seen < ?1 LIMIT ?2)",
                       cutoff, &c->identities)) < 0 ||
      /* an address's last entry stays: it says what holds since */
      (rc = prune_loop(s,
                       "DELETE FROM identity_log WHERE (ip, at) IN (SELECT"
                       " l.ip, l.at FROM identity_log l WHERE l.at < ?1 AND"
                       " l.at < (SELECT max(m.at) FROM identity_log m WHERE"
                       " m.ip = l.ip) LIMIT ?2)",
                       cutoff, &c->idlog)) < 0)
    return rc;
  if (vacuum && sqlite3_exec(s->db, "VACUUM", NULL, NULL, NULL) != SQLITE_OK)
    return fail(s, "vacuum");
  return 0;
}

static int take_inbound_servers(sqlite3_stmt *st, void *arg) {
  struct sink *k = arg;
  struct server_row r;

  r.ip = col_text(st, 0);
  r.banner_host = col_text(st, 1);
  r.sessions = sqlite3_column_int64(st, 2);
  r.first_us = sqlite3_column_int64(st, 3);
  r.last_us = sqlite3_column_int64(st, 4);
  return ((server_fn)k->fn)(&r, k->ctx);
}

int64_t store_inbound_servers(struct store *s, int64_t since, int64_t until,
                              server_fn fn, void *ctx) {
  struct sink k = {(void (*)(void))fn, ctx};

  return each_row(s, "servers",
                  "SELECT s.dst_ip, s.banner_host, count(*),"
                  " min(s.first_seen), max(s.last_seen) FROM sessions s"
                  " INDEXED BY sessions_direction" /* not a dst scan */
                  " WHERE s.direction = 'inbound' AND s.banner_host IS"
                  " NOT NULL" WINDOW " GROUP BY s.dst_ip, s.banner_host"
                  " ORDER BY s.dst_ip",
                  since, until, NULL, take_inbound_servers, &k);
}

static int take_capture_drops(sqlite3_stmt *st, void *arg) {
  struct sink *k = arg;
  struct drops_row r;

  r.point = col_text(st, 0);
  r.dropped = sqlite3_column_int64(st, 1);
  r.first_us = sqlite3_column_int64(st, 2);
  r.last_us = sqlite3_column_int64(st, 3);
  return ((drops_fn)k->fn)(&r, k->ctx);
}

int64_t store_capture_drops(struct store *s, int64_t since, int64_t until,
                            drops_fn fn, void *ctx) {
  struct sink k = {(void (*)(void))fn, ctx};

  return each_row(s, "capture drops",
                  "SELECT p.name, sum(c.value), min(c.at), max(c.at)"
                  " FROM capture_stats c JOIN points p ON p.id ="
                  " c.point_id WHERE c.name IN ('ps_drop', 'ps_ifdrop')"
                  " AND c.at >= ?1 AND c.at <= ?2 GROUP BY p.name"
                  " HAVING sum(c.value) > 0",
                  since, until, NULL, take_capture_drops, &k);
}

static int take_nat(sqlite3_stmt *st, void *arg) {
  struct sink *k = arg;
  struct nat_row r;

  r.inside_ip = col_text(st, 0);
  r.outside_ip = col_text(st, 1);
  r.point_in = col_text(st, 2);
  r.point_out = col_text(st, 3);
  r.first_us = sqlite3_column_int64(st, 4);
  r.last_us = sqlite3_column_int64(st, 5);
  r.sessions = sqlite3_column_int64(st, 6);
  return ((nat_fn)k->fn)(&r, k->ctx);
}

static int take_twin(sqlite3_stmt *st, void *arg) {
  struct sink *k = arg;
  struct twin_row r;

  r.id = sqlite3_column_int64(st, 0);
  r.point = sqlite3_column_int64(st, 1);
  r.first_us = sqlite3_column_int64(st, 2);
  r.last_us = sqlite3_column_int64(st, 3);
  r.src_ip = col_text(st, 4);
  r.src_port = sqlite3_column_int(st, 5);
  r.dst_ip = col_text(st, 6);
  r.dst_port = sqlite3_column_int(st, 7);
  r.helo = col_text(st, 8);
  r.point_name = col_text(st, 9);
  r.seen_at = (uint64_t)sqlite3_column_int64(st, 10);
  r.routed = sqlite3_column_int(st, 11);
  return ((twin_fn)k->fn)(&r, k->ctx);
}

#define STR_(x) #x
#define STR(x) STR_(x)
int64_t store_twin_rows(struct store *s, int64_t since, int64_t until,
                        twin_fn fn, void *ctx) {
  struct sink k = {(void (*)(void))fn, ctx};

  /* The probes read the sessions with the same source address and port
   * around each one through sessions_srcport, at most TWIN_PROBE_MAX
   * rows: an index seek each, however many sessions a host sends. */
  return each_row(
      s, "twin query",
      "SELECT s.id, s.point_id, s.first_seen, s.last_seen, s.src_ip,"
      " s.src_port, s.dst_ip, s.dst_port, s.helo, p.name,"
      " (SELECT coalesce(sum(DISTINCT 1 << (q.point_id % 64)), 0) FROM"
      "  (SELECT r.point_id FROM sessions r INDEXED BY sessions_srcport"
      "   WHERE r.src_ip = s.src_ip AND r.src_port = s.src_port AND"
      "   r.first_seen BETWEEN s.first_seen - " STR(TWIN_WINDOW_US)
      "   AND s.first_seen + " STR(TWIN_WINDOW_US) " AND r.id != s.id"
      "   LIMIT " STR(TWIN_PROBE_MAX) ") q),"
      " EXISTS (SELECT 1 FROM"
      "  (SELECT t.id, t.point_id, t.dst_ip, t.dst_port FROM sessions t"
      "   INDEXED BY sessions_srcport WHERE t.src_ip = s.src_ip AND"
      "   t.src_port = s.src_port AND t.first_seen BETWEEN s.first_seen - "
      STR(TWIN_WINDOW_US) " AND s.first_seen + " STR(TWIN_WINDOW_US)
      "   LIMIT " STR(TWIN_PROBE_MAX) ") t"
      "  WHERE t.dst_ip = s.dst_ip AND t.dst_port = s.dst_port AND"
      "  t.point_id != s.point_id AND t.id < s.id)"
      " FROM sessions s JOIN points p ON p.id = s.point_id"
      " WHERE s.first_seen >= ?1 - " STR(TWIN_WINDOW_US)
      " AND s.first_seen <= ?2 + " STR(TWIN_WINDOW_US)
      " AND s.direction != 'inbound'"
      " ORDER BY s.dst_ip, s.first_seen",
      since == INT64_MIN ? INT64_MIN + TWIN_WINDOW_US : since,
      until == INT64_MAX ? INT64_MAX - TWIN_WINDOW_US : until, NULL,
      take_twin, &k);
}
#undef STR
#undef STR_

int64_t store_nat_map(struct store *s, int64_t since, int64_t until,
                      nat_fn fn, void *ctx) {
  struct sink k = {(void (*)(void))fn, ctx};

  return each_row(s, "nat map",
                  "SELECT inside_ip, outside_ip, point_in, point_out,"
                  " first_seen, last_seen, sessions FROM nat_map"
                  " WHERE last_seen >= ?1 AND first_seen <= ?2"
                  " ORDER BY inside_ip, first_seen",
                  since, until, NULL, take_nat, &k);
}

int store_nat_map_put(struct store *s, const struct nat_row *r) {
  sqlite3_stmt *st = NULL;
  int rc;

  if ((rc = tx_begin(s)) < 0) return rc;
  if (sqlite3_prepare_v2(
          s->db,
          "INSERT INTO nat_map(inside_ip, outside_ip, point_in, point_out,"
          " first_seen, last_seen, sessions) VALUES(?1,?2,?3,?4,?5,?6,?7)"
          " ON CONFLICT(inside_ip, outside_ip) DO UPDATE SET"
          " first_seen = min(first_seen, excluded.first_seen),"
          " last_seen = max(last_seen, excluded.last_seen),"
          " sessions = excluded.sessions",
          -1, &st, NULL) != SQLITE_OK)
    return fail(s, "nat_map");
  sqlite3_bind_text(st, 1, r->inside_ip, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, r->outside_ip, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, r->point_in ? r->point_in : "", -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 4, r->point_out ? r->point_out : "", -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 5, r->first_us);
  sqlite3_bind_int64(st, 6, r->last_us);
  sqlite3_bind_int64(st, 7, r->sessions);
  rc = sqlite3_step(st);
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? 0 : fail(s, "nat_map");
}

int64_t store_max_session_id(struct store *s) {
  sqlite3_stmt *st = NULL;
  int64_t id = -1;

  if (sqlite3_prepare_v2(s->db, "SELECT coalesce(max(id), 0) FROM sessions",
                         -1, &st, NULL) != SQLITE_OK)
    return fail(s, "sessions");
  if (sqlite3_step(st) == SQLITE_ROW) id = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return id < 0 ? fail(s, "sessions") : id;
}
