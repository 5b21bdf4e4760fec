/* egressaudit - analyzer/twins.h: one connection seen twice by a gateway.
 * A gateway that captures inside and outside records a routed connection
 * at both points (same 5-tuple) and a translated one as a private source
 * inside and the NAT address outside (same receiver, port and EHLO name,
 * within TWIN_WINDOW_US, the outside source not seen inside around then).
 * Fed the rows of store_twin_rows in their order, it says which sessions
 * are such twins (to be counted once) and which inside address left as
 * which outside one. One sweep over the rows: the work per row is bounded
 * (TWIN_CANDIDATES_MAX outside addresses per receiver, port and name in
 * the window), so a flood from behind the NAT costs linear time.
 * Owns all it keeps; not thread-safe; one per analysis.
 * SPDX-License-Identifier: MIT
 */
#ifndef EA_TWINS_H
#define EA_TWINS_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct twins;

int twins_new(struct twins **out);
void twins_free(struct twins *t); /* NULL-safe */

/* One row, in store_twin_rows order (receiver, then time); copies what it
 * keeps. 0, or -ENOMEM. */
int twins_add(struct twins *t, const struct twin_row *r);
/* After the last row. */
int twins_finish(struct twins *t);

/* The sessions to count once no more: routed twins stored second, and the
 * inside half of each translated pair. Valid until twins_free. */
const int64_t *twins_excluded(const struct twins *t, size_t *n);

/* The inside -> outside pairs, by inside address then first use; stops
 * when fn returns non-zero. Returns the pairs seen. */
int64_t twins_each_pair(const struct twins *t, nat_fn fn, void *ctx);

/* Outside addresses left out because a receiver, port and name had more
 * than TWIN_CANDIDATES_MAX in one window (a flood with made-up sources). */
uint64_t twins_overflow(const struct twins *t);

#endif
