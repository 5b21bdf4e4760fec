/* egressaudit - tests/fuzz/fuzz_jsonl.c: libFuzzer target for the event
 * reader (jsonl_parse): a central database reads what every host of the
 * fleet forwards, and a host can be compromised. Any bytes as one line:
 * a session must come back with its slices inside the event's arena, its
 * counts within their caps, and a refused line must say why.
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "logs/jsonl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct jsonl_event ev;

static void inside(struct slice s) {
  if (s.p == NULL) {
    if (s.len != 0) __builtin_trap();
    return;
  }
  if (s.len > JSONL_TEXT_MAX) __builtin_trap();
  if (s.len > 0 && (s.p < ev.arena || s.p + s.len > ev.arena + sizeof(ev.arena)))
    __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char err[600];
  unsigned i;
  int r;

  err[0] = '\0';
  r = jsonl_parse((const char *)data, size, &ev, err, sizeof(err));
  if (r < 0) {
    if (r != -EINVAL || err[0] == '\0' || memchr(err, 0, sizeof(err)) == NULL)
      __builtin_trap();
    return 0;
  }
  if (memchr(ev.host, 0, sizeof(ev.host)) == NULL ||
      memchr(ev.point, 0, sizeof(ev.point)) == NULL)
    __builtin_trap();
  if (r != JSONL_SESSION) return 0;
  if (ev.point[0] == '\0' || ev.used > sizeof(ev.arena) ||
      ev.s.n_helo > SMTP_HELO_MAX || ev.s.n_replies > SMTP_REPLIES_HARD)
    __builtin_trap();
  inside(ev.s.banner);
  inside(ev.s.banner_host);
  inside(ev.s.ehlo_reply);
  inside(ev.s.mail_domain);
  for (i = 0; i < ev.s.n_helo; i++) inside(ev.s.helo[i]);
  for (i = 0; i < ev.s.n_replies; i++) {
    if (ev.s.replies[i].code < 200 || ev.s.replies[i].code > 599) __builtin_trap();
    inside(ev.s.replies[i].enhanced);
    if (ev.s.replies[i].text.len > 0) inside(ev.s.replies[i].text);
  }
  if (ev.s.last_reply != NULL) {
    if (ev.s.last_reply->code < 200 || ev.s.last_reply->code > 599) __builtin_trap();
    inside(ev.s.last_reply->enhanced);
    inside(ev.s.last_reply->text);
  }
  return 0;
}
