/* egressaudit - tests/fuzz/fuzz_mailauth.c: libFuzzer target for the DKIM
 * key record reader (our tag-list parser, then OpenSSL's key parser) and
 * the DMARC record (libopendmarc's parser): whoever runs a domain writes
 * these TXT records. The input is split at NUL into up to 8 records, as
 * the DNS hands them over; each verdict must say something.
 * SPDX-License-Identifier: MIT
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "analyzer/mailauth.h"
#include "common/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char buf[16384];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *txt[8];
  char detail[1200];
  unsigned n = 0;
  size_t i, start = 0;
  int sev;

  if (size >= sizeof(buf)) return 0;
  memcpy(buf, data, size);
  buf[size] = '\0';
  for (i = 0; i <= size && n < 8; i++)
    if (buf[i] == '\0') {
      txt[n++] = buf + start;
      start = i + 1;
    }
  if (mailauth_dkim(DNS_OK, txt, n, detail, sizeof(detail), &sev) > CK_SKIP ||
      detail[0] == '\0' || memchr(detail, 0, sizeof(detail)) == NULL)
    __builtin_trap();
  if (mailauth_dmarc(DNS_OK, txt, n, "fuzz.example", "fuzz.example", 0, detail,
                     sizeof(detail), &sev) > CK_SKIP ||
      detail[0] == '\0')
    __builtin_trap();
  return 0;
}
