/* egressaudit - cli/maillog.h: `read --maillog`.
 * SPDX-License-Identifier: MIT
 */
#ifndef EA_CLI_MAILLOG_H
#define EA_CLI_MAILLOG_H

#include <stddef.h>
#include <stdint.h>

struct store;
struct ml_clock;

#define ML_TLS_SEEN 16

/* What the lines of a log were; and what they told that a later line
 * needs: Postfix logs a connection's TLS on a line of its own, before the
 * delivery that the same process then makes over it. */
struct ml_counts {
  uint64_t lines, deliveries, connects, tls, messages, other, stored, cut;
  struct {
    uint32_t pid;
    char host[64], relay_ip[48], tls[96];
    uint16_t relay_port;
  } tls_seen[ML_TLS_SEEN]; /* by pid modulo ML_TLS_SEEN                */
};

/* The log's zone: "UTC", "local" (or NULL: this machine's), "+01:00",
 * "-0500". 0, or -1 when not one of these. */
int maillog_tz_parse(const char *s, int32_t *off);

/* One line (len bytes, its line end or not) into the database: a
 * delivery attempt, a failed connection, or a message's id or sender is
 * stored (in the write batch); anything else only counted. 0, or a
 * negative errno (store_errmsg says). */
int maillog_ingest(struct store *st, const char *line, size_t len,
                   const struct ml_clock *clk, struct ml_counts *n);

/* Read the mail log files into the database db; returns the exit code. */
int read_maillog(const char *db, int quiet, const char *tz, int nfiles,
                 char **files);

/* history --queue-id / --to / --message-id: the attempts with the egress address and
 * EHLO name of the session each rode on. Returns the exit code. */
int maillog_history(struct store *st, const char *queue_id, const char *domain,
                    const char *message_id, int64_t since, int64_t until,
                    int json);

#endif
