/* egressaudit - capture/flow.c: flow table and per-direction reassembly.
 * The pool is allocated once; flows and dialogue slots are linked by index,
 * so the packet path never allocates. Packet time is the clock: a replayed
 * capture expires flows exactly as the live capture would have.
 * SPDX-License-Identifier: MIT
 */
#define _DEFAULT_SOURCE
#include "capture/flow.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "capture/smtp.h"

#define NIL UINT32_MAX

struct tcpdir {
  uint32_t next;    /* next sequence number expected                     */
  uint32_t acked;   /* highest ACK the peer sent for this direction     */
  uint8_t known;    /* next is valid                                     */
  uint8_t acked_known;
  uint8_t fin;
  uint32_t pkts;
  uint64_t bytes;
};

struct flow {
  uint32_t hnext;   /* hash chain                                       */
  uint32_t prev, next; /* LRU list, oldest first                         */
  uint32_t dlg;     /* dialogue slot, or NIL                             */
  uint32_t hash;
  uint8_t family;
  uint8_t syn, synack, refused, established, dirby;
  uint8_t closing;  /* both FINs seen: waiting for the last ACK          */
  uint8_t c[16], s[16]; /* client and server address                     */
  uint16_t cport, sport;
  int32_t vlan;
  uint32_t retrans, ooo;
  uint32_t fragments; /* first fragments of fragmented datagrams            */
  int64_t first_us, last_us, point;
  struct tcpdir d[2]; /* [0] client -> server, [1] server -> client      */
};

struct ooo_seg {
  uint32_t seq;
  uint16_t off, len;
};

struct ooo_q {
  uint8_t n;
  uint16_t used;
  struct ooo_seg seg[TCP_OOO_SEGS];
  uint8_t buf[TCP_OOO_BYTES];
};

struct dialog {
  uint32_t next_free;
  struct ooo_q q[2];
  struct smtp smtp;
};

struct flow_table {
  struct flow *flows;
  uint32_t *buckets;
  uint32_t mask;
  uint32_t max_flows, free_head, lru_head, lru_tail;
  struct dialog *dlgs;
  uint32_t n_dlgs, dlg_free;
  const uint8_t *ports;
  const struct netset *local;
  uint64_t k0, k1;
  int64_t now, last_sweep;
  flow_emit_fn emit;
  void *ctx;
  struct flow_stats st;
};

/* SipHash-1-3 (Aumasson, Bernstein 2012) over the canonical 5-tuple: a keyed
 * hash, so a crafted set of flows cannot pile into one bucket. */
#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                              \
  do {                                                                        \
    v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);                 \
    v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                                    \
    v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                                    \
    v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);                 \
  } while (0)

static uint64_t siphash13(uint64_t k0, uint64_t k1, const uint8_t *in,
                          size_t len) {
  uint64_t v0 = k0 ^ 0x736f6d6570736575ULL, v1 = k1 ^ 0x646f72616e646f6dULL;
  uint64_t v2 = k0 ^ 0x6c7967656e657261ULL, v3 = k1 ^ 0x7465646279746573ULL;
  uint64_t m, b = (uint64_t)len << 56;
  size_t i, end = len - len % 8;
  int j;

  for (i = 0; i < end; i += 8) {
    m = 0;
    for (j = 7; j >= 0; j--) m = m << 8 | in[i + (size_t)j];
    v3 ^= m;
    SIPROUND;
    v0 ^= m;
  }
  for (j = 0; (size_t)j < len % 8; j++) b |= (uint64_t)in[end + (size_t)j] << (8 * j);
  v3 ^= b;
  SIPROUND;
  v0 ^= b;
  v2 ^= 0xff;
  SIPROUND;
  SIPROUND;
  SIPROUND;
  return v0 ^ v1 ^ v2 ^ v3;
}

static uint32_t tuple_hash(const struct flow_table *t, uint8_t fam,
                           const uint8_t *a, uint16_t pa, const uint8_t *b,
                           uint16_t pb) {
  uint8_t key[37];
  size_t alen = fam == 4 ? 4 : 16;
  int cmp = memcmp(a, b, alen);

  /* Order the two ends so both directions hash alike. */
  if (cmp > 0 || (cmp == 0 && pa > pb)) {
    const uint8_t *tp = a;
    uint16_t tq = pa;
    a = b, pa = pb, b = tp, pb = tq;
  }
  key[0] = fam;
  memcpy(key + 1, a, alen);
  memcpy(key + 1 + alen, b, alen);
  key[1 + 2 * alen] = (uint8_t)(pa >> 8);
  key[2 + 2 * alen] = (uint8_t)pa;
  key[3 + 2 * alen] = (uint8_t)(pb >> 8);
  key[4 + 2 * alen] = (uint8_t)pb;
  return (uint32_t)siphash13(t->k0, t->k1, key, 5 + 2 * alen);
}

int flow_table_new(struct flow_table **out, const struct flow_cfg *cfg,
                   flow_emit_fn emit, void *ctx) {
  struct flow_table *t;
  uint32_t i, nb = 1;
  uint64_t seed[2];

  *out = NULL;
  if (cfg->ports == NULL || emit == NULL) return -EINVAL;
  t = calloc(1, sizeof(*t));
  if (t == NULL) return -ENOMEM;
  t->max_flows = cfg->max_flows ? cfg->max_flows : FLOW_MAX_DEFAULT;
  while (nb < t->max_flows && nb < (1u << 30)) nb <<= 1;
  t->mask = nb - 1;
  t->n_dlgs = MAX(t->max_flows / DIALOG_DIVISOR, DIALOG_MIN);
  if (t->n_dlgs > t->max_flows) t->n_dlgs = t->max_flows;
  t->flows = calloc(t->max_flows, sizeof(*t->flows));
  t->buckets = malloc((size_t)nb * sizeof(*t->buckets));
  /* calloc maps fresh zero pages: only slots in use become resident. */
  t->dlgs = calloc(t->n_dlgs, sizeof(*t->dlgs));
  if (t->flows == NULL || t->buckets == NULL || t->dlgs == NULL) {
    flow_table_free(t);
    return -ENOMEM;
  }
  for (i = 0; i < nb; i++) t->buckets[i] = NIL;
  for (i = 0; i < t->max_flows; i++) t->flows[i].hnext = i + 1;
  t->flows[t->max_flows - 1].hnext = NIL;
  t->free_head = 0;
  for (i = 0; i < t->n_dlgs; i++) t->dlgs[i].next_free = i + 1;
  t->dlgs[t->n_dlgs - 1].next_free = NIL;
  t->dlg_free = 0;
  t->lru_head = t->lru_tail = NIL;
  t->ports = cfg->ports;
  t->local = cfg->local;
  if (cfg->seed[0] == 0 && cfg->seed[1] == 0) {
    if (getrandom(seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
      seed[0] = (uint64_t)(uintptr_t)t ^ 0x9e3779b97f4a7c15ULL, seed[1] = 1;
  } else {
    seed[0] = cfg->seed[0];
    seed[1] = cfg->seed[1];
  }
  t->k0 = seed[0];
  t->k1 = seed[1];
  t->emit = emit;
  t->ctx = ctx;
  t->now = INT64_MIN;
  *out = t;
  return 0;
}

void flow_table_free(struct flow_table *t) {
  if (t == NULL) return;
  free(t->flows);
  free(t->buckets);
  free(t->dlgs);
  free(t);
}

static int port_set(const struct flow_table *t, uint16_t p) {
  return t->ports[p >> 3] >> (p & 7) & 1;
}

static void lru_unlink(struct flow_table *t, uint32_t i) {
  struct flow *f = &t->flows[i];

  if (f->prev != NIL) t->flows[f->prev].next = f->next;
  else t->lru_head = f->next;
  if (f->next != NIL) t->flows[f->next].prev = f->prev;
  else t->lru_tail = f->prev;
}

static void lru_append(struct flow_table *t, uint32_t i) {
  struct flow *f = &t->flows[i];

  f->prev = t->lru_tail;
  f->next = NIL;
  if (t->lru_tail != NIL) t->flows[t->lru_tail].next = i;
  else t->lru_head = i;
  t->lru_tail = i;
}

static void deliver(struct flow_table *t, struct flow *f, int dir,
                    const uint8_t *p, size_t n) {
  struct smtp *s = &t->dlgs[f->dlg].smtp;

  if (n > 0 && !smtp_done(s))
    smtp_feed(s, dir == 0 ? SMTP_C2S : SMTP_S2C, p, n);
}

static void gap(struct flow_table *t, struct flow *f, int dir) {
  smtp_gap(&t->dlgs[f->dlg].smtp, dir == 0 ? SMTP_C2S : SMTP_S2C);
}

/* Deliver queued segments that have become in order. */
static void ooo_drain(struct flow_table *t, struct flow *f, int dir) {
  struct ooo_q *q = &t->dlgs[f->dlg].q[dir];
  struct tcpdir *d = &f->d[dir];
  unsigned i;
  int progress = 1;

  while (progress && q->n > 0) {
    progress = 0;
    for (i = 0; i < q->n; i++) {
      struct ooo_seg sg = q->seg[i];
      int32_t rel = (int32_t)(sg.seq - d->next);
      if (rel > 0) continue;
      q->seg[i] = q->seg[--q->n];
      uint32_t back = 0u - (uint32_t)rel; /* no signed negation of INT32_MIN */
      if (back < sg.len) {
        deliver(t, f, dir, q->buf + sg.off + back, sg.len - back);
        d->next = sg.seq + sg.len;
      }
      progress = 1;
      break;
    }
  }
  if (q->n == 0) q->used = 0;
}

/* Bytes before the earliest queued segment will never come: skip to it. */
static void ooo_force(struct flow_table *t, struct flow *f, int dir) {
  struct ooo_q *q = &t->dlgs[f->dlg].q[dir];
  unsigned i;
  uint32_t low;

  while (q->n > 0) {
    low = q->seg[0].seq;
    for (i = 1; i < q->n; i++)
      if ((int32_t)(q->seg[i].seq - low) < 0) low = q->seg[i].seq;
    gap(t, f, dir);
    f->d[dir].next = low;
    ooo_drain(t, f, dir);
  }
}

static int dialog_get(struct flow_table *t, struct flow *f);

/* The bytes before seq will never be seen: deliver what is queued, then
 * jump the expected sequence number to seq. Returns the new offset of seq
 * (0, or negative when queued data already covered it). */
static int32_t accept_hole(struct flow_table *t, struct flow *f, int dir,
                           uint32_t seq) {
  struct tcpdir *d = &f->d[dir];
  int32_t rel;

  ooo_force(t, f, dir);
  rel = (int32_t)(seq - d->next);
  if (rel > 0) {
    gap(t, f, dir);
    d->next = seq;
    rel = 0;
  }
  return rel;
}

/* In-order reassembly of one direction (RFC 9293 3.10.7.4, simplified: we
 * only watch, so whatever was captured first wins an overlap). */
static void tcp_data(struct flow_table *t, struct flow *f, int dir,
                     uint32_t seq, const uint8_t *p, uint32_t caplen,
                     uint32_t wirelen) {
  struct tcpdir *d = &f->d[dir];
  struct ooo_q *q;
  int32_t rel;
  uint32_t over;

  if (f->dlg == NIL && dialog_get(t, f) < 0) return;
  q = &t->dlgs[f->dlg].q[dir];
  if (!d->known) {
    d->next = seq;
    d->known = 1;
  }
  rel = (int32_t)(seq - d->next);
  if (rel > 0 && d->acked_known && (int32_t)(d->acked - seq) >= 0) {
    /* The peer acknowledged past this segment: what we miss was received
     * and will not be sent again. The capture lost it. */
    rel = accept_hole(t, f, dir, seq);
  }
  if (rel > 0) {
    f->ooo++;
    if (q->n < TCP_OOO_SEGS && caplen == wirelen &&
        caplen <= sizeof(q->buf) - q->used) {
      q->seg[q->n].seq = seq;
      q->seg[q->n].off = q->used;
      q->seg[q->n].len = (uint16_t)caplen;
      memcpy(q->buf + q->used, p, caplen);
      q->used = (uint16_t)(q->used + caplen);
      q->n++;
      return;
    }
    /* No room to wait: accept the hole. */
    rel = accept_hole(t, f, dir, seq);
  }
  if (rel < 0) {
    over = 0u - (uint32_t)rel; /* rel may be INT32_MIN: no signed negation */
    if (over >= wirelen) {
      f->retrans++;
      return;
    }
    seq += over;
    wirelen -= over;
    if (over >= caplen) {
      p += caplen;
      caplen = 0;
    } else {
      p += over;
      caplen -= over;
    }
  }
  deliver(t, f, dir, p, caplen);
  d->next = seq + caplen;
  if (caplen < wirelen) {
    /* Cut by the snaplen: the rest of the segment was never captured. */
    gap(t, f, dir);
    d->next = seq + wirelen;
  }
  ooo_drain(t, f, dir);
}

static void flow_end(struct flow_table *t, uint32_t i, int end) {
  struct flow *f = &t->flows[i];
  struct session s;
  uint32_t *pp;
  int dir;

  if (f->closing && end != END_EVICTED) end = END_FIN;
  memset(&s, 0, sizeof(s));
  s.first_us = f->first_us;
  s.last_us = f->last_us;
  s.point = f->point;
  s.src.family = s.dst.family = f->family == 4 ? 4 : 6;
  memcpy(s.src.a, f->c, 16);
  memcpy(s.dst.a, f->s, 16);
  s.sport = f->cport;
  s.dport = f->sport;
  s.vlan = f->vlan;
  s.end = (uint8_t)end;
  s.dirby = f->dirby;
  if (netset_contains(t->local, s.src.family, s.src.a))
    s.direction = DIR_EGRESS;
  else if (netset_contains(t->local, s.dst.family, s.dst.a))
    s.direction = DIR_INBOUND;
  else
    s.direction = DIR_UNKNOWN;
  s.pkts_c2s = f->d[0].pkts;
  s.pkts_s2c = f->d[1].pkts;
  s.bytes_c2s = f->d[0].bytes;
  s.bytes_s2c = f->d[1].bytes;
  if (f->established) s.state = SESS_CONNECTED;
  else if (f->refused) s.state = SESS_REFUSED;
  else s.state = SESS_SYN_ONLY;
  s.vlan = f->vlan;
  if (f->dlg != NIL) {
    struct dialog *g = &t->dlgs[f->dlg];
    for (dir = 0; dir < 2; dir++) ooo_force(t, f, dir);
    smtp_view(&g->smtp, &s);
  }
  s.anom.retrans = f->retrans;
  s.anom.ooo = f->ooo;
  s.anom.fragments = f->fragments;
  t->emit(&s, t->ctx);
  t->st.sessions++;

  /* Unlink and free. */
  for (pp = &t->buckets[f->hash & t->mask]; *pp != i; pp = &t->flows[*pp].hnext)
    ;
  *pp = f->hnext;
  lru_unlink(t, i);
  if (f->dlg != NIL) {
    t->dlgs[f->dlg].next_free = t->dlg_free;
    t->dlg_free = f->dlg;
  }
  f->hnext = t->free_head;
  t->free_head = i;
  t->st.active--;
}

static int dialog_get(struct flow_table *t, struct flow *f) {
  uint32_t i;
  struct ea_addr server;

  if (t->dlg_free == NIL) {
    /* Evict the least recently active flow that holds a slot. */
    for (i = t->lru_head; i != NIL; i = t->flows[i].next)
      if (t->flows[i].dlg != NIL && &t->flows[i] != f) break;
    if (i == NIL) return -1;
    flow_end(t, i, END_EVICTED);
    t->st.dialog_evicted++;
  }
  f->dlg = t->dlg_free;
  t->dlg_free = t->dlgs[f->dlg].next_free;
  t->dlgs[f->dlg].q[0].n = t->dlgs[f->dlg].q[1].n = 0;
  t->dlgs[f->dlg].q[0].used = t->dlgs[f->dlg].q[1].used = 0;
  server.family = f->family;
  memcpy(server.a, f->s, 16);
  smtp_init(&t->dlgs[f->dlg].smtp, &server, f->dirby != DIRBY_PORT);
  return 0;
}

static void expire(struct flow_table *t) {
  uint32_t i;
  int64_t idle;

  while ((i = t->lru_head) != NIL) {
    if (t->flows[i].closing) idle = FLOW_CLOSE_US;
    else if (t->flows[i].established) idle = FLOW_IDLE_US;
    else idle = FLOW_SYN_IDLE_US;
    if (t->now - t->flows[i].last_us <= idle) break;
    flow_end(t, i, END_TIMEOUT);
  }
  t->last_sweep = t->now;
}

static uint32_t flow_create(struct flow_table *t, uint32_t h, uint8_t fam,
                            const uint8_t *c, uint16_t cport, const uint8_t *s,
                            uint16_t sport) {
  uint32_t i;
  struct flow *f;

  if (t->free_head == NIL) {
    /* Full: end the least recently active flow that never got an answer
     * (a SYN flood must not push out a dialogue in progress), looking at
     * most FLOW_EVICT_SCAN flows from the old end; else the oldest. */
    uint32_t v = t->lru_head, k;
    for (k = 0; v != NIL && k < FLOW_EVICT_SCAN; k++, v = t->flows[v].next)
      if (!t->flows[v].established && t->flows[v].dlg == NIL) break;
    if (v == NIL || k == FLOW_EVICT_SCAN) v = t->lru_head;
    flow_end(t, v, END_EVICTED);
    t->st.evicted++;
  }
  i = t->free_head;
  f = &t->flows[i];
  t->free_head = f->hnext;
  memset(f, 0, sizeof(*f));
  f->hash = h;
  f->hnext = t->buckets[h & t->mask];
  t->buckets[h & t->mask] = i;
  lru_append(t, i);
  f->dlg = NIL;
  f->family = fam;
  memcpy(f->c, c, fam == 4 ? 4 : 16);
  memcpy(f->s, s, fam == 4 ? 4 : 16);
  f->cport = cport;
  f->sport = sport;
  t->st.flows++;
  if (++t->st.active > t->st.peak) t->st.peak = t->st.active;
  return i;
}

/* Would the receiver of this RST accept it? Its sequence number must lie
 * within a window of where that side's stream is (RFC 5961 3.2; we do not
 * know the receive window, so a generous one: a capture may have lost a
 * little). An answer to a SYN must acknowledge it (RFC 9293 3.10.7.3). */
static int rst_acceptable(const struct flow *f, int dir, const struct pkt *pk) {
  const struct tcpdir *d = &f->d[dir];
  int32_t rel;

  if (dir == 1 && !f->synack && !f->established)
    return !f->d[0].known || !(pk->flags & TH_ACK) || pk->ack == f->d[0].next;
  if (!d->known) return 1;
  rel = (int32_t)(pk->seq - d->next);
  return rel >= -TCP_RST_WINDOW && rel <= TCP_RST_WINDOW;
}

void flow_input(struct flow_table *t, int64_t ts_us, int64_t point,
                const struct pkt *pk) {
  size_t alen = pk->family == 4 ? 4 : 16;
  uint32_t h, i;
  struct flow *f = NULL;
  int dir = 0, syn, synack, rst, fin;

  /* Every frame moves the clock, even one we do not follow. */
  if (ts_us > t->now) t->now = ts_us;
  if (t->now - t->last_sweep >= FLOW_SWEEP_US) expire(t);
  if (!port_set(t, pk->sport) && !port_set(t, pk->dport)) {
    t->st.other_ports++;
    return;
  }
  t->st.smtp_packets++;

  syn = (pk->flags & (TH_SYN | TH_ACK)) == TH_SYN;
  synack = (pk->flags & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK);
  rst = (pk->flags & TH_RST) != 0;
  fin = (pk->flags & TH_FIN) != 0;

  h = tuple_hash(t, pk->family, pk->src, pk->sport, pk->dst, pk->dport);
  for (i = t->buckets[h & t->mask]; i != NIL; i = t->flows[i].hnext) {
    f = &t->flows[i];
    /* One connection seen on two interfaces of a gateway (routed, or
     * translated on one side) is two sessions: one per capture point. */
    if (f->hash != h || f->family != pk->family || f->point != point) continue;
    if (f->cport == pk->sport && f->sport == pk->dport &&
        memcmp(f->c, pk->src, alen) == 0 && memcmp(f->s, pk->dst, alen) == 0) {
      dir = 0;
      break;
    }
    if (f->cport == pk->dport && f->sport == pk->sport &&
        memcmp(f->c, pk->dst, alen) == 0 && memcmp(f->s, pk->src, alen) == 0) {
      dir = 1;
      break;
    }
  }
  if (i != NIL && syn && dir == 0 && f->d[0].known &&
      pk->seq + 1 != f->d[0].next && f->established) {
    /* A new connection reuses the 4-tuple of one we still track. */
    flow_end(t, i, END_TIMEOUT);
    i = NIL;
  }
  if (i == NIL) {
    /* Only a SYN, a SYN-ACK or data starts a flow: a stray ACK, FIN or RST
     * after a session ended must not open a new, empty one. */
    if (syn) {
      i = flow_create(t, h, pk->family, pk->src, pk->sport, pk->dst, pk->dport);
      t->flows[i].dirby = DIRBY_SYN;
      dir = 0;
    } else if (synack) {
      i = flow_create(t, h, pk->family, pk->dst, pk->dport, pk->src, pk->sport);
      t->flows[i].dirby = DIRBY_SYNACK;
      dir = 1;
    } else if ((pk->wirelen > 0 || pk->fragment) && !rst) {
      /* Mid-stream: the side talking to the SMTP port is the client. */
      if (port_set(t, pk->dport)) {
        i = flow_create(t, h, pk->family, pk->src, pk->sport, pk->dst,
                        pk->dport);
        dir = 0;
      } else {
        i = flow_create(t, h, pk->family, pk->dst, pk->dport, pk->src,
                        pk->sport);
        dir = 1;
      }
      t->flows[i].dirby = DIRBY_PORT;
    } else {
      t->st.orphans++;
      return;
    }
    f = &t->flows[i];
    f->first_us = ts_us;
    f->last_us = ts_us;
    f->point = point;
    f->vlan = pk->vlan;
  }

  if (ts_us > f->last_us) f->last_us = ts_us;
  if (pk->fragment) f->fragments++;
  if (f->closing && pk->wirelen == 0 && !pk->fragment &&
      !(pk->flags & (TH_SYN | TH_FIN))) {
    /* The ACK of the last FIN ends the connection (RFC 9293 3.6). */
    f->d[dir].pkts++;
    flow_end(t, i, END_FIN);
    return;
  }
  if (t->lru_tail != i) {
    lru_unlink(t, i);
    lru_append(t, i);
  }
  f->d[dir].pkts++;
  f->d[dir].bytes += pk->wirelen;

  if (syn && dir == 0) {
    f->syn = 1;
    f->d[0].next = pk->seq + 1;
    f->d[0].known = 1;
  } else if (synack && dir == 1) {
    f->synack = 1;
    f->established = 1;
    f->d[1].next = pk->seq + 1;
    f->d[1].known = 1;
  } else if (dir == 1 && !rst) {
    f->established = 1; /* the server answered */
  }
  if (pk->flags & TH_ACK) {
    struct tcpdir *peer = &f->d[!dir];
    if (!peer->acked_known || (int32_t)(pk->ack - peer->acked) > 0) {
      peer->acked = pk->ack;
      peer->acked_known = 1;
    }
  }
  if (pk->wirelen > 0 && !(pk->flags & TH_SYN)) {
    f->established = 1;
    tcp_data(t, f, dir, pk->seq, pk->payload, pk->caplen, pk->wirelen);
  }
  if (rst) {
    if (!rst_acceptable(f, dir, pk)) {
      /* RFC 5961 3: only a RST at the sequence the peer expects ends the
       * connection; one far outside it is spoofed (or stale). */
      t->st.rst_ignored++;
      return;
    }
    if (dir == 1 && !f->synack && !f->established) f->refused = 1;
    flow_end(t, i, END_RST);
    return;
  }
  if (fin) {
    f->d[dir].fin = 1;
    if (f->d[0].fin && f->d[1].fin) f->closing = 1;
  }
}

void flow_flush(struct flow_table *t, int end) {
  while (t->lru_head != NIL) flow_end(t, t->lru_head, end);
}

void flow_expire_at(struct flow_table *t, int64_t now_us) {
  if (now_us > t->now) t->now = now_us;
  expire(t);
}

void flow_get_stats(const struct flow_table *t, struct flow_stats *st) {
  *st = t->st;
}
