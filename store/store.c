/* egressaudit - store/store.c: SQLite behind a narrow API: opening (the
 * files checked for planted links first), transactions, errors, and the
 * helpers the other files of store/ share (store_int.h).
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
#include <time.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "common/limits.h"
#include "common/safefile.h"
#include "common/util.h"
#include "store/schema.h"
#include "store/store_int.h"

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
        " n_ooo, n_bad_reply, n_replies_dropped, n_truncated, direction,"
        " n_fragments)"
        " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,"
        "?18,?19,?20,?21,?22,?23,?24,?25,?26,?27,?28,?29,?30,?31,?32,?33,?34,"
        "?35,?36,?37,?38,?39,?40)"
        " ON CONFLICT DO NOTHING",
    [ST_HELO] = "INSERT INTO helos(session_id, seq, verb, name)"
                " VALUES(?1,?2,?3,?4)",
    [ST_REPLY] = "INSERT INTO replies(session_id, seq, cmd, code, enhanced, text)"
                 " VALUES(?1,?2,?3,?4,?5,?6)",
    [ST_STAT] = "INSERT OR IGNORE INTO capture_stats(point_id, at, name, value)"
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

int st_fail(struct store *s, const char *what) {
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
/* Busy: try again every millisecond for STORE_BUSY_MS. A watch commits
 * its batch and takes the write lock again at its next session, often a
 * few milliseconds later: SQLite's own handler sleeps 25 to 100 ms between
 * tries and, beside a busy relay, never catches that gap (an 'analyze'
 * from the daily timer failed with "database is locked"). */
static int on_busy(void *ctx, int tries) {
  struct timespec ms = {0, 1000000};
  (void)ctx;
  if (tries >= STORE_BUSY_MS) return 0;
  nanosleep(&ms, NULL);
  return 1;
}

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
  s->batch_rows = STORE_BATCH_ROWS;
  s->batch_ms = STORE_BATCH_MS;
  flags = mode == STORE_RO ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
  /* Another account can swap names in this directory between our checks
   * and SQLite's own opens: then SQLite must follow no link at all. */
  if (shared) flags |= SQLITE_OPEN_NOFOLLOW;
  if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
    rc = st_fail(s, path);
    goto out;
  }
  /* Whoever can write the file writes its schema: trust none of it. */
  sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
  sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
  sqlite3_busy_handler(s->db, on_busy, NULL);
  sqlite3_extended_result_codes(s->db, 1);
  if (sqlite3_exec(s->db, "PRAGMA foreign_keys=ON", NULL, NULL, NULL) !=
      SQLITE_OK) {
    rc = st_fail(s, path);
    goto out;
  }
  if (mode != STORE_RO) {
    if (sqlite3_exec(s->db,
                     /* 8 MiB of page cache (SQLite's default is 2): a
                      * big batch no longer spills pages to the WAL and
                      * reads them back (read --maillog of 1M lines made
                      * 800,000 pread/pwrite calls, now 140,000) */
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                     " PRAGMA cache_size=-8192",
                     NULL, NULL, NULL) != SQLITE_OK) {
      rc = st_fail(s, path);
      goto out;
    }
    if (store__migrate(s->db, s->err, sizeof(s->err)) < 0) {
      rc = -EINVAL;
      goto out;
    }
    for (i = 0; i < ST_COUNT_; i++) {
      if (st_stmt(s, stmt_sql[i], &s->st[i]) < 0) {
        rc = st_fail(s, path);
        goto out;
      }
    }
  } else {
    sqlite3_stmt *v = NULL;
    int ver = -1;
    if (st_stmt(s, "PRAGMA user_version", &v) == 0 &&
        sqlite3_step(v) == SQLITE_ROW)
      ver = sqlite3_column_int(v, 0);
    else
      rc = st_fail(s, path);
    if (v) st_done(s, v);
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

int st_run(struct store *s, int which) {
  int rc = sqlite3_step(s->st[which]);
  sqlite3_reset(s->st[which]);
  return rc == SQLITE_DONE ? 0 : st_fail(s, stmt_sql[which]);
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
  rc = st_run(s, ST_COMMIT);
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

void store_bulk(struct store *s) {
  s->batch_rows = STORE_BULK_ROWS;
  s->batch_ms = STORE_BULK_MS;
}

uint64_t store_committed(const struct store *s) { return s->new_committed; }

int store_close(struct store *s) {
  int rc = 0, i;

  if (s == NULL) return 0;
  if (s->db != NULL && s->in_tx) rc = store_flush(s);
  for (i = 0; i < (int)s->ncache; i++) {
    sqlite3_finalize(s->cache[i].st);
    free(s->cache[i].sql);
  }
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

int st_tx_begin(struct store *s) {
  int rc;

  if (s->in_tx) return 0;
  rc = st_run(s, ST_BEGIN);
  if (rc == 0) {
    s->in_tx = 1;
    s->tx_start = mono_us();
  }
  return rc;
}

/* Bind wire bytes as escaped text, or NULL when absent. */
void st_bind_wire(struct store *s, sqlite3_stmt *st, int i,
                      const struct slice *v) {
  size_t n;

  if (v->p == NULL) {
    sqlite3_bind_null(st, i);
    return;
  }
  n = esc_bytes(s->esc, sizeof(s->esc), v->p, v->len);
  sqlite3_bind_text(st, i, s->esc, (int)n, SQLITE_TRANSIENT);
}

void st_bind_str(sqlite3_stmt *st, int i, const char *v) {
  if (v == NULL) sqlite3_bind_null(st, i);
  else sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

int st_stmt(struct store *s, const char *sql, sqlite3_stmt **out) {
  int keep = s->ncache < STMT_CACHE_MAX;
  unsigned i;

  *out = NULL;
  for (i = 0; i < s->ncache; i++)
    if (s->cache[i].sql == sql || strcmp(s->cache[i].sql, sql) == 0) {
      /* In use further up the stack (a query run from another's row
       * callback): this use gets one of its own. */
      if (sqlite3_stmt_busy(s->cache[i].st)) {
        keep = 0;
        break;
      }
      *out = s->cache[i].st;
      return 0;
    }
  if (sqlite3_prepare_v3(s->db, sql, -1, keep ? SQLITE_PREPARE_PERSISTENT : 0,
                         out, NULL) != SQLITE_OK) {
    *out = NULL;
    return st_fail(s, "prepare");
  }
  if (keep && (s->cache[s->ncache].sql = strdup(sql)) != NULL)
    s->cache[s->ncache++].st = *out;
  return 0;
}

void st_done(struct store *s, sqlite3_stmt *st) {
  unsigned i;

  for (i = 0; i < s->ncache; i++)
    if (s->cache[i].st == st) {
      sqlite3_reset(st);
      sqlite3_clear_bindings(st);
      return;
    }
  sqlite3_finalize(st); /* past the cache: made for one use */
}

int st_prep(struct store *s, sqlite3_stmt **st, const char *sql) {
  return *st != NULL ? 0 : st_stmt(s, sql, st);
}

const char *st_col_text(sqlite3_stmt *st, int i) {
  return (const char *)sqlite3_column_text(st, i);
}

/* Run a window query: sql with ?1 = since, ?2 = until (and ?3 = p3 when
 * not NULL); take() turns each row into its struct and hands it on, and
 * stops the walk by returning non-zero. Returns the rows seen, or a
 * negative errno. */
int64_t st_each_row(struct store *s, const char *what, const char *sql,
                        int64_t since, int64_t until, const char *p3,
                        int (*take)(sqlite3_stmt *st, void *arg), void *arg) {
  sqlite3_stmt *st = NULL;
  int64_t n = 0;
  int rc;

  if (st_stmt(s, sql, &st) < 0) return st_fail(s, what);
  sqlite3_bind_int64(st, 1, since);
  sqlite3_bind_int64(st, 2, until);
  if (p3 != NULL) sqlite3_bind_text(st, 3, p3, -1, SQLITE_STATIC);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    n++;
    if (take(st, arg) != 0) break;
  }
  rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : st_fail(s, what);
  st_done(s, st);
  return rc < 0 ? rc : n;
}

int64_t st_scalar(struct store *s, const char *sql, int64_t a, int64_t b,
                      int *err) {
  sqlite3_stmt *st = NULL;
  int64_t v = 0;

  if (st_stmt(s, sql, &st) < 0) {
    *err = st_fail(s, "report");
    return 0;
  }
  if (sqlite3_bind_parameter_count(st) >= 1) sqlite3_bind_int64(st, 1, a);
  if (sqlite3_bind_parameter_count(st) >= 2) sqlite3_bind_int64(st, 2, b);
  if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
  else *err = st_fail(s, "report");
  st_done(s, st);
  return v;
}
