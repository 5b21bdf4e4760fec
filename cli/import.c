/* egressaudit - cli/import.c: see import.h.
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include "cli/import.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/lines.h"
#include "common/util.h"
#include "store/store.h"

#define IMPORT_LINE_MAX (1 << 20) /* an event is a few KiB; longer: cut, bad */
#define IMPORT_ERRORS_SHOWN 5

void import_init(struct importer *im, struct store *st, const char *host) {
  memset(&im->n, 0, sizeof(im->n));
  memset(&im->points, 0, sizeof(im->points));
  im->st = st;
  im->host = host;
  im->last_err[0] = '\0';
}

void import_free(struct importer *im) { strmap_free(&im->points, NULL); }

/* The capture point "HOST:POINT" (or POINT when it is named so already,
 * or when no host is known): its id, made on first sight. */
static int point_of(struct importer *im, const char *host, int64_t *id) {
  char name[1024];
  void **slot;
  int rc;

  if (host[0] == '\0' || (strncmp(im->ev.point, host, strlen(host)) == 0 &&
                          im->ev.point[strlen(host)] == ':'))
    snprintf(name, sizeof(name), "%s", im->ev.point);
  else
    snprintf(name, sizeof(name), "%s:%s", host, im->ev.point);
  if ((slot = strmap_slot(&im->points, name, 0)) != NULL) {
    *id = (int64_t)(intptr_t)*slot;
    return 0;
  }
  if (im->points.n >= IMPORT_POINTS_MAX) {
    snprintf(im->last_err, sizeof(im->last_err),
             "more than %d capture points: not one fleet's", IMPORT_POINTS_MAX);
    return 1;
  }
  if ((rc = store_point(im->st, name, host[0] ? host : NULL, NULL, NULL,
                        "jsonl", id)) < 0)
    return rc;
  if ((slot = strmap_slot(&im->points, name, 1)) == NULL) return -ENOMEM;
  *slot = (void *)(intptr_t)*id;
  return 0;
}

int import_line(struct importer *im, const char *line, size_t len) {
  const char *host;
  int64_t id;
  int rc;

  im->n.lines++;
  while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
  if (len == 0) return 0;
  rc = jsonl_parse(line, len, &im->ev, im->last_err, sizeof(im->last_err));
  if (rc < 0) {
    im->n.bad++;
    return 1;
  }
  if (rc == JSONL_FINDING) {
    im->n.findings++;
    return 0;
  }
  if (rc != JSONL_SESSION && rc != JSONL_STATS) {
    im->n.other++;
    return 0;
  }
  host = im->ev.host[0] ? im->ev.host : im->host ? im->host : "";
  if ((rc = point_of(im, host, &id)) != 0) {
    if (rc > 0) im->n.bad++;
    return rc;
  }
  if (im->ev.type == JSONL_STATS) {
    im->n.stats++;
    return store_stat_put(im->st, id, im->ev.stat.at, im->ev.stat.name,
                          im->ev.stat.value);
  }
  im->n.sessions++;
  im->ev.s.point = id;
  rc = store_session_put(im->st, &im->ev.s);
  if (rc < 0) return rc;
  if (rc == 1) im->n.stored++;
  else im->n.dups++;
  return 0;
}

struct one_file {
  struct importer *im;
  const char *path;
  int quiet;
  uint64_t bad0;
};

static int on_line(const char *line, size_t len, int cut, uint64_t lineno,
                   void *ctx) {
  struct one_file *o = ctx;
  struct importer *im = o->im;
  int rc;

  if (cut) {
    im->n.lines++;
    im->n.cut++;
    im->n.bad++;
    snprintf(im->last_err, sizeof(im->last_err), "longer than %d bytes",
             IMPORT_LINE_MAX);
    rc = 1;
  } else {
    rc = import_line(im, line, len);
  }
  if (rc < 0) {
    cli_err("read: %s: line %llu: %s", o->path, (unsigned long long)lineno,
            store_errmsg(im->st));
    return cli_exit_for(rc);
  }
  if (rc > 0 && !o->quiet && im->n.bad - o->bad0 <= IMPORT_ERRORS_SHOWN)
    cli_err("read: %s: line %llu: %s%s", o->path, (unsigned long long)lineno,
            im->last_err,
            im->n.bad - o->bad0 == IMPORT_ERRORS_SHOWN ? " (further bad lines only counted)" : "");
  return 0;
}

/* One file ('-': standard input; .gz read as it is). 0, or an exit code
 * after a message naming it. */
static int import_file(struct importer *im, const char *path, int quiet) {
  static char line[IMPORT_LINE_MAX];
  struct one_file o = {im, path, quiet, im->n.bad};

  return lines_read(path, line, sizeof(line), on_line, &o);
}

int read_jsonl(const char *db, int quiet, const char *host, int nfiles,
               char **files) {
  static struct importer im; /* its event holds a session's texts */
  struct store *st;
  char err[1024];
  int i, rc, ex = 0;

  rc = store_open(&st, cli_db_path(db), STORE_RW, err, sizeof(err));
  if (rc < 0) {
    cli_err("read: %s", err);
    return cli_exit_for(rc);
  }
  store_bulk(st);
  import_init(&im, st, host);
  for (i = 0; i < nfiles && ex == 0; i++) {
    struct import_counts before = im.n;
    ex = import_file(&im, files[i], quiet);
    if (!quiet)
      fprintf(stderr, "%s: %llu lines: %llu sessions (%llu new, %llu already "
              "stored), %llu capture counters, %llu finding events (judged "
              "here by analyze, not imported), %llu others, %llu bad\n",
              files[i], (unsigned long long)(im.n.lines - before.lines),
              (unsigned long long)(im.n.sessions - before.sessions),
              (unsigned long long)(im.n.stored - before.stored),
              (unsigned long long)(im.n.dups - before.dups),
              (unsigned long long)(im.n.stats - before.stats),
              (unsigned long long)(im.n.findings - before.findings),
              (unsigned long long)(im.n.other - before.other),
              (unsigned long long)(im.n.bad - before.bad));
  }
  if ((rc = store_flush(st)) < 0 && ex == 0) {
    cli_err("read: %s", store_errmsg(st));
    ex = cli_exit_for(rc);
  }
  import_free(&im);
  if (store_close(st) < 0 && ex == 0) ex = EXIT_IOERR;
  /* Every good line is stored; a bad one makes the run fail (65). */
  if (ex == 0 && im.n.bad > 0) ex = EXIT_DATAERR;
  return ex;
}
