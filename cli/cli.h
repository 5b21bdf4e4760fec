/* egressaudit - cli/cli.h: shared helpers of the subcommands.
 * SPDX-License-Identifier: MIT
 */
#ifndef EA_CLI_H
#define EA_CLI_H

#include <stdbool.h>
#include <stdint.h>

extern const char *progname;

/* Print "egressaudit: <message>" to stderr. */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The database path: --db, $EGRESSAUDIT_DB, /var/lib/egressaudit/egress.db
 * for root, else $XDG_STATE_HOME/egressaudit/egress.db. */
const char *cli_db_path(const char *opt);

/* Map a negative errno from a module to a sysexits code. */
int cli_exit_for(int rc);

int cmd_read(int argc, char **argv);
int cmd_sessions(int argc, char **argv);
int cmd_analyze(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_history(int argc, char **argv);
int cmd_prune(int argc, char **argv);
int cmd_watch(int argc, char **argv);

#endif
