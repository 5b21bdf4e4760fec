/* egressaudit - tests/fuzz/fuzz_http.c: libFuzzer target for what the
 * metrics endpoint reads from whoever connects (http_head_end,
 * http_request_line): any bytes, fed whole and in pieces. The head end
 * found must not depend on how the bytes arrived, and what the request
 * line yields must be terminated and within bounds.
 * SPDX-License-Identifier: MIT
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *buf = (const char *)data;
  size_t scanned = 0, whole, piecewise = 0, n;
  struct http_request r;
  int code;

  whole = http_head_end(buf, size, &scanned);
  if (whole > size) __builtin_trap();
  /* One byte more each time, as a slow client sends it. */
  scanned = 0;
  for (n = 1; n <= size && piecewise == 0; n++)
    piecewise = http_head_end(buf, n, &scanned);
  if (piecewise != whole) __builtin_trap();
  if (whole == 0) return 0;
  code = http_request_line(buf, whole, &r);
  if (code != 0 && code != 400 && code != 414 && code != 505) __builtin_trap();
  if (memchr(r.method, '\0', sizeof(r.method)) == NULL ||
      memchr(r.path, '\0', sizeof(r.path)) == NULL)
    __builtin_trap();
  if (code == 0 && (r.method[0] == '\0' || r.path[0] == '\0')) __builtin_trap();
  return 0;
}
