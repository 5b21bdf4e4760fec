/* egressaudit - tests/fuzz/fuzz_tail.c: libFuzzer target for the log
 * follower (logs/tail.c): the input is a script of appends, polls with a
 * small budget, truncations and renames of one file. Every line handed
 * over holds no line end, is at most TAIL_LINE_MAX bytes, and all of them
 * together are never more than was written.
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "logs/tail.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t handed;

static int on_line(const char *line, size_t len, int cut, void *ctx) {
  (void)ctx;
  (void)cut;
  if (len > TAIL_LINE_MAX || memchr(line, '\n', len) != NULL) abort();
  handed += len + 1;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static char path[64], path1[72];
  struct tail *t;
  char err[256];
  size_t i = 0, written = 0;
  FILE *f;

  if (path[0] == '\0') {
    snprintf(path, sizeof(path), "/tmp/ea-fuzz-tail-%ld.log", (long)getpid());
    snprintf(path1, sizeof(path1), "%s.1", path);
  }
  unlink(path);
  unlink(path1);
  if ((f = fopen(path, "w")) == NULL) return 0;
  fclose(f);
  handed = 0;
  if (tail_open(&t, path, NULL, err, sizeof(err)) < 0) abort();
  while (i < size) {
    uint8_t op = data[i++];
    size_t n = op >> 2;
    if (n > size - i) n = size - i;
    switch (op & 3) {
    case 0: /* append n bytes */
      if ((f = fopen(path, "a")) != NULL) {
        written += fwrite(data + i, 1, n, f);
        fclose(f);
      }
      i += n;
      break;
    case 1: /* poll with a small budget */
      tail_poll(t, n + 1, on_line, NULL, err, sizeof(err));
      break;
    case 2: /* copytruncate */
      if (truncate(path, (off_t)n) == 0 && n < written) written += 0;
      break;
    case 3: /* rename rotation */
      rename(path, path1);
      break;
    }
  }
  while (tail_poll(t, 1 << 20, on_line, NULL, err, sizeof(err)) == 1)
    ;
  /* a truncation to n can leave n bytes read twice: allow for each op */
  if (handed > written + size * 2) abort();
  tail_free(t);
  unlink(path);
  unlink(path1);
  return 0;
}
