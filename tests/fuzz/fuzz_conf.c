/* egressaudit - tests/fuzz/fuzz_conf.c: libFuzzer target for the line
 * egressaudit reads from /etc/default/egressaudit (conf_find, conf_split):
 * any bytes, any length; the value found must be NUL-terminated within
 * its buffer and its words must lie inside it.
 * SPDX-License-Identifier: MIT
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char out[4096], *w[64];
  int n, i;

  if (!conf_find((const char *)data, size, "EGRESSAUDIT_ANALYSIS_OPTS", out,
                 sizeof(out)))
    return 0;
  if (memchr(out, '\0', sizeof(out)) == NULL) __builtin_trap();
  n = conf_split(out, w, 64);
  if (n < -1 || n > 64) __builtin_trap();
  for (i = 0; i < n; i++)
    if (w[i] < out || w[i] >= out + sizeof(out) || w[i][0] == '\0' ||
        w[i][0] == ' ' || w[i][0] == '\t')
      __builtin_trap();
  /* The smallest buffer still holds a terminated value. */
  if (conf_find((const char *)data, size, "EGRESSAUDIT_ANALYSIS_OPTS", out, 1) &&
      out[0] != '\0')
    __builtin_trap();
  return 0;
}
