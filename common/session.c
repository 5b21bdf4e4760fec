/* egressaudit - common/session.c: names for the session enums.
 * SPDX-License-Identifier: MIT
 */
#include "common/session.h"

#include <string.h>

#include "common/finding.h"

const char *sess_state_name(unsigned st) {
  static const char *const names[] = {"syn-only", "refused", "connected",
                                      "banner",   "helo",    "mail",
                                      "tls",      "closed"};
  return st < ARRAY_SIZE(names) ? names[st] : "?";
}

const char *sess_end_name(unsigned e) {
  static const char *const names[] = {"fin", "rst", "timeout", "eof",
                                      "evicted"};
  return e < ARRAY_SIZE(names) ? names[e] : "?";
}

const char *sess_dirby_name(unsigned d) {
  static const char *const names[] = {"syn", "synack", "port"};
  return d < ARRAY_SIZE(names) ? names[d] : "?";
}

const char *sess_direction_name(unsigned d) {
  static const char *const names[] = {"unknown", "egress", "inbound"};
  return d < ARRAY_SIZE(names) ? names[d] : "?";
}

const char *smtp_cmd_name(unsigned c) {
  static const char *const names[] = {
      NULL,   "CONNECT", "EHLO",     "HELO", "MAIL", "RCPT",  "DATA",
      "BDAT", "RSET",    "STARTTLS", "AUTH", "QUIT", "OTHER"};
  return c < ARRAY_SIZE(names) ? names[c] : NULL;
}

int sess_name_parse(const char *(*name)(unsigned), unsigned n, const char *s) {
  unsigned i;
  for (i = 0; i < n; i++)
    if (name(i) != NULL && strcmp(name(i), s) == 0) return (int)i;
  return -1;
}

const char *severity_name(unsigned s) {
  static const char *const names[] = {"info", "warn", "crit", "unknown"};
  return s < ARRAY_SIZE(names) ? names[s] : "?";
}

int severity_parse(const char *s) {
  unsigned i;
  for (i = 0; i <= SEV_UNKNOWN; i++)
    if (strcmp(s, severity_name(i)) == 0) return (int)i;
  return -1;
}

int severity_rank(int s) {
  static const int rank[] = {0, 1, 3, 2}; /* info, warn, crit, unknown */
  return s >= 0 && s <= SEV_UNKNOWN ? rank[s] : -1;
}
