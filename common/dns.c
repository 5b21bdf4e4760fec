/* egressaudit - common/dns.c: names for DNS outcomes, reverse names.
 * SPDX-License-Identifier: MIT
 */
#include "common/dns.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/types.h"

static const char *const status_names[] = {
    "NOERROR", "NODATA", "NXDOMAIN", "SERVFAIL", "REFUSED", "TIMEOUT", "ERROR"};

const char *dns_status_name(unsigned s) {
  return s < ARRAY_SIZE(status_names) ? status_names[s] : "?";
}

int dns_status_parse(const char *s) {
  unsigned i;
  for (i = 0; i < ARRAY_SIZE(status_names); i++)
    if (strcmp(s, status_names[i]) == 0) return (int)i;
  return -1;
}

const char *dns_type_name(unsigned t) {
  switch (t) {
  case DNS_T_A: return "A";
  case DNS_T_SOA: return "SOA";
  case DNS_T_PTR: return "PTR";
  case DNS_T_MX: return "MX";
  case DNS_T_AAAA: return "AAAA";
  default: return "?";
  }
}

int dns_reverse_name(uint8_t family, const uint8_t *a, char *out, size_t cap) {
  static const char hex[] = "0123456789abcdef";
  size_t o = 0;
  int i;

  if (family == 4)
    return snprintf(out, cap, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2], a[1],
                    a[0]) < (int)cap
               ? 0
               : -1;
  if (family != 6 || cap < 74) return -1;
  for (i = 15; i >= 0; i--) {
    out[o++] = hex[a[i] & 15];
    out[o++] = '.';
    out[o++] = hex[a[i] >> 4];
    out[o++] = '.';
  }
  memcpy(out + o, "ip6.arpa", 9);
  return 0;
}

int dns_reverse_addr(const char *name, uint8_t *family, uint8_t *a) {
  const char *p = name;
  int i;

  memset(a, 0, 16);
  /* d.c.b.a.in-addr.arpa: four labels of 0..255, no leading zeros. */
  for (i = 3; i >= 0; i--) {
    unsigned v = 0, n = 0;
    while (*p >= '0' && *p <= '9' && n < 4) v = v * 10 + (unsigned)(*p++ - '0'), n++;
    if (n == 0 || n > 3 || v > 255 || (n > 1 && p[-(int)n] == '0') || *p != '.')
      break;
    a[i] = (uint8_t)v;
    p++;
  }
  if (i < 0 && strcmp(p, "in-addr.arpa") == 0) {
    *family = 4;
    return 0;
  }
  /* 32 nibbles, low first, under ip6.arpa. */
  memset(a, 0, 16);
  p = name;
  for (i = 0; i < 32; i++) {
    int v = p[0] >= '0' && p[0] <= '9'   ? p[0] - '0'
            : p[0] >= 'a' && p[0] <= 'f' ? p[0] - 'a' + 10
            : p[0] >= 'A' && p[0] <= 'F' ? p[0] - 'A' + 10
                                         : -1;
    if (v < 0 || p[1] != '.') return -1;
    a[15 - i / 2] |= (uint8_t)(i % 2 ? v << 4 : v);
    p += 2;
  }
  if (strcasecmp(p, "ip6.arpa") != 0) return -1;
  *family = 6;
  return 0;
}
