/* egressaudit - tests/fuzz/fuzz_pcapng.c: libFuzzer target for the pcapng
 * interface-address reader.
 * SPDX-License-Identifier: MIT
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "capture/pcapng_if.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct netset s;
  int n;

  memset(&s, 0, sizeof(s));
  n = pcapng_if_addrs(data, size, &s);
  /* The count returned is what the set gained (regression:
   * corpus/fuzz_pcapng/regress-duplicate-address listed one address twice
   * and was counted twice). */
  if (n < 0 || s.n > NETSET_MAX || (unsigned)n != s.n) __builtin_trap();
  return 0;
}
