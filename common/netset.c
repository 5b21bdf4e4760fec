/* egressaudit - common/netset.c: CIDR sets.
 * SPDX-License-Identifier: MIT
 */
#include "common/netset.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

int netset_add(struct netset *s, uint8_t family, const uint8_t *a,
               unsigned prefix) {
  unsigned bits = family == 4 ? 32 : 128, i;
  uint8_t net[16] = {0};

  if ((family != 4 && family != 6) || prefix > bits) return -1;
  memcpy(net, a, bits / 8);
  for (i = prefix; i < bits; i++) net[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
  for (i = 0; i < s->n; i++)
    if (s->net[i].family == family && s->net[i].prefix == prefix &&
        memcmp(s->net[i].a, net, 16) == 0)
      return 0; /* already there */
  if (s->n == NETSET_MAX) return -2;
  s->net[s->n].family = family;
  s->net[s->n].prefix = (uint8_t)prefix;
  memcpy(s->net[s->n].a, net, 16);
  s->n++;
  return 0;
}

int netset_add_text(struct netset *s, const char *text) {
  const char *slash = strchr(text, '/');
  struct ea_addr a;
  size_t len = slash ? (size_t)(slash - text) : strlen(text);
  long prefix;
  char *end;

  if (addr_parse(&a, text, len) < 0) return -1;
  if (slash) {
    errno = 0;
    prefix = strtol(slash + 1, &end, 10);
    if (end == slash + 1 || *end != '\0' || errno != 0 || prefix < 0)
      return -1;
  } else {
    prefix = a.family == 4 ? 32 : 128;
  }
  return netset_add(s, a.family, a.a, (unsigned)prefix);
}

int netset_contains(const struct netset *s, uint8_t family, const uint8_t *a) {
  unsigned i, full, rest;

  if (s == NULL) return 0;
  for (i = 0; i < s->n; i++) {
    if (s->net[i].family != family) continue;
    full = s->net[i].prefix / 8;
    rest = s->net[i].prefix % 8;
    if (memcmp(s->net[i].a, a, full) != 0) continue;
    if (rest && ((a[full] ^ s->net[i].a[full]) & (uint8_t)(0xFF00u >> rest)))
      continue;
    return 1;
  }
  return 0;
}

/* The one definition of a special address: RFC 1918, CGNAT (RFC 6598),
 * loopback, 0/8, link-local, ULA, :: and ::1. Such an address is never
 * what a receiver sees, so it has no public identity to judge. */
int addr_is_private(const struct ea_addr *a) {
  const uint8_t *b = a->a;

  if (a->family == 4)
    return b[0] == 10 || b[0] == 127 || b[0] == 0 ||
           (b[0] == 172 && (b[1] & 0xF0) == 16) ||
           (b[0] == 192 && b[1] == 168) ||
           (b[0] == 100 && (b[1] & 0xC0) == 64) || /* CGNAT, RFC 6598 */
           (b[0] == 169 && b[1] == 254);
  if (a->family == 6) {
    static const uint8_t zero[15] = {0};
    return (b[0] & 0xFE) == 0xFC ||                     /* ULA fc00::/7   */
           (b[0] == 0xFE && (b[1] & 0xC0) == 0x80) ||   /* fe80::/10      */
           (memcmp(b, zero, 15) == 0 && b[15] <= 1);     /* :: and ::1     */
  }
  return 0;
}
