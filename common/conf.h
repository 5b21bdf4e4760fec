/* egressaudit - common/conf.h: the one line egressaudit reads from its
 * configuration file (Debian's /etc/default/egressaudit, a shell-variable
 * file the systemd units read too): NAME=value, NAME="value" or
 * NAME='value', never expanded. Pure: text in, text out.
 * SPDX-License-Identifier: MIT
 */
#ifndef EA_CONF_H
#define EA_CONF_H

#include <stddef.h>

/* The value of name in text (len bytes, NUL not needed): the last line
 * "name=..." wins, as in sh; blanks before name allowed; one pair of
 * matching quotes stripped. Copied into out (cap > 0, truncated).
 * Returns 1 found, 0 not. */
int conf_find(const char *text, size_t len, const char *name, char *out,
              size_t cap);

/* Split s in place at blanks (space, tab) into at most max words. Returns
 * the count; -1 when there were more. */
int conf_split(char *s, char **w, int max);

#endif
