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

/* What the API below takes: resolver settings, the store, the rules'
 * identity and findings (check). */
#include "analyzer/resolver.h"
#include "analyzer/rules.h"
#include "store/store.h"

#define ANALYZER_COMPARE_MAX 8 /* resolvers --compare asks side by side */

struct analyzer_cfg {
  struct resolver_cfg dns;
  unsigned max_inflight;        /* queries in flight at once (0: 256)      */
  int64_t max_age_us;           /* cache age limit; < 0: the answers' TTL   */
  int64_t since, until;         /* sessions to judge (first packet time)    */
  int full;                     /* read every session again, not the fold
                                   plus what came after it (store/fold.c)  */
  const struct netset *expect;  /* --expect-egress, or NULL                 */
  int compare;                  /* ask each of dns.servers (two or more)
                                   every question, fresh: differing answers
                                   are dns-split-view; the verdicts are the
                                   first server's                          */
  /* Called now and then while DNS is pending (done, total); may be NULL. */
  void (*progress)(void *ctx, unsigned done, unsigned total);
  void *progress_ctx;
};

/* One analysis in progress on a loop the caller runs (watch's). */
struct analysis;

/* Called once, on the loop, when the analysis has stored its findings
 * (rc 0), failed (rc < 0, err says why) or was cancelled (-ECANCELED);
 * stats and err are borrowed for the call, the analysis is gone after. */
typedef void (*analyzer_done_fn)(void *ctx, int rc,
                                 const struct analysis_stats *stats,
                                 const char *err);

/* Start an analysis of st's sessions on loop and return at once. The
 * store reads run on libuv's thread pool through a read-only connection of
 * their own (st's file, opened by path); DNS, judging and every write run
 * on the loop through st, in one transaction when the answers are in; done
 * reports. st must stay open until then, and loop must be the thread that
 * uses st. Returns 0, or a negative errno with a reason in err (done is
 * then never called; run the loop to let the half-made run close). */
int analyzer_start(struct analysis **out, struct store *st, uv_loop_t *loop,
                   const struct analyzer_cfg *cfg, analyzer_done_fn done,
                   void *ctx, char *err, size_t errlen);

/* Stop an analysis: pending queries are dropped, nothing is judged;
 * done is called with -ECANCELED once its handles have closed. */
void analyzer_cancel(struct analysis *a);

/* analyzer_start, then run loop (which must have nothing else) until it is
 * over. Returns 0 and fills *out, or a negative errno and a reason in err. */
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
