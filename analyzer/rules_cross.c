/* egressaudit - analyzer/rules_cross.c: the rules across identities and
 * the ones read straight from the sessions (RULES.md c, d): ip-rotation
 * (by HELO name and by a gateway's inside host), rdns-reject,
 * port25-blocked, capture-drops, dns-split-view. Pure like rules.c: facts in the
 * arguments, findings out through cfg->emit; only the reject aggregation
 * allocates (one entry per address blamed).
 * SPDX-License-Identifier: MIT
 */
#define _DEFAULT_SOURCE
#include "analyzer/rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>

#include "common/limits.h"
#include "common/util.h"

static void start(struct finding *f, const char *rule, int sev,
                  const char *subject, const char *ident) {
  memset(f, 0, sizeof(*f));
  f->rule = rule;
  f->severity = (uint8_t)sev;
  snprintf(f->subject, sizeof(f->subject), "%s", subject);
  if (ident != NULL) snprintf(f->ident, sizeof(f->ident), "%s", ident);
  f->first_us = INT64_MAX;
  f->last_us = INT64_MIN;
}

/* Append " ADDR (iprev RESULT)" to the detail and count the sessions. */
static void add_address(struct finding *f, size_t *o, const char *ip,
                        int iprev, int64_t sessions, int64_t first,
                        int64_t last) {
  if (*o < sizeof(f->detail))
    *o += (size_t)snprintf(f->detail + *o, sizeof(f->detail) - *o,
                           " %s (iprev %s)", ip, iprev_name((unsigned)iprev));
  f->count += sessions;
  if (first < f->first_us) f->first_us = first;
  if (last > f->last_us) f->last_us = last;
}

static int by_helo(const void *a, const void *b) {
  const struct rot_use *x = a, *y = b;
  int c = strcasecmp(x->helo, y->helo);
  return c ? c : (x->ident > y->ident) - (x->ident < y->ident);
}

void rules_rotation(const struct rules_cfg *cfg, const struct rot_ident *ids,
                    struct rot_use *uses, size_t n_uses) {
  size_t i, j, k;

  if (n_uses > 1) qsort(uses, n_uses, sizeof(*uses), by_helo);
  for (i = 0; i < n_uses; i = j) {
    struct finding f;
    char name[sizeof(f.subject)];
    unsigned fam[2] = {0, 0};
    int coherent = 1, unknown = 0;
    size_t o;

    for (j = i + 1; j < n_uses && strcasecmp(uses[j].helo, uses[i].helo) == 0;)
      j++;
    if (j - i < 2) continue;
    for (k = i; k < j; k++) {
      const struct rot_ident *d = &ids[uses[k].ident];
      fam[d->family == 6]++;
      if (d->iprev == IPREV_TEMPERROR) unknown = 1;
      else if (d->iprev != IPREV_PASS) coherent = 0;
    }
    /* One coherent address per family: a dual-stack host. */
    if (coherent && !unknown && fam[0] < 2 && fam[1] < 2) continue;
    snprintf(name, sizeof(name), "%s", uses[i].helo);
    for (char *c = name; *c; c++)
      if (*c >= 'A' && *c <= 'Z') *c = (char)(*c + 32);
    start(&f, "ip-rotation", SEV_WARN, name, NULL);
    o = (size_t)snprintf(f.detail, sizeof(f.detail),
                         "EHLO name %s left from %zu public addresses:", name,
                         j - i);
    for (k = i; k < j; k++) {
      const struct rot_ident *d = &ids[uses[k].ident];
      add_address(&f, &o, d->ip_text, d->iprev, d->sessions, d->first_us,
                  d->last_us);
    }
    /* An address whose PTR lookup failed temporarily is not known to be
     * incoherent: unknown, unless another one is. */
    f.severity = !coherent ? SEV_CRIT : unknown ? SEV_UNKNOWN : SEV_WARN;
    snprintf(f.fix, sizeof(f.fix), "%s",
             coherent && unknown
                 ? "Some addresses could not be checked (DNS failed "
                   "temporarily): run the analysis again; each address of "
                   "the pool needs a PTR that resolves back."
             : coherent ? "Every address of the pool forward-confirms; make sure"
                        " each PTR name also matches the EHLO name, or pin the"
                        " sender to one address."
                      : "Give every address of the egress pool a PTR that "
                        "resolves back (ideally to the EHLO name), or send "
                        "from the coherent ones only (Postfix: "
                        "smtp_bind_address; NAT: one SNAT address).");
    cfg->emit(cfg->ctx, &f);
  }
}

void rules_nat_rotation(const struct rules_cfg *cfg, const struct nat_use *uses,
                        size_t n) {
  size_t i, j;

  for (i = 0; i < n; i = j) {
    struct finding f;
    int coherent = 1, unknown = 0;
    size_t o;

    for (j = i + 1; j < n && strcmp(uses[j].in_text, uses[i].in_text) == 0;)
      j++;
    if (j - i < 2) continue;
    start(&f, "ip-rotation", SEV_WARN, uses[i].in_text, NULL);
    o = (size_t)snprintf(f.detail, sizeof(f.detail), "inside host %s left as:",
                         uses[i].in_text);
    for (size_t k = i; k < j; k++) {
      if (uses[k].iprev == IPREV_TEMPERROR) unknown = 1;
      else if (uses[k].iprev != IPREV_PASS) coherent = 0;
      add_address(&f, &o, uses[k].out_text, uses[k].iprev, uses[k].sessions,
                  uses[k].first_us, uses[k].last_us);
    }
    f.severity = !coherent ? SEV_CRIT : unknown ? SEV_UNKNOWN : SEV_WARN;
    snprintf(f.fix, sizeof(f.fix), "%s",
             "Pin this host to one SNAT address with a coherent PTR, or give "
             "every address of the pool one (PTR -> name -> same address).");
    cfg->emit(cfg->ctx, &f);
  }
}

static int by_zone(const void *a, const void *b) {
  const struct zone_use *x = a, *y = b;
  int c = strcasecmp(x->zone, y->zone);
  return c ? c : strcmp(x->ip_text, y->ip_text);
}

void rules_reverse_zones(const struct rules_cfg *cfg, struct zone_use *uses,
                         size_t n) {
  size_t i, j, k;

  if (n > 1) qsort(uses, n, sizeof(*uses), by_zone);
  for (i = 0; i < n; i = j) {
    struct finding f;
    size_t o;

    for (j = i + 1; j < n && strcasecmp(uses[j].zone, uses[i].zone) == 0;) j++;
    start(&f, "reverse-zone", SEV_INFO, uses[i].zone, NULL);
    o = (size_t)snprintf(f.detail, sizeof(f.detail), "the PTR%s of",
                         j - i > 1 ? "s" : "");
    for (k = i; k < j; k++) {
      if (o < sizeof(f.detail))
        o += (size_t)snprintf(f.detail + o, sizeof(f.detail) - o, "%s %s",
                              k > i ? "," : "", uses[k].ip_text);
      f.count += uses[k].sessions;
      if (uses[k].first_us < f.first_us) f.first_us = uses[k].first_us;
      if (uses[k].last_us > f.last_us) f.last_us = uses[k].last_us;
    }
    if (o < sizeof(f.detail))
      snprintf(f.detail + o, sizeof(f.detail) - o,
               " %s served by zone %s (primary %s, contact %s)",
               j - i > 1 ? "are" : "is", uses[i].zone, uses[i].mname,
               uses[i].rname);
    snprintf(f.fix, sizeof(f.fix), "%s",
             "Changes to these PTRs go through whoever runs this zone: usually"
             " the provider of the addresses, through its control panel or "
             "support.");
    cfg->emit(cfg->ctx, &f);
  }
}

/* One address's rejects: the first (earliest; the lower text on a tie,
 * so that any split of the rows merges to the same) says the detail. */
void rules_reject_sum(struct rejects *rj, const struct reject_sum *r) {
  struct finding *f;
  void **slot = strmap_slot(&rj->by_ip, r->ip, 1);

  if (slot == NULL) return;
  if (*slot == NULL) {
    if ((f = malloc(sizeof(*f))) == NULL) return;
    *slot = f;
    start(f, "rdns-reject", SEV_CRIT, r->ip, r->ip);
    f->first_us = INT64_MAX;
    f->last_us = INT64_MIN;
  }
  f = *slot;
  if (r->first_us < f->first_us ||
      (r->first_us == f->first_us && strcmp(r->detail, f->detail) < 0)) {
    f->first_us = r->first_us;
    snprintf(f->detail, sizeof(f->detail), "%s", r->detail);
    snprintf(f->fix, sizeof(f->fix), "%s", r->fix);
  }
  f->count += r->count;
  if (r->last_us > f->last_us) f->last_us = r->last_us;
}

void rules_reject_add(struct rejects *rj, const struct reject_row *r) {
  const char *phrase = r->text ? rules_rdns_phrase(r->text) : NULL;
  const char *ip = r->echoed_ip ? r->echoed_ip : r->src_ip;
  char qbuf[ADDR_STRLEN], when[TIME_STRLEN];
  struct finding *f = NULL;
  struct ea_addr quoted;
  struct reject_sum sum;
  void **slot;

  if (phrase == NULL) return;
  /* The reject text often quotes the address the receiver saw (for a
   * reject only the MTA's log saw, without a capture, it is all there is). */
  if (addr_find_bracketed(r->text, strlen(r->text), NULL, &quoted) == 0)
    ip = addr_str(&quoted, qbuf);
  if (ip == NULL) return;
  sum = (struct reject_sum){ip, "", "", r->first_us, r->first_us, 1};
  if ((slot = strmap_slot(&rj->by_ip, ip, 0)) != NULL) f = *slot;
  if (f == NULL || r->first_us <= f->first_us) { /* it may say the detail */
    char detail[FINDING_TEXT_MAX], fix[FINDING_TEXT_MAX];
    snprintf(detail, sizeof(detail),
             "%s (%s) answered %lld %s%s%s at %s, blaming reverse DNS ('%s')%s",
             r->banner_host ? r->banner_host : r->dst_ip ? r->dst_ip : "?",
             r->dst_ip ? r->dst_ip : "?",
             (long long)r->code, r->enhanced ? r->enhanced : "",
             r->enhanced ? " " : "", r->text, time_str(r->first_us, when),
             phrase, r->from_log ? " (from the MTA log: not visible on the wire)" : "");
    snprintf(fix, sizeof(fix),
             "The receiver refused mail because of the PTR of %s: fix what "
             "no-ptr / fcrdns-fail say for this address, then retry the "
             "deferred mail (postqueue -f).", ip);
    sum.detail = detail;
    sum.fix = fix;
    rules_reject_sum(rj, &sum);
    return;
  }
  rules_reject_sum(rj, &sum);
}

struct sum_walk {
  void (*fn)(void *ctx, const struct reject_sum *s);
  void *ctx;
};

static void each_sum(const char *key, void *val, void *arg) {
  const struct sum_walk *w = arg;
  const struct finding *f = val;
  struct reject_sum s = {key, f->detail, f->fix, f->first_us, f->last_us,
                         f->count};
  w->fn(w->ctx, &s);
}

void rules_rejects_each(struct rejects *rj,
                        void (*fn)(void *ctx, const struct reject_sum *s),
                        void *ctx) {
  struct sum_walk w = {fn, ctx};
  strmap_each(&rj->by_ip, each_sum, &w);
}

static void emit_reject(const char *key, void *val, void *ctx) {
  const struct rules_cfg *cfg = ctx;
  struct finding *f = val;

  (void)key;
  if (f->count > 1) {
    size_t n = strlen(f->detail);
    snprintf(f->detail + n, sizeof(f->detail) - n,
             "; %lld such rejects in all", (long long)f->count);
  }
  cfg->emit(cfg->ctx, f);
}

void rules_rejects_emit(const struct rules_cfg *cfg, struct rejects *rj) {
  strmap_each(&rj->by_ip, emit_reject, (void *)cfg);
}

void rules_rejects_free(struct rejects *rj) { strmap_free(&rj->by_ip, free); }

void rules_echo_unconfirmed(const struct rules_cfg *cfg,
                            const struct echo_use *e) {
  struct finding f;

  start(&f, "echo-unconfirmed", SEV_WARN, e->echoed, e->src);
  snprintf(f.detail, sizeof(f.detail),
           "%s%s%s%s said it saw %s for mail that left from %s; no other "
           "receiver confirms it, so those sessions were judged as %s's",
           e->host && e->host[0] ? e->host : "", e->host && e->host[0] ? " (" : "",
           e->receiver, e->host && e->host[0] ? ")" : "", e->echoed, e->src,
           e->src);
  snprintf(f.fix, sizeof(f.fix), "%s",
           "If mail to that receiver really leaves through a NAT (policy "
           "routing, a relay), add the address to --expect-egress and give "
           "it a PTR; else the receiver reports a wrong address and this "
           "needs nothing.");
  f.first_us = e->first_us;
  f.last_us = e->last_us;
  f.count = e->sessions;
  cfg->emit(cfg->ctx, &f);
}

void rules_port25(const struct rules_cfg *cfg, const struct port25_row *r) {
  struct finding f;

  if (r->src_ip == NULL || r->blocked_dsts == 0) return;
  if (r->answered > 0 && r->blocked_dsts < PORT25_BLOCKED_DSTS_MIN) return;
  start(&f, "port25-blocked", r->answered == 0 ? SEV_CRIT : SEV_WARN,
        r->src_ip, r->from_log ? NULL : r->src_ip);
  if (r->from_log)
    snprintf(f.detail, sizeof(f.detail),
             "the MTA log of %s: %lld connection attempts to %lld receivers "
             "failed (timed out, refused, unreachable); %lld logged attempts "
             "got an answer (no capture saw these: the address they left "
             "from is not known)",
             r->src_ip, (long long)r->blocked, (long long)r->blocked_dsts,
             (long long)r->answered);
  else
    snprintf(f.detail, sizeof(f.detail),
             "%lld connection attempts from %s to %lld receivers got no answer"
             " or a reset; %lld sessions from it reached a banner",
             (long long)r->blocked, r->src_ip, (long long)r->blocked_dsts,
             (long long)r->answered);
  snprintf(f.fix, sizeof(f.fix), "%s",
           r->answered == 0
               ? "Outbound port 25 looks blocked: ask the provider to open it "
                 "(many clouds block it by default), or relay through a "
                 "smarthost on port 587."
               : "Some receivers never answer: check a firewall rule or a "
                 "blocklisting of this address by those networks.");
  f.first_us = r->first_us;
  f.last_us = r->last_us;
  f.count = r->blocked;
  cfg->emit(cfg->ctx, &f);
}

void rules_drops(const struct rules_cfg *cfg, const struct drops_row *r) {
  struct finding f;

  start(&f, "capture-drops", SEV_WARN, r->point, NULL);
  snprintf(f.detail, sizeof(f.detail),
           "capture point %s lost %lld packets (kernel or interface drops): "
           "the history has holes, sessions may be missing or incomplete",
           r->point, (long long)r->dropped);
  snprintf(f.fix, sizeof(f.fix), "%s",
           "Capture only SMTP (the default filter), give the capture a "
           "larger buffer, or run it on a less loaded host.");
  f.first_us = r->first_us;
  f.last_us = r->last_us;
  f.count = r->dropped;
  cfg->emit(cfg->ctx, &f);
}

/* The same records: the same outcome (NXDOMAIN is not NODATA) and the
 * same set of answers (already canonical: lower case, no final dot). */
static int same_records(const struct dns_result *a, const struct dns_result *b) {
  unsigned i, j;

  if (a->status != b->status || a->n != b->n) return 0;
  for (i = 0; i < a->n; i++) {
    for (j = 0; j < b->n && strcmp(a->answer[i], b->answer[j]) != 0; j++)
      ;
    if (j == b->n) return 0;
  }
  return 1;
}

/* "mail.example.com, mx.example.com" or "NXDOMAIN". */
static void says(char *out, size_t cap, const struct dns_result *r) {
  size_t o = 0;
  unsigned i;

  out[0] = '\0';
  if (r->status != DNS_OK || r->n == 0) {
    snprintf(out, cap, "%s", dns_status_name(r->status));
    return;
  }
  for (i = 0; i < r->n && o < cap; i++)
    o += (size_t)snprintf(out + o, cap - o, "%s%s", i ? ", " : "", r->answer[i]);
}

void rules_split_view(const struct rules_cfg *cfg, const struct dns_views *dv) {
  static const char *const tname[] = {[DNS_T_A] = "A", [DNS_T_PTR] = "PTR",
                                      [DNS_T_AAAA] = "AAAA"};
  const struct dns_result *v = dv->v;
  char subject[DNS_NAME_MAX + 8], said[600], ip[INET6_ADDRSTRLEN + 1];
  const char *what;
  struct finding f;
  unsigned k, differ = 0;
  size_t o;

  if (dv->n < 2 || dns_status_temporary(v[0].status) ||
      (v[0].type != DNS_T_A && v[0].type != DNS_T_PTR && v[0].type != DNS_T_AAAA))
    return;
  for (k = 1; k < dv->n; k++)
    if (!dns_status_temporary(v[k].status) && !same_records(&v[0], &v[k]))
      differ++;
  if (differ == 0) return;
  what = tname[v[0].type];
  ip[0] = '\0';
  if (v[0].type == DNS_T_PTR) {
    struct ea_addr a;
    if (dns_reverse_addr(v[0].name, &a.family, a.a) == 0) addr_str(&a, ip);
  }
  snprintf(subject, sizeof(subject), "%s %s", ip[0] ? ip : v[0].name, what);
  start(&f, "dns-split-view", SEV_WARN, subject, ip[0] ? ip : NULL);
  o = (size_t)snprintf(f.detail, sizeof(f.detail), "the resolvers disagree on "
                       "the %s records of %s:", what, ip[0] ? ip : v[0].name);
  for (k = 0; k < dv->n && o < sizeof(f.detail); k++) {
    says(said, sizeof(said), &v[k]);
    o += (size_t)snprintf(f.detail + o, sizeof(f.detail) - o, "%s %s says %s",
                          k ? ";" : "", dv->servers[k], said);
  }
  if (o < sizeof(f.detail))
    snprintf(f.detail + o, sizeof(f.detail) - o,
             " (the verdicts here use %s's)", dv->servers[0]);
  snprintf(f.fix, sizeof(f.fix),
           "Receivers see what the public DNS says: make every view of the "
           "zone (an internal resolver's local data, a split-horizon "
           "server) agree with the public one, or remove the internal "
           "override; re-check with 'dig %s %s @SERVER' for each resolver.",
           v[0].type == DNS_T_PTR ? "-x" : what, ip[0] ? ip : v[0].name);
  f.first_us = f.last_us = dv->at;
  cfg->emit(cfg->ctx, &f);
}

int rules_stale(const struct stale_facts *f, int *silent, char *why, size_t cap) {
  char age[32];
  int64_t oldest = f->now - f->max_stale;
  size_t k, n = 0, len = 0;

  why[0] = '\0';
  if (f->max_stale <= 0) return 0;
  for (k = 0; k < f->nhosts; k++) {
    silent[k] = f->host_last[k] < oldest;
    if (!silent[k]) continue;
    if (n++ == 0)
      len = (size_t)snprintf(why, cap, "no event for longer than --max-stale"
                             " from host");
    if (len < cap)
      len += (size_t)snprintf(why + len, cap - len, "%s %s", n > 1 ? "," : "",
                              f->host[k][0] ? f->host[k] : "(here)");
  }
  if (n > 0) {
    if (len < cap)
      snprintf(why + len, cap - len, ": is its watch running, its events"
               " forwarded?");
    return 1;
  }
  if (f->last_heartbeat < oldest) {
    if (f->last_heartbeat == 0) {
      snprintf(why, cap, "no capture has recorded its counters: is watch"
               " running?");
    } else {
      dur_str(f->now - f->last_heartbeat, age, sizeof(age));
      snprintf(why, cap, "no capture heartbeat for %s (--max-stale): is watch"
               " running?", age);
    }
  } else if (f->last_analysis < oldest) {
    dur_str(f->now - f->last_analysis, age, sizeof(age));
    if (f->last_analysis) snprintf(why, cap, "the last analysis is %s old (--max-stale)", age);
    else snprintf(why, cap, "never analysed");
  } else if (f->sessions == 0) {
    snprintf(why, cap, "no session in the window: nothing was captured, or"
             " mail stopped");
  }
  return why[0] != '\0';
}
