/* egressaudit - common/conf.c: see conf.h.
 * SPDX-License-Identifier: MIT
 */
#include "common/conf.h"

#include <string.h>

int conf_find(const char *text, size_t len, const char *name, char *out,
              size_t cap) {
  size_t nl = strlen(name), i = 0;
  int found = 0;

  while (i < len) {
    size_t end = i, v, vend;
    while (end < len && text[end] != '\n') end++;
    v = i;
    while (v < end && (text[v] == ' ' || text[v] == '\t')) v++;
    if (end - v > nl && memcmp(text + v, name, nl) == 0 && text[v + nl] == '=') {
      v += nl + 1;
      vend = end;
      if (vend > v && text[vend - 1] == '\r') vend--;
      if (vend - v >= 2 && (text[v] == '"' || text[v] == '\'') &&
          text[vend - 1] == text[v]) {
        v++;
        vend--;
      }
      if (vend - v >= cap) vend = v + cap - 1;
      memcpy(out, text + v, vend - v);
      out[vend - v] = '\0';
      /* A NUL inside the value ends it. */
      found = 1;
    }
    i = end + 1;
  }
  return found;
}

int conf_split(char *s, char **w, int max) {
  int n = 0;

  for (;;) {
    while (*s == ' ' || *s == '\t') *s++ = '\0';
    if (*s == '\0') return n;
    if (n == max) return -1;
    w[n++] = s;
    while (*s && *s != ' ' && *s != '\t') s++;
  }
}
