/* egressaudit - analyzer/resolver.c: c-ares 1.18 driven by libuv.
 * Wiring as nodejs/node src/cares_wrap.cc does it: sock_state_cb opens and
 * closes a uv_poll per socket; a repeating timer calls ares_process_fd with
 * no socket so that c-ares runs its timeouts (ares_timeout() is linear in
 * the pending queries in 1.18, so we do not re-arm from it).
 * SPDX-License-Identifier: MIT
 */
#define _DEFAULT_SOURCE
#include "analyzer/resolver.h"

#include <ares.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if ARES_VERSION < 0x011200
#error "c-ares 1.18 or newer is needed"
#endif

#define TICK_MS 200
#define SOCKS_MAX 64

struct rsock {
  uv_poll_t poll;        /* first: the handle's memory is the struct's  */
  struct resolver *r;
  ares_socket_t fd;
  int used;
};

struct resolver {
  uv_loop_t *loop;
  ares_channel ch;
  uv_timer_t tick;
  struct rsock socks[SOCKS_MAX];
  unsigned n_socks, pending, open_handles;
  int closing;
  char servers[512];
  struct dns_result res; /* the answer being handed on: callbacks do not
                            nest (a callback never asks again itself) */
};

struct rquery {
  struct resolver *r;
  resolver_cb cb;
  void *ctx;
  uint16_t type;
  char name[DNS_NAME_MAX];
};

static void maybe_free(struct resolver *r) {
  if (r->closing && r->open_handles == 0) free(r);
}

static void on_handle_closed(uv_handle_t *h) {
  struct resolver *r = h->data;
  if (h != (uv_handle_t *)&r->tick) ((struct rsock *)h)->used = 0;
  r->open_handles--;
  maybe_free(r);
}

static void on_sock_io(uv_poll_t *p, int status, int events) {
  struct rsock *s = (struct rsock *)p;
  ares_socket_t rfd = ARES_SOCKET_BAD, wfd = ARES_SOCKET_BAD;

  if (status < 0) {
    rfd = wfd = s->fd; /* let c-ares find the error itself */
  } else {
    if (events & UV_READABLE) rfd = s->fd;
    if (events & UV_WRITABLE) wfd = s->fd;
  }
  ares_process_fd(s->r->ch, rfd, wfd);
}

static void on_tick(uv_timer_t *t) {
  struct resolver *r = t->data;
  ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
}

static struct rsock *sock_find(struct resolver *r, ares_socket_t fd) {
  unsigned i;
  for (i = 0; i < SOCKS_MAX; i++)
    if (r->socks[i].used == 2 && r->socks[i].fd == fd) return &r->socks[i];
  return NULL;
}

static void on_sock_state(void *data, ares_socket_t fd, int rd, int wr) {
  struct resolver *r = data;
  struct rsock *s = sock_find(r, fd);
  unsigned i;

  if (rd || wr) {
    if (s == NULL) {
      for (i = 0; i < SOCKS_MAX && r->socks[i].used; i++)
        ;
      if (i == SOCKS_MAX) return; /* unwatched: its queries time out */
      s = &r->socks[i];
      if (uv_poll_init_socket(r->loop, &s->poll, fd) < 0) return;
      s->poll.data = r;
      s->r = r;
      s->fd = fd;
      s->used = 2;
      r->n_socks++;
      r->open_handles++;
    }
    uv_poll_start(&s->poll, (rd ? UV_READABLE : 0) | (wr ? UV_WRITABLE : 0),
                  on_sock_io);
  } else if (s != NULL) {
    /* c-ares closes fd after this returns; stop watching it now and free
     * the handle in its close callback (libuv docs/src/poll.rst). */
    uv_poll_stop(&s->poll);
    s->used = 1;
    r->n_socks--;
    uv_close((uv_handle_t *)&s->poll, on_handle_closed);
  }
}

/* "ADDR", "ADDR:PORT", "[V6]:PORT", "V6" -> c-ares csv item. */
static int server_item(const char *in, char *out, size_t cap) {
  char host[64];
  unsigned char buf[16];
  const char *colon = strrchr(in, ':'), *port = NULL;
  size_t hl;

  if (in[0] == '[') {
    const char *rb = strchr(in, ']');
    if (rb == NULL) return -1;
    hl = (size_t)(rb - in - 1);
    if (rb[1] == ':') port = rb + 2;
    else if (rb[1] != '\0') return -1;
    in++;
  } else if (colon != NULL && strchr(in, ':') == colon) {
    hl = (size_t)(colon - in); /* one colon: IPv4 with a port */
    port = colon + 1;
  } else {
    hl = strlen(in);
  }
  if (hl == 0 || hl >= sizeof(host)) return -1;
  memcpy(host, in, hl);
  host[hl] = '\0';
  if (port != NULL) {
    char *end;
    long p = strtol(port, &end, 10);
    if (*end != '\0' || p < 1 || p > 65535) return -1;
  }
  if (inet_pton(AF_INET, host, buf) == 1)
    return snprintf(out, cap, "%s%s%s", host, port ? ":" : "", port ? port : "") <
                   (int)cap ? 0 : -1;
  if (inet_pton(AF_INET6, host, buf) == 1)
    return snprintf(out, cap, "[%s]:%s", host, port ? port : "53") < (int)cap
               ? 0
               : -1;
  return -1;
}

int resolver_check_server(const char *server, char *err, size_t errlen) {
  char item[96];

  if (server_item(server, item, sizeof(item)) == 0) return 0;
  snprintf(err, errlen, "--resolver '%s' is not ADDR, ADDR:PORT or [IPV6]:PORT",
           server);
  return -EINVAL;
}

int resolver_new(struct resolver **out, uv_loop_t *loop,
                 const struct resolver_cfg *cfg, char *err, size_t errlen) {
  static int lib_ready;
  struct resolver *r;
  struct ares_options o;
  char csv[512], item[96];
  size_t n = 0;
  unsigned i;
  int rc;

  *out = NULL;
  if (!lib_ready) {
    if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS) {
      snprintf(err, errlen, "c-ares: library init failed");
      return -ENOMEM;
    }
    lib_ready = 1;
  }
  csv[0] = '\0';
  for (i = 0; i < cfg->n_servers; i++) {
    if ((rc = resolver_check_server(cfg->servers[i], err, errlen)) < 0)
      return rc;
    server_item(cfg->servers[i], item, sizeof(item));
    n += (size_t)snprintf(csv + n, sizeof(csv) - n, "%s%s", n ? "," : "", item);
    if (n >= sizeof(csv)) {
      snprintf(err, errlen, "too many --resolver addresses");
      return -EINVAL;
    }
  }
  r = calloc(1, sizeof(*r));
  if (r == NULL) return -ENOMEM;
  r->loop = loop;
  memset(&o, 0, sizeof(o));
  /* NOCHECKRESP: c-ares 1.18 would turn SERVFAIL and REFUSED into a bare
   * ECONNREFUSED after trying the next server; we need the rcode itself
   * (a SERVFAIL is a temperror, never a missing record). */
  o.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | ARES_FLAG_EDNS |
            ARES_FLAG_NOCHECKRESP;
  o.timeout = cfg->timeout_ms > 0 ? cfg->timeout_ms : 2000;
  o.tries = cfg->tries > 0 ? cfg->tries : 2;
  o.lookups = (char *)"b"; /* DNS only, never /etc/hosts */
  o.ednspsz = 1232;        /* DNS flag day 2020 */
  o.sock_state_cb = on_sock_state;
  o.sock_state_cb_data = r;
  rc = ares_init_options(&r->ch, &o,
                         ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
                             ARES_OPT_LOOKUPS | ARES_OPT_SOCK_STATE_CB |
                             ARES_OPT_EDNSPSZ);
  if (rc != ARES_SUCCESS) {
    snprintf(err, errlen, "c-ares: %s", ares_strerror(rc));
    free(r);
    return -EIO;
  }
  if (cfg->n_servers > 0) {
    rc = ares_set_servers_ports_csv(r->ch, csv);
    if (rc != ARES_SUCCESS) {
      snprintf(err, errlen, "--resolver: %s", ares_strerror(rc));
      ares_destroy(r->ch);
      free(r);
      return -EINVAL;
    }
    snprintf(r->servers, sizeof(r->servers), "%s", csv);
  } else {
    struct ares_addr_port_node *list = NULL, *x;
    char a[INET6_ADDRSTRLEN];
    n = 0;
    if (ares_get_servers_ports(r->ch, &list) == ARES_SUCCESS)
      for (x = list; x != NULL && n < sizeof(r->servers) - 64; x = x->next) {
        inet_ntop(x->family, &x->addr, a, sizeof(a));
        n += (size_t)snprintf(r->servers + n, sizeof(r->servers) - n,
                              x->family == AF_INET6 ? "%s[%s]:%d" : "%s%s:%d",
                              n ? "," : "", a, x->udp_port ? x->udp_port : 53);
      }
    ares_free_data(list);
    if (n == 0) snprintf(r->servers, sizeof(r->servers), "system");
  }
  uv_timer_init(loop, &r->tick);
  r->tick.data = r;
  r->open_handles = 1;
  *out = r;
  return 0;
}

const char *resolver_servers(const struct resolver *r) { return r->servers; }

unsigned resolver_pending(const struct resolver *r) { return r->pending; }

static void lower(char *s) {
  for (; *s; s++) *s = (char)tolower((unsigned char)*s);
}

static uint16_t rd16(const unsigned char *p) {
  return (uint16_t)(p[0] << 8 | p[1]);
}
static uint32_t rd32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}

/* Expand the name at p into out; returns bytes it occupies at p, or -1. */
static long expand(const unsigned char *p, const unsigned char *abuf, int alen,
                   char *out, size_t cap) {
  char *s = NULL;
  long len = 0;

  if (p < abuf || p >= abuf + alen) return -1;
  if (ares_expand_name(p, abuf, alen, &s, &len) != ARES_SUCCESS) return -1;
  snprintf(out, cap, "%s", s);
  ares_free_string(s);
  lower(out);
  return len;
}

int resolver_parse(const unsigned char *abuf, int alen, struct dns_result *out) {
  const unsigned char *p, *end;
  unsigned qd, an, ns, i, rcode;
  uint16_t type, rdlen;
  uint32_t ttl, minttl = UINT32_MAX;
  long l;
  char owner[DNS_NAME_MAX], want[DNS_NAME_MAX];

  out->n = 0;
  out->total = 0;
  want[0] = '\0';
  out->soa_zone[0] = out->soa_mname[0] = out->soa_rname[0] = '\0';
  if (abuf == NULL || alen < 12 || !(abuf[2] & 0x80)) return -1;
  end = abuf + alen;
  rcode = abuf[3] & 0x0F;
  qd = rd16(abuf + 4);
  an = rd16(abuf + 6);
  ns = rd16(abuf + 8);
  p = abuf + 12;
  for (i = 0; i < qd; i++) {
    if ((l = expand(p, abuf, alen, owner, sizeof(owner))) < 0) return -1;
    if (i == 0) memcpy(want, owner, sizeof(want));
    p += l;
    if (end - p < 4) return -1;
    p += 4;
  }
  for (i = 0; i < an + ns; i++) {
    if ((l = expand(p, abuf, alen, owner, sizeof(owner))) < 0) return -1;
    p += l;
    if (end - p < 10) return -1;
    type = rd16(p);
    ttl = rd32(p + 4);
    rdlen = rd16(p + 8);
    p += 10;
    if (end - p < rdlen) return -1;
    if (ttl > 0x7FFFFFFF) ttl = 0; /* RFC 2181 8 */
    /* Only records about the question, or the name its CNAME chain leads
     * to, answer it (RFC 1034 4.3.2): a record about another name is not a
     * second PTR, whoever put it in the answer section. */
    if (i < an && type == DNS_T_CNAME && strcmp(owner, want) == 0) {
      if (expand(p, abuf, alen, want, sizeof(want)) < 0) return -1;
      p += rdlen;
      continue;
    }
    if (i < an && type == out->type && strcmp(owner, want) != 0) {
      p += rdlen;
      continue;
    }
    if (i < an && type == out->type && out->n == DNS_ANSWERS_MAX &&
        out->total < UINT16_MAX)
      out->total++; /* one more than we keep: said, never judged on */
    if (i < an && type == out->type && out->n < DNS_ANSWERS_MAX) {
      char *a = out->answer[out->n];
      if (type == DNS_T_A && rdlen == 4)
        inet_ntop(AF_INET, p, a, DNS_NAME_MAX);
      else if (type == DNS_T_AAAA && rdlen == 16)
        inet_ntop(AF_INET6, p, a, DNS_NAME_MAX);
      else if (type == DNS_T_PTR) {
        if (expand(p, abuf, alen, a, DNS_NAME_MAX) < 0) return -1;
        if (a[0] == '\0') a = NULL; /* the root name: no host named */
      } else if (type == DNS_T_MX && rdlen > 2) {
        if (expand(p + 2, abuf, alen, a, DNS_NAME_MAX) < 0) return -1;
        if (a[0] == '\0') a = NULL; /* null MX (RFC 7505) */
      } else if (type == DNS_T_SOA) {
        snprintf(a, DNS_NAME_MAX, "%s", owner);
      } else {
        a = NULL;
      }
      if (a != NULL) {
        out->n++;
        out->total++;
        if (ttl < minttl) minttl = ttl;
      }
    }
    if (type == DNS_T_SOA && out->soa_zone[0] == '\0') {
      /* RFC 2308 5: a negative answer's TTL is min(SOA TTL, MINIMUM). */
      snprintf(out->soa_zone, sizeof(out->soa_zone), "%s", owner);
      if ((l = expand(p, abuf, alen, out->soa_mname, DNS_NAME_MAX)) < 0 ||
          expand(p + l, abuf, alen, out->soa_rname, DNS_NAME_MAX) < 0)
        return -1;
      if (i >= an && rdlen >= 20) {
        uint32_t minimum = rd32(p + rdlen - 4);
        if (minimum < ttl) ttl = minimum;
        if (out->n == 0 && ttl < minttl) minttl = ttl;
      }
    }
    p += rdlen;
  }
  switch (rcode) {
  case 0: out->status = out->n > 0 ? DNS_OK : DNS_NODATA; break;
  case 2: out->status = DNS_SERVFAIL; break;
  case 3: out->status = DNS_NXDOMAIN; break;
  case 5: out->status = DNS_REFUSED; break;
  default: out->status = DNS_ERROR; break;
  }
  out->ttl = minttl == UINT32_MAX ? 0 : minttl;
  return 0;
}

static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf,
                      int alen) {
  struct rquery *q = arg;
  struct dns_result *res = &q->r->res;
  (void)timeouts;

  memset(res, 0, offsetof(struct dns_result, answer));
  res->type = q->type;
  snprintf(res->name, sizeof(res->name), "%s", q->name);
  if (abuf != NULL && resolver_parse(abuf, alen, res) == 0 &&
      status != ARES_ETIMEOUT && status != ARES_EDESTRUCTION &&
      status != ARES_ECANCELLED) {
    /* the answer's own rcode and records decide */
  } else {
    res->n = 0;
    res->soa_zone[0] = res->soa_mname[0] = res->soa_rname[0] = '\0';
    switch (status) {
    case ARES_SUCCESS: res->status = DNS_ERROR; break; /* unparsable */
    case ARES_ENODATA: res->status = DNS_NODATA; break;
    case ARES_ENOTFOUND: res->status = DNS_NXDOMAIN; break;
    case ARES_ESERVFAIL: res->status = DNS_SERVFAIL; break;
    case ARES_EREFUSED: res->status = DNS_REFUSED; break;
    case ARES_ETIMEOUT: res->status = DNS_TIMEOUT; break;
    default: res->status = DNS_ERROR; break; /* ECONNREFUSED, destruction */
    }
  }
  if (--q->r->pending == 0 && !q->r->closing) uv_timer_stop(&q->r->tick);
  q->cb(q->ctx, res);
  free(q);
}

void resolver_query(struct resolver *r, const char *name, int type,
                    resolver_cb cb, void *ctx) {
  struct rquery *q = calloc(1, sizeof(*q));
  struct dns_result res;

  if (q == NULL || r->closing) {
    free(q);
    memset(&res, 0, sizeof(res));
    res.type = (uint16_t)type;
    snprintf(res.name, sizeof(res.name), "%s", name);
    res.status = DNS_ERROR;
    cb(ctx, &res);
    return;
  }
  q->r = r;
  q->cb = cb;
  q->ctx = ctx;
  q->type = (uint16_t)type;
  snprintf(q->name, sizeof(q->name), "%s", name);
  r->pending++;
  if (!uv_is_active((uv_handle_t *)&r->tick))
    uv_timer_start(&r->tick, on_tick, TICK_MS, TICK_MS);
  ares_query(r->ch, name, 1 /* C_IN */, type, on_answer, q);
}

struct tquery {
  struct resolver *r;
  resolver_txt_cb cb;
  void *ctx;
};

static int ares_to_status(int status) {
  switch (status) {
  case ARES_SUCCESS: return DNS_OK;
  case ARES_ENODATA: return DNS_NODATA;
  case ARES_ENOTFOUND: return DNS_NXDOMAIN;
  case ARES_ESERVFAIL: return DNS_SERVFAIL;
  case ARES_EREFUSED: return DNS_REFUSED;
  case ARES_ETIMEOUT: return DNS_TIMEOUT;
  default: return DNS_ERROR;
  }
}

static void on_txt(void *arg, int status, int timeouts, unsigned char *abuf,
                   int alen) {
  struct tquery *q = arg;
  static char txt[RESOLVER_TXT_N][RESOLVER_TXT_MAX];
  struct ares_txt_ext *list = NULL, *x;
  size_t len[RESOLVER_TXT_N];
  int st = ares_to_status(status), n = -1, cut = 0;
  (void)timeouts;

  if (status == ARES_SUCCESS && abuf != NULL) {
    /* The rcode first: NOCHECKRESP hands SERVFAIL and NXDOMAIN over as
     * successes, with the answer to read. */
    struct dns_result h;
    memset(&h, 0, sizeof(h));
    h.type = 16;
    if (resolver_parse(abuf, alen, &h) == 0 && h.status != DNS_OK &&
        h.status != DNS_NODATA)
      st = h.status;
    else if (ares_parse_txt_reply_ext(abuf, alen, &list) != ARES_SUCCESS)
      st = list == NULL ? DNS_NODATA : DNS_ERROR;
  }
  if (st == DNS_OK) {
    for (x = list; x != NULL; x = x->next) {
      size_t l = x->length;
      if (x->record_start) {
        if (n + 1 == RESOLVER_TXT_N) break;
        len[++n] = 0;
      }
      if (n < 0) continue;
      if (len[n] + l >= RESOLVER_TXT_MAX) {
        l = RESOLVER_TXT_MAX - 1 - len[n];
        cut = 1;
      }
      memcpy(txt[n] + len[n], x->txt, l);
      len[n] += l;
      txt[n][len[n]] = '\0';
    }
    if (n < 0) st = DNS_NODATA;
  }
  if (list) ares_free_data(list);
  if (--q->r->pending == 0 && !q->r->closing) uv_timer_stop(&q->r->tick);
  q->cb(q->ctx, st, st == DNS_OK ? (unsigned)(n + 1) : 0, txt, cut);
  free(q);
}

void resolver_query_txt(struct resolver *r, const char *name,
                        resolver_txt_cb cb, void *ctx) {
  struct tquery *q = calloc(1, sizeof(*q));

  if (q == NULL || r->closing) {
    free(q);
    cb(ctx, DNS_ERROR, 0, NULL, 0);
    return;
  }
  q->r = r;
  q->cb = cb;
  q->ctx = ctx;
  r->pending++;
  if (!uv_is_active((uv_handle_t *)&r->tick))
    uv_timer_start(&r->tick, on_tick, TICK_MS, TICK_MS);
  ares_query(r->ch, name, 1 /* C_IN */, 16 /* TXT */, on_txt, q);
}

struct ask {
  int done, status;
  unsigned n;
  struct dns_result *out;
  char (*txt)[RESOLVER_TXT_MAX];
};

static void on_ask(void *ctx, const struct dns_result *res) {
  struct ask *a = ctx;
  *a->out = *res;
  a->done = 1;
}

static void on_ask_txt(void *ctx, int status, unsigned n,
                       char (*txt)[RESOLVER_TXT_MAX], int cut) {
  struct ask *a = ctx;
  unsigned i;
  (void)cut;
  a->status = status;
  a->n = n;
  for (i = 0; i < n && txt != NULL; i++) memcpy(a->txt[i], txt[i], RESOLVER_TXT_MAX);
  a->done = 1;
}

void resolver_ask(struct resolver *r, const char *name, int type,
                  struct dns_result *out) {
  struct ask a = {0, 0, 0, out, NULL};
  resolver_query(r, name, type, on_ask, &a);
  while (!a.done) uv_run(r->loop, UV_RUN_ONCE);
}

int resolver_ask_txt(struct resolver *r, const char *name,
                     char (*txt)[RESOLVER_TXT_MAX], unsigned *n) {
  struct ask a = {0, 0, 0, NULL, txt};
  resolver_query_txt(r, name, on_ask_txt, &a);
  while (!a.done) uv_run(r->loop, UV_RUN_ONCE);
  *n = a.n;
  return a.status;
}

void resolver_close(struct resolver *r) {
  if (r == NULL) return;
  r->closing = 1;
  /* Pending callbacks fire with ARES_EDESTRUCTION; sockets are closed
   * through sock_state_cb(fd, 0, 0). */
  ares_destroy(r->ch);
  uv_timer_stop(&r->tick);
  uv_close((uv_handle_t *)&r->tick, on_handle_closed);
}
