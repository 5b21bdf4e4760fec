/* egressaudit - tests/fuzz/fuzz_dns.c: libFuzzer target for the DNS
 * response parser (resolver_parse). Input: one byte choosing the question
 * type, then the response.
 * SPDX-License-Identifier: MIT
 */
#define _DEFAULT_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "analyzer/resolver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const uint16_t types[] = {DNS_T_A, DNS_T_AAAA, DNS_T_PTR, DNS_T_MX,
                                   DNS_T_SOA};
  static struct dns_result r;
  unsigned i;

  if (size < 1 || size > 65535) return 0;
  memset(&r, 0, sizeof(r));
  r.type = types[data[0] % 5];
  if (resolver_parse(data + 1, (int)(size - 1), &r) != 0) return 0;
  if (r.n > DNS_ANSWERS_MAX || r.status >= DNS_STATUS_COUNT_) __builtin_trap();
  for (i = 0; i < r.n; i++)
    if (memchr(r.answer[i], '\0', DNS_NAME_MAX) == NULL) __builtin_trap();
  if (memchr(r.soa_zone, '\0', DNS_NAME_MAX) == NULL) __builtin_trap();
  return 0;
}
