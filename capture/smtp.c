/* egressaudit - capture/smtp.c: SMTP dialogue extraction (RFC 5321).
 * Commands and replies are matched in order, which is what pipelining
 * (RFC 2920) guarantees. Replies are "ddd-" continuation or "ddd " final
 * lines (RFC 5321 4.2.1); enhanced status codes per RFC 3463.
 * SPDX-License-Identifier: MIT
 */
#include "capture/smtp.h"

#include <string.h>
#include <strings.h>

#include "common/util.h"

void smtp_init(struct smtp *s, const struct ea_addr *server, bool from_start) {
  memset(s, 0, sizeof(*s));
  s->server = *server;
  s->state = SESS_CONNECTED;
  if (from_start) {
    s->pend[0] = CMD_CONNECT;
    s->pend_n = 1;
  }
}

/* Copy up to max bytes into the arena; counts a truncation when it runs out
 * of room. The slice borrows the arena. */
static struct slice arena_put(struct smtp *s, const char *p, size_t len,
                              size_t max) {
  struct slice sl;
  size_t room = sizeof(s->arena) - s->arena_used;

  if (len > max) len = max;
  if (len > room) {
    len = room;
    s->anom.truncated++;
  }
  sl.p = s->arena + s->arena_used;
  sl.len = len;
  memcpy(s->arena + s->arena_used, p, len);
  s->arena_used += len;
  return sl;
}

static void state_at_least(struct smtp *s, unsigned st) {
  if (s->state < st) s->state = (uint8_t)st;
}

static void pend_push(struct smtp *s, uint8_t cmd) {
  if (s->pend_n > 0 && s->pend[s->pend_head] != CMD_CONNECT)
    s->anom.pipelined++;
  if (s->pend_n == SMTP_PENDING_MAX) return; /* not answered in order anyway */
  s->pend[(s->pend_head + s->pend_n) % SMTP_PENDING_MAX] = cmd;
  s->pend_n++;
}

static uint8_t pend_pop(struct smtp *s) {
  uint8_t c;

  if (s->pend_n == 0) return CMD_NONE;
  c = s->pend[s->pend_head];
  s->pend_head = (uint8_t)((s->pend_head + 1) % SMTP_PENDING_MAX);
  s->pend_n--;
  return c;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* Length of an enhanced status code "c.sss.ddd" at the start of p (followed
 * by a space or the end), or 0. RFC 3463 2: class 2, 4 or 5; subject and
 * detail of 1 to 3 digits. */
static size_t enhanced_len(const char *p, size_t len) {
  size_t i = 0, n;
  int part;

  if (len < 5 || (p[0] != '2' && p[0] != '4' && p[0] != '5') || p[1] != '.')
    return 0;
  i = 2;
  for (part = 0; part < 2; part++) {
    for (n = 0; i < len && is_digit(p[i]) && n < 3; i++) n++;
    if (n == 0) return 0;
    if (part == 0) {
      if (i >= len || p[i] != '.') return 0;
      i++;
    }
  }
  if (i < len && p[i] != ' ') return 0;
  return i;
}

int smtp_find_echo(const char *text, size_t len, const struct ea_addr *skip,
                   struct ea_addr *out) {
  return addr_find_bracketed_last(text, len, skip, out);
}

/* Keep a finished reply: in the list while there is room, and always as the
 * session's last reply. */
static void reply_keep(struct smtp *s, uint8_t cmd) {
  struct smtp_cur *c = &s->cur;
  struct sess_reply *r;
  size_t cap = c->code >= 400 ? REPLY_TEXT_ERR_MAX : REPLY_TEXT_OK_MAX;

  if (s->n_replies < SMTP_REPLIES_MAX ||
      (c->code >= 400 && s->n_replies < SMTP_REPLIES_HARD)) {
    r = &s->replies[s->n_replies++];
    r->code = c->code;
    r->cmd = cmd;
    r->enhanced = arena_put(s, c->enh, c->enh_len, sizeof(c->enh));
    r->text = arena_put(s, c->text, c->len, cap);
    if (c->truncated) s->anom.truncated++;
  } else {
    s->anom.replies_dropped++;
  }
  s->last.code = c->code;
  s->last.cmd = cmd;
  memcpy(s->last_enh, c->enh, c->enh_len);
  s->last.enhanced.p = s->last_enh;
  s->last.enhanced.len = c->enh_len;
  memcpy(s->last_text, c->text, c->len);
  s->last.text.p = s->last_text;
  s->last.text.len = c->len;
  s->has_last = 1;
}

/* A complete reply: match it to the oldest unanswered command and act. */
static void reply_done(struct smtp *s) {
  struct smtp_cur *c = &s->cur;
  uint8_t cmd;
  size_t w;

  c->active = 0;
  if (c->code == 334 && s->pend_n > 0 && s->pend[s->pend_head] == CMD_AUTH) {
    s->auth_cont = 1; /* RFC 4954 4: the exchange goes on */
    cmd = CMD_AUTH;
  } else {
    cmd = pend_pop(s);
  }
  if (cmd == CMD_CONNECT && s->banner.p == NULL) {
    s->banner = arena_put(s, c->text, c->first_len, REPLY_TEXT_ERR_MAX);
    for (w = 0; w < s->banner.len && s->banner.p[w] != ' '; w++)
      ;
    s->banner_host.p = s->banner.p;
    s->banner_host.len = w;
    state_at_least(s, SESS_BANNER);
  }
  if ((cmd == CMD_EHLO || cmd == CMD_HELO) && !s->has_ehlo_reply) {
    s->has_ehlo_reply = 1;
    s->ehlo_reply = arena_put(s, c->text, c->first_len, REPLY_TEXT_OK_MAX);
    if (s->echoed.family == 0 &&
        smtp_find_echo(c->text, c->first_len, &s->server, &s->echoed) == 0)
      s->echoed_from = cmd;
  }
  if (cmd == CMD_EHLO && c->code == 250 && c->starttls)
    s->starttls_offered = 1;
  if (c->code >= 400 && s->echoed.family == 0 &&
      smtp_find_echo(c->text, c->len, &s->server, &s->echoed) == 0)
    s->echoed_from = CMD_NONE;
  reply_keep(s, cmd);
  if (cmd == CMD_DATA) {
    /* A 354 starts the body, unless the body was already taken as such
     * (then the client did not wait for it). */
    if (c->code == 354 && !s->body_early) s->data_mode = 1;
    s->data_pending = 0;
    s->body_early = 0;
  }
  if (cmd == CMD_STARTTLS && c->code == 220) {
    s->starttls_accepted = 1;
    state_at_least(s, SESS_TLS);
    s->done = 1; /* RFC 3207 4: TLS negotiation starts right after */
  }
  if (cmd == CMD_QUIT && c->code == 221) {
    state_at_least(s, SESS_CLOSED);
    s->done = 1;
  }
}

static void cur_append(struct smtp_cur *c, const char *p, size_t len) {
  size_t room = sizeof(c->text) - c->len;

  if (len > room) {
    len = room;
    c->truncated = 1;
  }
  memcpy(c->text + c->len, p, len);
  c->len = (uint16_t)(c->len + len);
}

static void server_line(struct smtp *s, const char *l, size_t len) {
  struct smtp_cur *c = &s->cur;
  uint16_t code;
  bool final;
  size_t e;

  if (len < 3 || l[0] < '2' || l[0] > '5' || !is_digit(l[1]) ||
      !is_digit(l[2]) || (len > 3 && l[3] != ' ' && l[3] != '-')) {
    s->anom.bad_reply++;
    return;
  }
  code = (uint16_t)((l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0'));
  final = len == 3 || l[3] == ' ';
  l += MIN(len, 4);
  len -= MIN(len, 4);
  if (c->active && c->code != code) {
    s->anom.bad_reply++; /* the continuation changed code: close it */
    reply_done(s);
  }
  e = enhanced_len(l, len);
  if (!c->active) {
    c->active = 1;
    c->code = code;
    c->starttls = 0;
    c->truncated = 0;
    c->len = 0;
    c->enh_len = (uint8_t)MIN(e, sizeof(c->enh));
    memcpy(c->enh, l, c->enh_len);
    if (e > 0) e += e < len; /* and the space after it */
    cur_append(c, l + e, len - e);
    c->first_len = c->len;
  } else {
    /* Continuation: drop a repeated enhanced code, join with a space. */
    if (e > 0 && e == c->enh_len && memcmp(l, c->enh, e) == 0)
      e += e < len;
    else
      e = 0;
    if (len - e == 8 && strncasecmp(l + e, "STARTTLS", 8) == 0)
      c->starttls = 1;
    cur_append(c, " ", 1);
    cur_append(c, l + e, len - e);
  }
  if (final) reply_done(s);
}

/* Argument of a command: the first word after the verb. */
static struct slice first_arg(const char *l, size_t len, size_t verb) {
  struct slice a;
  size_t i = verb, j;

  while (i < len && l[i] == ' ') i++;
  for (j = i; j < len && l[j] != ' '; j++)
    ;
  a.p = l + i;
  a.len = j - i;
  return a;
}

static void mail_from(struct smtp *s, const char *l, size_t len) {
  size_t i, lt = len, gt = len, at = len;

  s->has_mail = 1;
  for (i = 0; i < len; i++) {
    if (l[i] == '<' && lt == len) lt = i;
    else if (l[i] == '>' && lt != len) {
      gt = i;
      break;
    } else if (l[i] == '@' && lt != len) at = i;
  }
  if (lt == len || gt == len || at == len) {
    s->mail_domain = arena_put(s, "", 0, 0); /* null sender, or malformed */
    return;
  }
  s->mail_domain = arena_put(s, l + at + 1, gt - at - 1, SMTP_DOMAIN_MAX);
}

static const struct {
  const char *verb;
  uint8_t cmd;
} VERBS[] = {
    {"EHLO", CMD_EHLO}, {"HELO", CMD_HELO},         {"MAIL", CMD_MAIL},
    {"RCPT", CMD_RCPT}, {"DATA", CMD_DATA},         {"BDAT", CMD_BDAT},
    {"RSET", CMD_RSET}, {"STARTTLS", CMD_STARTTLS}, {"AUTH", CMD_AUTH},
    {"QUIT", CMD_QUIT},
};

static void client_line(struct smtp *s, const char *l, size_t len) {
  size_t v, i;
  uint8_t cmd = CMD_OTHER;
  struct slice a;

  if (!s->data_mode && s->data_pending) {
    /* The client sends the body only after 354 (RFC 5321 4.1.1.4, RFC
     * 2920 3.1): a line while the reply to DATA is unseen is the body, the
     * 354 lost to the capture. Never a command: a body line "EHLO x"
     * must not become an EHLO name. Its end pairs with the DATA pending. */
    s->data_mode = 1;
    s->body_early = 1;
  }
  if (s->data_mode) {
    /* RFC 5321 4.5.2: a line holding a single dot ends the body. */
    if (len == 1 && l[0] == '.') {
      s->data_mode = 0;
      if (!s->body_early) pend_push(s, CMD_DATA);
    }
    return;
  }
  if (s->auth_cont) {
    s->auth_cont = 0; /* a SASL response, not a command: never kept */
    return;
  }
  for (v = 0; v < len && l[v] != ' '; v++)
    ;
  if (v == 0) return;
  for (i = 0; i < ARRAY_SIZE(VERBS); i++) {
    if (strlen(VERBS[i].verb) == v && strncasecmp(l, VERBS[i].verb, v) == 0) {
      cmd = VERBS[i].cmd;
      break;
    }
  }
  switch (cmd) {
  case CMD_EHLO:
  case CMD_HELO:
    a = first_arg(l, len, v);
    if (s->n_helo < SMTP_HELO_MAX) {
      s->helo[s->n_helo] = arena_put(s, a.p, a.len, SMTP_DOMAIN_MAX);
      s->helo_cmd[s->n_helo++] = cmd;
    }
    state_at_least(s, SESS_HELO);
    break;
  case CMD_MAIL:
    if (!s->has_mail) mail_from(s, l, len);
    state_at_least(s, SESS_MAIL);
    break;
  case CMD_STARTTLS:
    s->starttls_requested = 1;
    break;
  case CMD_BDAT: {
    /* RFC 3030 2: "BDAT size [LAST]", then exactly size octets of data. */
    uint64_t n = 0;
    a = first_arg(l, len, v);
    for (i = 0; i < a.len && is_digit(a.p[i]) && n < UINT32_MAX; i++)
      n = n * 10 + (uint64_t)(a.p[i] - '0');
    s->dir[SMTP_C2S].skip = (uint32_t)MIN(n, UINT32_MAX);
    break;
  }
  case CMD_DATA:
    s->data_pending = 1;
    break;
  default:
    break;
  }
  pend_push(s, cmd);
}

static void line_done(struct smtp *s, int dir, char *l, size_t len) {
  /* len counts the LF. */
  len--;
  if (len > 0 && l[len - 1] == '\r') len--;
  else if (!(dir == SMTP_C2S && s->data_mode)) s->anom.bare_lf++;
  if (memchr(l, '\r', len) != NULL) s->anom.bare_cr++;
  if (dir == SMTP_C2S) client_line(s, l, len);
  else server_line(s, l, len);
}

/* After a gap: do these bytes begin a line? */
static bool line_start(const struct smtp *s, int dir, const uint8_t *p,
                       size_t n) {
  size_t i, v;

  if (dir == SMTP_S2C)
    return n >= 4 && p[0] >= '2' && p[0] <= '5' && is_digit((char)p[1]) &&
           is_digit((char)p[2]) && (p[3] == ' ' || p[3] == '-' || p[3] == '\r');
  if (s->data_mode) return false;
  for (i = 0; i < ARRAY_SIZE(VERBS); i++) {
    v = strlen(VERBS[i].verb);
    if (n > v && strncasecmp((const char *)p, VERBS[i].verb, v) == 0 &&
        (p[v] == ' ' || p[v] == '\r'))
      return true;
  }
  return false;
}

/* Does a reply line start here: a code 2xx-5xx, then end, ' ' or '-'? */
static bool reply_start(const char *b, size_t len) {
  return len >= 3 && b[0] >= '2' && b[0] <= '5' && is_digit(b[1]) &&
         is_digit(b[2]) && (len == 3 || b[3] == ' ' || b[3] == '-');
}

void smtp_feed(struct smtp *s, int dir, const uint8_t *p, size_t n) {
  struct smtp_dir *d = &s->dir[dir];
  const uint8_t *nl;
  size_t take;

  while (n > 0 && !s->done) {
    if (d->skip > 0) {
      take = MIN((size_t)d->skip, n);
      d->skip -= (uint32_t)take;
      p += take;
      n -= take;
      continue;
    }
    if (d->resync) {
      d->resync = 0;
      if (line_start(s, dir, p, n)) d->discard = 0;
    }
    nl = memchr(p, '\n', n);
    take = nl != NULL ? (size_t)(nl - p) + 1 : n;
    if (d->discard) {
      if (nl != NULL) d->discard = 0;
    } else if (d->len + take > sizeof(d->buf)) {
      /* RFC 5321 4.5.3.1: too long. Count it. A reply keeps its first
       * bytes, marked truncated (its code and the start of its text carry
       * the reason, and every later reply must still pair with its
       * command); a command is dropped: half a host name would mislead. */
      if (!(dir == SMTP_C2S && s->data_mode)) s->anom.overlong++;
      if (dir == SMTP_S2C) {
        size_t room = sizeof(d->buf) - d->len;
        memcpy(d->buf + d->len, p, room);
        d->len = 0;
        if (reply_start(d->buf, sizeof(d->buf))) {
          s->anom.truncated++;
          server_line(s, d->buf, sizeof(d->buf));
        }
      }
      d->len = 0;
      if (nl == NULL) d->discard = 1;
    } else {
      memcpy(d->buf + d->len, p, take);
      d->len += (uint32_t)take;
      if (nl != NULL) {
        size_t len = d->len;
        d->len = 0;
        line_done(s, dir, d->buf, len);
      }
    }
    p += take;
    n -= take;
  }
}

void smtp_gap(struct smtp *s, int dir) {
  struct smtp_dir *d = &s->dir[dir];

  s->anom.gaps++;
  /* A reply cut by the hole still tells its code (and the start of its
   * text): keep it, marked truncated, so that replies stay matched to their
   * commands. A cut command is dropped: half a host name would mislead. */
  if (dir == SMTP_S2C && !d->discard && !s->done &&
      reply_start(d->buf, d->len)) {
    s->anom.truncated++;
    server_line(s, d->buf, d->len);
  }
  /* We cannot tell where the next line starts: resume after the next LF. */
  d->skip = 0;
  d->len = 0;
  d->discard = 1;
  d->resync = 1;
}

void smtp_view(const struct smtp *s, struct session *out) {
  unsigned i;

  if (out->state < s->state) out->state = s->state;
  out->starttls_offered = s->starttls_offered;
  out->starttls_requested = s->starttls_requested;
  out->starttls_accepted = s->starttls_accepted;
  out->banner = s->banner;
  out->banner_host = s->banner_host;
  out->n_helo = s->n_helo;
  for (i = 0; i < s->n_helo; i++) {
    out->helo[i] = s->helo[i];
    out->helo_cmd[i] = s->helo_cmd[i];
  }
  out->ehlo_reply = s->has_ehlo_reply ? s->ehlo_reply : (struct slice){0};
  out->echoed = s->echoed;
  out->echoed_from = s->echoed_from;
  out->has_mail = s->has_mail;
  out->mail_domain = s->mail_domain;
  out->n_replies = s->n_replies;
  out->replies = s->replies;
  out->last_reply = s->has_last ? &s->last : NULL;
  out->anom.overlong = s->anom.overlong;
  out->anom.bare_lf = s->anom.bare_lf;
  out->anom.bare_cr = s->anom.bare_cr;
  out->anom.gaps = s->anom.gaps;
  out->anom.pipelined = s->anom.pipelined;
  out->anom.bad_reply = s->anom.bad_reply;
  out->anom.replies_dropped = s->anom.replies_dropped;
  out->anom.truncated = s->anom.truncated;
}
