/* egressaudit - logs/maillog.c: see maillog.h. A cursor over the line;
 * every step checks the end first. The formats are Postfix's (smtp(8),
 * lmtp(8): the delivery status lines of its log) and syslog's.
 * SPDX-License-Identifier: MIT
 */
#include "logs/maillog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cur {
  const char *p, *end;
};

const char *ml_status_name(unsigned s) {
  static const char *const n[] = {"", "sent", "deferred", "bounced", "expired",
                                  "other"};
  return s < sizeof(n) / sizeof(n[0]) ? n[s] : "other";
}

static int more(const struct cur *c) { return c->p < c->end; }

static int lit(struct cur *c, const char *s) {
  size_t n = strlen(s);
  if ((size_t)(c->end - c->p) < n || memcmp(c->p, s, n) != 0) return 0;
  c->p += n;
  return 1;
}

/* n digits (exactly), or -1. */
static int digits(struct cur *c, int n) {
  int v = 0;
  while (n-- > 0) {
    if (!more(c) || *c->p < '0' || *c->p > '9') return -1;
    v = v * 10 + (*c->p++ - '0');
  }
  return v;
}

static void skip_spaces(struct cur *c) {
  while (more(c) && *c->p == ' ') c->p++;
}

/* Copy [a, b) into out (cut to fit, NUL-terminated). */
static void copy(char *out, size_t cap, const char *a, const char *b) {
  size_t n = b > a ? (size_t)(b - a) : 0;
  if (n >= cap) n = cap - 1;
  memcpy(out, a, n);
  out[n] = '\0';
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  int64_t era;
  unsigned yoe, doy, doe;

  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = (unsigned)(y - era * 400);
  doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

static int64_t civil_us(int64_t y, int mo, int d, int h, int mi, int s) {
  return ((days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400) +
          h * 3600 + mi * 60 + s) * 1000000LL;
}

/* The year of a UTC time. */
static int64_t year_of(int64_t us) {
  int64_t days = us / 86400000000LL - (us % 86400000000LL < 0);
  int64_t y = 1970 + days / 366;
  while (days_from_civil(y + 1, 1, 1) <= days) y++;
  while (days_from_civil(y, 1, 1) > days) y--;
  return y;
}

static int valid_time(int mo, int d, int h, int mi, int s) {
  return mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h >= 0 && h <= 23 &&
         mi >= 0 && mi <= 59 && s >= 0 && s <= 60;
}

/* "Dec  2 14:02:11": no year, no zone. */
static int time_3164(struct cur *c, const struct ml_clock *k, int64_t *us) {
  static const char mon[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  int mo = 0, d = 0, h, mi, s, i;
  int64_t y, t;

  if (c->end - c->p < 15) return -1;
  for (i = 0; i < 12; i++)
    if (memcmp(c->p, mon + 3 * i, 3) == 0) mo = i + 1;
  if (mo == 0 || c->p[3] != ' ') return -1;
  c->p += 4;
  if (*c->p == ' ') c->p++;
  while (more(c) && *c->p >= '0' && *c->p <= '9' && d < 100) d = d * 10 + (*c->p++ - '0');
  if (!lit(c, " ") || (h = digits(c, 2)) < 0 || !lit(c, ":") ||
      (mi = digits(c, 2)) < 0 || !lit(c, ":") || (s = digits(c, 2)) < 0 ||
      !valid_time(mo, d, h, mi, s))
    return -1;
  /* The year: the reference's (in the log's zone); a time more than a day
   * after the reference is last year's (a log read just after New Year). */
  y = year_of(k->now_us + (int64_t)k->tz_offset_s * 1000000);
  t = civil_us(y, mo, d, h, mi, s) - (int64_t)k->tz_offset_s * 1000000;
  if (t > k->now_us + 86400000000LL)
    t = civil_us(y - 1, mo, d, h, mi, s) - (int64_t)k->tz_offset_s * 1000000;
  *us = t;
  return 0;
}

/* "2026-12-02T14:02:11[.ffffff][Z|+01:00|+0100]"; no zone: the log's. */
static int time_iso(struct cur *c, const struct ml_clock *k, int64_t *us) {
  int y, mo, d, h, mi, s, frac = 0, fd = 0, sign, oh, om;
  int64_t off = k->tz_offset_s;

  if ((y = digits(c, 4)) < 0 || !lit(c, "-") || (mo = digits(c, 2)) < 0 ||
      !lit(c, "-") || (d = digits(c, 2)) < 0 || !(lit(c, "T") || lit(c, " ")) ||
      (h = digits(c, 2)) < 0 || !lit(c, ":") || (mi = digits(c, 2)) < 0 ||
      !lit(c, ":") || (s = digits(c, 2)) < 0 || !valid_time(mo, d, h, mi, s))
    return -1;
  if (lit(c, ".") || lit(c, ","))
    while (more(c) && *c->p >= '0' && *c->p <= '9') {
      if (fd < 6) frac = frac * 10 + (*c->p - '0'), fd++;
      c->p++;
    }
  while (fd > 0 && fd < 6) frac *= 10, fd++;
  if (lit(c, "Z")) {
    off = 0;
  } else if (more(c) && (*c->p == '+' || *c->p == '-')) {
    sign = *c->p++ == '-' ? -1 : 1;
    if ((oh = digits(c, 2)) < 0) return -1;
    lit(c, ":");
    if ((om = digits(c, 2)) < 0 || oh > 23 || om > 59) return -1;
    off = sign * (oh * 3600 + om * 60);
  }
  *us = civil_us(y, mo, d, h, mi, s) + frac - off * 1000000;
  return 0;
}

/* The next word (up to a space), or 0 when there is none. */
static int word(struct cur *c, const char **a, const char **b) {
  skip_spaces(c);
  *a = c->p;
  while (more(c) && *c->p != ' ') c->p++;
  *b = c->p;
  return *b > *a;
}

/* The program of a syslog tag [a, e) ("postfix/smtp", "postfix-out/lmtp",
 * "postfix/relay/smtp", "exim4"): 0 a Postfix delivery agent (smtp,
 * lmtp), 1 Postfix's cleanup or qmgr, 2 Exim (its mainlog through
 * syslog), -1 anything else. */
static int tag_kind(const char *a, const char *e) {
  const char *slash = NULL;

  if ((e - a == 4 && memcmp(a, "exim", 4) == 0) ||
      (e - a == 5 && memcmp(a, "exim4", 5) == 0))
    return 2;
  for (const char *q = a; q < e; q++)
    if (*q == '/') slash = q;
  if (slash == NULL || slash - a < 7 || memcmp(a, "postfix", 7) != 0) return -1;
  if ((e - slash == 5 && memcmp(slash, "/smtp", 5) == 0) ||
      (e - slash == 5 && memcmp(slash, "/lmtp", 5) == 0))
    return 0;
  if ((e - slash == 8 && memcmp(slash, "/cleanup", 8) == 0) ||
      (e - slash == 5 && memcmp(slash, "/qmgr", 5) == 0))
    return 1; /* a message's id or sender, perhaps */
  return -1;
}

/* The syslog frame: time, host, tag; c is left at the message. The tag
 * must be a Postfix delivery agent (".../smtp[pid]:", ".../lmtp[pid]:",
 * any instance name before the slash). */
static int frame(struct cur *c, const struct ml_clock *k, struct ml_event *ev) {
  /* 0: a delivery agent (smtp, lmtp); 1: cleanup or qmgr; -1: neither */
  const char *a, *b, *br;
  int rfc5424 = 0;

  if (lit(c, "<")) { /* <PRI>: RFC 5424 when a version follows */
    while (more(c) && *c->p >= '0' && *c->p <= '9') c->p++;
    if (!lit(c, ">")) return -1;
    rfc5424 = lit(c, "1 ");
  }
  if (more(c) && *c->p >= '0' && *c->p <= '9') {
    if (time_iso(c, k, &ev->at_us) < 0) return -1;
  } else if (time_3164(c, k, &ev->at_us) < 0) {
    return -1;
  }
  if (!word(c, &a, &b)) return -1;
  copy(ev->host, sizeof(ev->host), a, b);
  if (!word(c, &a, &b)) return -1;
  if (rfc5424) {
    /* APP-NAME PROCID MSGID STRUCTURED-DATA: "postfix/smtp 123 - -" */
    const char *x, *y;
    if (!word(c, &x, &y) || !word(c, &x, &y) || !word(c, &x, &y)) return -1;
    if (*x == '[') { /* structured data: to its last "]" before a space */
      c->p = x;
      while (more(c) && !(*c->p == ']' && (c->p + 1 == c->end || c->p[1] == ' ')))
        c->p++;
      if (more(c)) c->p++;
    }
    br = b;
  } else {
    /* "postfix/smtp[123]:" */
    if (b[-1] != ':') return -1;
    br = memchr(a, '[', (size_t)(b - a));
    if (br == NULL) {
      br = b - 1;
    } else {
      for (const char *q = br + 1; q < b && *q >= '0' && *q <= '9'; q++)
        ev->pid = ev->pid < 100000000 ? ev->pid * 10 + (uint32_t)(*q - '0') : 0;
    }
  }
  skip_spaces(c);
  return tag_kind(a, br);
}

/* NAME[IP]:PORT (PORT optional). */
static int relay(struct cur *c, struct ml_event *ev) {
  const char *a = c->p, *lb, *rb;

  while (more(c) && *c->p != '[' && *c->p != ',' && *c->p != ' ') c->p++;
  if (!more(c) || *c->p != '[') return -1;
  lb = c->p;
  while (more(c) && *c->p != ']') c->p++;
  if (!more(c)) return -1;
  rb = c->p++;
  copy(ev->relay_name, sizeof(ev->relay_name), a, lb);
  copy(ev->relay_ip, sizeof(ev->relay_ip), lb + 1, rb);
  if (lit(c, ":")) {
    unsigned long port = 0;
    int n = 0;
    while (more(c) && *c->p >= '0' && *c->p <= '9' && n++ < 5)
      port = port * 10 + (unsigned long)(*c->p++ - '0');
    if (n == 0 || port > 65535) return -1;
    ev->relay_port = (uint16_t)port;
  }
  return 0;
}

static double number(const char *a, const char *b) {
  char buf[32];
  copy(buf, sizeof(buf), a, b);
  return strtod(buf, NULL);
}

/* The status text: "host NAME[IP] said: 550 5.7.1 ... (in reply to RCPT
 * TO command)", or the text itself ("250 2.0.0 Ok: queued as X",
 * "connect to ...: Connection timed out"). */
static void status_text(const char *a, const char *b, struct ml_event *ev) {
  static const char said[] = " said: ", inreply[] = " (in reply to ";
  const char *s = a, *t, *e = b;

  for (t = a; t + sizeof(said) - 1 <= b; t++)
    if (memcmp(t, said, sizeof(said) - 1) == 0) {
      s = t + sizeof(said) - 1;
      break;
    }
  /* "(in reply to X command)" at the end: the stage */
  for (t = b - s >= (long)(sizeof(inreply) - 1) ? b - (sizeof(inreply) - 1) : NULL;
       t != NULL && t >= s; t = t > s ? t - 1 : NULL)
    if (memcmp(t, inreply, sizeof(inreply) - 1) == 0) {
      const char *st = t + sizeof(inreply) - 1, *cmd = b;
      if (b - st > 9 && memcmp(b - 9, " command)", 9) == 0) cmd = b - 9;
      if (cmd < b) copy(ev->stage, sizeof(ev->stage), st, cmd);
      e = t;
      break;
    }
  if (e - s >= 4 && s[0] >= '2' && s[0] <= '5' && s[1] >= '0' && s[1] <= '9' &&
      s[2] >= '0' && s[2] <= '9' && (s[3] == ' ' || s[3] == '-')) {
    ev->code = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
    s += 4;
    /* The enhanced status that follows is dsn= already: the text alone. */
    if (e - s >= 6 && (s[0] == '2' || s[0] == '4' || s[0] == '5') && s[1] == '.') {
      const char *q = s + 2;
      int dots = 0, dig = 0;
      while (q < e && ((*q >= '0' && *q <= '9') || *q == '.')) {
        if (*q == '.') dots++;
        else dig++;
        q++;
      }
      if (dots == 1 && dig >= 2 && q < e && *q == ' ') s = q + 1;
    }
  }
  copy(ev->reply, sizeof(ev->reply), s, e);
}

/* "to=<a@b>, relay=..., status=sent (...)" after the queue id. */
static int delivery(struct cur *c, struct ml_event *ev) {
  while (more(c)) {
    const char *k = c->p, *v, *ve;
    while (more(c) && *c->p != '=') c->p++;
    if (!more(c)) return -1;
    v = ++c->p;
    if ((size_t)(v - k) == 7 && memcmp(k, "status=", 7) == 0) {
      const char *w = v, *open;
      while (more(c) && *c->p != ' ') c->p++;
      if ((size_t)(c->p - w) == 4 && memcmp(w, "sent", 4) == 0) ev->status = MLS_SENT;
      else if ((size_t)(c->p - w) == 8 && memcmp(w, "deferred", 8) == 0)
        ev->status = MLS_DEFERRED;
      else if ((size_t)(c->p - w) == 7 && memcmp(w, "bounced", 7) == 0)
        ev->status = MLS_BOUNCED;
      else if ((size_t)(c->p - w) == 7 && memcmp(w, "expired", 7) == 0)
        ev->status = MLS_EXPIRED;
      else ev->status = MLS_OTHER;
      skip_spaces(c);
      open = c->p;
      if (more(c) && *open == '(' && c->end[-1] == ')')
        status_text(open + 1, c->end - 1, ev);
      /* relay=none, "(connect to NAME[IP]:PORT: Connection timed out)":
       * the receiver it tried is in the text */
      if (ev->relay_ip[0] == '\0' && strncmp(ev->reply, "connect to ", 11) == 0) {
        struct cur r = {ev->reply + 11, ev->reply + strlen(ev->reply)};
        if (relay(&r, ev) < 0) ev->relay_name[0] = ev->relay_ip[0] = '\0';
      }
      return ev->queue_id[0] ? 0 : -1;
    }
    if (more(c) && *v == '<') { /* an address: to its '>' */
      while (more(c) && *c->p != '>') c->p++;
      if (!more(c)) return -1;
      ve = ++c->p;
    } else {
      while (more(c) && !(*c->p == ',' && c->p + 1 < c->end && c->p[1] == ' ')) c->p++;
      ve = c->p;
    }
    if ((size_t)(v - k) == 3 && memcmp(k, "to=", 3) == 0 && ve - v >= 2 &&
        v[0] == '<' && ve[-1] == '>') {
      const char *at = NULL, *q;
      for (q = v + 1; q < ve - 1; q++)
        if (*q == '@') at = q;
      if (at) copy(ev->rcpt_domain, sizeof(ev->rcpt_domain), at + 1, ve - 1);
    } else if ((size_t)(v - k) == 6 && memcmp(k, "relay=", 6) == 0) {
      struct cur r = {v, ve};
      if (relay(&r, ev) < 0) ev->relay_name[0] = ev->relay_ip[0] = '\0';
    } else if ((size_t)(v - k) == 9 && memcmp(k, "conn_use=", 9) == 0) {
      double n = number(v, ve);
      ev->conn_use = n >= 0 && n < 1e9 ? (int)n : 0;
    } else if ((size_t)(v - k) == 6 && memcmp(k, "delay=", 6) == 0) {
      ev->delay = number(v, ve);
    } else if ((size_t)(v - k) == 7 && memcmp(k, "delays=", 7) == 0) {
      const char *q = v, *slash;
      int i;
      for (i = 0; i < 4 && q < ve; i++) {
        slash = memchr(q, '/', (size_t)(ve - q));
        ev->delays[i] = number(q, slash ? slash : ve);
        q = slash ? slash + 1 : ve;
      }
    } else if ((size_t)(v - k) == 4 && memcmp(k, "dsn=", 4) == 0) {
      copy(ev->dsn, sizeof(ev->dsn), v, ve);
    }
    if (!lit(c, ", ")) return -1;
  }
  return -1;
}

/* The domain of an address ("<a@example.com>" or a@example.com). */
static void domain_of(char *out, size_t cap, const char *a, const char *b) {
  const char *at = NULL, *q;

  if (b > a && b[-1] == '>') b--;
  for (q = a; q < b; q++)
    if (*q == '@') at = q;
  if (at) copy(out, cap, at + 1, b);
}

/* Exim's "defer (ERRNO): TEXT H=..." (or "error (ERRNO): ..."): the
 * connection failed when the errno is a connect's (timed out, refused,
 * host or network unreachable); the text is the reply either way. */
static enum ml_kind exim_defer(const char *p, const char *end, struct ml_event *ev) {
  static const char *const tags[] = {" defer (", " error ("};
  const char *q, *t = NULL, *e;
  unsigned i;
  int neg = 0;
  long err = 0;

  for (i = 0; i < 2 && t == NULL; i++) {
    size_t n = strlen(tags[i]);
    for (q = p; q + n <= end; q++)
      if (memcmp(q, tags[i], n) == 0) {
        t = q + n;
        break;
      }
  }
  if (t == NULL) return ev->kind = ML_DELIVERY;
  if (t < end && *t == '-') neg = 1, t++;
  while (t < end && *t >= '0' && *t <= '9' && err < 100000) err = err * 10 + (*t++ - '0');
  if (t + 3 > end || memcmp(t, "): ", 3) != 0) return ev->kind = ML_DELIVERY;
  t += 3;
  for (e = t; e + 3 <= end && memcmp(e, " H=", 3) != 0; e++)
    ;
  if (e + 3 > end) e = end;
  copy(ev->reply, sizeof(ev->reply), t, e);
  if (!neg && (err == 110 || err == 111 || err == 113 || err == 101) &&
      ev->relay_ip[0])
    return ev->kind = ML_CONNECT;
  return ev->kind = ML_DELIVERY;
}

/* Exim's mainlog: "2026-12-02 14:02:11 1rABCD-0001Xy-AB => bob@example.net
 * R=dnslookup T=remote_smtp H=mx.example.net [198.51.100.25]:25
 * I=[203.0.113.10]:38211 X=TLS1.3:... C="250 2.0.0 Ok"". c is past the
 * time. */
static enum ml_kind exim(struct cur *c, struct ml_event *ev) {
  const char *a, *b, *err, *line_rest;
  static const char smtp_err[] = "SMTP error from remote mail server after ";

  if (!word(c, &a, &b)) return ML_OTHER;
  if (b - a == 5 && (a[0] == '+' || a[0] == '-')) {
    /* log_timezone: "+0100" after the time */
    struct cur z = {a + 1, b};
    int h = digits(&z, 2), m = digits(&z, 2);
    if (h < 0 || m < 0) return ML_OTHER;
    ev->at_us -= (a[0] == '-' ? -1 : 1) * (int64_t)(h * 3600 + m * 60) * 1000000;
    if (!word(c, &a, &b)) return ML_OTHER;
  }
  if (b - a < 16 || b - a >= (long)sizeof(ev->queue_id) ||
      memchr(a, '-', (size_t)(b - a)) == NULL)
    return ML_OTHER;
  for (const char *q = a; q < b; q++) /* an Exim message id: base 62 and '-' */
    if (!((*q >= '0' && *q <= '9') || (*q >= 'A' && *q <= 'Z') ||
          (*q >= 'a' && *q <= 'z') || *q == '-'))
      return ML_OTHER;
  copy(ev->queue_id, sizeof(ev->queue_id), a, b);
  if (!word(c, &a, &b) || b - a != 2) return ML_OTHER;
  if (memcmp(a, "<=", 2) == 0) { /* arrival: the sender, and id= */
    static const char idf[] = " id=";
    const char *q;
    if (!word(c, &a, &b)) return ML_OTHER;
    domain_of(ev->sender_domain, sizeof(ev->sender_domain), a, b);
    for (q = c->p; q + sizeof(idf) - 1 < c->end; q++)
      if (memcmp(q, idf, sizeof(idf) - 1) == 0) {
        const char *v = q + sizeof(idf) - 1, *e = v;
        while (e < c->end && *e != ' ') e++;
        copy(ev->message_id, sizeof(ev->message_id), v, e);
        break;
      }
    return ev->kind = ML_MESSAGE;
  }
  if (memcmp(a, "=>", 2) == 0 || memcmp(a, "->", 2) == 0) ev->status = MLS_SENT;
  else if (memcmp(a, "**", 2) == 0) ev->status = MLS_BOUNCED;
  else if (memcmp(a, "==", 2) == 0) ev->status = MLS_DEFERRED;
  else return ML_OTHER;
  if (!word(c, &a, &b)) return ML_OTHER;
  line_rest = b;
  {
    const char *at = NULL, *q;
    for (q = a; q < b; q++)
      if (*q == '@') at = q;
    if (at) copy(ev->rcpt_domain, sizeof(ev->rcpt_domain), at + 1,
                 b[-1] == '>' ? b - 1 : b);
  }
  /* The fields, up to the error text or the end. */
  err = NULL;
  for (const char *q = c->p; q + sizeof(smtp_err) - 1 <= c->end; q++)
    if (memcmp(q, smtp_err, sizeof(smtp_err) - 1) == 0) {
      err = q;
      break;
    }
  while (word(c, &a, &b)) {
    if (err && a >= err) break;
    if (b - a > 3 && memcmp(a, "H=[", 3) == 0) {
      struct cur r = {a + 2, b}; /* H=[ip]:port: no name */
      relay(&r, ev);
    } else if (b - a > 2 && memcmp(a, "H=", 2) == 0) {
      /* H=name [ip]:port */
      struct cur r;
      copy(ev->relay_name, sizeof(ev->relay_name), a + 2, b);
      skip_spaces(c);
      if (more(c) && *c->p == '[') {
        r.p = c->p;
        r.end = c->end;
        if (relay(&r, ev) == 0) c->p = r.p;
        copy(ev->relay_name, sizeof(ev->relay_name), a + 2, b);
      }
    } else if (b - a > 3 && memcmp(a, "I=[", 3) == 0) {
      struct cur r = {a + 2, b};
      struct ml_event tmp;
      memset(&tmp, 0, sizeof(tmp));
      if (relay(&r, &tmp) == 0) {
        memcpy(ev->src_ip, tmp.relay_ip, sizeof(ev->src_ip));
        ev->src_port = tmp.relay_port;
      }
    } else if (b - a > 2 && memcmp(a, "X=", 2) == 0) {
      copy(ev->tls, sizeof(ev->tls), a + 2, b);
    } else if (b - a > 3 && memcmp(a, "C=\"", 3) == 0) {
      /* C="250 2.0.0 Ok: queued as X": to the closing quote */
      const char *e = a + 3;
      while (e < c->end && *e != '"') e++;
      status_text(a + 3, e, ev);
      c->p = e < c->end ? e + 1 : e;
    }
  }
  if (err != NULL) {
    /* "after RCPT TO:<bob@example.net>: 550 5.7.1 ...": the stage, then
     * the reply. */
    const char *st = err + sizeof(smtp_err) - 1, *colon = st;
    while (colon < c->end && *colon != ':') colon++;
    copy(ev->stage, sizeof(ev->stage), st, colon);
    while (colon < c->end && !(colon[0] == ':' && colon + 1 < c->end && colon[1] == ' ' &&
                               colon + 2 < c->end && colon[2] >= '2' && colon[2] <= '5'))
      colon++;
    if (colon < c->end) status_text(colon + 2, c->end, ev);
  }
  if (err == NULL && ev->code == 0) return exim_defer(line_rest, c->end, ev);
  return ev->kind = ML_DELIVERY;
}

/* Postfix's "QID: " (letters and digits) into ev; c is left past it. 0
 * or -1. */
static int queue_id(struct cur *c, struct ml_event *ev) {
  const char *a = c->p;

  while (more(c) && ((*c->p >= '0' && *c->p <= '9') || (*c->p >= 'A' && *c->p <= 'Z') ||
                     (*c->p >= 'a' && *c->p <= 'z')))
    c->p++;
  if (c->p == a || c->p - a >= (long)sizeof(ev->queue_id)) return -1;
  copy(ev->queue_id, sizeof(ev->queue_id), a, c->p);
  return lit(c, ": ") ? 0 : -1;
}

/* "QID: message-id=<x@y>" (cleanup) or "QID: from=<a@b>, size=..." (qmgr). */
static enum ml_kind message(struct cur *c, struct ml_event *ev) {
  const char *v, *e;

  if (queue_id(c, ev) < 0) return ML_OTHER;
  if (lit(c, "message-id=")) {
    v = c->p;
    if (more(c) && *v == '<') v++;
    e = c->end;
    if (e > v && e[-1] == '>') e--;
    if (e <= v) return ML_OTHER;
    copy(ev->message_id, sizeof(ev->message_id), v, e);
    return ev->kind = ML_MESSAGE;
  }
  if (lit(c, "from=<")) {
    v = c->p;
    while (more(c) && *c->p != '>') c->p++;
    if (!more(c)) return ML_OTHER;
    domain_of(ev->sender_domain, sizeof(ev->sender_domain), v, c->p);
    return ev->kind = ML_MESSAGE;
  }
  return ML_OTHER;
}

static enum ml_kind agent(struct cur *cp, struct ml_event *ev);
static enum ml_kind body(struct cur *c, int k, const struct ml_clock *clk,
                         struct ml_event *ev);

/* journalctl -o json: one object per line, every field a string (or an
 * array of byte values when it is not text, or null when too long);
 * the ones of use here: MESSAGE, SYSLOG_IDENTIFIER, _HOSTNAME and
 * __REALTIME_TIMESTAMP (microseconds since the epoch, as a string). */
#define JOURNAL_MSG_MAX 16384

/* The four hex digits at p (not past end) as a number, or -1. */
static long hex4(const char *p, const char *end) {
  long v = 0;
  int d;

  if (end - p < 4) return -1;
  for (d = 0; d < 4; d++, p++) {
    int x = *p >= '0' && *p <= '9'   ? *p - '0'
            : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
            : *p >= 'A' && *p <= 'F' ? *p - 'A' + 10 : -1;
    if (x < 0) return -1;
    v = v * 16 + x;
  }
  return v;
}

/* A JSON string at c (past its opening quote) into out (cut to fit,
 * NUL-terminated); c is left past its closing quote. 0, or -1 when the
 * line ends first. \u escapes become UTF-8 (a lone surrogate: '?'). */
static int json_str(struct cur *c, char *out, size_t cap) {
  size_t n = 0;

  while (more(c) && *c->p != '"') {
    unsigned long u = (unsigned char)*c->p++;
    char b[4];
    size_t k = 1, i;
    if (u == '\\') {
      if (!more(c)) return -1;
      switch (*c->p++) {
      case 'b': u = '\b'; break;
      case 'f': u = '\f'; break;
      case 'n': u = '\n'; break;
      case 'r': u = '\r'; break;
      case 't': u = '\t'; break;
      case 'u': {
        long hi = hex4(c->p, c->end), lo;
        if (hi < 0) return -1;
        c->p += 4;
        u = (unsigned long)hi;
        /* a surrogate pair: the low half in the next \u */
        if (u >= 0xd800 && u <= 0xdbff && c->end - c->p >= 6 && c->p[0] == '\\' &&
            c->p[1] == 'u' && (lo = hex4(c->p + 2, c->end)) >= 0xdc00 && lo <= 0xdfff) {
          u = 0x10000 + ((u - 0xd800) << 10) + ((unsigned long)lo - 0xdc00);
          c->p += 6;
        }
        if (u >= 0xd800 && u <= 0xdfff) u = '?'; /* a lone half */
        break;
      }
      default: u = (unsigned char)c->p[-1]; break; /* \" \\ \/ */
      }
      if (u >= 0x80) { /* UTF-8 */
        if (u < 0x800) b[0] = (char)(0xc0 | (u >> 6)), k = 2;
        else if (u < 0x10000) b[0] = (char)(0xe0 | (u >> 12)), k = 3;
        else b[0] = (char)(0xf0 | (u >> 18)), k = 4;
        for (i = 1; i < k; i++)
          b[i] = (char)(0x80 | ((u >> (6 * (k - 1 - i))) & 0x3f));
      } else {
        b[0] = (char)u;
      }
    } else {
      b[0] = (char)u;
    }
    for (i = 0; i < k; i++)
      if (n + 1 < cap) out[n++] = b[i];
  }
  if (!more(c)) return -1;
  c->p++;
  out[n] = '\0';
  return 0;
}

/* Any JSON value at c, skipped: strings, numbers, literals, and arrays
 * or objects (nested at most 16 deep). A field's value only when it is an
 * array of byte values is copied into out (journald's form for text it
 * will not show as a string). 0 or -1. */
static int json_skip(struct cur *c, char *out, size_t cap) {
  int depth = 0;
  size_t n = 0;

  if (out) out[0] = '\0';
  do {
    skip_spaces(c);
    if (!more(c)) return -1;
    if (*c->p == '"') {
      char tmp[1];
      c->p++;
      if (json_str(c, tmp, sizeof(tmp)) < 0) return -1;
    } else if (*c->p == '[' || *c->p == '{') {
      if (++depth > 16) return -1;
      c->p++;
      continue;
    } else if (*c->p == ']' || *c->p == '}') {
      depth--;
      c->p++;
    } else if (*c->p == ',' || *c->p == ':') {
      c->p++;
      continue;
    } else {
      const char *a = c->p;
      while (more(c) && *c->p != ',' && *c->p != ']' && *c->p != '}' && *c->p != ' ')
        c->p++;
      if (c->p == a) return -1;
      if (out && depth == 1 && *a >= '0' && *a <= '9' && n + 1 < cap) {
        unsigned v = 0; /* a byte value: digits up to the token's end */
        for (const char *q = a; q < c->p && *q >= '0' && *q <= '9'; q++)
          v = (v * 10 + (unsigned)(*q - '0')) & 0xffff;
        out[n++] = (char)(v & 0xff);
        out[n] = '\0';
      }
    }
  } while (depth > 0);
  return 0;
}

static enum ml_kind journal(struct cur *c, const struct ml_clock *clk,
                            struct ml_event *ev) {
  char key[32], msg[JOURNAL_MSG_MAX], ident[64], val[64];
  int have_msg = 0, have_time = 0, k;
  struct cur m;

  ident[0] = '\0';
  c->p++; /* { */
  for (;;) {
    skip_spaces(c);
    if (more(c) && *c->p == '}') break;
    if (!lit(c, "\"") || json_str(c, key, sizeof(key)) < 0) return ML_OTHER;
    skip_spaces(c);
    if (!lit(c, ":")) return ML_OTHER;
    skip_spaces(c);
    if (more(c) && *c->p == '"') {
      int is_msg = strcmp(key, "MESSAGE") == 0;
      c->p++;
      if (json_str(c, is_msg ? msg : strcmp(key, "SYSLOG_IDENTIFIER") == 0 ? ident
                                   : strcmp(key, "_HOSTNAME") == 0 ? ev->host : val,
                   is_msg ? sizeof(msg) : strcmp(key, "_HOSTNAME") == 0
                                              ? sizeof(ev->host) : sizeof(val)) < 0)
        return ML_OTHER;
      have_msg |= is_msg;
      if (strcmp(key, "_PID") == 0 || strcmp(key, "SYSLOG_PID") == 0) {
        unsigned long pid = strtoul(val, NULL, 10);
        ev->pid = pid < 4294967295UL ? (uint32_t)pid : 0;
      }
      if (strcmp(key, "__REALTIME_TIMESTAMP") == 0) {
        char *e;
        long long us = strtoll(val, &e, 10);
        if (e == val || *e != '\0' || us < 0) return ML_OTHER;
        ev->at_us = us;
        have_time = 1;
      }
    } else if (strcmp(key, "MESSAGE") == 0) {
      if (json_skip(c, msg, sizeof(msg)) < 0) return ML_OTHER;
      have_msg = msg[0] != '\0';
    } else if (json_skip(c, NULL, 0) < 0) {
      return ML_OTHER;
    }
    skip_spaces(c);
    if (!lit(c, ",")) {
      if (more(c) && *c->p == '}') break;
      return ML_OTHER;
    }
  }
  if (!have_msg || !have_time || (k = tag_kind(ident, ident + strlen(ident))) < 0)
    return ML_OTHER;
  m.p = msg;
  m.end = msg + strlen(msg);
  return body(&m, k, clk, ev);
}

/* A message of a program of kind k (tag_kind), c at its start. */
static enum ml_kind body(struct cur *c, int k, const struct ml_clock *clk,
                         struct ml_event *ev) {
  switch (k) {
  case 0: return agent(c, ev);
  case 1: return message(c, ev);
  case 2: { /* Exim through syslog: its own time first (syslog_timestamp) */
    struct cur t = *c;
    int64_t at;
    if (more(&t) && *t.p >= '0' && *t.p <= '9' && time_iso(&t, clk, &at) == 0) {
      ev->at_us = at;
      *c = t;
    }
    return exim(c, ev);
  }
  default: return ML_OTHER;
  }
}

enum ml_kind maillog_line(const char *line, size_t len,
                          const struct ml_clock *clk, struct ml_event *ev) {
  struct cur c = {line, line + len};

  memset(ev, 0, sizeof(*ev));
  while (c.end > c.p && (c.end[-1] == '\r' || c.end[-1] == '\n')) c.end--;
  if (c.p < c.end && *c.p == '{') return journal(&c, clk, ev);
  /* Exim's own log: its time first ("2026-12-02 14:02:11"), no host. */
  if (c.end - c.p > 20 && c.p[4] == '-' && c.p[10] == ' ' &&
      time_iso(&c, clk, &ev->at_us) == 0)
    return exim(&c, ev);
  c.p = line;
  memset(ev, 0, sizeof(*ev));
  return body(&c, frame(&c, clk, ev), clk, ev);
}

/* A Postfix delivery agent's message: a failed connection, TLS, or a
 * delivery's status. */
static enum ml_kind agent(struct cur *cp, struct ml_event *ev) {
  struct cur c = *cp;
  const char *a;

  if (lit(&c, "connect to ")) {
    if (relay(&c, ev) < 0 || !lit(&c, ": ")) return ML_OTHER;
    copy(ev->reply, sizeof(ev->reply), c.p, c.end);
    return ev->kind = ML_CONNECT;
  }
  /* "Trusted TLS connection established to NAME[IP]:PORT: TLSv1.3 ..." */
  a = c.p;
  while (more(&c) && *c.p != ' ') c.p++;
  if (lit(&c, " TLS connection established to ")) {
    copy(ev->tls, sizeof(ev->tls), a, c.p - 31);
    if (relay(&c, ev) < 0 || !lit(&c, ": ")) return ML_OTHER;
    copy(ev->reply, sizeof(ev->reply), c.p, c.end);
    return ev->kind = ML_TLS;
  }
  /* "4F1A23C0123: to=<...>, ..." */
  c.p = a;
  if (queue_id(&c, ev) < 0) return ML_OTHER;
  if (c.end - c.p < 3 || memcmp(c.p, "to=", 3) != 0) return ML_OTHER;
  if (delivery(&c, ev) < 0) return ML_OTHER;
  return ev->kind = ML_DELIVERY;
}
