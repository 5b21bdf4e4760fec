/* egressaudit - tests/fuzz/fuzz_flow.c: libFuzzer target for the flow table
 * and reassembly. Input: a sequence of synthetic segments, each
 * [flags][who][seq delta][ack delta][time][len][payload...], between a few
 * hosts and ports on a 16-flow table, so eviction, expiry, reordering, gaps
 * and wraparound are all reachable.
 * SPDX-License-Identifier: MIT
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "capture/flow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_emit(const struct session *s, void *ctx) {
  volatile char sink = 0;
  unsigned i;
  size_t j;
  (void)ctx;
  for (j = 0; j < s->banner.len; j++) sink ^= s->banner.p[j];
  for (i = 0; i < s->n_replies; i++)
    for (j = 0; j < s->replies[i].text.len; j++) sink ^= s->replies[i].text.p[j];
  for (i = 0; i < s->n_helo; i++)
    for (j = 0; j < s->helo[i].len; j++) sink ^= s->helo[i].p[j];
  if (s->first_us > s->last_us) __builtin_trap();
  if (s->point != 1 && s->point != 2) __builtin_trap();
  (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static uint8_t ports[8192];
  static const uint8_t hosts[4][4] = {
      {203, 0, 113, 10}, {203, 0, 113, 11}, {198, 51, 100, 25}, {10, 0, 0, 1}};
  static const uint16_t portv[4] = {25, 40000, 40001, 587};
  struct flow_table *t;
  struct flow_cfg cfg;
  struct pkt p;
  uint32_t seq[8] = {0}, ack[8] = {0};
  int64_t now = 1000000;
  size_t i = 0;

  ports[25 >> 3] |= 1 << (25 & 7);
  ports[587 >> 3] |= 1 << (587 & 7);
  memset(&cfg, 0, sizeof(cfg));
  cfg.max_flows = 16;
  cfg.ports = ports;
  cfg.seed[0] = 1;
  if (flow_table_new(&t, &cfg, on_emit, NULL) < 0) return 0;
  while (i + 6 <= size) {
    uint8_t flags = data[i], who = data[i + 1], len = data[i + 5];
    int k = who & 7;
    memset(&p, 0, sizeof(p));
    p.vlan = -1;
    p.family = 4;
    p.flags = flags;
    p.src = hosts[who & 3];
    p.dst = hosts[(who >> 2) & 3];
    p.sport = portv[(who >> 4) & 3];
    p.dport = portv[(who >> 6) & 3];
    seq[k] += (uint32_t)(int8_t)data[i + 2] * 97u;
    ack[k] += (uint32_t)(int8_t)data[i + 3] * 89u;
    p.seq = seq[k];
    p.ack = ack[k];
    now += (int64_t)data[i + 4] * 500000; /* up to ~2 minutes a step */
    i += 6;
    if (len > size - i) len = (uint8_t)(size - i);
    p.payload = data + i;
    p.caplen = len;
    p.wirelen = len + (flags & 0x80 ? 7u : 0u); /* sometimes cut by snaplen */
    i += len;
    /* ECE (ignored by the flow table) picks the capture point: a gateway
     * sees the same connection at two. */
    flow_input(t, now, flags & 0x40 ? 2 : 1, &p);
  }
  flow_flush(t, END_EOF);
  flow_table_free(t);
  return 0;
}
