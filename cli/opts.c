/* egressaudit - cli/opts.c: see opts.h.
 * SPDX-License-Identifier: MIT
 */
#define _POSIX_C_SOURCE 200809L
#include "cli/opts.h"

#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/resolver.h"
#include "cli/cli.h"
#include "common/util.h"

void analysis_opts_init(struct analysis_opts *o) {
  memset(o, 0, sizeof(*o));
  o->cfg.since = INT64_MIN;
  o->cfg.until = INT64_MAX;
  o->cfg.max_age_us = -1;
  o->cfg.dns.servers = o->servers;
}

static const char *name_of(int c) {
  switch (c) {
  case OPT_RESOLVER: return "--resolver";
  case OPT_DNS_TIMEOUT: return "--dns-timeout";
  case OPT_EXPECT_EGRESS: return "--expect-egress";
  case OPT_MAX_AGE: return "--max-age";
  default: return "--max-inflight";
  }
}

int analysis_opt(struct analysis_opts *o, int c, const char *arg,
                 const char *cmd) {
  char *end;
  long v;

  switch (c) {
  case OPT_RESOLVER:
    if (o->n == RESOLVERS_MAX) {
      cli_err("%s: at most %d --resolver", cmd, RESOLVERS_MAX);
      return -1;
    }
    {
      char err[256];
      if (resolver_check_server(arg, err, sizeof(err)) < 0) {
        cli_err("%s: %s", cmd, err);
        return -1;
      }
    }
    o->servers[o->n++] = arg;
    o->cfg.dns.n_servers = o->n;
    break;
  case OPT_DNS_TIMEOUT:
    v = strtol(arg, &end, 10);
    if (*end != '\0' || v < 10 || v > 60000) {
      cli_err("%s: --dns-timeout: '%s' is not milliseconds from 10 to 60000",
              cmd, arg);
      return -1;
    }
    o->cfg.dns.timeout_ms = (int)v;
    break;
  case OPT_EXPECT_EGRESS:
    if (netset_add_text(&o->expect, arg) < 0) {
      cli_err("%s: --expect-egress: '%s' is not an address or CIDR network",
              cmd, arg);
      return -1;
    }
    o->cfg.expect = &o->expect;
    break;
  case OPT_MAX_AGE:
    if (strcmp(arg, "0") == 0) o->cfg.max_age_us = 0;
    else if (dur_parse(arg, &o->cfg.max_age_us) < 0) {
      cli_err("%s: --max-age: '%s' is not a duration like 1h", cmd, arg);
      return -1;
    }
    break;
  case OPT_MAX_INFLIGHT:
    v = strtol(arg, &end, 10);
    if (*end != '\0' || v < 1 || v > 4096) {
      cli_err("%s: --max-inflight: '%s' is not a number from 1 to 4096", cmd,
              arg);
      return -1;
    }
    o->cfg.max_inflight = (unsigned)v;
    break;
  default:
    return 0;
  }
  if (o->argc + 2 < (int)(sizeof(o->argv) / sizeof(*o->argv))) {
    o->argv[o->argc++] = name_of(c);
    o->argv[o->argc++] = arg;
  }
  return 1;
}
