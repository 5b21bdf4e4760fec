/* egressaudit - tests/test_tail.c: following a log through appends, half
 * written lines, rename rotation, copytruncate, cut lines, and a restart
 * from a stored position.
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "logs/tail.h"

static char dir[] = "/tmp/ea-tail-XXXXXX";
static char path[256], path1[256];

/* What the polls handed over, one string, lines joined by '|'. */
static char got[1 << 18];
static int ncut;

static int on_line(const char *line, size_t len, int cut, void *ctx) {
  size_t n = strlen(got);
  (void)ctx;
  if (cut) {
    ncut++;
    len = 8; /* its start is enough */
  }
  assert_true(n + len + 2 < sizeof(got));
  memcpy(got + n, line, len);
  got[n + len] = '|';
  got[n + len + 1] = '\0';
  return 0;
}

static void append(const char *p, const char *s) {
  FILE *f = fopen(p, "a");
  assert_non_null(f);
  fputs(s, f);
  fclose(f);
}

/* Poll until all is read; what came. */
static const char *poll_all(struct tail *t) {
  char err[256];
  int rc;
  got[0] = '\0';
  while ((rc = tail_poll(t, 1 << 20, on_line, NULL, err, sizeof(err))) == 1)
    ;
  assert_int_equal(rc, 0);
  return got;
}

static int setup(void **state) {
  (void)state;
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof(path), "%s/mail.log", dir);
  snprintf(path1, sizeof(path1), "%s/mail.log.1", dir);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  unlink(path);
  unlink(path1);
  rmdir(dir);
  return 0;
}

static void test_follow(void **state) {
  struct tail *t;
  struct tail_pos p;
  char err[256];
  (void)state;

  unlink(path);
  unlink(path1);
  /* Not there yet: waited for, then read from its start. */
  assert_int_equal(tail_open(&t, path, NULL, err, sizeof(err)), 0);
  assert_string_equal(poll_all(t), "");
  append(path, "a1\na2\n");
  assert_string_equal(poll_all(t), "a1|a2|");
  /* A line being written waits for its end; CRLF loses its CR. */
  append(path, "a3\r\na4-half");
  assert_string_equal(poll_all(t), "a3|");
  append(path, "-done\n");
  assert_string_equal(poll_all(t), "a4-half-done|");
  /* Renamed: the old file's late lines still come, then the new one's. */
  assert_int_equal(rename(path, path1), 0);
  assert_string_equal(poll_all(t), "");
  append(path1, "a5\n");
  append(path, "b1\n");
  assert_string_equal(poll_all(t), "a5|b1|");
  append(path1, "a6\n");
  append(path, "b2\n");
  assert_string_equal(poll_all(t), "a6|b2|");
  assert_int_equal(tail_counts(t)->rotations, 1);
  /* Copied and truncated, then written again (longer than before). */
  assert_int_equal(truncate(path, 0), 0);
  append(path, "c1-a-longer-line-than-before\n");
  assert_string_equal(poll_all(t), "c1-a-longer-line-than-before|");
  assert_int_equal(tail_counts(t)->truncations, 1);
  /* Truncated and written back to the very same length: the head tells. */
  assert_int_equal(truncate(path, 0), 0);
  append(path, "c2-a-longer-line-than-before\n");
  assert_string_equal(poll_all(t), "c2-a-longer-line-than-before|");
  tail_position(t, &p);
  tail_free(t);

  /* A restart from the stored position: nothing read twice. */
  append(path, "c3\n");
  assert_int_equal(tail_open(&t, path, &p, err, sizeof(err)), 0);
  assert_string_equal(poll_all(t), "c3|");
  tail_position(t, &p);
  tail_free(t);
  /* Rotated while we were away: the old file's rest, then the new one. */
  append(path, "c4\n");
  unlink(path1);
  assert_int_equal(rename(path, path1), 0);
  append(path, "d1\n");
  assert_int_equal(tail_open(&t, path, &p, err, sizeof(err)), 0);
  assert_string_equal(poll_all(t), "c4|d1|");
  tail_free(t);
  /* No position: from the end, as tail does. */
  assert_int_equal(tail_open(&t, path, NULL, err, sizeof(err)), 0);
  append(path, "d2\n");
  assert_string_equal(poll_all(t), "d2|");
  tail_free(t);
}

static void test_cut_and_errors(void **state) {
  struct tail *t;
  char err[256], *big;
  size_t n = TAIL_LINE_MAX * 2 + 100;
  (void)state;

  unlink(path);
  append(path, "");
  assert_int_equal(tail_open(&t, path, NULL, err, sizeof(err)), 0);
  big = malloc(n + 2);
  assert_non_null(big);
  memset(big, 'x', n);
  big[n] = '\n';
  big[n + 1] = '\0';
  append(path, big);
  append(path, "after\n");
  ncut = 0;
  assert_string_equal(poll_all(t), "xxxxxxxx|after|");
  assert_int_equal(ncut, 1);
  assert_int_equal(tail_counts(t)->cut, 1);
  free(big);
  tail_free(t);
  /* Not a regular file: refused, said. */
  assert_int_equal(tail_open(&t, dir, NULL, err, sizeof(err)), -EINVAL);
  assert_non_null(strstr(err, "not a regular file"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_follow),
      cmocka_unit_test(test_cut_and_errors),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
