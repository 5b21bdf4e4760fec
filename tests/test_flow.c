/* egressaudit - tests/test_flow.c: flow table, direction, reassembly, expiry.
 * SPDX-License-Identifier: MIT
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "capture/flow.h"
#include "common/util.h"

#define MAXS 64
struct got {
  int n;
  struct {
    char src[ADDR_STRLEN], dst[ADDR_STRLEN];
    uint16_t sport, dport;
    int state, end, dirby;
    int64_t first, last, point;
    char helo[64], banner[64], last_reply[64];
    uint32_t gaps, retrans, ooo, replies;
    uint32_t pkts_c2s, pkts_s2c;
  } s[MAXS];
};

static void on_emit(const struct session *s, void *ctx) {
  struct got *g = ctx;
  int i = g->n++;

  assert_true(i < MAXS);
  addr_str(&s->src, g->s[i].src);
  addr_str(&s->dst, g->s[i].dst);
  g->s[i].sport = s->sport;
  g->s[i].dport = s->dport;
  g->s[i].state = s->state;
  g->s[i].end = s->end;
  g->s[i].dirby = s->dirby;
  g->s[i].first = s->first_us;
  g->s[i].last = s->last_us;
  snprintf(g->s[i].helo, 64, "%.*s", s->n_helo ? (int)s->helo[0].len : 0,
           s->n_helo ? s->helo[0].p : "");
  snprintf(g->s[i].banner, 64, "%.*s", (int)s->banner.len,
           s->banner.p ? s->banner.p : "");
  if (s->last_reply)
    snprintf(g->s[i].last_reply, 64, "%u %.*s", s->last_reply->code,
             (int)s->last_reply->text.len, s->last_reply->text.p);
  else
    g->s[i].last_reply[0] = '\0';
  g->s[i].gaps = s->anom.gaps;
  g->s[i].retrans = s->anom.retrans;
  g->s[i].ooo = s->anom.ooo;
  g->s[i].replies = s->n_replies;
  g->s[i].pkts_c2s = s->pkts_c2s;
  g->s[i].pkts_s2c = s->pkts_s2c;
  g->s[i].point = s->point;
}

static uint8_t ports[8192];
static uint8_t CLI[4] = {203, 0, 113, 10}, SRV[4] = {198, 51, 100, 25};

struct conn {
  struct flow_table *t;
  int64_t now;
  uint16_t cport;
  uint32_t cseq, sseq;
  int64_t point; /* 0: point 1 */
};

static void pkt(struct conn *k, int from_client, uint8_t flags, uint32_t seq,
                uint32_t ack, const char *data, uint32_t wire_extra) {
  struct pkt p;

  memset(&p, 0, sizeof(p));
  p.vlan = -1;
  p.family = 4;
  p.flags = flags;
  p.src = from_client ? CLI : SRV;
  p.dst = from_client ? SRV : CLI;
  p.sport = from_client ? k->cport : 25;
  p.dport = from_client ? 25 : k->cport;
  p.seq = seq;
  p.ack = ack;
  p.payload = (const uint8_t *)data;
  p.caplen = data ? (uint32_t)strlen(data) : 0;
  p.wirelen = p.caplen + wire_extra;
  k->now += 1000;
  flow_input(k->t, k->now, k->point ? k->point : 1, &p);
}

/* Send data in order and advance the sender's sequence number. */
static void send(struct conn *k, int from_client, const char *data) {
  uint32_t *seq = from_client ? &k->cseq : &k->sseq;
  pkt(k, from_client, TH_ACK | TH_PSH, *seq,
      from_client ? k->sseq : k->cseq, data, 0);
  *seq += (uint32_t)strlen(data);
}

static void handshake(struct conn *k) {
  pkt(k, 1, TH_SYN, k->cseq++, 0, NULL, 0);
  pkt(k, 0, TH_SYN | TH_ACK, k->sseq++, k->cseq, NULL, 0);
  pkt(k, 1, TH_ACK, k->cseq, k->sseq, NULL, 0);
}

static void finish(struct conn *k) {
  pkt(k, 1, TH_FIN | TH_ACK, k->cseq++, k->sseq, NULL, 0);
  pkt(k, 0, TH_FIN | TH_ACK, k->sseq++, k->cseq, NULL, 0);
  pkt(k, 1, TH_ACK, k->cseq, k->sseq, NULL, 0);
}

static struct flow_table *table(struct got *g, uint32_t max) {
  struct flow_table *t;
  struct flow_cfg cfg;

  memset(&cfg, 0, sizeof(cfg));
  memset(g, 0, sizeof(*g));
  ports_parse("25", ports);
  cfg.ports = ports;
  cfg.max_flows = max;
  cfg.seed[0] = 1;
  cfg.seed[1] = 2;
  assert_int_equal(flow_table_new(&t, &cfg, on_emit, g), 0);
  return t;
}

static void test_full_session(void **state) {
  struct got g;
  struct conn k = {table(&g, 0), 1000000, 40001, 1000, 5000, 0};

  (void)state;
  handshake(&k);
  send(&k, 0, "220 mx ESMTP\r\n");
  send(&k, 1, "EHLO a.example\r\n");
  send(&k, 0, "250 mx\r\n");
  send(&k, 1, "QUIT\r\n");
  send(&k, 0, "221 bye\r\n");
  finish(&k);
  assert_int_equal(g.n, 1); /* ended by the ACK of the last FIN */
  assert_string_equal(g.s[0].src, "203.0.113.10");
  assert_string_equal(g.s[0].dst, "198.51.100.25");
  assert_int_equal(g.s[0].sport, 40001);
  assert_int_equal(g.s[0].state, SESS_CLOSED);
  assert_int_equal(g.s[0].end, END_FIN);
  assert_int_equal(g.s[0].dirby, DIRBY_SYN);
  assert_string_equal(g.s[0].helo, "a.example");
  assert_string_equal(g.s[0].banner, "mx ESMTP");
  assert_int_equal(g.s[0].first, 1001000);
  assert_int_equal(g.s[0].last, k.now);
  assert_int_equal(g.s[0].pkts_c2s, 6);
  assert_int_equal(g.s[0].pkts_s2c, 5);
  /* A stray ACK after the end opens no new flow. */
  pkt(&k, 1, TH_ACK, k.cseq, k.sseq, NULL, 0);
  flow_flush(k.t, END_EOF);
  assert_int_equal(g.n, 1);
  flow_table_free(k.t);
}

static void test_syn_only_refused_expiry(void **state) {
  struct got g;
  struct conn k = {table(&g, 0), 1000000, 40002, 1000, 5000, 0};
  struct conn r;

  (void)state;
  pkt(&k, 1, TH_SYN, 999, 0, NULL, 0);
  k.now += 3000000;
  pkt(&k, 1, TH_SYN, 999, 0, NULL, 0); /* retransmitted */
  r = k;
  r.cport = 40003;
  pkt(&r, 1, TH_SYN, 100, 0, NULL, 0);
  pkt(&r, 0, TH_RST | TH_ACK, 0, 101, NULL, 0);
  assert_int_equal(g.n, 1);
  assert_int_equal(g.s[0].state, SESS_REFUSED);
  assert_int_equal(g.s[0].end, END_RST);
  /* 80 s of packet time later, the SYN-only flow has expired. */
  r.cport = 40004;
  r.now += 80LL * 1000000;
  pkt(&r, 1, TH_SYN, 1, 0, NULL, 0);
  assert_int_equal(g.n, 2);
  assert_int_equal(g.s[1].sport, 40002);
  assert_int_equal(g.s[1].state, SESS_SYN_ONLY);
  assert_int_equal(g.s[1].end, END_TIMEOUT);
  flow_flush(k.t, END_EOF);
  assert_int_equal(g.n, 3);
  assert_int_equal(g.s[2].end, END_EOF);
  flow_table_free(k.t);
}

static void test_eviction_when_full(void **state) {
  struct got g;
  struct conn k = {table(&g, 16), 1000000, 30000, 1, 1, 0};
  struct flow_stats st;
  int i;

  (void)state;
  for (i = 0; i < 20; i++) {
    k.cport = (uint16_t)(30000 + i);
    pkt(&k, 1, TH_SYN, 1, 0, NULL, 0);
  }
  flow_get_stats(k.t, &st);
  assert_int_equal(st.evicted, 4);
  assert_int_equal(g.n, 4);
  for (i = 0; i < 4; i++) {
    assert_int_equal(g.s[i].sport, 30000 + i); /* oldest first */
    assert_int_equal(g.s[i].end, END_EVICTED);
  }
  assert_int_equal(st.active, 16);
  flow_flush(k.t, END_EOF);
  assert_int_equal(g.n, 20);
  flow_table_free(k.t);
}

/* A SYN flood fills the table: the flows that never got an answer go
 * first, never the dialogue in progress (it was evicted, as the oldest). */
static void test_flood_spares_dialogue(void **state) {
  struct got g;
  struct conn k = {table(&g, 16), 1000000, 40100, 1000, 5000, 0};
  struct conn f = k;
  struct flow_stats st;
  int i;

  (void)state;
  handshake(&k);
  send(&k, 0, "220 mx ESMTP\r\n");
  send(&k, 1, "EHLO a.example\r\n");
  for (i = 0; i < 60; i++) {
    f.now = k.now;
    f.cport = (uint16_t)(20000 + i);
    pkt(&f, 1, TH_SYN, 1, 0, NULL, 0);
    k.now = f.now;
  }
  send(&k, 0, "250 mx\r\n");
  send(&k, 1, "QUIT\r\n");
  send(&k, 0, "221 bye\r\n");
  finish(&k);
  flow_get_stats(k.t, &st);
  assert_int_equal(st.evicted, 45);
  for (i = 0; i < g.n; i++)
    if (g.s[i].sport == 40100) break;
  assert_true(i < g.n);
  assert_int_equal(g.s[i].end, END_FIN);
  assert_int_equal(g.s[i].state, SESS_CLOSED);
  assert_string_equal(g.s[i].helo, "a.example");
  assert_string_equal(g.s[i].last_reply, "221 bye");
  flow_table_free(k.t);
}

/* RFC 5961: a RST far outside the stream is spoofed and ends nothing; one
 * at the expected sequence ends the connection. */
static void test_rst_outside_window(void **state) {
  struct got g;
  struct conn k = {table(&g, 0), 1000000, 40200, 1000, 5000, 0};
  struct flow_stats st;

  (void)state;
  handshake(&k);
  send(&k, 0, "220 mx ESMTP\r\n");
  pkt(&k, 0, TH_RST, k.sseq + 0x40000000u, 0, NULL, 0); /* a stranger's guess */
  pkt(&k, 1, TH_RST | TH_ACK, k.cseq - 0x7FFFFFF0u, k.sseq, NULL, 0);
  flow_get_stats(k.t, &st);
  assert_int_equal(st.rst_ignored, 2);
  assert_int_equal(g.n, 0);
  send(&k, 1, "EHLO a.example\r\n");
  send(&k, 0, "250 mx\r\n");
  pkt(&k, 1, TH_RST | TH_ACK, k.cseq, k.sseq, NULL, 0); /* the real one */
  assert_int_equal(g.n, 1);
  assert_int_equal(g.s[0].end, END_RST);
  assert_string_equal(g.s[0].helo, "a.example");
  assert_string_equal(g.s[0].last_reply, "250 mx");
  flow_table_free(k.t);
}

static void test_reorder_retrans_overlap(void **state) {
  struct got g;
  struct conn k = {table(&g, 0), 1000000, 40005, 1000, 5000, 0};

  (void)state;
  handshake(&k);
  send(&k, 0, "220 mx\r\n");
  /* "EHLO split.example\r\n" as three segments: 3rd, 1st, 2nd, and the 1st
   * again; then an overlapping copy. */
  pkt(&k, 1, TH_ACK, k.cseq + 10, k.sseq, ".example\r\n", 0);
  pkt(&k, 1, TH_ACK, k.cseq, k.sseq, "EHLO ", 0);
  pkt(&k, 1, TH_ACK, k.cseq + 5, k.sseq, "split", 0);
  pkt(&k, 1, TH_ACK, k.cseq, k.sseq, "EHLO ", 0);
  pkt(&k, 1, TH_ACK, k.cseq + 3, k.sseq, "LO split.", 0);
  k.cseq += 20;
  send(&k, 0, "250 ok\r\n");
  flow_flush(k.t, END_EOF);
  assert_int_equal(g.n, 1);
  assert_string_equal(g.s[0].helo, "split.example");
  assert_int_equal(g.s[0].ooo, 1);
  assert_int_equal(g.s[0].retrans, 2);
  assert_int_equal(g.s[0].gaps, 0);
  assert_string_equal(g.s[0].last_reply, "250 ok");
  flow_table_free(k.t);
}

static void test_gap_detected_by_ack(void **state) {
  struct got g;
  struct conn k = {table(&g, 0), 1000000, 40006, 1000, 5000, 0};

  (void)state;
  handshake(&k);
  send(&k, 0, "220 mx\r\n");
  k.cseq += 20; /* a client segment the capture lost */
  send(&k, 0, "250 ok\r\n"); /* the server acknowledges it */
  send(&k, 1, "HELO after.gap\r\n");
  send(&k, 0, "250 ok\r\n");
  flow_flush(k.t, END_EOF);
  assert_int_equal(g.n, 1);
  assert_int_equal(g.s[0].gaps, 1);
  /* The segment right after the hole plainly starts a command: kept. */
  assert_string_equal(g.s[0].helo, "after.gap");
  assert_int_equal(g.s[0].replies, 3);
  flow_table_free(k.t);
}

static void test_snaplen_cut_is_a_gap(void **state) {
  struct got g;
  struct conn k = {table(&g, 0), 1000000, 40007, 1000, 5000, 0};

  (void)state;
  handshake(&k);
  pkt(&k, 0, TH_ACK | TH_PSH, k.sseq, k.cseq, "220 mx", 10);
  k.sseq += 16;
  send(&k, 1, "EHLO a.example\r\n");
  send(&k, 0, "250 ok\r\n");
  flow_flush(k.t, END_EOF);
  assert_int_equal(g.s[0].gaps, 1);
  assert_string_equal(g.s[0].helo, "a.example");
  assert_string_equal(g.s[0].banner, "mx"); /* cut, kept as truncated */
  flow_table_free(k.t);
}

static void test_midstream_and_ports(void **state) {
  struct got g;
  struct conn k = {table(&g, 0), 1000000, 40008, 1000, 5000, 0};
  struct flow_stats st;

  (void)state;
  /* First packet seen is the server's reply: the client is the side not on
   * port 25. */
  send(&k, 0, "250 mx\r\n");
  send(&k, 1, "QUIT\r\n");
  send(&k, 0, "221 bye\r\n");
  /* Not an SMTP port at all. */
  k.cport = 443;
  {
    struct pkt p;
    memset(&p, 0, sizeof(p));
    p.family = 4;
    p.src = CLI;
    p.dst = SRV;
    p.sport = 50000;
    p.dport = 443;
    p.flags = TH_SYN;
    flow_input(k.t, k.now, 1, &p);
  }
  flow_flush(k.t, END_EOF);
  flow_get_stats(k.t, &st);
  assert_int_equal(st.other_ports, 1);
  assert_int_equal(g.n, 1);
  assert_int_equal(g.s[0].dirby, DIRBY_PORT);
  assert_string_equal(g.s[0].src, "203.0.113.10");
  assert_int_equal(g.s[0].state, SESS_CLOSED);
  flow_table_free(k.t);
}

static void test_seq_wraparound(void **state) {
  struct got g;
  struct conn k = {table(&g, 0), 1000000, 40009, 0xFFFFFFF0u, 0xFFFFFFFAu, 0};

  (void)state;
  handshake(&k);
  send(&k, 0, "220 mx wraps\r\n");
  send(&k, 1, "EHLO wrap.example\r\n");
  send(&k, 0, "250 ok\r\n");
  finish(&k);
  assert_int_equal(g.n, 1);
  assert_string_equal(g.s[0].helo, "wrap.example");
  assert_string_equal(g.s[0].banner, "mx wraps");
  assert_int_equal(g.s[0].gaps + g.s[0].ooo + g.s[0].retrans, 0);
  flow_table_free(k.t);
}

static void test_port_reuse(void **state) {
  struct got g;
  struct conn k = {table(&g, 0), 1000000, 40010, 1000, 5000, 0};

  (void)state;
  handshake(&k);
  send(&k, 0, "220 first\r\n");
  /* Same 4-tuple, new SYN with another ISN, no FIN/RST seen. */
  k.cseq = 900000;
  k.sseq = 700000;
  handshake(&k);
  send(&k, 0, "220 second\r\n");
  flow_flush(k.t, END_EOF);
  assert_int_equal(g.n, 2);
  assert_string_equal(g.s[0].banner, "first");
  assert_string_equal(g.s[1].banner, "second");
  flow_table_free(k.t);
}

/* A gateway capturing inside and outside sees every routed packet twice,
 * once per point: two clean sessions, not one full of retransmissions. */
static void test_same_tuple_two_points(void **state) {
  struct got g;
  struct flow_table *t = table(&g, 0);
  struct conn a = {t, 1000000, 40007, 1000, 5000, 1},
              b = {t, 1000000, 40007, 1000, 5000, 2};
  const char *lines[] = {"220 mx ESMTP\r\n", "EHLO a.example\r\n", "250 mx\r\n",
                         "QUIT\r\n", "221 bye\r\n"};
  unsigned i;

  (void)state;
  handshake(&a);
  handshake(&b);
  for (i = 0; i < 5; i++) {
    send(&a, i % 2, lines[i]);
    send(&b, i % 2, lines[i]);
  }
  finish(&a);
  finish(&b);
  assert_int_equal(g.n, 2);
  for (i = 0; i < 2; i++) {
    assert_int_equal(g.s[i].point, i + 1);
    assert_string_equal(g.s[i].helo, "a.example");
    assert_string_equal(g.s[i].last_reply, "221 bye");
    assert_int_equal(g.s[i].retrans, 0);
    assert_int_equal(g.s[i].pkts_c2s, 6);
  }
  flow_table_free(t);
}

static void test_dialog_exhaustion(void **state) {
  struct got g;
  struct conn k = {table(&g, 16), 1000000, 20000, 1000, 5000, 0};
  struct flow_stats st;
  int i;

  (void)state;
  /* 16 flows allowed, at least DIALOG_MIN (64) slots: cap at 16 by flows.
   * Open 16 talking flows: none evicted for want of a slot. */
  for (i = 0; i < 16; i++) {
    k.cport = (uint16_t)(20000 + i);
    k.cseq = 1000;
    k.sseq = 5000;
    handshake(&k);
    send(&k, 0, "220 mx\r\n");
  }
  flow_get_stats(k.t, &st);
  assert_int_equal(st.dialog_evicted, 0);
  assert_int_equal(st.evicted, 0);
  flow_flush(k.t, END_EOF);
  assert_int_equal(g.n, 16);
  flow_table_free(k.t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_full_session),
      cmocka_unit_test(test_syn_only_refused_expiry),
      cmocka_unit_test(test_eviction_when_full),
      cmocka_unit_test(test_flood_spares_dialogue),
      cmocka_unit_test(test_rst_outside_window),
      cmocka_unit_test(test_reorder_retrans_overlap),
      cmocka_unit_test(test_gap_detected_by_ack),
      cmocka_unit_test(test_snaplen_cut_is_a_gap),
      cmocka_unit_test(test_midstream_and_ports),
      cmocka_unit_test(test_seq_wraparound),
      cmocka_unit_test(test_port_reuse),
      cmocka_unit_test(test_same_tuple_two_points),
      cmocka_unit_test(test_dialog_exhaustion),
  };
  return cmocka_run_group_tests_name("flow", tests, NULL, NULL);
}
