/* egressaudit - common/prom.h: Prometheus's text exposition format
 * (version 0.0.4), written into a buffer with a ceiling: families with
 * HELP and TYPE, samples with escaped label values.
 * SPDX-License-Identifier: MIT
 */
#ifndef EA_PROM_H
#define EA_PROM_H

#include <stddef.h>
#include <stdint.h>

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct pbuf {
  char *p;
  size_t len, cap;
  size_t max;      /* ceiling; 0: 1 MiB                                  */
  int truncated;   /* something did not fit (or memory ran out): the
                      output ends at the last whole line                 */
};

void pbuf_free(struct pbuf *b);
/* "# HELP name help\n# TYPE name type\n" (type: counter, gauge). */
void prom_family(struct pbuf *b, const char *name, const char *type,
                 const char *help);
/* name{k1="v1",...} value: labels holds n (key, value) pairs; a value
 * is escaped (backslash, quote, line end) and anything but printable
 * ASCII becomes '?', so that whatever names a point or interface, the
 * line stays one valid line. */
void prom_int(struct pbuf *b, const char *name, const char *const *labels,
              unsigned n, int64_t v);
void prom_double(struct pbuf *b, const char *name, const char *const *labels,
                 unsigned n, double v);

#endif
