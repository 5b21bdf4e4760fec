/* egressaudit - common/finding.h: one judgement of the analyzer.
 * Rule ids and severities are those of the checks catalogue (RULES.md).
 * SPDX-License-Identifier: MIT
 */
#ifndef EA_FINDING_H
#define EA_FINDING_H

#include <stdint.h>

enum severity {
  SEV_INFO = 0,
  SEV_WARN,
  SEV_CRIT,
  SEV_UNKNOWN, /* a fact is missing because DNS failed temporarily */
};

const char *severity_name(unsigned s);
int severity_parse(const char *s); /* -1 when unknown */
/* How bad, for ordering and exit codes: crit 3 > unknown 2 > warn 1 >
 * info 0 (an unknown may hide a crit; it outranks a known warning);
 * -1 for anything else. The one place this order is written. */
int severity_rank(int s);

#define FINDING_TEXT_MAX 1024

/* What a finding is about: our egress (an identity, or several: the
 * default) or one of our own servers as clients see it (its subject is
 * the server's address). The report files each by this, not by name. */
enum finding_scope {
  SCOPE_EGRESS = 0,
  SCOPE_SERVER,
};

struct finding {
  const char *rule;       /* "no-ptr", "fcrdns-fail", ...               */
  uint8_t severity;       /* enum severity                              */
  char subject[300];      /* the IP, HELO name or identity it is about  */
  char ident[48];         /* the egress identity (IP) it belongs to, ""  */
                          /* for findings across identities             */
  char detail[FINDING_TEXT_MAX]; /* the facts                           */
  char fix[FINDING_TEXT_MAX];    /* the operator's next step            */
  int64_t first_us, last_us;     /* sessions it covers                  */
  int64_t count;                 /* how many sessions                   */
  uint8_t scope;                 /* enum finding_scope                   */
};

#endif
