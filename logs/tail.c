/* egressaudit - logs/tail.c: see tail.h. Reads with pread at the
 * position we keep (never the descriptor's own offset), a buffer of
 * TAIL_LINE_MAX bytes allocated once with the follower.
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include "logs/tail.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"

#define PREV_POLLS 5 /* a renamed file is still read this many polls */

struct file {
  int fd;             /* -1: none                                  */
  int skipping;       /* inside the rest of a cut line             */
  struct tail_pos pos;
};

struct tail {
  char path[4096];
  struct file cur;
  struct file prev;   /* the file before a rename, read a little longer */
  int prev_left;      /* polls left for prev                       */
  struct tail_counts n;
  char buf[TAIL_LINE_MAX];
};

static ssize_t pread_all(int fd, char *b, size_t n, int64_t off) {
  ssize_t r;
  do r = pread(fd, b, n, (off_t)off);
  while (r < 0 && errno == EINTR);
  return r;
}

/* The hash of fd's first bytes (up to TAIL_HEAD) into p. */
static void head_take(int fd, struct tail_pos *p) {
  char b[TAIL_HEAD];
  ssize_t r = pread_all(fd, b, sizeof(b), 0);
  if (r < 0) r = 0;
  p->head = (uint64_t)hash63(b, (size_t)r);
  p->head_len = (int32_t)r;
}

/* Whether fd still begins with the bytes p's head was taken of. */
static int head_same(int fd, const struct tail_pos *p) {
  char b[TAIL_HEAD];
  ssize_t r;

  if (p->head_len <= 0) return 1;
  if (p->head_len > TAIL_HEAD) return 0;
  r = pread_all(fd, b, (size_t)p->head_len, 0);
  return r == p->head_len && (uint64_t)hash63(b, (size_t)r) == p->head;
}

static void file_close(struct file *f) {
  if (f->fd >= 0) close(f->fd);
  memset(f, 0, sizeof(*f));
  f->fd = -1;
}

/* Open path into f at off (-1: its end). 0 or a negative errno. */
static int file_open(struct file *f, const char *path, int64_t off) {
  struct stat st;
  int fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);

  if (fd < 0) return -errno;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    int e = S_ISREG(st.st_mode) ? errno : EINVAL;
    close(fd);
    return -e;
  }
  memset(f, 0, sizeof(*f));
  f->fd = fd;
  f->pos.dev = (uint64_t)st.st_dev;
  f->pos.ino = (uint64_t)st.st_ino;
  f->pos.off = off < 0 ? (int64_t)st.st_size : off;
  head_take(fd, &f->pos);
  return 0;
}

/* Hand over f's complete lines from its position, about max bytes of
 * them. final: the file is done with (renamed away long enough): a last
 * line without its end is handed over too. 1: more is there; 0: all
 * read; 2: fn stopped it; or a negative errno. */
static int drain(struct tail *t, struct file *f, size_t max, int final,
                 tail_line_fn fn, void *ctx) {
  size_t done = 0;

  while (done < max) {
    ssize_t r = pread_all(f->fd, t->buf, sizeof(t->buf), f->pos.off);
    size_t i = 0;

    if (r < 0) return -errno;
    if (r == 0) return 0;
    t->n.bytes += (uint64_t)r;
    for (;;) {
      char *line = t->buf + i, *nl = memchr(line, '\n', (size_t)r - i);
      size_t len, step;
      if (nl != NULL) {
        len = (size_t)(nl - line);
        step = len + 1;
      } else if (i == 0 && (size_t)r == sizeof(t->buf)) {
        len = step = (size_t)r; /* no line end in a whole buffer: cut */
      } else if (final && (size_t)r < sizeof(t->buf) && i < (size_t)r) {
        len = step = (size_t)r - i; /* the last line, never ended */
      } else {
        break;
      }
      if (!f->skipping) {
        size_t n = len;
        if (n > 0 && line[n - 1] == '\r' && nl != NULL) n--;
        if (fn(line, n, nl == NULL && step == sizeof(t->buf), ctx) != 0) return 2;
        t->n.lines++;
        if (nl == NULL && step == sizeof(t->buf)) t->n.cut++;
      }
      f->skipping = nl == NULL && step == sizeof(t->buf);
      f->pos.off += (int64_t)step;
      i += step;
      done += step;
      if (i >= (size_t)r) break;
    }
    if (i == 0 || (size_t)r < sizeof(t->buf)) return 0; /* a line being written */
  }
  return 1;
}

int tail_open(struct tail **out, const char *path, const struct tail_pos *resume,
              char *err, size_t errlen) {
  struct tail *t;
  int rc;

  *out = NULL;
  if (strlen(path) + 3 > sizeof(t->path)) {
    snprintf(err, errlen, "%s: path too long", path);
    return -ENAMETOOLONG;
  }
  if ((t = calloc(1, sizeof(*t))) == NULL) {
    snprintf(err, errlen, "%s: out of memory", path);
    return -ENOMEM;
  }
  memcpy(t->path, path, strlen(path) + 1); /* length checked above */
  t->cur.fd = t->prev.fd = -1;
  rc = file_open(&t->cur, path, resume ? 0 : -1);
  if (rc < 0 && rc != -ENOENT) {
    snprintf(err, errlen, "%s: %s", path,
             rc == -EINVAL ? "not a regular file" : strerror(-rc));
    free(t);
    return rc;
  }
  if (resume != NULL && rc == 0 && t->cur.pos.dev == resume->dev &&
      t->cur.pos.ino == resume->ino && head_same(t->cur.fd, resume)) {
    struct stat st;
    if (fstat(t->cur.fd, &st) == 0 && (int64_t)st.st_size >= resume->off)
      t->cur.pos.off = resume->off; /* the same file: on from there */
    else
      t->n.truncations++;
  } else if (resume != NULL) {
    /* Rotated while we were away: the rest of the old one first, when it
     * is where logrotate puts it. */
    char p1[sizeof(t->path)];
    struct file old;
    snprintf(p1, sizeof(p1), "%s.1", path);
    if (file_open(&old, p1, 0) == 0) {
      if (old.pos.dev == resume->dev && old.pos.ino == resume->ino &&
          head_same(old.fd, resume)) {
        old.pos.off = resume->off;
        t->prev = old;
        t->prev_left = 1;
      } else {
        file_close(&old);
      }
    }
    t->n.rotations++;
  }
  *out = t;
  return 0;
}

int tail_poll(struct tail *t, size_t max_bytes, tail_line_fn fn, void *ctx,
              char *err, size_t errlen) {
  struct stat st;
  int rc = 0, more = 0;

  if (t->prev.fd >= 0) {
    rc = drain(t, &t->prev, max_bytes, t->prev_left <= 1, fn, ctx);
    if (rc < 0 || rc == 2) goto out;
    more = rc == 1;
    if (!more && --t->prev_left <= 0) file_close(&t->prev);
  }
  if (t->cur.fd < 0) {
    if (file_open(&t->cur, t->path, 0) < 0) return more; /* not there yet */
  } else if (stat(t->path, &st) == 0 && ((uint64_t)st.st_dev != t->cur.pos.dev ||
                                         (uint64_t)st.st_ino != t->cur.pos.ino)) {
    /* Renamed away, and a new file in its place: what the old one has
     * now, then the new one from its start; the old one a while longer. */
    rc = drain(t, &t->cur, (size_t)-1, 0, fn, ctx);
    if (rc < 0 || rc == 2) goto out;
    if (t->prev.fd >= 0) {
      rc = drain(t, &t->prev, (size_t)-1, 1, fn, ctx);
      if (rc < 0 || rc == 2) goto out;
      file_close(&t->prev);
    }
    t->prev = t->cur;
    t->prev_left = PREV_POLLS;
    t->cur.fd = -1;
    t->n.rotations++;
    if (file_open(&t->cur, t->path, 0) < 0) return 1;
  }
  /* Shorter than where we are, or other first bytes: copied and
   * truncated (and perhaps written again since). From its start. */
  if (fstat(t->cur.fd, &st) == 0 &&
      ((int64_t)st.st_size < t->cur.pos.off || !head_same(t->cur.fd, &t->cur.pos))) {
    t->cur.pos.off = 0;
    t->cur.skipping = 0;
    head_take(t->cur.fd, &t->cur.pos);
    t->n.truncations++;
  }
  rc = drain(t, &t->cur, max_bytes, 0, fn, ctx);
  if (t->cur.pos.head_len < TAIL_HEAD) head_take(t->cur.fd, &t->cur.pos);
out:
  if (rc < 0) {
    snprintf(err, errlen, "%s: %s", t->path, strerror(-rc));
    return rc;
  }
  return rc == 2 ? 0 : more || rc == 1;
}

void tail_reopen(struct tail *t) {
  struct stat st;
  /* A new file at the path is the next poll's rotation; a path that
   * names nothing now: wait for one, finishing the old file first. */
  if (t->cur.fd >= 0 && stat(t->path, &st) < 0 && errno == ENOENT) {
    if (t->prev.fd >= 0) file_close(&t->prev);
    t->prev = t->cur;
    t->prev_left = 1;
    t->cur.fd = -1;
  }
}

void tail_position(const struct tail *t, struct tail_pos *p) {
  if (t->cur.fd >= 0) *p = t->cur.pos;
  else if (t->prev.fd >= 0) *p = t->prev.pos;
  else memset(p, 0, sizeof(*p));
}

const struct tail_counts *tail_counts(const struct tail *t) { return &t->n; }
const char *tail_path(const struct tail *t) { return t->path; }

void tail_free(struct tail *t) {
  if (t == NULL) return;
  file_close(&t->cur);
  file_close(&t->prev);
  free(t);
}
