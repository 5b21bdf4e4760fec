/* egressaudit - common/session.h: one observed SMTP session, as plain data.
 * capture/ fills it and hands it to a callback; the callee borrows it for the
 * duration of the call and copies what it keeps (store/ writes it to SQLite).
 * SPDX-License-Identifier: MIT
 */
#ifndef EA_SESSION_H
#define EA_SESSION_H

#include "common/limits.h"
#include "common/types.h"

/* Furthest stage the session reached, in order. */
enum sess_state {
  SESS_SYN_ONLY = 0, /* SYN(s) sent, nothing came back: port 25 blocked?    */
  SESS_REFUSED,      /* the SYN was answered by a RST                       */
  SESS_CONNECTED,    /* handshake done or payload seen, no banner            */
  SESS_BANNER,       /* the server's greeting was seen                       */
  SESS_HELO,         /* the client sent EHLO/HELO                            */
  SESS_MAIL,         /* the client sent MAIL FROM                            */
  SESS_TLS,          /* STARTTLS accepted: the rest is ciphertext            */
  SESS_CLOSED,       /* QUIT answered by 221                                 */
};

/* How the session ended. */
enum sess_end {
  END_FIN = 0, /* both sides sent FIN                                     */
  END_RST,     /* a reset                                                 */
  END_TIMEOUT, /* idle longer than the timeout, in packet time            */
  END_EOF,     /* the capture ended while the session was open            */
  END_EVICTED, /* the flow table was full and this was the oldest flow    */
};

/* How the client side was told apart. */
enum sess_dirby {
  DIRBY_SYN = 0, /* from the SYN                                          */
  DIRBY_SYNACK,  /* from the SYN-ACK (the SYN was not captured)          */
  DIRBY_PORT,    /* mid-stream: the side talking to the SMTP port        */
};

/* Whose connection this is, judged from "our side" (local networks and
 * interface addresses). */
enum sess_direction {
  DIR_UNKNOWN = 0, /* neither end is known to be ours                   */
  DIR_EGRESS,      /* the client is ours: mail we send                  */
  DIR_INBOUND,     /* the server is ours: mail others send to us        */
};

/* Which command a reply answers. */
enum smtp_cmd {
  CMD_NONE = 0, /* unknown: the capture started mid-dialogue             */
  CMD_CONNECT,  /* the greeting                                          */
  CMD_EHLO,
  CMD_HELO,
  CMD_MAIL,
  CMD_RCPT,
  CMD_DATA,     /* the 354, and the reply after the final dot            */
  CMD_BDAT,
  CMD_RSET,
  CMD_STARTTLS,
  CMD_AUTH,
  CMD_QUIT,
  CMD_OTHER,
  CMD_COUNT_
};

struct sess_reply {
  uint16_t code;        /* 200..599                                       */
  uint8_t cmd;          /* enum smtp_cmd answered                         */
  struct slice enhanced; /* "5.7.1", or len 0                             */
  struct slice text;    /* text after code and enhanced code; lines of a  */
                        /* multi-line reply joined by one space          */
};

/* Per-session anomaly counters (DESIGN.md). */
struct sess_anom {
  uint32_t overlong;   /* lines over SMTP_LINE_MAX, discarded              */
  uint32_t bare_lf;    /* LF without CR                                    */
  uint32_t bare_cr;    /* CR not followed by LF                            */
  uint32_t gaps;       /* bytes missing from the capture                  */
  uint32_t pipelined;  /* commands sent before the previous was answered   */
  uint32_t retrans;    /* segments carrying only bytes already seen       */
  uint32_t ooo;        /* segments that arrived out of order              */
  uint32_t bad_reply;  /* server lines that are not replies               */
  uint32_t replies_dropped; /* replies past the cap                        */
  uint32_t truncated;  /* texts cut because the session arena was full    */
  uint32_t fragments;  /* fragmented datagrams (their first fragments; the
                          payload is not reassembled: a gap in the dialogue) */
};

struct session {
  int64_t first_us, last_us; /* packet times, microseconds since epoch    */
  int64_t point;             /* capture point id, set by the capture owner */
  struct ea_addr src, dst;   /* client and server                          */
  uint16_t sport, dport;
  int32_t vlan;              /* outermost VLAN id, -1 when untagged        */
  uint8_t state;             /* enum sess_state                            */
  uint8_t end;               /* enum sess_end                              */
  uint8_t dirby;             /* enum sess_dirby                            */
  uint8_t direction;         /* enum sess_direction                        */
  uint8_t starttls_offered, starttls_requested, starttls_accepted;
  uint32_t pkts_c2s, pkts_s2c;
  uint64_t bytes_c2s, bytes_s2c; /* TCP payload bytes on the wire          */

  /* SMTP facts; slices have len 0 / p NULL when absent. */
  struct slice banner;       /* first line of the greeting, after the code */
  struct slice banner_host;  /* its first word: the receiver's name        */
  unsigned n_helo;
  struct slice helo[SMTP_HELO_MAX];
  uint8_t helo_cmd[SMTP_HELO_MAX]; /* CMD_EHLO or CMD_HELO               */
  struct slice ehlo_reply;   /* first line of the reply to the first EHLO  */
  struct ea_addr echoed;     /* client address the receiver quoted         */
  uint8_t echoed_from;       /* CMD_EHLO/HELO reply, or CMD_NONE: a reject */
  uint8_t has_mail;
  struct slice mail_domain;  /* domain of the first MAIL FROM, "" for <>  */
  unsigned n_replies;
  const struct sess_reply *replies;
  const struct sess_reply *last_reply; /* NULL when none                   */
  struct sess_anom anom;
};

const char *sess_state_name(unsigned st);
const char *sess_end_name(unsigned e);
const char *sess_dirby_name(unsigned d);
const char *sess_direction_name(unsigned d);
const char *smtp_cmd_name(unsigned c);
/* The value whose name (one of the functions above) is s, among 0..n-1;
 * -1 when none. */
int sess_name_parse(const char *(*name)(unsigned), unsigned n, const char *s);

#endif
