/* egressaudit - analyzer/resolver.h: asynchronous DNS on the libuv loop.
 * The only module that includes ares.h. c-ares 1.18 has no event thread:
 * its sockets are watched with one uv_poll each (socket-state callback) and
 * its timeouts driven by a repeating timer of at most one second.
 * SPDX-License-Identifier: MIT
 */
#ifndef EA_RESOLVER_H
#define EA_RESOLVER_H

#include <stddef.h>
#include <uv.h>

#include "common/dns.h"

struct resolver;

struct resolver_cfg {
  /* "ADDR", "ADDR:PORT", "[V6ADDR]:PORT"; NULL/0: the system's resolvers. */
  const char *const *servers;
  unsigned n_servers;
  int timeout_ms;  /* first try; c-ares backs off after (0: 2000)      */
  int tries;       /* per server (0: 2)                               */
};

/* Called once per query, on the loop, with a result borrowed for the call.
 * It is called with DNS_ERROR when the resolver is closed first. */
typedef void (*resolver_cb)(void *ctx, const struct dns_result *r);

/* Whether server is a --resolver value we take: 0, or -EINVAL and a
 * one-line reason naming it in err. No loop, no socket. */
int resolver_check_server(const char *server, char *err, size_t errlen);

/* Create a resolver on loop. Returns 0, or a negative errno and a one-line
 * reason in err (a bad server address names it). */
int resolver_new(struct resolver **out, uv_loop_t *loop,
                 const struct resolver_cfg *cfg, char *err, size_t errlen);

/* Ask (name, type). cb may run before this returns (c-ares answers some
 * errors synchronously): the caller's state must be ready first. */
void resolver_query(struct resolver *r, const char *name, int type,
                    resolver_cb cb, void *ctx);

/* TXT records (SPF, DKIM, DMARC): each record's strings joined (RFC 7208
 * 3.3), at most RESOLVER_TXT_N records of RESOLVER_TXT_MAX - 1 bytes (a
 * longer one is cut and *cut set). status: enum dns_status. Borrowed for
 * the call. */
#define RESOLVER_TXT_N 8
#define RESOLVER_TXT_MAX 4096
typedef void (*resolver_txt_cb)(void *ctx, int status, unsigned n,
                                char (*txt)[RESOLVER_TXT_MAX], int cut);
void resolver_query_txt(struct resolver *r, const char *name,
                        resolver_txt_cb cb, void *ctx);

/* Ask and run the resolver's loop until the answer: for callers outside
 * the loop's callbacks that must wait (libspf2's DNS layer, preflight).
 * resolver_ask fills out; resolver_ask_txt copies the records into txt
 * and returns the status (enum dns_status), *n their count. */
void resolver_ask(struct resolver *r, const char *name, int type,
                  struct dns_result *out);
int resolver_ask_txt(struct resolver *r, const char *name,
                     char (*txt)[RESOLVER_TXT_MAX], unsigned *n);

/* Queries sent, and answered so far. */
unsigned resolver_pending(const struct resolver *r);

/* The servers in use, as text for the record ("127.0.0.1:5300"). */
const char *resolver_servers(const struct resolver *r);

/* Cancel what is pending (callbacks get DNS_ERROR), close the handles;
 * the memory goes in the last close callback: run the loop after this. */
void resolver_close(struct resolver *r);

/* Parse a DNS response (abuf, alen) to a question of the given type into
 * out (its name and type set by the caller). Exposed for tests and fuzzing;
 * never reads outside abuf. Returns 0, or -1 when it is not a response. */
int resolver_parse(const unsigned char *abuf, int alen, struct dns_result *out);

#endif
