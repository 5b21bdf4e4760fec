/* egressaudit - analyzer/facts.h: the DNS answers one analysis needs.
 * One fact per (type, name), kept compactly (a run may hold tens of
 * thousands): taken from the store's cache when fresh enough, else queued
 * and asked through the resolver, at most max_inflight at once and one
 * small burst per call of facts_pump. Answers go to the cache as they come.
 * A struct facts belongs to one run and is used on its loop's thread only.
 * SPDX-License-Identifier: MIT
 */
#ifndef EA_FACTS_H
#define EA_FACTS_H

#include <stdint.h>

#include "analyzer/resolver.h"
#include "analyzer/rules.h"
#include "common/strmap.h"
#include "store/store.h"

struct fact;

struct facts {
  struct strmap map;            /* "type name" -> struct fact            */
  struct fact **queue;          /* asked in order; qhead: the next one    */
  size_t nq, capq, qhead;
  unsigned inflight, done, total;
  int sending, stopped;
  struct resolver *res;         /* borrowed                              */
  struct store *cache;          /* borrowed; NULL: no cache (check)      */
  int64_t now, max_age_us;      /* max_age_us < 0: the answers' TTL      */
  unsigned max_inflight;        /* 0: 256                                */
  void (*progress)(void *ctx, unsigned done, unsigned total);
  void *progress_ctx;
  int64_t next_progress;
  int64_t cached, queries, temp_failures;
  int64_t by_status[DNS_STATUS_COUNT_]; /* answers fetched, by outcome  */
  int64_t oldest_cached;        /* fetch time of the oldest answer taken
                                   from the cache; 0: none              */
  int store_rc;                 /* the first failed cache write          */
  /* --compare: each PTR, A and AAAA question asked here is asked of
   * these too (each through a resolver of its own, no cache); borrowed. */
  struct facts **peers;
  unsigned n_peers;
};

/* The facts of one identity, expanded for the rules (which borrow them):
 * PTR and SOA, A and AAAA of each PTR name, A, AAAA and MX of each HELO
 * name, and those of the names' other addresses. Large (about 600 KB):
 * one per run, on the heap. */
#define FACTS_WS_MAX                                                         \
  (2 + IDENT_NAMES_MAX * 2 + IDENT_HELO_MAX * 3 +                            \
   IDENT_OTHER_MAX * (1 + 2 * OTHER_NAMES_MAX))
struct facts_ws {
  unsigned used;
  int64_t oldest;               /* when the oldest answer loaded was
                                   fetched; 0: none                     */
  struct dns_result r[FACTS_WS_MAX];
};

void facts_init(struct facts *fx, struct resolver *res, struct store *cache,
                int64_t now, int64_t max_age_us, unsigned max_inflight);

/* Ask for (type, name) unless known or queued. */
void facts_want(struct facts *fx, int type, const char *name);

/* Send the next burst of what is queued. Returns the queries in flight
 * after it: 0 means the phase is over (or every answer came at once). */
unsigned facts_pump(struct facts *fx);

/* Queries queued or in flight. */
int facts_busy(const struct facts *fx);

/* Answers that come from now on are dropped (the run is closing). */
void facts_stop(struct facts *fx);

/* The answer to (type, name) expanded into the next slot of ws, or NULL
 * when it was not asked, is not in yet, or ws is full. */
const struct dns_result *facts_load(const struct facts *fx,
                                    struct facts_ws *ws, int type,
                                    const char *name);

/* The same into out; 1, or 0 when the answer is not there. */
int facts_load1(const struct facts *fx, int type, const char *name,
                struct dns_result *out);

/* Whether name has neither an A nor an AAAA record (both answered). */
int facts_no_address(const struct facts *fx, const char *name);

/* --compare: every PTR, A and AAAA answer of fx beside the peers' answers
 * to the same question: fn gets views[0] (fx's) .. views[n_peers], each
 * peer's DNS_ERROR when it had none. views: n_peers + 1 results of the
 * caller's (each is large: on the heap). */
typedef void (*facts_views_fn)(void *ctx, const struct dns_result *views,
                               unsigned n);
void facts_views(const struct facts *fx, struct dns_result *views,
                 facts_views_fn fn, void *ctx);

void facts_free(struct facts *fx);

#endif
