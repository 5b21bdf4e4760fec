/* egressaudit - logs/maillog.h: what the MTA's own log says about the
 * deliveries the wire cannot show (a reject after STARTTLS is ciphertext
 * on the wire, plain text in Postfix's log). One line at a time, no
 * allocation, every read bounded by the line's length; an unknown line is
 * counted by the caller, never an error.
 *
 * Line forms: RFC 3164 syslog ("Dec  2 14:02:11 host prog[pid]: msg", no
 * year or zone: the year is inferred from a reference time, across New
 * Year, and the zone given), RFC 5424 / ISO 8601 timestamps (rsyslog's
 * high-precision format, journalctl -o short-iso, Postfix's maillog_file).
 * Postfix delivery agents (smtp, lmtp): to=, relay=NAME[IP]:PORT,
 * conn_use=, delay=, delays=a/b/c/d, dsn=, status= (with the reply text
 * and the command it answered), "connect to NAME[IP]:PORT: ..." and the
 * TLS "... TLS connection established to NAME[IP]:PORT" lines. Exim's
 * mainlog: "=>" and "->" (delivered), "**" (bounced), "==" (deferred)
 * with H=NAME [IP]:PORT, I=[IP]:PORT, X=, C="..." and "SMTP error from
 * remote mail server after CMD: CODE TEXT".
 * SPDX-License-Identifier: MIT
 */
#ifndef EA_MAILLOG_H
#define EA_MAILLOG_H

#include <stddef.h>
#include <stdint.h>

enum ml_kind {
  ML_OTHER = 0,   /* a line of no interest (or not understood)           */
  ML_DELIVERY,    /* a delivery attempt's outcome (status=)              */
  ML_CONNECT,     /* a connection attempt that failed (timed out, ...)   */
  ML_TLS,         /* a TLS connection established to a relay             */
  ML_MESSAGE,     /* a message's id or sender (Postfix cleanup's
                     message-id=, qmgr's from=; Exim's "<=" with id=)     */
};

enum ml_status {
  MLS_NONE = 0,
  MLS_SENT,
  MLS_DEFERRED,
  MLS_BOUNCED,
  MLS_EXPIRED,
  MLS_OTHER,
};

#define ML_TEXT_MAX 512

struct ml_event {
  enum ml_kind kind;
  int64_t at_us;               /* the line's time (UTC)                   */
  char host[64];               /* the syslog host field                   */
  uint32_t pid;                /* the process of the syslog tag ([pid],
                                  journald's _PID); 0 when not given      */
  char queue_id[32];
  char rcpt_domain[256];       /* the domain of to=<...>                  */
  char relay_name[256];        /* relay=NAME[IP]:PORT (or connect to ...) */
  char relay_ip[48];
  uint16_t relay_port;
  int conn_use;                /* conn_use=N; 0 when not logged (1st use) */
  double delay;                /* delay=, seconds                         */
  double delays[4];            /* delays=a/b/c/d: queue, qmgr, connect,
                                  transmission                            */
  char dsn[16];
  enum ml_status status;
  int code;                    /* the reply's SMTP code, 0 when none       */
  char reply[ML_TEXT_MAX];     /* the reply text (after "said: ", or the
                                  whole status text), cut to fit          */
  char stage[24];              /* the command it answered: "RCPT TO",
                                  "MAIL FROM", "DATA", "end of DATA", ...  */
  char tls[64];                /* ML_TLS: "Trusted", "Untrusted", ...;
                                  Exim: X= (the cipher)                   */
  char src_ip[48];             /* Exim's I=[ip]:port (log_selector
                                  +outgoing_interface +outgoing_port): our
                                  end of the connection; "" unknown       */
  uint16_t src_port;
  char message_id[256];        /* ML_MESSAGE: the Message-ID, no <>       */
  char sender_domain[256];     /* ML_MESSAGE: the envelope sender's domain */
};

/* How to read times that carry no year or zone. */
struct ml_clock {
  int64_t now_us;              /* the reference: a time later than this by
                                  more than a day is last year's          */
  int32_t tz_offset_s;         /* the log's zone, seconds east of UTC      */
};

/* Read one line (without its line end; len bytes, not NUL-terminated).
 * Returns its kind and fills ev (ML_OTHER: ev holds nothing of use). */
enum ml_kind maillog_line(const char *line, size_t len,
                          const struct ml_clock *clk, struct ml_event *ev);

const char *ml_status_name(unsigned s);

#endif
