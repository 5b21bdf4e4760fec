/* egressaudit - cli/report_html.c: `report --format html`, a page to look
 * at after an incident: the summary, the egress timeline (inline SVG drawn
 * here: a lane per source address, sessions binned and coloured by what
 * became of them, rejects marked with the receiver's words, PTR changes
 * from the identity log, the part of the window the last analysis judged),
 * the identity cards worst first, the NAT map.
 *
 * Self-contained: no script at all, nothing fetched (a Content-Security-
 * Policy that forbids every load says so to the browser too). Every string
 * from the wire or the DNS goes through html_esc. Big histories stay small:
 * sessions are counted per lane and bin (at most TL_LANES lanes of TL_BINS
 * bins), rejects marked once per lane and bin.
 * SPDX-License-Identifier: MIT
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/report.h"
#include "common/strmap.h"
#include "common/util.h"
#include "store/store.h"

#define TL_BINS 120
#define TL_LANES 60
#define TL_LEFT 230     /* the lane labels                              */
#define TL_PLOT 840     /* the bins                                     */
#define TL_LANE_H 30
#define TL_TOP 34       /* the time axis                                */
#define TL_PTR_MAX 8    /* PTR changes drawn per lane                   */
#define HTML_CARDS 100  /* identities shown as cards (worst first)      */
#define HTML_ROWS 2000  /* then as a row each                           */

/* Text into element content or a quoted attribute: the five specials as
 * entities, control characters as U+FFFD (never a raw byte a parser
 * could take for markup). */
static void html_esc(FILE *f, const char *s) {
  if (s == NULL) return;
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    switch (c) {
    case '&': fputs("&amp;", f); break;
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '"': fputs("&quot;", f); break;
    case '\'': fputs("&#39;", f); break;
    default:
      if (c < 0x20 || c == 0x7f) fputs("\xef\xbf\xbd", f);
      else fputc(c, f);
    }
  }
}

/* Markup of ours, then text that may be anyone's (escaped). */
static void put(FILE *f, const char *markup, const char *text) {
  fputs(markup, f);
  html_esc(f, text);
}

/* A list column (JSON array of strings) as "a, b, c", escaped. */
static void html_list(FILE *f, const char *list) {
  char item[512];
  const char *p = list;
  int n = 0;

  while (p && jlist_next(&p, item, sizeof(item))) {
    if (n++) fputs(", ", f);
    html_esc(f, item);
  }
  if (n == 0) fputs("-", f);
}

struct mark {
  int64_t bin, count, at;
  char *text;               /* receiver, code and reply, for the tooltip */
};

struct lane {
  char *src, *echoed, *point;
  int64_t sessions, rejected;
  int64_t n[TL_BINS], rej[TL_BINS], def[TL_BINS], una[TL_BINS], tls[TL_BINS];
  struct mark *marks;
  size_t nm, capm;
  struct { int64_t at; char *ptr, *iprev; } ptr[TL_PTR_MAX];
  int nptr;
};

struct tl {
  const char *focus;        /* only this address's lanes, or NULL        */
  int fixed;                /* the lanes were chosen first (the busiest) */
  struct lane *l;
  size_t n, cap;
  struct strmap idx;        /* source address -> index in l, plus one    */
  int64_t t0, width;        /* the bins: [t0 + k * width, + width)       */
  int64_t lanes_dropped;
  int oom;
};

static struct lane *lane_get(struct tl *T, const char *src, int make) {
  void **slot = strmap_slot(&T->idx, src, make);

  if (slot == NULL) {
    if (make) T->oom = 1;
    return NULL;
  }
  if (*slot != NULL) return &T->l[(uintptr_t)*slot - 1];
  if (vec_room(&T->l, &T->cap, T->n, sizeof(*T->l), 16) < 0) {
    T->oom = 1;
    return NULL;
  }
  memset(&T->l[T->n], 0, sizeof(T->l[0]));
  if ((T->l[T->n].src = strdup(src)) == NULL) {
    T->oom = 1;
    return NULL;
  }
  *slot = (void *)(uintptr_t)(T->n + 1);
  return &T->l[T->n++];
}

static int on_src(const char *src, int64_t sessions, void *ctx) {
  struct tl *T = ctx;
  (void)sessions;
  return lane_get(T, src ? src : "?", 1) == NULL;
}

/* A lane drawn: any, or the focus address's (as source or as echoed). */
static int in_focus(const struct tl *T, const char *src, const char *echoed) {
  return T->focus == NULL || (src && strcmp(src, T->focus) == 0) ||
         (echoed && strcmp(echoed, T->focus) == 0);
}

static int on_bin(const struct tl_bin *b, void *ctx) {
  struct tl *T = ctx;
  const char *src = b->src_ip ? b->src_ip : "?";
  struct lane *L;
  int64_t k = b->bin;

  /* A lane is made for the focus address's sessions; else they were
   * chosen first. */
  if ((L = lane_get(T, src, !T->fixed && b->what == TL_ALL &&
                                in_focus(T, b->src_ip, b->echoed_ip))) == NULL)
    return T->oom;
  if (k < 0 || k >= TL_BINS) return 0;
  switch (b->what) {
  case TL_ALL:
    L->n[k] += b->sessions;
    L->una[k] += b->unanswered;
    L->tls[k] += b->starttls; /* less those the log gave, below */
    L->sessions += b->sessions;
    if (b->echoed_ip && !L->echoed && (L->echoed = strdup(b->echoed_ip)) == NULL)
      T->oom = 1;
    if (b->point && !L->point && (L->point = strdup(b->point)) == NULL) T->oom = 1;
    break;
  case TL_REJECTED:
    L->rej[k] += b->sessions;
    L->rejected += b->sessions;
    break;
  case TL_DEFERRED: L->def[k] += b->sessions; break;
  case TL_TLS_LOGGED:
    L->tls[k] -= b->sessions < L->tls[k] ? b->sessions : L->tls[k];
    break;
  }
  return T->oom;
}

static int on_reject(const struct reject_row *r, void *ctx) {
  struct tl *T = ctx;
  const char *src = r->src_ip ? r->src_ip : "(MTA log)";
  int64_t k = (r->first_us - T->t0) / (T->width > 0 ? T->width : 1);
  char when[TIME_STRLEN], buf[1024];
  struct lane *L;
  struct mark *m;

  /* only on a lane drawn, but the MTA log's own lane is always made */
  if ((L = lane_get(T, src, r->src_ip == NULL ||
                                (!T->fixed && in_focus(T, r->src_ip, r->echoed_ip)))) == NULL)
    return T->oom;
  if (L == NULL) return 1;
  if (k < 0) k = 0;
  if (k >= TL_BINS) k = TL_BINS - 1;
  if (L->nm > 0 && L->marks[L->nm - 1].bin == k) { /* one mark per bin */
    L->marks[L->nm - 1].count++;
    return 0;
  }
  if (vec_room(&L->marks, &L->capm, L->nm, sizeof(*L->marks), 16) < 0)
    return T->oom = 1;
  render_text_secs(r->first_us, when);
  snprintf(buf, sizeof(buf), "%s UTC: %s (%s) answered %lld%s%s %s%s", when,
           r->banner_host ? r->banner_host : "?", r->dst_ip ? r->dst_ip : "?",
           (long long)r->code, r->enhanced ? " " : "",
           r->enhanced ? r->enhanced : "", r->text ? r->text : "",
           r->from_log ? " (from the MTA log)" : "");
  m = &L->marks[L->nm++];
  m->bin = k;
  m->count = 1;
  m->at = r->first_us;
  if ((m->text = strdup(buf)) == NULL) T->oom = 1;
  return T->oom;
}

static int on_idlog(const struct idlog_row *r, void *ctx) {
  struct lane *L = ctx;
  if (L->nptr == TL_PTR_MAX) return 0;
  L->ptr[L->nptr].at = r->at;
  L->ptr[L->nptr].ptr = strdup(r->ptr ? r->ptr : "[]");
  L->ptr[L->nptr].iprev = strdup(r->iprev ? r->iprev : "");
  L->nptr++;
  return 0;
}

static void lane_free(struct lane *L) {
  size_t j;
  for (j = 0; j < L->nm; j++) free(L->marks[j].text);
  for (j = 0; j < (size_t)L->nptr; j++) {
    free(L->ptr[j].ptr);
    free(L->ptr[j].iprev);
  }
  free(L->marks);
  free(L->src);
  free(L->echoed);
  free(L->point);
}

static void tl_free(struct tl *T) {
  size_t k;
  for (k = 0; k < T->n; k++) lane_free(&T->l[k]);
  free(T->l);
  strmap_free(&T->idx, NULL);
}

static int cmp_src(const void *a, const void *b) {
  return strcmp(((const struct lane *)a)->src, ((const struct lane *)b)->src);
}

static int cmp_busiest(const void *a, const void *b) {
  const struct idn *x = *(const struct idn *const *)a, *y = *(const struct idn *const *)b;
  return x->sessions < y->sessions ? 1 : x->sessions > y->sessions ? -1 : strcmp(x->ip, y->ip);
}

/* The lanes from the analysis: the sources of the busiest identities (no
 * scan of the sessions for it; a source new since the last analysis gets
 * no lane until the next). 0, or -1 when there is none to go by. */
static int lanes_from_identities(struct tl *T, const struct rep *R) {
  const struct idn **by;
  int64_t all = 0;
  size_t k;

  if (R->ni == 0) return -1;
  if ((by = malloc(R->ni * sizeof(*by))) == NULL) return T->oom = 1, -1;
  for (k = 0; k < R->ni; k++) by[k] = &R->i[k];
  qsort(by, R->ni, sizeof(*by), cmp_busiest);
  for (k = 0; k < R->ni; k++) {
    char src[64];
    const char *p = by[k]->sources;
    while (p && jlist_next(&p, src, sizeof(src))) {
      all++;
      if (T->n < TL_LANES) lane_get(T, src, 1);
    }
  }
  free(by);
  T->fixed = 1;
  T->lanes_dropped = all > (int64_t)T->n ? all - (int64_t)T->n : 0;
  return 0;
}

/* Everything the timeline draws, from the database. 0 or an exit code. */
static int tl_load(struct tl *T, const struct rep *R, const struct report_opts *o) {
  struct store *st;
  char err[1024];
  int64_t first, last;
  size_t k;

  memset(T, 0, sizeof(*T));
  T->focus = o->focus;
  if (store_open(&st, cli_db_path(o->db), STORE_RO, err, sizeof(err)) < 0) {
    cli_err("%s", err);
    return EXIT_IOERR;
  }
  /* The analysis knows the span, unless sessions came after it. */
  if (R->ni > 0 && o->focus == NULL && R->m.new_sessions == 0) {
    first = INT64_MAX;
    last = INT64_MIN;
    for (k = 0; k < R->ni; k++) {
      if (R->i[k].first_us < first) first = R->i[k].first_us;
      if (R->i[k].last_us > last) last = R->i[k].last_us;
    }
    if (first < o->since) first = o->since;
    if (last > o->until) last = o->until;
  } else if (store_span(st, o->since, o->until, &first, &last) < 0) {
    goto fail;
  }
  T->t0 = first;
  T->width = (last - first) / TL_BINS + 1;
  if (o->focus == NULL && lanes_from_identities(T, R) < 0 && !T->oom) {
    /* not analysed yet: the busiest sources of the sessions */
    int64_t all;
    if (store_busiest_sources(st, o->since, o->until, TL_LANES, &all, on_src, T) < 0)
      goto fail;
    T->fixed = 1;
    T->lanes_dropped = all > (int64_t)T->n ? all - (int64_t)T->n : 0;
  }
  if (T->fixed) { /* read only the chosen sources' sessions */
    const char *srcs[TL_LANES];
    for (k = 0; k < T->n && k < TL_LANES; k++) srcs[k] = T->l[k].src;
    if (first != 0 && store_timeline(st, o->since, o->until, T->t0, T->width, TL_BINS,
                                     srcs, k, on_bin, T) < 0)
      goto fail;
  } else if (first != 0 && store_timeline(st, o->since, o->until, T->t0, T->width,
                                          TL_BINS, NULL, 0, on_bin, T) < 0) {
    goto fail;
  }
  if (first != 0 && store_rejects(st, o->since, o->until, on_reject, T) < 0)
    goto fail;
  /* In address order (the index is not used after this). */
  if (T->n > 1) qsort(T->l, T->n, sizeof(*T->l), cmp_src);
  for (k = 0; k < T->n; k++)
    if (store_identity_log_of(st, T->l[k].echoed ? T->l[k].echoed : T->l[k].src,
                              on_idlog, &T->l[k]) < 0)
      goto fail;
  store_close(st);
  return T->oom ? EXIT_SOFTWARE : 0;
fail:
  cli_err("report: %s", T->oom ? "out of memory" : store_errmsg(st));
  store_close(st);
  return T->oom ? EXIT_SOFTWARE : EXIT_IOERR;
}

static const char *const CSS =
    "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1120px}"
    "h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}"
    ".meta{color:#555}.sum span{display:inline-block;margin:4px 8px 4px 0;padding:4px 10px;"
    "border-radius:4px;background:#eee}.sum .crit{background:#f4c7c3}.sum .warn{background:#fde6b3}"
    ".sum .unknown{background:#dde}.card{border:1px solid #ccc;border-radius:6px;padding:10px 14px;"
    "margin:10px 0;break-inside:avoid}.card h3{margin:0 0 6px;font-size:15px}"
    ".card table{border-collapse:collapse}.card td{padding:1px 10px 1px 0;vertical-align:top}"
    ".f{margin:6px 0 0;padding:6px 8px;border-left:4px solid #999;background:#fafafa}"
    "tr.silent td{background:#f4c7c3}.f.crit{border-color:#c22}.f.warn{border-color:#e90}.f.unknown{border-color:#66a}"
    ".f .fix{color:#333;margin-top:2px}.sev{font-weight:bold;text-transform:uppercase;font-size:12px}"
    ".rows td{padding:1px 12px 1px 0}svg{width:100%;height:auto;break-inside:avoid}svg text{font:11px system-ui,sans-serif}"
    ".nat{display:flex;align-items:center;gap:8px;margin:6px 0}.nat .box{border:1px solid #888;"
    "border-radius:4px;padding:4px 8px;background:#f6f6f6}.nat .arrow{color:#666}"
    ".pass{color:#171}.fail,.permerror{color:#b11}.temperror{color:#55a}"
    ".legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px;vertical-align:middle}"
    "@page{size:A4;margin:12mm}@media print{body{margin:0;max-width:none}"
    "svg{max-height:260mm}}"; /* a tall timeline shrinks to one page */

static const char *sev_class(int sev) {
  return sev == SEV_CRIT ? "crit" : sev == SEV_WARN ? "warn"
                                  : sev == SEV_UNKNOWN ? "unknown" : "info";
}

/* The colour of a bin: what became of its worst session. */
static const char *bin_colour(const struct lane *L, int k) {
  if (L->rej[k]) return "#d33";
  if (L->def[k]) return "#e90";
  if (L->una[k]) return "#57c";
  if (L->tls[k] == L->n[k]) return "#aaa";
  return "#4a9";
}

static void svg_axis(FILE *f, const struct tl *T, int h) {
  char t[TIME_STRLEN];
  int k;

  for (k = 0; k <= 4; k++) {
    int x = TL_LEFT + k * TL_PLOT / 4;
    int64_t at = T->t0 + (int64_t)k * T->width * TL_BINS / 4;
    /* minutes over a long span; seconds (time of day) over a short one */
    if (T->width * TL_BINS >= 4 * 3600 * 1000000LL || k == 0) render_text_time(at, t);
    else {
      char full[TIME_STRLEN];
      render_text_secs(at, full);
      snprintf(t, sizeof(t), "%s", full + 11);
    }
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#ddd\"/>", x,
            TL_TOP - 6, x, h);
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"%s\">%s</text>", x, TL_TOP - 10,
            k == 0 ? "start" : k == 4 ? "end" : "middle", t);
  }
}

/* The part of the window the last analysis judged, shaded. */
static void svg_judged(FILE *f, const struct tl *T, const struct rep *R, int h) {
  int64_t span = T->width * TL_BINS;
  int64_t a = R->m.last_analysis;
  int x;

  if (a == 0 || span <= 0) return;
  x = a >= T->t0 + span ? TL_PLOT : a <= T->t0 ? 0 : (int)((a - T->t0) * TL_PLOT / span);
  fprintf(f, "<rect class=\"judged\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
             "fill=\"#eef3fb\"><title>judged by the analysis of ",
          TL_LEFT, TL_TOP - 4, x, h - TL_TOP + 4);
  {
    char t[TIME_STRLEN];
    render_text_time(a, t);
    fprintf(f, "%s UTC</title></rect>", t);
  }
}

static void svg_lane(FILE *f, const struct tl *T, const struct lane *L, int y) {
  char t1[TIME_STRLEN], t2[TIME_STRLEN];
  int k, bw = TL_PLOT / TL_BINS;
  size_t j;

  put(f, "<g class=\"lane\" data-src=\"", L->src);
  fprintf(f, "\"><text x=\"0\" y=\"%d\">", y + TL_LANE_H - 8);
  html_esc(f, L->src);
  if (L->echoed && strcmp(L->echoed, L->src) != 0) put(f, " \xe2\x86\x92 ", L->echoed);
  put(f, "<title>", L->src);
  fprintf(f, ": %lld sessions, %lld rejected", (long long)L->sessions,
          (long long)L->rejected);
  if (L->point) {
    fputs(", at ", f);
    html_esc(f, L->point);
  }
  fprintf(f, "</title></text><line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
             "stroke=\"#eee\"/>",
          TL_LEFT, y + TL_LANE_H - 2, TL_LEFT + TL_PLOT, y + TL_LANE_H - 2);
  for (k = 0; k < TL_BINS; k++) {
    int64_t n = L->n[k];
    int hgt, lg = 0;
    if (n == 0) continue;
    while ((1LL << lg) <= n && lg < 40) lg++;
    hgt = 4 + lg * 2;
    if (hgt > TL_LANE_H - 14) hgt = TL_LANE_H - 14; /* room for a reject mark */
    render_text_time(T->t0 + k * T->width, t1);
    render_text_time(T->t0 + (k + 1) * T->width, t2);
    fprintf(f, "<rect class=\"tick\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
               "fill=\"%s\"><title>%s .. %s: %lld sessions, %lld rejected, %lld "
               "deferred, %lld unanswered, %lld TLS (outcome not visible)</title></rect>",
            TL_LEFT + k * bw, y + TL_LANE_H - 2 - hgt, bw > 1 ? bw - 1 : 1, hgt,
            bin_colour(L, k), t1, t2 + 11, (long long)n, (long long)L->rej[k],
            (long long)L->def[k], (long long)L->una[k], (long long)L->tls[k]);
  }
  for (j = 0; j < L->nm; j++) { /* above its bin's tick, pointing at it */
    int x = TL_LEFT + (int)L->marks[j].bin * bw + bw / 2;
    fprintf(f, "<path class=\"reject\" d=\"M%d %dl-4 -7h8z\" fill=\"#b00\"><title>", x,
            y + 9);
    if (L->marks[j].count > 1)
      fprintf(f, "%lld rejects here; the first: ", (long long)L->marks[j].count);
    html_esc(f, L->marks[j].text);
    fputs("</title></path>", f);
  }
  for (k = 0; k < L->nptr; k++) {
    int64_t span = T->width * TL_BINS;
    int x;
    if (L->ptr[k].at < T->t0 || L->ptr[k].at > T->t0 + span) continue;
    x = TL_LEFT + (int)((L->ptr[k].at - T->t0) * TL_PLOT / (span > 0 ? span : 1));
    render_text_time(L->ptr[k].at, t1);
    fprintf(f, "<g class=\"ptrchange\"><line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
               "stroke=\"#639\" stroke-dasharray=\"3 2\"/><text x=\"%d\" y=\"%d\" "
               "fill=\"#639\">PTR</text><title>%s UTC: PTR ",
            x, y + 2, x, y + TL_LANE_H - 2, x + 2, y + 10, t1);
    html_list(f, L->ptr[k].ptr);
    fputs(", iprev ", f);
    html_esc(f, L->ptr[k].iprev);
    fputs("</title></g>", f);
  }
  fputs("</g>\n", f);
}

static void html_timeline(FILE *f, const struct tl *T, const struct rep *R) {
  int h = TL_TOP + (int)T->n * TL_LANE_H + 8;
  size_t k;

  fputs("<h2>Egress timeline</h2>\n", f);
  if (T->n == 0) {
    fputs("<p>No egress session in the window.</p>\n", f);
    return;
  }
  fputs("<p class=\"legend\">A lane per source address (\xe2\x86\x92 the address a "
        "receiver echoed); sessions per bin, coloured by the worst of them:"
        "<span style=\"background:#4a9\"></span>accepted or other"
        "<span style=\"background:#aaa\"></span>TLS, outcome not visible"
        "<span style=\"background:#57c\"></span>no answer or refused"
        "<span style=\"background:#e90\"></span>deferred (4xx)"
        "<span style=\"background:#d33\"></span>rejected (5xx); \xe2\x96\xbc a reject "
        "(hover: receiver, time, reply); dashed: a PTR change; shaded: judged by "
        "the last analysis.</p>\n", f);
  fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
             "role=\"img\" aria-label=\"egress timeline\">",
          TL_LEFT + TL_PLOT + 10, h);
  svg_judged(f, T, R, h);
  svg_axis(f, T, h);
  for (k = 0; k < T->n; k++) svg_lane(f, T, &T->l[k], TL_TOP + (int)k * TL_LANE_H);
  fputs("</svg>\n", f);
  if (T->lanes_dropped > 0)
    fprintf(f, "<p class=\"meta\">%lld quieter source addresses are not drawn.</p>\n",
            (long long)T->lanes_dropped);
}

static void html_finding(FILE *f, const struct fnd *x) {
  fprintf(f, "<div class=\"f %s\"><span class=\"sev\">%s</span> <b>", sev_class(x->sev),
          sev_class(x->sev));
  html_esc(f, x->rule);
  put(f, "</b>: ", x->detail);
  put(f, "<div class=\"fix\">fix: ", x->fix);
  fputs("</div></div>\n", f);
}

static void html_card(FILE *f, const struct rep *R, const struct idn *d) {
  char t1[TIME_STRLEN], t2[TIME_STRLEN];
  size_t j, first, end;

  render_text_time(d->first_us, t1);
  render_text_time(d->last_us, t2);
  put(f, "<div class=\"card\" data-ip=\"", d->ip);
  put(f, "\"><h3>", d->ip);
  put(f, " &nbsp; <span class=\"", d->iprev);
  put(f, "\">iprev ", d->iprev);
  fputs("</span></h3><table><tr><td>PTR</td><td>", f);
  html_list(f, d->ptr);
  fputs("</td></tr><tr><td>HELO</td><td>", f);
  html_list(f, d->helos);
  fputs("</td></tr><tr><td>from</td><td>", f);
  html_list(f, d->sources);
  fprintf(f, "</td></tr><tr><td>sessions</td><td>%lld (%lld rejected, %lld TLS), "
             "%s .. %s UTC</td></tr></table>\n",
          (long long)d->sessions, (long long)d->rejected, (long long)d->starttls, t1,
          t2);
  rep_findings_of(R, d->ip, &first, &end);
  for (j = first; j < end; j++)
    if (rep_shown(R, R->by_ident[j])) html_finding(f, R->by_ident[j]);
  fputs("</div>\n", f);
}

/* The worst HTML_CARDS identities as cards, the next HTML_ROWS a row
 * each (address, iprev, sessions, worst finding), the rest counted: a big
 * fleet's page stays a few MB; report --format json has them all. */
static void html_cards(FILE *f, const struct rep *R, const char *focus) {
  size_t k, shown = 0;

  for (k = 0; k < R->ni; k++) {
    const struct idn *d = R->shown[k];
    size_t first, end;
    if (focus && strcmp(d->ip, focus) != 0) continue;
    if (shown < HTML_CARDS) {
      html_card(f, R, d);
    } else if (shown < HTML_CARDS + HTML_ROWS) {
      if (shown == HTML_CARDS)
        fputs("<h2>More identities</h2>\n<table class=\"rows\"><tr><td><b>address"
              "</b></td><td><b>iprev</b></td><td><b>sessions</b></td><td><b>worst "
              "finding</b></td></tr>\n", f);
      put(f, "<tr data-ip=\"", d->ip);
      put(f, "\"><td>", d->ip);
      put(f, "</td><td>", d->iprev);
      fprintf(f, "</td><td>%lld</td><td>", (long long)d->sessions);
      rep_findings_of(R, d->ip, &first, &end);
      if (first < end) {
        fputs(sev_class(R->by_ident[first]->sev), f);
        put(f, " ", R->by_ident[first]->rule);
      }
      fputs("</td></tr>\n", f);
    }
    shown++;
  }
  if (shown > HTML_CARDS) fputs("</table>\n", f);
  if (shown > HTML_CARDS + HTML_ROWS)
    fprintf(f, "<p class=\"meta\">%zu more identities: see report --format json.</p>\n",
            shown - HTML_CARDS - HTML_ROWS);
}

static void html_nat(FILE *f, const struct rep *R, const char *focus) {
  size_t k, n = 0;

  for (k = 0; k < R->nn; k++)
    n += focus == NULL || strcmp(R->n[k].in, focus) == 0 || strcmp(R->n[k].out, focus) == 0;
  if (n == 0) return;
  fputs("<h2>NAT map</h2>\n<p class=\"meta\">Inside host \xe2\x86\x92 gateway "
        "(capture points) \xe2\x86\x92 the address receivers saw, learned from both "
        "sides of the gateway.</p>\n", f);
  for (k = 0; k < R->nn; k++) {
    const struct natp *p = &R->n[k];
    const char *iprev = rep_iprev_of(R, p->out);
    if (focus && strcmp(p->in, focus) != 0 && strcmp(p->out, focus) != 0) continue;
    put(f, "<div class=\"nat\"><span class=\"box\">", p->in);
    put(f, "</span><span class=\"arrow\">\xe2\x86\x92</span><span class=\"box\">gateway ",
        p->pin);
    put(f, " / ", p->pout);
    put(f, "</span><span class=\"arrow\">\xe2\x86\x92</span><span class=\"box\">", p->out);
    put(f, " <span class=\"", iprev);
    put(f, "\">iprev ", iprev);
    fprintf(f, "</span></span><span class=\"meta\">%lld sessions</span></div>\n",
            (long long)p->sessions);
  }
}

/* A fleet: a row per host (several hosts, or --host), a silent one marked. */
static void html_hosts(FILE *f, const struct rep *R) {
  char t1[TIME_STRLEN], t2[TIME_STRLEN];
  size_t k;

  if (R->nh == 0) return;
  fputs("<h2>Hosts</h2>\n<table class=\"rows\"><tr><td><b>host</b></td><td><b>"
        "sessions</b></td><td><b>egress</b></td><td><b>rejected</b></td><td><b>from"
        "</b></td><td><b>HELO</b></td><td><b>last session</b></td><td><b>last "
        "heartbeat</b></td></tr>\n", f);
  for (k = 0; k < R->nh; k++) {
    const struct hst *h = &R->h[k];
    fprintf(f, "<tr%s><td>", h->silent ? " class=\"silent\"" : "");
    html_esc(f, h->host[0] ? h->host : "(read here)");
    if (h->silent) fputs(" (silent)", f);
    fprintf(f, "</td><td>%lld</td><td>%lld</td><td>%lld</td><td>",
            (long long)h->sessions, (long long)h->egress, (long long)h->rejected);
    html_list(f, h->sources);
    fputs("</td><td>", f);
    html_list(f, h->helos);
    if (h->last_session) render_text_secs(h->last_session, t1);
    if (h->last_heartbeat) render_text_secs(h->last_heartbeat, t2);
    put(f, "</td><td>", h->last_session ? t1 : "never");
    put(f, "</td><td>", h->last_heartbeat ? t2 : "never");
    fputs("</td></tr>\n", f);
  }
  fputs("</table>\n", f);
}

static void html_head(FILE *f, const struct rep *R, const struct report_opts *o) {
  char t[TIME_STRLEN];

  fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; img-src 'none'; script-src 'none'; "
        "form-action 'none'; base-uri 'none'\">\n"
        "<meta name=\"referrer\" content=\"no-referrer\">\n"
        "<title>egressaudit report</title>\n<style>", f);
  fputs(CSS, f);
  fputs("</style></head><body>\n<h1>egressaudit ", f);
  if (o->focus) {
    fputs("history of ", f);
    html_esc(f, o->focus);
  } else {
    fputs("report", f);
  }
  fputs("</h1>\n<p class=\"meta\">", f);
  render_text_time(o->now, t);
  fprintf(f, "written %s UTC; ", t);
  {
    char win[96];
    fputs(rep_window(o, win, sizeof(win)), f);
  }
  if (R->m.last_analysis) {
    render_text_time(R->m.last_analysis, t);
    fprintf(f, "; last analysis %s UTC", t);
    if (R->m.resolver[0]) {
      fputs(", DNS answers from ", f);
      html_esc(f, R->m.resolver);
    }
  } else {
    fputs("; not analysed yet (run 'egressaudit analyze')", f);
  }
  if (R->stale[0]) {
    fputs("; stale: ", f);
    html_esc(f, R->stale);
  }
  fprintf(f, "</p>\n<p class=\"sum\"><span>%zu identities</span><span>%lld sessions"
             "</span><span>%lld capture points</span><span>%lld packets dropped</span>"
             "<span class=\"crit\">%lld crit</span><span class=\"warn\">%lld warn</span>"
             "<span class=\"unknown\">%lld unknown</span><span>%lld info</span></p>\n",
          R->ni, (long long)R->m.sessions, (long long)R->m.points, (long long)R->m.drops,
          (long long)R->by_sev[SEV_CRIT], (long long)R->by_sev[SEV_WARN],
          (long long)R->by_sev[SEV_UNKNOWN], (long long)R->by_sev[SEV_INFO]);
}

int render_html(const struct rep *R, const struct report_opts *o) {
  struct tl T;
  size_t i, k;
  int rc;

  if ((rc = tl_load(&T, R, o)) != 0) {
    tl_free(&T);
    return rc;
  }
  html_head(stdout, R, o);
  if (o->focus == NULL) html_hosts(stdout, R);
  html_timeline(stdout, &T, R);
  fputs("<h2>Identities, worst first</h2>\n", stdout);
  if (R->ni == 0) fputs("<p>None in the window.</p>\n", stdout);
  html_cards(stdout, R, o->focus);
  for (i = 0, k = 0; i < R->nf; i++) {
    if (R->f[i].server || R->f[i].attached || !rep_shown(R, &R->f[i])) continue;
    if (o->focus && !strstr(R->f[i].detail, o->focus) &&
        strcmp(R->f[i].subject, o->focus) != 0)
      continue;
    if (k++ == 0) fputs("<h2>Across identities</h2>\n", stdout);
    html_finding(stdout, &R->f[i]);
  }
  html_nat(stdout, R, o->focus);
  if (o->focus == NULL && R->ns > 0) fputs("<h2>Our servers as clients saw them</h2>\n", stdout);
  for (k = 0; o->focus == NULL && k < R->ns; k++) {
    fputs("<div class=\"card\"><h3>", stdout);
    html_esc(stdout, R->s[k].ip);
    fputs(" greets as ", stdout);
    html_esc(stdout, R->s[k].host);
    fprintf(stdout, " (%lld sessions)</h3>\n", (long long)R->s[k].sessions);
    for (i = 0; i < R->nf; i++)
      if (R->f[i].server && strcmp(R->f[i].subject, R->s[k].ip) == 0 &&
          rep_shown(R, &R->f[i]))
        html_finding(stdout, &R->f[i]);
    fputs("</div>\n", stdout);
  }
  fputs("</body></html>\n", stdout);
  tl_free(&T);
  return 0;
}
