/* egressaudit - capture/flow.h: TCP flows to and from the SMTP ports.
 * A preallocated pool of flows behind a seeded hash, an LRU list for expiry
 * by packet time and eviction when full, per-direction in-order reassembly
 * of just enough bytes for the SMTP parser. Emits one struct session per
 * flow when it ends (FIN, RST, timeout, eviction, end of capture).
 * SPDX-License-Identifier: MIT
 */
#ifndef EA_FLOW_H
#define EA_FLOW_H

#include "capture/decode.h"
#include "common/netset.h"
#include "common/session.h"

struct flow_table;

/* Called once per finished session; s is borrowed for the call only. */
typedef void (*flow_emit_fn)(const struct session *s, void *ctx);

struct flow_cfg {
  uint32_t max_flows;       /* 0: FLOW_MAX_DEFAULT                        */
  const uint8_t *ports;     /* bitmap of SMTP ports (65536 bits), borrowed */
  uint64_t seed[2];         /* hash key; all zero: random                 */
  const struct netset *local; /* our side, borrowed; may change between   */
                            /* packets (live mode), NULL: all unknown      */
};

struct flow_stats {
  uint64_t smtp_packets;    /* TCP segments to or from an SMTP port       */
  uint64_t other_ports;     /* TCP segments not to an SMTP port           */
  uint64_t orphans;         /* ACK/FIN/RST of flows we never saw start    */
  uint64_t flows;           /* flows created                              */
  uint64_t evicted;         /* flows ended because the table was full     */
  uint64_t dialog_evicted;  /* ... because no dialogue slot was free      */
  uint64_t rst_ignored;     /* RSTs outside the window: spoofed or stale  */
  uint64_t sessions;        /* sessions emitted                           */
  uint32_t active;          /* flows open now                             */
  uint32_t peak;            /* most flows open at once                    */
};

/* Create a table; emit is called with ctx for each finished session.
 * Returns 0, or -ENOMEM / -EINVAL (*out is NULL then). */
int flow_table_new(struct flow_table **out, const struct flow_cfg *cfg,
                   flow_emit_fn emit, void *ctx);

/* Emit nothing and free everything; NULL-safe. */
void flow_table_free(struct flow_table *t);

/* One decoded segment at packet time ts_us, seen at capture point `point`. */
void flow_input(struct flow_table *t, int64_t ts_us, int64_t point,
                const struct pkt *pk);

/* End every open flow with the given enum sess_end (END_EOF at the end of a
 * capture) and emit its session. */
void flow_flush(struct flow_table *t, int end);

void flow_get_stats(const struct flow_table *t, struct flow_stats *st);

/* Live mode: the clock moves even when no packet comes; expire idle flows
 * as of now_us. */
void flow_expire_at(struct flow_table *t, int64_t now_us);

#endif
