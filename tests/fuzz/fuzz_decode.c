/* egressaudit - tests/fuzz/fuzz_decode.c: libFuzzer target for the decoder.
 * Input: one byte choosing the link type, then the frame.
 * SPDX-License-Identifier: MIT
 */
#include <pcap/dlt.h>
#include <stddef.h>
#include <stdint.h>

#include "capture/decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const int dlts[] = {DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2,
                             DLT_RAW,    DLT_IPV4,      DLT_IPV6,
                             DLT_NULL,   DLT_LOOP};
  struct pkt pk;
  volatile uint8_t sink = 0;
  uint32_t i;

  if (size < 1) return 0;
  if (decode_frame(dlts[data[0] % 8], data + 1, (uint32_t)(size - 1), &pk) !=
      DEC_OK)
    return 0;
  /* Everything the decoder points at must be inside the frame. */
  for (i = 0; i < (pk.family == 4 ? 4u : 16u); i++) sink ^= pk.src[i] ^ pk.dst[i];
  for (i = 0; i < pk.caplen; i++) sink ^= pk.payload[i];
  if (pk.caplen > pk.wirelen) __builtin_trap();
  /* A first fragment gives its header, never a payload to parse. */
  if (pk.fragment && (pk.caplen != 0 || pk.wirelen != 0)) __builtin_trap();
  (void)sink;
  return 0;
}
