/* egressaudit - cli/probe.c: `probe ADDR`, an SMTP session from this host
 * (issue 16, first part): connect (from --source), read the banner, EHLO,
 * QUIT; no mail is sent. What the receiver answered, and the address it
 * echoed (the egress address as it saw it: behind a NAT, not ours), goes
 * through the capture's own SMTP parser (capture/smtp.c, fed both
 * directions' bytes), so a probe's session is the same record as a
 * captured one and is stored as one (--db) at a capture point of its own.
 * On the libuv loop, every phase under a timeout; a connect timeout is
 * port-25 evidence. --starttls: the handshake by OpenSSL over memory BIOs
 * on our socket, the certificate's names read (not verified). Not yet:
 * receivers given by name.
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <uv.h>

#include "analyzer/checklist.h"
#include "analyzer/resolver.h"
#include "capture/smtp.h"
#include "cli/cli.h"
#include "cli/opts.h"
#include "cli/render.h"
#include "common/util.h"
#include "store/store.h"

enum { P_CONNECT, P_BANNER, P_EHLO, P_STARTTLS, P_TLS, P_QUIT, P_DONE };

struct probe {
  uv_loop_t *loop;
  uv_tcp_t tcp;
  uv_connect_t conn;
  uv_timer_t timer;
  int state, closed;
  int64_t timeout_ms;
  int64_t t0_us, t_conn_us, t_end_us;
  struct smtp smtp;
  char line[1024];            /* the server's line being assembled      */
  size_t ll;
  int last_code;
  const char *failure;        /* "timeout", "refused", ... or NULL        */
  char why[256];
  struct ea_addr src, dst;
  uint16_t sport, dport;
  uint64_t bytes_c2s, bytes_s2c;
  char cmd[300];              /* the command being written                */
  const char *helo;
  /* --starttls: OpenSSL over memory BIOs, the socket ours */
  int want_tls, tls_up;
  SSL_CTX *ctx;
  SSL *ssl;
  BIO *rbio, *wbio;
  char tls_version[32], tls_cipher[64];
  char cert_subject[256], cert_names[1024]; /* CN, then the DNS SANs       */
  char tls_err[256];
  /* the receiver's PTR (through --resolver): its name against the banner
   * and the certificate (seed Tasks 9 and 10, pointed at our own MX) */
  struct dns_result ptr;
  int have_ptr;
};

static void finish(struct probe *p);

static void on_closed(uv_handle_t *h) {
  struct probe *p = h->data;
  p->closed++;
}

static void finish(struct probe *p) {
  if (p->state == P_DONE) return;
  p->state = P_DONE;
  p->t_end_us = now_us();
  uv_timer_stop(&p->timer);
  uv_close((uv_handle_t *)&p->timer, on_closed);
  if (!uv_is_closing((uv_handle_t *)&p->tcp)) uv_close((uv_handle_t *)&p->tcp, on_closed);
}

static void on_timeout(uv_timer_t *t) {
  struct probe *p = t->data;
  p->failure = p->state == P_CONNECT ? "timeout" : "no-reply";
  snprintf(p->why, sizeof(p->why), p->state == P_CONNECT
           ? "no answer to the SYN in %lld ms: port 25 blocked on the way, or the host is down"
           : "no reply in %lld ms", (long long)p->timeout_ms);
  finish(p);
}

static void arm(struct probe *p) {
  uv_timer_start(&p->timer, on_timeout, (uint64_t)p->timeout_ms, 0);
}

static void on_written(uv_write_t *w, int status) {
  struct probe *p = w->data;
  free(w);
  if (status < 0 && p->state != P_DONE) {
    p->failure = "error";
    snprintf(p->why, sizeof(p->why), "write: %s", uv_strerror(status));
    finish(p);
  }
}

static void send_cmd(struct probe *p, const char *fmt, const char *arg);

/* What OpenSSL has to send, onto the socket. */
static void tls_flush(struct probe *p) {
  char buf[4096];
  int n;

  while ((n = BIO_read(p->wbio, buf, sizeof(buf))) > 0) {
    struct {
      uv_write_t w;
      char data[4096];
    } *x = malloc(sizeof(*x));
    uv_buf_t b;
    if (x == NULL) return;
    memcpy(x->data, buf, (size_t)n);
    x->w.data = p;
    b = uv_buf_init(x->data, (unsigned)n);
    p->bytes_c2s += (uint64_t)n;
    uv_write(&x->w, (uv_stream_t *)&p->tcp, &b, 1, on_written);
  }
}

/* The certificate's subject CN and DNS names, after the handshake. */
static void tls_names(struct probe *p) {
  X509 *c = SSL_get1_peer_certificate(p->ssl);
  GENERAL_NAMES *san;
  size_t o = 0;
  int i;

  snprintf(p->tls_version, sizeof(p->tls_version), "%s", SSL_get_version(p->ssl));
  snprintf(p->tls_cipher, sizeof(p->tls_cipher), "%s", SSL_get_cipher_name(p->ssl));
  if (c == NULL) return;
  X509_NAME_get_text_by_NID(X509_get_subject_name(c), NID_commonName,
                            p->cert_subject, sizeof(p->cert_subject));
  san = X509_get_ext_d2i(c, NID_subject_alt_name, NULL, NULL);
  for (i = 0; san && i < sk_GENERAL_NAME_num(san) && o + 1 < sizeof(p->cert_names); i++) {
    const GENERAL_NAME *g = sk_GENERAL_NAME_value(san, i);
    if (g->type != GEN_DNS) continue;
    o += (size_t)snprintf(p->cert_names + o, sizeof(p->cert_names) - o, "%s%.*s",
                          o ? " " : "", ASN1_STRING_length(g->d.dNSName),
                          (const char *)ASN1_STRING_get0_data(g->d.dNSName));
  }
  GENERAL_NAMES_free(san);
  X509_free(c);
}

static void on_reply(struct probe *p, int code);

/* The server's plaintext (before STARTTLS, or inside TLS) assembled into
 * lines (capped); a reply's last line ("ddd " or "ddd") moves us on. */
static void reply_bytes(struct probe *p, const char *data, size_t n) {
  size_t i;

  for (i = 0; i < n && p->state != P_DONE; i++) {
    const char *l = p->line;
    if (data[i] != '\n') {
      if (p->ll + 1 < sizeof(p->line)) p->line[p->ll++] = data[i];
      continue;
    }
    p->line[p->ll] = '\0';
    if (p->ll >= 3 && l[0] >= '2' && l[0] <= '5' && l[1] >= '0' && l[1] <= '9' &&
        l[2] >= '0' && l[2] <= '9' && (p->ll == 3 || l[3] == ' ' || l[3] == '\r'))
      on_reply(p, (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0'));
    p->ll = 0;
  }
}

/* Ciphertext came: the handshake on, then the plaintext replies. */
static void tls_input(struct probe *p, const char *data, size_t n) {
  char buf[4096];
  int r;

  BIO_write(p->rbio, data, (int)n);
  if (!p->tls_up) {
    r = SSL_do_handshake(p->ssl);
    tls_flush(p);
    if (r == 1) {
      p->tls_up = 1;
      tls_names(p);
      p->state = P_QUIT;
      send_cmd(p, "QUIT\r\n%s", "");
    } else if (SSL_get_error(p->ssl, r) != SSL_ERROR_WANT_READ) {
      p->failure = "tls";
      ERR_error_string_n(ERR_get_error(), p->tls_err, sizeof(p->tls_err));
      snprintf(p->why, sizeof(p->why), "TLS handshake: %.200s", p->tls_err);
      finish(p);
    }
    return;
  }
  while (p->state != P_DONE && (r = SSL_read(p->ssl, buf, sizeof(buf))) > 0)
    reply_bytes(p, buf, (size_t)r);
}

static int tls_start(struct probe *p, const char *sni) {
  if ((p->ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
      (p->ssl = SSL_new(p->ctx)) == NULL ||
      (p->rbio = BIO_new(BIO_s_mem())) == NULL || (p->wbio = BIO_new(BIO_s_mem())) == NULL)
    return -1;
  /* We read the names; judging the chain is not a probe's business. */
  SSL_set_verify(p->ssl, SSL_VERIFY_NONE, NULL);
  SSL_set_bio(p->ssl, p->rbio, p->wbio);
  SSL_set_connect_state(p->ssl);
  if (sni && sni[0]) SSL_set_tlsext_host_name(p->ssl, sni);
  SSL_do_handshake(p->ssl);
  tls_flush(p);
  return 0;
}

/* Send a command (kept by the parser too, as the capture would see it). */
static void send_cmd(struct probe *p, const char *fmt, const char *arg) {
  uv_write_t *w = malloc(sizeof(*w));
  uv_buf_t b;
  int n = snprintf(p->cmd, sizeof(p->cmd), fmt, arg);

  if (w == NULL || n < 0 || n >= (int)sizeof(p->cmd)) {
    free(w);
    p->failure = "error";
    snprintf(p->why, sizeof(p->why), "out of memory");
    finish(p);
    return;
  }
  if (p->tls_up) { /* inside TLS: the wire carries ciphertext */
    free(w);
    SSL_write(p->ssl, p->cmd, n);
    tls_flush(p);
    arm(p);
    return;
  }
  smtp_feed(&p->smtp, SMTP_C2S, (const uint8_t *)p->cmd, (size_t)n);
  p->bytes_c2s += (uint64_t)n;
  w->data = p;
  b = uv_buf_init(p->cmd, (unsigned)n);
  uv_write(w, (uv_stream_t *)&p->tcp, &b, 1, on_written);
  arm(p);
}

/* A whole reply came (its last line "ddd "): the next step. */
static void on_reply(struct probe *p, int code) {
  p->last_code = code;
  switch (p->state) {
  case P_BANNER:
    if (code == 220) {
      p->state = P_EHLO;
      send_cmd(p, "EHLO %s\r\n", p->helo);
    } else {
      p->state = P_QUIT;
      send_cmd(p, "QUIT\r\n%s", "");
    }
    break;
  case P_EHLO:
    if (p->want_tls && code == 250 && p->smtp.starttls_offered) {
      p->state = P_STARTTLS;
      send_cmd(p, "STARTTLS\r\n%s", "");
      break;
    }
    p->state = P_QUIT;
    send_cmd(p, "QUIT\r\n%s", "");
    break;
  case P_STARTTLS:
    if (code == 220) {
      char sni[256];
      snprintf(sni, sizeof(sni), "%.*s", (int)p->smtp.banner_host.len,
               p->smtp.banner_host.p ? p->smtp.banner_host.p : "");
      p->state = P_TLS;
      if (tls_start(p, sni) < 0) {
        p->failure = "tls";
        snprintf(p->why, sizeof(p->why), "OpenSSL: out of memory");
        finish(p);
      }
      arm(p);
      break;
    }
    p->state = P_QUIT;
    send_cmd(p, "QUIT\r\n%s", "");
    break;
  case P_QUIT:
  default:
    finish(p);
  }
}

static void on_alloc(uv_handle_t *h, size_t want, uv_buf_t *b) {
  static char buf[4096];
  (void)h;
  (void)want;
  *b = uv_buf_init(buf, sizeof(buf));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  struct probe *p = s->data;

  if (p->state == P_DONE) return;
  if (n < 0) {
    if (p->state != P_QUIT && p->state != P_DONE) {
      p->failure = "closed";
      snprintf(p->why, sizeof(p->why), "the receiver closed the connection: %s",
               uv_strerror((int)n));
    }
    finish(p);
    return;
  }
  p->bytes_s2c += (uint64_t)n;
  if (p->state == P_TLS || p->tls_up) {
    tls_input(p, b->base, (size_t)n);
    return;
  }
  smtp_feed(&p->smtp, SMTP_S2C, (const uint8_t *)b->base, (size_t)n);
  reply_bytes(p, b->base, (size_t)n);
}

static void on_connect(uv_connect_t *c, int status) {
  struct probe *p = c->data;
  struct sockaddr_storage ss;
  int len = sizeof(ss);

  if (p->state == P_DONE) return; /* timed out: the close cancelled it */
  if (status < 0) {
    p->failure = status == UV_ECONNREFUSED ? "refused" : "error";
    snprintf(p->why, sizeof(p->why), "connect: %s", uv_strerror(status));
    finish(p);
    return;
  }
  p->t_conn_us = now_us();
  if (uv_tcp_getsockname(&p->tcp, (struct sockaddr *)&ss, &len) == 0) {
    if (ss.ss_family == AF_INET) {
      struct sockaddr_in *a = (struct sockaddr_in *)&ss;
      p->src.family = 4;
      memcpy(p->src.a, &a->sin_addr, 4);
      p->sport = ntohs(a->sin_port);
    } else {
      struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
      p->src.family = 6;
      memcpy(p->src.a, &a->sin6_addr, 16);
      p->sport = ntohs(a->sin6_port);
    }
  }
  p->state = P_BANNER;
  uv_read_start((uv_stream_t *)&p->tcp, on_alloc, on_read);
  arm(p);
}

static int sockaddr_of(const struct ea_addr *a, uint16_t port,
                       struct sockaddr_storage *ss) {
  memset(ss, 0, sizeof(*ss));
  if (a->family == 4) {
    struct sockaddr_in *s = (struct sockaddr_in *)ss;
    s->sin_family = AF_INET;
    s->sin_port = htons(port);
    memcpy(&s->sin_addr, a->a, 4);
  } else {
    struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;
    s->sin6_family = AF_INET6;
    s->sin6_port = htons(port);
    memcpy(&s->sin6_addr, a->a, 16);
  }
  return 0;
}

/* The session as the capture would have recorded it. */
static void probe_session(const struct probe *p, struct session *s) {
  memset(s, 0, sizeof(*s));
  smtp_view(&p->smtp, s);
  s->first_us = p->t0_us;
  s->last_us = p->t_end_us;
  s->src = p->src;
  s->dst = p->dst;
  s->sport = p->sport;
  s->dport = p->dport;
  s->vlan = -1;
  s->state = p->failure && !strcmp(p->failure, "timeout") ? SESS_SYN_ONLY
             : p->failure && !strcmp(p->failure, "refused") ? SESS_REFUSED
             : p->smtp.state;
  if (s->state < SESS_CONNECTED && p->t_conn_us) s->state = SESS_CONNECTED;
  s->end = p->failure && !strcmp(p->failure, "timeout") ? END_TIMEOUT : END_FIN;
  s->dirby = DIRBY_SYN;
  s->direction = DIR_EGRESS;
  s->bytes_c2s = p->bytes_c2s;
  s->bytes_s2c = p->bytes_s2c;
}

/* "banner_host" of s into out. */
static const char *banner_of(const struct session *s, char *out, size_t cap) {
  snprintf(out, cap, "%.*s", (int)s->banner_host.len, s->banner_host.p ? s->banner_host.p : "");
  return out;
}

/* The receiver's PTR name against its banner name and certificate. */
static void ptr_text(const struct probe *p, const struct session *s) {
  char bh[256], e1[ESC_CAP(256)], e2[ESC_CAP(DNS_NAME_MAX)];

  if (!p->have_ptr) return;
  if (p->ptr.status != DNS_OK || p->ptr.n == 0) {
    printf("  PTR       %s: %s\n", p->ptr.name, dns_status_name(p->ptr.status));
    return;
  }
  banner_of(s, bh, sizeof(bh));
  esc_text(e1, sizeof(e1), bh, strlen(bh));
  esc_text(e2, sizeof(e2), p->ptr.answer[0], strlen(p->ptr.answer[0]));
  printf("  PTR       %s: the banner name %s %s", e2, e1[0] ? e1 : "-",
         bh[0] && strcasecmp(bh, p->ptr.answer[0]) == 0 ? "is it" : "differs");
  if (p->tls_up)
    printf("; the certificate %s it",
           checklist_cert_covers(p->cert_subject, p->cert_names, p->ptr.answer[0])
               ? "covers" : "does NOT cover");
  putchar('\n');
}

static void print_text(const struct probe *p, const struct session *s) {
  char a[ADDR_STRLEN], b[ADDR_STRLEN];
  unsigned i;

  printf("probe %s:%u", addr_str(&p->dst, a), p->dport);
  if (p->src.family) printf(" from %s:%u", addr_str(&p->src, b), p->sport);
  putchar('\n');
  if (p->t_conn_us)
    printf("  connected in %.1f ms\n", (double)(p->t_conn_us - p->t0_us) / 1000.0);
  for (i = 0; i < s->n_replies; i++) {
    const struct sess_reply *r = &s->replies[i];
    printf("  %-9s %u ", r->cmd ? smtp_cmd_name(r->cmd) : "?", r->code);
    if (r->enhanced.len) printf("%.*s ", (int)r->enhanced.len, r->enhanced.p);
    {
      char esc[ESC_CAP(REPLY_TEXT_ERR_MAX)];
      esc_text(esc, sizeof(esc), r->text.p, r->text.len);
      fputs(esc, stdout);
    }
    putchar('\n');
  }
  if (s->echoed.family) {
    int same = s->echoed.family == p->src.family &&
               memcmp(s->echoed.a, p->src.a, p->src.family == 4 ? 4 : 16) == 0;
    printf("  echoed    %s: the address the receiver saw%s\n", addr_str(&s->echoed, a),
           same ? " (ours)" : " (not ours: translated on the way, a NAT)");
  } else if (p->t_conn_us) {
    printf("  echoed    none: this receiver does not quote the client's address\n");
  }
  if (p->t_conn_us && !p->want_tls)
    printf("  STARTTLS  %s\n", s->starttls_offered ? "offered (--starttls tries it)" : "not offered");
  else if (p->t_conn_us && !s->starttls_offered)
    printf("  STARTTLS  not offered\n");
  if (p->tls_up) {
    char sub[ESC_CAP(256)], names[ESC_CAP(1024)];
    esc_text(sub, sizeof(sub), p->cert_subject, strlen(p->cert_subject));
    esc_text(names, sizeof(names), p->cert_names, strlen(p->cert_names));
    printf("  TLS       %s %s; certificate CN %s, names %s\n", p->tls_version,
           p->tls_cipher, sub[0] ? sub : "-", names[0] ? names : "-");
    if (s->banner_host.len > 0) {
      char bh[256], bhe[ESC_CAP(256)];
      snprintf(bh, sizeof(bh), "%.*s", (int)s->banner_host.len, s->banner_host.p);
      esc_text(bhe, sizeof(bhe), bh, strlen(bh));
      printf("  names     the certificate %s the banner name %s\n",
             checklist_cert_covers(p->cert_subject, p->cert_names, bh) ? "covers"
                                                                      : "does NOT cover",
             bhe);
    }
  }
  ptr_text(p, s);
  if (p->failure) printf("  failed    %s\n", p->why);
}

static void print_json(const struct probe *p, const struct session *s) {
  char a[ADDR_STRLEN];
  unsigned i;

  printf("{\"server\":");
  json_str(stdout, addr_str(&p->dst, a));
  printf(",\"port\":%u,\"source\":", p->dport);
  if (p->src.family) json_str(stdout, addr_str(&p->src, a));
  else printf("null");
  printf(",\"source_port\":%u,\"connected\":%s,\"connect_ms\":", p->sport,
         p->t_conn_us ? "true" : "false");
  if (p->t_conn_us) printf("%.1f", (double)(p->t_conn_us - p->t0_us) / 1000.0);
  else printf("null");
  printf(",\"failure\":");
  if (p->failure) json_str(stdout, p->failure);
  else printf("null");
  render_json_field("why", p->failure ? p->why : NULL);
  printf(",\"echoed_ip\":");
  if (s->echoed.family) json_str(stdout, addr_str(&s->echoed, a));
  else printf("null");
  printf(",\"starttls_offered\":%s,\"tls\":", s->starttls_offered ? "true" : "false");
  if (p->tls_up) {
    char sub[ESC_CAP(256)], names[ESC_CAP(1024)];
    esc_bytes(sub, sizeof(sub), p->cert_subject, strlen(p->cert_subject));
    esc_bytes(names, sizeof(names), p->cert_names, strlen(p->cert_names));
    printf("{\"version\":");
    json_str(stdout, p->tls_version);
    printf(",\"cipher\":");
    json_str(stdout, p->tls_cipher);
    printf(",\"cert_cn\":");
    json_str(stdout, sub);
    printf(",\"cert_names\":");
    json_str(stdout, names);
    {
      char bh[256];
      snprintf(bh, sizeof(bh), "%.*s", (int)s->banner_host.len,
               s->banner_host.p ? s->banner_host.p : "");
      printf(",\"cert_covers_banner\":%s",
             checklist_cert_covers(p->cert_subject, p->cert_names, bh) ? "true" : "false");
    }
    putchar('}');
  } else {
    printf("null");
  }
  printf(",\"ptr\":");
  if (p->have_ptr && p->ptr.status == DNS_OK && p->ptr.n > 0) {
    char bh[256], e[ESC_CAP(DNS_NAME_MAX)];
    banner_of(s, bh, sizeof(bh));
    esc_bytes(e, sizeof(e), p->ptr.answer[0], strlen(p->ptr.answer[0]));
    json_str(stdout, e);
    printf(",\"banner_is_ptr\":%s", bh[0] && strcasecmp(bh, p->ptr.answer[0]) == 0 ? "true" : "false");
    printf(",\"cert_covers_ptr\":");
    if (p->tls_up)
      printf("%s", checklist_cert_covers(p->cert_subject, p->cert_names, p->ptr.answer[0])
                       ? "true" : "false");
    else
      printf("null");
  } else {
    printf("null");
  }
  printf(",\"replies\":[");
  for (i = 0; i < s->n_replies; i++) {
    char t[ESC_CAP(REPLY_TEXT_ERR_MAX)];
    esc_bytes(t, sizeof(t), s->replies[i].text.p, s->replies[i].text.len);
    printf("%s{\"cmd\":", i ? "," : "");
    json_str(stdout, smtp_cmd_name(s->replies[i].cmd) ? smtp_cmd_name(s->replies[i].cmd) : "?");
    printf(",\"code\":%u,\"text\":", s->replies[i].code);
    json_str(stdout, t);
    putchar('}');
  }
  printf("]}\n");
}

/* --db: the session stored at the capture point "probe:HOST". */
static int probe_store(const char *db, const struct session *s0) {
  struct session s = *s0;
  struct store *st;
  char err[1024], host[256], name[300];
  int64_t pt;
  int rc;

  if (gethostname(host, sizeof(host)) < 0) snprintf(host, sizeof(host), "localhost");
  host[sizeof(host) - 1] = '\0';
  snprintf(name, sizeof(name), "probe:%s", host);
  rc = store_open(&st, cli_db_path(db), STORE_RW, err, sizeof(err));
  if (rc < 0) {
    cli_err("probe: %s", err);
    return cli_exit_for(rc);
  }
  if (store_point(st, name, host, NULL, NULL, "probe", &pt) < 0 ||
      (s.point = pt, store_session_put(st, &s)) < 0 || store_flush(st) < 0) {
    cli_err("probe: %s", store_errmsg(st));
    store_close(st);
    return EXIT_IOERR;
  }
  return store_close(st) < 0 ? EXIT_IOERR : 0;
}

/* ADDR, [V6ADDR]:PORT, ADDR:PORT, NAME or NAME:PORT into *dst (a name's
 * first address through the resolvers given, else the system's; its
 * AAAA when it has no A). 0 or an exit code. */
static int target_parse(const char *arg, const char *const *servers, unsigned n,
                        struct ea_addr *dst, long *port) {
  char host[300], e[300];
  const char *colon = strrchr(arg, ':');
  struct resolver_cfg dns = {servers, n, 2000, 2};
  struct dns_result r;
  struct resolver *res;
  uv_loop_t loop;

  snprintf(host, sizeof(host), "%s", arg);
  if (arg[0] == '[' && (colon = strstr(arg, "]:")) != NULL) { /* [v6]:port */
    snprintf(host, sizeof(host), "%.*s", (int)(colon - arg - 1), arg + 1);
    *port = strtol(colon + 2, NULL, 10);
  } else if (colon && strchr(arg, ':') == colon) { /* one colon: host:port */
    snprintf(host, sizeof(host), "%.*s", (int)(colon - arg), arg);
    *port = strtol(colon + 1, NULL, 10);
  }
  if (*port < 1 || *port > 65535) {
    cli_err("probe: '%s': not a port", arg);
    return EXIT_USAGE;
  }
  if (addr_parse(dst, host, strlen(host)) == 0) return 0;
  if (host[0] == '\0' || strpbrk(host, " /\\") != NULL) {
    cli_err("probe: '%s' is not an address or a host name", arg);
    return EXIT_USAGE;
  }
  uv_loop_init(&loop);
  if (resolver_new(&res, &loop, &dns, e, sizeof(e)) < 0) {
    cli_err("probe: %s", e);
    uv_loop_close(&loop);
    return EXIT_USAGE;
  }
  resolver_ask(res, host, DNS_T_A, &r);
  if (r.status != DNS_OK || r.n == 0) resolver_ask(res, host, DNS_T_AAAA, &r);
  resolver_close(res);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  if (r.status != DNS_OK || r.n == 0 ||
      addr_parse(dst, r.answer[0], strlen(r.answer[0])) < 0) {
    cli_err("probe: %s: no address (%s)", host, dns_status_name(r.status));
    return dns_status_temporary(r.status) ? EXIT_TEMPFAIL : EXIT_NOINPUT;
  }
  return 0;
}

static void usage(FILE *f) {
  fprintf(f,
          "Usage: %s probe [OPTIONS] ADDR|NAME[:PORT]\n"
          "\n"
          "Open an SMTP session from this host to the receiver (a name: its\n"
          "first address through --resolver): the banner, EHLO with\n"
          "our name, QUIT; no mail is sent. Says what the receiver answered\n"
          "and the client address it echoed (the egress address as it saw it:\n"
          "behind a NAT, the public one). A connect timeout is port-25\n"
          "evidence. With --db the session is stored like a captured one, at\n"
          "the capture point probe:HOST. Pointed at our own MX it shows our\n"
          "banner name.\n"
          "\n"
          "Options:\n"
          "  --source ADDR        leave from this local address\n"
          "  --helo NAME          the EHLO name (default: this host's name)\n"
          "  --starttls           when offered: STARTTLS, the TLS handshake (OpenSSL),\n"
          "                       the certificate's name and DNS names (not\n"
          "                       verified: read), then QUIT inside TLS\n"
          "  --resolver ADDR[:PORT]  ask the receiver's PTR here (repeatable): its\n"
          "                       name against the banner name and certificate\n"
          "                       (our own MX: seed Tasks 9 and 10)\n"
          "  --port N             default 25\n"
          "  --timeout DUR        each step's limit (default 10s)\n"
          "  --db PATH            store the session (see '%s --help')\n"
          "  --format FMT         text (default) or json\n"
          "  -h, --help           this help\n"
          "\n"
          "Exit codes: 0 the receiver answered, 2 no answer or refused (port\n"
          "25 blocked?), 1 it answered with a 4xx/5xx; 64 usage, 74 I/O.\n",
          progname, progname);
}

int cmd_probe(int argc, char **argv) {
  static const struct option opts[] = {
      {"source", required_argument, NULL, 's'},
      {"helo", required_argument, NULL, 'H'},
      {"port", required_argument, NULL, 'p'},
      {"timeout", required_argument, NULL, 't'},
      {"db", required_argument, NULL, 'd'},
      {"format", required_argument, NULL, 'f'},
      {"starttls", no_argument, NULL, 'T'},
      {"resolver", required_argument, NULL, 'r'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  static struct probe p;
  struct sockaddr_storage dst, src;
  struct session s;
  const char *source = NULL, *db = NULL, *servers[RESOLVERS_MAX];
  unsigned nserv = 0;
  char hostname[256];
  uv_loop_t loop;
  int c, rc, json = 0, ex;
  long port = 25;
  int64_t tmo = 10000000;
  char *end;

  memset(&p, 0, sizeof(p));
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case 's': source = optarg; break;
    case 'H': p.helo = optarg; break;
    case 'p':
      port = strtol(optarg, &end, 10);
      if (*end || port < 1 || port > 65535) {
        cli_err("probe: --port: '%s' is not a port", optarg);
        return EXIT_USAGE;
      }
      break;
    case 't':
      if (dur_parse(optarg, &tmo) < 0 || tmo < 1000 || tmo > 600000000) {
        cli_err("probe: --timeout: '%s' is not a duration like 10s", optarg);
        return EXIT_USAGE;
      }
      break;
    case 'd': db = optarg; break;
    case 'T': p.want_tls = 1; break;
    case 'r': {
      char e[300];
      if (nserv == RESOLVERS_MAX || resolver_check_server(optarg, e, sizeof(e)) < 0) {
        cli_err("probe: --resolver: %s", nserv == RESOLVERS_MAX ? "too many" : e);
        return EXIT_USAGE;
      }
      servers[nserv++] = optarg;
      break;
    }
    case 'f':
      if (strcmp(optarg, "json") == 0) json = 1;
      else if (strcmp(optarg, "text") != 0) {
        cli_err("probe: --format: '%s' is not text or json", optarg);
        return EXIT_USAGE;
      }
      break;
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return EXIT_USAGE;
    }
  }
  if (optind + 1 != argc) {
    cli_err("probe: give one receiver: ADDR, NAME, [V6ADDR]:PORT or NAME:PORT (try 'probe --help')");
    return EXIT_USAGE;
  }
  if ((rc = target_parse(argv[optind], servers, nserv, &p.dst, &port)) != 0) return rc;
  if (source && (addr_parse(&p.src, source, strlen(source)) < 0 ||
                 p.src.family != p.dst.family)) {
    cli_err("probe: --source '%s' is not an address of the receiver's family", source);
    return EXIT_USAGE;
  }
  if (p.helo == NULL) {
    if (gethostname(hostname, sizeof(hostname)) < 0) snprintf(hostname, sizeof(hostname), "localhost");
    hostname[sizeof(hostname) - 1] = '\0';
    p.helo = hostname;
  }
  if (strpbrk(p.helo, " \r\n") != NULL || strlen(p.helo) > 255) {
    cli_err("probe: --helo '%s' is not a name", p.helo);
    return EXIT_USAGE;
  }
  p.dport = (uint16_t)port;
  p.timeout_ms = tmo / 1000;
  smtp_init(&p.smtp, &p.dst, true);
  uv_loop_init(&loop);
  p.loop = &loop;
  uv_tcp_init(&loop, &p.tcp);
  uv_timer_init(&loop, &p.timer);
  p.tcp.data = p.timer.data = p.conn.data = &p;
  if (source) {
    sockaddr_of(&p.src, 0, &src);
    if ((rc = uv_tcp_bind(&p.tcp, (struct sockaddr *)&src, 0)) < 0) {
      cli_err("probe: --source %s: %s", source, uv_strerror(rc));
      uv_close((uv_handle_t *)&p.tcp, NULL);
      uv_close((uv_handle_t *)&p.timer, NULL);
      uv_run(&loop, UV_RUN_DEFAULT);
      uv_loop_close(&loop);
      return EXIT_USAGE;
    }
  }
  sockaddr_of(&p.dst, p.dport, &dst);
  p.t0_us = now_us();
  if ((rc = uv_tcp_connect(&p.conn, &p.tcp, (struct sockaddr *)&dst, on_connect)) < 0) {
    p.failure = "error";
    snprintf(p.why, sizeof(p.why), "connect: %s", uv_strerror(rc));
    finish(&p);
  } else {
    arm(&p);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  if (nserv > 0 && p.t_conn_us) { /* the receiver's PTR, through --resolver */
    struct resolver_cfg dns = {servers, nserv, 2000, 2};
    struct resolver *res;
    char rev[80], e[300];
    if (dns_reverse_name(p.dst.family, p.dst.a, rev, sizeof(rev)) == 0 &&
        resolver_new(&res, &loop, &dns, e, sizeof(e)) == 0) {
      resolver_ask(res, rev, DNS_T_PTR, &p.ptr);
      p.have_ptr = 1;
      resolver_close(res);
      uv_run(&loop, UV_RUN_DEFAULT);
    }
  }
  uv_loop_close(&loop);
  if (p.ssl) SSL_free(p.ssl); /* frees both BIOs */
  if (p.ctx) SSL_CTX_free(p.ctx);
  probe_session(&p, &s);
  if (json) print_json(&p, &s);
  else print_text(&p, &s);
  if (db && (ex = probe_store(db, &s)) != 0) return ex;
  if (p.failure && p.t_conn_us == 0) return 2;
  return p.last_code >= 400 ? 1 : 0;
}
