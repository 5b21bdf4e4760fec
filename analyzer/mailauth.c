/* egressaudit - analyzer/mailauth.c: see mailauth.h.
 * SPDX-License-Identifier: MIT
 */
#define _DEFAULT_SOURCE
#include "analyzer/mailauth.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <libpsl.h>
#include <opendmarc/dmarc.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/dns.h"
#include "common/finding.h"
#include "common/util.h"

#define TAG_VALUE_MAX 4096

/* The value of tag in an RFC 6376 3.2 tag list ("v=DKIM1; k=rsa; p=..."),
 * whitespace around names and values dropped, folding whitespace inside
 * a value too (base64 keys are published in pieces). 1 when found. */
static int tag_value(const char *list, const char *tag, char *out, size_t cap) {
  const char *p = list;
  size_t tl = strlen(tag);

  while (*p) {
    const char *name, *end;
    size_t o = 0;
    while (*p == ' ' || *p == '\t' || *p == ';' || *p == '\r' || *p == '\n') p++;
    name = p;
    while (*p && *p != '=' && *p != ';') p++;
    end = p;
    while (end > name && (end[-1] == ' ' || end[-1] == '\t')) end--;
    if (*p != '=') continue; /* a tag without a value: skipped */
    p++;
    if ((size_t)(end - name) == tl && strncasecmp(name, tag, tl) == 0) {
      for (; *p && *p != ';'; p++)
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n' && o + 1 < cap)
          out[o++] = *p;
      out[o] = '\0';
      return 1;
    }
    while (*p && *p != ';') p++;
  }
  return 0;
}

/* The key of p= as OpenSSL reads it: "RSA 2048" into what, its bits. */
static int key_bits(const char *k, const char *b64, char *what, size_t cap) {
  unsigned char der[TAG_VALUE_MAX];
  const unsigned char *q = der;
  size_t len = strlen(b64), pad = 0;
  EVP_PKEY *pk;
  int n, bits;

  if (len == 0 || len % 4 != 0 || len / 4 * 3 > sizeof(der)) return -1;
  n = EVP_DecodeBlock(der, (const unsigned char *)b64, (int)len);
  if (n < 0) return -1;
  if (b64[len - 1] == '=') pad++;
  if (b64[len - 2] == '=') pad++;
  n -= (int)pad;
  if (strcasecmp(k, "ed25519") == 0) { /* the raw 32-byte key (RFC 8463) */
    if (n != 32) return -1;
    snprintf(what, cap, "Ed25519");
    return 256;
  }
  pk = d2i_PUBKEY(NULL, &q, n);
  if (pk == NULL) return -1;
  bits = EVP_PKEY_get_bits(pk);
  snprintf(what, cap, "%s %d", EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA ? "RSA" : "a", bits);
  if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA) bits = -1;
  EVP_PKEY_free(pk);
  return bits;
}

enum check_status mailauth_dkim(int status, const char *const *txt, unsigned n,
                                char *detail, size_t cap, int *sev) {
  static char v[TAG_VALUE_MAX], k[64], p[TAG_VALUE_MAX], t[64];
  char what[64];
  int bits;

  *sev = SEV_CRIT;
  detail[0] = '\0';
  if (status != DNS_OK && status != DNS_NXDOMAIN && status != DNS_NODATA) {
    snprintf(detail, cap, "no answer (%s): not known", dns_status_name((unsigned)status));
    *sev = SEV_UNKNOWN;
    return CK_UNKNOWN;
  }
  if (status != DNS_OK || n == 0) {
    snprintf(detail, cap, "no key record (%s)", dns_status_name((unsigned)status));
    return CK_FAIL;
  }
  /* v=, when present, must be DKIM1 and come first (3.6.1). */
  if (tag_value(txt[0], "v", v, sizeof(v)) &&
      (strcmp(v, "DKIM1") != 0 || strncmp(txt[0] + strspn(txt[0], " \t"), "v", 1) != 0)) {
    snprintf(detail, cap, "v=%.40s: not a DKIM1 key record", v);
    return CK_FAIL;
  }
  if (!tag_value(txt[0], "k", k, sizeof(k))) snprintf(k, sizeof(k), "rsa");
  if (!tag_value(txt[0], "p", p, sizeof(p))) {
    snprintf(detail, cap, "no p= tag: not a key record");
    return CK_FAIL;
  }
  if (p[0] == '\0') {
    snprintf(detail, cap, "the key is revoked (p= empty)");
    return CK_FAIL;
  }
  if (strcasecmp(k, "rsa") != 0 && strcasecmp(k, "ed25519") != 0) {
    snprintf(detail, cap, "k=%.40s: a key type receivers do not know", k);
    return CK_FAIL;
  }
  bits = key_bits(k, p, what, sizeof(what));
  if (bits < 0) {
    snprintf(detail, cap, "p= is not a %s public key OpenSSL can read", k);
    return CK_FAIL;
  }
  if (strcasecmp(k, "rsa") == 0 && bits < DKIM_RSA_MIN_BITS) {
    snprintf(detail, cap, "%s bits: shorter than %d, which receivers must not "
             "accept (RFC 8301)", what, DKIM_RSA_MIN_BITS);
    return CK_FAIL;
  }
  snprintf(detail, cap, "%s key%s%s", what, n > 1 ? " (more than one record: the first)" : "",
           tag_value(txt[0], "t", t, sizeof(t)) && strchr(t, 'y')
               ? "; t=y: testing, receivers may treat signatures as unsigned"
               : "");
  *sev = SEV_INFO;
  return CK_PASS;
}

static const char *policy_name(int p) {
  switch (p) {
  case DMARC_RECORD_P_NONE: return "none";
  case DMARC_RECORD_P_QUARANTINE: return "quarantine";
  case DMARC_RECORD_P_REJECT: return "reject";
  default: return "-";
  }
}

enum check_status mailauth_dmarc(int status, const char *const *txt, unsigned n,
                                 const char *domain, const char *org, int from_org,
                                 char *detail, size_t cap, int *sev) {
  static int lib_ready;
  static OPENDMARC_LIB_T lib;
  const char *rec = NULL;
  DMARC_POLICY_T *pc;
  OPENDMARC_STATUS_T st;
  unsigned i, found = 0;
  int p = 0, sp = 0, adkim = 0, aspf = 0, pct = 0;
  u_char rua[512], **ruas;
  size_t o;

  detail[0] = '\0';
  *sev = SEV_WARN;
  if (status != DNS_OK && status != DNS_NXDOMAIN && status != DNS_NODATA) {
    snprintf(detail, cap, "no answer (%s): not known", dns_status_name((unsigned)status));
    *sev = SEV_UNKNOWN;
    return CK_UNKNOWN;
  }
  for (i = 0; i < n; i++)
    if (strncmp(txt[i], "v=DMARC1", 8) == 0 &&
        (txt[i][8] == ';' || txt[i][8] == ' ' || txt[i][8] == '\0')) {
      rec = txt[i];
      found++;
    }
  if (found > 1) {
    snprintf(detail, cap, "%u DMARC records: receivers then apply none (RFC "
             "7489 6.6.3)", found);
    return CK_FAIL;
  }
  if (found == 0) {
    if (org && strcmp(org, domain) != 0)
      snprintf(detail, cap, "no DMARC record at _dmarc.%s nor _dmarc.%s", domain, org);
    else
      snprintf(detail, cap, "no DMARC record at _dmarc.%s", domain);
    return CK_FAIL;
  }
  if (!lib_ready) {
    memset(&lib, 0, sizeof(lib));
    lib.tld_type = OPENDMARC_TLD_TYPE_NONE;
    if (opendmarc_policy_library_init(&lib) != DMARC_PARSE_OKAY) {
      snprintf(detail, cap, "libopendmarc would not start");
      *sev = SEV_UNKNOWN;
      return CK_UNKNOWN;
    }
    lib_ready = 1;
  }
  pc = opendmarc_policy_connect_init((u_char *)"192.0.2.1", 4);
  if (pc == NULL) {
    snprintf(detail, cap, "libopendmarc: out of memory");
    *sev = SEV_UNKNOWN;
    return CK_UNKNOWN;
  }
  st = opendmarc_policy_store_dmarc(pc, (u_char *)rec, (u_char *)domain,
                                    (u_char *)(org ? org : domain));
  if (st != DMARC_PARSE_OKAY) {
    snprintf(detail, cap, "the record does not parse: %s", opendmarc_policy_status_to_str(st));
    opendmarc_policy_connect_shutdown(pc);
    *sev = SEV_CRIT;
    return CK_FAIL;
  }
  opendmarc_policy_fetch_p(pc, &p);
  opendmarc_policy_fetch_sp(pc, &sp);
  opendmarc_policy_fetch_adkim(pc, &adkim);
  opendmarc_policy_fetch_aspf(pc, &aspf);
  opendmarc_policy_fetch_pct(pc, &pct);
  o = (size_t)snprintf(detail, cap, "p=%s sp=%s adkim=%s aspf=%s pct=%d%s%s",
                       policy_name(p), sp ? policy_name(sp) : policy_name(p),
                       adkim == DMARC_RECORD_A_STRICT ? "strict" : "relaxed",
                       aspf == DMARC_RECORD_A_STRICT ? "strict" : "relaxed", pct,
                       from_org && org ? "; from the organisational domain " : "",
                       from_org && org ? org : "");
  memset(rua, 0, sizeof(rua));
  ruas = opendmarc_policy_fetch_rua(pc, rua, sizeof(rua), 1);
  for (i = 0; ruas != NULL && ruas[i] != NULL && o < cap; i++)
    o += (size_t)snprintf(detail + o, cap - o, "%s%s", i ? " " : "; rua ", (char *)ruas[i]);
  opendmarc_policy_connect_shutdown(pc);
  *sev = SEV_INFO;
  return CK_PASS;
}

const char *mailauth_org_domain(const char *domain, char *out, size_t cap) {
  static psl_ctx_t *psl;
  const char *r;

  if (psl == NULL) psl = psl_latest(NULL);
  if (psl == NULL) psl = (psl_ctx_t *)psl_builtin();
  r = psl ? psl_registrable_domain(psl, domain) : NULL;
  snprintf(out, cap, "%s", r ? r : domain);
  return out;
}
