/* egressaudit - cli/render.h: how a finding looks, for report and check
 * alike (text for people, JSON for scripts), and the monitoring exit code.
 * SPDX-License-Identifier: MIT
 */
#ifndef EA_RENDER_H
#define EA_RENDER_H

#include <stddef.h>
#include <stdint.h>

/* A finding to print; the strings are borrowed. A time of INT64_MIN is
 * unknown (printed null). */
struct fview {
  const char *rule, *subject, *detail, *fix;
  int sev;                       /* enum severity                         */
  int64_t first_us, last_us, count;
  int64_t id;                    /* stored finding's id; 0: none (check)  */
  int is_new;                    /* opened by the last analysis           */
};

/* How text output looks: the column to wrap at (the terminal's width, 80
 * off a terminal) and whether to colour. */
struct tstyle {
  int width, colour;
};
/* For stdout: a terminal's width (60 to 200) and colour unless NO_COLOR;
 * else 80 columns, no colour. */
struct tstyle render_style(void);

/* "  crit    rule: detail" and "          fix: ...", wrapped to the
 * style's width, the severity in colour when asked. */
void render_finding_text(const struct fview *f, const struct tstyle *ts);

/* One JSON object (DESIGN.md keys). */
void render_finding_json(const struct fview *f);

/* Text (escaped) wrapped to width - 1 columns: the first line goes on at
 * column col, the next start at column indent. */
void render_wrap(const char *text, int col, int indent, int width);

/* "2026-12-02T11:13:12Z" in quotes, or null. */
void render_json_time(int64_t us);

/* "2026-12-02 11:13" (minutes) into out (TIME_STRLEN). */
void render_text_time(int64_t us, char *out);
/* "2026-12-02 11:13:12" (seconds) into out (TIME_STRLEN). */
void render_text_secs(int64_t us, char *out);

/* ,"key":"value" (escaped), or ,"key":null when value is NULL. */
void render_json_field(const char *key, const char *value);

/* A monitoring-plugin status line (Nagios plugin guidelines):
 * "EGRESSAUDIT CRITICAL - summary | crit=2;;; warn=3;;; ..." for exit code
 * code; the caller prints the long text after it. */
void render_nagios_status(int code, const char *summary,
                          const int64_t by_sev[4], const char *extra_perf);

/* Plugin text from the wire or the DNS made safe: '|' (it would start
 * the perfdata) and line ends become blanks, the rest is escaped. */
void render_nagios_text(char *out, size_t cap, const char *text);

/* Add "rule subject" of a finding at or above warn to the status line's
 * list in sum (used so far: *n; listed counts them): ": a x, b y", at most
 * five, then ", ...". */
void render_nagios_list(char *sum, size_t cap, size_t *n, unsigned *listed,
                        int sev, const char *rule, const char *subject);

/* One line of the long text: "crit no-ptr 203.0.113.11: detail", safe. */
void render_nagios_finding(char *out, size_t cap, int sev, const char *rule,
                           const char *subject, const char *detail);

/* The exit code monitoring plugins read from findings counted by
 * severity: crit 2, else unknown 3, else warn 1 when fail_on is warn,
 * else 0. */
int render_exit_code(const int64_t by_sev[4], int fail_on);

#endif
