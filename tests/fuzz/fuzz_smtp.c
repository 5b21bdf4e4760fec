/* egressaudit - tests/fuzz/fuzz_smtp.c: libFuzzer target for the SMTP parser.
 * Input: chunks of [header byte][bytes]; header bit 7 = server side, bit 6 =
 * a gap before the chunk, bits 0-5 = length.
 * SPDX-License-Identifier: MIT
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "capture/smtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void touch(struct slice s) {
  volatile char sink = 0;
  size_t i;
  for (i = 0; i < s.len; i++) sink ^= s.p[i];
  (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static struct smtp *s;
  struct ea_addr server = {4, {198, 51, 100, 25}};
  struct session v;
  size_t i = 0, n;
  unsigned k;

  if (s == NULL) s = malloc(sizeof(*s));
  smtp_init(s, &server, size > 0 && (data[0] & 1));
  while (i < size) {
    uint8_t h = data[i++];
    int dir = (h & 0x80) ? SMTP_S2C : SMTP_C2S;
    n = h & 0x3F;
    if (n > size - i) n = size - i;
    if (h & 0x40) smtp_gap(s, dir);
    smtp_feed(s, dir, data + i, n);
    i += n;
  }
  memset(&v, 0, sizeof(v));
  smtp_view(s, &v);
  touch(v.banner);
  touch(v.banner_host);
  touch(v.ehlo_reply);
  touch(v.mail_domain);
  for (k = 0; k < v.n_helo; k++) touch(v.helo[k]);
  for (k = 0; k < v.n_replies; k++) {
    touch(v.replies[k].text);
    touch(v.replies[k].enhanced);
    if (v.replies[k].code < 200 || v.replies[k].code > 599) __builtin_trap();
  }
  if (v.last_reply) touch(v.last_reply->text);
  if (v.n_replies > SMTP_REPLIES_HARD || v.n_helo > SMTP_HELO_MAX)
    __builtin_trap();
  return 0;
}
