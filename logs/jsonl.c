/* egressaudit - logs/jsonl.c: see jsonl.h.
 * SPDX-License-Identifier: MIT
 */
#define _POSIX_C_SOURCE 200809L
#include "logs/jsonl.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"

struct jctx {
  struct jsonl_event *ev;
  char *err;
  size_t errlen;
};

static int bad(struct jctx *c, const char *key, const char *why) {
  snprintf(c->err, c->errlen, "\"%s\": %s", key, why);
  return -EINVAL;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* The store's escaped text back to bytes, into the arena: "\\" is a
 * backslash, "\xNN" a byte; anything else as it is. Capped at
 * JSONL_TEXT_MAX and at what the arena has left (counted truncated). */
static struct slice unescape(struct jsonl_event *ev, const char *s, size_t n) {
  struct slice out = {ev->arena + ev->used, 0};
  size_t room = sizeof(ev->arena) - ev->used, i = 0, o = 0;
  char *d = ev->arena + ev->used;

  if (room > JSONL_TEXT_MAX) room = JSONL_TEXT_MAX;
  while (i < n) {
    int h, l;
    char b = s[i];
    size_t step = 1;
    if (s[i] == '\\' && i + 1 < n && s[i + 1] == '\\') {
      step = 2;
    } else if (s[i] == '\\' && i + 3 < n && s[i + 1] == 'x' &&
               (h = hexval(s[i + 2])) >= 0 && (l = hexval(s[i + 3])) >= 0) {
      b = (char)(h << 4 | l);
      step = 4;
    }
    if (o + 1 > room) {
      ev->s.anom.truncated++;
      break;
    }
    d[o++] = b;
    i += step;
  }
  out.len = o;
  ev->used += o;
  return out;
}

/* An optional text: absent or null gives {NULL, 0}; else a string. */
static int opt_text(struct jctx *c, json_t *o, const char *key,
                    struct slice *out) {
  json_t *v = json_object_get(o, key);

  out->p = NULL;
  out->len = 0;
  if (v == NULL || json_is_null(v)) return 0;
  if (!json_is_string(v)) return bad(c, key, "not a string");
  *out = unescape(c->ev, json_string_value(v), json_string_length(v));
  return 0;
}

static int req_str(struct jctx *c, json_t *o, const char *key,
                   const char **out) {
  json_t *v = json_object_get(o, key);
  if (!json_is_string(v)) return bad(c, key, v ? "not a string" : "missing");
  *out = json_string_value(v);
  return 0;
}

static int req_int(struct jctx *c, json_t *o, const char *key, int64_t lo,
                   int64_t hi, int64_t *out) {
  json_t *v = json_object_get(o, key);
  if (!json_is_integer(v)) return bad(c, key, v ? "not an integer" : "missing");
  *out = (int64_t)json_integer_value(v);
  if (*out < lo || *out > hi) return bad(c, key, "out of range");
  return 0;
}

static int opt_bool(struct jctx *c, json_t *o, const char *key, uint8_t *out) {
  json_t *v = json_object_get(o, key);
  if (v == NULL || json_is_null(v)) {
    *out = 0;
    return 0;
  }
  if (!json_is_boolean(v)) return bad(c, key, "not true or false");
  *out = json_is_true(v) ? 1 : 0;
  return 0;
}

static int req_time(struct jctx *c, json_t *o, const char *key, int64_t *us) {
  const char *s;
  int rc;

  if ((rc = req_str(c, o, key, &s)) < 0) return rc;
  /* An RFC 3339 time, never a duration ("90m" would be relative to now). */
  if (strchr(s, 'T') == NULL || time_parse(s, 0, us) < 0)
    return bad(c, key, "not an RFC 3339 time");
  return 0;
}

static int req_addr(struct jctx *c, json_t *o, const char *key,
                    struct ea_addr *a) {
  const char *s;
  int rc;

  if ((rc = req_str(c, o, key, &s)) < 0) return rc;
  if (addr_parse(a, s, strlen(s)) < 0) return bad(c, key, "not an IP address");
  return 0;
}

static int req_name(struct jctx *c, json_t *o, const char *key,
                    const char *(*name)(unsigned), unsigned n, uint8_t *out) {
  const char *s;
  int v, rc;

  if ((rc = req_str(c, o, key, &s)) < 0) return rc;
  if ((v = sess_name_parse(name, n, s)) < 0) return bad(c, key, "not a known value");
  *out = (uint8_t)v;
  return 0;
}

/* "550 5.7.1 text" (the store's last_reply) split back. */
static void split_reply(struct jsonl_event *ev, const char *s, size_t n,
                        struct sess_reply *r) {
  size_t i = 4, e;

  memset(r, 0, sizeof(*r));
  r->code = (uint16_t)((s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0'));
  if (n <= 4) return;
  /* An enhanced code: class.subject.detail, digits and dots only. */
  for (e = i; e < n && ((s[e] >= '0' && s[e] <= '9') || s[e] == '.'); e++)
    ;
  if (e > i + 4 && (e == n || s[e] == ' ') && (s[i] == '2' || s[i] == '4' ||
                                               s[i] == '5') && s[i + 1] == '.') {
    r->enhanced = unescape(ev, s + i, e - i);
    i = e < n ? e + 1 : e;
  }
  r->text = unescape(ev, s + i, n - i);
}

static int is_reply_code(const char *s, size_t n) {
  return n >= 3 && s[0] >= '2' && s[0] <= '5' && s[1] >= '0' && s[1] <= '9' &&
         s[2] >= '0' && s[2] <= '9' && (n == 3 || s[3] == ' ');
}

static int take_replies(struct jctx *c, json_t *o) {
  struct jsonl_event *ev = c->ev;
  json_t *a = json_object_get(o, "replies"), *r;
  size_t i;
  int rc;

  ev->s.n_replies = 0;
  if (a == NULL || json_is_null(a)) return 0;
  if (!json_is_array(a)) return bad(c, "replies", "not an array");
  json_array_foreach(a, i, r) {
    struct sess_reply *sr;
    const char *cmd;
    int64_t code;
    json_t *cv;
    if (!json_is_object(r)) return bad(c, "replies", "an element is not an object");
    if (ev->s.n_replies == SMTP_REPLIES_HARD) {
      ev->s.anom.replies_dropped++;
      continue;
    }
    sr = &ev->replies[ev->s.n_replies];
    memset(sr, 0, sizeof(*sr));
    if ((rc = req_int(c, r, "code", 200, 599, &code)) < 0) return rc;
    sr->code = (uint16_t)code;
    cv = json_object_get(r, "cmd");
    if (cv != NULL && !json_is_null(cv)) {
      int v;
      if (!json_is_string(cv)) return bad(c, "cmd", "not a string");
      cmd = json_string_value(cv);
      v = sess_name_parse(smtp_cmd_name, CMD_COUNT_, cmd);
      sr->cmd = (uint8_t)(v < 0 ? CMD_OTHER : v);
    }
    if ((rc = opt_text(c, r, "enhanced", &sr->enhanced)) < 0) return rc;
    if ((rc = opt_text(c, r, "text", &sr->text)) < 0) return rc;
    if (sr->text.p == NULL) sr->text.p = "";
    ev->s.n_replies++;
  }
  ev->s.replies = ev->replies;
  return 0;
}

static int take_helos(struct jctx *c, json_t *o) {
  struct jsonl_event *ev = c->ev;
  json_t *a = json_object_get(o, "helos"), *verbs = json_object_get(o, "helo_verbs");
  json_t *v;
  size_t i;

  ev->s.n_helo = 0;
  if (a == NULL || json_is_null(a)) return 0;
  if (!json_is_array(a)) return bad(c, "helos", "not an array");
  if (verbs != NULL && !json_is_array(verbs)) return bad(c, "helo_verbs", "not an array");
  json_array_foreach(a, i, v) {
    json_t *vb = verbs ? json_array_get(verbs, i) : NULL;
    if (!json_is_string(v)) return bad(c, "helos", "an element is not a string");
    if (ev->s.n_helo == SMTP_HELO_MAX) break;
    ev->s.helo[ev->s.n_helo] = unescape(ev, json_string_value(v), json_string_length(v));
    ev->s.helo_cmd[ev->s.n_helo] =
        json_is_string(vb) && strcmp(json_string_value(vb), "HELO") == 0 ? CMD_HELO
                                                                         : CMD_EHLO;
    ev->s.n_helo++;
  }
  return 0;
}

static int take_pair(struct jctx *c, json_t *o, const char *key, uint64_t *a,
                     uint64_t *b) {
  json_t *v = json_object_get(o, key), *x, *y;

  *a = *b = 0;
  if (v == NULL || json_is_null(v)) return 0;
  x = json_array_get(v, 0);
  y = json_array_get(v, 1);
  if (!json_is_array(v) || !json_is_integer(x) || !json_is_integer(y) ||
      json_integer_value(x) < 0 || json_integer_value(y) < 0)
    return bad(c, key, "not a pair of counts");
  *a = (uint64_t)json_integer_value(x);
  *b = (uint64_t)json_integer_value(y);
  return 0;
}

static int take_anomalies(struct jctx *c, json_t *o) {
  static const char *const keys[] = {
      "overlong", "bare_lf", "bare_cr", "gaps", "pipelined", "retransmissions",
      "out_of_order", "bad_replies", "replies_dropped", "truncated", "fragments"};
  struct sess_anom *an = &c->ev->s.anom;
  uint32_t *field[] = {&an->overlong, &an->bare_lf,  &an->bare_cr,
                       &an->gaps,     &an->pipelined, &an->retrans,
                       &an->ooo,      &an->bad_reply, &an->replies_dropped,
                       &an->truncated, &an->fragments};
  json_t *a = json_object_get(o, "anomalies");
  size_t i;

  if (a == NULL || json_is_null(a)) return 0;
  if (!json_is_object(a)) return bad(c, "anomalies", "not an object");
  for (i = 0; i < ARRAY_SIZE(keys); i++) {
    json_t *v = json_object_get(a, keys[i]);
    json_int_t n;
    if (v == NULL) continue;
    if (!json_is_integer(v) || (n = json_integer_value(v)) < 0)
      return bad(c, keys[i], "not a count");
    *field[i] += n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
  }
  return 0;
}

static int take_point(struct jctx *c, json_t *o) {
  struct jsonl_event *ev = c->ev;
  const char *str;
  size_t n;
  int rc;

  if ((rc = req_str(c, o, "point", &str)) < 0) return rc;
  if (str[0] == '\0' || strlen(str) >= sizeof(ev->point) ||
      strlen(str) != json_string_length(json_object_get(o, "point")))
    return bad(c, "point", "empty, too long or holding a NUL");
  for (n = 0; str[n]; n++)
    if ((unsigned char)str[n] < 0x20 || str[n] == 0x7F)
      return bad(c, "point", "holds a control character");
  memcpy(ev->point, str, strlen(str) + 1);
  return 0;
}

/* A capture counter: point, at, name, value. */
static int take_stats(struct jctx *c, json_t *o) {
  struct jsonl_event *ev = c->ev;
  const char *name;
  size_t i;
  int rc;

  if ((rc = take_point(c, o)) < 0 || (rc = req_time(c, o, "at", &ev->stat.at)) < 0 ||
      (rc = req_str(c, o, "name", &name)) < 0 ||
      (rc = req_int(c, o, "value", INT64_MIN, INT64_MAX, &ev->stat.value)) < 0)
    return rc;
  for (i = 0; name[i]; i++)
    if (i == sizeof(ev->stat.name) - 1 ||
        !((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
          name[i] == '_'))
      return bad(c, "name", "not a counter's name");
  if (i == 0) return bad(c, "name", "empty");
  memcpy(ev->stat.name, name, i + 1);
  return 0;
}

/* The session's keys (DESIGN.md, sessions --format jsonl). */
static int take_session(struct jctx *c, json_t *o) {
  struct jsonl_event *ev = c->ev;
  struct session *s = &ev->s;
  int64_t n;
  uint64_t a, b;
  json_t *v;
  int rc;

  if ((rc = take_point(c, o)) < 0) return rc;
  if ((rc = req_time(c, o, "first_seen", &s->first_us)) < 0 ||
      (rc = req_time(c, o, "last_seen", &s->last_us)) < 0 ||
      (rc = req_addr(c, o, "src_ip", &s->src)) < 0 ||
      (rc = req_addr(c, o, "dst_ip", &s->dst)) < 0)
    return rc;
  if (s->src.family != s->dst.family) return bad(c, "dst_ip", "not of src_ip's family");
  if ((rc = req_int(c, o, "src_port", 0, 65535, &n)) < 0) return rc;
  s->sport = (uint16_t)n;
  if ((rc = req_int(c, o, "dst_port", 0, 65535, &n)) < 0) return rc;
  s->dport = (uint16_t)n;
  s->vlan = -1;
  v = json_object_get(o, "vlan");
  if (v != NULL && !json_is_null(v)) {
    if ((rc = req_int(c, o, "vlan", 0, 4095, &n)) < 0) return rc;
    s->vlan = (int32_t)n;
  }
  if ((rc = req_name(c, o, "state", sess_state_name, SESS_CLOSED + 1, &s->state)) < 0 ||
      (rc = req_name(c, o, "end", sess_end_name, END_EVICTED + 1, &s->end)) < 0 ||
      (rc = req_name(c, o, "client_by", sess_dirby_name, DIRBY_PORT + 1, &s->dirby)) < 0 ||
      (rc = req_name(c, o, "direction", sess_direction_name, DIR_INBOUND + 1,
                     &s->direction)) < 0)
    return rc;
  if ((rc = opt_text(c, o, "banner", &s->banner)) < 0 ||
      (rc = opt_text(c, o, "banner_host", &s->banner_host)) < 0 ||
      (rc = opt_text(c, o, "ehlo_reply", &s->ehlo_reply)) < 0 ||
      (rc = opt_text(c, o, "mail_from_domain", &s->mail_domain)) < 0 ||
      (rc = take_helos(c, o)) < 0 || (rc = take_replies(c, o)) < 0 ||
      (rc = take_anomalies(c, o)) < 0)
    return rc;
  s->has_mail = s->mail_domain.p != NULL;
  v = json_object_get(o, "echoed_ip");
  if (v != NULL && !json_is_null(v)) {
    const char *from = NULL;
    json_t *f = json_object_get(o, "echoed_from");
    int cmd;
    if ((rc = req_addr(c, o, "echoed_ip", &s->echoed)) < 0) return rc;
    if (json_is_string(f)) from = json_string_value(f);
    cmd = from == NULL || strcmp(from, "reject") == 0
              ? CMD_NONE
              : sess_name_parse(smtp_cmd_name, CMD_COUNT_, from);
    s->echoed_from = (uint8_t)(cmd < 0 ? CMD_NONE : cmd);
  }
  if ((rc = opt_bool(c, o, "starttls", &s->starttls_accepted)) < 0 ||
      (rc = opt_bool(c, o, "starttls_offered", &s->starttls_offered)) < 0 ||
      (rc = opt_bool(c, o, "starttls_requested", &s->starttls_requested)) < 0)
    return rc;
  v = json_object_get(o, "last_reply");
  s->last_reply = NULL;
  if (json_is_string(v) &&
      is_reply_code(json_string_value(v), json_string_length(v))) {
    split_reply(ev, json_string_value(v), json_string_length(v), &ev->last);
    s->last_reply = &ev->last;
  }
  if ((rc = take_pair(c, o, "packets", &a, &b)) < 0) return rc;
  s->pkts_c2s = a > UINT32_MAX ? UINT32_MAX : (uint32_t)a;
  s->pkts_s2c = b > UINT32_MAX ? UINT32_MAX : (uint32_t)b;
  if ((rc = take_pair(c, o, "bytes", &s->bytes_c2s, &s->bytes_s2c)) < 0) return rc;
  return 0;
}

int jsonl_parse(const char *line, size_t len, struct jsonl_event *ev,
                char *err, size_t errlen) {
  struct jctx c = {ev, err, errlen};
  json_error_t je;
  json_t *o, *v;
  int rc = 0;

  memset(&ev->s, 0, sizeof(ev->s));
  ev->used = 0;
  ev->host[0] = ev->point[0] = '\0';
  ev->type = JSONL_SESSION;
  o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
  if (o == NULL) {
    snprintf(err, errlen, "not JSON: %s (column %d)", je.text, je.column);
    return -EINVAL;
  }
  if (!json_is_object(o)) {
    json_decref(o);
    snprintf(err, errlen, "not a JSON object");
    return -EINVAL;
  }
  v = json_object_get(o, "type");
  if (v != NULL) {
    const char *t = json_string_value(v);
    if (t == NULL) rc = bad(&c, "type", "not a string");
    else if (strcmp(t, "session") == 0) ev->type = JSONL_SESSION;
    else if (strncmp(t, "finding-", 8) == 0) ev->type = JSONL_FINDING;
    else if (strcmp(t, "stats") == 0) ev->type = JSONL_STATS;
    else ev->type = JSONL_OTHER;
  }
  v = json_object_get(o, "host");
  if (rc == 0 && v != NULL && !json_is_null(v)) {
    const char *h = json_string_value(v);
    size_t i;
    if (h == NULL || strlen(h) >= sizeof(ev->host) || strlen(h) != json_string_length(v))
      rc = bad(&c, "host", "not a host name");
    else {
      memcpy(ev->host, h, strlen(h) + 1);
      for (i = 0; ev->host[i]; i++)
        if ((unsigned char)ev->host[i] < 0x20 || ev->host[i] == 0x7F)
          rc = bad(&c, "host", "holds a control character");
    }
  }
  if (rc == 0 && ev->type == JSONL_SESSION) rc = take_session(&c, o);
  if (rc == 0 && ev->type == JSONL_STATS) rc = take_stats(&c, o);
  json_decref(o);
  return rc < 0 ? rc : (int)ev->type;
}
