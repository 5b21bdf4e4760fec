/* egressaudit - tests/fuzz/fuzz_maillog.c: libFuzzer target for the mail
 * log parser (maillog_line): whoever sends mail through the host shapes
 * the reply texts Postfix logs. Any bytes as one line: what it fills must
 * be terminated within its fields, and a delivery must have its queue id.
 * SPDX-License-Identifier: MIT
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "logs/maillog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct ml_clock k = {1796223600000000LL, 3600};
  struct ml_event ev;
  enum ml_kind r = maillog_line((const char *)data, size, &k, &ev);

  if (memchr(ev.host, 0, sizeof(ev.host)) == NULL ||
      memchr(ev.queue_id, 0, sizeof(ev.queue_id)) == NULL ||
      memchr(ev.rcpt_domain, 0, sizeof(ev.rcpt_domain)) == NULL ||
      memchr(ev.relay_name, 0, sizeof(ev.relay_name)) == NULL ||
      memchr(ev.relay_ip, 0, sizeof(ev.relay_ip)) == NULL ||
      memchr(ev.dsn, 0, sizeof(ev.dsn)) == NULL ||
      memchr(ev.reply, 0, sizeof(ev.reply)) == NULL ||
      memchr(ev.stage, 0, sizeof(ev.stage)) == NULL ||
      memchr(ev.tls, 0, sizeof(ev.tls)) == NULL ||
      memchr(ev.src_ip, 0, sizeof(ev.src_ip)) == NULL ||
      memchr(ev.message_id, 0, sizeof(ev.message_id)) == NULL ||
      memchr(ev.sender_domain, 0, sizeof(ev.sender_domain)) == NULL)
    __builtin_trap();
  if (r == ML_DELIVERY && (ev.queue_id[0] == '\0' || ev.status == MLS_NONE))
    __builtin_trap();
  if (ev.code != 0 && (ev.code < 200 || ev.code > 599)) __builtin_trap();
  return 0;
}
