/* egressaudit - analyzer/analyzer.h: from stored sessions to findings.
 * Builds the egress identities (the public address receivers saw, with the
 * HELO names and inside sources that used it), asks DNS what it needs on
 * the libuv loop (cached in the store by TTL, duplicates coalesced, bounded
 * in flight), applies the rules and stores the findings.
 * SPDX-License-Identifier: MIT
 */
#ifndef EA_ANALYZER_H
#define EA_ANALYZER_H

#include <uv.h>

#include "analyzer/resolver.h"
#include "analyzer/rules.h"
#include "store/store.h"

struct analyzer_cfg {
  struct resolver_cfg dns;
  unsigned max_inflight;        /* queries in flight at once (0: 256)      */
  int64_t max_age_us;           /* cache age limit; < 0: the answers' TTL   */
  int64_t since, until;         /* sessions to judge (first packet time)    */
  const struct netset *expect;  /* --expect-egress, or NULL                 */
  /* Called now and then while DNS is pending (done, total); may be NULL. */
  void (*progress)(void *ctx, unsigned done, unsigned total);
  void *progress_ctx;
};

/* Analyse the sessions of st in the window: resolve, judge, store. Returns
 * 0 and fills *out, or a negative errno and a reason in err. */
int analyzer_run(struct store *st, uv_loop_t *loop,
                 const struct analyzer_cfg *cfg, struct analysis_stats *out,
                 char *err, size_t errlen);

/* One-off check of an address (and the HELO names given), no database.
 * fn gets the identity with its DNS facts and the findings, borrowed. */
typedef void (*check_fn)(void *ctx, const struct ident *id,
                         const struct finding *f, unsigned n_findings);
int analyzer_check(uv_loop_t *loop, const struct analyzer_cfg *cfg,
                   const struct ea_addr *ip, const char *const *helos,
                   unsigned n_helo, check_fn fn, void *ctx, char *err,
                   size_t errlen);

#endif
