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

#include "analyzer/checklist.h"
#include "analyzer/mailauth.h"
#include "analyzer/rules.h"
#include "common/limits.h"
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
  struct rules_cfg cfg = {psl, NULL, collect, g, NULL, 0};
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
      {"static-203-0-113-19.provider.example", "203.0.113.19", 1, 1},
      {"mail-203-0-113-19.provider.example", "203.0.113.19", 1, 1},
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
    char why[400];
    int generic = rules_generic(psl, v[i].name, &a, why, sizeof(why), &exempt);
    assert_int_equal(generic, v[i].generic);
    if (generic) assert_non_null(strstr(why, "the host part"));
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
  struct rules_cfg cfg = {NULL, &expect, collect, &g, NULL, 0};

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

/* --- rules across identities: tables of cases --------------------------- */

static void emit_with(struct got *g, void (*fn)(const struct rules_cfg *, void *),
                      void *arg) {
  struct rules_cfg cfg = {psl, NULL, collect, g, NULL, 0};
  memset(g, 0, sizeof(*g));
  fn(&cfg, arg);
}

struct rot_case {
  const char *name;
  struct { const char *ip, *helo; int iprev; int64_t sessions; } use[5];
  unsigned n_findings;          /* ip-rotation findings expected          */
  const char *subject;          /* of the first, or NULL                  */
  int sev;
  int64_t count;
  const char *detail_has;
};

struct rot_arg {
  struct rot_ident ids[5];
  struct rot_use uses[5];
  size_t n;
};

static void run_rotation(const struct rules_cfg *cfg, void *v) {
  struct rot_arg *a = v;
  rules_rotation(cfg, a->ids, a->uses, a->n);
}

static void test_rotation_table(void **state) {
  static const struct rot_case cases[] = {
      {"one address, one name: nothing", {{"192.0.2.1", "mx.example.com", IPREV_PASS, 3}}, 0, NULL, 0, 0, NULL},
      {"two names, two addresses: nothing",
       {{"192.0.2.1", "a.example.com", IPREV_PASS, 1}, {"192.0.2.2", "b.example.com", IPREV_FAIL, 1}},
       0, NULL, 0, 0, NULL},
      {"pool, all confirm: warn",
       {{"192.0.2.1", "mx.example.com", IPREV_PASS, 2}, {"192.0.2.2", "mx.example.com", IPREV_PASS, 5}},
       1, "mx.example.com", SEV_WARN, 7, "left from 2 public addresses: 192.0.2.1 (iprev pass) 192.0.2.2 (iprev pass)"},
      {"pool, one without PTR: crit",
       {{"192.0.2.1", "mx.example.com", IPREV_PASS, 2}, {"192.0.2.2", "mx.example.com", IPREV_NONE, 1},
        {"192.0.2.3", "mx.example.com", IPREV_PASS, 1}},
       1, "mx.example.com", SEV_CRIT, 4, "192.0.2.2 (iprev none)"},
      {"names differ only in case: one name",
       {{"192.0.2.1", "MX.Example.COM", IPREV_PASS, 1}, {"192.0.2.2", "mx.example.com", IPREV_FAIL, 1}},
       1, "mx.example.com", SEV_CRIT, 2, "iprev fail"},
      {"dual-stack, both confirm: one identity, no rotation",
       {{"192.0.2.1", "mx.example.com", IPREV_PASS, 2}, {"2001:db8::25", "mx.example.com", IPREV_PASS, 1}},
       0, NULL, 0, 0, NULL},
      {"dual-stack, the IPv6 one without PTR: crit",
       {{"192.0.2.1", "mx.example.com", IPREV_PASS, 2}, {"2001:db8::26", "mx.example.com", IPREV_PERMERROR, 1}},
       1, "mx.example.com", SEV_CRIT, 3, "2001:db8::26 (iprev permerror)"},
      {"two IPv6 addresses, both confirm: warn",
       {{"2001:db8::25", "mx.example.com", IPREV_PASS, 1}, {"2001:db8::27", "mx.example.com", IPREV_PASS, 1},
        {"192.0.2.1", "mx.example.com", IPREV_PASS, 1}},
       1, "mx.example.com", SEV_WARN, 3, "left from 3 public addresses"},
      {"pool, one lookup failed temporarily: unknown, not crit",
       {{"192.0.2.1", "mx.example.com", IPREV_PASS, 1}, {"192.0.2.2", "mx.example.com", IPREV_TEMPERROR, 1}},
       1, "mx.example.com", SEV_UNKNOWN, 2, "192.0.2.2 (iprev temperror)"},
      {"pool, one temporary and one without PTR: crit",
       {{"192.0.2.1", "mx.example.com", IPREV_TEMPERROR, 1}, {"192.0.2.2", "mx.example.com", IPREV_PERMERROR, 1}},
       1, "mx.example.com", SEV_CRIT, 2, "192.0.2.2 (iprev permerror)"},
      {"two pools, interleaved: two findings",
       {{"192.0.2.1", "a.example.com", IPREV_PASS, 1}, {"192.0.2.2", "b.example.com", IPREV_PASS, 1},
        {"192.0.2.3", "a.example.com", IPREV_PASS, 1}, {"192.0.2.4", "b.example.com", IPREV_FAIL, 1}},
       2, "a.example.com", SEV_WARN, 2, "192.0.2.1 (iprev pass) 192.0.2.3 (iprev pass)"},
  };
  size_t c, k;
  (void)state;

  for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    struct rot_arg a;
    struct got g;
    memset(&a, 0, sizeof(a));
    for (k = 0; k < 5 && cases[c].use[k].ip; k++) {
      a.ids[k] = (struct rot_ident){cases[c].use[k].ip,
                                    strchr(cases[c].use[k].ip, ':') ? 6 : 4,
                                    cases[c].use[k].iprev,
                                    cases[c].use[k].sessions, 100 + (int64_t)k,
                                    200 + (int64_t)k};
      a.uses[k] = (struct rot_use){cases[c].use[k].helo, k};
    }
    a.n = k;
    emit_with(&g, run_rotation, &a);
    if (g.n != cases[c].n_findings) fail_msg("%s: %u findings", cases[c].name, g.n);
    if (g.n == 0) continue;
    assert_string_equal(g.f[0].rule, "ip-rotation");
    if (strcmp(g.f[0].subject, cases[c].subject) != 0)
      fail_msg("%s: subject %s", cases[c].name, g.f[0].subject);
    if (g.f[0].severity != cases[c].sev) fail_msg("%s: severity %d", cases[c].name, g.f[0].severity);
    if (g.f[0].count != cases[c].count) fail_msg("%s: count %lld", cases[c].name, (long long)g.f[0].count);
    if (strstr(g.f[0].detail, cases[c].detail_has) == NULL)
      fail_msg("%s: detail %s", cases[c].name, g.f[0].detail);
    assert_int_equal(g.f[0].first_us, 100);
    assert_string_equal(g.f[0].ident, "");
  }
}

struct nat_arg {
  struct nat_use u[4];
  size_t n;
};

static void run_nat(const struct rules_cfg *cfg, void *v) {
  struct nat_arg *a = v;
  rules_nat_rotation(cfg, a->u, a->n);
}

static void test_nat_rotation_table(void **state) {
  static const struct {
    const char *name;
    struct nat_use u[4];
    unsigned n_findings;
    int sev;
    const char *detail_has;
  } cases[] = {
      {"one translation: nothing", {{"10.0.0.10", "203.0.113.10", IPREV_PASS, 4, 1, 2}}, 0, 0, NULL},
      {"two hosts, one address each: nothing",
       {{"10.0.0.10", "203.0.113.10", IPREV_PASS, 1, 1, 2}, {"10.0.0.11", "203.0.113.11", IPREV_FAIL, 1, 1, 2}},
       0, 0, NULL},
      {"one host, two coherent addresses: warn",
       {{"10.0.0.10", "203.0.113.10", IPREV_PASS, 1, 1, 2}, {"10.0.0.10", "203.0.113.13", IPREV_PASS, 2, 3, 4}},
       1, SEV_WARN, "inside host 10.0.0.10 left as: 203.0.113.10 (iprev pass) 203.0.113.13 (iprev pass)"},
      {"one host, one address fails: crit",
       {{"10.0.0.10", "203.0.113.10", IPREV_PASS, 1, 1, 2}, {"10.0.0.10", "203.0.113.15", IPREV_FAIL, 2, 3, 4},
        {"10.0.0.11", "203.0.113.10", IPREV_PASS, 1, 1, 2}},
       1, SEV_CRIT, "203.0.113.15 (iprev fail)"},
  };
  size_t c;
  (void)state;

  for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    struct nat_arg a;
    struct got g;
    memset(&a, 0, sizeof(a));
    for (a.n = 0; a.n < 4 && cases[c].u[a.n].in_text; a.n++) a.u[a.n] = cases[c].u[a.n];
    emit_with(&g, run_nat, &a);
    if (g.n != cases[c].n_findings) fail_msg("%s: %u findings", cases[c].name, g.n);
    if (g.n == 0) continue;
    assert_string_equal(g.f[0].subject, "10.0.0.10");
    if (g.f[0].severity != cases[c].sev) fail_msg("%s: severity %d", cases[c].name, g.f[0].severity);
    if (strstr(g.f[0].detail, cases[c].detail_has) == NULL)
      fail_msg("%s: detail %s", cases[c].name, g.f[0].detail);
    assert_int_equal(g.f[0].count, 3);
    assert_int_equal(g.f[0].first_us, 1);
    assert_int_equal(g.f[0].last_us, 4);
  }
}

static void run_port25(const struct rules_cfg *cfg, void *v) { rules_port25(cfg, v); }
static void run_drops(const struct rules_cfg *cfg, void *v) { rules_drops(cfg, v); }

static void test_port25_table(void **state) {
  static const struct {
    struct port25_row r;
    int want; /* -1: no finding, else the severity */
  } cases[] = {
      {{"192.0.2.1", 0, 0, 5, 1, 2, 0}, -1},              /* nothing blocked      */
      {{"192.0.2.1", 1, 3, 0, 1, 2, 0}, SEV_CRIT},        /* never answered       */
      {{"192.0.2.1", 2, 2, 9, 1, 2, 0}, -1},              /* 2 silent receivers   */
      {{"192.0.2.1", PORT25_BLOCKED_DSTS_MIN, 4, 9, 1, 2, 0}, SEV_WARN},
      {{NULL, 5, 5, 0, 1, 2, 0}, -1},                     /* no source            */
      {{"mail01", 1, 2, 0, 1, 2, 1}, SEV_CRIT},        /* the MTA's log alone  */
  };
  size_t c;
  (void)state;

  for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    struct got g;
    emit_with(&g, run_port25, (void *)&cases[c].r);
    if (cases[c].want < 0) {
      if (g.n != 0) fail_msg("case %zu: unexpected finding", c);
      continue;
    }
    assert_int_equal(g.n, 1);
    assert_string_equal(g.f[0].rule, "port25-blocked");
    assert_int_equal(g.f[0].severity, cases[c].want);
    assert_int_equal(g.f[0].count, cases[c].r.blocked);
    if (cases[c].r.from_log) { /* a host, not an address: no identity */
      assert_string_equal(g.f[0].subject, "mail01");
      assert_true(g.f[0].ident == NULL || g.f[0].ident[0] == '\0');
      assert_non_null(strstr(g.f[0].detail, "the MTA log of mail01: 2 connection attempts"));
      continue;
    }
    assert_string_equal(g.f[0].ident, "192.0.2.1");
  }
  {
    struct drops_row d = {"gw:eth0", 17, 5, 6};
    struct got g;
    emit_with(&g, run_drops, &d);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.f[0].rule, "capture-drops");
    assert_int_equal(g.f[0].count, 17);
    assert_non_null(strstr(g.f[0].detail, "gw:eth0 lost 17 packets"));
  }
}

struct zone_arg {
  struct zone_use u[4];
  size_t n;
};

static void run_zones(const struct rules_cfg *cfg, void *v) {
  struct zone_arg *a = v;
  rules_reverse_zones(cfg, a->u, a->n);
}

static void test_reverse_zones(void **state) {
  struct zone_arg a = {{{"113.0.203.in-addr.arpa", "ns1.example.com", "hostmaster.example.com", "203.0.113.11", 2, 5, 6},
                        {"8.b.d.0.1.0.0.2.ip6.arpa", "ns1.example.com", "hostmaster.example.com", "2001:db8::25", 1, 1, 2},
                        {"113.0.203.in-addr.arpa", "ns1.example.com", "hostmaster.example.com", "203.0.113.10", 3, 3, 9}},
                       3};
  struct got g;
  (void)state;

  emit_with(&g, run_zones, &a);
  assert_int_equal(g.n, 2); /* once per zone, not once per address */
  assert_string_equal(g.f[0].rule, "reverse-zone");
  assert_string_equal(g.f[0].subject, "113.0.203.in-addr.arpa");
  assert_string_equal(g.f[0].detail,
                      "the PTRs of 203.0.113.10, 203.0.113.11 are served by zone "
                      "113.0.203.in-addr.arpa (primary ns1.example.com, contact "
                      "hostmaster.example.com)");
  assert_int_equal(g.f[0].count, 5);
  assert_int_equal(g.f[0].first_us, 3);
  assert_int_equal(g.f[0].last_us, 9);
  assert_string_equal(g.f[0].ident, "");
  assert_non_null(strstr(g.f[1].detail, "the PTR of 2001:db8::25 is served"));
}

/* One problem, one finding; literals, private-only names, temporary
 * failures of HELO lookups and static generic names are said. */
static void test_said_once_and_blind_spots(void **state) {
  struct rules_cfg cfg;
  struct ident id;
  struct got g;
  (void)state;

  /* IPv6 without PTR: ipv6-no-ptr alone (it was no-ptr as well). */
  ident(&id, "2001:db8:10::26");
  id.ptr = res(DNS_T_PTR, DNS_NXDOMAIN, NULL, NULL);
  judge(&id, &g);
  assert_non_null(find(&g, "ipv6-no-ptr"));
  assert_null(find(&g, "no-ptr"));
  assert_non_null(strstr(find(&g, "ipv6-no-ptr")->fix, "smtp_address_preference"));
  /* IPv6 whose PTR name does not confirm: ipv6-no-ptr, not fcrdns-fail. */
  ident(&id, "2001:db8:10::27");
  set_ptr(&id, "mail27.example.com", NULL);
  id.fwd[0].a = res(DNS_T_A, DNS_NODATA, NULL, NULL);
  id.fwd[0].aaaa = res(DNS_T_AAAA, DNS_OK, "2001:db8:10::99", NULL);
  judge(&id, &g);
  assert_non_null(find(&g, "ipv6-no-ptr"));
  assert_null(find(&g, "fcrdns-fail"));
  /* A PTR name that resolves only to private addresses: says so. */
  ident(&id, "203.0.113.30");
  set_ptr(&id, "mail30.example.com", NULL);
  id.fwd[0].a = res(DNS_T_A, DNS_OK, "10.1.2.3", "127.0.0.1");
  id.fwd[0].aaaa = res(DNS_T_AAAA, DNS_NODATA, NULL, NULL);
  judge(&id, &g);
  assert_non_null(find(&g, "fcrdns-fail"));
  assert_non_null(strstr(find(&g, "fcrdns-fail")->detail, "only to private"));
  /* The right literal is still a literal. */
  ident(&id, "203.0.113.10");
  set_ptr(&id, "mail01.example.com", NULL);
  id.fwd[0].a = res(DNS_T_A, DNS_OK, "203.0.113.10", NULL);
  id.n_helo = 1;
  snprintf(id.helo[0].name, sizeof(id.helo[0].name), "[203.0.113.10]");
  judge(&id, &g);
  assert_non_null(find(&g, "helo-literal"));
  assert_int_equal(find(&g, "helo-literal")->severity, SEV_WARN);
  assert_null(find(&g, "helo-literal-mismatch"));
  /* A HELO lookup that failed temporarily is an unknown, naming it. */
  ident(&id, "203.0.113.10");
  set_ptr(&id, "mail01.example.com", NULL);
  id.fwd[0].a = res(DNS_T_A, DNS_OK, "203.0.113.10", NULL);
  id.n_helo = 1;
  snprintf(id.helo[0].name, sizeof(id.helo[0].name), "mail01.example.com");
  id.helo[0].a = res(DNS_T_A, DNS_SERVFAIL, NULL, NULL);
  id.helo[0].aaaa = res(DNS_T_AAAA, DNS_NODATA, NULL, NULL);
  memset(&g, 0, sizeof(g));
  memset(&cfg, 0, sizeof(cfg));
  cfg.psl = psl;
  cfg.emit = collect;
  cfg.ctx = &g;
  cfg.resolver = "127.0.0.1:5300";
  rules_ident(&cfg, &id);
  assert_non_null(find(&g, "helo-temperror"));
  assert_int_equal(find(&g, "helo-temperror")->severity, SEV_UNKNOWN);
  assert_non_null(strstr(find(&g, "helo-temperror")->detail, "SERVFAIL, resolver 127.0.0.1:5300"));
  assert_null(find(&g, "helo-unresolvable"));
  /* Generic but static: a warning that says so (it passed). */
  ident(&id, "203.0.113.19");
  set_ptr(&id, "static-203-0-113-19.provider.example", NULL);
  id.fwd[0].a = res(DNS_T_A, DNS_OK, "203.0.113.19", NULL);
  judge(&id, &g);
  assert_non_null(find(&g, "generic-ptr"));
  assert_non_null(strstr(find(&g, "generic-ptr")->detail, "static or mail word"));
  /* With zones judged apart, no per-identity reverse-zone. */
  ident(&id, "203.0.113.10");
  set_ptr(&id, "mail01.example.com", NULL);
  id.fwd[0].a = res(DNS_T_A, DNS_OK, "203.0.113.10", NULL);
  id.soa = res(DNS_T_SOA, DNS_OK, NULL, NULL);
  snprintf(((struct dns_result *)id.soa)->soa_zone, DNS_NAME_MAX, "113.0.203.in-addr.arpa");
  judge(&id, &g);
  assert_non_null(find(&g, "reverse-zone"));
  memset(&g, 0, sizeof(g));
  cfg.zones_apart = 1;
  rules_ident(&cfg, &id);
  assert_null(find(&g, "reverse-zone"));
}

/* address-no-ptr: the other addresses of a name of ours. */
static void test_other_addresses(void **state) {
  static const struct {
    int ptr_status;
    const char *ptr_name, *aaaa;
    int want;
  } v[] = {
      {DNS_NXDOMAIN, NULL, NULL, 1},                                 /* no PTR */
      {DNS_OK, "mail25.example.com", "2001:db8:10::99", 0},          /* confirms */
      {DNS_OK, "mail25.example.com", "2001:db8:10::98", 1},          /* elsewhere */
      {DNS_SERVFAIL, NULL, NULL, 0},                                 /* unknown */
  };
  struct ident id;
  struct got g;
  unsigned i;
  (void)state;

  for (i = 0; i < ARRAY_SIZE(v); i++) {
    ident(&id, "203.0.113.25");
    set_ptr(&id, "mail25.example.com", NULL);
    id.fwd[0].a = res(DNS_T_A, DNS_OK, "203.0.113.25", NULL);
    id.n_other = 1;
    snprintf(id.other[0].addr, sizeof(id.other[0].addr), "2001:db8:10::99");
    snprintf(id.other[0].of, sizeof(id.other[0].of), "mail25.example.com");
    id.other[0].from_helo = 1;
    id.other[0].ptr = res(DNS_T_PTR, v[i].ptr_status, v[i].ptr_name, NULL);
    if (v[i].aaaa) id.other[0].aaaa[0] = res(DNS_T_AAAA, DNS_OK, v[i].aaaa, NULL);
    judge(&id, &g);
    if (!v[i].want) {
      assert_null(find(&g, "address-no-ptr"));
      continue;
    }
    assert_non_null(find(&g, "address-no-ptr"));
    assert_int_equal(find(&g, "address-no-ptr")->severity, SEV_WARN);
    assert_string_equal(find(&g, "address-no-ptr")->subject, "2001:db8:10::99");
    assert_non_null(strstr(find(&g, "address-no-ptr")->detail,
                           "EHLO name mail25.example.com also has AAAA 2001:db8:10::99"));
    assert_non_null(strstr(find(&g, "address-no-ptr")->detail,
                           v[i].ptr_status == DNS_OK ? "do not resolve back" : "has no PTR"));
  }
}

static void run_echo(const struct rules_cfg *cfg, void *v) {
  rules_echo_unconfirmed(cfg, v);
}

static void test_echo_unconfirmed(void **state) {
  struct echo_use e = {"203.0.113.12", "203.0.113.77", "198.51.100.27",
                       "mx-exim.example.net", 3, 10, 20};
  struct got g;
  (void)state;

  emit_with(&g, run_echo, &e);
  assert_int_equal(g.n, 1);
  assert_string_equal(g.f[0].rule, "echo-unconfirmed");
  assert_int_equal(g.f[0].severity, SEV_WARN);
  assert_string_equal(g.f[0].subject, "203.0.113.77");
  assert_string_equal(g.f[0].ident, "203.0.113.12");
  assert_int_equal(g.f[0].count, 3);
  assert_string_equal(g.f[0].detail,
                      "mx-exim.example.net (198.51.100.27) said it saw 203.0.113.77 for "
                      "mail that left from 203.0.113.12; no other receiver confirms "
                      "it, so those sessions were judged as 203.0.113.12's");
}

static void run_views(const struct rules_cfg *cfg, void *v) {
  rules_split_view(cfg, v);
}

/* dns-split-view: a table of what two or three resolvers said. */
static void test_split_view(void **state) {
  static const struct {
    const char *name;
    int type;
    struct { int status; const char *a0, *a1; } v[3];
    unsigned n;
    int finding;
    const char *subject, *detail_has;
  } c[] = {
      {"10.113.0.203.in-addr.arpa", DNS_T_PTR,
       {{DNS_OK, "mail01.example.com", NULL}, {DNS_OK, "mail-internal.example.com", NULL}},
       2, 1, "203.0.113.10 PTR",
       "127.0.0.1:53 says mail01.example.com; 127.0.0.1:5353 says mail-internal.example.com"},
      /* the same set in another order is the same */
      {"mail.example.com", DNS_T_A,
       {{DNS_OK, "192.0.2.1", "192.0.2.2"}, {DNS_OK, "192.0.2.2", "192.0.2.1"}},
       2, 0, NULL, NULL},
      /* NXDOMAIN against an answer */
      {"5.2.0.192.in-addr.arpa", DNS_T_PTR,
       {{DNS_NXDOMAIN, NULL, NULL}, {DNS_OK, "mx.example.com", NULL}},
       2, 1, "192.0.2.5 PTR", "127.0.0.1:53 says NXDOMAIN"},
      /* NODATA is not NXDOMAIN */
      {"mail.example.com", DNS_T_AAAA,
       {{DNS_NODATA, NULL, NULL}, {DNS_NXDOMAIN, NULL, NULL}},
       2, 1, "mail.example.com AAAA", "says NODATA"},
      /* a timeout is no disagreement, on either side */
      {"mail.example.com", DNS_T_A,
       {{DNS_OK, "192.0.2.1", NULL}, {DNS_TIMEOUT, NULL, NULL}},
       2, 0, NULL, NULL},
      {"mail.example.com", DNS_T_A,
       {{DNS_SERVFAIL, NULL, NULL}, {DNS_OK, "192.0.2.9", NULL}},
       2, 0, NULL, NULL},
      /* a third resolver that alone differs */
      {"mail.example.com", DNS_T_A,
       {{DNS_OK, "192.0.2.1", NULL}, {DNS_OK, "192.0.2.1", NULL}, {DNS_OK, "10.1.1.1", NULL}},
       3, 1, "mail.example.com A", "10.0.0.9:53 says 10.1.1.1"},
      /* one answer more */
      {"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
       DNS_T_PTR, {{DNS_OK, "a.example.com", NULL}, {DNS_OK, "a.example.com", "b.example.com"}},
       2, 1, "2001:db8::1 PTR", "says a.example.com, b.example.com"},
      /* only PTR, A and AAAA are compared */
      {"example.com", DNS_T_MX,
       {{DNS_OK, "mx1.example.com", NULL}, {DNS_OK, "mx2.example.com", NULL}},
       2, 0, NULL, NULL},
  };
  static const char *const servers[3] = {"127.0.0.1:53", "127.0.0.1:5353", "10.0.0.9:53"};
  struct dns_result v[3];
  unsigned i, k;
  struct got g;
  (void)state;

  for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
    struct dns_views dv = {v, servers, c[i].n, 1000};
    for (k = 0; k < c[i].n; k++) {
      npool = 0;
      v[k] = *res(c[i].type, c[i].v[k].status, c[i].v[k].a0, c[i].v[k].a1);
      snprintf(v[k].name, sizeof(v[k].name), "%s", c[i].name);
    }
    emit_with(&g, run_views, &dv);
    assert_int_equal(g.n, c[i].finding);
    if (!c[i].finding) continue;
    assert_string_equal(g.f[0].rule, "dns-split-view");
    assert_int_equal(g.f[0].severity, SEV_WARN);
    assert_string_equal(g.f[0].subject, c[i].subject);
    assert_int_equal(g.f[0].first_us, 1000);
    if (strstr(g.f[0].detail, c[i].detail_has) == NULL) fail_msg("%s: %s", c[i].name, g.f[0].detail);
    assert_non_null(strstr(g.f[0].detail, "(the verdicts here use 127.0.0.1:53's)"));
  }
}

static void run_server(const struct rules_cfg *cfg, void *v) {
  rules_server(cfg, v);
}

/* Our servers' findings say so themselves (scope), whatever their name:
 * the report files them by it. */
static void test_server_scope(void **state) {
  struct server_ident sv;
  struct got g;
  (void)state;

  memset(&sv, 0, sizeof(sv));
  addr_parse(&sv.ip, "198.51.100.25", 13);
  snprintf(sv.ip_text, sizeof(sv.ip_text), "198.51.100.25");
  sv.banner_host = "localhost";
  sv.sessions = 2;
  emit_with(&g, run_server, &sv);
  assert_int_equal(g.n, 1);
  assert_string_equal(g.f[0].rule, "banner-invalid");
  assert_int_equal(g.f[0].scope, SCOPE_SERVER);
  assert_string_equal(g.f[0].subject, "198.51.100.25");
  assert_string_equal(g.f[0].ident, "");
  /* an egress rule is not */
  {
    struct echo_use e = {"203.0.113.12", "203.0.113.77", "198.51.100.27", "", 1, 1, 2};
    emit_with(&g, run_echo, &e);
    assert_int_equal(g.f[0].scope, SCOPE_EGRESS);
  }
}

static void run_rejects(const struct rules_cfg *cfg, void *v) {
  rules_rejects_emit(cfg, v);
}

static void test_rejects_table(void **state) {
  static const struct reject_row rows[] = {
      /* src, echoed, dst, banner, enhanced, text, first, code, from_log */
      {"192.0.2.11", NULL, "198.51.100.25", "mx.example.net", "5.7.1",
       "Client host rejected: cannot find your reverse hostname, [192.0.2.11]", 10, 550, 0},
      {"10.0.0.10", "192.0.2.11", "198.51.100.26", NULL, "4.7.1",
       "Client host rejected: cannot find your hostname", 20, 450, 0},
      {"192.0.2.12", NULL, "198.51.100.25", NULL, "5.1.1", "User unknown", 30, 550, 0},
      {"192.0.2.12", NULL, "198.51.100.25", NULL, NULL,
       "rejected: PTR record of [203.0.113.7] does not match", 40, 554, 0},
      {"192.0.2.13", NULL, "198.51.100.25", NULL, NULL, NULL, 50, 421, 0},
      /* only the MTA's log saw it, no capture: the quoted address */
      {NULL, NULL, "198.51.100.25", "mx.example.net", "5.7.1",
       "Client host rejected: cannot find your reverse hostname, [192.0.2.40]", 60, 550, 1},
      /* from the log, nothing quoted, no session: nothing to blame */
      {NULL, NULL, "198.51.100.25", NULL, "5.7.1",
       "Client host rejected: cannot find your reverse hostname", 70, 550, 1},
  };
  int ci = -1;
  struct rejects rj;
  struct got g;
  const struct finding *a = NULL, *b = NULL;
  unsigned i;
  (void)state;

  memset(&rj, 0, sizeof(rj));
  for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) rules_reject_add(&rj, &rows[i]);
  emit_with(&g, run_rejects, &rj);
  rules_rejects_free(&rj);
  /* 192.0.2.11 (quoted once, echoed once), 203.0.113.7 (quoted) and
   * 192.0.2.40 (quoted in a reject only the log saw); the user-unknown
   * reject, the empty text and the log reject quoting nothing blame
   * nothing. */
  assert_int_equal(g.n, 3);
  for (i = 0; i < g.n; i++) {
    assert_string_equal(g.f[i].rule, "rdns-reject");
    assert_int_equal(g.f[i].severity, SEV_CRIT);
    if (strcmp(g.f[i].subject, "192.0.2.11") == 0) a = &g.f[i];
    if (strcmp(g.f[i].subject, "203.0.113.7") == 0) b = &g.f[i];
    if (strcmp(g.f[i].subject, "192.0.2.40") == 0) ci = (int)i;
  }
  assert_non_null(a);
  assert_non_null(b);
  assert_true(ci >= 0);
  assert_non_null(strstr(g.f[ci].detail, "(from the MTA log: not visible on the wire)"));
  assert_null(strstr(a->detail, "MTA log"));
  assert_int_equal(a->count, 2);
  assert_int_equal(a->first_us, 10);
  assert_int_equal(a->last_us, 20);
  assert_non_null(strstr(a->detail, "mx.example.net (198.51.100.25) answered 550 5.7.1"));
  assert_non_null(strstr(a->detail, "2 such rejects in all"));
  assert_string_equal(a->ident, "192.0.2.11");
  assert_int_equal(b->count, 1);
  assert_null(strstr(b->detail, "such rejects"));
}

/* report --max-stale: a silent host of a fleet first, then the capture
 * heartbeat, the analysis, the sessions; 0 means not asked. */
static void test_stale(void **state) {
  const char *host[3] = {"gw1", "mail01", "mail02"};
  int64_t last[3] = {990, 1000, 400};
  int silent[3] = {0, 0, 0};
  struct stale_facts f = {1000, 100, 1000, 1000, 5, 3, host, last};
  char why[256];
  (void)state;

  assert_int_equal(rules_stale(&f, silent, why, sizeof(why)), 1);
  assert_int_equal(silent[0] + silent[1] * 2 + silent[2] * 4, 4);
  assert_non_null(strstr(why, "from host mail02: is its watch running"));
  last[0] = 0;
  assert_int_equal(rules_stale(&f, silent, why, sizeof(why)), 1);
  assert_non_null(strstr(why, "host gw1, mail02:"));
  f.nhosts = 0;
  f.last_heartbeat = 0;
  assert_int_equal(rules_stale(&f, silent, why, sizeof(why)), 1);
  assert_non_null(strstr(why, "no capture has recorded"));
  f.last_heartbeat = 950;
  f.last_analysis = 0;
  assert_int_equal(rules_stale(&f, silent, why, sizeof(why)), 1);
  assert_string_equal(why, "never analysed");
  f.last_analysis = 999;
  f.sessions = 0;
  assert_int_equal(rules_stale(&f, silent, why, sizeof(why)), 1);
  assert_non_null(strstr(why, "no session in the window"));
  f.sessions = 1;
  assert_int_equal(rules_stale(&f, silent, why, sizeof(why)), 0);
  assert_string_equal(why, "");
  f.max_stale = 0;
  f.sessions = 0;
  assert_int_equal(rules_stale(&f, silent, why, sizeof(why)), 0);
}

/* preflight's checklist: a line fails on its rules' findings, is unknown
 * on a temporary failure, skips what does not apply; a DNSBL's answers. */
static void test_checklist(void **state) {
  const struct checklist_line *l;
  const struct finding *why;
  struct finding f[2];
  struct dns_result a;
  char m[300];
  size_t n, k, exists = 0, fcrdns = 0;
  (void)state;

  l = checklist_lines(&n);
  for (k = 0; k < n; k++) {
    if (strcmp(l[k].id, "ptr-exists") == 0) exists = k;
    if (strcmp(l[k].id, "fcrdns") == 0) fcrdns = k;
  }
  memset(f, 0, sizeof(f));
  f[0].rule = "ptr-temperror";
  f[0].severity = SEV_UNKNOWN;
  f[1].rule = "no-ptr";
  f[1].severity = SEV_CRIT;
  assert_int_equal(checklist_status(&l[exists], f, 1, 0, 0, 0, &why), CK_UNKNOWN);
  assert_ptr_equal(why, &f[0]);
  assert_int_equal(checklist_status(&l[exists], f, 2, 0, 0, 0, &why), CK_FAIL);
  assert_ptr_equal(why, &f[1]);
  assert_int_equal(checklist_status(&l[exists], f, 0, 1, 0, 0, &why), CK_PASS);
  assert_null(why);
  assert_int_equal(checklist_status(&l[fcrdns], f, 2, 0, 0, 0, &why), CK_SKIP);

  memset(&a, 0, sizeof(a));
  a.status = DNS_NXDOMAIN;
  assert_int_equal(checklist_dnsbl(&a, m, sizeof(m)), CK_PASS);
  a.status = DNS_OK;
  a.n = 2;
  snprintf(a.answer[0], sizeof(a.answer[0]), "127.0.0.2");
  snprintf(a.answer[1], sizeof(a.answer[1]), "127.0.0.10");
  assert_int_equal(checklist_dnsbl(&a, m, sizeof(m)), CK_FAIL);
  assert_string_equal(m, "listed: 127.0.0.2, 127.0.0.10");
  snprintf(a.answer[1], sizeof(a.answer[1]), "127.255.255.254");
  assert_int_equal(checklist_dnsbl(&a, m, sizeof(m)), CK_UNKNOWN);
  snprintf(a.answer[1], sizeof(a.answer[1]), "10.0.0.1");
  assert_int_equal(checklist_dnsbl(&a, m, sizeof(m)), CK_UNKNOWN);
  a.status = DNS_SERVFAIL;
  assert_int_equal(checklist_dnsbl(&a, m, sizeof(m)), CK_UNKNOWN);
  {
    int sev;
    assert_int_equal(checklist_spf(SPF_R_PASS, &sev), CK_PASS);
    assert_int_equal(checklist_spf(SPF_R_SOFTFAIL, &sev), CK_FAIL);
    assert_int_equal(sev, SEV_WARN);
    assert_int_equal(checklist_spf(SPF_R_NONE, &sev), CK_FAIL);
    assert_int_equal(sev, SEV_CRIT);
    assert_int_equal(checklist_spf(SPF_R_PERMERROR, &sev), CK_FAIL);
    assert_int_equal(checklist_spf(SPF_R_TEMPERROR, &sev), CK_UNKNOWN);
    assert_int_equal(sev, SEV_UNKNOWN);
  }
}

#define K2048 "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEApHrM/hL722TfvqJE+IxspQ9IJqmubwoqNvJWbL+lz7WXj4yvWgkVWuOWxDQ+yQyM/UlO04E+ZHpiPayLmUQJJnt1OEb2wJKH7N0NOZjg2O632rZUEvDZ/fDLWsds701jCfniziTSdwTW1L3DT89TdqsYB4h1Dja3eBwaY9gsP8Pypi3P1WJRrZtmjkf723sX5s7JP2LgYTOzTnYJlJBNOVtwKOSJC6vdixKnogFje2IdUuCLmxpn2rzd/RmIYQ8fLmWeTVKV4i24UOMw2HIl1mXcqT5xdhR+fGnCzedb418wg83hEs36JNDzBlgQFPVVyVfi0IDbHrChSLBCj8r3gwIDAQAB"

/* DKIM key records: the tag list read as RFC 6376 3.2 says (folding
 * whitespace inside p=, v= first or absent), the key by OpenSSL. */
static void test_dkim_record(void **state) {
  char rec[2048], detail[600];
  const char *t[1] = {rec};
  int sev;
  (void)state;

  snprintf(rec, sizeof(rec), "v=DKIM1 ;  k = rsa ; p= %.100s %s", K2048, &K2048[100]);
  assert_int_equal(mailauth_dkim(DNS_OK, t, 1, detail, sizeof(detail), &sev), CK_PASS);
  assert_string_equal(detail, "RSA 2048 key");
  snprintf(rec, sizeof(rec), "k=rsa; v=DKIM1; p=%s", K2048);
  assert_int_equal(mailauth_dkim(DNS_OK, t, 1, detail, sizeof(detail), &sev), CK_FAIL);
  snprintf(rec, sizeof(rec), "k=rsa; p=%s", K2048);
  assert_int_equal(mailauth_dkim(DNS_OK, t, 1, detail, sizeof(detail), &sev), CK_PASS);
  snprintf(rec, sizeof(rec), "v=DKIM1; k=dsa; p=%s", K2048);
  assert_int_equal(mailauth_dkim(DNS_OK, t, 1, detail, sizeof(detail), &sev), CK_FAIL);
  assert_non_null(strstr(detail, "k=dsa"));
  assert_int_equal(mailauth_dkim(DNS_SERVFAIL, t, 0, detail, sizeof(detail), &sev), CK_UNKNOWN);
  assert_int_equal(sev, SEV_UNKNOWN);
}

/* preflight --postconf: Postfix's HELO and bind address against what
 * the sessions sent. */
static void test_mta_config(void **state) {
  const struct seen helo[2] = {{"mail01.example.com", 5}, {"MAIL01.example.com", 1}};
  const struct seen src[3] = {{"203.0.113.10", 5}, {"2001:db8::25", 2}, {"203.0.113.11", 1}};
  char d[600];
  (void)state;

  assert_int_equal(checklist_mta_helo("mail01.example.com", helo, 2, d, sizeof(d)), CK_PASS);
  assert_int_equal(checklist_mta_helo("other.example.com", helo, 2, d, sizeof(d)), CK_FAIL);
  assert_non_null(strstr(d, "mail01.example.com (5)"));
  assert_int_equal(checklist_mta_helo("x", helo, 0, d, sizeof(d)), CK_SKIP);
  assert_int_equal(checklist_mta_bind("", "", src, 3, d, sizeof(d)), CK_PASS);
  assert_int_equal(checklist_mta_bind("203.0.113.10", "", src, 2, d, sizeof(d)), CK_PASS);
  assert_int_equal(checklist_mta_bind("203.0.113.10", "", src, 3, d, sizeof(d)), CK_FAIL);
  assert_non_null(strstr(d, "203.0.113.11 (1)"));
  assert_null(strstr(d, "2001:db8::25"));
  assert_int_equal(checklist_mta_bind("203.0.113.10", "2001:db8::26", src, 2, d, sizeof(d)), CK_FAIL);
  assert_non_null(strstr(d, "2001:db8::25 (2)"));
}

/* probe --starttls: certificate names against a host name. */
static void test_cert_covers(void **state) {
  (void)state;
  assert_true(checklist_cert_covers("mx.example.net", "", "MX.example.net"));
  assert_true(checklist_cert_covers("x", "a.example smtp.example.net", "smtp.example.net."));
  assert_false(checklist_cert_covers("mx.example.net", "other.example.net", "mx.example.net"));
  assert_true(checklist_cert_covers(NULL, "*.example.net", "mx.example.net"));
  assert_false(checklist_cert_covers(NULL, "*.example.net", "a.mx.example.net"));
  assert_false(checklist_cert_covers(NULL, "*.example.net", "example.net"));
  assert_false(checklist_cert_covers("mx.example.net", NULL, ""));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_iprev_and_ptr_rules),
      cmocka_unit_test(test_multiple_ptr),
      cmocka_unit_test(test_generic_and_invalid),
      cmocka_unit_test(test_helo),
      cmocka_unit_test(test_nat_and_v6),
      cmocka_unit_test(test_small_predicates),
      cmocka_unit_test(test_rotation_table),
      cmocka_unit_test(test_nat_rotation_table),
      cmocka_unit_test(test_port25_table),
      cmocka_unit_test(test_rejects_table),
      cmocka_unit_test(test_reverse_zones),
      cmocka_unit_test(test_said_once_and_blind_spots),
      cmocka_unit_test(test_other_addresses),
      cmocka_unit_test(test_echo_unconfirmed),
      cmocka_unit_test(test_split_view),
      cmocka_unit_test(test_server_scope),
      cmocka_unit_test(test_stale),
      cmocka_unit_test(test_checklist),
      cmocka_unit_test(test_dkim_record),
      cmocka_unit_test(test_mta_config),
      cmocka_unit_test(test_cert_covers),
  };
  int rc;
  psl = psl_builtin();
  rc = cmocka_run_group_tests_name("rules", tests, NULL, NULL);
  return rc;
}
