/* egressaudit - analyzer/checklist.c: see checklist.h.
 * SPDX-License-Identifier: MIT
 */
#define _DEFAULT_SOURCE
#include "analyzer/checklist.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"

static const char *const R_EXISTS[] = {"no-ptr", "ipv6-no-ptr", "ptr-temperror", NULL};
static const char *const R_ONE[] = {"multiple-ptr", NULL};
static const char *const R_NAME[] = {"ptr-invalid", NULL};
static const char *const R_GENERIC[] = {"generic-ptr", NULL};
static const char *const R_FCRDNS[] = {"fcrdns-fail", NULL};
static const char *const R_ALL[] = {"address-no-ptr", NULL};
static const char *const R_HELO_NAME[] = {"helo-invalid", "helo-literal",
                                          "helo-literal-mismatch", NULL};
static const char *const R_HELO_ADDR[] = {"helo-unresolvable", "helo-elsewhere",
                                          "helo-temperror", NULL};
static const char *const R_HELO_PTR[] = {"helo-ptr-mismatch", NULL};
static const char *const R_SPLIT[] = {"dns-split-view", NULL};

static const struct checklist_line LINES[] = {
    {"ptr-exists", "the address has a PTR", R_EXISTS, 0, 0, 0},
    {"ptr-one", "exactly one PTR", R_ONE, 0, 1, 0},
    {"ptr-name", "the PTR is a host name", R_NAME, 0, 1, 0},
    {"ptr-not-generic", "the PTR is not a generic (dynamic-looking) name", R_GENERIC, 0, 1, 0},
    {"fcrdns", "the PTR's name resolves back to the address (FCrDNS)", R_FCRDNS, 0, 1, 0},
    {"all-addresses", "every address of that name has a PTR (IPv6 as IPv4)", R_ALL, 0, 1, 0},
    {"helo-fqdn", "the EHLO name is a fully qualified host name", R_HELO_NAME, 1, 0, 0},
    {"helo-resolves", "the EHLO name resolves to the address", R_HELO_ADDR, 1, 0, 0},
    {"helo-ptr", "the EHLO name is the PTR's name", R_HELO_PTR, 1, 1, 0},
    {"resolvers-agree", "every resolver given answers the same", R_SPLIT, 0, 0, 1},
};

const struct checklist_line *checklist_lines(size_t *n) {
  *n = ARRAY_SIZE(LINES);
  return LINES;
}

const char *check_status_name(unsigned s) {
  static const char *const names[] = {"pass", "fail", "unknown", "skip"};
  return s < ARRAY_SIZE(names) ? names[s] : "?";
}

enum check_status checklist_status(const struct checklist_line *l,
                                   const struct finding *f, size_t nf,
                                   int have_ptr, unsigned n_helo, int compare,
                                   const struct finding **why) {
  enum check_status st = CK_PASS;
  size_t i, r;

  *why = NULL;
  if ((l->needs_helo && n_helo == 0) || (l->needs_ptr && !have_ptr) ||
      (l->needs_compare && !compare))
    return CK_SKIP;
  for (i = 0; i < nf; i++)
    for (r = 0; l->rules[r] != NULL; r++) {
      if (strcmp(f[i].rule, l->rules[r]) != 0) continue;
      /* A failure outranks a temporary failure; the first of each kind
       * says why. */
      if (f[i].severity == SEV_UNKNOWN) {
        if (st == CK_PASS) {
          st = CK_UNKNOWN;
          *why = &f[i];
        }
      } else if (f[i].severity != SEV_INFO && st != CK_FAIL) {
        st = CK_FAIL;
        *why = &f[i];
      }
    }
  return st;
}

enum check_status checklist_dnsbl(const struct dns_result *a, char *meaning,
                                  size_t cap) {
  size_t n = 0;
  unsigned i, listed = 0;

  meaning[0] = '\0';
  if (a->status == DNS_NXDOMAIN || a->status == DNS_NODATA) {
    snprintf(meaning, cap, "not listed");
    return CK_PASS;
  }
  if (a->status != DNS_OK) {
    snprintf(meaning, cap, "no answer (%s): not known", dns_status_name(a->status));
    return CK_UNKNOWN;
  }
  for (i = 0; i < a->n; i++) {
    const char *x = a->answer[i];
    if (strncmp(x, "127.255.255.", 12) == 0) {
      snprintf(meaning, cap, "the list refused the query (%s: asked through "
               "an open or public resolver, or over its limit): not known", x);
      return CK_UNKNOWN;
    }
    if (strncmp(x, "127.", 4) != 0) {
      snprintf(meaning, cap, "answered %s, not a DNSBL code (a resolver that "
               "rewrites NXDOMAIN?): not known", x);
      return CK_UNKNOWN;
    }
  }
  for (i = 0; i < a->n && n < cap; i++, listed++)
    n += (size_t)snprintf(meaning + n, cap - n, "%s%s", i ? ", " : "listed: ",
                          a->answer[i]);
  if (listed == 0) snprintf(meaning, cap, "not listed");
  return listed ? CK_FAIL : CK_PASS;
}

enum check_status checklist_spf(unsigned result, int *sev) {
  *sev = SEV_INFO;
  switch (result) {
  case SPF_R_PASS: return CK_PASS;
  case SPF_R_TEMPERROR: *sev = SEV_UNKNOWN; return CK_UNKNOWN;
  case SPF_R_NEUTRAL:
  case SPF_R_SOFTFAIL: *sev = SEV_WARN; return CK_FAIL;
  default: *sev = SEV_CRIT; return CK_FAIL; /* none, fail, permerror */
  }
}

/* Is v one of the space-separated names of list (case-insensitive)? */
static int in_list(const char *list, const char *v) {
  size_t vl = strlen(v);
  const char *p = list, *e;

  if (list == NULL) return 0;
  while (*p) {
    while (*p == ' ') p++;
    for (e = p; *e && *e != ' '; e++)
      ;
    if ((size_t)(e - p) == vl && vl > 0 && strncasecmp(p, v, vl) == 0) return 1;
    p = e;
  }
  return 0;
}

/* "a (3), b (1)": the entries not in skip (a list, or NULL), into out. */
static size_t seen_list(const struct seen *s, size_t n, const char *skip,
                        char *out, size_t cap) {
  size_t i, o = 0;
  for (i = 0; i < n && o < cap; i++) {
    if (skip && in_list(skip, s[i].value)) continue;
    o += (size_t)snprintf(out + o, cap - o, "%s%s (%lld)", o ? ", " : "",
                          s[i].value, (long long)s[i].sessions);
  }
  return o;
}

enum check_status checklist_mta_helo(const char *configured, const struct seen *s,
                                     size_t n, char *detail, size_t cap) {
  char other[600];

  detail[0] = '\0';
  if (n == 0) {
    snprintf(detail, cap, "no egress session in the database to compare with");
    return CK_SKIP;
  }
  if (seen_list(s, n, configured, other, sizeof(other)) == 0) {
    snprintf(detail, cap, "every egress session greeted as %s", configured);
    return CK_PASS;
  }
  snprintf(detail, cap, "configured %s, but sessions greeted as %s: another MTA "
           "on this host, or a transport with its own HELO name",
           configured[0] ? configured : "nothing", other);
  return CK_FAIL;
}

enum check_status checklist_mta_bind(const char *bind4, const char *bind6,
                                     const struct seen *s, size_t n,
                                     char *detail, size_t cap) {
  char other[600];
  size_t i, o = 0;

  detail[0] = '\0';
  if (n == 0) {
    snprintf(detail, cap, "no egress session in the database to compare with");
    return CK_SKIP;
  }
  if ((bind4 == NULL || !bind4[0]) && (bind6 == NULL || !bind6[0])) {
    seen_list(s, n, NULL, other, sizeof(other));
    snprintf(detail, cap, "no bind address: the route picks it; mail left from %s",
             other);
    return CK_PASS;
  }
  other[0] = '\0';
  for (i = 0; i < n && o < sizeof(other); i++) {
    int v6 = strchr(s[i].value, ':') != NULL;
    const char *b = v6 ? bind6 : bind4;
    if (b == NULL || !b[0] || in_list(b, s[i].value)) continue;
    o += (size_t)snprintf(other + o, sizeof(other) - o, "%s%s (%lld)", o ? ", " : "",
                          s[i].value, (long long)s[i].sessions);
  }
  if (o == 0) {
    snprintf(detail, cap, "mail left from the bind address%s%s%s%s",
             bind4 && bind4[0] ? " " : "", bind4 ? bind4 : "",
             bind6 && bind6[0] ? " " : "", bind6 ? bind6 : "");
    return CK_PASS;
  }
  snprintf(detail, cap, "bound to %s%s%s, but mail left from %s: another MTA, a "
           "transport's own bind address, or policy routing",
           bind4 && bind4[0] ? bind4 : "", bind4 && bind4[0] && bind6 && bind6[0] ? " and " : "",
           bind6 && bind6[0] ? bind6 : "", other);
  return CK_FAIL;
}

static int name_covers(const char *pat, size_t len, const char *host) {
  size_t hl = strlen(host);

  while (hl > 0 && host[hl - 1] == '.') hl--;
  while (len > 0 && pat[len - 1] == '.') len--;
  if (len == 0 || hl == 0) return 0;
  if (len > 2 && pat[0] == '*' && pat[1] == '.') {
    const char *dot = memchr(host, '.', hl);
    size_t rest;
    if (dot == NULL || dot == host) return 0;
    rest = hl - (size_t)(dot + 1 - host);
    return rest == len - 2 && strncasecmp(dot + 1, pat + 2, rest) == 0;
  }
  return len == hl && strncasecmp(pat, host, hl) == 0;
}

int checklist_cert_covers(const char *cn, const char *names, const char *host) {
  const char *p = names, *e;

  if (host == NULL || host[0] == '\0') return 0;
  if (names != NULL && names[0] != '\0') { /* the DNS names decide (6.4.4) */
    while (*p) {
      while (*p == ' ') p++;
      for (e = p; *e && *e != ' '; e++)
        ;
      if (e > p && name_covers(p, (size_t)(e - p), host)) return 1;
      p = e;
    }
    return 0;
  }
  return cn != NULL && name_covers(cn, strlen(cn), host);
}
