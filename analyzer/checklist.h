/* egressaudit - analyzer/checklist.h: `preflight`'s checklist (issue 16):
 * the questions an operator asks before an address goes into service, each
 * answered pass, fail, unknown or not applicable from the findings the
 * rules gave (a line fails when one of its rules found something, is
 * unknown when that was a temporary DNS failure), and a DNSBL's answer
 * judged. Pure: facts in, verdicts out.
 * SPDX-License-Identifier: MIT
 */
#ifndef EA_CHECKLIST_H
#define EA_CHECKLIST_H

#include <stddef.h>

#include "common/dns.h"
#include "common/finding.h"

enum check_status { CK_PASS = 0, CK_FAIL, CK_UNKNOWN, CK_SKIP };

/* SPF's results (RFC 7208 2.6), as analyzer/spf.c reports libspf2's. */
enum spf_result {
  SPF_R_NONE = 0, SPF_R_NEUTRAL, SPF_R_PASS, SPF_R_FAIL, SPF_R_SOFTFAIL,
  SPF_R_TEMPERROR, SPF_R_PERMERROR,
};

struct checklist_line {
  const char *id;            /* "ptr-exists", ...                          */
  const char *title;         /* "the address has a PTR"                    */
  const char *const *rules;  /* the rules that answer it (NULL-ended)       */
  int needs_helo;            /* only with --helo                           */
  int needs_ptr;             /* not applicable without a PTR               */
  int needs_compare;         /* only with two resolvers and --compare      */
};

/* The lines, in the order a person reads them; *n gets their number. */
const struct checklist_line *checklist_lines(size_t *n);

const char *check_status_name(unsigned s); /* pass fail unknown skip */

/* Line l's status from an address's findings; *why gets the first finding
 * that decided it (NULL when it passed or does not apply). have_ptr: the
 * address has a PTR; n_helo: EHLO names given; compare: resolvers
 * compared. */
enum check_status checklist_status(const struct checklist_line *l,
                                   const struct finding *f, size_t nf,
                                   int have_ptr, unsigned n_helo, int compare,
                                   const struct finding **why);

/* A DNSBL's answer to the A question for an address under its zone:
 * NXDOMAIN or no data: not listed (pass); 127.0.0.0/8 answers: listed
 * (fail); 127.255.255.0/24: the list refused the query (an open or
 * over-used resolver: unknown, never "not listed"); a temporary failure,
 * or an answer outside 127/8 (a resolver that rewrites NXDOMAIN):
 * unknown. meaning gets the return codes or the reason. */
enum check_status checklist_dnsbl(const struct dns_result *a, char *meaning,
                                  size_t cap);

/* What the wire showed, per (value, sessions): the HELO names egress
 * sessions sent, or their source addresses. */
struct seen {
  const char *value;
  int64_t sessions;
};

/* The MTA's HELO name(s) (Postfix's smtp_helo_name, Exim's transports'
 * helo_data; space-separated) against the HELO names its egress sessions
 * sent: pass when they all sent one of them; fail (warn) naming the
 * others (another MTA on the host, a transport's own setting); skip when
 * no session was seen. */
enum check_status checklist_mta_helo(const char *configured, const struct seen *s,
                                     size_t n, char *detail, size_t cap);

/* The bind address(es) (smtp_bind_address and smtp_bind_address6, Exim's
 * interface; space-separated lists) against the source addresses
 * of the egress sessions: with a bind address, mail from another source of
 * its family fails (warn: another MTA, a transport's own bind address, or
 * policy routing); without one the kernel's route picks, and the sources
 * are named (pass). skip when no session was seen. */
enum check_status checklist_mta_bind(const char *bind4, const char *bind6,
                                     const struct seen *s, size_t n,
                                     char *detail, size_t cap);

/* Does a certificate name (its CN, or one of its DNS names, space-
 * separated) cover host (a receiver's banner name, our MX's PTR name)?
 * Case-insensitive; a leading "*." covers exactly one label (RFC 6125
 * 6.4.3). 1 or 0. */
int checklist_cert_covers(const char *cn, const char *names, const char *host);

/* The SPF result (enum spf_result) as a line: pass;
 * fail, permerror and none fail critically (*sev SEV_CRIT: receivers
 * enforcing DMARC reject what fails), softfail and neutral fail as a
 * warning (SEV_WARN); temperror is unknown. */
enum check_status checklist_spf(unsigned result, int *sev);

#endif
