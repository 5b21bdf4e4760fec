/* egressaudit - cli/opts.h: the analysis options every command that
 * resolves shares (analyze, check, watch, report --analyze): one parser,
 * one help text, the same limits and messages everywhere.
 * SPDX-License-Identifier: MIT
 */
#ifndef EA_CLI_OPTS_H
#define EA_CLI_OPTS_H

#include "analyzer/analyzer.h"
#include "common/netset.h"

#define RESOLVERS_MAX 8

/* getopt_long codes, above every short option letter. */
enum {
  OPT_RESOLVER = 0x100,
  OPT_DNS_TIMEOUT,
  OPT_EXPECT_EGRESS,
  OPT_MAX_AGE,
  OPT_MAX_INFLIGHT,
  OPT_COMPARE,
};

/* DNS: what check takes; ANALYSIS: also the cache and load options. */
#define DNS_LONGOPTS                                                         \
  {"resolver", required_argument, NULL, OPT_RESOLVER},                       \
      {"dns-timeout", required_argument, NULL, OPT_DNS_TIMEOUT},             \
      {"expect-egress", required_argument, NULL, OPT_EXPECT_EGRESS},         \
      {"compare", no_argument, NULL, OPT_COMPARE}
#define ANALYSIS_LONGOPTS                                                    \
  DNS_LONGOPTS, {"max-age", required_argument, NULL, OPT_MAX_AGE},           \
      {"max-inflight", required_argument, NULL, OPT_MAX_INFLIGHT}

#define DNS_HELP                                                             \
  "  --resolver ADDR[:PORT] DNS server to ask (repeatable, at most 8; IPv6\n" \
  "                       as [ADDR]:PORT); default: the system's resolvers\n" \
  "  --dns-timeout MS     first-try timeout per query (default 2000)\n"      \
  "  --expect-egress CIDR addresses mail may leave from (repeatable):\n"     \
  "                       anything else is a nat-surprise\n"               \
  "  --compare            ask every --resolver (two or more) each question:\n" \
  "                       answers that differ are a dns-split-view finding;\n" \
  "                       the verdicts are the first resolver's\n"
#define ANALYSIS_HELP                                                        \
  DNS_HELP                                                                   \
  "  --max-age DUR        reuse cached answers at most this old (default:\n" \
  "                       their TTL; 0 asks again now)\n"                     \
  "  --max-inflight N     queries in flight at once (default 256)\n"

/* The configuration file: Debian's /etc/default/egressaudit (the units
 * read it too), $EGRESSAUDIT_CONF instead when set. Its variable
 * EGRESSAUDIT_ANALYSIS_OPTS holds analysis options for every command
 * that resolves; the command line overrides them. */
#define CONF_PATH "/etc/default/egressaudit"
#define CONF_VAR "EGRESSAUDIT_ANALYSIS_OPTS"
#define CONF_MAX 4096

/* The options as given, and the analysis configuration they make. */
struct analysis_opts {
  const char *servers[RESOLVERS_MAX];
  unsigned n;
  char conf[CONF_MAX];          /* the variable's value, split in place  */
  int conf_resolvers, conf_expect; /* set from the file, not yet replaced */
  int loading;                  /* reading the file: nothing to hand on  */
  struct netset expect;
  struct analyzer_cfg cfg;
  /* As given, to hand on to another command (report --analyze). */
  const char *argv[4 * RESOLVERS_MAX + 64];
  int argc;
};

/* Defaults: all sessions, the cache trusted for the answers' TTL. */
void analysis_opts_init(struct analysis_opts *o);

/* Read the analysis options of the configuration file into o (after
 * analysis_opts_init, before the command line): 0 (also when there is no
 * file), or EXIT_CONFIG after a message naming the file and the value. */
int analysis_opts_conf(struct analysis_opts *o, const char *cmd);

/* After the options: what needs them all (--compare wants two resolvers
 * or more). 0, or EXIT_USAGE after a message naming cmd. */
int analysis_opts_check(struct analysis_opts *o, const char *cmd);

/* Take option c with its argument arg when it is one of the above:
 * 1 taken, 0 not ours, -1 a bad value (the message, naming cmd, printed).
 * A --resolver or --expect-egress given replaces the file's. */
int analysis_opt(struct analysis_opts *o, int c, const char *arg,
                 const char *cmd);

#endif
