/* egressaudit - cli/lines.c: see lines.h.
 * SPDX-License-Identifier: MIT
 */
#define _POSIX_C_SOURCE 200809L
#include "cli/lines.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "cli/cli.h"
#include "common/types.h"

int lines_read(const char *path, char *buf, size_t cap, lines_fn fn, void *ctx) {
  uint64_t lineno = 0;
  gzFile gz;
  int rc = 0, errnum;
  const char *msg;

  gz = strcmp(path, "-") == 0 ? gzdopen(dup(STDIN_FILENO), "rb") : gzopen(path, "rb");
  if (gz == NULL) {
    cli_err("read: %s: %s", path, strerror(errno ? errno : ENOMEM));
    return errno == ENOENT ? EXIT_NOINPUT : EXIT_IOERR;
  }
  gzbuffer(gz, 1 << 17);
  while (rc == 0 && gzgets(gz, buf, (int)cap) != NULL) {
    size_t len = strlen(buf);
    int cut = 0;
    lineno++;
    if (len > 0 && buf[len - 1] != '\n' && !gzeof(gz)) { /* skip to its end */
      int c;
      cut = 1;
      while ((c = gzgetc(gz)) != -1 && c != '\n')
        ;
    }
    rc = fn(buf, len, cut, lineno, ctx);
  }
  msg = gzerror(gz, &errnum);
  if (rc == 0 && errnum != Z_OK && errnum != Z_STREAM_END) {
    cli_err("read: %s: damaged after line %llu: %s", path,
            (unsigned long long)lineno, msg);
    rc = EXIT_DATAERR;
  }
  gzclose(gz);
  return rc;
}
