/* egressaudit - tests/fuzz/fuzz_rules.c: libFuzzer target for the rules
 * and the text of their findings. Whoever runs a reverse zone writes our
 * PTR names, whoever sends mail from inside writes the EHLO: the input
 * becomes an identity's DNS facts and names (statuses, answer counts,
 * names of any bytes), and every finding must be a known rule with a
 * NUL-terminated detail and fix that esc_fputs can print.
 * SPDX-License-Identifier: MIT
 */
#include <libpsl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "analyzer/rules.h"
#include "common/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct rd {
  const uint8_t *p;
  size_t n;
};
static unsigned byte(struct rd *r) {
  if (r->n == 0) return 0;
  r->n--;
  return *r->p++;
}
/* A name of 0..63 input bytes (any bytes but NUL). */
static void name(struct rd *r, char *out, size_t cap) {
  size_t len = byte(r) % 64, i;
  for (i = 0; i < len && i + 1 < cap; i++) {
    unsigned b = byte(r);
    out[i] = (char)(b ? b : '.');
  }
  out[i] = '\0';
}
static void result(struct rd *r, struct dns_result *d, int type) {
  unsigned k, n;
  memset(d, 0, sizeof(*d));
  d->type = (uint16_t)type;
  d->status = (uint8_t)(byte(r) % DNS_STATUS_COUNT_);
  n = byte(r) % (DNS_ANSWERS_MAX + 1);
  for (k = 0; k < n; k++) name(r, d->answer[k], 64);
  d->n = (uint8_t)n;
  d->total = (uint16_t)(n + (byte(r) & 3)); /* more than kept, now and then */
  if (byte(r) & 1) {
    name(r, d->soa_zone, 64);
    name(r, d->soa_mname, 64);
    name(r, d->soa_rname, 64);
  }
}

static void on_finding(void *ctx, const struct finding *f) {
  FILE *null = ctx;
  if (f->rule == NULL || f->rule[0] == '\0') __builtin_trap();
  if (memchr(f->detail, '\0', sizeof(f->detail)) == NULL) __builtin_trap();
  if (memchr(f->fix, '\0', sizeof(f->fix)) == NULL) __builtin_trap();
  if (memchr(f->subject, '\0', sizeof(f->subject)) == NULL) __builtin_trap();
  esc_fputs(null, f->detail);
  esc_fputs(null, f->fix);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static struct dns_result res[2 + 2 * DNS_ANSWERS_MAX + 3 * 4 + 3 * 3];
  static const psl_ctx_t *psl;
  static FILE *null;
  struct rd r = {data, size};
  struct ident id;
  struct rules_cfg cfg;
  unsigned k, u = 0;
  uint8_t a[16];

  if (null == NULL) {
    null = fopen("/dev/null", "w");
    psl = psl_builtin();
  }
  memset(&id, 0, sizeof(id));
  for (k = 0; k < 16; k++) a[k] = (uint8_t)byte(&r);
  id.ip.family = (byte(&r) & 1) ? 6 : 4;
  memcpy(id.ip.a, a, id.ip.family == 4 ? 4 : 16);
  addr_str(&id.ip, id.ip_text);
  id.src[0] = id.ip;
  id.n_src = 1 + byte(&r) % 2;
  if (id.n_src == 2) {
    id.src[1].family = 4;
    id.src[1].a[0] = 10;
  }
  id.echoed = byte(&r) & 1;
  id.sessions = 1 + byte(&r);
  if (byte(&r) & 1) {
    result(&r, &res[u], DNS_T_PTR);
    id.ptr = &res[u++];
    if (id.ptr->status == DNS_OK) id.n_names = id.ptr->n;
    for (k = 0; k < id.n_names; k++) {
      result(&r, &res[u], DNS_T_A);
      id.fwd[k].a = &res[u++];
      result(&r, &res[u], DNS_T_AAAA);
      id.fwd[k].aaaa = &res[u++];
    }
  }
  if (byte(&r) & 1) {
    result(&r, &res[u], DNS_T_SOA);
    id.soa = &res[u++];
  }
  id.n_helo = byte(&r) % 5;
  for (k = 0; k < id.n_helo; k++) {
    name(&r, id.helo[k].name, sizeof(id.helo[k].name));
    id.helo[k].sessions = byte(&r);
    if (byte(&r) & 1) {
      result(&r, &res[u], DNS_T_A);
      id.helo[k].a = &res[u++];
      result(&r, &res[u], DNS_T_AAAA);
      id.helo[k].aaaa = &res[u++];
      result(&r, &res[u], DNS_T_MX);
      id.helo[k].mx = &res[u++];
    }
  }
  /* Other addresses of the names (address-no-ptr): any text, any facts. */
  id.n_other = byte(&r) % 3;
  for (k = 0; k < id.n_other; k++) {
    name(&r, id.other[k].addr, sizeof(id.other[k].addr));
    name(&r, id.other[k].of, sizeof(id.other[k].of));
    id.other[k].from_helo = byte(&r) & 1;
    result(&r, &res[u], DNS_T_PTR);
    id.other[k].ptr = &res[u++];
    result(&r, &res[u], DNS_T_A);
    id.other[k].a[0] = &res[u++];
    result(&r, &res[u], DNS_T_AAAA);
    id.other[k].aaaa[0] = &res[u++];
  }
  id.src_use[0].sessions = byte(&r);
  memset(&cfg, 0, sizeof(cfg));
  cfg.psl = psl;
  cfg.zones_apart = byte(&r) & 1;
  cfg.resolver = (byte(&r) & 1) ? "127.0.0.1:53" : NULL;
  cfg.emit = on_finding;
  cfg.ctx = null;
  rules_ident(&cfg, &id);
  return 0;
}
