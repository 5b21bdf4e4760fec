/* egressaudit - analyzer/mailauth.h: a domain's DKIM key and DMARC record,
 * judged from the TXT answers (preflight --dkim-selector, --domain). The
 * DKIM key record's tag list (RFC 6376 3.6.1) is read here and its key by
 * OpenSSL (type and size); the DMARC record by libopendmarc's parser.
 * Pure: the answers in, a verdict out. The only file that includes
 * OpenSSL's or libopendmarc's headers is mailauth.c.
 * SPDX-License-Identifier: MIT
 */
#ifndef EA_MAILAUTH_H
#define EA_MAILAUTH_H

#include <stddef.h>

#include "analyzer/checklist.h"

#define DKIM_RSA_MIN_BITS 1024 /* RFC 8301 3.2: shorter keys must not verify */

/* The key at SEL._domainkey.DOMAIN: status the DNS status (enum
 * dns_status), txt the n TXT records there. Pass: one key record whose
 * key parses, RSA of at least 1024 bits or Ed25519 (t=y, testing, is
 * said). Fail (critical): no record, a revoked key (p= empty), a record
 * that does not parse, a short RSA key. Unknown: a temporary DNS failure.
 * detail gets what was found; *sev the severity of a failure. */
enum check_status mailauth_dkim(int status, const char *const *txt, unsigned n,
                                char *detail, size_t cap, int *sev);

/* The DMARC record of domain (txt from _dmarc.DOMAIN, or from the
 * organisational domain org's when DOMAIN has none: from_org set):
 * pass when exactly one v=DMARC1 record parses, detail its policy (p, sp),
 * alignment (adkim, aspf), pct and rua; fail (warn) when there is none or
 * more than one; fail (crit) when it does not parse; unknown on a temporary
 * DNS failure. */
enum check_status mailauth_dmarc(int status, const char *const *txt, unsigned n,
                                 const char *domain, const char *org, int from_org,
                                 char *detail, size_t cap, int *sev);

/* The organisational domain of domain (the public suffix list's
 * registrable domain: mail.example.co.uk -> example.co.uk), into out;
 * domain itself when the list knows none. */
const char *mailauth_org_domain(const char *domain, char *out, size_t cap);

#endif
