/* egressaudit - common/prom.c: see prom.h.
 * SPDX-License-Identifier: MIT
 */
#include "common/prom.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PBUF_MAX_DEFAULT (1u << 20)

void pbuf_free(struct pbuf *b) {
  free(b->p);
  memset(b, 0, sizeof(*b));
}

/* Room for n more bytes and a NUL, or 0 (truncated set). */
static int room(struct pbuf *b, size_t n) {
  size_t max = b->max ? b->max : PBUF_MAX_DEFAULT, want = b->len + n + 1;
  char *np;
  size_t nc;

  if (b->truncated) return 0;
  if (want > max) {
    b->truncated = 1;
    return 0;
  }
  if (want <= b->cap) return 1;
  nc = b->cap ? b->cap : 4096;
  while (nc < want) nc *= 2;
  if (nc > max) nc = max;
  if ((np = realloc(b->p, nc)) == NULL) {
    b->truncated = 1;
    return 0;
  }
  b->p = np;
  b->cap = nc;
  return 1;
}

/* One whole line or nothing: a line that does not fit is taken back. */
struct line {
  struct pbuf *b;
  size_t start;
};

static void put(struct line *l, const char *s, size_t n) {
  if (!room(l->b, n)) return;
  memcpy(l->b->p + l->b->len, s, n);
  l->b->len += n;
  l->b->p[l->b->len] = '\0';
}

static void putf(struct line *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void putf(struct line *l, const char *fmt, ...) {
  char tmp[512];
  va_list ap;
  int n;

  va_start(ap, fmt);
  n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
  va_end(ap);
  if (n < 0) return;
  put(l, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static void end_line(struct line *l) {
  put(l, "\n", 1);
  if (l->b->truncated) {
    l->b->len = l->start;
    if (l->b->p) l->b->p[l->start] = '\0';
  }
}

void prom_family(struct pbuf *b, const char *name, const char *type,
                 const char *help) {
  struct line l = {b, b->len};

  putf(&l, "# HELP %s %s\n# TYPE %s %s", name, help, name, type);
  end_line(&l);
}

static void label_value(struct line *l, const char *v) {
  const unsigned char *s = (const unsigned char *)v;

  for (; *s; s++) {
    if (*s == '\\') put(l, "\\\\", 2);
    else if (*s == '"') put(l, "\\\"", 2);
    else if (*s == '\n') put(l, "\\n", 2);
    else if (*s < 0x20 || *s >= 0x7f) put(l, "?", 1);
    else put(l, (const char *)s, 1);
  }
}

static void head(struct line *l, const char *name, const char *const *labels,
                 unsigned n) {
  unsigned k;

  put(l, name, strlen(name));
  if (n == 0) return;
  put(l, "{", 1);
  for (k = 0; k < n; k++) {
    putf(l, "%s%s=\"", k ? "," : "", labels[2 * k]);
    label_value(l, labels[2 * k + 1] ? labels[2 * k + 1] : "");
    put(l, "\"", 1);
  }
  put(l, "}", 1);
}

void prom_int(struct pbuf *b, const char *name, const char *const *labels,
              unsigned n, int64_t v) {
  struct line l = {b, b->len};

  head(&l, name, labels, n);
  putf(&l, " %" PRId64, v);
  end_line(&l);
}

void prom_double(struct pbuf *b, const char *name, const char *const *labels,
                 unsigned n, double v) {
  struct line l = {b, b->len};

  head(&l, name, labels, n);
  putf(&l, " %.6f", v);
  end_line(&l);
}
