/* egressaudit - cli/main.c: subcommand dispatch and shared helpers.
 * SPDX-License-Identifier: MIT
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/types.h"
#include "common/util.h"


const char *progname = "egressaudit";

void cli_err(const char *fmt, ...) {
  va_list ap;

  fprintf(stderr, "%s: ", progname);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

const char *cli_db_path(const char *opt) {
  static char buf[4096];
  const char *e;

  if (opt != NULL && *opt == '\0') {
    /* Storing nothing and exiting 0 would hide a broken script. */
    cli_err("--db: empty path (name the database file)");
    exit(EXIT_USAGE);
  }
  if (opt != NULL) return opt;
  if ((e = getenv("EGRESSAUDIT_DB")) != NULL && *e) return e;
  if (geteuid() == 0) return "/var/lib/egressaudit/egress.db";
  if ((e = getenv("XDG_STATE_HOME")) != NULL && *e)
    snprintf(buf, sizeof(buf), "%s/egressaudit/egress.db", e);
  else
    snprintf(buf, sizeof(buf), "%s/.local/state/egressaudit/egress.db",
             getenv("HOME") ? getenv("HOME") : ".");
  return buf;
}

int cli_time_opt(const char *cmd, int is_since, const char *arg, int64_t now,
                 int64_t *us) {
  if (time_parse(arg, now, us) == 0) return 0;
  cli_err("%s: --%s: '%s' is neither an RFC 3339 time nor a span like 90m,"
          " 24h, 7d", cmd, is_since ? "since" : "until", arg);
  return -1;
}

int cli_exit_for(int rc) {
  switch (-rc) {
  case 0: return 0;
  case ENOENT: return EXIT_NOINPUT;
  case EACCES:
  case EPERM:
  case ELOOP:  /* a symbolic link planted at one of our names */
  case EMLINK: /* a hard link planted there */
    return EXIT_NOPERM;
  case EWOULDBLOCK: return EXIT_TEMPFAIL;
  case EINVAL:
  case ENOTSUP:
  case EISDIR: return EXIT_DATAERR;
  case EROFS:
  case ENOSPC: return EXIT_CANTCREAT;
  default: return EXIT_IOERR;
  }
}

static void usage(FILE *f) {
  fprintf(f,
          "Usage: %s COMMAND [OPTIONS] [ARGS]\n"
          "\n"
          "Audit the identity your outbound mail really shows: which source\n"
          "address, EHLO name and TLS each SMTP session used, what receivers\n"
          "answered, and which address they saw.\n"
          "\n"
          "Commands:\n"
          "  read FILE...     ingest pcap/pcapng captures ('-' = stdin)\n"
          "  watch -i IFACE   capture live, record sessions as they end\n"
          "  sessions         print the recorded sessions (filters, text/jsonl/csv)\n"
          "  analyze          resolve the egress identities, store findings\n"
          "  check IP...      check addresses now (PTR, FCrDNS, HELO), no database\n"
          "  preflight ADDR|CIDR...  the checklist before an address sends\n"
          "  probe ADDR       an SMTP session from here: banner, EHLO, the echo\n"
          "  report           the audit: identities, findings, what to do\n"
          "  history IP|NAME  timeline of one identity (forensics)\n"
          "  prune            delete history older than --older-than DUR\n"
          "\n"
          "Every command takes --db PATH (default $EGRESSAUDIT_DB, else\n"
          "/var/lib/egressaudit/egress.db for root, else\n"
          "$XDG_STATE_HOME/egressaudit/egress.db) and --help.\n"
          "\n"
          "Exit codes: 0 ok, 64 usage, 65 bad input data, 66 input missing,\n"
          "73 cannot create output, 74 I/O error, 77 permission denied.\n",
          progname);
}

int main(int argc, char **argv) {
  static const struct {
    const char *name;
    int (*fn)(int, char **);
  } cmds[] = {{"read", cmd_read},
               {"sessions", cmd_sessions},
               {"analyze", cmd_analyze},
               {"check", cmd_check},
               {"preflight", cmd_preflight},
               {"probe", cmd_probe},
               {"report", cmd_report},
               {"history", cmd_history},
               {"prune", cmd_prune},
               {"watch", cmd_watch}};
  size_t i;

  if (argc < 2) {
    usage(stderr);
    return EXIT_USAGE;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
      strcmp(argv[1], "help") == 0) {
    usage(stdout);
    return 0;
  }
  if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
    printf("egressaudit %s\n", EA_VERSION);
    return 0;
  }
  for (i = 0; i < ARRAY_SIZE(cmds); i++)
    if (strcmp(argv[1], cmds[i].name) == 0) return cmds[i].fn(argc - 1, argv + 1);
  cli_err("unknown command '%s' (try '%s --help')", argv[1], progname);
  return EXIT_USAGE;
}
