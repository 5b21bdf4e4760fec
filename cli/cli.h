/* egressaudit - cli/cli.h: shared helpers of the subcommands.
 * SPDX-License-Identifier: MIT
 */
#ifndef EA_CLI_H
#define EA_CLI_H

#include <stdbool.h>
#include <stdint.h>

#ifndef EA_VERSION
#define EA_VERSION "0.1.0"
#endif

extern const char *progname;

/* Print "egressaudit: <message>" to stderr. */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The database path: --db, $EGRESSAUDIT_DB, /var/lib/egressaudit/egress.db
 * for root, else $XDG_STATE_HOME/egressaudit/egress.db. An empty --db is a
 * usage error: prints it and exits 64. */
const char *cli_db_path(const char *opt);

/* Parse the value of --since (is_since) or --until for command cmd into
 * *us: RFC 3339 or a span back from now. Prints the error; -1 when bad. */
int cli_time_opt(const char *cmd, int is_since, const char *arg, int64_t now,
                 int64_t *us);

/* Map a negative errno from a module to a sysexits code. */
int cli_exit_for(int rc);

int cmd_read(int argc, char **argv);
int cmd_sessions(int argc, char **argv);
int cmd_analyze(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_preflight(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_history(int argc, char **argv);
int cmd_prune(int argc, char **argv);
int cmd_watch(int argc, char **argv);

#endif
