/* egressaudit - analyzer/spf.c: see spf.h. libspf2 asks its DNS layer one
 * question at a time and waits: our layer sends it through our resolver
 * and runs the loop until the answer (or the resolver's timeout) comes.
 * SPDX-License-Identifier: MIT
 */
#define _DEFAULT_SOURCE
#include "analyzer/spf.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <spf2/spf.h>

#include "analyzer/resolver.h"
#include "common/dns.h"
#include "common/util.h"

#define SPF_QUERIES_MAX 64 /* our own stop, beside libspf2's limits */

struct layer {
  struct resolver *res; /* its loop is run until each answer */
  unsigned queries;
};

const char *spf_result_name(unsigned r) {
  static const char *const names[] = {"none",     "neutral",   "pass",     "fail",
                                      "softfail", "temperror", "permerror"};
  return r < ARRAY_SIZE(names) ? names[r] : "?";
}

static char txt_buf[RESOLVER_TXT_N][RESOLVER_TXT_MAX];

static int herrno_of(int status) {
  switch (status) {
  case DNS_OK: return NETDB_SUCCESS;
  case DNS_NXDOMAIN: return HOST_NOT_FOUND;
  case DNS_NODATA: return NO_DATA;
  default: return TRY_AGAIN;
  }
}

/* libspf2's question, asked through our resolver. */
static SPF_dns_rr_t *lookup(SPF_dns_server_t *s, const char *domain,
                            ns_type type, int should_cache) {
  struct layer *L = s->hook;
  struct dns_result r;
  SPF_dns_rr_t *rr;
  unsigned i, n = 0;
  int status;
  (void)should_cache;

  memset(&r, 0, sizeof(r));
  if (L->queries++ >= SPF_QUERIES_MAX)
    return SPF_dns_rr_new_init(s, domain, type, 0, NO_RECOVERY);
  if (type == ns_t_txt) {
    status = resolver_ask_txt(L->res, domain, txt_buf, &n);
  } else if (type == ns_t_a || type == ns_t_aaaa || type == ns_t_mx ||
             type == ns_t_ptr) {
    resolver_ask(L->res, domain, type, &r);
    status = r.status;
    n = r.n;
  } else { /* the SPF RR type (99) is obsolete (RFC 7208 3.1) */
    return SPF_dns_rr_new_init(s, domain, type, 0, NO_DATA);
  }
  rr = SPF_dns_rr_new_init(s, domain, type, (int)r.ttl, herrno_of(status));
  if (rr == NULL || status != DNS_OK) return rr;
  for (i = 0; i < n; i++) {
    const char *v = type == ns_t_txt ? txt_buf[i] : r.answer[i];
    size_t len = strlen(v) + 1;
    if (type == ns_t_a) len = sizeof(struct in_addr);
    if (type == ns_t_aaaa) len = sizeof(struct in6_addr);
    if (SPF_dns_rr_buf_realloc(rr, (int)i, len) != SPF_E_SUCCESS) break;
    if (type == ns_t_a) {
      if (inet_pton(AF_INET, v, &rr->rr[i]->a) != 1) break;
    } else if (type == ns_t_aaaa) {
      if (inet_pton(AF_INET6, v, &rr->rr[i]->aaaa) != 1) break;
    } else {
      memcpy(rr->rr[i]->txt, v, len);
    }
    rr->num_rr = (int)i + 1;
  }
  return rr;
}

int spf_check(struct resolver *res, const struct ea_addr *ip,
              const char *domain, const char *helo, struct spf_verdict *out,
              char *err, size_t errlen) {
  struct layer L = {res, 0};
  SPF_dns_server_t dns;
  SPF_server_t *srv;
  SPF_request_t *req = NULL;
  SPF_response_t *resp = NULL;
  char ipt[ADDR_STRLEN], from[300];
  const char *h;
  int rc = -1;

  memset(out, 0, sizeof(*out));
  memset(&dns, 0, sizeof(dns));
  dns.lookup = lookup; /* destroy NULL: ours, on the stack */
  dns.name = "egressaudit";
  dns.hook = &L;
  if ((srv = SPF_server_new_dns(&dns, 0)) == NULL) {
    snprintf(err, errlen, "libspf2: out of memory");
    return -1;
  }
  /* The receiving domain libspf2 writes into the header: not this
   * machine's name (a check, not a receipt). */
  SPF_server_set_rec_dom(srv, "preflight.egressaudit");
  addr_str(ip, ipt);
  snprintf(from, sizeof(from), "postmaster@%s", domain);
  if ((req = SPF_request_new(srv)) == NULL ||
      (ip->family == 4 ? SPF_request_set_ipv4_str(req, ipt)
                       : SPF_request_set_ipv6_str(req, ipt)) != SPF_E_SUCCESS ||
      SPF_request_set_env_from(req, from) != 0 ||
      (helo && SPF_request_set_helo_dom(req, helo) != SPF_E_SUCCESS)) {
    snprintf(err, errlen, "SPF: cannot ask for %s from %s", from, ipt);
    goto out;
  }
  SPF_request_query_mailfrom(req, &resp);
  if (resp == NULL) {
    snprintf(err, errlen, "SPF: no answer from libspf2");
    goto out;
  }
  switch (SPF_response_result(resp)) {
  case SPF_RESULT_PASS: out->result = SPF_R_PASS; break;
  case SPF_RESULT_FAIL: out->result = SPF_R_FAIL; break;
  case SPF_RESULT_SOFTFAIL: out->result = SPF_R_SOFTFAIL; break;
  case SPF_RESULT_NEUTRAL: out->result = SPF_R_NEUTRAL; break;
  case SPF_RESULT_NONE: out->result = SPF_R_NONE; break;
  case SPF_RESULT_TEMPERROR: out->result = SPF_R_TEMPERROR; break;
  default: out->result = SPF_R_PERMERROR; break;
  }
  snprintf(out->reason, sizeof(out->reason), "%s",
           SPF_strreason(SPF_response_reason(resp)) ? SPF_strreason(SPF_response_reason(resp)) : "");
  h = SPF_response_get_received_spf_value(resp);
  snprintf(out->header, sizeof(out->header), "%s", h ? h : "");
  out->queries = L.queries;
  rc = 0;
out:
  if (resp) SPF_response_free(resp);
  if (req) SPF_request_free(req);
  SPF_server_free(srv);
  return rc;
}
