/* egressaudit - analyzer/idents.h: the egress identities of one analysis.
 * An identity is the public address receivers saw (a receiver's echo when
 * there is one, else the packets' source) with the HELO names and inside
 * sources that used it. Built from the store's groups on the reading
 * thread, then planned, resolved and judged on the loop: one owner at a
 * time, never two threads at once.
 * SPDX-License-Identifier: MIT
 */
#ifndef EA_IDENTS_H
#define EA_IDENTS_H

#include "analyzer/facts.h"
#include "analyzer/rules.h"
#include "common/strmap.h"
#include "common/util.h"
#include "store/store.h"

struct idrec {
  struct ea_addr ip;
  char ip_text[ADDR_STRLEN];
  char rev[80];
  int echoed, unknown_dir;
  unsigned n_src, n_helo;
  struct ea_addr src[IDENT_SRC_MAX];
  uint8_t src_paired[IDENT_SRC_MAX]; /* known only from a gateway's pair  */
  struct ident_src_use src_use[IDENT_SRC_MAX]; /* sessions per source     */
  char *helo[IDENT_HELO_MAX];
  int64_t helo_sessions[IDENT_HELO_MAX];
  int64_t sessions, first_us, last_us, rejected, starttls, tls_logged;
  char points[256];
  int iprev;  /* enum iprev, once judged                                  */
  int merged; /* folded into the identity a receiver revealed for it      */
};

/* One of our servers as clients saw it (inbound sessions). */
struct srv {
  struct ea_addr ip;
  char ip_text[ADDR_STRLEN], rev[80], host[256];
  int64_t sessions, first_us, last_us;
};

/* A NAT gateway's translation: inside address -> outside address. */
struct natpair {
  struct ea_addr in, out;
  char in_text[ADDR_STRLEN], out_text[ADDR_STRLEN];
  char point_in[128], point_out[128];
  int64_t first_us, last_us, sessions;
};

/* A receiver's echo not believed (ECHO_CONFIRM_MIN): kept for the
 * echo-unconfirmed rule; its sessions stay with their source. */
struct echo_doubt {
  char src[ADDR_STRLEN], echoed[ADDR_STRLEN], receiver[ADDR_STRLEN];
  char host[256];
  int64_t sessions, first_us, last_us;
};

struct idset {
  const struct netset *expect;  /* --expect-egress: echoes believed      */
  struct echo_doubt *doubt;
  size_t ndoubt, capdoubt;
  struct strmap doubt_at;       /* "src echoed" -> index + 1 in doubt[]:
                                   a receiver chooses the echoes, so no
                                   scan per group                       */
  struct strmap by_ip;          /* address text -> struct idrec         */
  struct idrec **ids;           /* the same, in the order first seen    */
  size_t nids, capids;
  struct srv *srv;
  size_t nsrv, capsrv;
  struct natpair *nat;          /* ordered by inside address            */
  size_t nnat, capnat;
};

/* The identity of ip, made when new (echoed: a receiver revealed it). */
struct idrec *idset_get(struct idset *s, const struct ea_addr *ip, int echoed);
/* The identity of an address text, or NULL. */
const struct idrec *idset_find(const struct idset *s, const char *ip_text);
/* Count sessions from src with helo (NULL: none) for d. */
void idrec_add(struct idrec *d, const struct ea_addr *src, const char *helo,
               int64_t sessions, int64_t first, int64_t last, int unknown_dir);

/* Store callbacks (ctx: the idset): 0 to go on, 1 on out-of-memory. */
int idset_on_group(const struct egress_group *g, void *ctx);
int idset_on_server(const struct server_row *r, void *ctx);
int idset_on_nat(const struct nat_row *r, void *ctx);

/* Fold each private source into the public identity a receiver's echo or
 * the gateway's NAT map gave it, when there is exactly one; list a NAT
 * pair's inside host as a source of its outside identity. */
void idset_merge_private(struct idset *s);

/* Identities left after merging. */
size_t idset_count(const struct idset *s);

/* What DNS must say, given what it has said so far; called after each
 * round of answers, it queues only what is new (none: the DNS is done).
 * Per public identity: PTR and SOA; A and AAAA of each PTR name and each
 * HELO name (MX when it has no address); for the other addresses those
 * names give (IDENT_OTHER_MAX), their PTR and the A/AAAA of its first
 * OTHER_NAMES_MAX names. Our servers: PTR, A and AAAA of the banner name.
 * scratch holds four expanded answers. */
void idset_plan(const struct idset *s, struct facts *fx,
                struct dns_result scratch[4]);

/* The rules' view of d (facts expanded into ws, which is reset first);
 * other addresses that are identities of s themselves are left out (their
 * own findings say it). */
void idset_build(const struct idset *s, const struct idrec *d,
                 const struct facts *fx, struct facts_ws *ws,
                 struct ident *id);
/* The rules' view of server v; 0, or -1 when it has no public address. */
int idset_build_server(const struct srv *v, const struct facts *fx,
                       struct facts_ws *ws, struct server_ident *sv);

/* The lists of an identity row, each a JSON array of strings (the one
 * encoding of a list in the database: common/util.h jlist). */
struct identity_text {
  char ptr[DNS_ANSWERS_MAX * (DNS_NAME_MAX + 3) + 3];
  char helos[IDENT_HELO_MAX * (256 + 3) + 3];
  char srcs[IDENT_SRC_MAX * (ADDR_STRLEN + 3) + 3];
  char echoed[ADDR_STRLEN + 8];
  char points[sizeof(((struct idrec *)0)->points) * 2 + 8];
};
/* The record of d for the report, its lists written into t. */
void idset_row(const struct idrec *d, const struct ident *id,
               struct identity_text *t, struct identity_row *row);

void idset_free(struct idset *s);

#endif
