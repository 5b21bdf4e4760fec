/* egressaudit - cli/render.c: findings as text and JSON, exit codes.
 * SPDX-License-Identifier: MIT
 */
#define _POSIX_C_SOURCE 200809L
#include "cli/render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common/finding.h"
#include "common/util.h"

static const char *sev_colour(int sev) {
  switch (sev) {
  case SEV_CRIT: return "\033[1;31m";
  case SEV_WARN: return "\033[33m";
  case SEV_UNKNOWN: return "\033[35m";
  default: return "\033[36m";
  }
}

struct tstyle render_style(void) {
  struct tstyle ts = {80, 0};
  struct winsize ws;

  if (!isatty(STDOUT_FILENO)) return ts;
  ts.colour = getenv("NO_COLOR") == NULL;
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
    ts.width = ws.ws_col < 60 ? 60 : ws.ws_col > 200 ? 200 : ws.ws_col;
  return ts;
}

void render_wrap(const char *text, int col, int indent, int width) {
  char buf[4096];
  const char *p, *w;
  size_t n;

  esc_text(buf, sizeof(buf), text, strlen(text));
  for (p = buf; *p;) {
    while (*p == ' ') p++;
    for (w = p; *w && *w != ' '; w++)
      ;
    n = (size_t)(w - p);
    if (n == 0) break;
    if (col + (int)n > width - 1 && col > indent) {
      printf("\n%*s", indent, "");
      col = indent;
    } else if (col > indent) {
      putchar(' ');
      col++;
    }
    fwrite(p, 1, n, stdout);
    col += (int)n;
    p = w;
  }
  putchar('\n');
}

void render_finding_text(const struct fview *f, const struct tstyle *ts) {
  int col;

  printf("  %s%-7s%s %s:", ts->colour ? sev_colour(f->sev) : "",
         severity_name((unsigned)f->sev), ts->colour ? "\033[0m" : "",
         f->rule);
  col = 2 + 8 + (int)strlen(f->rule) + 1;
  render_wrap(f->detail, col, 10, ts->width);
  printf("          fix: ");
  render_wrap(f->fix, 15, 15, ts->width);
}

void render_json_time(int64_t us) {
  char t[TIME_STRLEN];

  if (us == INT64_MIN || us == INT64_MAX) printf("null");
  else printf("\"%s\"", time_str(us, t));
}

void render_text_time(int64_t us, char *out) {
  time_str(us, out);
  out[16] = '\0';
  out[10] = ' ';
}

void render_text_secs(int64_t us, char *out) {
  time_str(us, out);
  out[19] = '\0';
  out[10] = ' ';
}

void render_json_field(const char *key, const char *value) {
  printf(",\"%s\":", key);
  if (value) json_str(stdout, value);
  else printf("null");
}

void render_finding_json(const struct fview *f) {
  printf("{\"rule\":");
  json_str(stdout, f->rule);
  printf(",\"severity\":");
  json_str(stdout, severity_name((unsigned)f->sev));
  printf(",\"subject\":");
  json_str(stdout, f->subject);
  printf(",\"detail\":");
  json_str(stdout, f->detail);
  printf(",\"fix\":");
  json_str(stdout, f->fix);
  printf(",\"first_seen\":");
  render_json_time(f->first_us);
  printf(",\"last_seen\":");
  render_json_time(f->last_us);
  printf(",\"count\":%lld", (long long)f->count);
  if (f->id > 0)
    printf(",\"id\":%lld,\"new\":%s", (long long)f->id,
           f->is_new ? "true" : "false");
  putchar('}');
}

int render_exit_code(const int64_t by_sev[4], int fail_on) {
  if (by_sev[SEV_CRIT] > 0) return 2;
  if (by_sev[SEV_UNKNOWN] > 0) return 3;
  if (by_sev[SEV_WARN] > 0 && fail_on == SEV_WARN) return 1;
  return 0;
}

void render_nagios_text(char *out, size_t cap, const char *text) {
  char plain[FINDING_TEXT_MAX + 600];
  size_t i;

  snprintf(plain, sizeof(plain), "%s", text);
  for (i = 0; plain[i]; i++)
    if (plain[i] == '|' || plain[i] == '\n' || plain[i] == '\r') plain[i] = ' ';
  esc_text(out, cap, plain, i);
}

void render_nagios_list(char *sum, size_t cap, size_t *n, unsigned *listed,
                        int sev, const char *rule, const char *subject) {
  if (severity_rank(sev) < severity_rank(SEV_WARN) || *n >= cap) return;
  if (*listed == 5)
    *n += (size_t)snprintf(sum + *n, cap - *n, ", ...");
  else if (*listed < 5)
    *n += (size_t)snprintf(sum + *n, cap - *n, "%s%s %s", *listed ? ", " : ": ",
                           rule, subject);
  (*listed)++;
}

void render_nagios_finding(char *out, size_t cap, int sev, const char *rule,
                           const char *subject, const char *detail) {
  char line[FINDING_TEXT_MAX + 600];

  snprintf(line, sizeof(line), "%s %s %s: %s", severity_name((unsigned)sev),
           rule, subject, detail);
  render_nagios_text(out, cap, line);
}

void render_nagios_status(int code, const char *summary,
                          const int64_t by_sev[4], const char *extra_perf) {
  static const char *const word[4] = {"OK", "WARNING", "CRITICAL", "UNKNOWN"};
  char line[ESC_CAP(1024)];

  /* The plugin output is one line: '|' starts the perfdata, so none in
   * the text (a finding's subject comes from the wire or the DNS). */
  render_nagios_text(line, sizeof(line), summary);
  printf("EGRESSAUDIT %s - %s | crit=%lld;;; warn=%lld;;; unknown=%lld;;; "
         "info=%lld;;;%s%s\n",
         word[code >= 0 && code <= 3 ? code : 3], line,
         (long long)by_sev[SEV_CRIT], (long long)by_sev[SEV_WARN],
         (long long)by_sev[SEV_UNKNOWN], (long long)by_sev[SEV_INFO],
         extra_perf ? " " : "", extra_perf ? extra_perf : "");
}
