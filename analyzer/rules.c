/* egressaudit - analyzer/rules.c: how receivers judge a sender's identity,
 * restated as checks (RULES.md b2-b4, c). Pure: every fact comes in the
 * arguments, every judgement goes out through cfg->emit.
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE /* strcasestr */
#include "analyzer/rules.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <libpsl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"

const char *iprev_name(unsigned v) {
  static const char *const names[] = {"none", "pass", "fail", "temperror",
                                      "permerror"};
  return v < ARRAY_SIZE(names) ? names[v] : "?";
}

static void vemit(const struct rules_cfg *cfg, const struct ident *id,
                  const struct ident_src_use *use, const char *rule, int sev,
                  const char *subject, const char *fix, const char *fmt,
                  va_list ap) {
  struct finding f;

  memset(&f, 0, sizeof(f));
  f.rule = rule;
  f.severity = (uint8_t)sev;
  snprintf(f.subject, sizeof(f.subject), "%s", subject);
  vsnprintf(f.detail, sizeof(f.detail), fmt, ap);
  snprintf(f.fix, sizeof(f.fix), "%s", fix);
  snprintf(f.ident, sizeof(f.ident), "%s", id->ip_text);
  /* The sessions that raised it: the identity's, or one source's. */
  f.first_us = use ? use->first_us : id->first_us;
  f.last_us = use ? use->last_us : id->last_us;
  f.count = use ? use->sessions : id->sessions;
  cfg->emit(cfg->ctx, &f);
}

static void emit(const struct rules_cfg *cfg, const struct ident *id,
                 const char *rule, int sev, const char *subject,
                 const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

static void emit(const struct rules_cfg *cfg, const struct ident *id,
                 const char *rule, int sev, const char *subject,
                 const char *fix, const char *fmt, ...) {
  va_list ap;

  va_start(ap, fmt);
  vemit(cfg, id, NULL, rule, sev, subject, fix, fmt, ap);
  va_end(ap);
}

/* A finding about the sessions of one source address of id. */
static void emit_src(const struct rules_cfg *cfg, const struct ident *id,
                     unsigned src, const char *rule, int sev,
                     const char *subject, const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));

static void emit_src(const struct rules_cfg *cfg, const struct ident *id,
                     unsigned src, const char *rule, int sev,
                     const char *subject, const char *fix, const char *fmt, ...) {
  const struct ident_src_use *u = &id->src_use[src];
  va_list ap;

  va_start(ap, fmt);
  vemit(cfg, id, u->sessions > 0 ? u : NULL, rule, sev, subject, fix, fmt, ap);
  va_end(ap);
}

/* Does the forward answer hold the address? */
static int holds(const struct dns_result *r, const char *ip_text) {
  unsigned i;
  if (r == NULL || r->status != DNS_OK) return 0;
  for (i = 0; i < r->n; i++)
    if (strcmp(r->answer[i], ip_text) == 0) return 1;
  return 0;
}

static int temp(const struct dns_result *r) {
  return r != NULL && dns_status_temporary(r->status);
}

/* The message held more answers than were kept: "not among them" is not
 * known. */
static int cut(const struct dns_result *r) {
  return r != NULL && r->status == DNS_OK && r->total > r->n;
}

/* Some answer behind this identity's iprev was cut. */
static int ident_cut(const struct ident *id) {
  unsigned i;
  if (cut(id->ptr)) return 1;
  for (i = 0; i < id->n_names; i++)
    if (cut(id->fwd[i].a) || cut(id->fwd[i].aaaa)) return 1;
  return 0;
}

enum iprev rules_iprev(const struct ident *id) {
  unsigned i;
  int temporary = 0;

  if (id->ptr == NULL) return IPREV_NONE;
  if (temp(id->ptr)) return IPREV_TEMPERROR;
  if (id->ptr->status != DNS_OK || id->n_names == 0) return IPREV_PERMERROR;
  for (i = 0; i < id->n_names; i++) {
    if (holds(id->fwd[i].a, id->ip_text) || holds(id->fwd[i].aaaa, id->ip_text))
      return IPREV_PASS;
    if (temp(id->fwd[i].a) || temp(id->fwd[i].aaaa)) temporary = 1;
  }
  /* Not among the answers kept, but there were more: unknown, never fail. */
  return temporary || ident_cut(id) ? IPREV_TEMPERROR : IPREV_FAIL;
}

/* RFC 1123 2.1 / RFC 952 host name: LDH labels of 1-63, at most 253 in
 * all, at least two labels, and a last label that is not all digits. */
static int hostname_ok(const char *n) {
  size_t len = strlen(n), lab = 0, i;
  int dots = 0, alpha_in_last = 0;

  if (len == 0 || len > 253 || n[0] == '.' || n[len - 1] == '.') return 0;
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)n[i];
    if (c == '.') {
      if (lab == 0 || n[i - 1] == '-') return 0;
      dots++;
      lab = 0;
      alpha_in_last = 0;
      continue;
    }
    if (!(isalnum(c) || c == '-' || c == '_')) return 0;
    if (lab == 0 && c == '-') return 0;
    if (isalpha(c)) alpha_in_last = 1;
    if (++lab > 63) return 0;
  }
  return dots > 0 && alpha_in_last;
}

static const char *tld_of(const char *n) {
  const char *d = strrchr(n, '.');
  return d ? d + 1 : n;
}

/* Documentation TLDs (RFC 2606) are taken as real so that examples and the
 * test zones read like production names. */
static int tld_known(const void *psl, const char *name) {
  const char *t = tld_of(name);
  if (strcasecmp(t, "example") == 0 || strcasecmp(t, "test") == 0) return 1;
  return psl != NULL &&
         psl_is_public_suffix2(psl, t, PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE);
}

/* Organisational domain (registrable domain, public-suffix aware). */
static const char *org_of(const void *psl, const char *name) {
  const char *r = psl ? psl_registrable_domain(psl, name) : NULL;
  return r ? r : name;
}

static int same_org(const void *psl, const char *a, const char *b) {
  return strcasecmp(org_of(psl, a), org_of(psl, b)) == 0;
}

/* Why a PTR name is not a valid host name, or NULL. */
static const char *ptr_invalid(const void *psl, const char *n) {
  if (strcasecmp(n, "localhost") == 0 || strncasecmp(n, "localhost.", 10) == 0)
    return "it is localhost";
  if (!hostname_ok(n)) return "it is not a valid host name";
  if (!tld_known(psl, n)) return "its top-level domain is not a public suffix";
  if (psl != NULL && psl_registrable_domain(psl, n) == n)
    return "it is a bare registrable domain, not a host";
  return NULL;
}

/* Access-network words (rspamd hfilter.lua tiers 4-5, SpamAssassin
 * 20_dynrdns.cf indicator labels, draft-msullivan generic naming). */
static const char *const access_words[] = {
    "dyn",      "dynamic",  "dynip",  "dhcp",   "dialup", "dial-up", "dial",
    "ppp",      "pppoe",    "pptp",   "adsl",   "xdsl",   "dsl",     "vdsl",
    "cable",    "kabel",    "catv",   "docsis", "cpe",    "modem",   "broadband",
    "pool",     "nat",      "homeuser", "customer", "client", "clients", "res",
    "resnet",   "wireless", "wifi",   "gprs",   "cdma",   "isdn",    "fbx",
    "unused-addr", "in-addr", "inaddr"};
/* Words that mark a generic-looking name as a deliberate, static sender. */
static const char *const static_words[] = {"static", "business", "mail",
                                           "smtp",   "mx",       "outbound",
                                           "relay",  "fixed",    "dedicated"};

/* Does word occur in host as a label part bounded by '.', '-', a digit or
 * the ends? ("dyn" in "dyn-1-2" or "pool12", not in "dynamo"). */
static int has_word(const char *host, const char *w) {
  size_t hl = strlen(host), wl = strlen(w), i;

  for (i = 0; i + wl <= hl; i++) {
    char before = i ? host[i - 1] : '.', after = host[i + wl];
    if (strncasecmp(host + i, w, wl) != 0) continue;
    if ((before == '.' || before == '-' || isdigit((unsigned char)before)) &&
        (after == '\0' || after == '.' || after == '-' ||
         isdigit((unsigned char)after)))
      return 1;
  }
  return 0;
}

/* Does the host part embed the IPv4 address (decimal in either order, any
 * separators, or 8 hex digits)? (Haraka is_ip_in_str, S25R, SA __IP_IN_RELAY.) */
static int embeds_ip(const char *host, const struct ea_addr *ip) {
  char fwd[32], rev[32], hex[16], digits[128];
  const uint8_t *b = ip->a;
  size_t i, n = 0;

  if (ip->family != 4) return 0;
  /* Keep digits and one separator between numbers. */
  for (i = 0; host[i] && n + 2 < sizeof(digits); i++) {
    if (isdigit((unsigned char)host[i])) digits[n++] = host[i];
    else if (n > 0 && digits[n - 1] != '.') digits[n++] = '.';
  }
  digits[n] = '\0';
  snprintf(fwd, sizeof(fwd), "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
  snprintf(rev, sizeof(rev), "%u.%u.%u.%u", b[3], b[2], b[1], b[0]);
  snprintf(hex, sizeof(hex), "%02x%02x%02x%02x", b[0], b[1], b[2], b[3]);
  return strstr(digits, fwd) != NULL || strstr(digits, rev) != NULL ||
         strcasestr(host, hex) != NULL;
}

int rules_generic(const void *psl, const char *name, const struct ea_addr *ip,
                  char *why, size_t cap, int *exempt) {
  char host[256];
  const char *org = org_of(psl, name);
  size_t hl;
  unsigned i;

  *exempt = 0;
  why[0] = '\0';
  /* Only the labels left of the organisational domain: a company called
   * dynw.com is not a dynamic pool (rspamd/rspamd#2140). */
  if (org == name || strlen(org) >= strlen(name)) return 0;
  hl = strlen(name) - strlen(org) - 1;
  if (hl >= sizeof(host)) return 0;
  memcpy(host, name, hl);
  host[hl] = '\0';
  if (embeds_ip(host, ip))
    snprintf(why, cap, "the host part '%s' embeds the address", host);
  for (i = 0; why[0] == '\0' && i < ARRAY_SIZE(access_words); i++)
    if (has_word(host, access_words[i]))
      snprintf(why, cap, "the host part '%s' has the access-network"
               " word '%s'", host, access_words[i]);
  if (why[0] == '\0') return 0;
  for (i = 0; i < ARRAY_SIZE(static_words); i++)
    if (has_word(host, static_words[i]) || strcasestr(host, static_words[i]))
      *exempt = 1;
  return 1;
}

const char *rules_helo_invalid(const char *h) {
  static const char *const internal[] = {".local", ".lan", ".internal",
                                         ".localdomain", ".home", ".corp",
                                         ".intra", ".priv", ".localhost"};
  struct ea_addr a;
  size_t len = strlen(h), i, hexrun = 0;

  if (len == 0) return "it is empty";
  if (h[0] == '[') {
    const char *in = h + 1;
    if (len < 3 || h[len - 1] != ']') return "it is a malformed address literal";
    if (strncasecmp(in, "IPv6:", 5) == 0) in += 5;
    if (addr_parse(&a, in, (size_t)(h + len - 1 - in)) < 0)
      return "it is a malformed address literal";
    return NULL; /* a literal is judged against the egress address */
  }
  if (addr_parse(&a, h, len) == 0)
    return "it is a bare IP address (RFC 5321 4.1.3 wants [brackets])";
  if (strcasecmp(h, "localhost") == 0 || strcasecmp(h, "localhost.localdomain") == 0)
    return "it is localhost";
  if (strchr(h, '.') == NULL) {
    for (i = 0; i < len && isxdigit((unsigned char)h[i]); i++) hexrun++;
    if (len == 12 && hexrun == 12)
      return "it has no dot and looks like a container ID";
    return "it has no dot: not a fully-qualified domain name";
  }
  for (i = 0; i < ARRAY_SIZE(internal); i++) {
    size_t sl = strlen(internal[i]);
    if (len > sl && strcasecmp(h + len - sl, internal[i]) == 0)
      return "it ends in an internal-only suffix";
  }
  if (!hostname_ok(h)) return "it is not a valid host name";
  return NULL;
}

const char *rules_rdns_phrase(const char *text) {
  static const char *const phrases[] = {
      "reverse hostname", "reverse dns", "rdns", "ptr record", "dns ptr",
      "cannot find your hostname", "reverse lookup", "name lookup failed",
      "5.7.25", "4.7.25", "no ptr", "ptr lookup", "not have a ptr"};
  unsigned i;
  for (i = 0; i < ARRAY_SIZE(phrases); i++)
    if (strcasestr(text, phrases[i]) != NULL) return phrases[i];
  return NULL;
}

/* "name -> NXDOMAIN" / "name -> 203.0.113.99, 2001:db8::1" */
static void describe_fwd(const struct ident *id, unsigned i, char *out,
                         size_t cap) {
  const struct dns_result *r[2] = {id->fwd[i].a, id->fwd[i].aaaa};
  size_t n = (size_t)snprintf(out, cap, "%s ->", id->ptr->answer[i]);
  unsigned k, j, any = 0;

  for (k = 0; k < 2 && n < cap; k++) {
    if (r[k] == NULL) continue;
    if (r[k]->status == DNS_OK) {
      for (j = 0; j < r[k]->n && n < cap; j++, any++)
        n += (size_t)snprintf(out + n, cap - n, "%s%s", any ? ", " : " ",
                              r[k]->answer[j]);
    }
  }
  for (k = 0; k < 2 && n < cap; k++)
    if (cut(r[k]))
      n += (size_t)snprintf(out + n, cap - n, " (and %u more %s not kept)",
                            (unsigned)(r[k]->total - r[k]->n),
                            k ? "AAAA" : "A");
  if (!any && n < cap) {
    const char *s = dns_status_name(r[0] ? r[0]->status : DNS_ERROR);
    if (r[1] && r[0] && r[1]->status != r[0]->status)
      snprintf(out + n, cap - n, " %s (A), %s (AAAA)", s,
               dns_status_name(r[1]->status));
    else
      snprintf(out + n, cap - n, " %s", s);
  }
}

/* For an IPv6 address the missing or failing PTR is one problem with its
 * IPv6 consequence: ipv6-no-ptr, said once, instead of no-ptr or
 * fcrdns-fail beside it. */
static const char *v6_rule(const struct ident *id, const char *rule) {
  return id->ip.family == 6 ? "ipv6-no-ptr" : rule;
}

/* After a DNS change: the cache would keep the old verdict for its TTL. */
#define RECHECK                                                               \
  " Once changed, re-check at once with 'egressaudit check' and the "        \
  "address (it asks DNS afresh; analyze trusts a cached answer for its TTL " \
  "unless --max-age 0)."

#define V6_FIX                                                                \
  " Until it is set, stop sending over IPv6 (Postfix: "                      \
  "smtp_address_preference = ipv4, or inet_protocols = ipv4): Gmail and "    \
  "others reject IPv6 mail without one (550-5.7.1 ... IPv6 sending "         \
  "guidelines)."

/* Why none of the addresses a PTR name gives is public, or NULL. */
static const char *fwd_private(const struct ident *id, unsigned i) {
  const struct dns_result *r[2] = {id->fwd[i].a, id->fwd[i].aaaa};
  struct ea_addr a;
  unsigned k, j, any = 0;

  for (k = 0; k < 2; k++)
    for (j = 0; r[k] && r[k]->status == DNS_OK && j < r[k]->n; j++, any++)
      if (addr_parse(&a, r[k]->answer[j], strlen(r[k]->answer[j])) < 0 ||
          !addr_is_private(&a))
        return NULL;
  return any ? "it resolves only to private, loopback or link-local "
               "addresses: an internal zone leaks into public DNS"
             : NULL;
}

static void rules_ptr(const struct rules_cfg *cfg, const struct ident *id,
                      enum iprev ipr) {
  const char *ip = id->ip_text;
  char buf[FINDING_TEXT_MAX], one[400];
  size_t n = 0;
  unsigned i, confirmed = 0, n_ptr;
  int exempt;

  buf[0] = '\0';
  if (id->ptr == NULL) return;
  if (temp(id->ptr)) {
    emit(cfg, id, "ptr-temperror", SEV_UNKNOWN, ip,
         "Nothing is known to be wrong yet: run the analysis again; if it "
         "persists, the reverse zone's servers are failing (see reverse-zone)"
         " and receivers defer your mail with 450 meanwhile.",
         "PTR lookup of %s failed temporarily (%s): not evidence of a missing"
         " PTR", id->ptr->name, dns_status_name(id->ptr->status));
    return;
  }
  if (id->ptr->status != DNS_OK || id->n_names == 0) {
    /* NOERROR without a usable name (a cache row from before the resolver
     * dropped root-name PTRs) is no PTR either. */
    emit(cfg, id, v6_rule(id, "no-ptr"), SEV_CRIT, ip,
         id->ip.family == 6
             ? "Ask whoever controls the reverse zone (see reverse-zone) to "
               "set a PTR for this address to your mail host's name, with a "
               "matching AAAA." V6_FIX RECHECK
             : "Ask whoever controls the reverse zone (see reverse-zone: your "
               "ISP or cloud provider) to set a PTR for this address to your "
               "mail host's name, and give that name an A/AAAA record "
               "pointing back." RECHECK,
         "%s has no PTR (%s for %s): receivers that check iprev treat this as"
         " permerror", ip,
         id->ptr->status == DNS_OK ? "no usable name"
                                   : dns_status_name(id->ptr->status),
         id->ptr->name);
    return;
  }
  for (i = 0; i < id->n_names; i++)
    if (holds(id->fwd[i].a, ip) || holds(id->fwd[i].aaaa, ip)) confirmed++;
  if (ipr == IPREV_FAIL || ipr == IPREV_TEMPERROR) {
    for (i = 0; i < id->n_names && n < sizeof(buf); i++) {
      const char *priv = fwd_private(id, i);
      describe_fwd(id, i, one, sizeof(one));
      n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s%s%s", i ? "; " : "",
                            one, priv ? ": " : "", priv ? priv : "");
    }
    if (ipr == IPREV_FAIL)
      emit(cfg, id, v6_rule(id, "fcrdns-fail"), SEV_CRIT, ip,
           id->ip.family == 6
               ? "Give the PTR name an AAAA record with exactly this address,"
                 " or change the PTR to a name that already points here." V6_FIX
                     RECHECK
               : "Give the PTR name an A (or AAAA) record with exactly this "
                 "address, or change the PTR to a name that already points "
                 "here." RECHECK,
           "no PTR name of %s resolves back to it: %s", ip, buf);
    else if (ident_cut(id))
      emit(cfg, id, "ptr-temperror", SEV_UNKNOWN, ip,
           "A name with this many records is not a mail host's own: give the "
           "address a PTR to a name of its own with one A/AAAA record. Meanwhile"
           " check by hand: dig +short NAME A NAME AAAA.",
           "%s cannot be confirmed: its DNS answers hold more records than the "
           "%d kept, and it is not among those: %s%s", ip, DNS_ANSWERS_MAX, buf,
           cut(id->ptr) ? "; more PTR names than were kept" : "");
    else
      emit(cfg, id, "ptr-temperror", SEV_UNKNOWN, ip,
           "Run the analysis again; the forward zone's servers are failing.",
           "the forward lookups of the PTR names of %s failed temporarily: %s",
           ip, buf);
  }
  n_ptr = id->ptr->total > id->n_names ? id->ptr->total : id->n_names;
  if (n_ptr > 1) {
    /* Past the names kept: say how many there are, judge only those. */
    const char *more = n_ptr > id->n_names ? ", ... (the first kept)" : "";
    n = 0;
    for (i = 0; i < id->n_names && n < sizeof(buf); i++)
      n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? ", " : "",
                            id->ptr->answer[i]);
    if (confirmed < id->n_names)
      emit(cfg, id, "multiple-ptr", SEV_CRIT, ip,
           "Keep one PTR, for the name your MTA uses in EHLO; delete the "
           "others. Receivers pick one at random, so mail passes or fails "
           "depending on the draw.",
           "%s has %u PTR records (%s%s) and %u of them do not resolve back",
           ip, n_ptr, buf, more, id->n_names - confirmed);
    else
      emit(cfg, id, "multiple-ptr", SEV_WARN, ip,
           "Keep one PTR, for the name your MTA uses in EHLO: some receivers"
           " (Postfix) look at only one of them.",
           "%s has %u PTR records: %s%s", ip, n_ptr, buf, more);
  }
  for (i = 0; i < id->n_names; i++) {
    const char *name = id->ptr->answer[i], *why = ptr_invalid(cfg->psl, name);
    if (why != NULL) {
      emit(cfg, id, "ptr-invalid", SEV_WARN, ip,
           "Set the PTR to your mail host's fully-qualified name (for example"
           " mail01.yourdomain), one that has an A/AAAA record.",
           "PTR name %s of %s is not usable: %s", name, ip, why);
      continue;
    }
    if (!rules_generic(cfg->psl, name, &id->ip, one, sizeof(one), &exempt))
      continue;
    if (!exempt)
      emit(cfg, id, "generic-ptr", SEV_WARN, ip,
           "Ask for a PTR naming your mail host (mail01.yourdomain) instead"
           " of the provider's generic one; many receivers score generic"
           " names as residential or dynamic.",
           "PTR name %s of %s looks generic: %s", name, ip, one);
    else
      emit(cfg, id, "generic-ptr", SEV_WARN, ip,
           "A name of your mail host's own (mail01.yourdomain) passes "
           "everywhere; the provider's static pool name passes only where "
           "receivers honour the static word.",
           "PTR name %s of %s looks generic (%s), though it carries a "
           "static or mail word: some receivers exempt it, others score it "
           "as a pool address", name, ip, one);
  }
}

static void rules_helo(const struct rules_cfg *cfg, const struct ident *id) {
  unsigned h, i;

  for (h = 0; h < id->n_helo; h++) {
    const char *helo = id->helo[h].name, *why = rules_helo_invalid(helo);
    struct ea_addr lit;
    int on_ip, resolvable, temporary, match_ptr = 0, same_org_ptr = 0;

    if (why != NULL) {
      emit(cfg, id, "helo-invalid", SEV_CRIT, helo,
           "Set the name your MTA greets with to its public, fully-qualified"
           " host name, the one the PTR of your egress address gives (Postfix:"
           " smtp_helo_name / myhostname; Exim: helo_data).",
           "EHLO/HELO '%s' from %s: %s", helo, id->ip_text, why);
      continue;
    }
    if (helo[0] == '[') {
      const char *in = helo + 1;
      if (strncasecmp(in, "IPv6:", 5) == 0) in += 5;
      addr_parse(&lit, in, strlen(in) - 1);
      if (!(lit.family == id->ip.family &&
            memcmp(lit.a, id->ip.a, lit.family == 4 ? 4 : 16) == 0))
        emit(cfg, id, "helo-literal-mismatch", SEV_CRIT, helo,
             "Greet with your host name, or with the literal of the address "
             "receivers actually see; a NAT in the path changes it.",
             "EHLO literal %s is not the egress address %s that receivers"
             " saw%s", helo, id->ip_text,
             addr_is_private(&lit) ? " (it is a private, inside address)" : "");
      else
        emit(cfg, id, "helo-literal", SEV_WARN, helo,
             "Greet with the host name the PTR of this address gives "
             "(Postfix: smtp_helo_name; Exim: helo_data): RFC 5321 4.1.4 "
             "allows a literal only to a client without a name.",
             "EHLO %s from %s is an address literal, though the right one: "
             "spam filters (rspamd HFILTER_HELO_BAREIP) score a client "
             "without a name", helo, id->ip_text);
      continue;
    }
    on_ip = holds(id->helo[h].a, id->ip_text) || holds(id->helo[h].aaaa, id->ip_text);
    resolvable = (id->helo[h].a && id->helo[h].a->status == DNS_OK) ||
                 (id->helo[h].aaaa && id->helo[h].aaaa->status == DNS_OK);
    temporary = temp(id->helo[h].a) || temp(id->helo[h].aaaa);
    if (temporary && !on_ip) {
      const struct dns_result *t = temp(id->helo[h].a) ? id->helo[h].a
                                                        : id->helo[h].aaaa;
      emit(cfg, id, "helo-temperror", SEV_UNKNOWN, helo,
           "Nothing is known to be wrong yet: run the analysis again; if it "
           "persists, the EHLO name's zone is failing, and receivers that "
           "check it (Postfix reject_unknown_helo_hostname) defer with 450.",
           "%s lookup of EHLO name %s failed temporarily (%s%s%s): whether "
           "it resolves to %s is not known", temp(id->helo[h].a) ? "A" : "AAAA",
           helo, dns_status_name(t->status),
           cfg->resolver ? ", resolver " : "", cfg->resolver ? cfg->resolver : "",
           id->ip_text);
    }
    if (!resolvable && !temporary && id->helo[h].a && id->helo[h].aaaa) {
      int mx = id->helo[h].mx && id->helo[h].mx->status == DNS_OK;
      if (!mx && !temp(id->helo[h].mx))
        emit(cfg, id, "helo-unresolvable", SEV_WARN, helo,
             "Publish an A (and AAAA if you send over IPv6) record for the "
             "EHLO name, pointing to the egress address.",
             "EHLO name %s has no A, AAAA or MX record (%s): Postfix's "
             "reject_unknown_helo_hostname answers 450", helo,
             dns_status_name(id->helo[h].a->status));
    } else if (resolvable && !on_ip) {
      emit(cfg, id, "helo-elsewhere", SEV_WARN, helo,
           "Point the EHLO name's A/AAAA at the egress address, or greet with "
           "the name whose address this is.",
           "EHLO name %s resolves, but not to the egress address %s", helo,
           id->ip_text);
    }
    if (id->ptr != NULL && id->ptr->status == DNS_OK) {
      for (i = 0; i < id->n_names; i++) {
        if (strcasecmp(helo, id->ptr->answer[i]) == 0) match_ptr = 1;
        if (same_org(cfg->psl, helo, id->ptr->answer[i])) same_org_ptr = 1;
      }
      if (!match_ptr)
        emit(cfg, id, "helo-ptr-mismatch", same_org_ptr ? SEV_INFO : SEV_WARN,
             helo,
             "Greet with the PTR name of the egress address, so that EHLO, "
             "PTR and A all agree.",
             "EHLO name %s differs from the PTR name%s of %s (%s)%s", helo,
             id->n_names > 1 ? "s" : "", id->ip_text, id->ptr->answer[0],
             same_org_ptr ? "; same organisational domain"
                          : "; another organisational domain");
    }
  }
}

static void rules_nat(const struct rules_cfg *cfg, const struct ident *id) {
  char src[ADDR_STRLEN];
  unsigned i;

  for (i = 0; i < id->n_src; i++) {
    int same = id->src[i].family == id->ip.family &&
               memcmp(id->src[i].a, id->ip.a, 16) == 0;
    addr_str(&id->src[i], src);
    if (!same && id->echoed &&
        !(cfg->expect && netset_contains(cfg->expect, id->ip.family, id->ip.a)))
      emit_src(cfg, id, i, "nat-surprise", SEV_CRIT, id->ip_text,
           "Make sure the PTR, SPF and EHLO name are set for the address the "
           "world sees, not the inside one; if this address is expected, list"
           " it with --expect-egress.",
           "receivers saw %s, but the packets left from %s: a NAT or a "
           "container bridge translates the source", id->ip_text, src);
    if (addr_is_private(&id->src[i]) && !id->echoed)
      emit_src(cfg, id, i, "nat-surprise", SEV_CRIT, src,
           "Find the public address this host leaves as (a receiver that "
           "echoes it, Exim or Microsoft, or the NAT rules), and set its PTR;"
           " capture outside the NAT to see it here.",
           "mail leaves from the private address %s and no receiver told us "
           "which public address it became", src);
  }
  if (cfg->expect && cfg->expect->n > 0 && !addr_is_private(&id->ip) &&
      !netset_contains(cfg->expect, id->ip.family, id->ip.a))
    emit(cfg, id, "nat-surprise", SEV_CRIT, id->ip_text,
         "Find which route or NAT rule sends mail out of this address, or add"
         " it to --expect-egress if it is legitimate (and give it a PTR).",
         "mail left from %s, which is not in the expected egress set",
         id->ip_text);
}

/* address-no-ptr: another address of the EHLO name or of a PTR name that
 * has no PTR confirming it. An MTA that resolves its own name (or a
 * receiver checking the EHLO name) meets that address too; with an AAAA,
 * the first IPv6 delivery leaves from it (seed: "if you can't set IPv6
 * PTR, don't publish AAAA for the mail hostname"). Temporary failures are
 * left unsaid here: the address is not the one mail left from. */
static void rules_others(const struct rules_cfg *cfg, const struct ident *id) {
  unsigned i, k;

  for (i = 0; i < id->n_other; i++) {
    const char *x = id->other[i].addr, *of = id->other[i].of;
    const struct dns_result *p = id->other[i].ptr;
    int six = strchr(x, ':') != NULL, confirmed = 0, unknown = 0;

    if (p == NULL || temp(p)) continue;
    if (p->status == DNS_OK)
      for (k = 0; k < p->n && k < OTHER_NAMES_MAX; k++) {
        if (holds(id->other[i].a[k], x) || holds(id->other[i].aaaa[k], x))
          confirmed = 1;
        if (temp(id->other[i].a[k]) || temp(id->other[i].aaaa[k])) unknown = 1;
      }
    if (confirmed || unknown) continue;
    emit(cfg, id, "address-no-ptr", SEV_WARN, x,
         six ? "Give this IPv6 address a PTR to the name (with the matching "
               "AAAA), or remove the AAAA from the name if mail is not meant "
               "to leave from it: an MTA with IPv6 prefers it."
             : "Give this address a PTR to the name (with the matching A), or"
               " remove the A record from the name if mail is not meant to "
               "leave from it.",
         "%s %s also has %s %s, %s: %s", id->other[i].from_helo ? "EHLO name"
                                                                  : "PTR name",
         of, six ? "AAAA" : "A", x,
         p->status == DNS_OK ? "whose PTR names do not resolve back to it"
                             : "which has no PTR",
         six ? "the first IPv6 delivery from it meets Gmail's 550-5.7.25"
             : "mail leaving from it fails iprev");
  }
}

void rules_ident(const struct rules_cfg *cfg, const struct ident *id) {
  enum iprev ipr = rules_iprev(id);

  if (!addr_is_private(&id->ip)) {
    rules_ptr(cfg, id, ipr);
    if (!cfg->zones_apart && id->soa != NULL && id->soa->soa_zone[0] != '\0')
      emit(cfg, id, "reverse-zone", SEV_INFO, id->ip_text,
           "Changes to this PTR go through whoever runs this zone: usually "
           "the provider of the address, through its control panel or "
           "support.",
           "the PTR of %s is served by zone %s (primary %s, contact %s)",
           id->ip_text, id->soa->soa_zone, id->soa->soa_mname,
           id->soa->soa_rname);
  }
  rules_helo(cfg, id);
  rules_nat(cfg, id);
  rules_others(cfg, id);
}

static void emit_server(const struct rules_cfg *cfg,
                        const struct server_ident *sv, const char *rule,
                        const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void emit_server(const struct rules_cfg *cfg,
                        const struct server_ident *sv, const char *rule,
                        const char *fix, const char *fmt, ...) {
  struct finding f;
  va_list ap;

  memset(&f, 0, sizeof(f));
  f.rule = rule;
  f.severity = SEV_WARN;
  snprintf(f.subject, sizeof(f.subject), "%s", sv->ip_text);
  /* ident stays "": these are about our servers, not an egress identity */
  f.scope = SCOPE_SERVER;
  va_start(ap, fmt);
  vsnprintf(f.detail, sizeof(f.detail), fmt, ap);
  va_end(ap);
  snprintf(f.fix, sizeof(f.fix), "%s", fix);
  f.first_us = sv->first_us;
  f.last_us = sv->last_us;
  f.count = sv->sessions;
  cfg->emit(cfg->ctx, &f);
}

void rules_server(const struct rules_cfg *cfg, const struct server_ident *sv) {
  const char *why = rules_helo_invalid(sv->banner_host);
  int resolvable, back, in_ptr = 0;
  unsigned i;

  if (why != NULL || sv->banner_host[0] == '[') {
    emit_server(cfg, sv, "banner-invalid",
                "Make the 220 greeting announce the server's public host name "
                "(Postfix: myhostname / smtpd_banner; Exim: "
                "smtp_active_hostname).",
                "server %s greets clients as '%s': %s", sv->ip_text,
                sv->banner_host, why ? why : "an address, not a host name");
    return;
  }
  if (temp(sv->a) || temp(sv->aaaa) || temp(sv->ptr)) return; /* unknown */
  resolvable = (sv->a && sv->a->status == DNS_OK) ||
               (sv->aaaa && sv->aaaa->status == DNS_OK);
  back = holds(sv->a, sv->ip_text) || holds(sv->aaaa, sv->ip_text);
  if (!resolvable) {
    emit_server(cfg, sv, "banner-invalid",
                "Publish an A/AAAA record for the banner name pointing to the "
                "server, or announce a name that has one.",
                "server %s greets clients as %s, which has no A or AAAA record",
                sv->ip_text, sv->banner_host);
    return;
  }
  for (i = 0; sv->ptr && sv->ptr->status == DNS_OK && i < sv->ptr->n; i++)
    if (strcasecmp(sv->ptr->answer[i], sv->banner_host) == 0) in_ptr = 1;
  if (!in_ptr || !back)
    emit_server(cfg, sv, "banner-ptr-mismatch",
                "Make banner name, PTR and A agree for the server address: set "
                "the PTR to the banner name and point the name at the address.",
                "server %s greets clients as %s, but %s%s%s", sv->ip_text,
                sv->banner_host,
                !in_ptr ? (sv->ptr && sv->ptr->status == DNS_OK
                               ? "its PTR names another host"
                               : "the address has no PTR")
                        : "",
                !in_ptr && !back ? " and " : "",
                !back ? "the name does not resolve to the address" : "");
}
