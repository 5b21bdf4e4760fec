/* egressaudit - common/util.c: escaping, addresses, times, small parsers.
 * SPDX-License-Identifier: MIT
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE
#include "common/util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <strings.h>
#include <time.h>

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when p does not start
 * one. Rejects overlong forms, surrogates, code points past U+10FFFF and C1
 * controls (U+0080..U+009F), which some terminals obey. RFC 3629 section 4. */
static size_t utf8_len(const uint8_t *p, size_t left) {
  uint32_t cp;
  size_t n, i;

  if (p[0] < 0xC2 || p[0] > 0xF4) return 0;
  if (p[0] < 0xE0) n = 2, cp = p[0] & 0x1F;
  else if (p[0] < 0xF0) n = 3, cp = p[0] & 0x0F;
  else n = 4, cp = p[0] & 0x07;
  if (left < n) return 0;
  for (i = 1; i < n; i++) {
    if ((p[i] & 0xC0) != 0x80) return 0;
    cp = cp << 6 | (p[i] & 0x3F);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000)) return 0;
  if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
  if (cp > 0x10FFFF || (cp >= 0x80 && cp <= 0x9F)) return 0;
  return n;
}

static size_t esc_core(char *out, size_t cap, const uint8_t *in, size_t len,
                       bool esc_backslash) {
  static const char hex[] = "0123456789abcdef";
  size_t o = 0, i = 0, n;

  if (cap == 0) return 0;
  while (i < len) {
    uint8_t c = in[i];
    if (c >= 0x20 && c < 0x7F && !(c == '\\' && esc_backslash)) {
      if (o + 1 >= cap) break;
      out[o++] = (char)c;
      i++;
    } else if (c == '\\') {
      if (o + 2 >= cap) break;
      out[o++] = '\\';
      out[o++] = '\\';
      i++;
    } else if (c >= 0x80 && (n = utf8_len(in + i, len - i)) > 0) {
      if (o + n >= cap) break;
      memcpy(out + o, in + i, n);
      o += n;
      i += n;
    } else {
      if (o + 4 >= cap) break;
      out[o++] = '\\';
      out[o++] = 'x';
      out[o++] = hex[c >> 4];
      out[o++] = hex[c & 15];
      i++;
    }
  }
  out[o] = '\0';
  return o;
}

size_t esc_bytes(char *out, size_t cap, const void *in, size_t len) {
  return esc_core(out, cap, in, len, true);
}

size_t esc_text(char *out, size_t cap, const void *in, size_t len) {
  return esc_core(out, cap, in, len, false);
}

/* Escape s (backslashes kept) in pieces that never end inside a UTF-8
 * sequence, and print each piece with put. */
static void esc_pieces(FILE *f, const char *s,
                       void (*put)(FILE *f, const char *piece)) {
  char buf[1024];
  size_t len = strlen(s), chunk;

  while (len > 0) {
    chunk = MIN(len, (sizeof(buf) - 1) / 4);
    while (chunk < len && chunk > 0 && ((uint8_t)s[chunk] & 0xC0) == 0x80)
      chunk--;
    if (chunk == 0) chunk = MIN(len, (sizeof(buf) - 1) / 4);
    esc_core(buf, sizeof(buf), (const uint8_t *)s, chunk, false);
    put(f, buf);
    s += chunk;
    len -= chunk;
  }
}

static void put_plain(FILE *f, const char *piece) { fputs(piece, f); }

static void put_json(FILE *f, const char *piece) {
  for (; *piece; piece++) {
    if (*piece == '"' || *piece == '\\') fputc('\\', f);
    fputc(*piece, f);
  }
}

void esc_fputs(FILE *f, const char *s) { esc_pieces(f, s, put_plain); }

void json_str(FILE *f, const char *s) {
  fputc('"', f);
  esc_pieces(f, s, put_json);
  fputc('"', f);
}

const char *addr_str(const struct ea_addr *a, char *out) {
  if (a->family == 4)
    inet_ntop(AF_INET, a->a, out, ADDR_STRLEN);
  else if (a->family == 6)
    inet_ntop(AF_INET6, a->a, out, ADDR_STRLEN);
  else
    out[0] = '\0';
  return out;
}

int addr_parse(struct ea_addr *a, const char *s, size_t len) {
  char buf[ADDR_STRLEN];

  memset(a, 0, sizeof(*a));
  if (len == 0 || len >= sizeof(buf)) return -1;
  memcpy(buf, s, len);
  buf[len] = '\0';
  if (inet_pton(AF_INET, buf, a->a) == 1) {
    a->family = 4;
    return 0;
  }
  if (inet_pton(AF_INET6, buf, a->a) == 1) {
    a->family = 6;
    return 0;
  }
  return -1;
}

/* Is there an address literal at text[i] ('[' then an address, "IPv6:"
 * allowed), other than skip? */
static int bracket_at(const char *text, size_t len, size_t i,
                      const struct ea_addr *skip, struct ea_addr *out) {
  size_t j = i + 1, k;

  if (text[i] != '[') return 0;
  if (len - j >= 5 && strncasecmp(text + j, "IPv6:", 5) == 0) j += 5;
  for (k = j; k < len && k - j < ADDR_STRLEN; k++) {
    char c = text[k];
    if (!((c >= '0' && c <= '9') || c == ':' || c == '.' || (c >= 'a' && c <= 'f') ||
          (c >= 'A' && c <= 'F')))
      break;
  }
  return addr_parse(out, text + j, k - j) == 0 &&
         !(skip != NULL && skip->family == out->family &&
           memcmp(skip->a, out->a, out->family == 4 ? 4 : 16) == 0);
}

int addr_find_bracketed(const char *text, size_t len,
                        const struct ea_addr *skip, struct ea_addr *out) {
  size_t i;

  for (i = 0; i < len; i++)
    if (bracket_at(text, len, i, skip, out)) return 0;
  memset(out, 0, sizeof(*out));
  return -1;
}

int addr_find_bracketed_last(const char *text, size_t len,
                             const struct ea_addr *skip, struct ea_addr *out) {
  struct ea_addr a;
  int found = -1;
  size_t i;

  memset(out, 0, sizeof(*out));
  for (i = 0; i < len; i++)
    if (bracket_at(text, len, i, skip, &a)) {
      *out = a;
      found = 0;
    }
  return found;
}

int vec_room(void *arr, size_t *cap, size_t n, size_t elem, size_t first) {
  void *old, *grown;
  size_t want;

  if (n < *cap) return 0;
  want = *cap ? *cap * 2 : first;
  /* arr points to a T *; read and write it with memcpy, not through a
   * void ** (that would break the aliasing rules). POSIX gives every object
   * pointer the same representation. */
  memcpy(&old, arr, sizeof(old));
  grown = realloc(old, want * elem);
  if (grown == NULL) return -1;
  memcpy(arr, &grown, sizeof(grown));
  *cap = want;
  return 0;
}

int64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t mono_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

const char *time_str(int64_t us, char *out) {
  struct tm tm;
  time_t sec = (time_t)(us / 1000000);
  long frac = (long)(us % 1000000);

  if (frac < 0) frac += 1000000, sec--;
  gmtime_r(&sec, &tm);
  snprintf(out, TIME_STRLEN, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ",
           tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
           tm.tm_min, tm.tm_sec, frac);
  return out;
}

int dur_parse(const char *s, int64_t *us) {
  char *end;
  long long v;
  int64_t unit;

  if (s == NULL || !isdigit((unsigned char)s[0])) return -1;
  errno = 0;
  v = strtoll(s, &end, 10);
  if (errno != 0 || v < 0) return -1;
  switch (*end) {
  case 's': unit = 1000000LL; break;
  case 'm': unit = 60LL * 1000000; break;
  case 'h': unit = 3600LL * 1000000; break;
  case 'd': unit = 86400LL * 1000000; break;
  case 'w': unit = 7 * 86400LL * 1000000; break;
  default: return -1;
  }
  if (end[1] != '\0') return -1;
  if (v > INT64_MAX / unit) return -1;
  *us = v * unit;
  return 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, int m, int d) {
  int64_t era, yoe, doy, doe;

  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = y - era * 400;
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int time_parse(const char *s, int64_t now, int64_t *us) {
  int y, mo, d, h = 0, mi = 0, se = 0, n = 0, oh, om;
  int64_t frac = 0, scale = 100000, t, dur;
  const char *p;

  if (dur_parse(s, &dur) == 0) {
    *us = now - dur;
    return 0;
  }
  if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10) return -1;
  p = s + n;
  if (*p == 'T' || *p == 't' || *p == ' ') {
    if (sscanf(p + 1, "%2d:%2d:%2d%n", &h, &mi, &se, &n) != 3 || n != 8)
      return -1;
    p += 1 + n;
    if (*p == '.') {
      for (p++; isdigit((unsigned char)*p); p++) {
        frac += (*p - '0') * scale;
        scale /= 10;
      }
    }
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
    return -1;
  t = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60 + se;
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2 || strlen(p) != 6) return -1;
    t += (*p == '+' ? -1 : 1) * (oh * 3600 + om * 60);
    p += 6;
  }
  if (*p != '\0') return -1;
  *us = t * 1000000 + frac;
  return 0;
}

int ports_parse(const char *s, uint8_t bitmap[8192]) {
  const char *p = s;
  char *end;
  long v;
  int any = 0;

  memset(bitmap, 0, 8192);
  while (*p != '\0') {
    errno = 0;
    v = strtol(p, &end, 10);
    if (end == p || errno != 0 || v < 1 || v > 65535) return -1;
    bitmap[v >> 3] |= (uint8_t)(1u << (v & 7));
    any = 1;
    p = end;
    if (*p == ',') p++;
    else if (*p != '\0') return -1;
  }
  return any ? 0 : -1;
}

void csv_field(FILE *f, const char *s, int last) {
  if (s != NULL && *s != '\0') {
    int formula = strchr("=+-@\t\r", s[0]) != NULL;
    if (formula || strpbrk(s, ",\"\r\n") != NULL) {
      fputc('"', f);
      if (formula) fputc('\'', f);
      for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
      }
      fputc('"', f);
    } else {
      fputs(s, f);
    }
  }
  fputs(last ? "\r\n" : ",", f);
}

void dur_str(int64_t us, char *out, size_t cap) {
  int64_t s = us > 0 ? us / 1000000 : 0;

  if (s < 120) snprintf(out, cap, "%llds", (long long)s);
  else if (s < 7200) snprintf(out, cap, "%lldm", (long long)(s / 60));
  else if (s < 172800) snprintf(out, cap, "%lldh", (long long)(s / 3600));
  else snprintf(out, cap, "%lldd", (long long)(s / 86400));
}

void jlist_init(struct jlist *j, char *buf, size_t cap) {
  j->p = buf;
  j->cap = cap;
  j->n = 0;
  j->cut = 0;
  memcpy(buf, "[]", 3);
  j->len = 2;
}

void jlist_add(struct jlist *j, const char *item) {
  static const char hex[] = "0123456789abcdef";
  size_t o = j->len - 1; /* over the ']' */
  const uint8_t *s = (const uint8_t *)item;

  if (j->n > 0) {
    if (o + 1 >= j->cap) goto cut;
    j->p[o++] = ',';
  }
  if (o + 1 >= j->cap) goto cut;
  j->p[o++] = '"';
  for (; *s; s++) {
    if (o + 6 >= j->cap) goto cut;
    if (*s == '"' || *s == '\\') {
      j->p[o++] = '\\';
      j->p[o++] = (char)*s;
    } else if (*s < 0x20 || *s >= 0x7f) {
      memcpy(j->p + o, "\\u00", 4);
      o += 4;
      j->p[o++] = hex[*s >> 4];
      j->p[o++] = hex[*s & 15];
    } else {
      j->p[o++] = (char)*s;
    }
  }
  if (o + 2 >= j->cap) goto cut;
  j->p[o++] = '"';
  j->p[o++] = ']';
  j->p[o] = '\0';
  j->len = o;
  j->n++;
  return;
cut:
  j->cut = 1;
  j->p[j->len - 1] = ']';
  j->p[j->len] = '\0';
}

static int hexval(char c) {
  return c >= '0' && c <= '9'   ? c - '0'
         : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                : -1;
}

int jlist_next(const char **pos, char *out, size_t cap) {
  const char *p = *pos;
  size_t o = 0;

  if (p == NULL || cap == 0) return 0;
  while (*p == ' ') p++;
  if (*p == '[') p++;          /* the first item */
  else if (*p == ',') p++;     /* the next one */
  else return 0;               /* ']', the end, or not ours */
  while (*p == ' ') p++;
  if (*p != '"') return 0;
  for (p++; *p && *p != '"'; p++) {
    char c = *p;
    if (c == '\\') {
      p++;
      switch (*p) {
      case '"': case '\\': case '/': c = *p; break;
      case 'n': c = '\n'; break;
      case 't': c = '\t'; break;
      case 'r': c = '\r'; break;
      case 'u': {
        int a = hexval(p[1]), b = a < 0 ? -1 : hexval(p[2]),
            d = b < 0 ? -1 : hexval(p[3]), e = d < 0 ? -1 : hexval(p[4]);
        if (e < 0) return 0;
        /* Only what jlist_add writes (\u00XX); anything else as '?'. */
        c = a == 0 && b == 0 ? (char)(d << 4 | e) : '?';
        if (c == '\0') c = '?';
        p += 4;
        break;
      }
      default: return 0;
      }
    }
    if (o + 1 < cap) out[o++] = c;
  }
  if (*p != '"') return 0;
  out[o] = '\0';
  *pos = p + 1;
  return 1;
}

int64_t hash63(const void *p, size_t n) {
  const uint8_t *b = p;
  uint64_t h = 1469598103934665603ULL;
  while (n--) h = (h ^ *b++) * 1099511628211ULL;
  return (int64_t)(h >> 1);
}

int path_absolute(const char *path, char *out, size_t cap) {
  char cwd[2048];

  if (path[0] == '/') return snprintf(out, cap, "%s", path) < (int)cap ? 0 : -1;
  if (getcwd(cwd, sizeof(cwd)) == NULL) return -1;
  return snprintf(out, cap, "%s/%s", cwd, path) < (int)cap ? 0 : -1;
}
