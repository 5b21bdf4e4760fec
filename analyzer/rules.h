/* egressaudit - analyzer/rules.h: the checks of RULES.md as pure functions,
 * every judgement of the analysis (rules.c: one identity, one server;
 * rules_cross.c: across identities and from the sessions themselves).
 * Input: what the wire showed and what DNS said; output: findings through
 * a callback. No I/O, no clock; no allocation but the reject aggregation.
 * SPDX-License-Identifier: MIT
 */
#ifndef EA_RULES_H
#define EA_RULES_H

#include "common/dns.h"
#include "common/finding.h"
#include "common/netset.h"
#include "common/strmap.h"
#include "common/types.h"
#include "store/store.h"

#define IDENT_NAMES_MAX DNS_ANSWERS_MAX
#define IDENT_HELO_MAX 16
#define IDENT_SRC_MAX 8
/* Other addresses of the EHLO and PTR names followed per identity, and the
 * PTR names of each that are asked forward: bounds on what a hostile zone
 * can make one identity cost (16 answers each would be 16 x 16 x 16). */
#define IDENT_OTHER_MAX 8
#define OTHER_NAMES_MAX 2

/* RFC 8601 2.7.3 iprev results. */
enum iprev { IPREV_NONE = 0, IPREV_PASS, IPREV_FAIL, IPREV_TEMPERROR,
             IPREV_PERMERROR };
const char *iprev_name(unsigned v);

/* The sessions of one source address of an identity. */
struct ident_src_use {
  int64_t sessions, first_us, last_us;
};

/* One egress identity: the public address receivers saw. DNS results are
 * borrowed; NULL means "not looked up". */
struct ident {
  struct ea_addr ip;
  char ip_text[46];
  const struct dns_result *ptr;  /* PTR of the reverse name             */
  const struct dns_result *soa;  /* SOA query on the reverse name       */
  unsigned n_names;              /* = ptr->n when ptr is DNS_OK          */
  struct {
    const struct dns_result *a, *aaaa;
  } fwd[IDENT_NAMES_MAX];        /* per PTR name, in ptr->answer order   */
  unsigned n_helo;
  struct {
    char name[256];
    const struct dns_result *a, *aaaa, *mx;
    int64_t sessions;
  } helo[IDENT_HELO_MAX];
  unsigned n_src;                /* the source addresses in the packets */
  struct ea_addr src[IDENT_SRC_MAX];
  struct ident_src_use src_use[IDENT_SRC_MAX]; /* per src, same order    */
  unsigned n_other;              /* the names' other addresses           */
  struct {
    char addr[46];
    char of[256];                /* the EHLO or PTR name that gave it    */
    int from_helo;
    const struct dns_result *ptr;
    const struct dns_result *a[OTHER_NAMES_MAX], *aaaa[OTHER_NAMES_MAX];
  } other[IDENT_OTHER_MAX];
  int echoed;                    /* ip came from a receiver's echo       */
  int64_t sessions, first_us, last_us;
  int unknown_direction;         /* read without --local: maybe not ours */
  const char *resolver;          /* who gave the answers (check), or NULL */
};

typedef void (*finding_fn)(void *ctx, const struct finding *f);

struct rules_cfg {
  const void *psl;              /* psl_ctx_t *, for organisational domains */
  const struct netset *expect;  /* --expect-egress, or NULL              */
  finding_fn emit;
  void *ctx;
  const char *resolver;         /* who answered, for the details; or NULL */
  int zones_apart;              /* reverse-zone is judged across identities
                                   (rules_reverse_zones), not per identity */
};

/* The iprev result of an identity from its PTR and forward answers. */
enum iprev rules_iprev(const struct ident *id);

/* Every per-identity rule: no-ptr, ptr-temperror, fcrdns-fail,
 * multiple-ptr, ptr-invalid, generic-ptr, helo-*, nat-surprise,
 * ipv6-no-ptr, address-no-ptr, reverse-zone. */
void rules_ident(const struct rules_cfg *cfg, const struct ident *id);

/* One of our servers as clients saw it: its address, the host name its
 * 220 banner announced, and DNS for both. */
struct server_ident {
  struct ea_addr ip;
  char ip_text[46];
  const char *banner_host;
  const struct dns_result *ptr, *a, *aaaa;
  int64_t sessions, first_us, last_us;
};

/* banner-invalid and banner-ptr-mismatch (the MXToolbox "banner vs PTR"
 * check, seed task 9). */
void rules_server(const struct rules_cfg *cfg, const struct server_ident *sv);

/* --- across identities (rules_cross.c) -------------------------------- */

/* One public identity as the rotation rule sees it. */
struct rot_ident {
  const char *ip_text;
  int family;                   /* 4 or 6                               */
  int iprev;                    /* enum iprev                           */
  int64_t sessions, first_us, last_us;
};
/* One HELO name used by one identity (an index into the rot_ident array). */
struct rot_use {
  const char *helo;
  size_t ident;
};
/* ip-rotation: one HELO name leaving from several public addresses of one
 * family, or from several of which one does not forward-confirm (crit
 * then; a dual-stack host with one coherent address per family is one
 * identity, not a rotation). uses is sorted in place. */
void rules_rotation(const struct rules_cfg *cfg, const struct rot_ident *ids,
                    struct rot_use *uses, size_t n_uses);

/* One translation a NAT gateway made, with the iprev of the outside
 * address. */
struct nat_use {
  const char *in_text, *out_text;
  int iprev;
  int64_t sessions, first_us, last_us;
};
/* ip-rotation of an inside host translated to several public addresses;
 * uses must come grouped by inside address. */
void rules_nat_rotation(const struct rules_cfg *cfg, const struct nat_use *uses,
                        size_t n);

/* Who controls the PTR of each public identity, once per reverse zone. */
struct zone_use {
  const char *zone, *mname, *rname, *ip_text;
  int64_t sessions, first_us, last_us;
};
/* reverse-zone, one finding per zone naming its addresses; uses is sorted
 * in place. */
void rules_reverse_zones(const struct rules_cfg *cfg, struct zone_use *uses,
                         size_t n);

/* rdns-reject: replies that blame reverse DNS, one finding per address the
 * receiver saw (quoted in the text, echoed, or the source). */
struct rejects {
  struct strmap by_ip;          /* address -> struct finding            */
};
void rules_reject_add(struct rejects *rj, const struct reject_row *r);
/* An address's rejects summed elsewhere (the fold's): merged as rows are,
 * so any split of the rows gives the same finding. */
void rules_reject_sum(struct rejects *rj, const struct reject_sum *s);
/* Each address's sums so far (for the fold). */
void rules_rejects_each(struct rejects *rj,
                        void (*fn)(void *ctx, const struct reject_sum *s),
                        void *ctx);
void rules_rejects_emit(const struct rules_cfg *cfg, struct rejects *rj);
void rules_rejects_free(struct rejects *rj);

/* A receiver's echo that was not believed: one receiver alone said it saw
 * our source as another public address. */
struct echo_use {
  const char *src, *echoed, *receiver, *host;
  int64_t sessions, first_us, last_us;
};
/* echo-unconfirmed (warn): a NAT only on the way to that receiver, or the
 * receiver's mistake; the sessions were judged as their source's. */
void rules_echo_unconfirmed(const struct rules_cfg *cfg,
                            const struct echo_use *e);

/* --compare: the answers several resolvers gave to one question (PTR, A
 * or AAAA); v[0] is the resolver the verdicts use. */
struct dns_views {
  const struct dns_result *v;
  const char *const *servers;   /* who gave each                         */
  unsigned n;
  int64_t at;                   /* when they were asked                  */
};
/* dns-split-view: the resolvers disagree on the records (a temporary
 * failure of one is no disagreement: it is said elsewhere). */
void rules_split_view(const struct rules_cfg *cfg, const struct dns_views *dv);

/* port25-blocked: attempts that got no answer or a reset; crit when none
 * from the address was ever answered. */
void rules_port25(const struct rules_cfg *cfg, const struct port25_row *r);

/* capture-drops: a capture point lost packets. */
void rules_drops(const struct rules_cfg *cfg, const struct drops_row *r);

/* Does a reply text blame our reverse DNS? Returns the matched phrase. */
const char *rules_rdns_phrase(const char *text);

/* Is what a report says out of date (report --max-stale)? Times in
 * microseconds, 0 for never; a fleet's hosts with the newest event of
 * each (a session, or a capture heartbeat). */
struct stale_facts {
  int64_t now, max_stale;
  int64_t last_heartbeat, last_analysis, sessions;
  size_t nhosts;
  const char *const *host;   /* "" for points read here from files       */
  const int64_t *host_last;
};
/* The judgement: a fleet's host without an event within max_stale is
 * silent (silent[i] set, each named), else no capture heartbeat, else an
 * old analysis, else no session at all. 1 with why filled (a sentence),
 * or 0: fresh (also when max_stale is 0: not asked). */
int rules_stale(const struct stale_facts *f, int *silent, char *why, size_t cap);

/* The generic-PTR test on one name: 1 when it looks generic, with which
 * pattern fired in why ("the host part ... embeds the address", "... has
 * the access-network word 'dyn'"); exempt is set when a static/mail word
 * marks it as a deliberate, static sender (still generic: a warning that
 * says so). */
int rules_generic(const void *psl, const char *name, const struct ea_addr *ip,
                  char *why, size_t cap, int *exempt);

/* Why a HELO argument is invalid (no dot, localhost, internal suffix, bare
 * IP...), or NULL when it is a plausible FQDN or a proper literal. */
const char *rules_helo_invalid(const char *helo);

#endif
