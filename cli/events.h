/* egressaudit - cli/events.h: `watch --events`, the fleet's stream out.
 * One JSON object a line per stored session (the keys of `sessions
 * --format jsonl`, plus "type" and "host") and per finding an analysis
 * opened or closed, to a file (logrotate renames it; SIGHUP reopens) and
 * to a syslog socket (journald's or rsyslog's /dev/log). The database
 * stays the source of truth: each sink remembers in it how far it has
 * written (event_cursors), so a slow or absent syslog daemon only delays
 * the stream, and a restart goes on from the last event written.
 * SPDX-License-Identifier: MIT
 */
#ifndef EA_EVENTS_H
#define EA_EVENTS_H

#include <stddef.h>
#include <stdint.h>

struct store;

enum events_syslog_fmt {
  EV_SYSLOG_LOCAL = 0, /* "<PRI>Mmm dd hh:mm:ss TAG[PID]: MSG", as
                          syslog(3) writes it: journald and rsyslog read it */
  EV_SYSLOG_5424,      /* RFC 5424: "<PRI>1 TIME HOST APP PID MSGID - MSG"
                          (rsyslog's imuxsock with useSpecialParser off,
                          syslog-ng); journald does not parse it           */
};

struct events_cfg {
  const char *file;     /* --events FILE, or NULL                          */
  const char *syslog;   /* --events-syslog SOCKET ("/dev/log"), or NULL    */
  enum events_syslog_fmt syslog_fmt;
  const char *host;     /* the "host" of every event (this host's name)    */
};

struct events;

/* Open the sinks and read where each stopped (a new sink starts at the
 * newest session and analysis: the history before is 'sessions --format
 * jsonl''s). 0, or a negative errno with err filled: the file cannot be
 * opened (a link, a directory, no permission). A syslog socket that is
 * not there yet is not an error: it is tried again at each pump. */
int events_open(struct events **out, struct store *st,
                const struct events_cfg *cfg, char *err, size_t errlen);

/* Write what was stored since the last pump (at most budget sessions per
 * sink) and remember it in the store (committed). Returns the number of
 * events written, or a negative errno when the store failed (err says
 * so). A sink that cannot take more (EAGAIN, a syslog daemon gone, disk
 * full) stops where it is, says why in *warn once, and is tried again
 * next time. */
int64_t events_pump(struct events *e, struct store *st, int64_t budget,
                    char *warn, size_t warnlen, char *err, size_t errlen);

/* SIGHUP: reopen the file (logrotate moved it) and reconnect the socket. */
int events_reopen(struct events *e, char *err, size_t errlen);

/* Events written, and sink failures, since open (the metrics). */
struct events_counts {
  uint64_t written, failures;
};
void events_counts(const struct events *e, struct events_counts *c);

void events_free(struct events *e);

#endif
