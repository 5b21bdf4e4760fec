/* egressaudit - capture/smtp.h: the SMTP dialogue of one TCP connection.
 * Fed the in-order bytes of each direction, it assembles lines (capped at
 * SMTP_LINE_MAX), matches pipelined commands to replies in order, and keeps
 * what an operator needs: banner, EHLO/HELO names, the reply to EHLO and the
 * client address echoed in it, MAIL FROM domain, STARTTLS, every reply code.
 * Parsing stops at the 220 that accepts STARTTLS and at the 221 to QUIT.
 * Fixed size: no allocation, whatever the input.
 * SPDX-License-Identifier: MIT
 */
#ifndef EA_SMTP_H
#define EA_SMTP_H

#include <stdbool.h>

#include "common/session.h"

enum { SMTP_C2S = 0, SMTP_S2C = 1 };

struct smtp_dir {
  uint32_t len;         /* bytes in buf                                    */
  uint32_t skip;        /* BDAT chunk bytes still to pass over            */
  uint8_t discard;      /* dropping bytes up to the next LF                */
  uint8_t resync;       /* after a gap: does the next byte start a line?  */
  char buf[SMTP_LINE_MAX];
};

struct smtp_cur {       /* the reply being assembled                      */
  uint16_t code;
  uint8_t active;
  uint8_t starttls;     /* a STARTTLS capability line was seen            */
  uint8_t enh_len;
  uint8_t truncated;
  uint16_t first_len;   /* text length of the first line                  */
  uint16_t len;
  char enh[16];
  char text[REPLY_TEXT_ERR_MAX];
};

struct smtp {
  struct smtp_dir dir[2];
  struct ea_addr server;   /* never taken for an echoed client address   */
  uint8_t done;            /* TLS or QUIT: nothing more to parse          */
  uint8_t data_mode;       /* the client is sending a message body        */
  uint8_t data_pending;    /* DATA sent, its reply not seen yet           */
  uint8_t body_early;      /* body taken as such before its 354 was seen  */
  uint8_t auth_cont;       /* next client line answers a 334 challenge    */
  uint8_t state;           /* furthest enum sess_state reached            */
  uint8_t pend[SMTP_PENDING_MAX];
  uint8_t pend_head, pend_n;
  struct smtp_cur cur;

  /* Facts, as slices into arena. */
  uint8_t starttls_offered, starttls_requested, starttls_accepted;
  uint8_t has_mail, has_ehlo_reply, has_last;
  uint8_t echoed_from;
  struct ea_addr echoed;
  struct slice banner, banner_host, ehlo_reply, mail_domain;
  unsigned n_helo;
  struct slice helo[SMTP_HELO_MAX];
  uint8_t helo_cmd[SMTP_HELO_MAX];
  unsigned n_replies;
  struct sess_reply replies[SMTP_REPLIES_HARD];
  struct sess_reply last;
  char last_enh[16];
  char last_text[REPLY_TEXT_ERR_MAX];
  struct sess_anom anom;
  size_t arena_used;
  char arena[SESSION_ARENA];
};

/* Reset s for a new connection to server. from_start is true when the
 * connection's start was captured, so the first reply is the greeting. */
void smtp_init(struct smtp *s, const struct ea_addr *server, bool from_start);

/* Feed n in-order bytes of one direction (SMTP_C2S or SMTP_S2C). Borrows p. */
void smtp_feed(struct smtp *s, int dir, const uint8_t *p, size_t n);

/* Bytes of one direction are missing: drop the partial line and resume at
 * the next one, or right away when the bytes after the hole plainly start a
 * reply ("ddd " / "ddd-") or a known command. */
void smtp_gap(struct smtp *s, int dir);

/* True once nothing after this point can be parsed (TLS or QUIT/221). */
static inline bool smtp_done(const struct smtp *s) { return s->done != 0; }

/* Fill the SMTP fields of out; out borrows s's memory. */
void smtp_view(const struct smtp *s, struct session *out);

/* Find the last bracketed address in text ("[1.2.3.4]", "[IPv6:...]",
 * "[2001:db8::1]") that differs from skip: Sendmail answers a literal
 * EHLO with "Hello [client's literal] [address seen]". Returns 0 and sets
 * *out, or -1. */
int smtp_find_echo(const char *text, size_t len, const struct ea_addr *skip,
                   struct ea_addr *out);

#endif
