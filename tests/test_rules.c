/* egressaudit - tests/test_rules.c: the checks as pure functions, fed with
 * hand-made DNS facts (each case mirrors a zone of tests/dns/zones).
 * SPDX-License-Identifier: MIT
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <libpsl.h>
#include <stdio.h>
#include <string.h>

#include "analyzer/rules.h"
#include "common/util.h"

static struct dns_result pool[32];
static unsigned npool;

static const struct dns_result *res(int type, int status, const char *a0,
                                    const char *a1) {
  struct dns_result *r = &pool[npool++];
  memset(r, 0, sizeof(*r));
  r->type = (uint16_t)type;
  r->status = (uint8_t)status;
  if (a0) snprintf(r->answer[r->n++], DNS_NAME_MAX, "%s", a0);
  if (a1) snprintf(r->answer[r->n++], DNS_NAME_MAX, "%s", a1);
  return r;
}

struct got {
  unsigned n;
  struct finding f[32];
};

static void collect(void *ctx, const struct finding *f) {
  struct got *g = ctx;
  if (g->n < 32) g->f[g->n++] = *f;
}

static const struct finding *find(const struct got *g, const char *rule) {
  unsigned i;
  for (i = 0; i < g->n; i++)
    if (strcmp(g->f[i].rule, rule) == 0) return &g->f[i];
  return NULL;
}

static const psl_ctx_t *psl;

static void ident(struct ident *id, const char *ip) {
  memset(id, 0, sizeof(*id));
  npool = 0;
  addr_parse(&id->ip, ip, strlen(ip));
  snprintf(id->ip_text, sizeof(id->ip_text), "%s", ip);
  id->src[0] = id->ip;
  id->n_src = 1;
  id->sessions = 1;
}

static void judge(const struct ident *id, struct got *g) {
  struct rules_cfg cfg = {psl, NULL, collect, g};
  memset(g, 0, sizeof(*g));
  rules_ident(&cfg, id);
}

static void set_ptr(struct ident *id, const char *n0, const char *n1) {
  id->ptr = res(DNS_T_PTR, DNS_OK, n0, n1);
  id->n_names = id->ptr->n;
}

static void test_iprev_and_ptr_rules(void **state) {
  struct ident id;
  struct got g;

  (void)state;
  /* Coherent: PTR mail01.example.com -> A 203.0.113.10. */
  ident(&id, "203.0.113.10");
  set_ptr(&id, "mail01.example.com", NULL);
  id.fwd[0].a = res(DNS_T_A, DNS_OK, "203.0.113.10", NULL);
  id.fwd[0].aaaa = res(DNS_T_AAAA, DNS_OK, "2001:db8:10::25", NULL);
  assert_int_equal(rules_iprev(&id), IPREV_PASS);
  judge(&id, &g);
  assert_int_equal(g.n, 0);

  /* NXDOMAIN and NODATA on the PTR: permerror, no-ptr. */
  ident(&id, "203.0.113.11");
  id.ptr = res(DNS_T_PTR, DNS_NXDOMAIN, NULL, NULL);
  assert_int_equal(rules_iprev(&id), IPREV_PERMERROR);
  judge(&id, &g);
  assert_non_null(find(&g, "no-ptr"));
  assert_int_equal(find(&g, "no-ptr")->severity, SEV_CRIT);
  id.ptr = res(DNS_T_PTR, DNS_NODATA, NULL, NULL);
  judge(&id, &g);
  assert_non_null(find(&g, "no-ptr"));

  /* SERVFAIL, REFUSED, TIMEOUT: temperror, never no-ptr. */
  {
    static const int temps[] = {DNS_SERVFAIL, DNS_REFUSED, DNS_TIMEOUT, DNS_ERROR};
    unsigned i;
    for (i = 0; i < 4; i++) {
      ident(&id, "203.0.113.16");
      id.ptr = res(DNS_T_PTR, temps[i], NULL, NULL);
      assert_int_equal(rules_iprev(&id), IPREV_TEMPERROR);
      judge(&id, &g);
      assert_null(find(&g, "no-ptr"));
      assert_null(find(&g, "fcrdns-fail"));
      assert_non_null(find(&g, "ptr-temperror"));
      assert_int_equal(find(&g, "ptr-temperror")->severity, SEV_UNKNOWN);
    }
  }

  /* PTR to a name without address (NXDOMAIN, NODATA) or pointing
   * elsewhere: fcrdns-fail. */
  {
    static const int st[] = {DNS_NXDOMAIN, DNS_NODATA};
    unsigned i;
    for (i = 0; i < 2; i++) {
      ident(&id, "203.0.113.13");
      set_ptr(&id, "nohost.example.com", NULL);
      id.fwd[0].a = res(DNS_T_A, st[i], NULL, NULL);
      id.fwd[0].aaaa = res(DNS_T_AAAA, st[i], NULL, NULL);
      assert_int_equal(rules_iprev(&id), IPREV_FAIL);
      judge(&id, &g);
      assert_non_null(find(&g, "fcrdns-fail"));
      assert_non_null(strstr(find(&g, "fcrdns-fail")->detail, "nohost.example.com"));
    }
  }
  ident(&id, "203.0.113.14");
  set_ptr(&id, "elsewhere.example.com", NULL);
  id.fwd[0].a = res(DNS_T_A, DNS_OK, "203.0.113.99", NULL);
  id.fwd[0].aaaa = res(DNS_T_AAAA, DNS_NODATA, NULL, NULL);
  judge(&id, &g);
  assert_non_null(strstr(find(&g, "fcrdns-fail")->detail, "203.0.113.99"));
  /* The forward lookup failing temporarily: temperror, not fail. */
  ident(&id, "203.0.113.14");
  set_ptr(&id, "elsewhere.example.com", NULL);
  id.fwd[0].a = res(DNS_T_A, DNS_SERVFAIL, NULL, NULL);
  id.fwd[0].aaaa = res(DNS_T_AAAA, DNS_TIMEOUT, NULL, NULL);
  assert_int_equal(rules_iprev(&id), IPREV_TEMPERROR);
  judge(&id, &g);
  assert_null(find(&g, "fcrdns-fail"));
  assert_non_null(find(&g, "ptr-temperror"));

  /* NOERROR with no usable name (a PTR to the root name, as cached before
   * the resolver dropped it): permerror and no-ptr, a detail that says so
   * (it once printed an unwritten stack buffer: whoever runs a reverse
   * zone could put our stack bytes into the database). */
  ident(&id, "203.0.113.41");
  id.ptr = res(DNS_T_PTR, DNS_OK, NULL, NULL);
  id.n_names = 0;
  assert_int_equal(rules_iprev(&id), IPREV_PERMERROR);
  judge(&id, &g);
  assert_null(find(&g, "fcrdns-fail"));
  assert_non_null(find(&g, "no-ptr"));
  assert_non_null(strstr(find(&g, "no-ptr")->detail, "no usable name"));

  /* The PTR name has 40 addresses, 16 kept, ours not among them: not
   * known, never fail (it was iprev fail and fcrdns-fail crit). */
  ident(&id, "203.0.113.42");
  set_ptr(&id, "many.example.com", NULL);
  id.fwd[0].a = res(DNS_T_A, DNS_OK, "198.18.0.1", "198.18.0.2");
  ((struct dns_result *)id.fwd[0].a)->total = 40;
  id.fwd[0].aaaa = res(DNS_T_AAAA, DNS_NODATA, NULL, NULL);
  assert_int_equal(rules_iprev(&id), IPREV_TEMPERROR);
  judge(&id, &g);
  assert_null(find(&g, "fcrdns-fail"));
  assert_non_null(find(&g, "ptr-temperror"));
  assert_non_null(strstr(find(&g, "ptr-temperror")->detail, "38 more A not kept"));
  /* Ours among the kept ones: pass, truncation or not. */
  ((struct dns_result *)id.fwd[0].a)->n = 1;
  snprintf(((struct dns_result *)id.fwd[0].a)->answer[0], DNS_NAME_MAX, "203.0.113.42");
  assert_int_equal(rules_iprev(&id), IPREV_PASS);
}

static void test_multiple_ptr(void **state) {
  struct ident id;
  struct got g;

  (void)state;
  ident(&id, "203.0.113.15");
  set_ptr(&id, "mail15a.example.com", "mail15b.example.com");
  id.fwd[0].a = res(DNS_T_A, DNS_OK, "203.0.113.15", NULL);
  id.fwd[1].a = res(DNS_T_A, DNS_OK, "203.0.113.15", NULL);
  judge(&id, &g);
  assert_int_equal(find(&g, "multiple-ptr")->severity, SEV_WARN);
  assert_null(find(&g, "fcrdns-fail"));
  /* One of two does not confirm: crit (receivers pick one at random). */
  ident(&id, "203.0.113.18");
  set_ptr(&id, "mail18.example.com", "stale.example.com");
  id.fwd[0].a = res(DNS_T_A, DNS_OK, "203.0.113.18", NULL);
  id.fwd[1].a = res(DNS_T_A, DNS_OK, "203.0.113.99", NULL);
  assert_int_equal(rules_iprev(&id), IPREV_PASS);
  judge(&id, &g);
  assert_int_equal(find(&g, "multiple-ptr")->severity, SEV_CRIT);
  /* 100 PTRs in the answer, 2 kept: said as 100 (it said 16). */
  ident(&id, "203.0.113.15");
  set_ptr(&id, "mail15a.example.com", "mail15b.example.com");
  ((struct dns_result *)id.ptr)->total = 100;
  id.fwd[0].a = res(DNS_T_A, DNS_OK, "203.0.113.15", NULL);
  id.fwd[1].a = res(DNS_T_A, DNS_OK, "203.0.113.15", NULL);
  judge(&id, &g);
  assert_non_null(strstr(find(&g, "multiple-ptr")->detail, "has 100 PTR records"));
}

static void test_generic_and_invalid(void **state) {
  static const struct {
    const char *name, *ip;
    int generic, exempt;
  } v[] = {
      {"ip-203-0-113-12.provider.example", "203.0.113.12", 1, 0},
      {"12.113.0.203.dsl.provider.example", "203.0.113.12", 1, 0},
      {"cb00710c.pool.example.net", "203.0.113.12", 1, 0},
      {"dyn-77.isp.example", "203.0.113.12", 1, 0},
      {"pool12.isp.example", "203.0.113.12", 1, 0},
      {"static-203-0-113-19.provider.example", "203.0.113.19", 0, 1},
      {"mail-203-0-113-19.provider.example", "203.0.113.19", 0, 1},
      {"mail01.example.com", "203.0.113.10", 0, 0},
      {"dynamo.example.com", "203.0.113.10", 0, 0}, /* not "dyn" */
      {"mx.dynw.com", "203.0.113.10", 0, 0},        /* only left of org */
  };
  struct ea_addr a;
  unsigned i;
  int exempt;

  (void)state;
  for (i = 0; i < ARRAY_SIZE(v); i++) {
    addr_parse(&a, v[i].ip, strlen(v[i].ip));
    const char *why = rules_generic(psl, v[i].name, &a, &exempt);
    if (v[i].generic) assert_non_null(why);
    else assert_null(why);
    assert_int_equal(exempt, v[i].exempt);
  }
  {
    struct ident id;
    struct got g;
    ident(&id, "203.0.113.20");
    set_ptr(&id, "example.com", NULL);
    id.fwd[0].a = res(DNS_T_A, DNS_NODATA, NULL, NULL);
    judge(&id, &g);
    assert_non_null(strstr(find(&g, "ptr-invalid")->detail, "bare registrable"));
    ident(&id, "203.0.113.21");
    set_ptr(&id, "localhost", NULL);
    judge(&id, &g);
    assert_non_null(find(&g, "ptr-invalid"));
    ident(&id, "203.0.113.22");
    set_ptr(&id, "mail.example.notatld", NULL);
    id.fwd[0].a = res(DNS_T_A, DNS_OK, "203.0.113.22", NULL);
    judge(&id, &g);
    assert_non_null(strstr(find(&g, "ptr-invalid")->detail, "public suffix"));
  }
}

static void test_helo(void **state) {
  static const struct {
    const char *helo;
    int invalid;
  } v[] = {
      {"localhost", 1},         {"localhost.localdomain", 1},
      {"mailhost", 1},          {"a1b2c3d4e5f6", 1},
      {"srv.corp", 1},          {"mail.lan", 1},
      {"box.local", 1},         {"203.0.113.10", 1},
      {"mail_01.example.com", 0}, {"-bad.example.com", 1},
      {"[203.0.113.10]", 0},    {"[IPv6:2001:db8::1]", 0},
      {"[203.0.113.300]", 1},   {"mail01.example.com", 0},
  };
  struct ident id;
  struct got g;
  unsigned i;

  (void)state;
  for (i = 0; i < ARRAY_SIZE(v); i++) {
    if (v[i].invalid) assert_non_null(rules_helo_invalid(v[i].helo));
    else assert_null(rules_helo_invalid(v[i].helo));
  }
  /* Judged against the egress address the receiver saw. */
  ident(&id, "203.0.113.10");
  set_ptr(&id, "mail01.example.com", NULL);
  id.fwd[0].a = res(DNS_T_A, DNS_OK, "203.0.113.10", NULL);
  id.n_helo = 5;
  snprintf(id.helo[0].name, 256, "[10.0.0.10]");
  snprintf(id.helo[1].name, 256, "[203.0.113.10]");
  snprintf(id.helo[2].name, 256, "ghost.example.com");
  id.helo[2].a = res(DNS_T_A, DNS_NXDOMAIN, NULL, NULL);
  id.helo[2].aaaa = res(DNS_T_AAAA, DNS_NXDOMAIN, NULL, NULL);
  id.helo[2].mx = res(DNS_T_MX, DNS_NXDOMAIN, NULL, NULL);
  snprintf(id.helo[3].name, 256, "other.example.net");
  id.helo[3].a = res(DNS_T_A, DNS_OK, "198.51.100.99", NULL);
  id.helo[3].aaaa = res(DNS_T_AAAA, DNS_NODATA, NULL, NULL);
  snprintf(id.helo[4].name, 256, "mxonly.example.com");
  id.helo[4].a = res(DNS_T_A, DNS_NODATA, NULL, NULL);
  id.helo[4].aaaa = res(DNS_T_AAAA, DNS_NODATA, NULL, NULL);
  id.helo[4].mx = res(DNS_T_MX, DNS_OK, "mail01.example.com", NULL);
  judge(&id, &g);
  assert_non_null(strstr(find(&g, "helo-literal-mismatch")->detail, "private"));
  assert_string_equal(find(&g, "helo-literal-mismatch")->subject, "[10.0.0.10]");
  assert_string_equal(find(&g, "helo-unresolvable")->subject, "ghost.example.com");
  assert_string_equal(find(&g, "helo-elsewhere")->subject, "other.example.net");
  {
    unsigned k, mism = 0, unres = 0;
    for (k = 0; k < g.n; k++) {
      if (strcmp(g.f[k].rule, "helo-ptr-mismatch") == 0) {
        mism++;
        if (strcmp(g.f[k].subject, "other.example.net") == 0)
          assert_int_equal(g.f[k].severity, SEV_WARN); /* other org */
        else
          assert_int_equal(g.f[k].severity, SEV_INFO);
      }
      if (strcmp(g.f[k].rule, "helo-unresolvable") == 0) unres++;
    }
    assert_int_equal(unres, 1); /* MX-only is resolvable enough */
    assert_int_equal(mism, 3);
  }
  /* A temporary failure on the HELO name suppresses the verdict. */
  ident(&id, "203.0.113.10");
  id.n_helo = 1;
  snprintf(id.helo[0].name, 256, "slow.example.com");
  id.helo[0].a = res(DNS_T_A, DNS_TIMEOUT, NULL, NULL);
  id.helo[0].aaaa = res(DNS_T_AAAA, DNS_NXDOMAIN, NULL, NULL);
  judge(&id, &g);
  assert_null(find(&g, "helo-unresolvable"));
}

static void test_nat_and_v6(void **state) {
  struct ident id;
  struct got g;
  struct netset expect;
  struct rules_cfg cfg = {NULL, &expect, collect, &g};

  (void)state;
  ident(&id, "203.0.113.10");
  addr_parse(&id.src[0], "10.0.0.10", 9);
  id.echoed = 1;
  set_ptr(&id, "mail01.example.com", NULL);
  id.fwd[0].a = res(DNS_T_A, DNS_OK, "203.0.113.10", NULL);
  judge(&id, &g);
  assert_non_null(strstr(find(&g, "nat-surprise")->detail, "10.0.0.10"));
  /* Declared as expected: quiet. */
  memset(&expect, 0, sizeof(expect));
  netset_add_text(&expect, "203.0.113.10");
  cfg.psl = psl;
  memset(&g, 0, sizeof(g));
  rules_ident(&cfg, &id);
  assert_null(find(&g, "nat-surprise"));
  /* Not in the expected set: surprise. */
  ident(&id, "203.0.113.12");
  set_ptr(&id, "mail12.example.com", NULL);
  id.fwd[0].a = res(DNS_T_A, DNS_OK, "203.0.113.12", NULL);
  memset(&g, 0, sizeof(g));
  rules_ident(&cfg, &id);
  assert_non_null(strstr(find(&g, "nat-surprise")->detail, "not in the expected"));
  /* A private source with no echo, and no PTR lookup for it. */
  ident(&id, "10.0.0.10");
  judge(&id, &g);
  assert_non_null(find(&g, "nat-surprise"));
  assert_null(find(&g, "no-ptr"));
  /* IPv6 without PTR. */
  ident(&id, "2001:db8:10::26");
  id.ptr = res(DNS_T_PTR, DNS_NXDOMAIN, NULL, NULL);
  judge(&id, &g);
  assert_non_null(find(&g, "ipv6-no-ptr"));
  ident(&id, "2001:db8:10::25");
  set_ptr(&id, "mail01.example.com", NULL);
  id.fwd[0].a = res(DNS_T_A, DNS_OK, "203.0.113.10", NULL);
  id.fwd[0].aaaa = res(DNS_T_AAAA, DNS_OK, "2001:db8:10::25", NULL);
  judge(&id, &g);
  assert_null(find(&g, "ipv6-no-ptr"));
  assert_int_equal(rules_iprev(&id), IPREV_PASS);
}

static void test_small_predicates(void **state) {
  static const char *const priv[] = {"10.1.2.3", "172.17.0.2", "192.168.1.1",
                                     "100.64.0.1", "169.254.1.1", "127.0.0.1",
                                     "fd00::1", "fe80::1", "::1"};
  static const char *const pub[] = {"203.0.113.10", "172.32.0.1", "100.128.0.1",
                                    "2001:db8::1"};
  struct ea_addr a;
  unsigned i;

  (void)state;
  for (i = 0; i < ARRAY_SIZE(priv); i++) {
    addr_parse(&a, priv[i], strlen(priv[i]));
    assert_true(addr_is_private(&a));
  }
  for (i = 0; i < ARRAY_SIZE(pub); i++) {
    addr_parse(&a, pub[i], strlen(pub[i]));
    assert_false(addr_is_private(&a));
  }
  assert_non_null(rules_rdns_phrase("Client host rejected: cannot find your reverse hostname, [203.0.113.11]"));
  assert_non_null(rules_rdns_phrase("[203.0.113.12] The IP address sending this message does not have a PTR record setup"));
  assert_non_null(rules_rdns_phrase("inconsistent or no DNS PTR record for 2001:db8::1"));
  assert_non_null(rules_rdns_phrase("IP name lookup failed. No valid PTR record found"));
  assert_null(rules_rdns_phrase("Recipient address rejected: User unknown"));
  assert_null(rules_rdns_phrase("Greylisted, try again later"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_iprev_and_ptr_rules),
      cmocka_unit_test(test_multiple_ptr),
      cmocka_unit_test(test_generic_and_invalid),
      cmocka_unit_test(test_helo),
      cmocka_unit_test(test_nat_and_v6),
      cmocka_unit_test(test_small_predicates),
  };
  int rc;
  psl = psl_builtin();
  rc = cmocka_run_group_tests_name("rules", tests, NULL, NULL);
  return rc;
}
