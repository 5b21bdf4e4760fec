/* egressaudit - analyzer/spf.h: does a domain's SPF authorise an address?
 * Evaluated by libspf2 (never a hand-written SPF evaluator), whose DNS is a
 * layer of ours: every question goes to our resolver (the --resolver
 * given, on the loop), never to the system's. The only file that includes
 * libspf2's headers is spf.c.
 * SPDX-License-Identifier: MIT
 */
#ifndef EA_SPF_H
#define EA_SPF_H

#include <stddef.h>

#include "analyzer/checklist.h" /* enum spf_result */
#include "common/types.h"

struct resolver;

struct spf_verdict {
  enum spf_result result;
  char header[1024];   /* the Received-SPF value libspf2 writes: the result,
                          why (the mechanism that matched, or the error),
                          client-ip, envelope-from, helo                */
  char reason[64];     /* what decided: libspf2's reason ("mechanism",
                          "default", ...); it does not name the mechanism */
  unsigned queries;    /* DNS questions it asked                       */
};

const char *spf_result_name(unsigned r);

/* Evaluate mail from postmaster@domain (and EHLO helo, or NULL) sent from
 * ip, asking res (whose loop is run here until each answer: call it from
 * outside the loop's callbacks). 0, or -1 with err (out of memory, a bad
 * domain). */
int spf_check(struct resolver *res, const struct ea_addr *ip,
              const char *domain, const char *helo, struct spf_verdict *out,
              char *err, size_t errlen);

#endif
