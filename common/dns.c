/* egressaudit - common/dns.c: names for DNS outcomes, reverse names.
 * SPDX-License-Identifier: MIT
 */
#include "common/dns.h"

#include <stdio.h>
#include <string.h>

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
