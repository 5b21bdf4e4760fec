/* egressaudit - capture/pcapng_if.h: interface addresses from a pcapng
 * header. libpcap reads pcapng packets but does not expose the interface
 * description options; a capture that records its interface's addresses
 * (if_IPv4addr, if_IPv6addr) tells us which side of each session is ours.
 * SPDX-License-Identifier: MIT
 */
#ifndef EA_PCAPNG_IF_H
#define EA_PCAPNG_IF_H

#include "common/netset.h"

/* Walk the blocks at the start of a pcapng file (buf, len: its first bytes)
 * up to the first packet block, and add each interface address found to set
 * as a host address. Returns the number of addresses added; 0 when there
 * are none or buf is not pcapng. Never reads outside buf. */
int pcapng_if_addrs(const uint8_t *buf, size_t len, struct netset *set);

#endif
