/* egressaudit - common/netset.h: a small set of IPv4/IPv6 networks (CIDR).
 * "Our side" of the wire: --local networks, interface addresses.
 * SPDX-License-Identifier: MIT
 */
#ifndef EA_NETSET_H
#define EA_NETSET_H

#include "common/types.h"

#define NETSET_MAX 64

struct netset {
  unsigned n;
  struct {
    uint8_t family;  /* 4 or 6 */
    uint8_t prefix;  /* bits   */
    uint8_t a[16];   /* network, host bits cleared */
  } net[NETSET_MAX];
};

/* Add "203.0.113.0/24", "2001:db8::/32" or a bare address (a host route).
 * Returns 0, -1 when the text is not a network, -2 when the set is full. */
int netset_add_text(struct netset *s, const char *text);

/* Add a network given as address bytes and prefix length. */
int netset_add(struct netset *s, uint8_t family, const uint8_t *a,
               unsigned prefix);

/* Is the address (4 or 16 bytes) inside one of the networks? */
int netset_contains(const struct netset *s, uint8_t family, const uint8_t *a);

/* Is the address private, CGNAT, loopback, link-local or ULA (never what
 * a receiver sees)? */
int addr_is_private(const struct ea_addr *a);

#endif
