/* egressaudit - cli/maillog.h: `read --maillog`.
 * SPDX-License-Identifier: MIT
 */
#ifndef EA_CLI_MAILLOG_H
#define EA_CLI_MAILLOG_H

#include <stdint.h>

/* The log's zone: "UTC", "local" (or NULL: this machine's), "+01:00",
 * "-0500". 0, or -1 when not one of these. */
int maillog_tz_parse(const char *s, int32_t *off);

/* Read the mail log files into the database db; returns the exit code. */
int read_maillog(const char *db, int quiet, const char *tz, int nfiles,
                 char **files);

struct store;
/* history --queue-id / --to / --message-id: the attempts with the egress address and
 * EHLO name of the session each rode on. Returns the exit code. */
int maillog_history(struct store *st, const char *queue_id, const char *domain,
                    const char *message_id, int64_t since, int64_t until,
                    int json);

#endif
