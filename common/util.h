/* egressaudit - common/util.h: escaping, addresses, times, small parsers.
 * SPDX-License-Identifier: MIT
 */
#ifndef EA_UTIL_H
#define EA_UTIL_H

#include <stdbool.h>
#include <stdio.h>

#include "common/types.h"

/* Escape bytes that came from the wire so that they are safe to store and to
 * print: printable ASCII and valid UTF-8 sequences (no C1 controls, no
 * surrogates, no overlongs) pass; every other byte becomes \xHH, and a
 * backslash becomes \\ so the result can be undone. Writes at most cap-1
 * bytes plus a NUL into out, never splitting an escape; returns the length
 * written. */
size_t esc_bytes(char *out, size_t cap, const void *in, size_t len);

/* As esc_bytes, but a backslash passes unchanged: for text that was
 * escaped once already (everything the store returns). */
size_t esc_text(char *out, size_t cap, const void *in, size_t len);

/* Worst-case size of esc_bytes' output for len input bytes, NUL included. */
#define ESC_CAP(len) ((len) * 4 + 1)

/* Print s to f with control bytes and invalid UTF-8 escaped (as esc_bytes,
 * but a backslash is left alone: the text is assumed escaped once already). */
void esc_fputs(FILE *f, const char *s);

/* Print s as a JSON string (quotes included): bytes are first escaped as
 * by esc_bytes (so the result is valid UTF-8), then '"' and '\' quoted. */
void json_str(FILE *f, const char *s);

/* A list of names or addresses as the database keeps it: a JSON array of
 * strings (`["a","b"]`), one encoding for every list column. '"' and
 * '\\' are escaped, any other byte outside printable ASCII is \u00XX.
 * jlist_add drops an item that does not fit (cut is set) and leaves the
 * array whole and valid. */
struct jlist {
  char *p;
  size_t cap, len;
  unsigned n;
  int cut;
};
void jlist_init(struct jlist *j, char *buf, size_t cap); /* cap >= 3 */
void jlist_add(struct jlist *j, const char *item);
/* The next string of such an array: *pos starts at the text ("[...]"),
 * out gets the item (cut to cap), 1; 0 at the end or on anything that is
 * not an array of strings (whoever can write the database wrote it). */
int jlist_next(const char **pos, char *out, size_t cap);

/* Write s (NULL: empty) as one CSV cell of RFC 4180, then ',' or, when
 * last, CRLF. A cell is quoted when it holds a comma, quote, CR or LF; a
 * cell that a spreadsheet would take as a formula (starting with '=', '+',
 * '-', '@', TAB or CR: OWASP's "CSV injection" list) is quoted and gets a
 * leading apostrophe, so that it shows as text and runs nothing. */
void csv_field(FILE *f, const char *s, int last);

/* Canonical text of an address (inet_ntop); out needs 46 bytes. */
#define ADDR_STRLEN 46
const char *addr_str(const struct ea_addr *a, char *out);
/* Parse text into an address; 0 on success, -1 when not an address. */
int addr_parse(struct ea_addr *a, const char *s, size_t len);

/* Find the first bracketed address in text ("[1.2.3.4]", "[IPv6:...]",
 * "[2001:db8::1]", extra tokens after the address tolerated) that differs
 * from skip (may be NULL). Returns 0 and sets *out, or -1. */
int addr_find_bracketed(const char *text, size_t len,
                        const struct ea_addr *skip, struct ea_addr *out);
/* The same, the last one: a receiver's echo ("Hello [10.0.0.5]
 * [192.0.2.37]" from Sendmail: the client's own literal, then the address
 * it saw). */
int addr_find_bracketed_last(const char *text, size_t len,
                             const struct ea_addr *skip, struct ea_addr *out);

/* Make room for one more element in a growable array *arr of *cap
 * elements of size elem holding n: doubles the capacity (from first) when
 * full. Returns 0, or -1 when out of memory (the array is unchanged). */
int vec_room(void *arr, size_t *cap, size_t n, size_t elem, size_t first);

/* FNV-1a of n bytes, cut to 63 bits (it fits a signed SQLite integer):
 * names the same bytes again (a log line read twice, a file's first bytes);
 * not for keys others choose to collide (strmap seeds its own). */
int64_t hash63(const void *p, size_t n);

/* Current time in microseconds since the epoch (CLOCK_REALTIME). */
int64_t now_us(void);
/* Monotonic time in microseconds. */
int64_t mono_us(void);

/* RFC 3339 UTC with microseconds: "2026-11-26T11:39:38.123456Z";
 * out needs TIME_STRLEN bytes. */
#define TIME_STRLEN 80
const char *time_str(int64_t us, char *out);

/* path made absolute (the working directory in front of a relative one;
 * links kept as given) into out. 0, or -1 when it does not fit or the
 * working directory is gone. */
int path_absolute(const char *path, char *out, size_t cap);

/* Parse RFC 3339 ("2026-11-26T11:39:38Z", fraction and offsets allowed, a
 * date alone means midnight UTC) or a duration back from now ("90m", "24h",
 * "7d", "30s", "2w"). Returns 0 and sets *us, or -1. */
int time_parse(const char *s, int64_t now, int64_t *us);
/* Parse a duration ("90m", "24h", "7d"); -1 when invalid. */
int dur_parse(const char *s, int64_t *us);
/* A span for people: "45s", "12m", "3h", "2d" (rounded down). */
void dur_str(int64_t us, char *out, size_t cap);

/* Parse "25,587" into a port bitmap of 65536 bits; -1 on a bad list. */
int ports_parse(const char *s, uint8_t bitmap[8192]);

#endif
