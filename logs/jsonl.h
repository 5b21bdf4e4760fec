/* egressaudit - logs/jsonl.h: another host's events read back (the fleet's
 * intake): one line of `watch --events` (or of `sessions --format jsonl`)
 * made a struct session again, as the capture would have handed it over,
 * so that the store keeps it by the same unique key (idempotent: a line
 * read twice, or forwarded twice, is one session).
 *
 * The texts of an event are the store's escaped form ("\\" and "\xNN" for
 * a byte that was not printable): they are turned back into the bytes
 * the wire carried, and the store escapes them again, so a control byte
 * a hostile sender puts in the JSON is kept as text, never as a byte.
 * JSON is parsed by jansson; every text is capped (and counted as
 * truncated), every number range-checked; no input makes it fail other
 * than with a line's error.
 * SPDX-License-Identifier: MIT
 */
#ifndef EA_JSONL_H
#define EA_JSONL_H

#include <stddef.h>

#include "common/limits.h"
#include "common/session.h"

#define JSONL_TEXT_MAX 2048     /* one text's bytes, after unescaping      */
#define JSONL_ARENA (4 * SESSION_ARENA)

enum jsonl_type {
  JSONL_SESSION = 0, /* "type":"session", or no "type" (sessions --format jsonl) */
  JSONL_FINDING,     /* "finding-opened", "finding-closed": judged centrally,
                        not imported                                     */
  JSONL_STATS,       /* "stats": a capture counter, the host's heartbeat */
  JSONL_OTHER,       /* a type of a later version                        */
};

struct jsonl_event {
  enum jsonl_type type;
  char host[256];              /* "host", or "" when the line has none    */
  char point[512];             /* the sender's capture point's name       */
  struct session s;            /* its slices point into arena below      */
  struct {                     /* JSONL_STATS                             */
    int64_t at, value;
    char name[33];             /* [a-z0-9_], as watch names them          */
  } stat;
  struct sess_reply replies[SMTP_REPLIES_HARD];
  struct sess_reply last;
  char arena[JSONL_ARENA];
  size_t used;
};

/* Parse one line (without its line end). Returns the type (>= 0) with ev
 * filled for a session and for stats (point too); -EINVAL with err naming the key for a line that
 * is not an event of ours (not JSON, a key missing or of the wrong kind,
 * a bad address or time). */
int jsonl_parse(const char *line, size_t len, struct jsonl_event *ev,
                char *err, size_t errlen);

#endif
