/* egressaudit - tests/fuzz/fuzz_list.c: libFuzzer target for the list
 * columns as read back from the database (jlist_next): whoever can write
 * the database file writes these bytes. Any input, NUL-terminated: every
 * item must be terminated within the buffer given, the walk must end and
 * never move backwards; what jlist_add writes must read back the same.
 * SPDX-License-Identifier: MIT
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1), item[64], *buf;
  const char *p, *prev;
  struct jlist j;
  size_t cap = size * 6 + 16;

  if (text == NULL) return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  for (p = text, prev = NULL; jlist_next(&p, item, sizeof(item));) {
    if (memchr(item, '\0', sizeof(item)) == NULL) __builtin_trap();
    if (prev != NULL && p <= prev) __builtin_trap();
    prev = p;
  }
  /* The input as one item: written, then read back unchanged (cut to the
   * item buffer). */
  buf = malloc(cap);
  if (buf != NULL) {
    char back[4096];
    jlist_init(&j, buf, cap);
    jlist_add(&j, text);
    p = buf;
    if (j.cut || !jlist_next(&p, back, sizeof(back))) __builtin_trap();
    if (strncmp(back, text, sizeof(back) - 1) != 0) __builtin_trap();
    free(buf);
  }
  free(text);
  return 0;
}
