/* egressaudit - logs/tail.h: follow a log file as `tail -F` does, and
 * say where we are so that a restart reads on from there.
 *
 * No event loop here: the caller polls (watch does, on a libuv timer).
 * Each poll reads what was appended since the last one and hands over
 * every complete line; a line still being written waits for its end.
 * Rotation by rename (logrotate's default): the old file is read to its
 * end, then the new one from its start, and the old one is still read for
 * a few polls (a syslog daemon writes on into it until it is told to
 * reopen). Rotation by copy and truncate (copytruncate): the file got
 * shorter, or its first bytes changed: read it again from its start. A
 * log that does not exist yet is waited for.
 *
 * The position (device, inode, offset, and a hash of the file's first
 * bytes, which tells a file from another that got the same inode) is
 * what a restart resumes from: the same file, then from the offset; the
 * file renamed to PATH.1 meanwhile, then its rest first; else the new
 * file from its start.
 * SPDX-License-Identifier: MIT
 */
#ifndef EA_TAIL_H
#define EA_TAIL_H

#include <stddef.h>
#include <stdint.h>

#define TAIL_LINE_MAX 65536 /* longer lines are cut (and counted) */
#define TAIL_HEAD 64        /* bytes hashed to recognise the file */

struct tail_pos {
  uint64_t dev, ino;
  int64_t off;       /* where the next unread line begins           */
  uint64_t head;     /* hash of the first head_len bytes            */
  int32_t head_len;  /* up to TAIL_HEAD; 0: the file was empty       */
};

struct tail_counts {
  uint64_t lines, cut, rotations, truncations, bytes;
};

/* A line, without its line end; cut: it was longer than
 * TAIL_LINE_MAX and this is its start. A non-zero return stops the poll
 * (the position stays at this line: it is handed over again next time). */
typedef int (*tail_line_fn)(const char *line, size_t len, int cut, void *ctx);

struct tail;

/* Follow path. resume: where a previous run stopped (NULL: start at the
 * file's end, as tail does; what is already there is read --maillog's).
 * 0, or a negative errno with a message in err (a file that does not exist
 * yet is not an error: it is waited for). */
int tail_open(struct tail **out, const char *path, const struct tail_pos *resume,
              char *err, size_t errlen);
/* Read what is new, at most about max_bytes of it. Returns 1 when more is
 * waiting (poll again soon), 0 when all was read, or a negative errno (a
 * read error; err says what). */
int tail_poll(struct tail *t, size_t max_bytes, tail_line_fn fn, void *ctx,
              char *err, size_t errlen);
/* Look at the path again now (SIGHUP): a new file there is followed. */
void tail_reopen(struct tail *t);
void tail_position(const struct tail *t, struct tail_pos *p);
const struct tail_counts *tail_counts(const struct tail *t);
const char *tail_path(const struct tail *t);
void tail_free(struct tail *t);

#endif
