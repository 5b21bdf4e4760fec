/* egressaudit - cli/import.h: other hosts' events into this database
 * (`read --jsonl`, `watch --jsonl`): the fleet's central view.
 * SPDX-License-Identifier: MIT
 */
#ifndef EA_IMPORT_H
#define EA_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "common/strmap.h"
#include "logs/jsonl.h"

struct store;

#define IMPORT_POINTS_MAX 65536 /* capture points one reader creates      */

struct import_counts {
  uint64_t lines, sessions, stored, dups, stats, findings, other, bad, cut;
};

struct importer {
  struct store *st;
  const char *host;      /* for lines without "host" (--host), or NULL   */
  struct strmap points;  /* "host:point" -> capture point id             */
  struct import_counts n;
  char last_err[600];    /* the newest bad line's reason                 */
  struct jsonl_event ev;
};

/* Start with st; host names the sender of lines that carry none. */
void import_init(struct importer *im, struct store *st, const char *host);
void import_free(struct importer *im);

/* One line (without its line end; an empty one is skipped). A session is
 * stored under the capture point "HOST:POINT" of its sender (a point
 * already named so is kept: watch's are host:iface), so re-reading adds
 * nothing; finding events are counted, not stored (the central analysis
 * judges the fleet's sessions itself); a bad line is counted and its
 * reason kept in last_err (returns 1). 0, 1, or a negative errno when the
 * store failed (store_errmsg says). */
int import_line(struct importer *im, const char *line, size_t len);

/* read --jsonl FILE...: returns the exit code. */
int read_jsonl(const char *db, int quiet, const char *host, int nfiles,
               char **files);

#endif
