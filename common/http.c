/* egressaudit - common/http.c: see http.h.
 * SPDX-License-Identifier: MIT
 */
#include "common/http.h"

#include <string.h>

size_t http_head_end(const char *buf, size_t len, size_t *scanned) {
  size_t i = *scanned;

  /* Look back at most 3 bytes: a terminator may straddle two reads. */
  i = i >= 3 ? i - 3 : 0;
  for (; i < len; i++) {
    if (buf[i] != '\n') continue;
    if (i + 1 < len && buf[i + 1] == '\n') return i + 2;
    if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n') return i + 3;
  }
  *scanned = len;
  return 0;
}

int http_request_line(const char *buf, size_t len, struct http_request *r) {
  const char *end = memchr(buf, '\n', len), *p = buf, *sp;
  size_t n;

  memset(r, 0, sizeof(*r));
  if (end == NULL) return 400;
  if (end > buf && end[-1] == '\r') end--;
  /* METHOD: upper-case letters (RFC 9110 allows any token; every method
   * we answer is one of these). */
  for (n = 0; p + n < end && p[n] >= 'A' && p[n] <= 'Z'; n++)
    if (n + 1 >= sizeof(r->method)) return 400;
  if (n == 0 || p + n >= end || p[n] != ' ') return 400;
  memcpy(r->method, p, n);
  p += n + 1;
  sp = memchr(p, ' ', (size_t)(end - p));
  if (sp == NULL || sp == p || p[0] != '/') return 400; /* origin-form only */
  for (n = 0; p + n < sp; n++)
    if ((unsigned char)p[n] <= ' ' || (unsigned char)p[n] >= 0x7f) return 400;
  n = (size_t)(sp - p);
  if (n >= sizeof(r->path)) return 414;
  {
    const char *q = memchr(p, '?', n);
    size_t keep = q ? (size_t)(q - p) : n;
    memcpy(r->path, p, keep);
    r->path[keep] = '\0';
  }
  p = sp + 1;
  if ((size_t)(end - p) != 8 || memcmp(p, "HTTP/1.", 7) != 0) {
    if ((size_t)(end - p) >= 5 && memcmp(p, "HTTP/", 5) == 0) return 505;
    return 400;
  }
  if (p[7] != '0' && p[7] != '1') return 505;
  return 0;
}
