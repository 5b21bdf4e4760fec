/* egressaudit - cli/opts.c: see opts.h.
 * SPDX-License-Identifier: MIT
 */
#define _POSIX_C_SOURCE 200809L
#include "cli/opts.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/resolver.h"
#include "cli/cli.h"
#include "common/conf.h"
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
  case OPT_COMPARE: return "--compare";
  default: return "--max-inflight";
  }
}

int analysis_opt(struct analysis_opts *o, int c, const char *arg,
                 const char *cmd) {
  char *end;
  long v;

  switch (c) {
  case OPT_RESOLVER:
    if (o->conf_resolvers && !o->loading) {
      o->n = 0; /* the command line's, not the file's */
      o->conf_resolvers = 0;
    }
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
    if (o->conf_expect && !o->loading) {
      memset(&o->expect, 0, sizeof(o->expect));
      o->conf_expect = 0;
    }
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
  case OPT_COMPARE:
    o->cfg.compare = 1;
    break;
  default:
    return 0;
  }
  if (o->loading) {
    o->conf_resolvers |= c == OPT_RESOLVER;
    o->conf_expect |= c == OPT_EXPECT_EGRESS;
    return 1; /* another command reads the file itself */
  }
  if (o->argc + 2 < (int)(sizeof(o->argv) / sizeof(*o->argv))) {
    o->argv[o->argc++] = name_of(c);
    if (arg != NULL) o->argv[o->argc++] = arg;
  }
  return 1;
}

int analysis_opts_check(struct analysis_opts *o, const char *cmd) {
  if (o->cfg.compare && o->n < 2) {
    cli_err("%s: --compare needs two --resolver or more (it asks each and "
            "compares their answers)", cmd);
    return EXIT_USAGE;
  }
  return 0;
}

int analysis_opts_conf(struct analysis_opts *o, const char *cmd) {
  const char *path = getenv("EGRESSAUDIT_CONF");
  char text[65536], *w[64];
  size_t len;
  int nw, i, c;
  FILE *f;

  if (path == NULL) path = CONF_PATH;
  if (path[0] == '\0') return 0;
  f = fopen(path, "re");
  if (f == NULL) {
    if (errno == ENOENT) return 0;
    cli_err("%s: %s: %s", cmd, path, strerror(errno));
    return EXIT_CONFIG;
  }
  len = fread(text, 1, sizeof(text), f);
  c = ferror(f) || !feof(f);
  fclose(f);
  if (c) {
    cli_err("%s: %s: %s", cmd, path,
            len == sizeof(text) ? "larger than 64 KiB" : "read error");
    return EXIT_CONFIG;
  }
  if (!conf_find(text, len, CONF_VAR, o->conf, sizeof(o->conf))) return 0;
  if ((nw = conf_split(o->conf, w, 64)) < 0) {
    cli_err("%s: %s: %s has more than 64 words", cmd, path, CONF_VAR);
    return EXIT_CONFIG;
  }
  o->loading = 1;
  for (i = 0; i < nw; i++) {
    static const struct {
      const char *name;
      int code;
    } names[] = {{"--resolver", OPT_RESOLVER},
                 {"--dns-timeout", OPT_DNS_TIMEOUT},
                 {"--expect-egress", OPT_EXPECT_EGRESS},
                 {"--max-age", OPT_MAX_AGE},
                 {"--max-inflight", OPT_MAX_INFLIGHT},
                 {"--compare", OPT_COMPARE}};
    const char *val = NULL;
    size_t k, nl;
    for (k = 0; k < sizeof(names) / sizeof(*names); k++) {
      nl = strlen(names[k].name);
      if (strncmp(w[i], names[k].name, nl) != 0) continue;
      if (names[k].code == OPT_COMPARE) {
        if (w[i][nl] != '\0') continue;
        val = ""; /* a flag */
      } else if (w[i][nl] == '=') val = w[i] + nl + 1;
      else if (w[i][nl] == '\0' && i + 1 < nw) val = w[++i];
      else continue;
      break;
    }
    if (k == sizeof(names) / sizeof(*names) || val == NULL) {
      o->loading = 0;
      cli_err("%s: %s: %s: '%s' is not an analysis option with its value"
              " (--resolver, --dns-timeout, --expect-egress, --max-age,"
              " --max-inflight, --compare)", cmd, path, CONF_VAR, w[i]);
      return EXIT_CONFIG;
    }
    if (analysis_opt(o, names[k].code, val, cmd) < 0) {
      o->loading = 0;
      cli_err("%s: the value above is in %s (%s)", cmd, path, CONF_VAR);
      return EXIT_CONFIG;
    }
  }
  o->loading = 0;
  return 0;
}
