/* egressaudit - cli/lines.h: a text file line by line, for the readers of
 * mail logs and of events: '-' is standard input, a gzip'd file is read
 * as it is, a line longer than the buffer is handed over cut.
 * SPDX-License-Identifier: MIT
 */
#ifndef EA_CLI_LINES_H
#define EA_CLI_LINES_H

#include <stddef.h>
#include <stdint.h>

/* One line (its line end kept, when it had one); cut: longer than the
 * buffer, this is its start (the rest is skipped). A non-zero return
 * stops the reading and is returned. */
typedef int (*lines_fn)(const char *line, size_t len, int cut, uint64_t lineno,
                        void *ctx);

/* Read path into buf (cap bytes: the longest line kept, less one).
 * Returns 0, fn's non-zero value, or an exit code after a message that
 * names the file ("read: PATH: ..."): it cannot be opened, or it is
 * damaged after line N (a gzip stream cut short). */
int lines_read(const char *path, char *buf, size_t cap, lines_fn fn, void *ctx);

#endif
